/* global document, fetch, localStorage, navigator */
// The page's language. Every string the page shows comes from a message catalog through `t`:
// one JSON file per language and part of the page, `dashboard/locales/<language>/<part>.json`,
// served by the node. English is complete and is what any missing key falls back to; Russian is
// complete too (test/dashboard/i18n.test.ts checks both); Azerbaijani and Armenian hold what has
// been translated so far. Dates, times and numbers go through `Intl` in the same language. The
// choice is remembered in this browser; without one, the browser's own languages decide.

/** @typedef {import('i18next').i18n} I18n */
/** @typedef {import('i18next').TOptions} TOptions */

/** The languages the page offers, each named in itself. */
export const LANGUAGES = /** @type {const} */ ([
  { code: 'en', name: 'English' },
  { code: 'ru', name: 'Русский' },
  { code: 'az', name: 'Azərbaycanca' },
  { code: 'hy', name: 'Հայերեն' },
]);

/**
 * The parts of the page, one catalog file each: `common` (the frame, sign-in, shared widgets and
 * words), `officer` (the work list), `request` (a request's page, its conversation and map),
 * `actions` (the lifecycle forms), `records` (record forms and attachments), `create` (the
 * new-request page and its drawing map), `overview` (the supervisors' overview, the access log, and
 * a mediator's requests).
 */
export const NAMESPACES = /** @type {const} */ ([
  'common',
  'officer',
  'request',
  'actions',
  'records',
  'create',
  'overview',
]);

const STORAGE_KEY = 'parley.language';
const I18NEXT_URL = '/dashboard/vendor/i18next/i18next.js';

/** @type {I18n | undefined} */
let instance;
/** @type {string} */
let current = 'en';
/** The languages whose catalogs are loaded. @type {Set<string>} */
const loaded = new Set();

/** @param {string | null | undefined} code */
const offered = (code) => LANGUAGES.some((l) => l.code === code);

/** The remembered choice, else the first of the browser's languages the page offers, else English. */
function chosenLanguage() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch {
    // Storage refused (a private window with storage off): the browser's languages decide.
  }
  if (offered(saved)) return /** @type {string} */ (saved);
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0];
    if (offered(base)) return /** @type {string} */ (base);
  }
  return 'en';
}

/**
 * One catalog; a missing file (a language with no translation of that part yet) is an empty one.
 * @param {string} lng
 * @param {string} ns
 * @returns {Promise<Record<string, unknown>>}
 */
async function catalog(lng, ns) {
  const res = await fetch(`/dashboard/locales/${lng}/${ns}.json`);
  if (res.status === 404) return {};
  if (!res.ok) throw new Error(`the ${lng} catalog ${ns} did not load (HTTP ${res.status})`);
  /** @type {unknown} */
  const body = await res.json();
  return /** @type {Record<string, unknown>} */ (body);
}

/** Loads the chosen language's catalogs and English's, before the page draws anything. */
export async function initI18n() {
  current = chosenLanguage();
  const url = I18NEXT_URL; // a variable: the browser resolves it, not TypeScript
  /** @type {unknown} */
  const module = await import(url);
  const { default: i18next } = /** @type {{ default: I18n }} */ (module);
  const languages = current === 'en' ? ['en'] : [current, 'en'];
  /** @type {Record<string, Record<string, Record<string, unknown>>>} */
  const resources = {};
  await Promise.all(
    languages.flatMap((lng) =>
      NAMESPACES.map(async (ns) => {
        (resources[lng] ??= {})[ns] = await catalog(lng, ns);
      }),
    ),
  );
  instance = i18next.createInstance();
  await instance.init({
    lng: current,
    fallbackLng: 'en',
    supportedLngs: LANGUAGES.map((l) => l.code),
    ns: [...NAMESPACES],
    defaultNS: 'common',
    resources,
    // The page escapes what it puts in the document itself (dom.js builds text nodes).
    interpolation: { escapeValue: false },
    returnNull: false,
  });
  for (const lng of languages) loaded.add(lng);
  document.documentElement.lang = current;
}

/**
 * The text of `key` (`part:path.to.key`, or a `common` key without a part) in the chosen language,
 * English where that has none. `count` picks the plural form the language needs.
 * @param {string} key
 * @param {TOptions & Record<string, unknown>} [options]
 * @returns {string}
 */
export function t(key, options) {
  if (!instance) return key;
  return /** @type {string} */ (options ? instance.t(key, options) : instance.t(key));
}

/** The chosen language's code (`en`, `ru`, …), for `Intl` and the document. */
export const language = () => current;

/**
 * Remembers a language for this browser; the caller redraws the page.
 * @param {string} code
 */
export async function setLanguage(code) {
  if (!offered(code)) return;
  // Only the first language and English were loaded at start: another one's catalogs load now.
  const i18n = instance;
  if (i18n && !loaded.has(code)) {
    await Promise.all(
      NAMESPACES.map(async (ns) => {
        i18n.addResourceBundle(code, ns, await catalog(code, ns), true, true);
      }),
    );
    loaded.add(code);
  }
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // Not remembered; it still applies until the page is reloaded.
  }
  current = code;
  await instance?.changeLanguage(code);
  document.documentElement.lang = code;
}

/** @type {Map<string, Intl.DateTimeFormat>} */
const dateFormats = new Map();
/** @type {Map<string, Intl.NumberFormat>} */
const numberFormats = new Map();
/**
 * A date and time format in the chosen language (one per language and options, kept).
 * @param {Intl.DateTimeFormatOptions} options
 */
export function dateFormat(options) {
  const key = `${current} ${JSON.stringify(options)}`;
  let f = dateFormats.get(key);
  if (!f) dateFormats.set(key, (f = new Intl.DateTimeFormat(current, options)));
  return f;
}

/**
 * A number in the chosen language's digits and separators.
 * @param {number} n
 * @param {Intl.NumberFormatOptions} [options]
 */
export function formatNumber(n, options = {}) {
  const key = `${current} ${JSON.stringify(options)}`;
  let f = numberFormats.get(key);
  if (!f) numberFormats.set(key, (f = new Intl.NumberFormat(current, options)));
  return f.format(n);
}
