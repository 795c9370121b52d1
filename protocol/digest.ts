// Message identity: SHA-256 of the ASCII signing input `header64.payload64`. Never of the token
// or the signature, which can be re-encoded (ECDSA signatures have a twin) without changing meaning.
import crypto from 'node:crypto';

export function sha256Hex(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** The digest that identifies the message carried by a compact JWS. */
export function messageDigest(header64: string, payload64: string): string {
  return sha256Hex(`${header64}.${payload64}`);
}

/**
 * The digest to log for untrusted input: the message digest when the token has the compact shape,
 * so a refusal can be matched with the sender's record; otherwise the digest of the bytes.
 */
export function digestOfInput(token: string): string {
  const parts = token.split('.');
  return parts.length === 3 ? messageDigest(parts[0]!, parts[1]!) : sha256Hex(token);
}
