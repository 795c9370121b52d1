// The audit log's integrator loop: every few hundred milliseconds it gives the entries writers
// staged (db/audit.ts appendAudit) their indices, in batches, reads them into the tree, signs a
// checkpoint when enough entries or time have gone by, and shows the newest checkpoint to the
// partners. Any number of processes may run it against one database: the integrator's advisory
// lock lets exactly one integrate or sign at a time, the others skip their turn.
import type pg from 'pg';
import type { Logger } from 'pino';
import { auditPending, latestCheckpoint } from '../db/audit.js';
import type { AuditLog } from './service.js';

export interface IntegratorOptions {
  audit: AuditLog;
  pool: pg.Pool;
  /** Shows the newest checkpoint to the partners (audit/witness.ts requestCosignatures). */
  witness: (size: number) => Promise<void>;
  /** Milliseconds between two integrations (AUDIT_INTEGRATE_MS). */
  integrateMs: number;
  /** A checkpoint after this many new entries (AUDIT_CHECKPOINT_ENTRIES) … */
  checkpointEntries: number;
  /** … or after this many seconds with new entries (AUDIT_CHECKPOINT_SECONDS). */
  checkpointSeconds: number;
  log: Logger;
}

export interface Integrator {
  /** Resolves after the pass under way (if any) has finished; no pass starts after it. */
  stop: () => Promise<void>;
}

/**
 * Starts the loop. Checks the whole log once first: a row changed while the node was down shows
 * before anything new is integrated or signed.
 */
export function startAuditIntegrator(o: IntegratorOptions): Integrator {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastWitnessAt = 0;

  const pass = async () => {
    // Idle, a pass costs three small reads: anything pending, the log's size, the newest checkpoint.
    const size = (await auditPending(o.pool))
      ? await o.audit.integrate(false)
      : await o.audit.sync();
    const last = await latestCheckpoint(o.pool);
    const lastSize = last?.size ?? 0;
    const age = last ? (Date.now() - last.at.getTime()) / 1000 : Infinity;
    let made = false;
    if (size > lastSize && (size - lastSize >= o.checkpointEntries || age >= o.checkpointSeconds)) {
      await o.audit.checkpoint();
      made = true;
    }
    if (made || Date.now() - lastWitnessAt >= o.checkpointSeconds * 1000) {
      lastWitnessAt = Date.now();
      await o.witness(0);
    }
  };

  // One pass at a time, the next `integrateMs` after the previous ended: a slow pass (a partner
  // slow to countersign) delays the next instead of piling passes up.
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = pass()
        .catch((err: unknown) =>
          o.log.warn({ msg: (err as Error).message }, 'audit integration failed; trying again'),
        )
        .finally(schedule);
    }, o.integrateMs);
    timer.unref();
  };

  let running: Promise<void> = o.audit
    .verifyIntegrity()
    .then(
      (problems) => {
        if (problems.length)
          o.log.error({ alert: 'log_tampered', problems: problems.length }, 'audit log altered');
      },
      (err: unknown) => o.log.warn({ msg: (err as Error).message }, 'audit log check failed'),
    )
    .finally(schedule);

  return {
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      // `running` may be replaced by a pass that starts while the one awaited here ends.
      let seen: Promise<void> | undefined;
      while (seen !== running) {
        seen = running;
        await seen.catch(() => undefined);
      }
    },
  };
}
