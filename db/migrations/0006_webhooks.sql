-- Supervisor notifications POSTed to webhooks: one row per target and notification, so a retried
-- activity never posts again to a target that already took it. A target is the SHA-256 of its URL
-- (webhook URLs often carry a secret in their path; the table never holds them).

CREATE TABLE webhook_deliveries (
  target          text NOT NULL,
  req_id          text NOT NULL,
  seq             integer NOT NULL,
  attempts        integer NOT NULL DEFAULT 0,
  last_attempt_at timestamptz,
  -- `http_<status>` or `unreachable`: never the receiver's answer text.
  last_error      text,
  delivered_at    timestamptz,
  PRIMARY KEY (target, req_id, seq),
  FOREIGN KEY (req_id, seq) REFERENCES notifications (req_id, seq)
);
CREATE INDEX webhook_deliveries_undelivered_idx ON webhook_deliveries (last_attempt_at)
  WHERE delivered_at IS NULL;
