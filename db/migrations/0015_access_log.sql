-- The read audit: one row per read of request content by a human caller (who, with which roles,
-- through which route, which request, which parts, when). Ids and part names only, never the
-- data read. Rows are written before the answer is sent (api/access-log.ts) and never changed.

CREATE TABLE access_log (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  -- The caller's token subject and the roles it held.
  sub     text NOT NULL,
  roles   text[] NOT NULL,
  -- The route template, e.g. `GET /v1/requests/:id` (domain/access-policy.ts ROUTES).
  route   text NOT NULL,
  -- The request whose content was read; null for reads about no single request (codec decodes).
  req_id  text,
  -- Which parts: subject, outcomes, message, attachment, records, evidence, temporal_payloads, …
  parts   text[] NOT NULL,
  -- What exactly, by id: a message digest or msg_id, an attachment's sha256, a payload count.
  ref     text
);

CREATE INDEX access_log_req_idx ON access_log (req_id, id);
CREATE INDEX access_log_sub_idx ON access_log (sub, id);
CREATE INDEX access_log_at_idx ON access_log (at);

-- Append-only like the audit log: a read once recorded stays recorded.
CREATE FUNCTION access_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the access log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
  FOR EACH ROW EXECUTE FUNCTION access_log_refuse_change();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
  FOR EACH STATEMENT EXECUTE FUNCTION access_log_refuse_change();
