// Queries read at scrape time for the node's Prometheus gauges (observability/metrics.ts). The
// inbox's backlog is read by inboxBacklog in db/messages.ts, which `/readyz` shares.
import type pg from 'pg';

type Queryable = pg.Pool | pg.PoolClient;

/** One group of the read model: requests of one status and kind at one overdue state and level. */
export interface RequestCountRow {
  status: string;
  kind: string;
  overdue: boolean;
  level: number;
  n: number;
}

/**
 * Counts the requests of the read model by status, request kind, overdue flag and escalation level,
 * in one query so the gauges set from it agree with each other.
 */
export async function requestCounts(db: Queryable): Promise<RequestCountRow[]> {
  const { rows } = await db.query<RequestCountRow>(
    `SELECT status, request_type AS kind, overdue, escalation_level AS level, count(*)::int AS n
     FROM requests GROUP BY status, request_type, overdue, escalation_level`,
  );
  return rows;
}
