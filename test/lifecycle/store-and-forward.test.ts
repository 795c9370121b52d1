// A request carried by file when there is no network between the nodes: the receipt that comes
// back in the reply file moves the request at once, not at the delivery workflow's next retry
// (which, after a long absence, is minutes away).
import { Connection, Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RequestDetailView } from '../../schemas/requests-api.js';
import { subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { freePort } from '../helpers/ports.js';

let a: TestNode;
let b: TestNode;
let temporal: Connection;

beforeAll(async () => {
  // Long waits between attempts, as after a long absence.
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '600' };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  // No network: each registry points at a port where nothing listens.
  const dead = `http://127.0.0.1:${await freePort()}/v1/messages`;
  await registerPartner(a, b, dead);
  await registerPartner(b, a, dead);
  temporal = await Connection.connect({ address: inject('temporalAddress') });
}, 120_000);

afterAll(async () => {
  await temporal?.close();
  await Promise.all([a?.destroy(), b?.destroy()]);
});

async function detail(node: TestNode, id: string) {
  const res = await call(node.url, 'GET', `/v1/requests/${id}`, {
    token: await node.token('officer'),
  });
  return res.status === 200 ? RequestDetailView.parse(res.body) : undefined;
}

describe('store and forward', () => {
  it('moves the request as soon as the reply file with its receipt is imported', async () => {
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: await a.token('officer'),
      json: {
        type: 'mine_map',
        counterparty: 'party-b',
        priority: 'routine',
        subject: subjectFor('mine_map', 'Carried by hand'),
      },
    });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;

    // The delivery waits for its next attempt, seconds away and growing.
    const handle = new Client({ connection: temporal, namespace: a.namespace }).workflow.getHandle(
      `request-${id}`,
    );
    const nextAttempt = await eventually(
      async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const delivery = pending.find((p) => p.activityType?.name === 'deliverMessage');
        const at = delivery?.nextAttemptScheduleTime;
        const attempt = delivery?.attempt ?? 0;
        // Four attempts failed: the next one is 8 s or more after the last.
        return at?.seconds && attempt >= 5
          ? Number(at.seconds) * 1000 + Math.floor((at.nanos ?? 0) / 1e6)
          : undefined;
      },
      60_000,
      'the delivery retrying with a long wait',
    );

    const exported = await call(a.url, 'GET', '/v1/admin/exchange/export?partner=party-b', {
      token: await a.token('admin'),
    });
    expect(exported.status).toBe(200);
    const imported = await call(b.url, 'POST', '/v1/admin/exchange/import', {
      token: await b.token('admin'),
      json: exported.body,
    });
    expect(imported.status).toBe(200);
    await eventually(async () => (await detail(b, id))?.status === 'delivered' || undefined);

    const back = await call(a.url, 'POST', '/v1/admin/exchange/import', {
      token: await a.token('admin'),
      json: (imported.body as { reply: unknown }).reply,
    });
    expect(back.status).toBe(200);
    const delivered = await eventually(
      async () => {
        const r = await detail(a, id);
        return r?.status === 'delivered' ? r : undefined;
      },
      60_000,
      'delivered at A',
    );
    const movedAt = Date.now();
    // Before the attempt that was waiting would have run: the receipt moved it, not a retry.
    expect(movedAt).toBeLessThan(nextAttempt);
    expect(delivered.receiptAt).not.toBeNull();
    const { rows } = await a.database.pool.query<{ attempts: number }>(
      'SELECT attempts FROM outbox_messages WHERE req_id = $1',
      [id],
    );
    expect(rows[0]!.attempts).toBeGreaterThanOrEqual(4);
  }, 180_000);
});
