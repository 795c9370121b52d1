// Honest errors when what POST /v1/requests depends on fails: Postgres unreachable or shutting
// down, Temporal unreachable, the workflow not recording in time. Each answers 503 with a stable
// code and Retry-After, never 500 and never an unbounded wait; a retry with the same
// Idempotency-Key then returns the one request that was created.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { Client, Connection } from '@temporalio/client';
import express from 'express';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticator, type Authenticator } from '../../api/auth.js';
import { parseJson } from '../../api/json-body.js';
import { errorHandler, notFound } from '../../api/problem.js';
import { requestsRouter, type RequestsDeps } from '../../api/requests.js';
import { call } from '../helpers/http.js';
import { startTestNode, testLogger, type TestNode } from '../helpers/node.js';
import { eventually, registerOfflinePartner } from '../helpers/partners.js';
import { freePort } from '../helpers/ports.js';
import { subjectFor } from '../helpers/domain.js';

const body = {
  type: 'grave_information',
  counterparty: 'party-b',
  priority: 'urgent',
  subject: subjectFor('grave_information', 'Burial sites reported near the old quarry'),
};

let node: TestNode;
let auth: Authenticator;
let officer: string;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  node = await startTestNode({ partyId: 'party-a' });
  await registerOfflinePartner(node);
  if (node.config.auth.jwks !== 'file') throw new TypeError('the test node has a key set file');
  auth = await createAuthenticator(node.config.auth);
  officer = await node.token('officer', 'officer-alice');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => node?.destroy());

/** The officers' request routes of the test node, with some of their dependencies replaced. */
async function requestsApp(over: Partial<RequestsDeps>): Promise<string> {
  const app = express();
  app.use(parseJson);
  app.use(
    '/v1/requests',
    requestsRouter({
      partyId: node.config.partyId,
      pool: node.database.pool,
      client: node.temporal.client,
      taskQueue: node.config.temporal.taskQueue,
      auth,
      policy: node.policy,
      maxRetryInterval: '5 seconds',
      ...over,
    }),
  );
  app.use(notFound);
  app.use(errorHandler(testLogger));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function poolOn(port: number): pg.Pool {
  const url = new URL(node.databaseUrl!);
  const pool = new pg.Pool({
    host: '127.0.0.1',
    port,
    user: decodeURIComponent(url.username),
    database: url.pathname.slice(1),
    max: 2,
    connectionTimeoutMillis: 5_000,
  });
  pool.on('error', () => {}); // an idle connection cut by the test
  cleanups.push(() => pool.end());
  return pool;
}

/** A Postgres ErrorResponse message, as the server sends it before closing a connection. */
function errorResponse(sqlState: string, message: string): Buffer {
  const fields = [
    ['S', 'FATAL'],
    ['V', 'FATAL'],
    ['C', sqlState],
    ['M', message],
  ].map(([type, value]) => Buffer.from(`${type}${value}\0`, 'utf8'));
  const payload = Buffer.concat([...fields, Buffer.from([0])]);
  const length = Buffer.alloc(4);
  length.writeInt32BE(payload.length + 4);
  return Buffer.concat([Buffer.from('E'), length, payload]);
}

/**
 * A TCP hop in front of the real Postgres that can play a server shutting down: it cuts every open
 * connection and answers each new one as Postgres does then (SQLSTATE 57P03, "the database
 * system is shutting down"), until it is brought back.
 */
async function postgresFront(): Promise<{ port: number; shutDown(): void; bringBack(): void }> {
  const target = new URL(node.databaseUrl!);
  let shuttingDown = false;
  const open = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    if (shuttingDown) {
      // After the startup packet, as the real server does.
      socket.once('data', () =>
        socket.end(errorResponse('57P03', 'the database system is shutting down')),
      );
      return;
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    open.add(upstream);
    upstream.on('close', () => {
      open.delete(upstream);
      socket.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    socket.on('close', () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of open) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    port: (server.address() as AddressInfo).port,
    shutDown() {
      shuttingDown = true;
      for (const s of open) s.destroy();
    },
    bringBack() {
      shuttingDown = false;
    },
  };
}

/** Holds an exclusive lock on the requests table, so the workflow cannot record a request yet. */
async function lockRequests(): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: node.databaseUrl });
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE requests IN ACCESS EXCLUSIVE MODE');
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await client.query('ROLLBACK');
    await client.end();
  };
  cleanups.push(release);
  return release;
}

/** Resolves once the workflow's projection of a request waits on the lock. */
async function projectionBlocked(): Promise<void> {
  await eventually(
    async () => {
      const { rows } = await node.database.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'
           AND query ILIKE 'INSERT INTO requests%'`,
      );
      return rows[0]!.n > 0 ? true : undefined;
    },
    20_000,
    'the projection to wait on the lock',
  );
}

async function requestCount(): Promise<number> {
  const { rows } = await node.database.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM requests',
  );
  return rows[0]!.n;
}

/**
 * The request an officer's Idempotency-Key names. On a connection of its own: while `requests`
 * is locked, the node's blocked projections can hold every connection of its pool, and a read
 * through the pool would wait for the lock this test releases only after it.
 */
async function keyRequestId(key: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: node.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ req_id: string }>(
      'SELECT req_id FROM idempotency_keys WHERE principal = $1 AND key = $2',
      ['officer-alice', key],
    );
    return rows[0]?.req_id;
  } finally {
    await client.end();
  }
}

describe('POST /v1/requests when Postgres cannot be reached', () => {
  it('answers 503 unavailable with Retry-After, not 500, and reads do too', async () => {
    const url = await requestsApp({ pool: poolOn(await freePort()) });
    const res = await call(url, 'POST', '/v1/requests', { token: officer, json: body });
    expect(res.status).toBe(503);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.code).toBe('unavailable');
    expect(res.headers.get('retry-after')).toBe('2');
    const list = await call(url, 'GET', '/v1/requests', { token: officer });
    expect(list.status).toBe(503);
    expect(list.body.code).toBe('unavailable');
  });

  it('answers 503 unavailable when Postgres shuts down after the workflow started, and the same key then returns the request', async () => {
    const key = 'officer-alice:shutdown:001';
    const front = await postgresFront();
    const url = await requestsApp({ pool: poolOn(front.port) });
    const before = await requestCount();
    const release = await lockRequests();
    const pending = call(url, 'POST', '/v1/requests', {
      token: officer,
      json: body,
      headers: { 'idempotency-key': key },
    });
    // The workflow has started and is recording the request: now the database goes down.
    await projectionBlocked();
    front.shutDown();
    const probe = new pg.Client({ host: '127.0.0.1', port: front.port, user: 'root' });
    await expect(probe.connect()).rejects.toMatchObject({ code: '57P03' });
    await release();
    const res = await pending;
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('unavailable');
    expect(res.headers.get('retry-after')).toBe('2');

    front.bringBack();
    const retry = await call(url, 'POST', '/v1/requests', {
      token: officer,
      json: body,
      headers: { 'idempotency-key': key },
    });
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(await keyRequestId(key));
    expect(await requestCount()).toBe(before + 1);
  });
});

describe('POST /v1/requests when Temporal cannot be reached', () => {
  it('answers 503 unavailable with Retry-After, and the same key works once it is back', async () => {
    // A closed port, without the SDK's retries so the refusal comes at once.
    const connection = Connection.lazy({
      address: `127.0.0.1:${await freePort()}`,
      interceptors: [],
    });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: node.namespace });
    const url = await requestsApp({ client });
    const key = 'officer-alice:temporal-down:001';
    const before = await requestCount();
    const res = await call(url, 'POST', '/v1/requests', {
      token: officer,
      json: body,
      headers: { 'idempotency-key': key },
    });
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('unavailable');
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await requestCount()).toBe(before);

    const retry = await call(node.url, 'POST', '/v1/requests', {
      token: officer,
      json: body,
      headers: { 'idempotency-key': key },
    });
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(await keyRequestId(key));
  });
});

describe('POST /v1/requests when the workflow does not record the request in time', () => {
  it('answers 503 update_timeout after the limit, and the same key returns the request once recorded', async () => {
    const url = await requestsApp({ recordTimeoutMs: 1_000 });
    const key = 'officer-alice:slow:001';
    const before = await requestCount();
    const release = await lockRequests();
    const started = performance.now();
    const res = await call(url, 'POST', '/v1/requests', {
      token: officer,
      json: body,
      headers: { 'idempotency-key': key },
    });
    const waited = performance.now() - started;
    expect(res.status).toBe(503);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.code).toBe('update_timeout');
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.body.requestId).toBe(await keyRequestId(key));
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(5_000);

    await release();
    const retry = await call(url, 'POST', '/v1/requests', {
      token: officer,
      json: body,
      headers: { 'idempotency-key': key },
    });
    expect(retry.status).toBe(201);
    expect(retry.body.id).toBe(res.body.requestId);
    expect(await requestCount()).toBe(before + 1);
  });
});
