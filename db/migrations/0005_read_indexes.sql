-- Indexes for the supervisors' read API (db/supervisor.ts): the list's common filters in keyset
-- order (sort key, then req_id to break ties) and the summary's aggregates. Checked against
-- 100,000 requests and 1,000,000 events by `npm run bench:read`.

-- The status and partner filters in the default order, with the tie-breaker the keyset needs
-- (they replace 0001's indexes on the same columns, which lacked it).
DROP INDEX IF EXISTS requests_status_idx;
DROP INDEX IF EXISTS requests_counterparty_idx;
CREATE INDEX requests_status_created_idx ON requests (status, created_at DESC, req_id DESC);
CREATE INDEX requests_counterparty_created_idx
  ON requests (counterparty, created_at DESC, req_id DESC);
-- Partner and status together (one partner's open work): without it the planner scans one of
-- the partial indexes below and sorts.
CREATE INDEX requests_counterparty_status_created_idx
  ON requests (counterparty, status, created_at DESC, req_id DESC);

-- The other two sorts. A request without a response deadline sorts as if due at infinity.
CREATE INDEX requests_updated_idx ON requests (updated_at DESC, req_id DESC);
CREATE INDEX requests_due_order_idx
  ON requests ((COALESCE(response_due_at, 'infinity'::timestamptz)), req_id);

-- The supervisor's working views: open requests and overdue ones, by deadline.
CREATE INDEX requests_open_due_idx
  ON requests ((COALESCE(response_due_at, 'infinity'::timestamptz)), req_id)
  WHERE status IN ('delivered', 'acknowledged', 'partially_answered');
CREATE INDEX requests_overdue_due_idx
  ON requests ((COALESCE(response_due_at, 'infinity'::timestamptz)), req_id)
  WHERE overdue;

-- Summary: acknowledgement deadlines that still bind (response deadlines: 0003's index).
CREATE INDEX requests_ack_due_idx ON requests (ack_due_at) WHERE status = 'delivered';

-- Summary: the first acknowledgement and final response of each request, without reading the
-- rest of the timeline (an index-only scan).
CREATE INDEX request_events_replies_idx ON request_events (req_id, type, at)
  WHERE type IN ('acknowledge', 'respond_partial', 'respond_final');
