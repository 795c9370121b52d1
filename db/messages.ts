// Queries on stored messages: the inbox (what verified, with our receipt), the outbox (what we
// signed, with its delivery state and the partner's receipt), and the rejection log.
import type pg from 'pg';
import type { MessageKind, Payload } from '../schemas/envelope.js';
import { digestOfInput } from '../protocol/digest.js';
import { appendAudit } from './audit.js';
import { withSessionLock } from './singleton.js';
import { withTransaction } from './transaction.js';
import { claimedString } from '../protocol/claims.js';

type Queryable = pg.Pool | pg.PoolClient;

/**
 * Names the conversation locks among Postgres advisory locks. Each request's lock is the two-int
 * key (CONVERSATION_LOCK_NAMESPACE, hashtext(req_id)); the two-int key space never meets the
 * one-bigint keys (migrations, the relay). Two req_ids that hash alike merely wait for each other.
 */
export const CONVERSATION_LOCK_NAMESPACE = 7_302_116;
/** The one-bigint advisory lock of the replica running a relay pass (see withRelayLock). */
export const RELAY_LOCK = 7_302_115;

/**
 * Runs `fn` in one transaction holding the request's conversation lock (released at commit or
 * rollback). Storing a partner's message about the request (with its receipt) and signing one of
 * ours about it both run under it, so each sees exactly what the other had stored: our messages
 * carry `seen` = the partner's messages stored at that moment, our receipts `sent` = ours signed.
 * Everything inside must go through `client`: a second pooled connection could wait for the pool
 * while the connections it waits for wait for this lock.
 */
export async function withConversationLock<T>(
  pool: pg.Pool,
  reqId: string,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return withTransaction(pool, async (client) => {
    await client.query({
      name: 'conversation_lock', // prepared once per connection, as audit_stage (db/audit.ts)
      text: 'SELECT pg_advisory_xact_lock($1, hashtext($2))',
      values: [CONVERSATION_LOCK_NAMESPACE, reqId],
    });
    return fn(client);
  });
}

/**
 * How many messages about a request each side has: `fromPartner` stored here from `partner`,
 * `own` signed here for it (receipts are not part of the conversation). Held messages (waiting for
 * their attachments) count: they are stored and receipted.
 */
export async function conversationCounts(
  db: Queryable,
  reqId: string,
  partner: string,
): Promise<{ fromPartner: number; own: number }> {
  const { rows } = await db.query<{ from_partner: number; own: number }>(
    `SELECT (SELECT count(*)::int FROM inbox_messages
             WHERE req_id = $1 AND iss = $2 AND kind <> 'receipt') AS from_partner,
            (SELECT count(*)::int FROM outbox_messages
             WHERE req_id = $1 AND aud = $2 AND kind <> 'receipt'
               AND status IN ('pending', 'delivered')) AS own`,
    [reqId, partner],
  );
  return { fromPartner: rows[0]!.from_partner, own: rows[0]!.own };
}

/** A partner's stored message about a request, in its conversation order. */
export interface PartnerMessageRow {
  msg_id: string;
  digest: string;
  kind: MessageKind;
  seq: number;
  seen: number;
  sent_at: Date;
  received_at: Date;
  body: Record<string, unknown>;
}

/** The partner's stored messages about a request after the first `seen` of them, by seq. */
export async function partnerMessagesAfter(
  db: Queryable,
  reqId: string,
  partner: string,
  seen: number,
): Promise<PartnerMessageRow[]> {
  const { rows } = await db.query<PartnerMessageRow>(
    `SELECT msg_id, digest, kind, seq, seen, sent_at, received_at, payload -> 'body' AS body
     FROM inbox_messages
     WHERE req_id = $1 AND iss = $2 AND kind <> 'receipt' AND seq > $3
     ORDER BY seq`,
    [reqId, partner, seen],
  );
  return rows;
}

export interface InboxRow {
  digest: string;
  iss: string;
  msg_id: string;
  kind: MessageKind;
  req_id: string | null;
  kid: string;
  token: string;
  payload: Payload;
  received_at: Date;
  via: 'online' | 'import';
  receipt_token: string;
  receipt_digest: string;
  dispatched_at: Date | null;
  /** Conversation order (migration 0011); null on receipts. */
  seq: number | null;
  seen: number | null;
  sent_at: Date;
}

export interface NewInboxMessage {
  digest: string;
  iss: string;
  msgId: string;
  kind: MessageKind;
  reqId: string | null;
  kid: string;
  token: string;
  payload: Payload;
  receivedAt: Date;
  via: 'online' | 'import';
  receiptToken: string;
  receiptDigest: string;
  /** The effective conversation order (null on receipts) and the sender's first signing time. */
  seq: number | null;
  seen: number | null;
  sentAt: Date;
  /** The digest of the mediator's relay receipt it came with, kept beside it (logged with it). */
  relayReceiptDigest?: string | undefined;
  /** The mediator that signed it. */
  relayedBy?: string | undefined;
}

/**
 * Stores a verified message and logs it, with the receipt signed for it, in the audit log, within
 * the caller's transaction; false when its digest or (iss, msg_id) is already stored.
 */
export async function insertInboxMessage(
  client: pg.PoolClient,
  m: NewInboxMessage,
): Promise<boolean> {
  const { rowCount } = await client.query({
    name: 'insert_inbox_message', // prepared once per connection, as audit_stage (db/audit.ts)
    text: `INSERT INTO inbox_messages (digest, iss, msg_id, kind, req_id, kid, token, payload, received_at, via,
       receipt_token, receipt_digest, seq, seen, sent_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT DO NOTHING`,
    values: [
      m.digest,
      m.iss,
      m.msgId,
      m.kind,
      m.reqId,
      m.kid,
      m.token,
      JSON.stringify(m.payload),
      m.receivedAt,
      m.via,
      m.receiptToken,
      m.receiptDigest,
      m.seq,
      m.seen,
      m.sentAt,
    ],
  });
  if (rowCount !== 1) return false;
  await appendAudit(client, [
    {
      type: 'message_received',
      digest: m.digest,
      msg_id: m.msgId,
      kind: m.kind,
      req_id: m.reqId,
      iss: m.iss,
      kid: m.kid,
      via: m.via,
      ...(m.relayReceiptDigest
        ? { relay_receipt_digest: m.relayReceiptDigest, relayed_by: m.relayedBy }
        : {}),
    },
    { type: 'receipt_signed', digest: m.receiptDigest, for_digest: m.digest },
  ]);
  return true;
}

/** The stored message a replay collides with: same digest, or same sender and msg_id. */
export async function findInboxConflict(
  db: Queryable,
  digest: string,
  iss: string,
  msgId: string,
): Promise<InboxRow | undefined> {
  const { rows } = await db.query<InboxRow>(
    'SELECT * FROM inbox_messages WHERE digest = $1 OR (iss = $2 AND msg_id = $3) LIMIT 1',
    [digest, iss, msgId],
  );
  return rows[0];
}

export async function getInboxMessage(
  pool: pg.Pool,
  digest: string,
): Promise<InboxRow | undefined> {
  const { rows } = await pool.query<InboxRow>('SELECT * FROM inbox_messages WHERE digest = $1', [
    digest,
  ]);
  return rows[0];
}

export async function markDispatched(pool: pg.Pool, digest: string): Promise<void> {
  await pool.query({
    name: 'mark_dispatched',
    text: 'UPDATE inbox_messages SET dispatched_at = now() WHERE digest = $1 AND dispatched_at IS NULL',
    values: [digest],
  });
}

/** Receipts this node signed for messages from a party that came by file, to carry back. */
export async function importedReceiptsFrom(pool: pg.Pool, iss: string): Promise<string[]> {
  const { rows } = await pool.query<{ receipt_token: string }>(
    "SELECT receipt_token FROM inbox_messages WHERE iss = $1 AND via = 'import' ORDER BY received_at",
    [iss],
  );
  return rows.map((r) => r.receipt_token);
}

/** One refusal as kept in the sample (`inbox_rejections`): its digest and code, never the input. */
export interface Rejection {
  digest: string;
  code: string;
  via: string;
  /** The sender's address key (see exchange/refusal-limit.ts), `import` for bundle files. */
  source: string;
}

/**
 * Adds a refusal to the sample and drops what falls out of the newest `keep` rows, in one
 * statement that never takes the audit lock. With `leaf`, the refusal is also appended to the
 * audit log, in the same transaction (refusals of a fresh statement of a party; see
 * exchange/refusals.ts).
 */
export async function logRejection(
  pool: pg.Pool,
  r: Rejection,
  opts: { keep: number; leaf: boolean },
): Promise<void> {
  const insert = (db: Queryable) =>
    db.query(
      `WITH added AS (
         INSERT INTO inbox_rejections (digest, code, via, source) VALUES ($1, $2, $3, $4)
         RETURNING id)
       DELETE FROM inbox_rejections WHERE id <= (SELECT id FROM added) - $5`,
      [r.digest, r.code, r.via, r.source, opts.keep],
    );
  if (!opts.leaf) {
    await insert(pool);
    return;
  }
  await withTransaction(pool, async (client) => {
    await insert(client);
    await appendAudit(client, [{ type: 'rejected', digest: r.digest, code: r.code, via: r.via }]);
  });
}

/** Refusals of one code from one source in one minute; `limited` of them were answered 429. */
export interface RejectionCount {
  minute: Date;
  source: string;
  code: string;
  refused: number;
  limited: number;
}

/**
 * Adds counts to `inbox_rejection_counts` in one statement (rows in key order, so two replicas
 * adding at once never deadlock), and drops minutes older than `retainSince` when given.
 */
export async function addRejectionCounts(
  pool: pg.Pool,
  counts: readonly RejectionCount[],
  retainSince?: Date,
): Promise<void> {
  const rows = [...counts].sort(
    (a, b) =>
      a.minute.getTime() - b.minute.getTime() ||
      a.source.localeCompare(b.source) ||
      a.code.localeCompare(b.code),
  );
  if (rows.length)
    await pool.query(
      `INSERT INTO inbox_rejection_counts (minute, source, code, refused, limited)
       SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
       ON CONFLICT (minute, source, code) DO UPDATE
         SET refused = inbox_rejection_counts.refused + excluded.refused,
             limited = inbox_rejection_counts.limited + excluded.limited`,
      [
        rows.map((r) => r.minute),
        rows.map((r) => r.source),
        rows.map((r) => r.code),
        rows.map((r) => r.refused),
        rows.map((r) => r.limited),
      ],
    );
  if (retainSince)
    await pool.query('DELETE FROM inbox_rejection_counts WHERE minute < $1', [retainSince]);
}

/** Counts of refusals since `since`, per minute, source and code, oldest first. */
export async function rejectionCountsSince(db: Queryable, since: Date): Promise<RejectionCount[]> {
  const { rows } = await db.query<RejectionCount>(
    `SELECT minute, source, code, refused::int AS refused, limited::int AS limited
     FROM inbox_rejection_counts WHERE minute >= $1 ORDER BY minute, source, code`,
    [since],
  );
  return rows;
}

/** The newest refusals of the sample, newest first. */
export async function recentRejections(
  db: Queryable,
  limit: number,
): Promise<(Rejection & { at: Date })[]> {
  const { rows } = await db.query<Rejection & { at: Date }>(
    `SELECT at, digest, code, via, coalesce(source, 'unknown') AS source
     FROM inbox_rejections ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return rows;
}

export interface OutboxRow {
  msg_id: string;
  aud: string;
  kind: MessageKind;
  req_id: string | null;
  payload: Payload;
  digest: string;
  token: string;
  created_at: Date;
  status: 'pending' | 'delivered' | 'rejected' | 'abandoned';
  attempts: number;
  last_attempt_at: Date | null;
  last_error: string | null;
  delivered_at: Date | null;
  delivered_via: 'online' | 'import' | null;
  receipt_token: string | null;
  receipt_digest: string | null;
  receipt_received_at: Date | null;
  /** The message's place among ours about the request, and the partner's messages we held. */
  seq: number | null;
  seen: number | null;
  /** How many messages about the request the partner had signed when it stored ours (receipt). */
  receipt_sent: number | null;
  /** The mediator's relay receipt of it, when it went through one (the first one kept). */
  relay_receipt_token: string | null;
}

export interface NewOutboxMessage {
  msgId: string;
  aud: string;
  kind: MessageKind;
  reqId: string | null;
  payload: Payload;
  digest: string;
  token: string;
  /** Its place in the conversation: the payload's `seq`, else the position it was signed at. */
  seq?: number | null;
}

/** Stores a signed message of ours and its first version, and logs it, in the caller's transaction. */
export async function insertOutboxRows(client: pg.PoolClient, m: NewOutboxMessage): Promise<void> {
  const order = m.payload.kind === 'receipt' ? undefined : m.payload;
  await client.query(
    `INSERT INTO outbox_messages (msg_id, aud, kind, req_id, payload, digest, token, seq, seen)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      m.msgId,
      m.aud,
      m.kind,
      m.reqId,
      JSON.stringify(m.payload),
      m.digest,
      m.token,
      order?.seq ?? m.seq ?? null,
      order?.seen ?? null,
    ],
  );
  await client.query('INSERT INTO outbox_versions (digest, msg_id, token) VALUES ($1, $2, $3)', [
    m.digest,
    m.msgId,
    m.token,
  ]);
  await appendAudit(client, [
    {
      type: 'message_sent',
      digest: m.digest,
      msg_id: m.msgId,
      kind: m.kind,
      req_id: m.reqId,
      aud: m.aud,
    },
  ]);
}

export async function insertOutboxMessage(pool: pg.Pool, m: NewOutboxMessage): Promise<void> {
  await withTransaction(pool, (client) => insertOutboxRows(client, m));
}

/** Replaces the current token of a pending message by a re-signed version (same msg_id). */
export async function addOutboxVersion(
  pool: pg.Pool,
  msgId: string,
  v: { digest: string; token: string; payload: Payload },
): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query('INSERT INTO outbox_versions (digest, msg_id, token) VALUES ($1, $2, $3)', [
      v.digest,
      msgId,
      v.token,
    ]);
    await client.query(
      "UPDATE outbox_messages SET digest = $2, token = $3, payload = $4 WHERE msg_id = $1 AND status = 'pending'",
      [msgId, v.digest, v.token, JSON.stringify(v.payload)],
    );
    await appendAudit(client, [{ type: 'message_resigned', digest: v.digest, msg_id: msgId }]);
  });
}

/** Our live message (pending or delivered) about a request at conversation place `seq`, if any. */
export async function ownMessageAt(
  db: Queryable,
  reqId: string,
  partner: string,
  seq: number,
): Promise<OutboxRow | undefined> {
  const { rows } = await db.query<OutboxRow>(
    `SELECT * FROM outbox_messages
     WHERE req_id = $1 AND aud = $2 AND kind <> 'receipt' AND status IN ('pending', 'delivered')
       AND seq = $3
     LIMIT 1`,
    [reqId, partner, seq],
  );
  return rows[0];
}

export async function getOutboxMessage(
  db: Queryable,
  msgId: string,
): Promise<OutboxRow | undefined> {
  const { rows } = await db.query<OutboxRow>('SELECT * FROM outbox_messages WHERE msg_id = $1', [
    msgId,
  ]);
  return rows[0];
}

export async function outboxVersionDigests(pool: pg.Pool, msgId: string): Promise<string[]> {
  const { rows } = await pool.query<{ digest: string }>(
    'SELECT digest FROM outbox_versions WHERE msg_id = $1',
    [msgId],
  );
  return rows.map((r) => r.digest);
}

export async function listOutbox(
  pool: pg.Pool,
  filter: { status?: string | undefined; aud?: string | undefined; limit: number },
): Promise<OutboxRow[]> {
  const { rows } = await pool.query<OutboxRow>(
    `SELECT * FROM outbox_messages WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR aud = $2)
     ORDER BY created_at LIMIT $3`,
    [filter.status ?? null, filter.aud ?? null, filter.limit],
  );
  return rows;
}

export async function recordAttempt(
  pool: pg.Pool,
  msgId: string,
  error: string | null,
): Promise<void> {
  await pool.query(
    'UPDATE outbox_messages SET attempts = attempts + 1, last_attempt_at = now(), last_error = $2 WHERE msg_id = $1',
    [msgId, error],
  );
}

/**
 * Marks a message delivered with the partner's receipt and logs the receipt; idempotent (first
 * receipt wins, and only it is logged).
 */
export async function markDelivered(
  pool: pg.Pool,
  msgId: string,
  r: {
    receiptToken: string;
    receiptDigest: string;
    /** The digest of our message the receipt names. */
    forDigest: string;
    receivedAt: Date;
    via: 'online' | 'import';
    /** The receipt's `sent`, when the partner gives it. */
    partnerSent?: number | undefined;
  },
): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      `UPDATE outbox_messages SET status = 'delivered', delivered_at = now(), delivered_via = $5,
         receipt_token = $2, receipt_digest = $3, receipt_received_at = $4, receipt_sent = $6
       WHERE msg_id = $1 AND status = 'pending'`,
      [msgId, r.receiptToken, r.receiptDigest, r.receivedAt, r.via, r.partnerSent ?? null],
    );
    if (rowCount !== 1) return;
    // Through a mediator: the relay receipt kept for the message is named in the same entry, so
    // an evidence bundle cannot pass the message off as exchanged directly.
    const { rows } = await client.query<{ relay_receipt_token: string | null }>(
      'SELECT relay_receipt_token FROM outbox_messages WHERE msg_id = $1',
      [msgId],
    );
    const relay = rows[0]?.relay_receipt_token;
    await appendAudit(client, [
      {
        type: 'receipt_received',
        digest: r.receiptDigest,
        msg_id: msgId,
        for_digest: r.forDigest,
        received_at: r.receivedAt.toISOString(),
        via: r.via,
        ...(relay
          ? { relay_receipt_digest: digestOfInput(relay), relayed_by: issuerOfToken(relay) }
          : {}),
      },
    ]);
  });
}

export async function markRejected(pool: pg.Pool, msgId: string, code: string): Promise<void> {
  await pool.query(
    "UPDATE outbox_messages SET status = 'rejected', last_error = $2 WHERE msg_id = $1 AND status = 'pending'",
    [msgId, code],
  );
}

/**
 * Marks pending messages of ours as abandoned: never to be sent (an earlier one was refused), their
 * places in the conversation free again. Idempotent.
 */
export async function markAbandoned(
  pool: pg.Pool,
  msgIds: readonly string[],
  reason: string,
): Promise<void> {
  await pool.query(
    "UPDATE outbox_messages SET status = 'abandoned', last_error = $2 WHERE msg_id = ANY($1) AND status = 'pending'",
    [msgIds, reason],
  );
}

/** Whether any stored message (ours or theirs) has this msg_id, and its digests. */
export async function digestsOfMessage(pool: pg.Pool, msgId: string): Promise<string[]> {
  const { rows } = await pool.query<{ digest: string }>(
    'SELECT digest FROM outbox_versions WHERE msg_id = $1 UNION ALL SELECT digest FROM inbox_messages WHERE msg_id = $1',
    [msgId],
  );
  return rows.map((r) => r.digest);
}

/**
 * Whether a request with this id exists between this node and `party`: one we sent them (read
 * model), or one they sent us (its request message is stored before its workflow records it).
 */
export async function requestKnownWith(
  pool: pg.Pool,
  reqId: string,
  party: string,
): Promise<boolean> {
  const { rows } = await pool.query<{ known: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM requests WHERE req_id = $1 AND counterparty = $2)
         OR EXISTS (SELECT 1 FROM inbox_messages WHERE kind = 'request' AND req_id = $1 AND iss = $2) AS known`,
    [reqId, party],
  );
  return rows[0]?.known ?? false;
}

/**
 * The partner of a request this node holds, and the mediator its messages go through (null:
 * directly): the one its signed request names (README, _A mediator per request_), else the one the
 * registry names for the partner (`via`); undefined for an unknown request.
 */
export async function requestPartnerAndMediator(
  pool: pg.Pool,
  reqId: string,
): Promise<{ partner: string; via: string | null } | undefined> {
  const { rows } = await pool.query<{ partner: string; via_party: string | null }>(
    `WITH partner AS (
       SELECT counterparty AS party_id FROM requests WHERE req_id = $1
       UNION SELECT iss FROM inbox_messages WHERE kind = 'request' AND req_id = $1
     ), named AS (
       SELECT payload->'body'->>'mediator' AS mediator
         FROM outbox_messages WHERE kind = 'request' AND req_id = $1
       UNION ALL SELECT payload->'body'->>'mediator'
         FROM inbox_messages WHERE kind = 'request' AND req_id = $1
     )
     SELECT p.party_id AS partner,
            COALESCE((SELECT mediator FROM named WHERE mediator IS NOT NULL LIMIT 1), p.via_party)
              AS via_party
       FROM partner JOIN parties p USING (party_id) LIMIT 1`,
    [reqId],
  );
  return rows[0] ? { partner: rows[0].partner, via: rows[0].via_party } : undefined;
}

/** The start of a pause the mediator sent about a request, as stored; undefined if none. */
export async function mediatorPauseFrom(
  pool: pg.Pool,
  reqId: string,
  mediator: string,
  pauseId: string,
): Promise<string | undefined> {
  const { rows } = await pool.query<{ from: string }>(
    `SELECT payload->'body'->>'from' AS from FROM inbox_messages
      WHERE req_id = $1 AND iss = $2 AND kind = 'mediation'
        AND payload->'body'->>'action' = 'pause' AND payload->'body'->>'pause_id' = $3`,
    [reqId, mediator, pauseId],
  );
  return rows[0]?.from;
}

/** Whether this node already holds a request with this id, in either direction. */
export async function requestIdTaken(pool: pg.Pool, reqId: string): Promise<boolean> {
  const { rows } = await pool.query<{ taken: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM requests WHERE req_id = $1)
         OR EXISTS (SELECT 1 FROM inbox_messages WHERE kind = 'request' AND req_id = $1) AS taken`,
    [reqId],
  );
  return rows[0]?.taken ?? false;
}

/** Stored messages not yet handed to their workflow, oldest first. */
export async function undispatchedMessages(pool: pg.Pool, limit = 1000): Promise<InboxRow[]> {
  const { rows } = await pool.query<InboxRow>(
    'SELECT * FROM inbox_messages WHERE dispatched_at IS NULL ORDER BY received_at, digest LIMIT $1',
    [limit],
  );
  return rows;
}

/**
 * Stored messages not yet handed to their workflow (held ones, waiting for attachments, included):
 * how many, and when the oldest arrived.
 */
export async function inboxBacklog(
  db: Queryable,
): Promise<{ undispatched: number; oldestReceivedAt: Date | null }> {
  const { rows } = await db.query<{ n: number; oldest: Date | null }>(
    'SELECT count(*)::int AS n, min(received_at) AS oldest FROM inbox_messages WHERE dispatched_at IS NULL',
  );
  return { undispatched: rows[0]?.n ?? 0, oldestReceivedAt: rows[0]?.oldest ?? null };
}

/**
 * Runs `fn` only if no other process holds the relay lock (a session advisory lock on a connection
 * of its own, released when `fn` settles); `{ held: false }` when another replica has it. A pool of
 * one connection (embedded PGlite, whose process is the only one on its database) cannot hold it
 * while `fn` queries, so there `fn` runs without it.
 */
export function withRelayLock<T>(
  pool: pg.Pool,
  fn: () => Promise<T>,
): Promise<{ held: true; value: T } | { held: false }> {
  return withSessionLock(pool, RELAY_LOCK, fn);
}

/** The `iss` a token this node verified before keeping it claims. */
function issuerOfToken(token: string): string | undefined {
  return claimedString(token, 'iss');
}
