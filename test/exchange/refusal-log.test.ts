// The refusal log against a real database, Postgres and embedded PGlite: counts from two replicas
// flushing at once add up, the sample keeps only its newest rows, only a refused statement of a
// party becomes an audit leaf, and only input no party can be held to is limited, per source.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { integrateAudit } from '../../db/audit.js';
import { migrate } from '../../db/migrate.js';
import { openDatabase, type Database } from '../../db/pool.js';
import { AppError } from '../../errors.js';
import { RefusalLog, type Refused } from '../../exchange/refusals.js';
import { testLogger } from '../helpers/node.js';
import { cloneTemplate } from '../helpers/postgres.js';

const MINUTE = Date.UTC(2030, 0, 1, 10, 0);
const hex = (n: number) => n.toString(16).padStart(64, '0');
const refused = (over: Partial<Refused> = {}): Refused => ({
  code: 'signature_invalid',
  digest: hex(1),
  via: 'online',
  source: '203.0.113.7',
  kind: 'unattributed',
  ...over,
});
const errorOf = (r: Refused) => new AppError(r.code as 'signature_invalid', 'refused');

describe.each(['postgres', 'pglite'] as const)('the refusal log on %s', (kind) => {
  let database: Database;
  let pool: pg.Pool;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    if (kind === 'postgres') {
      const cloned = await cloneTemplate(inject('templateDatabase'));
      database = await openDatabase({ kind: 'postgres', url: cloned.url, poolSize: 6 });
      cleanup = async () => {
        await database.close();
        await cloned.drop();
      };
    } else {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-refusals-'));
      database = await openDatabase({ kind: 'pglite', dir });
      await migrate(database.pool);
      cleanup = async () => {
        await database.close();
        await fs.rm(dir, { recursive: true, force: true });
      };
    }
    pool = database.pool;
  });
  afterAll(() => cleanup?.());

  // Audit entries are counted once integrated into the log (db/audit.ts integrateAudit).
  const count = async (sql: string, params: unknown[] = []) => {
    await integrateAudit(pool);
    return (await pool.query<{ n: number }>(sql, params)).rows[0]!.n;
  };

  it('adds up the counts of two replicas flushing at once', async () => {
    const limits = { perSource: { burst: 100, perMinute: 1 }, sampleSize: 10 };
    const replicas = [
      new RefusalLog(pool, testLogger, limits),
      new RefusalLog(pool, testLogger, limits),
    ];
    const answers: string[] = [];
    for (let i = 0; i < 300; i++) {
      const r = refused({ code: i % 3 ? 'signature_invalid' : 'malformed_envelope' });
      const answer = await replicas[i % 2]!.refuse(errorOf(r), r, MINUTE + i);
      answers.push(answer.code);
    }
    await Promise.all(replicas.map((r) => r.flush()));
    // Each replica limits on its own: 100 each with their own code, the other 50 each 429.
    expect(answers.filter((c) => c === 'rate_limited')).toHaveLength(100);
    const { rows } = await pool.query<{ code: string; refused: number; limited: number }>(
      `SELECT code, refused::int AS refused, limited::int AS limited FROM inbox_rejection_counts
       WHERE minute = $1 AND source = '203.0.113.7' ORDER BY code`,
      [new Date(MINUTE)],
    );
    expect(rows.reduce((n, r) => n + r.refused, 0)).toBe(300);
    expect(rows.reduce((n, r) => n + r.limited, 0)).toBe(100);
    expect(rows.map((r) => [r.code, r.refused])).toEqual([
      ['malformed_envelope', 100],
      ['signature_invalid', 200],
    ]);
  });

  it('keeps only the newest rows of the sample', async () => {
    const log = new RefusalLog(pool, testLogger, { sampleSize: 10 });
    for (let i = 100; i < 125; i++) {
      const r = refused({ code: 'replay', kind: 'copy', digest: hex(i), source: '198.51.100.1' });
      await log.refuse(errorOf(r), r, MINUTE);
    }
    const { rows } = await pool.query<{ digest: string }>(
      'SELECT digest FROM inbox_rejections ORDER BY id',
    );
    expect(rows.map((r) => r.digest)).toEqual(Array.from({ length: 10 }, (_, i) => hex(115 + i)));
  });

  it('makes an audit leaf of a refused statement of a party only', async () => {
    const leaves = () =>
      count(`SELECT count(*)::int AS n FROM audit_log WHERE entry::jsonb->>'type' = 'rejected'`);
    const before = await leaves();
    const log = new RefusalLog(pool, testLogger);
    for (const r of [
      refused({ digest: hex(200) }),
      refused({ code: 'replay', kind: 'copy', digest: hex(201) }),
      refused({ code: 'sequence_gap', kind: 'statement', digest: hex(202) }),
    ])
      await log.refuse(errorOf(r), r, MINUTE);
    expect(await leaves()).toBe(before + 1);
    expect(
      await count(`SELECT count(*)::int AS n FROM audit_log WHERE entry::jsonb->>'digest' = $1`, [
        hex(202),
      ]),
    ).toBe(1);
  });

  it('limits unattributed refusals per source, never a statement, a copy or a file import', async () => {
    const log = new RefusalLog(pool, testLogger, { perSource: { burst: 2, perMinute: 6 } });
    const codes = async (r: Refused) => (await log.refuse(errorOf(r), r, MINUTE)).code;
    expect([await codes(refused()), await codes(refused())]).toEqual([
      'signature_invalid',
      'signature_invalid',
    ]);
    const limited = await log.refuse(errorOf(refused()), refused(), MINUTE);
    expect(limited).toMatchObject({
      code: 'rate_limited',
      status: 429,
      extra: { retry_after: 10 },
    });
    expect(log.waitFor('203.0.113.7', MINUTE)).toBe(10);
    expect(await codes(refused({ source: '203.0.113.8' }))).toBe('signature_invalid');
    expect(await codes(refused({ code: 'sequence_gap', kind: 'statement' }))).toBe('sequence_gap');
    expect(await codes(refused({ code: 'replay', kind: 'copy' }))).toBe('replay');
    expect(await codes(refused({ via: 'import', source: 'import' }))).toBe('signature_invalid');
    expect(log.waitFor('203.0.113.7', MINUTE + 10_000)).toBe(0);
  });
});

describe('answers 429 held', () => {
  const log = () =>
    new RefusalLog({} as pg.Pool, testLogger, {
      limitedHoldMs: 1000,
      maxHeldPerSource: 2,
      maxHeld: 3,
    });

  it('holds a limited source for at most its Retry-After, then answers at once and closes past its room', () => {
    const refusals = log();
    const first = refusals.limitedAnswer('203.0.113.7', 5);
    const second = refusals.limitedAnswer('203.0.113.7', 5);
    expect([first, second].map((a) => [a.holdMs, a.close])).toEqual([
      [1000, false],
      [1000, false],
    ]);
    // A third connection of the same source gets its 429 now, with the connection closed.
    expect(refusals.limitedAnswer('203.0.113.7', 5)).toMatchObject({ holdMs: 0, close: true });
    // Another source still has room, until all the held answers are taken.
    expect(refusals.limitedAnswer('203.0.113.8', 5)).toMatchObject({ holdMs: 1000 });
    expect(refusals.limitedAnswer('203.0.113.9', 5)).toMatchObject({ holdMs: 0, close: true });
    // An answer sent frees its place, once however often it is released.
    first.release();
    first.release();
    expect(refusals.limitedAnswer('203.0.113.9', 5)).toMatchObject({ holdMs: 1000 });
    // All held again: the source's own room does not help.
    expect(refusals.limitedAnswer('203.0.113.7', 5)).toMatchObject({ holdMs: 0, close: true });
    second.release();
    expect(refusals.limitedAnswer('203.0.113.7', 5)).toMatchObject({ holdMs: 1000 });
  });

  it('never holds longer than the Retry-After it sends, and not at all when told not to', () => {
    const short = new RefusalLog({} as pg.Pool, testLogger, { limitedHoldMs: 5000 });
    expect(short.limitedAnswer('203.0.113.7', 1).holdMs).toBe(1000);
    const none = new RefusalLog({} as pg.Pool, testLogger, { limitedHoldMs: 0 });
    expect(none.limitedAnswer('203.0.113.7', 1)).toMatchObject({ holdMs: 0, close: false });
  });
});
