// A mine-map request on the map (Debian's Chromium, driven by playwright-core), offline: A's
// officer asks party-b for the Valea Rece road records (two drawn areas and a named one), B
// answers with record MF-0142 (perimeter, mine rows, devices, reference and turning points, an
// accident); A's officer, signed in through the development OpenID provider, sees the requested
// areas and every feature of the record as Leaflet layers, on a plain background with a graticule
// and a scale (no MAP_TILE_URL: no tiles), and the same features as rows of the table beside the
// map. The KML, Shapefile and GeoPackage downloads of the page are read back with GDAL's ogrinfo:
// layers, feature counts, WGS 84; each download is in the access log. Screenshot:
// test-artifacts/map-request.png. Then a grave-information request (two cases, an incident and a
// drawn area), answered with three burial sites: one an area, two points with an uncertainty of
// 25 and 250 m; the officer sees the requested area, the sites and a circle of each point's
// radius (sized by the map's own scale), the same as table rows, and a GeoPackage GDAL reads.
// Screenshot: test-artifacts/map-graves.png. Supervisors get none of the exports (403).
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mineMapFeatureCollection } from '../../domain/geojson-export.js';
import { graveFeatureCollection } from '../../domain/grave-export.js';
import type { RequestType } from '../../schemas/common.js';
import { GraveRecord } from '../../schemas/domain/grave.js';
import { MineMapRecord } from '../../schemas/domain/mine-map.js';
import { areaSubject, casesSubject, gs031, gs044, gs052 } from '../fixtures/domain/graves.js';
import { roadsidePartial, roadsideSubject } from '../fixtures/domain/mine-maps.js';
import { withoutAttachments } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { launchChromium, officerTab } from '../helpers/browser.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';

const ARTIFACTS = path.resolve('test-artifacts');
const WAIT_MS = 30_000;
const run = promisify(execFile);

let a: TestNode;
let b: TestNode;
let browser: Browser;
let reqId: string;
let graveId: string;
let tmp: string;

const response = withoutAttachments(roadsidePartial);
/** What the export holds for the record sent: the counts the map, table and files must show. */
const expected = mineMapFeatureCollection(response.records.map((r) => MineMapRecord.parse(r)));
const count = (pred: (t: string, g: string) => boolean) =>
  expected.features.filter((f) => pred(f.properties.feature_type, f.geometry.type)).length;
const drawnAreas = roadsideSubject.items.filter((i) => i.kind === 'area').length;

/** Two missing persons' cases, an incident and the plateau: what the three sites cover. */
const graveSubject = {
  title: 'Burial places of the Valea Rece detainees and graves on the plateau',
  items: [...casesSubject.items, ...areaSubject.items.filter((i) => i.kind === 'area')],
};
const graveResponse = withoutAttachments({ final: false, records: [gs031, gs044, gs052] });
const graveExpected = graveFeatureCollection(
  graveResponse.records.map((r) => GraveRecord.parse(r)),
);
/** The point sites and their radii in metres, smallest first. */
const pointSites = graveExpected.features
  .filter((f) => f.properties.feature_type === 'burial_site' && f.geometry.type === 'Point')
  .map((f) => ({ site: f.properties.record_id, radius: Number(f.properties.uncertainty_m) }))
  .sort((x, y) => x.radius - y.radius);

/** Clicks a download button of the map panel and saves what the browser got. */
async function downloadFrom(page: Page, button: string): Promise<string> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.locator('#map').getByRole('button', { name: button }).click(),
  ]);
  const file = path.join(tmp, download.suggestedFilename());
  await download.saveAs(file);
  return file;
}

/** Each layer of a file as ogrinfo reads it: name, geometry, feature count, whether WGS 84. */
async function ogrLayers(file: string) {
  const { stdout } = await run('ogrinfo', ['-ro', '-so', '-al', file]);
  return stdout
    .split(/^Layer name: /m)
    .slice(1)
    .map((block) => ({
      name: block.split('\n')[0]!.trim(),
      geometry: /^Geometry: (.+)$/m.exec(block)?.[1],
      features: Number(/^Feature Count: (\d+)$/m.exec(block)?.[1]),
      wgs84: /GEOGCRS\["WGS 84"/.test(block) && /ID\["EPSG",4326\]/.test(block),
    }));
}

beforeAll(async () => {
  [a, b, browser, tmp] = await Promise.all([
    startTestNode({ partyId: 'party-a' }),
    startTestNode({ partyId: 'party-b' }),
    launchChromium(),
    fs.mkdtemp(path.join(os.tmpdir(), 'parley-map-')),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  await fs.mkdir(ARTIFACTS, { recursive: true });
  [reqId, graveId] = await Promise.all([
    answeredRequest('mine_map', roadsideSubject, response),
    answeredRequest('grave_information', graveSubject, graveResponse),
  ]);
});

/** A request from A to party-b, acknowledged and answered by B's officer with `body`. */
async function answeredRequest(type: RequestType, subject: unknown, body: unknown) {
  const created = await call(a.url, 'POST', '/v1/requests', {
    token: await a.token('officer', 'amira'),
    json: { type, counterparty: 'party-b', priority: 'routine', subject },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id as string;
  const officerB = await b.token('officer', 'bogdan');
  await eventually(
    async () => {
      const r = await call(b.url, 'GET', `/v1/requests/${id}`, { token: officerB });
      return r.status === 200 && r.body.status === 'delivered' ? true : undefined;
    },
    WAIT_MS,
    `the ${type} request to arrive at B`,
  );
  const ack = await call(b.url, 'POST', `/v1/requests/${id}/acknowledge`, {
    token: officerB,
    json: {},
  });
  expect(ack.status, JSON.stringify(ack.body)).toBe(200);
  const sent = await call(b.url, 'POST', `/v1/requests/${id}/responses`, {
    token: officerB,
    json: body,
  });
  expect(sent.status, JSON.stringify(sent.body)).toBe(200);
  return id;
}

afterAll(async () => {
  await browser?.close();
  await Promise.all([a?.destroy(), b?.destroy()]);
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

describe('a mine-map request on the map', () => {
  it('shows the requested areas and the record’s features offline, as layers and as table rows, and downloads KML, Shapefiles and a GeoPackage that GDAL reads', async () => {
    const onA = await officerTab(browser, a);
    const { page } = onA;
    await page.goto(`${a.url}/dashboard/requests/${reqId}`);
    const map = page.locator('#map');
    const mapView = map.locator('#request-map');
    const rows = map.locator('tbody tr');
    // The response arrives at A while the page is open, or before: the map follows.
    await eventually(
      async () =>
        (await rows.count()) === drawnAreas + expected.features.length ? true : undefined,
      WAIT_MS,
      'the table to list the requested areas and every feature of the record',
    );

    // Leaflet's layers in the map's SVG, one path per area, row and point.
    const layers = async (cls: string) => mapView.locator(`path.${cls}`).count();
    expect(await layers('map-requested-area')).toBe(drawnAreas);
    expect(await layers('map-perimeter')).toBe(count((t) => t === 'perimeter'));
    expect(await layers('map-mine-row')).toBe(count((t) => t === 'mine_row'));
    expect(await layers('map-device')).toBe(count((t) => t === 'device'));
    expect(await layers('map-reference-point')).toBe(count((t) => t === 'reference_point'));
    expect(await layers('map-turning-point')).toBe(count((t) => t === 'turning_point'));
    expect(count((t) => t === 'perimeter')).toBeGreaterThan(0);
    expect(count((t) => t === 'turning_point')).toBeGreaterThan(0);
    // Offline: no tiles, a graticule and a metric scale instead.
    expect(await mapView.locator('img.leaflet-tile').count()).toBe(0);
    expect(await layers('map-graticule')).toBeGreaterThan(2);
    await expect
      .poll(() => mapView.locator('.leaflet-control-scale-line').textContent())
      .toMatch(/\d+ k?m/);
    // The table says the same in words: kinds and where.
    expect(
      await map.locator('tbody tr[data-feature-type="perimeter"]').first().textContent(),
    ).toContain('Minefield perimeter');
    expect(await map.locator('tbody tr[data-feature-type="reference_point"]').count()).toBe(
      count((t) => t === 'reference_point'),
    );
    await page.screenshot({ path: path.join(ARTIFACTS, 'map-request.png'), fullPage: true });

    // KML: one layer with every feature, WGS 84.
    const kml = await downloadFrom(page, 'KML');
    expect(path.basename(kml)).toBe(`mine-map-${reqId}.kml`);
    const kmlLayers = await ogrLayers(kml);
    expect(kmlLayers.reduce((n, l) => n + l.features, 0)).toBe(expected.features.length);
    expect(kmlLayers.every((l) => l.wgs84)).toBe(true);

    // Shapefiles: one per geometry type, each with its features, each WGS 84.
    const zip = await downloadFrom(page, 'Shapefiles (zip)');
    const shp = await ogrLayers(`/vsizip/${zip}`);
    const byName = Object.fromEntries(shp.map((l) => [l.name, l]));
    expect(Object.keys(byName).sort()).toEqual(['areas', 'lines', 'points']);
    expect(byName.points).toMatchObject({
      geometry: 'Point',
      features: count((_, g) => g === 'Point'),
      wgs84: true,
    });
    expect(byName.lines).toMatchObject({
      geometry: 'Line String',
      features: count((_, g) => g === 'LineString'),
      wgs84: true,
    });
    expect(byName.areas).toMatchObject({
      geometry: 'Polygon',
      features: count((_, g) => g === 'Polygon' || g === 'MultiPolygon'),
      wgs84: true,
    });

    // The GeoJSON download is the export as before.
    // GeoPackage: one feature table per geometry type (areas as multipolygons), each WGS 84.
    const gpkg = await downloadFrom(page, 'GeoPackage');
    expect(path.basename(gpkg)).toBe(`mine-map-${reqId}.gpkg`);
    const tables = Object.fromEntries((await ogrLayers(gpkg)).map((l) => [l.name, l]));
    expect(Object.keys(tables).sort()).toEqual(['areas', 'lines', 'points']);
    expect(tables.points).toMatchObject({ geometry: 'Point', features: byName.points!.features });
    expect(tables.lines).toMatchObject({
      geometry: 'Line String',
      features: byName.lines!.features,
    });
    expect(tables.areas).toMatchObject({
      geometry: 'Multi Polygon',
      features: byName.areas!.features,
    });
    expect(Object.values(tables).every((l) => l.wgs84)).toBe(true);

    const geojson = JSON.parse(await fs.readFile(await downloadFrom(page, 'GeoJSON'), 'utf8')) as {
      features: unknown[];
    };
    expect(geojson.features).toHaveLength(expected.features.length);

    // Each download is in the access log, as the GeoJSON export is: what was read, by whom.
    const admin = await a.token('admin', 'auditing-admin');
    const log = await eventually(
      async () => {
        const res = await call(a.url, 'GET', `/v1/admin/access-log?request=${reqId}&limit=500`, {
          token: admin,
        });
        const items = res.body.items as { route: string; parts: string[]; roles: string[] }[];
        return items.some((r) => r.route.endsWith('export.zip')) ? items : undefined;
      },
      WAIT_MS,
      'the downloads in the access log',
    );
    for (const route of ['export.kml', 'export.zip', 'export.gpkg', 'geojson']) {
      const read = log.find((r) => r.route === `GET /v1/requests/:id/${route}`);
      expect(read, route).toMatchObject({ parts: ['records'], roles: ['officer'] });
    }

    expect(onA.errors).toEqual([]);
    await onA.close();
  });

  it('keeps the exports to officers, as the GeoJSON one, for mine maps and burial sites', async () => {
    const supervisor = await a.token('supervisor', 'sam');
    for (const id of [reqId, graveId])
      for (const ext of ['geojson', 'export.kml', 'export.zip', 'export.gpkg']) {
        const res = await call(a.url, 'GET', `/v1/requests/${id}/${ext}`, { token: supervisor });
        expect(res.status, ext).toBe(403);
      }
  });
});

describe('a grave-information request on the map', () => {
  it('shows the burial sites with circles of their stated uncertainty, as layers and table rows, and a GeoPackage GDAL reads', async () => {
    const onA = await officerTab(browser, a);
    const { page } = onA;
    await page.goto(`${a.url}/dashboard/requests/${graveId}`);
    const map = page.locator('#map');
    const mapView = map.locator('#request-map');
    const rows = map.locator('tbody tr');
    const sites = graveExpected.features.filter((f) => f.properties.feature_type === 'burial_site');
    const areas = graveSubject.items.filter((i) => i.kind === 'area').length;
    await eventually(
      async () => ((await rows.count()) === areas + sites.length ? true : undefined),
      WAIT_MS,
      'the table to list the requested area and every burial site',
    );

    // The layers: the requested area, every site (an area or a point), a circle per point site.
    const layers = async (cls: string) => mapView.locator(`path.${cls}`).count();
    expect(await layers('map-requested-area')).toBe(areas);
    expect(await layers('map-burial-site')).toBe(sites.length);
    expect(await layers('map-uncertainty-circle')).toBe(pointSites.length);
    expect(pointSites.map((p) => p.radius)).toEqual([25, 250]);
    await expect
      .poll(() => mapView.locator('.leaflet-control-layers-overlays').textContent())
      .toContain(`Uncertainty (${pointSites.length})`);
    expect(await mapView.locator('.leaflet-control-layers-overlays').textContent()).toContain(
      `Burial site (${sites.length})`,
    );

    // Each circle is its radius on the ground: measured against the map's own metric scale.
    const scale = mapView.locator('.leaflet-control-scale-line');
    const [label, width] = await Promise.all([
      scale.textContent(),
      scale.evaluate((e) => e.getBoundingClientRect().width),
    ]);
    const [, amount, unit] = /^(\d+) (k?m)$/.exec(label ?? '') ?? [];
    const metresPerPixel = (Number(amount) * (unit === 'km' ? 1000 : 1)) / width;
    const diameters = (
      await mapView
        .locator('path.map-uncertainty-circle')
        .evaluateAll((els) => els.map((e) => e.getBoundingClientRect().width))
    ).sort((x, y) => x - y);
    pointSites.forEach(({ radius }, i) => {
      // Leaflet rounds a circle's radius to whole pixels: allow two pixels either way.
      expect(Math.abs(diameters[i]! - (2 * radius) / metresPerPixel), `${radius} m`).toBeLessThan(
        4.5,
      );
    });

    // The table says the same in words, with each point's uncertainty.
    for (const { site, radius } of pointSites) {
      const row = map.locator('tbody tr[data-feature-type="burial_site"]', { hasText: site });
      expect(await row.textContent()).toMatch(new RegExp(`Burial site.*± ${radius} m`));
    }
    expect(await map.locator('tbody tr[data-feature-type="requested_area"]').count()).toBe(areas);
    // The map panel alone: on the full page the map is a small part below the records.
    await map.scrollIntoViewIfNeeded();
    await map.screenshot({ path: path.join(ARTIFACTS, 'map-graves.png') });

    // GeoPackage: the point sites, and the area site with the two circles, WGS 84.
    const gpkg = await downloadFrom(page, 'GeoPackage');
    expect(path.basename(gpkg)).toBe(`graves-${graveId}.gpkg`);
    const tables = Object.fromEntries((await ogrLayers(gpkg)).map((l) => [l.name, l]));
    expect(Object.keys(tables).sort()).toEqual(['areas', 'points']);
    expect(tables.points).toMatchObject({
      geometry: 'Point',
      features: pointSites.length,
      wgs84: true,
    });
    expect(tables.areas).toMatchObject({
      geometry: 'Multi Polygon',
      features: graveExpected.features.filter((f) => f.geometry.type !== 'Point').length,
      wgs84: true,
    });
    const { stdout } = await run('ogrinfo', ['-ro', '-al', '-q', gpkg, 'points']);
    for (const { site, radius } of pointSites) {
      expect(stdout).toContain(`record_id (String) = ${site}`);
      expect(stdout).toContain(`uncertainty_m (Real) = ${radius}`);
    }

    expect(onA.errors).toEqual([]);
    await onA.close();
  });
});
