-- A party's consent to a pause of both clocks by the request's mediator (issue 15, README
-- _Mediated exchange_): signed by the party, sent to the mediator, which carries it in its pause;
-- the party takes a pause only with its own consent, kept here, and its partner's, signed.
CREATE TABLE pause_consents (
  msg_id       text PRIMARY KEY,
  -- The digest of the token last signed (signed again, same msg_id, when the first is too old).
  digest       text NOT NULL,
  req_id       text NOT NULL,
  mediator     text NOT NULL,
  token        text NOT NULL,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL,
  -- The mediator's receipt: it holds the consent.
  receipt_token text,
  received_at  timestamptz,
  -- The mediator refused it, with this code.
  refused_code text
);
CREATE INDEX pause_consents_req_idx ON pause_consents (req_id, created_at);
