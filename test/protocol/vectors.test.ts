// Published JWS examples (RFC 8037 A.4, RFC 7515 A.3): the bare signature check verifies them, and
// the Parley profile refuses them as envelopes, even with their key registered.
import type { JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { thumbprint } from '../../protocol/keys.js';
import { verifyCompactSignature, verifyEnvelope } from '../../protocol/verify.js';
import type { SignatureAlg } from '../../schemas/envelope.js';
import { RECEIVER, registryOf, SENDER, verifyContext } from '../helpers/envelopes.js';

interface Vector {
  source: string;
  alg: SignatureAlg;
  publicJwk: JWK;
  jws: string;
  payloadText: string;
}

// Copied from the project's shared test-vectors/jws-rfc.json (checked with jose 6).
const vectors: Vector[] = [
  {
    source: 'RFC 8037 A.4',
    alg: 'EdDSA',
    publicJwk: {
      kty: 'OKP',
      crv: 'Ed25519',
      x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
    },
    jws: 'eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg',
    payloadText: 'Example of Ed25519 signing',
  },
  {
    source: 'RFC 7515 A.3',
    alg: 'ES256',
    publicJwk: {
      kty: 'EC',
      crv: 'P-256',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    },
    jws: 'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q',
    payloadText: '{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}',
  },
];

describe('RFC JWS test vectors', () => {
  it('holds the two published examples', () => {
    expect(vectors.map((v) => v.source)).toEqual(['RFC 8037 A.4', 'RFC 7515 A.3']);
  });

  it.each(vectors.map((v) => [v.source, v] as const))(
    '%s verifies with verifyCompactSignature and yields the payload text',
    async (_source, v) => {
      const payload = await verifyCompactSignature(v.jws, v.publicJwk, v.alg);
      expect(new TextDecoder().decode(payload)).toBe(v.payloadText);
    },
  );

  it.each(vectors.map((v) => [v.source, v] as const))(
    '%s fails verifyCompactSignature once its payload is altered',
    async (_source, v) => {
      const [h, p = '', s] = v.jws.split('.');
      const altered = `${h}.${p.slice(0, -2)}${p.endsWith('AA') ? 'BA' : 'AA'}.${s}`;
      await expect(verifyCompactSignature(altered, v.publicJwk, v.alg)).rejects.toThrow();
    },
  );

  it.each(vectors.map((v) => [v.source, v] as const))(
    '%s is refused as a Parley envelope with bad_header (no kid, no typ), even with its key registered',
    async (_source, v) => {
      const kid = await thumbprint(v.publicJwk);
      const registry = registryOf({
        kid,
        partyId: SENDER,
        alg: v.alg,
        publicJwk: v.publicJwk,
        roles: ['message', 'receipt'],
        validFrom: new Date(0),
        validUntil: null,
        revokedAt: null,
      });
      await expect(registry.findKey(kid)).resolves.toBeDefined();
      await expect(
        verifyEnvelope(v.jws, verifyContext(registry, { self: RECEIVER })),
      ).rejects.toMatchObject({ code: 'bad_header' });
      await expect(
        verifyEnvelope(v.jws, verifyContext(registry, { mode: 'import' })),
      ).rejects.toMatchObject({ code: 'bad_header' });
    },
  );
});
