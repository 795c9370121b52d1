// The readiness check's question to Postgres (api/health.ts).
import type pg from 'pg';

/** Resolves once Postgres answered a trivial query on a pooled connection. */
export async function ping(pool: pg.Pool): Promise<void> {
  await pool.query('SELECT 1');
}
