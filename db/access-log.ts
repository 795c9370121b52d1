// Queries of the read audit (migration 0015): record reads of request content, list them for
// admins, and the requests a file belongs to (which decides who may read it). Ids only.
import type pg from 'pg';
import type { RequestType } from '../schemas/common.js';

/** One read of request content, as recorded: who, how, which request and parts, never the data. */
export interface AccessRead {
  sub: string;
  roles: readonly string[];
  route: string;
  reqId: string | null;
  parts: readonly string[];
  ref: string | null;
}

export interface AccessLogRow extends AccessRead {
  id: string;
  at: string;
}

/** Records reads in one statement (one row each); resolves once they are stored. */
export async function insertAccessReads(
  pool: pg.Pool,
  reads: readonly AccessRead[],
): Promise<void> {
  if (reads.length === 0) return;
  // Arrays of arrays do not unnest into rows of arrays; the parts and roles travel as JSON.
  await pool.query(
    `INSERT INTO access_log (sub, roles, route, req_id, parts, ref)
     SELECT r.sub, ARRAY(SELECT jsonb_array_elements_text(r.roles)), r.route, r.req_id,
            ARRAY(SELECT jsonb_array_elements_text(r.parts)), r.ref
     FROM jsonb_to_recordset($1::jsonb)
       AS r(sub text, roles jsonb, route text, req_id text, parts jsonb, ref text)`,
    [
      JSON.stringify(
        reads.map((r) => ({
          sub: r.sub,
          roles: r.roles,
          route: r.route,
          req_id: r.reqId,
          parts: r.parts,
          ref: r.ref,
        })),
      ),
    ],
  );
}

export interface AccessLogFilter {
  reqId?: string | undefined;
  sub?: string | undefined;
  route?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  /** Only rows older than this id (the previous page's last). */
  beforeId?: string | undefined;
  limit: number;
}

/** Reads, newest first, matching every filter given; `limit + 1` rows tell if a page follows. */
export async function listAccessReads(pool: pg.Pool, f: AccessLogFilter): Promise<AccessLogRow[]> {
  const { rows } = await pool.query<{
    id: string;
    at: Date;
    sub: string;
    roles: string[];
    route: string;
    req_id: string | null;
    parts: string[];
    ref: string | null;
  }>(
    `SELECT id::text AS id, at, sub, roles, route, req_id, parts, ref FROM access_log
     WHERE ($1::text IS NULL OR req_id = $1)
       AND ($2::text IS NULL OR sub = $2)
       AND ($3::text IS NULL OR route = $3)
       AND ($4::timestamptz IS NULL OR at >= $4)
       AND ($5::timestamptz IS NULL OR at < $5)
       AND ($6::bigint IS NULL OR id < $6)
     ORDER BY access_log.id DESC
     LIMIT $7`,
    [
      f.reqId ?? null,
      f.sub ?? null,
      f.route ?? null,
      f.since ?? null,
      f.until ?? null,
      f.beforeId ?? null,
      f.limit + 1,
    ],
  );
  return rows.map((r) => ({
    id: r.id,
    at: r.at.toISOString(),
    sub: r.sub,
    roles: r.roles,
    route: r.route,
    reqId: r.req_id,
    parts: r.parts,
    ref: r.ref,
  }));
}

/**
 * The requests whose stored messages, received or sent, name the attachment: each request id with
 * its type, or without one when this node holds no such request (yet: a held message of a request
 * not recorded here).
 */
export async function requestsNamingAttachment(
  pool: pg.Pool,
  sha256: string,
): Promise<{ reqId: string | null; type: RequestType | undefined }[]> {
  const { rows } = await pool.query<{ req_id: string | null; request_type: RequestType | null }>(
    `SELECT DISTINCT m.req_id, r.request_type FROM (
       SELECT req_id FROM inbox_messages WHERE payload -> 'attachments' @> $1::jsonb
       UNION
       SELECT req_id FROM outbox_messages WHERE payload -> 'attachments' @> $1::jsonb
     ) m LEFT JOIN requests r ON r.req_id = m.req_id
     ORDER BY m.req_id`,
    [JSON.stringify([{ sha256 }])],
  );
  return rows.map((r) => ({ reqId: r.req_id, type: r.request_type ?? undefined }));
}

/** The type of a request, or undefined when this node holds no such request. */
export async function requestTypeOf(
  pool: pg.Pool,
  reqId: string,
): Promise<RequestType | undefined> {
  const { rows } = await pool.query<{ request_type: RequestType }>(
    'SELECT request_type FROM requests WHERE req_id = $1',
    [reqId],
  );
  return rows[0]?.request_type;
}
