-- Mediated exchange (issue 15): messages between two parties can travel through a neutral
-- mediator. Each party's registry says which mediator carries its messages to and from a partner
-- (`via_party`); the mediator's says for which parties it relays (`relays`) and keeps what it
-- relayed: the exact token, its own signed relay receipt, and the recipient's receipt. The relay
-- receipt is also kept by the sender (outbox) and the recipient (inbox) as proof of the route.
ALTER TABLE parties ADD COLUMN via_party text REFERENCES parties (party_id);
ALTER TABLE parties ADD COLUMN relays boolean NOT NULL DEFAULT false;
ALTER TABLE outbox_messages ADD COLUMN relay_receipt_token text;
ALTER TABLE inbox_messages ADD COLUMN relay_receipt_token text;

CREATE TABLE relayed_messages (
  digest                text PRIMARY KEY,
  iss                   text NOT NULL REFERENCES parties (party_id),
  aud                   text NOT NULL REFERENCES parties (party_id),
  msg_id                text NOT NULL,
  kind                  text NOT NULL,
  req_id                text,
  sealed                boolean NOT NULL,
  token                 text NOT NULL,
  received_at           timestamptz NOT NULL,
  relay_receipt_token   text NOT NULL,
  attempts              integer NOT NULL DEFAULT 0,
  last_error            text,
  partner_status        integer,
  partner_receipt_token text,
  partner_received_at   timestamptz
);
CREATE INDEX relayed_messages_req_idx ON relayed_messages (req_id, received_at);
