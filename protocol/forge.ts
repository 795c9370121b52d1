// Forging envelopes on purpose: sign arbitrary header and payload bytes with a real key, so an
// envelope can have a correct signature and still break a rule of the profile. Used by the
// conformance kit (protocol/conformance.ts) and the tests (test/helpers/envelopes.ts re-exports it);
// a node never signs through this module.
import crypto, { type KeyObject, type webcrypto } from 'node:crypto';
import type { CryptoKey, JWK } from 'jose';
import { ENVELOPE_TYP } from '../schemas/envelope.js';
import { encodeBase64url } from './base64url.js';
import { canonicalJson } from './canonical-json.js';
import type { SigningKey } from './keys.js';

/** Converts a jose private CryptoKey or a private JWK to a node KeyObject. */
export function toKeyObject(key: CryptoKey | JWK): KeyObject {
  if ('kty' in key)
    return crypto.createPrivateKey({ key: key as crypto.JsonWebKey, format: 'jwk' });
  return crypto.KeyObject.from(key as unknown as webcrypto.CryptoKey);
}

/** The canonical header JSON for a key, optionally with other or extra members (still canonical). */
export function headerJson(
  key: Pick<SigningKey, 'alg' | 'kid'>,
  extra: Record<string, unknown> = {},
): string {
  return canonicalJson({ alg: key.alg, kid: key.kid, typ: ENVELOPE_TYP, ...extra });
}

export interface SignBytesOptions {
  /** ECDSA only: `ieee-p1363` (raw r||s, what JWS wants) by default, or `der`. */
  dsaEncoding?: 'ieee-p1363' | 'der';
}

/** Signs bytes with a node private key: Ed25519 (pure) or ECDSA P-256 with SHA-256. */
export function signBytes(
  key: KeyObject,
  data: string | Uint8Array,
  opts: SignBytesOptions = {},
): Uint8Array {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'ascii') : data;
  if (key.asymmetricKeyType === 'ed25519') return crypto.sign(null, bytes, key);
  if (key.asymmetricKeyType === 'ec') {
    return crypto.sign('sha256', bytes, {
      key,
      dsaEncoding: opts.dsaEncoding ?? 'ieee-p1363',
    });
  }
  throw new TypeError(`cannot sign with a ${String(key.asymmetricKeyType)} key`);
}

export interface ForgeOptions extends SignBytesOptions {
  /** Raw header JSON (used byte for byte), or an object to serialize canonically. */
  header: string | Record<string, unknown>;
  /** Raw payload bytes or text (used as is), or an object to serialize canonically. */
  payload: Uint8Array | string | Record<string, unknown>;
  /** The key that signs `header64.payload64`. */
  key: KeyObject;
}

function bytesOf(value: Uint8Array | string | Record<string, unknown>): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.from(canonicalJson(value), 'utf8');
}

/** The signing input of a token made of these header and payload bytes. */
export function signingInputOf(
  header: ForgeOptions['header'],
  payload: ForgeOptions['payload'],
): string {
  return `${encodeBase64url(bytesOf(header))}.${encodeBase64url(bytesOf(payload))}`;
}

/** A compact JWS over exactly the given header and payload bytes, correctly signed by `key`. */
export function forgeToken(opts: ForgeOptions): string {
  const input = signingInputOf(opts.header, opts.payload);
  return `${input}.${encodeBase64url(signBytes(opts.key, input, opts))}`;
}

/** The three segments of a compact token. */
export function segmentsOf(token: string): { header64: string; payload64: string; sig64: string } {
  const [header64 = '', payload64 = '', sig64 = ''] = token.split('.');
  return { header64, payload64, sig64 };
}
