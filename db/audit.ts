// The audit log in Postgres: appends (staged inside the caller's transaction, so an entry exists
// exactly when what it records does), their integration into the log in batches, reads for proofs, checkpoints, cosignatures, witnessed checkpoints
// and security alerts. Hashing and proofs are in audit/merkle.ts; nothing here interprets them.
import crypto from 'node:crypto';
import type pg from 'pg';
import { withTransaction } from './transaction.js';
import { canonicalJson } from '../protocol/canonical-json.js';
import { AUDIT_ENTRY_VERSION, type NewAuditEntry } from '../schemas/audit.js';

type Queryable = pg.Pool | pg.PoolClient;

/** SHA-256(0x00 || data): the RFC 6962 leaf hash. */
export function auditLeafHash(entry: string): Buffer {
  return crypto
    .createHash('sha256')
    .update(Buffer.from([0]))
    .update(entry, 'utf8')
    .digest();
}

/** The exact leaf text of an entry: canonical JSON with the log's version and time stamped in. */
export function auditEntryText(e: NewAuditEntry, at: Date): string {
  return canonicalJson({ v: AUDIT_ENTRY_VERSION, at: at.toISOString(), ...e });
}

/** The integrator's advisory lock (migration 0018): one integration or checkpoint at a time. */
export const AUDIT_INTEGRATOR_LOCK = 7_302_130;

/**
 * Takes the integrator's lock within `client`'s open transaction (released at commit or
 * rollback), waiting while another integration or checkpoint holds it.
 */
export async function lockAuditIntegrator(client: pg.PoolClient): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_INTEGRATOR_LOCK]);
}

/**
 * Stages entries within `client`'s open transaction: they exist exactly when what they record
 * does (a rollback stages nothing). No lock another writer waits for is taken: an entry gets its
 * index when the integrator (integrateAudit) takes it, after the caller's commit. The insert runs
 * with the append-only role's rights (migration 0018), so even a bug here cannot rewrite history.
 * Returns the staged ids, in the order of the entries (see auditIndicesOfStaged).
 */
export async function appendAudit(
  client: pg.PoolClient,
  entries: readonly NewAuditEntry[],
  at = new Date(),
): Promise<number[]> {
  if (entries.length === 0) return [];
  const texts = entries.map((e) => auditEntryText(e, at));
  const { rows } = await client.query<{ ids: string[] }>({
    // A named statement: Postgres parses and plans it once per connection, not at every call (it
    // runs in every writing transaction). Hot statements are named only when their result columns
    // are spelled out: a migration by another replica cannot change what a prepared one returns.
    name: 'audit_stage',
    text: 'SELECT audit_stage($1::text[], $2, $3::text[], $4::text[]) AS ids',
    values: [
      texts,
      at,
      entries.map((e) => ('req_id' in e ? e.req_id : null)),
      entries.map((e) => refsOf(e).join(',')),
    ],
  });
  return rows[0]!.ids.map(Number);
}

export interface IntegrationOptions {
  /** Entries per batch (one transaction each). */
  batch?: number;
  /** Wait for another integrator to finish (true), or give up at once when one runs (false). */
  wait?: boolean;
  /** Called with the open transaction after a batch got its indices, before its commit (tests). */
  beforeCommit?: (client: pg.PoolClient, batch: { first: number; n: number }) => Promise<void>;
}

/**
 * Integrates the entries committed so far: batch after batch, each in a transaction of its own
 * holding the integrator's lock, gives the oldest pending entries the next indices until none is
 * left. Returns how many were integrated and the log's size after, or `busy` when another
 * integrator held the lock and `wait` was false.
 */
export async function integrateAudit(
  pool: pg.Pool,
  opts: IntegrationOptions = {},
): Promise<{ integrated: number; size: number } | 'busy'> {
  const batch = opts.batch ?? 5000;
  let integrated = 0;
  for (;;) {
    const step = await withTransaction(pool, async (client) => {
      const { rows } = await client.query<{ locked: boolean; first: string | null; n: number }>(
        'SELECT locked, first, n FROM audit_integrate($1, $2)',
        [batch, opts.wait ?? true],
      );
      const r = rows[0]!;
      if (!r.locked) return 'busy' as const;
      const done = { first: Number(r.first), n: r.n };
      if (done.n > 0 && opts.beforeCommit) await opts.beforeCommit(client, done);
      return done;
    });
    if (step === 'busy') return integrated > 0 ? { integrated, size: await auditSize(pool) } : step;
    integrated += step.n;
    if (step.n < batch) return { integrated, size: step.first + step.n };
  }
}

/** Whether any committed entry waits for the integrator. */
export async function auditPending(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ any: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM audit_pending) AS any',
  );
  return rows[0]!.any;
}

/** Entries staged and not yet integrated (committed ones only, as any reader sees them). */
export async function pendingAuditCount(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_pending');
  return rows[0]!.n;
}

/** The index each staged id got, or null while it waits for the integrator. */
export async function auditIndicesOfStaged(
  db: Queryable,
  staged: readonly number[],
): Promise<(number | null)[]> {
  const { rows } = await db.query<{ pending_id: string; idx: string }>(
    'SELECT pending_id, idx FROM audit_log WHERE pending_id = ANY($1::bigint[])',
    [staged],
  );
  const found = new Map(rows.map((r) => [Number(r.pending_id), Number(r.idx)]));
  return staged.map((id) => found.get(id) ?? null);
}

/** Digests an entry names, for finding the entries of one request's messages. */
function refsOf(e: NewAuditEntry): string[] {
  const refs: string[] = [];
  if ('digest' in e) refs.push(e.digest);
  if ('for_digest' in e) refs.push(e.for_digest);
  return refs;
}

/** Appends in a transaction of its own, for entries that record nothing else in the database. */
export async function appendAuditAlone(
  pool: pg.Pool,
  entries: readonly NewAuditEntry[],
): Promise<number[]> {
  return withTransaction(pool, (client) => appendAudit(client, entries));
}

export interface AuditRow {
  idx: number;
  entry: string;
  leafHash: Buffer;
}

/**
 * Leaf hashes with idx in [from, to), in order, each rehashed by Postgres from its entry: `ok` is
 * false where the stored hash no longer matches the entry (a row altered behind the node's back).
 */
export async function readLeafHashes(
  db: Queryable,
  from: number,
  to: number,
): Promise<{ idx: number; leafHash: Buffer; ok: boolean }[]> {
  const { rows } = await db.query<{ idx: string; leaf_hash: Buffer; ok: boolean }>(
    `SELECT idx, leaf_hash, leaf_hash = sha256('\\x00'::bytea || convert_to(entry, 'UTF8')) AS ok
     FROM audit_log WHERE idx >= $1 AND idx < $2 ORDER BY idx`,
    [from, to],
  );
  return rows.map((r) => ({ idx: Number(r.idx), leafHash: r.leaf_hash, ok: r.ok }));
}

/** Entries with idx in [from, to), in order. */
export async function readAuditRange(db: Queryable, from: number, to: number): Promise<AuditRow[]> {
  const { rows } = await db.query<{ idx: string; entry: string; leaf_hash: Buffer }>(
    'SELECT idx, entry, leaf_hash FROM audit_log WHERE idx >= $1 AND idx < $2 ORDER BY idx',
    [from, to],
  );
  return rows.map((r) => ({ idx: Number(r.idx), entry: r.entry, leafHash: r.leaf_hash }));
}

export async function auditSize(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ size: string }>('SELECT size FROM audit_head');
  return Number(rows[0]!.size);
}

/** Indices of the entries that name a request or one of its messages (by digest or msg_id). */
export async function auditIndicesForRequest(
  db: Queryable,
  reqId: string,
  digests: readonly string[],
): Promise<number[]> {
  const { rows } = await db.query<{ idx: string }>(
    `SELECT idx FROM audit_log WHERE req_id = $1 OR refs && $2::text[] ORDER BY idx`,
    [reqId, digests],
  );
  return rows.map((r) => Number(r.idx));
}

export interface CheckpointRow {
  size: number;
  root: Buffer;
  at: Date;
  token: string;
  kid: string;
}

/** Checkpoints matching `where` (a clause with $n parameters), as the table holds them. */
async function selectCheckpoints(
  db: Queryable,
  where: string,
  params: unknown[],
): Promise<CheckpointRow[]> {
  const { rows } = await db.query<Omit<CheckpointRow, 'size'> & { size: string }>(
    `SELECT size, root, at, token, kid FROM audit_checkpoints ${where}`,
    params,
  );
  // bigint comes back as text; tree sizes stay far below 2^53.
  return rows.map((r) => ({ ...r, size: Number(r.size) }));
}

export async function insertCheckpoint(db: Queryable, c: CheckpointRow): Promise<void> {
  await db.query(
    'INSERT INTO audit_checkpoints (size, root, at, token, kid) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (size) DO NOTHING',
    [c.size, c.root, c.at, c.token, c.kid],
  );
}

export async function latestCheckpoint(db: Queryable): Promise<CheckpointRow | undefined> {
  return (await selectCheckpoints(db, 'ORDER BY size DESC LIMIT 1', []))[0];
}

export async function getCheckpoint(
  db: Queryable,
  size: number,
): Promise<CheckpointRow | undefined> {
  return (await selectCheckpoints(db, 'WHERE size = $1', [size]))[0];
}

export function listCheckpoints(db: Queryable, limit = 100): Promise<CheckpointRow[]> {
  return selectCheckpoints(db, 'ORDER BY size DESC LIMIT $1', [limit]);
}

/** The first checkpoint whose tree contains entry `idx`. */
export async function checkpointCovering(
  db: Queryable,
  idx: number,
): Promise<CheckpointRow | undefined> {
  return (await selectCheckpoints(db, 'WHERE size > $1 ORDER BY size LIMIT 1', [idx]))[0];
}

export async function cosignaturesOf(
  db: Queryable,
  sizes: readonly number[],
): Promise<{ size: number; witness: string; token: string }[]> {
  const { rows } = await db.query<{ size: string; witness: string; token: string }>(
    'SELECT size, witness, token FROM audit_cosignatures WHERE size = ANY($1::bigint[]) ORDER BY size, witness',
    [sizes],
  );
  return rows.map((r) => ({ ...r, size: Number(r.size) }));
}

export async function insertCosignature(
  db: Queryable,
  c: { size: number; witness: string; token: string },
): Promise<void> {
  await db.query(
    'INSERT INTO audit_cosignatures (size, witness, token) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [c.size, c.witness, c.token],
  );
}

/**
 * Of our checkpoints of `size` entries or more, the one most of `witnesses` have countersigned (the
 * smallest among equals), with how many did; undefined when none of them countersigned any.
 */
export async function bestCosignedFrom(
  db: Queryable,
  size: number,
  witnesses: readonly string[],
): Promise<{ size: number; witnesses: number } | undefined> {
  const { rows } = await db.query<{ size: string; n: string }>(
    `SELECT size, count(DISTINCT witness) AS n FROM audit_cosignatures
      WHERE size >= $1 AND witness = ANY($2::text[])
      GROUP BY size ORDER BY n DESC, size ASC LIMIT 1`,
    [size, witnesses],
  );
  return rows[0] ? { size: Number(rows[0].size), witnesses: Number(rows[0].n) } : undefined;
}

/** The largest of our checkpoints `witness` has countersigned. */
export async function lastCosignedSize(db: Queryable, witness: string): Promise<number> {
  const { rows } = await db.query<{ size: string | null }>(
    'SELECT max(size) AS size FROM audit_cosignatures WHERE witness = $1',
    [witness],
  );
  return Number(rows[0]?.size ?? 0);
}

export interface WitnessedRow {
  partyId: string;
  size: number;
  root: Buffer;
  at: Date;
  token: string;
  cosignature: string;
}

export async function lastWitnessed(
  db: Queryable,
  partyId: string,
): Promise<WitnessedRow | undefined> {
  const { rows } = await db.query<{
    size: string;
    root: Buffer;
    at: Date;
    token: string;
    cosignature: string;
  }>(
    'SELECT size, root, at, token, cosignature FROM witnessed_checkpoints WHERE party_id = $1 ORDER BY size DESC LIMIT 1',
    [partyId],
  );
  const r = rows[0];
  return r ? { partyId, ...r, size: Number(r.size) } : undefined;
}

export async function insertWitnessed(client: pg.PoolClient, w: WitnessedRow): Promise<void> {
  await client.query(
    `INSERT INTO witnessed_checkpoints (party_id, size, root, at, token, cosignature)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    [w.partyId, w.size, w.root, w.at, w.token, w.cosignature],
  );
}

export async function raiseSecurityAlert(
  db: Queryable,
  alert: { kind: string; partyId: string | null; detail: Record<string, unknown> },
): Promise<void> {
  await db.query('INSERT INTO security_alerts (kind, party_id, detail) VALUES ($1, $2, $3)', [
    alert.kind,
    alert.partyId,
    JSON.stringify(alert.detail),
  ]);
}

export async function listSecurityAlerts(
  db: Queryable,
): Promise<{ id: number; at: string; kind: string; partyId: string | null; detail: unknown }[]> {
  const { rows } = await db.query<{
    id: string;
    at: Date;
    kind: string;
    party_id: string | null;
    detail: unknown;
  }>('SELECT id, at, kind, party_id, detail FROM security_alerts ORDER BY id');
  return rows.map((r) => ({
    id: Number(r.id),
    at: r.at.toISOString(),
    kind: r.kind,
    partyId: r.party_id,
    detail: r.detail,
  }));
}
