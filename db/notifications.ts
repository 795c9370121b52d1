// Supervisor notifications (escalations, near deadlines) as webhooks receive them, and which
// webhook targets already took each one. Values only as $n parameters.
import type pg from 'pg';

/** A notification with the request facts a webhook may carry: no subject, no person. */
export interface NotificationFacts {
  reqId: string;
  seq: number;
  at: Date;
  kind: string;
  level: number;
  detail: Record<string, unknown>;
  requestType: string;
  direction: string;
  counterparty: string;
  priority: string;
}

export async function getNotification(
  pool: pg.Pool,
  reqId: string,
  seq: number,
): Promise<NotificationFacts | undefined> {
  const { rows } = await pool.query<NotificationFacts>(
    `SELECT n.req_id AS "reqId", n.seq, n.at, n.kind, n.level, n.detail,
       r.request_type AS "requestType", r.direction, r.counterparty, r.priority
     FROM notifications n JOIN requests r ON r.req_id = n.req_id
     WHERE n.req_id = $1 AND n.seq = $2`,
    [reqId, seq],
  );
  return rows[0];
}

/** The targets (SHA-256 of the URL) that already took the notification. */
export async function deliveredTargets(
  pool: pg.Pool,
  reqId: string,
  seq: number,
): Promise<Set<string>> {
  const { rows } = await pool.query<{ target: string }>(
    `SELECT target FROM webhook_deliveries
     WHERE req_id = $1 AND seq = $2 AND delivered_at IS NOT NULL`,
    [reqId, seq],
  );
  return new Set(rows.map((r) => r.target));
}

/** Counts one POST to a target: delivered (`error` null) or failed with a short reason. */
export async function recordWebhookAttempt(
  pool: pg.Pool,
  a: { target: string; reqId: string; seq: number; error: string | null },
): Promise<void> {
  await pool.query(
    `INSERT INTO webhook_deliveries AS w (target, req_id, seq, attempts, last_attempt_at, last_error, delivered_at)
     VALUES ($1, $2, $3, 1, now(), $4, CASE WHEN $4::text IS NULL THEN now() END)
     ON CONFLICT (target, req_id, seq) DO UPDATE SET
       attempts = w.attempts + 1,
       last_attempt_at = now(),
       last_error = $4,
       delivered_at = COALESCE(w.delivered_at, EXCLUDED.delivered_at)`,
    [a.target, a.reqId, a.seq, a.error],
  );
}

/**
 * Whether a supervisor still needs to see notification `n` of request `r` (SQL, on those aliases).
 * A notification about a deadline (`detail.deadline`) is hidden from the supervisors' list once
 * that deadline is settled: met, or no longer running. The acknowledgement deadline runs while the
 * request is only delivered; the response deadline while it is delivered, acknowledged or partly
 * answered; a "deadline near" also goes once its deadline has moved (clock stopped, extension), as
 * the deadline it warned of is no longer the one that runs (a new reminder comes for the new due
 * time). Notifications are kept in the table (and were posted to webhooks): only the read filters.
 */
export const STILL_RELEVANT = `CASE n.detail ->> 'deadline'
    WHEN 'acknowledgement' THEN r.status = 'delivered'
    WHEN 'response' THEN r.status IN ('delivered', 'acknowledged', 'partially_answered')
      AND (n.kind <> 'deadline_near'
        OR (n.detail ->> 'due_at')::timestamptz IS NOT DISTINCT FROM r.response_due_at)
    ELSE true
  END`;

/** A notification as the dashboard's overview lists it: ids, codes and times, no detail. */
export interface ListedNotification {
  reqId: string;
  seq: number;
  at: Date;
  kind: string;
  level: number;
  deadline: string | null;
  dueAt: string | null;
  type: string;
  direction: string;
  counterparty: string;
  priority: string;
}

/** The newest `limit` notifications a supervisor still needs to see (STILL_RELEVANT). */
export async function relevantNotifications(
  pool: pg.Pool,
  limit: number,
): Promise<ListedNotification[]> {
  const { rows } = await pool.query<ListedNotification>(
    `SELECT n.req_id AS "reqId", n.seq, n.at, n.kind, n.level,
       n.detail->>'deadline' AS deadline, n.detail->>'due_at' AS "dueAt",
       r.request_type AS type, r.direction, r.counterparty, r.priority
     FROM notifications n JOIN requests r ON r.req_id = n.req_id
     WHERE ${STILL_RELEVANT}
     ORDER BY n.at DESC, n.req_id DESC, n.seq DESC
     LIMIT $1`,
    [limit],
  );
  return rows;
}
