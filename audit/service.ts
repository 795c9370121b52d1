// The node's audit log at work: integrates staged entries into the log (one integrator at a time),
// keeps an in-memory Merkle tree in step with the table, signs checkpoints with the log key, serves proofs, checks the whole log against the checkpoints it
// signed (a row changed behind the node's back shows), and cross-witnesses with partners.
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  auditLeafHash,
  auditSize,
  checkpointCovering,
  getCheckpoint,
  insertCheckpoint,
  integrateAudit,
  latestCheckpoint,
  listCheckpoints,
  lockAuditIntegrator,
  raiseSecurityAlert,
  readAuditRange,
  readLeafHashes,
  type CheckpointRow,
} from '../db/audit.js';
import { withTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import type { Keyring } from '../protocol/keyring.js';
import type { CheckpointPayload } from '../schemas/audit.js';
import { signCheckpoint } from './checkpoint.js';
import { MemoryTree } from './merkle.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const PAGE = 50_000;

export interface IntegrityProblem {
  /** `entry` (a leaf that does not hash to what is stored), `gap`, or `checkpoint`. */
  kind: 'entry' | 'gap' | 'checkpoint';
  index?: number;
  size?: number;
  message: string;
}

export interface AuditLogDeps {
  pool: pg.Pool;
  partyId: string;
  keyring: Keyring;
  log: Logger;
}

/** A finding that the log was altered, before supervisors are alerted of it. */
class TamperFinding extends Error {}

type Queryable = pg.Pool | pg.PoolClient;

export class AuditLog {
  private tree = new MemoryTree();
  private syncing: Promise<number> | undefined;
  private checkpointing: Promise<CheckpointRow> | undefined;
  private nextCheckpoint: Promise<CheckpointRow> | undefined;
  private readonly alerted = new Set<string>();

  constructor(private readonly deps: AuditLogDeps) {}

  /** Reads entries appended since the last call into the tree; returns the tree size. */
  sync(): Promise<number> {
    this.syncing ??= this.readNew(this.deps.pool)
      .catch((err: unknown) => this.alertOn(err))
      .finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  /**
   * Reads the entries the tree lacks through `db` (the pool, or the connection of the transaction
   * holding the integrator's lock: an embedded database has one connection only). Two reads may
   * overlap (a sync and a checkpoint): a leaf is appended only at its own index, so neither appends
   * one twice. Throws a TamperFinding, without alerting, at a missing or altered entry.
   */
  private async readNew(db: Queryable): Promise<number> {
    const head = await auditSize(db);
    while (this.tree.size < head) {
      // Postgres rehashes each entry as it reads it, so only 33 bytes a row cross the wire.
      const rows = await readLeafHashes(db, this.tree.size, Math.min(head, this.tree.size + PAGE));
      for (const row of rows) {
        if (row.idx < this.tree.size) continue; // read into the tree meanwhile
        if (row.idx !== this.tree.size)
          throw new TamperFinding(`audit log entry ${this.tree.size} is missing`);
        if (!row.ok)
          throw new TamperFinding(`audit log entry ${row.idx} does not hash to its leaf`);
        this.tree.append(row.leafHash);
      }
      if (rows.length === 0) break;
    }
    return this.tree.size;
  }

  /** Alerts supervisors of a TamperFinding (and throws log_tampered); rethrows anything else. */
  private alertOn(err: unknown): Promise<never> {
    if (err instanceof TamperFinding) return this.tampered(err.message);
    throw err;
  }

  /**
   * Integrates every entry committed so far (waiting for another integrator to finish when `wait`,
   * else leaving the work to it) and reads the new ones into the tree. Returns the tree size.
   */
  async integrate(wait = true): Promise<number> {
    await integrateAudit(this.deps.pool, { wait });
    return this.sync();
  }

  /**
   * Integrates what is committed, then signs a checkpoint of the log as it stands, unless the
   * newest one already covers it: the checkpoint covers every entry committed before the call. Refuses (and alerts supervisors) when the log no longer extends
   * the last checkpoint signed. Signs holding the integrator's lock, so no two processes (or
   * replicas) sign at once, and none signs a tree smaller than the newest checkpoint.
   */
  checkpoint(): Promise<CheckpointRow> {
    if (!this.checkpointing) {
      this.checkpointing = this.integrate()
        .then(() =>
          withTransaction(this.deps.pool, async (client) => {
            await lockAuditIntegrator(client);
            return this.makeCheckpoint(client);
          }),
        )
        // Alerted once the transaction is over: the alert must stay, and it needs a connection.
        .catch((err: unknown) => this.alertOn(err))
        .finally(() => (this.checkpointing = undefined));
      return this.checkpointing;
    }
    // One under way may have integrated before the caller's write: the callers that come while it
    // runs share the next one.
    this.nextCheckpoint ??= this.checkpointing
      .catch(() => undefined)
      .then(() => {
        this.nextCheckpoint = undefined;
        return this.checkpoint();
      });
    return this.nextCheckpoint;
  }

  /** Runs holding the integrator's lock; reads and writes through its connection only. */
  private async makeCheckpoint(client: pg.PoolClient): Promise<CheckpointRow> {
    const size = await this.readNew(client);
    const last = await latestCheckpoint(client);
    if (last && last.size > size)
      throw new TamperFinding(`the log has ${size} entries, fewer than checkpoint ${last.size}`);
    if (last && !Buffer.from(this.tree.root(last.size)).equals(last.root))
      throw new TamperFinding(
        `the first ${last.size} entries no longer hash to checkpoint ${last.size}`,
      );
    if (last && last.size === size) return last;
    const signer = this.deps.keyring.logSigner();
    const payload: CheckpointPayload = {
      log: this.deps.partyId,
      size,
      root: hex(this.tree.root(size)),
      at: new Date().toISOString(),
    };
    const row: CheckpointRow = {
      size,
      root: Buffer.from(payload.root, 'hex'),
      at: new Date(payload.at),
      token: await signCheckpoint(payload, signer),
      kid: signer.kid,
    };
    await insertCheckpoint(client, row);
    return (await getCheckpoint(client, size)) ?? row;
  }

  private async tampered(message: string): Promise<never> {
    // Raised once per finding, not at every checkpoint attempt that meets it again.
    if (this.alerted.has(message)) throw new AppError('log_tampered', message);
    this.alerted.add(message);
    await raiseSecurityAlert(this.deps.pool, {
      kind: 'log_tampered',
      partyId: this.deps.partyId,
      detail: { message },
    });
    this.deps.log.error({ alert: 'log_tampered' }, message);
    throw new AppError('log_tampered', message);
  }

  /** The root of the first `size` entries as the cached tree holds them (call sync() first). */
  rootAt(size: number): Buffer {
    return Buffer.from(this.tree.root(size));
  }

  /** Proof that entry `index` is in the tree of `size` entries (default: the newest checkpoint). */
  async inclusion(index: number, size?: number) {
    await this.sync();
    const checkpoint =
      size === undefined
        ? await checkpointCovering(this.deps.pool, index)
        : await getCheckpoint(this.deps.pool, size);
    if (!checkpoint) {
      throw size === undefined
        ? new AppError('unknown_entry', `no checkpoint covers entry ${index} yet`)
        : new AppError('unknown_checkpoint', `no checkpoint of size ${size}`);
    }
    if (index < 0 || index >= checkpoint.size)
      throw new AppError(
        'unknown_entry',
        `entry ${index} is not in the tree of ${checkpoint.size}`,
      );
    const [row] = await readAuditRange(this.deps.pool, index, index + 1);
    return {
      index,
      tree_size: checkpoint.size,
      entry: row!.entry,
      leaf_hash: hex(auditLeafHash(row!.entry)),
      proof: this.tree.inclusionProof(index, checkpoint.size).map(hex),
      checkpoint,
    };
  }

  /** Proof that the tree of `fromSize` entries is a prefix of the tree of `toSize`. */
  async consistency(fromSize: number, toSize: number): Promise<string[]> {
    const size = await this.sync();
    if (fromSize < 0 || fromSize > toSize || toSize > size)
      throw new AppError('unknown_checkpoint', `no tree sizes ${fromSize} → ${toSize} here`);
    if (fromSize === 0 || fromSize === toSize) return [];
    return this.tree.consistencyProof(fromSize, toSize).map(hex);
  }

  /**
   * Rechecks the whole table from scratch, not from the cached tree: every leaf rehashed, indices
   * dense, and the root at every signed checkpoint. What the next checkpoint would also refuse.
   */
  async verifyIntegrity(): Promise<IntegrityProblem[]> {
    const problems: IntegrityProblem[] = [];
    const fresh = new MemoryTree();
    const head = await auditSize(this.deps.pool);
    for (let from = 0; from < head; from += PAGE) {
      const rows = await readAuditRange(this.deps.pool, from, Math.min(head, from + PAGE));
      for (const row of rows) {
        if (row.idx !== fresh.size) {
          problems.push({ kind: 'gap', index: fresh.size, message: `entry ${fresh.size} missing` });
          return problems;
        }
        const h = auditLeafHash(row.entry);
        if (!h.equals(row.leafHash))
          problems.push({
            kind: 'entry',
            index: row.idx,
            message: `entry ${row.idx} does not hash to its stored leaf hash`,
          });
        fresh.append(h);
      }
    }
    for (const c of await listCheckpoints(this.deps.pool, 1_000_000)) {
      if (c.size > fresh.size) {
        problems.push({ kind: 'checkpoint', size: c.size, message: `log shorter than ${c.size}` });
      } else if (!Buffer.from(fresh.root(c.size)).equals(c.root)) {
        problems.push({
          kind: 'checkpoint',
          size: c.size,
          message: `the first ${c.size} entries no longer hash to the root signed at ${c.at.toISOString()}`,
        });
      }
    }
    if (problems.length > 0)
      await raiseSecurityAlert(this.deps.pool, {
        kind: 'log_tampered',
        partyId: this.deps.partyId,
        detail: { problems: problems.slice(0, 20) },
      });
    return problems;
  }
}
