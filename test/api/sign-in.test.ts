// Browser sign-in over plain HTTP against a live node with its embedded development OpenID
// provider: the authorization code flow with PKCE through the provider's login and consent pages
// gives an httpOnly, SameSite=Strict session cookie that every API route accepts with the same
// subject and roles as a bearer token; calls that change state need the session's CSRF token;
// unknown, ended and signed-out sessions get 401 with the bearer tokens' codes; bearer tokens work
// as before, with or without a cookie beside them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, loadSigningKey } from '../../protocol/keys.js';
import { loadConfig } from '../../config.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';

let node: TestNode;

/** A partner to register: a state-changing admin call with a body that is valid. */
async function partnerBody(partyId: string) {
  const key = await loadSigningKey(
    await generateSigningKey({ alg: 'Ed25519', roles: ['message', 'receipt'] }),
  );
  return {
    partyId,
    name: `Offline ${partyId}`,
    inboxUrl: 'http://127.0.0.1:9/v1/messages',
    jwks: { keys: [{ ...key.publicJwk, alg: key.alg }] },
  };
}

/** A cookie jar and a redirect-following client, as a browser would be (names only, no paths). */
function browser(base: string) {
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';').map((p) => p.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      const gone = attrs.some(
        (a) =>
          /^max-age=0$/i.test(a) || (/^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now()),
      );
      if (gone || value === '') jar.delete(name);
      else jar.set(name, value);
    }
  };
  const request = async (
    method: string,
    url: string,
    init: { form?: Record<string, string>; headers?: Record<string, string> } = {},
  ) => {
    let target = new URL(url, base);
    let res: Response;
    let m = method;
    let body: string | undefined = init.form
      ? new URLSearchParams(init.form).toString()
      : undefined;
    for (let hops = 0; ; hops++) {
      expect(hops).toBeLessThan(20);
      res = await fetch(target, {
        method: m,
        redirect: 'manual',
        headers: {
          cookie: cookieHeader(),
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...init.headers,
        },
        body,
      });
      remember(res);
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) break;
      target = new URL(location, target);
      m = 'GET';
      body = undefined;
    }
    return { res, url: target, text: await res.text() };
  };
  return { jar, request };
}

/** Signs in through the provider's pages as a development user; returns the browser. */
async function signIn(login: string, password: string) {
  const b = browser(node.url);
  let page = await b.request('GET', '/auth/login?next=/dashboard/requests');
  expect(page.url.pathname).toMatch(/^\/oidc\/interaction\//);
  expect(page.text).toContain('Password');
  page = await b.request('POST', `${page.url.pathname}/login`, { form: { login, password } });
  if (page.url.pathname.startsWith('/oidc/interaction/')) {
    expect(page.text).toContain('Allow');
    page = await b.request('POST', `${page.url.pathname}/confirm`, { form: {} });
  }
  return { ...b, landed: page };
}

beforeAll(async () => {
  node = await startTestNode({ partyId: 'party-a' });
});

afterAll(async () => {
  await node?.destroy();
});

describe('browser sign-in', () => {
  it('signs a development user in with a session cookie the API accepts like a bearer token', async () => {
    const config = await call(node.url, 'GET', '/dashboard/config.json');
    expect(config.body.signIn).toBe(true);
    const discovery = await call(node.url, 'GET', '/oidc/.well-known/openid-configuration');
    expect(discovery.body.issuer).toBe(`${node.url}/oidc`);
    expect(discovery.body.code_challenge_methods_supported).toContain('S256');

    // Not signed in yet: the page asks without getting a 401.
    const before = await call(node.url, 'GET', '/auth/session');
    expect(before.status).toBe(200);
    expect(before.body).toEqual({ signedIn: false });

    const { jar, request, landed } = await signIn('amira', 'amira-dev');
    expect(landed.url.pathname).toBe('/auth/callback');
    expect(landed.res.status).toBe(200);
    expect(landed.text).toContain('url=/dashboard/requests');
    const session = jar.get('parley_session');
    expect(session).toBeDefined();

    const asked = JSON.parse((await request('GET', '/auth/session')).text) as { signedIn: boolean };
    expect(asked).toMatchObject({ signedIn: true, sub: 'amira', roles: ['officer'] });
    const me = await request('GET', '/dashboard/session.json');
    expect(me.res.status).toBe(200);
    const body = JSON.parse(me.text) as {
      sub: string;
      roles: string[];
      name: string;
      csrfToken: string;
    };
    expect(body).toMatchObject({ sub: 'amira', roles: ['officer'], name: 'Amira Haddad' });
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{40,}$/);

    // The same routes, the same subject, as a bearer token of the same user.
    const list = await request('GET', '/v1/requests');
    expect(list.res.status).toBe(200);
    const supervisorOnly = await request('GET', '/v1/supervisor/summary');
    expect(supervisorOnly.res.status).toBe(403);
    expect(JSON.parse(supervisorOnly.text).code).toBe('forbidden');
  });

  it('sets the session cookie httpOnly and SameSite=Strict, and stores no provider token', async () => {
    const b = browser(node.url);
    let page = await b.request('GET', '/auth/login');
    page = await b.request('POST', `${page.url.pathname}/login`, {
      form: { login: 'sofia', password: 'sofia-dev' },
    });
    const confirm = `${page.url.pathname}/confirm`;
    const res = await fetch(new URL(confirm, node.url), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: [...b.jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    // Follow by hand up to the node's callback, to read its Set-Cookie.
    let location = res.headers.get('location');
    let last: Response = res;
    const cookie = () => [...b.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      b.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    while (location) {
      last = await fetch(new URL(location, node.url), {
        redirect: 'manual',
        headers: { cookie: cookie() },
      });
      for (const line of last.headers.getSetCookie()) {
        const [pair = ''] = line.split(';');
        const eq = pair.indexOf('=');
        b.jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      location = last.headers.get('location');
    }
    const set = last.headers.getSetCookie().find((c) => c.startsWith('parley_session='));
    expect(set).toBeDefined();
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/SameSite=Strict/i);
    expect(set).toMatch(/Path=\//);
    expect(set).not.toMatch(/Secure/i); // plain HTTP here; Secure when PUBLIC_URL is https
    const { rows } = await node.database.pool.query<Record<string, unknown>>(
      `SELECT * FROM ui_sessions WHERE sub = 'sofia'`,
    );
    expect(rows).toHaveLength(1);
    expect(Object.keys(rows[0]!).sort()).toEqual(
      ['created_at', 'csrf_token', 'expires_at', 'id_hash', 'name', 'roles', 'sub'].sort(),
    );
    expect(rows[0]!.roles).toEqual(['supervisor']);
  });

  it('refuses a wrong password on the provider’s login page', async () => {
    const b = browser(node.url);
    const page = await b.request('GET', '/auth/login');
    const wrong = await b.request('POST', `${page.url.pathname}/login`, {
      form: { login: 'amira', password: 'not-her-password' },
    });
    expect(wrong.res.status).toBe(401);
    expect(wrong.text).toContain('Wrong username or password');
    expect(b.jar.has('parley_session')).toBe(false);
  });

  it('refuses state-changing calls without the CSRF token, and signs out', async () => {
    const { request, jar } = await signIn('adam', 'adam-dev');
    const me = JSON.parse((await request('GET', '/dashboard/session.json')).text) as {
      csrfToken: string;
    };
    const partner = await partnerBody('party-q');
    const json = { 'content-type': 'application/json' };
    // A form post from another site cannot add the header: refused, nothing stored.
    const forged = await fetch(new URL('/v1/admin/partners', node.url), {
      method: 'POST',
      headers: { ...json, cookie: `parley_session=${jar.get('parley_session')}` },
      body: JSON.stringify(partner),
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { code: string }).code).toBe('csrf_invalid');
    const wrongToken = await fetch(new URL('/v1/admin/partners', node.url), {
      method: 'POST',
      headers: {
        ...json,
        cookie: `parley_session=${jar.get('parley_session')}`,
        'x-csrf-token': me.csrfToken.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
      },
      body: JSON.stringify(partner),
    });
    expect(wrongToken.status).toBe(403);
    expect(((await wrongToken.json()) as { code: string }).code).toBe('csrf_invalid');
    const listed = await request('GET', '/v1/admin/partners');
    expect(listed.text).not.toContain('party-q');
    // With the session's token it works, as the admin the session belongs to.
    const added = await fetch(new URL('/v1/admin/partners', node.url), {
      method: 'POST',
      headers: {
        ...json,
        cookie: `parley_session=${jar.get('parley_session')}`,
        'x-csrf-token': me.csrfToken,
      },
      body: JSON.stringify(partner),
    });
    expect(added.status, await added.clone().text()).toBe(201);
    expect((await request('GET', '/v1/admin/partners')).text).toContain('party-q');

    // Signing out needs the token too, then the cookie opens nothing.
    const cookie = `parley_session=${jar.get('parley_session')}`;
    const refusedOut = await fetch(new URL('/auth/logout', node.url), {
      method: 'POST',
      headers: { cookie },
    });
    expect(refusedOut.status).toBe(403);
    const out = await fetch(new URL('/auth/logout', node.url), {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': me.csrfToken },
    });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join()).toMatch(/parley_session=;/);
    const after = await call(node.url, 'GET', '/v1/admin/partners', { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('token_invalid');
  });

  it('answers an ended or unknown session with the bearer tokens’ 401 codes', async () => {
    const { jar } = await signIn('amira', 'amira-dev');
    const cookie = `parley_session=${jar.get('parley_session')}`;
    expect((await call(node.url, 'GET', '/v1/requests', { headers: { cookie } })).status).toBe(200);
    await node.database.pool.query(
      `UPDATE ui_sessions SET expires_at = now() - interval '1 second' WHERE sub = 'amira'`,
    );
    const ended = await call(node.url, 'GET', '/v1/requests', { headers: { cookie } });
    expect(ended.status).toBe(401);
    expect(ended.body.code).toBe('token_expired');
    const unknown = await call(node.url, 'GET', '/v1/requests', {
      headers: { cookie: `parley_session=${'x'.repeat(43)}` },
    });
    expect(unknown.status).toBe(401);
    expect(unknown.body.code).toBe('token_invalid');
    const none = await call(node.url, 'GET', '/v1/requests');
    expect(none.body.code).toBe('token_missing');
  });

  it('leaves bearer tokens as they were: no CSRF token needed, and they win over a cookie', async () => {
    const token = await node.token('admin', 'bearer-admin');
    const created = await call(node.url, 'POST', '/v1/admin/partners', {
      token,
      json: await partnerBody('party-r'),
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const withCookie = await call(node.url, 'GET', '/dashboard/session.json', {
      token,
      headers: { cookie: `parley_session=${'y'.repeat(43)}` },
    });
    expect(withCookie.status).toBe(200);
    expect(withCookie.body).toEqual({ sub: 'bearer-admin', roles: ['admin'] });
  });
});

describe('sign-in configuration', () => {
  const base = { PARTY_ID: 'party-a', PARLEY_DATA_DIR: '/tmp/parley-config-check' };
  it('uses the configured issuer, else the development provider, else none', () => {
    expect(
      loadConfig({
        ...base,
        AUTH_OIDC_ISSUER: 'https://id.example.org/realms/parley',
        AUTH_OIDC_CLIENT_ID: 'parley-a',
        AUTH_OIDC_CLIENT_SECRET: 'a-secret',
      }).signIn,
    ).toMatchObject({
      kind: 'external',
      issuer: 'https://id.example.org/realms/parley',
      clientId: 'parley-a',
      clientSecret: 'a-secret',
      scopes: 'openid profile',
      sessionSeconds: 28_800,
    });
    expect(loadConfig(base).signIn.kind).toBe('embedded');
    expect(loadConfig({ ...base, AUTH_JWKS_URL: 'https://id.example.org/jwks' }).signIn.kind).toBe(
      'none',
    );
  });
  it('names what is missing or wrong', () => {
    expect(() => loadConfig({ ...base, AUTH_OIDC_ISSUER: 'https://id.example.org' })).toThrow(
      /AUTH_OIDC_CLIENT_ID/,
    );
    expect(() => loadConfig({ ...base, AUTH_OIDC_ISSUER: 'not a url' })).toThrow(
      /AUTH_OIDC_ISSUER/,
    );
    expect(() => loadConfig({ ...base, AUTH_SESSION_SECONDS: '5' })).toThrow(
      /AUTH_SESSION_SECONDS/,
    );
  });
});
