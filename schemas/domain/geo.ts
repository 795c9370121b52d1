// RFC 7946 GeoJSON geometries as the domain records carry them (WGS 84, [longitude, latitude],
// optional altitude), with the checks a deminer relies on: coordinates in range, closed rings, and
// rings that do not cross themselves or each other. Also the distance helpers the records need.
// Coordinates travel as decimal strings (signed payloads hold integers only, shared.ts); every
// check and distance reads them as numbers first (NumericPosition).
import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import { booleanValid } from '@turf/boolean-valid';
import { distance } from '@turf/distance';
import { z } from 'zod';
import { decimalIn, decimalValue } from './shared.js';

/** Mean Earth radius in metres, the one Turf's haversine distance uses, so both agree. */
const EARTH_RADIUS_M = 6_371_008.8;

/**
 * Positions per ring and rings per polygon. A surveyed perimeter has tens of corners; the caps
 * keep the pairwise edge checks below bounded for any input a partner can send.
 */
export const MAX_RING_POSITIONS = 5_000;
export const MAX_RINGS = 100;
export const MAX_POLYGONS = 100;
/** Positions in one area, all rings together: the edge checks are quadratic at worst. */
export const MAX_AREA_POSITIONS = 10_000;

export const Longitude = decimalIn(
  { min: -180, max: 180 },
  'a longitude in degrees between -180 and 180 (WGS 84)',
);
export const Latitude = decimalIn(
  { min: -90, max: 90 },
  'a latitude in degrees between -90 and 90 (WGS 84)',
);
/** Metres above the WGS 84 ellipsoid; bounded so a unit mix-up (feet, millimetres) stands out. */
export const Altitude = decimalIn(
  { min: -12_000, max: 9_000 },
  'an altitude in metres between -12000 and 9000',
);

/**
 * An RFC 7946 position: [longitude, latitude] or [longitude, latitude, altitude], that order, as
 * decimal strings ("24.725"; a JSON number is accepted and written as one).
 */
export const Position = z
  .tuple([Longitude, Latitude, Altitude.optional()])
  // An altitude given as undefined (from code, never from JSON) would be signed as null.
  .overwrite((p): typeof p => (p[2] === undefined ? [p[0], p[1]] : p))
  .describe(
    '[longitude, latitude] or [longitude, latitude, altitude]: WGS 84 degrees and metres, as ' +
      'decimal strings such as "24.725"',
  );
export type Position = z.infer<typeof Position>;

/** A position as numbers, for arithmetic: what every check and distance works on. */
export type NumericPosition = [number, number, number?];

/** The numbers a position's decimal strings stand for; an absent altitude stays absent. */
export const positionValue = (p: Position): NumericPosition =>
  p[2] === undefined
    ? [decimalValue(p[0]), decimalValue(p[1])]
    : [decimalValue(p[0]), decimalValue(p[1]), decimalValue(p[2])];

export const ringValue = (ring: readonly Position[]): NumericPosition[] => ring.map(positionValue);

/** An area with numeric positions. */
export type NumericArea =
  | { type: 'Polygon'; coordinates: NumericPosition[][] }
  | { type: 'MultiPolygon'; coordinates: NumericPosition[][][] };

export function areaValue(area: GeoArea): NumericArea {
  return area.type === 'Polygon'
    ? { type: 'Polygon', coordinates: area.coordinates.map(ringValue) }
    : { type: 'MultiPolygon', coordinates: area.coordinates.map((p) => p.map(ringValue)) };
}

/** Same longitude and latitude by value: "24.70" and "24.7" are one place. */
const samePosition = (a: NumericPosition, b: NumericPosition) => a[0] === b[0] && a[1] === b[1];

/** A closed ring: at least four positions, the last one repeating the first. */
export const LinearRing = z
  .array(Position)
  .min(4, 'a linear ring of at least 4 positions, the first repeated as the last')
  .max(MAX_RING_POSITIONS)
  .refine(
    (ring) =>
      ring.length < 2 ||
      samePosition(positionValue(ring[0]!), positionValue(ring[ring.length - 1]!)),
    { message: 'a closed ring: the last position must repeat the first' },
  );
export type LinearRing = z.infer<typeof LinearRing>;

export const GeoPoint = z.strictObject({ type: z.literal('Point'), coordinates: Position });
export type GeoPoint = z.infer<typeof GeoPoint>;

export const GeoLineString = z.strictObject({
  type: z.literal('LineString'),
  coordinates: z.array(Position).min(2, 'a line of at least 2 positions').max(MAX_RING_POSITIONS),
});
export type GeoLineString = z.infer<typeof GeoLineString>;

/** The rings of one polygon, as numbers. */
type Rings = readonly (readonly NumericPosition[])[];

/** Issues found in a polygon's rings, each with the path below `coordinates` it belongs to. */
interface RingIssue {
  path: (string | number)[];
  message: string;
}

export const GeoPolygon = z
  .strictObject({
    type: z.literal('Polygon'),
    coordinates: z
      .array(LinearRing)
      .min(1, 'a polygon of at least one ring: the exterior, then any holes')
      .max(MAX_RINGS),
  })
  .superRefine((polygon, ctx) => {
    for (const issue of polygonIssues(polygon.coordinates.map(ringValue)))
      ctx.addIssue({
        code: 'custom',
        path: ['coordinates', ...issue.path],
        message: issue.message,
      });
  });
export type GeoPolygon = z.infer<typeof GeoPolygon>;

export const GeoMultiPolygon = z
  .strictObject({
    type: z.literal('MultiPolygon'),
    coordinates: z
      .array(
        z
          .array(LinearRing)
          .min(1, 'a polygon of at least one ring: the exterior, then any holes')
          .max(MAX_RINGS),
      )
      .min(1, 'a multipolygon of at least one polygon')
      .max(MAX_POLYGONS),
  })
  .superRefine((multi, ctx) => {
    for (const issue of multiPolygonIssues(multi.coordinates.map((p) => p.map(ringValue))))
      ctx.addIssue({
        code: 'custom',
        path: ['coordinates', ...issue.path],
        message: issue.message,
      });
  });
export type GeoMultiPolygon = z.infer<typeof GeoMultiPolygon>;

/** An area: the perimeter of a hazard, an area of interest, a grave site's extent. */
export const GeoArea = z.discriminatedUnion('type', [GeoPolygon, GeoMultiPolygon]);
export type GeoArea = z.infer<typeof GeoArea>;

// ---------------------------------------------------------------------------------------------
// Ring validity. Turf's booleanValid is the maintained reference, but it does not see two edges
// crossing between vertices (a bow-tie passes), so the edge-by-edge test below comes first and
// booleanValid runs as a last net for what it does check (holes outside the shell, overlapping
// members of a multipolygon). Stricter than OGC on one point: rings may not touch each other.
// ---------------------------------------------------------------------------------------------

interface Edge {
  /** Which polygon and ring, and the index of the edge in that ring. */
  polygon: number;
  ring: number;
  index: number;
  /** Edges in the ring, to tell neighbours (which share a vertex) from the others. */
  ringEdges: number;
  a: NumericPosition;
  b: NumericPosition;
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

/** Sign of the turn a→b→c: > 0 counter-clockwise, < 0 clockwise, 0 collinear. */
function orient(a: NumericPosition, b: NumericPosition, c: NumericPosition): number {
  return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
}

/** Whether c, known collinear with a–b, lies within the segment's bounding box. */
function onSegment(a: NumericPosition, b: NumericPosition, c: NumericPosition): boolean {
  return (
    Math.min(a[0], b[0]) <= c[0] &&
    c[0] <= Math.max(a[0], b[0]) &&
    Math.min(a[1], b[1]) <= c[1] &&
    c[1] <= Math.max(a[1], b[1])
  );
}

/** Whether two closed segments share at least one point (crossing, touching or overlapping). */
function segmentsMeet(p: Edge, q: Edge): boolean {
  const o1 = orient(p.a, p.b, q.a);
  const o2 = orient(p.a, p.b, q.b);
  const o3 = orient(q.a, q.b, p.a);
  const o4 = orient(q.a, q.b, p.b);
  if (((o1 > 0 && o2 < 0) || (o1 < 0 && o2 > 0)) && ((o3 > 0 && o4 < 0) || (o3 < 0 && o4 > 0)))
    return true;
  return (
    (o1 === 0 && onSegment(p.a, p.b, q.a)) ||
    (o2 === 0 && onSegment(p.a, p.b, q.b)) ||
    (o3 === 0 && onSegment(q.a, q.b, p.a)) ||
    (o4 === 0 && onSegment(q.a, q.b, p.b))
  );
}

/** Consecutive neighbours share a vertex; they are wrong only when the second doubles back. */
function isSpike(first: Edge, second: Edge): boolean {
  if (orient(first.a, first.b, second.b) !== 0) return false;
  const dot =
    (first.b[0] - first.a[0]) * (second.b[0] - second.a[0]) +
    (first.b[1] - first.a[1]) * (second.b[1] - second.a[1]);
  return dot < 0;
}

/** A ring without repeated consecutive positions (RFC 7946 allows them; here they are noise). */
function distinctRing(ring: readonly NumericPosition[]): NumericPosition[] {
  const out: NumericPosition[] = [];
  for (const p of ring) if (!out.length || !samePosition(out[out.length - 1]!, p)) out.push(p);
  return out;
}

function ringEdges(ring: readonly NumericPosition[], polygon: number, ringIndex: number): Edge[] {
  const pts = distinctRing(ring);
  const edges: Edge[] = [];
  for (let i = 0; i + 1 < pts.length; i++) {
    const a = pts[i]!;
    const b = pts[i + 1]!;
    edges.push({
      polygon,
      ring: ringIndex,
      index: i,
      ringEdges: pts.length - 1,
      a,
      b,
      minX: Math.min(a[0], b[0]),
      maxX: Math.max(a[0], b[0]),
      minY: Math.min(a[1], b[1]),
      maxY: Math.max(a[1], b[1]),
    });
  }
  return edges;
}

/** Twice the signed planar area of a ring in degrees: > 0 counter-clockwise (RFC 7946 exterior). */
export function ringSignedArea(ring: readonly NumericPosition[]): number {
  let sum = 0;
  for (let i = 0; i + 1 < ring.length; i++) {
    const a = ring[i]!;
    const b = ring[i + 1]!;
    sum += a[0] * b[1] - b[0] * a[1];
  }
  return sum;
}

/** Whether a ring runs counter-clockwise, as RFC 7946 wants for exterior rings. */
export function isCounterClockwise(ring: readonly NumericPosition[]): boolean {
  return ringSignedArea(ring) > 0;
}

/** Rings usable for edge checks: long enough and closed (otherwise their own issue is reported). */
function wellFormed(ring: readonly NumericPosition[]): boolean {
  return ring.length >= 4 && samePosition(ring[0]!, ring[ring.length - 1]!);
}

/** The first pair of edges that meet where they should not, scanning edges sorted by x. */
function firstCollision(edges: Edge[]): [Edge, Edge] | undefined {
  const sorted = [...edges].sort((p, q) => p.minX - q.minX);
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i]!;
    for (let j = i + 1; j < sorted.length && sorted[j]!.minX <= p.maxX; j++) {
      const q = sorted[j]!;
      if (q.minY > p.maxY || q.maxY < p.minY) continue;
      if (p.polygon === q.polygon && p.ring === q.ring) {
        const n = p.ringEdges;
        const [lo, hi] = p.index < q.index ? [p, q] : [q, p];
        if (hi.index - lo.index === 1) {
          if (isSpike(lo, hi)) return [lo, hi];
          continue;
        }
        if (lo.index === 0 && hi.index === n - 1) {
          if (isSpike(hi, lo)) return [hi, lo];
          continue;
        }
      }
      if (segmentsMeet(p, q)) return [p, q];
    }
  }
  return undefined;
}

function describeCollision(p: Edge, q: Edge): RingIssue {
  if (p.polygon === q.polygon && p.ring === q.ring)
    return {
      path: [p.ring],
      message: `a simple ring: edges ${Math.min(p.index, q.index)} and ${Math.max(p.index, q.index)} cross or touch (self-intersection)`,
    };
  if (p.polygon === q.polygon)
    return {
      path: [Math.max(p.ring, q.ring)],
      message: `a ring that does not cross or touch ring ${Math.min(p.ring, q.ring)} of the same polygon`,
    };
  return {
    path: [Math.max(p.polygon, q.polygon)],
    message: `a polygon that does not cross or touch polygon ${Math.min(p.polygon, q.polygon)}`,
  };
}

/**
 * Per-ring checks (enough distinct corners, some area), then edges meeting across all rings.
 * Paths are below `coordinates`: [ring] for a Polygon, [polygon, ring] for a MultiPolygon.
 */
function ringsIssues(polygons: readonly Rings[], multi: boolean): RingIssue[] {
  const issues: RingIssue[] = [];
  const edges: Edge[] = [];
  const flat: { ring: readonly NumericPosition[]; path: number[] }[] = [];
  polygons.forEach((rings, pi) =>
    rings.forEach((ring, ri) => flat.push({ ring, path: multi ? [pi, ri] : [ri] })),
  );
  for (const { ring, path } of flat)
    if (distinctRing(ring).length < 4)
      issues.push({ path, message: 'a ring of at least 3 distinct corners' });
  if (issues.length) return issues;
  polygons.forEach((rings, pi) =>
    rings.forEach((ring, ri) => edges.push(...ringEdges(ring, pi, ri))),
  );
  const hit = firstCollision(edges);
  if (hit) {
    const issue = describeCollision(...hit);
    return [multi && hit[0].polygon === hit[1].polygon ? prefix(hit[0].polygon, issue) : issue];
  }
  // Edges that neither cross nor double back can still all lie on one line only if they meet,
  // so this is a last guard against a ring with no area.
  for (const { ring, path } of flat)
    if (ringSignedArea(ring) === 0)
      issues.push({ path, message: 'a ring enclosing an area (its corners are all in a line)' });
  return issues;
}

const prefix = (polygon: number, issue: RingIssue): RingIssue => ({
  ...issue,
  path: [polygon, ...issue.path],
});

/** A ring alone as a polygon, for containment tests. */
const ringPolygon = (ring: readonly NumericPosition[]) => ({
  type: 'Polygon' as const,
  coordinates: [plain(ring)],
});

/**
 * Positions as Turf's plain number arrays: altitude dropped (Turf works in two dimensions) and
 * repeated consecutive positions merged (RFC 7946 allows them; booleanValid takes them for spikes).
 */
const plain = (ring: readonly NumericPosition[]): number[][] =>
  distinctRing(ring).map((p) => [p[0], p[1]]);

/** Holes inside their shell and outside each other (no edges meet, so one vertex tells). */
function holesIssues(rings: Rings): RingIssue[] {
  const issues: RingIssue[] = [];
  const shell = ringPolygon(rings[0]!);
  for (let h = 1; h < rings.length; h++) {
    const hole = rings[h]!;
    if (!booleanPointInPolygon(plain(hole)[0]!, shell))
      issues.push({ path: [h], message: 'a hole inside the exterior ring (ring 0)' });
    for (let o = 1; o < h; o++) {
      const other = rings[o]!;
      if (
        booleanPointInPolygon(plain(hole)[0]!, ringPolygon(other)) ||
        booleanPointInPolygon(plain(other)[0]!, ringPolygon(hole))
      )
        issues.push({ path: [h], message: `a hole that does not overlap hole ${o}` });
    }
  }
  return issues;
}

const TOO_LARGE: RingIssue = {
  path: [],
  message: `an area of at most ${MAX_AREA_POSITIONS} positions in all`,
};
const positionCount = (polygons: readonly Rings[]) =>
  polygons.reduce((n, rings) => n + rings.reduce((m, ring) => m + ring.length, 0), 0);

function polygonIssues(rings: Rings): RingIssue[] {
  if (positionCount([rings]) > MAX_AREA_POSITIONS) return [TOO_LARGE];
  if (!rings.length || !rings.every(wellFormed)) return [];
  const issues = ringsIssues([rings], false);
  if (issues.length) return issues;
  const holes = holesIssues(rings);
  if (holes.length) return holes;
  return booleanValid({ type: 'Polygon', coordinates: rings.map(plain) })
    ? []
    : [{ path: [], message: 'a valid polygon (OGC simple features)' }];
}

function multiPolygonIssues(polygons: readonly Rings[]): RingIssue[] {
  if (positionCount(polygons) > MAX_AREA_POSITIONS) return [TOO_LARGE];
  if (!polygons.length || !polygons.every((p) => p.length && p.every(wellFormed))) return [];
  const issues = ringsIssues(polygons, true);
  if (issues.length) return issues;
  for (let i = 0; i < polygons.length; i++) {
    const holes = holesIssues(polygons[i]!).map((x) => prefix(i, x));
    if (holes.length) return holes;
  }
  // No edges meet, so two members overlap only if one lies inside the other (and not in a hole).
  for (let i = 0; i < polygons.length; i++)
    for (let j = 0; j < polygons.length; j++) {
      if (i === j) continue;
      const inner = polygons[j]![0]![0]!;
      const outer = { type: 'Polygon' as const, coordinates: polygons[i]!.map(plain) };
      if (booleanPointInPolygon([inner[0], inner[1]], outer))
        return [
          {
            path: [Math.max(i, j)],
            message: `a polygon that does not overlap polygon ${Math.min(i, j)}`,
          },
        ];
    }
  return booleanValid({ type: 'MultiPolygon', coordinates: polygons.map((p) => p.map(plain)) })
    ? []
    : [{ path: [], message: 'a valid multipolygon (OGC simple features)' }];
}

// ---------------------------------------------------------------------------------------------
// Distances, on numbers: a record's positions go through positionValue or areaValue first.
// ---------------------------------------------------------------------------------------------

/** Great-circle (haversine) distance between two positions, in metres. */
export function distanceMetres(from: NumericPosition, to: NumericPosition): number {
  return distance([from[0], from[1]], [to[0], to[1]], { units: 'meters' });
}

/**
 * The closest point of segment a–b to p, in a local equirectangular projection centred on p:
 * accurate to well under a metre at the few kilometres the sanity checks care about.
 */
function closestOnSegment(
  p: NumericPosition,
  a: NumericPosition,
  b: NumericPosition,
): NumericPosition {
  const k = Math.cos((p[1] * Math.PI) / 180);
  const ax = (a[0] - p[0]) * k;
  const ay = a[1] - p[1];
  const bx = (b[0] - p[0]) * k;
  const by = b[1] - p[1];
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len2));
  return [p[0] + (ax + t * dx) / (k || 1), p[1] + ay + t * dy];
}

/** Distance from a position to a polyline's nearest point, in metres. */
export function distanceToLineMetres(p: NumericPosition, line: readonly NumericPosition[]): number {
  if (line.length === 1) return distanceMetres(p, line[0]!);
  let best = Infinity;
  for (let i = 0; i + 1 < line.length; i++)
    best = Math.min(best, distanceMetres(p, closestOnSegment(p, line[i]!, line[i + 1]!)));
  return best;
}

/** Distance from a position to an area in metres: 0 inside it, else to its nearest edge. */
export function distanceToAreaMetres(p: NumericPosition, area: NumericArea): number {
  const rings = area.type === 'Polygon' ? [area.coordinates] : area.coordinates;
  const flat = { type: 'MultiPolygon' as const, coordinates: rings.map((r) => r.map(plain)) };
  if (booleanPointInPolygon([p[0], p[1]], flat)) return 0;
  let best = Infinity;
  for (const polygon of rings)
    for (const ring of polygon) best = Math.min(best, distanceToLineMetres(p, ring));
  return best;
}

/**
 * The position reached from `origin` along a great circle with an initial bearing (degrees
 * clockwise from true north) over a distance in metres: how field records give turning points.
 */
export function destination(
  origin: NumericPosition,
  bearingDeg: number,
  distanceM: number,
): NumericPosition {
  const rad = Math.PI / 180;
  const d = distanceM / EARTH_RADIUS_M;
  const theta = bearingDeg * rad;
  const phi1 = origin[1] * rad;
  const lambda1 = origin[0] * rad;
  const phi2 = Math.asin(
    Math.sin(phi1) * Math.cos(d) + Math.cos(phi1) * Math.sin(d) * Math.cos(theta),
  );
  const lambda2 =
    lambda1 +
    Math.atan2(
      Math.sin(theta) * Math.sin(d) * Math.cos(phi1),
      Math.cos(d) - Math.sin(phi1) * Math.sin(phi2),
    );
  const lon = ((((lambda2 / rad + 540) % 360) + 360) % 360) - 180;
  return [lon, phi2 / rad];
}
