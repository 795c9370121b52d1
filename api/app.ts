// The node's HTTP API as an express app, built from its dependencies (no listen: testable).
import express, { type Express } from 'express';
import type { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { InboxDeps } from '../exchange/inbox.js';
import type { OutboxDeps } from '../exchange/outbox.js';
import type { LoadedPolicy } from '../node/policy.js';
import type { Authenticator } from './auth.js';
import type { AuditLog } from '../audit/service.js';
import { DEFAULT_ATTACHMENT_LIMITS, type AttachmentLimits } from '../exchange/attachments.js';
import { createMetrics, type NodeMetrics } from '../observability/metrics.js';
import { accessLogRouter } from './access-log.js';
import { attachmentsRouter } from './attachments.js';
import { auditRouter } from './audit.js';
import { codecRouter } from './codec.js';
import { dashboardRouter } from './dashboard.js';
import { erasureRouter } from './erasure.js';
import { inboxRouter } from './inbox.js';
import { httpMetrics, metricsRouter } from './metrics.js';
import { openapiRouter } from './openapi.js';
import { outboxRouter } from './outbox.js';
import { partnersRouter } from './partners.js';
import { publicationRouter } from './publication.js';
import { healthRouter } from './health.js';
import { parseJson } from './json-body.js';
import { errorHandler, notFound, routeOf } from './problem.js';
import { requestActionsRouter } from './request-actions.js';
import { requestsRouter } from './requests.js';
import type { SignIn } from './session.js';
import { supervisorRouter } from './supervisor.js';

export interface AppDeps {
  partyId: string;
  pool: pg.Pool;
  temporal: { client: Client; connection: Connection; namespace: string; taskQueue: string };
  auth: Authenticator;
  exchange: { inbox: InboxDeps; outbox: OutboxDeps };
  /** ATTACHMENT_MAX_BYTES and ATTACHMENT_MEDIA_TYPES; their defaults when not given. */
  attachments?: AttachmentLimits;
  /** The deadline policy both parties agreed, and its digest. */
  policy: LoadedPolicy;
  /** Longest wait between delivery attempts, e.g. '5 minutes'. */
  maxRetryInterval: string;
  /** Longest an officer's call waits for its workflow (REQUEST_UPDATE_TIMEOUT_SECONDS), in ms. */
  updateTimeoutMs?: number;
  /** History events after which a request workflow continues as new (WORKFLOW_HISTORY_LIMIT). */
  historyLimit?: number;
  /** RELAY_PROOFS_PER_MINUTE: asks for a mediator's relay proofs per address; 60 if absent. */
  relayProofsPerMinute?: number;
  /** On a mediator: least seconds between reminders of one deadline to one party (default 3600). */
  mediatorReminderSeconds?: number;
  /** The audit log, and how to have partners countersign a checkpoint of it. */
  audit: { log: AuditLog; witness: (checkpointSize: number) => Promise<void> };
  log: Logger;
  /**
   * Prometheus metrics: the node's registry (shared with its activities; a fresh one if absent),
   * the bearer token `/metrics` asks for (open if unset), and the Temporal SDK exporter to append.
   */
  metrics?: {
    node?: NodeMetrics;
    token?: string | undefined;
    temporalAddress?: string | undefined;
  };
  /** Base URL of the Temporal Web UI, for the dashboard's links to workflows. */
  temporalUiUrl?: string | undefined;
  /** Base map tiles for the dashboard's map (MAP_TILE_URL); none: a graticule only. */
  mapTileUrl?: string | undefined;
  /**
   * The payload codec and the browser origins (the Temporal UI's) allowed to call the codec
   * endpoint `/codec/{encode,decode}`; without it the node serves no codec endpoint.
   */
  codec?: { codec: PayloadCodec; corsOrigins: readonly string[] };
  /** Browser sign-in (OpenID Connect, sessions; api/session.ts); without it, bearer tokens only. */
  signIn?: SignIn;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  const metrics = deps.metrics?.node ?? createMetrics();
  app.use(httpMetrics(metrics));
  app.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      deps.log.debug(
        {
          method: req.method,
          route: routeOf(req),
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'http',
      );
    });
    next();
  });
  app.use(
    healthRouter({
      partyId: deps.partyId,
      pool: deps.pool,
      temporal: deps.temporal.connection,
      namespace: deps.temporal.namespace,
    }),
  );
  app.use(
    metricsRouter({
      pool: deps.pool,
      metrics,
      token: deps.metrics?.token,
      temporalAddress: deps.metrics?.temporalAddress,
      log: deps.log,
    }),
  );
  app.use(openapiRouter({ partyId: deps.partyId }));
  app.use(
    dashboardRouter({ ...deps, namespace: deps.temporal.namespace, signIn: Boolean(deps.signIn) }),
  );
  if (deps.signIn) app.use(deps.signIn.router);
  // Public: partners compare digests before they exchange requests.
  app.get('/v1/policy', (_req, res) => {
    res.json({ digest: deps.policy.digest, policy: deps.policy.policy });
  });
  // Routes with bodies of their own kind (envelopes, bundles) come before the JSON parser.
  app.use(inboxRouter(deps.exchange.inbox));
  app.use(
    outboxRouter({
      pool: deps.pool,
      auth: deps.auth,
      ...deps.exchange,
      client: deps.temporal.client,
      policy: deps.policy,
      ...(deps.mediatorReminderSeconds !== undefined
        ? { reminderSpacingSeconds: deps.mediatorReminderSeconds }
        : {}),
    }),
  );
  app.use(accessLogRouter({ pool: deps.pool, auth: deps.auth }));
  app.use(
    attachmentsRouter({
      inbox: deps.exchange.inbox,
      auth: deps.auth,
      limits: deps.attachments ?? DEFAULT_ATTACHMENT_LIMITS,
    }),
  );
  if (deps.codec) {
    app.use(
      '/codec',
      codecRouter({
        codec: deps.codec.codec,
        pool: deps.pool,
        corsOrigins: deps.codec.corsOrigins,
        auth: deps.auth,
        namespace: deps.temporal.namespace,
        log: deps.log,
      }),
    );
  }
  app.use(parseJson);
  app.use(
    auditRouter({
      pool: deps.pool,
      partyId: deps.partyId,
      keyring: deps.exchange.outbox.keyring,
      log: deps.log,
      auth: deps.auth,
      audit: deps.audit.log,
      witness: deps.audit.witness,
      ...(deps.relayProofsPerMinute ? { relayProofsPerMinute: deps.relayProofsPerMinute } : {}),
    }),
  );
  app.use(
    '/v1/requests',
    requestActionsRouter({
      pool: deps.pool,
      client: deps.temporal.client,
      auth: deps.auth,
      ...(deps.updateTimeoutMs ? { updateTimeoutMs: deps.updateTimeoutMs } : {}),
    }),
  );
  app.use(
    '/v1/admin/partners',
    partnersRouter({
      pool: deps.pool,
      auth: deps.auth,
      partyId: deps.partyId,
      registryChanged: () => {
        deps.exchange.inbox.registry.invalidate?.();
        if (deps.exchange.outbox.registry !== deps.exchange.inbox.registry)
          deps.exchange.outbox.registry.invalidate?.();
      },
    }),
  );
  app.use(
    '/v1/requests',
    requestsRouter({
      partyId: deps.partyId,
      pool: deps.pool,
      client: deps.temporal.client,
      taskQueue: deps.temporal.taskQueue,
      auth: deps.auth,
      policy: deps.policy,
      maxRetryInterval: deps.maxRetryInterval,
      ...(deps.historyLimit ? { historyLimit: deps.historyLimit } : {}),
      ...(deps.updateTimeoutMs ? { recordTimeoutMs: deps.updateTimeoutMs } : {}),
    }),
  );
  app.use('/v1/supervisor', supervisorRouter({ pool: deps.pool, auth: deps.auth }));
  app.use('/v1/publication', publicationRouter({ pool: deps.pool, auth: deps.auth }));
  app.use(
    '/v1/admin/requests',
    erasureRouter({
      pool: deps.pool,
      client: deps.temporal.client,
      namespace: deps.temporal.namespace,
      auth: deps.auth,
    }),
  );
  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
