// The development token issuer: a local Ed25519 key that mints bearer tokens for `npm run token`.
// Production nodes point AUTH_JWKS_FILE / AUTH_JWKS_URL at their real identity provider instead.
import fs from 'node:fs/promises';
import path from 'node:path';
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
  await fs.mkdir(path.dirname(paths.privateJwk), { recursive: true, mode: 0o700 });
  await fs.writeFile(paths.privateJwk, JSON.stringify(privateJwk, null, 2) + '\n', { mode: 0o600 });
  const jwks = { keys: [{ ...publicJwk, kid, alg: 'EdDSA', use: 'sig' }] };
  await fs.writeFile(paths.jwks, JSON.stringify(jwks, null, 2) + '\n');
  return true;
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
