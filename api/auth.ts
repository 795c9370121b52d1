// Authentication of human callers: bearer JWTs from the configured issuer, verified by jose
// against its key set, or the session cookie of a browser signed in through OpenID Connect
// (api/session.ts); roles come from a claim. Every route names the roles it admits.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import type { Request, RequestHandler } from 'express';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import { LRUCache } from 'lru-cache';
import type { AuthConfig } from '../config.js';
import { AppError } from '../errors.js';
import { Role } from '../schemas/common.js';
import { unsafeCharacter } from '../schemas/text.js';

/** Who is calling, as proven by their token. */
export interface Principal {
  sub: string;
  roles: Role[];
}

export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal>;
  /**
   * Signed-in browsers: the principal of a request carrying the session cookie (and, when it
   * changes state, the session's CSRF token); undefined when the request has no session cookie.
   */
  session?: (req: Request) => Promise<Principal | undefined>;
}

/** The roles a claim value names (an array, or a space-separated string); unknown ones dropped. */
export function rolesFromClaim(claim: unknown): Role[] {
  const listed: unknown[] = Array.isArray(claim)
    ? claim
    : typeof claim === 'string'
      ? claim.split(' ')
      : [];
  return listed.flatMap((r) => {
    const parsed = Role.safeParse(r);
    return parsed.success ? [parsed.data] : [];
  });
}

/** Algorithms accepted for user tokens: asymmetric only, so a leaked key set signs nothing. */
const USER_TOKEN_ALGORITHMS = ['EdDSA', 'Ed25519', 'ES256', 'RS256', 'PS256'];

/** How many verified bearer tokens are remembered (by SHA-256), least recently used dropped first. */
export const TOKEN_CACHE_SIZE = 10_000;

export async function createAuthenticator(
  cfg: AuthConfig,
  opts: { tokenCacheSize?: number } = {},
): Promise<Authenticator> {
  let keys: JWTVerifyGetKey;
  if (cfg.jwks === 'url') {
    keys = createRemoteJWKSet(new URL(cfg.url));
  } else {
    let text: string;
    try {
      text = await fs.readFile(cfg.file, 'utf8');
    } catch {
      throw new Error(`the token issuer key set ${cfg.file} cannot be read (AUTH_JWKS_FILE)`);
    }
    keys = createLocalJWKSet(JSON.parse(text) as Parameters<typeof createLocalJWKSet>[0]);
  }

  // Verified tokens by the SHA-256 of their text, with the instant (ms) their `exp` ends them: a
  // caller sending the same token again is not verified again until then. Only successes are
  // kept; a token whose text differs in any byte (another signature) has another digest.
  const verified = new LRUCache<string, { principal: Principal; expiresAtMs: number }>({
    max: opts.tokenCacheSize ?? TOKEN_CACHE_SIZE,
  });

  return {
    async authenticate(authorization) {
      const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization ?? '');
      if (!match?.[1])
        throw new AppError(
          'token_missing',
          'a bearer token is required (Authorization: Bearer <jwt>)',
        );
      const digest = crypto.createHash('sha256').update(match[1]).digest('base64');
      const hit = verified.get(digest);
      if (hit) {
        // Never past `exp`: an expired entry is dropped and the token verified (and refused) anew.
        if (Date.now() < hit.expiresAtMs) return hit.principal;
        verified.delete(digest);
      }
      let payload;
      try {
        ({ payload } = await jwtVerify(match[1], keys, {
          issuer: cfg.issuer,
          audience: cfg.audience,
          algorithms: USER_TOKEN_ALGORITHMS,
          requiredClaims: ['sub', 'exp'],
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired)
          throw new AppError('token_expired', 'the bearer token has expired');
        throw new AppError('token_invalid', 'the bearer token is not valid for this node');
      }
      const roles = rolesFromClaim(payload[cfg.rolesClaim]);
      // The subject is stored as the actor of what the caller does: it must be safe text.
      if (unsafeCharacter(payload.sub!) !== undefined)
        throw new AppError('token_invalid', 'the bearer token is not valid for this node');
      const principal: Principal = { sub: payload.sub!, roles };
      // jose accepts a token while the current second is before `exp`.
      const expiresAtMs = payload.exp! * 1000;
      const ttl = expiresAtMs - Date.now();
      if (ttl > 0) verified.set(digest, { principal, expiresAtMs }, { ttl });
      return principal;
    },
  };
}

/** What a request signed in by the session cookie carries besides its principal. */
export interface BrowserSession {
  /** The name the identity provider gave, to show. */
  name: string | null;
  /** The token state-changing calls with this session send in `x-csrf-token`. */
  csrfToken: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    browserSession?: BrowserSession;
  }
}

/**
 * Admits callers holding at least one of the roles; 401 without a valid token or session, 403
 * otherwise. A bearer token wins over a session cookie sent along with it.
 */
export function requireRole(auth: Authenticator, ...allowed: Role[]): RequestHandler {
  return async (req, _res, next) => {
    const authorization = req.get('authorization');
    const principal =
      (authorization === undefined ? await auth.session?.(req) : undefined) ??
      (await auth.authenticate(authorization));
    if (!principal.roles.some((r) => allowed.includes(r))) {
      throw new AppError('forbidden', `this route needs one of the roles: ${allowed.join(', ')}`);
    }
    req.principal = principal;
    next();
  };
}

/** The authenticated caller of a route guarded by requireRole. */
export function principalOf(req: { principal?: Principal }): Principal {
  if (!req.principal) throw new TypeError('principalOf used on a route without requireRole');
  return req.principal;
}
