// The credential of a node-to-node attachment upload: a short-lived compact JWS, signed with the
// sender's message key, that names the one attachment it may upload to the one partner. The
// receiver checks it against its partner registry exactly as it checks envelopes: the token never
// chooses its key, and only a registered partner's valid message key can sign one.
import { CompactSign, compactVerify, importJWK } from 'jose';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { PartyId } from '../schemas/common.js';
import { Attachment, Kid, SignatureAlg, Sha256Hex } from '../schemas/envelope.js';
import { decodeBase64url } from './base64url.js';
import { canonicalBytes } from './canonical-json.js';
import { keyUnusableReason, type KeyRecord, type KeyRegistry, type SigningKey } from './keys.js';
import { MAX_SKEW_SECONDS } from './verify.js';

/** The header that carries the token on `PUT`/`HEAD /v1/partner-attachments/…`. */
export const ATTACHMENT_TOKEN_HEADER = 'parley-attachment-token';
export const ATTACHMENT_TOKEN_TYP = 'parley-attachment+jws';
/** Lifetime of a token this node signs: one upload, started right away. */
export const ATTACHMENT_TOKEN_LIFETIME_SECONDS = 120;
/** Longest lifetime (exp - iat) a receiver accepts. */
export const MAX_ATTACHMENT_TOKEN_LIFETIME_SECONDS = 300;

const Seconds = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const AttachmentTokenHeader = z.strictObject({
  alg: SignatureAlg,
  kid: Kid,
  typ: z.literal(ATTACHMENT_TOKEN_TYP),
});

export const AttachmentTokenClaims = z.strictObject({
  iss: PartyId,
  aud: PartyId,
  sha256: Sha256Hex,
  size: Attachment.shape.size,
  media_type: Attachment.shape.media_type,
  iat: Seconds,
  exp: Seconds,
});
export type AttachmentTokenClaims = z.infer<typeof AttachmentTokenClaims>;

/** Signs the right to upload one attachment to `aud`, with a key holding the message role. */
export async function signAttachmentToken(
  key: SigningKey,
  claims: Omit<AttachmentTokenClaims, 'iat' | 'exp'>,
  now = new Date(),
): Promise<string> {
  if (!key.roles.includes('message'))
    throw new TypeError(`key ${key.kid} has no message role to sign an attachment token`);
  const iat = Math.floor(now.getTime() / 1000);
  const payload = AttachmentTokenClaims.parse({
    ...claims,
    iat,
    exp: iat + ATTACHMENT_TOKEN_LIFETIME_SECONDS,
  });
  return new CompactSign(canonicalBytes(payload))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ATTACHMENT_TOKEN_TYP })
    .sign(key.privateKey);
}

export interface VerifiedAttachmentToken {
  claims: AttachmentTokenClaims;
  key: KeyRecord;
}

const fail = (code: ConstructorParameters<typeof AppError>[0], message: string): never => {
  throw new AppError(code, message);
};

function parseSegment<S extends z.ZodType>(segment: string, schema: S, what: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(decodeBase64url(segment, what)).toString('utf8'));
  } catch {
    return fail('token_invalid', `the attachment token's ${what} is not base64url JSON`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    return fail('token_invalid', `the attachment token's ${what} breaks its schema`);
  return parsed.data;
}

/**
 * Verifies an upload token: its key from the registry (a valid message key), the signature with
 * the registered algorithm, `iss` the key's party, `aud` this node, and a short, current lifetime.
 * What it names (digest, size, media type) is for the caller to compare with the upload.
 */
export async function verifyAttachmentToken(
  token: string | undefined,
  ctx: { registry: KeyRegistry; self: string; now: Date },
): Promise<VerifiedAttachmentToken> {
  if (!token) {
    return fail(
      'token_missing',
      `a partner upload needs a ${ATTACHMENT_TOKEN_HEADER} header (a JWS signed with a registered message key)`,
    );
  }
  const segments = token.trim().split('.');
  if (segments.length !== 3 || segments.some((s) => s === ''))
    fail('token_invalid', 'the attachment token is not a compact JWS');
  const [header64 = '', payload64 = ''] = segments;
  const header = parseSegment(header64, AttachmentTokenHeader, 'header');

  const key =
    (await ctx.registry.findKey(header.kid)) ??
    fail('unknown_key', 'no registered key has this kid');
  if (header.alg !== key.alg) fail('alg_mismatch', `the key is registered for ${key.alg}`);
  const unusable = keyUnusableReason(key, ctx.now);
  if (unusable) fail('key_not_valid', unusable);
  try {
    const publicKey = await importJWK(key.publicJwk, key.alg);
    await compactVerify(token.trim(), publicKey, { algorithms: [key.alg] });
  } catch {
    fail('signature_invalid', 'the signature does not verify with the registered key');
  }

  const claims = parseSegment(payload64, AttachmentTokenClaims, 'payload');
  if (claims.iss !== key.partyId)
    fail('issuer_mismatch', 'iss is not the party that owns the signing key');
  if (!key.roles.includes('message'))
    fail('key_role_mismatch', 'only a message key may sign an attachment upload');
  if (claims.aud !== ctx.self) fail('wrong_audience', 'aud is not this node');
  const now = Math.floor(ctx.now.getTime() / 1000);
  if (claims.exp <= claims.iat) fail('token_invalid', 'exp must be after iat');
  if (claims.exp - claims.iat > MAX_ATTACHMENT_TOKEN_LIFETIME_SECONDS)
    fail('token_invalid', `lifetime over ${MAX_ATTACHMENT_TOKEN_LIFETIME_SECONDS} seconds`);
  if (claims.iat > now + MAX_SKEW_SECONDS) fail('token_invalid', 'iat is in the future');
  if (claims.exp < now - MAX_SKEW_SECONDS) fail('token_expired', 'the attachment token expired');
  return { claims, key };
}
