// The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against two live
// nodes: a supervisor signs in on A, sees a request created through the API appear and turn
// overdue without reloading, filters by partner, and opens the request's page; an officer sees
// only the officers' views; a token that stops working returns the page to sign-in; a message the
// partner refused and messages that had no effect are said in words; so are messages the partner
// has not accepted yet, marked in the officers' list when they wait for over a minute; admins see
// on a request's page who read its content.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { inPage, launchChromium } from '../helpers/browser.js';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertOutboxMessage, markDelivered } from '../../db/messages.js';
import { projectRequestEvent } from '../../db/requests.js';
import type { ProjectedEvent, RequestRecord } from '../../schemas/workflow-contract.js';
import type { Payload } from '../../schemas/envelope.js';
import { corridorSubject } from '../fixtures/domain/mine-maps.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerOfflinePartner, registerPartner } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';

const ARTIFACTS = path.resolve('test-artifacts');
const TEMPORAL_UI = 'http://127.0.0.1:8233';
/** Words only officers may see: the subject's title must never reach a supervisor's page. */
const TITLE = 'Corridor hazards near pylon 44 (dashboard test)';
const WAIT_MS = 30_000;

let a: TestNode;
let b: TestNode;
let browser: Browser;
let officerToken: string;
/** The request to party-b that B never acknowledges, and one to the unreachable party-c. */
let toB: string;
let toC: string;

async function createRequest(counterparty: string, priority: string): Promise<string> {
  const res = await call(a.url, 'POST', '/v1/requests', {
    token: officerToken,
    json: {
      type: 'mine_map',
      counterparty,
      priority,
      subject: { ...structuredClone(corridorSubject), title: TITLE },
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id as string;
}

/** A fresh tab (its own sessionStorage) at the given size, with its console errors collected. */
async function openTab(width = 1366, height = 900) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors, close: () => context.close() };
}

async function signIn(page: Page, token: string) {
  await page.goto(`${a.url}/dashboard`);
  await page.waitForURL(/\/dashboard\/sign-in/);
  await page.getByLabel('Bearer token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Signed in once the node took the token and the page left sign-in: a page opened before then
  // has no token yet and is sent back to sign in.
  await page.waitForURL((url) => !url.pathname.startsWith('/dashboard/sign-in'));
}

const row = (page: Page, section: string, id: string) =>
  page.locator(`#${section} tr[data-request-id="${id}"]`);

beforeAll(async () => {
  const policyFile = await writeTestPolicy([
    // Acknowledgement due 4 s after receipt, escalated as soon as it is missed.
    {
      request_type: 'mine_map',
      priority: 'urgent',
      acknowledge_seconds: 4,
      respond_seconds: 600,
      escalation_after_seconds: [0],
    },
  ]);
  const env = {
    DELIVERY_MAX_BACKOFF_SECONDS: '1',
    PARLEY_POLICY_FILE: policyFile,
    TEMPORAL_UI_URL: TEMPORAL_UI,
  };
  [a, b, browser] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
    launchChromium(),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  await registerOfflinePartner(a, 'party-c');
  officerToken = await a.token('officer', 'officer-amira');
  await fs.mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('the dashboard', () => {
  it('serves its config and checks tokens before a session starts', async () => {
    const config = await call(a.url, 'GET', '/dashboard/config.json');
    expect(config.body).toEqual({
      partyId: 'party-a',
      temporalUiUrl: TEMPORAL_UI,
      namespace: a.namespace,
      signIn: true,
      // No MAP_TILE_URL: the request map draws a graticule, offline.
      mapTileUrl: null,
    });
    const page = await call(a.url, 'GET', '/dashboard');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await call(a.url, 'GET', '/dashboard/session.json')).status).toBe(401);
    const session = await call(a.url, 'GET', '/dashboard/session.json', {
      token: await a.token('supervisor', 'sup-sofia'),
    });
    expect(session.body).toEqual({ sub: 'sup-sofia', roles: ['supervisor'] });
  });

  it('shows a supervisor a new request live, then overdue, filtered by partner, and its page', async () => {
    const { page, errors, close } = await openTab();
    await signIn(page, await a.token('supervisor', 'sup-sofia'));
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    for (const name of [
      'Overdue',
      'Upcoming deadlines',
      'Notifications',
      'Charts',
      'Security alerts',
    ])
      await page.getByRole('heading', { name, level: 2 }).waitFor();
    // Set once: if the page reloaded, it would be gone.
    await inPage(page, 'window.stillTheSamePage = true');

    toB = await createRequest('party-b', 'urgent');
    toC = await createRequest('party-c', 'routine');
    await row(page, 'requests', toB).waitFor({ timeout: WAIT_MS });
    await row(page, 'requests', toC).waitFor({ timeout: WAIT_MS });
    // B never acknowledges: 4 s after its receipt the request is overdue, escalated at once.
    // B holds it (so its deadlines run), as the API says: a failure here is not the dashboard's.
    await eventually(
      async () => {
        const r = await call(a.url, 'GET', `/v1/requests/${toB}`, { token: officerToken });
        return r.body.status === 'delivered' ? true : undefined;
      },
      WAIT_MS,
      'the request delivered to party-b',
    );
    await row(page, 'overdue', toB).waitFor({ timeout: WAIT_MS });
    await row(page, 'requests', toB).getByText('Overdue').waitFor();
    await row(page, 'notifications', toB).getByText('Escalation, level 1').waitFor();
    expect(await row(page, 'overdue', toB).textContent()).toMatch(/Acknowledgement/);
    expect(await row(page, 'overdue', toC).count()).toBe(0);
    expect(await inPage(page, "'stillTheSamePage' in window")).toBe(true);
    // Supervisors' lists show where requests stand, never what they are about.
    expect(await page.content()).not.toContain(TITLE);

    await page.locator('#charts figure').first().waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-overview.png'), fullPage: true });
    // A tablet in portrait: everything fits the width (tables scroll inside their own box).
    await page.setViewportSize({ width: 820, height: 1180 });
    expect(await inPage(page, 'document.documentElement.scrollWidth <= window.innerWidth')).toBe(
      true,
    );
    await page.screenshot({
      path: path.join(ARTIFACTS, 'dashboard-overview-tablet.png'),
      fullPage: true,
    });
    await page.setViewportSize({ width: 1366, height: 900 });

    // Filter by partner: the URL carries the filter, and the view survives a reload.
    await page.locator('#filter-partner option[value="party-b"]').waitFor({ state: 'attached' });
    await page.selectOption('#filter-partner', 'party-b');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/\/dashboard\?partner=party-b$/);
    await row(page, 'requests', toC).waitFor({ state: 'detached', timeout: WAIT_MS });
    await row(page, 'requests', toB).waitFor();
    await page.reload();
    await row(page, 'requests', toB).waitFor({ timeout: WAIT_MS });
    expect(await page.locator('#filter-partner').inputValue()).toBe('party-b');
    expect(await row(page, 'requests', toC).count()).toBe(0);

    // By keyboard alone: from the top of the page to the overdue request's link, then Enter.
    await page.keyboard.press('Tab');
    const focused = () => inPage<string | undefined>(page, 'document.activeElement?.textContent');
    expect(await focused()).toBe('Skip to content');
    // The first link to the request in document order is the one in the overdue list.
    for (let i = 0; i < 80 && (await focused()) !== toB; i++) await page.keyboard.press('Tab');
    expect(await inPage(page, `document.activeElement.closest('#overdue') !== null`)).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${a.url}/dashboard/requests/${toB}`);

    await page.getByRole('heading', { name: `Request ${toB}`, level: 1 }).waitFor();
    await page.locator('.timeline li[data-event="created"]').waitFor();
    await page.locator('.timeline li[data-event="escalated"]').waitFor({ timeout: WAIT_MS });
    const ack = page.locator('[data-deadline="acknowledgement"]');
    await ack.locator('.deadline-track.overdue').waitFor();
    await ack.locator('.now-mark').waitFor({ state: 'attached' });
    expect(await ack.textContent()).toMatch(/Overdue by \d+ s/);
    expect(await ack.textContent()).toContain('How it was computed');
    expect(await ack.textContent()).toContain('mine_map/urgent');
    const response = page.locator('[data-deadline="response"]');
    await response.locator('.deadline-track.running').waitFor();
    expect(await response.textContent()).toMatch(/Due in \d+ min/);
    expect(await page.locator('a.temporal-link').getAttribute('href')).toBe(
      `${TEMPORAL_UI}/namespaces/${a.namespace}/workflows/request-${toB}`,
    );
    expect(await page.content()).not.toContain(TITLE);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-request.png'), fullPage: true });

    // Nothing the page did was refused (a CSP violation or a script error would show here).
    expect(errors).toEqual([]);
    await close();
  });

  it('shows an officer the officers’ views only', async () => {
    const { page, errors, close } = await openTab(1024, 768);
    await signIn(page, officerToken);
    await page.waitForURL(/\/dashboard\/requests$/);
    await page.getByRole('heading', { name: 'Requests', level: 1 }).waitFor();
    await row(page, 'main', toB).waitFor({ timeout: WAIT_MS });
    // Officers may see the subject's title in their list.
    expect(await row(page, 'main', toB).textContent()).toContain(TITLE);
    for (const name of [
      'Overview',
      'Overdue',
      'Upcoming deadlines',
      'Notifications',
      'Charts',
      'Security alerts',
    ])
      expect(await page.getByRole('heading', { name, exact: true }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Overview' }).count()).toBe(0);

    // The overview's address leads an officer to the officers' list, with the same filters.
    await page.goto(`${a.url}/dashboard?partner=party-c`);
    await page.waitForURL(/\/dashboard\/requests\?partner=party-c$/);
    await row(page, 'main', toC).waitFor({ timeout: WAIT_MS });
    expect(await row(page, 'main', toB).count()).toBe(0);
    expect(await page.getByRole('heading', { name: 'Overdue', exact: true }).count()).toBe(0);

    // The server refuses the supervisors' API to this token anyway.
    const status = await inPage(
      page,
      `fetch('/v1/supervisor/summary', {
         headers: { authorization: 'Bearer ' + sessionStorage.getItem('parley.dashboard.token') },
       }).then((res) => res.status)`,
    );
    expect(status).toBe(403);
    const notes = await call(a.url, 'GET', '/dashboard/notifications.json', {
      token: officerToken,
    });
    expect(notes.status).toBe(403);

    await page.goto(`${a.url}/dashboard/requests/${toB}`);
    await page.getByRole('heading', { name: 'Subject', level: 2 }).waitFor({ timeout: WAIT_MS });
    expect(await page.locator('main').textContent()).toContain(TITLE);
    // The 403 fetched above is the only error of the tab.
    expect(errors.filter((e) => !e.includes('403'))).toEqual([]);
    await close();
  });

  it('says when the partner refused our message, and which messages had no effect', async () => {
    // The read model as A's workflow leaves it (test/lifecycle/partner-refusal.test.ts makes one
    // live): our withdrawal refused, then a second one that lost a crossing with the final response.
    const id = ulid();
    const record: RequestRecord = {
      reqId: id,
      workflowId: `request-${id}`,
      direction: 'outgoing',
      type: 'mine_map',
      requester: 'party-a',
      responder: 'party-b',
      priority: 'routine',
      subject: { ...structuredClone(corridorSubject), title: TITLE } as RequestRecord['subject'],
      createdBy: 'officer-amira',
      createdAt: new Date(Date.now() - 60_000).toISOString(),
    };
    const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000).toISOString();
    const [w1, w2, f1] = [ulid(), ulid(), ulid()];
    const events = [
      { type: 'created', actor: 'officer-amira', status: 'submitted', detail: {} },
      {
        type: 'delivered',
        actor: 'party-b',
        status: 'delivered',
        detail: {},
        deadlines: {
          receiptAt: at(1),
          ackDueAt: at(3600),
          responseDueAt: at(600),
          escalationLevel: 0,
          policyDigest: null,
          explanations: {},
        },
      },
      {
        type: 'withdraw',
        actor: 'officer-amira',
        status: 'withdrawn',
        detail: { kind: 'withdrawal', msgId: w1 },
      },
      {
        type: 'message_refused_by_partner',
        actor: 'party-b',
        status: 'delivered',
        detail: { msgId: w1, kind: 'withdrawal', code: 'wrong_audience', dropped: [] },
        notification: {
          kind: 'message_refused',
          level: 1,
          detail: { msgId: w1, code: 'wrong_audience' },
        },
      },
      {
        type: 'withdraw',
        actor: 'officer-amira',
        status: 'withdrawn',
        detail: { kind: 'withdrawal', msgId: w2 },
      },
      {
        type: 'respond_final',
        actor: 'party-b',
        status: 'answered',
        detail: { kind: 'response', msgId: f1, onTime: true, countsAt: at(5) },
      },
      {
        type: 'action_not_applied',
        actor: 'officer-amira',
        status: 'answered',
        detail: {
          kind: 'withdrawal',
          msgId: w2,
          reason: 'the request is answered',
          crossedWith: f1,
        },
      },
    ] as const;
    for (const [i, e] of events.entries())
      await projectRequestEvent(a.database.pool, record, {
        ...e,
        seq: i + 1,
        at: at(i),
        detail: { ...e.detail },
      });

    const { page, errors, close } = await openTab();
    await signIn(page, await a.token('supervisor', 'sup-sofia'));
    await row(page, 'refused', id).waitFor({ timeout: WAIT_MS });
    expect(await row(page, 'refused', id).textContent()).toMatch(/withdrawal.*wrong_audience/);
    await row(page, 'requests', id).getByText('Refused by partner').waitFor();
    await row(page, 'notifications', id).getByText('Message refused by the partner').waitFor({
      timeout: WAIT_MS,
    });
    await page.locator('#glance .card', { hasText: 'Refused by the partner' }).waitFor();
    await page.locator('#refused').screenshot({
      path: path.join(ARTIFACTS, 'dashboard-overview-refused.png'),
    });

    await page.goto(`${a.url}/dashboard/requests/${id}`);
    const banner = page.locator('.banner.refused');
    await banner.waitFor({ timeout: WAIT_MS });
    expect(await banner.textContent()).toContain(
      'The partner refused our withdrawal (wrong_audience); it had no effect.',
    );
    const lost = page.locator('.timeline li[data-event="action_not_applied"]');
    expect(await lost.textContent()).toContain(
      'Your withdrawal was not applied: the partner’s final response crossed it and stands (the request is answered).',
    );
    expect(
      await page.locator('.timeline li[data-event="message_refused_by_partner"]').textContent(),
    ).toContain('Refused by the partner');
    // The withdrawals shown when taken say they had no effect.
    for (const step of await page.locator('.timeline li[data-event="withdraw"]').all())
      expect(await step.textContent()).toContain('It had no effect');
    expect(await page.locator('.timeline li[data-event="respond_final"]').textContent()).toContain(
      'In time',
    );
    // The final response met the deadline; the withdrawals that had no effect did not end it.
    expect(await page.locator('[data-deadline="response"]').textContent()).toContain(
      'Settled in time (Answered)',
    );
    expect(await page.content()).not.toContain(TITLE);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-refused.png'), fullPage: true });
    expect(errors).toEqual([]);
    await close();
  });

  it('says which of our messages the partner has not accepted yet, and marks them in lists', async () => {
    // The read model and outbox as A leaves them while B keeps refusing A's revoked key (401
    // key_not_valid, retried; test/lifecycle/undelivered.test.ts makes one live): A's officer
    // withdrew three minutes ago, A shows the request withdrawn, B has not accepted it.
    // A live one too: a request to the unreachable party-c, tried again and again meanwhile.
    const live = await createRequest('party-c', 'routine');
    const id = ulid();
    const withdrawal = ulid();
    const record: RequestRecord = {
      reqId: id,
      workflowId: `request-${id}`,
      direction: 'outgoing',
      type: 'mine_map',
      requester: 'party-a',
      responder: 'party-b',
      priority: 'routine',
      subject: { ...structuredClone(corridorSubject), title: TITLE } as RequestRecord['subject'],
      createdBy: 'officer-amira',
      createdAt: new Date(Date.now() - 600_000).toISOString(),
    };
    const at = (s: number) => new Date(Date.now() - 600_000 + s * 1000).toISOString();
    const events = [
      { type: 'created', actor: 'officer-amira', status: 'submitted', detail: {} },
      { type: 'delivered', actor: 'party-b', status: 'delivered', detail: {} },
      {
        type: 'withdraw',
        actor: 'officer-amira',
        status: 'withdrawn',
        detail: { kind: 'withdrawal', msgId: withdrawal },
      },
    ] as const;
    for (const [i, e] of events.entries())
      await projectRequestEvent(a.database.pool, record, {
        ...e,
        seq: i + 1,
        at: at(i * 200),
        detail: { ...e.detail },
      });
    await insertOutboxMessage(a.database.pool, {
      msgId: withdrawal,
      aud: 'party-b',
      kind: 'withdrawal',
      reqId: id,
      // The page reads the outbox's columns, not the envelope: a stand-in will do.
      payload: { v: 1, msg_id: withdrawal, kind: 'withdrawal', req_id: id } as unknown as Payload,
      digest: `digest-${withdrawal}`,
      token: `token-${withdrawal}`,
    });
    await a.database.pool.query(
      `UPDATE outbox_messages SET created_at = now() - interval '3 minutes', attempts = 14,
         last_error = 'key_not_valid', last_attempt_at = now() WHERE msg_id = $1`,
      [withdrawal],
    );

    const { page, errors, close } = await openTab();
    await signIn(page, officerToken);
    await page.waitForURL(/\/dashboard\/requests$/);
    // Waiting for over a minute: marked in the officers' list.
    await row(page, 'main', id).getByText('Pending at partner').waitFor({ timeout: WAIT_MS });
    expect(await row(page, 'main', id).textContent()).toContain('Withdrawn');
    // Seconds old: not marked yet (most messages are accepted by then).
    await row(page, 'main', live).waitFor();
    expect(await row(page, 'main', live).textContent()).not.toContain('Pending at partner');
    await page.screenshot({
      path: path.join(ARTIFACTS, 'dashboard-requests-pending.png'),
      fullPage: true,
    });

    await page.goto(`${a.url}/dashboard/requests/${id}`);
    const notice = page.locator('.banner.undelivered');
    await notice.waitFor({ timeout: WAIT_MS });
    expect(await notice.textContent()).toMatch(
      /^Not yet accepted by party-b: our withdrawal \(since \S.*, 14 attempts, last answer: key_not_valid\)\.Until it is, party-b does not show this state\./,
    );
    const status = page.locator('.facts div', { hasText: 'Status' });
    expect(await status.textContent()).toMatch(/Withdrawn.*Pending at partner/);
    expect(await page.locator('.timeline li[data-event="withdraw"]').textContent()).toContain(
      'Not yet accepted by party-b',
    );
    // Not a refusal: nothing says it had no effect.
    expect(await page.locator('.banner.refused').count()).toBe(0);
    await page.screenshot({
      path: path.join(ARTIFACTS, 'dashboard-undelivered.png'),
      fullPage: true,
    });

    // B accepts it: the notice and the mark go without a reload.
    await markDelivered(a.database.pool, withdrawal, {
      receiptToken: `receipt-${withdrawal}`,
      receiptDigest: `receipt-digest-${withdrawal}`,
      forDigest: `digest-${withdrawal}`,
      receivedAt: new Date(),
      via: 'online',
    });
    await notice.waitFor({ state: 'detached', timeout: WAIT_MS });
    expect(await status.textContent()).not.toContain('Pending at partner');
    expect(await page.locator('.timeline li[data-event="withdraw"]').textContent()).not.toContain(
      'Not yet accepted',
    );

    // The live one: the request to party-c, which never answers.
    await page.goto(`${a.url}/dashboard/requests/${live}`);
    await page
      .locator('.banner.undelivered', { hasText: 'party-c unreachable' })
      .waitFor({ timeout: WAIT_MS });
    expect(await notice.textContent()).toMatch(
      /^Not yet accepted by party-c: our request \(since \S.*, \d+ attempts?, last answer: none \(party-c unreachable\)\)\.Until it is, party-c does not know of this request\./,
    );
    expect(errors).toEqual([]);
    await close();
  });

  it('shows admins who read a request, and nobody else', async () => {
    // The officer opened toB's page above (a read of its content, recorded); one more, by API.
    const read = await call(a.url, 'GET', `/v1/requests/${toB}`, {
      token: await a.token('officer', 'officer-reading'),
    });
    expect(read.status).toBe(200);
    const { page, errors, close } = await openTab();
    await signIn(page, await a.token('admin', 'admin-ops'));
    await page.goto(`${a.url}/dashboard/requests/${toB}`);
    const panel = page.getByRole('region', { name: 'Who read this request' });
    await panel.locator('tr', { hasText: 'officer-reading' }).waitFor({ timeout: WAIT_MS });
    const line = await panel.locator('tr', { hasText: 'officer-reading' }).first().textContent();
    expect(line).toContain('Request page');
    expect(line).toContain('subject');
    expect(await panel.locator('tr', { hasText: 'officer-amira' }).count()).toBeGreaterThan(0);
    // The records name who and how, never what: the subject's title is not on the page.
    expect(await page.content()).not.toContain(TITLE);
    // A new read shows up while the page is open.
    await call(a.url, 'GET', `/v1/requests/${toB}/evidence`, {
      token: await a.token('supervisor', 'sup-later'),
    });
    await panel
      .locator('tr', { hasText: 'sup-later' })
      .filter({ hasText: 'Evidence bundle' })
      .waitFor({ timeout: WAIT_MS });
    await page.screenshot({
      path: path.join(ARTIFACTS, 'dashboard-access-log.png'),
      fullPage: true,
    });
    // Admins read the supervisors' timeline after the officers' view answers 403: no other error.
    expect(errors.filter((e) => !e.includes('403'))).toEqual([]);
    await close();

    // A supervisor's and an officer's page of the same request have no such panel.
    for (const token of [await a.token('supervisor', 'sup-sofia'), officerToken]) {
      const tab = await openTab();
      await signIn(tab.page, token);
      await tab.page.goto(`${a.url}/dashboard/requests/${toB}`);
      await tab.page.locator('.timeline li[data-event="created"]').waitFor({ timeout: WAIT_MS });
      expect(await tab.page.getByRole('heading', { name: 'Who read this request' }).count()).toBe(
        0,
      );
      await tab.close();
    }
  });

  it('says who owes the next step, dates multi-day deadline bars, and marks a stopped clock', async () => {
    const DAY = 86_400_000;
    const iso = (ms: number) => new Date(Date.now() + ms).toISOString();
    /** A deadline as the workflow explains it, with the pauses given. */
    const explained = (
      deadline: 'acknowledgement' | 'response',
      countsFrom: string,
      dueAt: string,
      pauses: { from: string; to: string | null }[] = [],
    ) => ({
      deadline,
      rule: 'mine_map/routine',
      countsFrom,
      durationSeconds: (Date.parse(dueAt) - Date.parse(countsFrom)) / 1000,
      calendar: 'calendar',
      timeZone: 'UTC',
      daysSkipped: [],
      pauses,
      pausedSeconds: 0,
      clockStopped: pauses.some((p) => p.to === null),
      extension: null,
      baseDueAt: dueAt,
      dueAt,
    });
    const record = (id: string, direction: 'outgoing' | 'incoming'): RequestRecord => ({
      reqId: id,
      workflowId: `request-${id}`,
      direction,
      type: 'mine_map',
      requester: direction === 'outgoing' ? 'party-a' : 'party-b',
      responder: direction === 'outgoing' ? 'party-b' : 'party-a',
      priority: 'routine',
      subject: { ...structuredClone(corridorSubject), title: TITLE } as RequestRecord['subject'],
      createdBy: 'officer-amira',
      createdAt: iso(-10 * DAY),
    });

    // Incoming, received two days ago: acknowledgement due in three days (a five-day scale).
    const waiting = ulid();
    const receivedAt = iso(-2 * DAY);
    const ackDue = iso(3 * DAY);
    const waitingEvents: Omit<ProjectedEvent, 'seq' | 'at'>[] = [
      { type: 'created', actor: null, status: 'submitted', detail: {} },
      {
        type: 'received',
        actor: 'party-b',
        status: 'delivered',
        detail: {},
        deadlines: {
          receiptAt: receivedAt,
          ackDueAt: ackDue,
          responseDueAt: iso(20 * DAY),
          escalationLevel: 0,
          policyDigest: null,
          explanations: {
            acknowledgement: explained('acknowledgement', receivedAt, ackDue),
            response: explained('response', receivedAt, iso(20 * DAY)),
          },
        },
      },
    ];
    // Outgoing, acknowledged; the partner asked a question three days ago, a day before the
    // response fell due, and we have not answered: the response clock stands still with a day
    // left, and the due time last written (a day ago) is past.
    const stopped = ulid();
    const stale = iso(-1 * DAY);
    const asked = iso(-3 * DAY);
    const stoppedEvents: Omit<ProjectedEvent, 'seq' | 'at'>[] = [
      { type: 'created', actor: 'officer-amira', status: 'submitted', detail: {} },
      { type: 'delivered', actor: 'party-b', status: 'delivered', detail: {} },
      { type: 'acknowledge', actor: 'party-b', status: 'acknowledged', detail: {} },
      {
        type: 'ask_clarification',
        actor: 'party-b',
        status: 'acknowledged',
        detail: {},
        deadlines: {
          receiptAt: iso(-9 * DAY),
          ackDueAt: iso(-8 * DAY),
          responseDueAt: stale,
          escalationLevel: 0,
          policyDigest: null,
          explanations: {
            acknowledgement: explained('acknowledgement', iso(-9 * DAY), iso(-8 * DAY)),
            response: {
              ...explained('response', iso(-9 * DAY), iso(-2 * DAY), [{ from: asked, to: null }]),
              dueAt: stale,
            },
          },
        },
      },
    ];
    for (const [id, direction, events] of [
      [waiting, 'incoming', waitingEvents],
      [stopped, 'outgoing', stoppedEvents],
    ] as const)
      for (const [i, e] of events.entries())
        await projectRequestEvent(a.database.pool, record(id, direction), {
          ...e,
          seq: i + 1,
          at: iso((-9 + i) * DAY),
          detail: { ...e.detail },
        });

    const { page, errors, close } = await openTab();
    await signIn(page, await a.token('supervisor', 'sup-sofia'));
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    // Who owes the next step, named: B owes the acknowledgement of toB; we owe this one's.
    await row(page, 'overdue', toB)
      .getByText('Partner (party-b): acknowledge the request')
      .waitFor({ timeout: WAIT_MS });
    await row(page, 'upcoming', waiting)
      .getByText('Us (party-a): acknowledge the request')
      .waitFor({ timeout: WAIT_MS });
    // The stopped clock: a badge where the response due time would be, and not overdue.
    await row(page, 'requests', stopped).locator('.badge.clock-stopped').waitFor();
    expect(await row(page, 'overdue', stopped).count()).toBe(0);
    await page.locator('#overdue').screenshot({
      path: path.join(ARTIFACTS, 'dashboard-overdue-next-step.png'),
    });
    await page.locator('#upcoming').screenshot({
      path: path.join(ARTIFACTS, 'dashboard-upcoming-next-step.png'),
    });

    // A five-day bar: the scale shows dates, and the due label stands at the due mark.
    await page.goto(`${a.url}/dashboard/requests/${waiting}`);
    const ack = page.locator('[data-deadline="acknowledgement"]');
    await ack.locator('.deadline-track.running').waitFor({ timeout: WAIT_MS });
    const month = (at: string) =>
      inPage<string>(
        page,
        `new Intl.DateTimeFormat(undefined, { month: 'short' }).format(new Date('${at}'))`,
      );
    const dueLabel = ack.locator('.deadline-scale .scale-due');
    expect(await dueLabel.textContent()).toContain(await month(ackDue));
    expect(await ack.locator('.deadline-scale .scale-receipt').textContent()).toContain(
      await month(receivedAt),
    );
    // Measured in one turn of the page: the live view may redraw the bar between two calls from
    // here, and a label read from the old bar has no box.
    const offset = await inPage<number>(
      page,
      `(() => {
        const bar = document.querySelector('[data-deadline="acknowledgement"]');
        const mark = bar.querySelector('.due-mark').getBoundingClientRect();
        const label = bar.querySelector('.deadline-scale .scale-due');
        const text = label.getBoundingClientRect();
        const anchorX = label.classList.contains('to-mark')
          ? text.x + text.width
          : label.classList.contains('from-mark')
            ? text.x
            : text.x + text.width / 2;
        return anchorX - (mark.x + mark.width / 2);
      })()`,
    );
    expect(Math.abs(offset)).toBeLessThan(4);
    await page.locator('[data-deadline="acknowledgement"]').screenshot({
      path: path.join(ARTIFACTS, 'dashboard-deadline-scale.png'),
    });

    // The stopped clock on the request's page: the badge, and no past due time.
    await page.goto(`${a.url}/dashboard/requests/${stopped}`);
    const response = page.locator('[data-deadline="response"]');
    await response.locator('.deadline-track.paused').waitFor({ timeout: WAIT_MS });
    await response.locator('.state .badge.clock-stopped', { hasText: 'Clock stopped' }).waitFor();
    const state = (await response.locator('.state').textContent())!;
    expect(state).not.toContain('Overdue');
    expect(state).toMatch(/with 1 d left; answered now, it would be due/);
    expect(await response.locator(`.state time[datetime="${stale}"]`).count()).toBe(0);
    expect(await response.locator('.deadline-scale .scale-due').textContent()).toContain(
      'due if answered now',
    );
    await page.screenshot({
      path: path.join(ARTIFACTS, 'dashboard-clock-stopped.png'),
      fullPage: true,
    });
    expect(errors).toEqual([]);
    await close();
  });

  it('returns to sign-in when the token is refused', async () => {
    const { page, close } = await openTab();
    await page.goto(`${a.url}/dashboard/sign-in`);
    await page.getByLabel('Bearer token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();

    await signIn(page, await a.token('supervisor', 'sup-sofia'));
    await page.waitForURL(`${a.url}/dashboard`);
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    // The token stops working (expired, say): the next refresh goes back to sign-in, with why.
    await inPage(page, "sessionStorage.setItem('parley.dashboard.token', 'x.y.z')");
    await page.waitForURL(/\/dashboard\/sign-in\?next=%2Fdashboard&reason=/, {
      timeout: WAIT_MS,
    });
    await page.getByText('Your session ended').waitFor();
    expect(await inPage(page, "sessionStorage.getItem('parley.dashboard.token')")).toBeNull();
    await close();
  });
});
