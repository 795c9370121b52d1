// Keys of the protocol: public keys as the registry holds them (partners' and our own), our own
// signing keys, their thumbprints, and the rule that says when a key may be used.
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import type { EncryptionAlg, KeyAlg, KeyRole, SignatureAlg } from '../schemas/envelope.js';

/** A public key in the registry: whose it is, what it may sign (or that it encrypts), and when. */
export interface KeyRecord {
  kid: string;
  partyId: string;
  alg: KeyAlg;
  publicJwk: JWK;
  roles: KeyRole[];
  validFrom: Date;
  validUntil: Date | null;
  revokedAt: Date | null;
  /**
   * Whether the registry says the key's party seals its content (schemas/sealed.ts): a message
   * from it carrying personal members in clear is then refused (`not_sealed`). Unknown (a key
   * set from a file, as an evidence bundle carries) checks nothing.
   */
  partySeals?: boolean;
  /**
   * The mediator the registry says the key's party's messages come through (README, _Mediated
   * exchange_): a message from it must carry that mediator's relay receipt. Unknown: no check.
   */
  partyVia?: string | null;
}

/** Where verification looks keys up: by kid only, never from the message itself. */
export interface KeyRegistry {
  findKey(kid: string): Promise<KeyRecord | undefined>;
  /** Tells a registry that keeps answers (a cache) that the keys changed. */
  invalidate?(): void;
}

/** One of this node's own keys, able to sign. */
export interface SigningKey {
  kid: string;
  alg: SignatureAlg;
  roles: KeyRole[];
  validFrom: Date;
  validUntil: Date | null;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** The members of a public JWK that identify the key, without private parts or metadata. */
export function publicPart(jwk: JWK): JWK {
  if (jwk.kty === 'OKP') return { kty: 'OKP', crv: jwk.crv, x: jwk.x };
  if (jwk.kty === 'EC') return { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
  throw new TypeError(`unsupported key type ${String(jwk.kty)}`);
}

/** The RFC 7638 SHA-256 thumbprint: the key's `kid` everywhere in Parley. */
export function thumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(publicPart(jwk), 'sha256');
}

/** Whether the key's type and curve fit the algorithm it is registered with. */
export function algFitsKey(alg: KeyAlg, jwk: JWK): boolean {
  if (alg === 'ECDH-ES+A256KW')
    return (jwk.kty === 'OKP' && jwk.crv === 'X25519') || (jwk.kty === 'EC' && jwk.crv === 'P-256');
  if (alg === 'ES256') return jwk.kty === 'EC' && jwk.crv === 'P-256';
  return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
}

/**
 * Whether roles fit the algorithm: an encryption key has the `encryption` role and no other, a
 * signing key never has it. Undefined when they fit, else why not.
 */
export function rolesMisfit(alg: KeyAlg, roles: readonly KeyRole[]): string | undefined {
  const encrypts = alg === 'ECDH-ES+A256KW';
  if (encrypts && (roles.length !== 1 || roles[0] !== 'encryption'))
    return 'an ECDH-ES+A256KW key has the encryption role and no other';
  if (!encrypts && roles.includes('encryption'))
    return 'only an ECDH-ES+A256KW key has the encryption role';
  return undefined;
}

/** One of this node's own encryption keys: partners seal content to it, this node opens it. */
export interface DecryptionKey {
  kid: string;
  alg: EncryptionAlg;
  validFrom: Date;
  validUntil: Date | null;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** Why a key may not be used at an instant, or undefined when it may. */
export function keyUnusableReason(
  key: Pick<KeyRecord, 'validFrom' | 'validUntil' | 'revokedAt'>,
  at: Date,
): string | undefined {
  if (key.revokedAt && key.revokedAt <= at) return 'the key was revoked';
  if (at < key.validFrom) return 'the key is not valid yet';
  if (key.validUntil && at >= key.validUntil) return 'the key has expired';
  return undefined;
}

/** The serialized form of an own key, as kept in the keys folder (never in git). */
export interface StoredSigningKey {
  kid: string;
  alg: SignatureAlg;
  roles: KeyRole[];
  valid_from: string;
  valid_until: string | null;
  private_jwk: JWK;
}

export async function generateSigningKey(opts: {
  alg: 'Ed25519' | 'ES256';
  roles: KeyRole[];
  validFrom?: Date;
  validUntil?: Date | null;
}): Promise<StoredSigningKey> {
  const { privateKey } = await generateKeyPair(opts.alg, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  return {
    kid: await thumbprint(privateJwk),
    alg: opts.alg,
    roles: opts.roles,
    valid_from: (opts.validFrom ?? new Date()).toISOString(),
    valid_until: opts.validUntil ? opts.validUntil.toISOString() : null,
    private_jwk: privateJwk,
  };
}

export async function loadSigningKey(stored: StoredSigningKey): Promise<SigningKey> {
  const privateKey = await importJWK(
    stored.private_jwk,
    stored.alg === 'ES256' ? 'ES256' : 'Ed25519',
  );
  if (!(privateKey instanceof Object) || privateKey instanceof Uint8Array)
    throw new TypeError('expected an asymmetric key');
  const kid = await thumbprint(stored.private_jwk);
  if (kid !== stored.kid)
    throw new TypeError(`key file says kid ${stored.kid} but the key's thumbprint is ${kid}`);
  return {
    kid,
    alg: stored.alg,
    roles: stored.roles,
    validFrom: new Date(stored.valid_from),
    validUntil: stored.valid_until ? new Date(stored.valid_until) : null,
    privateKey,
    publicJwk: publicPart(stored.private_jwk),
  };
}

/** The serialized form of an own encryption key, as kept in the keys folder (never in git). */
export interface StoredEncryptionKey {
  kid: string;
  alg: EncryptionAlg;
  roles: ['encryption'];
  valid_from: string;
  valid_until: string | null;
  private_jwk: JWK;
}

/** A new X25519 key for sealed content (the curve every current library has). */
export async function generateEncryptionKey(
  opts: { validFrom?: Date; validUntil?: Date | null } = {},
): Promise<StoredEncryptionKey> {
  const { privateKey } = await generateKeyPair('ECDH-ES+A256KW', {
    crv: 'X25519',
    extractable: true,
  });
  const privateJwk = await exportJWK(privateKey);
  return {
    kid: await thumbprint(privateJwk),
    alg: 'ECDH-ES+A256KW',
    roles: ['encryption'],
    valid_from: (opts.validFrom ?? new Date()).toISOString(),
    valid_until: opts.validUntil ? opts.validUntil.toISOString() : null,
    private_jwk: privateJwk,
  };
}

export async function loadDecryptionKey(stored: StoredEncryptionKey): Promise<DecryptionKey> {
  const privateKey = await importJWK(stored.private_jwk, 'ECDH-ES+A256KW');
  if (privateKey instanceof Uint8Array) throw new TypeError('expected an asymmetric key');
  const kid = await thumbprint(stored.private_jwk);
  if (kid !== stored.kid)
    throw new TypeError(`key file says kid ${stored.kid} but the key's thumbprint is ${kid}`);
  return {
    kid,
    alg: stored.alg,
    validFrom: new Date(stored.valid_from),
    validUntil: stored.valid_until ? new Date(stored.valid_until) : null,
    privateKey,
    publicJwk: publicPart(stored.private_jwk),
  };
}
