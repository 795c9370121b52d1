// A mediator's page in a real browser (Debian's Chromium, driven by playwright-core) against three
// live nodes: A and B exchange sealed content through M (README, _Mediated exchange_), and M's
// supervisor follows the request on M's dashboard, `/dashboard/mediated`, as both parties show it:
// its type and parties, the same state on both sides, its next deadline turning overdue and
// escalated without a reload, the overdue filter, and the request's own page with its deadlines
// and the messages M relayed. B acknowledges while M cannot reach A: the pages mark the two sides
// apart (B shows acknowledged, A still delivered, one message in transit), and once A is reachable
// again both show acknowledged. No word of the sealed subject or note reaches M's pages. An
// officer of M gets no such view.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, inPage, launchChromium } from '../helpers/browser.js';
import { call } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
import {
  act,
  createRequest,
  startMediatedTrio,
  untilStatus,
  WAIT_MS,
  type CutTrio,
} from '../helpers/mediated.js';
import { writeTestPolicy } from '../helpers/policy.js';
import type { CuttableProxy } from '../helpers/proxy.js';

/** In the sealed subject and note: M cannot read them, and its pages must never show them. */
const MARKER = 'MEDIATED-DASHBOARD-MARKER-Vesna-Kovac';

let trio: CutTrio;
let a: TestNode;
let m: TestNode;
let b: TestNode;
/** Between M and A's inbox: cut, M cannot pass B's messages on to A. */
let toA: CuttableProxy;
let browser: Browser;

/** A fresh tab (its own sessionStorage), with its console errors collected. */
async function openTab() {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors, close: () => context.close() };
}

/** Signs in to M's dashboard with a bearer token, as the other browser tests do. */
async function signIn(page: Page, token: string) {
  await page.goto(`${m.url}/dashboard`);
  await page.waitForURL(/\/dashboard\/sign-in/);
  await page.getByLabel('Bearer token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

beforeAll(async () => {
  // The same policy on all three nodes, so M counts the deadlines the parties agreed: the
  // acknowledgement is due 4 s after B's receipt, escalated as soon as it is missed.
  const policyFile = await writeTestPolicy([
    {
      request_type: 'grave_information',
      priority: 'urgent',
      acknowledge_seconds: 4,
      respond_seconds: 600,
      escalation_after_seconds: [0],
    },
  ]);
  // M reaches A's inbox through a proxy the test can cut.
  [trio, browser] = await Promise.all([
    startMediatedTrio({
      env: { PARLEY_POLICY_FILE: policyFile },
      sealContent: true,
      cut: 'm-to-a',
    }),
    launchChromium(),
  ]);
  ({ a, m, b, proxy: toA } = trio);
  await fs.mkdir(ARTIFACTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await trio?.stop();
});

describe('the mediator’s dashboard', () => {
  it('shows each relayed request as both parties show it, with its deadlines and messages, never its content', async () => {
    const id = await createRequest(a, `Burial site of ${MARKER}`, { priority: 'urgent' });
    // B's receipt came back to A through M: M has relayed the request and holds the receipt.
    await untilStatus(a, id, 'delivered');

    const { page, errors, close } = await openTab();
    await signIn(page, await m.token('supervisor', 'sup-sofia'));
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    // M relays: its supervisors get the link to the mediated requests.
    const nav = page.getByRole('navigation').getByRole('link', { name: 'Mediated requests' });
    await nav.waitFor();
    await nav.click();
    await page.waitForURL(`${m.url}/dashboard/mediated`);
    await page.getByRole('heading', { name: 'Mediated requests', level: 1 }).waitFor();
    // Set once: if the page reloaded, it would be gone.
    await inPage(page, 'window.stillTheSamePage = true');

    const row = page.locator(`#mediated tr[data-request-id="${id}"]`);
    const cell = (attr: string) => row.locator(`[${attr}]`);
    await row.waitFor({ timeout: WAIT_MS });
    const headers = await page.locator('#mediated th[scope="col"]').allTextContents();
    expect(headers).toEqual([
      'Request',
      'Kind',
      'Priority',
      'Requester → responder',
      'As the requester shows it',
      'As the responder shows it',
      'In transit',
      'Next deadline',
      'Overdue',
      'Last activity',
    ]);
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 7)).toEqual([
      id,
      'Grave information',
      'Urgent',
      'party-a → party-b',
      'Delivered',
      'Delivered',
      'Nothing: both show the same',
    ]);
    expect(await cell('data-next-deadline').textContent()).toMatch(/^Acknowledgement/);
    // B has not acknowledged: 4 s after its receipt the request is overdue, escalated at once,
    // on the page as it refreshes.
    await cell('data-overdue').getByText('Overdue · level 1').waitFor({ timeout: WAIT_MS });
    expect(await row.getAttribute('class')).toContain('overdue-row');

    // The filter lives in the URL: overdue only keeps the row, not overdue leaves it out.
    await page.selectOption('#filter-overdue', 'true');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/\/dashboard\/mediated\?overdue=true$/);
    await row.waitFor({ timeout: WAIT_MS });
    await page.selectOption('#filter-overdue', 'false');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/\/dashboard\/mediated\?overdue=false$/);
    await page.getByText('No relayed request matches the filter.').waitFor({ timeout: WAIT_MS });
    expect(await row.count()).toBe(0);
    await page.getByRole('link', { name: 'Clear', exact: true }).click();
    await page.waitForURL(`${m.url}/dashboard/mediated`);
    await row.waitFor({ timeout: WAIT_MS });
    expect(await page.content()).not.toContain(MARKER);

    // By keyboard: the request's link, then Enter, to its page.
    await row.getByRole('link', { name: id }).focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(`${m.url}/dashboard/mediated/${id}`);
    await page.getByRole('heading', { name: `Mediated request ${id}`, level: 1 }).waitFor();
    const fact = (key: string) => page.locator(`[data-fact="${key}"] dd`);
    await fact('as-requester').getByText('Delivered').waitFor({ timeout: WAIT_MS });
    expect(await fact('as-responder').textContent()).toBe('Delivered');
    expect(await fact('overdue').textContent()).toBe('Overdue · level 1');
    const deadline = (kind: string) =>
      page.locator(`#mediated-deadlines tr[data-deadline="${kind}"] [data-state]`);
    expect(await deadline('acknowledgement').textContent()).toBe('Overdue · level 1');
    expect(await deadline('response').textContent()).toBe('Running');
    const messages = page.locator('#mediated-messages tbody tr');
    expect(await page.locator('#mediated-messages th[scope="col"]').allTextContents()).toEqual([
      'Message',
      'From',
      'Sender’s number',
      'Sent',
      'Relayed by this node',
      'Received',
      'State',
      'Effect',
    ]);
    expect(await messages.count()).toBe(1);
    const first = await messages.first().locator('td').allTextContents();
    expect([first[0], first[1], first[2], first[6], first[7]]).toEqual([
      'request',
      'party-a (requester)',
      '1',
      'Received',
      'Applied',
    ]);
    expect(await page.content()).not.toContain(MARKER);

    // B acknowledges while M cannot reach A: B shows acknowledged, A still delivered, and M's
    // page (as it refreshes) says so, with the message in transit.
    toA.cut();
    const ack = await act(b, id, 'acknowledge', { note: `Searching for ${MARKER}` });
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);
    await fact('as-responder').getByText('Acknowledged').waitFor({ timeout: WAIT_MS });
    expect(await fact('as-requester').textContent()).toBe('Delivered');
    expect(await fact('transit').textContent()).toBe(
      'Differs: 1 message in transit Once it arrives, both show: Acknowledged',
    );
    const inTransit = page.locator('#mediated-messages tbody tr[data-state="in_transit"]');
    await inTransit.waitFor();
    const moving = await inTransit.locator('td').allTextContents();
    expect([moving[0], moving[1], moving[5], moving[6], moving[7]]).toEqual([
      'acknowledgement',
      'party-b (responder)',
      '—',
      'In transit',
      'Applies once it arrives',
    ]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'mediated-request.png'), fullPage: true });

    // The list marks the row too.
    await page.getByRole('link', { name: '← Mediated requests' }).click();
    await page.waitForURL(`${m.url}/dashboard/mediated`);
    await row.waitFor({ timeout: WAIT_MS });
    expect(await cell('data-side="requester"').textContent()).toBe('Delivered');
    expect(await cell('data-side="responder"').textContent()).toBe('Acknowledged');
    expect(await cell('data-transit').textContent()).toContain('Differs: 1 message in transit');
    expect(await row.getAttribute('class')).toContain('transit-row');
    await page.screenshot({ path: path.join(ARTIFACTS, 'mediated-list.png'), fullPage: true });

    // A reachable again: B's acknowledgement goes on through M, and both show acknowledged,
    // without a reload; the acknowledgement deadline is met (late), so nothing is overdue.
    toA.restore();
    await cell('data-side="requester"').getByText('Acknowledged').waitFor({ timeout: WAIT_MS });
    await untilStatus(a, id, 'acknowledged');
    expect(await cell('data-side="responder"').textContent()).toBe('Acknowledged');
    await cell('data-transit').getByText('Nothing: both show the same').waitFor();
    await cell('data-overdue').getByText('—').waitFor();
    expect(await cell('data-next-deadline').textContent()).toMatch(/^Response/);
    expect(await inPage(page, "'stillTheSamePage' in window")).toBe(true);

    // And after a reload, and on the request's page.
    await page.reload();
    await row.waitFor({ timeout: WAIT_MS });
    const settled = await row.locator('td').allTextContents();
    expect(settled.slice(4, 7)).toEqual([
      'Acknowledged',
      'Acknowledged',
      'Nothing: both show the same',
    ]);
    await row.getByRole('link', { name: id }).click();
    await page.getByRole('heading', { name: `Mediated request ${id}`, level: 1 }).waitFor();
    await fact('as-requester').getByText('Acknowledged').waitFor({ timeout: WAIT_MS });
    expect(await fact('as-responder').textContent()).toBe('Acknowledged');
    expect(await deadline('acknowledgement').textContent()).toBe('Met late');
    expect(await messages.count()).toBe(2);
    const acked = await page
      .locator('#mediated-messages tbody tr', { hasText: 'acknowledgement' })
      .locator('td')
      .allTextContents();
    expect([acked[1], acked[6], acked[7]]).toEqual(['party-b (responder)', 'Received', 'Applied']);
    expect(await page.content()).not.toContain(MARKER);

    // Nothing the page did was refused (a CSP violation or a script error would show here).
    expect(errors).toEqual([]);
    await close();
  });

  it('gives an officer of M no such view, and the API refuses it too', async () => {
    const token = await m.token('officer', 'officer-olga');
    const { page, errors, close } = await openTab();
    await signIn(page, token);
    await page.waitForURL(/\/dashboard\/requests$/);
    expect(await page.getByRole('link', { name: 'Mediated requests' }).count()).toBe(0);
    await page.goto(`${m.url}/dashboard/mediated`);
    await page.getByRole('heading', { name: 'Nothing to show for your role', level: 1 }).waitFor();
    expect((await call(m.url, 'GET', '/v1/mediated', { token })).status).toBe(403);
    expect(errors).toEqual([]);
    await close();
  });
});
