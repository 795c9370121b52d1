// The GeoPackage export read back by GDAL (ogrinfo, Debian's gdal-bin): one feature table per
// geometry type, counts, EPSG:4326, typed columns (measures real, counts integer), the feature ids;
// built with the library's WebAssembly SQLite, without a word on the console about the native
// adapter it falls back from.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { mineMapFeatureCollection } from '../../domain/geojson-export.js';
import { geoPackage } from '../../domain/geopackage-export.js';
import { graveFeatureCollection } from '../../domain/grave-export.js';
import { graveSchemas } from '../../schemas/domain/grave.js';
import { mineMapSchemas } from '../../schemas/domain/mine-map.js';
import { graveRecords } from '../fixtures/domain/graves.js';
import { mineMapRecords } from '../fixtures/domain/mine-maps.js';
import { withoutAttachments } from '../helpers/domain.js';

const run = promisify(execFile);
const clock = () => Date.UTC(2026, 10, 28, 12);
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-gpkg-'));
afterAll(() => fs.rm(dir, { recursive: true, force: true }));

/** ogrinfo's summary of one table: geometry, count, WGS 84, and its columns' types. */
async function table(file: string, name: string) {
  const { stdout } = await run('ogrinfo', ['-ro', '-so', file, name]);
  return {
    geometry: /^Geometry: (.+)$/m.exec(stdout)?.[1],
    features: Number(/^Feature Count: (\d+)$/m.exec(stdout)?.[1]),
    wgs84: /ID\["EPSG",4326\]/.test(stdout),
    columns: Object.fromEntries(
      [...stdout.matchAll(/^(\w+): (\w+)/gm)]
        .filter(([, k]) => !['Geometry', 'Extent', 'INFO'].includes(k!))
        .map(([, k, t]) => [k, t]),
    ),
  };
}

describe('the GeoPackage export', () => {
  it('holds the burial sites in points and areas tables GDAL reads, in WGS 84', async () => {
    const errors = vi.spyOn(console, 'error');
    const records = graveRecords.map((r) => graveSchemas(clock).record.parse(r));
    const fc = graveFeatureCollection(records);
    const file = path.join(dir, 'graves.gpkg');
    await fs.writeFile(file, await geoPackage(fc));
    expect(errors).not.toHaveBeenCalled();
    const { stdout } = await run('ogrinfo', ['-ro', '-q', file]);
    expect(stdout).toMatch(/points \(Point\)/);
    expect(stdout).toMatch(/areas \(Multi Polygon\)/);
    const points = await table(file, 'points');
    expect(points).toMatchObject({ geometry: 'Point', features: 2, wgs84: true });
    expect(points.columns).toMatchObject({
      feature_id: 'String',
      record_id: 'String',
      uncertainty_m: 'Real',
      min_indiv: 'Integer64',
    });
    expect(await table(file, 'areas')).toMatchObject({
      geometry: 'Multi Polygon',
      features: fc.features.filter((f) => f.geometry.type !== 'Point').length,
      wgs84: true,
    });
    const ids = await run('ogrinfo', ['-ro', '-q', '-sql', 'SELECT feature_id FROM areas', file]);
    for (const f of fc.features.filter((x) => x.geometry.type !== 'Point'))
      expect(ids.stdout).toContain(`feature_id (String) = ${f.id}`);
  });

  it('holds a mine map in points, lines and areas tables, one feature per row of the GeoJSON', async () => {
    const records = withoutAttachments(mineMapRecords).map((r) =>
      mineMapSchemas(clock).record.parse(r),
    );
    const fc = mineMapFeatureCollection(records);
    const file = path.join(dir, 'mine-maps.gpkg');
    await fs.writeFile(file, await geoPackage(fc));
    const count = (...types: string[]) =>
      fc.features.filter((f) => types.includes(f.geometry.type)).length;
    expect(await table(file, 'points')).toMatchObject({ features: count('Point'), wgs84: true });
    expect(await table(file, 'lines')).toMatchObject({
      geometry: 'Line String',
      features: count('LineString'),
      wgs84: true,
    });
    expect(await table(file, 'areas')).toMatchObject({
      features: count('Polygon', 'MultiPolygon'),
      wgs84: true,
    });
  });
});
