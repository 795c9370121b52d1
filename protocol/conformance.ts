// The conformance kit: what `parley conformance` sends to a partner's inbox and what it expects
// back, as data. A partner implementation of wire protocol v1 (README "Wire protocol v1" and the
// convergence rule) must take every valid probe with a receipt signed by its registered key, and
// refuse every bad one with the documented status and code. The probes are built here, signed
// with the kit's registered key at one moment (they expire like any envelope), and judged here;
// the CLI and the tests supply only the transport, so both run exactly the same checks.
import type { KeyObject } from 'node:crypto';
import { ulid } from 'ulid';
import { AppError } from '../errors.js';
import {
  ENVELOPE_MEDIA_TYPE,
  type KeyRole,
  type MessageKind,
  type Payload,
  type SignatureAlg,
} from '../schemas/envelope.js';
import { canonicalJson } from './canonical-json.js';
import { forgeToken, headerJson, segmentsOf, toKeyObject } from './forge.js';
import {
  generateEncryptionKey,
  generateSigningKey,
  loadDecryptionKey,
  loadSigningKey,
  type KeyRecord,
  type KeyRegistry,
  type SigningKey,
  type StoredSigningKey,
} from './keys.js';
import { sealPayload, type SealingKey } from './seal.js';
import { buildPayload, signPayload, type Draft } from './sign.js';
import { MAX_ENVELOPE_BYTES, MAX_SKEW_SECONDS, verifyEnvelope } from './verify.js';

/** The format name and version of a vectors file (`parley conformance --vectors FILE`). */
export const VECTORS_FORMAT = 'parley-conformance-vectors';
export const VECTORS_VERSION = 1;

/** The kit's own registered key: loaded for signing, and as a node KeyObject for forging. */
export interface KitKey {
  signingKey: SigningKey;
  privateKey: KeyObject;
}

export async function kitKeyOf(stored: StoredSigningKey): Promise<KitKey> {
  const signingKey = await loadSigningKey(stored);
  if (!signingKey.roles.includes('message'))
    throw new TypeError(`key ${signingKey.kid} has no message role: the kit sends messages`);
  return { signingKey, privateKey: toKeyObject(stored.private_jwk) };
}

/** A new key for the kit: the message role only, so a forged receipt must be key_role_mismatch. */
export function newKitKey(alg: 'Ed25519' | 'ES256' = 'Ed25519'): Promise<StoredSigningKey> {
  return generateSigningKey({ alg, roles: ['message'], validFrom: new Date() });
}

/** The public key set to register at the partner for the kit's party (message role only). */
export function kitJwks(stored: StoredSigningKey): { keys: Record<string, unknown>[] } {
  const { d: _private, ...pub } = stored.private_jwk;
  return {
    keys: [
      {
        ...pub,
        kid: stored.kid,
        alg: stored.alg,
        parley_roles: ['message'] satisfies KeyRole[],
        parley_valid_from: stored.valid_from,
      },
    ],
  };
}

export interface ConformanceSetup {
  /** Our party id, as the partner registered it with the kit's key. */
  self: string;
  /** The partner's party id (the `aud` of every probe, the `iss` of every receipt). */
  partner: string;
  key: KitKey;
  /**
   * Optional: another key of ours the partner registered and then revoked (or registered with a
   * validity window that has passed), for the `key_not_valid` check; without it the check is left out.
   */
  unusableKey?: KitKey;
  /** The digest of the deadline policy both parties agreed (`GET /v1/policy` on a Parley node). */
  policyDigest: string;
  /**
   * Optional: the partner's encryption key (from its JWKS, `use: enc`), for the sealed-content
   * checks (README, _Sealed content_); without it they are left out.
   */
  sealTo?: SealingKey;
  now?: Date;
}

/** What a probe must be answered with. */
export type Expectation =
  | {
      status: 202;
      /** A signed receipt for the probe's message. */
      receipt: true;
      /** The first message about its request: the partner has signed none, so `sent` is 0. */
      first?: boolean;
    }
  | {
      status: number;
      code: string;
      /** For `replay`: the earlier probe whose message this repeats (its receipt is owed). */
      replayOf?: string;
    };

/** One envelope (or bad input) to post to the inbox, and what must come back. */
export interface Probe {
  name: string;
  /** What is sent and why the answer must be what it is. */
  about: string;
  contentType: string;
  body: string;
  /** The message as signed (absent when there is none to speak of). */
  message?: { msg_id: string; digest: string; kind: MessageKind; req_id?: string };
  expect: Expectation;
}

/** An HTTP answer as the kit reads it. */
export interface Answer {
  status: number;
  contentType: string;
  body: string;
}

export type Post = (body: string, contentType: string) => Promise<Answer>;

export interface CheckResult {
  name: string;
  pass: boolean;
  expected: string;
  got: string;
}

const ENVELOPE = ENVELOPE_MEDIA_TYPE;

// --- Request subjects: synthetic, clearly marked, holding no one's personal data ---------------

const TITLE = 'Conformance kit probe: not a real request';

const SUBJECTS = {
  mine_map: {
    title: TITLE,
    items: [
      {
        item_id: 'area-1',
        kind: 'area',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              ['0.001', '0.001'],
              ['0.002', '0.001'],
              ['0.002', '0.002'],
              ['0.001', '0.002'],
              ['0.001', '0.001'],
            ],
          ],
        },
      },
    ],
    hazard_types: ['unexploded_ordnance'],
    purpose: 'infrastructure',
  },
  grave_information: {
    title: TITLE,
    items: [{ item_id: 'case-1', kind: 'case', case_id: 'CONFORMANCE-0001' }],
  },
  identification_result: {
    title: TITLE,
    items: [{ item_id: 'case-1', kind: 'case', case_id: 'CONFORMANCE-0001' }],
    asked: ['identification_results'],
  },
} as const;

type RequestType = keyof typeof SUBJECTS;

// --- Building the probes -------------------------------------------------------------------------

/**
 * Every probe, in the order it must be sent: the valid messages first (three requests, one of each
 * type, then a reminder and a withdrawal about them), then the bad inputs. All are signed at
 * `setup.now` (default: now) and live 600 s, so they must be sent within about 15 minutes.
 */
export async function buildProbes(setup: ConformanceSetup): Promise<Probe[]> {
  const now = setup.now ?? new Date();
  const nowS = Math.floor(now.getTime() / 1000);
  const { signingKey: key, privateKey } = setup.key;
  const probes: Probe[] = [];

  const draft = (d: Omit<Draft, 'iss' | 'aud'>): Draft =>
    ({
      iss: setup.self,
      aud: setup.partner,
      ...(d.kind !== 'receipt' ? { sent_at: nowS } : {}),
      ...d,
    }) as Draft;
  const sign = async (d: Draft, at = now) => {
    const signed = await signPayload(buildPayload(d, at), key);
    return { token: signed.token, payload: signed.payload, digest: signed.digest };
  };
  const messageOf = (payload: Payload, digest: string): Probe['message'] => ({
    msg_id: payload.msg_id,
    digest,
    kind: payload.kind,
    ...(payload.req_id ? { req_id: payload.req_id } : {}),
  });
  /** A token over these exact payload bytes (canonical or not), signed by the kit's key. */
  const forge = (payload: string | Record<string, unknown>, header = headerJson(key)) =>
    forgeToken({ header, payload, key: privateKey });
  const accepted = (
    name: string,
    about: string,
    s: { token: string; payload: Payload; digest: string },
    first = false,
  ) =>
    probes.push({
      name,
      about,
      contentType: ENVELOPE,
      body: s.token,
      message: messageOf(s.payload, s.digest),
      expect: { status: 202, receipt: true, ...(first ? { first: true } : {}) },
    });
  const refused = (
    name: string,
    about: string,
    body: string,
    status: number,
    code: string,
    extra: Partial<Probe> & { replayOf?: string } = {},
  ) => {
    const { replayOf, ...rest } = extra;
    probes.push({
      name,
      about,
      contentType: ENVELOPE,
      body,
      expect: { status, code, ...(replayOf ? { replayOf } : {}) },
      ...rest,
    });
  };

  const requestDraft = (type: RequestType, reqId: string, policyDigest = setup.policyDigest) =>
    draft({
      kind: 'request',
      req_id: reqId,
      seq: 1,
      seen: 0,
      body: {
        request_type: type,
        priority: 'routine',
        subject: SUBJECTS[type] as never,
        policy_digest: policyDigest,
      },
    });
  const reminderDraft = (reqId: string, seq: number, seen = 0) =>
    draft({
      kind: 'reminder',
      req_id: reqId,
      seq,
      seen,
      body: { deadline: 'acknowledgement', due_at: new Date((nowS + 86_400) * 1000).toISOString() },
    });

  /** A sealed request, then sealed content the partner must refuse, each with its code. */
  const sealedProbes = async (to: SealingKey) => {
    const reqD = ulid(now.getTime());
    const sealedRequest = requestDraft('grave_information', reqD);
    const signed = await signPayload(buildPayload(sealedRequest, now), key, to);
    accepted(
      'sealed request (grave_information)',
      `a new request whose subject is sealed to the partner's encryption key ${to.kid}`,
      signed,
      true,
    );
    const strayRequest = () => buildPayload(requestDraft('grave_information', ulid()), now);
    const sealedWire = async (p: Payload, k: SealingKey = to) =>
      (await sealPayload(p, k)) as unknown as Record<string, unknown> & { sealed: string };
    const stranger = await loadDecryptionKey(await generateEncryptionKey());
    refused(
      'sealed to an unknown key',
      'a request sealed to an encryption key the partner does not hold',
      forge(await sealedWire(strayRequest(), stranger)),
      400,
      'undecryptable',
    );
    const p = strayRequest();
    const elsewhere = await sealedWire({ ...p, msg_id: ulid(now.getTime()) });
    refused(
      'sealed content of another message',
      'a request whose sealed content names another msg_id than the signed payload',
      forge({ ...(await sealedWire(p)), sealed: elsewhere.sealed }),
      400,
      'undecryptable',
    );
    const leaky = await sealedWire(strayRequest());
    refused(
      'personal member in clear beside sealed content',
      'a sealed request that also carries its subject in clear',
      forge({
        ...leaky,
        body: { ...(leaky.body as Record<string, unknown>), subject: SUBJECTS.grave_information },
      }),
      400,
      'schema_invalid',
    );
  };

  // --- Valid messages: every kind the kit can send without the partner's officers acting. ---
  const reqA = ulid(now.getTime());
  const reqB = ulid(now.getTime());
  const reqC = ulid(now.getTime());
  const requestA = await sign(requestDraft('mine_map', reqA));
  accepted('request (mine_map)', 'a new request of type mine_map: seq 1, seen 0', requestA, true);
  const requestB = await sign(requestDraft('grave_information', reqB));
  accepted(
    'request (grave_information)',
    'a new request of type grave_information',
    requestB,
    true,
  );
  const requestC = await sign(requestDraft('identification_result', reqC));
  accepted(
    'request (identification_result)',
    'a new request of type identification_result',
    requestC,
    true,
  );
  accepted(
    'reminder',
    'a reminder about the mine_map request: seq 2, seen 0',
    await sign(reminderDraft(reqA, 2)),
  );
  accepted(
    'withdrawal',
    'a withdrawal of the identification_result request: seq 2, seen 0',
    await sign(
      draft({
        kind: 'withdrawal',
        req_id: reqC,
        seq: 2,
        seen: 0,
        body: { reason: 'conformance kit probe' },
      }),
    ),
  );

  // --- Sealed content, when the partner publishes an encryption key. ---
  if (setup.sealTo) await sealedProbes(setup.sealTo);

  // --- Bad input no party can be held to: each must be refused with its own code. ---
  // They are about a request id nobody holds, so a partner that wrongly accepts one changes
  // nothing the later probes rely on.
  const stray = () => reminderDraft(ulid(now.getTime()), 2);
  const strayPayload = () => buildPayload(stray(), now) as unknown as Record<string, unknown>;

  refused(
    'too large',
    `an envelope of ${MAX_ENVELOPE_BYTES + 1} bytes (over 1 MiB)`,
    'A'.repeat(MAX_ENVELOPE_BYTES + 1),
    413,
    'too_large',
  );
  probes.push({
    name: 'wrong media type',
    about: 'a valid envelope sent as application/json',
    contentType: 'application/json',
    body: (await sign(stray())).token,
    expect: { status: 415, code: 'unsupported_media_type' },
  });
  {
    const { header64, payload64, sig64 } = segmentsOf((await sign(stray())).token);
    refused(
      'malformed envelope (JSON serialization)',
      'the JWS JSON serialization instead of the compact one',
      JSON.stringify({ protected: header64, payload: payload64, signature: sig64 }),
      400,
      'malformed_envelope',
    );
  }
  refused(
    'malformed envelope (five segments)',
    'a compact token with two more segments',
    `${(await sign(stray())).token}.AAAA.AAAA`,
    400,
    'malformed_envelope',
  );
  refused(
    'malformed envelope (padding)',
    'a signature segment with = padding',
    `${(await sign(stray())).token}==`,
    400,
    'malformed_envelope',
  );
  refused(
    'bad header (alg none)',
    'a header with alg "none", signed anyway',
    forge(strayPayload(), headerJson({ alg: 'none' as SignatureAlg, kid: key.kid })),
    400,
    'bad_header',
  );
  refused(
    'bad header (embedded jwk)',
    'a header carrying the public key (jwk)',
    forge(strayPayload(), headerJson(key, { jwk: key.publicJwk })),
    400,
    'bad_header',
  );
  refused(
    'bad header (not canonical)',
    'header members not in canonical order',
    forge(strayPayload(), `{"typ":"parley-msg+jws","alg":"${key.alg}","kid":"${key.kid}"}`),
    400,
    'bad_header',
  );
  {
    const stranger = await loadSigningKey(
      await generateSigningKey({
        alg: key.alg === 'ES256' ? 'ES256' : 'Ed25519',
        roles: ['message'],
      }),
    );
    const s = await signPayload(buildPayload(stray(), now), stranger);
    refused(
      'unknown key',
      'a valid message signed by a key nobody registered',
      s.token,
      401,
      'unknown_key',
    );
  }
  refused(
    'wrong alg',
    `header alg ${otherAlg(key.alg)} on a key registered for ${key.alg}`,
    forge(strayPayload(), headerJson({ alg: otherAlg(key.alg), kid: key.kid })),
    401,
    'alg_mismatch',
  );
  if (setup.unusableKey) {
    const s = await signPayload(buildPayload(stray(), now), setup.unusableKey.signingKey);
    refused(
      'key not valid',
      'a valid message signed with a key of ours the partner revoked (or whose validity ended)',
      s.token,
      401,
      'key_not_valid',
    );
  }
  {
    const one = segmentsOf((await sign(stray())).token);
    const other = segmentsOf((await sign(stray())).token);
    refused(
      'bad signature',
      "a message carrying another message's signature",
      `${one.header64}.${one.payload64}.${other.sig64}`,
      401,
      'signature_invalid',
    );
  }
  refused(
    'not canonical (whitespace)',
    'a payload with whitespace, correctly signed',
    forge(JSON.stringify(strayPayload(), null, 1)),
    400,
    'not_canonical',
  );
  {
    const p = strayPayload();
    const reversed = Object.fromEntries(Object.entries(p).reverse());
    refused(
      'not canonical (member order)',
      'a payload whose members are not sorted, correctly signed',
      forge(JSON.stringify(reversed)),
      400,
      'not_canonical',
    );
  }
  {
    const p = buildPayload(
      draft({ kind: 'withdrawal', req_id: ulid(), seq: 2, seen: 0, body: { reason: '@@DEEP@@' } }),
      now,
    );
    const deep = canonicalJson(p).replace('"@@DEEP@@"', '['.repeat(40) + ']'.repeat(40));
    refused(
      'too deep',
      'a canonical payload nested 42 deep (over 32)',
      forge(deep),
      400,
      'too_deep',
    );
  }
  refused(
    'issuer mismatch',
    `iss names another party than ${setup.self}, which owns the key`,
    forge({ ...strayPayload(), iss: `${setup.self}-other` }),
    403,
    'issuer_mismatch',
  );
  refused(
    'wrong audience',
    `aud names another party than ${setup.partner}`,
    forge({ ...strayPayload(), aud: `${setup.partner}-other` }),
    403,
    'wrong_audience',
  );
  refused(
    'schema invalid',
    'a reminder whose deadline is not acknowledgement or response',
    forge({
      ...strayPayload(),
      body: { deadline: 'someday', due_at: new Date(now).toISOString() },
    }),
    400,
    'schema_invalid',
  );
  refused(
    'stale (expired)',
    `signed 25 minutes ago with a 10-minute lifetime (skew allowed: ${MAX_SKEW_SECONDS} s)`,
    forge({ ...strayPayload(), iat: nowS - 1500, exp: nowS - 900 }),
    400,
    'stale',
  );
  refused(
    'stale (from the future)',
    'iat 20 minutes ahead',
    forge({ ...strayPayload(), iat: nowS + 1200, exp: nowS + 1500 }),
    400,
    'stale',
  );
  refused(
    'stale (lifetime too long)',
    'exp one hour after iat (at most 900 s)',
    forge({ ...strayPayload(), iat: nowS, exp: nowS + 3600 }),
    400,
    'stale',
  );
  refused(
    'key role mismatch',
    "a receipt signed with the kit's key, registered for the message role only",
    forge(
      buildPayload(
        draft({
          kind: 'receipt',
          in_reply_to: { msg_id: ulid(), digest: 'a'.repeat(64) },
          body: { digest: 'a'.repeat(64), received_at: now.toISOString() },
        }),
        now,
      ),
    ),
    403,
    'key_role_mismatch',
  );

  // --- Statements that verify but have no place: they rely on the requests above. ---
  refused(
    'replay (same envelope)',
    'the mine_map request again, byte for byte: the original receipt is owed',
    requestA.token,
    409,
    'replay',
    { replayOf: 'request (mine_map)', message: messageOf(requestA.payload, requestA.digest) },
  );
  {
    const again = await sign(
      { ...requestDraft('mine_map', reqA), msg_id: requestA.payload.msg_id },
      new Date(now.getTime() + 1000),
    );
    refused(
      'replay (same msg_id, signed again)',
      'the mine_map request re-signed a second later under the same msg_id (another digest)',
      again.token,
      409,
      'replay',
      { replayOf: 'request (mine_map)', message: messageOf(again.payload, again.digest) },
    );
  }
  refused(
    'policy mismatch',
    'a new request naming another deadline policy',
    (await sign(requestDraft('mine_map', ulid(), '0'.repeat(64)))).token,
    409,
    'policy_mismatch',
  );
  refused(
    'conflict (req_id taken)',
    'a new request reusing the mine_map request’s req_id',
    (await sign(requestDraft('grave_information', reqA))).token,
    409,
    'conflict',
  );
  refused(
    'conflict (seq taken)',
    'another reminder about the mine_map request at seq 2, which the first reminder holds',
    (await sign(reminderDraft(reqA, 2))).token,
    409,
    'conflict',
  );
  refused(
    'unknown request',
    'a reminder about a req_id the partner never received',
    (await sign(stray())).token,
    404,
    'unknown_request',
  );
  refused(
    'reply mismatch',
    'a clarification about the grave_information request answering a message nobody sent',
    (
      await sign(
        draft({
          kind: 'clarification',
          req_id: reqB,
          seq: 2,
          seen: 0,
          in_reply_to: { msg_id: ulid(), digest: 'b'.repeat(64) },
          body: { answers: ['conformance kit probe'] },
        }),
      )
    ).token,
    409,
    'reply_mismatch',
  );
  refused(
    'sequence gap',
    'a reminder about the grave_information request at seq 5 (2 is next)',
    (await sign(reminderDraft(reqB, 5))).token,
    409,
    'sequence_gap',
  );
  refused(
    'sequence invalid (seen)',
    'a reminder that says it saw 7 of the partner’s messages (it signed none)',
    (await sign(reminderDraft(reqB, 2, 7))).token,
    409,
    'sequence_invalid',
  );
  refused(
    'sequence invalid (request not 1)',
    'a new request at seq 2',
    (await sign({ ...requestDraft('mine_map', ulid()), seq: 2 })).token,
    409,
    'sequence_invalid',
  );

  // --- Refusals changed nothing: the place they tried to take is still free. ---
  accepted(
    'accepted after refusals',
    'a reminder about the grave_information request at seq 2, after the refused ones',
    await sign(reminderDraft(reqB, 2)),
  );
  return probes;
}

function otherAlg(alg: SignatureAlg): SignatureAlg {
  return alg === 'Ed25519' ? 'EdDSA' : 'Ed25519';
}

// --- Judging the answers -------------------------------------------------------------------------

/** The partner's public keys, from its JWKS (`parley_*` members honoured), as a registry. */
export function partnerRegistry(
  partner: string,
  keys: Omit<KeyRecord, 'partyId' | 'revokedAt'>[],
): KeyRegistry {
  const byKid = new Map<string, KeyRecord>(
    keys.map((k) => [k.kid, { ...k, partyId: partner, revokedAt: null }]),
  );
  return { findKey: (kid) => Promise.resolve(byKid.get(kid)) };
}

export interface JudgeContext {
  self: string;
  partner: string;
  /** The partner's registered keys: every receipt must verify under one with the receipt role. */
  partnerKeys: KeyRegistry;
}

interface ReceiptSeen {
  token: string;
  digest: string;
  receivedAt: string;
}

/** Posts every probe in order and judges each answer: one result per probe. */
export async function runConformance(
  probes: readonly Probe[],
  post: Post,
  ctx: JudgeContext,
  onResult?: (r: CheckResult) => void,
): Promise<CheckResult[]> {
  const receipts = new Map<string, ReceiptSeen>();
  const results: CheckResult[] = [];
  for (const probe of probes) {
    const sentAt = Date.now();
    const answer = await post(probe.body, probe.contentType);
    const result = await judge(probe, answer, ctx, receipts, sentAt, Date.now());
    results.push(result);
    onResult?.(result);
  }
  return results;
}

function expectedText(e: Expectation): string {
  if ('receipt' in e)
    return `202 with a receipt signed by the partner (in_reply_to, digest, received_at, sent${e.first ? ' = 0' : ''})`;
  return `${e.status} ${e.code}${e.replayOf ? ` with the receipt of "${e.replayOf}"` : ''}`;
}

function problemOf(answer: Answer): { code?: string; body?: Record<string, unknown> } {
  try {
    const body = JSON.parse(answer.body) as unknown;
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const b = body as Record<string, unknown>;
      return { ...(typeof b.code === 'string' ? { code: b.code } : {}), body: b };
    }
  } catch {
    // not JSON
  }
  return {};
}

function answerText(answer: Answer): string {
  const { code } = problemOf(answer);
  if (code) return `${answer.status} ${code}`;
  const snippet = answer.body.length > 60 ? `${answer.body.slice(0, 60)}…` : answer.body;
  return `${answer.status}${snippet ? ` ${JSON.stringify(snippet)}` : ''}`;
}

async function judge(
  probe: Probe,
  answer: Answer,
  ctx: JudgeContext,
  receipts: Map<string, ReceiptSeen>,
  sentAt: number,
  answeredAt: number,
): Promise<CheckResult> {
  const expected = expectedText(probe.expect);
  const fail = (got: string): CheckResult => ({ name: probe.name, pass: false, expected, got });
  const e = probe.expect;

  if ('receipt' in e) {
    if (answer.status !== 202) return fail(answerText(answer));
    if (!/^application\/jose\b/i.test(answer.contentType))
      return fail(`202 with content type ${answer.contentType || '(none)'}`);
    const problems = await receiptProblems(answer.body.trim(), probe, ctx, sentAt, answeredAt);
    if (problems.errors.length > 0)
      return fail(`202 with a receipt that ${problems.errors.join('; ')}`);
    receipts.set(probe.name, problems.seen!);
    return {
      name: probe.name,
      pass: true,
      expected,
      got: `202, receipt received_at ${problems.seen!.receivedAt}, sent ${problems.sent ?? '-'}`,
    };
  }

  const { code, body } = problemOf(answer);
  if (answer.status !== e.status || code !== e.code) return fail(answerText(answer));
  if (!/^application\/problem\+json\b/i.test(answer.contentType))
    return fail(
      `${answer.status} ${code} as ${answer.contentType || '(no content type)'}, not application/problem+json`,
    );
  if (e.replayOf) {
    const original = receipts.get(e.replayOf);
    if (!original)
      return fail(`${answer.status} ${code}, but "${e.replayOf}" had no receipt to compare`);
    if (body?.original_digest !== original.digest)
      return fail(
        `${answer.status} ${code} with original_digest ${String(body?.original_digest)}, not ${original.digest}`,
      );
    if (typeof body?.receipt !== 'string')
      return fail(`${answer.status} ${code} without the original receipt`);
    const problems = await receiptProblems(
      body.receipt,
      { ...probe, message: { ...probe.message!, digest: original.digest } },
      ctx,
      undefined,
      undefined,
    );
    if (problems.errors.length > 0)
      return fail(`${answer.status} ${code} with a receipt that ${problems.errors.join('; ')}`);
    if (problems.seen!.receivedAt !== original.receivedAt)
      return fail(
        `${answer.status} ${code} with a receipt of received_at ${problems.seen!.receivedAt}, not the original's ${original.receivedAt}`,
      );
    return {
      name: probe.name,
      pass: true,
      expected,
      got: `${answer.status} ${code} with the original receipt`,
    };
  }
  return { name: probe.name, pass: true, expected, got: `${answer.status} ${code}` };
}

/** What is wrong with a receipt for `probe.message`; `sentAt`/`answeredAt` bound received_at. */
async function receiptProblems(
  token: string,
  probe: Probe,
  ctx: JudgeContext,
  sentAt: number | undefined,
  answeredAt: number | undefined,
): Promise<{ errors: string[]; seen?: ReceiptSeen; sent?: number }> {
  const m = probe.message;
  if (!m) return { errors: ['cannot be checked: the probe has no message'] };
  let payload: Payload;
  try {
    ({ payload } = await verifyEnvelope(token, {
      registry: ctx.partnerKeys,
      self: ctx.self,
      now: new Date(),
      mode: sentAt === undefined ? 'import' : 'online',
    }));
  } catch (err) {
    if (err instanceof AppError)
      return { errors: [`does not verify (${err.code}: ${err.message})`] };
    throw err;
  }
  if (payload.kind !== 'receipt') return { errors: [`is a ${payload.kind}, not a receipt`] };
  const errors: string[] = [];
  if ((payload.req_id ?? undefined) !== m.req_id)
    errors.push(`names req_id ${String(payload.req_id)}, not ${String(m.req_id)}`);
  if (payload.in_reply_to.msg_id !== m.msg_id)
    errors.push(`answers msg_id ${payload.in_reply_to.msg_id}, not ${m.msg_id}`);
  if (payload.in_reply_to.digest !== m.digest)
    errors.push(`has in_reply_to.digest ${payload.in_reply_to.digest}, not ${m.digest}`);
  if (payload.body.digest !== m.digest)
    errors.push(`has body.digest ${payload.body.digest}, not ${m.digest}`);
  const receivedAt = Date.parse(payload.body.received_at);
  if (
    sentAt !== undefined &&
    answeredAt !== undefined &&
    (receivedAt < sentAt - MAX_SKEW_SECONDS * 1000 ||
      receivedAt > answeredAt + MAX_SKEW_SECONDS * 1000)
  )
    errors.push(
      `has received_at ${payload.body.received_at}, not the time it was sent (±${MAX_SKEW_SECONDS} s)`,
    );
  const sent = payload.body.sent;
  if (m.kind !== 'receipt') {
    if (sent === undefined) errors.push('has no sent count');
    else if (
      probe.expect.status === 202 &&
      'first' in probe.expect &&
      probe.expect.first &&
      sent !== 0
    )
      errors.push(`has sent ${sent} for a request the partner had just received (must be 0)`);
  }
  return {
    errors,
    seen: { token, digest: m.digest, receivedAt: payload.body.received_at },
    ...(sent !== undefined ? { sent } : {}),
  };
}

/** One line per check, as the CLI prints them. */
export function formatResult(r: CheckResult): string {
  return `${r.pass ? 'PASS' : 'FAIL'}  ${r.name}: expected ${r.expected}; got ${r.got}`;
}

export function summaryOf(results: readonly CheckResult[]): string {
  const failed = results.filter((r) => !r.pass);
  return failed.length === 0
    ? `${results.length} of ${results.length} checks passed`
    : `${failed.length} of ${results.length} checks failed: ${failed.map((r) => r.name).join(', ')}`;
}

// --- The vectors file ------------------------------------------------------------------------------

export interface VectorsFile {
  format: typeof VECTORS_FORMAT;
  v: typeof VECTORS_VERSION;
  generated_at: string;
  /** After this time the signed vectors are stale: generate new ones. */
  valid_until: string;
  from: string;
  to: string;
  kid: string;
  policy_digest: string;
  usage: string;
  vectors: {
    name: string;
    about: string;
    request: { method: 'POST'; content_type: string; body: string };
    message?: Probe['message'];
    expect: Expectation;
  }[];
}

/** The probes as a vectors file: post each `request` in order and compare with `expect`. */
export function vectorsOf(setup: ConformanceSetup, probes: readonly Probe[]): VectorsFile {
  const at = setup.now ?? new Date();
  return {
    format: VECTORS_FORMAT,
    v: VECTORS_VERSION,
    generated_at: at.toISOString(),
    valid_until: new Date(at.getTime() + (600 + MAX_SKEW_SECONDS) * 1000).toISOString(),
    from: setup.self,
    to: setup.partner,
    kid: setup.key.signingKey.kid,
    policy_digest: setup.policyDigest,
    usage:
      'POST each vector’s request.body to the inbox with its content_type, in order, once, before valid_until. ' +
      'expect.status 202 with receipt: the body is a receipt signed by the receiver’s receipt key naming message.msg_id and message.digest. ' +
      'Otherwise the body is application/problem+json with expect.code; for replay it carries the receipt of the vector named by replayOf and original_digest.',
    vectors: probes.map((p) => ({
      name: p.name,
      about: p.about,
      request: { method: 'POST', content_type: p.contentType, body: p.body },
      ...(p.message ? { message: p.message } : {}),
      expect: p.expect,
    })),
  };
}
