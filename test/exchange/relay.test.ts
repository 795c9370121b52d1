// The relay: a message stored and receipted while the node could not reach Temporal reaches its
// workflow once Temporal is back, within seconds and without a restart. The node talks to the
// run's Temporal service through a TCP proxy that the test cuts (connections refused and reset)
// and restores, so the outage is real for its client and its worker alike. The backlog shows in
// /metrics and /readyz, and a backlog alone never makes the node unready.
import crypto from 'node:crypto';
import pg from 'pg';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { RELAY_LOCK } from '../../db/messages.js';
import { AttachmentsPending } from '../../exchange/attachments.js';
import { startRelay } from '../../exchange/inbound-router.js';
import { signDraft } from '../../protocol/sign.js';
import { createParty, validDraft, type TestParty } from '../helpers/envelopes.js';
import { call } from '../helpers/http.js';
import { startTestNode, testLogger, type TestNode } from '../helpers/node.js';
import { eventually } from '../helpers/partners.js';
import { freePort } from '../helpers/ports.js';
import { CuttableProxy } from '../helpers/proxy.js';

let proxy: CuttableProxy;
let node: TestNode;
let partyA: TestParty;

beforeAll(async () => {
  const [host = '127.0.0.1', port = '0'] = inject('temporalAddress').split(':');
  proxy = new CuttableProxy({ host, port: Number(port) });
  const proxyPort = await freePort();
  await proxy.listen(proxyPort);
  node = await startTestNode({
    partyId: 'party-b',
    env: { TEMPORAL_ADDRESS: `127.0.0.1:${proxyPort}` },
  });
  partyA = await createParty('party-a');
  const added = await call(node.url, 'POST', '/v1/admin/partners', {
    token: await node.token('admin', 'admin-ops'),
    json: {
      partyId: 'party-a',
      name: 'Party A',
      inboxUrl: 'http://127.0.0.1:9/v1/messages',
      jwks: { keys: [{ ...partyA.signingKey.publicJwk, alg: partyA.signingKey.alg }] },
    },
  });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
});
afterAll(async () => {
  proxy?.restore();
  await node?.destroy();
  await proxy?.close();
});

/** A new request from party A to this node, signed with A's key. */
async function requestFromA(attachments: { sha256: string }[] = []) {
  const base = validDraft('request', { iss: 'party-a', aud: 'party-b', req_id: ulid(), seq: 1 });
  return signDraft(
    {
      ...base,
      body: { ...base.body, policy_digest: node.policy.digest },
      attachments: attachments.map((a) => ({
        sha256: a.sha256,
        size: 1234,
        media_type: 'application/pdf',
        name: 'map-sheet.pdf',
      })),
    },
    partyA.signingKey,
  );
}

function post(token: string) {
  return call(node.url, 'POST', '/v1/messages', {
    raw: token,
    headers: { 'content-type': 'application/jose' },
  });
}

async function dispatchedAt(digest: string): Promise<Date | null> {
  const { rows } = await node.database.pool.query<{ dispatched_at: Date | null }>(
    'SELECT dispatched_at FROM inbox_messages WHERE digest = $1',
    [digest],
  );
  expect(rows).toHaveLength(1);
  return rows[0]!.dispatched_at;
}

/** The value of an unlabelled gauge in the node's /metrics. */
async function gauge(name: string): Promise<number> {
  const res = await call(node.url, 'GET', '/metrics');
  expect(res.status).toBe(200);
  const line = (res.body as string).split('\n').find((l) => l.startsWith(`${name} `));
  expect(line, `${name} in /metrics`).toBeDefined();
  return Number(line!.split(' ')[1]);
}

async function workflowExists(reqId: string): Promise<boolean> {
  try {
    await node.temporal.client.workflow.getHandle(`request-${reqId}`).describe();
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `inside` while another replica (a second connection) holds the relay's lock, once
 * Temporal is reachable again (the proxy restored): this node's relay hands nothing on meanwhile.
 */
async function whileAnotherReplicaRelays(inside: () => Promise<void>): Promise<void> {
  const other = new pg.Client({ connectionString: node.databaseUrl });
  await other.connect();
  try {
    await other.query('SELECT pg_advisory_lock($1)', [RELAY_LOCK]);
    proxy.restore();
    await eventually(
      async () =>
        (await call(node.url, 'GET', '/readyz')).body.checks?.temporal?.ok === true
          ? true
          : undefined,
      60_000,
      'Temporal reachable again',
    );
    await inside();
  } finally {
    await other.query('SELECT pg_advisory_unlock($1)', [RELAY_LOCK]).catch(() => undefined);
    await other.end();
  }
}

describe('the relay hands stored messages to their workflows while the node runs', () => {
  it('delivers to its workflow, without a restart, a request receipted while Temporal was unreachable', async () => {
    proxy.cut();
    const request = await requestFromA();
    const reqId = request.payload.req_id!;
    // Stored and receipted: the sender's part is done, whatever happens to the hand-over, and it
    // is told so within its own delivery timeout (10 s), not after the client's retries.
    const posted = Date.now();
    const res = await post(request.token);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(Date.now() - posted).toBeLessThan(10_000);
    expect(await dispatchedAt(request.digest)).toBeNull();

    // The backlog shows: in /metrics, and in /readyz (unready here because Temporal is away).
    expect(await gauge('parley_inbox_undispatched')).toBe(1);
    expect(await gauge('parley_inbox_undispatched_oldest_seconds')).toBeGreaterThanOrEqual(0);
    const unready = await call(node.url, 'GET', '/readyz');
    expect(unready.status).toBe(503);
    expect(unready.body.checks.temporal.ok).toBe(false);
    expect(unready.body.inbox).toMatchObject({ undispatched: 1 });

    // Another replica holds the relay: this one leaves the message alone.
    await whileAnotherReplicaRelays(async () => {
      const secondReplica = startRelay({
        pool: node.database.pool,
        sink: node.exchange.inbox.sink,
        log: testLogger,
        intervalMs: 60_000,
      });
      expect(await secondReplica.pass()).toBe(0);
      await secondReplica.stop();
      expect(await dispatchedAt(request.digest)).toBeNull();
      expect(await workflowExists(reqId)).toBe(false);
    });

    // The lock is free: the node's own relay hands the message on within seconds.
    const started = Date.now();
    await eventually(
      async () => ((await dispatchedAt(request.digest)) ? true : undefined),
      20_000,
      'the message handed to its workflow',
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await workflowExists(reqId)).toBe(true);
    await eventually(
      async () => {
        const { rows } = await node.database.pool.query(
          'SELECT status FROM requests WHERE req_id = $1',
          [reqId],
        );
        return rows.length === 1 ? true : undefined;
      },
      20_000,
      'the request recorded by its workflow',
    );
    expect(await gauge('parley_inbox_undispatched')).toBe(0);
    const ready = await call(node.url, 'GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.inbox).toEqual({ undispatched: 0, oldestAgeSeconds: null });
  }, 150_000);

  it('hands a later message of a request on only after the request itself, so none is lost', async () => {
    // The request is receipted while Temporal is away: its workflow does not exist yet.
    proxy.cut();
    const request = await requestFromA();
    const reqId = request.payload.req_id!;
    expect((await post(request.token)).status).toBe(202);
    expect(await dispatchedAt(request.digest)).toBeNull();

    // Temporal is back before the relay's next pass (another replica holds the relay meanwhile),
    // and A withdraws the request.
    const withdrawal = await signDraft(
      validDraft('withdrawal', { iss: 'party-a', aud: 'party-b', req_id: reqId, seq: 2, seen: 0 }),
      partyA.signingKey,
    );
    await whileAnotherReplicaRelays(async () => {
      const res = await post(withdrawal.token);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      // Stored and receipted, and held behind the request: there is no workflow to take it yet.
      expect(await dispatchedAt(withdrawal.digest)).toBeNull();
      expect(await workflowExists(reqId)).toBe(false);
    });

    // The relay hands both on, the request first: its workflow takes the withdrawal.
    await eventually(
      async () => ((await dispatchedAt(withdrawal.digest)) ? true : undefined),
      20_000,
      'the withdrawal handed on',
    );
    await eventually(
      async () => {
        const { rows } = await node.database.pool.query<{ status: string }>(
          'SELECT status FROM requests WHERE req_id = $1',
          [reqId],
        );
        return rows[0]?.status === 'withdrawn' ? true : undefined;
      },
      20_000,
      'the request withdrawn on this node, as at its requester',
    );
  }, 150_000);

  it('stays ready with a backlog: a request held for its attachment is counted, not a failure', async () => {
    const missing = crypto.randomBytes(32).toString('hex');
    const request = await requestFromA([{ sha256: missing }]);
    expect((await post(request.token)).status).toBe(202);
    expect(await dispatchedAt(request.digest)).toBeNull();

    const res = await call(node.url, 'GET', '/readyz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
    expect(res.body.inbox.undispatched).toBe(1);
    expect(res.body.inbox.oldestAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(await gauge('parley_inbox_undispatched')).toBe(1);
  });

  it('stops cleanly: stop() resolves only once the pass under way has finished', async () => {
    // The held request of the test before is still undispatched; this relay's sink holds it up.
    let entered!: () => void;
    const inPass = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const relay = startRelay({
      pool: node.database.pool,
      log: testLogger,
      intervalMs: 50,
      sink: {
        check: () => Promise.resolve(),
        async accept() {
          entered();
          await released;
          throw new AttachmentsPending([]);
        },
      },
    });
    await inPass;
    let stopped = false;
    const stopping = relay.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
  });
});
