// The browser tests' common steps: Debian's Chromium, a tab signed in through the node's
// development OpenID provider as an officer would sign in, and the steps of the officers' pages
// (the create form and its map, a request's page with its action buttons and forms).
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import fs from 'node:fs/promises';
import path from 'node:path';
import { startTestNode, type TestNode } from './node.js';
import { registerPartner } from './partners.js';

/** Debian's Chromium, as the machines here have it (no sandbox: the tests run as root). */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });

/** Runs an expression in the page (a string: this project type-checks for Node, not the DOM). */
export const inPage = <T>(page: Page, expression: string) => page.evaluate<T>(expression);

/**
 * A fresh tab signed in as the development officer (amira) on `node` through the sign-in page and
 * the provider's login and consent, on the officers' work list; the page's errors are collected.
 */
export async function officerTab(browser: Browser, node: TestNode) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    // A refusal the page shows is an answer of the node, logged by the browser as a failed load.
    if (m.type() === 'error' && !m.text().includes('Failed to load resource'))
      errors.push(m.text());
  });
  await page.goto(`${node.url}/dashboard`);
  await page.waitForURL(/\/dashboard\/sign-in/);
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(/\/oidc\/interaction\//);
  await page.getByLabel('Username').fill('amira');
  await page.getByLabel('Password').fill('amira-dev');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL(`${node.url}/dashboard/requests`);
  await page.getByRole('heading', { name: 'Waiting on us', level: 2 }).waitFor();
  return { page, errors, close: () => context.close() };
}

/** From the officers' list to the create page, by its link. */
export async function openNewRequest(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'New request', exact: true }).click();
  await page.getByRole('heading', { name: 'New request', level: 1 }).waitFor();
}

/**
 * Draws a polygon with the mouse on a Leaflet-Geoman map: its "Draw Polygons" button, a click per
 * corner (given as fractions of the map's width and height), and a click on the first corner
 * again, which closes the polygon.
 */
export async function drawPolygon(
  page: Page,
  map: Locator,
  corners: readonly (readonly [number, number])[],
): Promise<void> {
  await map.getByRole('button', { name: 'Draw Polygons', exact: true }).click();
  // Measured after the click, which scrolls the map into view.
  const box = (await map.boundingBox())!;
  const points = corners.map(([fx, fy]) => [box.x + box.width * fx, box.y + box.height * fy]);
  for (const [x, y] of points) await page.mouse.click(x!, y!);
  await page.mouse.click(points[0]![0]!, points[0]![1]!);
}

const REQUEST_PAGE = /\/dashboard\/requests\/[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** A request's page, reached after the node's 201 on the create form; the request's id. */
export async function landedOnRequest(page: Page, timeout = 30_000): Promise<string> {
  await page.waitForURL(REQUEST_PAGE, { timeout });
  const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  await page.getByRole('heading', { name: `Request ${id}`, level: 1 }).waitFor();
  return id;
}

/** A button of a request page's actions, by its exact text. */
export const actionButton = (page: Page, name: string): Locator =>
  page.locator('#actions').getByRole('button', { name, exact: true });

/** What the request page says once an action is sent ("… sent; the request is …"). */
export const actionOutcome = (page: Page): Locator => page.locator('#actions .action-outcome');

/** The submit of an open action form (`data-form`: the action's form, or respond_records). */
export const submitOf = (page: Page, form: string): Locator =>
  page.locator(`form[data-form="${form}"] button[type="submit"]`);

/** A field of the generated records form by its place in the body (`*`: any row). */
export const recordField = (page: Page, pattern: string): Locator =>
  page.locator(`form[data-form="respond_records"] [data-path="${pattern}"]`).first();

/** The status badge among a request page's facts (class `status-<status>`). */
export const statusBadge = (page: Page): Locator =>
  page.locator('dl.facts .badges .badge[class*="status-"]');

/** Where browser tests leave their screenshots. */
export const ARTIFACTS = path.resolve('test-artifacts');

/**
 * Two live nodes, party-a and party-b, each registered as the other's partner, and Chromium; the
 * screenshot folder exists. `stop` closes the browser and both nodes.
 */
export async function partnersWithBrowser(): Promise<{
  a: TestNode;
  b: TestNode;
  browser: Browser;
  stop: () => Promise<void>;
}> {
  const [a, b, browser] = await Promise.all([
    startTestNode({ partyId: 'party-a' }),
    startTestNode({ partyId: 'party-b' }),
    launchChromium(),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  await fs.mkdir(ARTIFACTS, { recursive: true });
  return {
    a,
    b,
    browser,
    stop: async () => {
      await browser.close();
      await Promise.all([a.destroy(), b.destroy()]);
    },
  };
}
