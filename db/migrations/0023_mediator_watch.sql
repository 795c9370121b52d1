-- A mediator follows the requests it relays (issue 15): which of them to look at again and when
-- (`mediated_watch`: set to now whenever a message or a recipient's receipt is relayed, then to the
-- next deadline or escalation the view of the request foresees, or NULL when there is none), and
-- the notifications to its supervisors when a deadline passes, one per request, deadline and
-- escalation level, with the webhook targets (SHA-256 of the URL) that took each.
CREATE TABLE mediated_watch (
  req_id        text PRIMARY KEY,
  next_check_at timestamptz,
  checked_at    timestamptz,
  -- Counts the changes (messages, receipts relayed): a look records its outcome only if none came
  -- since it read the request.
  version       bigint NOT NULL DEFAULT 0,
  -- As the last look found it: what `GET /v1/mediated?overdue=true` lists.
  overdue       boolean NOT NULL DEFAULT false
);
CREATE INDEX mediated_watch_overdue_idx ON mediated_watch (checked_at) WHERE overdue;
CREATE INDEX mediated_watch_due_idx ON mediated_watch (next_check_at) WHERE next_check_at IS NOT NULL;

INSERT INTO mediated_watch (req_id, next_check_at)
  SELECT DISTINCT req_id, now() FROM relayed_messages WHERE req_id IS NOT NULL;

CREATE TABLE mediator_notifications (
  req_id            text NOT NULL,
  deadline          text NOT NULL CHECK (deadline IN ('acknowledgement', 'response')),
  level             integer NOT NULL CHECK (level >= 0),
  due_at            timestamptz NOT NULL,
  at                timestamptz NOT NULL DEFAULT now(),
  delivered_targets text[] NOT NULL DEFAULT '{}',
  attempts          integer NOT NULL DEFAULT 0,
  last_attempt_at   timestamptz,
  last_error        text,
  PRIMARY KEY (req_id, deadline, level)
);
