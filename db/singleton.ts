// Jobs that must run on one process at a time among all the processes (replicas, `parley api` and
// `parley start`) of a node on one database: each holds a Postgres session advisory lock of its own
// while it runs. The one-bigint keys sit beside the migrations' (7302114), the relay's (7302115)
// and the audit integrator's (7302130, a transaction lock).
import type pg from 'pg';

/** The retention sweep's pass (node/retention-sweep.ts). */
export const RETENTION_SWEEP_LOCK = 7_302_117;
/** A witness round: showing the newest checkpoint to the partners (audit/witness.ts). */
export const WITNESS_LOCK = 7_302_118;
/** A mediator's watch over the requests it relays (node/mediator-watch.ts). */
export const MEDIATOR_WATCH_LOCK = 7_302_119;

/**
 * Runs `fn` holding the session advisory lock `key` on a connection of its own, released when `fn`
 * settles (or with the session, when the connection is lost). Without `wait`, returns
 * `{ held: false }` at once when another process holds it; with `wait`, waits for it. A pool of one
 * connection (embedded PGlite, whose process is the only one on its database) cannot hold it while
 * `fn` queries, so there `fn` runs without it.
 */
export async function withSessionLock<T>(
  pool: pg.Pool,
  key: number,
  fn: () => Promise<T>,
  opts: { wait?: boolean } = {},
): Promise<{ held: true; value: T } | { held: false }> {
  if ((pool.options.max ?? 10) < 2) return { held: true, value: await fn() };
  const client = await pool.connect();
  let broken: Error | undefined;
  // The session is held while `fn` runs: a connection lost meanwhile must not end the process.
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  try {
    if (opts.wait) await client.query('SELECT pg_advisory_lock($1)', [key]);
    else {
      const { rows } = await client.query<{ held: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS held',
        [key],
      );
      if (!rows[0]?.held) return { held: false };
    }
    try {
      return { held: true, value: await fn() };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [key]).catch((err: unknown) => {
        // Closing the session is the other way to let the lock go.
        broken = err as Error;
      });
    }
  } catch (err) {
    broken ??= err as Error;
    throw err;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
