// Sign-in in a real browser (Debian's Chromium, driven by playwright-core) against a node with its
// embedded development OpenID provider: the officer opens the dashboard, presses "Sign in", signs
// in on the provider's login page, allows access on its consent page, and lands on the officers'
// requests signed in by name and role; a call that changes state works with the session's CSRF
// token and is refused without it (403 csrf_invalid); the page never sees a token of the provider
// or the session cookie; after "Sign out" the session opens nothing, even replayed by hand.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { inPage, launchChromium } from '../helpers/browser.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corridorSubject } from '../fixtures/domain/mine-maps.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerOfflinePartner } from '../helpers/partners.js';

const ARTIFACTS = path.resolve('test-artifacts');

let node: TestNode;
let browser: Browser;

beforeAll(async () => {
  [node, browser] = await Promise.all([startTestNode({ partyId: 'party-a' }), launchChromium()]);
  await registerOfflinePartner(node, 'party-c');
  await fs.mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await node?.destroy();
});

describe('signing in through the OpenID provider', () => {
  it('signs the development officer in and out, with CSRF protection on changes', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    await page.goto(`${node.url}/dashboard`);
    await page.waitForURL(/\/dashboard\/sign-in/);
    const signIn = page.getByRole('link', { name: 'Sign in', exact: true });
    await signIn.waitFor();
    // The token field stays, as the advanced option.
    await page.getByRole('heading', { name: 'Advanced: sign in with a bearer token' }).waitFor();
    await page.getByLabel('Bearer token').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'sign-in.png'), fullPage: true });

    await signIn.click();
    // The provider's login page, under the node's /oidc.
    await page.waitForURL(/\/oidc\/interaction\//);
    await page.getByLabel('Username').fill('amira');
    await page.getByLabel('Password').fill('wrong-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Wrong username or password.').waitFor();
    await page.getByLabel('Username').fill('amira');
    await page.getByLabel('Password').fill('amira-dev');
    await page.screenshot({ path: path.join(ARTIFACTS, 'sign-in-provider.png') });
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Its consent page, then back to where the officer was going.
    await page.getByRole('heading', { name: 'Allow access' }).waitFor();
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForURL(`${node.url}/dashboard/requests`);
    const who = page.locator('#who');
    await who.getByText('Amira Haddad').waitFor();
    expect(await who.textContent()).toContain('Signed in as Amira Haddad (officer)');
    await page.getByRole('heading', { level: 1 }).waitFor();
    await page.screenshot({
      path: path.join(ARTIFACTS, 'signed-in-dashboard.png'),
      fullPage: true,
    });

    // The session is an httpOnly cookie: the page sees neither it nor any token.
    const cookies = await context.cookies(node.url);
    const session = cookies.find((c) => c.name === 'parley_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(await inPage<string>(page, 'document.cookie')).not.toContain('parley_session');
    expect(await inPage<number>(page, 'sessionStorage.length')).toBe(0);
    expect(await inPage<number>(page, 'localStorage.length')).toBe(0);

    // A call that changes state, from the page: with the session's CSRF token the officer's
    // request is created (by amira); without it the node refuses it and stores nothing.
    const body = JSON.stringify({
      type: 'mine_map',
      counterparty: 'party-c',
      priority: 'routine',
      subject: { ...structuredClone(corridorSubject), title: 'Signed-in request (sign-in test)' },
    });
    const create = (csrf: boolean) =>
      inPage<{ status: number; body: { id?: string; code?: string } }>(
        page,
        `(async () => {
          const me = await (await fetch('/auth/session')).json();
          const res = await fetch('/v1/requests', {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ${csrf ? "'x-csrf-token': me.csrfToken," : ''}
            },
            body: ${JSON.stringify(body)},
          });
          return { status: res.status, body: await res.json() };
        })()`,
      );
    const refused = await create(false);
    expect(refused).toMatchObject({ status: 403, body: { code: 'csrf_invalid' } });
    const created = await create(true);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const officerToken = await node.token('officer', 'amira');
    const listed = await call(node.url, 'GET', '/v1/requests', { token: officerToken });
    expect(listed.body.items).toHaveLength(1);
    const shown = await call(node.url, 'GET', `/v1/requests/${created.body.id}`, {
      token: officerToken,
    });
    expect(JSON.stringify(shown.body)).toContain('"amira"');

    // Sign out: back to sign-in, and the old cookie opens nothing any more.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/dashboard\/sign-in/);
    await eventually(
      async () =>
        (await context.cookies(node.url)).some((c) => c.name === 'parley_session')
          ? undefined
          : true,
      20_000,
      'the session cookie to be cleared',
    );
    const replayed = await call(node.url, 'GET', '/dashboard/session.json', {
      headers: { cookie: `parley_session=${session!.value}` },
    });
    expect(replayed.status).toBe(401);
    expect(replayed.body.code).toBe('token_invalid');
    // Opening the dashboard again asks to sign in.
    await page.goto(`${node.url}/dashboard`);
    await page.waitForURL(/\/dashboard\/sign-in/);
    expect(errors).toEqual([]);
    await context.close();
  });
});
