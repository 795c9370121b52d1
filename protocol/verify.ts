// Verification of an envelope against the profile, in order from cheapest to dearest, each
// failure with its stable code. The message never chooses its key: `kid` is only a lookup into the
// local registry, and the registered algorithm is the only one allowed.
import { compactVerify, importJWK, type CryptoKey, type JWK } from 'jose';
import { AppError, issueDetails } from '../errors.js';
import { Payload, ProtectedHeader, roleForKind, type SignatureAlg } from '../schemas/envelope.js';
import { SealedPayload } from '../schemas/sealed.js';
import { decodeBase64url } from './base64url.js';
import { parseCanonical } from './canonical-json.js';
import { refuseUnsafeStrings } from '../schemas/text.js';
import { messageDigest } from './digest.js';
import { keyUnusableReason, type DecryptionKey, type KeyRecord, type KeyRegistry } from './keys.js';
import { holdsSealableContent, openSealed } from './seal.js';

/** Largest envelope accepted, in bytes of the compact token. */
export const MAX_ENVELOPE_BYTES = 1024 * 1024;
/** Clock difference tolerated between nodes, in seconds. */
export const MAX_SKEW_SECONDS = 300;
/** Longest lifetime (exp - iat) of an envelope delivered online, in seconds. */
export const MAX_LIFETIME_SECONDS = 900;

export interface VerifyContext {
  registry: KeyRegistry;
  /** This node's party id: the only audience accepted. */
  self: string;
  now: Date;
  /** `import` (store and forward) relaxes freshness, never anything else. */
  mode: 'online' | 'import';
  /** This node's encryption keys, to open sealed content (none: a sealed payload is refused). */
  open?: readonly DecryptionKey[];
}

export interface VerifiedEnvelope {
  token: string;
  digest: string;
  header: ProtectedHeader;
  /** The payload in clear: opened when it came sealed. */
  payload: Payload;
  key: KeyRecord;
  /** Whether the token's payload was sealed (schemas/sealed.ts). */
  sealed: boolean;
}

/** An envelope verified as signed, its sealed content (if any) left as it is. */
export interface VerifiedAsSigned extends Omit<VerifiedEnvelope, 'payload' | 'sealed'> {
  payload: Payload | SealedPayload;
}

const fail = (code: ConstructorParameters<typeof AppError>[0], message: string): never => {
  throw new AppError(code, message);
};

const keyCache = new Map<string, CryptoKey>();

async function publicKeyFor(key: KeyRecord): Promise<CryptoKey> {
  const cacheKey = `${key.kid}:${key.alg}`;
  let cached = keyCache.get(cacheKey);
  if (!cached) {
    const imported = await importJWK(key.publicJwk, key.alg === 'EdDSA' ? 'EdDSA' : key.alg);
    if (imported instanceof Uint8Array) throw new TypeError('registry holds a symmetric key');
    cached = imported;
    if (keyCache.size > 1000) keyCache.clear();
    keyCache.set(cacheKey, cached);
  }
  return cached;
}

/** The bare signature check of a compact JWS with a given key and algorithm (no profile rules). */
export async function verifyCompactSignature(
  token: string,
  publicJwk: JWK,
  alg: SignatureAlg,
): Promise<Uint8Array> {
  const key = await importJWK(publicJwk, alg);
  const { payload } = await compactVerify(token, key, { algorithms: [alg] });
  return payload;
}

/**
 * Verifies an envelope against the profile, and opens its sealed content with `ctx.open`: what a
 * node does with a message addressed to it. The order of the checks is the README's table.
 */
export async function verifyEnvelope(token: string, ctx: VerifyContext): Promise<VerifiedEnvelope> {
  const v = await verifyAsSigned(token, ctx);
  if ('sealed' in v.payload) {
    // 7. Sealed content: opened with this node's keys, then the whole payload's schema.
    const opened = await openSealed(v.payload, ctx.open ?? []);
    const unsafe = refuseUnsafeStrings(opened);
    if (unsafe)
      throw new AppError('schema_invalid', 'the payload holds text that cannot be stored safely', [
        unsafe,
      ]);
    return { ...v, payload: parsePayload(opened), sealed: true };
  }
  if (v.key.partySeals && holdsSealableContent(v.payload))
    fail(
      'not_sealed',
      `${v.payload.iss} seals its content, and this payload carries some in clear`,
    );
  return { ...v, payload: v.payload, sealed: false };
}

function parsePayload(raw: unknown): Payload {
  const parsed = Payload.safeParse(raw);
  if (!parsed.success) {
    throw new AppError(
      'schema_invalid',
      'the payload does not match the protocol schema',
      issueDetails(parsed.error.issues),
    );
  }
  return parsed.data;
}

/**
 * Verifies an envelope as signed (steps 1–6 of the table), leaving sealed content sealed: for a
 * third party checking evidence, or anyone without the recipient's key.
 */
export async function verifyAsSigned(token: string, ctx: VerifyContext): Promise<VerifiedAsSigned> {
  // 1. Shape: one compact serialization of ASCII, three canonical base64url segments.
  if (token.length > MAX_ENVELOPE_BYTES)
    fail('too_large', `envelope over ${MAX_ENVELOPE_BYTES} bytes`);
  if (token.trimStart().startsWith('{'))
    fail('malformed_envelope', 'only the JWS compact serialization is accepted');
  const segments = token.split('.');
  if (segments.length !== 3)
    fail('malformed_envelope', `a compact JWS has 3 segments, this has ${segments.length}`);
  const [header64 = '', payload64 = '', signature64 = ''] = segments;
  if (!header64 || !payload64 || !signature64)
    fail('malformed_envelope', 'empty segment (detached payloads are not accepted)');
  const headerBytes = decodeBase64url(header64, 'the header');
  const payloadBytes = decodeBase64url(payload64, 'the payload');
  decodeBase64url(signature64, 'the signature');

  // 2. Header: canonical JSON with exactly alg, kid, typ.
  const headerParsed = ProtectedHeader.safeParse(parseCanonical(headerBytes, 'bad_header'));
  if (!headerParsed.success) {
    fail(
      'bad_header',
      `the protected header must be exactly {alg, kid, typ}: ${headerParsed.error.issues.map((i) => i.path.join('.') || i.message).join(', ')}`,
    );
  }
  const header = headerParsed.data!;

  // 3. Key: from the local registry by kid; its algorithm and validity, not the message's say.
  const key =
    (await ctx.registry.findKey(header.kid)) ??
    fail('unknown_key', 'no registered key has this kid');
  if (header.alg !== key.alg) fail('alg_mismatch', `the key is registered for ${key.alg}`);
  // Online, the key must be usable now. A file may arrive long after it was signed: then the key
  // must have been within its window when it signed (checked at iat below), and never revoked.
  const unusable =
    ctx.mode === 'online'
      ? keyUnusableReason(key, ctx.now)
      : key.revokedAt && key.revokedAt <= ctx.now
        ? 'the key was revoked'
        : undefined;
  if (unusable) fail('key_not_valid', unusable);

  // 4. Signature, with the registered algorithm as the only one allowed.
  try {
    await compactVerify(token, await publicKeyFor(key), { algorithms: [key.alg] });
  } catch {
    fail('signature_invalid', 'the signature does not verify with the registered key');
  }

  // 5. Payload: canonical JSON, then who sent it and to whom, then its schema.
  const raw = parseCanonical(payloadBytes);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    fail('schema_invalid', 'the payload must be a JSON object');
  const claims = raw as Record<string, unknown>;
  if (claims.iss !== key.partyId)
    fail('issuer_mismatch', 'iss is not the party that owns the signing key');
  if (claims.aud !== ctx.self) fail('wrong_audience', 'aud is not this node');
  // Text that cannot be stored or shown safely, anywhere (records are loosely typed here).
  const unsafe = refuseUnsafeStrings(raw);
  if (unsafe)
    throw new AppError('schema_invalid', 'the payload holds text that cannot be stored safely', [
      unsafe,
    ]);
  let payload: Payload | SealedPayload;
  if ('sealed' in claims) {
    const sealed = SealedPayload.safeParse(raw);
    if (!sealed.success)
      throw new AppError(
        'schema_invalid',
        'the sealed payload does not match the protocol schema',
        issueDetails(sealed.error.issues),
      );
    payload = sealed.data;
  } else payload = parsePayload(raw);

  // 6. Freshness (online only) and the key's right to sign this kind.
  if (payload.exp <= payload.iat) fail('stale', 'exp must be after iat');
  if (ctx.mode === 'online') {
    const now = Math.floor(ctx.now.getTime() / 1000);
    if (payload.iat > now + MAX_SKEW_SECONDS)
      fail('stale', 'iat is in the future beyond the allowed clock skew');
    if (payload.exp < now - MAX_SKEW_SECONDS) fail('stale', 'the envelope has expired');
    if (payload.exp - payload.iat > MAX_LIFETIME_SECONDS)
      fail('stale', `lifetime over ${MAX_LIFETIME_SECONDS} seconds`);
  } else {
    const signedAt = new Date(payload.iat * 1000);
    const unusableThen = keyUnusableReason({ ...key, revokedAt: null }, signedAt);
    if (unusableThen) fail('key_not_valid', `${unusableThen} at the envelope's iat`);
  }
  if (!key.roles.includes(roleForKind(payload.kind))) {
    fail('key_role_mismatch', `the key may not sign ${payload.kind} messages`);
  }

  return { token, digest: messageDigest(header64, payload64), header, payload, key };
}
