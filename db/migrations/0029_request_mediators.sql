-- A mediator named per request (issue 15, item 1): besides `via` (every request with the party
-- goes through that mediator), the mediators a request with the party may name in its signed body.
-- A request names at most one; the recipient takes it only when its own registry agrees.
ALTER TABLE parties ADD COLUMN mediators text[] NOT NULL DEFAULT '{}';
