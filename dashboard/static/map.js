/* global fetch, document, URL */
// A mine-map or grave request on a map (Leaflet, served by the node from its own node_modules: no
// CDN in the field): the areas the request asks about, and the records' perimeters, mine rows,
// devices, reference and turning points and accidents, or the burial sites with the circle of
// their stated uncertainty, from the node's GeoJSON export; one overlay per kind, switched in the
// layers control. Base tiles come from MAP_TILE_URL when the node has one; without, a plain
// background with a graticule and a scale, so the map works offline. Everything on the map is also
// in the table beside it, and the same data downloads as GeoJSON, KML, zipped Shapefiles or
// GeoPackage.
import { ApiError, getJson, token } from './api.js';
import { h, render, table } from './dom.js';
import { formatNumber, t } from './i18n.js';

/** @typedef {typeof import('leaflet')} Leaflet */
/** @typedef {import('./types.js').RequestDetail} RequestDetail */
/** @typedef {import('geojson').Feature} Feature */
/** @typedef {import('geojson').Geometry} Geometry */

const LEAFLET_URL = '/dashboard/vendor/leaflet/leaflet-src.esm.js';
const LEAFLET_CSS = '/dashboard/vendor/leaflet/leaflet.css';

/**
 * The kinds of feature, in the order their overlays lie (circles under their sites); each is
 * named in the table and the legend by `request:map.feature.<kind>`.
 */
const FEATURE_KINDS = [
  'requested_area',
  'perimeter',
  'mine_row',
  'device',
  'reference_point',
  'turning_point',
  'accident',
  'uncertainty_circle',
  'burial_site',
];

/**
 * What a kind of feature is called, or `fallback` for a kind the page does not know.
 * @param {string} kind
 * @param {string} fallback
 */
const featureLabel = (kind, fallback) =>
  FEATURE_KINDS.includes(kind) ? t(`request:map.feature.${kind}`) : fallback;

/** @type {Promise<Leaflet> | undefined} */
let leafletLoading;
/** Leaflet and its style sheet, loaded once, when the first map is drawn. */
export function leaflet() {
  if (!leafletLoading) {
    document.head.append(h('link', { rel: 'stylesheet', href: LEAFLET_CSS }));
    const url = LEAFLET_URL; // a variable: the browser resolves it, not TypeScript
    leafletLoading = /** @type {Promise<Leaflet>} */ (import(url));
  }
  return leafletLoading;
}

/**
 * Decimal strings (as signed records hold them) to numbers, at any depth of a coordinate array.
 * @param {unknown} c
 * @returns {unknown}
 */
const numeric = (c) => (Array.isArray(c) ? c.map(numeric) : typeof c === 'string' ? Number(c) : c);

/**
 * The subject's drawn areas as features (named areas have no geometry here).
 * @param {RequestDetail} d
 * @returns {Feature[]}
 */
function requestedAreas(d) {
  const subject = /** @type {{ items?: unknown } | undefined} */ (d.subject);
  const items = Array.isArray(subject?.items) ? /** @type {unknown[]} */ (subject.items) : [];
  /** @type {Feature[]} */
  const out = [];
  for (const raw of items) {
    const item =
      /** @type {{ item_id?: string; kind?: string; label?: string; geometry?: { type: string; coordinates: unknown } }} */ (
        raw
      );
    if (item.kind !== 'area' || !item.geometry) continue;
    out.push({
      type: 'Feature',
      geometry: /** @type {Geometry} */ ({
        type: item.geometry.type,
        coordinates: numeric(item.geometry.coordinates),
      }),
      properties: {
        feature_type: 'requested_area',
        record_id: item.item_id ?? '',
        label: item.label ?? null,
      },
    });
  }
  return out;
}

/**
 * A feature's coordinates in words: the point, or the number of vertices and the first one.
 * @param {Geometry} g
 */
export function where(g) {
  /** @param {number[]} p */
  const latLon = (p) => `${(p[1] ?? 0).toFixed(6)}, ${(p[0] ?? 0).toFixed(6)}`;
  if (g.type === 'Point') return latLon(g.coordinates);
  const flat = /** @type {number[][]} */ (
    g.type === 'LineString'
      ? g.coordinates
      : g.type === 'Polygon'
        ? g.coordinates.flat()
        : g.type === 'MultiPolygon'
          ? g.coordinates.flat(2)
          : []
  );
  const first = flat[0];
  return first
    ? t('request:map.verticesFrom', { count: flat.length, first: latLon(first) })
    : t('request:map.vertices', { count: flat.length });
}

/**
 * The step of the graticule for a view `span` degrees wide: about four to ten lines.
 * @param {number} span
 */
function graticuleStep(span) {
  const steps = [30, 10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005];
  return steps.find((s) => span / s >= 4) ?? 0.0002;
}

/**
 * A download through the API as the user (token or session cookie), saved under the node's name.
 * @param {string} path
 */
async function download(path) {
  const bearer = token.get();
  const res = await fetch(path, {
    headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
    credentials: 'same-origin',
  });
  if (!res.ok) throw new ApiError(res.status, {});
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1];
  const href = URL.createObjectURL(await res.blob());
  const a = h('a', { href, download: name ?? 'export' });
  document.body.append(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(href);
}

/**
 * A Leaflet map in `el` with a metric scale and the base layer: tiles from `tileUrl` (the node's
 * MAP_TILE_URL), or without one a plain background with a graticule, redrawn as the view moves.
 * @param {Leaflet} L
 * @param {HTMLElement} el
 * @param {string | null | undefined} tileUrl
 * @param {import('leaflet').MapOptions} [options]
 */
export function baseMap(L, el, tileUrl, options = {}) {
  const m = L.map(el, { zoomControl: true, attributionControl: Boolean(tileUrl), ...options });
  L.control.scale({ imperial: false }).addTo(m);
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19, attribution: t('request:map.attribution') }).addTo(m);
  } else {
    el.classList.add('map-offline');
    const grid = L.layerGroup().addTo(m);
    const drawGrid = () => {
      grid.clearLayers();
      const b = m.getBounds();
      const step = graticuleStep(b.getEast() - b.getWest());
      const opts = { className: 'map-graticule', interactive: false, weight: 1 };
      for (let x = Math.floor(b.getWest() / step) * step; x <= b.getEast(); x += step)
        L.polyline(
          [
            [b.getSouth(), x],
            [b.getNorth(), x],
          ],
          opts,
        ).addTo(grid);
      for (let y = Math.floor(b.getSouth() / step) * step; y <= b.getNorth(); y += step)
        L.polyline(
          [
            [y, b.getWest()],
            [y, b.getEast()],
          ],
          opts,
        ).addTo(grid);
    };
    m.on('moveend', drawGrid);
  }
  return m;
}

/**
 * A feature's stated uncertainty radius in metres (burial sites), or 0.
 * @param {HasProperties} f
 */
function uncertaintyOf(f) {
  const r = propsOf(f).uncertainty_m;
  return typeof r === 'number' && r > 0 ? r : 0;
}

/**
 * The map panel of a request page (officers; mine-map and grave requests).
 * @param {import('./types.js').ViewContext} ctx
 * @param {string} id
 */
export function mapPanel(ctx, id) {
  const mapEl = h('div', {
    class: 'map-view',
    id: 'request-map',
    role: 'region',
    'aria-label': t('request:map.label'),
  });
  const tableSlot = h('div', { class: 'map-table' });
  const status = h('p', { class: 'help', role: 'status' });
  const base = `/v1/requests/${encodeURIComponent(id)}`;
  /** @param {string} label @param {string} path */
  const button = (label, path) =>
    h(
      'button',
      {
        type: 'button',
        onclick: () => {
          download(path).then(
            () => ctx.announce(t('request:map.downloaded', { format: label })),
            (/** @type {unknown} */ err) =>
              render(
                status,
                t('request:map.downloadFailed', { format: label, error: String(err) }),
              ),
          );
        },
      },
      label,
    );
  const panel = h(
    'section',
    { class: 'panel map-panel', id: 'map', 'aria-labelledby': 'map-title', hidden: true },
    h('h2', { id: 'map-title' }, t('request:map.heading')),
    h(
      'p',
      { class: 'map-downloads' },
      `${t('request:map.download')} `,
      button(t('request:map.format.geojson'), `${base}/geojson`),
      ' ',
      button(t('request:map.format.kml'), `${base}/export.kml`),
      ' ',
      button(t('request:map.format.shapefiles'), `${base}/export.zip`),
      ' ',
      button(t('request:map.format.geopackage'), `${base}/export.gpkg`),
    ),
    status,
    h('div', { class: 'map-layout' }, mapEl, tableSlot),
  );

  /** @type {import('leaflet').Map | undefined} */
  let map;
  /** @type {import('leaflet').LayerGroup | undefined} */
  let data;
  /** @type {import('leaflet').Control.Layers | undefined} */
  let overlays;
  let drawnKey = '';

  /** @param {Leaflet} L */
  const makeMap = (L) => baseMap(L, mapEl, ctx.config.mapTileUrl);

  /**
   * @param {Leaflet} L
   * @param {Feature[]} features
   */
  function draw(L, features) {
    map ??= makeMap(L);
    data?.remove();
    overlays?.remove();
    // The export's uncertainty circles are polygons for GIS files; here Leaflet draws the circle
    // itself from the site's point and radius, in metres on the ground at any zoom.
    const shown = features.filter((f) => kindOf(f) !== 'uncertainty_circle');
    /** One overlay per kind of feature, in the order they lie: circles under their sites. */
    const groups = new Map(FEATURE_KINDS.map((k) => [k, L.layerGroup()]));
    const bounds = L.latLngBounds([]);
    for (const f of shown) {
      const kind = kindOf(f);
      const cls = `map-${kind.replaceAll('_', '-')}`;
      const layer = L.geoJSON(f, {
        style: () => ({ className: cls }),
        pointToLayer: (_, latlng) =>
          L.circleMarker(latlng, { radius: 6, className: `map-point ${cls}` }),
        onEachFeature: (_, l) => l.bindTooltip(nameOf(f)),
      });
      if (!groups.has(kind)) groups.set(kind, L.layerGroup());
      groups.get(kind)?.addLayer(layer);
      if (layer.getBounds().isValid()) bounds.extend(layer.getBounds());
      const radius = uncertaintyOf(f);
      if (f.geometry?.type === 'Point' && radius > 0) {
        const [lon = 0, lat = 0] = f.geometry.coordinates;
        const centre = L.latLng(lat, lon);
        groups
          .get('uncertainty_circle')
          ?.addLayer(
            L.circle(centre, { radius, className: 'map-uncertainty-circle' }).bindTooltip(
              t('request:map.within', { name: nameOf(f), radius: formatNumber(radius) }),
            ),
          );
        bounds.extend(centre.toBounds(2 * radius));
      }
    }
    const present = [...groups].filter(([, g]) => g.getLayers().length > 0);
    data = L.layerGroup(present.map(([, g]) => g)).addTo(map);
    overlays = L.control
      .layers(
        undefined,
        Object.fromEntries(
          present.map(([k, g]) => [
            t('request:map.overlay', {
              feature: featureLabel(k, k),
              number: formatNumber(g.getLayers().length),
            }),
            g,
          ]),
        ),
        { collapsed: true },
      )
      .addTo(map);
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17, animate: false });
    else map.setView([0, 0], 2, { animate: false });
    render(
      tableSlot,
      table(
        t('request:map.table.caption'),
        [
          t('request:map.table.feature'),
          t('request:map.table.record'),
          t('request:map.table.name'),
          t('request:map.table.where'),
        ],
        shown.map((f) =>
          h(
            'tr',
            { 'data-feature-type': kindOf(f) },
            h('td', {}, featureLabel(kindOf(f), '—')),
            h('td', {}, textOf(propsOf(f).record_id)),
            h('td', {}, labelOf(f)),
            h(
              'td',
              {},
              f.geometry ? where(f.geometry) : '—',
              uncertaintyOf(f) > 0
                ? ` ${t('request:map.plusMinus', { radius: formatNumber(uncertaintyOf(f)) })}`
                : '',
            ),
          ),
        ),
        { empty: t('request:map.table.empty') },
      ),
    );
  }

  /**
   * Shows the map of a mine-map or grave request; redrawn when a response comes in.
   * @param {RequestDetail} d
   */
  async function update(d) {
    if (d.type !== 'mine_map' && d.type !== 'grave_information') return;
    const key = JSON.stringify([d.timeline.length, d.status]);
    if (key === drawnKey) return;
    drawnKey = key;
    panel.hidden = false;
    try {
      const [L, fc] = await Promise.all([
        leaflet(),
        /** @type {Promise<import('geojson').FeatureCollection>} */ (getJson(`${base}/geojson`)),
      ]);
      draw(L, [...requestedAreas(d), ...fc.features]);
      render(status);
    } catch (err) {
      drawnKey = '';
      if (!ctx.sessionLost(err)) render(status, t('request:map.notDrawn', { error: String(err) }));
    }
  }

  return {
    panel,
    /** @param {RequestDetail} d */
    update: (d) => void update(d),
    stop: () => {
      map?.remove();
      map = undefined;
    },
  };
}

/** @typedef {{ properties?: unknown } | undefined} HasProperties */

/** @param {HasProperties} f */
const propsOf = (f) => /** @type {Record<string, unknown>} */ (f?.properties ?? {});

/** A feature's kind (`feature_type`), or '' if it has none. @param {HasProperties} f */
function kindOf(f) {
  const kind = propsOf(f).feature_type;
  return typeof kind === 'string' ? kind : '';
}

/** A scalar property as text; anything else as a dash. @param {unknown} v */
const textOf = (v) =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '—';

/** @param {HasProperties} f */
function labelOf(f) {
  const p = propsOf(f);
  const burial =
    typeof p.burial === 'string'
      ? t(`request:map.burial.${p.burial}`, { defaultValue: `${p.burial} burial` })
      : undefined;
  return textOf(p.label ?? p.ref_id ?? p.row_id ?? p.model ?? p.landmark ?? burial);
}

/** @param {HasProperties} f */
const nameOf = (f) =>
  t('request:map.featureName', {
    feature: featureLabel(kindOf(f), t('request:map.featureUnknown')),
    label: labelOf(f),
  });
