// Supervisors' read routes: every request at a glance (filtered list with cursor pages), the
// summary figures, and one request's timeline. Read-only, from the Postgres read model; no
// subject text or creator, since the subject may hold personal data.
import crypto from 'node:crypto';
import type { Router } from 'express';
import type pg from 'pg';
import { z } from 'zod';
import {
  computeSummary,
  getSupervisorTimeline,
  listForSupervisor,
  type Keyset,
  type ListOptions,
} from '../db/supervisor.js';
import { AppError } from '../errors.js';
import { canonicalJson } from '../protocol/canonical-json.js';
import { Ulid } from '../schemas/common.js';
import {
  RequestIdParams,
  SupervisorListQuery,
  type SortOrder,
  type SupervisorRequestPage,
  type SupervisorSort,
  type SupervisorSummary,
  type SupervisorTimeline,
} from '../schemas/supervisor-api.js';
import { type Authenticator } from './auth.js';
import { parseOrThrow } from './problem.js';
import { DeclaredRouter } from './routes.js';

export interface SupervisorDeps {
  pool: pg.Pool;
  auth: Authenticator;
  /** How long a computed summary is served before it is recomputed (default 5 s). */
  summaryFreshMs?: number;
  /** Past this age a summary is not served at all: callers wait for a new one (default 30 s). */
  summaryMaxAgeMs?: number;
}

/** What a cursor holds: where the page ends, and which query it belongs to. */
const CursorState = z.strictObject({
  v: z.literal(1),
  sort: z.enum(['created_at', 'response_due_at', 'updated_at']),
  order: z.enum(['asc', 'desc']),
  /** The sort key as Postgres printed it (full microsecond precision), or `infinity`. */
  key: z
    .string()
    .regex(/^(infinity|\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2})$/),
  id: Ulid,
  /** Digest of the filters: a cursor is only good for the query that produced it. */
  q: z.string().regex(/^[0-9a-f]{16}$/),
});
type CursorState = z.infer<typeof CursorState>;

const filterDigest = (filters: Record<string, unknown>) =>
  crypto.createHash('sha256').update(canonicalJson(filters)).digest('hex').slice(0, 16);

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decodeCursor(
  cursor: string,
  expect: { sort: SupervisorSort; order: SortOrder; q: string },
): Keyset {
  const bad = (message: string) =>
    new AppError('schema_invalid', 'the query does not match the schema', [
      { path: '/cursor', message },
    ]);
  let state: CursorState;
  try {
    state = CursorState.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw bad('not a cursor this API issued');
  }
  if (state.sort !== expect.sort || state.order !== expect.order || state.q !== expect.q)
    throw bad('the cursor belongs to another query: keep the filters and sort of the first page');
  return { key: state.key, id: state.id };
}

/**
 * The summary reads every request and reply, so it is computed at most once per `freshMs` (one
 * computation at a time, shared by all callers) and served from memory in between; an older one is
 * served while the next is computed, up to `maxAgeMs`. Figures are at most about `freshMs` plus
 * one computation old, and say when they were computed (`asOf`).
 */
export function summaryCache(
  compute: () => Promise<SupervisorSummary>,
  opts: { freshMs: number; maxAgeMs: number },
) {
  let current: { value: SupervisorSummary; at: number } | undefined;
  let running: Promise<SupervisorSummary> | undefined;
  const refresh = () =>
    (running ??= (async () => {
      const at = Date.now();
      try {
        const value = await compute();
        current = { value, at };
        return value;
      } finally {
        running = undefined;
      }
    })());
  return async (): Promise<SupervisorSummary> => {
    const age = current ? Date.now() - current.at : Infinity;
    if (current && age < opts.freshMs) return current.value;
    if (current && age < opts.maxAgeMs) {
      refresh().catch(() => undefined); // a failed refresh leaves the last figures; next call retries
      return current.value;
    }
    return refresh();
  };
}

/**
 * Reads the list's query string: the list options (cursor decoded and checked against the query)
 * and how to write the cursor of the page after a given row.
 */
export function parseListQuery(query: unknown): {
  options: ListOptions;
  page: (next: Keyset) => string;
} {
  const {
    sort,
    order: givenOrder,
    limit,
    cursor,
    ...filters
  } = parseOrThrow(SupervisorListQuery, query, 'the query');
  const order = givenOrder ?? (sort === 'response_due_at' ? 'asc' : 'desc');
  // The digest of the filters only when a cursor is read or written (not on a last page).
  let digest: string | undefined;
  const q = () => (digest ??= filterDigest(filters));
  const after = cursor === undefined ? undefined : decodeCursor(cursor, { sort, order, q: q() });
  return {
    options: { filters, sort, order, limit, after },
    page: (next) => encodeCursor({ v: 1, sort, order, ...next, q: q() }),
  };
}

export function supervisorRouter(deps: SupervisorDeps): Router {
  const declared = new DeclaredRouter('/v1/supervisor', deps.auth);
  const router = declared.router;
  const summary = summaryCache(() => computeSummary(deps.pool), {
    freshMs: deps.summaryFreshMs ?? 5000,
    maxAgeMs: deps.summaryMaxAgeMs ?? 30_000,
  });

  declared.route('supervisorListRequests', async (req, res) => {
    const { options, page } = parseListQuery(req.query);
    const found = await listForSupervisor(deps.pool, options);
    const body: SupervisorRequestPage = {
      items: found.items,
      nextCursor: found.next ? page(found.next) : null,
    };
    // Written as is: res.json would also hash the body for an ETag on every call, and a list
    // that changes with every request's step gains little from conditional GETs.
    const text = JSON.stringify(body);
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.setHeader('content-length', Buffer.byteLength(text));
    res.end(text);
  });

  declared.route('supervisorSummary', async (req, res) => {
    parseOrThrow(z.strictObject({}), req.query, 'the query');
    res.json(await summary());
  });

  declared.route('supervisorTimeline', async (req, res) => {
    const { id } = parseOrThrow(RequestIdParams, { id: req.params.id }, 'the path');
    // The request and its events from one snapshot: never an event beside the state before it.
    const body: SupervisorTimeline | undefined = await getSupervisorTimeline(deps.pool, id);
    if (!body) throw new AppError('unknown_request', 'no request with that id on this node');
    res.json(body);
  });

  return router;
}
