// A whole request's life between two live nodes, every step taken in the browser (Debian's
// Chromium, driven by playwright-core) by officers signed in through each node's development
// OpenID provider; no step goes through the API. A's officer opens New request, draws the area on
// the map with the mouse (Leaflet-Geoman, offline) and sends a mine-map request to party-b. B's
// officer sees it in the work list as owed by us, opens it, acknowledges it by its button and asks
// a clarification question; A's officer finds the question owed in the work list and answers it;
// B sees the answer. B's officer responds with records through the form generated from the node's
// schema: a minefield record (covers the drawn area, source document, hazard, a perimeter pasted as
// GeoJSON, a device row) with a file attached (hashed, uploaded, its digest shown), a final
// response. A's officer sees the coverage matrix (answered), the record in the conversation, its
// perimeter on the map as a layer and a table row, and closes the request as accepted by its
// button. Both pages end showing the request closed, and the supervisor API of both nodes agrees
// (status, no next step, the steps it went through). Screenshots: test-artifacts/
// lifecycle-ui-1-drawn.png, -2-acknowledged.png, -3-clarification.png, -4-response-form.png,
// -5-coverage-map.png, -6-closed.png.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';
import {
  actionButton,
  ARTIFACTS,
  actionOutcome,
  drawPolygon,
  landedOnRequest,
  officerTab,
  openNewRequest,
  partnersWithBrowser,
  recordField,
  statusBadge,
  submitOf,
} from '../helpers/browser.js';
import type { TestNode } from '../helpers/node.js';
import { eventually } from '../helpers/partners.js';

const WAIT_MS = 30_000;
const TITLE = 'Minefields along the Valea Rece road (lifecycle)';
const QUESTION = 'Does the area include the verges on both sides of the road?';
const ANSWER = 'Yes: both verges, 50 m either side of the road.';

let a: TestNode;
let b: TestNode;
let browser: Browser;

const shot = (page: Page, step: string) =>
  page.screenshot({ path: path.join(ARTIFACTS, `lifecycle-ui-${step}.png`), fullPage: true });

/** The request as a node's supervisor API has it: the item and its timeline. */
async function supervised(node: TestNode, id: string) {
  const res = await call(node.url, 'GET', `/v1/supervisor/requests/${id}/timeline`, {
    token: await node.token('supervisor', 'sam'),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as {
    request: Record<string, unknown>;
    events: { type: string; status: string | null }[];
  };
}

let stop: (() => Promise<void>) | undefined;

beforeAll(async () => {
  ({ a, b, browser, stop } = await partnersWithBrowser());
});

afterAll(() => stop?.());

describe('a request’s whole life in the browser, on both nodes', () => {
  it('is drawn, sent, acknowledged, clarified, answered with records and a file, and closed', async () => {
    // A: the request, its area drawn with the mouse.
    const onA = await officerTab(browser, a);
    const pageA = onA.page;
    await openNewRequest(pageA);
    await pageA.getByLabel('Partner (required)').fill('party-b');
    expect(await pageA.getByLabel('Kind of request').inputValue()).toBe('mine_map');
    await pageA.getByLabel('Title (required)').fill(TITLE);
    const drawMap = pageA.locator('#mine-area-map');
    await drawMap.getByRole('button', { name: 'Draw Polygons', exact: true }).waitFor();
    await pageA
      .locator('section[data-type="mine_map"]')
      .getByLabel('Centre the map on (latitude, longitude)')
      .fill('46.585, 24.73');
    await pageA.keyboard.press('Enter');
    await drawMap
      .locator('.leaflet-control-scale-line')
      .getByText(/^\d+ m$/)
      .waitFor();
    await drawPolygon(pageA, drawMap, [
      [0.4, 0.35],
      [0.6, 0.35],
      [0.6, 0.6],
      [0.4, 0.6],
    ]);
    const area = pageA.locator('#mine-area-list li.area');
    await area.waitFor();
    expect(await area.count()).toBe(1);
    expect(await area.locator('.area-summary').textContent()).toMatch(
      /^a polygon, 5 vertices from/,
    );
    await pageA.getByLabel('Name of area 1 (optional)').fill('Road corridor, km 2 to 9');
    await pageA.getByLabel('Laid from').fill('1993');
    await pageA.getByRole('checkbox', { name: 'Minefield' }).check();
    await pageA.getByLabel('Purpose (required)').selectOption('return_of_civilians');
    await shot(pageA, '1-drawn');
    await pageA.getByRole('button', { name: 'Send the request' }).click();
    const id = await landedOnRequest(pageA, WAIT_MS);
    await pageA.locator('#request-map path.map-requested-area').first().waitFor();

    // B: the request in the work list, owed by us; opened from it and acknowledged.
    const onB = await officerTab(browser, b);
    const pageB = onB.page;
    const work = pageB.locator(`#work-incoming tr[data-work-id="${id}"]`);
    await work.waitFor({ timeout: WAIT_MS });
    expect(await work.textContent()).toContain('acknowledge the request');
    expect(await work.textContent()).toContain(TITLE);
    await work.getByRole('link', { name: id }).click();
    await pageB.getByRole('heading', { name: `Request ${id}`, level: 1 }).waitFor();
    await actionButton(pageB, 'Acknowledge').click();
    await pageB.getByLabel('Note to the partner (optional)').fill('We are searching the archive.');
    await submitOf(pageB, 'acknowledge').click();
    await actionOutcome(pageB)
      .getByText('Acknowledgement sent; the request is acknowledged.')
      .waitFor({ timeout: WAIT_MS });
    await pageB.locator('dl.facts .badge.status-acknowledged').waitFor({ timeout: WAIT_MS });
    // A's page follows: acknowledged there too.
    await pageA.locator('dl.facts .badge.status-acknowledged').waitFor({ timeout: WAIT_MS });
    await shot(pageB, '2-acknowledged');

    // B asks a question; A finds it owed in the work list and answers it.
    await actionButton(pageB, 'Ask for clarification').click();
    await pageB.getByLabel('Questions').fill(QUESTION);
    await submitOf(pageB, 'ask_clarification').click();
    await actionOutcome(pageB)
      .getByText(/^Clarification question sent/)
      .waitFor({ timeout: WAIT_MS });
    await pageA.locator('#nav').getByRole('link', { name: 'Requests', exact: true }).click();
    const owed = pageA.locator(`#work-outgoing tr[data-work-id="${id}"]`);
    await owed.waitFor({ timeout: WAIT_MS });
    expect(await owed.textContent()).toContain('answer the clarification question');
    await owed.getByRole('link', { name: id }).click();
    await pageA
      .locator('#conversation [data-kind="clarification_request"]')
      .getByText(QUESTION)
      .waitFor({ timeout: WAIT_MS });
    const answer = actionButton(pageA, 'Answer the clarification');
    await answer.waitFor({ timeout: WAIT_MS });
    await answer.click();
    await pageA.getByLabel('Answers').fill(ANSWER);
    await submitOf(pageA, 'answer_clarification').click();
    await actionOutcome(pageA)
      .getByText(/^Answer sent/)
      .waitFor({ timeout: WAIT_MS });
    // B sees the answer beside its question.
    await pageB
      .locator('#conversation [data-kind="clarification"]')
      .getByText(ANSWER)
      .waitFor({ timeout: WAIT_MS });
    await shot(pageB, '3-clarification');

    // B responds with records: the generated form, a minefield record and a file.
    const respond = actionButton(pageB, 'Respond with records');
    await respond.waitFor({ timeout: WAIT_MS });
    await respond.click();
    await recordField(pageB, '/records/*/record_id').locator('input').fill('MF-0901');
    await recordField(pageB, '/records/*/covers').locator('input[value="area-1"]').check();
    await recordField(pageB, '/records/*/source_document/reference')
      .locator('input')
      .fill('Minefield record 9/01-93');
    await recordField(pageB, '/records/*/hazard_type').locator('select').selectOption('minefield');
    await recordField(pageB, '/records/*/confidence').locator('select').selectOption('confirmed');
    await recordField(pageB, '/records/*/perimeter')
      .locator('textarea')
      .fill(
        JSON.stringify({
          type: 'Feature',
          properties: {},
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [24.728, 46.584],
                [24.732, 46.584],
                [24.732, 46.586],
                [24.728, 46.586],
                [24.728, 46.584],
              ],
            ],
          },
        }),
      );
    await recordField(pageB, '/records/*/datum').locator('select').selectOption('WGS84');
    await recordField(pageB, '/records/*/accuracy_m').locator('input').fill('5.0');
    await recordField(pageB, '/records/*/devices')
      .getByRole('button', { name: 'Add device', exact: true })
      .click();
    await recordField(pageB, '/records/*/devices/*/category')
      .locator('select')
      .selectOption('anti_personnel');
    await recordField(pageB, '/records/*/devices/*/model').locator('input').fill('PMN-2');
    await recordField(pageB, '/records/*/devices/*/quantity').locator('input').fill('24');
    await recordField(pageB, '/records/*/devices/*/quantity_basis')
      .locator('select')
      .selectOption('exact');
    await recordField(pageB, '/records/*/devices/*/anti_handling')
      .locator('select')
      .selectOption('unknown');
    const bytes = Buffer.from('Field sketch of minefield 9/01-93.\n'.repeat(2_000));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const attachments = recordField(pageB, '/records/*/attachments');
    await attachments
      .locator('input[type="file"]')
      .setInputFiles({ name: 'sketch-9-01-93.txt', mimeType: 'text/plain', buffer: bytes });
    const file = attachments.locator('li.attachment');
    await file.locator('.attachment-status').getByText('Uploaded.').waitFor({ timeout: WAIT_MS });
    expect(await file.locator('.attachment-digest').textContent()).toBe(sha256);
    await file.getByLabel(/^Description of/).fill('Sketch of the field record');
    await pageB
      .locator('form[data-form="respond_records"] tr[data-item="area-1"] select')
      .selectOption('found');
    await shot(pageB, '4-response-form');
    await submitOf(pageB, 'respond_records').click();
    await actionOutcome(pageB)
      .getByText(/^Final response sent; the request is answered\./)
      .waitFor({ timeout: WAIT_MS });

    // A: the coverage matrix answered, the record with its file, its perimeter on the map.
    await pageA
      .locator('#coverage tr[data-item="area-1"]')
      .getByText('Answered')
      .waitFor({ timeout: WAIT_MS });
    const record = pageA.locator('#conversation [data-record="MF-0901"]');
    await record.waitFor({ timeout: WAIT_MS });
    expect(await record.textContent()).toContain('Minefield record 9/01-93');
    expect(await record.locator('.attachment-digest').textContent()).toBe(sha256);
    const map = pageA.locator('#map');
    const mapView = map.locator('#request-map');
    await mapView.locator('path.map-perimeter').first().waitFor({ timeout: WAIT_MS });
    expect(await mapView.locator('path.map-perimeter').count()).toBe(1);
    expect(await mapView.locator('path.map-requested-area').count()).toBe(1);
    expect(await mapView.locator('img.leaflet-tile').count()).toBe(0);
    const perimeterRow = map.locator('tbody tr[data-feature-type="perimeter"]');
    expect(await perimeterRow.count()).toBe(1);
    expect(await perimeterRow.textContent()).toContain('Minefield perimeter');
    expect(await map.locator('tbody tr[data-feature-type="requested_area"]').count()).toBe(1);
    await shot(pageA, '5-coverage-map');

    // A closes the request as accepted, by its button.
    await actionButton(pageA, 'Close the request').click();
    const closeForm = pageA.locator('form[data-form="close"]');
    await closeForm.getByRole('radio', { name: /^Accepted/ }).check();
    await submitOf(pageA, 'close').click();
    await actionOutcome(pageA)
      .getByText('Closure sent; the request is closed.')
      .waitFor({ timeout: WAIT_MS });

    // Both pages show it closed, and no action is left on either.
    for (const page of [pageA, pageB]) {
      await page.locator('dl.facts .badge.status-closed').waitFor({ timeout: WAIT_MS });
      expect(await statusBadge(page).textContent()).toBe('Closed');
      await eventually(
        async () => ((await page.locator('#actions button').count()) === 0 ? true : undefined),
        WAIT_MS,
        'the action buttons to go',
      );
    }
    // A's page no longer says the closure waits for party-b to accept it.
    await eventually(
      async () =>
        (await pageA.locator('dl.facts .badge.pending-at-partner, .banner.undelivered').count()) ===
        0
          ? true
          : undefined,
      WAIT_MS,
      'party-b to accept the closure, as A’s page says',
    );
    await shot(pageA, '6-closed');

    // The supervisor API of both nodes agrees: closed, nobody owes a step, the same steps.
    const [onNodeA, onNodeB] = await Promise.all([supervised(a, id), supervised(b, id)]);
    for (const [seen, direction, partner] of [
      [onNodeA, 'outgoing', 'party-b'],
      [onNodeB, 'incoming', 'party-a'],
    ] as const)
      expect(seen.request).toMatchObject({
        id,
        type: 'mine_map',
        direction,
        counterparty: partner,
        status: 'closed',
        nextStep: null,
        undeliveredCount: 0,
      });
    const statuses = (events: { status: string | null }[]) =>
      events
        .flatMap((e) => (e.status === null ? [] : [e.status]))
        .filter((s, i, all) => s !== all[i - 1]);
    expect(statuses(onNodeA.events).slice(-3)).toEqual(['acknowledged', 'answered', 'closed']);
    expect(statuses(onNodeB.events).slice(-3)).toEqual(['acknowledged', 'answered', 'closed']);

    expect(onA.errors).toEqual([]);
    expect(onB.errors).toEqual([]);
    await Promise.all([onA.close(), onB.close()]);
  });
});
