// A step of ours the partner has not accepted yet is visible, between live nodes over HTTP. A's
// officer withdraws a request B holds while B cannot be reached (A reaches B through a proxy the
// test cuts): A shows the request withdrawn at once, and says that B has not accepted the
// withdrawal yet (its attempts and the last answer), while B still shows it delivered. Once B can be
// reached, both show it withdrawn and nothing is waiting. A code B keeps answering (key_not_valid,
// after B revoked A's key) is shown the same way, with that code.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RequestDetailView, RequestView } from '../../schemas/requests-api.js';
import { subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { freePort } from '../helpers/ports.js';
import { CuttableProxy } from '../helpers/proxy.js';
import { requestDetail } from '../helpers/requests.js';

let a: TestNode;
let b: TestNode;
let proxy: CuttableProxy;
let officer: string;

/** Waits until `node` shows the request and `check` holds of it; returns what it showed. */
const until = (
  node: TestNode,
  id: string,
  what: string,
  check: (r: RequestDetailView) => boolean,
) =>
  eventually(
    async () => {
      const r = await requestDetail(node, id);
      return r && check(r) ? r : undefined;
    },
    30_000,
    `${node.config.partyId}: ${what}`,
  );

beforeAll(async () => {
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1' };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  // A reaches B only through a proxy the test can cut; B reaches A directly.
  const target = new URL(b.url);
  proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port) });
  const proxyPort = await freePort();
  await proxy.listen(proxyPort);
  await registerPartner(a, b, `http://127.0.0.1:${proxyPort}/v1/messages`);
  await registerPartner(b, a);
  officer = await a.token('officer', 'officer-amira');
});
afterAll(async () => {
  proxy?.restore();
  await Promise.all([a?.destroy(), b?.destroy()]);
  await proxy?.close();
});

describe('a step the partner has not accepted yet', () => {
  it('is shown as not yet accepted, with its attempts and last answer, until it is', async () => {
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: officer,
      json: {
        type: 'grave_information',
        counterparty: 'party-b',
        subject: subjectFor('grave_information', 'Graves by the weir'),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await until(b, id, 'delivered', (r) => r.status === 'delivered');
    // The request itself was accepted: nothing of ours is waiting.
    const delivered = await until(a, id, 'delivered', (r) => r.status === 'delivered');
    expect(delivered.undelivered).toEqual([]);

    proxy.cut();
    const withdrawal = await call(a.url, 'POST', `/v1/requests/${id}/withdraw`, {
      token: officer,
      json: { reason: 'No longer needed.' },
    });
    // The officer's action is taken at once, and its answer already says B does not have it.
    expect(withdrawal.status, JSON.stringify(withdrawal.body)).toBe(200);
    const msgId = withdrawal.body.msgId as string;
    const answered = RequestView.parse(withdrawal.body.request);
    expect(answered.status).toBe('withdrawn');
    expect(answered.undelivered).toMatchObject([{ msgId, kind: 'withdrawal' }]);

    // A shows withdrawn, and that B has not accepted the withdrawal: tried, and unreachable.
    const first = await until(
      a,
      id,
      'the withdrawal tried and not accepted',
      (r) => (r.undelivered[0]?.attempts ?? 0) >= 1,
    );
    expect(first.status).toBe('withdrawn');
    expect(first.undelivered).toHaveLength(1);
    expect(first.undelivered[0]).toMatchObject({
      msgId,
      kind: 'withdrawal',
      lastError: 'unreachable',
    });
    expect(Date.parse(first.undelivered[0]!.since)).toBeLessThanOrEqual(Date.now());
    // Tried again and again while B is away, and said so each time.
    const later = await until(
      a,
      id,
      'more attempts',
      (r) => (r.undelivered[0]?.attempts ?? 0) > first.undelivered[0]!.attempts,
    );
    expect(later.status).toBe('withdrawn');
    expect(later.undelivered[0]).toMatchObject({
      msgId,
      since: first.undelivered[0]!.since,
      lastError: 'unreachable',
    });
    // The officers' list says it too.
    const list = await call(a.url, 'GET', '/v1/requests?limit=200', { token: officer });
    expect(list.status).toBe(200);
    const listed = (list.body.items as unknown[])
      .map((i) => RequestView.parse(i))
      .find((r) => r.id === id);
    expect(listed?.undelivered.map((u) => u.msgId)).toEqual([msgId]);

    // B never got it: the request is delivered there, with no withdrawal on its timeline.
    const atB = await requestDetail(b, id);
    expect(atB?.status).toBe('delivered');
    expect(atB?.timeline.map((e) => e.type)).not.toContain('withdraw');
    expect(atB?.undelivered).toEqual([]);

    proxy.restore();
    const [finalA, finalB] = await Promise.all([
      until(a, id, 'withdrawn, nothing waiting', (r) => r.undelivered.length === 0),
      until(b, id, 'withdrawn', (r) => r.status === 'withdrawn'),
    ]);
    expect(finalA.status).toBe('withdrawn');
    expect(finalA.partnerRefusal).toBeNull();
    expect(finalB.timeline.map((e) => e.type)).toContain('withdraw');
  });

  // Last in the file: B no longer takes A's messages afterwards.
  it('names the code B keeps answering (key_not_valid after B revoked our key), not as a refusal', async () => {
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: officer,
      json: {
        type: 'grave_information',
        counterparty: 'party-b',
        subject: subjectFor('grave_information', 'Graves by the ford'),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await until(b, id, 'delivered', (r) => r.status === 'delivered');
    await until(a, id, 'delivered', (r) => r.status === 'delivered' && !r.undelivered.length);

    // B's admin revokes A's message keys: B answers A's messages 401 key_not_valid, which A's
    // outbox retries (A may yet rotate its key), so the withdrawal is neither accepted nor refused.
    const jwks = await call(a.url, 'GET', '/.well-known/jwks.json');
    const kids = (jwks.body.keys as { kid: string; parley_roles: string[] }[])
      .filter((k) => k.parley_roles.includes('message'))
      .map((k) => k.kid);
    expect(kids.length).toBeGreaterThan(0);
    for (const kid of kids) {
      const res = await call(b.url, 'POST', `/v1/admin/partners/party-a/keys/${kid}/revoke`, {
        token: await b.token('admin', 'admin-ops'),
        json: { reason: 'Key reported lost.' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const withdrawal = await call(a.url, 'POST', `/v1/requests/${id}/withdraw`, {
      token: officer,
      json: {},
    });
    expect(withdrawal.status, JSON.stringify(withdrawal.body)).toBe(200);
    const msgId = withdrawal.body.msgId as string;

    const atA = await until(
      a,
      id,
      'the withdrawal answered key_not_valid, twice',
      (r) => r.undelivered[0]?.lastError === 'key_not_valid' && r.undelivered[0].attempts >= 2,
    );
    expect(atA.status).toBe('withdrawn');
    expect(atA.undelivered).toMatchObject([{ msgId, kind: 'withdrawal' }]);
    // Not a refusal for good: nothing says it had no effect, since it may yet be accepted.
    expect(atA.partnerRefusal).toBeNull();
    expect(atA.timeline.map((e) => e.type)).not.toContain('message_refused_by_partner');
    const atB = await requestDetail(b, id);
    expect(atB?.status).toBe('delivered');
    expect(atB?.timeline.map((e) => e.type)).not.toContain('withdraw');
  });
});
