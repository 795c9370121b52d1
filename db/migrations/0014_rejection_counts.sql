-- Refused input, bounded: counts per minute, source and code (one row each, added to), and a
-- capped sample of recent refusals (inbox_rejections keeps only its newest rows). Neither takes
-- the audit log's append lock; input that no party can be held to (anything refused before the
-- envelope proved a fresh statement of a registered party, and copies of stored messages) is no
-- longer an audit leaf, so a flood of it grows nothing without bound.

CREATE TABLE inbox_rejection_counts (
  minute   timestamptz NOT NULL,
  -- The source address (IPv4, or an IPv6 /64 as `prefix::/64`), `import` for bundle files,
  -- `other` when the node held too many sources at once, `unknown` for refusals before 0014.
  source   text NOT NULL,
  code     text NOT NULL,
  -- Refusals with this code; of those, how many were answered 429 rate_limited instead.
  refused  bigint NOT NULL CHECK (refused >= 0),
  limited  bigint NOT NULL DEFAULT 0 CHECK (limited >= 0 AND limited <= refused),
  PRIMARY KEY (minute, source, code)
);

ALTER TABLE inbox_rejections ADD COLUMN source text;

-- What was logged before keeps its counts (source unknown); the sample keeps the newest 1,000.
INSERT INTO inbox_rejection_counts (minute, source, code, refused)
SELECT date_trunc('minute', at), 'unknown', code, count(*)
FROM inbox_rejections
GROUP BY 1, 3;

DELETE FROM inbox_rejections
WHERE id <= (SELECT max(id) FROM inbox_rejections) - 1000;
