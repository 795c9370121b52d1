// Supervisor notifications POSTed to webhooks (NOTIFY_WEBHOOK_URLS) by an activity of the request
// workflow: a request between two live nodes, with a deadline of seconds, turns near-due and then
// overdue; two local receivers get each notification as JSON with ids, codes and times only (no
// subject), signed as Standard Webhooks says, with one id across retries. The receivers check
// signatures and timestamps and act on each id once, as a careful receiver does. The flaky one
// refuses the first two POSTs of each notification and still ends up with exactly one delivered,
// while the other is not posted twice; a replayed POST is deduped, or refused once it is stale.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { webhookTarget } from '../../activities/notify-webhooks.js';
import { loadConfig } from '../../config.js';
import { ConfigError } from '../../errors.js';
import { corridorSubject } from '../fixtures/domain/mine-maps.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';

/** What a receiver made of a POST: acted on, acted on before (a retry, a replay), refused, or failed. */
type Verdict = 'processed' | 'duplicate' | 'bad_signature' | 'stale' | 'unavailable';

interface Post {
  headers: http.IncomingHttpHeaders;
  text: string;
  body: Record<string, unknown>;
  /** What the receiver answered. */
  status: number;
  verdict: Verdict;
}

interface Receiver {
  url: string;
  posts: Post[];
  /** Ids this receiver acted on, once each. */
  processed: Set<string>;
  /** Added to the receiver's clock (a POST replayed later). */
  clockOffsetMs: number;
  close(): Promise<void>;
}

/** Refuses a timestamp further than this from the receiver's clock, as Standard Webhooks does. */
const TOLERANCE_SECONDS = 5 * 60;

/**
 * Checks a POST as a Standard Webhooks receiver does, with node's crypto only: the HMAC-SHA256
 * of `id.timestamp.body` among the `v1,` signatures, compared in constant time, then the
 * timestamp within five minutes of `nowSeconds`.
 */
function checkSignature(
  headers: http.IncomingHttpHeaders,
  text: string,
  nowSeconds: number,
): 'ok' | 'bad_signature' | 'stale' {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string')
    return 'bad_signature';
  const expected = Buffer.from(
    crypto.createHmac('sha256', SECRET).update(`${id}.${timestamp}.${text}`).digest('base64'),
  );
  const matches = signatures.split(' ').some((versioned) => {
    const [version, signature = ''] = versioned.split(',', 2);
    const given = Buffer.from(signature);
    return (
      version === 'v1' &&
      given.length === expected.length &&
      crypto.timingSafeEqual(given, expected)
    );
  });
  if (!matches) return 'bad_signature';
  return Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS ? 'stale' : 'ok';
}

/**
 * A webhook receiver on a free port that does what a careful one does: refuses a POST whose
 * signature does not verify (401) or whose timestamp is stale (400), acts on each `webhook-id`
 * once and answers 200 to the same id again without acting. `answer` may fail a POST first (503).
 */
async function startReceiver(
  answer: (body: Record<string, unknown>) => number = () => 200,
): Promise<Receiver> {
  const posts: Post[] = [];
  const processed = new Set<string>();
  const receiver = { clockOffsetMs: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(text) as Record<string, unknown>;
      const now = Math.floor((Date.now() + receiver.clockOffsetMs) / 1000);
      const check = checkSignature(req.headers, text, now);
      const id = String(req.headers['webhook-id']);
      let verdict: Verdict;
      let status: number;
      if (check !== 'ok') [verdict, status] = [check, check === 'stale' ? 400 : 401];
      else if (processed.has(id)) [verdict, status] = ['duplicate', 200];
      else {
        status = answer(body);
        verdict = status < 300 ? 'processed' : 'unavailable';
        if (status < 300) processed.add(id);
      }
      posts.push({ headers: req.headers, text, body, status, verdict });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${port}/hooks/parley?key=receiver-secret`,
    posts,
    processed,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

/** Sends a POST a receiver got once again, exactly as it came (a replay). */
async function replay(
  r: Receiver,
  post: Post,
  change: Record<string, string> = {},
  text = post.text,
) {
  const headers: Record<string, string> = {};
  for (const name of ['content-type', 'webhook-id', 'webhook-timestamp', 'webhook-signature'])
    headers[name] = String(post.headers[name]);
  const res = await fetch(r.url, {
    method: 'POST',
    headers: { ...headers, ...change },
    body: text,
  });
  await res.arrayBuffer();
  return { status: res.status, verdict: r.posts.at(-1)!.verdict };
}

const SECRET = 'webhook-signing-secret-0123456789';
/** A receiver on the Standard Webhooks library, given our secret as the base64 it expects. */
const standardWebhook = new Webhook(Buffer.from(SECRET, 'utf8').toString('base64'));
const headersOf = (p: Post): Record<string, string> =>
  Object.fromEntries(
    ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [h, String(p.headers[h])]),
  );
const PUBLIC_URL = 'https://parley-a.example.org';
const TITLE = 'Webhook probe: hazards along the pylon corridor 9XK';

let a: TestNode;
let b: TestNode;
let steady: Receiver;
let flaky: Receiver;
let reqId: string;

beforeAll(async () => {
  steady = await startReceiver();
  // Refuses the first two POSTs of every notification, then takes it.
  const seen = new Map<string, number>();
  flaky = await startReceiver((body) => {
    const n = (seen.get(String(body.id)) ?? 0) + 1;
    seen.set(String(body.id), n);
    return n <= 2 ? 503 : 204;
  });
  const policyFile = await writeTestPolicy([
    // A reminder a second after B's receipt, overdue and escalated to level 1 at three seconds.
    {
      request_type: 'mine_map',
      priority: 'urgent',
      acknowledge_seconds: 3,
      respond_seconds: 3600,
      reminder_offsets_seconds: [2],
      escalation_after_seconds: [0],
    },
  ]);
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1', PARLEY_POLICY_FILE: policyFile };
  [a, b] = await Promise.all([
    startTestNode({
      partyId: 'party-a',
      env: {
        ...env,
        NOTIFY_WEBHOOK_URLS: `${steady.url}, ${flaky.url}`,
        NOTIFY_WEBHOOK_SECRET: SECRET,
        PUBLIC_URL,
      },
    }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  const created = await call(a.url, 'POST', '/v1/requests', {
    token: await a.token('officer', 'officer-amira'),
    json: {
      type: 'mine_map',
      counterparty: 'party-b',
      priority: 'urgent',
      subject: { ...structuredClone(corridorSubject), title: TITLE },
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  reqId = created.body.id as string;
});
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
  await Promise.all([steady?.close(), flaky?.close()]);
});

const escalationIn = (r: Receiver, status?: number) =>
  r.posts.filter(
    (p) =>
      p.body.kind === 'escalation' &&
      p.body.req_id === reqId &&
      (status === undefined || p.status === status),
  );

describe('notifications to webhooks', () => {
  it('POSTs an overdue escalation with ids, codes and times, and no subject', async () => {
    const [post] = await eventually(
      () => {
        const found = escalationIn(steady);
        return Promise.resolve(found.length ? found : undefined);
      },
      30_000,
      'the escalation at the steady receiver',
    );
    const detail = await call(a.url, 'GET', `/v1/requests/${reqId}`, {
      token: await a.token('supervisor'),
    });
    expect(detail.body).toMatchObject({ overdue: true, escalationLevel: 1 });
    const escalated = (detail.body.timeline as { seq: number; type: string }[]).find(
      (e) => e.type === 'escalated',
    )!;
    const id = `party-a:${reqId}:${escalated.seq}`;
    const link = `/dashboard/requests/${reqId}`;
    expect(post!.body).toStrictEqual({
      id,
      party: 'party-a',
      req_id: reqId,
      seq: escalated.seq,
      kind: 'escalation',
      level: 1,
      deadline: 'acknowledgement',
      due_at: detail.body.ackDueAt,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as unknown,
      request_type: 'mine_map',
      direction: 'outgoing',
      counterparty: 'party-b',
      priority: 'urgent',
      link,
      url: `${PUBLIC_URL}${link}`,
      api: `/v1/requests/${reqId}`,
    });
    // Nothing of the subject: not its title, not its notes.
    expect(post!.text).not.toContain(TITLE);
    expect(post!.text).not.toContain('pylons');
    expect(post!.text).not.toContain('officer-amira');
    expect(post!.headers['content-type']).toBe('application/json');
    expect(post!.headers['idempotency-key']).toBe(id);
    expect(post!.headers['x-parley-notification-id']).toBe(id);
    // Signed as Standard Webhooks says, at the moment it was sent; the receiver verified it.
    expect(post!.headers['webhook-id']).toBe(id);
    const sentAt = Number(post!.headers['webhook-timestamp']);
    expect(Math.abs(sentAt - Date.now() / 1000)).toBeLessThan(60);
    expect(post!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(post!.verdict).toBe('processed');
    // The specification's own library takes it too (its secrets are base64, ours is its text).
    expect(standardWebhook.verify(post!.text, headersOf(post!))).toStrictEqual(post!.body);
    // The body-only signature of earlier versions is still there, for receivers built on it.
    const mac = crypto.createHmac('sha256', SECRET).update(post!.text).digest('hex');
    expect(post!.headers['x-parley-signature']).toBe(`sha256=${mac}`);

    // The reminder before it, as a near-deadline notification of level 0.
    const reminder = steady.posts.find(
      (p) => p.body.kind === 'deadline_near' && p.body.req_id === reqId,
    );
    expect(reminder?.body).toMatchObject({
      level: 0,
      deadline: 'acknowledgement',
      due_at: detail.body.ackDueAt,
    });
  });

  it('retries a failing receiver until it takes the notification, exactly once', async () => {
    await eventually(
      () => Promise.resolve(escalationIn(flaky, 204).length ? true : undefined),
      30_000,
      'the escalation delivered to the flaky receiver',
    );
    // Nothing more arrives after the success: wait past a few retry intervals.
    await new Promise((r) => setTimeout(r, 3000));
    expect(escalationIn(flaky).map((p) => p.status)).toEqual([503, 503, 204]);
    // One id on every retry, each retry signed anew at its own time, and acted on once.
    const tries = escalationIn(flaky);
    expect(tries.map((p) => p.verdict)).toEqual(['unavailable', 'unavailable', 'processed']);
    const ids = new Set(
      tries.flatMap((p) => [p.headers['webhook-id'], p.headers['idempotency-key']]),
    );
    expect(ids).toEqual(new Set([tries[0]!.body.id]));
    const stamps = tries.map((p) => Number(p.headers['webhook-timestamp']));
    expect(stamps).toEqual([...stamps].sort((x, y) => x - y));
    for (const p of tries) expect(standardWebhook.verify(p.text, headersOf(p))).toBeTruthy();
    // Nothing either receiver got failed its checks.
    for (const r of [steady, flaky])
      expect(r.posts.filter((p) => p.verdict === 'bad_signature' || p.verdict === 'stale')).toEqual(
        [],
      );
    // The steady receiver took it at the first POST and was not posted to again by the retries.
    expect(escalationIn(steady)).toHaveLength(1);
    // Every notification of the request reached each receiver once, successfully.
    const notifications = steady.posts.filter((p) => p.body.req_id === reqId);
    for (const n of notifications) {
      const delivered = flaky.posts.filter((p) => p.body.id === n.body.id && p.status < 300);
      expect(delivered, String(n.body.kind)).toHaveLength(1);
    }

    // The delivery table agrees, keyed by a hash of each URL (the URLs hold secrets).
    const { rows } = await a.database.pool.query<{
      target: string;
      attempts: number;
      delivered: boolean;
    }>(
      `SELECT w.target, w.attempts, w.delivered_at IS NOT NULL AS delivered
       FROM webhook_deliveries w JOIN notifications n USING (req_id, seq)
       WHERE w.req_id = $1 AND n.kind = 'escalation'`,
      [reqId],
    );
    expect(rows).toHaveLength(2);
    const byTarget = new Map(rows.map((r) => [r.target, r]));
    expect(byTarget.get(webhookTarget(steady.url))).toMatchObject({ attempts: 1, delivered: true });
    expect(byTarget.get(webhookTarget(flaky.url))).toMatchObject({ attempts: 3, delivered: true });
    const { rows: leaks } = await a.database.pool.query(
      `SELECT 1 FROM webhook_deliveries WHERE target LIKE '%receiver-secret%'`,
    );
    expect(leaks).toHaveLength(0);

    // And /metrics counts the posts by outcome.
    const scrape = await call<string>(a.url, 'GET', '/metrics');
    expect(scrape.body).toMatch(/^parley_webhook_posts_total\{outcome="failed"\} [2-9]\d*$/m);
    expect(scrape.body).toMatch(/^parley_webhook_posts_total\{outcome="delivered"\} [2-9]\d*$/m);
  });

  it('lets a receiver dedupe a POST sent again, and refuse one replayed after five minutes or changed', async () => {
    const [post] = escalationIn(steady, 200);
    const acted = steady.processed.size;
    // Sent again as it was (a node that died between the 2xx and its record posts once more).
    expect(await replay(steady, post!)).toEqual({ status: 200, verdict: 'duplicate' });
    // Replayed six minutes later: the signed timestamp is stale.
    steady.clockOffsetMs = 6 * 60_000;
    try {
      expect(await replay(steady, post!)).toEqual({ status: 400, verdict: 'stale' });
      // Made to look fresh: the timestamp is signed, so the signature no longer verifies.
      const fresh = String(Math.floor(Date.now() / 1000) + 6 * 60);
      expect(await replay(steady, post!, { 'webhook-timestamp': fresh })).toEqual({
        status: 401,
        verdict: 'bad_signature',
      });
    } finally {
      steady.clockOffsetMs = 0;
    }
    // A changed body, or another id, does not verify either.
    const changed = post!.text.replace('"level":1', '"level":2');
    expect(changed).not.toBe(post!.text);
    expect(await replay(steady, post!, {}, changed)).toMatchObject({ verdict: 'bad_signature' });
    expect(await replay(steady, post!, { 'webhook-id': 'party-a:other:1' })).toMatchObject({
      verdict: 'bad_signature',
    });
    expect(steady.processed.size).toBe(acted);
    // The specification's library refuses the stale one as well (its clock moved, for one call).
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 6 * 60_000);
      expect(() => standardWebhook.verify(post!.text, headersOf(post!))).toThrow(/too old/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('does nothing on a node without webhooks, and does not hold up the request', async () => {
    // B raised the same kinds of notifications (its own reminder and escalation) with no URLs.
    const { rows } = await b.database.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM notifications WHERE req_id = $1',
      [reqId],
    );
    expect(rows[0]!.n).toBeGreaterThanOrEqual(1);
    const { rows: none } = await b.database.pool.query(
      'SELECT 1 FROM webhook_deliveries WHERE req_id = $1',
      [reqId],
    );
    expect(none).toHaveLength(0);
    // The request goes on: B acknowledges and A sees it, webhooks or not.
    const ack = await call(b.url, 'POST', `/v1/requests/${reqId}/acknowledge`, {
      token: await b.token('officer', 'officer-bogdan'),
      json: {},
    });
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);
    await eventually(
      async () => {
        const r = await call(a.url, 'GET', `/v1/requests/${reqId}`, {
          token: await a.token('supervisor'),
        });
        return r.body.status === 'acknowledged' ? true : undefined;
      },
      20_000,
      'A sees the acknowledgement',
    );
  });
});

describe('NOTIFY_WEBHOOK_URLS', () => {
  const load = (env: Record<string, string>) => loadConfig({ PARTY_ID: 'party-a', ...env });

  it('is a comma-separated list of http(s) URLs, empty when unset', () => {
    expect(load({}).notifications).toEqual({ webhookUrls: [], webhookSecret: undefined });
    expect(
      load({
        NOTIFY_WEBHOOK_URLS: ' https://chat.example.org/hook/T0K3N , http://10.0.0.5:8080/n,',
      }).notifications.webhookUrls,
    ).toEqual(['https://chat.example.org/hook/T0K3N', 'http://10.0.0.5:8080/n']);
  });

  it('refuses anything else, and a short signing key, without echoing the value', () => {
    let problems: readonly { path: string; message: string }[] = [];
    try {
      load({
        NOTIFY_WEBHOOK_URLS: 'https://ok.example.org/h,ftp://files.example.org/secret-path',
        NOTIFY_WEBHOOK_SECRET: 'short',
      });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems.map((p) => p.path.split('.')[0])).toEqual([
      'NOTIFY_WEBHOOK_URLS',
      'NOTIFY_WEBHOOK_SECRET',
    ]);
    expect(JSON.stringify(problems)).not.toContain('secret-path');
    expect(JSON.stringify(problems)).not.toContain('short');
  });
});
