// The audit log integrates in batches (issue 14, item 2): writers stage entries in their own
// transactions without waiting for one another, one integrator at a time gives them indices, and
// every guarantee of the log still holds: exactly the committed entries, each once, in an order
// proofs verify; an integrator that dies mid-batch changes nothing; two racing ones integrate
// each entry once; a row changed behind the node's back still stops the next checkpoint.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startAuditIntegrator } from '../../audit/integrator.js';
import { verifyConsistency, verifyInclusion } from '../../audit/merkle.js';
import { AuditLog } from '../../audit/service.js';
import {
  appendAudit,
  auditIndicesOfStaged,
  auditSize,
  integrateAudit,
  listSecurityAlerts,
  pendingAuditCount,
} from '../../db/audit.js';
import { migrate } from '../../db/migrate.js';
import { openDatabase } from '../../db/pool.js';
import { withTransaction } from '../../db/transaction.js';
import { generateSigningKey, loadSigningKey } from '../../protocol/keys.js';
import type { Keyring } from '../../protocol/keyring.js';
import type { NewAuditEntry } from '../../schemas/audit.js';
import { testLogger } from '../helpers/node.js';
import { eventually } from '../helpers/partners.js';
import { cloneTemplate } from '../helpers/postgres.js';

let db: Awaited<ReturnType<typeof cloneTemplate>>;
let pool: pg.Pool;
let keyring: Keyring;

beforeAll(async () => {
  db = await cloneTemplate(inject('templateDatabase'));
  pool = new pg.Pool({ connectionString: db.url, max: 30 });
  pool.on('error', () => {}); // an idle connection ended by the database's drop at the end
  const logKey = await loadSigningKey(await generateSigningKey({ alg: 'Ed25519', roles: ['log'] }));
  keyring = { keys: [logKey], logSigner: () => logKey } as unknown as Keyring;
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const auditLog = (on = pool) =>
  new AuditLog({ pool: on, partyId: 'party-t', keyring, log: testLogger });

let serial = 0;
/** A fresh entry, told apart by its digest. */
function entry(): NewAuditEntry & { digest: string } {
  serial += 1;
  const digest = crypto.createHash('sha256').update(`entry ${serial}`).digest('hex');
  return { type: 'rejected', digest, code: 'signature_invalid', via: 'online' };
}

/** The integrated log from `from` on: digest by index. */
async function logFrom(from: number): Promise<{ idx: number; digest: string }[]> {
  const { rows } = await pool.query<{ idx: string; digest: string }>(
    `SELECT idx, entry::jsonb->>'digest' AS digest FROM audit_log WHERE idx >= $1 ORDER BY idx`,
    [from],
  );
  return rows.map((r) => ({ idx: Number(r.idx), digest: r.digest }));
}

/** Stages `entries` in a transaction of their own and commits; returns the staged ids. */
const stage = (entries: NewAuditEntry[], on = pool) =>
  withTransaction(on, (client) => appendAudit(client, entries));

/** Every entry of the log from 0 to the checkpoint proves its inclusion against the signed root. */
async function expectProofsVerify(audit: AuditLog, size: number, root: Buffer, from = 0) {
  for (let index = from; index < size; index++) {
    const p = await audit.inclusion(index, size);
    const ok = verifyInclusion(
      Buffer.from(p.leaf_hash, 'hex'),
      index,
      size,
      p.proof.map((h) => Buffer.from(h, 'hex')),
      root,
    );
    expect(ok, `inclusion of entry ${index} in the tree of ${size}`).toBe(true);
  }
}

describe('writers', () => {
  it('stage entries without waiting for one another’s commit', async () => {
    const before = await auditSize(pool);
    const first = entry();
    const second = entry();
    // A transaction that staged an entry and stays open…
    const open = await pool.connect();
    try {
      await open.query('BEGIN');
      const [firstId] = await appendAudit(open, [first]);
      // …does not hold up another writer (with one head row, this waited for the open one).
      const secondId = await withTransaction(pool, async (client) => {
        await client.query("SET LOCAL lock_timeout = '5s'");
        return (await appendAudit(client, [second]))[0]!;
      });
      expect(secondId).toBeGreaterThan(firstId!);
      // The integrator takes what is committed: the later id first, the open one stays pending.
      await integrateAudit(pool);
      expect(await auditIndicesOfStaged(pool, [firstId!, secondId])).toEqual([null, before]);
      await open.query('COMMIT');
      await integrateAudit(pool);
      expect(await auditIndicesOfStaged(pool, [firstId!, secondId])).toEqual([before + 1, before]);
      expect((await logFrom(before)).map((e) => e.digest)).toEqual([second.digest, first.digest]);
    } finally {
      open.release();
    }
  });

  it('many at once, some rolling back: the log holds exactly the committed entries, each once, and proofs verify', async () => {
    const audit = auditLog();
    const start = await audit.checkpoint();
    const integrator = startAuditIntegrator({
      audit,
      pool,
      witness: () => Promise.resolve(),
      integrateMs: 10,
      checkpointEntries: 25,
      checkpointSeconds: 3600,
      log: testLogger,
    });
    const committed: string[][] = [];
    const rolledBack: string[] = [];
    const stagedIds: number[] = [];
    try {
      await Promise.all(
        Array.from({ length: 60 }, async (_, w) => {
          const entries = Array.from({ length: 1 + (w % 3) }, entry);
          const digests = entries.map((e) => e.digest);
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            const ids = await appendAudit(client, entries);
            if (w % 4 === 3) {
              await client.query('ROLLBACK');
              rolledBack.push(...digests);
            } else {
              await client.query('COMMIT');
              committed.push(digests);
              stagedIds.push(...ids);
            }
          } finally {
            client.release();
          }
        }),
      );
      await eventually(
        async () => ((await pendingAuditCount(pool)) === 0 ? true : undefined),
        20_000,
        'every committed entry integrated',
      );
    } finally {
      await integrator.stop();
    }

    const log = await logFrom(start.size);
    const digests = log.map((e) => e.digest);
    // Dense indices, exactly the committed entries, each once, none of those rolled back.
    expect(log.map((e) => e.idx)).toEqual(log.map((_, i) => start.size + i));
    expect([...digests].sort()).toEqual(committed.flat().sort());
    for (const d of rolledBack) expect(digests).not.toContain(d);
    // Each transaction's entries in the order it wrote them.
    for (const mine of committed) {
      const at = mine.map((d) => digests.indexOf(d));
      expect(at).toEqual([...at].sort((x, y) => x - y));
    }
    // Every staged id of a committed transaction found its index.
    expect((await auditIndicesOfStaged(pool, stagedIds)).every((i) => i !== null)).toBe(true);

    // Checkpoints of the batches: each a prefix of the next, every entry proven in the last.
    const final = await audit.checkpoint();
    expect(final.size).toBe(start.size + digests.length);
    const { rows } = await pool.query<{ size: string; root: Buffer }>(
      'SELECT size, root FROM audit_checkpoints WHERE size >= $1 ORDER BY size',
      [start.size],
    );
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < rows.length; i++) {
      const [from, to] = [Number(rows[i - 1]!.size), Number(rows[i]!.size)];
      const proof = await audit.consistency(from, to);
      expect(
        verifyConsistency(
          from,
          to,
          rows[i - 1]!.root,
          rows[i]!.root,
          proof.map((h) => Buffer.from(h, 'hex')),
        ),
        `${from} → ${to}`,
      ).toBe(true);
    }
    await expectProofsVerify(audit, final.size, final.root, start.size);
    expect(await audit.verifyIntegrity()).toEqual([]);
  });
});

describe('the integrator', () => {
  it('that dies mid-batch changes nothing, and the next run gives the same entries the same indices', async () => {
    await integrateAudit(pool);
    const before = await auditSize(pool);
    const entries = Array.from({ length: 7 }, entry);
    const ids = await stage(entries);

    // The batch got its indices in its transaction; then the integrator's connection dies.
    let planned: { pending_id: string; idx: string }[] = [];
    await expect(
      integrateAudit(pool, {
        beforeCommit: async (client) => {
          planned = (
            await client.query<{ pending_id: string; idx: string }>(
              'SELECT pending_id, idx FROM audit_log WHERE idx >= $1 ORDER BY idx',
              [before],
            )
          ).rows;
          const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
          await client.query('SELECT 1');
        },
      }),
    ).rejects.toThrow();
    expect(planned.map((r) => Number(r.pending_id))).toEqual(ids);
    // Rolled back whole: nothing integrated, the head where it was, all still pending.
    expect(await auditSize(pool)).toBe(before);
    expect(await logFrom(before)).toEqual([]);
    expect(await auditIndicesOfStaged(pool, ids)).toEqual(ids.map(() => null));
    expect(await pendingAuditCount(pool)).toBe(entries.length);

    expect(await integrateAudit(pool)).toEqual({
      integrated: entries.length,
      size: before + entries.length,
    });
    expect(await auditIndicesOfStaged(pool, ids)).toEqual(planned.map((r) => Number(r.idx)));
    expect((await logFrom(before)).map((e) => e.digest)).toEqual(entries.map((e) => e.digest));
    const audit = auditLog();
    const cp = await audit.checkpoint();
    await expectProofsVerify(audit, cp.size, cp.root, before);
  });

  it('runs one at a time: a second one gives up (or waits), and every entry is integrated once', async () => {
    await integrateAudit(pool);
    const before = await auditSize(pool);
    const first = Array.from({ length: 5 }, entry);
    await stage(first);

    // The first integrator holds its batch open until the second has tried.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const isHolding = new Promise<void>((r) => (holding = r));
    const winner = integrateAudit(pool, {
      beforeCommit: async () => {
        holding();
        await held;
      },
    });
    await isHolding;
    const later = Array.from({ length: 3 }, entry);
    await stage(later);
    expect(await integrateAudit(pool, { wait: false })).toBe('busy');
    const waiter = integrateAudit(pool, { wait: true }); // queues behind the winner
    release();
    expect(await winner).toEqual({ integrated: first.length, size: before + first.length });
    expect(await waiter).toEqual({ integrated: later.length, size: before + 8 });
    expect((await logFrom(before)).map((e) => e.digest)).toEqual(
      [...first, ...later].map((e) => e.digest),
    );
  });

  it('shared by two replicas racing while writers write: one log, each entry once, checkpoints that extend each other', async () => {
    const [one, two] = [auditLog(), auditLog()];
    const start = await one.checkpoint();
    const written: string[] = [];
    const writers = Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 10; i++) {
          const e = entry();
          await stage([e]);
          written.push(e.digest);
        }
      }),
    );
    const racers = Promise.all(
      [one, two].flatMap((audit) =>
        Array.from({ length: 6 }, async (_, i) => {
          if (i % 2) await audit.checkpoint();
          else await audit.integrate(i % 4 === 0);
        }),
      ),
    );
    await Promise.all([writers, racers]);
    const final = await two.checkpoint();
    const log = await logFrom(start.size);
    expect(log.map((e) => e.idx)).toEqual(log.map((_, i) => start.size + i));
    expect(log.map((e) => e.digest).sort()).toEqual([...written].sort());
    expect(final.size).toBe(start.size + written.length);
    // Whichever replica signed, every checkpoint is a prefix of the newest: no fork to alarm on.
    const fresh = auditLog();
    await fresh.sync();
    const { rows } = await pool.query<{ size: string; root: Buffer }>(
      'SELECT size, root FROM audit_checkpoints ORDER BY size',
    );
    for (const r of rows) expect(fresh.rootAt(Number(r.size)).equals(r.root)).toBe(true);
    await expectProofsVerify(one, final.size, final.root, start.size);
  });
});

describe('tampering', () => {
  it('is still caught: staged entries cannot be changed, and a changed log row stops the next checkpoint', async () => {
    const audit = auditLog();
    await stage([entry()]);
    const signed = await audit.checkpoint();
    await stage([entry()]);
    // A staged entry is never changed, only integrated.
    await expect(pool.query(`UPDATE audit_pending SET entry = '{}'`)).rejects.toThrow(
      /append-only/,
    );
    await expect(pool.query('TRUNCATE audit_pending')).rejects.toThrow(/append-only/);

    // A row already signed over is changed behind the node's back (triggers off: a superuser).
    const victim = signed.size - 1;
    await pool.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    await pool.query(
      `UPDATE audit_log SET entry = replace(entry, 'signature_invalid', 'signature_valid') WHERE idx = $1`,
      [victim],
    );
    await pool.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');

    // The full check finds it; a restarted integrator still integrates, but signs nothing over it.
    const problems = await audit.verifyIntegrity();
    expect(problems).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'entry', index: victim })]),
    );
    const restarted = auditLog();
    await expect(restarted.checkpoint()).rejects.toMatchObject({ code: 'log_tampered' });
    expect(await pendingAuditCount(pool)).toBe(0);
    const { rows } = await pool.query<{ size: string }>(
      'SELECT max(size) AS size FROM audit_checkpoints',
    );
    expect(Number(rows[0]!.size)).toBe(signed.size);
    expect((await listSecurityAlerts(pool)).map((a) => a.kind)).toContain('log_tampered');
  });
});

describe('on the embedded database (PGlite, one connection)', () => {
  it('integrates, signs and proves, as the node’s loop runs it, without waiting on itself', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-audit-'));
    const database = await openDatabase({ kind: 'pglite', dir });
    try {
      await migrate(database.pool);
      const audit = auditLog(database.pool);
      const integrator = startAuditIntegrator({
        audit,
        pool: database.pool,
        witness: () => Promise.resolve(),
        integrateMs: 10,
        checkpointEntries: 3,
        checkpointSeconds: 3600,
        log: testLogger,
      });
      const entries = Array.from({ length: 10 }, entry);
      try {
        for (const e of entries) await stage([e], database.pool);
        // An on-demand checkpoint (the evidence bundle's) beside the loop's own.
        const cp = await audit.checkpoint();
        expect(cp.size).toBe(entries.length);
        await expectProofsVerify(audit, cp.size, cp.root);
      } finally {
        await integrator.stop();
      }
      expect(await pendingAuditCount(database.pool)).toBe(0);
    } finally {
      await database.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
