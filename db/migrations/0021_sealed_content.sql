-- Sealed content (issue 15): a partner's encryption keys live in the registry beside its signing
-- keys (algorithm ECDH-ES+A256KW, role `encryption`), and each party says whether the content of
-- messages to and from it is sealed.
ALTER TABLE party_keys DROP CONSTRAINT party_keys_alg_check;
ALTER TABLE party_keys ADD CONSTRAINT party_keys_alg_check
  CHECK (alg IN ('Ed25519', 'EdDSA', 'ES256', 'ECDH-ES+A256KW'));
ALTER TABLE parties ADD COLUMN seal_content boolean NOT NULL DEFAULT false;
