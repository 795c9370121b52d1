// Deadlines that are fair to both sides: B acknowledges before the deadline while A cannot be
// reached; A escalates meanwhile (it could not know), and once the acknowledgement arrives both
// nodes count it at its signed time, in time, and neither shows the request overdue.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestDetailView } from '../../schemas/requests-api.js';
import { subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';
import { freePort } from '../helpers/ports.js';
import { CuttableProxy } from '../helpers/proxy.js';
import { requestDetail } from '../helpers/requests.js';

let a: TestNode;
let b: TestNode;
let proxy: CuttableProxy;
const ACK_SECONDS = 12;

const detail = requestDetail;
const until = (node: TestNode, id: string, pred: (r: RequestDetailView) => boolean, what: string) =>
  eventually(
    async () => {
      const r = await detail(node, id);
      return r && pred(r) ? r : undefined;
    },
    ACK_SECONDS * 1000 + 30_000,
    `${node.config.partyId}: ${what}`,
  );

beforeAll(async () => {
  const policyFile = await writeTestPolicy([
    {
      request_type: 'mine_map',
      priority: 'urgent',
      acknowledge_seconds: ACK_SECONDS,
      respond_seconds: 3600,
      escalation_after_seconds: [0],
    },
  ]);
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1', PARLEY_POLICY_FILE: policyFile };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  // B reaches A only through a proxy the test can cut; A reaches B directly.
  const target = new URL(a.url);
  proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port) });
  const proxyPort = await freePort();
  await proxy.listen(proxyPort);
  await registerPartner(a, b);
  await registerPartner(b, a, `http://127.0.0.1:${proxyPort}/v1/messages`);
});
afterAll(async () => {
  proxy?.restore();
  await Promise.all([a?.destroy(), b?.destroy()]);
  await proxy?.close();
});

describe('a step signed in time and received late', () => {
  it('counts at its signed time on both nodes: acknowledged in time, not overdue', async () => {
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: await a.token('officer', 'officer-amira'),
      json: {
        type: 'mine_map',
        counterparty: 'party-b',
        priority: 'urgent',
        subject: subjectFor('mine_map', 'Minefield by the late bridge'),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    const atB = await until(b, id, (r) => r.status === 'delivered', 'delivered');

    proxy.cut();
    const ack = await call(b.url, 'POST', `/v1/requests/${id}/acknowledge`, {
      token: await b.token('officer', 'officer-bogdan'),
      json: {},
    });
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);
    // B signed it before the acknowledgement deadline.
    expect(Date.now()).toBeLessThan(Date.parse(atB.ackDueAt!));

    // A hears nothing: the deadline passes, A shows the request overdue and escalates.
    const late = await until(a, id, (r) => r.overdue, 'overdue while B is cut off');
    expect(late.status).toBe('delivered');
    expect(late.timeline.some((e) => e.type === 'escalated')).toBe(true);

    proxy.restore();
    const [atA, bAfter] = await Promise.all([
      until(a, id, (r) => r.status === 'acknowledged', 'acknowledgement arrived'),
      until(b, id, (r) => r.status === 'acknowledged', 'acknowledged'),
    ]);
    const stepAt = (r: RequestDetailView) =>
      r.timeline.find((e) => e.type === 'acknowledge')?.detail as
        { onTime?: boolean; countsAt?: string } | undefined;
    // Both count it at B's signed time, in time; neither shows the request overdue any more.
    expect(stepAt(atA)).toMatchObject({ onTime: true });
    expect(stepAt(bAfter)).toMatchObject({ onTime: true });
    expect(stepAt(atA)!.countsAt).toBe(stepAt(bAfter)!.countsAt);
    expect(Date.parse(stepAt(atA)!.countsAt!)).toBeLessThan(Date.parse(atA.ackDueAt!));
    expect(atA.overdue).toBe(false);
    expect(bAfter.overdue).toBe(false);
    expect(bAfter.timeline.some((e) => e.type === 'escalated')).toBe(false);
  });
});
