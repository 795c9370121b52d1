// A flood of bad envelopes from one address over real HTTP against a complete node (real Postgres,
// real Temporal namespace): it grows neither the audit log nor the refusal sample beyond its cap,
// is counted exactly per minute, source and code, is answered 429 rate_limited with Retry-After
// once the address has used its allowance, and never stops a partner's valid message, sent from
// the same address meanwhile, from being taken. Prints an accepted message's latency before and
// during the flood (a figure, not an assertion).
import { Worker } from 'node:worker_threads';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { integrateAudit } from '../../db/audit.js';
import { RefusalLog } from '../../exchange/refusals.js';
import {
  createParty,
  forgeAs,
  headerJson,
  RECEIVER,
  SENDER,
  signDraftAs,
  validDraft,
  validPayload,
  type TestParty,
} from '../helpers/envelopes.js';
import { call } from '../helpers/http.js';
import { eventually } from '../helpers/partners.js';
import { PROTOCOL_ONLY, startTestNode, testLogger, type TestNode } from '../helpers/node.js';

const FLOOD = 10_000;
const CONCURRENCY = 64;
/** How long the node holds a 429 in this test (the default is 1 s: the flood would take minutes). */
const HOLD_MS = 200;
/** A small sample, so the flood overfills it (the node's default keeps 1,000). */
const SAMPLE_SIZE = 50;
/** The address the test's requests come from, as the node keys it. */
const SOURCE = '127.0.0.1';

let node: TestNode;
let partner: TestParty;
/** Holds no registered key: signs with the partner's kid, so the signature does not verify. */
let forger: TestParty;
let startedAt: Date;
/** The node's refusal log in this test (its limits can be changed as the test goes). */
let refusals: RefusalLog;

beforeAll(async () => {
  node = await startTestNode({ partyId: RECEIVER, sink: PROTOCOL_ONLY });
  [partner, forger] = await Promise.all([createParty(SENDER), createParty('party-x')]);
  const added = await call(node.url, 'POST', '/v1/admin/partners', {
    token: await node.token('admin', 'admin-ops'),
    json: {
      partyId: SENDER,
      name: 'Party A',
      inboxUrl: 'http://127.0.0.1:9/v1/messages',
      jwks: { keys: [{ ...partner.signingKey.publicJwk, alg: partner.signingKey.alg }] },
    },
  });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  // The node's refusal log with the default limits and a small sample (the inbox reads it per
  // request from its dependencies).
  refusals = new RefusalLog(node.database.pool, testLogger, {
    sampleSize: SAMPLE_SIZE,
    limitedHoldMs: HOLD_MS,
    maxHeldPerSource: CONCURRENCY,
  });
  node.exchange.inbox.refusals = refusals;
  startedAt = new Date(Math.floor(Date.now() / 60_000) * 60_000);
});
afterAll(() => node?.destroy());

interface Answer {
  status: number;
  code: string | undefined;
  retryAfterHeader: string | null;
  retryAfterBody: unknown;
}

async function post(token: string): Promise<Answer & { text: string }> {
  const res = await fetch(`${node.url}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/jose' },
    body: token,
  });
  const text = await res.text();
  const problem = res.headers.get('content-type')?.includes('json')
    ? (JSON.parse(text) as { code?: string; retry_after?: unknown })
    : {};
  return {
    status: res.status,
    code: problem.code,
    retryAfterHeader: res.headers.get('retry-after'),
    retryAfterBody: problem.retry_after,
    text,
  };
}

/** Posts each token CONCURRENCY at a time from a worker thread; the answers in token order. */
async function floodFromWorker(tokens: string[]): Promise<Answer[]> {
  const worker = new Worker(FLOOD_CLIENT, {
    eval: true,
    workerData: { url: `${node.url}/v1/messages`, tokens, concurrency: CONCURRENCY },
  });
  try {
    return await new Promise<Answer[]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

const FLOOD_CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, tokens, concurrency } = workerData;
const answers = new Array(tokens.length);
let next = 0;
async function one(i) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/jose' },
    body: tokens[i],
  });
  const text = await res.text();
  const problem = (res.headers.get('content-type') || '').includes('json') ? JSON.parse(text) : {};
  answers[i] = {
    status: res.status,
    code: problem.code,
    retryAfterHeader: res.headers.get('retry-after'),
    retryAfterBody: problem.retry_after,
  };
}
async function lane() {
  while (next < tokens.length) await one(next++);
}
Promise.all(Array.from({ length: concurrency }, lane)).then(() => parentPort.postMessage(answers));
`;

/** Bad envelope `i`: every other one not an envelope at all, the rest forged with the partner's kid. */
function badEnvelope(i: number): { token: string; code: string } {
  if (i % 2 === 0) return { token: `garbage-${i}`, code: 'malformed_envelope' };
  const payload = validPayload(validDraft('decline', { iss: SENDER, req_id: ulid() }));
  return {
    token: forgeAs(forger, { header: headerJson(partner.signingKey), payload }),
    code: 'signature_invalid',
  };
}

/** Sends a valid message from the partner; returns its answer and how long it took, in ms. */
async function sendValid(): Promise<{ status: number; ms: number }> {
  const { token } = await signDraftAs(
    partner,
    validDraft('decline', { iss: SENDER, req_id: ulid() }),
  );
  const started = performance.now();
  const answer = await post(token);
  return { status: answer.status, ms: performance.now() - started };
}

async function auditCounts() {
  await integrateAudit(node.database.pool); // every committed entry, with its index
  const { rows } = await node.database.pool.query<{ all: number; rejected: number }>(
    `SELECT count(*)::int AS all,
            count(*) FILTER (WHERE entry::jsonb->>'type' = 'rejected')::int AS rejected
     FROM audit_log`,
  );
  return rows[0]!;
}

const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const figure = (xs: number[]) =>
  `median ${quantile(xs, 0.5).toFixed(1)} ms, p95 ${quantile(xs, 0.95).toFixed(1)} ms (n=${xs.length})`;

describe(`${FLOOD} bad envelopes from one address`, () => {
  it('grow neither the audit log nor the sample, are counted, limited with Retry-After, and never stop the partner', async () => {
    const auditBefore = await auditCounts();
    const before: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await sendValid();
      expect(r.status).toBe(202);
      before.push(r.ms);
    }

    // The flood, CONCURRENCY at a time from a worker thread (its own event loop, as a separate
    // sender would be), with the partner's messages going on beside it from this one.
    const flood = Array.from({ length: FLOOD }, (_, i) => badEnvelope(i));
    let flooding = true;
    const during: number[] = [];
    const duringStatuses: number[] = [];
    const partnerLoop = async () => {
      while (flooding) {
        const r = await sendValid();
        duringStatuses.push(r.status);
        during.push(r.ms);
      }
    };
    const floodStarted = performance.now();
    const partnerDone = partnerLoop();
    const floodAnswers = await floodFromWorker(flood.map((b) => b.token));
    const floodSeconds = (performance.now() - floodStarted) / 1000;
    flooding = false;
    await partnerDone;
    const answers = floodAnswers.map((a, i) => ({ ...a, sent: flood[i]!.code }));

    // The partner was never limited: every valid message during the flood was taken.
    expect(during.length).toBeGreaterThan(0);
    expect(new Set(duringStatuses)).toEqual(new Set([202]));
    expect((await sendValid()).status).toBe(202);

    // The allowance (100 at once, 60 a minute) answered with the refusal's own code; the rest 429.
    expect(answers).toHaveLength(FLOOD);
    const own = answers.filter((a) => a.status !== 429);
    const limited = answers.filter((a) => a.status === 429);
    for (const a of own) expect(a.code).toBe(a.sent);
    expect(own.length).toBeGreaterThanOrEqual(100);
    expect(own.length).toBeLessThanOrEqual(100 + Math.ceil(floodSeconds) + 1);
    for (const a of limited) {
      expect(a.code).toBe('rate_limited');
      expect(a.retryAfterHeader).toMatch(/^[1-9]\d*$/);
      expect(a.retryAfterBody).toBe(Number(a.retryAfterHeader));
    }
    // Limited before its body is even read: the wrong media type gets the 429 too, once the
    // allowance that came back since the flood is used up again. A 429 held while the bucket
    // refills may let the allowance come back before the next request: from here 429s are sent
    // at once, and if the allowance still came back in between, the test drains again.
    refusals.limits.limitedHoldMs = 0;
    const polls: Answer[] = [];
    const wrongTypes = { refused: 0, limited: 0 };
    let wrongType: Response;
    for (;;) {
      for (;;) {
        const { text: _text, ...answer } = await post('garbage-drain');
        polls.push(answer);
        if (answer.status === 429) break;
      }
      wrongType = await fetch(`${node.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'hello',
      });
      wrongTypes.refused += 1;
      if (wrongType.status === 429) {
        wrongTypes.limited += 1;
        break;
      }
      expect(wrongType.status).toBe(415);
      await wrongType.body?.cancel();
      expect(
        wrongTypes.refused,
        'the wrong media type limited once the allowance is used',
      ).toBeLessThan(5);
    }
    expect(wrongType.status).toBe(429);
    const promised = Number(wrongType.headers.get('retry-after'));
    expect(wrongType.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(await wrongType.json()).toMatchObject({ code: 'rate_limited' });

    // Retry-After is truthful: once it has passed, a bad envelope gets its own code again.
    const waitStarted = Date.now();
    const freed = await eventually(
      async () => {
        const { text: _text, ...answer } = await post('garbage-after');
        polls.push(answer);
        return answer.status === 429 ? undefined : answer;
      },
      10_000,
      'a bad envelope answered with its own code again',
    );
    expect(freed).toMatchObject({ status: 400, code: 'malformed_envelope' });
    expect(Date.now() - waitStarted).toBeLessThanOrEqual(promised * 1000 + 1000);

    // The audit log holds the partner's messages (and their receipts) only: no refusal at all.
    const accepted = before.length + during.length + 1;
    const auditAfter = await auditCounts();
    expect(auditAfter.rejected).toBe(auditBefore.rejected);
    expect(auditAfter.all - auditBefore.all).toBe(2 * accepted);

    // The counts add up, per code, with those answered 429 among them.
    const sent = new Map<string, { refused: number; limited: number }>([
      ['unsupported_media_type', wrongTypes],
    ]);
    for (const a of [...answers, ...polls.map((p) => ({ ...p, sent: 'malformed_envelope' }))]) {
      const entry = sent.get(a.sent) ?? { refused: 0, limited: 0 };
      entry.refused += 1;
      if (a.status === 429) entry.limited += 1;
      sent.set(a.sent, entry);
    }
    const counted = await eventually(async () => {
      const { rows } = await node.database.pool.query<{
        code: string;
        refused: number;
        limited: number;
      }>(
        `SELECT code, sum(refused)::int AS refused, sum(limited)::int AS limited
         FROM inbox_rejection_counts WHERE source = $1 AND minute >= $2
         GROUP BY code ORDER BY code`,
        [SOURCE, startedAt],
      );
      const total = rows.reduce((n, r) => n + r.refused, 0);
      return total === FLOOD + polls.length + 1 ? rows : undefined;
    }, 10_000);
    expect(counted).toEqual(
      [...sent].map(([code, c]) => ({ code, ...c })).sort((a, b) => a.code.localeCompare(b.code)),
    );

    // The sample holds the newest refusals only, never more than its size.
    const { rows: sample } = await node.database.pool.query<{ code: string; source: string }>(
      'SELECT code, source FROM inbox_rejections ORDER BY id',
    );
    expect(sample).toHaveLength(SAMPLE_SIZE);
    expect(new Set(sample.map((r) => r.source))).toEqual(new Set([SOURCE]));

    const rate = Math.round(FLOOD / floodSeconds);
    console.log(
      [
        `refusal flood: ${FLOOD} bad envelopes in ${floodSeconds.toFixed(1)} s (${rate}/s, ${CONCURRENCY} at a time), ${limited.length} answered 429`,
        `  accepted message before the flood: ${figure(before)}`,
        `  accepted message during the flood: ${figure(during)}`,
      ].join('\n'),
    );
  }, 300_000);
});
