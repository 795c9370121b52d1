// A partner's public keys as an operator or partner system hands them over (a JWKS, with roles and
// validity for all of them or per key) turned into the keys the registry stores. Shared by the
// admin API (adding a partner or its keys) and the CLI (`parley verify`, `parley conformance`),
// which check a key set from a file the same way without a running node.
import type { NewKey } from '../db/registry.js';
import { AppError } from '../errors.js';
import { algFitsKey, publicPart, thumbprint } from '../protocol/keys.js';
import type { KeysInput } from '../schemas/partners-api.js';

/** Turns a JWKS with roles and validity into keys to register, checking each kid and algorithm. */
export async function keysFromInput(input: KeysInput, now = new Date()): Promise<NewKey[]> {
  return Promise.all(
    input.jwks.keys.map(async (jwk, i) => {
      const kid = await thumbprint(jwk);
      const path = `/jwks/keys/${i}`;
      if (jwk.kid !== undefined && jwk.kid !== kid) {
        throw new AppError(
          'schema_invalid',
          'a key’s kid must be its RFC 7638 SHA-256 thumbprint',
          [{ path: `${path}/kid`, message: `expected ${kid}` }],
        );
      }
      const alg = jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : 'Ed25519');
      if (!algFitsKey(alg, jwk)) {
        throw new AppError('schema_invalid', 'the algorithm does not fit the key', [
          { path: `${path}/alg`, message: `${alg} does not fit a ${jwk.kty} key` },
        ]);
      }
      const validUntil = input.validUntil !== undefined ? input.validUntil : jwk.parley_valid_until;
      return {
        kid,
        alg,
        publicJwk: publicPart(jwk),
        roles: input.roles ?? jwk.parley_roles ?? ['message', 'receipt'],
        validFrom: new Date(input.validFrom ?? jwk.parley_valid_from ?? now.toISOString()),
        validUntil: validUntil ? new Date(validUntil) : null,
      };
    }),
  );
}
