-- A party's withdrawal of its consent to a pause (issue 15): signed and sent to the mediator like a
-- consent, kept beside the consents it ends. 'consent' for every row before.
ALTER TABLE pause_consents
  ADD COLUMN action text NOT NULL DEFAULT 'consent' CHECK (action IN ('consent', 'withdraw_consent'));
