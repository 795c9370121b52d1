// The map export as an OGC GeoPackage (ArcGIS, QGIS and IMSMA open it as it is): one feature
// table per geometry type, as the Shapefile export has one file per type (`points`, `lines`,
// `areas`), WGS 84 (EPSG:4326), every attribute a column with its type, and the feature's id.
//
// Written by NGA's GeoPackage library (@ngageoint/geopackage). In Node it would use the native
// better-sqlite3, an optional dependency that does not install here: its releases that match the
// library's range want Node 22, and a native build would need binaries from outside the npm
// registry. The library's own fallback, SQLite compiled to WebAssembly (sql.js, through
// rtree-sql.js), works in Node only when told where its .wasm is: left alone it fetch()es a
// relative URL and fails. So this module always uses the sql.js adapter (the same on every
// machine, whatever better-sqlite3 does), hands it the .wasm the library ships as a data: URL,
// and builds the file in memory. The library is loaded on the first export, not at start.
import type * as GeoPackageLibrary from '@ngageoint/geopackage';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { NumericPosition } from '../schemas/domain/geo.js';
import type { Feature, FeatureCollection, Scalar } from './geojson-export.js';
import { SHAPEFILE_LAYERS } from './map-export.js';

export const GEOPACKAGE_MEDIA_TYPE = 'application/geopackage+sqlite3';

/** The feature tables, one per geometry type, named as the Shapefiles are. */
export const GEOPACKAGE_LAYERS = SHAPEFILE_LAYERS;

type GeoPackageModule = typeof GeoPackageLibrary;

let loading: Promise<GeoPackageModule> | undefined;

/**
 * The library, set up once: the sql.js adapter and its WebAssembly. Its index registers the
 * better-sqlite3 adapter on load and, when that module is absent, prints the failed require's
 * stack with console.error before falling back: that one expected message is not passed on.
 */
function library(): Promise<GeoPackageModule> {
  loading ??= (async () => {
    const printError = console.error;
    console.error = (...args: unknown[]) => {
      const first = args[0];
      if (typeof first === 'string' && first.startsWith('Unable to register SqliteAdapter')) return;
      printError(...args);
    };
    let gp: GeoPackageModule;
    try {
      const mod = (await import('@ngageoint/geopackage')) as GeoPackageModule & {
        default?: GeoPackageModule;
      };
      gp = mod.default ?? mod;
    } finally {
      console.error = printError;
    }
    gp.Context.setupCustomContext(gp.SqljsAdapter, gp.CanvasKitCanvasAdapter);
    const require = createRequire(import.meta.url);
    const wasm = await fs.readFile(require.resolve('@ngageoint/geopackage/dist/sql-wasm.wasm'));
    const url = `data:application/wasm;base64,${wasm.toString('base64')}`;
    gp.setSqljsWasmLocateFile(() => url);
    return gp;
  })().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

type ColumnType = 'INTEGER' | 'REAL' | 'BOOLEAN' | 'TEXT';

/** Measures (`accuracy_m`, `uncertainty_m`, `bearing_deg`, ...): real in every file, even whole. */
const isMeasure = (name: string) => /_(m|deg)$/.test(name);

/** A column's type from its name and the values it holds (nulls say nothing); mixed kinds: text. */
function columnType(name: string, values: readonly Scalar[]): ColumnType {
  const kinds = new Set(values.filter((v) => v !== null).map((v) => typeof v));
  if (kinds.size > 1) return 'TEXT';
  if (kinds.has('boolean')) return 'BOOLEAN';
  if (kinds.has('number') || (kinds.size === 0 && isMeasure(name)))
    return !isMeasure(name) && values.every((v) => v === null || Number.isInteger(v))
      ? 'INTEGER'
      : 'REAL';
  return 'TEXT';
}

/** GeoJSON geometries as the layer's type: polygons become one-part multipolygons. */
function layerOf(f: Feature): { layer: keyof typeof GEOPACKAGE_LAYERS; geometry: object } {
  const g = f.geometry;
  switch (g.type) {
    case 'Point':
      return { layer: 'point', geometry: g };
    case 'LineString':
      return { layer: 'line', geometry: g };
    case 'Polygon':
      return { layer: 'area', geometry: { type: 'MultiPolygon', coordinates: [g.coordinates] } };
    case 'MultiPolygon':
      return { layer: 'area', geometry: g };
  }
}

const GEOMETRY_TYPE = { point: 'POINT', line: 'LINESTRING', area: 'MULTIPOLYGON' } as const;

/** Every position of a geometry, for the layer's extent. */
function positions(g: Feature['geometry']): NumericPosition[] {
  switch (g.type) {
    case 'Point':
      return [g.coordinates];
    case 'LineString':
      return g.coordinates;
    case 'Polygon':
      return g.coordinates.flat();
    case 'MultiPolygon':
      return g.coordinates.flat(2);
  }
}

/**
 * A GeoPackage of the features: `points`, `lines` and `areas` feature tables (a type with no
 * feature has no table), geometry column `geom`, primary key `id`, a `feature_id` column with the
 * GeoJSON feature's id, and one column per attribute of the layer's features (a feature without
 * one has null there). Each table's extent in gpkg_contents is its features'.
 */
export async function geoPackage(fc: FeatureCollection): Promise<Buffer> {
  const gp = await library();
  const groups = new Map<keyof typeof GEOPACKAGE_LAYERS, { f: Feature; geometry: object }[]>();
  for (const f of fc.features) {
    const { layer, geometry } = layerOf(f);
    const list = groups.get(layer) ?? [];
    list.push({ f, geometry });
    groups.set(layer, list);
  }
  const db = await gp.GeoPackageAPI.create();
  try {
    for (const key of ['point', 'line', 'area'] as const) {
      const members = groups.get(key);
      if (!members) continue;
      const table = GEOPACKAGE_LAYERS[key];
      const names = [...new Set(members.flatMap(({ f }) => Object.keys(f.properties)))];
      const columns = [
        { name: 'feature_id', dataType: 'TEXT' },
        ...names.map((name) => ({
          name,
          dataType: columnType(
            name,
            members.map(({ f }) => f.properties[name] ?? null),
          ),
        })),
      ];
      const text = new Set(columns.filter((c) => c.dataType === 'TEXT').map((c) => c.name));
      const geometryColumns = new gp.GeometryColumns();
      geometryColumns.table_name = table;
      geometryColumns.column_name = 'geom';
      geometryColumns.geometry_type_name = GEOMETRY_TYPE[key];
      geometryColumns.z = 0;
      geometryColumns.m = 0;
      const all = members.flatMap(({ f }) => positions(f.geometry));
      const lons = all.map((p) => p[0]);
      const lats = all.map((p) => p[1]);
      const extent = new gp.BoundingBox(
        Math.min(...lons),
        Math.max(...lons),
        Math.min(...lats),
        Math.max(...lats),
      );
      db.createFeatureTable(table, geometryColumns, columns, extent, 4326);
      members.forEach(({ f, geometry }, i) => {
        // Every column given, and the key too: the sql.js adapter cannot bind an undefined one.
        const row: Record<string, Scalar> = { id: i + 1, feature_id: f.id };
        for (const name of names) {
          const v = f.properties[name] ?? null;
          row[name] = v !== null && text.has(name) ? String(v) : v;
        }
        db.addGeoJSONFeatureToGeoPackage(
          { type: 'Feature', geometry, properties: row } as Parameters<
            typeof db.addGeoJSONFeatureToGeoPackage
          >[0],
          table,
        );
      });
    }
    return Buffer.from((await db.export()) as Uint8Array);
  } finally {
    db.close();
  }
}
