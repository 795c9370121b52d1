// The node's Prometheus metrics: requests by status and kind, overdue by escalation level and the
// inbox's backlog of messages not yet handed to their workflows (read from Postgres at scrape time),
// messages accepted and refused at the inbox, delivery attempts and failures, webhook posts, HTTP
// latency, the process, and (when its exporter is on) the Temporal SDK's own worker metrics. One
// registry per node, never prom-client's global one, so two nodes in one process keep their figures
// apart. Labels hold codes, kinds and route templates only: no request ids, no subjects, no names.
// Nothing here knows HTTP: api/metrics.ts times the requests and serves the text at `GET /metrics`.
import type pg from 'pg';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ActivityMetrics } from '../activities/index.js';
import { inboxBacklog } from '../db/messages.js';
import { requestCounts } from '../db/metrics.js';
import { ERROR_STATUS } from '../errors.js';
import { RequestStatus, RequestType } from '../schemas/common.js';

export interface NodeMetrics {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly messagesAccepted: Counter<'kind'>;
  readonly messagesRejected: Counter<'code'>;
  readonly requests: Gauge<'status' | 'kind'>;
  readonly overdue: Gauge<'level'>;
  readonly sourceUp: Gauge<'source'>;
  readonly inboxUndispatched: Gauge;
  readonly inboxUndispatchedAge: Gauge;
  /** What the worker's activities report: deliveries to partners, posts to webhooks. */
  readonly activities: ActivityMetrics;
}

/** Failure reasons that may become label values; anything else (a partner's own text) is `other`. */
const KNOWN_REASONS = new Set<string>([
  ...Object.keys(ERROR_STATUS),
  'unreachable',
  'missing',
  'error',
]);

/**
 * A delivery failure reason as a bounded label value: our error codes, `http_<status>`,
 * `unreachable`, optionally prefixed `attachment_`; the detail after a colon is dropped.
 */
export function reasonLabel(reason: string): string {
  const head = reason.split(':', 1)[0]!.trim();
  const base = head.startsWith('attachment_') ? head.slice('attachment_'.length) : head;
  return KNOWN_REASONS.has(base) || /^http_\d{3}$/.test(base) ? head : 'other';
}

export function createMetrics(): NodeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'parley_http_request_duration_seconds',
    help: 'HTTP requests served, by method, route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const messagesAccepted = new Counter({
    name: 'parley_messages_accepted_total',
    help: 'Partner messages accepted at POST /v1/messages (receipt returned), by message kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const messagesRejected = new Counter({
    name: 'parley_messages_rejected_total',
    help: 'Partner messages refused at POST /v1/messages, by problem code.',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const deliveryAttempts = new Counter({
    name: 'parley_delivery_attempts_total',
    help: 'Attempts to deliver one of our messages to a partner (delivery activity executions).',
    registers: [registry],
  });
  const deliveryFailures = new Counter({
    name: 'parley_delivery_failures_total',
    help: 'Delivery attempts that failed (retried later) or were refused for good, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const webhookPosts = new Counter({
    name: 'parley_webhook_posts_total',
    help: 'Notification POSTs to the configured webhooks, by outcome (delivered or failed).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const requests = new Gauge({
    name: 'parley_requests',
    help: 'Requests in the read model, by status and request kind (read at scrape time).',
    labelNames: ['status', 'kind'] as const,
    registers: [registry],
  });
  const overdue = new Gauge({
    name: 'parley_requests_overdue',
    help: 'Overdue requests, by escalation level (read at scrape time).',
    labelNames: ['level'] as const,
    registers: [registry],
  });
  const sourceUp = new Gauge({
    name: 'parley_metrics_source_up',
    help: 'Whether a source read at scrape time answered (read_model, temporal_sdk).',
    labelNames: ['source'] as const,
    registers: [registry],
  });
  const inboxUndispatched = new Gauge({
    name: 'parley_inbox_undispatched',
    help: 'Stored partner messages not yet handed to their request workflows, held ones waiting for attachments included (read at scrape time).',
    registers: [registry],
  });
  const inboxUndispatchedAge = new Gauge({
    name: 'parley_inbox_undispatched_oldest_seconds',
    help: 'Age of the oldest stored partner message not yet handed to its workflow; 0 when none (read at scrape time).',
    registers: [registry],
  });
  return {
    registry,
    httpDuration,
    inboxUndispatched,
    inboxUndispatchedAge,
    messagesAccepted,
    messagesRejected,
    requests,
    overdue,
    sourceUp,
    activities: {
      deliveryAttempt: () => deliveryAttempts.inc(),
      deliveryFailure: (reason) => deliveryFailures.inc({ reason: reasonLabel(reason) }),
      webhookPost: (outcome) => webhookPosts.inc({ outcome }),
    },
  };
}

/** Reads the request gauges from Postgres in one query, then sets them in one synchronous step. */
async function collectReadModel(pool: pg.Pool, metrics: NodeMetrics): Promise<void> {
  const rows = await requestCounts(pool);
  const byStatus = new Map<string, { status: string; kind: string; n: number }>();
  for (const status of RequestStatus.options)
    for (const kind of RequestType.options)
      byStatus.set(`${status}|${kind}`, { status, kind, n: 0 });
  const byLevel = new Map<string, number>();
  for (const r of rows) {
    const key = `${r.status}|${r.kind}`;
    const entry = byStatus.get(key) ?? { status: r.status, kind: r.kind, n: 0 };
    entry.n += r.n;
    byStatus.set(key, entry);
    if (r.overdue) byLevel.set(String(r.level), (byLevel.get(String(r.level)) ?? 0) + r.n);
  }
  // No await from here on: two scrapes at once never see each other's half-set gauges.
  metrics.requests.reset();
  for (const e of byStatus.values()) metrics.requests.set({ status: e.status, kind: e.kind }, e.n);
  metrics.overdue.reset();
  for (const [level, n] of byLevel) metrics.overdue.set({ level }, n);
}

/** Reads the inbox backlog: messages stored but not handed to their workflows, and the oldest. */
async function collectInbox(pool: pg.Pool, metrics: NodeMetrics): Promise<void> {
  const backlog = await inboxBacklog(pool);
  const oldest = backlog.oldestReceivedAt;
  metrics.inboxUndispatched.set(backlog.undispatched);
  metrics.inboxUndispatchedAge.set(
    oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0,
  );
}

/** The Temporal SDK exporter's text, to append (its names all start with `temporal_`). */
async function temporalSdkMetrics(address: string): Promise<string> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i);
  const local = host === '0.0.0.0' || host === '::' || host === '[::]' ? '127.0.0.1' : host;
  const res = await fetch(`http://${local}:${address.slice(i + 1)}/metrics`, {
    signal: AbortSignal.timeout(2000),
  });
  if (!res.ok) throw new Error(`the Temporal SDK exporter answered ${res.status}`);
  const text = await res.text();
  return text.endsWith('\n') || text === '' ? text : `${text}\n`;
}

export interface ScrapeSources {
  pool: pg.Pool;
  /** `host:port` of the Temporal SDK's Prometheus exporter, whose metrics are appended. */
  temporalAddress?: string | undefined;
  log: Logger;
}

/**
 * One scrape: reads the gauges' sources, then renders the registry in the Prometheus text format,
 * the Temporal SDK exporter's text appended. A source that does not answer is logged and marked 0
 * in `parley_metrics_source_up`; the scrape itself still answers.
 */
export async function renderMetrics(
  metrics: NodeMetrics,
  sources: ScrapeSources,
): Promise<{ contentType: string; body: string }> {
  try {
    await collectReadModel(sources.pool, metrics);
    await collectInbox(sources.pool, metrics);
    metrics.sourceUp.set({ source: 'read_model' }, 1);
  } catch (err) {
    metrics.sourceUp.set({ source: 'read_model' }, 0);
    sources.log.warn({ errName: (err as Error).name }, 'metrics: the read model did not answer');
  }
  let sdk = '';
  if (sources.temporalAddress) {
    try {
      sdk = await temporalSdkMetrics(sources.temporalAddress);
      metrics.sourceUp.set({ source: 'temporal_sdk' }, 1);
    } catch (err) {
      metrics.sourceUp.set({ source: 'temporal_sdk' }, 0);
      sources.log.warn(
        { errName: (err as Error).name },
        'metrics: the Temporal SDK exporter failed',
      );
    }
  }
  const own = await metrics.registry.metrics();
  return {
    contentType: metrics.registry.contentType,
    body: sdk ? `${own.endsWith('\n') ? own : `${own}\n`}${sdk}` : own,
  };
}
