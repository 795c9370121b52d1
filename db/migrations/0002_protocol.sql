-- Wire protocol: partner registry with keys, every message in and out (exact token and digest),
-- and the log of rejected input (digest and reason only).

CREATE TABLE parties (
  party_id    text PRIMARY KEY,
  name        text NOT NULL,
  inbox_url   text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE party_keys (
  kid               text PRIMARY KEY,
  party_id          text NOT NULL REFERENCES parties (party_id),
  alg               text NOT NULL CHECK (alg IN ('Ed25519', 'EdDSA', 'ES256')),
  public_jwk        jsonb NOT NULL,
  roles             text[] NOT NULL,
  valid_from        timestamptz NOT NULL,
  valid_until       timestamptz,
  revoked_at        timestamptz,
  revocation_reason text,
  added_at          timestamptz NOT NULL DEFAULT now(),
  added_by          text NOT NULL
);
CREATE INDEX party_keys_party_idx ON party_keys (party_id);

-- Who changed the registry, when and how. Append-only by convention here; the audit log makes
-- it tamper-evident.
CREATE TABLE registry_changes (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  actor     text NOT NULL,
  action    text NOT NULL,
  party_id  text NOT NULL,
  kid       text,
  detail    jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- Every message that verified, exactly as received, with the receipt this node signed for it.
CREATE TABLE inbox_messages (
  digest          text PRIMARY KEY,
  iss             text NOT NULL,
  msg_id          text NOT NULL,
  kind            text NOT NULL,
  req_id          text,
  kid             text NOT NULL,
  token           text NOT NULL,
  payload         jsonb NOT NULL,
  received_at     timestamptz NOT NULL,
  via             text NOT NULL CHECK (via IN ('online', 'import')),
  receipt_token   text NOT NULL,
  receipt_digest  text NOT NULL UNIQUE,
  dispatched_at   timestamptz,
  CONSTRAINT inbox_messages_iss_msg_id_key UNIQUE (iss, msg_id)
);
CREATE INDEX inbox_messages_req_idx ON inbox_messages (req_id, received_at);
CREATE INDEX inbox_messages_undispatched_idx ON inbox_messages (received_at) WHERE dispatched_at IS NULL;

-- Every message this node sends: signed and stored before any delivery attempt.
CREATE TABLE outbox_messages (
  msg_id            text PRIMARY KEY,
  aud               text NOT NULL REFERENCES parties (party_id),
  kind              text NOT NULL,
  req_id            text,
  payload           jsonb NOT NULL,
  digest            text NOT NULL,
  token             text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  status            text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'rejected')),
  attempts          integer NOT NULL DEFAULT 0,
  last_attempt_at   timestamptz,
  last_error        text,
  delivered_at      timestamptz,
  delivered_via     text CHECK (delivered_via IN ('online', 'import')),
  receipt_token     text,
  receipt_digest    text,
  receipt_received_at timestamptz
);
CREATE INDEX outbox_messages_pending_idx ON outbox_messages (aud, created_at) WHERE status = 'pending';
CREATE INDEX outbox_messages_req_idx ON outbox_messages (req_id, created_at);

-- Each signed version of an outgoing message (a message re-signed after its lifetime passed keeps
-- its msg_id and gets a new digest); a receipt may name any of them.
CREATE TABLE outbox_versions (
  digest     text PRIMARY KEY,
  msg_id     text NOT NULL REFERENCES outbox_messages (msg_id),
  token      text NOT NULL,
  signed_at  timestamptz NOT NULL DEFAULT now()
);

-- Input that did not verify: the digest of the bytes and the reason, nothing else.
CREATE TABLE inbox_rejections (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  digest  text NOT NULL,
  code    text NOT NULL,
  via     text NOT NULL
);
