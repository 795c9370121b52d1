// The partner inbox `POST /v1/messages` over real HTTP on a complete node (real Postgres, real
// Temporal namespace): every bad envelope is refused with its stable code and leaves exactly one
// trace, a row in the rejection log with the message digest; nothing else changes. A valid envelope
// is stored exactly and answered with a signed receipt; a replay gets that same receipt back.
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../errors.js';
import { encodeBase64url } from '../../protocol/base64url.js';
import { canonicalJson, MAX_DEPTH } from '../../protocol/canonical-json.js';
import { publicPart, type KeyRecord } from '../../protocol/keys.js';
import type { Draft } from '../../protocol/sign.js';
import { MAX_ENVELOPE_BYTES, MAX_LIFETIME_SECONDS, verifyEnvelope } from '../../protocol/verify.js';
import type { KeyRole, SignatureAlg } from '../../schemas/envelope.js';
import {
  createParty,
  expectedDigest,
  forgeAs,
  headerJson,
  MemoryKeyRegistry,
  RECEIVER,
  segmentsOf,
  SENDER,
  signDraftAs,
  SOME_DIGEST,
  validDraft,
  validPayload,
  type TestParty,
} from '../helpers/envelopes.js';
import { call } from '../helpers/http.js';
import { PROTOCOL_ONLY, startTestNode, type TestNode } from '../helpers/node.js';

/** Order of the P-256 group. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HOUR_MS = 60 * 60 * 1000;
const ENVELOPE_TYPE = 'application/jose';
/** The tables a refused envelope must leave as they were. */
const TABLES = [
  'inbox_messages',
  'outbox_messages',
  'outbox_versions',
  'party_keys',
  'parties',
  'registry_changes',
  'requests',
  'request_events',
] as const;

let node: TestNode;
let admin: string;
/** party-a's keys at the receiver: Ed25519 and ES256 with both roles, and keys that must fail. */
let ed: TestParty;
let es: TestParty;
let revoked: TestParty;
let expired: TestParty;
let receiptOnly: TestParty;
let messageOnly: TestParty;
/** Another registered partner, whose valid key must not speak for party-a. */
let mallory: TestParty;

const jwksOf = (...parties: TestParty[]) => ({
  keys: parties.map((p) => ({ ...p.signingKey.publicJwk, alg: p.signingKey.alg })),
});

async function addKeys(party: TestParty, extra: Record<string, unknown> = {}): Promise<void> {
  const res = await call(node.url, 'POST', `/v1/admin/partners/${SENDER}/keys`, {
    token: admin,
    json: { jwks: jwksOf(party), ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

beforeAll(async () => {
  node = await startTestNode({ partyId: RECEIVER, sink: PROTOCOL_ONLY });
  admin = await node.token('admin', 'admin-ops');
  [ed, es, revoked, expired, receiptOnly, messageOnly, mallory] = await Promise.all([
    createParty(SENDER, { alg: 'Ed25519' }),
    createParty(SENDER, { alg: 'ES256' }),
    createParty(SENDER),
    createParty(SENDER),
    createParty(SENDER),
    createParty(SENDER),
    createParty('party-m'),
  ]);
  const added = await call(node.url, 'POST', '/v1/admin/partners', {
    token: admin,
    json: {
      partyId: SENDER,
      name: 'Party A',
      inboxUrl: 'http://127.0.0.1:9/v1/messages',
      jwks: jwksOf(ed, es),
    },
  });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  await addKeys(revoked);
  const revocation = await call(
    node.url,
    'POST',
    `/v1/admin/partners/${SENDER}/keys/${revoked.signingKey.kid}/revoke`,
    { token: admin, json: { reason: 'device lost in the field' } },
  );
  expect(revocation.status, JSON.stringify(revocation.body)).toBe(200);
  await addKeys(expired, {
    validFrom: '2020-01-01T00:00:00Z',
    validUntil: '2021-01-01T00:00:00Z',
  });
  await addKeys(receiptOnly, { roles: ['receipt'] satisfies KeyRole[] });
  await addKeys(messageOnly, { roles: ['message'] satisfies KeyRole[] });
  const other = await call(node.url, 'POST', '/v1/admin/partners', {
    token: admin,
    json: {
      partyId: mallory.partyId,
      name: 'Party M',
      inboxUrl: 'http://127.0.0.1:9/v1/messages',
      jwks: jwksOf(mallory),
    },
  });
  expect(other.status, JSON.stringify(other.body)).toBe(201);
});
afterAll(() => node?.destroy());

// --- Posting and observing -------------------------------------------------------------------

async function post(body: string, contentType = ENVELOPE_TYPE) {
  return call(node.url, 'POST', '/v1/messages', {
    raw: body,
    headers: { 'content-type': contentType },
  });
}

interface Snapshot {
  rows: Record<(typeof TABLES)[number], number>;
  workflows: number;
  lastRejection: number;
}

async function snapshot(): Promise<Snapshot> {
  const { rows } = await node.database.pool.query<Snapshot['rows'] & { last_rejection: string }>(
    `SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t})::int AS ${t}`).join(', ')},
       (SELECT coalesce(max(id), 0) FROM inbox_rejections)::text AS last_rejection`,
  );
  const { last_rejection, ...counts } = rows[0]!;
  const { count } = await node.temporal.client.workflow.count();
  expect(count).toEqual(expect.any(Number));
  return { rows: counts, workflows: count, lastRejection: Number(last_rejection) };
}

async function rejectionsSince(s: Snapshot) {
  const { rows } = await node.database.pool.query<{ digest: string; code: string; via: string }>(
    'SELECT digest, code, via FROM inbox_rejections WHERE id > $1 ORDER BY id',
    [s.lastRejection],
  );
  return rows;
}

const sha256Hex = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The digest the rejection log should carry, computed here with node crypto: SHA-256 of
 * `header64.payload64` for the compact 3-segment shape, of the whole (trimmed) body otherwise.
 */
function digestForLog(body: string): string {
  const trimmed = body.trim();
  return trimmed.split('.').length === 3 ? expectedDigest(trimmed) : sha256Hex(trimmed);
}

/** Asserts nothing but the rejection log changed since `before`, and returns the new rejections. */
async function expectOnlyRejectionsChanged(before: Snapshot) {
  const after = await snapshot();
  expect(after.rows).toEqual(before.rows);
  expect(after.workflows).toBe(before.workflows);
  return rejectionsSince(before);
}

function expectProblem(res: Awaited<ReturnType<typeof post>>, status: number, code: ErrorCode) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.contentType).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code, type: `urn:parley:error:${code}` });
}

/** POSTs `body` to the inbox and asserts the refusal, its single trace, and that nothing else changed. */
async function expectRefusedOverHttp(
  body: string,
  status: number,
  code: ErrorCode,
  opts: { contentType?: string; logged?: boolean } = {},
) {
  const before = await snapshot();
  const res = await post(body, opts.contentType);
  expectProblem(res, status, code);
  const rejections = await expectOnlyRejectionsChanged(before);
  if (opts.logged ?? true) {
    expect(rejections).toEqual([{ digest: digestForLog(body), code, via: 'online' }]);
  } else {
    // Refused before the inbox (content type, body parser): no row is required, none other allowed.
    expect(rejections.every((r) => r.code === code)).toBe(true);
    expect(rejections.length).toBeLessThanOrEqual(1);
  }
  return res.body as Record<string, unknown>;
}

// --- Builders -------------------------------------------------------------------------------

/** A valid party-a decline to party-b, as canonical JSON text. */
const canonicalPayloadText = (draft: Draft = validDraft()) => canonicalJson(validPayload(draft));

function around(text: string, marker: string): [string, string] {
  const at = text.indexOf(marker);
  expect(at).toBeGreaterThan(0);
  return [text.slice(0, at), text.slice(at + marker.length)];
}

/** A payload whose reason holds `bytes` where the text had `@@`. */
function payloadWithBytes(bytes: number[]): Uint8Array {
  const [a, b] = around(
    canonicalPayloadText(validDraft('decline', { body: { reason: 'bad @@ byte' } })),
    '@@',
  );
  return Buffer.concat([Buffer.from(a), Buffer.from(bytes), Buffer.from(b)]);
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The same signature bytes spelled with the unused trailing bits of the last character set. */
function withTrailingBits(token: string): string {
  const { header64, payload64, sig64 } = segmentsOf(token);
  const last = alphabet.indexOf(sig64.at(-1)!);
  expect(last & 0b1111).toBe(0); // 64 bytes: the last of 86 characters carries 2 bits
  const altered = sig64.slice(0, -1) + alphabet[last | 1];
  expect(Buffer.from(altered, 'base64url')).toEqual(Buffer.from(sig64, 'base64url'));
  return `${header64}.${payload64}.${altered}`;
}

/** The (r, n - s) twin of an ES256 compact token: a different signature over the same input. */
function highSTwin(token: string): string {
  const { header64, payload64, sig64 } = segmentsOf(token);
  const sig = Buffer.from(sig64, 'base64url');
  const s = BigInt('0x' + sig.subarray(32).toString('hex'));
  const twinS = Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex');
  return `${header64}.${payload64}.${encodeBase64url(Buffer.concat([sig.subarray(0, 32), twinS]))}`;
}

/** The node's public keys from /.well-known/jwks.json, as a registry a partner would hold. */
async function nodeRegistry(): Promise<MemoryKeyRegistry> {
  const res = await call(node.url, 'GET', '/.well-known/jwks.json');
  expect(res.status).toBe(200);
  const registry = new MemoryKeyRegistry();
  for (const jwk of res.body.keys as Record<string, any>[]) {
    registry.add({
      kid: jwk.kid,
      partyId: RECEIVER,
      alg: jwk.alg as SignatureAlg,
      publicJwk: publicPart(jwk),
      roles: jwk.parley_roles,
      validFrom: new Date(jwk.parley_valid_from),
      validUntil: jwk.parley_valid_until ? new Date(jwk.parley_valid_until) : null,
      revokedAt: null,
    } satisfies KeyRecord);
  }
  return registry;
}

/** Verifies a receipt from the node as party-a would, and checks it names `token`'s message. */
async function expectReceiptFor(receipt: string, token: string) {
  const verified = await verifyEnvelope(receipt, {
    registry: await nodeRegistry(),
    self: SENDER,
    now: new Date(),
    mode: 'online',
  });
  const message = JSON.parse(Buffer.from(segmentsOf(token).payload64, 'base64url').toString());
  expect(verified.payload).toMatchObject({
    kind: 'receipt',
    iss: RECEIVER,
    aud: SENDER,
    req_id: message.req_id,
    in_reply_to: { msg_id: message.msg_id, digest: expectedDigest(token) },
    body: { digest: expectedDigest(token) },
  });
  return verified;
}

/** POSTs a valid envelope and asserts it is accepted; returns the receipt. */
async function deliver(token: string): Promise<string> {
  const res = await post(token);
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.contentType).toMatch(/^application\/jose/);
  expect(typeof res.body).toBe('string');
  return res.body as string;
}

// --- Refusals -------------------------------------------------------------------------------

type Case = [name: string, body: () => string | Promise<string>, status: number, code: ErrorCode];

/** Rows of `[name, body, status, code]` reordered so that the test title can name status and code. */
const cases = (rows: Case[]) =>
  rows.map(([name, body, status, code]) => [name, status, code, body] as const);

const noneHeader = () => headerJson({ alg: 'none' as never, kid: ed.signingKey.kid });

describe('POST /v1/messages refuses the header', () => {
  it.each(
    cases([
      [
        'alg none with a signature segment',
        () => forgeAs(ed, { header: noneHeader() }),
        400,
        'bad_header',
      ],
      [
        'alg none with an empty signature segment',
        () => {
          const { header64, payload64 } = segmentsOf(forgeAs(ed, { header: noneHeader() }));
          return `${header64}.${payload64}.`;
        },
        400,
        'malformed_envelope',
      ],
      [
        'alg none without a signature segment',
        () => {
          const { header64, payload64 } = segmentsOf(forgeAs(ed, { header: noneHeader() }));
          return `${header64}.${payload64}`;
        },
        400,
        'malformed_envelope',
      ],
      [
        'HS256 keyed with the public key bytes',
        () => {
          const header = headerJson({ alg: 'HS256' as never, kid: ed.signingKey.kid });
          const { header64, payload64 } = segmentsOf(forgeAs(ed, { header }));
          const secret = Buffer.from(ed.signingKey.publicJwk.x!, 'base64url');
          const mac = crypto
            .createHmac('sha256', secret)
            .update(`${header64}.${payload64}`)
            .digest();
          return `${header64}.${payload64}.${encodeBase64url(mac)}`;
        },
        400,
        'bad_header',
      ],
      [
        'a kid that is not registered',
        async () => (await signDraftAs(await createParty(SENDER))).token,
        401,
        'unknown_key',
      ],
      [
        'header alg EdDSA on a key registered as Ed25519',
        () => forgeAs(ed, { header: headerJson({ alg: 'EdDSA', kid: ed.signingKey.kid }) }),
        401,
        'alg_mismatch',
      ],
      [
        'header alg ES256 on a key registered as Ed25519',
        () => forgeAs(es, { header: headerJson({ alg: 'ES256', kid: ed.signingKey.kid }) }),
        401,
        'alg_mismatch',
      ],
      [
        'an embedded jwk',
        () => forgeAs(es, { header: headerJson(es.signingKey, { jwk: es.signingKey.publicJwk }) }),
        400,
        'bad_header',
      ],
      [
        'a jku URL',
        () =>
          forgeAs(es, {
            header: headerJson(es.signingKey, { jku: 'https://attacker.example/jwks.json' }),
          }),
        400,
        'bad_header',
      ],
      [
        'an x5c chain',
        () =>
          forgeAs(es, {
            header: headerJson(es.signingKey, {
              x5c: ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'],
            }),
          }),
        400,
        'bad_header',
      ],
      [
        'an extra member (cty)',
        () => forgeAs(ed, { header: headerJson(ed.signingKey, { cty: 'json' }) }),
        400,
        'bad_header',
      ],
      [
        'crit',
        () => forgeAs(ed, { header: headerJson(ed.signingKey, { crit: ['exp'], exp: 1 }) }),
        400,
        'bad_header',
      ],
      [
        'b64 false marked critical',
        () => forgeAs(ed, { header: headerJson(ed.signingKey, { b64: false, crit: ['b64'] }) }),
        400,
        'bad_header',
      ],
      [
        'duplicate member names',
        () =>
          forgeAs(ed, {
            header: `{"alg":"Ed25519","alg":"Ed25519","kid":"${ed.signingKey.kid}","typ":"parley-msg+jws"}`,
          }),
        400,
        'bad_header',
      ],
      [
        'unsorted members',
        () =>
          forgeAs(ed, {
            header: `{"typ":"parley-msg+jws","alg":"Ed25519","kid":"${ed.signingKey.kid}"}`,
          }),
        400,
        'bad_header',
      ],
      [
        'no typ',
        () => forgeAs(ed, { header: canonicalJson({ alg: 'Ed25519', kid: ed.signingKey.kid }) }),
        400,
        'bad_header',
      ],
    ]),
  )('refuses a header with %s: %i %s', async (_name, status, code, body) => {
    await expectRefusedOverHttp(await body(), status, code);
  });

  it.each([
    '../../etc/passwd',
    "' OR 1=1 --",
    '%2e%2e%2f',
    '/'.padEnd(43, 'x'),
    "x'--".padEnd(43, 'x'),
  ])('refuses the kid %j with 400 bad_header', async (kid) => {
    await expectRefusedOverHttp(
      forgeAs(ed, { header: headerJson({ alg: 'Ed25519', kid }) }),
      400,
      'bad_header',
    );
  });

  it.each(['JWT', 'PARLEY-MSG+JWS', 'application/parley-msg+jws', 'parley-msg+jwt'])(
    'refuses typ %j with 400 bad_header',
    async (typ) => {
      await expectRefusedOverHttp(
        forgeAs(ed, { header: headerJson(ed.signingKey, { typ }) }),
        400,
        'bad_header',
      );
    },
  );
});

describe('POST /v1/messages refuses the serialization', () => {
  it.each(
    cases([
      [
        'the JWS JSON serialization',
        async () => {
          const { header64, payload64, sig64 } = segmentsOf((await signDraftAs(ed)).token);
          return JSON.stringify({ protected: header64, payload: payload64, signature: sig64 });
        },
        400,
        'malformed_envelope',
      ],
      [
        'five segments',
        async () => `${(await signDraftAs(ed)).token}.AAAA.AAAA`,
        400,
        'malformed_envelope',
      ],
      [
        'a detached payload (empty middle segment)',
        async () => {
          const { header64, sig64 } = segmentsOf((await signDraftAs(ed)).token);
          return `${header64}..${sig64}`;
        },
        400,
        'malformed_envelope',
      ],
      [
        'a signature with = padding',
        async () => `${(await signDraftAs(ed)).token}==`,
        400,
        'malformed_envelope',
      ],
      [
        'a standard-base64 character in the signature',
        async () => {
          const { header64, payload64, sig64 } = segmentsOf((await signDraftAs(ed)).token);
          return `${header64}.${payload64}.+${sig64.slice(1)}`;
        },
        400,
        'malformed_envelope',
      ],
      [
        'an Ed25519 signature with altered trailing bits',
        async () => withTrailingBits((await signDraftAs(ed)).token),
        400,
        'malformed_envelope',
      ],
      [
        'an ES256 signature with altered trailing bits',
        async () => withTrailingBits((await signDraftAs(es)).token),
        400,
        'malformed_envelope',
      ],
      [
        'an ES256 signature in DER form',
        () => {
          const token = forgeAs(es, { dsaEncoding: 'der' });
          expect(Buffer.from(segmentsOf(token).sig64, 'base64url')[0]).toBe(0x30);
          return token;
        },
        401,
        'signature_invalid',
      ],
      [
        'a signature by another key than the kid names',
        async () => {
          const other = await createParty(SENDER);
          return forgeAs(other, { header: headerJson(ed.signingKey) });
        },
        401,
        'signature_invalid',
      ],
    ]),
  )('refuses %s: %i %s', async (_name, status, code, body) => {
    await expectRefusedOverHttp(await body(), status, code);
  });
});

describe('POST /v1/messages refuses a payload that is not canonical', () => {
  it.each<[string, () => Uint8Array | string]>([
    [
      'a byte order mark',
      () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(canonicalPayloadText())]),
    ],
    ['invalid UTF-8 bytes', () => payloadWithBytes([0xc3, 0x28])],
    ['an overlong UTF-8 encoding', () => payloadWithBytes([0xc1, 0x81])],
    ['whitespace after a colon', () => canonicalPayloadText().replace('"kind":', '"kind": ')],
    ['a trailing newline', () => canonicalPayloadText() + '\n'],
    ['pretty printing', () => JSON.stringify(JSON.parse(canonicalPayloadText()), null, 2)],
    [
      'unsorted keys',
      () => {
        const text = JSON.stringify(validPayload());
        expect(text).not.toBe(canonicalPayloadText());
        return text;
      },
    ],
    [
      'duplicate member names',
      () => canonicalPayloadText().replace('"aud":"party-b"', '"aud":"party-b","aud":"party-b"'),
    ],
    ['the number 1.0', () => canonicalPayloadText().replace(/"v":1}$/, '"v":1.0}')],
    ['the number 1e0', () => canonicalPayloadText().replace(/"v":1}$/, '"v":1e0}')],
    [
      'an escaped ASCII letter',
      () => canonicalPayloadText().replace('"kind":"decline"', '"kind":"d\\u0065cline"'),
    ],
    [
      'the integer 2^53 + 1',
      () => canonicalPayloadText().replace(/"iat":\d+/, '"iat":9007199254740993'),
    ],
    [
      'the integer -(2^53 + 1) in a record',
      () =>
        canonicalPayloadText(validDraft('response')).replace(
          '"depth_m":12',
          '"depth_m":-9007199254740993',
        ),
    ],
  ])('refuses %s with 400 not_canonical', async (_name, payload) => {
    await expectRefusedOverHttp(forgeAs(ed, { payload: payload() }), 400, 'not_canonical');
  });

  it('accepts the same payload text when it is canonical (control for the cases above)', async () => {
    const token = forgeAs(ed, { payload: canonicalPayloadText() });
    await expectReceiptFor(await deliver(token), token);
  });

  it(`refuses nesting deeper than ${MAX_DEPTH} levels with 400 too_deep`, async () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < MAX_DEPTH + 1; i++) deep = { a: deep };
    const { token } = await signDraftAs(
      ed,
      validDraft('response', { body: { final: true, records: [deep] } }),
    );
    await expectRefusedOverHttp(token, 400, 'too_deep');
  });

  it('refuses a payload member the schema does not know with 400 schema_invalid', async () => {
    const body = await expectRefusedOverHttp(
      forgeAs(ed, { payload: { ...validPayload(), note: 'hello' } }),
      400,
      'schema_invalid',
    );
    expect(body.errors).toContainEqual({
      path: '/note',
      message: expect.stringContaining('unknown member'),
    });
  });
});

describe('POST /v1/messages refuses who sent it and to whom', () => {
  it.each(
    cases([
      [
        'the right key with a wrong aud',
        async () => (await signDraftAs(ed, validDraft('decline', { aud: 'party-c' }))).token,
        403,
        'wrong_audience',
      ],
      [
        'a look-alike Unicode aud (Cyrillic а in pаrty-b)',
        () => forgeAs(ed, { payload: { ...validPayload(), aud: 'p\u0430rty-b' } }),
        403,
        'wrong_audience',
      ],
      [
        "an iss that is not the key's owner",
        async () => (await signDraftAs(ed, validDraft('decline', { iss: 'party-c' }))).token,
        403,
        'issuer_mismatch',
      ],
      [
        'a look-alike Unicode iss (Cyrillic а in pаrty-a)',
        () => forgeAs(ed, { payload: { ...validPayload(), iss: 'p\u0430rty-a' } }),
        403,
        'issuer_mismatch',
      ],
      [
        "another partner's registered key claiming to be party-a",
        async () => (await signDraftAs(mallory, validDraft('decline', { iss: SENDER }))).token,
        403,
        'issuer_mismatch',
      ],
    ]),
  )('refuses %s: %i %s', async (_name, status, code, body) => {
    await expectRefusedOverHttp(await body(), status, code);
  });
});

describe('POST /v1/messages refuses envelopes out of their time', () => {
  it.each(
    cases([
      [
        'an iat an hour in the future',
        async () =>
          (await signDraftAs(ed, undefined, { now: new Date(Date.now() + HOUR_MS) })).token,
        400,
        'stale',
      ],
      [
        'an exp that has passed',
        async () =>
          (await signDraftAs(ed, undefined, { now: new Date(Date.now() - HOUR_MS) })).token,
        400,
        'stale',
      ],
      [
        `a lifetime over ${MAX_LIFETIME_SECONDS} seconds`,
        async () =>
          (await signDraftAs(ed, undefined, { lifetimeSeconds: MAX_LIFETIME_SECONDS + 1 })).token,
        400,
        'stale',
      ],
      [
        'exp not after iat',
        async () => (await signDraftAs(ed, undefined, { lifetimeSeconds: 0 })).token,
        400,
        'stale',
      ],
    ]),
  )('refuses %s: %i %s', async (_name, status, code, body) => {
    await expectRefusedOverHttp(await body(), status, code);
  });
});

describe('POST /v1/messages refuses keys that may not sign it', () => {
  it.each(
    cases([
      [
        'a key revoked through the admin API',
        async () => (await signDraftAs(revoked)).token,
        401,
        'key_not_valid',
      ],
      [
        'a key whose validUntil has passed',
        async () => (await signDraftAs(expired)).token,
        401,
        'key_not_valid',
      ],
      [
        'a decline signed by a receipt-only key',
        async () => (await signDraftAs(receiptOnly)).token,
        403,
        'key_role_mismatch',
      ],
      [
        'a receipt signed by a message-only key',
        async () => (await signDraftAs(messageOnly, validDraft('receipt'))).token,
        403,
        'key_role_mismatch',
      ],
    ]),
  )('refuses %s: %i %s', async (_name, status, code, body) => {
    await expectRefusedOverHttp(await body(), status, code);
  });
});

describe('POST /v1/messages refuses replies that do not name a stored message', () => {
  it('refuses in_reply_to naming an unknown msg_id with 409 reply_mismatch', async () => {
    const { token } = await signDraftAs(ed, validDraft('clarification'));
    await expectRefusedOverHttp(token, 409, 'reply_mismatch');
  });

  it('refuses in_reply_to naming a stored message with a wrong digest with 409 reply_mismatch', async () => {
    // party-a's request is stored; its withdrawal must name it by msg_id and exact digest.
    const request = await signDraftAs(ed, validDraft('request'));
    await deliver(request.token);
    const withdrawal = (digest: string) =>
      signDraftAs(
        ed,
        validDraft('withdrawal', {
          req_id: request.payload.req_id,
          in_reply_to: { msg_id: request.payload.msg_id, digest },
        }),
      );
    expect(SOME_DIGEST).not.toBe(request.digest);
    await expectRefusedOverHttp((await withdrawal(SOME_DIGEST)).token, 409, 'reply_mismatch');
    // Control: the same reply with the right digest is accepted.
    const good = await withdrawal(expectedDigest(request.token));
    await expectReceiptFor(await deliver(good.token), good.token);
  });
});

describe('POST /v1/messages refuses what is not one envelope', () => {
  it('refuses text/plain with 415 unsupported_media_type', async () => {
    const { token } = await signDraftAs(ed);
    await expectRefusedOverHttp(token, 415, 'unsupported_media_type', {
      contentType: 'text/plain',
      logged: false,
    });
  });

  it('refuses an empty body with 400 malformed_envelope', async () => {
    await expectRefusedOverHttp('', 400, 'malformed_envelope');
  });

  it(`refuses an envelope over ${MAX_ENVELOPE_BYTES} bytes with 413 too_large`, async () => {
    const draft = validDraft('response', {
      body: { final: true, records: [{ blob: 'x'.repeat(MAX_ENVELOPE_BYTES) }] },
    });
    const { token } = await signDraftAs(ed, draft);
    expect(token.length).toBeGreaterThan(MAX_ENVELOPE_BYTES);
    await expectRefusedOverHttp(token, 413, 'too_large', { logged: false });
  });
});

// --- Acceptance and replays -----------------------------------------------------------------

async function inboxRows(digest: string) {
  const { rows } = await node.database.pool.query<{ token: string; receipt_token: string }>(
    'SELECT token, receipt_token FROM inbox_messages WHERE digest = $1',
    [digest],
  );
  return rows;
}

describe('POST /v1/messages accepts a valid envelope once', () => {
  it.each(['Ed25519', 'ES256'] as const)(
    'accepts a valid %s envelope with 202 and a signed receipt naming its digest, storing the exact token',
    async (alg) => {
      const signed = await signDraftAs(alg === 'Ed25519' ? ed : es);
      const before = await snapshot();
      const receipt = await deliver(signed.token);
      const verified = await expectReceiptFor(receipt, signed.token);
      expect(verified.payload.body).toMatchObject({ digest: signed.digest });

      const after = await snapshot();
      expect(after.rows).toEqual({
        ...before.rows,
        inbox_messages: before.rows.inbox_messages + 1,
      });
      expect(await rejectionsSince(before)).toEqual([]);
      expect(await inboxRows(expectedDigest(signed.token))).toEqual([
        { token: signed.token, receipt_token: receipt },
      ]);
    },
  );

  it('refuses the same envelope again with 409 replay, giving back the first receipt', async () => {
    const signed = await signDraftAs(ed);
    const receipt = await deliver(signed.token);
    const problem = await expectRefusedOverHttp(signed.token, 409, 'replay');
    expect(problem).toMatchObject({ receipt, original_digest: expectedDigest(signed.token) });
    expect(await inboxRows(signed.digest)).toHaveLength(1);
  });

  it('refuses the high-S twin of a valid ES256 envelope with 409 replay (same digest)', async () => {
    const signed = await signDraftAs(es);
    const twin = highSTwin(signed.token);
    expect(twin).not.toBe(signed.token);
    expect(expectedDigest(twin)).toBe(expectedDigest(signed.token));
    const receipt = await deliver(signed.token);
    const problem = await expectRefusedOverHttp(twin, 409, 'replay');
    expect(problem).toMatchObject({ receipt, original_digest: signed.digest });
    expect(await inboxRows(signed.digest)).toEqual([
      { token: signed.token, receipt_token: receipt },
    ]);
  });

  it('refuses a re-signed envelope with the same msg_id and a new iat with 409 replay', async () => {
    const first = await signDraftAs(ed, undefined, { now: new Date(Date.now() - 5_000) });
    const again = await signDraftAs(
      ed,
      validDraft('decline', { msg_id: first.payload.msg_id, req_id: first.payload.req_id }),
    );
    expect(again.payload.iat).toBeGreaterThan(first.payload.iat);
    expect(expectedDigest(again.token)).not.toBe(expectedDigest(first.token));
    const receipt = await deliver(first.token);
    const problem = await expectRefusedOverHttp(again.token, 409, 'replay');
    expect(problem).toMatchObject({ receipt, original_digest: expectedDigest(first.token) });
    expect(await inboxRows(again.digest)).toEqual([]);
  });
});
