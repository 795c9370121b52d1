// A mediator's notices to the parties (db/migrations/0024_mediator_notices.sql): stored with their
// audit entries and a new look of the watch in one transaction; delivered in order per request and
// party.
import type pg from 'pg';
import { appendAudit } from './audit.js';
import { watchNow } from './mediator.js';
import { withTransaction } from './transaction.js';

export type NoticeAction = 'reminder' | 'pause' | 'resume';
export type NoticeState = 'pending' | 'delivered' | 'refused' | 'given_up';

export interface NoticeRow {
  msg_id: string;
  digest: string;
  req_id: string;
  aud: string;
  action: NoticeAction;
  pause_id: string | null;
  at: Date | null;
  deadline: 'acknowledgement' | 'response' | null;
  /** A pause: the digests of the parties' consents it carries. */
  consents: string[];
  token: string;
  created_by: string;
  created_at: Date;
  state: NoticeState;
  receipt_token: string | null;
  received_at: Date | null;
  code: string | null;
  attempts: number;
  next_at: Date;
}

export type NewNotice = Pick<
  NoticeRow,
  | 'msg_id'
  | 'digest'
  | 'req_id'
  | 'aud'
  | 'action'
  | 'pause_id'
  | 'at'
  | 'deadline'
  | 'consents'
  | 'token'
>;

const COLUMNS =
  'msg_id, digest, req_id, aud, action, pause_id, at, deadline, consents, token, created_by, created_at, state, receipt_token, received_at, code, attempts, next_at';

type Queryable = pg.Pool | pg.PoolClient;

/**
 * Stores signed notices (each party's copy), logs them as sent, and has the watch look again,
 * within the caller's transaction (which holds the request's lock: `sendNotice`).
 */
export async function insertNotices(
  client: pg.PoolClient,
  notices: readonly NewNotice[],
  actor: string,
  now: Date,
): Promise<void> {
  for (const n of notices) {
    await client.query(
      `INSERT INTO mediator_notices (msg_id, digest, req_id, aud, action, pause_id, at, deadline,
         token, created_by, created_at, next_at, consents)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)`,
      [
        n.msg_id,
        n.digest,
        n.req_id,
        n.aud,
        n.action,
        n.pause_id,
        n.at,
        n.deadline,
        n.token,
        actor,
        now,
        n.consents,
      ],
    );
  }
  await appendAudit(
    client,
    notices.map((n) => ({
      type: 'message_sent' as const,
      digest: n.digest,
      msg_id: n.msg_id,
      kind: 'mediation' as const,
      req_id: n.req_id,
      aud: n.aud,
    })),
    now,
  );
  for (const reqId of new Set(notices.map((n) => n.req_id))) await watchNow(client, reqId);
}

/** The notices about these requests, in the order they were signed. */
export async function noticesOfRequests(
  pool: Queryable,
  reqIds: readonly string[],
): Promise<NoticeRow[]> {
  if (reqIds.length === 0) return [];
  const { rows } = await pool.query<NoticeRow>(
    `SELECT ${COLUMNS} FROM mediator_notices WHERE req_id = ANY($1::text[]) ORDER BY n`,
    [reqIds],
  );
  return rows;
}

/**
 * The notices to deliver now: per request and party, the first still pending, if its time has
 * come (a later one never overtakes it).
 */
export async function dueNotices(pool: pg.Pool, now: Date, limit: number): Promise<NoticeRow[]> {
  const { rows } = await pool.query<NoticeRow>(
    `SELECT * FROM (
       SELECT DISTINCT ON (req_id, aud) ${COLUMNS} FROM mediator_notices
        WHERE state = 'pending' ORDER BY req_id, aud, n
     ) first WHERE next_at <= $1 ORDER BY next_at LIMIT $2`,
    [now, limit],
  );
  return rows;
}

/** A notice signed again past its lifetime (same msg_id, new digest), logged as re-signed. */
export async function resignNotice(
  pool: pg.Pool,
  msgId: string,
  signed: { token: string; digest: string },
): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query('UPDATE mediator_notices SET token = $2, digest = $3 WHERE msg_id = $1', [
      msgId,
      signed.token,
      signed.digest,
    ]);
    await appendAudit(client, [{ type: 'message_resigned', digest: signed.digest, msg_id: msgId }]);
  });
}

/** What one delivery attempt came to. */
export type NoticeOutcome =
  | { state: 'delivered'; receiptToken: string; receiptDigest: string; receivedAt: Date }
  | { state: 'refused' | 'given_up'; code: string }
  | { state: 'pending'; code: string; nextAt: Date };

/** Records an attempt's outcome (a receipt is logged), and has the watch look again. */
export async function recordNoticeAttempt(
  pool: pg.Pool,
  notice: Pick<NoticeRow, 'msg_id' | 'digest' | 'req_id'>,
  outcome: NoticeOutcome,
): Promise<void> {
  await withTransaction(pool, async (client) => {
    const delivered = outcome.state === 'delivered';
    const { rowCount } = await client.query(
      `UPDATE mediator_notices SET attempts = attempts + 1, state = $2, code = $3,
         receipt_token = $4, received_at = $5, next_at = COALESCE($6, next_at)
       WHERE msg_id = $1 AND state = 'pending'`,
      [
        notice.msg_id,
        outcome.state,
        delivered ? null : outcome.code,
        delivered ? outcome.receiptToken : null,
        delivered ? outcome.receivedAt : null,
        outcome.state === 'pending' ? outcome.nextAt : null,
      ],
    );
    if (!rowCount) return;
    if (delivered)
      await appendAudit(client, [
        {
          type: 'receipt_received',
          digest: outcome.receiptDigest,
          msg_id: notice.msg_id,
          for_digest: notice.digest,
          received_at: outcome.receivedAt.toISOString(),
          via: 'online',
        },
      ]);
    if (outcome.state !== 'pending') await watchNow(client, notice.req_id);
  });
}

/** A party's consent to a pause, as the mediator holds it (its inbox stored and receipted it). */
export interface HeldConsent {
  req_id: string;
  msg_id: string;
  digest: string;
  iss: string;
  token: string;
  received_at: Date;
  /** A consent, or the withdrawal of the party's consents given before it. */
  action: 'consent' | 'withdraw_consent';
}

/**
 * The consents to a pause the parties sent about these requests, and their withdrawals, in the
 * order their parties signed them (by second, then by msg_id, a ULID of the signing instant): a
 * withdrawal signed before a consent does not end it, however late it came.
 */
export async function consentsHeld(
  pool: Queryable,
  reqIds: readonly string[],
): Promise<HeldConsent[]> {
  if (reqIds.length === 0) return [];
  const { rows } = await pool.query<HeldConsent>(
    `SELECT req_id, msg_id, digest, iss, token, received_at, payload->'body'->>'action' AS action
       FROM inbox_messages
      WHERE req_id = ANY($1::text[]) AND kind = 'mediation'
        AND payload->'body'->>'action' IN ('consent', 'withdraw_consent')
      ORDER BY (payload->>'iat')::bigint, msg_id`,
    [reqIds],
  );
  return rows;
}

/** Sends notices given up on again from now, with a fresh count of rounds. */
export async function requeueNotices(
  client: pg.PoolClient,
  msgIds: readonly string[],
): Promise<void> {
  await client.query(
    `UPDATE mediator_notices SET state = 'pending', attempts = 0, code = NULL, next_at = now()
      WHERE msg_id = ANY($1::text[]) AND state = 'given_up'`,
    [msgIds],
  );
}
