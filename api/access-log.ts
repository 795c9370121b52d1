// The read audit over HTTP: `recordReads`, which every route that answers with request content
// awaits before it answers, and the admins' listing `GET /v1/admin/access-log`.
//
// A read of content is recorded BEFORE its answer is sent, in the same request: a 2xx with content
// therefore always has its record, and when the record cannot be stored the caller gets the
// error (503 unavailable) instead of the data. This costs one single-row INSERT on the request's
// path (no lock shared with other writers, not the audit log's append lock), read from the same
// Postgres the data just came from: if it cannot take the insert, it could not serve the read.
import type { Router } from 'express';
import { type Request } from 'express';
import type pg from 'pg';
import { insertAccessReads, listAccessReads } from '../db/access-log.js';
import type { ContentPart, PolicyRoute } from '../domain/access-policy.js';
import { AccessLogQuery, type AccessLogPage } from '../schemas/access-log-api.js';
import { principalOf, type Authenticator } from './auth.js';
import { parseOrThrow } from './problem.js';
import { DeclaredRouter } from './routes.js';

/** What one answer read: the request (null: none in particular), the parts, the item by id. */
export interface ContentRead {
  reqId: string | null;
  parts: readonly ContentPart[];
  ref?: string | null;
}

/**
 * Records that the authenticated caller of `req` read `reads` through `route`, and resolves once
 * the records are stored. Reads with no parts are not content and are not recorded.
 */
export async function recordReads(
  pool: pg.Pool,
  req: Request,
  route: PolicyRoute,
  reads: readonly ContentRead[],
): Promise<void> {
  const { sub, roles } = principalOf(req);
  await insertAccessReads(
    pool,
    reads
      .filter((r) => r.parts.length > 0)
      .map((r) => ({ sub, roles, route, reqId: r.reqId, parts: r.parts, ref: r.ref ?? null })),
  );
}

export function accessLogRouter(deps: { pool: pg.Pool; auth: Authenticator }): Router {
  const declared = new DeclaredRouter('', deps.auth);
  const router = declared.router;
  declared.route('listAccessLog', async (req, res) => {
    const q = parseOrThrow(AccessLogQuery, req.query, 'the query');
    const rows = await listAccessReads(deps.pool, {
      reqId: q.request,
      sub: q.subject,
      route: q.route,
      since: q.since,
      until: q.until,
      beforeId: q.cursor,
      limit: q.limit,
    });
    const items = rows
      .slice(0, q.limit)
      .map((r) => ({ ...r, roles: [...r.roles], parts: [...r.parts] }));
    const body: AccessLogPage = {
      items,
      nextCursor: rows.length > q.limit ? (items.at(-1)?.id ?? null) : null,
    };
    res.set('cache-control', 'no-store').json(body);
  });
  return router;
}
