// Benchmark of the audit log: append throughput with checkpoints on, against bare INSERTs of the
// same rows into an equivalent table without the log's machinery, in the same run on the same
// database; then proof generation at 1,000,000 entries (in-memory tree rebuilt from the table).
//
//   npm run bench:audit            (BENCH_SECONDS=10 per phase, BENCH_CONCURRENCY=8,
//                                   BENCH_PROOF_ENTRIES=1000000, BENCH_CHECKPOINT_EVERY=1000)
import crypto from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { AuditLog } from '../audit/service.js';
import { verifyConsistency, verifyInclusion } from '../audit/merkle.js';
import { appendAudit, auditEntryText, auditLeafHash } from '../db/audit.js';
import { migrate } from '../db/migrate.js';
import { generateSigningKey, loadSigningKey } from '../protocol/keys.js';
import type { Keyring } from '../protocol/keyring.js';
import type { NewAuditEntry } from '../schemas/audit.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const C = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PROOF_ENTRIES = Number(process.env.BENCH_PROOF_ENTRIES ?? 1_000_000);
const CHECKPOINT_EVERY = Number(process.env.BENCH_CHECKPOINT_EVERY ?? 1000);
const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://root@127.0.0.1:5432/test';

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

/** Runs `op` from C workers for SECONDS; returns ops/s and latency percentiles (ms). */
async function load(op: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  const end = Date.now() + SECONDS * 1000;
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
  latencies.sort((x, y) => x - y);
  return { rate: latencies.length / SECONDS, p50: pct(latencies, 50), p95: pct(latencies, 95) };
}

async function main() {
  const name = `bench_audit_${crypto.randomBytes(5).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
  const pool = new pg.Pool({ connectionString: url, max: C + 2 });
  try {
    await migrate(pool);
    await pool.query(`CREATE TABLE bare_log (idx bigserial PRIMARY KEY, entry text NOT NULL,
      leaf_hash bytea NOT NULL, at timestamptz NOT NULL DEFAULT now(), req_id text, refs text[] NOT NULL DEFAULT '{}')`);
    const logKey = await loadSigningKey(
      await generateSigningKey({ alg: 'Ed25519', roles: ['log'] }),
    );
    const keyring = { keys: [logKey], logSigner: () => logKey } as unknown as Keyring;
    const audit = new AuditLog({
      pool,
      partyId: 'party-bench',
      keyring,
      log: pino({ level: 'silent' }),
    });

    console.log(
      `audit log append: ${C} concurrent appenders, ${SECONDS} s per phase, checkpoint every ${CHECKPOINT_EVERY} entries`,
    );
    // Baseline: the same rows, one INSERT per transaction, no head lock, no role switch, no checkpoints.
    const bare = await load(async (i) => {
      const text = auditEntryText(entryFor(i), new Date());
      await pool.query('INSERT INTO bare_log (entry, leaf_hash, refs) VALUES ($1, $2, $3)', [
        text,
        auditLeafHash(text),
        [entryFor(i).type],
      ]);
    });
    let lastCheckpoint = 0;
    let checkpoints = 0;
    let checkpointing: Promise<void> = Promise.resolve();
    const ours = await load(async (i) => {
      const client = await pool.connect();
      let idx: number[];
      try {
        await client.query('BEGIN');
        idx = await appendAudit(client, [entryFor(i)]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
      // Checkpoints on, as the node runs them: one at a time, in the background of the appends.
      if (idx[0]! + 1 - lastCheckpoint >= CHECKPOINT_EVERY) {
        lastCheckpoint = idx[0]! + 1;
        checkpointing = checkpointing.then(async () => {
          await audit.checkpoint();
          checkpoints += 1;
        });
      }
    });
    await checkpointing;
    const row = (what: string, r: { rate: number; p50: number; p95: number }) =>
      console.log(
        `  ${what.padEnd(34)} ${r.rate.toFixed(0).padStart(7)} entries/s   p50 ${r.p50.toFixed(2)} ms   p95 ${r.p95.toFixed(2)} ms`,
      );
    row('bare INSERT (baseline)', bare);
    row(`audit log append (+${checkpoints} checkpoints)`, ours);
    console.log(`  ratio (audit / bare): ${(ours.rate / bare.rate).toFixed(2)}`);

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
