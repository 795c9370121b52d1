// A message of ours the partner refuses for good, between live nodes over HTTP: it has no effect.
// A's officer withdraws a request B holds, and the inbox at B's registered address refuses the
// withdrawal (403 wrong_audience: the address now leads to another party's node, C, which knows
// A's keys). A shows the request as it was, says which message was refused and with which code, and
// lists it for supervisors; B never got the withdrawal. Once the address is right again, a new
// withdrawal takes effect on both sides.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestDetailView } from '../../schemas/requests-api.js';
import { SupervisorRequestPage, SupervisorSummary } from '../../schemas/supervisor-api.js';
import { subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { requestDetail } from '../helpers/requests.js';

let a: TestNode;
let b: TestNode;
let c: TestNode;
let officer: string;
let supervisor: string;

const detail = requestDetail;

/** Waits until `node` shows the request and `check` holds of it; returns what it showed. */
const until = (
  node: TestNode,
  id: string,
  what: string,
  check: (r: RequestDetailView) => boolean,
) =>
  eventually(
    async () => {
      const r = await detail(node, id);
      return r && check(r) ? r : undefined;
    },
    30_000,
    `${node.config.partyId}: ${what}`,
  );

/** Points A's registry entry for party-b at another inbox, as A's admin would. */
async function inboxOfPartyB(url: string) {
  const res = await call(a.url, 'PATCH', '/v1/admin/partners/party-b', {
    token: await a.token('admin', 'admin-ops'),
    json: { inboxUrl: url },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

beforeAll(async () => {
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1' };
  [a, b, c] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
    startTestNode({ partyId: 'party-c', env }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  // C knows A's keys, so it verifies A's messages and refuses them for being addressed to B.
  await registerPartner(c, a);
  officer = await a.token('officer', 'officer-amira');
  supervisor = await a.token('supervisor', 'sup-sofia');
});
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy(), c?.destroy()]);
});

describe('a message the partner refuses', () => {
  it('has no effect: A shows the request as it was, with the refusal; B never got it', async () => {
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: officer,
      json: {
        type: 'grave_information',
        counterparty: 'party-b',
        subject: subjectFor('grave_information', 'Graves by the old mill'),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await until(b, id, 'delivered', (r) => r.status === 'delivered');
    await until(a, id, 'delivered', (r) => r.status === 'delivered');

    await inboxOfPartyB(`${c.url}/v1/messages`);
    const withdrawal = await call(a.url, 'POST', `/v1/requests/${id}/withdraw`, {
      token: officer,
      json: { reason: 'No longer needed.' },
    });
    // Signed and stored: the officer's action is taken; delivery follows.
    expect(withdrawal.status, JSON.stringify(withdrawal.body)).toBe(200);
    const msgId = withdrawal.body.msgId as string;

    const atA = await until(a, id, 'the refusal', (r) => r.partnerRefusal !== null);
    expect(atA.status).toBe('delivered');
    expect(atA.partnerRefusal).toMatchObject({ msgId, kind: 'withdrawal', code: 'wrong_audience' });
    expect(atA.timeline.find((e) => e.type === 'message_refused_by_partner')).toMatchObject({
      actor: 'party-b',
      status: 'delivered',
      detail: { msgId, kind: 'withdrawal', code: 'wrong_audience', dropped: [] },
    });

    // Supervisors find it among the refused, counted in the summary and notified.
    const refused = await call(a.url, 'GET', '/v1/supervisor/requests?refused=true', {
      token: supervisor,
    });
    expect(refused.status).toBe(200);
    const items = SupervisorRequestPage.parse(refused.body).items;
    expect(items.map((i) => i.id)).toContain(id);
    expect(items.find((i) => i.id === id)?.partnerRefusal?.code).toBe('wrong_audience');
    const notRefused = await call(a.url, 'GET', '/v1/supervisor/requests?refused=false', {
      token: supervisor,
    });
    expect(SupervisorRequestPage.parse(notRefused.body).items.map((i) => i.id)).not.toContain(id);
    await eventually(
      async () => {
        const res = await call(a.url, 'GET', '/v1/supervisor/summary', { token: supervisor });
        return SupervisorSummary.parse(res.body).refusedByPartner === 1 ? true : undefined;
      },
      15_000,
      'the summary counting the refusal',
    );
    const notes = await call(a.url, 'GET', '/dashboard/notifications.json', { token: supervisor });
    expect(notes.body.notifications).toContainEqual(
      expect.objectContaining({ reqId: id, kind: 'message_refused' }),
    );
    // Operators find it in Temporal by its search attribute.
    const described = await a.temporal.client.workflow.getHandle(`request-${id}`).describe();
    expect(
      described.typedSearchAttributes.getAll().find((p) => p.key.name === 'ParleyPartnerRefusal')
        ?.value,
    ).toBe('wrong_audience');

    // B never got the withdrawal: the request is delivered there still.
    const atB = await detail(b, id);
    expect(atB?.status).toBe('delivered');
    expect(atB?.timeline.map((e) => e.type)).not.toContain('withdraw');
    expect(await detail(c, id)).toBeUndefined();

    // With the right address again, a new withdrawal takes effect on both sides.
    await inboxOfPartyB(`${b.url}/v1/messages`);
    const again = await call(a.url, 'POST', `/v1/requests/${id}/withdraw`, {
      token: officer,
      json: { reason: 'No longer needed.' },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    await until(b, id, 'withdrawn', (r) => r.status === 'withdrawn');
    const finalA = await until(a, id, 'withdrawn', (r) => r.status === 'withdrawn');
    // The refusal stays on record: it happened.
    expect(finalA.partnerRefusal).toMatchObject({ msgId, code: 'wrong_audience' });
  });
});
