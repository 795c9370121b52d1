// A mediator per request (README, _A mediator per request_): A and B reach each other directly and
// each lists M among the mediators a request between them may name. Three live nodes, content
// sealed between A and B.
//
// - A request that names M goes through M, every message of it both ways, each with M's relay
//   receipt; both parties show M as its mediator, and M's view follows it. It keeps that route
//   when both registries stop listing M, and a later message that bypassed M is refused.
// - A request that names none goes directly: M never sees it.
// - A's officer naming a mediator the registry does not agree is refused before anything starts.
// - A request naming M that bypasses M is refused by B (`relay_missing`); one naming another
//   mediator is not relayed by M; one naming a mediator B does not agree is refused by B
//   (`mediator_not_agreed`), and A shows the refusal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import { sealingKeyFor } from '../../db/registry.js';
import { buildPayload, signPayload } from '../../protocol/sign.js';
import { subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
import {
  act,
  createRequest,
  expectRefused,
  heldAtM,
  officerOf,
  postEnvelope,
  startMediatedTrio,
  untilRequest,
  untilStatus,
  viewAtM,
  type MediatedTrio,
} from '../helpers/mediated.js';
import { requestDetail } from '../helpers/requests.js';

let trio: MediatedTrio;
let a: TestNode;
let m: TestNode;
let b: TestNode;

beforeAll(async () => {
  trio = await startMediatedTrio({ sealContent: true, perRequest: true });
  ({ a, m, b } = trio);
}, 120_000);
afterAll(async () => {
  await trio?.stop();
});

/** The relayed messages M keeps of a request, as `from>to:kind`, sorted. */
async function relayedAtM(id: string): Promise<string[]> {
  const { rows } = await m.database.pool.query<{ iss: string; aud: string; kind: string }>(
    'SELECT iss, aud, kind FROM relayed_messages WHERE req_id = $1',
    [id],
  );
  return rows.map((r) => `${r.iss}>${r.aud}:${r.kind}`).sort();
}

/** The issuers of the relay receipts `node` keeps beside the messages of a request. */
async function relayIssuers(node: TestNode, table: 'inbox' | 'outbox', id: string) {
  const { rows } = await node.database.pool.query<{ token: string | null }>(
    `SELECT relay_receipt_token AS token FROM ${table}_messages WHERE req_id = $1`,
    [id],
  );
  return rows.map((r) =>
    r.token
      ? (JSON.parse(Buffer.from(r.token.split('.')[1]!, 'base64url').toString('utf8'))
          .iss as string)
      : null,
  );
}

describe('a request that names its mediator', () => {
  it('goes through M both ways, and both parties and M agree on it', async () => {
    const id = await createRequest(a, 'Graves near the old mill', { mediator: 'party-m' });
    const atB = await untilStatus(b, id, 'delivered', 'the request reached B');
    expect(atB.mediator).toBe('party-m');
    expect((await requestDetail(a, id))!.mediator).toBe('party-m');
    expect((await act(b, id, 'acknowledge', { note: 'Searching' })).status).toBe(200);
    await untilStatus(a, id, 'acknowledged');
    expect((await act(b, id, 'decline', { reason: 'No records of that area' })).status).toBe(200);
    const endA = await untilStatus(a, id, 'declined');
    const endB = (await requestDetail(b, id))!;
    expect(endB.status).toBe('declined');
    expect(endB.receiptAt).toBe(endA.receiptAt);

    // Every message crossed M, and each side keeps M's relay receipt beside each.
    expect(await relayedAtM(id)).toEqual(
      [
        'party-a>party-b:request',
        'party-b>party-a:acknowledgement',
        'party-b>party-a:decline',
      ].sort(),
    );
    expect(await relayIssuers(b, 'inbox', id)).toEqual(['party-m']);
    expect(await relayIssuers(a, 'outbox', id)).toEqual(['party-m']);
    expect(await relayIssuers(a, 'inbox', id)).toEqual(['party-m', 'party-m']);
    // M follows it as it follows a request of a partner routed through it.
    const view = await heldAtM(m, 'supervisor-mila', id);
    expect(view).toMatchObject({ requester: 'party-a', responder: 'party-b' });
  });

  it('keeps its route when the registries change, and refuses a later message that bypassed M', async () => {
    const id = await createRequest(a, 'Graves along the railway', { mediator: 'party-m' });
    await untilStatus(b, id, 'delivered', 'the request reached B');
    // Both registries stop listing M: new requests can no longer name it; this one still goes
    // through M, as both parties read from the signed request.
    const setMediators = (node: TestNode, partner: string, mediators: string[]) =>
      node
        .token('admin', 'admin-ops')
        .then((token) =>
          call(node.url, 'PATCH', `/v1/admin/partners/${partner}`, { token, json: { mediators } }),
        );
    expect((await setMediators(a, 'party-b', [])).status).toBe(200);
    expect((await setMediators(b, 'party-a', [])).status).toBe(200);
    try {
      // B's acknowledgement signed as B would and posted straight to A: refused, nothing kept.
      const [{ msg_id: requestMsgId, digest }] = (
        await b.database.pool.query<{ msg_id: string; digest: string }>(
          `SELECT msg_id, digest FROM inbox_messages WHERE req_id = $1 AND kind = 'request'`,
          [id],
        )
      ).rows as [{ msg_id: string; digest: string }];
      const bypass = await signPayload(
        buildPayload(
          {
            kind: 'acknowledgement',
            iss: 'party-b',
            aud: 'party-a',
            req_id: id,
            in_reply_to: { msg_id: requestMsgId, digest },
            seq: 1,
            seen: 1,
            body: {},
          },
          new Date(),
        ),
        b.exchange.outbox.keyring.signerFor('acknowledgement'),
        await sealingKeyFor(b.database.pool, 'party-a', new Date()),
      );
      expectRefused(await postEnvelope(a, bypass.token), 400, 'relay_missing');
      const kept = await a.database.pool.query('SELECT 1 FROM inbox_messages WHERE msg_id = $1', [
        bypass.payload.msg_id,
      ]);
      expect(kept.rowCount).toBe(0);

      expect((await act(b, id, 'acknowledge', {})).status).toBe(200);
      await untilStatus(a, id, 'acknowledged');
      expect(await relayedAtM(id)).toEqual(
        ['party-a>party-b:request', 'party-b>party-a:acknowledgement'].sort(),
      );
      expect(await relayIssuers(a, 'inbox', id)).toEqual(['party-m']);
      expect((await requestDetail(b, id))!.mediator).toBe('party-m');
      // A new request can no longer name M.
      const refused = await call(a.url, 'POST', '/v1/requests', {
        token: officerOf(a),
        json: {
          type: 'grave_information',
          counterparty: 'party-b',
          subject: subjectFor('grave_information', 'Graves at the crossroads'),
          mediator: 'party-m',
        },
      });
      expectRefused(refused, 422, 'mediator_not_agreed');
    } finally {
      expect((await setMediators(a, 'party-b', ['party-m'])).status).toBe(200);
      expect((await setMediators(b, 'party-a', ['party-m'])).status).toBe(200);
    }
  });

  it('goes directly when it names none, and M never sees it', async () => {
    const id = await createRequest(a, 'Graves by the river bend');
    const atB = await untilStatus(b, id, 'delivered', 'the request reached B');
    expect(atB.mediator).toBeNull();
    expect((await act(b, id, 'acknowledge', {})).status).toBe(200);
    await untilStatus(a, id, 'acknowledged');
    expect((await requestDetail(a, id))!.mediator).toBeNull();
    expect(await relayedAtM(id)).toEqual([]);
    expect(await viewAtM(m, 'supervisor-mila', id)).toBeUndefined();
    expect(await relayIssuers(b, 'inbox', id)).toEqual([null]);
  });

  it('is refused at A when it names a mediator the registry does not agree', async () => {
    const before = await a.database.pool.query('SELECT req_id FROM requests');
    for (const mediator of ['party-x', 'party-b']) {
      const res = await call(a.url, 'POST', '/v1/requests', {
        token: officerOf(a),
        json: {
          type: 'grave_information',
          counterparty: 'party-b',
          subject: subjectFor('grave_information', 'Graves on the hill'),
          mediator,
        },
      });
      expectRefused(res, 422, 'mediator_not_agreed');
      expect(res.body.errors[0].path).toBe('/mediator');
    }
    const after = await a.database.pool.query('SELECT req_id FROM requests');
    expect(after.rowCount).toBe(before.rowCount);
  });
});

describe('B checks the route a request names', () => {
  /** A request from A naming `mediator`, signed and sealed to B as A's node would. */
  async function requestFromA(mediator: string) {
    const payload = buildPayload(
      {
        kind: 'request',
        iss: 'party-a',
        aud: 'party-b',
        req_id: ulid(),
        seq: 1,
        seen: 0,
        body: {
          request_type: 'grave_information',
          priority: 'routine',
          subject: subjectFor('grave_information', 'Graves past the bridge'),
          policy_digest: a.policy.digest,
          mediator,
        } as never,
      },
      new Date(),
    );
    return signPayload(
      payload,
      a.exchange.outbox.keyring.signerFor('request'),
      await sealingKeyFor(a.database.pool, 'party-b', new Date()),
    );
  }

  it('refuses a request naming M that did not come through M', async () => {
    const signed = await requestFromA('party-m');
    expectRefused(await postEnvelope(b, signed.token), 400, 'relay_missing');
    const kept = await b.database.pool.query('SELECT 1 FROM inbox_messages WHERE msg_id = $1', [
      signed.payload.msg_id,
    ]);
    expect(kept.rowCount).toBe(0);
  });

  it('is not relayed by M when it names another mediator', async () => {
    const signed = await requestFromA('party-x');
    const res = await call(m.url, 'POST', '/v1/messages', {
      raw: signed.token,
      headers: { 'content-type': 'application/jose' },
    });
    expectRefused(res, 422, 'mediator_not_agreed');
    const kept = await m.database.pool.query('SELECT 1 FROM relayed_messages WHERE msg_id = $1', [
      signed.payload.msg_id,
    ]);
    expect(kept.rowCount).toBe(0);
  });

  it('refuses a request naming a mediator it does not agree, and A shows the refusal', async () => {
    const admin = await b.token('admin', 'admin-ops');
    const set = (mediators: string[]) =>
      call(b.url, 'PATCH', '/v1/admin/partners/party-a', { token: admin, json: { mediators } });
    expect((await set([])).status).toBe(200);
    try {
      const signed = await requestFromA('party-m');
      expectRefused(await postEnvelope(b, signed.token), 422, 'mediator_not_agreed');

      const id = await createRequest(a, 'Graves behind the school', { mediator: 'party-m' });
      const refused = await untilRequest(
        a,
        id,
        (r) => r.partnerRefusal !== null && r.partnerRefusal !== undefined,
        'B’s refusal reached A',
      );
      expect(refused.partnerRefusal).toMatchObject({ code: 'mediator_not_agreed' });
      expect(await requestDetail(b, id)).toBeUndefined();
      // M took it and passed B's refusal on as it came.
      expect(await relayedAtM(id)).toEqual(['party-a>party-b:request']);
    } finally {
      expect((await set(['party-m'])).status).toBe(200);
    }
  });
});
