-- Tamper-evident audit log: an append-only RFC 6962 Merkle log of everything this node did or
-- was sent (digests and ids only, never personal data), its signed checkpoints, and what partners
-- showed us of their own logs (witnessed checkpoints) and said of ours (cosignatures).

CREATE TABLE audit_log (
  idx        bigint PRIMARY KEY CHECK (idx >= 0),
  -- The exact leaf data: RFC 8785 canonical JSON, hashed as UTF-8 bytes.
  entry      text NOT NULL,
  -- SHA-256(0x00 || entry), kept so proofs need not rehash; the checker rehashes anyway.
  leaf_hash  bytea NOT NULL CHECK (length(leaf_hash) = 32),
  at         timestamptz NOT NULL DEFAULT now(),
  -- Lookup only (the evidence bundle of one request): ids and digests the entry names.
  req_id     text,
  refs       text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_req_idx ON audit_log (req_id) WHERE req_id IS NOT NULL;
CREATE INDEX audit_log_refs_idx ON audit_log USING gin (refs);

-- The next free index, one row; appenders take its row lock, so indices are dense and in commit
-- order, and an aborted transaction leaves no hole.
CREATE TABLE audit_head (
  one   boolean PRIMARY KEY DEFAULT true CHECK (one),
  size  bigint NOT NULL
);
INSERT INTO audit_head (size) VALUES (0);

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- A role that may read and append, nothing else; the node appends under it (SET LOCAL ROLE).
DO $$
BEGIN
  CREATE ROLE parley_audit_appender NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END;
$$;
GRANT SELECT, INSERT ON audit_log TO parley_audit_appender;
GRANT SELECT, UPDATE ON audit_head TO parley_audit_appender;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM parley_audit_appender;

-- Our signed checkpoints: tree size, root and time, signed with the node's log key.
CREATE TABLE audit_checkpoints (
  size       bigint PRIMARY KEY,
  root       bytea NOT NULL CHECK (length(root) = 32),
  at         timestamptz NOT NULL,
  token      text NOT NULL,
  kid        text NOT NULL
);
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

-- Partners' countersignatures of our checkpoints.
CREATE TABLE audit_cosignatures (
  size        bigint NOT NULL REFERENCES audit_checkpoints (size),
  witness     text NOT NULL,
  token       text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (size, witness)
);

-- Partners' checkpoints we checked and countersigned: the newest is the base of the next check.
CREATE TABLE witnessed_checkpoints (
  party_id     text NOT NULL REFERENCES parties (party_id),
  size         bigint NOT NULL,
  root         bytea NOT NULL,
  at           timestamptz NOT NULL,
  token        text NOT NULL,
  cosignature  text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (party_id, size)
);

-- Security alerts for supervisors: a partner presenting two histories, our own log altered.
CREATE TABLE security_alerts (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  kind      text NOT NULL,
  party_id  text,
  detail    jsonb NOT NULL DEFAULT '{}'::jsonb
);
