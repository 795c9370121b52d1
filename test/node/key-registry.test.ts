// The verifier's key cache on a real Postgres: a burst of envelopes naming one kid costs one query,
// a change made through this process counts at once, one made by another replica (straight in the
// database) after the cache's lifetime, and a cache of 0 s always reads the database.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { addParty, revokeKey } from '../../db/registry.js';
import { migrate } from '../../db/migrate.js';
import { cachedKeyRegistry } from '../../node/key-registry.js';
import { createParty, type TestParty } from '../helpers/envelopes.js';
import { eventually } from '../helpers/partners.js';
import { cloneTemplate, testPool } from '../helpers/postgres.js';

let db: { url: string; drop: () => Promise<void> };
let pool: pg.Pool;
let partner: TestParty;
/** Statements the pool ran against party_keys. */
let keyQueries = 0;

beforeAll(async () => {
  db = await cloneTemplate(inject('templateDatabase'));
  pool = testPool({ connectionString: db.url, max: 4 });
  await migrate(pool);
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: typeof query }).query = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes('FROM party_keys')) keyQueries += 1;
    return query(...args);
  };
  partner = await createParty('party-a');
  await addParty(
    pool,
    {
      partyId: 'party-a',
      name: 'Party A',
      inboxUrl: 'http://127.0.0.1:9/v1/messages',
      keys: [
        {
          kid: partner.record.kid,
          alg: partner.record.alg,
          publicJwk: partner.record.publicJwk,
          roles: partner.record.roles,
          validFrom: partner.record.validFrom,
          validUntil: null,
        },
      ],
    },
    'test',
  );
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** Revokes the partner's key as another replica would: in the database, not through `registry`. */
async function revokeElsewhere(): Promise<void> {
  await revokeKey(
    pool,
    'party-a',
    partner.record.kid,
    { revokedAt: new Date(), reason: 'test' },
    'x',
  );
}

async function unrevoke(): Promise<void> {
  await pool.query('UPDATE party_keys SET revoked_at = NULL WHERE kid = $1', [partner.record.kid]);
}

describe('cachedKeyRegistry', () => {
  it('answers a burst naming one kid, and unknown kids, with one query each', async () => {
    const registry = cachedKeyRegistry(pool, 60_000);
    keyQueries = 0;
    const found = await Promise.all(
      Array.from({ length: 50 }, () => registry.findKey(partner.record.kid)),
    );
    expect(new Set(found.map((k) => k?.partyId))).toEqual(new Set(['party-a']));
    expect(await registry.findKey(partner.record.kid)).toMatchObject({ revokedAt: null });
    expect(await registry.findKey('no-such-kid')).toBeUndefined();
    expect(await registry.findKey('no-such-kid')).toBeUndefined();
    expect(keyQueries).toBe(2);
  });

  it('sees a change made through this process at once, and one made elsewhere after its lifetime', async () => {
    const held = cachedKeyRegistry(pool, 60_000);
    const short = cachedKeyRegistry(pool, 200);
    expect((await held.findKey(partner.record.kid))?.revokedAt).toBeNull();
    expect((await short.findKey(partner.record.kid))?.revokedAt).toBeNull();
    await revokeElsewhere();
    try {
      // Not told: the long-lived cache still holds the key as it was.
      expect((await held.findKey(partner.record.kid))?.revokedAt).toBeNull();
      held.invalidate();
      expect((await held.findKey(partner.record.kid))?.revokedAt).toBeInstanceOf(Date);
      await eventually(
        async () => ((await short.findKey(partner.record.kid))?.revokedAt ? true : undefined),
        5_000,
        'the revocation seen once the short cache expired',
      );
    } finally {
      await unrevoke();
    }
  });

  it('reads the database every time with a lifetime of 0', async () => {
    const registry = cachedKeyRegistry(pool, 0);
    keyQueries = 0;
    await registry.findKey(partner.record.kid);
    await registry.findKey(partner.record.kid);
    expect(keyQueries).toBe(2);
  });
});
