// Officers create requests in the browser (Debian's Chromium, driven by playwright-core), signed in
// through the node's development OpenID provider (every create goes with the session's CSRF token):
// A's officer draws a polygon on the map with the mouse (Leaflet-Geoman, no tiles: the offline
// graticule) and sends a mine-map request to party-b, which exists with that area; imports areas
// from a KML file (read by @tmcw/togeojson in the page) and a GeoJSON file, draws two polygons into
// one area (a multipolygon) and names an administrative area; creates a grave information request
// (a case, an incident, a period and an area typed as coordinates) and an identification request
// (a case and remains, what is asked); sees the node's refusals at the fields they name (a laying period ending before it starts, the node's own party as the partner),
// and a double click that creates one request; and creates a request with the keyboard alone (Tab,
// typing, Enter: the area typed as coordinates, the non-map way). Screenshots:
// test-artifacts/create-form-drawn-area.png, create-form-imported-areas.png,
// create-form-refused.png, create-form-keyboard.png.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/http.js';
import { inPage, officerTab, partnersWithBrowser } from '../helpers/browser.js';
import type { TestNode } from '../helpers/node.js';
import { eventually } from '../helpers/partners.js';

const ARTIFACTS = path.resolve('test-artifacts');
const WAIT_MS = 30_000;
const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** A KML file as Google Earth writes one: a polygon placemark and a point. */
const KML = `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
  <Placemark><name>Quarry slope</name><Polygon><outerBoundaryIs><LinearRing><coordinates>
    24.71,46.57,0 24.72,46.57,0 24.72,46.58,0 24.71,46.58,0 24.71,46.57,0
  </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
  <Placemark><name>Well</name><Point><coordinates>24.715,46.575,0</coordinates></Point></Placemark>
</Document></kml>`;

/** A GeoJSON file with one feature: two fields as a multipolygon. */
const GEOJSON = {
  type: 'FeatureCollection',
  features: [
    {
      type: 'Feature',
      properties: { name: 'Two fields' },
      geometry: {
        type: 'MultiPolygon',
        coordinates: [
          [
            [
              [24.73, 46.57],
              [24.74, 46.57],
              [24.74, 46.58],
              [24.73, 46.57],
            ],
          ],
          [
            [
              [24.75, 46.57],
              [24.76, 46.57],
              [24.76, 46.58],
              [24.75, 46.57],
            ],
          ],
        ],
      },
    },
  ],
};

let a: TestNode;
let browser: Browser;
let stop: (() => Promise<void>) | undefined;
let officerToken: string;

/** From the officers' list to the create page, by its link. */
async function openCreate(page: Page) {
  await page.getByRole('link', { name: 'New request', exact: true }).click();
  await page.getByRole('heading', { name: 'New request', level: 1 }).waitFor();
}

/** Sends the form and waits for the new request's page; its id. */
async function submitAndLand(page: Page): Promise<string> {
  await page.getByRole('button', { name: 'Send the request' }).click();
  return landed(page);
}

/** The new request's page, reached after the node's 201; its id. */
async function landed(page: Page): Promise<string> {
  await page.waitForURL(/\/dashboard\/requests\/[0-7][0-9A-HJKMNP-TV-Z]{25}$/, {
    timeout: WAIT_MS,
  });
  const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
  expect(id).toMatch(ULID);
  await page.getByRole('heading', { name: `Request ${id}`, level: 1 }).waitFor();
  return id;
}

/** The request as A's API has it. */
async function onA(id: string) {
  const res = await call(a.url, 'GET', `/v1/requests/${id}`, { token: officerToken });
  expect(res.status).toBe(200);
  return res.body;
}

/** Presses Tab until the focused element matches `expression` (a JS boolean over `el`). */
async function tabTo(page: Page, expression: string, what: string) {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    if (
      await inPage<boolean>(
        page,
        `(() => { const el = document.activeElement; return Boolean(${expression}); })()`,
      )
    )
      return;
  }
  throw new Error(`the Tab key never reached ${what}`);
}

const countOutgoing = async () => {
  const res = await call(a.url, 'GET', '/v1/requests?direction=outgoing&limit=200', {
    token: officerToken,
  });
  return (res.body.items as unknown[]).length;
};

beforeAll(async () => {
  ({ a, browser, stop } = await partnersWithBrowser());
  officerToken = await a.token('officer', 'amira');
});

afterAll(async () => {
  await stop?.();
});

describe('officers creating requests in the browser', () => {
  it('draws an area on the map with the mouse and sends a mine-map request with it', async () => {
    const tab = await officerTab(browser, a);
    const { page } = tab;
    await openCreate(page);
    await page.getByLabel('Partner (required)').fill('party-b');
    expect(await page.getByLabel('Kind of request').inputValue()).toBe('mine_map');
    await page.getByLabel('Title (required)').fill('Minefields along the Valea Rece road');

    // The map: offline (no tiles), a graticule, and Geoman's drawing tools.
    const map = page.locator('#mine-area-map');
    const draw = map.getByRole('button', { name: 'Draw Polygons', exact: true });
    await draw.waitFor();
    expect(await map.locator('img.leaflet-tile').count()).toBe(0);
    expect(await map.locator('path.map-graticule').count()).toBeGreaterThan(2);
    // Centred on the road first (Enter in the field goes there, it does not send the form).
    await page
      .locator('section[data-type="mine_map"]')
      .getByLabel('Centre the map on (latitude, longitude)')
      .fill('46.585, 24.73');
    await page.keyboard.press('Enter');
    await map
      .locator('.leaflet-control-scale-line')
      .getByText(/^\d+ m$/)
      .waitFor();
    await draw.click();
    const box = (await map.boundingBox())!;
    const corners = [
      [box.x + box.width * 0.4, box.y + box.height * 0.35],
      [box.x + box.width * 0.6, box.y + box.height * 0.35],
      [box.x + box.width * 0.6, box.y + box.height * 0.6],
      [box.x + box.width * 0.4, box.y + box.height * 0.6],
    ] as const;
    for (const [x, y] of corners) await page.mouse.click(x, y);
    // Clicking the first corner again closes the polygon.
    await page.mouse.click(corners[0][0], corners[0][1]);
    const area = page.locator('#mine-area-list li.area');
    await area.waitFor();
    expect(await area.count()).toBe(1);
    expect(await area.locator('.area-summary').textContent()).toMatch(
      /^a polygon, 5 vertices from/,
    );
    await page.getByLabel('Name of area 1 (optional)').fill('Road corridor, km 2 to 9');
    // The drawn shape is on the map as a layer.
    expect(await map.locator('path.leaflet-interactive').count()).toBeGreaterThan(0);

    await page.getByLabel('Laid from').fill('1993');
    await page.getByLabel('Laid until').fill('1994-05');
    await page.getByRole('checkbox', { name: 'Minefield' }).check();
    await page.getByRole('checkbox', { name: 'Mined area' }).check();
    await page.getByLabel('Purpose (required)').selectOption('return_of_civilians');
    await page.getByLabel('Precision asked for, in metres (optional)').fill('10');
    await page.screenshot({
      path: path.join(ARTIFACTS, 'create-form-drawn-area.png'),
      fullPage: true,
    });

    const id = await submitAndLand(page);
    const created = await onA(id);
    expect(created).toMatchObject({
      type: 'mine_map',
      counterparty: 'party-b',
      priority: 'routine',
    });
    expect(created.subject).toMatchObject({
      title: 'Minefields along the Valea Rece road',
      laying_period: { from: '1993', to: '1994-05' },
      hazard_types: ['minefield', 'mined_area'],
      purpose: 'return_of_civilians',
      requested_precision_m: '10',
    });
    const [item] = created.subject.items;
    expect(item).toMatchObject({
      item_id: 'area-1',
      kind: 'area',
      label: 'Road corridor, km 2 to 9',
      geometry: { type: 'Polygon' },
    });
    // The ring as drawn: four corners, closed, west to east then north to south.
    const ring = (item.geometry.coordinates[0] as string[][]).map((p) => p.map(Number));
    expect(ring).toHaveLength(5);
    expect(ring[4]).toEqual(ring[0]);
    expect(ring[1]![0]).toBeGreaterThan(ring[0]![0]!);
    expect(ring[2]![1]).toBeLessThan(ring[1]![1]!);
    // Where the map was centred: around 46.585 N, 24.73 E.
    for (const [lon, lat] of ring) {
      expect(Math.abs(lon! - 24.73)).toBeLessThan(0.05);
      expect(Math.abs(lat! - 46.585)).toBeLessThan(0.05);
    }
    // The request's page shows the area on its map.
    await page
      .locator('#request-map path.map-requested-area')
      .first()
      .waitFor({ timeout: WAIT_MS });
    expect(tab.errors).toEqual([]);
    await tab.close();
  });

  it('imports areas from KML and GeoJSON, draws a multipolygon, and names an administrative area', async () => {
    const tab = await officerTab(browser, a);
    const { page } = tab;
    await openCreate(page);
    await page.getByLabel('Partner (required)').fill('party-b');
    await page.getByLabel('Title (required)').fill('Hazards around the Dealu Mare quarry');
    const mine = page.locator('section[data-type="mine_map"]');
    const file = mine.getByLabel('Import areas from a GeoJSON or KML file');
    const status = mine.locator('p.help[role="status"]');
    // KML: a polygon placemark (an area, named from it) and a point (left out).
    await file.setInputFiles({
      name: 'quarry.kml',
      mimeType: 'application/vnd.google-earth.kml+xml',
      buffer: Buffer.from(KML),
    });
    await status
      .getByText('1 area imported from quarry.kml; 1 feature that is not an area')
      .waitFor();
    // GeoJSON: a multipolygon feature, one area of two polygons.
    await file.setInputFiles({
      name: 'fields.geojson',
      mimeType: 'application/geo+json',
      buffer: Buffer.from(JSON.stringify(GEOJSON)),
    });
    await status.getByText('1 area imported from fields.geojson.').waitFor();
    const areas = mine.locator('#mine-area-list li.area');
    expect(await areas.count()).toBe(2);
    expect(await mine.getByLabel('Name of area 1 (optional)').inputValue()).toBe('Quarry slope');
    expect(await areas.nth(1).locator('.area-summary').textContent()).toMatch(
      /^a multipolygon of 2 polygons/,
    );

    // Two triangles drawn with the mouse into one new area: a multipolygon.
    const map = mine.locator('#mine-area-map');
    const draw = map.getByRole('button', { name: 'Draw Polygons', exact: true });
    const triangle = async (dx: number) => {
      await draw.click();
      // Measured after the click, which scrolls the map into view.
      const box = (await map.boundingBox())!;
      const points = [
        [box.x + box.width * (0.45 + dx), box.y + box.height * 0.6],
        [box.x + box.width * (0.65 + dx), box.y + box.height * 0.6],
        [box.x + box.width * (0.55 + dx), box.y + box.height * 0.85],
      ] as const;
      for (const [x, y] of points) await page.mouse.click(x, y);
      await page.mouse.click(points[0][0], points[0][1]);
    };
    await triangle(0);
    await areas.nth(2).waitFor();
    await mine.getByLabel('Drawn or typed shapes go to').selectOption({ label: 'Area 3' });
    await triangle(0.3);
    await areas
      .nth(2)
      .locator('.area-summary')
      .getByText(/^a multipolygon of 2 polygons/)
      .waitFor();
    expect(await areas.count()).toBe(3);

    await mine.getByRole('button', { name: 'Add a named administrative area' }).click();
    // The new item's first field has the focus.
    expect(await inPage<string>(page, 'document.activeElement.id')).toBe(
      'mine-named-1-admin_area-name',
    );
    await page.keyboard.type('Dealu Mare commune');
    await mine.getByLabel('Country (ISO 3166-1 code)').fill('ro');
    await mine.getByLabel('Administrative code').fill('DM-04');
    await page.getByLabel('Purpose (required)').selectOption('other');
    await page
      .getByLabel('About the purpose (optional)')
      .fill('Survey before a water main is laid.');
    await page.screenshot({
      path: path.join(ARTIFACTS, 'create-form-imported-areas.png'),
      fullPage: true,
    });
    const id = await submitAndLand(page);
    const { items } = (await onA(id)).subject;
    expect(items.map((i: { item_id: string }) => i.item_id)).toEqual([
      'area-1',
      'area-2',
      'area-3',
      'admin-area-1',
    ]);
    expect(items[0]).toMatchObject({ label: 'Quarry slope', geometry: { type: 'Polygon' } });
    expect(items[0].geometry.coordinates[0][0]).toEqual(['24.71', '46.57']);
    expect(items[1]).toMatchObject({ label: 'Two fields', geometry: { type: 'MultiPolygon' } });
    expect(items[1].geometry.coordinates).toHaveLength(2);
    expect(items[2].geometry.type).toBe('MultiPolygon');
    expect(items[2].geometry.coordinates).toHaveLength(2);
    expect(items[3]).toEqual({
      item_id: 'admin-area-1',
      kind: 'admin_area',
      admin_area: { name: 'Dealu Mare commune', country: 'RO', code: 'DM-04' },
    });
    expect(tab.errors).toEqual([]);
    await tab.close();
  });

  it('creates a grave information request and an identification request', async () => {
    const tab = await officerTab(browser, a);
    const { page } = tab;
    await openCreate(page);
    await page.getByLabel('Partner (required)').fill('party-b');
    await page.getByLabel('Kind of request').selectOption('grave_information');
    await page.getByLabel('Priority').selectOption('urgent');
    await page.getByLabel('Title (required)').fill('Burial sites near the Dealu Mare quarry');
    const graves = page.locator('section[data-type="grave_information"]');
    await graves.getByRole('button', { name: 'Add a case' }).click();
    await graves.getByLabel('Missing-person case id (required)').fill('MP-2024-00123');
    await graves.getByRole('button', { name: 'Add an incident' }).click();
    await graves
      .getByLabel('The incident or event (required)')
      .fill('Shelling of the quarry road convoy');
    await graves.getByLabel('When: from').fill('1995-07');
    await graves.getByLabel('When: to').fill('1995-07');
    await graves.getByRole('button', { name: 'Add a period' }).click();
    await graves.getByLabel('From', { exact: true }).fill('1995');
    await graves.getByLabel('To', { exact: true }).fill('1996');
    await graves.getByLabel('In the administrative area (optional)').fill('Dealu Mare commune');
    // An area without the map: typed corners.
    await graves
      .getByLabel('Or type the corners of a polygon')
      .fill('46.575, 24.715\n46.575, 24.745\n46.595, 24.745\n46.595, 24.715');
    await graves.getByRole('button', { name: 'Add these coordinates' }).click();
    await graves.locator('#grave-area-list li.area').waitFor();
    const graveId = await submitAndLand(page);
    const grave = await onA(graveId);
    expect(grave).toMatchObject({ type: 'grave_information', priority: 'urgent' });
    expect(grave.subject.items).toEqual([
      { item_id: 'case-1', kind: 'case', case_id: 'MP-2024-00123' },
      {
        item_id: 'incident-2',
        kind: 'incident',
        description: 'Shelling of the quarry road convoy',
        when: { date: '1995-07' },
      },
      {
        item_id: 'period-3',
        kind: 'period',
        period: { from: '1995', to: '1996' },
        admin_area: { name: 'Dealu Mare commune' },
      },
      {
        item_id: 'area-1',
        kind: 'area',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              ['24.715', '46.575'],
              ['24.745', '46.575'],
              ['24.745', '46.595'],
              ['24.715', '46.595'],
              ['24.715', '46.575'],
            ],
          ],
        },
      },
    ]);

    // Identification: a case and remains, with what is asked.
    await page.goto(`${a.url}/dashboard/requests/new?type=identification_result`);
    await page.getByRole('heading', { name: 'New request', level: 1 }).waitFor();
    await page.getByLabel('Partner (required)').fill('party-b');
    await page.getByLabel('Title (required)').fill('Identification of remains from site DM-7');
    const ident = page.locator('section[data-type="identification_result"]');
    await ident.getByRole('button', { name: 'Add a case' }).click();
    await ident.getByLabel('Missing-person case id (required)').fill('MP-2024-00456');
    await ident.getByRole('button', { name: 'Add remains' }).click();
    await ident.getByLabel('Remains id (required)').fill('R-0457');
    await ident.getByRole('checkbox', { name: 'Identification results' }).check();
    await ident.getByRole('checkbox', { name: 'DNA profiles' }).check();
    const identId = await submitAndLand(page);
    const identification = await onA(identId);
    expect(identification.type).toBe('identification_result');
    expect(identification.subject).toMatchObject({
      title: 'Identification of remains from site DM-7',
      items: [
        { item_id: 'case-1', kind: 'case', case_id: 'MP-2024-00456' },
        { item_id: 'remains-2', kind: 'remains', remains_id: 'R-0457' },
      ],
      asked: ['identification_results', 'dna_profiles'],
    });
    expect(tab.errors).toEqual([]);
    await tab.close();
  });

  it('shows the node’s refusals at their fields, and a double click creates one request', async () => {
    const tab = await officerTab(browser, a);
    const { page } = tab;
    await openCreate(page);
    await page.getByLabel('Partner (required)').fill('party-b');
    await page.getByLabel('Title (required)').fill('Records of the hill 431 command post');
    const mine = page.locator('section[data-type="mine_map"]');
    await mine
      .getByLabel('Or type the corners of a polygon')
      .fill('46.569, 24.699\n46.569, 24.703\n46.572, 24.703');
    await mine.getByRole('button', { name: 'Add these coordinates' }).click();
    await page.locator('#mine-area-list li.area').waitFor();
    // A second area whose ring crosses itself (a bow tie): typed, so only the node checks it.
    await mine
      .getByLabel('Or type the corners of a polygon')
      .fill('46.000, 24.000\n46.010, 24.010\n46.000, 24.010\n46.010, 24.000');
    await mine.getByRole('button', { name: 'Add these coordinates' }).click();
    await page.locator('#mine-area-list li.area').nth(1).waitFor();
    await page.getByLabel('Purpose (required)').selectOption('clearance_planning');
    // A laying period that ends before it starts: refused by the node at "Laid until".
    await page.getByLabel('Laid from').fill('1995');
    await page.getByLabel('Laid until').fill('1993');
    const before = await countOutgoing();
    await page.getByRole('button', { name: 'Send the request' }).click();
    const until = page.locator('#create-laying-to');
    await page.locator('#create-laying-to-error span').waitFor();
    // The crossing ring is said in its area's row, which takes the focus (the first error).
    const crossing = page.locator('#mine-area-2-error');
    expect((await crossing.textContent())?.trim()).not.toBe('');
    expect(await inPage<string>(page, 'document.activeElement.id')).toBe('mine-area-2-error');
    expect(await page.locator('#mine-area-1-error').textContent()).toBe('');
    expect(await page.locator('#create-laying-to-error').textContent()).toContain(
      'an end not before the start',
    );
    expect(await until.getAttribute('aria-invalid')).toBe('true');
    expect(await until.getAttribute('aria-describedby')).toContain('create-laying-to-error');
    expect(await page.locator('.form-problem').textContent()).toContain('schema_invalid');
    expect(await page.locator('.form-problem').textContent()).toContain('2 fields say');
    await page.screenshot({
      path: path.join(ARTIFACTS, 'create-form-refused.png'),
      fullPage: true,
    });

    // Fixed (the crossing area removed); now this node's own party as the partner: refused at
    // the partner field.
    await mine.getByRole('button', { name: 'Remove area 2' }).click();
    await until.fill('1996');
    await page.getByLabel('Partner (required)').fill('party-a');
    await page.getByRole('button', { name: 'Send the request' }).click();
    await page.locator('#create-counterparty-error span').waitFor();
    expect(await page.locator('#create-counterparty-error').textContent()).toContain('must differ');
    expect(await page.locator('#create-counterparty').getAttribute('aria-invalid')).toBe('true');
    // The earlier error is gone with the field's mark.
    expect(await until.getAttribute('aria-invalid')).toBeNull();
    expect(await page.locator('#create-laying-to-error').textContent()).toBe('');
    expect(await inPage<string>(page, 'document.activeElement.id')).toBe('create-counterparty');
    // A partner this node does not know: the node names no path, the page puts it at the partner.
    await page.getByLabel('Partner (required)').fill('party-z');
    await page.getByRole('button', { name: 'Send the request' }).click();
    await page
      .locator('#create-counterparty-error')
      .getByText('party-z is not a registered partner of this node')
      .waitFor();
    expect(await page.locator('.form-problem').textContent()).toContain('unknown_party');
    expect(await countOutgoing()).toBe(before);
    // A mediator the registry does not agree for the partner: refused at the mediator field.
    await page.getByLabel('Partner (required)').fill('party-b');
    await page.locator('#create-mediator').fill('party-m');
    await page.getByRole('button', { name: 'Send the request' }).click();
    await page.locator('#create-mediator-error span').waitFor();
    expect(await page.locator('#create-mediator-error').textContent()).toContain(
      'must be one of the counterparty’s mediators',
    );
    expect(await page.locator('#create-mediator').getAttribute('aria-invalid')).toBe('true');
    expect(await inPage<string>(page, 'document.activeElement.id')).toBe('create-mediator');
    expect(await page.locator('.form-problem').textContent()).toContain('mediator_not_agreed');
    expect(await countOutgoing()).toBe(before);

    // Fixed again (no mediator: the registry's route), sent with a double click: one request.
    await page.locator('#create-mediator').fill('');
    await page.getByLabel('Partner (required)').fill('party-b');
    await page.getByRole('button', { name: 'Send the request' }).dblclick();
    const id = await landed(page);
    expect((await onA(id)).subject.laying_period).toEqual({ from: '1995', to: '1996' });
    await eventually(
      async () => ((await countOutgoing()) === before + 1 ? true : undefined),
      WAIT_MS,
      'one request more',
    );
    expect(await countOutgoing()).toBe(before + 1);
    expect(tab.errors).toEqual([]);
    await tab.close();
  });

  it('creates a request with the keyboard alone', async () => {
    const tab = await officerTab(browser, a);
    const { page } = tab;
    // From the list's heading: Tab to "New request", Enter.
    await page.getByRole('heading', { name: 'Requests', level: 1 }).focus();
    await tabTo(page, `el.textContent === 'New request'`, 'the New request link');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'New request', level: 1 }).waitFor();
    expect(await inPage<string>(page, 'document.activeElement.textContent')).toBe('New request');
    await tabTo(page, `el.id === 'create-counterparty'`, 'the partner field');
    await page.keyboard.type('party-b');
    await tabTo(page, `el.id === 'create-title'`, 'the title');
    await page.keyboard.type('Mined areas around the Dealu Mare pumping station');
    // The area, without the map: typed corners, then the button by Tab and Enter.
    await tabTo(page, `el.id === 'mine-area-coords'`, 'the coordinates box');
    await page.keyboard.type('46.60, 24.80\n46.60, 24.82\n46.61, 24.82\n46.61, 24.80');
    await tabTo(page, `el.textContent === 'Add these coordinates'`, 'Add these coordinates');
    await page.keyboard.press('Enter');
    await page.locator('#mine-area-list li.area').waitFor();
    // The purpose: a select, chosen by typing its first letters.
    await tabTo(page, `el.id === 'create-purpose'`, 'the purpose');
    await page.keyboard.type('Infra');
    expect(await page.locator('#create-purpose').inputValue()).toBe('infrastructure');
    await tabTo(page, `el.textContent === 'Send the request'`, 'the submit button');
    await page.screenshot({
      path: path.join(ARTIFACTS, 'create-form-keyboard.png'),
      fullPage: true,
    });
    await page.keyboard.press('Enter');
    const id = await landed(page);
    const created = await onA(id);
    expect(created.subject).toMatchObject({
      title: 'Mined areas around the Dealu Mare pumping station',
      purpose: 'infrastructure',
      items: [
        {
          kind: 'area',
          geometry: {
            type: 'Polygon',
            coordinates: [
              [
                ['24.8', '46.6'],
                ['24.82', '46.6'],
                ['24.82', '46.61'],
                ['24.8', '46.61'],
                ['24.8', '46.6'],
              ],
            ],
          },
        },
      ],
    });
    expect(tab.errors).toEqual([]);
    await tab.close();
  });
});
