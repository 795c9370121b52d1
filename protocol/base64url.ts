// Strict base64url (RFC 4648 §5, no padding): one spelling per byte string, so an envelope's
// segments cannot be re-encoded behind the signature's back.
import { AppError } from '../errors.js';

const ALPHABET = /^[A-Za-z0-9_-]*$/;

export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** Decodes a segment, refusing padding, foreign characters and non-zero trailing bits. */
export function decodeBase64url(segment: string, what: string): Uint8Array {
  if (!ALPHABET.test(segment) || segment.length % 4 === 1) {
    throw new AppError('malformed_envelope', `${what} is not unpadded base64url`);
  }
  const bytes = Buffer.from(segment, 'base64url');
  if (bytes.toString('base64url') !== segment) {
    throw new AppError(
      'malformed_envelope',
      `${what} is not in canonical base64url (trailing bits set)`,
    );
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
