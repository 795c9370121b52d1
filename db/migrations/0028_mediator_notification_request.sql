-- What a mediator's notification of a passed deadline says about its request (issue 15): its
-- type and parties, so a supervisor reading the webhook knows which kind of request is late and
-- between whom without opening M's view. Null for notifications recorded before.
ALTER TABLE mediator_notifications
  ADD COLUMN request_type text,
  ADD COLUMN requester    text,
  ADD COLUMN responder    text;
