// The development OpenID provider (oidc-provider) a node runs under /oidc when no issuer is
// configured, so a fresh node has a working login page: its users are the development users below
// (passwords for development only), its signing and cookie keys live in the data folder, and what
// it remembers (provider sessions, grants, codes) is in this process's memory. Production nodes set
// AUTH_OIDC_ISSUER to their organisation's provider instead.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import express, { Router, type RequestHandler, type Response } from 'express';
import { exportJWK, generateKeyPair, calculateJwkThumbprint } from 'jose';
import { LRUCache } from 'lru-cache';
import type {
  Adapter,
  AdapterPayload,
  Configuration,
  default as ProviderClass,
} from 'oidc-provider';
import type { Logger } from 'pino';
import type { Role } from '../schemas/common.js';

/** The development users: for a node's first steps and tests, never for real data. */
export const DEV_USERS: readonly {
  login: string;
  password: string;
  sub: string;
  name: string;
  roles: Role[];
}[] = [
  { login: 'amira', password: 'amira-dev', sub: 'amira', name: 'Amira Haddad', roles: ['officer'] },
  {
    login: 'sofia',
    password: 'sofia-dev',
    sub: 'sofia',
    name: 'Sofia Petrosyan',
    roles: ['supervisor'],
  },
  { login: 'adam', password: 'adam-dev', sub: 'adam', name: 'Adam Aliyev', roles: ['admin'] },
];

/** The client the node is at its own development provider; the secret is new at every start. */
export const DEV_CLIENT_ID = 'parley-dashboard';

function devOidcPaths(dataDir: string) {
  return {
    jwks: path.join(dataDir, 'auth', 'dev-oidc.private.jwks.json'),
    cookieKeys: path.join(dataDir, 'auth', 'dev-oidc.cookie-keys.json'),
  };
}

/** Reads a JSON file of the data folder, or creates it (mode 0600) with `make()`. */
async function kept<T>(file: string, make: () => Promise<T>): Promise<T> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const value = await make();
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs
    .writeFile(file, JSON.stringify(value, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
    .catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  return JSON.parse(await fs.readFile(file, 'utf8')) as T;
}

/** What the provider stores, in memory (lost on restart: users sign in again). */
function memoryAdapter(): new (name: string) => Adapter {
  const store = new LRUCache<string, AdapterPayload | string[] | string>({ max: 10_000 });
  const ttl = (expiresIn: number | undefined) => (expiresIn ? { ttl: expiresIn * 1000 } : {});
  return class MemoryAdapter implements Adapter {
    constructor(readonly name: string) {}
    private key(id: string) {
      return `${this.name}:${id}`;
    }
    upsert(id: string, payload: AdapterPayload, expiresIn: number) {
      store.set(this.key(id), payload, ttl(expiresIn));
      if (payload.uid) store.set(`uid:${payload.uid}`, id, ttl(expiresIn));
      if (payload.grantId) {
        const grantKey = `grant:${payload.grantId}`;
        const list = (store.get(grantKey) as string[] | undefined) ?? [];
        store.set(grantKey, [...list, this.key(id)], ttl(expiresIn));
      }
      return Promise.resolve();
    }
    find(id: string) {
      return Promise.resolve(store.get(this.key(id)) as AdapterPayload | undefined);
    }
    findByUserCode() {
      return Promise.resolve(undefined);
    }
    findByUid(uid: string) {
      const id = store.get(`uid:${uid}`) as string | undefined;
      return this.find(id ?? '');
    }
    consume(id: string) {
      const payload = store.get(this.key(id)) as AdapterPayload | undefined;
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
      return Promise.resolve();
    }
    destroy(id: string) {
      store.delete(this.key(id));
      return Promise.resolve();
    }
    revokeByGrantId(grantId: string) {
      for (const key of (store.get(`grant:${grantId}`) as string[] | undefined) ?? [])
        store.delete(key);
      store.delete(`grant:${grantId}`);
      return Promise.resolve();
    }
  };
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

/** A page of the provider: the dashboard's stylesheet, no script, forms posting to itself only. */
function page(res: Response, status: number, title: string, body: string) {
  res
    .status(status)
    .set({
      'cache-control': 'no-store',
      'content-security-policy':
        "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
    })
    .type('html')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
        `<meta name="viewport" content="width=device-width, initial-scale=1">` +
        `<title>${escapeHtml(title)} · Parley development sign-in</title>` +
        `<link rel="stylesheet" href="/dashboard/static/style.css"></head><body>` +
        `<main id="main"><section class="sign-in" aria-labelledby="title">` +
        `<h1 id="title">${escapeHtml(title)}</h1>${body}` +
        `<p class="help">Development sign-in of this node: its users and passwords are in the ` +
        `README and for development only.</p></section></main></body></html>`,
    );
}

function findUser(login: string, password: string) {
  const digest = (s: string) => crypto.createHash('sha256').update(s).digest();
  let found: (typeof DEV_USERS)[number] | undefined;
  for (const user of DEV_USERS) {
    const ok =
      crypto.timingSafeEqual(digest(user.login), digest(login)) &&
      crypto.timingSafeEqual(digest(user.password), digest(password));
    if (ok) found = user;
  }
  return found;
}

/**
 * oidc-provider, loaded only when a node runs it (not by every CLI command). On Node 20 it says at
 * load that it prefers Node 22; it works, and that line would land in every start's stderr, so it
 * goes to the node's log instead.
 */
async function loadProvider(log: Logger): Promise<typeof ProviderClass> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (
      typeof args[0] === 'string' &&
      args[0].includes('oidc-provider WARNING: Unsupported runtime')
    )
      log.debug('oidc-provider prefers Node 22; it runs on this Node');
    else warn(...args);
  };
  try {
    return (await import('oidc-provider')).default;
  } finally {
    console.warn = warn;
  }
}

export interface DevOidc {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Mounted at /oidc: the provider with its login and consent pages. */
  handler: RequestHandler;
}

/** Starts the development provider at `${baseUrl}/oidc` for the node's own client. */
export async function startDevOidc(o: {
  dataDir: string;
  baseUrl: string;
  rolesClaim: string;
  log: Logger;
}): Promise<DevOidc> {
  const paths = devOidcPaths(o.dataDir);
  const jwks = await kept(paths.jwks, async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = await calculateJwkThumbprint(await exportJWK(publicKey), 'sha256');
    return { keys: [{ ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' }] };
  });
  const cookieKeys = await kept(paths.cookieKeys, () =>
    Promise.resolve([crypto.randomBytes(32).toString('base64url')]),
  );
  const issuer = `${o.baseUrl}/oidc`;
  const clientSecret = crypto.randomBytes(32).toString('base64url');
  const bySub = new Map(DEV_USERS.map((u) => [u.sub, u]));

  const configuration: Configuration = {
    adapter: memoryAdapter(),
    clients: [
      {
        client_id: DEV_CLIENT_ID,
        client_secret: clientSecret,
        redirect_uris: [`${o.baseUrl}/auth/callback`],
        response_types: ['code'],
        grant_types: ['authorization_code'],
        id_token_signed_response_alg: 'ES256',
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks,
    cookies: { keys: cookieKeys },
    pkce: { required: () => true },
    // Seconds. A development provider's session lasts a working day; the node's own session
    // (AUTH_SESSION_SECONDS) is what keeps a browser signed in.
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 14 * 86_400,
      IdToken: 600,
      Interaction: 600,
      Session: 8 * 3600,
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/oidc/interaction/${interaction.uid}` },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', o.rolesClaim] },
    findAccount: (_ctx, id) => {
      const user = bySub.get(id);
      if (!user) return undefined;
      return {
        accountId: user.sub,
        claims: () => ({
          sub: user.sub,
          name: user.name,
          preferred_username: user.login,
          [o.rolesClaim]: user.roles,
        }),
      };
    },
  };
  const Provider = await loadProvider(o.log);
  const provider = new Provider(issuer, configuration);
  // Behind a proxy that ends TLS (PUBLIC_URL https://), the provider reads the scheme from it.
  if (issuer.startsWith('https:')) provider.proxy = true;
  provider.on('server_error', (_ctx, err) =>
    o.log.warn({ errName: err.name, msg: err.message }, 'development OpenID provider error'),
  );

  const form = express.urlencoded({ extended: false, limit: '8kb' });
  const router = Router();
  const loginForm = (uid: string, error?: string) =>
    `<form method="post" action="/oidc/interaction/${escapeHtml(uid)}/login">` +
    (error ? `<p class="error" role="alert" id="login-error">${escapeHtml(error)}</p>` : '') +
    `<label for="login">Username</label>` +
    `<input id="login" name="login" autocomplete="username" required autofocus>` +
    `<label for="password">Password</label>` +
    `<input id="password" name="password" type="password" autocomplete="current-password" required>` +
    `<button type="submit">Sign in</button></form>`;

  router.get('/interaction/:uid', async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    const uid = escapeHtml(details.uid);
    if (details.prompt.name === 'login') return page(res, 200, 'Sign in', loginForm(details.uid));
    const user = bySub.get(details.session?.accountId ?? '');
    page(
      res,
      200,
      'Allow access',
      `<p>The Parley dashboard of this node asks to know your name and roles` +
        (user ? ` (signed in as <strong>${escapeHtml(user.name)}</strong>)` : '') +
        `.</p><form method="post" action="/oidc/interaction/${uid}/confirm">` +
        `<button type="submit">Allow</button></form>` +
        `<form method="post" action="/oidc/interaction/${uid}/abort">` +
        `<button type="submit" class="secondary">Cancel</button></form>`,
    );
  });

  router.post('/interaction/:uid/login', form, async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    const user = findUser(text(body.login), text(body.password));
    if (!user)
      return page(res, 401, 'Sign in', loginForm(details.uid, 'Wrong username or password.'));
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.sub } },
      { mergeWithLastSubmission: false },
    );
  });

  router.post('/interaction/:uid/confirm', form, async (req, res) => {
    const details = await provider.interactionDetails(req, res);
    const accountId = details.session?.accountId;
    const clientId = details.params.client_id;
    if (details.prompt.name !== 'consent' || !accountId || typeof clientId !== 'string') {
      return page(res, 400, 'Sign-in interrupted', '<p>Start again from the dashboard.</p>');
    }
    const grant = details.grantId
      ? ((await provider.Grant.find(details.grantId)) ??
        new provider.Grant({ accountId, clientId }))
      : new provider.Grant({ accountId, clientId });
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  });

  router.post('/interaction/:uid/abort', form, async (req, res) => {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the user cancelled the sign-in' },
      { mergeWithLastSubmission: false },
    );
  });

  const callback = provider.callback();
  router.use((req, res) => {
    void callback(req, res);
  });
  return { issuer, clientId: DEV_CLIENT_ID, clientSecret, handler: router };
}
