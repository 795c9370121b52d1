// Proofs of a set of this node's log entries for a reader outside it: a fresh checkpoint covering
// them, shown to the witnesses first, and each entry with its inclusion proof in the checkpoint the
// most of those witnesses have countersigned. The evidence bundle proves a request's entries this
// way, and a mediator proves the entries of what it relayed (`POST /v1/relayed/proofs`).
import type pg from 'pg';
import { bestCosignedFrom, cosignaturesOf, getCheckpoint } from '../db/audit.js';
import type { LogProofs } from '../schemas/evidence.js';
import type { AuditLog } from './service.js';

export interface ProofDeps {
  pool: pg.Pool;
  audit: AuditLog;
  /** Asks partners to countersign a checkpoint before its proofs are handed out. */
  witness?: (checkpointSize: number) => Promise<void>;
}

/**
 * Proves the entries `indicesOf` finds (asked once the log holds everything written so far) in a
 * checkpoint countersigned by as many of `witnesses` as possible, with their cosignatures.
 *
 * A witness never countersigns a smaller tree after a larger one, so when one has countersigned a
 * newer checkpoint than the fresh one, that newer checkpoint is used: it covers the same entries.
 */
export async function proveEntries(
  deps: ProofDeps,
  witnesses: readonly string[],
  indicesOf: () => Promise<number[]>,
): Promise<LogProofs> {
  let checkpoint = await deps.audit.checkpoint();
  if (deps.witness) {
    await deps.witness(checkpoint.size).catch(() => undefined);
    const best = await bestCosignedFrom(deps.pool, checkpoint.size, witnesses);
    const cosigned = best ? await getCheckpoint(deps.pool, best.size) : undefined;
    if (cosigned) checkpoint = cosigned;
  }
  const indices = (await indicesOf()).filter((i) => i < checkpoint.size);
  const entries: LogProofs['entries'] = [];
  for (const index of indices) {
    const proof = await deps.audit.inclusion(index, checkpoint.size);
    entries.push({ index, entry: proof.entry, proof: proof.proof });
  }
  const cosignatures = (await cosignaturesOf(deps.pool, [checkpoint.size]))
    .filter((c) => witnesses.includes(c.witness))
    .map((c) => c.token);
  return { checkpoint: { token: checkpoint.token, cosignatures }, entries };
}
