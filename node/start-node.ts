// Starts a Parley node in this process: database (migrated), Temporal (embedded dev server or an
// existing service), worker, and the HTTP API. `stop()` takes it all down in reverse order.
// Process roles: `all` (`parley start`) runs everything; `api` (`parley api`) the HTTP API, the
// inbox and the node's background jobs (relay, audit integrator and witness rounds, retention
// sweep), each one process at a time by its advisory lock; `worker`
// (`parley worker`) the Temporal worker and its activities only. Any number of `api` and `worker`
// processes may run against one Postgres database and one Temporal namespace.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client, Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createApp } from '../api/app.js';
import { createMetrics } from '../observability/metrics.js';
import { createAuthenticator } from '../api/auth.js';
import { createSignIn, withSessions } from '../api/session.js';
import { preflight, type Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { withSessionLock, WITNESS_LOCK } from '../db/singleton.js';
import { migrate } from '../db/migrate.js';
import { openDatabase, type Database } from '../db/pool.js';
import { ensureTemporalCli } from '../temporal/cli-locator.js';
import { EncryptionCodec } from '../temporal/codec.js';
import { codecKeyRing } from '../temporal/codec-keys.js';
import { connectClient, connectWorker, temporalAddress } from '../temporal/connection.js';
import { startDevServer, type DevServer } from '../temporal/dev-server.js';
import { ensureNamespace } from '../temporal/namespace.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { createWorker } from '../temporal/worker.js';
import type { InboundSink, InboxDeps } from '../exchange/inbox.js';
import type { OutboxDeps } from '../exchange/outbox.js';
import {
  ensureEncryptionKey,
  ensureLogKey,
  ensureOwnKey,
  loadKeyring,
} from '../protocol/keyring.js';
import { AuditLog } from '../audit/service.js';
import { startAuditIntegrator } from '../audit/integrator.js';
import { requestCosignatures } from '../audit/witness.js';
import { getCheckpoint, latestCheckpoint } from '../db/audit.js';
import type { KeyRegistry } from '../protocol/keys.js';
import { cachedKeyRegistry } from './key-registry.js';
import { ensureDevIssuer } from './dev-issuer.js';
import { startDevOidc } from './dev-oidc.js';
import { createInboundRouter, startRelay } from '../exchange/inbound-router.js';
import { refusalLogOf } from '../exchange/refusals.js';
import { loadPolicy, type LoadedPolicy } from './policy.js';
import { startRetentionSweep, type RetentionSweep } from './retention-sweep.js';
import { startMediatorWatch, type MediatorWatch } from './mediator-watch.js';
import { watchAllAgainIfPolicyChanged } from '../db/mediator.js';

/** Which parts of a node this process runs (see the top of this file). */
export type NodeRole = 'all' | 'api' | 'worker';

export interface NodeOptions {
  log: Logger;
  /** `all` (the default), `api` or `worker`. */
  role?: NodeRole;
  /** A prebuilt workflow bundle (tests build one per run); otherwise the worker bundles at start. */
  workflowBundlePath?: string;
  /** Where verified inbound messages go; by default, the request workflows. */
  sink?: InboundSink;
}

export interface RunningNode {
  config: Config;
  /** Base URL of the HTTP API. */
  url: string;
  database: Database;
  temporal: {
    client: Client;
    connection: Connection;
    address: string;
    uiUrl: string | undefined;
    /** The payload codec client and worker share (AES-256-GCM, temporal/codec.ts). */
    codec: EncryptionCodec;
  };
  devServer: DevServer | undefined;
  /** The Temporal worker (role `all`); a `parley api` process has none. */
  worker: Worker | undefined;
  policy: LoadedPolicy;
  /** Sending, receiving and the registry, for in-process callers (CLI, tests). */
  exchange: { inbox: InboxDeps; outbox: OutboxDeps };
  /** The audit log, and asking partners to countersign its newest checkpoint. */
  audit: { log: AuditLog; witness: (checkpointSize: number) => Promise<void> };
  /** The retention sweep (RETENTION_SWEEP_SECONDS); `sweep(now)` runs a pass as of `now`. */
  retention: RetentionSweep;
  /** A mediator's watch over what it relays (MEDIATOR_WATCH_SECONDS); `pass(now)` runs one now. */
  mediatorWatch: MediatorWatch;
  /** Settles when the node has stopped, whether by stop() or because the worker failed. */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

/**
 * What a `parley api` or `parley worker` process needs from outside: all processes of a node share
 * one Temporal service and one Postgres database, so neither the embedded dev server nor PGlite
 * (each belonging to one process) will do. Throws ConfigError (exit code 2) naming what is missing.
 */
export function checkRole(config: Config, role: NodeRole): void {
  if (role === 'all') return;
  const problems: { path: string; message: string }[] = [];
  if (config.temporal.kind !== 'external')
    problems.push({
      path: 'TEMPORAL_ADDRESS',
      message: `not set: parley ${role} runs beside the node’s other processes on one Temporal service; set TEMPORAL_ADDRESS (host:port) and TEMPORAL_NAMESPACE to theirs (the embedded dev server is for parley start only)`,
    });
  if (config.database.kind !== 'postgres')
    problems.push({
      path: 'DATABASE_URL',
      message: `not set: parley ${role} shares the node’s Postgres database with its other processes; set DATABASE_URL to it (embedded PGlite is for parley start only)`,
    });
  if (problems.length > 0) throw new ConfigError(problems);
}

/** A `parley worker` process: the Temporal worker and its activities, nothing else. */
export interface RunningWorker {
  config: Config;
  database: Database;
  temporal: { address: string };
  worker: Worker;
  /** Settles when the worker has stopped, whether by stop() or because it failed. */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

/** Starts a `parley worker` process (role `worker`): see startNode. */
export async function startWorker(config: Config, opts: NodeOptions): Promise<RunningWorker> {
  const node = await startNode(config, { ...opts, role: 'worker' });
  return {
    config,
    database: node.database,
    temporal: { address: node.temporal.address },
    worker: node.worker!,
    stopped: node.stopped,
    stop: () => node.stop(),
  };
}

/**
 * Starts the parts of a node that `opts.role` names (default `all`, the whole node). Role
 * `worker` returns no usable `url`, `exchange`, `audit` or `retention`: use startWorker.
 */
export async function startNode(config: Config, opts: NodeOptions): Promise<RunningNode> {
  const { log } = opts;
  const role = opts.role ?? 'all';
  const runsApi = role !== 'worker';
  const runsWorker = role !== 'api';
  const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
  const runCleanups = async () => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c.run();
      } catch (err) {
        log.warn(
          { step: c.name, errName: (err as Error).name, msg: (err as Error).message },
          'error while stopping',
        );
      }
    }
  };

  // What the role needs, ports and the token issuer first: a configuration problem is said before
  // anything is touched. A worker neither listens nor checks tokens.
  checkRole(config, role);
  if (runsApi) await preflight(config);
  installTemporalRuntime(log, { metricsAddress: config.metrics.temporalAddress });
  try {
    if (
      runsApi &&
      config.auth.jwks === 'file' &&
      config.auth.createDevIssuer &&
      (await ensureDevIssuer(config.dataDir))
    ) {
      log.warn(
        { jwks: config.auth.file },
        'created a development token issuer; set AUTH_JWKS_FILE or AUTH_JWKS_URL in production',
      );
    }
    const auth = runsApi ? await createAuthenticator(config.auth) : undefined;
    const newKid = await ensureOwnKey(config.keysDir);
    if (newKid)
      log.warn(
        { kid: newKid, dir: config.keysDir },
        'created this node’s first signing key (Ed25519)',
      );
    const logKid = await ensureLogKey(config.keysDir);
    if (logKid)
      log.warn({ kid: logKid, dir: config.keysDir }, 'created this node’s audit log key (Ed25519)');
    const encKid = await ensureEncryptionKey(config.keysDir);
    if (encKid)
      log.warn(
        { kid: encKid, dir: config.keysDir },
        'created this node’s encryption key (X25519) for sealed content',
      );
    const keyring = await loadKeyring(config.keysDir);
    const policy = await loadPolicy(config.policyFile);
    const codecKeys = codecKeyRing(config.codec.keys);
    if (codecKeys.created)
      log.warn(
        codecKeys.created,
        'created a key for Temporal payload encryption; set TEMPORAL_CODEC_KEYS or TEMPORAL_CODEC_KEY_FILE in production (every process of a node needs the same keys)',
      );
    const codec = new EncryptionCodec(codecKeys.ring);

    const database = await openDatabase(config.database);
    cleanups.push({ name: 'database', run: () => database.close() });
    const applied = await migrate(database.pool);
    if (applied.length) log.info({ applied }, 'database migrated');

    let devServer: DevServer | undefined;
    if (config.temporal.kind === 'embedded') {
      const cli = await ensureTemporalCli((line) => log.info(line));
      devServer = await startDevServer({
        cliPath: cli.path,
        port: config.temporal.port,
        uiPort: config.temporal.uiPort,
        dbFile: config.temporal.dbFile,
        namespaces: [config.temporal.namespace],
      });
      const server = devServer;
      cleanups.push({ name: 'temporal dev server', run: () => server.stop() });
    }

    const { client, connection } = await connectClient(config.temporal, codec);
    cleanups.push({ name: 'temporal client', run: () => connection.close() });
    const ns = await ensureNamespace(connection, config.temporal.namespace);
    for (const warning of ns.warnings) log.warn(warning);

    const registry: KeyRegistry = cachedKeyRegistry(
      database.pool,
      config.keyRegistryCacheSeconds * 1000,
    );
    const outbox: OutboxDeps = { pool: database.pool, partyId: config.partyId, keyring, registry };
    const inbox: InboxDeps = {
      pool: database.pool,
      partyId: config.partyId,
      registry,
      keyring,
      sink:
        opts.sink ??
        createInboundRouter({
          pool: database.pool,
          client,
          taskQueue: config.temporal.taskQueue,
          partyId: config.partyId,
          registry,
          policy,
          maxRetryInterval: `${config.deliveryMaxBackoffSeconds} seconds`,
          historyLimit: config.workflowHistoryLimit,
        }),
      log,
    };

    // One registry per node: the API serves it, the activities count deliveries and webhooks in it.
    const metrics = createMetrics();
    let worker: Worker | undefined;
    let workerRun: Promise<void> | undefined;
    if (runsWorker) {
      const nativeConnection: NativeConnection = await connectWorker(config.temporal);
      cleanups.push({ name: 'worker connection', run: () => nativeConnection.close() });
      const w = await createWorker({
        connection: nativeConnection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        codec,
        deps: {
          pool: database.pool,
          outbox,
          metrics: metrics.activities,
          webhooks: {
            partyId: config.partyId,
            urls: config.notifications.webhookUrls,
            secret: config.notifications.webhookSecret,
            publicUrl: config.http.publicUrl,
          },
        },
        ...(opts.workflowBundlePath ? { workflowBundlePath: opts.workflowBundlePath } : {}),
      });
      const running = (worker = w);
      workerRun = running.run();
      const run = workerRun;
      cleanups.push({
        name: 'worker',
        run: async () => {
          if (running.getState() === 'RUNNING') running.shutdown();
          await run;
        },
      });
    }

    if (!runsApi) {
      // A worker only: it stops when its worker does.
      let stopping: Promise<void> | undefined;
      const stop = () => (stopping ??= runCleanups());
      const stopped = stoppedWith(workerRun!, stop, log);
      return {
        config,
        url: '',
        database,
        temporal: {
          client,
          connection,
          address: temporalAddress(config.temporal),
          uiUrl: undefined,
          codec,
        },
        devServer,
        worker,
        policy,
        exchange: { inbox, outbox },
        audit: undefined as unknown as RunningNode['audit'],
        retention: undefined as unknown as RunningNode['retention'],
        mediatorWatch: undefined as unknown as RunningNode['mediatorWatch'],
        stopped,
        stop,
      };
    }

    const audit = new AuditLog({ pool: database.pool, partyId: config.partyId, keyring, log });
    const witnessDeps = { pool: database.pool, partyId: config.partyId, keyring, log, audit };
    // One witness round at a time among all the node's processes, each showing the newest
    // checkpoint as it stands once it holds the lock: a partner never sees a smaller checkpoint after
    // a larger one (which it would take for a fork). The loop's rounds skip a turn while another
    // runs; a caller that needs checkpoint `size` countersigned (an evidence bundle, a mediator's
    // proofs) waits for it. In this process such callers queue one behind the other, and a caller
    // joins a round already queued for a checkpoint as large as its own: however many ask at once,
    // at most one connection of the pool waits for the lock (many waiting would leave the round
    // that holds it no connection to work with).
    const round = (size: number) =>
      withSessionLock(
        database.pool,
        WITNESS_LOCK,
        async () => {
          // The caller's own checkpoint when it names one (a newer one signed while it waited
          // would leave its own uncountersigned for good), else the newest. Partners that have
          // countersigned a larger one already are not asked (requestCosignatures).
          const latest = await latestCheckpoint(database.pool);
          if (!latest || latest.size < size) return;
          const shown = (size > 0 && (await getCheckpoint(database.pool, size))) || latest;
          const outcome = await requestCosignatures(witnessDeps, shown);
          log.debug({ size: shown.size, outcome }, 'checkpoint shown to partners');
        },
        { wait: size > 0 },
      );
    let waiting: Promise<unknown> = Promise.resolve();
    let queued: { size: number; round: Promise<void> } | undefined;
    const witness = async (size: number) => {
      if (size === 0) {
        await round(0);
        return;
      }
      if (queued && queued.size >= size) return queued.round;
      const next = waiting.then(() => round(size)).then(() => undefined);
      const entry = { size, round: next };
      queued = entry;
      waiting = next.catch(() => undefined);
      // Once it runs, later callers queue a new round (their checkpoint may be newer).
      void waiting.then(() => {
        if (queued === entry) queued = undefined;
      });
      return next;
    };
    const integrator = startAuditIntegrator({
      audit,
      pool: database.pool,
      witness,
      integrateMs: config.audit.integrateMs,
      checkpointEntries: config.audit.checkpointEntries,
      checkpointSeconds: config.audit.checkpointSeconds,
      log,
    });
    cleanups.push({ name: 'audit integrator', run: () => integrator.stop() });

    const signIn =
      config.signIn.kind === 'none'
        ? undefined
        : createSignIn({
            pool: database.pool,
            log,
            rolesClaim: config.auth.rolesClaim,
            sessionSeconds: config.signIn.sessionSeconds,
            scopes: config.signIn.scopes,
            publicUrl: config.http.publicUrl,
          });
    const temporalUiUrl =
      devServer?.uiUrl ?? (config.temporal.kind === 'external' ? config.temporal.uiUrl : undefined);
    const app = createApp({
      partyId: config.partyId,
      pool: database.pool,
      temporal: {
        client,
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
      },
      auth: signIn ? withSessions(auth!, signIn) : auth!,
      signIn,
      exchange: { inbox, outbox },
      attachments: config.attachments,
      relayProofsPerMinute: config.relayProofsPerMinute,
      mediatorReminderSeconds: config.mediatorReminderSeconds,
      policy,
      maxRetryInterval: `${config.deliveryMaxBackoffSeconds} seconds`,
      updateTimeoutMs: config.updateTimeoutSeconds * 1000,
      historyLimit: config.workflowHistoryLimit,
      audit: { log: audit, witness },
      log,
      temporalUiUrl,
      mapTileUrl: config.mapTileUrl,
      codec: { codec, corsOrigins: config.codec.corsOrigins },
      metrics: {
        node: metrics,
        token: config.metrics.token,
        temporalAddress: config.metrics.temporalAddress,
      },
    });
    // Refusal counts are added once a second: the last ones go in after the server stops taking
    // requests and before the database closes (cleanups run in reverse).
    cleanups.push({ name: 'refusal counts', run: () => refusalLogOf(inbox).flush() });
    const server: Server = await new Promise((resolve, reject) => {
      // express 5 hands a listen error to this callback too (a port taken since the preflight).
      const s = app.listen(config.http.port, config.http.host, (err?: Error) =>
        err ? reject(err) : resolve(s),
      );
    });
    cleanups.push({
      name: 'http server',
      run: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          // Requests still running after 3 s are cut, so the whole stop stays within 10 s.
          setTimeout(() => server.closeAllConnections(), 3000).unref();
        }),
    });
    const { port } = server.address() as AddressInfo;
    if (signIn) {
      const listening = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;
      const baseUrl = (config.http.publicUrl ?? `http://${listening}:${port}`).replace(/\/+$/, '');
      if (config.signIn.kind === 'external') signIn.ready({ baseUrl, client: config.signIn });
      else {
        const dev = await startDevOidc({
          dataDir: config.dataDir,
          baseUrl,
          rolesClaim: config.auth.rolesClaim,
          log,
        });
        signIn.ready({ baseUrl, client: dev, provider: dev.handler });
      }
    }
    // Stored messages not yet with their workflows: handed on now, then every few seconds (a
    // message receipted while Temporal was away must not wait for the next restart).
    const relay = startRelay({ pool: database.pool, sink: inbox.sink, log });
    cleanups.push({ name: 'relay', run: () => relay.stop() });
    await relay.pass();
    const retention = startRetentionSweep({
      deps: { pool: database.pool, client, namespace: config.temporal.namespace },
      policy: policy.policy,
      intervalSeconds: config.retentionSweepSeconds,
      log,
    });
    cleanups.push({ name: 'retention sweep', run: () => retention.stop() });
    const mediatorWatch = startMediatorWatch({
      pool: database.pool,
      partyId: config.partyId,
      policy,
      webhooks: {
        urls: config.notifications.webhookUrls,
        secret: config.notifications.webhookSecret,
      },
      intervalSeconds: config.mediatorWatchSeconds,
      log,
      notices: inbox,
    });
    cleanups.push({ name: 'mediator watch', run: () => mediatorWatch.stop() });
    // A policy file changed since the last start: every watched request is looked at again by
    // the next passes, whatever its last look foresaw.
    await watchAllAgainIfPolicyChanged(database.pool, policy.digest);
    const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;

    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= runCleanups());
    // Without a worker (role api), the process runs until stop() is called.
    const stopped = workerRun
      ? stoppedWith(workerRun, stop, log)
      : new Promise<void>((resolve) => {
          cleanups.unshift({ name: 'stopped', run: () => Promise.resolve(resolve()) });
        });

    return {
      config,
      url: `http://${host}:${port}`,
      database,
      temporal: {
        client,
        connection,
        address: temporalAddress(config.temporal),
        uiUrl: temporalUiUrl,
        codec,
      },
      devServer,
      worker,
      policy,
      exchange: { inbox, outbox },
      audit: { log: audit, witness },
      retention,
      mediatorWatch,
      stopped,
      stop,
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}

/** Settles once the node has stopped after its worker ended, cleanly or by a failure. */
function stoppedWith(workerRun: Promise<void>, stop: () => Promise<void>, log: Logger) {
  return workerRun.then(
    () => stop(),
    async (err: unknown) => {
      log.fatal(
        { errName: (err as Error).name, msg: (err as Error).message },
        'worker failed; stopping the node',
      );
      await stop();
    },
  );
}
