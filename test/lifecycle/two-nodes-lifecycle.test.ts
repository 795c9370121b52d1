// The heart of it: a request travels from party A to party B and back, each side on its own node,
// namespace and database, every step a signed message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestDetailView } from '../../schemas/requests-api.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';
import { recordHistory } from '../helpers/histories.js';
import { createParty, signDraftAs, validDraft } from '../helpers/envelopes.js';
import { ulid } from 'ulid';
import { finalFor, notFoundFor, partialFor, subjectFor } from '../helpers/domain.js';
import { requestDetail } from '../helpers/requests.js';

let a: TestNode;
let b: TestNode;
let tokens: { a: string; b: string };

const detail = requestDetail;

/** Waits until the request on `node` satisfies `pred`. */
function until(node: TestNode, id: string, pred: (r: RequestDetailView) => boolean, what: string) {
  return eventually(
    async () => {
      const r = await detail(node, id);
      return r && pred(r) ? r : undefined;
    },
    30_000,
    `${node.config.partyId}: ${what}`,
  );
}

const actOn = (node: TestNode, token: string, id: string, route: string, json: unknown) =>
  call(node.url, 'POST', `/v1/requests/${id}/${route}`, { token, json });

beforeAll(async () => {
  const policyFile = await writeTestPolicy([
    {
      request_type: 'grave_information',
      priority: 'urgent',
      acknowledge_seconds: 3,
      respond_seconds: 6,
      reminder_offsets_seconds: [2],
      escalation_after_seconds: [0, 2],
    },
  ]);
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1', PARLEY_POLICY_FILE: policyFile };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  tokens = {
    a: await a.token('officer', 'officer-amira'),
    b: await b.token('officer', 'officer-bogdan'),
  };
});
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('a request between two live nodes', () => {
  it.each([
    ['mine_map', 'Minefield records, northern bridge approach'],
    ['grave_information', 'Burial sites reported near the old mill'],
    ['identification_result', 'Identification results for remains from site 9'],
  ] as const)(
    'a %s request goes submitted → delivered → acknowledged → answered → closed on both sides',
    async (type, title) => {
      const created = await call(a.url, 'POST', '/v1/requests', {
        token: tokens.a,
        json: {
          type,
          counterparty: 'party-b',
          priority: 'routine',
          subject: subjectFor(type, title),
        },
      });
      expect(created.status).toBe(201);
      const id = created.body.id as string;

      const atA = await until(a, id, (r) => r.status === 'delivered', 'delivered');
      expect(atA.receiptAt).not.toBeNull();
      expect(atA.ackDueAt).toBe(new Date(Date.parse(atA.receiptAt!) + 3600_000).toISOString());
      const atB = await until(b, id, (r) => r.status === 'delivered', 'request arrived');
      expect(atB).toMatchObject({
        direction: 'incoming',
        requester: 'party-a',
        responder: 'party-b',
        type,
      });
      // Both sides count from the same signed receipt time.
      expect(atB.receiptAt).toBe(atA.receiptAt);
      expect(atB.responseDueAt).toBe(atA.responseDueAt);

      const ack = await actOn(b, tokens.b, id, 'acknowledge', { note: 'Archive search started' });
      expect(ack.status, JSON.stringify(ack.body)).toBe(200);
      expect(ack.body.status).toBe('acknowledged');
      await until(a, id, (r) => r.status === 'acknowledged', 'acknowledged');

      // An action the state does not allow is refused and changes nothing.
      const twice = await actOn(b, tokens.b, id, 'acknowledge', {});
      expect(twice).toMatchObject({ status: 409, body: { code: 'invalid_state' } });
      const early = await actOn(a, tokens.a, id, 'close', { outcome: 'accepted' });
      expect(early).toMatchObject({ status: 409, body: { code: 'invalid_state' } });
      const wrongSide = await actOn(a, tokens.a, id, 'responses', notFoundFor(type));
      expect(wrongSide).toMatchObject({ status: 409, body: { code: 'invalid_state' } });

      const partial = await actOn(b, tokens.b, id, 'responses', partialFor(type));
      expect(partial.body.status, JSON.stringify(partial.body)).toBe('partially_answered');
      const final = await actOn(b, tokens.b, id, 'responses', finalFor(type));
      expect(final.body.status, JSON.stringify(final.body)).toBe('answered');
      await until(a, id, (r) => r.status === 'answered', 'answered');

      const closed = await actOn(a, tokens.a, id, 'close', { outcome: 'accepted' });
      expect(closed.body.status).toBe('closed');
      const endB = await until(b, id, (r) => r.status === 'closed', 'closed');
      const endA = (await detail(a, id))!;

      expect(endA.timeline.map((e) => e.type)).toEqual(
        expect.arrayContaining([
          'created',
          'delivered',
          'acknowledge',
          'respond_partial',
          'respond_final',
          'close_accepted',
        ]),
      );
      expect(endB.timeline.map((e) => e.type)).toEqual(
        expect.arrayContaining([
          'received',
          'acknowledge',
          'respond_partial',
          'respond_final',
          'close_accepted',
        ]),
      );
      expect(endB.timeline.find((e) => e.type === 'acknowledge')?.actor).toBe('officer-bogdan');
      expect(endA.timeline.find((e) => e.type === 'acknowledge')?.actor).toBe('party-b');

      // Every transition crossed as a signed message, stored on both sides.
      const { rows: sentByB } = await b.database.pool.query(
        'SELECT kind, status FROM outbox_messages WHERE req_id = $1 ORDER BY created_at',
        [id],
      );
      expect(sentByB.map((r) => r.kind)).toEqual(['acknowledgement', 'response', 'response']);
      const { rows: atAInbox } = await a.database.pool.query(
        'SELECT kind FROM inbox_messages WHERE req_id = $1 ORDER BY received_at',
        [id],
      );
      expect(atAInbox.map((r) => r.kind)).toEqual(['acknowledgement', 'response', 'response']);

      const again = await actOn(a, tokens.a, id, 'close', { outcome: 'accepted' });
      expect(again).toMatchObject({ status: 409, body: { code: 'invalid_state' } });

      await a.temporal.client.workflow.getHandle(`request-${id}`).result();
      await b.temporal.client.workflow.getHandle(`request-${id}`).result();
      const name = type.replaceAll('_', '-');
      await recordHistory(a.temporal.client, `request-${id}`, `outgoing-${name}-closed`);
      await recordHistory(b.temporal.client, `request-${id}`, `incoming-${name}-closed`);
    },
  );

  it('reminds before a missed deadline, then marks the request overdue and escalates on both sides', async () => {
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: tokens.a,
      json: {
        type: 'grave_information',
        counterparty: 'party-b',
        priority: 'urgent',
        subject: subjectFor('grave_information', 'Burial sites near the quarry road'),
      },
    });
    const id = created.body.id as string;
    const late = await until(a, id, (r) => r.escalationLevel >= 2, 'escalation level 2');
    expect(late.overdue).toBe(true);
    const types = late.timeline.map((e) => e.type);
    expect(types.indexOf('reminder_sent')).toBeGreaterThan(-1);
    expect(types.indexOf('reminder_sent')).toBeLessThan(types.indexOf('escalated'));
    expect(late.timeline.filter((e) => e.type === 'escalated').map((e) => e.detail.level)).toEqual(
      expect.arrayContaining([1, 2]),
    );

    const atB = await until(
      b,
      id,
      (r) => r.overdue && r.timeline.some((e) => e.type === 'reminder_received'),
      'overdue at B',
    );
    expect(atB.timeline.some((e) => e.type === 'escalated')).toBe(true);

    // The Temporal UI and CLI see the same picture: the overdue flag is a search attribute.
    const listed = await eventually(
      async () => {
        const ids: string[] = [];
        for await (const w of a.temporal.client.workflow.list({ query: 'ParleyOverdue = true' }))
          ids.push(w.workflowId);
        return ids.includes(`request-${id}`) ? ids : undefined;
      },
      10_000,
      'overdue in Temporal visibility',
    );
    expect(listed).toContain(`request-${id}`);

    const { rows } = await a.database.pool.query(
      "SELECT kind, level FROM notifications WHERE req_id = $1 AND kind = 'escalation' ORDER BY seq",
      [id],
    );
    expect(rows.map((r) => r.level)).toEqual(expect.arrayContaining([1, 2]));

    // Answering ends the overdue state.
    await actOn(b, tokens.b, id, 'acknowledge', {});
    await actOn(b, tokens.b, id, 'responses', notFoundFor('grave_information'));
    await until(a, id, (r) => r.status === 'answered' && !r.overdue, 'answered, no longer overdue');
  });

  it('refuses, before storing anything, messages for an unknown request, from the wrong party, or under another policy', async () => {
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: tokens.a,
      json: {
        type: 'identification_result',
        counterparty: 'party-b',
        subject: subjectFor('identification_result', 'Results for site 14 remains'),
      },
    });
    const id = created.body.id as string;
    await until(b, id, (r) => r.status === 'delivered', 'request arrived');

    // Party C is a registered partner of B, but the request is between A and B.
    const c = await createParty('party-c');
    const reg = await call(b.url, 'POST', '/v1/admin/partners', {
      token: await b.token('admin'),
      json: {
        partyId: 'party-c',
        name: 'Party C',
        inboxUrl: 'http://127.0.0.1:9/v1/messages',
        jwks: { keys: [{ ...c.signingKey.publicJwk, alg: c.signingKey.alg }] },
      },
    });
    expect(reg.status).toBe(201);
    const post = (token: string) =>
      fetch(`${b.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/jose' },
        body: token,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { code: string } }));
    const count = async () =>
      (await b.database.pool.query('SELECT count(*)::int AS n FROM inbox_messages')).rows[0]
        .n as number;
    const before = await count();

    const fromC = await signDraftAs(
      c,
      validDraft('withdrawal', { iss: 'party-c', aud: 'party-b', req_id: id, body: {} }),
    );
    expect(await post(fromC.token)).toMatchObject({
      status: 404,
      body: { code: 'unknown_request' },
    });
    const unknown = await signDraftAs(
      c,
      validDraft('withdrawal', { iss: 'party-c', aud: 'party-b', req_id: ulid(), body: {} }),
    );
    expect(await post(unknown.token)).toMatchObject({
      status: 404,
      body: { code: 'unknown_request' },
    });
    const otherPolicy = await signDraftAs(
      c,
      validDraft('request', {
        iss: 'party-c',
        aud: 'party-b',
        req_id: ulid(),
        body: {
          request_type: 'mine_map',
          priority: 'routine',
          subject: subjectFor('mine_map', 'Mined area by the dam') as never,
          policy_digest: 'b'.repeat(64),
        },
      }),
    );
    expect(await post(otherPolicy.token)).toMatchObject({
      status: 409,
      body: { code: 'policy_mismatch' },
    });
    expect(await count()).toBe(before);
  });
});
