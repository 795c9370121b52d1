// What the node benchmarks share (bench:inbox, bench:deadlines): a run-wide cleanup list, a
// Temporal dev server of their own with the workflow bundle, nodes on fresh Postgres databases,
// partner registration through the admin API, percentiles, and a bounded main.
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../config.js';
import type { InboundSink } from '../exchange/inbox.js';
import { mintDevToken } from '../node/dev-issuer.js';
import { startNode } from '../node/start-node.js';
import type { Role } from '../schemas/common.js';
import { ensureTemporalCli } from '../temporal/cli-locator.js';
import { startDevServer } from '../temporal/dev-server.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { WORKFLOWS_PATH } from '../temporal/worker.js';

export const ADMIN_URL = process.env.BENCH_ADMIN_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const log = pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' });
const noop = () => undefined;
const silent = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const runId = crypto.randomBytes(4).toString('hex');

// Everything started is undone in reverse order, on success, error, timeout or Ctrl-C.
const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
let closing = false;
export function onCleanup(name: string, run: () => Promise<unknown>) {
  if (closing)
    void run().catch(noop); // started while cleaning up (after a timeout): undo now
  else cleanups.push({ name, run });
}
async function cleanup() {
  closing = true;
  for (const c of cleanups.splice(0).reverse()) {
    await c.run().catch((err: Error) => console.error(`cleanup ${c.name}: ${err.message}`));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function admin(sql: string) {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  await client.query(sql).finally(() => client.end());
}

/** A temp folder, a Temporal dev server with one namespace per party, and the workflow bundle. */
export async function startBenchTemporal(parties: string[]) {
  installTemporalRuntime(log);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-bench-'));
  onCleanup('temp dir', () => fs.rm(root, { recursive: true, force: true }));
  const server = await startDevServer({
    cliPath: (await ensureTemporalCli()).path,
    port: await freePort(),
    dbFile: path.join(root, 'temporal.sqlite'),
    fastSqlite: true,
    namespaces: parties.map((p) => `bench-${p}-${runId}`),
  });
  onCleanup('temporal dev server', () => server.stop());
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent });
  await fs.writeFile(path.join(root, 'workflow-bundle.js'), code);
  return { root, address: server.address };
}

export interface BenchNodeOptions {
  /** Extra configuration (environment variable names, as `parley start` reads them). */
  env?: Record<string, string>;
  /** Where verified inbound messages go; by default, the request workflows. */
  sink?: InboundSink;
}

/** A whole node (API, worker, relay, audit integrator) on a fresh database of its own. */
export async function startBenchNode(
  partyId: string,
  temporal: { root: string; address: string },
  opts: BenchNodeOptions = {},
) {
  const name = `bench_${crypto.randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  onCleanup(`database ${name}`, () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const databaseUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
  const dataDir = path.join(temporal.root, partyId);
  const config = loadConfig({
    PARTY_ID: partyId,
    PORT: '0',
    PARLEY_DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: `bench-${partyId}-${runId}`,
    LOG_LEVEL: 'silent',
    DELIVERY_MAX_BACKOFF_SECONDS: '1',
    ...opts.env,
  });
  const node = await startNode(config, {
    log,
    workflowBundlePath: path.join(temporal.root, 'workflow-bundle.js'),
    ...(opts.sink ? { sink: opts.sink } : {}),
  });
  onCleanup(`node ${partyId}`, () => node.stop());
  const { issuer, audience, rolesClaim } = config.auth;
  const token = (roles: Role[], sub: string) =>
    mintDevToken({ dataDir, issuer, audience, rolesClaim, sub, roles, ttlSeconds: 3600 });
  return { ...node, databaseUrl, token };
}
export type BenchNode = Awaited<ReturnType<typeof startBenchNode>>;

/** GET, or POST of `json` with a bearer token; throws unless the answer is a success. */
export async function http(url: string, token?: string, json?: unknown) {
  const res = await fetch(url, {
    method: json === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: json === undefined ? null : JSON.stringify(json),
  });
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Registers `partner` (its id, inbox and public keys) at `self` through the admin API. */
export async function registerPartner(
  self: BenchNode,
  partner: { partyId: string; inboxUrl: string; jwks: unknown },
) {
  await http(`${self.url}/v1/admin/partners`, await self.token(['admin'], 'bench-admin'), {
    partyId: partner.partyId,
    name: `Node of ${partner.partyId}`,
    inboxUrl: partner.inboxUrl,
    jwks: partner.jwks,
  });
}

/** Two nodes' mutual registration. */
export async function pair(a: BenchNode, b: BenchNode) {
  for (const [self, other] of [
    [a, b],
    [b, a],
  ] as const) {
    await registerPartner(self, {
      partyId: other.config.partyId,
      inboxUrl: `${other.url}/v1/messages`,
      jwks: await http(`${other.url}/.well-known/jwks.json`),
    });
  }
}

/** The q-quantile (0..1) of a list of numbers, nearest rank. */
export const pct = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil(q * xs.length) - 1)] ?? NaN;

/**
 * Runs `main` within `timeoutSeconds`, then undoes everything it started (at most 30 s), and exits
 * 1 on an error, a timeout or Ctrl-C, else 0.
 */
export async function runBench(main: () => Promise<void>, timeoutSeconds: number): Promise<never> {
  let abort: (err: Error) => void = noop;
  const aborted = new Promise<never>((_, reject) => (abort = reject));
  setTimeout(
    () => abort(new Error(`timed out after ${timeoutSeconds} s`)),
    timeoutSeconds * 1000,
  ).unref();
  process.once('SIGINT', () => abort(new Error('interrupted')));
  let exitCode = 0;
  try {
    await Promise.race([main(), aborted]);
  } catch (err) {
    console.error(err);
    exitCode = 1;
  } finally {
    await Promise.race([cleanup(), sleep(30_000)]);
  }
  process.exit(exitCode);
}
