// A step judged before the mediator's pause reached a node (README, _Mediated exchange_): M pauses
// both clocks while B is out of its reach; B acknowledges past the deadline it knows, and counts it
// late; A, which took the pause first, counts the same acknowledgement on time. Once the pause
// reaches B, B says so (`deadline_verdict_changed`): both end with the same verdict.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestDetailView } from '../../schemas/requests-api.js';
import type { TestNode } from '../helpers/node.js';
import type { CuttableProxy } from '../helpers/proxy.js';
import {
  act,
  consent,
  createRequest,
  eventOf,
  explained,
  held,
  notice,
  signed,
  startMediatedTrio,
  untilRequest,
  untilStatus,
  type CutTrio,
} from '../helpers/mediated.js';
import { eventually } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';
import { requestDetail } from '../helpers/requests.js';

const SUPERVISOR = 'sup-ilina';
/** Long enough to agree and pause before it passes, short enough to wait for it. */
const ACK_SECONDS = 20;

let trio: CutTrio;
let a: TestNode;
let m: TestNode;
let b: TestNode;
let toB: CuttableProxy;

beforeAll(async () => {
  const policyFile = await writeTestPolicy([
    {
      request_type: 'grave_information',
      priority: 'routine',
      acknowledge_seconds: ACK_SECONDS,
      respond_seconds: 7200,
    },
  ]);
  trio = await startMediatedTrio({
    env: { PARLEY_POLICY_FILE: policyFile, MEDIATOR_WATCH_SECONDS: '0' },
    sealContent: true,
    cut: 'm-to-b',
  });
  ({ a, m, b, proxy: toB } = trio);
}, 120_000);
afterAll(async () => {
  await trio?.stop();
});

/** The verdicts a node's timeline gives the step `msgId` took, in order. */
const verdictsOf = (r: RequestDetailView, msgId: string) =>
  r.timeline
    .filter((e) => e.detail.msgId === msgId && typeof e.detail.onTime === 'boolean')
    .map((e) => ({ type: e.type, onTime: e.detail.onTime, countsAt: e.detail.countsAt }));

describe('a verdict given before the mediator’s pause arrived', () => {
  it('is counted again when the pause arrives, as the partner counted it', async () => {
    const id = await createRequest(a, 'Grave sites along the Una, acknowledged while paused');
    await untilStatus(b, id, 'delivered', 'the request arrived');
    await untilRequest(a, id, (r) => r.receiptAt !== null, 'B’s receipt at A');
    held(await consent(a, id));
    held(await consent(b, id));

    // M pauses both clocks while it cannot reach B: A takes the pause, B does not know of it.
    toB.cut();
    const [pause] = signed(await notice(m, SUPERVISOR, id, { action: 'pause' }));
    await untilRequest(a, id, (r) => eventOf(r, 'clock_paused').length === 1, 'A paused');
    const atB = (await requestDetail(b, id))!;
    // The pause began before the deadline B knows (what the test rests on).
    expect(Date.parse(pause!.at!)).toBeLessThan(
      Date.parse(explained(atB, 'acknowledgement').dueAt),
    );

    // B acknowledges once the deadline it knows has passed, in a later second (a step counts at
    // its signing, in whole seconds): late, by what it holds.
    const ackDue = Date.parse(explained(atB, 'acknowledgement').dueAt);
    await untilRequest(
      b,
      id,
      (r) => r.overdue && Math.floor(Date.now() / 1000) * 1000 > ackDue,
      'B: the acknowledgement overdue, a second on',
    );
    const ack = await act(b, id, 'acknowledge', {});
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);
    const ackId = ack.body.msgId as string;
    const lateAtB = await untilRequest(
      b,
      id,
      (r) => verdictsOf(r, ackId).length === 1,
      'B’s verdict on its acknowledgement',
    );
    expect(verdictsOf(lateAtB, ackId)).toMatchObject([{ type: 'acknowledge', onTime: false }]);
    // A holds the pause: the same acknowledgement is on time there.
    const atA = await untilRequest(
      a,
      id,
      (r) => verdictsOf(r, ackId).length === 1,
      'A’s verdict on B’s acknowledgement',
    );
    expect(verdictsOf(atA, ackId)).toMatchObject([{ type: 'acknowledge', onTime: true }]);
    const countsAt = verdictsOf(atA, ackId)[0]!.countsAt;

    // The pause reaches B (M's watch, once B can be reached): B counts the step again.
    toB.restore();
    const after = await eventually(
      async () => {
        await m.mediatorWatch.pass();
        const r = await requestDetail(b, id);
        return r && eventOf(r, 'deadline_verdict_changed').length > 0 ? r : undefined;
      },
      45_000,
      'B taking the pause and counting again',
    );
    expect(eventOf(after, 'clock_paused')).toHaveLength(1);
    expect(eventOf(after, 'deadline_verdict_changed')).toEqual([
      expect.objectContaining({
        actor: 'party-m',
        detail: expect.objectContaining({
          msgId: ackId,
          onTime: true,
          countsAt,
          pauseId: pause!.pauseId,
        }),
      }),
    ]);
    // Both end with the same verdict; A, which judged with the pause, has nothing to correct.
    expect(verdictsOf(after, ackId).at(-1)).toMatchObject({ onTime: true, countsAt });
    const finalA = (await requestDetail(a, id))!;
    expect(eventOf(finalA, 'deadline_verdict_changed')).toEqual([]);
    expect(verdictsOf(finalA, ackId).at(-1)).toMatchObject({ onTime: true, countsAt });
  });
});
