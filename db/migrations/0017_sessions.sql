-- Browser sign-in (api/session.ts): the sessions of signed-in users and the sign-ins under way.
-- Only SHA-256 digests of the cookie values are stored, so a copy of this table opens no session;
-- no token of the identity provider is kept.

CREATE TABLE ui_sessions (
  id_hash    bytea PRIMARY KEY,
  -- Who signed in, as the identity provider said: subject, display name, roles.
  sub        text NOT NULL,
  name       text,
  roles      text[] NOT NULL,
  -- The synchronizer token state-changing calls with this session must send (x-csrf-token).
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX ui_sessions_expires_idx ON ui_sessions (expires_at);

-- An authorization request sent to the provider and not yet answered (PKCE verifier, state,
-- nonce), bound to the browser that started it by a cookie whose digest is the key.
CREATE TABLE ui_sign_ins (
  id_hash       bytea PRIMARY KEY,
  state         text NOT NULL,
  nonce         text NOT NULL,
  code_verifier text NOT NULL,
  next          text NOT NULL,
  expires_at    timestamptz NOT NULL
);
CREATE INDEX ui_sign_ins_expires_idx ON ui_sign_ins (expires_at);
