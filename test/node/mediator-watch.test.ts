// A mediator's watch over the requests it relays (node/mediator-watch.ts; README, _Mediated
// exchange_), against a real Postgres and real local webhook receivers, the clock injected into
// each pass. From the signed messages M relayed and the recipients' receipts it passed back, the
// watch notes when a request's deadline falls, records one notification per request, deadline and
// escalation level once it passes, posts each to every webhook until the target takes it (signed
// as Standard Webhooks says, ids and times only, never the subject), and stops looking at a
// deadline once it is answered, or once its last escalation level is reached. A request under a
// policy M does not hold is never counted.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { ulid } from 'ulid';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { webhookTarget } from '../../activities/notify-webhooks.js';
import {
  dueWatches,
  overdueWatches,
  recordForward,
  storeRelayed,
  watchAgainAt,
  watchAllAgainIfPolicyChanged,
} from '../../db/mediator.js';
import { addParty } from '../../db/registry.js';
import { mediatedRequests } from '../../exchange/mediated-requests.js';
import {
  MEDIATOR_WEBHOOK_ATTEMPTS,
  startMediatorWatch,
  type MediatorWatch,
} from '../../node/mediator-watch.js';
import { policyDigest, type LoadedPolicy } from '../../node/policy.js';
import { digestOfInput } from '../../protocol/digest.js';
import { subjectFor } from '../helpers/domain.js';
import { cloneTemplate, testPool } from '../helpers/postgres.js';
import { testPolicy } from '../helpers/test-policy.js';

const A = 'party-a';
const B = 'party-b';
const M = 'party-m';
/** In the request's subject: it must reach no webhook, no table of the watch and no log line. */
const MARKER = 'WATCH-SUBJECT-MARKER-Valea-Rece-school';

const ACK_SECONDS = 60;
const RESPOND_SECONDS = 3600;
const ESCALATION = [0, 600];

/** M's policy, the one A and B agreed. */
const POLICY = testPolicy(
  'mediator watch test policy (seconds)',
  [
    {
      request_type: 'grave_information',
      priority: 'routine',
      acknowledge_seconds: ACK_SECONDS,
      respond_seconds: RESPOND_SECONDS,
      escalation_after_seconds: ESCALATION,
    },
  ],
  'mediator-watch-test-policy.json',
);
const SECRET = `whsec_${crypto.randomBytes(24).toString('base64')}`;

let db: Awaited<ReturnType<typeof cloneTemplate>>;
let pool: pg.Pool;
const cleanups: (() => Promise<unknown>)[] = [];

// A database of its own per test: a pass looks at every request due and posts every notification
// a target has not taken, so one test's requests must not be in another's.
beforeEach(async () => {
  db = await cloneTemplate(inject('templateDatabase'));
  pool = testPool({ connectionString: db.url, max: 6 });
  for (const partyId of [A, B])
    await addParty(
      pool,
      {
        partyId,
        name: `Node of ${partyId}`,
        inboxUrl: `https://${partyId}.test/v1/messages`,
        keys: [],
      },
      'test',
    );
});
afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo().catch(() => undefined);
  await pool?.end();
  await db?.drop();
});

// ---------------------------------------------------------------------------------------------
// Signed messages as M holds them (the watch reads the payload; M verified the signature when it
// relayed the message)

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const seconds = (ms: number) => Math.floor(ms / 1000);

function tokenOf(payload: Record<string, unknown>): string {
  const header = {
    alg: 'Ed25519',
    kid: crypto.randomBytes(32).toString('base64url'),
    typ: 'parley-msg+jws',
  };
  return `${b64(header)}.${b64(payload)}.${crypto.randomBytes(64).toString('base64url')}`;
}

/** M takes a message about a request: it stores it with its own relay receipt. */
async function relay(payload: Record<string, unknown>, relayedAt: number): Promise<string> {
  const token = tokenOf(payload);
  const digest = digestOfInput(token);
  const relayReceipt = tokenOf({
    v: 1,
    msg_id: ulid(),
    iss: M,
    aud: payload.iss,
    iat: seconds(relayedAt),
    exp: seconds(relayedAt) + 86_400,
    kind: 'receipt',
    req_id: payload.req_id,
    in_reply_to: { msg_id: payload.msg_id, digest },
    body: { digest, received_at: new Date(relayedAt).toISOString() },
    attachments: [],
  });
  await storeRelayed(pool, {
    digest,
    iss: String(payload.iss),
    aud: String(payload.aud),
    msgId: String(payload.msg_id),
    kind: payload.kind as 'request',
    reqId: String(payload.req_id),
    sealed: false,
    token,
    receivedAt: new Date(relayedAt),
    relayReceiptToken: relayReceipt,
  });
  return digest;
}

/** The recipient's signed receipt of a relayed message comes back through M. */
async function receivedBy(
  recipient: string,
  sender: string,
  message: { msgId: string; digest: string; reqId: string },
  at: number,
): Promise<void> {
  const receiptToken = tokenOf({
    v: 1,
    msg_id: ulid(),
    iss: recipient,
    aud: sender,
    iat: seconds(at),
    exp: seconds(at) + 86_400,
    kind: 'receipt',
    req_id: message.reqId,
    in_reply_to: { msg_id: message.msgId, digest: message.digest },
    body: { digest: message.digest, received_at: new Date(at).toISOString(), sent: 0 },
    attachments: [],
  });
  await recordForward(pool, message.digest, {
    status: 202,
    error: null,
    receiptToken,
    receivedAt: new Date(at),
  });
}

interface Relayed {
  reqId: string;
  msgId: string;
  digest: string;
  /** B's signed receipt of the request: the deadlines count from it (ms). */
  receiptAt: number;
  ackDue: number;
  respondDue: number;
}

/**
 * A routine grave-information request from A to B, relayed by M and received by B. Its times
 * start now (the relay marks the request to be looked at by the database's clock); each pass then
 * runs at an injected time after them.
 */
async function requestRelayed(digestOfPolicy = POLICY.digest): Promise<Relayed> {
  const t0 = Math.floor(Date.now() / 1000) * 1000;
  const reqId = ulid();
  const msgId = ulid();
  const digest = await relay(
    {
      v: 1,
      msg_id: msgId,
      iss: A,
      aud: B,
      iat: seconds(t0),
      exp: seconds(t0) + 7 * 86_400,
      kind: 'request',
      req_id: reqId,
      seq: 1,
      seen: 0,
      sent_at: seconds(t0),
      body: {
        request_type: 'grave_information',
        priority: 'routine',
        subject: subjectFor('grave_information', MARKER),
        policy_digest: digestOfPolicy,
      },
      attachments: [],
    },
    t0 + 1000,
  );
  const receiptAt = t0 + 2000;
  await receivedBy(B, A, { msgId, digest, reqId }, receiptAt);
  return {
    reqId,
    msgId,
    digest,
    receiptAt,
    ackDue: receiptAt + ACK_SECONDS * 1000,
    respondDue: receiptAt + RESPOND_SECONDS * 1000,
  };
}

/** B acknowledges the request at `sentAt` (ms); M relays it a second later. */
async function acknowledgedByB(r: Relayed, sentAt: number) {
  const msgId = ulid();
  const digest = await relay(
    {
      v: 1,
      msg_id: msgId,
      iss: B,
      aud: A,
      iat: seconds(sentAt),
      exp: seconds(sentAt) + 7 * 86_400,
      kind: 'acknowledgement',
      req_id: r.reqId,
      in_reply_to: { msg_id: r.msgId, digest: r.digest },
      seq: 1,
      seen: 1,
      sent_at: seconds(sentAt),
      body: { note: 'Received; we are looking into it.' },
      attachments: [],
    },
    sentAt + 1000,
  );
  return { msgId, digest, reqId: r.reqId };
}

/**
 * A party's message about the request, its `seq`-th, having seen `seen` of the other's, signed at
 * `sentAt` (ms); M relays it a second later.
 */
async function sentBy(
  r: Relayed,
  m: { iss: string; kind: string; seq: number; seen: number; sentAt: number },
) {
  const msgId = ulid();
  const digest = await relay(
    {
      v: 1,
      msg_id: msgId,
      iss: m.iss,
      aud: m.iss === A ? B : A,
      iat: seconds(m.sentAt),
      exp: seconds(m.sentAt) + 7 * 86_400,
      kind: m.kind,
      req_id: r.reqId,
      seq: m.seq,
      seen: m.seen,
      sent_at: seconds(m.sentAt),
      body: {},
      attachments: [],
    },
    m.sentAt + 1000,
  );
  return { msgId, digest, reqId: r.reqId };
}

/** M's view of the request as `GET /v1/mediated/{req_id}` shows it. */
async function viewOf(reqId: string, now: number) {
  const [view] = await mediatedRequests(
    { pool, policy: POLICY },
    { reqId, limit: 1, now: at(now) },
  );
  expect(view).toBeDefined();
  return view!;
}

// ---------------------------------------------------------------------------------------------
// What an operator sees: the watch's tables, its log, and what the webhooks received

async function nextCheckAt(reqId: string): Promise<number | null> {
  const { rows } = await pool.query<{ next_check_at: Date | null }>(
    'SELECT next_check_at FROM mediated_watch WHERE req_id = $1',
    [reqId],
  );
  expect(rows).toHaveLength(1);
  return rows[0]!.next_check_at?.getTime() ?? null;
}

interface NotificationRow {
  req_id: string;
  deadline: string;
  level: number;
  due_at: Date;
  delivered_targets: string[];
  attempts: number;
  last_error: string | null;
}

async function notifications(reqId: string): Promise<NotificationRow[]> {
  const { rows } = await pool.query<NotificationRow>(
    `SELECT req_id, deadline, level, due_at, delivered_targets, attempts, last_error
       FROM mediator_notifications WHERE req_id = $1 ORDER BY deadline, level`,
    [reqId],
  );
  return rows;
}

interface Post {
  headers: http.IncomingHttpHeaders;
  text: string;
  body: Record<string, unknown>;
}

interface Receiver {
  url: string;
  posts: Post[];
}

/** A webhook receiver on a local port; `answer(n)` is its status for its n-th POST (from 1). */
async function receiver(answer: (n: number) => number = () => 204): Promise<Receiver> {
  const posts: Post[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      posts.push({ headers: req.headers, text, body: JSON.parse(text) as Record<string, unknown> });
      res.statusCode = answer(posts.length);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/parley`, posts };
}

/** M's watch, passes only when called, its log kept (by M's policy, or the one given). */
function watchOf(
  urls: readonly string[],
  policy: LoadedPolicy = POLICY,
): { watch: MediatorWatch; logLines: string[] } {
  const logLines: string[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });
  const watch = startMediatorWatch({
    pool,
    partyId: M,
    policy,
    webhooks: { urls, secret: SECRET },
    intervalSeconds: 0,
    log,
  });
  cleanups.push(() => watch.stop());
  return { watch, logLines };
}

const at = (ms: number) => new Date(ms);

// ---------------------------------------------------------------------------------------------

describe('the mediator watch', () => {
  it('before the acknowledgement is due, notifies nobody and looks again when it falls due', async () => {
    const hook = await receiver();
    const { watch } = watchOf([hook.url]);
    const r = await requestRelayed();

    const result = await watch.pass(at(r.receiptAt + 30_000));

    expect(result).toEqual({ looked: 1, notified: [], posted: 0, noticesDelivered: 0 });
    expect(await notifications(r.reqId)).toEqual([]);
    expect(hook.posts).toEqual([]);
    expect(await nextCheckAt(r.reqId)).toBe(r.ackDue);
    // Not looked at again before then.
    expect((await watch.pass(at(r.ackDue - 1000))).looked).toBe(0);
  });

  it('once it is due, records one notification and posts it signed, without the subject, once', async () => {
    const hook = await receiver();
    const { watch, logLines } = watchOf([hook.url]);
    const r = await requestRelayed();

    const first = await watch.pass(at(r.ackDue));

    expect(first.notified).toEqual([`${r.reqId} acknowledgement 1`]);
    expect(first.posted).toBe(1);
    const rows = await notifications(r.reqId);
    expect(rows).toMatchObject([
      {
        deadline: 'acknowledgement',
        level: 1,
        attempts: 1,
        last_error: null,
        delivered_targets: [webhookTarget(hook.url)],
      },
    ]);
    expect(rows[0]!.due_at.getTime()).toBe(r.ackDue);
    // The next look: the second escalation level of the acknowledgement.
    expect(await nextCheckAt(r.reqId)).toBe(r.ackDue + ESCALATION[1]! * 1000);

    expect(hook.posts).toHaveLength(1);
    const post = hook.posts[0]!;
    const id = `${M}:mediated:${r.reqId}:acknowledgement:1`;
    expect(post.headers['webhook-id']).toBe(id);
    expect(post.headers['content-type']).toBe('application/json');
    const signed = {
      'webhook-id': String(post.headers['webhook-id']),
      'webhook-timestamp': String(post.headers['webhook-timestamp']),
      'webhook-signature': String(post.headers['webhook-signature']),
    };
    expect(new Webhook(SECRET).verify(post.text, signed)).toEqual(post.body);
    expect(() =>
      new Webhook(`whsec_${crypto.randomBytes(24).toString('base64')}`).verify(post.text, signed),
    ).toThrow();
    expect(post.body).toMatchObject({
      id,
      party: M,
      kind: 'mediated_deadline_passed',
      req_id: r.reqId,
      // Which kind of request is late, and between whom: ids only.
      request_type: 'grave_information',
      requester: A,
      responder: B,
      deadline: 'acknowledgement',
      level: 1,
      due_at: new Date(r.ackDue).toISOString(),
    });
    expect(logLines.some((l) => l.includes(r.reqId) && l.includes('acknowledgement'))).toBe(true);

    // Nothing of the subject anywhere the watch writes.
    const { rows: all } = await pool.query(
      'SELECT row_to_json(n)::text AS t FROM mediator_notifications n',
    );
    expect(all).toHaveLength(1);
    for (const text of [post.text, JSON.stringify(post.headers), ...all.map((x) => x.t as string)])
      expect(text).not.toContain(MARKER);
    expect(logLines.join('')).not.toContain(MARKER);
    expect(post.text).not.toContain('Valea Rece');

    // Again at the same time: nothing new, and the target that took it is not posted to again.
    expect(await watch.pass(at(r.ackDue))).toEqual({
      looked: 0,
      notified: [],
      posted: 0,
      noticesDelivered: 0,
    });
    expect(hook.posts).toHaveLength(1);
    expect(await notifications(r.reqId)).toHaveLength(1);
  });

  it('escalates at each level of the policy, then stops looking once the last level is reached', async () => {
    const hook = await receiver();
    const { watch } = watchOf([hook.url]);
    const r = await requestRelayed();
    await watch.pass(at(r.ackDue));
    // The next look: the acknowledgement's second escalation level.
    expect(await nextCheckAt(r.reqId)).toBe(r.ackDue + ESCALATION[1]! * 1000);

    const escalated = await watch.pass(at(r.ackDue + ESCALATION[1]! * 1000));
    expect(escalated).toEqual({
      looked: 1,
      notified: [`${r.reqId} acknowledgement 2`],
      posted: 1,
      noticesDelivered: 0,
    });
    expect(hook.posts.map((p) => (p.body as { level: number }).level)).toEqual([1, 2]);
    // The acknowledgement is at its last level: the response deadline is the next to watch.
    expect(await nextCheckAt(r.reqId)).toBe(r.respondDue);

    // Both response levels at once, when the first look comes after both.
    const late = await watch.pass(at(r.respondDue + ESCALATION[1]! * 1000));
    expect(late.notified).toEqual([`${r.reqId} response 1`, `${r.reqId} response 2`]);
    expect(await nextCheckAt(r.reqId)).toBeNull();
    expect((await notifications(r.reqId)).map((n) => [n.deadline, n.level])).toEqual(
      expect.arrayContaining([
        ['acknowledgement', 1],
        ['acknowledgement', 2],
        ['response', 1],
        ['response', 2],
      ]),
    );
    // Nothing is due any more: later passes look at nothing.
    expect(await watch.pass(at(r.respondDue + 86_400_000))).toEqual({
      looked: 0,
      notified: [],
      posted: 0,
      noticesDelivered: 0,
    });
  });

  it('posts again to a failing target, backing off, until it takes it, and gives up after the last round', async () => {
    const flaky = await receiver((n) => (n === 1 ? 500 : 204));
    const down = await receiver(() => 500);
    const { watch } = watchOf([flaky.url, down.url]);
    const r = await requestRelayed();

    const first = await watch.pass(at(r.ackDue));
    expect(first.notified).toHaveLength(1);
    expect(first.posted).toBe(0);
    let [row] = await notifications(r.reqId);
    expect(row).toMatchObject({ attempts: 1, delivered_targets: [] });
    expect(row!.last_error).toMatch(/http_500/);
    // The log of attempts names a target by its digest, never by its URL.
    expect(row!.last_error).not.toContain('127.0.0.1');

    // The next round waits: after round n, min(2^n × the pass interval (1 s here), 1 hour).
    expect(await watch.pass(at(r.ackDue + 1_000))).toEqual({
      looked: 0,
      notified: [],
      posted: 0,
      noticesDelivered: 0,
    });
    expect(flaky.posts).toHaveLength(1);
    let t = r.ackDue + 2_000;
    const second = await watch.pass(at(t));
    expect(second).toEqual({ looked: 0, notified: [], posted: 1, noticesDelivered: 0 });
    [row] = await notifications(r.reqId);
    expect(row).toMatchObject({ attempts: 2, delivered_targets: [webhookTarget(flaky.url)] });
    expect(row!.last_error).toBe(`${webhookTarget(down.url).slice(0, 12)} http_500`);
    expect(flaky.posts).toHaveLength(2);
    // One id across the retries, each signed anew.
    expect(new Set(flaky.posts.map((p) => p.headers['webhook-id'])).size).toBe(1);

    // The target that never takes it: once per round, each round later, up to the last round.
    // (Later levels are notified meanwhile: only this notification's POSTs are counted.)
    const id = `${M}:mediated:${r.reqId}:acknowledgement:1`;
    const tries = () => down.posts.filter((p) => p.headers['webhook-id'] === id).length;
    for (let round = 3; round <= MEDIATOR_WEBHOOK_ATTEMPTS; round += 1) {
      const wait = Math.min(3600, 2 ** (round - 1)) * 1000;
      await watch.pass(at(t + wait - 1_000));
      expect(tries()).toBe(round - 1);
      t += wait;
      await watch.pass(at(t));
      expect(tries()).toBe(round);
    }
    await watch.pass(at(t + 86_400_000));
    expect(tries()).toBe(MEDIATOR_WEBHOOK_ATTEMPTS);
    expect(flaky.posts.filter((p) => p.headers['webhook-id'] === id)).toHaveLength(2);
    [row] = await notifications(r.reqId);
    expect(row).toMatchObject({
      level: 1,
      attempts: MEDIATOR_WEBHOOK_ATTEMPTS,
      delivered_targets: [webhookTarget(flaky.url)],
    });
  });

  it("stops watching the acknowledgement once B's acknowledgement is relayed, and watches the response", async () => {
    const hook = await receiver();
    const { watch } = watchOf([hook.url]);
    const r = await requestRelayed();
    await watch.pass(at(r.ackDue));
    expect(await nextCheckAt(r.reqId)).toBe(r.ackDue + 600_000);

    // B acknowledges late; M relays it and passes A's receipt back.
    const before = Date.now();
    const ack = await acknowledgedByB(r, r.ackDue + 120_000);
    const marked = await nextCheckAt(r.reqId);
    expect(marked).not.toBeNull();
    // Looked at again at the next pass, not at the escalation foreseen.
    expect(marked!).toBeGreaterThanOrEqual(before - 2000);
    expect(marked!).toBeLessThanOrEqual(Date.now() + 2000);
    await receivedBy(A, B, ack, r.ackDue + 122_000);

    const result = await watch.pass(at(r.ackDue + 600_000));
    expect(result).toEqual({ looked: 1, notified: [], posted: 0, noticesDelivered: 0 });
    expect((await notifications(r.reqId)).map((n) => [n.deadline, n.level])).toEqual([
      ['acknowledgement', 1],
    ]);
    expect(await nextCheckAt(r.reqId)).toBe(r.respondDue);
    expect(hook.posts).toHaveLength(1);

    // The response deadline is still watched: it passes unanswered and is notified.
    const due = await watch.pass(at(r.respondDue));
    expect(due.notified).toEqual([`${r.reqId} response 1`]);
    expect(hook.posts.map((p) => [p.body.deadline, p.body.level])).toEqual([
      ['acknowledgement', 1],
      ['response', 1],
    ]);
  });

  it('keeps a request due when a message about it is relayed while a look is under way', async () => {
    const r = await requestRelayed();
    // A look reads the request as it stands...
    const [watched] = await dueWatches(pool, new Date(r.receiptAt + 1000), 10);
    expect(watched?.reqId).toBe(r.reqId);
    // ...B's acknowledgement is relayed before the look records its outcome...
    const before = Date.now();
    await acknowledgedByB(r, r.receiptAt + 5000);
    // ...and the outcome of the stale look (nothing to wait for) does not hide the new message,
    // even from a process whose clock runs ahead of the database's.
    await watchAgainAt(pool, watched!, null, new Date(Date.now() + 60_000));
    expect(await nextCheckAt(r.reqId)).toBeGreaterThanOrEqual(before - 2000);
  });

  it('counts no deadline of a request under a policy M does not hold', async () => {
    const hook = await receiver();
    const { watch } = watchOf([hook.url]);
    const otherPolicy = policyDigest({ ...POLICY.raw, name: 'a policy M does not hold' });
    const r = await requestRelayed(otherPolicy);

    const result = await watch.pass(at(r.respondDue + 3_600_000));

    expect(result).toEqual({ looked: 1, notified: [], posted: 0, noticesDelivered: 0 });
    expect(await notifications(r.reqId)).toEqual([]);
    expect(await nextCheckAt(r.reqId)).toBeNull();
    expect(hook.posts).toEqual([]);
  });

  it('counts them once M starts again with the parties’ policy, though its last look foresaw nothing', async () => {
    const hook = await receiver();
    const theirs = testPolicy('the parties’ policy, new to M', POLICY.raw.rules);
    const r = await requestRelayed(theirs.digest);
    // Under M's own policy: no deadline counted, nothing to look at again.
    const { watch: before } = watchOf([hook.url]);
    await before.pass(at(r.receiptAt + 1_000));
    expect(await nextCheckAt(r.reqId)).toBeNull();
    await before.stop();

    // M starts again with the parties' policy file: every watched request is due again, once.
    expect(await watchAllAgainIfPolicyChanged(pool, theirs.digest)).toBeGreaterThanOrEqual(1);
    expect(await watchAllAgainIfPolicyChanged(pool, theirs.digest)).toBe(0);
    const { watch } = watchOf([hook.url], theirs);
    const result = await watch.pass(at(r.ackDue + 1_000));
    expect(result.notified).toEqual([`${r.reqId} acknowledgement 1`]);
    expect(hook.posts).toHaveLength(1);
  });

  it.each([
    // B's acknowledgement (its message 1) went another way: only its message 2 came through M.
    ['B’s messages have a gap', { iss: B, kind: 'clarification_request', seq: 2, seen: 1 }],
    // A's message shows it holds a message of B that M never relayed.
    [
      'A saw a message of B that M does not hold',
      { iss: A, kind: 'clarification', seq: 2, seen: 1 },
    ],
  ] as const)(
    'notifies nobody of a deadline passed in a view that is not complete (%s)',
    async (_, message) => {
      const hook = await receiver();
      const { watch } = watchOf([hook.url]);
      const r = await requestRelayed();
      await sentBy(r, { ...message, sentAt: r.receiptAt + 5000 });

      // Both acknowledgement levels passed, as far as M can tell.
      const now = r.ackDue + ESCALATION[1]! * 1000;
      const view = await viewOf(r.reqId, now);
      expect(view).toMatchObject({ complete: false, overdue: true });

      const result = await watch.pass(at(now));
      expect(result).toEqual({ looked: 1, notified: [], posted: 0, noticesDelivered: 0 });
      expect(await notifications(r.reqId)).toEqual([]);
      expect(hook.posts).toEqual([]);
    },
  );

  it('looks again, at the next pass, once a relayed message is refused for good, and counts it as refused', async () => {
    const hook = await receiver();
    const { watch } = watchOf([hook.url]);
    const r = await requestRelayed();
    const ack = await acknowledgedByB(r, r.receiptAt + 5000);
    // The acknowledgement is on its way to A: the next thing to watch is the response deadline.
    await watch.pass(at(r.receiptAt + 30_000));
    expect(await nextCheckAt(r.reqId)).toBe(r.respondDue);

    // A refuses it for good: B gives its acknowledgement up.
    const before = Date.now();
    await recordForward(pool, ack.digest, { status: 400, error: 'schema_invalid' });
    const marked = await nextCheckAt(r.reqId);
    expect(marked).not.toBeNull();
    expect(marked!).toBeGreaterThanOrEqual(before - 2000);
    expect(marked!).toBeLessThanOrEqual(Date.now() + 2000);

    const view = await viewOf(r.reqId, r.ackDue);
    expect(view.messages.find((m) => m.kind === 'acknowledgement')?.state).toBe('refused');
    expect(view).toMatchObject({ asResponder: 'delivered', settledStatus: 'delivered' });
    // Unacknowledged after all: its deadline passes and is notified.
    const due = await watch.pass(at(r.ackDue));
    expect(due.notified).toEqual([`${r.reqId} acknowledgement 1`]);
    expect(hook.posts.map((p) => [p.body.deadline, p.body.level])).toEqual([
      ['acknowledgement', 1],
    ]);
  });

  it('counts a message whose recipient’s receipt M could not check (409 receipt_invalid) as in transit, not refused', async () => {
    const r = await requestRelayed();
    const ack = await acknowledgedByB(r, r.receiptAt + 5000);
    await recordForward(pool, ack.digest, { status: 409, error: 'receipt_invalid' });

    const view = await viewOf(r.reqId, r.ackDue + 1000);
    expect(view.messages.find((m) => m.kind === 'acknowledgement')).toMatchObject({
      state: 'in_transit',
      receivedAt: null,
      effect: 'applied',
    });
    expect(view).toMatchObject({
      asResponder: 'acknowledged',
      settledStatus: 'acknowledged',
      agree: false,
      overdue: false,
    });
    expect(view.deadlines.find((d) => d.kind === 'acknowledgement')?.answeredAt).toBe(
      new Date(Math.floor((r.receiptAt + 5000) / 1000) * 1000).toISOString(),
    );
  });

  it('lists a request as overdue after a pass that found it overdue, and no more once it is acknowledged', async () => {
    const { watch } = watchOf([]);
    const r = await requestRelayed();

    await watch.pass(at(r.receiptAt + 30_000));
    expect(await overdueWatches(pool, 10)).toEqual([]);

    await watch.pass(at(r.ackDue));
    expect(await overdueWatches(pool, 10)).toEqual([r.reqId]);

    // B acknowledges late; A's receipt comes back through M; the next pass looks again.
    const ack = await acknowledgedByB(r, r.ackDue + 120_000);
    await receivedBy(A, B, ack, r.ackDue + 122_000);
    // Until a pass looked again, the last look stands.
    expect(await overdueWatches(pool, 10)).toEqual([r.reqId]);
    expect((await watch.pass(at(r.ackDue + 600_000))).looked).toBe(1);
    expect(await overdueWatches(pool, 10)).toEqual([]);
  });
});
