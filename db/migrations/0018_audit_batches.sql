-- The audit log integrates in batches (issue 14, item 2; the design of Trillian and Tessera).
--
-- Before: every writer took `audit_head`'s row lock to get its entries' indices and held it until
-- its transaction committed, so all of a node's writing transactions ran one after another.
--
-- Now a writer stages its entries in `audit_pending`, in its own transaction (so an entry is staged
-- exactly when what it records is stored, and a rollback leaves nothing), taking no lock another
-- writer waits for: the id comes from an identity sequence, which never blocks. One integrator at
-- a time (a transaction-scoped advisory lock, whichever process or replica holds it) moves a batch
-- of committed pending rows into `audit_log`, giving them the next indices in id order, and deletes
-- them from `audit_pending` in the same transaction: each committed entry gets exactly one index,
-- and an integrator that fails mid-batch rolls back whole (its rows are still pending, the head
-- unchanged). Ids may commit out of order (id 6 can commit before id 5); a row not yet committed
-- is simply not seen and is integrated by a later batch, so the log's order is the order in which
-- entries became visible to the integrator (causally ordered writes keep their order: a write that
-- starts after another committed gets a larger id and is never integrated before it).

CREATE TABLE audit_pending (
  id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entry   text NOT NULL,
  at      timestamptz NOT NULL,
  req_id  text,
  refs    text[] NOT NULL DEFAULT '{}'
);
-- Staged entries are not changed: only the integrator deletes them, as it integrates them.
CREATE TRIGGER audit_pending_no_update BEFORE UPDATE ON audit_pending
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_pending_no_truncate BEFORE TRUNCATE ON audit_pending
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
GRANT SELECT, INSERT, DELETE ON audit_pending TO parley_audit_appender;

-- Which staged entry an integrated one was (null for entries logged before this migration), and
-- when it was integrated: readers that hold a staged id find its index here. Staged ids grow with
-- the index, so a BRIN index finds one for a few pages' read and costs integration next to nothing
-- (no B-tree entry per row). Each staged row is integrated once without a unique index: the
-- integrator deletes it in the transaction that gives it its index.
ALTER TABLE audit_log
  ADD COLUMN pending_id bigint,
  ADD COLUMN integrated_at timestamptz;
CREATE INDEX audit_log_pending_idx ON audit_log USING brin (pending_id);

-- An erasure names its `request_erased` entry by its staged id until the entry is integrated
-- (db/erasure.ts resolves the index through audit_log.pending_id).
ALTER TABLE request_erasures ADD COLUMN audit_pending_id bigint;

-- Staging: returns the new rows' ids, in the order of the entries. PL/pgSQL, so each session plans
-- its statements once (an SQL function is planned at every call); one entry, the common case, is a
-- plain VALUES insert.
CREATE FUNCTION audit_stage(
  p_entries text[],
  p_at timestamptz,
  p_req_ids text[],
  p_refs text[]
) RETURNS bigint[]
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  ids bigint[];
BEGIN
  IF cardinality(p_entries) = 1 THEN
    INSERT INTO audit_pending (entry, at, req_id, refs)
    VALUES (p_entries[1], p_at, p_req_ids[1],
            COALESCE(string_to_array(NULLIF(p_refs[1], ''), ','), '{}'))
    RETURNING ARRAY[id] INTO ids;
    RETURN ids;
  END IF;
  WITH staged AS (
    INSERT INTO audit_pending (entry, at, req_id, refs)
    SELECT e, p_at, r, COALESCE(string_to_array(NULLIF(f, ''), ','), '{}')
    FROM unnest(p_entries, p_req_ids, p_refs) WITH ORDINALITY AS t(e, r, f, i)
    ORDER BY i
    RETURNING id
  )
  SELECT array_agg(id ORDER BY id) INTO ids FROM staged;
  RETURN ids;
END;
$$;
ALTER FUNCTION audit_stage(text[], timestamptz, text[], text[]) OWNER TO parley_audit_appender;
REVOKE ALL ON FUNCTION audit_stage(text[], timestamptz, text[], text[]) FROM PUBLIC;

-- Integration of one batch of at most p_max committed pending entries, in the caller's
-- transaction (its commit publishes the batch, its rollback undoes it whole). Takes the
-- integrator's advisory lock (7302130) for the rest of the transaction: waiting for it when
-- p_wait, else returning locked = false at once when another integrator holds it. Returns the
-- first new index and how many entries got one (the leaf hash computed here from the entry).
CREATE FUNCTION audit_integrate(p_max integer, p_wait boolean)
RETURNS TABLE (locked boolean, first bigint, n integer)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_first bigint;
  v_n integer;
BEGIN
  IF p_wait THEN
    PERFORM pg_advisory_xact_lock(7302130);
  ELSIF NOT pg_try_advisory_xact_lock(7302130) THEN
    RETURN QUERY SELECT false, NULL::bigint, 0;
    RETURN;
  END IF;
  -- The head row's lock too: even a caller that skipped the advisory lock could not interleave.
  SELECT size INTO v_first FROM audit_head FOR UPDATE;
  WITH batch AS (
    DELETE FROM audit_pending
    WHERE id IN (SELECT id FROM audit_pending ORDER BY id LIMIT p_max)
    RETURNING id, entry, at, req_id, refs
  ), integrated AS (
    INSERT INTO audit_log (idx, entry, leaf_hash, at, req_id, refs, pending_id, integrated_at)
    SELECT v_first + row_number() OVER (ORDER BY id) - 1, entry,
           sha256('\x00'::bytea || convert_to(entry, 'UTF8')), at, req_id, refs, id,
           clock_timestamp()
    FROM batch
    RETURNING 1
  )
  SELECT count(*)::integer INTO v_n FROM integrated;
  IF v_n > 0 THEN
    UPDATE audit_head SET size = size + v_n;
  END IF;
  RETURN QUERY SELECT true, v_first, v_n;
END;
$$;
ALTER FUNCTION audit_integrate(integer, boolean) OWNER TO parley_audit_appender;
REVOKE ALL ON FUNCTION audit_integrate(integer, boolean) FROM PUBLIC;

-- One path into the log: entries no longer take the head row's lock from a writer's transaction.
DROP FUNCTION audit_append(text[], bytea[], timestamptz, text[], text[]);
