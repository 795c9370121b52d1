import type { AddressInfo } from 'node:net';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { call } from '../helpers/http.js';
import { startTestNode, testLogger, type TestNode } from '../helpers/node.js';
import { freePort } from '../helpers/ports.js';

let node: TestNode;

beforeAll(async () => {
  node = await startTestNode();
});
afterAll(() => node?.destroy());

/** Serves the node's app with one dependency swapped for an unreachable one. */
async function serveWith(overrides: { pool?: pg.Pool; connection?: Connection }) {
  const app = createApp({
    partyId: 'party-a',
    pool: overrides.pool ?? node.database.pool,
    temporal: {
      client: node.temporal.client,
      connection: overrides.connection ?? node.temporal.connection,
      namespace: node.namespace,
      taskQueue: 'parley',
    },
    auth: { authenticate: () => Promise.reject(new Error('not used')) },
    exchange: { inbox: node.exchange.inbox, outbox: node.exchange.outbox },
    policy: node.policy,
    maxRetryInterval: '1 second',
    audit: node.audit,
    log: testLogger,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

describe('health and readiness', () => {
  it('answers /healthz with the party id', async () => {
    const res = await call(node.url, 'GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', party: 'party-a' });
  });

  it('answers /readyz 200 when Postgres and Temporal both answer', async () => {
    const res = await call(node.url, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
    expect(res.body.checks.postgres.ok).toBe(true);
    expect(res.body.checks.temporal.ok).toBe(true);
  });

  it('answers /readyz 503 naming Postgres when the database is unreachable', async () => {
    const deadPool = new pg.Pool({
      host: '127.0.0.1',
      port: await freePort(),
      user: 'nobody',
      connectionTimeoutMillis: 1000,
    });
    const served = await serveWith({ pool: deadPool });
    try {
      const res = await call(served.url, 'GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('not_ready');
      expect(res.body.checks.postgres).toMatchObject({
        ok: false,
        error: expect.stringContaining('ECONNREFUSED'),
      });
      expect(res.body.checks.temporal.ok).toBe(true);
    } finally {
      await served.close();
      await deadPool.end();
    }
  });

  it('answers /readyz 503 naming Temporal when the service is unreachable', async () => {
    const deadConnection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const served = await serveWith({ connection: deadConnection });
    try {
      const res = await call(served.url, 'GET', '/readyz');
      expect(res.status).toBe(503);
      expect(res.body.checks.temporal.ok).toBe(false);
      expect(res.body.checks.temporal.error).toBeTruthy();
      expect(res.body.checks.postgres.ok).toBe(true);
    } finally {
      await served.close();
      await deadConnection.close();
    }
  });

  it('answers unknown routes with 404 not_found as a problem document', async () => {
    const res = await call(node.url, 'GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.code).toBe('not_found');
  });
});
