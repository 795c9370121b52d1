// Geometry: what counts as a valid RFC 7946 position, ring and area, and the distances the
// records are checked with. Hand-picked cases (given as JSON numbers for brevity, and again as the
// decimal strings of the wire), then properties over generated polygons.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { issueDetails } from '../../errors.js';
import { parseCanonical, canonicalBytes } from '../../protocol/canonical-json.js';
import {
  areaValue,
  destination,
  distanceMetres,
  distanceToAreaMetres,
  distanceToLineMetres,
  GeoArea,
  GeoLineString,
  GeoPoint,
  isCounterClockwise,
  MAX_AREA_POSITIONS,
  positionValue,
  type NumericArea,
  type NumericPosition as Position,
} from '../../schemas/domain/geo.js';
import { DECIMAL_MESSAGE, toDecimalString } from '../../schemas/domain/shared.js';

const details = (schema: { safeParse: (v: unknown) => any }, value: unknown) => {
  const r = schema.safeParse(value);
  return r.success ? [] : issueDetails(r.error.issues);
};

const square: Position[] = [
  [0, 0],
  [1, 0],
  [1, 1],
  [0, 1],
  [0, 0],
];
const polygon = (...rings: Position[][]) => ({ type: 'Polygon', coordinates: rings });

/** Every number in a geometry written as the decimal string the wire carries. */
const asDecimals = (v: unknown): unknown =>
  typeof v === 'number' ? toDecimalString(v) : Array.isArray(v) ? v.map(asDecimals) : v;
const withDecimals = (g: { coordinates: unknown }) => ({
  ...g,
  coordinates: asDecimals(g.coordinates),
});

describe('positions', () => {
  it('takes [lon, lat] and [lon, lat, altitude] as decimal strings, unchanged', () => {
    for (const coordinates of [
      ['24.7', '46.5'],
      ['24.7', '46.5', '412'],
      ['-0.000001', '-89.99', '-0.5'],
      ['24.700000', '46.5'],
    ]) {
      const r = GeoPoint.safeParse({ type: 'Point', coordinates });
      expect(r.success && r.data.coordinates).toEqual(coordinates);
    }
  });

  it('writes JSON numbers as canonical decimal strings, so a parsed position can be signed', () => {
    const cases: [unknown[], string[]][] = [
      [
        [24.725, 46.59],
        ['24.725', '46.59'],
      ],
      [
        [1e-7, -1.5e-7, 412],
        ['0.0000001', '-0.00000015', '412'],
      ],
      [
        [-0, 0.1 + 0.2],
        ['0', '0.30000000000000004'],
      ],
      [
        ['24.725', 46.59, '412.5'],
        ['24.725', '46.59', '412.5'],
      ],
    ];
    for (const [input, output] of cases) {
      const parsed = GeoPoint.parse({ type: 'Point', coordinates: input });
      expect(parsed.coordinates).toEqual(output);
      expect(() => parseCanonical(canonicalBytes(parsed))).not.toThrow();
    }
  });

  it('leaves out an altitude given as undefined rather than signing it as null', () => {
    const parsed = GeoPoint.parse({ type: 'Point', coordinates: ['24.7', '46.5', undefined] });
    expect(parsed.coordinates).toEqual(['24.7', '46.5']);
    expect(parsed.coordinates).toHaveLength(2);
  });

  it.each(['1e5', '+1', '1.', '01.5', '.5', '1,5', ' 1', '', '-', 'NaN', 'Infinity', '0x1A'])(
    'refuses the malformed decimal %j at its path',
    (bad) => {
      expect(details(GeoPoint, { type: 'Point', coordinates: ['24.7', bad] })).toEqual([
        { path: '/coordinates/1', message: DECIMAL_MESSAGE },
      ]);
    },
  );

  it('refuses what is neither a decimal string nor a number, and decimals beyond 64 characters', () => {
    expect(details(GeoPoint, { type: 'Point', coordinates: [true, '46.5'] })).toEqual([
      { path: '/coordinates/0', message: DECIMAL_MESSAGE },
    ]);
    expect(details(GeoPoint, { type: 'Point', coordinates: ['0.' + '1'.repeat(70), '1'] })).toEqual(
      [{ path: '/coordinates/0', message: 'a decimal of at most 64 characters' }],
    );
  });

  it.each([
    [[181, 0], '/coordinates/0', 'a longitude in degrees between -180 and 180 (WGS 84)'],
    [[-180.5, 0], '/coordinates/0', 'a longitude in degrees between -180 and 180 (WGS 84)'],
    [[0, 90.01], '/coordinates/1', 'a latitude in degrees between -90 and 90 (WGS 84)'],
    [[0, -91], '/coordinates/1', 'a latitude in degrees between -90 and 90 (WGS 84)'],
    [[0, 0, 30_000], '/coordinates/2', 'an altitude in metres between -12000 and 9000'],
    [['180.000001', '0'], '/coordinates/0', 'a longitude in degrees between -180 and 180 (WGS 84)'],
    [['0', '-90.5'], '/coordinates/1', 'a latitude in degrees between -90 and 90 (WGS 84)'],
  ])('refuses %j at %s', (coordinates, path, message) => {
    expect(details(GeoPoint, { type: 'Point', coordinates })).toEqual([{ path, message }]);
  });

  it('refuses a fourth member, a missing latitude and a foreign member', () => {
    expect(details(GeoPoint, { type: 'Point', coordinates: [1, 2, 3, 4] })[0]?.path).toBe(
      '/coordinates',
    );
    expect(details(GeoPoint, { type: 'Point', coordinates: [1] })[0]?.path).toBe('/coordinates');
    expect(details(GeoPoint, { type: 'Point', coordinates: [1, 2], crs: {} })).toEqual([
      { path: '/crs', message: 'unknown member: not allowed here' },
    ]);
  });

  it('wants at least two positions in a line', () => {
    expect(details(GeoLineString, { type: 'LineString', coordinates: [[1, 2]] })).toEqual([
      { path: '/coordinates', message: 'a line of at least 2 positions' },
    ]);
  });
});

describe('areas', () => {
  it.each([
    ['a square, counter-clockwise', polygon(square)],
    ['a square, clockwise (RFC 7946 parsers must accept it)', polygon([...square].reverse())],
    [
      'a repeated consecutive position',
      polygon([
        [0, 0],
        [1, 0],
        [1, 0],
        [1, 1],
        [0, 1],
        [0, 0],
      ]),
    ],
    [
      'a hole inside its shell',
      polygon(
        [
          [0, 0],
          [4, 0],
          [4, 4],
          [0, 4],
          [0, 0],
        ],
        [
          [1, 1],
          [1, 2],
          [2, 2],
          [2, 1],
          [1, 1],
        ],
      ),
    ],
    [
      'a multipolygon with one part inside the hole of the other',
      {
        type: 'MultiPolygon',
        coordinates: [
          [
            [
              [0, 0],
              [4, 0],
              [4, 4],
              [0, 4],
              [0, 0],
            ],
            [
              [1, 1],
              [3, 1],
              [3, 3],
              [1, 3],
              [1, 1],
            ],
          ],
          [
            [
              [1.5, 1.5],
              [2, 1.5],
              [2, 2],
              [1.5, 2],
              [1.5, 1.5],
            ],
          ],
        ],
      },
    ],
  ])('accepts %s', (_name, area) => {
    expect(details(GeoArea, area)).toEqual([]);
    expect(details(GeoArea, withDecimals(area))).toEqual([]);
  });

  it('closes a ring by value, whatever the spelling of its last position', () => {
    const ring = [
      ['0', '0'],
      ['1', '0'],
      ['1', '1'],
      ['0', '1'],
      ['0.000', '0.0'],
    ];
    expect(details(GeoArea, { type: 'Polygon', coordinates: [ring] })).toEqual([]);
  });

  it.each([
    [
      'an open ring',
      polygon(square.slice(0, 4)),
      '/coordinates/0',
      'a closed ring: the last position must repeat the first',
    ],
    [
      'a ring of three positions',
      polygon([
        [0, 0],
        [1, 0],
        [0, 0],
      ]),
      '/coordinates/0',
      'a linear ring of at least 4 positions, the first repeated as the last',
    ],
    [
      'a ring of two distinct corners',
      polygon([
        [0, 0],
        [1, 0],
        [1, 0],
        [0, 0],
      ]),
      '/coordinates/0',
      'a ring of at least 3 distinct corners',
    ],
    [
      'a bow-tie',
      polygon([
        [0, 0],
        [2, 1],
        [2, 0],
        [0, 1],
        [0, 0],
      ]),
      '/coordinates/0',
      'a simple ring: edges 0 and 2 cross or touch (self-intersection)',
    ],
    [
      'a spike (an edge doubling back)',
      polygon([
        [0, 0],
        [2, 0],
        [1, 0],
        [1, 1],
        [0, 0],
      ]),
      '/coordinates/0',
      'a simple ring: edges 0 and 1 cross or touch (self-intersection)',
    ],
    [
      'a vertex touching an edge',
      polygon([
        [0, 0],
        [4, 0],
        [4, 4],
        [2, 0],
        [0, 4],
        [0, 0],
      ]),
      '/coordinates/0',
      'a simple ring: edges 0 and 3 cross or touch (self-intersection)',
    ],
    [
      'a hole outside its shell',
      polygon(square, [
        [5, 5],
        [5, 6],
        [6, 6],
        [6, 5],
        [5, 5],
      ]),
      '/coordinates/1',
      'a hole inside the exterior ring (ring 0)',
    ],
    [
      'a hole crossing its shell',
      polygon(
        [
          [0, 0],
          [4, 0],
          [4, 4],
          [0, 4],
          [0, 0],
        ],
        [
          [3, 3],
          [5, 3],
          [5, 5],
          [3, 5],
          [3, 3],
        ],
      ),
      '/coordinates/1',
      'a ring that does not cross or touch ring 0 of the same polygon',
    ],
    [
      'overlapping parts of a multipolygon',
      {
        type: 'MultiPolygon',
        coordinates: [
          [square],
          [
            [
              [0.5, 0.5],
              [2, 0.5],
              [2, 2],
              [0.5, 2],
              [0.5, 0.5],
            ],
          ],
        ],
      },
      '/coordinates/1',
      'a polygon that does not cross or touch polygon 0',
    ],
    [
      'one part of a multipolygon inside another',
      {
        type: 'MultiPolygon',
        coordinates: [
          [
            [
              [0, 0],
              [4, 0],
              [4, 4],
              [0, 4],
              [0, 0],
            ],
          ],
          [
            [
              [1, 1],
              [2, 1],
              [2, 2],
              [1, 2],
              [1, 1],
            ],
          ],
        ],
      },
      '/coordinates/1',
      'a polygon that does not overlap polygon 0',
    ],
    [
      'a bow-tie in the second part of a multipolygon',
      {
        type: 'MultiPolygon',
        coordinates: [
          [square],
          [
            [
              [2, 0],
              [3, 1],
              [3, 0],
              [2, 1],
              [2, 0],
            ],
          ],
        ],
      },
      '/coordinates/1/0',
      'a simple ring: edges 0 and 2 cross or touch (self-intersection)',
    ],
  ])('refuses %s', (_name, area, path, message) => {
    expect(details(GeoArea, area)).toEqual([{ path, message }]);
    expect(details(GeoArea, withDecimals(area))).toEqual([{ path, message }]);
  });
});

describe('distances', () => {
  const field = polygon([
    [24.72, 46.58],
    [24.724, 46.5802],
    [24.7243, 46.5816],
    [24.7204, 46.5815],
    [24.72, 46.58],
  ]) as NumericArea;

  it('is 0 inside an area and the distance to the nearest edge outside it', () => {
    expect(distanceToAreaMetres([24.722, 46.581], field)).toBe(0);
    // 0.001° of latitude south of the southern edge's west end: about 111 m.
    expect(distanceToAreaMetres([24.72, 46.579], field)).toBeCloseTo(111.2, 0);
  });

  it('measures to the nearest point of a segment, not only to its ends', () => {
    const line: Position[] = [
      [24.7, 46.58],
      [24.74, 46.58],
    ];
    const p: Position = [24.72, 46.581];
    expect(distanceToLineMetres(p, line)).toBeCloseTo(distanceMetres(p, [24.72, 46.58]), 0);
  });

  it('destination and distance agree (bearing and distance as field records give them)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -179, max: 179, noNaN: true }),
        fc.double({ min: -80, max: 80, noNaN: true }),
        fc.double({ min: 0, max: 359.999, noNaN: true }),
        fc.double({ min: 1, max: 10_000, noNaN: true }),
        (lon, lat, bearing, metres) => {
          const to = destination([lon, lat], bearing, metres);
          expect(Math.abs(distanceMetres([lon, lat], to) - metres)).toBeLessThan(1e-3);
        },
      ),
    );
  });
});

/**
 * Doubles on a grid of 1e-9 (0.1 mm in degrees): finer than any survey, and unlike fast-check's
 * favourite 5e-324, written as a decimal of at most 64 characters (longer ones are refused).
 */
const fine = (x: number) => Math.round(x * 1e9) / 1e9 || 0;

/** A convex polygon: corners on a circle at sorted, well-separated angles. */
const convexRing = fc
  .record({
    lon: fc.double({ min: -170, max: 170, noNaN: true }).map(fine),
    lat: fc.double({ min: -75, max: 75, noNaN: true }).map(fine),
    radius: fc.double({ min: 0.0005, max: 0.05, noNaN: true }),
    angles: fc.uniqueArray(fc.integer({ min: 0, max: 71 }), { minLength: 4, maxLength: 12 }),
    clockwise: fc.boolean(),
  })
  .map(({ lon, lat, radius, angles, clockwise }) => {
    const corners = [...angles]
      .sort((a, b) => a - b)
      .map((k): Position => {
        const t = (k * 5 * Math.PI) / 180;
        return [lon + radius * Math.cos(t), lat + radius * Math.sin(t)];
      });
    if (clockwise) corners.reverse();
    const inside: Position = [
      corners.reduce((s, c) => s + c[0], 0) / corners.length,
      corners.reduce((s, c) => s + c[1], 0) / corners.length,
    ];
    return { inside, ring: [...corners, corners[0]!], clockwise };
  });

describe('properties of generated polygons', () => {
  it('a convex polygon is valid in either winding, and the mean of its corners is inside it', () => {
    fc.assert(
      fc.property(convexRing, ({ inside, ring, clockwise }) => {
        const parsed = GeoArea.parse(polygon(ring));
        expect(() => parseCanonical(canonicalBytes(parsed))).not.toThrow();
        expect(isCounterClockwise(ring)).toBe(!clockwise);
        // The decimal strings read back as the very doubles they were written from.
        expect(areaValue(parsed)).toEqual(polygon(ring));
        expect(distanceToAreaMetres(inside, areaValue(parsed))).toBe(0);
        expect(
          positionValue(GeoPoint.parse({ type: 'Point', coordinates: inside }).coordinates),
        ).toEqual(inside);
      }),
    );
  });

  it('swapping two neighbouring corners of a convex polygon makes it cross itself', () => {
    fc.assert(
      fc.property(convexRing, fc.nat(), ({ ring }, k) => {
        const corners = ring.slice(0, -1);
        const i = k % corners.length;
        const j = (i + 1) % corners.length;
        [corners[i], corners[j]] = [corners[j]!, corners[i]!];
        const found = details(GeoArea, polygon([...corners, corners[0]!]));
        expect(found).toHaveLength(1);
        expect(found[0]!.path).toBe('/coordinates/0');
        expect(found[0]!.message).toMatch(/self-intersection/);
      }),
    );
  });
});

describe('size limits', () => {
  it('refuses an area of more than MAX_AREA_POSITIONS positions before checking its edges', () => {
    const ring = (dx: number): Position[] => {
      const corners: Position[] = Array.from({ length: 4_000 }, (_, i) => {
        const t = (2 * Math.PI * i) / 4_000;
        return [dx + Math.cos(t), Math.sin(t)];
      });
      return [...corners, corners[0]!];
    };
    const area = { type: 'MultiPolygon', coordinates: [[ring(0)], [ring(3)], [ring(6)]] };
    expect(details(GeoArea, area)).toEqual([
      {
        path: '/coordinates',
        message: `an area of at most ${MAX_AREA_POSITIONS} positions in all`,
      },
    ]);
  });
});
