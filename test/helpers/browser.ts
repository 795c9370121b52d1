// The browser tests' common steps: Debian's Chromium, and a tab signed in through the node's
// development OpenID provider as an officer would sign in.
import { chromium, type Browser, type Page } from 'playwright-core';
import type { TestNode } from './node.js';

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
