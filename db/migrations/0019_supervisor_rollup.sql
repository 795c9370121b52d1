-- The supervisors' summary (db/supervisor.ts computeSummary) from figures kept by the transactions
-- that change a request, instead of reading every request and reply at each computation.
--
-- 1. request_counts: how many requests in each combination of the groupings the summary shows
--    (direction, partner, kind, status, overdue with its escalation level, refused by the partner).
--    Kept by triggers on `requests`, so every writer (the projection, the API's create path, the
--    erasure, a bulk load) counts in its own transaction: each change adds -1 to the row of the
--    old combination and +1 to the row of the new one (INSERT ... ON CONFLICT DO UPDATE SET
--    n = n + delta): concurrent writers meet only on rows of the same combination, never on one
--    row for all, and both rows of a change are locked in key order so two changes crossing in
--    opposite directions do not deadlock.
-- 2. requests.first_reply_at / answered_at: the first acknowledgement or response and the first
--    final response of a request, kept by a trigger on request_events, so the durations and the
--    on-time numbers read one row per request (a covering index) instead of the timeline.
-- Figures that depend on the current time (upcoming deadlines, open requests already late) stay
-- indexed range queries at each computation.

CREATE TABLE request_counts (
  direction        text NOT NULL,
  counterparty     text NOT NULL,
  request_type     text NOT NULL,
  status           text NOT NULL,
  overdue          boolean NOT NULL,
  -- The escalation level of an overdue request; 0 for the others (the summary shows levels of
  -- overdue requests only, so changes of level before a request is overdue move no count).
  overdue_level    int NOT NULL,
  refused          boolean NOT NULL,
  n                bigint NOT NULL,
  PRIMARY KEY (direction, counterparty, request_type, status, overdue, overdue_level, refused)
);

CREATE FUNCTION request_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The old combination (-1) and the new one (+1), in key order; an INSERT or DELETE has one.
  INSERT INTO request_counts AS c
    (direction, counterparty, request_type, status, overdue, overdue_level, refused, n)
  SELECT * FROM (
    SELECT OLD.direction, OLD.counterparty, OLD.request_type, OLD.status, OLD.overdue,
      CASE WHEN OLD.overdue THEN OLD.escalation_level ELSE 0 END, OLD.partner_refusal IS NOT NULL,
      -1::bigint
    WHERE TG_OP IN ('UPDATE', 'DELETE')
    UNION ALL
    SELECT NEW.direction, NEW.counterparty, NEW.request_type, NEW.status, NEW.overdue,
      CASE WHEN NEW.overdue THEN NEW.escalation_level ELSE 0 END, NEW.partner_refusal IS NOT NULL,
      1::bigint
    WHERE TG_OP IN ('UPDATE', 'INSERT')
  ) delta (direction, counterparty, request_type, status, overdue, overdue_level, refused, n)
  ORDER BY direction, counterparty, request_type, status, overdue, overdue_level, refused
  ON CONFLICT (direction, counterparty, request_type, status, overdue, overdue_level, refused)
    DO UPDATE SET n = c.n + EXCLUDED.n;
  RETURN NULL;
END $$;

CREATE TRIGGER requests_counts_insert_delete AFTER INSERT OR DELETE ON requests
  FOR EACH ROW EXECUTE FUNCTION request_counts_apply();
-- Only updates that move a request to another combination.
CREATE TRIGGER requests_counts_update AFTER UPDATE ON requests
  FOR EACH ROW WHEN (
    (OLD.direction, OLD.counterparty, OLD.request_type, OLD.status, OLD.overdue,
     CASE WHEN OLD.overdue THEN OLD.escalation_level ELSE 0 END, OLD.partner_refusal IS NOT NULL)
    IS DISTINCT FROM
    (NEW.direction, NEW.counterparty, NEW.request_type, NEW.status, NEW.overdue,
     CASE WHEN NEW.overdue THEN NEW.escalation_level ELSE 0 END, NEW.partner_refusal IS NOT NULL))
  EXECUTE FUNCTION request_counts_apply();

INSERT INTO request_counts
SELECT direction, counterparty, request_type, status, overdue,
  CASE WHEN overdue THEN escalation_level ELSE 0 END, partner_refusal IS NOT NULL, count(*)
FROM requests GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- The first reply (acknowledgement, partial or final response) and the first final response.
ALTER TABLE requests ADD COLUMN first_reply_at timestamptz, ADD COLUMN answered_at timestamptz;

CREATE FUNCTION request_replies_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE requests SET
    first_reply_at = LEAST(first_reply_at, NEW.at),
    answered_at = CASE WHEN NEW.type = 'respond_final' THEN LEAST(answered_at, NEW.at)
                       ELSE answered_at END
  WHERE req_id = NEW.req_id
    AND (first_reply_at IS NULL OR first_reply_at > NEW.at
         OR (NEW.type = 'respond_final' AND (answered_at IS NULL OR answered_at > NEW.at)));
  RETURN NULL;
END $$;

CREATE TRIGGER request_events_replies AFTER INSERT ON request_events
  FOR EACH ROW WHEN (NEW.type IN ('acknowledge', 'respond_partial', 'respond_final'))
  EXECUTE FUNCTION request_replies_apply();

UPDATE requests r SET first_reply_at = f.first_reply_at, answered_at = f.answered_at
FROM (
  SELECT req_id, min(at) AS first_reply_at, min(at) FILTER (WHERE type = 'respond_final') AS answered_at
  FROM request_events WHERE type IN ('acknowledge', 'respond_partial', 'respond_final')
  GROUP BY req_id
) f
WHERE f.req_id = r.req_id;

-- Durations and on-time numbers per (direction, partner, kind): an index-only scan of the requests
-- that were received and replied to.
CREATE INDEX requests_timing_idx
  ON requests (direction, counterparty, request_type)
  INCLUDE (receipt_at, first_reply_at, answered_at, response_due_at)
  WHERE receipt_at IS NOT NULL AND first_reply_at IS NOT NULL;

-- Open requests with no final response whose response deadline has passed, by that deadline.
-- The clock of an open question stands still: such a request is not late (the same expression as
-- db/supervisor.ts clockStoppedOf, so the summary's query matches this predicate).
CREATE INDEX requests_late_open_idx ON requests (response_due_at)
  INCLUDE (direction, counterparty, request_type)
  WHERE status IN ('delivered', 'acknowledged', 'partially_answered') AND answered_at IS NULL
    AND NOT COALESCE((deadlines -> 'response' ->> 'clockStopped')::boolean, false);

-- The list's next step reads a request's clarification and extension events: these few, by
-- request, newest first, without walking the rest of its timeline.
CREATE INDEX request_events_loops_idx ON request_events (req_id, seq DESC) INCLUDE (type)
  WHERE type IN ('ask_clarification', 'answer_clarification', 'request_extension',
                 'decide_extension');
