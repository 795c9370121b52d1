// Burial-site records as GeoJSON features, for the request page's map and the same exports as
// mine maps (GeoJSON, KML, Shapefiles, GeoPackage): RFC 7946, WGS 84, flat scalar properties.
// A site's location is a point with its uncertainty radius (the schema requires one) or an area;
// a GIS cannot draw a radius from an attribute in geographic coordinates, so a point with a
// radius above 0 also gets an `uncertainty_circle` polygon (64 vertices on the great-circle
// distance) under it. A record without a location has no feature. These are personal data (a
// burial site, the cases linked to it): only routes the access policy admits carry them.
import { destination, positionValue, type NumericPosition } from '../schemas/domain/geo.js';
import type { GraveRecord } from '../schemas/domain/grave.js';
import { decimalValue } from '../schemas/domain/shared.js';
import { rewindArea, type Feature, type FeatureCollection, type Scalar } from './geojson-export.js';

/** Vertices of an uncertainty circle (a closed ring has one more, the first repeated). */
export const CIRCLE_VERTICES = 64;

/**
 * A circle of `radiusM` metres around `centre` as a polygon ring, counter-clockwise (RFC 7946's
 * exterior winding): bearings run clockwise from north, so the ring walks them backwards.
 */
export function circleRing(centre: NumericPosition, radiusM: number): NumericPosition[] {
  const ring: NumericPosition[] = [];
  for (let i = 0; i < CIRCLE_VERTICES; i++)
    ring.push(destination(centre, 360 - (360 * i) / CIRCLE_VERTICES, radiusM));
  ring.push(ring[0]!);
  return ring;
}

const orNull = <T extends Scalar>(v: T | undefined): T | null => (v === undefined ? null : v);

/**
 * The site in one row. Column names stay distinct within the 10 characters a Shapefile's DBF
 * keeps (`min_indiv`, not `individuals_min`, which would collide with `individuals_max`).
 */
function siteProperties(r: GraveRecord): Record<string, Scalar> {
  const s = r.status;
  const period = r.burial_period;
  return {
    covers: r.covers.join(', '),
    burial: r.site_type.burial,
    deposition: r.site_type.deposition,
    min_indiv: orNull(r.individuals?.min),
    max_indiv: orNull(r.individuals?.max),
    buried_from: orNull(period?.date ?? period?.from),
    buried_to: orNull(period?.date ?? period?.to),
    status: s.state,
    exhumed_on: s.state === 'exhumed' || s.state === 'remains_transferred' ? s.exhumed_on : null,
    transferred: s.state === 'remains_transferred' ? s.transferred_to : null,
    description: r.description,
    circumstances: orNull(r.circumstances),
    sources: (r.sources ?? []).map((x) => `${x.type} (${x.reliability})`).join('; '),
    cases: (r.linked_cases ?? []).map((c) => `${c.case_id} (${c.link})`).join('; '),
    attachments: (r.attachments ?? []).map((a) => `${a.ref} ${a.file_name}`).join('; '),
  };
}

/** The features of one burial-site record: its uncertainty circle first (under), then the site. */
export function graveFeatures(r: GraveRecord): Feature[] {
  const location = r.location;
  if (!location) return [];
  const uncertainty =
    location.uncertainty_m === undefined ? null : decimalValue(location.uncertainty_m);
  // `record_id` as for mine maps: the site's id, so one column names the record in every export.
  const base = { record_id: r.site_id, uncertainty_m: uncertainty };
  const features: Feature[] = [];
  const g = location.geometry;
  if (g.type === 'Point') {
    const centre = positionValue(g.coordinates);
    if (uncertainty !== null && uncertainty > 0)
      features.push({
        type: 'Feature',
        id: `${r.site_id}/uncertainty_circle/0`,
        geometry: { type: 'Polygon', coordinates: [circleRing(centre, uncertainty)] },
        properties: { feature_type: 'uncertainty_circle', ...base },
      });
    features.push({
      type: 'Feature',
      id: `${r.site_id}/burial_site/0`,
      geometry: { type: 'Point', coordinates: centre },
      properties: { feature_type: 'burial_site', ...base, ...siteProperties(r) },
    });
  } else
    features.push({
      type: 'Feature',
      id: `${r.site_id}/burial_site/0`,
      geometry: rewindArea(g),
      properties: { feature_type: 'burial_site', ...base, ...siteProperties(r) },
    });
  return features;
}

/** Burial-site records (one response's, or a whole request's) as one FeatureCollection. */
export function graveFeatureCollection(records: readonly GraveRecord[]): FeatureCollection {
  return { type: 'FeatureCollection', features: records.flatMap(graveFeatures) };
}
