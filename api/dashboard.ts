// The dashboard: a same-origin web page for supervisors and officers, served by the node itself so
// it needs no server, build step or CDN of its own. Static HTML, CSS and ES modules from
// `dashboard/`; everything it shows comes from the role-checked JSON API with the user's token, so
// the page holds no data the API would not give that user.
import { fileURLToPath } from 'node:url';
import express, { Router, type RequestHandler } from 'express';
import { principalOf, requireRole, type Authenticator } from './auth.js';

export interface DashboardDeps {
  partyId: string;
  auth: Authenticator;
  /** Temporal namespace of this node, for links to its workflows. */
  namespace: string;
  /** Base URL of the Temporal Web UI, when known (embedded dev server or TEMPORAL_UI_URL). */
  temporalUiUrl?: string | undefined;
}

/** What the page needs before anyone signs in: whose node it is and where its workflows are shown. */
export interface DashboardConfig {
  partyId: string;
  temporalUiUrl: string | null;
  namespace: string;
}

const ROOT = fileURLToPath(new URL('../dashboard/', import.meta.url));

/**
 * Only our own files run or load: no inline script or style, no third-party origin, no framing.
 * Styles set through the CSSOM (bar widths) are not inline styles, so they need no exception.
 */
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.set({
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    // Request ids in dashboard URLs stay here when a user follows a link to the Temporal UI.
    'referrer-policy': 'no-referrer',
  });
  next();
};

export function dashboardRouter(deps: DashboardDeps): Router {
  const router = Router();
  const config: DashboardConfig = {
    partyId: deps.partyId,
    temporalUiUrl: deps.temporalUiUrl?.replace(/\/+$/, '') || null,
    namespace: deps.namespace,
  };
  // Revalidated on every load (ETag), so a node upgrade never leaves an old script in a browser.
  const assets = express.static(`${ROOT}static`, { index: false, cacheControl: false });
  const page: RequestHandler = (_req, res) => {
    res.set('cache-control', 'no-cache').sendFile(`${ROOT}index.html`);
  };

  router.use('/dashboard', securityHeaders);
  router.get('/dashboard/config.json', (_req, res) => {
    res.set('cache-control', 'no-cache').json(config);
  });
  // Who the token belongs to, as this node verified it: the page picks its views from the roles.
  router.get(
    '/dashboard/session.json',
    requireRole(deps.auth, 'officer', 'supervisor', 'admin'),
    (req, res) => {
      const { sub, roles } = principalOf(req);
      res.set('cache-control', 'no-store').json({ sub, roles });
    },
  );
  router.use('/dashboard/static', (req, res, next) => {
    res.set('cache-control', 'no-cache');
    assets(req, res, next);
  });
  // The page's own routes all load the same document; its script draws the view of the path.
  router.get(['/dashboard', '/dashboard/sign-in', '/dashboard/requests/:id'], page);
  return router;
}
