// Runs a unit of work in one transaction on one pooled connection: committed whole or not at all.
import type pg from 'pg';

/**
 * SQLSTATEs after which the same transaction may simply be run again: 40P01 (deadlock detected:
 * Postgres aborted this one of two transactions waiting on each other) and 40001 (serialization
 * failure).
 */
const RETRY_SQLSTATES = new Set(['40P01', '40001']);
/** Runs of a transaction aborted that way before its error is the caller's. */
const MAX_RUNS = 3;

/**
 * Runs `fn` in a transaction; run again (at most MAX_RUNS times) when Postgres aborted it for a
 * deadlock or a serialization failure, so `fn` must do nothing outside the database that a
 * second run would repeat.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  for (let run = 1; ; run++) {
    try {
      return await runTransaction(pool, fn);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (run >= MAX_RUNS || typeof code !== 'string' || !RETRY_SQLSTATES.has(code)) throw err;
    }
  }
}

async function runTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  // A connection lost while checked out (the server shut down, the network cut) makes the client
  // emit 'error' besides failing the query under way; unheard, that event would end the process.
  // The query's own failure is what the caller gets; the broken connection is discarded below.
  let lost: Error | undefined;
  const onError = (err: Error) => {
    lost = err;
  };
  client.on('error', onError);
  let failed: unknown;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    failed = err;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.off('error', onError);
    // A connection that failed mid-transaction may be unusable: the pool replaces it.
    client.release(
      lost ?? (failed instanceof Error && isConnectionError(failed) ? failed : undefined),
    );
  }
}

/** Whether `err` says the connection itself failed (not the statement). */
function isConnectionError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return (
    (typeof code === 'string' && (code.startsWith('08') || code.startsWith('57P'))) ||
    err.message.includes('Connection terminated')
  );
}
