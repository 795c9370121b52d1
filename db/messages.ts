// Queries on stored messages: the inbox (what verified, with our receipt), the outbox (what we
// signed, with its delivery state and the partner's receipt), and the rejection log.
import type pg from 'pg';
import type { MessageKind, Payload } from '../schemas/envelope.js';
import { appendAudit } from './audit.js';
import { withTransaction } from './transaction.js';

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
}

/**
 * Stores a verified message and logs it, with the receipt signed for it, in the audit log; false
 * when its digest or (iss, msg_id) is already stored.
 */
export async function insertInboxMessage(pool: pg.Pool, m: NewInboxMessage): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      `INSERT INTO inbox_messages (digest, iss, msg_id, kind, req_id, kid, token, payload, received_at, via,
         receipt_token, receipt_digest)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT DO NOTHING`,
      [
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
      ],
    );
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
      },
      { type: 'receipt_signed', digest: m.receiptDigest, for_digest: m.digest },
    ]);
    return true;
  });
}

/** The stored message a replay collides with: same digest, or same sender and msg_id. */
export async function findInboxConflict(
  pool: pg.Pool,
  digest: string,
  iss: string,
  msgId: string,
): Promise<InboxRow | undefined> {
  const { rows } = await pool.query<InboxRow>(
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
  await pool.query(
    'UPDATE inbox_messages SET dispatched_at = now() WHERE digest = $1 AND dispatched_at IS NULL',
    [digest],
  );
}

/** Receipts this node signed for messages from a party that came by file, to carry back. */
export async function importedReceiptsFrom(pool: pg.Pool, iss: string): Promise<string[]> {
  const { rows } = await pool.query<{ receipt_token: string }>(
    "SELECT receipt_token FROM inbox_messages WHERE iss = $1 AND via = 'import' ORDER BY received_at",
    [iss],
  );
  return rows.map((r) => r.receipt_token);
}

export async function logRejection(
  pool: pg.Pool,
  r: { digest: string; code: string; via: string },
): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query('INSERT INTO inbox_rejections (digest, code, via) VALUES ($1, $2, $3)', [
      r.digest,
      r.code,
      r.via,
    ]);
    await appendAudit(client, [{ type: 'rejected', digest: r.digest, code: r.code, via: r.via }]);
  });
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
  status: 'pending' | 'delivered' | 'rejected';
  attempts: number;
  last_attempt_at: Date | null;
  last_error: string | null;
  delivered_at: Date | null;
  delivered_via: 'online' | 'import' | null;
  receipt_token: string | null;
  receipt_digest: string | null;
  receipt_received_at: Date | null;
}

export async function insertOutboxMessage(
  pool: pg.Pool,
  m: {
    msgId: string;
    aud: string;
    kind: MessageKind;
    reqId: string | null;
    payload: Payload;
    digest: string;
    token: string;
  },
): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO outbox_messages (msg_id, aud, kind, req_id, payload, digest, token)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [m.msgId, m.aud, m.kind, m.reqId, JSON.stringify(m.payload), m.digest, m.token],
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
  });
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

export async function getOutboxMessage(
  pool: pg.Pool,
  msgId: string,
): Promise<OutboxRow | undefined> {
  const { rows } = await pool.query<OutboxRow>('SELECT * FROM outbox_messages WHERE msg_id = $1', [
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
  },
): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      `UPDATE outbox_messages SET status = 'delivered', delivered_at = now(), delivered_via = $5,
         receipt_token = $2, receipt_digest = $3, receipt_received_at = $4
       WHERE msg_id = $1 AND status = 'pending'`,
      [msgId, r.receiptToken, r.receiptDigest, r.receivedAt, r.via],
    );
    if (rowCount !== 1) return;
    await appendAudit(client, [
      {
        type: 'receipt_received',
        digest: r.receiptDigest,
        msg_id: msgId,
        for_digest: r.forDigest,
        received_at: r.receivedAt.toISOString(),
        via: r.via,
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
