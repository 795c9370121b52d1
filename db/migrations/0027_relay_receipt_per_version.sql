-- The mediator's relay receipt of each signed version of our messages (issue 15): a message signed
-- again after its lifetime is a new envelope, which the mediator takes and receipts on its own. A
-- store-and-forward file carries the relay receipt of the version it carries.
ALTER TABLE outbox_versions ADD COLUMN relay_receipt_token text;
