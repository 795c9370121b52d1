-- Erasure of a request's personal content (domain/erasure.ts): what was said goes, the proof that
-- something was said, by whom, to whom and when stays. A request's subject, the bodies of its
-- messages (the signed tokens and the stored payloads' bodies) and the bytes of files only it
-- names are removed; ids, kinds, times, parties, digests, receipts and the audit log are kept.

-- An erased request has no subject; `erased_at` says when it lost it.
ALTER TABLE requests
  ALTER COLUMN subject DROP NOT NULL,
  ADD COLUMN erased_at timestamptz,
  ADD CONSTRAINT requests_subject_or_erased CHECK (subject IS NOT NULL OR erased_at IS NOT NULL);

-- An erased message keeps its row (digest, msg_id, kind, parties, times, order, receipt) and a
-- payload without `body` and without attachment names; its token is gone.
ALTER TABLE inbox_messages
  ALTER COLUMN token DROP NOT NULL,
  ADD COLUMN erased_at timestamptz,
  ADD CONSTRAINT inbox_messages_token_or_erased CHECK (token IS NOT NULL OR erased_at IS NOT NULL);
ALTER TABLE outbox_messages
  ALTER COLUMN token DROP NOT NULL,
  ADD COLUMN erased_at timestamptz,
  ADD CONSTRAINT outbox_messages_token_or_erased CHECK (token IS NOT NULL OR erased_at IS NOT NULL);
ALTER TABLE outbox_versions ALTER COLUMN token DROP NOT NULL;

-- One row per erasure, written when it starts and completed in the transaction that removes the
-- content (so a crash half way leaves a row to finish: the procedure is run again). `trigger` is
-- `admin` (POST /v1/admin/requests/:id/erase, `actor` the admin's token subject) or `retention`
-- (the sweep, `actor` null). `audit_index` is the `request_erased` leaf.
CREATE TABLE request_erasures (
  req_id             text PRIMARY KEY REFERENCES requests (req_id),
  trigger            text NOT NULL CHECK (trigger IN ('admin', 'retention')),
  actor              text,
  started_at         timestamptz NOT NULL DEFAULT now(),
  temporal_done_at   timestamptz,
  completed_at       timestamptz,
  audit_index        bigint,
  -- Counts and digests of what was removed (ids and digests only).
  summary            jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX request_erasures_unfinished_idx ON request_erasures (started_at)
  WHERE completed_at IS NULL;

-- The retention sweep's candidates: ended requests not yet erased (few next to all requests).
CREATE INDEX requests_ended_unerased_idx ON requests (request_type, req_id)
  WHERE erased_at IS NULL AND status IN ('closed', 'declined', 'withdrawn');
