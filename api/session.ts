// Browser sign-in: OpenID Connect authorization code flow with PKCE (openid-client) against the
// configured issuer, or the development provider the node runs under /oidc (node/dev-oidc.ts).
// A signed-in browser holds only a random session id in an httpOnly, SameSite=Strict cookie
// (Secure when the node is reached over HTTPS); the session (who, roles, CSRF token) lives in
// Postgres by the id's SHA-256, and no token of the provider is kept at all. Every call with the
// cookie that changes state must carry the session's CSRF token in `x-csrf-token`.
import crypto from 'node:crypto';
import type { Router } from 'express';
import { type Request, type RequestHandler, type Response } from 'express';
import * as oidc from 'openid-client';
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  deleteExpiredSessions,
  deleteExpiredSignIns,
  deleteUiSession,
  getUiSession,
  insertSession,
  insertSignIn,
  sessionCsrfToken,
  takeSignIn,
} from '../db/ui-sessions.js';
import { AppError } from '../errors.js';
import { unsafeCharacter } from '../schemas/text.js';
import { rolesFromClaim, type Authenticator, type Principal } from './auth.js';
import { DeclaredRouter } from './routes.js';

export const SESSION_COOKIE = 'parley_session';
const SIGN_IN_COOKIE = 'parley_sign_in';
export const CSRF_HEADER = 'x-csrf-token';
/** How long the provider may take to send the browser back. */
const SIGN_IN_SECONDS = 600;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The node's client at an OpenID provider. */
export interface OidcClientSettings {
  issuer: string;
  clientId: string;
  /** Absent: a public client (PKCE alone). */
  clientSecret: string | undefined;
}

export interface SignInOptions {
  pool: pg.Pool;
  log: Logger;
  rolesClaim: string;
  sessionSeconds: number;
  scopes: string;
  /** PUBLIC_URL is set: browsers use that name, never the one they happened to type. */
  publicUrl: string | undefined;
}

export interface SignIn {
  /** `/auth/login`, `/auth/callback`, `/auth/logout`, and the development provider at `/oidc`. */
  router: Router;
  /** The principal of a request with the session cookie (Authenticator.session). */
  session(req: Request): Promise<Principal | undefined>;
  /** Once the node listens: its base URL, its client at the issuer, the embedded provider. */
  ready(o: { baseUrl: string; client: OidcClientSettings; provider?: RequestHandler }): void;
}

const digest = (value: string) => crypto.createHash('sha256').update(value).digest();
const randomId = () => crypto.randomBytes(32).toString('base64url');

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{20,100}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

function sameBytes(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** A dashboard path only, so a crafted link cannot send a signed-in user to another site. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' &&
    /^\/dashboard(\/|\?|$)/.test(next) &&
    !next.startsWith('/dashboard/sign-in') &&
    !/[\\\s]/.test(next)
    ? next
    : '/dashboard';
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** The browser on a node with sign-in: adds the session cookie to the bearer Authenticator. */
export function withSessions(auth: Authenticator, signIn: SignIn): Authenticator {
  return { authenticate: (a) => auth.authenticate(a), session: (req) => signIn.session(req) };
}

export function createSignIn(opts: SignInOptions): SignIn {
  let settings:
    | { baseUrl: string; client: OidcClientSettings; provider: RequestHandler | undefined }
    | undefined;
  let discovered: Promise<oidc.Configuration> | undefined;
  const secure = () => settings?.baseUrl.startsWith('https:') ?? false;

  const clientConfig = (): Promise<oidc.Configuration> => {
    if (!settings) throw new AppError('unavailable', 'sign-in is starting; try again shortly');
    const { client } = settings;
    discovered ??= oidc
      .discovery(
        new URL(client.issuer),
        client.clientId,
        undefined,
        client.clientSecret ? oidc.ClientSecretBasic(client.clientSecret) : oidc.None(),
        client.issuer.startsWith('http:') ? { execute: [oidc.allowInsecureRequests] } : {},
      )
      .catch((err: unknown) => {
        // Not kept: the next sign-in asks the issuer again.
        discovered = undefined;
        throw err;
      });
    return discovered;
  };

  const toSignIn = (res: Response, reason: string) =>
    res
      .set('cache-control', 'no-store')
      .redirect(303, `/dashboard/sign-in?${new URLSearchParams({ reason }).toString()}`);

  const cookieBase = () => ({ httpOnly: true, secure: secure() });

  const declared = new DeclaredRouter('');
  const router = declared.router;

  // The development provider (login and consent pages included), once the node listens.
  router.use('/oidc', (req, res, next) => {
    if (!settings?.provider) return next();
    settings.provider(req, res, next);
  });

  declared.route('signInStart', async (req, res) => {
    if (!settings) throw new AppError('unavailable', 'sign-in is starting; try again shortly');
    const next = safeNext(req.query.next);
    // Without PUBLIC_URL the provider sends the browser back to the node's own address: start
    // there, so the sign-in cookie is on the same host as the callback.
    const base = new URL(settings.baseUrl);
    if (!opts.publicUrl && req.get('host') !== base.host) {
      return res.redirect(
        303,
        `${settings.baseUrl}/auth/login?${new URLSearchParams({ next }).toString()}`,
      );
    }
    let config: oidc.Configuration;
    try {
      config = await clientConfig();
    } catch (err) {
      opts.log.warn(
        { errName: (err as Error).name, msg: (err as Error).message },
        'OIDC discovery failed',
      );
      throw new AppError(
        'unavailable',
        'the identity provider cannot be reached; try again shortly',
      );
    }
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const id = randomId();
    await deleteExpiredSignIns(opts.pool);
    await insertSignIn(opts.pool, {
      idHash: digest(id),
      state,
      nonce,
      code_verifier: codeVerifier,
      next,
      seconds: SIGN_IN_SECONDS,
    });
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${settings.baseUrl}/auth/callback`,
      scope: opts.scopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      // Every sign-in asks for the password: after "Sign out" on a shared computer, the next
      // person cannot continue as the last one through the provider's own session.
      prompt: 'login',
    });
    // Lax: the provider's redirect back is a cross-site top-level navigation.
    res.cookie(SIGN_IN_COOKIE, id, {
      ...cookieBase(),
      sameSite: 'lax',
      path: '/auth',
      maxAge: SIGN_IN_SECONDS * 1000,
    });
    res.set('cache-control', 'no-store').redirect(303, url.href);
  });

  declared.route('signInCallback', async (req, res) => {
    if (!settings) throw new AppError('unavailable', 'sign-in is starting; try again shortly');
    const id = cookieOf(req, SIGN_IN_COOKIE);
    res.clearCookie(SIGN_IN_COOKIE, { ...cookieBase(), sameSite: 'lax', path: '/auth' });
    const pending = id ? await takeSignIn(opts.pool, digest(id)) : undefined;
    if (!pending)
      return toSignIn(res, 'the sign-in took too long or began in another browser; try again');

    let sub: string;
    let name: string | null;
    let claims: Record<string, unknown>;
    try {
      const config = await clientConfig();
      const tokens = await oidc.authorizationCodeGrant(
        config,
        new URL(req.originalUrl, settings.baseUrl),
        {
          pkceCodeVerifier: pending.code_verifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        },
      );
      const idClaims = tokens.claims();
      if (!idClaims) throw new Error('no ID token');
      claims = { ...idClaims };
      // Providers that put profile claims in userinfo only (oidc-provider among them).
      if (!(opts.rolesClaim in claims) && config.serverMetadata().userinfo_endpoint) {
        const info = await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub);
        claims = { ...info, ...idClaims };
      }
      sub = idClaims.sub;
      const shown = claims.name ?? claims.preferred_username;
      name = typeof shown === 'string' && unsafeCharacter(shown) === undefined ? shown : null;
    } catch (err) {
      const code =
        err instanceof oidc.AuthorizationResponseError || err instanceof oidc.ResponseBodyError
          ? err.error
          : (err as Error).name;
      opts.log.warn({ code }, 'sign-in refused');
      return toSignIn(res, `the identity provider did not sign you in (${code})`);
    }
    const roles = rolesFromClaim(claims[opts.rolesClaim]);
    if (unsafeCharacter(sub) !== undefined)
      return toSignIn(res, 'the identity provider sent a user id this node cannot store');
    if (roles.length === 0)
      return toSignIn(
        res,
        'your account holds no role this node serves (officer, supervisor or admin)',
      );

    const session = randomId();
    await deleteExpiredSessions(opts.pool);
    await insertSession(opts.pool, {
      idHash: digest(session),
      sub,
      name,
      roles,
      csrfToken: randomId(),
      seconds: opts.sessionSeconds,
    });
    res.cookie(SESSION_COOKIE, session, {
      ...cookieBase(),
      sameSite: 'strict',
      path: '/',
      maxAge: opts.sessionSeconds * 1000,
    });
    opts.log.info({ roles }, 'signed in');
    // A page of our own origin, not a redirect: a SameSite=Strict cookie is not sent on a
    // redirect chain that began at another site (the provider), but is on this navigation.
    const next = escapeHtml(pending.next);
    res
      .set({
        'cache-control': 'no-store',
        'content-security-policy': "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
        'referrer-policy': 'no-referrer',
      })
      .type('html')
      .send(
        `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
          `<meta http-equiv="refresh" content="0;url=${next}"><title>Signed in · Parley</title>` +
          `</head><body><p>Signed in. <a href="${next}">Continue to the dashboard</a>.</p></body></html>`,
      );
  });

  // The page's question "am I signed in?", answered without a 401 (a browser logs every 401 as
  // an error): who, with which roles, and the CSRF token; or why not.
  declared.route('signInSession', async (req, res) => {
    res.set('cache-control', 'no-store');
    let principal: Principal | undefined;
    try {
      principal = await session(req);
    } catch (err) {
      if (!(err instanceof AppError && err.status === 401)) throw err;
      res.json({ signedIn: false, reason: err.message });
      return;
    }
    res.json(
      principal && req.browserSession
        ? { signedIn: true, ...principal, ...req.browserSession }
        : { signedIn: false },
    );
  });

  declared.route('signOut', async (req, res) => {
    const id = cookieOf(req, SESSION_COOKIE);
    if (id) {
      const csrfToken = await sessionCsrfToken(opts.pool, digest(id));
      if (csrfToken !== undefined && !sameBytes(req.get(CSRF_HEADER) ?? '', csrfToken))
        throw new AppError('csrf_invalid', `signing out needs the session's ${CSRF_HEADER}`);
      await deleteUiSession(opts.pool, digest(id));
    }
    res.clearCookie(SESSION_COOKIE, { ...cookieBase(), sameSite: 'strict', path: '/' });
    res.set('cache-control', 'no-store').status(204).end();
  });

  return {
    router,
    ready(o) {
      settings = { baseUrl: o.baseUrl.replace(/\/+$/, ''), client: o.client, provider: o.provider };
      discovered = undefined;
    },
    session,
  };

  async function session(req: Request): Promise<Principal | undefined> {
    const id = cookieOf(req, SESSION_COOKIE);
    if (!id) return undefined;
    const row = await getUiSession(opts.pool, digest(id));
    if (!row)
      throw new AppError(
        'token_invalid',
        'the sign-in session is not known to this node (signed out or ended); sign in again',
      );
    if (!row.live) {
      await deleteUiSession(opts.pool, digest(id));
      throw new AppError('token_expired', 'the sign-in session has ended; sign in again');
    }
    if (!SAFE_METHODS.has(req.method) && !sameBytes(req.get(CSRF_HEADER) ?? '', row.csrf_token))
      throw new AppError(
        'csrf_invalid',
        `a call that changes something needs the session's ${CSRF_HEADER} header (GET /dashboard/session.json gives it)`,
      );
    req.browserSession = { name: row.name, csrfToken: row.csrf_token };
    return { sub: row.sub, roles: rolesFromClaim(row.roles) };
  }
}
