// The mine-map export: a FeatureCollection that a strict RFC 7946 checker accepts, wound by the
// right-hand rule, with flat attributes a GIS shows as columns and the records' decimal strings
// turned into JSON numbers, for the fixtures and for generated records.
import { check, getIssues } from '@placemarkio/check-geojson';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  GEOJSON_MEDIA_TYPE,
  mineMapFeatureCollection,
  rewindArea,
  type Feature,
  type FeatureCollection,
} from '../../domain/geojson-export.js';
import { canonicalBytes, parseCanonical } from '../../protocol/canonical-json.js';
import {
  areaValue,
  distanceMetres,
  isCounterClockwise,
  type NumericPosition as Position,
} from '../../schemas/domain/geo.js';
import { mineMapSchemas, type MineMapRecord } from '../../schemas/domain/mine-map.js';
import { mineMaps } from '../fixtures/domain/index.js';

const schemas = mineMapSchemas(() => Date.UTC(2026, 10, 28, 12));
const records = mineMaps.mineMapRecords.map((r) => schemas.record.parse(r));

/** Every ring of every area feature, with whether it is an exterior ring. */
function rings(collection: FeatureCollection): { ring: Position[]; exterior: boolean }[] {
  return collection.features.flatMap((f) => {
    const g = f.geometry;
    const polygons =
      g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
    return polygons.flatMap((p) => p.map((ring, i) => ({ ring, exterior: i === 0 })));
  });
}

const leaves = (v: unknown): unknown[] => (Array.isArray(v) ? v.flatMap(leaves) : [v]);

/** What any export must satisfy, whatever records it was made from. */
function expectValidExport(collection: FeatureCollection) {
  const text = JSON.stringify(collection);
  expect(getIssues(text)).toEqual([]);
  expect(() => check(text)).not.toThrow();
  expect(Object.keys(collection).sort()).toEqual(['features', 'type']);
  expect(text).not.toContain('"crs"');
  // GeoJSON positions are numbers (RFC 7946 section 3.1.1), never the records' decimal strings.
  for (const f of collection.features)
    expect(leaves(f.geometry.coordinates).every((n) => typeof n === 'number')).toBe(true);
  for (const { ring, exterior } of rings(collection))
    expect(isCounterClockwise(ring)).toBe(exterior);
  for (const f of collection.features)
    for (const value of Object.values(f.properties))
      expect(value === null || ['string', 'number', 'boolean'].includes(typeof value)).toBe(true);
  const ids = collection.features.map((f) => f.id);
  expect(new Set(ids).size).toBe(ids.length);
}

const byType = (features: Feature[], type: string) =>
  features.filter((f) => f.properties.feature_type === type);

describe('GeoJSON export of the fixtures', () => {
  const collection = mineMapFeatureCollection(records);

  it('is valid RFC 7946 with no crs, right-hand-rule rings and scalar attributes', () => {
    expectValidExport(collection);
    expect(GEOJSON_MEDIA_TYPE).toBe('application/geo+json');
  });

  it('has a feature for each perimeter, row, device, reference and turning point, and accident', () => {
    const mf0142 = collection.features.filter((f) => f.properties.record_id === 'MF-0142');
    const counts = Object.fromEntries(
      ['perimeter', 'mine_row', 'device', 'reference_point', 'turning_point', 'accident'].map(
        (t) => [t, byType(mf0142, t).length],
      ),
    );
    expect(counts).toEqual({
      perimeter: 1,
      mine_row: 2,
      device: 3,
      reference_point: 2,
      turning_point: 4,
      accident: 1,
    });
    expect(byType(collection.features, 'perimeter').map((f) => f.properties.record_id)).toEqual([
      'MF-0142',
      'MF-0171',
      'MF-0177',
      'CMSA-0009',
    ]);
  });

  it('carries the record in the attributes of its perimeter', () => {
    const [perimeter] = byType(collection.features, 'perimeter');
    expect(perimeter!.properties).toMatchObject({
      record_id: 'MF-0142',
      hazard_type: 'minefield',
      confidence: 'confirmed',
      original_datum: 'SK-42',
      accuracy_m: 15,
      devices: 'PMN-2 ×120 (est.) pressure; TM-62M ×36 pressure',
      devices_total: 156,
      laid_from: '1993-04',
      laid_to: '1993-06',
      laying_method: 'hand',
      marking: 'partial',
      fencing: 'none',
      accidents: 1,
    });
    expect(perimeter!.properties.attachments).toContain('MF-0142_minefield_record_sheet_1.svg');
  });

  it('writes unknown, not "no devices", for a record that lists no devices', () => {
    const { devices: _listed, ...rest } = records[0]!;
    for (const record of [rest, { ...rest, devices: [] }]) {
      const [perimeter] = byType(mineMapFeatureCollection([record]).features, 'perimeter');
      expect(perimeter!.properties).toMatchObject({
        devices: null,
        devices_total: null,
        devices_estimated: null,
        anti_handling: null,
      });
    }
    // A record that lists devices still counts them, estimated or not.
    const [listed] = byType(mineMapFeatureCollection([records[0]!]).features, 'perimeter');
    expect(listed!.properties).toMatchObject({ devices_total: 156, devices_estimated: true });
  });

  it("plots turning points from their reference point's bearing and distance", () => {
    const corners = areaValue(records[0]!.perimeter!).coordinates[0] as Position[];
    const turning = byType(
      collection.features.filter((f) => f.properties.record_id === 'MF-0142'),
      'turning_point',
    );
    turning.forEach((t, i) => {
      const at = (t.geometry as { coordinates: Position }).coordinates;
      expect(distanceMetres(at, corners[i]!)).toBeLessThan(2);
    });
    expect(turning.map((t) => [t.properties.bearing_deg, t.properties.distance_m])).toEqual([
      [54, 95],
      [78.5, 390],
      [234, 113],
      [258.7, 397],
    ]);
  });

  it('writes measures as numbers and keeps the precision the record gave', () => {
    const cmsa = collection.features.filter((f) => f.properties.record_id === 'CMSA-0009');
    expect(byType(cmsa, 'perimeter')[0]!.properties.accuracy_m).toBe(0.5);
    expect(byType(cmsa, 'reference_point')[0]!.geometry.coordinates).toEqual([
      24.758041, 46.602013, 318.4,
    ]);
    const rows = byType(collection.features, 'mine_row').map((f) => f.properties.spacing_m);
    expect(rows).toEqual([4, 5]);
  });

  it('rewinds a clockwise record without changing the record', () => {
    const mf0171 = records[1]!;
    const before = JSON.stringify(mf0171);
    const outer = (areaValue(mf0171.perimeter!) as { coordinates: Position[][][] }).coordinates;
    expect(outer.every((p) => !isCounterClockwise(p[0]!))).toBe(true);
    const rewound = rewindArea(mf0171.perimeter!) as { coordinates: Position[][][] };
    expect(rewound.coordinates.every((p) => isCounterClockwise(p[0]!))).toBe(true);
    expect(JSON.stringify(mf0171)).toBe(before);
  });

  it('keeps altitudes that are given and writes none that are not', () => {
    const devices = byType(collection.features, 'device').map(
      (f) => (f.geometry as { coordinates: Position }).coordinates,
    );
    expect(devices.map((c) => c.length)).toEqual([2, 2, 3]);
  });
});

/**
 * Doubles on a grid of 1e-9 (0.1 mm in degrees): finer than any survey, and unlike fast-check's
 * favourite 5e-324, written as a decimal of at most 64 characters (longer ones are refused).
 */
const fine = (x: number) => Math.round(x * 1e9) / 1e9 || 0;

/** A convex ring around a point, in either winding, and one half its size inside it. */
const generatedRecord = fc
  .record({
    lon: fc.double({ min: -170, max: 170, noNaN: true }).map(fine),
    lat: fc.double({ min: -70, max: 70, noNaN: true }).map(fine),
    radius: fc.double({ min: 0.001, max: 0.02, noNaN: true }),
    angles: fc.uniqueArray(fc.integer({ min: 0, max: 35 }), { minLength: 3, maxLength: 10 }),
    clockwise: fc.boolean(),
    holeClockwise: fc.option(fc.boolean()),
    quantities: fc.array(fc.nat({ max: 5_000 }), { maxLength: 3 }),
    bearing: fc.double({ min: 0, max: 359.9, noNaN: true }).map(fine),
    distance: fc.double({ min: 1, max: 500, noNaN: true }).map(fine),
  })
  .filter(({ angles }) => {
    // Corners must not all lie in one half of the circle, or the ring degenerates to a sliver.
    const sorted = [...angles].sort((a, b) => a - b);
    const gaps = sorted.map((a, i) => (sorted[(i + 1) % sorted.length]! - a + 36) % 36 || 36);
    return Math.max(...gaps) < 18;
  })
  .map((g): unknown => {
    const corners = [...g.angles]
      .sort((a, b) => a - b)
      .map((k): Position => {
        const t = (k * 10 * Math.PI) / 180;
        return [g.lon + g.radius * Math.cos(t), g.lat + g.radius * Math.sin(t)];
      });
    if (g.clockwise) corners.reverse();
    const c: Position = [
      corners.reduce((s, p) => s + p[0], 0) / corners.length,
      corners.reduce((s, p) => s + p[1], 0) / corners.length,
    ];
    const hole = corners.map((p): Position => [c[0] + (p[0] - c[0]) / 2, c[1] + (p[1] - c[1]) / 2]);
    if (g.holeClockwise !== null && g.holeClockwise === g.clockwise) hole.reverse();
    const close = (ring: Position[]) => [...ring, ring[0]!];
    return {
      record_id: 'GEN-1',
      covers: ['area-1'],
      source_document: { reference: 'generated' },
      hazard_type: 'minefield',
      confidence: 'suspected',
      perimeter: {
        type: 'Polygon',
        coordinates: g.holeClockwise === null ? [close(corners)] : [close(corners), close(hole)],
      },
      reference_points: [
        { ref_id: 'RP1', landmark: 'generated landmark', point: { type: 'Point', coordinates: c } },
      ],
      turning_points: [
        {
          label: 'T1',
          from_ref: 'RP1',
          bearing_deg: g.bearing,
          bearing_reference: 'magnetic',
          distance_m: g.distance,
        },
      ],
      devices: g.quantities.map((quantity, i) => ({
        category: i % 2 ? 'anti_tank' : 'anti_personnel',
        model: i % 2 ? 'TM-62M' : 'PMN-2',
        quantity,
        quantity_basis: 'estimated',
        anti_handling: 'unknown',
      })),
    };
  });

describe('GeoJSON export of generated records', () => {
  it('is valid RFC 7946 whatever the winding, holes and devices', () => {
    fc.assert(
      fc.property(generatedRecord, (input) => {
        const record: MineMapRecord = schemas.record.parse(input);
        // Generated as JSON numbers; parsed, every one is a decimal string that can be signed.
        expect(() => parseCanonical(canonicalBytes(record))).not.toThrow();
        expect(() => parseCanonical(canonicalBytes(input))).toThrow(/send decimals as strings/);
        const collection = mineMapFeatureCollection([record]);
        expectValidExport(collection);
        const [perimeter] = byType(collection.features, 'perimeter');
        expect(perimeter!.properties.devices_total).toBe(
          record.devices?.length ? record.devices.reduce((n, d) => n + d.quantity, 0) : null,
        );
        expect(byType(collection.features, 'turning_point')[0]!.properties).toMatchObject({
          plotted_as_true_bearing: true,
        });
      }),
      { numRuns: 200 },
    );
  });
});
