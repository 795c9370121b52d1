-- What an Idempotency-Key was first sent with: the SHA-256 (hex) of the RFC 8785 form of the parsed
-- request body. The same key with another body names another request and is refused
-- (idempotency_key_reused). Keys stored before this column have none until they are used again:
-- the first body sent with them then is recorded.
ALTER TABLE idempotency_keys ADD COLUMN body_sha256 text
  CHECK (body_sha256 ~ '^[0-9a-f]{64}$');
