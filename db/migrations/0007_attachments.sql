-- Attachments: the bytes of files that messages name by SHA-256 (scanned map sheets, photos,
-- identification reports), content-addressed and stored once whoever sent them.
CREATE TABLE attachments (
  sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size        bigint NOT NULL CHECK (size >= 0),
  media_type  text NOT NULL,
  content     bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- Who stored it: the caller's `sub` for an upload through the API, `partner:<party id>` for an
  -- upload by a partner node.
  created_by  text NOT NULL,
  CHECK (octet_length(content) = size)
);
-- Keep the bytes out of line and uncompressed: they are mostly compressed formats already.
ALTER TABLE attachments ALTER COLUMN content SET STORAGE EXTERNAL;

-- Which stored messages name an attachment (who may fetch it; which held messages wait for it).
CREATE INDEX inbox_messages_attachments_idx
  ON inbox_messages USING gin ((payload -> 'attachments') jsonb_path_ops);
CREATE INDEX outbox_messages_attachments_idx
  ON outbox_messages USING gin ((payload -> 'attachments') jsonb_path_ops);
