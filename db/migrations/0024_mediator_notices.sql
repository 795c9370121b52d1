-- A mediator's notices to the parties of a request it relays (issue 15, README _Mediated
-- exchange_): reminders of a deadline and pauses of both parties' clocks. One row per signed
-- envelope (each party gets its own, the same pause id and instants in both); delivered in order
-- per request and party, with backoff, a bounded number of rounds.
CREATE TABLE mediator_notices (
  msg_id        text PRIMARY KEY,
  -- The digest of the token last signed (a notice past its lifetime is signed again, same msg_id).
  digest        text NOT NULL,
  req_id        text NOT NULL,
  aud           text NOT NULL,
  action        text NOT NULL CHECK (action IN ('reminder', 'pause', 'resume')),
  pause_id      text,
  -- The pause's start or the resume's end (the instant signed in the body).
  at            timestamptz,
  deadline      text CHECK (deadline IN ('acknowledgement', 'response')),
  -- A pause: the digests of the two parties' consents it carries (each is used once).
  consents      text[] NOT NULL DEFAULT '{}',
  token         text NOT NULL,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL,
  -- pending until the party's receipt (delivered) or a refusal (refused, with its code);
  -- given_up after the last round without an answer.
  state         text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'delivered', 'refused', 'given_up')),
  receipt_token text,
  received_at   timestamptz,
  code          text,
  attempts      integer NOT NULL DEFAULT 0,
  next_at       timestamptz NOT NULL,
  -- Orders a request's notices as they were signed (one statement signs both parties' copies).
  n             bigserial NOT NULL
);
CREATE INDEX mediator_notices_req_idx ON mediator_notices (req_id, n);
CREATE INDEX mediator_notices_pending_idx ON mediator_notices (next_at) WHERE state = 'pending';
