// The mine-map export (domain/geojson-export.ts) in the two other formats GIS users import as they
// are: KML (Google Earth, IMSMA, ArcGIS) and ESRI Shapefile (ArcGIS, IMSMA, QGIS). Both are
// written by well-kept libraries: @placemarkio/tokml (Placemark's GeoJSON-to-KML) and
// @mapbox/shp-write. Both are WGS 84 longitude/latitude, like the GeoJSON they come from.
import shpwrite, { type OGCGeometry } from '@mapbox/shp-write';
import { toKML } from '@placemarkio/tokml';
import JSZip from 'jszip';
import type { NumericPosition } from '../schemas/domain/geo.js';
import type { Feature, FeatureCollection, Scalar } from './geojson-export.js';

export const KML_MEDIA_TYPE = 'application/vnd.google-earth.kml+xml';
export const ZIP_MEDIA_TYPE = 'application/zip';

/** A feature's name as a GIS shows it in a list: its kind and its label or id. */
function featureName(f: Feature): string {
  const p = f.properties;
  const label = p.label ?? p.ref_id ?? p.row_id ?? p.model ?? null;
  const kind = p.feature_type.replace('_', ' ');
  return `${p.record_id} ${kind}${label === null ? '' : ` ${String(label)}`}`;
}

/**
 * KML: one Placemark per feature, with its name and its attributes as ExtendedData. A null
 * attribute (unknown) is left out: tokml would write the text "null", which reads as a value.
 */
export function mineMapKml(fc: FeatureCollection): string {
  return toKML({
    type: 'FeatureCollection',
    features: fc.features.map((f) => ({
      type: 'Feature',
      id: f.id,
      // The same coordinates; RFC 7946 types them as mutable arrays.
      geometry: f.geometry as GeoJSON.Geometry,
      properties: {
        name: featureName(f),
        ...Object.fromEntries(Object.entries(f.properties).filter(([, v]) => v !== null)),
      },
    })),
  });
}

/** Shapefile rings: exterior clockwise, holes counter-clockwise (the reverse of RFC 7946's). */
const shapefileRings = (rings: NumericPosition[][]) => rings.map((ring) => [...ring].reverse());

/** The `.prj` of WGS 84 longitude/latitude, as ArcGIS writes it (and shp-write by default). */
const WGS84_PRJ =
  'GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137,298.257223563]],' +
  'PRIMEM["Greenwich",0],UNIT["Degree",0.017453292519943295]]';

/** The file names (without extension) inside the zip, one per geometry type. */
export const SHAPEFILE_LAYERS = { point: 'points', line: 'lines', area: 'areas' } as const;

/**
 * ESRI Shapefiles in one zip, one set of files per geometry type (a Shapefile holds one type
 * only): `points` (devices, reference and turning points, accidents), `lines` (mine rows),
 * `areas` (perimeters, polygons and multipolygons). Each has its `.prj` (WGS 84) and `.cpg`
 * (UTF-8). Written with shp-write's writer per type, zipped with JSZip (shp-write's own zip puts
 * all lines into one record, and polygons and multipolygons into two files of one name). DBF column names are cut to 10 characters, as the format wants.
 */
export async function mineMapShapefiles(fc: FeatureCollection): Promise<Buffer> {
  /** Per geometry type: the attribute rows and the geometries, in the same order. */
  const layers = {
    POINT: { name: SHAPEFILE_LAYERS.point, rows: [] as object[], shapes: [] as unknown[] },
    POLYLINE: { name: SHAPEFILE_LAYERS.line, rows: [] as object[], shapes: [] as unknown[] },
    POLYGON: { name: SHAPEFILE_LAYERS.area, rows: [] as object[], shapes: [] as unknown[] },
  };
  for (const f of fc.features) {
    const g = f.geometry;
    const [layer, shape] =
      g.type === 'Point'
        ? [layers.POINT, g.coordinates]
        : // One part per line: shp-write's own GeoJSON path joins all lines into one record.
          g.type === 'LineString'
          ? [layers.POLYLINE, [g.coordinates]]
          : g.type === 'Polygon'
            ? [layers.POLYGON, shapefileRings(g.coordinates)]
            : [layers.POLYGON, g.coordinates.map(shapefileRings)];
    const row: Record<string, Scalar> = { ...f.properties, feature_id: f.id };
    layer.rows.push(row);
    layer.shapes.push(shape);
  }
  const zip = new JSZip();
  for (const [type, layer] of Object.entries(layers)) {
    if (layer.shapes.length === 0) continue;
    shpwrite.write(layer.rows, type as OGCGeometry, layer.shapes as object[], (err, files) => {
      if (err) throw err instanceof Error ? err : new Error(String(err));
      const view = (v: unknown) => {
        const d = v as DataView;
        return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      };
      zip.file(`${layer.name}.shp`, view(files.shp));
      zip.file(`${layer.name}.shx`, view(files.shx));
      zip.file(`${layer.name}.dbf`, view(files.dbf));
      zip.file(`${layer.name}.prj`, WGS84_PRJ);
      zip.file(`${layer.name}.cpg`, 'UTF-8');
    });
  }
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}
