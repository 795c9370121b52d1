// Runs a unit of work in one transaction on one pooled connection: committed whole or not at all.
import type pg from 'pg';

export async function withTransaction<T>(
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
