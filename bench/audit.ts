// Benchmark of the audit log: append throughput through the staged path (db/audit.ts appendAudit,
// with the integrator loop of audit/integrator.ts running and signing checkpoints, as a node runs
// it), against bare INSERTs of the same rows into an equivalent table without the log's machinery,
// in the same run on the same database, with the ratio against the goal (0.8); the lag from a
// write to its integration and to its first checkpoint (p50/p99); then proof generation at
// 1,000,000 entries (in-memory tree rebuilt from the table).
//
//   npm run bench:audit            (BENCH_SECONDS=10 per phase in BENCH_ROUNDS=5 turns, BENCH_CONCURRENCY=8,
//                                   BENCH_PROOF_ENTRIES=1000000, BENCH_CHECKPOINT_EVERY=1000,
//                                   AUDIT_INTEGRATE_MS=200, AUDIT_CHECKPOINT_SECONDS=60)
import crypto from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { startAuditIntegrator } from '../audit/integrator.js';
import { AuditLog } from '../audit/service.js';
import { verifyConsistency, verifyInclusion } from '../audit/merkle.js';
import { appendAudit, auditEntryText, auditLeafHash, auditPending } from '../db/audit.js';
import { migrate } from '../db/migrate.js';
import { generateSigningKey, loadSigningKey } from '../protocol/keys.js';
import type { Keyring } from '../protocol/keyring.js';
import type { NewAuditEntry } from '../schemas/audit.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const C = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PROOF_ENTRIES = Number(process.env.BENCH_PROOF_ENTRIES ?? 1_000_000);
const CHECKPOINT_EVERY = Number(process.env.BENCH_CHECKPOINT_EVERY ?? 1000);
const INTEGRATE_MS = Number(process.env.AUDIT_INTEGRATE_MS ?? 200);
const CHECKPOINT_SECONDS = Number(process.env.AUDIT_CHECKPOINT_SECONDS ?? 60);
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://root@127.0.0.1:5432/test';
const GOAL = 0.8;

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

const entryFor = (i: number): NewAuditEntry => ({
  type: 'rejected',
  digest: crypto.createHash('sha256').update(String(i)).digest('hex'),
  code: 'signature_invalid',
  via: 'online',
});

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

/** Runs `op` from C workers for `seconds`; returns the count and each latency (ms). */
async function load(op: (i: number) => Promise<void>, seconds: number) {
  const latencies: number[] = [];
  const end = Date.now() + seconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (Date.now() < end) {
        const i = next++;
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { count: next, latencies };
}

/** `fn` in BEGIN … COMMIT on one pooled connection. */
async function inTransaction(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<unknown>) {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await fn(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

/** p50 and p99 of a column of milliseconds over audit_log rows from `from` on. */
async function lag(pool: pg.Pool, sql: string, from: number) {
  const { rows } = await pool.query<{ p50: number | null; p99: number | null; n: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99, count(*)::int AS n
     FROM (${sql}) x`,
    [from],
  );
  return rows[0]!;
}

async function main() {
  const name = `bench_audit_${crypto.randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
  const pool = new pg.Pool({ connectionString: url, max: C + 4 });
  try {
    await migrate(pool);
    await pool.query(`CREATE TABLE bare_log (idx bigserial PRIMARY KEY, entry text NOT NULL,
      leaf_hash bytea NOT NULL, at timestamptz NOT NULL DEFAULT now(), req_id text, refs text[] NOT NULL DEFAULT '{}')`);
    const logKey = await loadSigningKey(
      await generateSigningKey({ alg: 'Ed25519', roles: ['log'] }),
    );
    const keyring = { keys: [logKey], logSigner: () => logKey } as unknown as Keyring;
    const log = pino({ level: 'silent' });
    const audit = new AuditLog({ pool, partyId: 'party-bench', keyring, log });

    console.log(
      `audit log append: ${C} concurrent writers, ${SECONDS} s per phase in ${ROUNDS} turns; integrator every ${INTEGRATE_MS} ms, ` +
        `checkpoint every ${CHECKPOINT_EVERY} entries or ${CHECKPOINT_SECONDS} s`,
    );
    const bareInsert = (client: pg.Pool | pg.PoolClient, i: number) => {
      const text = auditEntryText(entryFor(i), new Date());
      // Prepared once per connection, as the node's own hot statements are (db/audit.ts).
      return client.query({
        name: 'bare_insert',
        text: 'INSERT INTO bare_log (entry, leaf_hash, refs) VALUES ($1, $2, $3)',
        values: [text, auditLeafHash(text), [entryFor(i).type]],
      });
    };
    // Ours, as the node runs it: the integrator loop integrating and signing in the background.
    const integrator = startAuditIntegrator({
      audit,
      pool,
      witness: () => Promise.resolve(),
      integrateMs: INTEGRATE_MS,
      checkpointEntries: CHECKPOINT_EVERY,
      checkpointSeconds: CHECKPOINT_SECONDS,
      log,
    });
    // After a phase of ours, the integrator finishes its backlog before the next phase starts, so
    // a baseline phase never pays for it (and ours pays for all it left during its own phase).
    let drainMs = 0;
    const drain = async () => {
      const t = performance.now();
      while (await auditPending(pool)) await new Promise((r) => setTimeout(r, 20));
      drainMs = Math.max(drainMs, performance.now() - t);
    };
    const phases = {
      // Baselines: the same rows, one INSERT, no log machinery.
      bare: (i: number) => bareInsert(pool, i).then(() => undefined),
      ours: async (i: number) => {
        // One statement, like the baseline (a pooled connection, no transaction of its own).
        const client = await pool.connect();
        try {
          await appendAudit(client, [entryFor(i)]);
        } finally {
          client.release();
        }
      },
      bareTx: (i: number) => inTransaction(pool, (client) => bareInsert(client, i)),
      oursTx: (i: number) => inTransaction(pool, (client) => appendAudit(client, [entryFor(i)])),
    };
    // The machine may be shared: the phases take turns, ROUNDS times, and their figures are summed.
    const runs: Record<keyof typeof phases, Awaited<ReturnType<typeof load>>[]> = {
      bare: [],
      ours: [],
      bareTx: [],
      oursTx: [],
    };
    let offset = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of Object.keys(phases) as (keyof typeof phases)[]) {
        const base = offset;
        const r = await load((i) => phases[name](base + i), SECONDS / ROUNDS);
        offset += r.count;
        runs[name].push(r);
        if (name.startsWith('ours')) await drain();
      }
    }
    await integrator.stop();
    const merged = (rs: Awaited<ReturnType<typeof load>>[]) => {
      const all = rs.flatMap((r) => r.latencies).sort((x, y) => x - y);
      return { rate: all.length / SECONDS, p50: pct(all, 50), p95: pct(all, 95) };
    };
    const bare = merged(runs.bare);
    const ours = merged(runs.ours);
    const bareTx = merged(runs.bareTx);
    const oursTx = merged(runs.oursTx);
    const { rows: cps } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM audit_checkpoints',
    );

    const row = (what: string, r: { rate: number; p50: number; p95: number }) =>
      console.log(
        `  ${what.padEnd(46)} ${r.rate.toFixed(0).padStart(7)} entries/s   p50 ${r.p50.toFixed(2)} ms   p95 ${r.p95.toFixed(2)} ms`,
      );
    row('bare INSERT, one statement (baseline)', bare);
    row('audit append (staged), one statement', ours);
    row('bare INSERT in BEGIN/COMMIT', bareTx);
    row('audit append (staged) in BEGIN/COMMIT', oursTx);
    const verdict = (r: number) =>
      `${r.toFixed(2)} (goal >= ${GOAL}: ${r >= GOAL ? 'met' : 'NOT met'})`;
    console.log(
      `  ratio, one statement each (audit / bare):        ${verdict(ours.rate / bare.rate)}`,
    );
    console.log(
      `  ratio, in a transaction each (audit / bare):     ${verdict(oursTx.rate / bareTx.rate)}`,
    );
    console.log(
      `  ratio, transaction vs bare statement (as issue 14 measured): ${(oursTx.rate / bare.rate).toFixed(2)}`,
    );
    const integration = await lag(
      pool,
      `SELECT extract(epoch FROM integrated_at - at) * 1000 AS ms FROM audit_log WHERE idx >= $1`,
      0,
    );
    const checkpointed = await lag(
      pool,
      `SELECT extract(epoch FROM c.at - l.at) * 1000 AS ms FROM audit_log l
       CROSS JOIN LATERAL (SELECT at FROM audit_checkpoints WHERE size > l.idx ORDER BY size LIMIT 1) c
       WHERE l.idx >= $1`,
      0,
    );
    const ms = (v: number | null) => (v === null ? '-' : `${v.toFixed(0)} ms`);
    console.log(
      `  write → integrated: p50 ${ms(integration.p50)}, p99 ${ms(integration.p99)} (${integration.n} entries; ${drainMs.toFixed(0)} ms at most to drain after a phase)`,
    );
    console.log(
      `  write → in a signed checkpoint: p50 ${ms(checkpointed.p50)}, p99 ${ms(checkpointed.p99)} (${checkpointed.n} entries covered by the ${cps[0]!.n} checkpoints signed during the load; one every ${CHECKPOINT_EVERY} entries, so the last of a phase wait for the next phase of ours)`,
    );

    // Proofs at PROOF_ENTRIES: fill the table in bulk, rebuild the tree from it, then time proofs.
    const have = Number(
      (await pool.query<{ size: string }>('SELECT size FROM audit_head')).rows[0]!.size,
    );
    const missing = Math.max(0, PROOF_ENTRIES - have);
    console.log(
      `\nproofs at ${PROOF_ENTRIES.toLocaleString('en')} entries (adding ${missing.toLocaleString('en')} in bulk)`,
    );
    let t = performance.now();
    await pool.query('ALTER TABLE audit_log DISABLE TRIGGER USER'); // bulk load only
    await pool.query(
      `INSERT INTO audit_log (idx, entry, leaf_hash)
       SELECT $1::bigint + g, e, sha256('\\x00'::bytea || convert_to(e, 'UTF8'))
       FROM generate_series(0, $2::bigint - 1) g,
            LATERAL (SELECT '{"at":"2026-11-28T00:00:00.000Z","code":"signature_invalid","digest":"' || encode(sha256(g::text::bytea), 'hex') || '","type":"rejected","v":1,"via":"online"}' AS e) x`,
      [have, missing],
    );
    await pool.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
    await pool.query('UPDATE audit_head SET size = $1', [have + missing]);
    console.log(`  bulk insert: ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const fresh = new AuditLog({
      pool,
      partyId: 'party-bench',
      keyring,
      log: pino({ level: 'silent' }),
    });
    t = performance.now();
    const cp = await fresh.checkpoint();
    console.log(
      `  tree rebuilt from the table and checkpoint signed: ${((performance.now() - t) / 1000).toFixed(2)} s (size ${cp.size})`,
    );

    const samples = 1000;
    let inclusionMs = 0;
    let verified = 0;
    for (let s = 0; s < samples; s += 1) {
      const index = Math.floor(Math.random() * cp.size);
      const t0 = performance.now();
      const p = await fresh.inclusion(index, cp.size);
      inclusionMs += performance.now() - t0;
      if (
        verifyInclusion(
          Buffer.from(p.leaf_hash, 'hex'),
          index,
          cp.size,
          p.proof.map((h) => Buffer.from(h, 'hex')),
          cp.root,
        )
      )
        verified += 1;
    }
    console.log(
      `  inclusion proof (with its entry read from Postgres): ${(inclusionMs / samples).toFixed(3)} ms mean over ${samples}, ${verified}/${samples} verified`,
    );
    const oldSize = Math.floor(cp.size / 3) + 1;
    const old = fresh.rootAt(oldSize);
    t = performance.now();
    const proof = await fresh.consistency(oldSize, cp.size);
    const consistencyMs = performance.now() - t;
    const ok = verifyConsistency(
      oldSize,
      cp.size,
      old,
      cp.root,
      proof.map((h) => Buffer.from(h, 'hex')),
    );
    console.log(
      `  consistency proof ${oldSize} → ${cp.size}: ${consistencyMs.toFixed(3)} ms, ${proof.length} hashes, verifies: ${ok}`,
    );
  } finally {
    await pool.end();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
