// Queries the evidence bundle (audit/bundle.ts) reads: the envelopes of one request exchanged
// both ways, as stored, with the receipts that go with them.
import type pg from 'pg';

/** A version of one of our messages as signed, with the partner's receipt for the message. */
export interface SentEnvelopeRow {
  digest: string;
  token: string | null;
  receipt_token: string | null;
  receipt_digest: string | null;
  /** The mediator's relay receipt for the message, when it went through one. */
  relay_receipt_token: string | null;
}

/** A partner's message as received (receipts excluded), with the receipt we signed for it. */
export interface ReceivedEnvelopeRow {
  digest: string;
  token: string | null;
  receipt_token: string | null;
  receipt_digest: string;
  /** The mediator's relay receipt the message came with, when it came through one. */
  relay_receipt_token: string | null;
}

/** Every version of every message we signed about the request, in signing order. */
export async function sentEnvelopesOf(pool: pg.Pool, reqId: string): Promise<SentEnvelopeRow[]> {
  const { rows } = await pool.query<SentEnvelopeRow>(
    `SELECT v.digest, v.token, m.receipt_token, m.receipt_digest, m.relay_receipt_token
     FROM outbox_versions v JOIN outbox_messages m USING (msg_id)
     WHERE m.req_id = $1 ORDER BY v.signed_at, v.digest`,
    [reqId],
  );
  return rows;
}

/** The partner's messages about the request (not its receipts), in the order received. */
export async function receivedEnvelopesOf(
  pool: pg.Pool,
  reqId: string,
): Promise<ReceivedEnvelopeRow[]> {
  const { rows } = await pool.query<ReceivedEnvelopeRow>(
    `SELECT digest, token, receipt_token, receipt_digest, relay_receipt_token FROM inbox_messages
     WHERE req_id = $1 AND kind <> 'receipt' ORDER BY received_at, digest`,
    [reqId],
  );
  return rows;
}
