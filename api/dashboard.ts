// The dashboard: a same-origin web page for supervisors and officers, served by the node itself so
// it needs no server, build step or CDN of its own. Static HTML, CSS and ES modules from
// `dashboard/`; everything it shows comes from the role-checked JSON API with the user's token, so
// the page holds no data the API would not give that user.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Router } from 'express';
import express, { type RequestHandler } from 'express';
import type pg from 'pg';
import { relevantNotifications, type ListedNotification } from '../db/notifications.js';
import { principalOf, type Authenticator } from './auth.js';
import { DeclaredRouter } from './routes.js';

export interface DashboardDeps {
  partyId: string;
  pool: pg.Pool;
  auth: Authenticator;
  /** Temporal namespace of this node, for links to its workflows. */
  namespace: string;
  /** Base URL of the Temporal Web UI, when known (embedded dev server or TEMPORAL_UI_URL). */
  temporalUiUrl?: string | undefined;
  /** The node has browser sign-in (`/auth/login`). */
  signIn?: boolean;
  /** Base map tiles (MAP_TILE_URL, a `{z}/{x}/{y}` template); none: the map draws a graticule. */
  mapTileUrl?: string | undefined;
}

/** What the page needs before anyone signs in: whose node it is and where its workflows are shown. */
export interface DashboardConfig {
  partyId: string;
  temporalUiUrl: string | null;
  namespace: string;
  /** Whether `/auth/login` signs a browser in (OpenID Connect); else tokens only. */
  signIn: boolean;
  /** The map's base tiles, or null: a plain background with a graticule (offline). */
  mapTileUrl: string | null;
}

/** A notification as the overview lists it: ids, codes and times, like the webhooks' payload. */
export type DashboardNotification = Omit<ListedNotification, 'at'> & { at: string };

/** How many of the latest notifications the overview shows (of settled deadlines: none). */
const NOTIFICATIONS_SHOWN = 20;
/** Every open overview asks every few seconds; one query serves them all for this long. */
const NOTIFICATIONS_FRESH_MS = 2000;

async function latestNotifications(pool: pg.Pool): Promise<DashboardNotification[]> {
  const rows = await relevantNotifications(pool, NOTIFICATIONS_SHOWN);
  return rows.map((r) => ({ ...r, at: r.at.toISOString() }));
}

const ROOT = fileURLToPath(new URL('../dashboard/', import.meta.url));

/**
 * Only our own files run or load: no inline script or style, no third-party origin, no framing.
 * Styles set through the CSSOM (bar widths) are not inline styles, so they need no exception.
 */
const csp = (tileOrigin: string | null) =>
  [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    // The map's base tiles come from MAP_TILE_URL's origin, when one is configured.
    `img-src 'self' data:${tileOrigin ? ` ${tileOrigin}` : ''}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

/** A tile template's origin for the CSP; a `{s}` subdomain becomes a wildcard. */
function tileOriginOf(template: string | undefined): string | null {
  if (!template) return null;
  const u = new URL(template.replace('{s}', 'a'));
  return template.includes('{s}.') ? `${u.protocol}//*.${u.host.slice(2)}` : u.origin;
}

/** Leaflet's dist folder (script, CSS, marker images), served as it is: no CDN in the field. */
const LEAFLET_DIST = path.join(
  path.dirname(createRequire(import.meta.url).resolve('leaflet/package.json')),
  'dist',
);

/**
 * The create page's drawing tools (Leaflet-Geoman) and KML reader (@tmcw/togeojson), served like
 * Leaflet: from the node's own node_modules.
 */
const GEOMAN_DIST = path.dirname(
  createRequire(import.meta.url).resolve('@geoman-io/leaflet-geoman-free'),
);
const TOGEOJSON_DIST = path.dirname(createRequire(import.meta.url).resolve('@tmcw/togeojson'));

/**
 * The SHA-256 of @noble/hashes (ES modules, no dependencies) for the page's attachment digests,
 * where crypto.subtle is missing (plain http off localhost): these files only.
 */
const NOBLE_DIST = path.dirname(createRequire(import.meta.url).resolve('@noble/hashes/sha2.js'));
const NOBLE_FILES = new Set(['sha2.js', '_md.js', '_u64.js', 'utils.js']);

/** i18next's ES module (one file, no dependencies): the page's message catalogs and plurals. */
const I18NEXT_ESM = createRequire(import.meta.url)
  .resolve('i18next')
  .replace(/dist[\\/]cjs[\\/]i18next\.js$/, path.join('dist', 'esm', 'i18next.js'));

const securityHeadersFor = (tileOrigin: string | null): RequestHandler => {
  const CSP = csp(tileOrigin);
  return (_req, res, next) => {
    res.set({
      'content-security-policy': CSP,
      'x-content-type-options': 'nosniff',
      // Request ids in dashboard URLs stay here when a user follows a link to the Temporal UI.
      'referrer-policy': 'no-referrer',
    });
    next();
  };
};

export function dashboardRouter(deps: DashboardDeps): Router {
  const declared = new DeclaredRouter('', deps.auth);
  const router = declared.router;
  const config: DashboardConfig = {
    partyId: deps.partyId,
    temporalUiUrl: deps.temporalUiUrl?.replace(/\/+$/, '') || null,
    namespace: deps.namespace,
    signIn: deps.signIn ?? false,
    mapTileUrl: deps.mapTileUrl ?? null,
  };
  // Revalidated on every load (ETag), so a node upgrade never leaves an old script in a browser.
  const assets = express.static(`${ROOT}static`, { index: false, cacheControl: false });
  const page: RequestHandler = (_req, res) => {
    res.set('cache-control', 'no-cache').sendFile(`${ROOT}index.html`);
  };

  router.use('/dashboard', securityHeadersFor(tileOriginOf(deps.mapTileUrl)));
  declared.route('dashboardConfig', (_req, res) => {
    res.set('cache-control', 'no-cache').json(config);
  });
  // Who the token belongs to, as this node verified it: the page picks its views from the roles.
  declared.route('dashboardSession', (req, res) => {
    const { sub, roles } = principalOf(req);
    // Signed in with the session cookie: the name to show, and the CSRF token to send.
    const session = req.browserSession;
    res.set('cache-control', 'no-store').json({
      sub,
      roles,
      ...(session ? { name: session.name, csrfToken: session.csrfToken } : {}),
    });
  });
  // Escalations and near deadlines, as the webhooks get them (the notifications table has no API
  // of its own yet): supervisors only, no subject.
  let notifications: { at: number; value: Promise<DashboardNotification[]> } | undefined;
  declared.route('dashboardNotifications', async (_req, res) => {
    if (!notifications || Date.now() - notifications.at > NOTIFICATIONS_FRESH_MS) {
      const value = latestNotifications(deps.pool);
      notifications = { at: Date.now(), value };
      // A failed query is not kept: the next caller tries again.
      value.catch(() => {
        if (notifications?.value === value) notifications = undefined;
      });
    }
    res.set('cache-control', 'no-store').json({ notifications: await notifications.value });
  });
  router.use('/dashboard/static', (req, res, next) => {
    res.set('cache-control', 'no-cache');
    assets(req, res, next);
  });
  const leaflet = express.static(LEAFLET_DIST, { index: false, cacheControl: false });
  router.use('/dashboard/vendor/leaflet', (req, res, next) => {
    res.set('cache-control', 'no-cache');
    leaflet(req, res, next);
  });
  for (const [route, dir] of [
    ['/dashboard/vendor/leaflet-geoman', GEOMAN_DIST],
    ['/dashboard/vendor/togeojson', TOGEOJSON_DIST],
  ] as const) {
    const files = express.static(dir, { index: false, cacheControl: false });
    router.use(route, (req, res, next) => {
      res.set('cache-control', 'no-cache');
      files(req, res, next);
    });
  }
  const noble = express.static(NOBLE_DIST, { index: false, cacheControl: false });
  router.use('/dashboard/vendor/noble-hashes', (req, res, next) => {
    if (!NOBLE_FILES.has(req.path.slice(1))) return next();
    res.set('cache-control', 'no-cache');
    noble(req, res, next);
  });
  declared.route('dashboardI18next', (_req, res) => {
    res.set('cache-control', 'no-cache').type('text/javascript').sendFile(I18NEXT_ESM);
  });
  // The message catalogs, one file per language and part of the page (locales/<lng>/<ns>.json).
  const locales = express.static(`${ROOT}locales`, { index: false, cacheControl: false });
  router.use('/dashboard/locales', (req, res, next) => {
    res.set('cache-control', 'no-cache');
    locales(req, res, next);
  });
  // The page's own routes all load the same document; its script draws the view of the path.
  for (const id of [
    'dashboardOverview',
    'dashboardSignIn',
    'dashboardRequests',
    'dashboardRequest',
    'dashboardMediated',
    'dashboardMediatedRequest',
  ])
    declared.route(id, page);
  return router;
}
