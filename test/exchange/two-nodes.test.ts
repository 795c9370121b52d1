import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulid } from 'ulid';
import { verifyEnvelope } from '../../protocol/verify.js';
import { exportBundle } from '../../exchange/bundle.js';
import { sendMessage } from '../helpers/send.js';
import type { OwnDraft } from '../../protocol/sign.js';
import { call } from '../helpers/http.js';
import { PROTOCOL_ONLY, startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { freePort } from '../helpers/ports.js';

let a: TestNode;
let b: TestNode;
let bPort: number;

const declineDraft = (aud: string): OwnDraft => ({
  kind: 'decline',
  aud,
  req_id: ulid(),
  body: { reason: 'No records are held for this area.' },
});

async function outboxEntry(node: TestNode, msgId: string) {
  const res = await call(node.url, 'GET', '/v1/outbox?limit=1000', {
    token: await node.token('supervisor'),
  });
  expect(res.status).toBe(200);
  return (
    res.body.items as {
      msgId: string;
      status: string;
      attempts: number;
      lastError: string | null;
      deliveredVia: string | null;
    }[]
  ).find((m) => m.msgId === msgId);
}

beforeAll(async () => {
  bPort = await freePort();
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1' };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', sink: PROTOCOL_ONLY, env }),
    startTestNode({
      partyId: 'party-b',
      sink: PROTOCOL_ONLY,
      env: { ...env, PORT: String(bPort) },
    }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
});
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('two nodes exchanging signed messages', () => {
  it('A sends B a message; B stores it exactly; B’s signed receipt comes back and verifies at A', async () => {
    const sent = await sendMessage(a, declineDraft('party-b'));
    const delivered = await eventually(
      async () => {
        const m = await outboxEntry(a, sent.payload.msg_id);
        return m?.status === 'delivered' ? m : undefined;
      },
      20_000,
      'delivery',
    );
    expect(delivered.deliveredVia).toBe('online');

    const atB = await call(b.url, 'GET', `/v1/messages/${sent.digest}`, {
      token: await b.token('admin'),
    });
    expect(atB.status).toBe(200);
    expect(atB.body).toMatchObject({ digest: sent.digest, from: 'party-a', kind: 'decline' });
    // No request behind it at B: its content is for no admin's eyes (domain/access-policy.ts).
    expect(atB.body.withheld).toBe('access_policy');
    const { rows } = await b.database.pool.query<{ token: string; payload: { iss: string } }>(
      'SELECT token, payload FROM inbox_messages WHERE digest = $1',
      [sent.digest],
    );
    expect(rows[0]?.token).toBe(sent.token);
    expect(rows[0]?.payload.iss).toBe('party-a');

    const atA = await call(a.url, 'GET', `/v1/messages/${sent.payload.msg_id}`, {
      token: await a.token('admin'),
    });
    const receipt = await verifyEnvelope(atA.body.receipt as string, {
      registry: a.exchange.outbox.registry,
      self: 'party-a',
      now: new Date(),
      mode: 'online',
    });
    expect(receipt.payload).toMatchObject({
      kind: 'receipt',
      iss: 'party-b',
      in_reply_to: { msg_id: sent.payload.msg_id, digest: sent.digest },
    });
    expect(receipt.payload.kind === 'receipt' && receipt.payload.body.digest).toBe(sent.digest);
  });

  it('keeps a message for an unreachable B pending, and delivers it when B comes back', async () => {
    const bData = { dataDir: b.dataDir, namespace: b.namespace, databaseUrl: b.databaseUrl! };
    await b.destroy({ keep: true });
    const sent = await sendMessage(a, declineDraft('party-b'));
    const waiting = await eventually(
      async () => {
        const m = await outboxEntry(a, sent.payload.msg_id);
        return m && m.attempts >= 2 ? m : undefined;
      },
      20_000,
      'failed attempts',
    );
    expect(waiting.status).toBe('pending');
    expect(waiting.lastError).toMatch(/unreachable/);

    b = await startTestNode({
      partyId: 'party-b',
      sink: PROTOCOL_ONLY,
      reuse: bData,
      env: { DELIVERY_MAX_BACKOFF_SECONDS: '1', PORT: String(bPort) },
    });
    const delivered = await eventually(
      async () => {
        const m = await outboxEntry(a, sent.payload.msg_id);
        return m?.status === 'delivered' ? m : undefined;
      },
      30_000,
      'delivery after B came back',
    );
    expect(delivered.deliveredVia).toBe('online');
    const { rows } = await b.database.pool.query(
      'SELECT count(*)::int AS n FROM inbox_messages WHERE msg_id = $1',
      [sent.payload.msg_id],
    );
    expect(rows[0].n).toBe(1);
  });

  it('carries messages and receipts by file both ways when there is no network between the nodes', async () => {
    const admin = { a: await a.token('admin'), b: await b.token('admin') };
    // Cut the network: each node's registry now points at a port where nothing listens.
    const dead = `http://127.0.0.1:${await freePort()}/v1/messages`;
    for (const [node, partner, token] of [
      [a, 'party-b', admin.a],
      [b, 'party-a', admin.b],
    ] as const) {
      expect(
        (
          await call(node.url, 'PATCH', `/v1/admin/partners/${partner}`, {
            token,
            json: { inboxUrl: dead },
          })
        ).status,
      ).toBe(200);
    }
    const fromA = await sendMessage(a, declineDraft('party-b'));
    const fromB = await sendMessage(b, declineDraft('party-a'));

    for (const [sender, receiver, msg, senderToken, receiverToken] of [
      [a, b, fromA, admin.a, admin.b],
      [b, a, fromB, admin.b, admin.a],
    ] as const) {
      const exported = await call(
        sender.url,
        'GET',
        `/v1/admin/exchange/export?partner=${receiver.config.partyId}`,
        { token: senderToken },
      );
      expect(exported.status).toBe(200);
      expect(exported.body.messages).toContain(msg.token);

      const imported = await call(receiver.url, 'POST', '/v1/admin/exchange/import', {
        token: receiverToken,
        json: exported.body,
      });
      expect(imported.status).toBe(200);
      expect(imported.body.results).toContainEqual({
        kind: 'message',
        digest: msg.digest,
        outcome: 'accepted',
      });

      // Importing the same file again accepts nothing new: uniqueness is never relaxed.
      const again = await call(receiver.url, 'POST', '/v1/admin/exchange/import', {
        token: receiverToken,
        json: exported.body,
      });
      expect(again.body.results).toContainEqual({
        kind: 'message',
        digest: msg.digest,
        outcome: 'replay',
      });

      const back = await call(sender.url, 'POST', '/v1/admin/exchange/import', {
        token: senderToken,
        json: imported.body.reply,
      });
      expect(back.status).toBe(200);
      expect(back.body.results.map((r: { outcome: string }) => r.outcome)).toContain('applied');
      const entry = await outboxEntry(sender, msg.payload.msg_id);
      expect(entry).toMatchObject({ status: 'delivered', deliveredVia: 'import' });
    }

    // A tampered bundle is refused message by message, with codes, and stores nothing.
    const bundle = await exportBundle(a.exchange.outbox, 'party-b');
    const forged = {
      ...bundle,
      messages: [fromA.token.slice(0, -2) + (fromA.token.endsWith('A') ? 'BA' : 'AA')],
    };
    const res = await call(b.url, 'POST', '/v1/admin/exchange/import', {
      token: admin.b,
      json: forged,
    });
    expect(res.body.results[0].outcome).toMatch(/signature_invalid|malformed_envelope|replay/);
  });
});
