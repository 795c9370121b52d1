// The retention sweep: every RETENTION_SWEEP_SECONDS, erases the requests whose retention (the
// policy's `retention`, per request type, from the request's end) has passed, and finishes any
// erasure a crash left half done. The clock is injectable, so tests drive it without waiting.
// Every process of a node may run the loop: one pass at a time runs, among all of them (its
// advisory lock); a process that finds it held skips its turn.
import type { Logger } from 'pino';
import { dueForErasure } from '../db/erasure.js';
import { RETENTION_SWEEP_LOCK } from '../db/singleton.js';
import { eraseRequest, retentionOf, type ErasureDeps } from '../domain/erasure.js';
import { isAppError } from '../errors.js';
import type { DeadlinePolicy } from '../schemas/policy.js';
import { startPassLoop } from './pass-loop.js';

/** Requests one pass erases at most; the rest waits for the next pass. */
const BATCH = 100;

export interface SweepResult {
  erased: string[];
  /** Requests left for a later pass, with the code that stopped them (e.g. request_open). */
  skipped: { id: string; code: string }[];
}

export interface RetentionSweep {
  /** One pass as of `now` (default: the sweep's clock). */
  sweep(now?: Date): Promise<SweepResult>;
  /** Stops the loop; resolves when the pass under way (if any) has finished. */
  stop(): Promise<void>;
}

export function startRetentionSweep(o: {
  deps: ErasureDeps;
  policy: DeadlinePolicy;
  /** Seconds between passes; 0: no loop (passes only when `sweep` is called). */
  intervalSeconds: number;
  log: Logger;
  now?: () => Date;
}): RetentionSweep {
  const clock = o.now ?? (() => new Date());
  const rules = retentionOf(o.policy);
  const kept = rules.filter((r) => r.afterClosure === null && r.afterOtherEnd === null);
  if (kept.length)
    o.log.info(
      { types: kept.map((r) => r.requestType) },
      'no retention set for these request types: their requests are kept until an admin erases them',
    );

  const sweep = async (now = clock()): Promise<SweepResult> => {
    const result: SweepResult = { erased: [], skipped: [] };
    for (const id of await dueForErasure(o.deps.pool, rules, now, BATCH)) {
      try {
        await eraseRequest(o.deps, id, { trigger: 'retention', actor: null });
        result.erased.push(id);
      } catch (err) {
        if (!isAppError(err)) throw err;
        result.skipped.push({ id, code: err.code });
      }
    }
    if (result.erased.length || result.skipped.length)
      o.log.info(
        { erased: result.erased.length, skipped: result.skipped.length },
        'retention sweep',
      );
    return result;
  };

  const loop = startPassLoop({
    pool: o.deps.pool,
    lock: RETENTION_SWEEP_LOCK,
    intervalSeconds: o.intervalSeconds,
    log: o.log,
    what: 'retention sweep',
    pass: (now?: Date) => sweep(now),
    idle: { erased: [], skipped: [] },
  });
  return { sweep: (now) => loop.run(now), stop: () => loop.stop() };
}
