// A mediator's page in a real browser (Debian's Chromium, driven by playwright-core) against three
// live nodes: A and B exchange sealed content through M (README, _Mediated exchange_), and M's
// supervisor follows the request on M's dashboard, `/dashboard/mediated`, as both parties show it:
// its type and parties, the same state on both sides, its next deadline turning overdue and
// escalated without a reload, the overdue filter, and the request's own page with its deadlines
// and the messages M relayed. B acknowledges while M cannot reach A: the pages mark the two sides
// apart (B shows acknowledged, A still delivered, one message in transit), and once A is reachable
// again both show acknowledged. No word of the sealed subject or note reaches M's pages. M's
// supervisor sees the parties' consents to a pause come in (each given on the party's own node),
// pauses both parties' clocks from the request's page once both are in, resumes them and reminds
// one party, and follows each notice until the party's receipt comes; A's officer sees the pause
// in the deadline's explanation on A's request page. An officer of M gets no such view. On A's own
// request page, A's officer sees the mediator the request goes through and gives A's consent to a
// pause there; while M cannot be reached the consent is kept and sent again from the page; a
// request that ended is refused in words; a direct request shows no mediator.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, inPage, launchChromium } from '../helpers/browser.js';
import { call } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
import {
  act,
  createRequest,
  officerOf,
  startMediatedTrio,
  untilStatus,
  WAIT_MS,
  type CutTrio,
} from '../helpers/mediated.js';
import { subjectFor } from '../helpers/domain.js';
import { registerOfflinePartner } from '../helpers/partners.js';
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

/** Signs in to M's dashboard (or `node`'s) with a bearer token, as the other browser tests do. */
async function signIn(page: Page, token: string, node: TestNode = m) {
  await page.goto(`${node.url}/dashboard`);
  await page.waitForURL(/\/dashboard\/sign-in/);
  await page.getByLabel('Bearer token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Signed in once the node took the token and the page left sign-in: a page opened before then
  // has no token yet and is sent back to sign in.
  await page.waitForURL((url) => !url.pathname.startsWith('/dashboard/sign-in'));
}

/**
 * A party's officer agrees, on the party's own node, that M may pause both clocks; M holds the
 * consent (201 with M's receipt time).
 */
async function consent(node: TestNode, id: string): Promise<{ msgId: string }> {
  const res = await call(node.url, 'POST', `/v1/requests/${id}/pause-consent`, {
    token: await node.token('officer'),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.heldSince, JSON.stringify(res.body)).not.toBeNull();
  return { msgId: res.body.msgId as string };
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

  it('lets M’s supervisor pause and resume both clocks and remind one party, each notice followed to the party’s receipt', async () => {
    const id = await createRequest(a, `Burial site of ${MARKER}`, { priority: 'urgent' });
    await untilStatus(a, id, 'delivered');

    const token = await m.token('supervisor', 'sup-sofia');
    const { page, errors, close } = await openTab();
    await signIn(page, token);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.goto(`${m.url}/dashboard/mediated/${id}`);
    await page.getByRole('heading', { name: `Mediated request ${id}`, level: 1 }).waitFor();
    await inPage(page, 'window.stillTheSamePage = true');

    const section = page.locator('#mediated-notices');
    const rows = section.locator('#mediated-notice-list tbody tr');
    await section.getByText('No notice sent yet.').waitFor({ timeout: WAIT_MS });
    const controls = section.getByRole('group', { name: 'Send the parties a notice' });
    const pause = controls.getByRole('button', { name: 'Pause both clocks' });
    const resume = controls.getByRole('button', { name: 'Resume both clocks' });
    const remindRequester = controls.getByRole('button', { name: 'Remind the requester' });
    const remindResponder = controls.getByRole('button', { name: 'Remind the responder' });
    await pause.waitFor();
    expect(await resume.count()).toBe(0);
    expect(await remindRequester.count()).toBe(1);
    // B has not acknowledged: a reminder names the acknowledgement deadline.
    expect(await remindResponder.getAttribute('aria-describedby')).toBe('notice-reminder-help');
    expect(await section.locator('#notice-reminder-help').textContent()).toBe(
      'A reminder names the acknowledgement deadline, which still binds.',
    );
    const announced = () => page.locator('#announcer').textContent();
    const consents = section.locator('#mediated-consents');
    const consentRows = consents.locator('tbody tr');
    const pauseHelp = section.locator('#notice-pause-help');
    const needs =
      'A pause needs a fresh consent of each party, given on its own node (a pause uses it up): ';
    const neither = `${needs}neither party-a (requester) nor party-b (responder) has given one.`;
    const deadline = (kind: string) =>
      page.locator(`#mediated-deadlines tr[data-deadline="${kind}"] [data-state]`);
    const pausesShown = page.locator('#mediated-deadlines .pauses li');

    // No consent yet: Pause is there but disabled, and says whose consent is missing.
    await consents.getByText('This node holds no consent to a pause yet.').waitFor();
    expect(await pause.isDisabled()).toBe(true);
    expect(await pause.getAttribute('aria-describedby')).toBe('notice-pause-help');
    expect(await pauseHelp.textContent()).toBe(neither);

    // A's officer consents on A's node: M holds it and the page lists it, unused; Pause waits for
    // B's consent, and says so.
    const fromA = await consent(a, id);
    const consentOfA = consents.locator(`tbody tr[data-msg-id="${fromA.msgId}"]`);
    await consentOfA.waitFor({ timeout: WAIT_MS });
    expect(await consents.locator('th[scope="col"]').allTextContents()).toEqual([
      'Party',
      'Received',
      'Used by',
    ]);
    const cellsOfA = await consentOfA.locator('td').allTextContents();
    expect([cellsOfA[0], cellsOfA[2]]).toEqual(['party-a (requester)', 'Not used yet']);
    expect(cellsOfA[1], 'when M received it').not.toBe('');
    expect(await consentOfA.getAttribute('data-side')).toBe('requester');
    await expect
      .poll(() => pauseHelp.textContent(), { timeout: WAIT_MS })
      .toBe(`${needs}party-b (responder) has not given one.`);
    expect(await pause.isDisabled()).toBe(true);
    await section.screenshot({ path: path.join(ARTIFACTS, 'mediated-pause-consent.png') });

    // B's officer consents on B's node: both are in, Pause is available, nothing is missing.
    const fromB = await consent(b, id);
    await expect.poll(() => pause.isEnabled(), { timeout: WAIT_MS }).toBe(true);
    expect(await pauseHelp.count()).toBe(0);
    expect(await pause.getAttribute('aria-describedby')).toBeNull();
    expect(await consentRows.count()).toBe(2);
    const consentOfB = consents.locator(`tbody tr[data-msg-id="${fromB.msgId}"]`);
    expect(await consentOfB.getAttribute('data-side')).toBe('responder');
    expect((await consentOfB.locator('td').allTextContents())[0]).toBe('party-b (responder)');

    // Pause: one notice to each party, both taken (the party's receipt), and the page says so
    // out loud; the button gives way to Resume, which takes the focus. The pause used both
    // consents.
    await pause.click();
    await expect.poll(() => rows.count(), { timeout: WAIT_MS }).toBe(2);
    expect(
      await section.locator('#mediated-notice-list th[scope="col"]').allTextContents(),
    ).toEqual([
      'Notice',
      'To',
      'Signed',
      'Clocks stop or restart at',
      'State',
      'Received',
      'Refusal code',
    ]);
    const paused = 'Both clocks paused: a notice is on its way to each party.';
    await expect.poll(announced, { timeout: WAIT_MS }).toBe(paused);
    expect(await section.locator('.action-outcome').textContent()).toBe(paused);
    await resume.waitFor();
    expect(await pause.count()).toBe(0);
    expect(await inPage(page, 'document.activeElement?.dataset.notice')).toBe('resume');
    const delivered = section.locator('#mediated-notice-list tbody tr[data-state="delivered"]');
    await expect.poll(() => delivered.count(), { timeout: WAIT_MS }).toBe(2);
    const pauseRows = await Promise.all(
      (await rows.all()).map((r) => r.locator('td').allTextContents()),
    );
    expect(pauseRows.map((c) => [c[0], c[1], c[4], c[6]]).sort()).toEqual([
      ['Pause', 'party-a (requester)', 'Delivered', '—'],
      ['Pause', 'party-b (responder)', 'Delivered', '—'],
    ]);
    for (const c of pauseRows) {
      expect(c[3], 'the pause’s instant').not.toBe('—');
      expect(c[5], 'the party’s receipt').not.toBe('—');
    }
    // Both clocks stand still; the pause is listed under the deadlines, open.
    await deadline('response').getByText('Clock stopped').waitFor({ timeout: WAIT_MS });
    expect(await deadline('response').locator('.badge').getAttribute('title')).toMatch(
      /^This node paused both parties’ clocks/,
    );
    await pausesShown.first().waitFor();
    expect(await pausesShown.count()).toBe(1);
    expect(await pausesShown.first().getAttribute('data-open')).toBe('true');
    expect(await pausesShown.first().textContent()).toMatch(/^From .+, still open$/);
    const usedConsents = consents.locator('tbody tr[data-used="true"]');
    await expect.poll(() => usedConsents.count(), { timeout: WAIT_MS }).toBe(2);
    for (const c of await usedConsents.all())
      expect((await c.locator('td').allTextContents())[2]).toMatch(/^The pause from .+/);

    // On A's request page, A's officer sees the pause in the response deadline's explanation:
    // the clocks paused by the mediator, from when, still open.
    {
      const onA = await openTab();
      await signIn(onA.page, officerOf(a), a);
      await onA.page.waitForURL(/\/dashboard\/requests$/);
      await onA.page.goto(`${a.url}/dashboard/requests/${id}`);
      const explanation = onA.page.locator('[data-deadline="response"] .explanation');
      const pausedBy = explanation.locator('dt', { hasText: 'Clocks paused by the mediator' });
      await pausedBy.waitFor({ timeout: WAIT_MS });
      const items = explanation.locator('dt:has-text("Clocks paused by the mediator") + dd li');
      expect(await items.count()).toBe(2);
      expect(await items.first().textContent()).toMatch(/ to now \(open\)$/);
      expect(await items.last().textContent()).toMatch(/ added to the due time$/);
      expect(onA.errors).toEqual([]);
      await onA.close();
    }

    // Resume: one more notice to each party, the pause closed.
    await resume.click();
    await expect.poll(() => rows.count(), { timeout: WAIT_MS }).toBe(4);
    await expect
      .poll(announced, { timeout: WAIT_MS })
      .toBe('Both clocks resumed: a notice is on its way to each party.');
    // Pause is back, disabled: the pause used both consents. The focus goes to why.
    await pause.waitFor();
    expect(await resume.count()).toBe(0);
    expect(await pause.isDisabled()).toBe(true);
    expect(await pauseHelp.textContent()).toBe(neither);
    expect(await inPage(page, 'document.activeElement?.id')).toBe('notice-pause-help');
    await expect
      .poll(
        () =>
          section
            .locator('#mediated-notice-list tbody tr[data-action="resume"][data-state="delivered"]')
            .count(),
        {
          timeout: WAIT_MS,
        },
      )
      .toBe(2);
    await deadline('response').getByText('Running').waitFor({ timeout: WAIT_MS });
    await page.locator('#mediated-deadlines .pauses li:not([data-open])').waitFor();
    expect(await pausesShown.first().textContent()).toMatch(/^From .+ to .+$/);

    // A reminder to the responder only: of the acknowledgement deadline, to party-b, taken.
    await remindResponder.click();
    await expect.poll(() => rows.count(), { timeout: WAIT_MS }).toBe(5);
    await expect
      .poll(announced, { timeout: WAIT_MS })
      .toBe('Reminder of the acknowledgement deadline sent to party-b.');
    const reminders = section.locator('#mediated-notice-list tbody tr[data-action="reminder"]');
    expect(await reminders.count()).toBe(1);
    expect(await reminders.getAttribute('data-side')).toBe('responder');
    await section
      .locator('#mediated-notice-list tbody tr[data-action="reminder"][data-state="delivered"]')
      .waitFor({ timeout: WAIT_MS });
    const reminder = await reminders.locator('td').allTextContents();
    expect([reminder[0], reminder[1], reminder[3], reminder[4], reminder[6]]).toEqual([
      'Reminderof the acknowledgement deadline',
      'party-b (responder)',
      '—',
      'Delivered',
      '—',
    ]);
    // The node holds what the page shows.
    const view = await call(m.url, 'GET', `/v1/mediated/${id}`, { token });
    expect(view.status).toBe(200);
    const notices = view.body.notices as { action: string; to: string; deadline: string | null }[];
    expect(notices.map((n) => [n.action, n.to, n.deadline])).toEqual([
      ['pause', 'party-a', null],
      ['pause', 'party-b', null],
      ['resume', 'party-a', null],
      ['resume', 'party-b', null],
      ['reminder', 'party-b', 'acknowledgement'],
    ]);
    expect(view.body.pauses).toHaveLength(1);
    const pauseId = (view.body.pauses as { pauseId: string }[])[0]!.pauseId;
    const held = view.body.consents as { party: string; msgId: string; pauseId: string | null }[];
    expect(held.map((c) => [c.party, c.msgId, c.pauseId])).toEqual([
      ['party-a', fromA.msgId, pauseId],
      ['party-b', fromB.msgId, pauseId],
    ]);

    // Both parties consent again (the first pause used their consents): Pause is available again.
    const againA = await consent(a, id);
    const againB = await consent(b, id);
    expect([againA.msgId, againB.msgId]).not.toContain(fromA.msgId);
    expect([againA.msgId, againB.msgId]).not.toContain(fromB.msgId);
    await expect.poll(() => pause.isEnabled(), { timeout: WAIT_MS }).toBe(true);
    expect(await consentRows.count()).toBe(4);
    expect(await consents.locator('tbody tr[data-used="false"]').count()).toBe(2);

    // A withdraws its consent on A's node: the page says so at A's row, and Pause waits for A's
    // word again, naming A; A gives it again.
    const withdrawn = await call(a.url, 'DELETE', `/v1/requests/${id}/pause-consent`, {
      token: await a.token('officer'),
    });
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(200);
    const rowOfAgainA = consents.locator(`tbody tr[data-msg-id="${againA.msgId}"]`);
    await expect
      .poll(() => rowOfAgainA.getAttribute('data-withdrawn'), { timeout: WAIT_MS })
      .toBe('true');
    expect((await rowOfAgainA.locator('td').allTextContents())[2]).toMatch(
      /^Withdrawn by the party \(.+\)$/,
    );
    await expect.poll(() => pause.isDisabled(), { timeout: WAIT_MS }).toBe(true);
    expect(await pauseHelp.textContent()).toBe(`${needs}party-a (requester) has not given one.`);
    await consent(a, id);
    await expect.poll(() => pause.isEnabled(), { timeout: WAIT_MS }).toBe(true);
    expect(await consentRows.count()).toBe(5);

    // Another supervisor pauses (with those consents) while this page still shows no pause (its
    // refreshes held back): the node refuses the page's pause (409 invalid_state), the page says
    // so in an alert, and shows the pause once it refreshes, with both consents used.
    const heldBack: Route[] = [];
    let holding = true;
    await page.route(`**/v1/mediated/${id}`, (route) =>
      holding ? void heldBack.push(route) : route.continue(),
    );
    await expect.poll(() => heldBack.length, { timeout: WAIT_MS }).toBeGreaterThan(0);
    const other = await call(m.url, 'POST', `/v1/mediated/${id}/notices`, {
      token: await m.token('supervisor', 'sup-samir'),
      json: { action: 'pause' },
    });
    expect(other.status, JSON.stringify(other.body)).toBe(201);
    await pause.click();
    const alert = section.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(
      /^The node refused this \(invalid_state\): the clocks are already paused/,
    );
    holding = false;
    for (const route of heldBack) await route.continue();
    await page.unroute(`**/v1/mediated/${id}`);
    await resume.waitFor({ timeout: WAIT_MS });
    await expect.poll(() => rows.count(), { timeout: WAIT_MS }).toBe(7);
    await expect
      .poll(() => consents.locator('tbody tr[data-used="true"]').count(), { timeout: WAIT_MS })
      .toBe(4);
    await page.screenshot({ path: path.join(ARTIFACTS, 'mediated-notices.png'), fullPage: true });

    expect(await inPage(page, "'stillTheSamePage' in window")).toBe(true);
    expect(await page.content()).not.toContain(MARKER);
    // Nothing went wrong but the refused pause (Chromium logs the 409 itself).
    expect(errors).toEqual([
      'Failed to load resource: the server responded with a status of 409 (Conflict)',
    ]);
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

describe('a party’s consent to a pause by the mediator, on its own request page', () => {
  /** The request as A's officer reads it through the API. */
  async function detailAtA(id: string) {
    const res = await call(a.url, 'GET', `/v1/requests/${id}`, { token: officerOf(a) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as {
      mediator: string | null;
      pauseConsent: { msgId: string; createdAt: string; heldSince: string | null } | null;
    };
  }

  /** M's consents about the request, as its supervisor reads them. */
  async function consentsAtM(id: string) {
    const view = await call(m.url, 'GET', `/v1/mediated/${id}`, {
      token: await m.token('supervisor', 'sup-sofia'),
    });
    expect(view.status, JSON.stringify(view.body)).toBe(200);
    return view.body.consents as {
      party: string;
      msgId: string;
      receivedAt: string;
      pauseId: string | null;
      withdrawnAt: string | null;
    }[];
  }

  /** A tab signed in to A's dashboard with `token`, on the request's page. */
  async function requestPageAtA(id: string, token: string) {
    const tab = await openTab();
    await signIn(tab.page, token, a);
    await tab.page.waitForURL(/\/dashboard(\/requests)?$/);
    await tab.page.goto(`${a.url}/dashboard/requests/${id}`);
    await tab.page.getByRole('heading', { name: `Request ${id}`, level: 1 }).waitFor();
    return tab;
  }

  const THROUGH =
    'This request goes through the mediator party-m: it passes on every message between this node and party-b.';

  it('names the mediator to A’s officer, who agrees to a pause; M holds the consent', async () => {
    const id = await createRequest(a, `Burial site of ${MARKER}`, { priority: 'urgent' });
    await untilStatus(a, id, 'delivered');
    expect(await detailAtA(id)).toMatchObject({ mediator: 'party-m', pauseConsent: null });

    const { page, errors, close } = await requestPageAtA(id, officerOf(a));
    const block = page.getByRole('region', { name: 'Mediator' });
    await block.waitFor({ timeout: WAIT_MS });
    expect(await block.locator('.through').textContent()).toBe(THROUGH);
    await block.getByText('This node has not agreed to a pause by the mediator.').waitFor();
    await block.getByRole('button', { name: 'Agree to a pause by the mediator' }).click();

    // M holds it: the page says since when, out loud too, and the button is gone (the focus goes
    // to what was said).
    const held = block.locator('.consent-state[data-consent="held"] strong');
    await held.waitFor({ timeout: WAIT_MS });
    expect(await held.textContent()).toMatch(/^Your consent is with the mediator since .+\.$/);
    await expect
      .poll(() => page.locator('#announcer').textContent(), { timeout: WAIT_MS })
      .toMatch(/^The mediator party-m holds your consent to a pause since .+\.$/);
    expect(await block.locator('.action-outcome').textContent()).toMatch(
      /^The mediator party-m holds your consent/,
    );
    // Only the way back remains: withdrawing the consent.
    expect(await block.getByRole('button').allTextContents()).toEqual(['Withdraw the consent']);
    expect(await inPage(page, "document.activeElement?.classList.contains('action-outcome')")).toBe(
      true,
    );

    // The node says the same: the consent, held since the time the page shows; and M lists it,
    // not used yet, received when A's node says M took it.
    const { pauseConsent } = await detailAtA(id);
    expect(pauseConsent?.heldSince, JSON.stringify(pauseConsent)).toEqual(expect.any(String));
    expect(await held.locator('time').getAttribute('datetime')).toBe(pauseConsent!.heldSince);
    const atM = await consentsAtM(id);
    expect(atM.map((c) => [c.party, c.msgId, c.pauseId])).toEqual([
      ['party-a', pauseConsent!.msgId, null],
    ]);
    expect(
      Math.abs(Date.parse(atM[0]!.receivedAt) - Date.parse(pauseConsent!.heldSince!)),
    ).toBeLessThan(1000);
    await page.screenshot({
      path: path.join(ARTIFACTS, 'request-pause-consent.png'),
      fullPage: true,
    });
    expect(errors).toEqual([]);
    await close();

    // A's supervisor may give it too: the page shows the consent held, with nothing to press.
    {
      const onA = await requestPageAtA(id, await a.token('supervisor', 'sup-sara'));
      const shown = onA.page.getByRole('region', { name: 'Mediator' });
      await shown.locator('.consent-state[data-consent="held"]').waitFor({ timeout: WAIT_MS });
      expect(await shown.locator('.through').textContent()).toBe(THROUGH);
      expect(await shown.getByRole('button').allTextContents()).toEqual(['Withdraw the consent']);
      expect(onA.errors).toEqual([]);
      await onA.close();
    }

    // A's officer withdraws it: M holds the withdrawal, the page says so, and offers the consent
    // again; M lists the consent as withdrawn.
    {
      const onA = await requestPageAtA(id, officerOf(a));
      const shown = onA.page.getByRole('region', { name: 'Mediator' });
      await shown.getByRole('button', { name: 'Withdraw the consent' }).click();
      await shown.locator('.consent-state[data-consent="none"]').waitFor({ timeout: WAIT_MS });
      expect(await shown.locator('.action-outcome').textContent()).toMatch(
        /^The mediator party-m holds the withdrawal of your consent since .+: its next pause needs your consent again\.$/,
      );
      expect(await shown.getByRole('button').allTextContents()).toEqual([
        'Agree to a pause by the mediator',
      ]);
      expect((await detailAtA(id)).pauseConsent).toBeNull();
      const withdrawnAtM = await consentsAtM(id);
      expect(withdrawnAtM.map((c) => [c.party, c.withdrawnAt !== null])).toEqual([
        ['party-a', true],
      ]);
      expect(onA.errors).toEqual([]);
      await onA.close();
    }

    // A direct request (to a partner reached without a mediator): no mediator, no block, and no
    // consent to give.
    await registerOfflinePartner(a, 'party-c');
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: officerOf(a),
      json: {
        type: 'grave_information',
        counterparty: 'party-c',
        priority: 'routine',
        subject: subjectFor('grave_information', 'A direct request'),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const direct = created.body.id as string;
    expect(await detailAtA(direct)).toMatchObject({ mediator: null, pauseConsent: null });
    const refused = await call(a.url, 'POST', `/v1/requests/${direct}/pause-consent`, {
      token: officerOf(a),
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('invalid_state');
    {
      const onA = await requestPageAtA(direct, officerOf(a));
      await onA.page.locator('[data-deadline="acknowledgement"] .state').waitFor();
      await onA.page.getByRole('heading', { name: 'Timeline', level: 2 }).waitFor();
      expect(await onA.page.locator('#mediator').isHidden()).toBe(true);
      expect(await onA.page.getByRole('region', { name: 'Mediator' }).count()).toBe(0);
      expect(onA.errors).toEqual([]);
      await onA.close();
    }
  });

  it('keeps the consent while M cannot be reached and sends it again; says why an ended request gets none', async () => {
    const id = await createRequest(a, `Burial site of ${MARKER}`);
    await untilStatus(a, id, 'delivered');
    const { page, errors, close } = await requestPageAtA(id, officerOf(a));
    const block = page.getByRole('region', { name: 'Mediator' });
    const agree = block.getByRole('button', { name: 'Agree to a pause by the mediator' });
    await agree.waitFor({ timeout: WAIT_MS });

    // A's registry sends M's messages to a closed port for a while: the node keeps the consent
    // (202) and the page says it is not yet with M, with a button to send it again.
    const admin = await a.token('admin', 'admin-ops');
    const moveM = async (inboxUrl: string) => {
      const moved = await call(a.url, 'PATCH', '/v1/admin/partners/party-m', {
        token: admin,
        json: { inboxUrl },
      });
      expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    };
    await moveM('http://127.0.0.1:9/v1/messages');
    try {
      await agree.click();
      const kept = block.locator('.consent-state[data-consent="kept"] strong');
      await kept.waitFor({ timeout: WAIT_MS });
      expect(await kept.textContent()).toMatch(
        /^Your consent, given .+, is kept, not yet with the mediator\.$/,
      );
      await expect
        .poll(() => page.locator('#announcer').textContent(), { timeout: WAIT_MS })
        .toBe(
          'Your consent to a pause is kept, but the mediator party-m could not be reached: send it again later.',
        );
      const { pauseConsent } = await detailAtA(id);
      expect(pauseConsent).toMatchObject({ heldSince: null });
      expect(await kept.locator('time').getAttribute('datetime')).toBe(pauseConsent!.createdAt);
      expect(await consentsAtM(id)).toEqual([]);
    } finally {
      await moveM(trio.mInbox);
    }

    // M reachable again: sent again from the page, M holds the consent.
    await block.getByRole('button', { name: 'Send the consent again' }).click();
    await block
      .locator('.consent-state[data-consent="held"]')
      .getByText(/^Your consent is with the mediator since /)
      .waitFor({ timeout: WAIT_MS });
    const { pauseConsent } = await detailAtA(id);
    expect(pauseConsent?.heldSince).toEqual(expect.any(String));
    expect((await consentsAtM(id)).map((c) => [c.party, c.msgId])).toEqual([
      ['party-a', pauseConsent!.msgId],
    ]);
    expect(errors).toEqual([]);
    await close();

    // Another request, withdrawn while its page still shows it open (its refreshes held back):
    // the node refuses the consent (409 invalid_state), and the page says why in an alert that
    // stays once the page shows the request ended.
    const other = await createRequest(a, `Burial site of ${MARKER}`);
    await untilStatus(a, other, 'delivered');
    const tab = await requestPageAtA(other, officerOf(a));
    const otherBlock = tab.page.getByRole('region', { name: 'Mediator' });
    const otherAgree = otherBlock.getByRole('button', { name: 'Agree to a pause by the mediator' });
    await otherAgree.waitFor({ timeout: WAIT_MS });
    const heldBack: Route[] = [];
    let holding = true;
    await tab.page.route(`**/v1/requests/${other}`, (route) =>
      holding ? void heldBack.push(route) : route.continue(),
    );
    await expect.poll(() => heldBack.length, { timeout: WAIT_MS }).toBeGreaterThan(0);
    const withdrawn = await act(a, other, 'withdraw', { reason: 'Found in the archive.' });
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(200);
    await otherAgree.click();
    const alert = otherBlock.getByRole('alert');
    await alert.waitFor({ timeout: WAIT_MS });
    expect(await alert.textContent()).toBe(
      'No consent given (invalid_state): the request has ended (withdrawn)',
    );
    holding = false;
    for (const route of heldBack) await route.continue();
    await tab.page.unroute(`**/v1/requests/${other}`);
    await otherBlock
      .getByText('The request has ended: the mediator pauses no clock of it any more.')
      .waitFor({ timeout: WAIT_MS });
    expect(await otherBlock.getByRole('button').count()).toBe(0);
    expect(await alert.textContent()).toMatch(/^No consent given \(invalid_state\)/);
    expect(await detailAtA(other)).toMatchObject({ mediator: 'party-m', pauseConsent: null });
    expect(tab.errors).toEqual([
      'Failed to load resource: the server responded with a status of 409 (Conflict)',
    ]);
    await tab.close();
  });
});
