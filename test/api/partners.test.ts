import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateSigningKey,
  loadSigningKey,
  publicPart,
  type SigningKey,
} from '../../protocol/keys.js';
import { signDraft } from '../../protocol/sign.js';
import { call } from '../helpers/http.js';
import { PROTOCOL_ONLY, startTestNode, type TestNode } from '../helpers/node.js';

let node: TestNode;
let admin: string;

async function newKey(alg: 'Ed25519' | 'ES256' = 'Ed25519'): Promise<SigningKey> {
  return loadSigningKey(await generateSigningKey({ alg, roles: ['message', 'receipt'] }));
}

const jwksOf = (...keys: SigningKey[]) => ({
  keys: keys.map((k) => ({ ...k.publicJwk, alg: k.alg })),
});

/** Posts a decline signed by `key` as `iss` to the node's inbox. */
async function deliver(key: SigningKey, iss: string) {
  const env = await signDraft(
    { kind: 'decline', iss, aud: 'party-a', req_id: ulid(), body: { reason: 'No such records.' } },
    key,
  );
  const res = await fetch(`${node.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/jose' },
    body: env.token,
  });
  const text = await res.text();
  return {
    status: res.status,
    body: res.status === 202 ? text : (JSON.parse(text) as { code: string }),
  };
}

async function counts() {
  const { rows } = await node.database.pool.query(
    'SELECT (SELECT count(*) FROM parties)::int AS parties, (SELECT count(*) FROM party_keys)::int AS keys, (SELECT count(*) FROM registry_changes)::int AS changes',
  );
  return rows[0] as { parties: number; keys: number; changes: number };
}

beforeAll(async () => {
  node = await startTestNode({ partyId: 'party-a', sink: PROTOCOL_ONLY });
  admin = await node.token('admin', 'admin-ana');
});
afterAll(() => node?.destroy());

describe('partner registry', () => {
  const first = newKey('Ed25519');
  const second = newKey('ES256');

  it('adds a partner with its keys, each named by its thumbprint, recorded with who did it', async () => {
    const [k1, k2] = [await first, await second];
    const res = await call(node.url, 'POST', '/v1/admin/partners', {
      token: admin,
      json: {
        partyId: 'party-b',
        name: 'Party B',
        inboxUrl: 'http://127.0.0.1:9/v1/messages',
        jwks: jwksOf(k1, k2),
      },
    });
    expect(res.status).toBe(201);
    expect(res.body.keys.map((k: { kid: string }) => k.kid).sort()).toEqual(
      [k1.kid, k2.kid].sort(),
    );
    expect(res.body.keys[0]).toMatchObject({
      roles: ['message', 'receipt'],
      revokedAt: null,
      addedBy: 'admin-ana',
    });
    expect((await deliver(k1, 'party-b')).status).toBe(202);
    expect((await deliver(k2, 'party-b')).status).toBe(202);
  });

  it.each([
    [
      'a private key in the JWKS',
      async () => ({ keys: [{ ...(await first).publicJwk, d: 'A'.repeat(43) }] }),
      '/jwks/keys/0/d',
    ],
    [
      'a kid that is not the thumbprint',
      async () => ({ keys: [{ ...(await first).publicJwk, kid: 'x'.repeat(43) }] }),
      '/jwks/keys/0/kid',
    ],
    [
      'an algorithm that does not fit the key',
      async () => ({ keys: [{ ...(await first).publicJwk, alg: 'ES256' }] }),
      '/jwks/keys/0/alg',
    ],
    ['an empty key set', () => Promise.resolve({ keys: [] }), '/jwks/keys'],
  ])('refuses %s with schema_invalid and stores nothing', async (_what, jwks, path) => {
    const before = await counts();
    const res = await call(node.url, 'POST', '/v1/admin/partners', {
      token: admin,
      json: {
        partyId: 'party-c',
        name: 'Party C',
        inboxUrl: 'http://127.0.0.1:9/v1/messages',
        jwks: await jwks(),
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('schema_invalid');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await counts()).toEqual(before);
  });

  it('refuses a second registration of a party (409), and registry changes by non-admins (403)', async () => {
    const body = {
      partyId: 'party-b',
      name: 'Again',
      inboxUrl: 'http://127.0.0.1:9/v1/messages',
      jwks: jwksOf(await newKey()),
    };
    const before = await counts();
    expect(
      (await call(node.url, 'POST', '/v1/admin/partners', { token: admin, json: body })).body.code,
    ).toBe('conflict');
    for (const role of ['officer', 'supervisor'] as const) {
      const res = await call(node.url, 'POST', '/v1/admin/partners', {
        token: await node.token(role),
        json: { ...body, partyId: 'party-d' },
      });
      expect(res.status).toBe(403);
    }
    expect(await counts()).toEqual(before);
    expect(
      (await call(node.url, 'GET', '/v1/admin/partners/nobody', { token: admin })).body.code,
    ).toBe('unknown_party');
  });

  it('rotates: a new key works alongside the old, then the revoked old key is refused with key_not_valid', async () => {
    const [k1, rotated] = [await first, await newKey()];
    const added = await call(node.url, 'POST', '/v1/admin/partners/party-b/keys', {
      token: admin,
      json: { jwks: jwksOf(rotated) },
    });
    expect(added.status).toBe(201);
    expect((await deliver(rotated, 'party-b')).status).toBe(202);
    expect((await deliver(k1, 'party-b')).status).toBe(202);

    const revoked = await call(
      node.url,
      'POST',
      `/v1/admin/partners/party-b/keys/${k1.kid}/revoke`,
      {
        token: admin,
        json: { reason: 'device lost in the field' },
      },
    );
    expect(revoked.status).toBe(200);
    const refused = await deliver(k1, 'party-b');
    expect(refused).toMatchObject({ status: 401, body: { code: 'key_not_valid' } });
    expect((await deliver(rotated, 'party-b')).status).toBe(202);

    const again = await call(node.url, 'POST', `/v1/admin/partners/party-b/keys/${k1.kid}/revoke`, {
      token: admin,
      json: { reason: 'twice' },
    });
    expect(again.body.code).toBe('conflict');

    const detail = await call(node.url, 'GET', '/v1/admin/partners/party-b', {
      token: await node.token('supervisor'),
    });
    expect(detail.body.changes.map((c: { action: string }) => c.action)).toEqual([
      'party_added',
      'key_added',
      'key_added',
      'key_added',
      'key_revoked',
    ]);
    expect(detail.body.changes.every((c: { actor: string }) => c.actor === 'admin-ana')).toBe(true);
    expect(detail.body.keys.find((k: { kid: string }) => k.kid === k1.kid)).toMatchObject({
      revocationReason: 'device lost in the field',
    });
  });

  it('refuses messages signed by a key outside its validity window, and by a key without the role', async () => {
    const [expired, future, receiptOnly] = [await newKey(), await newKey(), await newKey()];
    const keys = (k: SigningKey, extra: object) => ({
      jwks: { keys: [{ ...publicPart(k.publicJwk), alg: k.alg, ...extra }] },
    });
    await call(node.url, 'POST', '/v1/admin/partners/party-b/keys', {
      token: admin,
      json: {
        ...keys(expired, {}),
        validFrom: '2020-01-01T00:00:00Z',
        validUntil: '2021-01-01T00:00:00Z',
      },
    });
    await call(node.url, 'POST', '/v1/admin/partners/party-b/keys', {
      token: admin,
      json: { ...keys(future, {}), validFrom: '2099-01-01T00:00:00Z' },
    });
    await call(node.url, 'POST', '/v1/admin/partners/party-b/keys', {
      token: admin,
      json: { ...keys(receiptOnly, {}), roles: ['receipt'] },
    });
    expect(await deliver(expired, 'party-b')).toMatchObject({
      status: 401,
      body: { code: 'key_not_valid' },
    });
    expect(await deliver(future, 'party-b')).toMatchObject({
      status: 401,
      body: { code: 'key_not_valid' },
    });
    expect(await deliver(receiptOnly, 'party-b')).toMatchObject({
      status: 403,
      body: { code: 'key_role_mismatch' },
    });
  });
});
