// Officers work requests in the browser (Debian's Chromium, driven by playwright-core), signed in
// through each node's development OpenID provider (so every action goes with the session's CSRF
// token): A's officer asks party-b through the API; B's officer sees it in the work list as owed
// by us, opens it, acknowledges it through its button, has a decline with a blank reason refused
// by the node at the reason field, and asks a clarification question by keyboard only; A's officer
// sees the question owed by us and answers it (a double click acts once); B sees the answer. The
// work list puts the overdue request first and marks it. After B's final response (through the
// API: record forms are not in the page yet), A sees the coverage matrix and the record's
// clarification item, and one click prefills closing the request as incomplete about it.
// Screenshots: the work list, a request with its buttons, and one with coverage and gaps.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cmsa0009, corridorSubject } from '../fixtures/domain/mine-maps.js';
import { withoutAttachments } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { inPage, launchChromium, officerTab } from '../helpers/browser.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';

const ARTIFACTS = path.resolve('test-artifacts');
const TITLE = 'Corridor hazards near pylon 44 (work test)';
const WAIT_MS = 30_000;

let a: TestNode;
let b: TestNode;
let browser: Browser;
let reqId: string;
/** A routine request to B, due days later: after the overdue one in B's work list. */
let laterId: string;

/** The open form's submit: its only button of type submit. */
const submitOf = (page: Page, form: string) =>
  page.locator(`form[data-form="${form}"] button[type="submit"]`);

/** A's officer asks party-b for the corridor's records. */
async function askB(priority: string): Promise<string> {
  const created = await call(a.url, 'POST', '/v1/requests', {
    token: await a.token('officer', 'amira'),
    json: {
      type: 'mine_map',
      counterparty: 'party-b',
      priority,
      subject: { ...structuredClone(corridorSubject), title: `${TITLE}, ${priority}` },
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id as string;
}

beforeAll(async () => {
  // Urgent mine-map requests are to be acknowledged within 4 s: overdue while the test looks.
  const policyFile = await writeTestPolicy([
    {
      request_type: 'mine_map',
      priority: 'urgent',
      acknowledge_seconds: 4,
      respond_seconds: 3600,
      escalation_after_seconds: [3600],
    },
  ]);
  const env = { PARLEY_POLICY_FILE: policyFile };
  [a, b, browser] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
    launchChromium(),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  await fs.mkdir(ARTIFACTS, { recursive: true });
  laterId = await askB('routine');
  reqId = await askB('urgent');
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('officers working a request in the browser', () => {
  it('acknowledges, is refused at the field, asks by keyboard; the requester answers', async () => {
    // B: the incoming request is in the work list, owed by us, with its acknowledgement due.
    const onB = await officerTab(browser, b);
    const work = onB.page.locator(`#work-incoming tr[data-work-id="${reqId}"]`);
    await work.waitFor({ timeout: WAIT_MS });
    expect(await work.textContent()).toContain('acknowledge the request');
    expect(await work.textContent()).toContain(TITLE);
    // Overdue after 4 s: marked, and first, before the routine one due days later.
    await work.locator('.badge.overdue').first().waitFor({ timeout: WAIT_MS });
    await onB.page.locator(`#work-incoming tr[data-work-id="${laterId}"]`).waitFor();
    expect(
      await onB.page
        .locator('#work-incoming tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-work-id'))),
    ).toEqual([reqId, laterId]);
    expect(await onB.page.locator(`#work-outgoing tr[data-work-id="${reqId}"]`).count()).toBe(0);
    await onB.page.screenshot({
      path: path.join(ARTIFACTS, 'officer-work-list.png'),
      fullPage: true,
    });

    // The request's page: a button per allowed action; Answer (the requester's) is not there.
    await work.getByRole('link', { name: reqId }).click();
    await onB.page.getByRole('heading', { name: `Request ${reqId}`, level: 1 }).waitFor();
    const actions = onB.page.locator('#actions');
    const button = (name: string) => actions.getByRole('button', { name, exact: true });
    await button('Acknowledge').waitFor();
    for (const name of ['Ask for clarification', 'Ask for more time', 'Decline'])
      expect(await button(name).count()).toBe(1);
    expect(await button('Answer the clarification').count()).toBe(0);
    expect(await button('Withdraw').count()).toBe(0);
    // The coverage matrix: every item outstanding.
    const coverage = onB.page.locator('#coverage tbody tr');
    await coverage.first().waitFor();
    expect(await coverage.count()).toBe(corridorSubject.items.length);
    expect(await onB.page.locator('#coverage').textContent()).toContain('Outstanding');

    // Acknowledge with a note: the button goes, the others stay.
    await button('Acknowledge').click();
    await onB.page.getByLabel('Note to the partner (optional)').fill('We are looking into it.');
    await submitOf(onB.page, 'acknowledge').click();
    const outcome = actions.locator('.action-outcome');
    await outcome.getByText('Acknowledgement sent; the request is acknowledged.').waitFor();
    await eventually(
      async () => ((await button('Acknowledge').count()) === 0 ? true : undefined),
      WAIT_MS,
      'the Acknowledge button to go',
    );
    await button('Ask for clarification').waitFor();

    // A decline with a blank reason: the node refuses it, and says so at the reason field.
    await button('Decline').click();
    await onB.page.getByLabel('Reason').fill('   ');
    await submitOf(onB.page, 'decline').click();
    const reason = onB.page.locator('form[data-form="decline"] [data-field="reason"]');
    await reason.locator('.field-error span').waitFor();
    expect((await reason.locator('.field-error').textContent())?.trim()).not.toBe('');
    expect(await reason.locator('textarea').getAttribute('aria-invalid')).toBe('true');
    expect(
      await onB.page.locator('form[data-form="decline"] .form-problem').textContent(),
    ).toContain('schema_invalid');
    // The focus is on the field the refusal names.
    expect(await inPage<string>(onB.page, 'document.activeElement.id')).toBe(
      'action-decline-reason',
    );
    await onB.page.getByRole('button', { name: 'Cancel' }).click();
    const detailOnB = await call(b.url, 'GET', `/v1/requests/${reqId}`, {
      token: await b.token('officer', 'amira'),
    });
    expect(detailOnB.body.status).toBe('acknowledged');

    // Keyboard only: Tab to "Ask for clarification", Enter opens its form with the focus in it,
    // type, Tab to its submit, Enter sends; the outcome takes the focus.
    await onB.page.getByRole('heading', { name: `Request ${reqId}`, level: 1 }).focus();
    await eventually(
      async () => {
        await onB.page.keyboard.press('Tab');
        const text = await inPage<string>(onB.page, 'document.activeElement.textContent');
        return text === 'Ask for clarification' ? true : undefined;
      },
      WAIT_MS,
      'the Tab key to reach Ask for clarification',
    );
    await onB.page.keyboard.press('Enter');
    await onB.page.locator('form[data-form="ask_clarification"]').waitFor();
    expect(await inPage<string>(onB.page, 'document.activeElement.id')).toBe(
      'action-ask_clarification-questions',
    );
    await onB.page.keyboard.type('Which datum are the coordinates in?');
    await onB.page.keyboard.press('Tab');
    expect(await inPage<string>(onB.page, 'document.activeElement.textContent')).toBe(
      'Ask for clarification',
    );
    await onB.page.screenshot({
      path: path.join(ARTIFACTS, 'officer-request-actions.png'),
      fullPage: true,
    });
    await onB.page.keyboard.press('Enter');
    await outcome.getByText('Clarification question sent').waitFor();
    expect(await inPage<string>(onB.page, 'document.activeElement.className')).toBe(
      'action-outcome',
    );
    // A question is open: no second one.
    await eventually(
      async () => ((await button('Ask for clarification').count()) === 0 ? true : undefined),
      WAIT_MS,
      'the Ask button to go while the question is open',
    );

    // A: the question is owed by us, in the outgoing half of the work list.
    const onA = await officerTab(browser, a);
    const owed = onA.page.locator(`#work-outgoing tr[data-work-id="${reqId}"]`);
    await owed.waitFor({ timeout: WAIT_MS });
    expect(await owed.textContent()).toContain('answer the clarification question');
    await owed.getByRole('link', { name: reqId }).click();
    const actionsA = onA.page.locator('#actions');
    const answer = actionsA.getByRole('button', { name: 'Answer the clarification', exact: true });
    await answer.waitFor({ timeout: WAIT_MS });
    expect(await actionsA.getByRole('button', { name: 'Withdraw', exact: true }).count()).toBe(1);
    expect(await actionsA.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
    await answer.click();
    await onA.page.getByLabel('Answers').fill('WGS 84, as the request says.');
    // A double click sends once (the same Idempotency-Key for the same body).
    await submitOf(onA.page, 'answer_clarification').dblclick();
    await actionsA.locator('.action-outcome').getByText('Answer sent').waitFor();
    await eventually(
      async () => ((await answer.count()) === 0 ? true : undefined),
      WAIT_MS,
      'the Answer button to go',
    );

    // B: the answer arrived; asking is possible again.
    await button('Ask for clarification').waitFor({ timeout: WAIT_MS });
    const timelineA = await call(a.url, 'GET', `/v1/requests/${reqId}`, {
      token: await a.token('officer', 'amira'),
    });
    const answers = (timelineA.body.timeline as { type: string }[]).filter(
      (e) => e.type === 'answer_clarification',
    );
    expect(answers).toHaveLength(1);

    // B's final response with a record that lacks its accuracy (sent through the API).
    const { accuracy_m: _accuracy, ...record } = withoutAttachments(cmsa0009);
    const responded = await call(b.url, 'POST', `/v1/requests/${reqId}/responses`, {
      token: await b.token('officer', 'amira'),
      json: {
        final: true,
        records: [record],
        outcomes: [{ item_id: 'corridor', outcome: 'found' }],
      },
    });
    expect(responded.status, JSON.stringify(responded.body)).toBe(200);
    // A: the item answered, the gap listed; "Ask about this" prefills an incomplete closure.
    await onA.page
      .locator('#coverage tr[data-item="corridor"]')
      .getByText('Answered')
      .waitFor({ timeout: WAIT_MS });
    const gap = onA.page.locator('#clarification-items li[data-code="accuracy_missing"]');
    await gap.waitFor({ timeout: WAIT_MS });
    await gap.getByRole('button', { name: /^Ask about this/ }).click();
    const closeForm = onA.page.locator('form[data-form="close"]');
    await closeForm.waitFor();
    expect(await closeForm.getByRole('radio', { name: /Incomplete/ }).isChecked()).toBe(true);
    expect(await closeForm.getByLabel('Reason (optional)').inputValue()).toContain('accuracy');
    await onA.page.screenshot({
      path: path.join(ARTIFACTS, 'officer-request-coverage.png'),
      fullPage: true,
    });
    await submitOf(onA.page, 'close').click();
    await actionsA
      .locator('.action-outcome')
      .getByText('Closure sent; the request is acknowledged.')
      .waitFor();

    expect(onB.errors).toEqual([]);
    expect(onA.errors).toEqual([]);
    await Promise.all([onA.close(), onB.close()]);
  });
});
