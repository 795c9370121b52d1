// Starts a whole Parley node in this process: database (migrated), Temporal (embedded dev server
// or an existing service), worker, and the HTTP API. `stop()` takes it all down in reverse order.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client, Connection } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createApp } from '../api/app.js';
import { createMetrics } from '../api/metrics.js';
import { createAuthenticator } from '../api/auth.js';
import { createSignIn, withSessions } from '../api/session.js';
import { preflight, type Config } from '../config.js';
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
import { resumePendingDeliveries, type SendDeps } from '../exchange/send.js';
import { ensureLogKey, ensureOwnKey, loadKeyring } from '../protocol/keyring.js';
import { AuditLog } from '../audit/service.js';
import { startAuditIntegrator } from '../audit/integrator.js';
import { requestCosignatures } from '../audit/witness.js';
import { latestCheckpoint } from '../db/audit.js';
import type { KeyRegistry } from '../protocol/keys.js';
import { cachedKeyRegistry } from './key-registry.js';
import { ensureDevIssuer } from './dev-issuer.js';
import { startDevOidc } from './dev-oidc.js';
import { createInboundRouter, startRelay } from './inbound-router.js';
import { refusalLogOf } from '../exchange/refusals.js';
import { loadPolicy, type LoadedPolicy } from './policy.js';
import { startRetentionSweep, type RetentionSweep } from './retention-sweep.js';

export interface NodeOptions {
  log: Logger;
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
  worker: Worker;
  policy: LoadedPolicy;
  /** Sending, receiving and the registry, for in-process callers (CLI, tests). */
  exchange: { inbox: InboxDeps; outbox: OutboxDeps; send: SendDeps };
  /** The audit log, and asking partners to countersign its newest checkpoint. */
  audit: { log: AuditLog; witness: (checkpointSize: number) => Promise<void> };
  /** The retention sweep (RETENTION_SWEEP_SECONDS); `sweep(now)` runs a pass as of `now`. */
  retention: RetentionSweep;
  /** Settles when the node has stopped, whether by stop() or because the worker failed. */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

export async function startNode(config: Config, opts: NodeOptions): Promise<RunningNode> {
  const { log } = opts;
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

  // Ports and the token issuer first: a configuration problem is said before anything is touched.
  await preflight(config);
  installTemporalRuntime(log, { metricsAddress: config.metrics.temporalAddress });
  try {
    if (
      config.auth.jwks === 'file' &&
      config.auth.createDevIssuer &&
      (await ensureDevIssuer(config.dataDir))
    ) {
      log.warn(
        { jwks: config.auth.file },
        'created a development token issuer; set AUTH_JWKS_FILE or AUTH_JWKS_URL in production',
      );
    }
    const auth = await createAuthenticator(config.auth);
    const newKid = await ensureOwnKey(config.keysDir);
    if (newKid)
      log.warn(
        { kid: newKid, dir: config.keysDir },
        'created this node’s first signing key (Ed25519)',
      );
    const logKid = await ensureLogKey(config.keysDir);
    if (logKid)
      log.warn({ kid: logKid, dir: config.keysDir }, 'created this node’s audit log key (Ed25519)');
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
          policy,
          maxRetryInterval: `${config.deliveryMaxBackoffSeconds} seconds`,
          historyLimit: config.workflowHistoryLimit,
        }),
      log,
    };
    const send: SendDeps = {
      ...outbox,
      client,
      taskQueue: config.temporal.taskQueue,
      maxRetryInterval: `${config.deliveryMaxBackoffSeconds} seconds`,
    };

    // One registry per node: the API serves it, the activities count deliveries and webhooks in it.
    const metrics = createMetrics();
    const nativeConnection: NativeConnection = await connectWorker(config.temporal);
    cleanups.push({ name: 'worker connection', run: () => nativeConnection.close() });
    const worker = await createWorker({
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
    const workerRun = worker.run();
    cleanups.push({
      name: 'worker',
      run: async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await workerRun;
      },
    });

    const audit = new AuditLog({ pool: database.pool, partyId: config.partyId, keyring, log });
    const witnessDeps = { pool: database.pool, partyId: config.partyId, keyring, log, audit };
    const witness = async (size: number) => {
      const latest = await latestCheckpoint(database.pool);
      if (!latest || latest.size < size) return;
      const outcome = await requestCosignatures(witnessDeps, latest);
      log.debug({ size: latest.size, outcome }, 'checkpoint shown to partners');
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
      auth: signIn ? withSessions(auth, signIn) : auth,
      signIn,
      exchange: { inbox, outbox },
      attachments: config.attachments,
      policy,
      maxRetryInterval: send.maxRetryInterval,
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
    const resumed = await resumePendingDeliveries(send);
    if (resumed) log.info({ resumed }, 'deliveries of pending messages resumed');
    const host = config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host;

    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= runCleanups());
    const stopped = workerRun.then(
      () => stop(),
      async (err: unknown) => {
        log.fatal(
          { errName: (err as Error).name, msg: (err as Error).message },
          'worker failed; stopping the node',
        );
        await stop();
      },
    );

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
      exchange: { inbox, outbox, send },
      audit: { log: audit, witness },
      retention,
      stopped,
      stop,
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}
