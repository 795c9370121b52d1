// Queries of the erasure of a request's personal content (domain/erasure.ts): the erasure's own
// row, the one transaction that removes the content from the read model, the stored messages and
// the attachment store (with its audit entry), and the retention sweep's candidates.
import type pg from 'pg';
import { timelineEventDigestOf } from '../audit/timeline-digest.js';
import { appendAudit, integrateAudit } from './audit.js';
import { CONVERSATION_LOCK_NAMESPACE } from './messages.js';
import { withTransaction } from './transaction.js';

type Queryable = pg.Pool | pg.PoolClient;

export type ErasureTrigger = 'admin' | 'retention';

/** Statuses after which nothing can happen to a request any more. */
export const ENDED_STATUSES = ['closed', 'declined', 'withdrawn'] as const;

export interface ErasureRow {
  reqId: string;
  trigger: ErasureTrigger;
  actor: string | null;
  startedAt: Date;
  temporalDoneAt: Date | null;
  completedAt: Date | null;
  auditIndex: number | null;
  summary: { messages?: string[]; attachments?: string[] };
}

interface RawErasureRow {
  req_id: string;
  trigger: ErasureTrigger;
  actor: string | null;
  started_at: Date;
  temporal_done_at: Date | null;
  completed_at: Date | null;
  audit_index: string | null;
  summary: ErasureRow['summary'];
}

const toRow = (r: RawErasureRow): ErasureRow => ({
  reqId: r.req_id,
  trigger: r.trigger,
  actor: r.actor,
  startedAt: r.started_at,
  temporalDoneAt: r.temporal_done_at,
  completedAt: r.completed_at,
  auditIndex: r.audit_index === null ? null : Number(r.audit_index),
  summary: r.summary,
});

export async function getErasure(db: Queryable, reqId: string): Promise<ErasureRow | undefined> {
  // The `request_erased` entry's index once the integrator gave it one (migration 0018).
  const { rows } = await db.query<RawErasureRow>(
    `SELECT e.req_id, e.trigger, e.actor, e.started_at, e.temporal_done_at, e.completed_at,
       COALESCE(e.audit_index, l.idx) AS audit_index, e.summary
     FROM request_erasures e LEFT JOIN audit_log l ON l.pending_id = e.audit_pending_id
     WHERE e.req_id = $1`,
    [reqId],
  );
  return rows[0] && toRow(rows[0]);
}

/**
 * Records that an erasure of the request begins; an erasure already begun (or done) keeps its
 * trigger and actor. Returns the row as it stands.
 */
export async function beginErasure(
  pool: pg.Pool,
  reqId: string,
  trigger: ErasureTrigger,
  actor: string | null,
): Promise<ErasureRow> {
  await pool.query(
    `INSERT INTO request_erasures (req_id, trigger, actor) VALUES ($1, $2, $3)
     ON CONFLICT (req_id) DO NOTHING`,
    [reqId, trigger, actor],
  );
  return (await getErasure(pool, reqId))!;
}

export async function markTemporalErased(pool: pg.Pool, reqId: string): Promise<void> {
  await pool.query(
    'UPDATE request_erasures SET temporal_done_at = now() WHERE req_id = $1 AND temporal_done_at IS NULL',
    [reqId],
  );
}

/** The msg_ids of our messages about a request (each had a delivery workflow). */
export async function outboxMessageIds(db: Queryable, reqId: string): Promise<string[]> {
  const { rows } = await db.query<{ msg_id: string }>(
    'SELECT msg_id FROM outbox_messages WHERE req_id = $1 ORDER BY msg_id',
    [reqId],
  );
  return rows.map((r) => r.msg_id);
}

/**
 * Timeline and notification detail members that hold ids, digests, codes and times only (all the
 * workflows write). Anything else in a detail is removed by an erasure.
 */
const DETAIL_KEYS = new Set([
  'type',
  'kind',
  'msgId',
  'digest',
  'receiptDigest',
  'receivedAt',
  'policyDigest',
  'code',
  'reason',
  'crossedWith',
  'dropped',
  'deadline',
  'level',
  'due_at',
  'onTime',
  'countsAt',
  'trigger',
]);

function scrubDetail(detail: Record<string, unknown>): Record<string, unknown> | null {
  const kept = Object.fromEntries(Object.entries(detail).filter(([k]) => DETAIL_KEYS.has(k)));
  return Object.keys(kept).length === Object.keys(detail).length ? null : kept;
}

/**
 * A stored payload without its body and without the names of its files; a request keeps the
 * mediator its body names (the route of the request's later messages, a public member).
 */
const STRIPPED_PAYLOAD = `jsonb_set((payload - 'body') ||
    CASE WHEN kind = 'request' AND payload -> 'body' ? 'mediator'
         THEN jsonb_build_object('body', jsonb_build_object('mediator', payload -> 'body' -> 'mediator'))
         ELSE '{}'::jsonb END,
  '{attachments}',
  COALESCE((SELECT jsonb_agg(a - 'name') FROM jsonb_array_elements(payload -> 'attachments') a),
           '[]'::jsonb))`;

/**
 * Removes the request's personal content in one transaction, under its conversation lock (no
 * partner message about it is stored meanwhile), and completes its erasure row: the subject, the
 * bodies of its messages (tokens gone, payloads without body and file names), the bytes of files
 * no message of another request names, its Idempotency-Keys, detail members that are not ids,
 * digests, codes or times; then an `erased` timeline event and the `request_erased` audit entry.
 * Does nothing and returns the row when the erasure is already complete.
 */
export async function eraseRequestContent(pool: pg.Pool, reqId: string): Promise<ErasureRow> {
  const row = await eraseInTransaction(pool, reqId);
  if (row.auditIndex !== null) return row;
  await integrateAudit(pool); // the entry's index: at most one integration pass away
  return (await getErasure(pool, reqId))!;
}

async function eraseInTransaction(pool: pg.Pool, reqId: string): Promise<ErasureRow> {
  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
      CONVERSATION_LOCK_NAMESPACE,
      reqId,
    ]);
    const { rows: erasures } = await client.query<RawErasureRow>(
      'SELECT * FROM request_erasures WHERE req_id = $1 FOR UPDATE',
      [reqId],
    );
    const erasure = erasures[0] && toRow(erasures[0]);
    if (!erasure) throw new TypeError(`no erasure begun for request ${reqId}`);
    if (erasure.completedAt) return erasure;
    const now = new Date();

    const { rows: digests } = await client.query<{ digest: string }>(
      `SELECT v.digest FROM outbox_versions v JOIN outbox_messages m USING (msg_id)
       WHERE m.req_id = $1 AND m.kind <> 'receipt'
       UNION
       SELECT digest FROM inbox_messages WHERE req_id = $1 AND kind <> 'receipt'
       ORDER BY 1`,
      [reqId],
    );
    const { rows: named } = await client.query<{ sha256: string }>(
      `SELECT DISTINCT a ->> 'sha256' AS sha256 FROM (
         SELECT payload FROM outbox_messages WHERE req_id = $1
         UNION ALL SELECT payload FROM inbox_messages WHERE req_id = $1) m,
         jsonb_array_elements(m.payload -> 'attachments') a`,
      [reqId],
    );

    await client.query(
      'UPDATE requests SET subject = NULL, erased_at = $2 WHERE req_id = $1 AND erased_at IS NULL',
      [reqId, now],
    );
    for (const table of ['inbox_messages', 'outbox_messages'] as const)
      await client.query(
        `UPDATE ${table} SET token = NULL, payload = ${STRIPPED_PAYLOAD}, erased_at = $2
         WHERE req_id = $1 AND kind <> 'receipt' AND erased_at IS NULL`,
        [reqId, now],
      );
    await client.query(
      `UPDATE outbox_versions SET token = NULL
       WHERE msg_id IN (SELECT msg_id FROM outbox_messages WHERE req_id = $1 AND kind <> 'receipt')`,
      [reqId],
    );
    await client.query('DELETE FROM idempotency_keys WHERE req_id = $1', [reqId]);
    // Files are stored once whoever names them: only those no message still holding its content
    // names lose their bytes. Digest, size and media type stay in the payloads that name them.
    const { rows: deleted } = await client.query<{ sha256: string }>(
      `DELETE FROM attachments a WHERE a.sha256 = ANY($1::text[])
         AND NOT EXISTS (SELECT 1 FROM inbox_messages m WHERE m.token IS NOT NULL
                         AND m.payload -> 'attachments' @> jsonb_build_array(jsonb_build_object('sha256', a.sha256)))
         AND NOT EXISTS (SELECT 1 FROM outbox_messages m WHERE m.token IS NOT NULL
                         AND m.payload -> 'attachments' @> jsonb_build_array(jsonb_build_object('sha256', a.sha256)))
       RETURNING a.sha256`,
      [named.map((n) => n.sha256)],
    );

    for (const table of ['request_events', 'notifications'] as const) {
      const { rows } = await client.query<{ seq: number; detail: Record<string, unknown> }>(
        `SELECT seq, detail FROM ${table} WHERE req_id = $1`,
        [reqId],
      );
      for (const r of rows) {
        const scrubbed = scrubDetail(r.detail);
        if (scrubbed)
          await client.query(`UPDATE ${table} SET detail = $3 WHERE req_id = $1 AND seq = $2`, [
            reqId,
            r.seq,
            JSON.stringify(scrubbed),
          ]);
      }
    }

    // The timeline says so, and the log holds the erasure: ids and digests only.
    const { rows: last } = await client.query<{ last_seq: number }>(
      'SELECT last_seq FROM requests WHERE req_id = $1 FOR UPDATE',
      [reqId],
    );
    const event = {
      seq: (last[0]?.last_seq ?? 0) + 1,
      at: now.toISOString(),
      type: 'erased',
      actor: erasure.actor,
      status: null,
      detail: { trigger: erasure.trigger },
    };
    await client.query(
      `INSERT INTO request_events (req_id, seq, at, type, actor, status, detail)
       VALUES ($1, $2, $3, $4, $5, NULL, $6)`,
      [reqId, event.seq, event.at, event.type, event.actor, JSON.stringify(event.detail)],
    );
    await client.query('UPDATE requests SET last_seq = $2, updated_at = $3 WHERE req_id = $1', [
      reqId,
      event.seq,
      now,
    ]);
    const messages = digests.map((d) => d.digest);
    const attachments = deleted.map((d) => d.sha256).sort();
    const [, auditStaged] = await appendAudit(
      client,
      [
        {
          type: 'request_event',
          req_id: reqId,
          seq: event.seq,
          event: event.type,
          status: null,
          event_digest: timelineEventDigestOf(reqId, event),
        },
        { type: 'request_erased', req_id: reqId, trigger: erasure.trigger, messages, attachments },
      ],
      now,
    );
    const { rows: done } = await client.query<RawErasureRow>(
      `UPDATE request_erasures SET completed_at = $2, audit_pending_id = $3, summary = $4,
         temporal_done_at = COALESCE(temporal_done_at, $2)
       WHERE req_id = $1 RETURNING *`,
      [reqId, now, auditStaged, JSON.stringify({ messages, attachments })],
    );
    return toRow(done[0]!);
  });
}

/** The retention of one request type, in seconds (null: kept). */
export interface RetentionSeconds {
  requestType: string;
  afterClosure: number | null;
  afterOtherEnd: number | null;
}

/**
 * Ended requests whose retention has passed at `now`, oldest end first: counted from the last
 * change of status (the closure, decline or withdrawal). Also erasures begun and not completed (a
 * crash half way), so the sweep finishes them.
 */
export async function dueForErasure(
  db: Queryable,
  rules: readonly RetentionSeconds[],
  now: Date,
  limit: number,
): Promise<string[]> {
  const { rows } = await db.query<{ req_id: string }>(
    `WITH rules AS (
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS t(request_type, closure_s, other_s))
     (SELECT req_id FROM request_erasures WHERE completed_at IS NULL ORDER BY started_at LIMIT $5)
     UNION ALL
     (SELECT r.req_id FROM requests r JOIN rules USING (request_type)
        CROSS JOIN LATERAL (SELECT max(e.at) AS at FROM request_events e
                            WHERE e.req_id = r.req_id AND e.status IS NOT NULL) ended
      WHERE r.erased_at IS NULL AND r.status IN ('closed', 'declined', 'withdrawn')
        AND NOT EXISTS (SELECT 1 FROM request_erasures x WHERE x.req_id = r.req_id)
        AND ended.at + (CASE WHEN r.status = 'closed' THEN rules.closure_s ELSE rules.other_s END)
                       * interval '1 second' <= $4
      ORDER BY ended.at, r.req_id LIMIT $5)`,
    [
      rules.map((r) => r.requestType),
      rules.map((r) => r.afterClosure),
      rules.map((r) => r.afterOtherEnd),
      now,
      limit,
    ],
  );
  return rows.map((r) => r.req_id);
}
