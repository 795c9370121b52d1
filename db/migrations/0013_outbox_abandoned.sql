-- A message of ours that the partner refused takes no place in the conversation, and neither do our
-- later messages that were waiting behind it (abandoned: never sent, since the partner would refuse
-- them as out of order). Their places are free again, so the order counts and the unique order
-- index cover only messages that are pending or delivered.
ALTER TABLE outbox_messages DROP CONSTRAINT IF EXISTS outbox_messages_status_check;
ALTER TABLE outbox_messages
  ADD CONSTRAINT outbox_messages_status_check
  CHECK (status IN ('pending', 'delivered', 'rejected', 'abandoned'));

DROP INDEX outbox_messages_order_key;
CREATE UNIQUE INDEX outbox_messages_order_key ON outbox_messages (req_id, aud, seq)
  WHERE seq IS NOT NULL AND status IN ('pending', 'delivered');
