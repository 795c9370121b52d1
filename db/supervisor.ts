// Supervisors' queries on the request read model: a filtered, keyset-paginated list, the summary
// figures, and one request with its timeline. Values only as $n parameters; the few identifiers that vary
// (sort key, direction) come from closed lists. Indexes: db/migrations/0005_read_indexes.sql.
import type pg from 'pg';
import type { Direction, Priority, RequestStatus, RequestType } from '../schemas/common.js';
import type { PartnerRefusal } from '../schemas/requests-api.js';
import type {
  DurationStats,
  OnTimeStats,
  SortOrder,
  SupervisorFilters,
  SupervisorRequestItem,
  SupervisorSort,
  SupervisorSummary,
  SupervisorTimeline,
} from '../schemas/supervisor-api.js';
import { nextStep, type NextStep } from '../domain/next-step.js';
import { RequestStatus as Statuses, RequestType as Types } from '../schemas/common.js';
import { getTimeline, refusalOfRow } from './requests.js';
import { withTransaction } from './transaction.js';

/** A position in a sorted list: the sort key (as Postgres prints it) and the id that breaks ties. */
export interface Keyset {
  key: string;
  id: string;
}

export interface ListOptions {
  filters: SupervisorFilters;
  sort: SupervisorSort;
  order: SortOrder;
  limit: number;
  after?: Keyset | undefined;
}

/** One SQL statement with its parameters, as pg takes it. */
export interface Statement {
  text: string;
  values: unknown[];
}

/**
 * The sort key of each sort. A request has no response deadline until the responder received it:
 * it sorts as if due at infinity (last ascending, first descending), so the key is never NULL and
 * one expression index serves both orders.
 */
const SORT_KEYS: Record<SupervisorSort, string> = {
  // Qualified: the output columns of the same names are formatted text.
  created_at: 'requests.created_at',
  updated_at: 'requests.updated_at',
  response_due_at: "COALESCE(requests.response_due_at, 'infinity'::timestamptz)",
};

/** Statuses in which a deadline still binds (see workflows/request-lifecycle.ts `binding`). */
export const OPEN_STATUSES: readonly RequestStatus[] = [
  'delivered',
  'acknowledged',
  'partially_answered',
];

const ITEM_FIELDS = [
  'req_id',
  'workflow_id',
  'direction',
  'request_type',
  'counterparty',
  'priority',
  'status',
  'overdue',
  'escalation_level',
  'partner_refusal',
  'requester',
  'responder',
] as const;
const ITEM_INSTANTS = [
  'receipt_at',
  'ack_due_at',
  'response_due_at',
  'created_at',
  'updated_at',
] as const;

/**
 * An instant as the API shows it (ISO 8601 in UTC, milliseconds, like Date#toISOString), formatted
 * by Postgres: cheaper than parsing into a Date and printing it again, row after row.
 */
const iso = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Our messages about the request the partner has not accepted yet (pending in the outbox): how
 * many, and since when the oldest waits. Receipts are not messages about the request's state.
 */
const undeliveredOf = (reqId: string) =>
  `(SELECT count(*)::int FROM outbox_messages o
     WHERE o.req_id = ${reqId} AND o.status = 'pending' AND o.kind <> 'receipt') AS undelivered_count,
   (SELECT ${iso('min(o.created_at)')} FROM outbox_messages o
     WHERE o.req_id = ${reqId} AND o.status = 'pending' AND o.kind <> 'receipt') AS undelivered_since`;

/** The timeline events that open and close the loops a next step depends on. */
const LOOP_EVENTS = [
  'ask_clarification',
  'answer_clarification',
  'request_extension',
  'decide_extension',
] as const;
type LoopEvent = (typeof LOOP_EVENTS)[number];

/**
 * The clarification and extension events of a request, newest first (both sides' steps are on the
 * timeline): the latest of ask/answer says whether a question is open, of request/decide whether
 * an extension waits. Read only where a next step can depend on them (not before delivery, not
 * after the end), in one scan of the primary key (req_id, seq).
 */
const loopEventsOf = (reqId: string, status: string) =>
  `CASE WHEN ${status} IN ('delivered', 'acknowledged', 'partially_answered', 'answered')
     THEN ARRAY(SELECT e.type FROM request_events e
       WHERE e.req_id = ${reqId} AND e.type IN (${LOOP_EVENTS.map((t) => `'${t}'`).join(', ')})
       ORDER BY e.seq DESC)
     ELSE '{}'::text[] END`;

/** Whether the latest of `open` and `close` among the events (newest first) is `open`. */
const isOpen = (events: readonly string[], open: LoopEvent, close: LoopEvent) =>
  events.find((t) => t === open || t === close) === open;

/** The response clock stands still (an open question stops it), as the workflow last wrote it. */
const clockStoppedOf = (deadlines: string) =>
  `COALESCE((${deadlines} -> 'response' ->> 'clockStopped')::boolean, false)`;

/** The columns of a list item, of `requests` or of the alias given. */
function itemColumns(alias?: string): string {
  const q = (c: string) => (alias ? `${alias}.${c}` : c);
  const reqId = alias ? `${alias}.req_id` : 'requests.req_id';
  return [
    ...ITEM_FIELDS.map(q),
    ...ITEM_INSTANTS.map((c) => `${iso(q(c))} AS ${c}`),
    undeliveredOf(reqId),
    `${loopEventsOf(reqId, q('status'))} AS loop_events`,
    // Only while the response deadline binds can its clock stand still.
    `(${q('status')} IN ('delivered', 'acknowledged', 'partially_answered')
      AND ${clockStoppedOf(q('deadlines'))}) AS clock_stopped`,
  ].join(', ');
}
const ITEM_COLUMNS = itemColumns();
/** The same columns unformatted (with what the computed ones read). */
const ITEM_ALL = [...ITEM_FIELDS, ...ITEM_INSTANTS, 'deadlines'].join(', ');

interface ItemRow {
  req_id: string;
  workflow_id: string;
  direction: Direction;
  request_type: RequestType;
  counterparty: string;
  priority: Priority;
  status: RequestStatus;
  overdue: boolean;
  escalation_level: number;
  partner_refusal: PartnerRefusal | null;
  requester: string;
  responder: string;
  loop_events: string[];
  clock_stopped: boolean;
  undelivered_count: number;
  undelivered_since: string | null;
  receipt_at: string | null;
  ack_due_at: string | null;
  response_due_at: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * The next step of a row: the action table is consulted once per combination of what it looks at
 * (status, open question, pending extension, direction; a few dozen), not once per row.
 */
const stepsByState = new Map<string, Omit<NextStep, 'party'> | null>();
function nextStepOf(row: ItemRow): NextStep | null {
  const openClarification = isOpen(row.loop_events, 'ask_clarification', 'answer_clarification');
  const pendingExtension = isOpen(row.loop_events, 'request_extension', 'decide_extension');
  const key = `${row.status}|${row.direction}|${+openClarification}|${+pendingExtension}`;
  let step = stepsByState.get(key);
  if (step === undefined) {
    const found = nextStep({
      status: row.status,
      openClarification,
      pendingExtension,
      direction: row.direction,
      requester: '',
      responder: '',
    });
    step = found && { action: found.action, side: found.side, by: found.by };
    stepsByState.set(key, step);
  }
  return step && { ...step, party: step.side === 'requester' ? row.requester : row.responder };
}

function toItem(row: ItemRow): SupervisorRequestItem {
  return {
    id: row.req_id,
    workflowId: row.workflow_id,
    direction: row.direction,
    type: row.request_type,
    counterparty: row.counterparty,
    priority: row.priority,
    status: row.status,
    overdue: row.overdue,
    escalationLevel: row.escalation_level,
    receiptAt: row.receipt_at,
    ackDueAt: row.ack_due_at,
    responseDueAt: row.response_due_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    partnerRefusal: refusalOfRow(row.partner_refusal),
    undeliveredCount: row.undelivered_count,
    undeliveredSince: row.undelivered_since,
    nextStep: nextStepOf(row),
    clockStopped: row.clock_stopped,
  };
}

/**
 * The list's SQL: every filter given, the keyset condition after `after`, in sort order, one row
 * more than the page so the caller knows whether another page follows. A single value is compared
 * with `=` (an ordered index scan), several with `= ANY`.
 */
export function listStatement(opts: ListOptions): Statement {
  const values: unknown[] = [];
  const param = (v: unknown) => `$${values.push(v)}`;
  const where: string[] = [];
  const anyOf = (column: string, list: readonly string[] | undefined) => {
    if (!list) return;
    const distinct = [...new Set(list)];
    where.push(
      distinct.length === 1
        ? `${column} = ${param(distinct[0])}`
        : `${column} = ANY(${param(distinct)}::text[])`,
    );
  };
  const f = opts.filters;
  anyOf('status', f.status);
  anyOf('request_type', f.kind);
  anyOf('counterparty', f.partner);
  anyOf('priority', f.priority);
  if (f.direction) where.push(`direction = ${param(f.direction)}`);
  if (f.overdue !== undefined) where.push(`overdue = ${param(f.overdue)}`);
  // Refused requests are few: a partial index (migration 0012) serves `true`.
  if (f.refused !== undefined)
    where.push(f.refused ? 'partner_refusal IS NOT NULL' : 'partner_refusal IS NULL');
  // On the sort key of the response deadline, so that one index serves the range and the order;
  // `< infinity` keeps out the requests without a deadline.
  if (f.due_after || f.due_before) {
    const due = SORT_KEYS.response_due_at;
    if (f.due_after) where.push(`${due} >= ${param(f.due_after)}::timestamptz`);
    where.push(
      `${due} < ${f.due_before ? `${param(f.due_before)}::timestamptz` : "'infinity'::timestamptz"}`,
    );
  }
  if (f.created_from) where.push(`created_at >= ${param(f.created_from)}::timestamptz`);
  if (f.created_to) where.push(`created_at < ${param(f.created_to)}::timestamptz`);
  if (f.id_prefix) {
    // A range on the primary key: every id with this prefix lies between the prefix and the
    // prefix padded with the highest Crockford digit.
    where.push(`req_id BETWEEN ${param(f.id_prefix)} AND ${param(f.id_prefix.padEnd(26, 'Z'))}`);
  }
  const key = SORT_KEYS[opts.sort];
  const dir = opts.order === 'asc' ? 'ASC' : 'DESC';
  if (opts.after) {
    const cmp = opts.order === 'asc' ? '>' : '<';
    where.push(
      `(${key}, req_id) ${cmp} (${param(opts.after.key)}::timestamptz, ${param(opts.after.id)})`,
    );
  }
  const text = `SELECT ${ITEM_COLUMNS}, ${key}::text AS sort_key FROM requests
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${key} ${dir}, req_id ${dir}
    LIMIT ${param(opts.limit + 1)}`;
  return { text, values };
}

/** One page of the list, and where the next page starts (undefined on the last page). */
export async function listForSupervisor(
  pool: pg.Pool,
  opts: ListOptions,
): Promise<{ items: SupervisorRequestItem[]; next: Keyset | undefined }> {
  const { rows } = await pool.query<ItemRow & { sort_key: string }>(listStatement(opts));
  const page = rows.slice(0, opts.limit);
  const last = page.at(-1);
  return {
    items: page.map(toItem),
    next: rows.length > opts.limit && last ? { key: last.sort_key, id: last.req_id } : undefined,
  };
}

export async function getSupervisorItem(
  db: pg.Pool | pg.PoolClient,
  reqId: string,
): Promise<SupervisorRequestItem | undefined> {
  const { rows } = await db.query<ItemRow>(
    `SELECT ${ITEM_COLUMNS} FROM requests WHERE req_id = $1`,
    [reqId],
  );
  return rows[0] ? toItem(rows[0]) : undefined;
}

/** A request and its timeline from one snapshot (see getRequestDetail in db/requests.ts). */
export async function getSupervisorTimeline(
  pool: pg.Pool,
  reqId: string,
): Promise<SupervisorTimeline | undefined> {
  return withTransaction(pool, async (client) => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const request = await getSupervisorItem(client, reqId);
    return request && { request, events: await getTimeline(client, reqId) };
  });
}

/** How many of the soonest upcoming deadlines the summary lists, and how far ahead it looks. */
export const UPCOMING_LIMIT = 20;
export const UPCOMING_DAYS = 7;

/** The timeline events that end the wait for an acknowledgement, and the final answer. */
const REPLY_EVENTS = ['acknowledge', 'respond_partial', 'respond_final'];

/** The open statuses as an SQL list, literally, so the partial indexes on them apply. */
const OPEN_LIST = OPEN_STATUSES.map((s) => `'${s}'`).join(', ');

/**
 * The summary's statements from the figures kept as requests change (migration 0019): the counts
 * from `request_counts` (a few hundred rows, up to 16 shards each: migration 0020), the durations and on-time numbers from each request's
 * first reply and first final response (an index-only scan of `requests_timing_idx`), and what
 * depends on `now` (upcoming deadlines, open requests already late) by indexed range queries. The
 * same figures as {@link summaryStatements}, which reads the timeline.
 */
export function aggregateSummaryStatements(
  now: string,
): Record<'counts' | 'overdue' | 'refused' | 'upcoming' | 'timing', Statement> {
  const full = summaryStatements(now);
  return {
    counts: {
      text: `SELECT status, request_type, counterparty, sum(n)::int AS n FROM request_counts
        GROUP BY GROUPING SETS ((status), (request_type), (counterparty)) HAVING sum(n) <> 0`,
      values: [],
    },
    overdue: {
      text: `SELECT overdue_level AS level, sum(n)::int AS n FROM request_counts WHERE overdue
        GROUP BY overdue_level HAVING sum(n) <> 0 ORDER BY overdue_level`,
      values: [],
    },
    refused: {
      text: 'SELECT COALESCE(sum(n), 0)::int AS n FROM request_counts WHERE refused',
      values: [],
    },
    upcoming: full.upcoming,
    timing: {
      // Two aggregates joined on their few groups: the durations in the order of
      // requests_timing_idx (no sort of the rows by group), and the late open requests by the
      // partial index requests_late_open_idx (the conditions are its predicate).
      text: `WITH spans AS (
          SELECT direction, counterparty, request_type,
            count(*)::int AS ack_n,
            percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP
              (ORDER BY extract(epoch FROM first_reply_at - receipt_at)::float8) AS ack_q,
            count(answered_at)::int AS answer_n,
            percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP
              (ORDER BY extract(epoch FROM answered_at - receipt_at)::float8) AS answer_q,
            count(*) FILTER (WHERE answered_at <= response_due_at)::int AS on_time
          FROM requests
          WHERE receipt_at IS NOT NULL AND first_reply_at IS NOT NULL
          GROUP BY direction, counterparty, request_type
        ), late AS (
          SELECT direction, counterparty, request_type, count(*)::int AS late_open
          FROM requests
          WHERE status IN (${OPEN_LIST}) AND answered_at IS NULL
            AND NOT ${clockStoppedOf('deadlines')} AND response_due_at <= $1
          GROUP BY direction, counterparty, request_type
        )
        SELECT direction, counterparty, request_type,
          COALESCE(s.ack_n, 0) AS ack_n, s.ack_q, COALESCE(s.answer_n, 0) AS answer_n, s.answer_q,
          COALESCE(s.on_time, 0) AS on_time, COALESCE(l.late_open, 0) AS late_open
        FROM spans s FULL JOIN late l USING (direction, counterparty, request_type)
        ORDER BY direction, counterparty, request_type`,
      values: [now],
    },
  };
}

/**
 * The summary's statements read from the timeline, all as of `now` (ISO): the full computation
 * the aggregates replace, kept to check them against (test/db/summary-aggregates.test.ts). Time to acknowledge: from the responder's
 * receipt of the request to its first acknowledgement or response; time to answer: to its first
 * final response, which is on time if no later than the response deadline (extensions included).
 * An open request with no final response whose response deadline has passed by `now`, its clock
 * running, is already late (`late_open`): the on-time shares count it as late.
 */
export function summaryStatements(
  now: string,
): Record<'counts' | 'overdue' | 'refused' | 'upcoming' | 'timing', Statement> {
  const until = new Date(Date.parse(now) + UPCOMING_DAYS * 86_400_000).toISOString();
  return {
    counts: {
      text: `SELECT status, request_type, counterparty, count(*)::int AS n FROM requests
        GROUP BY GROUPING SETS ((status), (request_type), (counterparty))`,
      values: [],
    },
    overdue: {
      text: `SELECT escalation_level AS level, count(*)::int AS n FROM requests WHERE overdue
        GROUP BY escalation_level ORDER BY escalation_level`,
      values: [],
    },
    refused: {
      text: 'SELECT count(*)::int AS n FROM requests WHERE partner_refusal IS NOT NULL',
      values: [],
    },
    upcoming: {
      // Both kinds of deadline from `requests` itself; the window counts every deadline in range
      // before the limit keeps the soonest, and only those are formatted.
      text: `SELECT deadline, ${iso('due_at')} AS due_at, total, ${itemColumns('d')}
        FROM (
          SELECT *, count(*) OVER ()::int AS total FROM (
            SELECT 'response' AS deadline, response_due_at AS due_at, ${ITEM_ALL} FROM requests
            WHERE status = ANY($1::text[]) AND response_due_at > $2 AND response_due_at <= $3
            UNION ALL
            SELECT 'acknowledgement', ack_due_at, ${ITEM_ALL} FROM requests
            WHERE status = 'delivered' AND ack_due_at > $2 AND ack_due_at <= $3
          ) due
          ORDER BY due_at, req_id, deadline
          LIMIT $4
        ) d
        ORDER BY d.due_at, d.req_id, d.deadline`,
      values: [OPEN_STATUSES, now, until, UPCOMING_LIMIT],
    },
    timing: {
      text: `WITH firsts AS (
          SELECT req_id, min(at) AS ack_at, min(at) FILTER (WHERE type = 'respond_final') AS answer_at
          FROM request_events WHERE type = ANY($1::text[])
          GROUP BY req_id
        ), spans AS (
          SELECT r.direction, r.counterparty, r.request_type,
            extract(epoch FROM f.ack_at - r.receipt_at)::float8 AS ack_s,
            extract(epoch FROM f.answer_at - r.receipt_at)::float8 AS answer_s,
            f.answer_at <= r.response_due_at AS on_time, false AS late_open
          FROM firsts f JOIN requests r USING (req_id)
          WHERE r.receipt_at IS NOT NULL
          UNION ALL
          SELECT r.direction, r.counterparty, r.request_type, NULL, NULL, NULL, true
          FROM requests r
          WHERE r.status = ANY($2::text[]) AND r.response_due_at <= $3
            AND NOT ${clockStoppedOf('r.deadlines')}
            AND NOT EXISTS (SELECT 1 FROM request_events e
              WHERE e.req_id = r.req_id AND e.type = 'respond_final')
        )
        SELECT direction, counterparty, request_type,
          count(ack_s)::int AS ack_n,
          percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY ack_s) AS ack_q,
          count(answer_s)::int AS answer_n,
          percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY answer_s) AS answer_q,
          count(*) FILTER (WHERE on_time)::int AS on_time,
          count(*) FILTER (WHERE late_open)::int AS late_open
        FROM spans
        GROUP BY direction, counterparty, request_type
        ORDER BY direction, counterparty, request_type`,
      values: [REPLY_EVENTS, OPEN_STATUSES, now],
    },
  };
}

const stats = (count: number, q: (number | null)[] | null): DurationStats => ({
  count,
  medianSeconds: count ? (q?.[0] ?? null) : null,
  p90Seconds: count ? (q?.[1] ?? null) : null,
});

const onTimeOf = (answered: number, onTime: number, lateOpen: number): OnTimeStats => ({
  answered,
  onTime,
  lateOpen,
  share: answered + lateOpen ? onTime / (answered + lateOpen) : null,
});

/**
 * Computes the summary as of `now`: five statements on one snapshot of the read model, from the
 * maintained aggregates (the default) or, with `from: 'timeline'`, by reading every request and
 * reply as before the aggregates.
 */
export async function computeSummary(
  pool: pg.Pool,
  now = new Date(),
  opts: { from?: 'aggregates' | 'timeline' } = {},
): Promise<SupervisorSummary> {
  const asOf = now.toISOString();
  const s = opts.from === 'timeline' ? summaryStatements(asOf) : aggregateSummaryStatements(asOf);
  const [counts, overdue, refused, upcoming, timing] = await withTransaction(
    pool,
    async (client) => {
      // One snapshot for all figures; enough memory to sort the durations without spilling.
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      await client.query("SET LOCAL work_mem = '64MB'");
      return [
        await client.query<{
          status: RequestStatus | null;
          request_type: RequestType | null;
          counterparty: string | null;
          n: number;
        }>(s.counts),
        await client.query<{ level: number; n: number }>(s.overdue),
        await client.query<{ n: number }>(s.refused),
        await client.query<
          ItemRow & { total: number; deadline: 'acknowledgement' | 'response'; due_at: string }
        >(s.upcoming),
        await client.query<{
          direction: Direction;
          counterparty: string;
          request_type: RequestType;
          ack_n: number;
          ack_q: (number | null)[] | null;
          answer_n: number;
          answer_q: (number | null)[] | null;
          on_time: number;
          late_open: number;
        }>(s.timing),
      ] as const;
    },
  );

  const byStatus = Object.fromEntries(Statuses.options.map((k) => [k, 0])) as Record<
    RequestStatus,
    number
  >;
  const byKind = Object.fromEntries(Types.options.map((k) => [k, 0])) as Record<
    RequestType,
    number
  >;
  const byPartner: { partner: string; count: number }[] = [];
  let total = 0;
  for (const r of counts.rows) {
    if (r.status !== null) {
      byStatus[r.status] = r.n;
      total += r.n;
    } else if (r.request_type !== null) byKind[r.request_type] = r.n;
    else if (r.counterparty !== null) byPartner.push({ partner: r.counterparty, count: r.n });
  }
  byPartner.sort((a, b) => b.count - a.count || a.partner.localeCompare(b.partner));

  const levels = overdue.rows.map((r) => ({ level: r.level, count: r.n }));
  const answered = { outgoing: [0, 0, 0], incoming: [0, 0, 0] };
  const rows = timing.rows.map((r) => {
    answered[r.direction][0]! += r.answer_n;
    answered[r.direction][1]! += r.on_time;
    answered[r.direction][2]! += r.late_open;
    return {
      direction: r.direction,
      partner: r.counterparty,
      kind: r.request_type,
      toAcknowledge: stats(r.ack_n, r.ack_q),
      toAnswer: stats(r.answer_n, r.answer_q),
      onTime: onTimeOf(r.answer_n, r.on_time, r.late_open),
    };
  });
  return {
    asOf,
    total,
    byStatus,
    byKind,
    byPartner,
    overdue: { total: levels.reduce((n, l) => n + l.count, 0), byEscalationLevel: levels },
    refusedByPartner: refused.rows[0]?.n ?? 0,
    upcoming: {
      days: UPCOMING_DAYS,
      count: upcoming.rows[0]?.total ?? 0,
      soonest: upcoming.rows.map((r) => ({
        ...toItem(r),
        deadline: r.deadline,
        dueAt: r.due_at,
      })),
    },
    timing: rows,
    onTime: {
      outgoing: onTimeOf(answered.outgoing[0]!, answered.outgoing[1]!, answered.outgoing[2]!),
      incoming: onTimeOf(answered.incoming[0]!, answered.incoming[1]!, answered.incoming[2]!),
    },
  };
}
