-- Appending to the audit log in one statement: a function that runs with the rights of the
-- append-only role (SECURITY DEFINER, owned by it), so the node neither switches roles nor holds
-- the head row's lock across several round trips. Returns the index of the first new entry.
CREATE FUNCTION audit_append(
  p_entries text[],
  p_hashes bytea[],
  p_at timestamptz,
  p_req_ids text[],
  p_refs text[]
) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  n integer := cardinality(p_entries);
  first bigint;
BEGIN
  UPDATE audit_head SET size = size + n RETURNING size - n INTO first;
  INSERT INTO audit_log (idx, entry, leaf_hash, at, req_id, refs)
  SELECT first + i - 1, e, h, p_at, r, COALESCE(string_to_array(NULLIF(f, ''), ','), '{}')
  FROM unnest(p_entries, p_hashes, p_req_ids, p_refs) WITH ORDINALITY AS t(e, h, r, f, i);
  RETURN first;
END;
$$;
ALTER FUNCTION audit_append(text[], bytea[], timestamptz, text[], text[]) OWNER TO parley_audit_appender;
REVOKE ALL ON FUNCTION audit_append(text[], bytea[], timestamptz, text[], text[]) FROM PUBLIC;
