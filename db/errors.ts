// What a database error means for the caller: the server cannot be reached right now (answer 503,
// retry later), or the data itself is refused (a retry of the same write fails the same way).
// Judged by SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html) and by the
// errors node and pg raise when a connection fails, never by message text alone.

/** How many `cause` links (and AggregateError members) are followed looking for the reason. */
const MAX_CAUSES = 5;

/** SQLSTATEs that say the server is going away or not taking connections: retry elsewhere or later. */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown: the backend was terminated (pg_terminate_backend, fast shutdown)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, shutting down, in recovery
  '53300', // too_many_connections
]);

/** Errors of node's sockets that mean the server was not reached or the connection broke. */
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** What pg and pg-pool throw, without a code, when a connection ends or cannot be had in time. */
const UNAVAILABLE_PG_MESSAGES = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
  /^Cannot use a pool after calling end on the pool/,
];

/** The error, its causes and the members of an AggregateError, breadth first, a few deep. */
function* reasons(err: unknown): Generator<{ code?: unknown; message?: unknown }, void> {
  let level: unknown[] = [err];
  for (let depth = 0; depth <= MAX_CAUSES && level.length > 0; depth++) {
    const next: unknown[] = [];
    for (const e of level) {
      if (e === null || typeof e !== 'object') continue;
      yield e;
      if ('cause' in e) next.push(e.cause);
      if (e instanceof AggregateError) next.push(...(e.errors as unknown[]));
    }
    level = next;
  }
}

/** A SQLSTATE: five digits or upper-case letters (node's own codes are longer, `ECONNREFUSED`). */
function sqlState(e: { code?: unknown }): string | undefined {
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
}

/**
 * Whether the database could not be reached or is going away: SQLSTATE class 08 (connection
 * exception), 57P01–57P03 (shutdown, crash, cannot connect now), 53300 (too many connections),
 * a refused, reset or timed-out socket, or pg's "Connection terminated". Such a call may succeed
 * when retried later; callers answer 503.
 */
export function isUnavailableError(err: unknown): boolean {
  for (const e of reasons(err)) {
    const state = sqlState(e);
    if (state && (state.startsWith('08') || UNAVAILABLE_SQLSTATES.has(state))) return true;
    if (typeof e.code === 'string' && UNAVAILABLE_SOCKET_CODES.has(e.code)) return true;
    const message = e.message;
    if (typeof message === 'string' && UNAVAILABLE_PG_MESSAGES.some((m) => m.test(message)))
      return true;
  }
  return false;
}

/**
 * Whether Postgres refused the data itself, so the same statement with the same values can never
 * succeed: class 22 (data exception: 22021 character_not_in_repertoire, 22P05
 * untranslatable_character, 22001 string too long…), 23514 check_violation, class 54 (program
 * limit exceeded: 54000 a value too large to index…). A retry would only repeat the failure.
 */
export function isPermanentDataError(err: unknown): boolean {
  for (const e of reasons(err)) {
    const state = sqlState(e);
    if (state && (state.startsWith('22') || state === '23514' || state.startsWith('54')))
      return true;
  }
  return false;
}
