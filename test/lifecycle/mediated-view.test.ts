// A mediator following the requests it relays (README, _Mediated exchange_, "M follows every
// request"): A and B exchange sealed content through M, each on its own node, namespace and
// database, all three under the same short deadline policy. M's supervisor reads each request as
// both parties show it (`GET /v1/mediated`, `GET /v1/mediated/:id`):
//
// - a request B received: delivered on both sides, with the deadlines A and B count;
// - unacknowledged past its deadline: overdue and escalated at M as at A, with the same due times;
// - acknowledged late: both sides agree, the deadline is met (late) and nothing is overdue;
// - a closure held at M while B cannot be reached: A shows closed, B answered, until it arrives;
//   then all three agree the request is closed, every message received;
// - never any of the sealed content; only supervisors and admins of M may ask.
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy } from '../../node/policy.js';
import { MediatedRequestView } from '../../schemas/mediator-api.js';
import { finalFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
import {
  act,
  createRequest,
  startMediatedTrio,
  untilRequest,
  untilStatus,
  type CutTrio,
} from '../helpers/mediated.js';
import { eventually } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';
import type { CuttableProxy } from '../helpers/proxy.js';
import { requestDetail } from '../helpers/requests.js';

const MARKER = 'MEDIATED-VIEW-MARKER-Dragana-Petrovic';
const ACK_SECONDS = 4;
const RESPOND_SECONDS = 3600;

let trio: CutTrio;
let a: TestNode;
let m: TestNode;
let b: TestNode;
/** What M reaches B's inbox through: cut, M holds what it relays to B. */
let toB: CuttableProxy;
let policyDigest: string;
/** Every answer M's mediator routes gave in this file, as text, for the check on content. */
const answers: string[] = [];

/** A GET on M as its supervisor; the answer is kept for the content check. */
async function atM(path: string) {
  const res = await call(m.url, 'GET', path, { token: await m.token('supervisor', 'sup-mira') });
  answers.push(JSON.stringify(res.body));
  return res;
}

/** The requests M lists (with the query), parsed through the wire type. */
async function listed(query = ''): Promise<MediatedRequestView[]> {
  const res = await atM(`/v1/mediated${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return MediatedRequestView.array().parse((res.body as { items: unknown }).items);
}

/** M's view of one request, parsed through the wire type. */
async function viewAtM(id: string): Promise<MediatedRequestView> {
  const res = await atM(`/v1/mediated/${id}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return MediatedRequestView.parse(res.body);
}

/** Until M's view of the request satisfies `pred`; fails with the last view seen. */
async function untilAtM(
  id: string,
  pred: (v: MediatedRequestView) => boolean,
  what: string,
): Promise<MediatedRequestView> {
  let last: MediatedRequestView | undefined;
  try {
    return await eventually(
      async () => {
        last = await viewAtM(id);
        return pred(last) ? last : undefined;
      },
      45_000,
      `M: ${what}`,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${JSON.stringify(last, null, 2)}`, { cause: err });
  }
}

const deadline = (v: MediatedRequestView, kind: 'acknowledgement' | 'response') => {
  const d = v.deadlines.find((x) => x.kind === kind);
  expect(d, `${kind} deadline at M`).toBeDefined();
  return d!;
};
const plus = (iso: string, seconds: number) =>
  new Date(Date.parse(iso) + seconds * 1000).toISOString();

beforeAll(async () => {
  const policyFile = await writeTestPolicy([
    {
      request_type: 'grave_information',
      priority: 'routine',
      acknowledge_seconds: ACK_SECONDS,
      respond_seconds: RESPOND_SECONDS,
      escalation_after_seconds: [0, 3600],
    },
  ]);
  policyDigest = (await loadPolicy(policyFile)).digest;
  // M relays for both (B's inbox through the proxy); A and B reach each other through M, sealed.
  trio = await startMediatedTrio({
    env: { PARLEY_POLICY_FILE: policyFile },
    sealContent: true,
    cut: 'm-to-b',
  });
  ({ a, m, b, proxy: toB } = trio);
}, 120_000);
afterAll(async () => {
  await trio?.stop();
});

describe('M’s view of a request it relays', () => {
  let id: string;
  /** The responder's signed receipt time of the request, as A holds it. */
  let receiptAt: string;

  it('shows a request B received as delivered on both sides, with the deadlines they count', async () => {
    id = await createRequest(a, `Burial site of ${MARKER}`);
    const atB = await untilStatus(b, id, 'delivered', 'request arrived');
    // The content travelled, sealed through M.
    expect(atB.subject).toMatchObject({ title: `Burial site of ${MARKER}` });
    const atA = await untilRequest(a, id, (r) => r.receiptAt !== null, 'B’s receipt');
    receiptAt = atA.receiptAt!;
    expect(atB.receiptAt).toBe(receiptAt);

    const view = await eventually(
      async () => (await listed()).find((v) => v.reqId === id && v.agree),
      30_000,
      'M lists the request, nothing in transit',
    );
    expect(view).toMatchObject({
      reqId: id,
      type: 'grave_information',
      priority: 'routine',
      requester: 'party-a',
      responder: 'party-b',
      policyDigest,
      policyKnown: true,
      asRequester: 'delivered',
      asResponder: 'delivered',
      settledStatus: 'delivered',
      agree: true,
      receiptAt,
    });
    expect(deadline(view, 'acknowledgement')).toMatchObject({
      dueAt: plus(receiptAt, ACK_SECONDS),
      countsFrom: receiptAt,
      answeredAt: null,
    });
    expect(deadline(view, 'response')).toMatchObject({
      dueAt: plus(receiptAt, RESPOND_SECONDS),
      countsFrom: receiptAt,
      answeredAt: null,
      overdue: false,
    });
    expect(view.messages).toEqual([
      expect.objectContaining({
        kind: 'request',
        from: 'requester',
        seq: 1,
        state: 'received',
        receivedAt: receiptAt,
        effect: 'applied',
      }),
    ]);
    // The same request on its own.
    const one = await viewAtM(id);
    expect({ ...one, deadlines: [], overdue: false, escalationLevel: 0 }).toEqual({
      ...view,
      deadlines: [],
      overdue: false,
      escalationLevel: 0,
    });
  });

  it('marks it overdue and escalated once the acknowledgement deadline passes, as A does', async () => {
    const late = await untilAtM(
      id,
      (v) => v.overdue && v.escalationLevel >= 1,
      'overdue, escalated',
    );
    expect(deadline(late, 'acknowledgement')).toMatchObject({
      dueAt: plus(receiptAt, ACK_SECONDS),
      answeredAt: null,
      overdue: true,
    });
    expect(deadline(late, 'acknowledgement').escalationLevel).toBeGreaterThanOrEqual(1);
    expect(deadline(late, 'response').overdue).toBe(false);
    expect(late.asRequester).toBe('delivered');
    expect(late.asResponder).toBe('delivered');
    expect((await listed('?overdue=true')).map((v) => v.reqId)).toContain(id);
    expect((await listed('?overdue=false')).map((v) => v.reqId)).not.toContain(id);

    // A's own node: overdue too, with the same due times (B counts the same, from its receipt).
    const atA = await untilRequest(
      a,
      id,
      (r) => r.overdue && r.escalationLevel >= 1,
      'overdue at A',
    );
    const atB = await untilRequest(b, id, (r) => r.overdue, 'overdue at B');
    for (const party of [atA, atB]) {
      expect(party.ackDueAt).toBe(deadline(late, 'acknowledgement').dueAt);
      expect(party.responseDueAt).toBe(deadline(late, 'response').dueAt);
    }
  });

  it('clears the overdue flag once B’s late acknowledgement arrives, both sides agreeing', async () => {
    const ack = await act(b, id, 'acknowledge', { note: `Searching the archive for ${MARKER}` });
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);
    await untilStatus(a, id, 'acknowledged');
    const view = await untilAtM(
      id,
      (v) => v.agree && v.asRequester === 'acknowledged',
      'acknowledged on both sides',
    );
    expect(view).toMatchObject({
      asRequester: 'acknowledged',
      asResponder: 'acknowledged',
      settledStatus: 'acknowledged',
      overdue: false,
      escalationLevel: 0,
    });
    const met = deadline(view, 'acknowledgement');
    expect(met.answeredAt).not.toBeNull();
    expect(met.overdue).toBe(false);
    // B signed it once the deadline had passed (`sent_at` counts whole seconds).
    expect(Date.parse(met.answeredAt!)).toBeGreaterThanOrEqual(
      Math.floor(Date.parse(met.dueAt) / 1000) * 1000,
    );
    // Both parties count the acknowledgement at the same time, and M with them.
    for (const node of [a, b]) {
      const r = await untilRequest(
        node,
        id,
        (x) => x.timeline.some((e) => e.type === 'acknowledge'),
        'the acknowledgement on the timeline',
      );
      const step = r.timeline.find((e) => e.type === 'acknowledge')!;
      expect(step.detail, node.config.partyId).toMatchObject({
        countsAt: met.answeredAt,
        onTime: Date.parse(met.answeredAt!) <= Date.parse(met.dueAt),
      });
    }
    expect((await listed('?overdue=true')).map((v) => v.reqId)).not.toContain(id);
    expect((await listed('?overdue=false')).map((v) => v.reqId)).toContain(id);
    await untilRequest(a, id, (r) => !r.overdue, 'no longer overdue at A');
  });

  it('shows A’s closure held at M while B cannot be reached, then all closed', async () => {
    const final = await act(b, id, 'responses', {
      ...finalFor('grave_information'),
      note: `All found for ${MARKER}`,
    });
    expect(final.status, JSON.stringify(final.body)).toBe(200);
    await untilStatus(a, id, 'answered');
    await untilAtM(id, (v) => v.agree && v.asRequester === 'answered', 'answered on both sides');

    toB.cut();
    try {
      const closed = await act(a, id, 'close', {
        outcome: 'accepted',
        reason: `Thanks, ${MARKER}`,
      });
      expect(closed.status, JSON.stringify(closed.body)).toBe(200);
      const held = await untilAtM(
        id,
        (v) => v.messages.some((x) => x.kind === 'closure'),
        'the closure reached M',
      );
      expect(held).toMatchObject({
        asRequester: 'closed',
        asResponder: 'answered',
        settledStatus: 'closed',
        agree: false,
      });
      expect(held.messages.find((x) => x.kind === 'closure')).toMatchObject({
        from: 'requester',
        state: 'in_transit',
        receivedAt: null,
        effect: 'applied',
      });
      // That is what the parties show.
      expect((await requestDetail(a, id))?.status).toBe('closed');
      expect((await requestDetail(b, id))?.status).toBe('answered');
    } finally {
      toB.restore();
    }

    await untilStatus(b, id, 'closed', 'closed at B');
    const end = await untilAtM(id, (v) => v.agree, 'the closure’s receipt');
    expect(end).toMatchObject({
      asRequester: 'closed',
      asResponder: 'closed',
      settledStatus: 'closed',
      agree: true,
      overdue: false,
      escalationLevel: 0,
    });
    expect(end.messages.map((x) => `${x.from}:${x.kind}`).sort()).toEqual([
      'requester:closure',
      'requester:request',
      'responder:acknowledgement',
      'responder:response',
    ]);
    for (const x of end.messages) {
      expect(x.state, x.kind).toBe('received');
      expect(x.effect, x.kind).toBe('applied');
      expect(Date.parse(x.relayedAt)).toBeLessThanOrEqual(Date.parse(x.receivedAt!));
    }
    expect(deadline(end, 'response').answeredAt).not.toBeNull();
    // Listed too, within a limit of one.
    expect((await listed('?limit=1')).map((v) => v.reqId)).toEqual([id]);
  });

  it('never shows the sealed content', async () => {
    // The content is at B (so the marker did travel), and in none of M's answers.
    expect(JSON.stringify(await requestDetail(b, id))).toContain(MARKER);
    await listed();
    await viewAtM(id);
    for (const path of ['/v1/relayed', `/v1/relayed?req_id=${id}`]) {
      const res = await atM(path);
      expect(res.status).toBe(200);
    }
    expect(answers.length).toBeGreaterThan(10);
    for (const text of answers) expect(text).not.toContain(MARKER);
  });

  it('answers only M’s supervisors and admins, and names an unknown or malformed id', async () => {
    const officer = await m.token('officer', 'officer-milan');
    for (const path of ['/v1/mediated', `/v1/mediated/${id}`]) {
      const res = await call(m.url, 'GET', path, { token: officer });
      expect(res.status, path).toBe(403);
      expect(res.body.code).toBe('forbidden');
      const admin = await call(m.url, 'GET', path, { token: await m.token('admin') });
      expect(admin.status, path).toBe(200);
    }
    const unknown = await atM(`/v1/mediated/${ulid()}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('unknown_request');
    for (const path of ['/v1/mediated/not-a-request', '/v1/mediated?overdue=yes']) {
      const bad = await atM(path);
      expect(bad.status, path).toBe(400);
      expect(bad.body.code).toBe('schema_invalid');
    }
    // A party relays nothing: it lists no mediated request, though it holds this one.
    const atA = await call(a.url, 'GET', '/v1/mediated', { token: await a.token('supervisor') });
    expect(atA.status).toBe(200);
    expect(atA.body.items).toEqual([]);
  });
});
