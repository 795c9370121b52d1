// Queries of a mediator: the messages it relays between two parties, each with the exact token, its
// own relay receipt and, once it has it, the recipient's receipt (README, _Mediated exchange_).
import type pg from 'pg';
import { digestOfInput } from '../protocol/digest.js';
import type { RequestType } from '../schemas/common.js';
import type { MessageKind } from '../schemas/envelope.js';
import { appendAudit } from './audit.js';
import { withTransaction } from './transaction.js';

export interface RelayedRow {
  digest: string;
  iss: string;
  aud: string;
  msg_id: string;
  kind: string;
  req_id: string | null;
  sealed: boolean;
  received_at: Date;
  relay_receipt_token: string;
  attempts: number;
  last_error: string | null;
  partner_status: number | null;
  partner_receipt_token: string | null;
  partner_received_at: Date | null;
}

const COLUMNS = `digest, iss, aud, msg_id, kind, req_id, sealed, received_at, relay_receipt_token,
  attempts, last_error, partner_status, partner_receipt_token, partner_received_at`;

/**
 * Stores a message to relay, once by digest: the first relay receipt signed for it stays (a sender
 * that posts it again gets the same one), and the log says so once (`message_relayed`). Returns
 * the stored row.
 */
export async function storeRelayed(
  pool: pg.Pool,
  m: {
    digest: string;
    iss: string;
    aud: string;
    msgId: string;
    kind: Exclude<MessageKind, 'receipt'>;
    reqId: string | null;
    sealed: boolean;
    token: string;
    receivedAt: Date;
    relayReceiptToken: string;
  },
): Promise<RelayedRow> {
  return withTransaction(pool, async (client) => {
    const row = await insertRelayed(client, m);
    const inserted = row.relay_receipt_token === m.relayReceiptToken;
    // A new message changes the request's view; a copy posted again does not.
    if (inserted && m.reqId) await watchNow(client, m.reqId);
    if (inserted)
      await appendAudit(client, [
        {
          type: 'message_relayed',
          digest: m.digest,
          msg_id: m.msgId,
          kind: m.kind,
          req_id: m.reqId,
          iss: m.iss,
          aud: m.aud,
          relay_receipt_digest: digestOfInput(m.relayReceiptToken),
        },
      ]);
    return row;
  });
}

async function insertRelayed(
  client: pg.PoolClient,
  m: Parameters<typeof storeRelayed>[1],
): Promise<RelayedRow> {
  const { rows } = await client.query<RelayedRow>(
    `WITH ins AS (
       INSERT INTO relayed_messages (digest, iss, aud, msg_id, kind, req_id, sealed, token,
         received_at, relay_receipt_token)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (digest) DO NOTHING RETURNING ${COLUMNS})
     SELECT * FROM ins
     UNION ALL SELECT ${COLUMNS} FROM relayed_messages WHERE digest = $1
     LIMIT 1`,
    [
      m.digest,
      m.iss,
      m.aud,
      m.msgId,
      m.kind,
      m.reqId,
      m.sealed,
      m.token,
      m.receivedAt,
      m.relayReceiptToken,
    ],
  );
  if (rows[0]) return rows[0];
  // Inserted by a concurrent copy that committed during the statement (its snapshot missed it).
  const again = await client.query<RelayedRow>(
    `SELECT ${COLUMNS} FROM relayed_messages WHERE digest = $1`,
    [m.digest],
  );
  return again.rows[0]!;
}

/**
 * Records one forwarding attempt: the recipient's answer status (null: no answer, so an earlier
 * refusal's status does not outlive the attempt that replaced it) and its code or receipt.
 */
export async function recordForward(
  pool: pg.Pool,
  digest: string,
  outcome: {
    status: number | null;
    error: string | null;
    receiptToken?: string;
    receivedAt?: Date;
  },
): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ had: boolean; req_id: string | null }>(
      `UPDATE relayed_messages r SET attempts = r.attempts + 1, last_error = $2,
         partner_status = $3,
         partner_receipt_token = COALESCE(r.partner_receipt_token, $4),
         partner_received_at = COALESCE(r.partner_received_at, $5)
       FROM (SELECT partner_receipt_token IS NOT NULL AS had FROM relayed_messages
              WHERE digest = $1 FOR UPDATE) old
       WHERE r.digest = $1 RETURNING old.had, r.req_id`,
      [
        digest,
        outcome.error,
        outcome.status,
        outcome.receiptToken ?? null,
        outcome.receivedAt ?? null,
      ],
    );
    // Any answer may change the request's view (a receipt, a refusal for good, a retry): the
    // watch looks at it again.
    if (rows[0]?.req_id) await watchNow(client, rows[0].req_id);
    // The recipient's receipt is logged once, when it first comes.
    if (rows[0] && !rows[0].had && outcome.receiptToken && outcome.receivedAt) {
      await appendAudit(client, [
        {
          type: 'relay_receipt_received',
          digest: digestOfInput(outcome.receiptToken),
          for_digest: digest,
          received_at: outcome.receivedAt.toISOString(),
        },
      ]);
    }
  });
}

/** The mediator's watch looks at the request again at its next pass. */
export async function watchNow(client: pg.PoolClient, reqId: string): Promise<void> {
  await client.query(
    `INSERT INTO mediated_watch (req_id, next_check_at, version) VALUES ($1, now(), 1)
     ON CONFLICT (req_id) DO UPDATE SET next_check_at = now(),
       version = mediated_watch.version + 1`,
    [reqId],
  );
}

/**
 * Has the watch look again at every request it watches when the deadline policy it counts by is
 * not the one it counted by at the last start (a look that foresaw nothing may now find a
 * deadline). Returns how many; 0 when the policy is the same.
 */
export async function watchAllAgainIfPolicyChanged(
  pool: pg.Pool,
  policyDigest: string,
): Promise<number> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ digest: string }>(
      'SELECT digest FROM mediator_watch_policy FOR UPDATE',
    );
    if (rows[0]?.digest === policyDigest) return 0;
    await client.query(
      `INSERT INTO mediator_watch_policy (one, digest) VALUES (true, $1)
       ON CONFLICT (one) DO UPDATE SET digest = EXCLUDED.digest`,
      [policyDigest],
    );
    const { rowCount } = await client.query(
      `UPDATE mediated_watch SET next_check_at = now(), version = version + 1
        WHERE next_check_at IS NULL OR next_check_at > now()`,
    );
    return rowCount ?? 0;
  });
}

/** Requests the watch should look at by `now`, the longest waiting first, each at its version. */
export async function dueWatches(
  pool: pg.Pool,
  now: Date,
  limit: number,
): Promise<{ reqId: string; version: number }[]> {
  const { rows } = await pool.query<{ req_id: string; version: string }>(
    `SELECT req_id, version FROM mediated_watch WHERE next_check_at <= $1
      ORDER BY next_check_at LIMIT $2`,
    [now, limit],
  );
  return rows.map((r) => ({ reqId: r.req_id, version: Number(r.version) }));
}

/**
 * Records a look at a request: when to look again (null: nothing to wait for). Only if nothing
 * was relayed about it since the look read it (`version`): a message relayed meanwhile keeps the
 * request due for the next pass.
 */
export async function watchAgainAt(
  pool: pg.Pool,
  watched: { reqId: string; version: number },
  next: Date | null,
  checkedAt: Date,
  overdue = false,
): Promise<void> {
  await pool.query(
    `UPDATE mediated_watch SET checked_at = $4, next_check_at = $3, overdue = $5
      WHERE req_id = $1 AND version = $2`,
    [watched.reqId, watched.version, next, checkedAt, overdue],
  );
}

/** The requests the watch last found overdue, the most recently looked at first. */
export async function overdueWatches(pool: pg.Pool, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ req_id: string }>(
    `SELECT req_id FROM mediated_watch WHERE overdue ORDER BY checked_at DESC LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.req_id);
}

export interface MediatorNotificationRow {
  req_id: string;
  deadline: 'acknowledgement' | 'response';
  level: number;
  due_at: Date;
  at: Date;
  delivered_targets: string[];
  attempts: number;
  last_attempt_at: Date | null;
  last_error: string | null;
  /** The request's type and parties (null: recorded before M kept them). */
  request_type: RequestType | null;
  requester: string | null;
  responder: string | null;
}

/** Records that a deadline passed to a level, once per request, deadline and level; true if new. */
export async function recordMediatorNotification(
  pool: pg.Pool,
  n: {
    reqId: string;
    deadline: 'acknowledgement' | 'response';
    level: number;
    dueAt: Date;
    request: { type: RequestType; requester: string; responder: string };
  },
): Promise<boolean> {
  const { rowCount } = await pool.query(
    `INSERT INTO mediator_notifications
       (req_id, deadline, level, due_at, request_type, requester, responder)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT DO NOTHING`,
    [
      n.reqId,
      n.deadline,
      n.level,
      n.dueAt,
      n.request.type,
      n.request.requester,
      n.request.responder,
    ],
  );
  return rowCount === 1;
}

/** The mediator's notifications, newest first, or those some target has still to take. */
export async function listMediatorNotifications(
  pool: pg.Pool,
  opts: {
    limit: number;
    /**
     * Only those some of these targets have not taken, whose next round is due at `now`: after
     * round n, the next waits min(2^n × `baseSeconds`, 1 hour); none after `maxAttempts` rounds.
     */
    undelivered?: {
      targets: readonly string[];
      now: Date;
      baseSeconds: number;
      maxAttempts: number;
    };
  },
): Promise<MediatorNotificationRow[]> {
  const u = opts.undelivered;
  const { rows } = await pool.query<MediatorNotificationRow>(
    `SELECT req_id, deadline, level, due_at, at, delivered_targets, attempts, last_attempt_at,
            last_error, request_type, requester, responder
       FROM mediator_notifications
      WHERE ($2::text[] IS NULL OR (NOT delivered_targets @> $2::text[] AND attempts < $5
             AND (last_attempt_at IS NULL OR last_attempt_at
                  + make_interval(secs => least(3600, $4 * power(2, attempts))) <= $3)))
      ORDER BY at DESC, req_id, deadline, level LIMIT $1`,
    [opts.limit, u?.targets ?? null, u?.now ?? null, u?.baseSeconds ?? 0, u?.maxAttempts ?? 0],
  );
  return rows;
}

/** Counts one round of POSTs of a notification: the targets that took it, and the last error. */
export async function recordMediatorPost(
  pool: pg.Pool,
  key: { reqId: string; deadline: string; level: number },
  took: readonly string[],
  error: string | null,
  at: Date,
): Promise<void> {
  await pool.query(
    `UPDATE mediator_notifications SET attempts = attempts + 1, last_error = $5,
       last_attempt_at = $6,
       delivered_targets = ARRAY(SELECT DISTINCT unnest(delivered_targets || $4::text[]))
     WHERE req_id = $1 AND deadline = $2 AND level = $3`,
    [key.reqId, key.deadline, key.level, took, error, at],
  );
}

/** What a mediator relayed, newest first (no tokens: ids, kinds, times and outcomes only). */
export async function listRelayed(
  pool: pg.Pool,
  opts: { reqId?: string | undefined; limit: number },
): Promise<RelayedRow[]> {
  const { rows } = await pool.query<RelayedRow>(
    `SELECT ${COLUMNS} FROM relayed_messages WHERE ($1::text IS NULL OR req_id = $1)
      ORDER BY received_at DESC LIMIT $2`,
    [opts.reqId ?? null, opts.limit],
  );
  return rows;
}

/** Keeps the mediator's relay receipt beside a message this node sent or received. */
export async function keepRelayReceipt(
  pool: pg.Pool | pg.PoolClient,
  where: { table: 'outbox'; msgId: string; digest: string } | { table: 'inbox'; digest: string },
  token: string,
): Promise<void> {
  if (where.table === 'outbox') {
    // The message's first (the one its log entry names), and each signed version's own.
    await pool.query(
      'UPDATE outbox_messages SET relay_receipt_token = COALESCE(relay_receipt_token, $2) WHERE msg_id = $1',
      [where.msgId, token],
    );
    await pool.query(
      `UPDATE outbox_versions SET relay_receipt_token = COALESCE(relay_receipt_token, $3)
        WHERE msg_id = $1 AND digest = $2`,
      [where.msgId, where.digest, token],
    );
  } else
    await pool.query(
      'UPDATE inbox_messages SET relay_receipt_token = COALESCE(relay_receipt_token, $2) WHERE digest = $1',
      [where.digest, token],
    );
}

/**
 * The mediator's relay receipts of these signed versions of our messages, by version digest. A
 * version receipted before each version kept its own (migration 0027) gets the message's first
 * relay receipt, which an importer takes only if it names that version's digest.
 */
export async function relayReceiptsOfVersions(
  pool: pg.Pool,
  digests: readonly string[],
): Promise<Map<string, string>> {
  const { rows } = await pool.query<{ digest: string; token: string }>(
    `SELECT v.digest, COALESCE(v.relay_receipt_token, m.relay_receipt_token) AS token
       FROM outbox_versions v JOIN outbox_messages m USING (msg_id)
      WHERE v.digest = ANY($1::text[])
        AND COALESCE(v.relay_receipt_token, m.relay_receipt_token) IS NOT NULL`,
    [digests],
  );
  return new Map(rows.map((r) => [r.digest, r.token]));
}

/** The digests this mediator relayed for one message of a sender (its signed versions). */
export async function relayedDigests(pool: pg.Pool, iss: string, msgId: string): Promise<string[]> {
  const { rows } = await pool.query<{ digest: string }>(
    'SELECT digest FROM relayed_messages WHERE iss = $1 AND msg_id = $2',
    [iss, msgId],
  );
  return rows.map((r) => r.digest);
}

/** The recipient's receipt for any signed version of a sender's message, if one came back. */
export async function receiptForMessage(
  pool: pg.Pool,
  iss: string,
  msgId: string,
): Promise<string | undefined> {
  const { rows } = await pool.query<{ token: string }>(
    `SELECT partner_receipt_token AS token FROM relayed_messages
      WHERE iss = $1 AND msg_id = $2 AND partner_receipt_token IS NOT NULL LIMIT 1`,
    [iss, msgId],
  );
  return rows[0]?.token;
}

/**
 * The indices of this mediator's log entries about messages it relayed with these digests: the
 * `message_relayed` entry of each, and `relay_receipt_received` once the recipient's receipt came.
 */
export async function relayAuditIndices(
  pool: pg.Pool,
  digests: readonly string[],
): Promise<number[]> {
  const { rows } = await pool.query<{ idx: string }>(
    `SELECT idx FROM audit_log WHERE refs && $1::text[]
        AND (entry::jsonb ->> 'type') IN ('message_relayed', 'relay_receipt_received')
      ORDER BY idx`,
    [digests],
  );
  return rows.map((r) => Number(r.idx));
}

/** The parties (senders and recipients) of the messages this mediator relayed with these digests. */
export async function relayedParties(pool: pg.Pool, digests: readonly string[]): Promise<string[]> {
  const { rows } = await pool.query<{ party: string }>(
    `SELECT DISTINCT unnest(ARRAY[iss, aud]) AS party FROM relayed_messages
      WHERE digest = ANY($1::text[]) ORDER BY 1`,
    [digests],
  );
  return rows.map((r) => r.party);
}

/** Whether this mediator relayed the request (its first message) from or to `party`. */
export async function relaysRequestFor(
  pool: pg.Pool,
  reqId: string,
  party: string,
): Promise<boolean> {
  const { rows } = await pool.query(
    `SELECT 1 FROM relayed_messages
      WHERE req_id = $1 AND kind = 'request' AND (iss = $2 OR aud = $2) LIMIT 1`,
    [reqId, party],
  );
  return rows.length > 0;
}

/**
 * The token of the request (its first message) this mediator relayed with this id from
 * `requester` to `responder`, if any: its `request_type` is in clear even when sealed.
 */
export async function relayedRequestToken(
  pool: pg.Pool,
  reqId: string,
  between: { requester: string; responder: string },
): Promise<string | undefined> {
  const { rows } = await pool.query<{ token: string }>(
    `SELECT token FROM relayed_messages
      WHERE req_id = $1 AND kind = 'request' AND iss = $2 AND aud = $3
      ORDER BY received_at LIMIT 1`,
    [reqId, between.requester, between.responder],
  );
  return rows[0]?.token;
}

/** A relayed message with its token and the recipient's receipt, for M's view of its request. */
export interface RelayedTokenRow {
  req_id: string;
  digest: string;
  token: string;
  received_at: Date;
  partner_receipt_token: string | null;
  partner_status: number | null;
  last_error: string | null;
}

/** Every message M relayed about these requests. */
export async function relayedOfRequests(
  pool: pg.Pool,
  reqIds: readonly string[],
): Promise<RelayedTokenRow[]> {
  const { rows } = await pool.query<RelayedTokenRow>(
    `SELECT req_id, digest, token, received_at, partner_receipt_token, partner_status, last_error
       FROM relayed_messages WHERE req_id = ANY($1::text[]) AND kind <> 'receipt'
      ORDER BY received_at, digest`,
    [reqIds],
  );
  return rows;
}

/** The requests M relays messages about, the most recently active first. */
export async function mediatedRequestIds(pool: pg.Pool, limit: number): Promise<string[]> {
  const { rows } = await pool.query<{ req_id: string }>(
    `SELECT req_id FROM relayed_messages WHERE req_id IS NOT NULL GROUP BY req_id
      ORDER BY max(GREATEST(received_at, COALESCE(partner_received_at, received_at))) DESC
      LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.req_id);
}
