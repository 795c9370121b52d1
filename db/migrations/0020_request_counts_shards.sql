-- request_counts without a hot row. Every new request added 1 to the same row (its direction,
-- partner, type, status 'submitted'), and every status change moved 1 between two shared rows, so
-- concurrent creates and projections waited on each other's row lock until commit: under
-- bench:submit most waiting backends sat in Lock:transactionid on INSERT INTO requests. Each
-- combination now has up to 16 rows (shards); a transaction writes the shard of its connection
-- (backend pid modulo 16), so writers on different connections rarely meet. A shard's n can go
-- below zero (a request counted in by one connection and out by another); the summary sums the
-- shards of each combination, as it already summed the combinations of each grouping.
ALTER TABLE request_counts ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE request_counts DROP CONSTRAINT request_counts_pkey;
ALTER TABLE request_counts
  ADD PRIMARY KEY (direction, counterparty, request_type, status, overdue, overdue_level, refused,
    shard);

CREATE OR REPLACE FUNCTION request_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  s smallint := (pg_backend_pid() % 16)::smallint;
BEGIN
  -- The old combination (-1) and the new one (+1), in key order; an INSERT or DELETE has one.
  INSERT INTO request_counts AS c
    (direction, counterparty, request_type, status, overdue, overdue_level, refused, shard, n)
  SELECT * FROM (
    SELECT OLD.direction, OLD.counterparty, OLD.request_type, OLD.status, OLD.overdue,
      CASE WHEN OLD.overdue THEN OLD.escalation_level ELSE 0 END, OLD.partner_refusal IS NOT NULL,
      s, -1::bigint
    WHERE TG_OP IN ('UPDATE', 'DELETE')
    UNION ALL
    SELECT NEW.direction, NEW.counterparty, NEW.request_type, NEW.status, NEW.overdue,
      CASE WHEN NEW.overdue THEN NEW.escalation_level ELSE 0 END, NEW.partner_refusal IS NOT NULL,
      s, 1::bigint
    WHERE TG_OP IN ('UPDATE', 'INSERT')
  ) delta (direction, counterparty, request_type, status, overdue, overdue_level, refused, shard, n)
  ORDER BY direction, counterparty, request_type, status, overdue, overdue_level, refused
  ON CONFLICT (direction, counterparty, request_type, status, overdue, overdue_level, refused, shard)
    DO UPDATE SET n = c.n + EXCLUDED.n;
  RETURN NULL;
END $$;
