// A background job run in passes: every `intervalSeconds` a pass, one at a time among all the
// node's processes (a session advisory lock of its own: a process that finds it held skips its
// turn), and passes asked for now (tests, admin routes), which wait for the lock. A failed pass is
// logged and the next one runs as usual. The retention sweep and the mediator's watch run this way.
import type pg from 'pg';
import type { Logger } from 'pino';
import { withSessionLock } from '../db/singleton.js';

export interface PassLoop<R> {
  /** One pass now, as of `now` when given; resolves to `idle` when another process held the lock. */
  run(now?: Date): Promise<R>;
  /** Stops the loop; resolves when the pass under way (if any) has finished. */
  stop(): Promise<void>;
}

export function startPassLoop<R>(o: {
  pool: pg.Pool;
  lock: number;
  /** Seconds between passes; 0: no loop (passes only when `run` is called). */
  intervalSeconds: number;
  log: Logger;
  /** What the job is, for the log: "retention sweep". */
  what: string;
  pass: (now?: Date) => Promise<R>;
  /** The result of a pass that did not run. */
  idle: R;
}): PassLoop<R> {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  /** A tick's pass has not finished: the next tick skips its turn rather than queue behind it. */
  let ticking = false;
  const timer =
    o.intervalSeconds > 0
      ? setInterval(() => {
          if (stopped || ticking) return;
          ticking = true;
          running = running
            .then(() => withSessionLock(o.pool, o.lock, () => o.pass()))
            .catch((err: unknown) =>
              o.log.warn(
                { errName: (err as Error).name, msg: (err as Error).message },
                `${o.what} failed; trying again at the next pass`,
              ),
            )
            .finally(() => (ticking = false));
        }, o.intervalSeconds * 1000)
      : undefined;
  timer?.unref();
  return {
    run: (now) => {
      const pass = running
        .then(() => withSessionLock(o.pool, o.lock, () => o.pass(now), { wait: true }))
        .then((r) => (r.held ? r.value : o.idle));
      running = pass.catch(() => undefined);
      return pass;
    },
    stop: async () => {
      stopped = true;
      if (timer) clearInterval(timer);
      await running.catch(() => undefined);
    },
  };
}
