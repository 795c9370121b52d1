/* global document, DOMParser */
// The areas a request asks about, drawn on a map or given without one. The map is Leaflet (map.js:
// same base layer, tiles from MAP_TILE_URL or an offline graticule) with Leaflet-Geoman's polygon
// and rectangle tools, both served by the node itself (no CDN in the field). The same areas can be
// imported from a GeoJSON or KML file (KML read by @tmcw/togeojson, also served by the node) or
// typed as coordinates, which is also the way without a mouse. Every area is listed beside the map
// in words (its vertices, where it starts), with a name field and a button to remove it.
import { h, render } from './dom.js';
import { language, t } from './i18n.js';
import { baseMap, leaflet, where } from './map.js';

/** @typedef {typeof import('leaflet')} Leaflet */
/** Leaflet-Geoman's additions to Leaflet's types (`map.pm`, `pmIgnore`). */
/** @typedef {typeof import('@geoman-io/leaflet-geoman-free')} Geoman */
/** @typedef {import('leaflet').Map} LeafletMap */
/** @typedef {import('leaflet').Layer} Layer */
/** @typedef {[number, number][]} Ring [longitude, latitude] pairs, closed */
/** @typedef {Ring[]} Polygon the exterior ring, then any holes */

/**
 * One area: one polygon or several (a multipolygon). A drawn part keeps its layer, so an edit on
 * the map is what is sent; an imported or typed part keeps its coordinates.
 * @typedef {{ layer: Layer; coords?: Polygon }} Part
 * @typedef {{ n: number; label: HTMLInputElement; parts: Part[]; row: HTMLElement;
 *   error: HTMLElement }} Area
 */

const GEOMAN_URL = '/dashboard/vendor/leaflet-geoman/leaflet-geoman.min.js';
const GEOMAN_CSS = '/dashboard/vendor/leaflet-geoman/leaflet-geoman.css';
const TOGEOJSON_URL = '/dashboard/vendor/togeojson/togeojson.es.mjs';

/**
 * Leaflet-Geoman's words that its polygon, rectangle, edit and removal tools show (button titles,
 * the hints that follow the pointer, the actions beside a button), as catalog keys by Geoman's
 * own names; what is not listed stays Geoman's English.
 */
const GEOMAN_KEYS = {
  tooltips: ['firstVertex', 'continueLine', 'finishLine', 'finishPoly', 'finishRect'],
  actions: ['finish', 'cancel', 'removeLastVertex'],
  buttonTitles: ['drawPolyButton', 'drawRectButton', 'editButton', 'deleteButton'],
};

/**
 * Geoman's words in the page's language. Geoman keeps the language on its global `L.PM`, so it is
 * set every time a map is made; English is Geoman's own.
 * @param {import('leaflet').Map} map
 */
function geomanLanguage(map) {
  const lng = language();
  if (lng === 'en') {
    map.pm.setLang('en');
    return;
  }
  /** @type {Record<string, Record<string, string>>} */
  const words = {};
  for (const [group, names] of Object.entries(GEOMAN_KEYS))
    for (const name of names) (words[group] ??= {})[name] = t(`create:geoman.${group}.${name}`);
  // Geoman merges the words into its translation of the fallback language, changing that in place:
  // the fallback is the language itself, so its English stays whole. A language Geoman has no
  // translation of gets just these words; Geoman shows its English for any other.
  const code = /** @type {import('leaflet').PM.SupportLocales} */ (lng);
  map.pm.setLang(code, words, code);
}

/** @type {Promise<Leaflet> | undefined} */
let drawingLoading;
/**
 * Leaflet with Leaflet-Geoman on it. Geoman is a classic script that extends the global `L`; the
 * page's Leaflet is an ES module, whose namespace cannot take new members, so Geoman gets a copy
 * (the classes it extends are the same objects).
 * @returns {Promise<Leaflet>}
 */
function leafletWithDrawing() {
  drawingLoading ??= (async () => {
    const L = await leaflet();
    if (!document.querySelector(`link[href="${GEOMAN_CSS}"]`))
      document.head.append(h('link', { rel: 'stylesheet', href: GEOMAN_CSS }));
    const global = /** @type {{ L?: Leaflet }} */ (/** @type {unknown} */ (globalThis));
    global.L ??= /** @type {Leaflet} */ ({ ...L });
    const url = GEOMAN_URL; // a variable: the browser resolves it, not TypeScript
    await import(url);
    return global.L;
  })();
  return drawingLoading;
}

/**
 * A coordinate as the API's decimal string: at most 7 decimals (about 1 cm), no trailing zeros.
 * @param {number} n
 */
export const decimal = (n) => n.toFixed(7).replace(/\.?0+$/, '') || '0';

/** @param {Ring} ring */
const closed = (ring) => {
  const first = ring[0];
  const last = ring[ring.length - 1];
  return first && last && (first[0] !== last[0] || first[1] !== last[1]) ? [...ring, first] : ring;
};

/**
 * The polygons of a GeoJSON geometry (a polygon, each member of a multipolygon or a collection);
 * points and lines have none.
 * @param {import('geojson').Geometry | null | undefined} g
 * @returns {Polygon[]}
 */
function polygonsOf(g) {
  if (!g) return [];
  /** @param {import('geojson').Position[][]} rings */
  const rings = (rings) =>
    rings.map((r) =>
      closed(r.map((p) => /** @type {[number, number]} */ ([p[0] ?? 0, p[1] ?? 0]))),
    );
  if (g.type === 'Polygon') return [rings(g.coordinates)];
  if (g.type === 'MultiPolygon') return g.coordinates.map(rings);
  if (g.type === 'GeometryCollection') return g.geometries.flatMap(polygonsOf);
  return [];
}

/**
 * The areas of a GeoJSON document: one per feature (or the geometry itself), named from the
 * feature's `name`, `label` or `title`; how many features were not areas.
 * @param {unknown} doc
 * @returns {{ areas: { name: string; polygons: Polygon[] }[]; skipped: number }}
 */
export function areasOfGeoJson(doc) {
  const d = /** @type {{ type?: unknown; features?: unknown; geometry?: unknown }} */ (doc ?? {});
  /** @type {unknown[]} */
  const features =
    d.type === 'FeatureCollection' && Array.isArray(d.features)
      ? d.features
      : d.type === 'Feature'
        ? [d]
        : [{ type: 'Feature', geometry: d, properties: {} }];
  /** @type {{ name: string; polygons: Polygon[] }[]} */
  const areas = [];
  let skipped = 0;
  for (const raw of features) {
    const f = /** @type {import('geojson').Feature} */ (raw);
    const polygons = polygonsOf(f?.geometry);
    if (!polygons.length) {
      skipped++;
      continue;
    }
    const p = /** @type {Record<string, unknown>} */ (f.properties ?? {});
    const name = [p.name, p.label, p.title].find((v) => typeof v === 'string' && v.trim());
    areas.push({ name: typeof name === 'string' ? name.trim().slice(0, 200) : '', polygons });
  }
  return { areas, skipped };
}

/**
 * Polygons typed as text: one "latitude, longitude" per line (a comma, a space or both between),
 * a blank line before each further polygon of the same area. Rings are closed for the user.
 * @param {string} text
 * @returns {{ polygons: Polygon[] } | { error: string }}
 */
export function polygonsOfText(text) {
  /** @type {Polygon[]} */
  const polygons = [];
  const blocks = text
    .split(/\n\s*\n/)
    .map((b) => b.trim())
    .filter(Boolean);
  if (!blocks.length) return { error: t('create:coords.errors.empty') };
  for (const [bi, block] of blocks.entries()) {
    /** @type {Ring} */
    const ring = [];
    for (const [li, line] of block.split('\n').entries()) {
      const m = /^\s*(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$/.exec(line);
      const lat = Number(m?.[1]);
      const lon = Number(m?.[2]);
      if (!m || Math.abs(lat) > 90 || Math.abs(lon) > 180)
        return {
          error: t('create:coords.errors.line', { polygon: bi + 1, line: li + 1 }),
        };
      ring.push([lon, lat]);
    }
    const ringClosed = closed(ring);
    if (ringClosed.length < 4)
      return { error: t('create:coords.errors.tooFew', { polygon: bi + 1 }) };
    polygons.push([ringClosed]);
  }
  return { polygons };
}

/**
 * An area's GeoJSON geometry with decimal-string coordinates: a Polygon, or a MultiPolygon when it
 * has several parts.
 * @param {Polygon[]} polygons
 */
export function geometryOf(polygons) {
  /** @param {Polygon} p */
  const wire = (p) => p.map((ring) => ring.map(([x, y]) => [decimal(x), decimal(y)]));
  return polygons.length === 1 && polygons[0]
    ? { type: 'Polygon', coordinates: wire(polygons[0]) }
    : { type: 'MultiPolygon', coordinates: polygons.map(wire) };
}

/**
 * The areas editor: a map to draw on, an import, a coordinates box, and the list of areas.
 * @param {{ idPrefix: string; tileUrl: string | null | undefined; announce: (text: string) => void }} opts
 */
export function areaEditor(opts) {
  const { idPrefix } = opts;
  /** @type {Area[]} */
  const areas = [];
  let counter = 0;
  const mapEl = h('div', {
    class: 'map-view draw-map',
    id: `${idPrefix}-map`,
    role: 'region',
    'aria-label': t('create:map.label'),
  });
  const status = h('p', { class: 'help', role: 'status' });
  const list = h('ol', { class: 'area-list', id: `${idPrefix}-list` });
  const empty = h('p', { class: 'empty' }, t('create:areas.none'));
  const target = h('select', { id: `${idPrefix}-target` });
  const importInput = h('input', {
    type: 'file',
    id: `${idPrefix}-file`,
    accept: '.geojson,.json,.kml,application/geo+json,application/vnd.google-earth.kml+xml',
    'aria-describedby': `${idPrefix}-file-error`,
  });
  const importError = h('p', { class: 'field-error', id: `${idPrefix}-file-error` });
  const coordsInput = h('textarea', {
    id: `${idPrefix}-coords`,
    rows: 5,
    'aria-describedby': `${idPrefix}-coords-hint ${idPrefix}-coords-error`,
  });
  const coordsError = h('p', { class: 'field-error', id: `${idPrefix}-coords-error` });
  /** Errors about the areas as a whole ("at least one area"). */
  const listError = h('p', { class: 'field-error', id: `${idPrefix}-list-error` });

  /** @type {LeafletMap | undefined} */
  let map;
  /** @type {Leaflet | undefined} */
  let Lref;
  /** @type {Promise<void> | undefined} */
  let starting;

  const drawTarget = () => {
    const before = target.value;
    render(
      target,
      h('option', { value: '' }, t('create:target.new')),
      areas.map((a) => h('option', { value: String(a.n) }, t('create:areas.area', { n: a.n }))),
    );
    target.value = areas.some((a) => String(a.n) === before) ? before : '';
  };

  /** @param {Area} a */
  const describe = (a) => {
    const polygons = polygonsOfArea(a);
    const geometry = /** @type {import('geojson').Geometry} */ (
      polygons.length === 1
        ? { type: 'Polygon', coordinates: polygons[0] }
        : { type: 'MultiPolygon', coordinates: polygons }
    );
    return polygons.length === 1
      ? t('create:areas.summary.polygon', { where: where(geometry) })
      : t('create:areas.summary.multipolygon', {
          count: polygons.length,
          where: where(geometry),
        });
  };

  const redrawList = () => {
    for (const a of areas) {
      const summary = a.row.querySelector('.area-summary');
      if (summary) summary.textContent = describe(a);
    }
    empty.hidden = areas.length > 0;
    drawTarget();
  };

  /** @param {Area} a */
  const polygonsOfArea = (a) =>
    a.parts.flatMap((p) => {
      if (p.coords) return [p.coords];
      const gj = /** @type {import('leaflet').Polygon} */ (p.layer).toGeoJSON();
      return polygonsOf(gj.geometry);
    });

  /** @param {Area} a */
  const removeArea = (a) => {
    for (const p of a.parts) p.layer.remove();
    areas.splice(areas.indexOf(a), 1);
    a.row.remove();
    redrawList();
  };

  /** @param {string} name */
  const newArea = (name) => {
    const n = ++counter;
    const id = `${idPrefix}-${n}`;
    const error = h('p', { class: 'field-error', id: `${id}-error` });
    const label = h('input', {
      type: 'text',
      id: `${id}-label`,
      maxlength: 200,
      'aria-describedby': `${id}-error`,
    });
    label.value = name;
    const row = h(
      'li',
      { class: 'area', 'data-area': String(n) },
      h(
        'div',
        { class: 'field' },
        h('label', { for: `${id}-label` }, t('create:areas.name', { n })),
        label,
      ),
      h('p', { class: 'area-summary' }),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'secondary small',
            onclick: () => {
              const layers = a.parts.map((p) => p.layer);
              if (map && Lref && layers.length)
                map.fitBounds(Lref.featureGroup(layers).getBounds(), {
                  maxZoom: 16,
                  animate: false,
                });
            },
          },
          t('create:areas.show'),
          h('span', { class: 'visually-hidden' }, `: ${t('create:areas.which', { n })}`),
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary small danger',
            onclick: () => {
              removeArea(a);
              opts.announce(t('create:areas.removed', { n }));
              coordsInput.focus();
            },
          },
          t('create:areas.remove'),
          h('span', { class: 'visually-hidden' }, ` ${t('create:areas.which', { n })}`),
        ),
      ),
      error,
    );
    /** @type {Area} */
    const a = { n, label, parts: [], row, error };
    areas.push(a);
    list.append(a.row);
    return a;
  };

  /** The area a new drawn or typed polygon goes to: the one chosen, or a new one. */
  const targetArea = () => areas.find((a) => String(a.n) === target.value) ?? newArea('');

  /**
   * A shown, not editable layer for coordinates that were imported or typed.
   * @param {Polygon} polygon
   */
  const shapeLayer = async (polygon) => {
    const L = Lref ?? (await leaflet());
    const layer = L.polygon(
      polygon.map((ring) => ring.map(([x, y]) => /** @type {[number, number]} */ ([y, x]))),
      { className: 'map-requested-area', pmIgnore: true, interactive: false },
    );
    if (map) layer.addTo(map);
    return layer;
  };

  /**
   * Adds polygons from outside the map: to the chosen area, or as one new area.
   * @param {Polygon[]} polygons
   * @param {{ name?: string; area?: Area }} [into]
   */
  const addPolygons = async (polygons, into = {}) => {
    const a = into.area ?? targetArea();
    if (into.name && !a.label.value) a.label.value = into.name;
    for (const coords of polygons) a.parts.push({ layer: await shapeLayer(coords), coords });
    redrawList();
    return a;
  };

  const fitAll = () => {
    if (!map || !Lref) return;
    const layers = areas.flatMap((a) => a.parts.map((p) => p.layer));
    if (layers.length)
      map.fitBounds(Lref.featureGroup(layers).getBounds(), { maxZoom: 16, animate: false });
  };

  /** @param {File} file */
  const importFile = async (file) => {
    render(importError);
    importInput.removeAttribute('aria-invalid');
    try {
      const text = await file.text();
      /** @type {unknown} */
      let doc;
      if (/\.kml$/i.test(file.name) || /^\s*<(\?xml|kml)/.test(text)) {
        const xml = new DOMParser().parseFromString(text, 'application/xml');
        if (xml.getElementsByTagName('parsererror').length)
          throw new Error(t('create:import.errors.notKml'));
        const url = TOGEOJSON_URL;
        const togeojson = await /** @type {Promise<typeof import('@tmcw/togeojson')>} */ (
          import(url)
        );
        doc = togeojson.kml(xml);
      } else doc = /** @type {unknown} */ (JSON.parse(text));
      const found = areasOfGeoJson(doc);
      if (!found.areas.length) throw new Error(t('create:import.errors.noPolygon'));
      const first = areas.length;
      for (const a of found.areas)
        await addPolygons(a.polygons, { name: a.name, area: newArea('') });
      fitAll();
      const imported = t('create:import.imported', { count: areas.length - first });
      const said = found.skipped
        ? t('create:import.doneSkipped', {
            imported,
            file: file.name,
            skipped: t('create:import.skipped', { count: found.skipped }),
          })
        : t('create:import.done', { imported, file: file.name });
      render(status, said);
      opts.announce(said);
    } catch (err) {
      importInput.setAttribute('aria-invalid', 'true');
      render(
        importError,
        t('create:import.errors.failed', { file: file.name, error: String(err) }),
      );
    }
  };
  importInput.addEventListener('change', () => {
    const file = importInput.files?.[0];
    if (file) void importFile(file).finally(() => (importInput.value = ''));
  });

  const addTyped = async () => {
    render(coordsError);
    coordsInput.removeAttribute('aria-invalid');
    const text = coordsInput.value;
    const parsed = polygonsOfText(text);
    if ('error' in parsed) {
      coordsInput.setAttribute('aria-invalid', 'true');
      render(coordsError, parsed.error);
      coordsInput.focus();
      return;
    }
    const a = await addPolygons(parsed.polygons);
    // Emptied only if it still holds what was added: the first add waits for the map's library,
    // and what was typed meanwhile (the next polygon) must not be lost.
    if (coordsInput.value === text) coordsInput.value = '';
    fitAll();
    opts.announce(t('create:coords.added', { n: a.n, count: a.parts.length }));
  };

  /** Creates the map once its element is in the page and visible (Leaflet measures it). */
  const start = () => {
    starting ??= (async () => {
      try {
        const L = await leafletWithDrawing();
        Lref = L;
        map = baseMap(L, mapEl, opts.tileUrl);
        map.setView([20, 10], 2, { animate: false });
        map.pm.setGlobalOptions({ allowSelfIntersection: false, snappable: false });
        geomanLanguage(map);
        map.pm.addControls({
          position: 'topleft',
          drawMarker: false,
          drawCircleMarker: false,
          drawPolyline: false,
          drawCircle: false,
          drawText: false,
          drawRectangle: true,
          drawPolygon: true,
          editMode: true,
          dragMode: false,
          cutPolygon: false,
          removalMode: true,
          rotateMode: false,
        });
        // Geoman's buttons are links with a title on their container: their name, for screen readers.
        for (const c of mapEl.querySelectorAll('.button-container[title]'))
          c.querySelector('a.leaflet-buttons-control-button')?.setAttribute(
            'aria-label',
            c.getAttribute('title') ?? '',
          );
        map.on('pm:create', (e) => {
          const a = targetArea();
          a.parts.push({ layer: e.layer });
          e.layer.on('pm:edit', redrawList);
          redrawList();
          const said = t('create:map.drawn', { n: a.n, part: a.parts.length });
          render(status, said);
          opts.announce(said);
        });
        map.on('pm:remove', (e) => {
          const a = areas.find((x) => x.parts.some((p) => p.layer === e.layer));
          if (!a) return;
          a.parts = a.parts.filter((p) => p.layer !== e.layer);
          if (!a.parts.length) removeArea(a);
          else redrawList();
        });
        for (const a of areas) for (const p of a.parts) p.layer.addTo(map);
        fitAll();
      } catch (err) {
        render(status, t('create:map.failed', { error: String(err) }));
      }
    })();
    void starting.then(() => map?.invalidateSize());
  };

  // Centring the map on a place: offline there are no tiles to find it by.
  const goInput = h('input', {
    type: 'text',
    id: `${idPrefix}-go`,
    inputmode: 'decimal',
    'aria-describedby': `${idPrefix}-go-error`,
  });
  const goError = h('p', { class: 'field-error', id: `${idPrefix}-go-error` });
  const goTo = () => {
    render(goError);
    goInput.removeAttribute('aria-invalid');
    const m = /^\s*(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$/.exec(goInput.value);
    const lat = Number(m?.[1]);
    const lon = Number(m?.[2]);
    if (!m || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
      goInput.setAttribute('aria-invalid', 'true');
      render(goError, t('create:go.error'));
      return;
    }
    map?.setView([lat, lon], 14, { animate: false });
    opts.announce(t('create:go.done', { lat, lon }));
  };
  // Enter goes there, rather than sending the whole form.
  goInput.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    goTo();
  });

  const element = h(
    'div',
    { class: 'area-editor' },
    h('p', { class: 'help' }, t('create:map.help')),
    h(
      'div',
      { class: 'field' },
      h('label', { for: `${idPrefix}-target` }, t('create:target.label')),
      target,
    ),
    h(
      'div',
      { class: 'draw-layout' },
      mapEl,
      h(
        'div',
        { class: 'area-side' },
        h('h4', { id: `${idPrefix}-list-title` }, t('create:areas.heading')),
        empty,
        list,
        listError,
      ),
    ),
    status,
    h(
      'div',
      { class: 'field go-to' },
      h('label', { for: `${idPrefix}-go` }, t('create:go.label')),
      h(
        'div',
        { class: 'actions' },
        goInput,
        h('button', { type: 'button', class: 'secondary', onclick: goTo }, t('create:go.button')),
      ),
      goError,
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: `${idPrefix}-file` }, t('create:import.label')),
      importInput,
      importError,
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: `${idPrefix}-coords` }, t('create:coords.label')),
      h('p', { class: 'hint', id: `${idPrefix}-coords-hint` }, t('create:coords.hint')),
      coordsInput,
      coordsError,
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => void addTyped() },
          t('create:coords.add'),
        ),
      ),
    ),
  );
  drawTarget();

  return {
    element,
    start,
    listError,
    /** The areas in order, with what the request body needs of each. */
    areas: () =>
      areas.map((a) => ({
        label: a.label.value.trim(),
        polygons: polygonsOfArea(a),
        // An error about the shape is said in the area's row (the focus goes to the message); one
        // about the name marks the name field too.
        slot: { error: a.error, controls: /** @type {HTMLElement[]} */ ([]) },
        labelSlot: { error: a.error, controls: [/** @type {HTMLElement} */ (a.label)] },
      })),
    stop: () => {
      map?.remove();
      map = undefined;
    },
  };
}
