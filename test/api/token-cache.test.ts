// The bearer token cache of api/auth.ts: a verified token is remembered by its digest for its
// remaining lifetime only, so it is refused once its `exp` has passed even though it was cached,
// and a token whose signature was changed is verified (and refused), never served from the cache.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Authenticator } from '../../api/auth.js';
import { devIssuerPaths } from '../../config.js';
import { ensureDevIssuer, mintDevToken } from '../../node/dev-issuer.js';
import { AppError } from '../../errors.js';
import { eventually } from '../helpers/partners.js';

const AUTH = { issuer: 'parley-test', audience: 'parley-test', rolesClaim: 'roles' };
let dataDir: string;
let auth: Authenticator;

const mint = (ttlSeconds: number) =>
  mintDevToken({ dataDir, ...AUTH, sub: 'sam', roles: ['supervisor'], ttlSeconds });

/** The code of the refusal, or 'accepted'. */
async function outcome(token: string): Promise<string> {
  try {
    await auth.authenticate(`Bearer ${token}`);
    return 'accepted';
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-token-cache-'));
  await ensureDevIssuer(dataDir);
  auth = await createAuthenticator({
    ...AUTH,
    jwks: 'file',
    file: devIssuerPaths(dataDir).jwks,
    createDevIssuer: false,
  });
});
afterAll(() => fs.rm(dataDir, { recursive: true, force: true }));

describe('verified bearer tokens, cached', () => {
  it('are refused once their exp has passed, though cached while valid', async () => {
    const token = await mint(2);
    const exp = decodeJwt(token).exp! * 1000;
    // Verified once, then served from the cache: the same principal each time.
    await expect(auth.authenticate(`Bearer ${token}`)).resolves.toEqual({
      sub: 'sam',
      roles: ['supervisor'],
    });
    expect(await outcome(token)).toBe('accepted');
    await eventually(
      () => Promise.resolve(Date.now() > exp ? true : undefined),
      10_000,
      'the token’s exp',
    );
    expect(await outcome(token)).toBe('token_expired');
  });

  it('never serve a token whose signature was changed', async () => {
    const token = await mint(300);
    expect(await outcome(token)).toBe('accepted');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    // A character in the middle of the signature: every bit of it counts.
    const i = Math.floor(signature.length / 2);
    const forged = `${header}.${payload}.${signature.slice(0, i)}${signature[i] === 'A' ? 'B' : 'A'}${signature.slice(i + 1)}`;
    expect(await outcome(forged)).toBe('token_invalid');
    // Refusals are not remembered either: the genuine token still passes, the forged one fails.
    expect(await outcome(token)).toBe('accepted');
    expect(await outcome(forged)).toBe('token_invalid');
  });
});
