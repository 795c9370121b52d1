-- The dashboard lists the newest notifications of all requests: an index on their time, so that
-- stays a short index scan however many there are.
CREATE INDEX notifications_at_idx ON notifications (at DESC, req_id DESC, seq DESC);
