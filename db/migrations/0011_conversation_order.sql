-- Conversation order: each message about a request has a place among its sender's messages about
-- it (`seq`, the request is 1) and says how many of the other side's messages its sender held when
-- it signed (`seen`). The inbox stores the effective values (the payload's, or for a partner that
-- predates them, its arrival position and this node's count at that moment) and the sender's first
-- signing time; the outbox keeps what it signed and how many messages the partner had sent when it
-- stored ours (the receipt's `sent`). Both are written under the request's conversation lock (see
-- db/messages.ts), so the positions are dense and never reused: the unique indexes hold Postgres to
-- it.

ALTER TABLE inbox_messages
  ADD COLUMN seq integer CHECK (seq >= 1),
  ADD COLUMN seen integer CHECK (seen >= 0),
  ADD COLUMN sent_at timestamptz;

ALTER TABLE outbox_messages
  ADD COLUMN seq integer CHECK (seq >= 1),
  ADD COLUMN seen integer CHECK (seen >= 0),
  ADD COLUMN receipt_sent integer CHECK (receipt_sent >= 0);

-- Rows stored before this migration: their arrival order is the best order there is (nothing
-- checked positions then), and `seen` is what had been signed or stored on the other side by then.
UPDATE inbox_messages m SET
  seq = o.seq,
  seen = (SELECT count(*) FROM outbox_messages s
          WHERE s.req_id = m.req_id AND s.aud = m.iss AND s.kind <> 'receipt'
            AND s.created_at <= m.received_at),
  sent_at = to_timestamp(COALESCE((m.payload ->> 'sent_at')::bigint, (m.payload ->> 'iat')::bigint))
FROM (SELECT digest, row_number() OVER (PARTITION BY req_id, iss ORDER BY received_at, digest) AS seq
      FROM inbox_messages WHERE req_id IS NOT NULL AND kind <> 'receipt') o
WHERE m.digest = o.digest;
UPDATE inbox_messages SET sent_at = to_timestamp((payload ->> 'iat')::bigint) WHERE sent_at IS NULL;

UPDATE outbox_messages m SET
  seq = o.seq,
  seen = (SELECT count(*) FROM inbox_messages r
          WHERE r.req_id = m.req_id AND r.iss = m.aud AND r.kind <> 'receipt'
            AND r.received_at <= m.created_at)
FROM (SELECT msg_id, row_number() OVER (PARTITION BY req_id, aud ORDER BY created_at, msg_id) AS seq
      FROM outbox_messages WHERE req_id IS NOT NULL AND kind <> 'receipt') o
WHERE m.msg_id = o.msg_id;

CREATE UNIQUE INDEX inbox_messages_order_key ON inbox_messages (req_id, iss, seq)
  WHERE seq IS NOT NULL;
CREATE UNIQUE INDEX outbox_messages_order_key ON outbox_messages (req_id, aud, seq)
  WHERE seq IS NOT NULL;
