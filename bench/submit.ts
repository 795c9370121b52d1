// Benchmark: request submissions per second through our whole path (POST /v1/requests on node A:
// validation, storage, update-with-start of the workflow, signing; then delivery to node B, done
// when A's read model says `delivered`) against bare Temporal calls on the same dev server in the
// same run: `workflow.start` with no worker, and `workflow.execute` of a no-op workflow. Closed
// loop: C operations in flight, N timed after a short warm-up. Prints both and their ratios.
// Each node runs in a process of its own, as `parley start` would (the partner's node is another
// machine in real life): this process only calls their HTTP APIs, reads their databases, and runs
// the baseline's client and no-op worker.
//
// It also guards the hot path: it counts the Temporal work one request costs (workflow tasks,
// activities and local activities in the last request's history on A and on B) and exits non-zero,
// naming the limit, when a count grows past LIMITS below.
//
//   npm run bench:submit   (BENCH_N=200, BENCH_CONCURRENCY=8, BENCH_TIMEOUT_SECONDS=240,
//                           BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" to profile the nodes)
import { fork } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import pg from 'pg';
import { loadConfig } from '../config.js';
import { mintDevToken } from '../node/dev-issuer.js';
import { startNode } from '../node/start-node.js';
import type { Role } from '../schemas/common.js';
import { ensureTemporalCli } from '../temporal/cli-locator.js';
import { startDevServer } from '../temporal/dev-server.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { WORKFLOWS_PATH } from '../temporal/worker.js';
import { admin, ADMIN_URL, http, log, onCleanup, pct, runBench, sleep } from './harness.js';
import { requestWorkflowId } from '../workflows/messages.js';
import { subjectFor } from '../test/helpers/domain.js';

const N = Number(process.env.BENCH_N ?? 200);
const C = Number(process.env.BENCH_CONCURRENCY ?? 8);
const WARMUP = Math.min(10, N);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 240);
const POLL_MS = 5;
const NODE_MODULES = fileURLToPath(new URL('../node_modules', import.meta.url));

/**
 * The most Temporal work one request may cost, from POST until A holds B's receipt: the counts
 * measured on 6 December 2026 (issue 14, item 6; `BENCH_N=20`: A 2 workflow tasks, 1 activity, 3
 * local activities; B 1, 0, 1). Histories are read once A holds B's receipt. A count above its
 * limit makes this script exit 1: more round trips on the hot path are a regression, to be
 * justified by raising the limit in the same commit.
 */
const LIMITS = {
  A: { workflowTasks: 2, activities: 1, localActivities: 3 },
  B: { workflowTasks: 1, activities: 0, localActivities: 1 },
} as const;
type Work = { workflowTasks: number; activities: number; localActivities: number };

const noop = () => undefined;
const silent = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
const runId = process.env.BENCH_RUN_ID ?? crypto.randomBytes(4).toString('hex');
const SELF = fileURLToPath(import.meta.url);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The node's configuration; the same in its process and in this one (tokens, namespaces). */
function benchConfig(partyId: string, root: string, temporalAddress: string, databaseUrl: string) {
  return loadConfig({
    PARTY_ID: partyId,
    PORT: '0',
    PARLEY_DATA_DIR: path.join(root, partyId),
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: `bench-${partyId}-${runId}`,
    LOG_LEVEL: 'silent',
    DELIVERY_MAX_BACKOFF_SECONDS: '1',
  });
}

/** In a node's own process: starts it, says its URL, and stops it when the parent lets go. */
async function serveNode() {
  installTemporalRuntime(log);
  const { BENCH_PARTY, BENCH_ROOT, BENCH_TEMPORAL, BENCH_DATABASE_URL } = process.env;
  const config = benchConfig(BENCH_PARTY!, BENCH_ROOT!, BENCH_TEMPORAL!, BENCH_DATABASE_URL!);
  const node = await startNode(config, {
    log,
    workflowBundlePath: path.join(BENCH_ROOT!, 'workflow-bundle.js'),
  });
  process.once('disconnect', () => void node.stop().finally(() => process.exit(0)));
  process.send!({ url: node.url });
}

/** A node of `partyId` in a child process, on a fresh database; clients to it from here. */
async function startBenchNode(partyId: string, root: string, temporalAddress: string) {
  const name = `bench_${crypto.randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  onCleanup(`database ${name}`, () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const databaseUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
  const config = benchConfig(partyId, root, temporalAddress, databaseUrl);
  const child = fork(SELF, [], {
    // BENCH_NODE_ARGS: more node flags for the nodes' processes, e.g. `--cpu-prof`.
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_NODE_ARGS?.split(' ') ?? [])],
    env: {
      ...process.env,
      BENCH_PARTY: partyId,
      BENCH_ROOT: root,
      BENCH_TEMPORAL: temporalAddress,
      BENCH_DATABASE_URL: databaseUrl,
      BENCH_RUN_ID: runId,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  onCleanup(`node ${partyId}`, async () => {
    if (child.connected) child.disconnect();
    // A node stops within 10 s; one that does not is killed.
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killer);
  });
  const { url } = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string }));
    void exited.then(() => reject(new Error(`the node of ${partyId} exited before it listened`)));
  });
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  onCleanup(`pool of ${partyId}`, () => pool.end());
  const connection = await Connection.connect({ address: temporalAddress });
  onCleanup(`client of ${partyId}`, () => connection.close());
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const { issuer, audience, rolesClaim } = config.auth;
  const token = (roles: Role[], sub: string) =>
    mintDevToken({
      dataDir: config.dataDir,
      issuer,
      audience,
      rolesClaim,
      sub,
      roles,
      ttlSeconds: 3600,
    });
  return { url, config, databaseUrl, pool, client, token };
}
type BenchNode = Awaited<ReturnType<typeof startBenchNode>>;

async function registerPartner(self: BenchNode, partner: BenchNode) {
  await http(`${self.url}/v1/admin/partners`, await self.token(['admin'], 'bench-admin'), {
    partyId: partner.config.partyId,
    name: `Node of ${partner.config.partyId}`,
    inboxUrl: `${partner.url}/v1/messages`,
    jwks: await http(`${partner.url}/.well-known/jwks.json`),
  });
}

/** One query every POLL_MS, on its own connection, for all requests not yet `delivered` on A. */
function deliveryWatcher(databaseUrl: string) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  let stopped = false;
  const loop = (async () => {
    for (; !stopped; await sleep(POLL_MS)) {
      if (waiting.size === 0) continue;
      const { rows } = await pool.query<{ req_id: string }>(
        "SELECT req_id FROM requests WHERE req_id = ANY($1) AND status = 'delivered'",
        [[...waiting.keys()]],
      );
      for (const { req_id } of rows) waiting.get(req_id)?.resolve();
      for (const { req_id } of rows) waiting.delete(req_id);
    }
  })().catch((err: Error) => waiting.forEach((w) => w.reject(err)));
  onCleanup('delivery watcher', async () => {
    stopped = true;
    await loop;
    await pool.end();
  });
  return (id: string) =>
    new Promise<void>((resolve, reject) => waiting.set(id, { resolve, reject }));
}

/** WARMUP untimed operations (negative i), then N timed ones, C at a time. */
async function measure(op: (i: number) => Promise<unknown>) {
  const run = async (ids: number[]) => {
    const latencies: number[] = [];
    const started = performance.now();
    const lane = async () => {
      for (let i = ids.shift(); i !== undefined; i = ids.shift()) {
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: C }, lane));
    const seconds = (performance.now() - started) / 1000;
    return { rate: latencies.length / seconds, latencies };
  };
  await run(Array.from({ length: WARMUP }, (_, i) => -1 - i));
  return run(Array.from({ length: N }, (_, i) => i));
}

function row(label: string, rate: number | undefined, ms: number[]) {
  const cols = [rate?.toFixed(1) ?? '-', pct(ms, 0.5).toFixed(1), pct(ms, 0.95).toFixed(1)];
  console.log(`${label.padEnd(44)} ${cols.map((c) => c.padStart(10)).join(' ')}`);
}

/** Workflow tasks, activities and local activities (their markers) in one workflow's history. */
async function temporalWork(client: Client, workflowId: string): Promise<Work> {
  const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  return {
    workflowTasks: events.filter((e) => e.workflowTaskScheduledEventAttributes).length,
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    localActivities: events.filter(
      (e) => e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER,
    ).length,
  };
}
/** The marker name the TypeScript SDK (its Rust core) records for each local activity's result. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';
const workText = (w: Work) =>
  `${w.workflowTasks} workflow tasks, ${w.activities} activities, ${w.localActivities} local activities`;

/** One line per count above its limit in LIMITS. */
function crossedLimits(party: keyof typeof LIMITS, work: Work) {
  return (Object.keys(LIMITS[party]) as (keyof Work)[])
    .filter((k) => work[k] > LIMITS[party][k])
    .map((k) => `${party}: ${work[k]} ${k} > limit ${LIMITS[party][k]}`);
}

/** A client on the `default` namespace, and a worker there running `noop` (from a temp file). */
async function startBaseline(address: string, root: string, taskQueue: string) {
  const connection = await Connection.connect({ address });
  onCleanup('baseline client', () => connection.close());
  const workflowsPath = path.join(root, 'noop-workflow.js');
  await fs.writeFile(workflowsPath, 'export async function noop() { return 1; }\n');
  const workerConnection = await NativeConnection.connect({ address });
  onCleanup('baseline worker connection', () => workerConnection.close());
  const worker = await Worker.create({
    connection: workerConnection,
    namespace: 'default',
    taskQueue,
    workflowsPath,
    // The file is outside the project: let the bundler find @temporalio/workflow in ours.
    bundlerOptions: {
      webpackConfigHook: (config) => ({
        ...config,
        resolve: { ...config.resolve, modules: [NODE_MODULES, 'node_modules'] },
      }),
    },
  });
  const running = worker.run();
  onCleanup('baseline worker', () => (worker.shutdown(), running));
  return new Client({ connection, namespace: 'default' });
}

async function main() {
  installTemporalRuntime(log);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-bench-'));
  onCleanup('temp dir', () => fs.rm(root, { recursive: true, force: true }));
  const server = await startDevServer({
    cliPath: (await ensureTemporalCli()).path,
    port: await freePort(),
    dbFile: path.join(root, 'temporal.sqlite'),
    fastSqlite: true,
    namespaces: ['party-a', 'party-b'].map((p) => `bench-${p}-${runId}`),
  });
  onCleanup('temporal dev server', () => server.stop());
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent });
  await fs.writeFile(path.join(root, 'workflow-bundle.js'), code);
  const [a, b] = await Promise.all([
    startBenchNode('party-a', root, server.address),
    startBenchNode('party-b', root, server.address),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  const officer = await a.token(['officer'], 'bench-officer');
  const client = await startBaseline(server.address, root, `bench-noop-${runId}`);

  console.log(
    `N=${N}, concurrency ${C}, ${WARMUP} warm-up operations per path, ${os.cpus().length} CPUs`,
  );
  const bareStart = await measure((i) =>
    client.workflow.start('noop', {
      taskQueue: `bench-no-worker-${runId}`,
      workflowId: `start-${runId}-${i}`,
    }),
  );
  const bareExecute = await measure((i) =>
    client.workflow.execute('noop', {
      taskQueue: `bench-noop-${runId}`,
      workflowId: `execute-${runId}-${i}`,
    }),
  );
  const delivered = deliveryWatcher(a.databaseUrl);
  const created: number[] = [];
  let lastId = '';
  const ours = await measure(async (i) => {
    const t = performance.now();
    const request = await http(`${a.url}/v1/requests`, officer, {
      type: 'mine_map',
      counterparty: 'party-b',
      subject: subjectFor('mine_map', `Benchmark request ${i}`),
    });
    if (i >= 0) created.push(performance.now() - t);
    lastId = request.id as string;
    await delivered(lastId);
  });

  const sent = await a.pool.query<{ n: number; attempts: number }>(
    "SELECT count(*)::int AS n, avg(attempts)::float AS attempts FROM outbox_messages WHERE kind = 'request'",
  );
  const atB = await b.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM requests WHERE direction = 'incoming' AND status = 'delivered'",
  );
  const workA = await temporalWork(a.client, requestWorkflowId(lastId));
  const workB = await temporalWork(b.client, requestWorkflowId(lastId));

  console.log(
    `\n${'path'.padEnd(44)} ${['subm/s', 'p50 ms', 'p95 ms'].map((h) => h.padStart(10)).join(' ')}`,
  );
  row('bare workflow.start (no worker)', bareStart.rate, bareStart.latencies);
  row('bare workflow.execute (no-op worker)', bareExecute.rate, bareExecute.latencies);
  row('ours: POST /v1/requests until 201', undefined, created);
  row('ours end-to-end: POST until delivered at A', ours.rate, ours.latencies);
  console.log(
    `\n(sent by A: ${sent.rows[0]?.n}, ${sent.rows[0]?.attempts.toFixed(2)} delivery attempts each; ` +
      `delivered at B: ${atB.rows[0]?.n}; delivery polled every ${POLL_MS} ms)\n` +
      `one request's history: A ${workText(workA)}; B ${workText(workB)} (bare execute: 1 workflow task)\n` +
      `ratio bare start p50 / ours POST p50: ${(pct(bareStart.latencies, 0.5) / pct(created, 0.5)).toFixed(3)} (goal >= 0.7)\n` +
      `ratio ours end-to-end / bare start:   ${(ours.rate / bareStart.rate).toFixed(3)}\n` +
      `ratio ours end-to-end / bare execute: ${(ours.rate / bareExecute.rate).toFixed(3)} (goal >= 0.5)`,
  );
  const crossed = [...crossedLimits('A', workA), ...crossedLimits('B', workB)];
  if (crossed.length > 0) {
    throw new Error(
      `the hot path grew past its limits (LIMITS in bench/submit.ts):\n  ${crossed.join('\n  ')}`,
    );
  }
  console.log(`within the limits: A ${workText(LIMITS.A)}; B ${workText(LIMITS.B)}`);
}

if (process.env.BENCH_PARTY) await serveNode();
else await runBench(main, TIMEOUT_S);
