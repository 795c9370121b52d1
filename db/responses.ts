// Queries on the bodies of the messages exchanged about a request, ours (outbox) and the
// partner's (inbox) together, for the checks and views of domain/responses.ts.
import type pg from 'pg';
import type { MessageKind } from '../schemas/envelope.js';
import type { ExchangedMessage, ResponseBody } from '../schemas/requests-api.js';

/**
 * The responses of a request this node holds, oldest first: sent (outbox) or received (inbox).
 * Erased ones (their body removed) are not among them.
 */
export async function storedResponses(
  pool: pg.Pool,
  reqId: string,
): Promise<{ msg_id: string; body: ResponseBody }[]> {
  const { rows } = await pool.query<{ msg_id: string; body: ResponseBody }>(
    `SELECT msg_id, payload->'body' AS body, at FROM (
       SELECT msg_id, payload, created_at AS at FROM outbox_messages WHERE req_id = $1 AND kind = 'response'
       UNION ALL
       SELECT msg_id, payload, received_at AS at FROM inbox_messages WHERE req_id = $1 AND kind = 'response'
     ) r WHERE payload ? 'body' ORDER BY at, msg_id`,
    [reqId],
  );
  return rows;
}

/** An exchanged message with its body, as stored. */
export type ExchangedMessageRow = Omit<ExchangedMessage, 'at'> & { at: Date };

/**
 * The messages of the given kinds about a request, ours and the partner's, oldest first. Erased
 * ones (their body removed) are not among them.
 */
export async function exchangedMessagesOf(
  pool: pg.Pool,
  reqId: string,
  kinds: readonly MessageKind[],
): Promise<ExchangedMessageRow[]> {
  const { rows } = await pool.query<ExchangedMessageRow>(
    `SELECT msg_id AS "msgId", kind, origin AS "from", payload->'body' AS body, at FROM (
       SELECT msg_id, kind, 'us' AS origin, payload, created_at AS at FROM outbox_messages
         WHERE req_id = $1 AND kind = ANY($2)
       UNION ALL
       SELECT msg_id, kind, 'partner' AS origin, payload, received_at AS at FROM inbox_messages
         WHERE req_id = $1 AND kind = ANY($2)
     ) m WHERE payload ? 'body' ORDER BY at, msg_id`,
    [reqId, kinds],
  );
  return rows;
}
