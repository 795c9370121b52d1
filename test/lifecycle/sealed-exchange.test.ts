// Sealed content between two live nodes (README, _Sealed content_). A and B are registered with each
// other with `sealContent: true`: every message's personal members (subject, records, notes,
// reasons...) travel only inside a JWE sealed to the partner's published encryption key.
//
// - A full lifecycle of each request type, with marker strings in the subject, the
//   acknowledgement's note, the records and the closure's reason, converges on both nodes, and
//   each officer reads the partner's content in clear (the receiver decrypted it).
// - On the wire nothing personal: no marker in any signed token either node stored (inbox, outbox,
//   re-signed versions, receipts); every message with personal content carries `sealed`, sealed to
//   the recipient's encryption key; yet the receivers' clear payloads hold every marker.
// - A partner that seals but has no encryption key registered: a request to it is refused
//   (`409 encryption_key_missing`) and nothing is created.
// - A sends in clear to B, which expects sealed content: B refuses (`not_sealed`) before storing
//   anything, A shows the refusal; sealing again, a new request goes through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseSchema } from '../../schemas/domain/index.js';
import type { RequestType } from '../../schemas/common.js';
import { CreateRequestBody, type RequestDetailView } from '../../schemas/requests-api.js';
import { PUBLIC_BODY_MEMBERS, type SealableKind } from '../../schemas/sealed.js';
import { finalFor, partialFor, subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { requestDetail } from '../helpers/requests.js';
import { fits, Markers } from '../privacy/markers.js';

const TYPES: readonly RequestType[] = ['mine_map', 'grave_information', 'identification_result'];

let a: TestNode;
let b: TestNode;
let officers: { a: string; b: string };
/** Each node's encryption key id, as it publishes it in /.well-known/jwks.json. */
const encKid: Record<string, string> = {};
/** Markers of the sealed lifecycles (tests 1 and 2); the clear-text test uses its own. */
const markers = new Markers();
/** The request of each type once its sealed lifecycle closed on both nodes. */
const closedIds = new Map<RequestType, string>();

/** Waits until the request on `node` satisfies `pred` (read as a supervisor). */
function until(node: TestNode, id: string, pred: (r: RequestDetailView) => boolean, what: string) {
  return eventually(
    async () => {
      const r = await requestDetail(node, id);
      return r && pred(r) ? r : undefined;
    },
    30_000,
    `${node.config.partyId}: ${what}`,
  );
}

/** The request as an officer of `node` reads it: with subject and message bodies. */
async function officerDetail(node: TestNode, id: string): Promise<Record<string, unknown>> {
  const res = await call(node.url, 'GET', `/v1/requests/${id}`, {
    token: node === a ? officers.a : officers.b,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Record<string, unknown>;
}

async function act(node: TestNode, id: string, route: string, json: unknown) {
  const res = await call(node.url, 'POST', `/v1/requests/${id}/${route}`, {
    token: node === a ? officers.a : officers.b,
    json,
  });
  expect(res.status, `${node.config.partyId} ${route}: ${JSON.stringify(res.body)}`).toBe(200);
  return res.body as { status: string; msgId: string };
}

async function setSealContent(node: TestNode, partyId: string, sealContent: boolean) {
  const res = await call(node.url, 'PATCH', `/v1/admin/partners/${partyId}`, {
    token: await node.token('admin', 'admin-ops'),
    json: { sealContent },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.sealContent).toBe(sealContent);
}

const decode = (segment: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;

/** Every signed token `node` stored, with the table it came from. */
async function storedTokens(node: TestNode): Promise<{ from: string; token: string }[]> {
  const sources = [
    ['inbox_messages', 'token'],
    ['inbox_messages', 'receipt_token'],
    ['outbox_messages', 'token'],
    ['outbox_messages', 'receipt_token'],
    ['outbox_versions', 'token'],
  ] as const;
  const found: { from: string; token: string }[] = [];
  for (const [table, column] of sources) {
    const { rows } = await node.database.pool.query<{ token: string }>(
      `SELECT ${column} AS token FROM ${table} WHERE ${column} IS NOT NULL`,
    );
    for (const r of rows)
      found.push({ from: `${node.config.partyId} ${table}.${column}`, token: r.token });
  }
  return found;
}

/** The markers of the sealed lifecycles found in `text`. */
const markersIn = (text: string): string[] =>
  [...new Set(text.match(/PDM\d{5}Z/g) ?? [])].filter((m) => markers.placed.has(m));

beforeAll(async () => {
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1' };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  await registerPartner(a, b, undefined, { sealContent: true });
  await registerPartner(b, a, undefined, { sealContent: true });
  officers = {
    a: await a.token('officer', 'officer-amira'),
    b: await b.token('officer', 'officer-bogdan'),
  };
  for (const node of [a, b]) {
    const jwks = await call(node.url, 'GET', '/.well-known/jwks.json');
    const keys = (jwks.body as { keys: { kid: string; use?: string; parley_roles?: string[] }[] })
      .keys;
    const enc = keys.filter((k) => k.use === 'enc');
    expect(enc, `${node.config.partyId} publishes one encryption key`).toHaveLength(1);
    expect(enc[0]!.parley_roles).toEqual(['encryption']);
    encKid[node.config.partyId] = enc[0]!.kid;
  }
});
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('sealed content between two live nodes', () => {
  it.each(TYPES)(
    'a sealed %s request goes through its whole lifecycle; each side reads the other’s content',
    async (type) => {
      const create = (subject: unknown) => ({
        type,
        counterparty: 'party-b',
        priority: 'routine',
        subject,
      });
      const subject = markers.mark(
        subjectFor(type, `Sealed ${type} request`),
        (s) => CreateRequestBody.safeParse(create(s)).success,
        `${type}/subject`,
      );
      const subjectMarkers = markersIn(JSON.stringify(subject));
      expect(subjectMarkers.length).toBeGreaterThan(0);

      const created = await call(a.url, 'POST', '/v1/requests', {
        token: officers.a,
        json: create(subject),
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const id = created.body.id as string;

      await until(a, id, (r) => r.status === 'delivered', 'delivered');
      await until(b, id, (r) => r.status === 'delivered', 'request arrived');
      // B opened the sealed subject: its officer reads A's text, markers and all.
      const atB = await officerDetail(b, id);
      expect(markersIn(JSON.stringify(atB.subject)).sort()).toEqual([...subjectMarkers].sort());

      const ackNote = markers.text(`${type}/acknowledgement`);
      expect((await act(b, id, 'acknowledge', { note: ackNote })).status).toBe('acknowledged');
      await until(a, id, (r) => r.status === 'acknowledged', 'acknowledged');

      const respond = (body: Record<string, unknown>, where: string) =>
        markers.mark(
          { ...body, note: markers.text(`${where}-note`) },
          fits(responseSchema(type)),
          where,
        );
      const partial = respond(partialFor(type), `${type}/partial`);
      const final = respond(finalFor(type), `${type}/final`);
      const responseMarkers = markersIn(JSON.stringify([partial, final]));
      // Markers in the records themselves, not only in the notes.
      expect(responseMarkers.length).toBeGreaterThan(2);
      expect((await act(b, id, 'responses', partial)).status).toBe('partially_answered');
      expect((await act(b, id, 'responses', final)).status).toBe('answered');
      await until(a, id, (r) => r.status === 'answered', 'answered');

      // A opened the sealed responses: its officer reads B's records and notes.
      const atA = await officerDetail(a, id);
      const fromB = (atA.messages as { kind: string; from: string; body: unknown }[]).filter(
        (m) => m.kind === 'response' && m.from === 'partner',
      );
      expect(fromB).toHaveLength(2);
      expect(markersIn(JSON.stringify(fromB)).sort()).toEqual([...responseMarkers].sort());

      const reason = markers.text(`${type}/closure`);
      expect((await act(a, id, 'close', { outcome: 'accepted', reason })).status).toBe('closed');
      await until(b, id, (r) => r.status === 'closed', 'closed');
      expect((await requestDetail(a, id))?.status).toBe('closed');

      // A's closing reason arrived sealed and B stored it opened, as A wrote it.
      const { rows: closure } = await b.database.pool.query<{ payload: { body: unknown } }>(
        "SELECT payload FROM inbox_messages WHERE req_id = $1 AND kind = 'closure'",
        [id],
      );
      expect(closure).toHaveLength(1);
      expect(closure[0]!.payload.body).toEqual({ outcome: 'accepted', reason });
      closedIds.set(type, id);
    },
  );

  it('sends nothing personal on the wire: every token holds only public members and `sealed`', async () => {
    expect([...closedIds.keys()].sort(), 'the sealed lifecycles ran first').toEqual(
      [...TYPES].sort(),
    );
    const tokens = [...(await storedTokens(a)), ...(await storedTokens(b))];
    /** The sealed messages seen, by kind: their message ids. */
    const sealedKinds = new Map<string, Set<string>>();
    let receipts = 0;
    for (const { from, token } of tokens) {
      const segments = token.split('.');
      expect(segments, from).toHaveLength(3);
      const payloadText = Buffer.from(segments[1]!, 'base64url').toString('utf8');
      expect(markersIn(`${token}\n${payloadText}`), `${from}: ${payloadText}`).toEqual([]);
      const payload = JSON.parse(payloadText) as {
        msg_id: string;
        kind: string;
        aud: string;
        body: Record<string, unknown>;
        attachments: { name: string; sha256: string }[];
        sealed?: string;
      };
      if (payload.kind === 'receipt') {
        receipts += 1;
        expect(payload.sealed, `${from}: a receipt is never sealed`).toBeUndefined();
        continue;
      }
      // Only the kind's public members in clear; every message of these lifecycles carries
      // personal content (subject, note, records, reason), so every one is sealed.
      const publicMembers = PUBLIC_BODY_MEMBERS[payload.kind as SealableKind] as readonly string[];
      expect(
        Object.keys(payload.body).filter((m) => !publicMembers.includes(m)),
        `${from}: ${payload.kind} members in clear`,
      ).toEqual([]);
      expect(payload.attachments.every((f) => f.name === f.sha256)).toBe(true);
      expect(typeof payload.sealed, `${from}: ${payload.kind} is sealed`).toBe('string');
      const jwe = payload.sealed!.split('.');
      expect(jwe).toHaveLength(5);
      expect(decode(jwe[0]!), `${from}: sealed to the recipient's encryption key`).toMatchObject({
        alg: 'ECDH-ES+A256KW',
        enc: 'A256GCM',
        typ: 'parley-content+jwe',
        kid: encKid[payload.aud],
      });
      sealedKinds.set(
        payload.kind,
        (sealedKinds.get(payload.kind) ?? new Set()).add(payload.msg_id),
      );
    }
    // Every message of both directions was seen sealed: one request, acknowledgement and closure
    // and two responses per lifecycle.
    expect(receipts).toBeGreaterThan(0);
    expect(Object.fromEntries([...sealedKinds].map(([k, ids]) => [k, ids.size]))).toEqual({
      request: TYPES.length,
      acknowledgement: TYPES.length,
      response: 2 * TYPES.length,
      closure: TYPES.length,
    });

    // What was sealed did arrive: the receivers' clear payloads hold every marker placed.
    const { rows: atB } = await b.database.pool.query('SELECT payload FROM inbox_messages');
    const { rows: atA } = await a.database.pool.query('SELECT payload FROM inbox_messages');
    const clear = JSON.stringify([...atA, ...atB].map((r) => r.payload as unknown));
    expect(markersIn(clear).sort()).toEqual([...markers.placed.keys()].sort());
  });

  it('refuses a request to a sealing partner whose encryption key is not registered, creating nothing', async () => {
    const { generateSigningKey, loadSigningKey } = await import('../../protocol/keys.js');
    const key = await loadSigningKey(
      await generateSigningKey({ alg: 'Ed25519', roles: ['message', 'receipt'] }),
    );
    const reg = await call(a.url, 'POST', '/v1/admin/partners', {
      token: await a.token('admin', 'admin-ops'),
      json: {
        partyId: 'party-z',
        name: 'Party Z, sealing without an encryption key',
        inboxUrl: 'http://127.0.0.1:9/v1/messages',
        jwks: { keys: [{ ...key.publicJwk, alg: key.alg }] },
        sealContent: true,
      },
    });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    expect(reg.body.sealContent).toBe(true);

    const refused = await call(a.url, 'POST', '/v1/requests', {
      token: officers.a,
      json: {
        type: 'grave_information',
        counterparty: 'party-z',
        priority: 'routine',
        subject: subjectFor('grave_information', 'Graves by the ford'),
      },
    });
    expect(refused).toMatchObject({ status: 409, body: { code: 'encryption_key_missing' } });

    const listed = await call(a.url, 'GET', '/v1/requests?limit=200', { token: officers.a });
    expect(listed.status).toBe(200);
    const items = listed.body.items as { counterparty: string }[];
    expect(items.length).toBeGreaterThan(0);
    expect(items.filter((i) => i.counterparty === 'party-z')).toEqual([]);
    const { rows } = await a.database.pool.query(
      "SELECT count(*)::int AS n FROM outbox_messages WHERE aud = 'party-z'",
    );
    expect(rows[0].n).toBe(0);
  });

  it('B refuses a request A sent in clear (`not_sealed`); once A seals again, a new one goes through', async () => {
    // A's registry says B does not take sealed content; B's still says A seals.
    await setSealContent(a, 'party-b', false);
    const clearMarker = 'SEALED-MARKER-CLEAR-1';
    const inClear = await call(a.url, 'POST', '/v1/requests', {
      token: officers.a,
      json: {
        type: 'mine_map',
        counterparty: 'party-b',
        priority: 'routine',
        subject: { ...subjectFor('mine_map'), purpose_note: `Access lanes ${clearMarker}` },
      },
    });
    expect(inClear.status, JSON.stringify(inClear.body)).toBe(201);
    const refusedId = inClear.body.id as string;

    const atA = await until(a, refusedId, (r) => r.partnerRefusal !== null, 'the refusal');
    expect(atA.partnerRefusal).toMatchObject({ kind: 'request', code: 'not_sealed' });
    expect(atA.status).toBe('submitted');
    expect(atA.receiptAt).toBeNull();
    expect(atA.timeline.find((e) => e.type === 'message_refused_by_partner')).toMatchObject({
      actor: 'party-b',
      detail: { kind: 'request', code: 'not_sealed' },
    });
    // It left A in clear (which is what B refused)...
    const { rows: sent } = await a.database.pool.query<{
      token: string;
      status: string;
      digest: string;
    }>("SELECT token, status, digest FROM outbox_messages WHERE req_id = $1 AND kind = 'request'", [
      refusedId,
    ]);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.status).toBe('rejected');
    expect(Buffer.from(sent[0]!.token.split('.')[1]!, 'base64url').toString()).toContain(
      clearMarker,
    );
    // ...and B kept none of it: no request, no stored message, the marker nowhere in its inbox.
    const atB = await call(b.url, 'GET', `/v1/requests/${refusedId}`, { token: officers.b });
    expect(atB.status).toBe(404);
    const { rows: kept } = await b.database.pool.query(
      'SELECT count(*)::int AS n FROM inbox_messages WHERE req_id = $1',
      [refusedId],
    );
    expect(kept[0].n).toBe(0);
    // B's refusal log names that very message (by digest, never its content), with the same code.
    const { rows: logged } = await b.database.pool.query<{ code: string }>(
      'SELECT code FROM inbox_rejections WHERE digest = $1',
      [sent[0]!.digest],
    );
    expect(logged.map((r) => r.code)).toEqual(['not_sealed']);

    // Sealing again, a new request goes through, sealed.
    await setSealContent(a, 'party-b', true);
    const again = await call(a.url, 'POST', '/v1/requests', {
      token: officers.a,
      json: {
        type: 'mine_map',
        counterparty: 'party-b',
        priority: 'routine',
        subject: { ...subjectFor('mine_map'), purpose_note: 'Access lanes SEALED-MARKER-2' },
      },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(201);
    const id = again.body.id as string;
    const delivered = await until(a, id, (r) => r.status === 'delivered', 'delivered');
    expect(delivered.partnerRefusal).toBeNull();
    await until(b, id, (r) => r.status === 'delivered', 'request arrived');
    expect(JSON.stringify((await officerDetail(b, id)).subject)).toContain('SEALED-MARKER-2');
    const { rows: stored } = await b.database.pool.query<{ token: string }>(
      "SELECT token FROM inbox_messages WHERE req_id = $1 AND kind = 'request'",
      [id],
    );
    const wire = Buffer.from(stored[0]!.token.split('.')[1]!, 'base64url').toString();
    expect(wire).not.toContain('SEALED-MARKER-2');
    expect(JSON.parse(wire)).toHaveProperty('sealed');
  });
});
