-- Request lifecycle: deadlines and escalation in the read model, notifications for supervisors,
-- and idempotent creation.

ALTER TABLE requests
  ADD COLUMN receipt_at       timestamptz,
  ADD COLUMN ack_due_at       timestamptz,
  ADD COLUMN response_due_at  timestamptz,
  ADD COLUMN escalation_level integer NOT NULL DEFAULT 0,
  ADD COLUMN policy_digest    text,
  -- How each deadline was computed (rule, receipt time, pauses, extension), for people.
  ADD COLUMN deadlines        jsonb NOT NULL DEFAULT '{}'::jsonb;

CREATE INDEX requests_overdue_idx ON requests (overdue, escalation_level) WHERE overdue;
CREATE INDEX requests_response_due_idx ON requests (response_due_at) WHERE response_due_at IS NOT NULL;

-- Escalations and near deadlines, for supervisors; routed to webhooks by a later step.
CREATE TABLE notifications (
  req_id   text NOT NULL REFERENCES requests (req_id),
  seq      integer NOT NULL,
  at       timestamptz NOT NULL,
  kind     text NOT NULL,
  level    integer NOT NULL DEFAULT 0,
  detail   jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (req_id, seq)
);

-- The same Idempotency-Key from the same caller returns the same request.
CREATE TABLE idempotency_keys (
  principal  text NOT NULL,
  key        text NOT NULL,
  req_id     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (principal, key)
);
