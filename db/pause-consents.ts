// A party's consents to a pause of both clocks by the request's mediator
// (db/migrations/0025_pause_consents.sql), logged as sent, and the mediator's receipt of each.
import type pg from 'pg';
import { appendAudit } from './audit.js';
import { withTransaction } from './transaction.js';

export interface ConsentRow {
  msg_id: string;
  digest: string;
  req_id: string;
  mediator: string;
  token: string;
  created_by: string;
  created_at: Date;
  receipt_token: string | null;
  received_at: Date | null;
  refused_code: string | null;
  /** A consent, or the withdrawal of the consents given before it. */
  action: 'consent' | 'withdraw_consent';
}

const COLUMNS =
  'msg_id, digest, req_id, mediator, token, created_by, created_at, receipt_token, received_at, refused_code, action';

/** Stores a signed consent (or its withdrawal) and logs it as sent to the mediator. */
export async function insertConsent(
  pool: pg.Pool,
  c: Pick<
    ConsentRow,
    'msg_id' | 'digest' | 'req_id' | 'mediator' | 'token' | 'created_by' | 'action'
  >,
  now: Date,
): Promise<void> {
  await withTransaction(pool, async (client) => {
    await client.query(
      `INSERT INTO pause_consents (msg_id, digest, req_id, mediator, token, created_by, created_at,
         action)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [c.msg_id, c.digest, c.req_id, c.mediator, c.token, c.created_by, now, c.action],
    );
    await appendAudit(
      client,
      [
        {
          type: 'message_sent',
          digest: c.digest,
          msg_id: c.msg_id,
          kind: 'mediation',
          req_id: c.req_id,
          aud: c.mediator,
        },
      ],
      now,
    );
  });
}

/**
 * The request's consents not yet carried by a pause this node took (`used`: the digests of
 * consents in the pauses it holds) nor withdrawn after, the newest first.
 */
export async function unusedConsents(
  pool: pg.Pool,
  reqId: string,
  used: readonly string[],
): Promise<ConsentRow[]> {
  const { rows } = await pool.query<ConsentRow>(
    `SELECT ${COLUMNS} FROM pause_consents c
      WHERE req_id = $1 AND refused_code IS NULL AND action = 'consent'
        AND NOT (digest = ANY($2::text[]))
        AND NOT EXISTS (SELECT 1 FROM pause_consents w
                         WHERE w.req_id = c.req_id AND w.mediator = c.mediator
                           AND w.action = 'withdraw_consent' AND w.refused_code IS NULL
                           AND w.created_at >= c.created_at)
      ORDER BY created_at DESC`,
    [reqId, used],
  );
  return rows;
}

/** Whether this node gave the consent with this digest, about this request. */
export async function gaveConsent(pool: pg.Pool, reqId: string, digest: string): Promise<boolean> {
  const { rows } = await pool.query(
    "SELECT 1 FROM pause_consents WHERE req_id = $1 AND digest = $2 AND action = 'consent'",
    [reqId, digest],
  );
  return rows.length > 0;
}

/** Records the mediator's answer: its receipt (logged) or its refusal. */
export async function recordConsentAnswer(
  pool: pg.Pool,
  c: Pick<ConsentRow, 'msg_id' | 'digest'>,
  answer:
    { receiptToken: string; receiptDigest: string; receivedAt: Date } | { refusedCode: string },
): Promise<void> {
  await withTransaction(pool, async (client) => {
    if ('refusedCode' in answer) {
      await client.query('UPDATE pause_consents SET refused_code = $2 WHERE msg_id = $1', [
        c.msg_id,
        answer.refusedCode,
      ]);
      return;
    }
    const { rowCount } = await client.query(
      `UPDATE pause_consents SET receipt_token = $2, received_at = $3
        WHERE msg_id = $1 AND receipt_token IS NULL`,
      [c.msg_id, answer.receiptToken, answer.receivedAt],
    );
    if (rowCount)
      await appendAudit(client, [
        {
          type: 'receipt_received',
          digest: answer.receiptDigest,
          msg_id: c.msg_id,
          for_digest: c.digest,
          received_at: answer.receivedAt.toISOString(),
          via: 'online',
        },
      ]);
  });
}

/** The consent tokens of the pauses the mediator sent this node about the request. */
export async function consentsInPauses(pool: pg.Pool, reqId: string): Promise<string[]> {
  const { rows } = await pool.query<{ token: string }>(
    `SELECT jsonb_array_elements_text(payload->'body'->'consents') AS token FROM inbox_messages
      WHERE req_id = $1 AND kind = 'mediation' AND payload->'body'->>'action' = 'pause'`,
    [reqId],
  );
  return rows.map((r) => r.token);
}

/** This node's consents about a request, the oldest first (an evidence bundle lists them). */
export async function consentsOfRequest(pool: pg.Pool, reqId: string): Promise<ConsentRow[]> {
  const { rows } = await pool.query<ConsentRow>(
    `SELECT ${COLUMNS} FROM pause_consents WHERE req_id = $1 ORDER BY created_at`,
    [reqId],
  );
  return rows;
}
