-- The deadline policy (its digest) a mediator's watch counted by at its last start: when the node
-- starts with another, the watch looks again at every request it watches (issue 15).
CREATE TABLE mediator_watch_policy (
  one    boolean PRIMARY KEY DEFAULT true CHECK (one),
  digest text NOT NULL
);
