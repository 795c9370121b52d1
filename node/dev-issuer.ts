// The development token issuer: a local Ed25519 key that mints bearer tokens for `npm run token`.
// Production nodes point AUTH_JWKS_FILE / AUTH_JWKS_URL at their real identity provider instead.
import fs from 'node:fs/promises';
import { createOnce } from '../protocol/create-once.js';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  SignJWT,
  type JWK,
} from 'jose';
import { devIssuerPaths } from '../config.js';
import type { Role } from '../schemas/common.js';

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** Creates the issuer's key pair in the data folder unless it is there; returns whether it did. */
export async function ensureDevIssuer(dataDir: string): Promise<boolean> {
  const paths = devIssuerPaths(dataDir);
  if ((await exists(paths.privateJwk)) && (await exists(paths.jwks))) return false;
  const { privateKey, publicKey } = await generateKeyPair('Ed25519', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA', use: 'sig' };
  // Processes starting together on one data folder end with one key: the first one linked.
  const created = await createOnce(paths.privateJwk, JSON.stringify(privateJwk, null, 2) + '\n');
  const held = JSON.parse(await fs.readFile(paths.privateJwk, 'utf8')) as JWK;
  const { d: _d, ...heldPublic } = held;
  const jwks = { keys: [{ ...heldPublic, alg: 'EdDSA', use: 'sig' }] };
  // The public half, from the key that is there: the same bytes whoever writes them.
  await createOnce(paths.jwks, JSON.stringify(jwks, null, 2) + '\n', 0o644);
  return created;
}

export interface MintOptions {
  dataDir: string;
  issuer: string;
  audience: string;
  rolesClaim: string;
  sub: string;
  roles: Role[];
  /** Lifetime in seconds. */
  ttlSeconds: number;
}

/** Signs a bearer token with the development issuer's key. */
export async function mintDevToken(opts: MintOptions): Promise<string> {
  const paths = devIssuerPaths(opts.dataDir);
  let jwk: JWK;
  try {
    jwk = JSON.parse(await fs.readFile(paths.privateJwk, 'utf8')) as JWK;
  } catch {
    throw new Error(
      `no development issuer key at ${paths.privateJwk}; run \`npm run cli -- auth init-dev\` or start the node once`,
    );
  }
  const key = await importJWK(jwk, 'EdDSA');
  return new SignJWT({ [opts.rolesClaim]: opts.roles })
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid!, typ: 'JWT' })
    .setIssuer(opts.issuer)
    .setAudience(opts.audience)
    .setSubject(opts.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + opts.ttlSeconds)
    .sign(key);
}
