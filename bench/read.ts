// Benchmark of the supervisors' read API at scale: a fresh database seeded with 100,000 requests
// and 1,000,000 timeline events (INSERT ... SELECT over generate_series), the node's API in its own
// process as `parley api` runs it (startNode with role `api` on a Temporal dev server of the
// bench's own: every middleware, real bearer-token auth, beside the node's background jobs), and a
// closed loop of C callers for S seconds per path: the list with the common filters (first and
// later pages), and the summary (cached as served, and without the cache: the node's cache cannot
// be turned off by its configuration, so that row is computeSummary on the node's pool behind a
// bare node:http server in the same process, no express, no auth). The baseline, in the same run:
// the same SQL statements sent straight through pg at the same concurrency. Prints median, p95 and
// throughput, the ratios, the goals of issue 14 (list throughput >= 0.7 of its SQL through pg; one
// summary computation from the maintained aggregates, no cache, < 50 ms; beside it the full
// computation from the timeline that the aggregates replace), the older targets (list p95 < 50 ms,
// summary p95 < 200 ms), and the CPU one call costs in the bench, the API process and the Postgres
// backends: latency depends on what else runs on the machine, CPU per call much less.
//
//   npm run bench:read     (BENCH_SECONDS=20 per path, BENCH_CONCURRENCY=16, BENCH_POOL_SIZE=10,
//                           BENCH_REQUESTS=100000, BENCH_EVENTS_PER_REQUEST=10, BENCH_PHASES=list,summary,
//                           BENCH_KEEP_DATABASE=1 to look at plans afterwards)
import { fork, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { computeSummary, listStatement, type Keyset, type Statement } from '../db/supervisor.js';
import { mintDevToken } from '../node/dev-issuer.js';
import { startNode } from '../node/start-node.js';
import { SupervisorListQuery, type SupervisorSummary } from '../schemas/supervisor-api.js';
import {
  admin,
  ADMIN_URL,
  log,
  onCleanup,
  pct,
  runBench,
  runId,
  sleep,
  startBenchTemporal,
} from './harness.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const C = Number(process.env.BENCH_CONCURRENCY ?? 16);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100_000);
const EVENTS_PER_REQUEST = Number(process.env.BENCH_EVENTS_PER_REQUEST ?? 10);
/** Connections of the API's pool and of the baseline's: the node's default (DATABASE_POOL_SIZE). */
const POOL_SIZE = Number(process.env.BENCH_POOL_SIZE ?? 10);
/** Which paths to measure: `list`, `summary` (both by default). */
const PHASES = new Set((process.env.BENCH_PHASES ?? 'list,summary').split(','));
/** The seeded requests are party-a's: its outgoing ones name it as requester. */
const PARTY = 'party-a';
const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------------
// The API process: the node's API role, configured as `parley api` would be from `env`.

/** What the API process tells the bench once it listens. */
interface Listening {
  /** The node's API. */
  url: string;
  /** The summary without a cache (see the top of this file). */
  uncachedUrl: string;
}

async function serve(env: Record<string, string>) {
  const node = await startNode(loadConfig(env), { log, role: 'api' });
  // One computation at a time, shared by the callers that arrive while it runs, as the node's
  // summary cache does with no freshness: only the cache's reuse of a finished summary is left out.
  let running: Promise<SupervisorSummary> | undefined;
  const summary = () =>
    (running ??= computeSummary(node.database.pool).finally(() => (running = undefined)));
  const bare = http.createServer((_req, res) => {
    summary().then(
      (value) => {
        const text = JSON.stringify(value);
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      },
      (err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(err.message);
      },
    );
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const listening: Listening = {
    url: node.url,
    uncachedUrl: `http://127.0.0.1:${(bare.address() as AddressInfo).port}`,
  };
  process.send!(listening);
  // CPU time spent so far, for the cost of a call (see cpuMeter).
  process.on('message', () => process.send!({ cpu: process.cpuUsage() }));
  process.on('disconnect', () => {
    bare.close();
    void node.stop().finally(() => process.exit(0));
  });
}

function startServer(env: Record<string, string>): Promise<{ child: ChildProcess } & Listening> {
  const child = fork(SELF, [], {
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_SERVER_ARGS?.split(' ') ?? [])],
    env: { ...process.env, BENCH_READ_ROLE: 'server', BENCH_NODE_ENV: JSON.stringify(env) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  onCleanup('API process', () =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise((r) => (child.once('exit', r), child.disconnect())),
  );
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, ...(m as Listening) }));
    child.once('exit', (code) => reject(new Error(`API process exited with ${code}`)));
  });
}

// ---------------------------------------------------------------------------------------------
// Seeding: one statement per table, every value derived from the row number and a seeded random().

const PARTNERS = 8;

async function seed(pool: pg.Pool) {
  const client = await pool.connect();
  try {
    await client.query('SET synchronous_commit = off');
    await client.query('SELECT setseed(0.42)');
    // Crockford base32 of a number, `len` characters: the ULID's time part.
    await client.query(`CREATE FUNCTION pg_temp.b32(v bigint, len int) RETURNS text
      LANGUAGE sql IMMUTABLE AS $$
        SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', ((v >> (5 * (len - 1 - k))) & 31)::int + 1, 1), '' ORDER BY k)
        FROM generate_series(0, len - 1) k $$`);
    await client.query(`CREATE FUNCTION pg_temp.noise(i int) RETURNS text
      LANGUAGE sql IMMUTABLE AS $$
        SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ', (get_byte(decode(md5(i::text), 'hex'), k) & 31) + 1, 1), '' ORDER BY k)
        FROM generate_series(0, 15) k $$`);
    // Requests created over the past year, oldest first; older ones are finished, recent ones
    // open in every state. Partners are skewed (party-b the busiest), as real traffic is.
    await client.query(
      `CREATE TEMP TABLE seed AS
      WITH base AS (
        SELECT i,
          now() - ($1::int - i) * (interval '365 days' / $1::int) - random() * interval '5 minutes' AS created_at,
          random() AS r_dir, random() AS r_partner, random() AS r_kind, random() AS r_prio,
          random() AS r_status, random() AS r_ack, random() AS r_answer, random() AS r_receipt
        FROM generate_series(1, $1::int) i
      ), shaped AS (
        SELECT *,
          CASE WHEN r_dir < 0.7 THEN 'outgoing' ELSE 'incoming' END AS direction,
          'party-' || chr(98 + floor(r_partner * r_partner * $2::int)::int) AS counterparty,
          (ARRAY['mine_map', 'grave_information', 'identification_result'])[1 + floor(r_kind * 3)::int] AS request_type,
          CASE WHEN r_prio < 0.8 THEN 'routine' WHEN r_prio < 0.95 THEN 'urgent' ELSE 'critical' END AS priority,
          CASE WHEN now() - created_at > interval '60 days' THEN
            CASE WHEN r_status < 0.70 THEN 'closed' WHEN r_status < 0.85 THEN 'answered'
                 WHEN r_status < 0.93 THEN 'declined' ELSE 'withdrawn' END
          ELSE
            CASE WHEN r_status < 0.02 THEN 'submitted' WHEN r_status < 0.27 THEN 'delivered'
                 WHEN r_status < 0.57 THEN 'acknowledged' WHEN r_status < 0.67 THEN 'partially_answered'
                 WHEN r_status < 0.87 THEN 'answered' WHEN r_status < 0.97 THEN 'closed'
                 WHEN r_status < 0.99 THEN 'declined' ELSE 'withdrawn' END
          END AS status
        FROM base
      ), timed AS (
        SELECT *,
          CASE WHEN status <> 'submitted' THEN created_at + r_receipt * interval '10 minutes' END AS receipt_at,
          CASE priority WHEN 'routine' THEN 2 WHEN 'urgent' THEN 1 ELSE 0.5 END * interval '1 day' AS ack_window,
          CASE priority WHEN 'routine' THEN 30 WHEN 'urgent' THEN 14 ELSE 7 END * interval '1 day' AS response_window
        FROM shaped
      ), replied AS (
        SELECT *,
          receipt_at + ack_window AS ack_due_at,
          receipt_at + response_window AS response_due_at,
          CASE WHEN status IN ('acknowledged', 'partially_answered', 'answered', 'closed')
            THEN least(receipt_at + r_ack * r_ack * 1.5 * ack_window, now() - interval '2 seconds') END AS ack_at,
          CASE WHEN status IN ('answered', 'closed')
            THEN least(receipt_at + (0.1 + r_answer * 1.1) * response_window, now() - interval '1 second') END AS answer_at
        FROM timed
      )
      SELECT *,
        pg_temp.b32((extract(epoch FROM created_at) * 1000)::bigint, 10) || pg_temp.noise(i) AS req_id,
        (status = 'delivered' AND ack_due_at < now())
          OR (status IN ('delivered', 'acknowledged', 'partially_answered') AND response_due_at < now()) AS overdue
      FROM replied`,
      [REQUESTS, PARTNERS],
    );
    await client.query(
      `INSERT INTO requests (req_id, workflow_id, direction, request_type, requester, responder,
         counterparty, priority, status, overdue, subject, created_by, created_at, updated_at, last_seq,
         receipt_at, ack_due_at, response_due_at, escalation_level, policy_digest)
       SELECT req_id, 'request-' || req_id, direction, request_type,
         CASE direction WHEN 'outgoing' THEN 'party-a' ELSE counterparty END,
         CASE direction WHEN 'outgoing' THEN counterparty ELSE 'party-a' END,
         counterparty, priority, status, overdue, '{"title": "Benchmark request"}', 'bench', created_at,
         greatest(created_at, receipt_at, ack_at, answer_at), $1, receipt_at, ack_due_at, response_due_at,
         CASE WHEN overdue THEN least(3, floor(extract(epoch FROM now() - least(
           CASE WHEN status = 'delivered' THEN ack_due_at END, response_due_at)) / 86400 / 5))::int ELSE 0 END,
         repeat('0', 64)
       FROM seed ORDER BY i`,
      [EVENTS_PER_REQUEST],
    );
    // The timeline: created, delivered, the first acknowledgement (or reply), traffic, then the
    // outcome in the last event.
    await client.query(
      `INSERT INTO request_events (req_id, seq, at, type, actor, status, detail)
       SELECT s.req_id, g.seq,
         CASE
           WHEN g.seq = 1 THEN s.created_at
           WHEN g.seq = $1 AND s.answer_at IS NOT NULL THEN s.answer_at
           ELSE coalesce(s.ack_at, s.receipt_at, s.created_at) + g.seq * interval '1 second'
         END,
         CASE
           WHEN g.seq = 1 THEN 'created'
           WHEN g.seq = 2 AND s.receipt_at IS NOT NULL THEN 'delivered'
           WHEN g.seq = 3 AND s.ack_at IS NOT NULL THEN 'acknowledge'
           WHEN g.seq = 4 AND s.status = 'partially_answered' THEN 'respond_partial'
           WHEN g.seq = $1 AND s.answer_at IS NOT NULL THEN 'respond_final'
           WHEN g.seq = $1 AND s.status = 'declined' THEN 'decline'
           WHEN g.seq = $1 AND s.status = 'withdrawn' THEN 'withdraw'
           WHEN g.seq % 2 = 0 THEN 'message_delivered'
           ELSE 'reminder_sent'
         END,
         CASE WHEN g.seq = 1 THEN 'bench' END,
         CASE WHEN g.seq = 1 THEN 'submitted' END,
         '{}'::jsonb
       FROM seed s CROSS JOIN generate_series(1, $1::int) g(seq)
       ORDER BY s.i, g.seq`,
      [EVENTS_PER_REQUEST],
    );
  } finally {
    client.release();
  }
  // As after autovacuum: statistics, and pages marked all-visible for index-only scans. A VACUUM
  // racing autovacuum on a fresh table can leave that undone, so check and repeat.
  for (let attempt = 0; attempt < 5; attempt++) {
    await pool.query('VACUUM ANALYZE requests, request_events');
    const { rows } = await pool.query<{ visible: boolean }>(
      `SELECT bool_and(relallvisible >= relpages * 0.95) AS visible FROM pg_class
       WHERE relname IN ('requests', 'request_events')`,
    );
    if (rows[0]?.visible) break;
    await sleep(1000);
  }
}

// ---------------------------------------------------------------------------------------------
// Load.

/** CPU milliseconds per call, by process: this one, the API process, the database's backends. */
interface CpuTimes {
  client: number;
  api: number;
  pg: number;
}
/** CPU milliseconds used so far: ours, the API process's, and each database backend's by pid. */
interface CpuSample {
  client: number;
  api: number;
  pg: Map<number, number>;
}
type CpuMeter = () => Promise<CpuSample>;

interface Result {
  label: string;
  rate: number;
  latencies: number[];
  cpu: CpuTimes;
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/**
 * Reads CPU time: ours, the API process's (asked over IPC), and the Postgres backends serving
 * the bench database (from /proc; clock ticks of 10 ms).
 */
function cpuMeter(child: ChildProcess, pool: pg.Pool): CpuMeter {
  return async () => {
    const api = new Promise<number>((resolve) => {
      child.once('message', (m) => resolve(cpuMs((m as { cpu: NodeJS.CpuUsage }).cpu)));
      child.send('cpu');
    });
    const { rows } = await pool.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
    );
    const backends = new Map<number, number>();
    for (const { pid } of rows) {
      const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      backends.set(pid, (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10); // utime, stime
    }
    return { client: cpuMs(process.cpuUsage()), api: await api, pg: backends };
  };
}

/**
 * The backends' CPU between two samples, backend by backend: the node's pool closes connections
 * idle for 10 s, so a backend may end during a phase (it is left out: what it did since the first
 * sample is lost) and another start (counted whole).
 */
function pgCpu(before: CpuSample, after: CpuSample): number {
  let ms = 0;
  for (const [pid, used] of after.pg) ms += used - (before.pg.get(pid) ?? 0);
  return ms;
}

/** C callers in a closed loop: untimed warm-up, then `seconds` timed. */
async function measure(
  label: string,
  cpu: CpuMeter,
  op: (i: number) => Promise<unknown>,
  seconds = SECONDS,
): Promise<Result> {
  const run = async (ms: number) => {
    const latencies: number[] = [];
    const started = performance.now();
    const end = started + ms;
    let n = 0;
    const lane = async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await op(n++);
        latencies.push(performance.now() - t);
      }
    };
    await Promise.all(Array.from({ length: C }, lane));
    return { rate: latencies.length / ((performance.now() - started) / 1000), latencies };
  };
  await run(Math.min(2000, seconds * 100));
  const before = await cpu();
  const timed = await run(seconds * 1000);
  const after = await cpu();
  const n = timed.latencies.length;
  return {
    label,
    ...timed,
    cpu: {
      client: (after.client - before.client) / n,
      api: (after.api - before.api) / n,
      pg: pgCpu(before, after) / n,
    },
  };
}

function row(r: Result) {
  const cols = [
    r.rate.toFixed(1),
    pct(r.latencies, 0.5).toFixed(1),
    pct(r.latencies, 0.95).toFixed(1),
    `${r.cpu.client.toFixed(2)} / ${r.cpu.api.toFixed(2)} / ${r.cpu.pg.toFixed(2)}`,
  ];
  console.log(`${r.label.padEnd(52)} ${cols.map((c) => c.padStart(9)).join(' ')}`);
}

// node:http with keep-alive rather than fetch: the load generator shares the machine with the
// API and Postgres, so it should spend as little CPU per call as it can.
const agent = new http.Agent({ keepAlive: true, maxSockets: C });

/** GETs a URL as the caller with `token`, parses the JSON answer; throws unless it is a 200. */
function getJson(url: string, token: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`${url}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text) as Record<string, unknown>);
      });
    });
    req.on('error', reject);
  });
}

/** The list queries a supervisor's screens send: filters, sorts, first and later pages. */
async function listQueries(url: string, token: string): Promise<string[]> {
  const day = 86_400_000;
  const at = (offsetDays: number) => new Date(Date.now() + offsetDays * day).toISOString();
  const some = (await getJson(`${url}/v1/supervisor/requests?limit=1&sort=updated_at`, token))
    .items as { id: string }[];
  const firstPages = [
    '',
    'status=delivered,acknowledged,partially_answered&sort=response_due_at',
    'overdue=true&sort=response_due_at',
    'partner=party-c',
    'partner=party-d&status=acknowledged',
    'kind=mine_map&priority=urgent&direction=outgoing',
    `due_after=${at(0)}&due_before=${at(7)}&sort=response_due_at`,
    `created_from=${at(-30)}&created_to=${at(-20)}&status=answered`,
    `id_prefix=${some[0]!.id.slice(0, 6)}`,
    'sort=updated_at&direction=incoming',
    'status=closed&partner=party-b&kind=grave_information&sort=created_at&order=asc',
    'priority=critical&overdue=false',
  ].map((q) => `/v1/supervisor/requests?${q}`);
  // Later pages: the second page of each, and the 20th page of the default list.
  const later: string[] = [];
  for (const q of firstPages) {
    const page = await getJson(url + q, token);
    if (page.nextCursor)
      later.push(`${q}${q.endsWith('?') ? '' : '&'}cursor=${page.nextCursor as string}`);
  }
  let deep = '/v1/supervisor/requests?';
  for (let i = 1; i < 20; i++) {
    const page = await getJson(url + deep, token);
    deep = `/v1/supervisor/requests?cursor=${page.nextCursor as string}`;
  }
  return [...firstPages, ...later, deep];
}

/**
 * The statement the API sends for a list URL, to run it bare: the query string read with the
 * API's schema, the API's default order (api/supervisor.ts, parseListQuery), and the keyset from
 * the cursor the API issued (base64url JSON holding the last row's `key` and `id`). Built here
 * rather than by the API's own parser, which belongs to the API; `sameRows` checks the two agree.
 */
function statementOf(listUrl: string): Statement {
  const query: Record<string, string> = {};
  for (const [k, v] of new URL(listUrl, 'http://x').searchParams) query[k] = v;
  const { sort, order, limit, cursor, ...filters } = SupervisorListQuery.parse(query);
  let after: Keyset | undefined;
  if (cursor !== undefined) {
    const { key, id } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Keyset;
    after = { key, id };
  }
  return listStatement({
    filters,
    sort,
    order: order ?? (sort === 'response_due_at' ? 'asc' : 'desc'),
    limit,
    after,
  });
}

/** Throws unless each statement returns the page the API answers for its URL. */
async function sameRows(
  pool: pg.Pool,
  url: string,
  token: string,
  queries: string[],
  statements: Statement[],
) {
  for (const [k, q] of queries.entries()) {
    const page = await getJson(url + q, token);
    const items = page.items as { id: string }[];
    const { rows } = await pool.query<{ req_id: string }>(statements[k]!);
    // One row more than the page when another page follows (listStatement).
    const expected = rows.length - (page.nextCursor ? 1 : 0);
    if (expected !== items.length || items.some((item, i) => item.id !== rows[i]!.req_id))
      throw new Error(`the baseline's statement for ${q} does not return the API's page`);
  }
}

async function main() {
  // The node's Temporal service (role api starts workflows there, though this bench starts none),
  // started while the database is seeded.
  const temporalStarting = startBenchTemporal([PARTY]);
  temporalStarting.catch(() => undefined); // awaited below; not unhandled meanwhile
  const name = `bench_read_${crypto.randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  if (process.env.BENCH_KEEP_DATABASE) console.log(`keeping database ${name}`);
  else onCleanup(name, () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const databaseUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();

  // Backends live as long as the run, so their CPU time can be read.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: POOL_SIZE, idleTimeoutMillis: 0 });
  onCleanup('pool', () => pool.end());
  await migrate(pool);
  let t = performance.now();
  await seed(pool);
  const seeded = (performance.now() - t) / 1000;
  const { rows: sizes } = await pool.query<{ requests: number; events: number; mb: string }>(
    `SELECT (SELECT count(*) FROM requests)::int AS requests,
            (SELECT count(*) FROM request_events)::int AS events,
            pg_size_pretty(pg_database_size(current_database())) AS mb`,
  );
  const { rows: counts } = await pool.query<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM requests GROUP BY status ORDER BY n DESC',
  );
  console.log(
    `seeded ${sizes[0]!.requests} requests and ${sizes[0]!.events} events in ${seeded.toFixed(1)} s ` +
      `(database ${sizes[0]!.mb}): ${counts.map((c) => `${c.status} ${c.n}`).join(', ')}`,
  );

  // The node's configuration, as `parley api` reads it from its environment: the seeded database,
  // the bench's Temporal service, and a data folder where the node makes its keys and its
  // development token issuer.
  const temporal = await temporalStarting;
  const env = {
    PARTY_ID: PARTY,
    PORT: '0',
    PARLEY_DATA_DIR: path.join(temporal.root, PARTY),
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: String(POOL_SIZE),
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: `bench-${PARTY}-${runId}`,
    LOG_LEVEL: 'silent',
    // No retention sweep: it would erase seeded requests past their retention mid-run.
    RETENTION_SWEEP_SECONDS: '0',
  };
  const config = loadConfig(env);
  const { child, url, uncachedUrl } = await startServer(env);
  const token = await mintDevToken({
    dataDir: config.dataDir,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
    rolesClaim: config.auth.rolesClaim,
    sub: 'bench-supervisor',
    roles: ['supervisor'],
    ttlSeconds: 3600,
  });

  const cpu = cpuMeter(child, pool);
  const queries = await listQueries(url, token);
  const statements = queries.map(statementOf);
  await sameRows(pool, url, token, queries, statements);

  // The summary alone, sequentially: what one computation costs without competition, from the
  // maintained aggregates and (fewer runs: it is slow) from the timeline as before them.
  const alone: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    await computeSummary(pool);
    alone.push(performance.now() - t);
  }
  const full: number[] = [];
  for (let i = 0; i < 2; i++) {
    t = performance.now();
    await computeSummary(pool, new Date(), { from: 'timeline' });
    full.push(performance.now() - t);
  }

  const perQuery = queries.map(() => [] as number[]);
  const results: Record<string, Result | undefined> = {};
  if (PHASES.has('list')) {
    results.listApi = await measure(
      `list: API (${queries.length} queries in turn)`,
      cpu,
      async (i) => {
        const k = i % queries.length;
        const started = performance.now();
        await getJson(url + queries[k]!, token);
        perQuery[k]!.push(performance.now() - started);
      },
    );
    results.listSql = await measure('list: same SQL through pg (baseline)', cpu, (i) =>
      pool.query(statements[i % statements.length]!),
    );
  }
  if (PHASES.has('summary')) {
    results.summaryApi = await measure('summary: API (cached, recomputed every 5 s)', cpu, () =>
      getJson(`${url}/v1/supervisor/summary`, token),
    );
    results.summaryUncached = await measure(
      'summary: no cache, bare HTTP in API process *',
      cpu,
      () => getJson(uncachedUrl, token),
    );
    results.summarySql = await measure('summary: same SQL through pg (baseline)', cpu, () =>
      computeSummary(pool),
    );
  }

  console.log(
    `\n${REQUESTS} requests, ${REQUESTS * EVENTS_PER_REQUEST} events; concurrency ${C}, ` +
      `${SECONDS} s per path after a warm-up; pool ${POOL_SIZE}; ${os.cpus().length} CPUs; ` +
      `the node's API (role api) in its own process\n`,
  );
  console.log(
    `${'path'.padEnd(52)} ${['req/s', 'p50 ms', 'p95 ms', 'CPU ms per call: bench / API / pg']
      .map((h) => h.padStart(9))
      .join(' ')}`,
  );
  for (const r of Object.values(results)) if (r) row(r);
  if (results.summaryUncached)
    console.log(
      "* not the node's route (its summary cache cannot be turned off by configuration):\n" +
        "  computeSummary on the node's pool behind a bare node:http server in the API process\n" +
        '  (no express, no auth), callers sharing one run',
    );
  const p95 = (r: Result) => pct(r.latencies, 0.95);
  const ratio = (label: string, a: Result | undefined, b: Result | undefined) => {
    if (a && b)
      console.log(
        `ratio ${label.padEnd(24)} throughput ${(a.rate / b.rate).toFixed(2)}, p95 ${(p95(a) / p95(b)).toFixed(2)}`,
      );
  };
  const { listApi, listSql, summaryApi, summaryUncached, summarySql } = results;
  if (listApi) {
    console.log('\nlist queries (API, p50 / p95 ms):');
    queries.forEach((q, k) => {
      const ms = perQuery[k]!;
      const shown = q.replace(/cursor=[^&]+/, 'cursor=…').replace('/v1/supervisor/requests?', '');
      console.log(
        `  ${pct(ms, 0.5).toFixed(1).padStart(6)} / ${pct(ms, 0.95).toFixed(1).padStart(6)}  ${shown || '(no filter)'}`,
      );
    });
  }
  console.log(
    `\nsummary computed alone (no load), 5 runs: ${alone.map((ms) => ms.toFixed(0)).join(', ')} ms ` +
      `(full computation from the timeline: ${full.map((ms) => ms.toFixed(0)).join(', ')} ms)`,
  );
  ratio('list API / SQL:', listApi, listSql);
  ratio('summary API / SQL:', summaryApi, summarySql);
  ratio('summary no cache / SQL:', summaryUncached, summarySql);
  // The goals of issue 14: the list within 0.7x of its SQL, the summary computed in under 50 ms.
  if (listApi && listSql) {
    const r = listApi.rate / listSql.rate;
    console.log(`goal list API / SQL >= 0.7:    ${r >= 0.7 ? 'met' : 'NOT met'} (${r.toFixed(2)})`);
  }
  const computed = pct(alone, 0.5);
  console.log(
    `goal summary computed < 50 ms: ${computed < 50 ? 'met' : 'NOT met'} (median ${computed.toFixed(0)} ms)`,
  );
  if (listApi)
    console.log(
      `target list p95 < 50 ms:       ${p95(listApi) < 50 ? 'met' : 'MISSED'} (${p95(listApi).toFixed(1)} ms)`,
    );
  if (summaryApi && summaryUncached)
    console.log(
      `target summary p95 < 200 ms:   ${p95(summaryApi) < 200 ? 'met' : 'MISSED'} (${p95(summaryApi).toFixed(1)} ms as served, cached; ` +
        `${p95(summaryUncached).toFixed(1)} ms without the cache, bare HTTP *)`,
    );
}

if (process.env.BENCH_READ_ROLE === 'server') {
  await serve(JSON.parse(process.env.BENCH_NODE_ENV!) as Record<string, string>);
} else {
  // Generous: seeding 100,000 requests takes a minute or so, the phases a few more.
  await runBench(main, 3600);
}
