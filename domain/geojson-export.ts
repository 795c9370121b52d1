// Mine-map records as one GeoJSON FeatureCollection that QGIS (or any GIS) opens as it is: RFC
// 7946 (WGS 84 [longitude, latitude], no `crs` member, exterior rings counter-clockwise and holes
// clockwise) with flat scalar properties, so every attribute shows as a column. Each perimeter,
// row, device, reference point, turning point and located accident is a feature of its own,
// told apart by `feature_type`. Records carry coordinates and measures as decimal strings (what a
// signed payload can hold); GeoJSON wants numbers, and the export is not signed, so it converts.
import {
  areaValue,
  destination,
  isCounterClockwise,
  positionValue,
  type GeoArea,
  type NumericArea,
  type NumericPosition,
  type Position,
} from '../schemas/domain/geo.js';
import type { MineMapRecord } from '../schemas/domain/mine-map.js';
import { decimalValue } from '../schemas/domain/shared.js';

/** The media type of the export (RFC 7946 section 12); save it with a `.geojson` extension. */
export const GEOJSON_MEDIA_TYPE = 'application/geo+json';

export type FeatureType =
  | 'perimeter'
  | 'mine_row'
  | 'device'
  | 'reference_point'
  | 'turning_point'
  | 'accident'
  // Grave information (domain/grave-export.ts): a burial site's location, and the circle of its
  // stated uncertainty around a point location.
  | 'burial_site'
  | 'uncertainty_circle';

/** Property values a GIS attribute table holds without conversion. */
export type Scalar = string | number | boolean | null;

/** GeoJSON geometries with numeric positions, as the export writes them. */
export interface PointGeometry {
  type: 'Point';
  coordinates: NumericPosition;
}
export interface LineStringGeometry {
  type: 'LineString';
  coordinates: NumericPosition[];
}
export type AreaGeometry = NumericArea;

export interface Feature {
  type: 'Feature';
  id: string;
  geometry: PointGeometry | LineStringGeometry | AreaGeometry;
  properties: { feature_type: FeatureType; record_id: string } & Record<string, Scalar>;
}

export interface FeatureCollection {
  type: 'FeatureCollection';
  features: Feature[];
}

/** A ring turned, if needed, to run counter-clockwise (exterior) or clockwise (hole). */
function orient(ring: readonly NumericPosition[], counterClockwise: boolean): NumericPosition[] {
  const out = [...ring];
  return isCounterClockwise(out) === counterClockwise ? out : out.reverse();
}

const rewindRings = (rings: readonly (readonly NumericPosition[])[]) =>
  rings.map((ring, i) => orient(ring, i === 0));

/**
 * An area as numbers, with RFC 7946's right-hand rule applied: exterior rings counter-clockwise,
 * holes clockwise. Parsers must accept either winding, but some consumers (and strict checkers)
 * rely on it; field records are drawn in whatever direction the surveyor walked.
 */
export function rewindArea(area: GeoArea): AreaGeometry {
  const numeric = areaValue(area);
  return numeric.type === 'Polygon'
    ? { type: 'Polygon', coordinates: rewindRings(numeric.coordinates) }
    : { type: 'MultiPolygon', coordinates: numeric.coordinates.map(rewindRings) };
}

/** A point at a record's position; positionValue leaves an absent altitude out, not null. */
const point = (p: Position): PointGeometry => pointAt(positionValue(p));
const pointAt = (coordinates: NumericPosition): PointGeometry => ({ type: 'Point', coordinates });
const orNull = <T extends Scalar>(v: T | undefined): T | null => (v === undefined ? null : v);
/** A decimal string as the number a GIS column holds. */
const numOrNull = (v: string | undefined): number | null =>
  v === undefined ? null : decimalValue(v);

/** Attributes every feature of a record carries, so any one feature says what it belongs to. */
function recordProperties(r: MineMapRecord) {
  return {
    record_id: r.record_id,
    hazard_type: r.hazard_type,
    confidence: r.confidence,
    source_document: r.source_document.reference,
    original_datum: orNull(r.datum),
    accuracy_m: numOrNull(r.accuracy_m),
  };
}

/**
 * The whole record in one row, on the perimeter feature. A record that lists no devices says
 * nothing about them: `devices`, `devices_total`, `devices_estimated` and `anti_handling` are null
 * (unknown), never `""` and 0, which would read as "no devices".
 */
function perimeterProperties(r: MineMapRecord): Record<string, Scalar> {
  const devices = r.devices ?? [];
  const known = devices.length > 0;
  const period = r.laying?.period;
  return {
    covers: r.covers.join(', '),
    devices: known
      ? devices
          .map(
            (d) =>
              `${d.model} ×${d.quantity}${d.quantity_basis === 'estimated' ? ' (est.)' : ''}` +
              (d.fuze_type ? ` ${d.fuze_type}` : '') +
              (d.anti_handling === 'yes' ? ' AHD' : ''),
          )
          .join('; ')
      : null,
    devices_total: known ? devices.reduce((n, d) => n + d.quantity, 0) : null,
    devices_estimated: known ? devices.some((d) => d.quantity_basis === 'estimated') : null,
    anti_handling: !known
      ? null
      : devices.some((d) => d.anti_handling === 'yes')
        ? 'yes'
        : devices.some((d) => d.anti_handling === 'unknown')
          ? 'unknown'
          : 'no',
    laid_from: orNull(period?.date ?? period?.from),
    laid_to: orNull(period?.date ?? period?.to),
    laying_method: orNull(r.laying?.method),
    pattern: orNull(r.laying?.pattern),
    depth: orNull(r.laying?.depth?.placement),
    depth_min_cm: orNull(r.laying?.depth?.min_cm),
    depth_max_cm: orNull(r.laying?.depth?.max_cm),
    marking: orNull(r.marking?.marking),
    fencing: orNull(r.marking?.fencing),
    accidents: r.known_accidents?.length ?? 0,
    remarks: orNull(r.remarks),
    attachments: (r.attachments ?? []).map((a) => `${a.ref} ${a.file_name}`).join('; '),
  };
}

/** The features of one record, perimeter first so it lies under the points in a map. */
export function mineMapFeatures(r: MineMapRecord): Feature[] {
  const base = recordProperties(r);
  const features: Feature[] = [];
  const add = (
    kind: FeatureType,
    key: string,
    geometry: Feature['geometry'],
    props: Record<string, Scalar>,
  ) =>
    features.push({
      type: 'Feature',
      id: `${r.record_id}/${kind}/${key}`,
      geometry,
      properties: { feature_type: kind, ...base, ...props },
    });

  if (r.perimeter) add('perimeter', '0', rewindArea(r.perimeter), perimeterProperties(r));
  for (const row of r.rows ?? [])
    add(
      'mine_row',
      row.row_id,
      { type: 'LineString', coordinates: row.line.coordinates.map(positionValue) },
      {
        row_id: row.row_id,
        device_count: orNull(row.device_count),
        spacing_m: numOrNull(row.spacing_m),
      },
    );
  (r.device_points ?? []).forEach((d, i) =>
    add('device', String(i), point(d.point.coordinates), {
      model: orNull(d.model),
      note: orNull(d.note),
    }),
  );
  const refs = new Map<string, NumericPosition>();
  for (const rp of r.reference_points ?? []) {
    refs.set(rp.ref_id, positionValue(rp.point.coordinates));
    add('reference_point', rp.ref_id, point(rp.point.coordinates), {
      ref_id: rp.ref_id,
      landmark: rp.landmark,
    });
  }
  for (const t of r.turning_points ?? []) {
    const from = refs.get(t.from_ref);
    if (!from) continue;
    // Plotted as if the bearing were true north: a magnetic or grid bearing puts the point off
    // by the declination or convergence, which the record does not give; the attributes say so.
    const bearing = decimalValue(t.bearing_deg);
    const metres = decimalValue(t.distance_m);
    add('turning_point', t.label, pointAt(destination(from, bearing, metres)), {
      label: t.label,
      from_ref: t.from_ref,
      bearing_deg: bearing,
      bearing_reference: t.bearing_reference,
      distance_m: metres,
      plotted_as_true_bearing: t.bearing_reference !== 'true',
    });
  }
  (r.known_accidents ?? []).forEach((a, i) => {
    if (!a.point) return;
    add('accident', String(i), point(a.point.coordinates), {
      date: orNull(a.date),
      killed: orNull(a.killed),
      injured: orNull(a.injured),
      description: a.description,
    });
  });
  return features;
}

/** Mine-map records (one response's, or a whole request's) as one FeatureCollection. */
export function mineMapFeatureCollection(records: readonly MineMapRecord[]): FeatureCollection {
  return { type: 'FeatureCollection', features: records.flatMap(mineMapFeatures) };
}
