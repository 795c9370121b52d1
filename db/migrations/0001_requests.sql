-- The request read model and its timeline. Written only by activities, in the order the
-- request's workflow decided; read by the API.

CREATE TABLE requests (
  req_id       text PRIMARY KEY,
  workflow_id  text NOT NULL UNIQUE,
  direction    text NOT NULL CHECK (direction IN ('outgoing', 'incoming')),
  request_type text NOT NULL,
  requester    text NOT NULL,
  responder    text NOT NULL,
  counterparty text NOT NULL,
  priority     text NOT NULL,
  status       text NOT NULL,
  overdue      boolean NOT NULL DEFAULT false,
  subject      jsonb NOT NULL,
  created_by   text,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  -- Sequence number of the last timeline event projected; guards against a retried
  -- projection moving the status backwards.
  last_seq     integer NOT NULL DEFAULT 0
);

CREATE INDEX requests_status_idx ON requests (status, created_at DESC);
CREATE INDEX requests_counterparty_idx ON requests (counterparty, created_at DESC);
CREATE INDEX requests_created_idx ON requests (created_at DESC, req_id DESC);

CREATE TABLE request_events (
  req_id  text NOT NULL REFERENCES requests (req_id),
  seq     integer NOT NULL,
  at      timestamptz NOT NULL,
  type    text NOT NULL,
  actor   text,
  status  text,
  detail  jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (req_id, seq)
);
