// The clarification and extension events of listed requests, for who owes their next step
// (domain/allowed-actions.ts `loopStateOf`): one query for a page of the officers' list, on the
// primary key of request_events (req_id, seq).
import type pg from 'pg';
import { LOOP_EVENT_TYPES } from '../domain/allowed-actions.js';

/** Per request id: the types of its loop events, oldest first (absent: none). */
export async function loopEventTypes(
  pool: pg.Pool,
  reqIds: readonly string[],
): Promise<Map<string, string[]>> {
  if (reqIds.length === 0) return new Map();
  const { rows } = await pool.query<{ req_id: string; types: string[] }>(
    `SELECT req_id, array_agg(type ORDER BY seq) AS types FROM request_events
      WHERE req_id = ANY($1::text[]) AND type = ANY($2::text[])
      GROUP BY req_id`,
    [reqIds, LOOP_EVENT_TYPES],
  );
  return new Map(rows.map((r) => [r.req_id, r.types]));
}
