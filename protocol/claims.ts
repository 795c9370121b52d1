// The claims of a compact JWS read without checking its signature, for two uses only: to route or
// label an envelope before (or beside) its verification, and to read a token this node verified
// when it stored it. Never to decide whether to trust one.
import type { Payload } from '../schemas/envelope.js';

/** The payload segment of a compact JWS, decoded; throws when it is not JSON. */
const decoded = (token: string): unknown =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));

/** The members a token's payload claims, unchecked; undefined when it is not a JSON object. */
export function unverifiedClaims(token: string): Record<string, unknown> | undefined {
  try {
    const v = decoded(token);
    return v && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** One string member a token claims (`aud`, `iss`, `req_id`), unchecked; undefined otherwise. */
export function claimedString(token: string, member: string): string | undefined {
  const v = unverifiedClaims(token)?.[member];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The payload of a token this node verified before it stored it (a message, a receipt, a
 * checkpoint or cosignature, whose members the caller names by `T`). Throws on one that is not
 * JSON: stored tokens always are.
 */
export function storedPayloadOf<T = Payload>(token: string): T {
  return decoded(token) as T;
}
