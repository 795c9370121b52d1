// Queries on the request read model: the projection writes (called by activities) and the reads
// the API serves. One function per query; values only as $n parameters.
import type pg from 'pg';
import type { Direction, Priority, RequestStatus, RequestType } from '../schemas/common.js';
import { timelineEventDigestOf } from '../audit/timeline-digest.js';
import { appendAudit } from './audit.js';
import { withTransaction } from './transaction.js';
import type { ProjectedEvent, RequestRecord } from '../schemas/workflow-contract.js';
import type {
  ListRequestsQuery,
  PartnerRefusal,
  RequestSubject,
  RequestView,
  TimelineEvent,
  UndeliveredMessage,
} from '../schemas/requests-api.js';

type Queryable = pg.Pool | pg.PoolClient;

/** What the audit log holds of a timeline event (see audit/timeline-digest.ts). */
export function timelineEventDigest(
  reqId: string,
  e: Pick<ProjectedEvent, 'seq' | 'at' | 'type' | 'actor' | 'status' | 'detail'>,
): string {
  return timelineEventDigestOf(reqId, e);
}

/** The timeline event by which the workflow says the partner refused one of our messages. */
export const PARTNER_REFUSAL_EVENT = 'message_refused_by_partner';

/** What the row keeps of a refusal event (see migration 0012), or null for any other event. */
export function partnerRefusalOf(
  event: Pick<ProjectedEvent, 'type' | 'at' | 'detail'>,
): PartnerRefusal | null {
  if (event.type !== PARTNER_REFUSAL_EVENT) return null;
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    msgId: text(event.detail.msgId) ?? '',
    kind: text(event.detail.kind),
    code: text(event.detail.code) ?? 'rejected',
    at: event.at,
  };
}

/**
 * Writes a request's row and one timeline event in a transaction. Idempotent: replaying the same
 * event changes nothing, and an older event never overwrites a newer status (nor a newer refusal);
 * another event at the same place (a timed-out workflow task run again) replaces the first.
 */
export async function projectRequestEvent(
  pool: pg.Pool,
  record: RequestRecord,
  event: ProjectedEvent,
  opts: {
    timeoutMs?: number;
    /**
     * Work outside the database that must succeed for this write to stand (the API's start of the
     * request's workflow): it runs while the statements do, and the transaction commits only
     * once it has succeeded; if it fails, nothing is written. Run again when the transaction is.
     */
    alongside?: () => Promise<unknown>;
  } = {},
): Promise<RequestView | undefined> {
  return withTransaction(pool, async (client) => {
    const outside = opts.alongside?.();
    // Settled by the await below; until then a rejection must not count as unhandled.
    outside?.catch(() => undefined);
    // A caller that must answer in bounded time (the API) gives up on a blocked write: SQLSTATE
    // 57014 (query_canceled), and the transaction rolls back.
    if (opts.timeoutMs)
      await client.query(`SELECT set_config('statement_timeout', $1, true)`, [
        String(Math.max(1, Math.round(opts.timeoutMs))),
      ]);
    const counterparty = record.direction === 'outgoing' ? record.responder : record.requester;
    const refusal = partnerRefusalOf(event);
    // One statement writes the row and, when the event changed them, its deadlines ($19: whether
    // it did); the WHERE keeps an older event from overwriting a newer one's state.
    const d = event.deadlines;
    const { rows: written } = await client.query<RequestRow>({
      name: 'project_request', // prepared once per connection, as audit_stage (db/audit.ts)
      text: `INSERT INTO requests (req_id, workflow_id, direction, request_type, requester, responder,
         counterparty, priority, status, overdue, subject, created_by, created_at, updated_at, last_seq,
         partner_refusal, receipt_at, ack_due_at, response_due_at, escalation_level, policy_digest,
         deadlines)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $18,
         $20, $21, $22, COALESCE($23, 0), $24, COALESCE($25::jsonb, '{}'::jsonb))
       ON CONFLICT (req_id) DO UPDATE SET
         status = COALESCE($16, requests.status),
         overdue = COALESCE($17, requests.overdue),
         partner_refusal = COALESCE(EXCLUDED.partner_refusal, requests.partner_refusal),
         updated_at = EXCLUDED.updated_at,
         last_seq = EXCLUDED.last_seq,
         receipt_at = CASE WHEN $19 THEN EXCLUDED.receipt_at ELSE requests.receipt_at END,
         ack_due_at = CASE WHEN $19 THEN EXCLUDED.ack_due_at ELSE requests.ack_due_at END,
         response_due_at =
           CASE WHEN $19 THEN EXCLUDED.response_due_at ELSE requests.response_due_at END,
         escalation_level =
           CASE WHEN $19 THEN EXCLUDED.escalation_level ELSE requests.escalation_level END,
         policy_digest = CASE WHEN $19 THEN EXCLUDED.policy_digest ELSE requests.policy_digest END,
         deadlines = CASE WHEN $19 THEN EXCLUDED.deadlines ELSE requests.deadlines END
       WHERE requests.last_seq <= EXCLUDED.last_seq
       RETURNING ${REQUEST_COLUMNS}`,
      values: [
        record.reqId,
        record.workflowId,
        record.direction,
        record.type,
        record.requester,
        record.responder,
        counterparty,
        record.priority,
        event.status ?? 'submitted',
        event.overdue ?? false,
        JSON.stringify(record.subject),
        record.createdBy,
        record.createdAt,
        event.at,
        event.seq,
        event.status,
        event.overdue ?? null,
        refusal && JSON.stringify(refusal),
        d !== undefined,
        d?.receiptAt ?? null,
        d?.ackDueAt ?? null,
        d?.responseDueAt ?? null,
        d?.escalationLevel ?? null,
        d?.policyDigest ?? null,
        d ? JSON.stringify(d.explanations) : null,
      ],
    });
    if (event.notification) {
      await client.query(
        `INSERT INTO notifications (req_id, seq, at, kind, level, detail) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (req_id, seq) DO NOTHING`,
        [
          record.reqId,
          event.seq,
          event.at,
          event.notification.kind,
          event.notification.level,
          JSON.stringify(event.notification.detail),
        ],
      );
    }
    const { rowCount } = await client.query({
      name: 'project_event',
      text: `INSERT INTO request_events (req_id, seq, at, type, actor, status, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (req_id, seq) DO UPDATE SET
         at = EXCLUDED.at, type = EXCLUDED.type, actor = EXCLUDED.actor,
         status = EXCLUDED.status, detail = EXCLUDED.detail
       WHERE (request_events.type, request_events.actor, request_events.status, request_events.detail)
         IS DISTINCT FROM (EXCLUDED.type, EXCLUDED.actor, EXCLUDED.status, EXCLUDED.detail)`,
      values: [
        record.reqId,
        event.seq,
        event.at,
        event.type,
        event.actor,
        event.status,
        JSON.stringify(event.detail),
      ],
    });
    // Logged once, when first projected: a retried activity finds the event and logs nothing. A
    // different event at a place already projected replaces it (and is logged too): the first came
    // from a workflow task that timed out after projecting (its worker killed, or too slow), whose
    // run again decided otherwise at that place; the workflow's history holds the second.
    if (rowCount === 1) {
      await appendAudit(client, [
        {
          type: 'request_event',
          req_id: record.reqId,
          seq: event.seq,
          event: event.type,
          status: event.status,
          event_digest: timelineEventDigest(record.reqId, event),
        },
      ]);
    }
    await outside;
    // The row as this write left it (none when a newer event had already been projected).
    return written[0] && toView(written[0]);
  });
}

interface RequestRow {
  req_id: string;
  workflow_id: string;
  direction: Direction;
  request_type: RequestType;
  requester: string;
  responder: string;
  counterparty: string;
  priority: Priority;
  status: RequestStatus;
  overdue: boolean;
  /** Null once erased (migration 0016). */
  subject: RequestSubject | null;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
  erased_at: Date | null;
  erasure_trigger: 'admin' | 'retention' | null;
  receipt_at: Date | null;
  ack_due_at: Date | null;
  response_due_at: Date | null;
  escalation_level: number;
  policy_digest: string | null;
  deadlines: Record<string, unknown>;
  partner_refusal: PartnerRefusal | null;
  undelivered: UndeliveredMessage[];
}

/**
 * Our messages about the request still pending in the outbox (not yet accepted by the partner),
 * oldest first, as a JSON array. A subquery of the statement that reads the row, so both come from
 * one snapshot: never a state beside a message list of another moment. Served by the outbox's
 * (req_id, created_at) index; a request has few messages. `lastError` keeps the code only
 * (`unreachable: TypeError` is `unreachable`).
 */
const UNDELIVERED = `(SELECT COALESCE(json_agg(json_build_object(
      'msgId', o.msg_id,
      'kind', o.kind,
      'since', to_char(o.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
      'attempts', o.attempts,
      'lastError', NULLIF(split_part(o.last_error, ':', 1), ''))
    ORDER BY o.created_at, o.msg_id), '[]'::json)
  FROM outbox_messages o
  WHERE o.req_id = requests.req_id AND o.status = 'pending' AND o.kind <> 'receipt') AS undelivered`;

/** The columns of a request's view, to select `FROM requests`. */
const REQUEST_COLUMNS = `req_id, workflow_id, direction, request_type, requester, responder, counterparty,
  priority, status, overdue, subject, created_by, created_at, updated_at, receipt_at, ack_due_at,
  response_due_at, escalation_level, policy_digest, deadlines, partner_refusal, ${UNDELIVERED},
  erased_at, (SELECT e.trigger FROM request_erasures e WHERE e.req_id = requests.req_id
              AND e.completed_at IS NOT NULL) AS erasure_trigger`;

function toView(row: RequestRow): RequestView {
  return {
    id: row.req_id,
    workflowId: row.workflow_id,
    direction: row.direction,
    type: row.request_type,
    requester: row.requester,
    responder: row.responder,
    counterparty: row.counterparty,
    priority: row.priority,
    status: row.status,
    overdue: row.overdue,
    subject: row.subject,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    receiptAt: row.receipt_at?.toISOString() ?? null,
    ackDueAt: row.ack_due_at?.toISOString() ?? null,
    responseDueAt: row.response_due_at?.toISOString() ?? null,
    escalationLevel: row.escalation_level,
    policyDigest: row.policy_digest,
    deadlines: row.deadlines,
    partnerRefusal: refusalOfRow(row.partner_refusal),
    undelivered: row.undelivered.map((u) => ({
      msgId: u.msgId,
      kind: u.kind,
      since: u.since,
      attempts: u.attempts,
      lastError: u.lastError ?? null,
    })),
    ...(row.erased_at
      ? { erasure: { at: row.erased_at.toISOString(), trigger: row.erasure_trigger ?? 'admin' } }
      : {}),
  };
}

/** A stored refusal (column partner_refusal) as the API shows it: only its four members. */
export function refusalOfRow(r: PartnerRefusal | null): PartnerRefusal | null {
  return r && { msgId: r.msgId, kind: r.kind ?? null, code: r.code, at: r.at };
}

export async function getRequest(db: Queryable, reqId: string): Promise<RequestView | undefined> {
  const { rows } = await db.query<RequestRow>(
    `SELECT ${REQUEST_COLUMNS} FROM requests WHERE req_id = $1`,
    [reqId],
  );
  return rows[0] ? toView(rows[0]) : undefined;
}

/**
 * A request (with its undelivered messages) and its timeline as of one moment. Read apart, a
 * projection committing between the two reads would show an event beside the state before it (the
 * original due date next to the extension that moved it); one read-only snapshot shows every event
 * with the state it left.
 */
export async function getRequestDetail(
  pool: pg.Pool,
  reqId: string,
): Promise<{ request: RequestView; timeline: TimelineEvent[] } | undefined> {
  return withTransaction(pool, async (client) => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const request = await getRequest(client, reqId);
    return request && { request, timeline: await getTimeline(client, reqId) };
  });
}

/** A request's timeline, by seq. Beside the request's row, read both with getRequestDetail. */
export async function getTimeline(db: Queryable, reqId: string): Promise<TimelineEvent[]> {
  const { rows } = await db.query<{
    seq: number;
    at: Date;
    type: string;
    actor: string | null;
    status: RequestStatus | null;
    detail: Record<string, unknown>;
  }>(
    'SELECT seq, at, type, actor, status, detail FROM request_events WHERE req_id = $1 ORDER BY seq',
    [reqId],
  );
  return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
}

export async function listRequests(pool: pg.Pool, q: ListRequestsQuery): Promise<RequestView[]> {
  const { rows } = await pool.query<RequestRow>(
    `SELECT ${REQUEST_COLUMNS} FROM requests
     WHERE ($1::text IS NULL OR status = $1)
       AND ($2::text IS NULL OR request_type = $2)
       AND ($3::text IS NULL OR direction = $3)
       AND ($4::text IS NULL OR counterparty = $4)
     ORDER BY created_at DESC, req_id DESC
     LIMIT $5`,
    [q.status ?? null, q.type ?? null, q.direction ?? null, q.counterparty ?? null, q.limit],
  );
  return rows.map(toView);
}

/** What an Idempotency-Key is bound to: a request id, and the digest of the body first sent. */
export interface IdempotencyClaim {
  reqId: string;
  /** SHA-256 hex of the canonical body first sent with the key. */
  bodySha256: string;
}

/**
 * Binds an Idempotency-Key of a caller to a request id and the digest of its body: the first call
 * stores `candidate` and `bodySha256`, later calls with the same key get what was stored then (the
 * caller compares the digests). Concurrent first calls settle on one row. A key stored before
 * migration 0010 has no digest: the first body sent with it afterwards becomes its digest.
 */
export async function claimIdempotencyKey(
  pool: pg.Pool,
  principal: string,
  key: string,
  candidate: string,
  bodySha256: string,
): Promise<IdempotencyClaim> {
  const { rows } = await pool.query<{ req_id: string; body_sha256: string }>(
    `INSERT INTO idempotency_keys (principal, key, req_id, body_sha256) VALUES ($1, $2, $3, $4)
     ON CONFLICT (principal, key) DO UPDATE
       SET body_sha256 = COALESCE(idempotency_keys.body_sha256, EXCLUDED.body_sha256)
     RETURNING req_id, body_sha256`,
    [principal, key, candidate, bodySha256],
  );
  return { reqId: rows[0]!.req_id, bodySha256: rows[0]!.body_sha256 };
}
