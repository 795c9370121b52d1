import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { registerOfflinePartner } from '../helpers/partners.js';
import { subjectFor } from '../helpers/domain.js';

let node: TestNode;
const body = {
  type: 'mine_map',
  counterparty: 'party-b',
  subject: subjectFor('mine_map', 'Mined area along the ridge road'),
};

/** A token signed by a key the node does not trust, with otherwise valid claims. */
async function foreignToken(): Promise<string> {
  const { privateKey, publicKey } = await generateKeyPair('Ed25519');
  return new SignJWT({ roles: ['officer'] })
    .setProtectedHeader({ alg: 'EdDSA', kid: (await exportJWK(publicKey)).x })
    .setIssuer('parley-dev-issuer')
    .setAudience('parley')
    .setSubject('mallory')
    .setExpirationTime('5m')
    .sign(privateKey);
}

/** A token signed by the node's own issuer key but with chosen claims. */
async function issuerToken(claims: { aud?: string; iss?: string; exp?: number }): Promise<string> {
  const fs = await import('node:fs/promises');
  const { importJWK } = await import('jose');
  const jwk = JSON.parse(
    await fs.readFile(`${node.dataDir}/auth/dev-issuer.private.jwk.json`, 'utf8'),
  ) as { kid: string };
  const key = await importJWK(jwk, 'EdDSA');
  return new SignJWT({ roles: ['officer'] })
    .setProtectedHeader({ alg: 'EdDSA', kid: jwk.kid })
    .setIssuer(claims.iss ?? 'parley-dev-issuer')
    .setAudience(claims.aud ?? 'parley')
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 300)
    .sign(key);
}

beforeAll(async () => {
  node = await startTestNode();
  await registerOfflinePartner(node);
});
afterAll(() => node?.destroy());

describe('bearer token authentication', () => {
  it.each([
    ['no Authorization header', () => Promise.resolve(undefined), 'token_missing'],
    ['a token from an unknown signer', foreignToken, 'token_invalid'],
    [
      'an unsigned (alg none) token',
      () =>
        new UnsecuredJWT({ roles: ['officer'] })
          .setIssuer('parley-dev-issuer')
          .setAudience('parley')
          .setSubject('eve')
          .setExpirationTime('5m')
          .encode(),
      'token_invalid',
    ],
    ['a token for another audience', () => issuerToken({ aud: 'another-system' }), 'token_invalid'],
    ['a token from another issuer', () => issuerToken({ iss: 'somebody-else' }), 'token_invalid'],
    [
      'an expired token',
      () => issuerToken({ exp: Math.floor(Date.now() / 1000) - 120 }),
      'token_expired',
    ],
    ['a garbled token', () => 'not.a.jwt', 'token_invalid'],
  ])(
    'answers 401 for %s, as a problem document with code %s, and creates nothing',
    async (_what, make, code) => {
      const token = await make();
      const res = await call(node.url, 'POST', '/v1/requests', {
        json: body,
        ...(token ? { token } : {}),
      });
      expect(res.status).toBe(401);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body.code).toBe(code);
      const { rows } = await node.database.pool.query('SELECT count(*)::int AS n FROM requests');
      expect(rows[0].n).toBe(0);
    },
  );

  it('answers 403 forbidden to a supervisor or admin creating a request', async () => {
    for (const role of ['supervisor', 'admin'] as const) {
      const res = await call(node.url, 'POST', '/v1/requests', {
        token: await node.token(role),
        json: body,
      });
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
    }
  });

  it('answers 403 to a token without any known role, and 401 on reads without a token', async () => {
    const none = await node.token([] as never[]);
    expect((await call(node.url, 'GET', '/v1/requests', { token: none })).body.code).toBe(
      'forbidden',
    );
    expect((await call(node.url, 'GET', '/v1/requests')).status).toBe(401);
  });

  it('lets an officer in with a token minted by the development issuer', async () => {
    const res = await call(node.url, 'POST', '/v1/requests', {
      token: await node.token('officer', 'alice'),
      json: body,
    });
    expect(res.status).toBe(201);
    expect(res.body.createdBy).toBe('alice');
  });

  it('keeps health probes open without a token', async () => {
    expect((await call(node.url, 'GET', '/healthz')).status).toBe(200);
  });
});
