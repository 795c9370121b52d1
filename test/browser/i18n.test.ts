// The web UI in Russian (Debian's Chromium, driven by playwright-core): a browser whose language is
// Russian gets the sign-in page, the officers' work list, a request with its map and buttons, the
// new-request form and the supervisors' overview in Russian, with dates in Russian; no English
// sentence of the catalogs is left on those pages. The language picker switches to English and
// the choice is remembered across a reload. Screenshots of the Russian pages in test-artifacts/.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corridorSubject } from '../fixtures/domain/mine-maps.js';
import { call } from '../helpers/http.js';
import { ARTIFACTS, inPage, partnersWithBrowser } from '../helpers/browser.js';
import type { TestNode } from '../helpers/node.js';
import { eventually } from '../helpers/partners.js';

const LOCALES = path.resolve('dashboard/locales');
const TITLE = 'Corridor hazards near pylon 44 (language test)';

let a: TestNode;
let b: TestNode;
let browser: Browser;
let reqId: string;

function catalogTexts(lng: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (o: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'string') out.set(`${prefix}${k}`, v);
      else walk(v as Record<string, unknown>, `${prefix}${k}.`);
    }
  };
  for (const file of fs.readdirSync(path.join(LOCALES, lng)))
    walk(
      JSON.parse(fs.readFileSync(path.join(LOCALES, lng, file), 'utf8')) as Record<string, unknown>,
      `${file.replace(/\.json$/, '')}:`,
    );
  return out;
}
const english = catalogTexts('en');
const russian = catalogTexts('ru');
const ru = (key: string) => {
  const text = russian.get(key);
  if (text === undefined) throw new Error(`no Russian text for ${key}`);
  return text;
};

/**
 * English sentences of the catalogs found on the page: texts of three words or more with no
 * placeholder that the Russian catalog translates differently.
 */
async function englishLeftOn(page: Page): Promise<string[]> {
  const shown = await inPage<string>(page, 'document.body.innerText');
  const left: string[] = [];
  for (const [key, text] of english) {
    if (text.includes('{{') || text.trim().split(/\s+/).length < 3) continue;
    if (russian.get(key) === text) continue;
    if (shown.includes(text)) left.push(`${key}: ${text}`);
  }
  return left;
}

/** Signs in through the development provider (its own pages are English) as `login`. */
async function signIn(page: Page, node: TestNode, login: string) {
  await page.goto(`${node.url}/dashboard`);
  await page.waitForURL(/\/dashboard\/sign-in/);
  await expect.poll(() => inPage(page, 'document.documentElement.lang')).toBe('ru');
  await page.locator('main a[href^="/auth/login"]').first().click();
  await page.waitForURL(/\/oidc\/interaction\//);
  await page.getByLabel('Username').fill(login);
  await page.getByLabel('Password').fill(`${login}-dev`);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(
    (u) => u.pathname.startsWith('/dashboard') && !u.pathname.includes('sign-in'),
  );
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: path.join(ARTIFACTS, name), fullPage: true });
}

let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ a, b, browser, stop } = await partnersWithBrowser());
  const created = await call(a.url, 'POST', '/v1/requests', {
    token: await a.token('officer', 'amira'),
    json: {
      type: 'mine_map',
      counterparty: 'party-b',
      priority: 'urgent',
      subject: { ...structuredClone(corridorSubject), title: TITLE },
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  reqId = created.body.id as string;
  await eventually(
    async () => {
      const res = await call(b.url, 'GET', `/v1/requests/${reqId}`, {
        token: await b.token('supervisor'),
      });
      return res.status === 200 ? true : undefined;
    },
    60_000,
    'the request on B',
  );
});

afterAll(() => stop?.());

describe('the web UI in Russian', () => {
  it('shows an officer’s pages in Russian, dates included, and remembers a switch to English', async () => {
    const context = await browser.newContext({
      locale: 'ru-RU',
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await signIn(page, b, 'amira');

      // The work list: B owes the acknowledgement of A's request.
      await page.waitForURL(`${b.url}/dashboard/requests`);
      await page.getByRole('heading', { name: ru('officer:work.title'), level: 2 }).waitFor();
      await page.getByRole('cell', { name: TITLE }).first().waitFor();
      expect(await englishLeftOn(page)).toEqual([]);
      await shot(page, 'i18n-ru-work-list.png');

      // The request: its title as sent, the page's words in Russian, dates in Russian.
      await page.getByRole('link', { name: reqId }).first().click();
      await page.getByRole('heading', { name: reqId, level: 1 }).waitFor();
      await page.getByText(TITLE).first().waitFor();
      await page.locator('main time').first().waitFor();
      const dated = await inPage<string[]>(
        page,
        '[...document.querySelectorAll("main time")].map((t) => t.textContent)',
      );
      // A Russian medium date names its month in Cyrillic, or writes it as digits with dots.
      expect(
        dated.some((d) => /[а-я]|\d{2}\.\d{2}/.test(d ?? '')),
        dated.join(' | '),
      ).toBe(true);
      expect(await englishLeftOn(page)).toEqual([]);
      await shot(page, 'i18n-ru-request.png');

      // The new-request form.
      await page.goto(`${b.url}/dashboard/requests/new`);
      await page.locator('main form').first().waitFor();
      expect(await englishLeftOn(page)).toEqual([]);
      await shot(page, 'i18n-ru-create.png');

      // English through the picker, kept after a reload; then back to Russian.
      await page.goto(`${b.url}/dashboard/requests`);
      await page.getByRole('heading', { name: ru('officer:work.title'), level: 2 }).waitFor();
      await page.locator('select#language').selectOption('en');
      const englishHeading = english.get('officer:work.title')!;
      await page.getByRole('heading', { name: englishHeading, level: 2 }).waitFor();
      expect(await inPage(page, 'document.documentElement.lang')).toBe('en');
      await page.reload();
      await page.getByRole('heading', { name: englishHeading, level: 2 }).waitFor();
      await page.locator('select#language').selectOption('ru');
      await page.getByRole('heading', { name: ru('officer:work.title'), level: 2 }).waitFor();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('shows the supervisors’ overview in Russian', async () => {
    const context = await browser.newContext({
      locale: 'ru-RU',
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    try {
      await signIn(page, a, 'sofia');
      await page.waitForURL(`${a.url}/dashboard`);
      await page.locator('main h2').first().waitFor();
      expect(await englishLeftOn(page)).toEqual([]);
      await shot(page, 'i18n-ru-overview.png');
    } finally {
      await context.close();
    }
  });
});
