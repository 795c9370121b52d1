// A partner's public keys as an operator or partner system hands them over (a JWKS, with roles and
// validity for all of them or per key) turned into the keys the registry stores. Shared by the
// admin API (adding a partner or its keys) and the CLI (`parley verify`, `parley conformance`),
// which check a key set from a file the same way without a running node.
import type { NewKey } from '../db/registry.js';
import { AppError } from '../errors.js';
import { algFitsKey, publicPart, rolesMisfit, thumbprint } from '../protocol/keys.js';
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
      // Without `alg`: an X25519 key, or one marked `use: enc`, encrypts; any other signs.
      const encrypts = jwk.crv === 'X25519' || jwk.use === 'enc' || jwk.alg === 'ECDH-ES+A256KW';
      const alg = jwk.alg ?? (encrypts ? 'ECDH-ES+A256KW' : jwk.kty === 'EC' ? 'ES256' : 'Ed25519');
      if (!algFitsKey(alg, jwk)) {
        throw new AppError('schema_invalid', 'the algorithm does not fit the key', [
          {
            path: jwk.alg ? `${path}/alg` : `${path}/crv`,
            message: `${alg} does not fit a ${jwk.kty} ${String(jwk.crv)} key`,
          },
        ]);
      }
      if (jwk.use !== undefined && (jwk.use === 'enc') !== (alg === 'ECDH-ES+A256KW'))
        throw new AppError('schema_invalid', '`use` does not fit the algorithm', [
          {
            path: `${path}/use`,
            message: `a key for ${alg} has use ${alg === 'ECDH-ES+A256KW' ? 'enc' : 'sig'}`,
          },
        ]);
      const roles =
        input.roles ??
        jwk.parley_roles ??
        (alg === 'ECDH-ES+A256KW'
          ? ['encryption' as const]
          : ['message' as const, 'receipt' as const]);
      const misfit = rolesMisfit(alg, roles);
      if (misfit)
        throw new AppError('schema_invalid', 'the roles do not fit the key', [
          { path: input.roles ? '/roles' : `${path}/parley_roles`, message: misfit },
        ]);
      const validUntil = input.validUntil !== undefined ? input.validUntil : jwk.parley_valid_until;
      return {
        kid,
        alg,
        publicJwk: publicPart(jwk),
        roles,
        validFrom: new Date(input.validFrom ?? jwk.parley_valid_from ?? now.toISOString()),
        validUntil: validUntil ? new Date(validUntil) : null,
      };
    }),
  );
}
