// `GET /metrics` and the HTTP side of the node's Prometheus metrics: every request timed under its
// route template, the partner inbox's answers counted, and the scrape served (behind METRICS_TOKEN
// when set). The registry itself, its collectors and the exposition are observability/metrics.ts.
import crypto from 'node:crypto';
import type { Router } from 'express';
import { type Request, type RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { renderMetrics, type NodeMetrics, type ScrapeSources } from '../observability/metrics.js';
import { MessageKind } from '../schemas/envelope.js';
import { DeclaredRouter } from './routes.js';
import { unverifiedClaims } from '../protocol/claims.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** The route label of a request no route matched (static files, 404s): never the raw path. */
export const UNMATCHED_ROUTE = '(unmatched)';

function templateOf(path: unknown): string {
  if (Array.isArray(path)) return path.map(templateOf).join('|');
  return typeof path === 'string' ? path : String(path);
}

/** The kind of an accepted envelope, read from its (already verified) payload segment. */
function envelopeKind(body: unknown): string {
  if (typeof body !== 'string') return 'unknown';
  const kind = MessageKind.safeParse(unverifiedClaims(body.trim())?.kind);
  return kind.success ? kind.data : 'unknown';
}

/**
 * Times every request under its route template, and counts the partner inbox's answers. The route
 * is caught when the router assigns `req.route` (with the mount path of that moment), so a request
 * that fails inside a mounted router still counts under `/v1/requests/:id`, not its raw path.
 */
export function httpMetrics(metrics: NodeMetrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpDuration.startTimer();
    let route: string | undefined;
    let current: unknown;
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => current,
      set: (value: unknown) => {
        current = value;
        const path = (value as { path?: unknown } | undefined)?.path;
        if (path === undefined) return;
        const template = templateOf(path);
        // A router's own root (`router.post('/')` under `/v1/requests`) is the mount path itself.
        route = req.baseUrl && template === '/' ? req.baseUrl : `${req.baseUrl}${template}`;
      },
    });
    const inbox = req.method === 'POST' && req.path === '/v1/messages';
    let problemCode: string | undefined;
    if (inbox) {
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        const code = (body as { code?: unknown } | null)?.code;
        if (typeof code === 'string') problemCode = code;
        return json(body);
      };
    }
    res.on('finish', () => {
      const status = res.statusCode;
      end({
        method: METHODS.has(req.method) ? req.method : 'OTHER',
        route: route ?? UNMATCHED_ROUTE,
        status: String(status),
      });
      if (!inbox) return;
      if (status === 202) metrics.messagesAccepted.inc({ kind: envelopeKind(req.body) });
      else metrics.messagesRejected.inc({ code: problemCode ?? `http_${status}` });
    });
    next();
  };
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest();

/** Accepts the request when no token is configured, or when it carries `Bearer <token>`. */
function authorize(req: Request, token: string | undefined): void {
  if (!token) return;
  const header = req.get('authorization');
  if (!header) throw new AppError('token_missing', 'send Authorization: Bearer <METRICS_TOKEN>');
  const given = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '';
  if (!crypto.timingSafeEqual(sha256(given), sha256(token)))
    throw new AppError('token_invalid', 'not the metrics token');
}

export interface MetricsRouterDeps extends ScrapeSources {
  metrics: NodeMetrics;
  /** Bearer token the scraper must send; unset: `/metrics` is open (it holds no personal data). */
  token?: string | undefined;
}

export function metricsRouter(deps: MetricsRouterDeps): Router {
  const declared = new DeclaredRouter('');
  const router = declared.router;
  declared.route('metrics', async (req, res) => {
    authorize(req, deps.token);
    const { contentType, body } = await renderMetrics(deps.metrics, deps);
    res.set('cache-control', 'no-store').type(contentType).send(body);
  });
  return router;
}
