// Conversation order over real HTTP between two complete nodes (real Postgres, real Temporal
// namespaces; the protocol layer only, no request workflows): a partner's messages about a request
// are taken in their order (`seq`), a later one before an earlier waits (`sequence_gap`, retried by
// the sender), a position is never reused, nothing claims to have seen what was never sent, and
// every message and receipt says exactly what its signer held when it signed (`seen`, `sent`).
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deliverOnce,
  DeliveryRetry,
  enqueueInOrder,
  enqueueMessage,
  type EnqueueInOrderResult,
} from '../../exchange/outbox.js';
import { signDraft, type OwnDraft } from '../../protocol/sign.js';
import type { Payload } from '../../schemas/envelope.js';
import { segmentsOf, validDraft } from '../helpers/envelopes.js';
import { call } from '../helpers/http.js';
import { PROTOCOL_ONLY, startTestNode, type TestNode } from '../helpers/node.js';
import { registerPartner } from '../helpers/partners.js';

let a: TestNode;
let b: TestNode;

beforeAll(async () => {
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', sink: PROTOCOL_ONLY }),
    startTestNode({ partyId: 'party-b', sink: PROTOCOL_ONLY }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
});
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

/** A message of party-a to party-b about `reqId`, signed with A's real key (not through A's outbox). */
async function fromA(
  kind: 'request' | 'reminder' | 'withdrawal' | 'clarification_request',
  reqId: string,
  order: { seq?: number; seen?: number; sent_at?: number } = {},
) {
  const draft = validDraft(kind, { iss: 'party-a', aud: 'party-b', req_id: reqId, ...order });
  return signDraft(draft, a.exchange.inbox.keyring.signerFor(kind));
}

async function postToB(token: string) {
  return call(b.url, 'POST', '/v1/messages', {
    raw: token,
    headers: { 'content-type': 'application/jose' },
  });
}

function payloadOf(token: string): Payload {
  return JSON.parse(
    Buffer.from(segmentsOf(token).payload64, 'base64url').toString('utf8'),
  ) as Payload;
}

/** The `sent` of a receipt token. */
function sentOf(receipt: string): number | undefined {
  const p = payloadOf(receipt);
  return p.kind === 'receipt' ? p.body.sent : undefined;
}

async function storedAtB(reqId: string) {
  const { rows } = await b.database.pool.query<{
    msg_id: string;
    seq: number;
    seen: number;
    sent_at: Date;
  }>(
    "SELECT msg_id, seq, seen, sent_at FROM inbox_messages WHERE req_id = $1 AND kind <> 'receipt' ORDER BY seq",
    [reqId],
  );
  return rows;
}

async function rejectionsAtB(digest: string): Promise<string[]> {
  const { rows } = await b.database.pool.query<{ code: string }>(
    'SELECT code FROM inbox_rejections WHERE digest = $1 ORDER BY id',
    [digest],
  );
  return rows.map((r) => r.code);
}

/** A draft of party-b to party-a about `reqId`. */
const bDraft = (reqId: string, extra: Partial<OwnDraft> = {}): OwnDraft =>
  ({
    kind: 'acknowledgement',
    aud: 'party-a',
    req_id: reqId,
    body: { note: 'Received; the archive is being searched.' },
    ...extra,
  }) as OwnDraft;

function signed(r: EnqueueInOrderResult) {
  if (r.status !== 'signed') throw new Error(`expected signed, got ${JSON.stringify(r)}`);
  return r;
}

describe('the inbox takes a partner’s messages about a request in their order', () => {
  it('refuses a later message before an earlier one with 409 sequence_gap, and takes it once the earlier is in', async () => {
    const reqId = ulid();
    const m1 = await fromA('request', reqId, { seq: 1, seen: 0 });
    const m2 = await fromA('reminder', reqId, { seq: 2, seen: 0 });
    const m3 = await fromA('withdrawal', reqId, { seq: 3, seen: 0 });

    const early = await postToB(m3.token);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: 'sequence_gap', expected_seq: 1 });
    expect((await postToB(m1.token)).status).toBe(202);
    const stillEarly = await postToB(m3.token);
    expect(stillEarly.body).toMatchObject({ code: 'sequence_gap', expected_seq: 2 });
    expect((await postToB(m2.token)).status).toBe(202);
    expect((await postToB(m3.token)).status).toBe(202);

    expect((await storedAtB(reqId)).map((r) => [r.msg_id, r.seq])).toEqual([
      [m1.payload.msg_id, 1],
      [m2.payload.msg_id, 2],
      [m3.payload.msg_id, 3],
    ]);
    // Each refusal left its line in the rejection log, as every refusal does.
    expect(await rejectionsAtB(m3.digest)).toEqual(['sequence_gap', 'sequence_gap']);
  });

  it('refuses another message at a taken position with 409 conflict, and a copy of the stored one with 409 replay', async () => {
    const reqId = ulid();
    const m1 = await fromA('request', reqId, { seq: 1 });
    expect((await postToB(m1.token)).status).toBe(202);
    const other = await fromA('request', reqId, { seq: 1 });
    const res = await postToB(other.token);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('conflict');
    const again = await postToB(m1.token);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'replay', original_digest: m1.digest });
    expect(await storedAtB(reqId)).toHaveLength(1);
  });

  it('refuses with 409 sequence_invalid a message that has seen messages this node never sent, and a request that is not message 1', async () => {
    const reqId = ulid();
    const seenTooMuch = await fromA('request', reqId, { seq: 1, seen: 1 });
    const res = await postToB(seenTooMuch.token);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'sequence_invalid', sent: 0 });

    const notFirst = await fromA('request', ulid(), { seq: 2 });
    expect((await postToB(notFirst.token)).body.code).toBe('sequence_invalid');
    expect(await rejectionsAtB(seenTooMuch.digest)).toEqual(['sequence_invalid']);
  });

  it('orders a partner that predates seq and seen by arrival, with what this node had signed by then, and keeps when the sender first signed', async () => {
    const reqId = ulid();
    const m1 = await fromA('request', reqId);
    expect((await postToB(m1.token)).status).toBe(202);
    signed(await enqueueInOrder(b.exchange.outbox, { ...bDraft(reqId), seq: 1, seen: 1 }));
    const sentAt = Math.floor(Date.now() / 1000) - 120;
    const m2 = await fromA('reminder', reqId, { sent_at: sentAt });
    const res = await postToB(m2.token);
    expect(res.status).toBe(202);
    expect(sentOf(res.body as string)).toBe(1);

    const rows = await storedAtB(reqId);
    expect(rows.map((r) => [r.seq, r.seen])).toEqual([
      [1, 0],
      [2, 1],
    ]);
    expect(rows[0]!.sent_at.getTime()).toBe(m1.payload.iat * 1000);
    expect(rows[1]!.sent_at.getTime()).toBe(sentAt * 1000);
  });

  it('says in every receipt how many messages about the request this node had signed (sent)', async () => {
    const reqId = ulid();
    const m1 = await fromA('request', reqId, { seq: 1, seen: 0 });
    const r1 = await postToB(m1.token);
    expect(sentOf(r1.body as string)).toBe(0);
    signed(await enqueueInOrder(b.exchange.outbox, { ...bDraft(reqId), seq: 1, seen: 1 }));
    signed(
      await enqueueInOrder(b.exchange.outbox, {
        ...bDraft(reqId, {
          kind: 'clarification_request',
          body: { questions: ['Which sector?'] },
        }),
        seq: 2,
        seen: 1,
      }),
    );
    const m2 = await fromA('reminder', reqId, { seq: 2, seen: 2 });
    const r2 = await postToB(m2.token);
    expect(r2.status).toBe(202);
    expect(sentOf(r2.body as string)).toBe(2);
    // A receipt for a message that has no conversation (a receipt) says nothing of it.
    expect(payloadOf(r2.body as string)).toMatchObject({ kind: 'receipt', req_id: reqId });
  });

  it('serialises signing and receipting: every message’s seen and every receipt’s sent agree on one order', async () => {
    const reqId = ulid();
    expect((await postToB((await fromA('request', reqId)).token)).status).toBe(202);
    const N = 12;
    const theirs = Array.from({ length: N }, () => fromA('reminder', reqId));
    const [answers, ours] = await Promise.all([
      Promise.all(theirs.map(async (m) => postToB((await m).token))),
      Promise.all(
        Array.from({ length: N }, () => enqueueMessage(b.exchange.outbox, bDraft(reqId))),
      ),
    ]);
    expect(answers.map((r) => r.status)).toEqual(Array(N).fill(202));

    const { rows: own } = await b.database.pool.query<{
      msg_id: string;
      seq: number;
      seen: number;
    }>('SELECT msg_id, seq, seen FROM outbox_messages WHERE req_id = $1 ORDER BY seq', [reqId]);
    expect(own.map((r) => r.seq)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    // What B signed carries the `seen` of its row.
    for (const s of ours) {
      const row = own.find((r) => r.msg_id === s.payload.msg_id)!;
      expect(s.payload).toMatchObject({ seen: row.seen });
    }
    // Each of A's messages (place q, receipt's sent t) and each of B's (place k, seen s): B's k
    // was signed before A's q was stored exactly when t >= k, and exactly when s < q.
    const { rows: theirsStored } = await b.database.pool.query<{ seq: number; digest: string }>(
      "SELECT seq, digest FROM inbox_messages WHERE req_id = $1 AND kind <> 'receipt'",
      [reqId],
    );
    expect(theirsStored).toHaveLength(N + 1);
    const sentFor = new Map<string, number | undefined>();
    for (const r of answers) {
      const p = payloadOf(r.body as string);
      if (p.kind === 'receipt') sentFor.set(p.body.digest, p.body.sent);
    }
    for (const { seq: q, digest } of theirsStored) {
      if (q === 1) continue; // the request, receipted before the race
      const t = sentFor.get(digest)!;
      for (const { seq: k, seen: s } of own) expect(t >= k, `A ${q}, B ${k}`).toBe(s < q);
    }
  });
});

describe('enqueueInOrder signs our messages in the conversation’s order', () => {
  it('signs with seq, seen and sent_at, and is idempotent by msg_id whatever came in since', async () => {
    const reqId = ulid();
    expect((await postToB((await fromA('request', reqId, { seq: 1 })).token)).status).toBe(202);
    const msgId = ulid();
    const first = signed(
      await enqueueInOrder(b.exchange.outbox, { ...bDraft(reqId), msg_id: msgId, seq: 1, seen: 1 }),
    );
    const { rows } = await b.database.pool.query<{ payload: Payload; seq: number; seen: number }>(
      'SELECT payload, seq, seen FROM outbox_messages WHERE msg_id = $1',
      [msgId],
    );
    expect(rows[0]).toMatchObject({ seq: 1, seen: 1, payload: { seq: 1, seen: 1 } });
    const p = rows[0]!.payload;
    expect(p.kind !== 'receipt' && p.sent_at).toBe(p.iat);
    expect(first.sentAt).toBe(new Date(p.iat * 1000).toISOString());

    // The partner's next message arrives; the retried activity still gets what it signed.
    expect((await postToB((await fromA('reminder', reqId, { seq: 2 })).token)).status).toBe(202);
    const retried = await enqueueInOrder(b.exchange.outbox, {
      ...bDraft(reqId),
      msg_id: msgId,
      seq: 1,
      seen: 1,
    });
    expect(retried).toEqual(first);
  });

  it('gives a step run again under another msg_id (a workflow task that timed out) the message it signed at that place, and still refuses another message there', async () => {
    const reqId = ulid();
    expect((await postToB((await fromA('request', reqId, { seq: 1 })).token)).status).toBe(202);
    const draft = { ...bDraft(reqId), seq: 1, seen: 1 };
    const first = signed(await enqueueInOrder(b.exchange.outbox, { ...draft, msg_id: ulid() }));
    const again = await enqueueInOrder(b.exchange.outbox, { ...draft, msg_id: ulid() });
    expect(again).toEqual(first);
    const { rows } = await b.database.pool.query(
      'SELECT msg_id FROM outbox_messages WHERE req_id = $1',
      [reqId],
    );
    expect(rows).toEqual([{ msg_id: first.msgId }]);
    await expect(
      enqueueInOrder(b.exchange.outbox, {
        ...bDraft(reqId, { body: { note: 'Something else.' } }),
        msg_id: ulid(),
        seq: 1,
        seen: 1,
      }),
    ).rejects.toMatchObject({ code: 'sequence_invalid' });
  });

  it('signs nothing and hands back the partner’s messages after `seen`, in order, when more are stored (behind)', async () => {
    const reqId = ulid();
    const m1 = await fromA('request', reqId, { seq: 1 });
    const m2 = await fromA('reminder', reqId, { seq: 2 });
    const m3 = await fromA('withdrawal', reqId, { seq: 3 });
    for (const m of [m1, m2, m3]) expect((await postToB(m.token)).status).toBe(202);

    const r = await enqueueInOrder(b.exchange.outbox, { ...bDraft(reqId), seq: 1, seen: 1 });
    expect(r.status).toBe('behind');
    if (r.status !== 'behind') return;
    expect(r.messages.map((m) => [m.msgId, m.digest, m.kind, m.seq, m.seen])).toEqual([
      [m2.payload.msg_id, m2.digest, 'reminder', 2, 0],
      [m3.payload.msg_id, m3.digest, 'withdrawal', 3, 0],
    ]);
    expect(r.messages[0]!.body).toEqual(m2.payload.body);
    expect(r.messages[0]!.sentAt).toBe(new Date(m2.payload.iat * 1000).toISOString());
    expect(Date.parse(r.messages[1]!.receivedAt)).toBeGreaterThanOrEqual(
      Date.parse(r.messages[0]!.receivedAt),
    );
    const { rows } = await b.database.pool.query(
      'SELECT 1 FROM outbox_messages WHERE req_id = $1',
      [reqId],
    );
    expect(rows).toHaveLength(0);

    // Having taken them in, the caller signs.
    signed(await enqueueInOrder(b.exchange.outbox, { ...bDraft(reqId), seq: 1, seen: 3 }));
  });

  it('refuses with sequence_invalid a place that is not the next one, or more seen than stored', async () => {
    const reqId = ulid();
    expect((await postToB((await fromA('request', reqId, { seq: 1 })).token)).status).toBe(202);
    await expect(
      enqueueInOrder(b.exchange.outbox, { ...bDraft(reqId), seq: 2, seen: 1 }),
    ).rejects.toMatchObject({ code: 'sequence_invalid' });
    await expect(
      enqueueInOrder(b.exchange.outbox, { ...bDraft(reqId), seq: 1, seen: 2 }),
    ).rejects.toMatchObject({ code: 'sequence_invalid' });
  });

  it('lets enqueueMessage sign with seen and sent_at, leaving seq to arrival order', async () => {
    const reqId = ulid();
    expect((await postToB((await fromA('request', reqId)).token)).status).toBe(202);
    const s = await enqueueMessage(b.exchange.outbox, bDraft(reqId));
    expect(s.payload).toMatchObject({ seen: 1, sent_at: s.payload.iat });
    expect(s.payload).not.toHaveProperty('seq');
    const { rows } = await b.database.pool.query<{ seq: number; seen: number }>(
      'SELECT seq, seen FROM outbox_messages WHERE msg_id = $1',
      [s.payload.msg_id],
    );
    expect(rows[0]).toEqual({ seq: 1, seen: 1 });
  });
});

describe('delivery keeps the conversation’s order', () => {
  it('retries a message the partner takes only after an earlier one (sequence_gap), and returns the receipt’s sent', async () => {
    const reqId = ulid();
    const draft = (kind: 'request' | 'reminder' | 'withdrawal', seq: number, seen: number) =>
      ({
        ...validDraft(kind, { req_id: reqId }),
        aud: 'party-b',
        seq,
        seen,
      }) as unknown as OwnDraft & { seq: number; seen: number };
    const m1 = signed(await enqueueInOrder(a.exchange.outbox, draft('request', 1, 0)));
    const m2 = signed(await enqueueInOrder(a.exchange.outbox, draft('reminder', 2, 0)));

    await expect(deliverOnce(a.exchange.outbox, m2.msgId)).rejects.toBeInstanceOf(DeliveryRetry);
    const { rows: waiting } = await a.database.pool.query(
      'SELECT status, last_error FROM outbox_messages WHERE msg_id = $1',
      [m2.msgId],
    );
    expect(waiting[0]).toEqual({ status: 'pending', last_error: 'sequence_gap' });

    expect(await deliverOnce(a.exchange.outbox, m1.msgId)).toMatchObject({
      status: 'delivered',
      partnerSent: 0,
    });
    expect(await deliverOnce(a.exchange.outbox, m2.msgId)).toMatchObject({
      status: 'delivered',
      partnerSent: 0,
    });

    // B answers once; A's next message crossed it, and B's receipt says so.
    signed(await enqueueInOrder(b.exchange.outbox, { ...bDraft(reqId), seq: 1, seen: 2 }));
    const m3 = signed(await enqueueInOrder(a.exchange.outbox, draft('withdrawal', 3, 0)));
    const outcome = await deliverOnce(a.exchange.outbox, m3.msgId);
    expect(outcome).toMatchObject({ status: 'delivered', partnerSent: 1 });
    // Asked again (a retried activity), the stored outcome is the same.
    expect(await deliverOnce(a.exchange.outbox, m3.msgId)).toEqual(outcome);
    const { rows } = await a.database.pool.query(
      'SELECT receipt_sent FROM outbox_messages WHERE msg_id = $1',
      [m3.msgId],
    );
    expect(rows[0]).toEqual({ receipt_sent: 1 });
  });

  it('re-signs a message past its lifetime with the same seq, seen and sent_at', async () => {
    const reqId = ulid();
    const m1 = signed(
      await enqueueInOrder(a.exchange.outbox, {
        ...validDraft('request', { req_id: reqId }),
        aud: 'party-b',
        seq: 1,
        seen: 0,
      }),
    );
    // Signed 20 minutes ago: its lifetime is over, so delivery signs it again.
    await a.database.pool.query(
      `UPDATE outbox_messages SET payload = payload
         || jsonb_build_object('iat', (payload->>'iat')::bigint - 1200,
                               'exp', (payload->>'exp')::bigint - 1200,
                               'sent_at', (payload->>'sent_at')::bigint - 1200)
       WHERE msg_id = $1`,
      [m1.msgId],
    );
    const firstSentAt = Date.parse(m1.sentAt) / 1000 - 1200;
    expect(await deliverOnce(a.exchange.outbox, m1.msgId)).toMatchObject({ status: 'delivered' });

    const { rows: versions } = await a.database.pool.query(
      'SELECT digest FROM outbox_versions WHERE msg_id = $1',
      [m1.msgId],
    );
    expect(versions).toHaveLength(2);
    const { rows } = await b.database.pool.query<{ payload: Payload; sent_at: Date }>(
      'SELECT payload, sent_at FROM inbox_messages WHERE msg_id = $1',
      [m1.msgId],
    );
    expect(rows[0]!.payload).toMatchObject({ seq: 1, seen: 0, sent_at: firstSentAt });
    expect(rows[0]!.payload.iat).toBeGreaterThan(firstSentAt + 1000);
    expect(rows[0]!.sent_at.getTime()).toBe(firstSentAt * 1000);
  });
});
