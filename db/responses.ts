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

/** A response of an identification request with its envelope's digest, signer and signing time. */
export interface IdentificationResponseRow {
  req_id: string;
  msg_id: string;
  digest: string;
  signed_by: string;
  signed_at: Date;
  body: { records?: unknown };
}

/**
 * The responses both parties hold of every identification request with a record whose consent
 * scope is `publication` in any of them: received (the partner signed them and this node took
 * them), or sent and receipted by the partner. A response still on its way, or refused, is not
 * yet the partner's too; erased ones have no body left. All of such a request's responses, since
 * a later one can take a record's consent back (domain/publication.ts).
 */
export async function heldIdentificationResponses(
  pool: pg.Pool,
): Promise<IdentificationResponseRow[]> {
  const { rows } = await pool.query<IdentificationResponseRow>(
    `WITH held AS (
       SELECT o.req_id, o.msg_id, o.digest, o.payload->>'iss' AS signed_by,
              to_timestamp(COALESCE(o.payload->>'sent_at', o.payload->>'iat')::double precision)
                AS signed_at, o.payload
         FROM outbox_messages o
        WHERE o.kind = 'response' AND o.status = 'delivered' AND o.payload ? 'body'
       UNION ALL
       SELECT i.req_id, i.msg_id, i.digest, i.iss AS signed_by,
              to_timestamp(COALESCE(i.payload->>'sent_at', i.payload->>'iat')::double precision)
                AS signed_at, i.payload
         FROM inbox_messages i
        WHERE i.kind = 'response' AND i.payload ? 'body'
     ), identification AS (
       SELECT h.* FROM held h JOIN requests q ON q.req_id = h.req_id
        WHERE q.request_type = 'identification_result'
     )
     SELECT req_id, msg_id, digest, signed_by, signed_at, payload->'body' AS body
       FROM identification
      WHERE req_id IN (
        SELECT req_id FROM identification
         WHERE EXISTS (
           SELECT 1 FROM jsonb_array_elements(
             CASE WHEN jsonb_typeof(payload->'body'->'records') = 'array'
                  THEN payload->'body'->'records' ELSE '[]'::jsonb END) AS r
            WHERE r->'consent'->>'scope' = 'publication'))
      ORDER BY signed_at, msg_id`,
  );
  return rows;
}
