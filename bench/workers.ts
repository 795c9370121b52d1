// Benchmark: does node A's throughput grow with its worker processes? A runs as process roles: its
// API in this process (`startNode` with role `api`, as `parley api` runs it) and one, then two,
// `parley worker` processes on one Temporal namespace and one database; B is a whole node. Each
// phase submits N requests (C in flight) through A's API and times them from the first POST until
// A holds B's receipt for every one (status `delivered` in A's read model). The one-worker phase is
// the baseline of the two-worker phase, in the same run, on the same dev server and databases.
//
//   npm run bench:workers   (BENCH_N=100, BENCH_CONCURRENCY=8, BENCH_TIMEOUT_SECONDS=600)
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../config.js';
import { mintDevToken } from '../node/dev-issuer.js';
import { startNode } from '../node/start-node.js';
import { subjectFor } from '../test/helpers/domain.js';
import {
  admin,
  ADMIN_URL,
  http,
  log,
  onCleanup,
  pct,
  registerPartner,
  runBench,
  runId,
  sleep,
  startBenchNode,
  startBenchTemporal,
} from './harness.js';

const N = Number(process.env.BENCH_N ?? 100);
const C = Number(process.env.BENCH_CONCURRENCY ?? 8);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 600);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** `parley worker` as its own process; resolves once it is polling. */
async function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/parley.ts', 'worker'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup('worker process', async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (c: Buffer) => {
      output += c.toString();
      if (output.includes('Parley worker is up')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`parley worker exited with ${code}:\n${output}`)),
    );
  });
  return child;
}

async function main() {
  const temporal = await startBenchTemporal(['party-a', 'party-b']);
  const b = await startBenchNode('party-b', temporal);

  const name = `bench_${crypto.randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  onCleanup(`database ${name}`, () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const env: Record<string, string> = {
    PARTY_ID: 'party-a',
    PORT: '0',
    PARLEY_DATA_DIR: path.join(temporal.root, 'party-a'),
    DATABASE_URL: Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString(),
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: `bench-party-a-${runId}`,
    TEMPORAL_CODEC_KEYS: `k1:${crypto.randomBytes(32).toString('base64')}`,
    DELIVERY_MAX_BACKOFF_SECONDS: '1',
    LOG_LEVEL: 'silent',
  };
  const config = loadConfig(env);
  const api = await startNode(config, { log, role: 'api' });
  onCleanup('A api', () => api.stop());
  const token = (roles: ('officer' | 'admin')[], sub: string) =>
    mintDevToken({ dataDir: config.dataDir, ...config.auth, sub, roles, ttlSeconds: 3600 });
  await http(`${api.url}/v1/admin/partners`, await token(['admin'], 'bench-admin'), {
    partyId: 'party-b',
    name: 'Node of party-b',
    inboxUrl: `${b.url}/v1/messages`,
    jwks: await http(`${b.url}/.well-known/jwks.json`),
  });
  await registerPartner(b, {
    partyId: 'party-a',
    inboxUrl: `${api.url}/v1/messages`,
    jwks: await http(`${api.url}/.well-known/jwks.json`),
  });

  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  onCleanup('pool', () => pool.end());
  const officer = await token(['officer'], 'bench-officer');

  /** `count` requests, C in flight; seconds from the first POST until A holds every receipt. */
  const phase = async (label: string, count = N) => {
    const ids: string[] = [];
    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: C }, async () => {
        for (let n = next++; n < count; n = next++) {
          const t0 = performance.now();
          const body = await http(`${api.url}/v1/requests`, officer, {
            type: 'mine_map',
            counterparty: 'party-b',
            priority: 'critical',
            subject: subjectFor('mine_map', `Bench ${label} ${n}`),
          });
          latencies.push(performance.now() - t0);
          ids.push(body.id as string);
        }
      }),
    );
    for (;;) {
      const { rows } = await pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM requests WHERE req_id = ANY($1) AND status = 'delivered'",
        [ids],
      );
      if (rows[0]!.n === count) break;
      await sleep(20);
    }
    const seconds = (performance.now() - started) / 1000;
    return { perSecond: count / seconds, seconds, postP50: pct(latencies, 0.5) };
  };

  await startWorkerProcess(env);
  await phase('warm-up', Math.min(10, N));
  const one = await phase('one worker');
  await startWorkerProcess(env);
  const two = await phase('two workers');

  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(
    `bench:workers  N=${N} C=${C}  load average ${os
      .loadavg()
      .map((x) => f(x, 2))
      .join(' ')}, ${os.cpus().length} CPUs`,
  );
  console.log(
    `  1 worker process    ${f(one.perSecond)} requests/s end to end (${f(one.seconds)} s), POST p50 ${f(one.postP50, 0)} ms   (baseline)`,
  );
  console.log(
    `  2 worker processes  ${f(two.perSecond)} requests/s end to end (${f(two.seconds)} s), POST p50 ${f(two.postP50, 0)} ms   ratio ${f(two.perSecond / one.perSecond, 2)}x`,
  );
}

void runBench(main, TIMEOUT_S);
