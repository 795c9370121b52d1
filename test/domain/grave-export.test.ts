// Burial sites as map features: a point site with its uncertainty circle (the stated radius, on
// the ground, wound counter-clockwise) under it, an area site as its area, a site without a
// location as nothing; an RFC 7946 FeatureCollection a strict checker accepts.
import { check } from '@placemarkio/check-geojson';
import { describe, expect, it } from 'vitest';
import { CIRCLE_VERTICES, graveFeatureCollection } from '../../domain/grave-export.js';
import { distanceMetres, isCounterClockwise } from '../../schemas/domain/geo.js';
import { graveSchemas } from '../../schemas/domain/grave.js';
import { gs031, gs044, gs052 } from '../fixtures/domain/graves.js';

const schemas = graveSchemas(() => Date.UTC(2026, 10, 28, 12));
const parse = (r: unknown) => schemas.record.parse(r);

describe('the burial-site export', () => {
  const fc = graveFeatureCollection([gs031, gs044, gs052].map(parse));

  it('draws each point site over a circle of its stated uncertainty, and an area site as its area', () => {
    expect(fc.features.map((f) => [f.id, f.geometry.type])).toEqual([
      ['GS-031/burial_site/0', 'Polygon'],
      ['GS-044/uncertainty_circle/0', 'Polygon'],
      ['GS-044/burial_site/0', 'Point'],
      ['GS-052/uncertainty_circle/0', 'Polygon'],
      ['GS-052/burial_site/0', 'Point'],
    ]);
    for (const [site, radius] of [
      ['GS-044', 25],
      ['GS-052', 250],
    ] as const) {
      const point = fc.features.find((f) => f.id === `${site}/burial_site/0`)!;
      const circle = fc.features.find((f) => f.id === `${site}/uncertainty_circle/0`)!;
      expect(point.properties).toMatchObject({ record_id: site, uncertainty_m: radius });
      expect(circle.properties).toEqual({
        feature_type: 'uncertainty_circle',
        record_id: site,
        uncertainty_m: radius,
      });
      if (point.geometry.type !== 'Point' || circle.geometry.type !== 'Polygon')
        throw new Error('unexpected geometry');
      const ring = circle.geometry.coordinates[0]!;
      expect(ring).toHaveLength(CIRCLE_VERTICES + 1);
      expect(ring[0]).toEqual(ring.at(-1));
      expect(isCounterClockwise(ring)).toBe(true);
      for (const p of ring)
        expect(distanceMetres(point.geometry.coordinates, p)).toBeCloseTo(radius, 3);
    }
    expect(() => check(JSON.stringify(fc))).not.toThrow();
  });

  it('keeps the site’s attributes in one row, unknowns as null, column names distinct in 10 characters', () => {
    const site = fc.features.find((f) => f.id === 'GS-031/burial_site/0')!;
    expect(site.properties).toMatchObject({
      feature_type: 'burial_site',
      record_id: 'GS-031',
      uncertainty_m: null,
      burial: 'mass',
      deposition: 'secondary',
      min_indiv: 7,
      max_indiv: 11,
      buried_from: '1993-10',
      buried_to: '1993-11',
      status: 'exhumed',
      exhumed_on: '2024-06-14',
      cases: 'MP-2024-00123 (tentative)',
    });
    const unverified = fc.features.find((f) => f.id === 'GS-052/burial_site/0')!;
    expect(unverified.properties).toMatchObject({ min_indiv: null, exhumed_on: null });
    const names = Object.keys(site.properties).map((k) => k.slice(0, 10));
    expect(new Set(names).size).toBe(names.length);
  });

  it('has nothing to draw for a site without a location, nor a circle for a radius of 0', () => {
    const { location: _location, ...unlocated } = schemas.record.parse(gs044);
    expect(graveFeatureCollection([unlocated]).features).toEqual([]);
    const exact = parse({ ...gs044, location: { ...gs044.location, uncertainty_m: '0' } });
    expect(graveFeatureCollection([exact]).features.map((f) => f.properties.feature_type)).toEqual([
      'burial_site',
    ]);
  });
});
