// Officers answer with records in the browser (Debian's Chromium, driven by playwright-core),
// signed in through each node's development OpenID provider: A's officer asks party-b for a mine
// map; B's officer opens "Respond with records", whose form is generated from the node's JSON
// Schema of a mine-map response (/openapi.json), fills a minefield record (covers, source
// document, hazard, a perimeter pasted as GeoJSON with plain numbers, a device row), attaches a
// file (hashed in the page, uploaded with a progress bar, its digest shown), has the node refuse a
// malformed record id at that very field, corrects it and sends a final response. A's officer sees
// the record with its file (downloaded: the same bytes), the coverage matrix (answered), the gaps
// of the record as clarification items with one click to ask about them, and B's questions and
// A's answers are shown to the officers on both sides. Screenshots in test-artifacts/.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultsSubject } from '../fixtures/domain/identifications.js';
import { corridorSubject } from '../fixtures/domain/mine-maps.js';
import { call } from '../helpers/http.js';
import { officerTab, partnersWithBrowser } from '../helpers/browser.js';
import type { TestNode } from '../helpers/node.js';
import { eventually } from '../helpers/partners.js';
import { untilIn } from '../helpers/requests.js';

const ARTIFACTS = path.resolve('test-artifacts');
const WAIT_MS = 30_000;

let a: TestNode;
let b: TestNode;
let browser: Browser;
let stop: (() => Promise<void>) | undefined;
let reqId: string;

/** A field of the generated form by its place in the body (`*`: any row). */
const field = (page: Page, pattern: string) =>
  page.locator(`form[data-form="respond_records"] [data-path="${pattern}"]`).first();

beforeAll(async () => {
  ({ a, b, browser, stop } = await partnersWithBrowser());
  const created = await call(a.url, 'POST', '/v1/requests', {
    token: await a.token('officer', 'amira'),
    json: {
      type: 'mine_map',
      counterparty: 'party-b',
      priority: 'routine',
      subject: corridorSubject,
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  reqId = created.body.id as string;
  await untilIn(b, reqId, 'delivered', WAIT_MS);
  // B acknowledges and asks a question; A answers (the buttons are tested in officer-work).
  const officerB = await b.token('officer', 'amira');
  for (const [path, json] of [
    ['acknowledge', {}],
    ['clarification-requests', { questions: ['Which pylons does the corridor include?'] }],
  ] as const) {
    const res = await call(b.url, 'POST', `/v1/requests/${reqId}/${path}`, {
      token: officerB,
      json,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
  await untilIn(a, reqId, 'acknowledged', WAIT_MS);
  await eventually(
    async () => {
      const res = await call(a.url, 'POST', `/v1/requests/${reqId}/clarifications`, {
        token: await a.token('officer', 'amira'),
        json: { answers: ['Pylons 40 to 46, both sides of the line.'] },
      });
      return res.status === 200 ? true : undefined;
    },
    WAIT_MS,
    'A to answer the question',
  );
}, 180_000);

afterAll(async () => {
  await stop?.();
});

describe('an officer answering with records in the browser', () => {
  it('fills the generated form, attaches a file, is refused at a field; A sees it all', async () => {
    const onB = await officerTab(browser, b);
    await onB.page.goto(`${b.url}/dashboard/requests/${reqId}`);
    // The questions asked and the answers given, for the officers.
    const talkB = onB.page.locator('#conversation');
    await talkB
      .locator('[data-kind="clarification"]')
      .getByText('Pylons 40 to 46')
      .waitFor({ timeout: WAIT_MS });
    expect(await talkB.locator('[data-kind="clarification_request"]').textContent()).toContain(
      'Which pylons',
    );

    // The form, generated from the node's schema of a mine-map response.
    const respond = onB.page
      .locator('#actions')
      .getByRole('button', { name: 'Respond with records', exact: true });
    await respond.waitFor({ timeout: WAIT_MS });
    await respond.click();
    await field(onB.page, '/records/*/record_id').locator('input').waitFor();
    // Every member of the record schema has its field: enums as selects, decimals as text.
    expect(
      await field(onB.page, '/records/*/hazard_type')
        .locator('option')
        .evaluateAll((o) => o.map((x) => x.getAttribute('value'))),
    ).toEqual([
      '',
      'minefield',
      'mined_area',
      'booby_trapped_area',
      'unexploded_ordnance',
      'cluster_munition_strike_area',
    ]);
    expect(
      await field(onB.page, '/records/*/accuracy_m').locator('input').getAttribute('inputmode'),
    ).toBe('decimal');

    await field(onB.page, '/records/*/record_id').locator('input').fill('MF 0777!');
    await field(onB.page, '/records/*/covers').locator('input[value="corridor"]').check();
    await field(onB.page, '/records/*/source_document/reference')
      .locator('input')
      .fill('Minefield record 7/44-94');
    await field(onB.page, '/records/*/hazard_type').locator('select').selectOption('minefield');
    await field(onB.page, '/records/*/confidence').locator('select').selectOption('confirmed');
    // Plain numbers, as GIS software writes them: sent as decimal strings as written.
    await field(onB.page, '/records/*/perimeter')
      .locator('textarea')
      .fill(
        JSON.stringify({
          type: 'Feature',
          properties: {},
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                [24.758, 46.599],
                [24.7625, 46.599],
                [24.7625, 46.6015],
                [24.758, 46.6015],
                [24.758, 46.599],
              ],
            ],
          },
        }),
      );
    await field(onB.page, '/records/*/datum').locator('select').selectOption('WGS84');
    await field(onB.page, '/records/*/accuracy_m').locator('input').fill('5.0');
    await field(onB.page, '/records/*/devices')
      .getByRole('button', { name: 'Add device', exact: true })
      .click();
    await field(onB.page, '/records/*/devices/*/category')
      .locator('select')
      .selectOption('anti_personnel');
    await field(onB.page, '/records/*/devices/*/model').locator('input').fill('PMN-2');
    await field(onB.page, '/records/*/devices/*/quantity').locator('input').fill('40');
    await field(onB.page, '/records/*/devices/*/quantity_basis')
      .locator('select')
      .selectOption('estimated');
    await field(onB.page, '/records/*/devices/*/anti_handling')
      .locator('select')
      .selectOption('unknown');

    // A file: hashed in the page, uploaded with its progress, its digest shown.
    const bytes = Buffer.from('Field sketch of minefield 7/44-94.\n'.repeat(60_000));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await field(onB.page, '/records/*/attachments')
      .locator('input[type="file"]')
      .setInputFiles({ name: 'sketch-7-44-94.txt', mimeType: 'text/plain', buffer: bytes });
    const file = field(onB.page, '/records/*/attachments').locator('li.attachment');
    await file.locator('.attachment-status').getByText('Uploaded.').waitFor({ timeout: WAIT_MS });
    expect(await file.locator('.attachment-digest').textContent()).toBe(sha256);
    // Hashed by the library the node serves (crypto.subtle is only the fallback).
    expect(await file.getAttribute('data-hashed-by')).toBe('@noble/hashes');
    for (const [name, code] of [
      ['sha2.js', 200],
      ['index.js', 404],
    ] as const)
      expect((await fetch(`${b.url}/dashboard/vendor/noble-hashes/${name}`)).status, name).toBe(
        code,
      );
    const bar = file.locator('progress');
    expect(await bar.evaluate((p: { value: number; max: number }) => p.value === p.max)).toBe(true);
    await file.getByLabel(/^Description of/).fill('Sketch of the field record');

    // The outcome of the one item, and a note.
    await onB.page
      .locator('form[data-form="respond_records"] tr[data-item="corridor"] select')
      .selectOption('found');
    await field(onB.page, '/note').locator('textarea').fill('The record of the 1994 laying.');

    // The node refuses the malformed record id, at its field, with the focus there.
    const submit = onB.page.locator('form[data-form="respond_records"] button[type="submit"]');
    await submit.click();
    const recordId = field(onB.page, '/records/*/record_id');
    await recordId.locator('.field-error span').waitFor({ timeout: WAIT_MS });
    expect(await recordId.locator('input').getAttribute('aria-invalid')).toBe('true');
    expect(
      await onB.page.locator('form[data-form="respond_records"] .form-problem').textContent(),
    ).toContain('schema_invalid');
    expect(await onB.page.evaluate<string>('document.activeElement.getAttribute("name")')).toBe(
      '/records/*/record_id',
    );
    await onB.page.screenshot({
      path: path.join(ARTIFACTS, 'respond-records-refused.png'),
      fullPage: true,
    });

    // Corrected, sent: the response is final; the gaps are said.
    await recordId.locator('input').fill('MF-0777');
    await submit.click();
    const outcome = onB.page.locator('#actions .action-outcome');
    await outcome
      .getByText(/^Final response sent; the request is answered\./)
      .waitFor({ timeout: WAIT_MS });
    expect(await outcome.textContent()).toContain('Clarification items');

    // What was signed: decimals as written, the file referenced by its digest.
    const mine = await call(b.url, 'GET', `/v1/requests/${reqId}`, {
      token: await b.token('officer', 'amira'),
    });
    const response = (mine.body.messages as { kind: string; body: Record<string, unknown> }[]).find(
      (m) => m.kind === 'response',
    );
    const record = (response?.body.records as Record<string, unknown>[])[0]!;
    expect(record).toMatchObject({
      record_id: 'MF-0777',
      covers: ['corridor'],
      accuracy_m: '5.0',
      perimeter: { type: 'Polygon' },
      devices: [{ model: 'PMN-2', quantity: 40 }],
      attachments: [
        {
          ref: `sha256:${sha256}`,
          media_type: 'text/plain',
          file_name: 'sketch-7-44-94.txt',
          description: 'Sketch of the field record',
        },
      ],
    });
    expect((record.perimeter as { coordinates: string[][][] }).coordinates[0]![1]).toEqual([
      '24.7625',
      '46.599',
    ]);

    // A: the record with its file, the coverage matrix, the gaps with one click to ask.
    await untilIn(a, reqId, 'answered', WAIT_MS);
    const onA = await officerTab(browser, a);
    await onA.page.goto(`${a.url}/dashboard/requests/${reqId}`);
    const shown = onA.page.locator('#conversation [data-record="MF-0777"]');
    await shown.waitFor({ timeout: WAIT_MS });
    expect(await shown.textContent()).toContain('Minefield record 7/44-94');
    expect(await shown.locator('.attachment-digest').textContent()).toBe(sha256);
    await onA.page
      .locator('#coverage tr[data-item="corridor"]')
      .getByText('Answered')
      .waitFor({ timeout: WAIT_MS });
    const gap = onA.page.locator('#clarification-items li[data-code="laying_date_missing"]');
    await gap.waitFor({ timeout: WAIT_MS });
    await onA.page.screenshot({
      path: path.join(ARTIFACTS, 'request-with-coverage.png'),
      fullPage: true,
    });
    const [download] = await Promise.all([
      onA.page.waitForEvent('download'),
      shown.getByRole('button', { name: /^Download/ }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('sketch-7-44-94.txt');
    const saved = await fs.readFile(await download.path());
    expect(createHash('sha256').update(saved).digest('hex')).toBe(sha256);
    // One click on a gap prefills the incomplete closure about it.
    await gap.getByRole('button', { name: /^Ask about this/ }).click();
    const closeForm = onA.page.locator('form[data-form="close"]');
    await closeForm.waitFor();
    expect(await closeForm.getByRole('radio', { name: /Incomplete/ }).isChecked()).toBe(true);
    expect(await closeForm.getByLabel('Reason (optional)').inputValue()).toContain('laying');

    expect(onB.errors).toEqual([]);
    expect(onA.errors).toEqual([]);
    await Promise.all([onA.close(), onB.close()]);
  });

  it('generates the identification result form: a method by its kind, a report with its file', async () => {
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: await a.token('officer', 'amira'),
      json: {
        type: 'identification_result',
        counterparty: 'party-b',
        priority: 'routine',
        subject: resultsSubject,
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await untilIn(b, id, 'delivered', WAIT_MS);
    const ack = await call(b.url, 'POST', `/v1/requests/${id}/acknowledge`, {
      token: await b.token('officer', 'amira'),
      json: {},
    });
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);

    const onB = await officerTab(browser, b);
    await onB.page.goto(`${b.url}/dashboard/requests/${id}`);
    await onB.page
      .locator('#actions')
      .getByRole('button', { name: 'Respond with records', exact: true })
      .click();
    await field(onB.page, '/records/*/conclusion').locator('select').waitFor();
    // Partial: a first record, more to follow.
    await onB.page.getByRole('radio', { name: /Partial/ }).check();
    await field(onB.page, '/records/*/covers').locator('input[value="case-1"]').check();
    await field(onB.page, '/records/*/remains/remains_id').locator('input').fill('R-2024-0412');
    await field(onB.page, '/records/*/case_id').locator('input').fill('MP-2024-00123');
    await field(onB.page, '/records/*/conclusion').locator('select').selectOption('identified');
    // A method: its kind chosen first (DNA, or one of the others), then its own fields.
    await field(onB.page, '/records/*/methods')
      .getByRole('button', { name: 'Add method', exact: true })
      .click();
    const kind = field(onB.page, '/records/*/methods/*').locator('select').first();
    expect(await kind.locator('option').evaluateAll((o) => o.map((x) => x.textContent))).toEqual(
      expect.arrayContaining(['dna', 'fingerprints', 'odontology']),
    );
    await kind.selectOption('dna');
    await field(onB.page, '/records/*/methods/*/marker_systems')
      .locator('input[value="autosomal_str"]')
      .check();
    await field(onB.page, '/records/*/methods/*/likelihood_ratio')
      .locator('input')
      .fill('1200000000');
    await field(onB.page, '/records/*/methods/*/laboratory/name')
      .locator('input')
      .fill('Regional Forensic DNA Laboratory');
    // The report's one file.
    await field(onB.page, '/records/*/report/reported_on').locator('input').fill('2024-09-02');
    await field(onB.page, '/records/*/report/confirmed_by').locator('input').fill('Dr. Lale');
    const report = field(onB.page, '/records/*/report/attachment');
    expect(await report.locator('input[type="file"]').getAttribute('multiple')).toBeNull();
    const bytes = Buffer.from('Identification report R-2024-0412\n');
    await report
      .locator('input[type="file"]')
      .setInputFiles({ name: 'report-r0412.txt', mimeType: 'text/plain', buffer: bytes });
    await report.locator('.attachment-status').getByText('Uploaded.').waitFor({ timeout: WAIT_MS });
    await onB.page.locator('form[data-form="respond_records"] button[type="submit"]').click();
    await onB.page
      .locator('#actions .action-outcome')
      .getByText(/^Partial response sent; the request is partially answered\./)
      .waitFor({ timeout: WAIT_MS });

    const mine = await call(b.url, 'GET', `/v1/requests/${id}`, {
      token: await b.token('officer', 'amira'),
    });
    const response = (mine.body.messages as { kind: string; body: Record<string, unknown> }[]).find(
      (m) => m.kind === 'response',
    );
    expect(response?.body).toMatchObject({
      final: false,
      records: [
        {
          covers: ['case-1'],
          conclusion: 'identified',
          methods: [
            {
              method: 'dna',
              marker_systems: ['autosomal_str'],
              likelihood_ratio: '1200000000',
            },
          ],
          report: {
            confirmed_by: 'Dr. Lale',
            attachment: {
              ref: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
              file_name: 'report-r0412.txt',
            },
          },
        },
      ],
    });
    expect(onB.errors).toEqual([]);
    await onB.close();
  });
});
