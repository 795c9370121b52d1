// Benchmark of the partner inbox: the full accept path of a real node (verification, the replay
// and order checks, storing the message with its signed receipt in one transaction, the audit
// entry, the hand-over to the sink and marking it dispatched), over HTTP (`POST /v1/messages` of
// the node's express app) and in-process (`receiveEnvelope` with the node's own inbox), against
// bare jose `compactVerify` + one bare INSERT of the same bytes, in the same run on the same
// database. The sink accepts everything and routes nothing (PROTOCOL_ONLY), so Temporal is not
// measured. C senders in a closed loop; the phases take turns in BENCH_ROUNDS rounds, so a loaded
// machine weighs on each alike. Prints msgs/s, p50/p95 and the ratios against the goal (0.5).
//
//   npm run bench:inbox    (BENCH_N=2000 messages per path, BENCH_CONCURRENCY=8, BENCH_ROUNDS=4,
//                           BENCH_TIMEOUT_SECONDS=300)
import crypto from 'node:crypto';
import os from 'node:os';
import { compactVerify, importJWK } from 'jose';
import { ulid } from 'ulid';
import { receiveEnvelope, type InboundSink } from '../exchange/inbox.js';
import { ENVELOPE_MEDIA_TYPE } from '../schemas/envelope.js';
import { createParty, signDraftAs, validDraft } from '../test/helpers/envelopes.js';
import { pct, registerPartner, runBench, startBenchNode, startBenchTemporal } from './harness.js';

const N = Number(process.env.BENCH_N ?? 2000);
const C = Number(process.env.BENCH_CONCURRENCY ?? 8);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 4));
const WARMUP = Math.min(50, N);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 300);
const GOAL = 0.5;
const SENDER = 'party-a';
const RECEIVER = 'party-b';

/** Every verified message is welcome and goes nowhere: the protocol layer alone. */
const NOWHERE: InboundSink = { check: () => Promise.resolve(), accept: () => Promise.resolve() };

type Phase = 'bare' | 'http' | 'inProcess';

async function main() {
  const temporal = await startBenchTemporal([RECEIVER]);
  const node = await startBenchNode(RECEIVER, temporal, { sink: NOWHERE });
  const sender = await createParty(SENDER, { alg: 'Ed25519' });
  await registerPartner(node, {
    partyId: SENDER,
    inboxUrl: 'http://127.0.0.1:9/v1/messages',
    jwks: { keys: [{ ...sender.signingKey.publicJwk, alg: sender.signingKey.alg }] },
  });
  const pool = node.database.pool;
  await pool.query(
    `CREATE TABLE bare_inbox (digest text PRIMARY KEY, token text NOT NULL,
       received_at timestamptz NOT NULL DEFAULT now())`,
  );
  const publicKey = await importJWK(sender.signingKey.publicJwk, 'EdDSA');

  // Distinct messages for every operation (a copy would be refused as a replay), signed up front:
  // the sender's signing is not part of what is measured.
  const sign = () =>
    signDraftAs(sender, validDraft('request', { iss: SENDER, aud: RECEIVER, req_id: ulid() }));
  const tokens = async (n: number) =>
    (await Promise.all(Array.from({ length: n }, sign))).map((e) => e.token);
  const supply: Record<Phase, string[]> = {
    bare: await tokens(N + WARMUP),
    http: await tokens(N + WARMUP),
    inProcess: await tokens(N + WARMUP),
  };

  const ops: Record<Phase, (token: string) => Promise<void>> = {
    bare: async (token) => {
      await compactVerify(token, publicKey);
      const digest = crypto.createHash('sha256').update(token).digest('hex');
      await pool.query('INSERT INTO bare_inbox (digest, token) VALUES ($1, $2)', [digest, token]);
    },
    http: async (token) => {
      const res = await fetch(`${node.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': ENVELOPE_MEDIA_TYPE },
        body: token,
      });
      const body = await res.text();
      if (res.status !== 202) throw new Error(`POST /v1/messages: ${res.status} ${body}`);
    },
    inProcess: async (token) => {
      await receiveEnvelope(node.exchange.inbox, token, 'online', 'bench');
    },
  };

  /** `count` operations of `phase` from C senders; each latency in ms, and the seconds taken. */
  const load = async (phase: Phase, count: number) => {
    const queue = supply[phase].splice(0, count);
    const latencies: number[] = [];
    const started = performance.now();
    await Promise.all(
      Array.from({ length: C }, async () => {
        for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
          const t0 = performance.now();
          await ops[phase](t);
          latencies.push(performance.now() - t0);
        }
      }),
    );
    return { latencies, seconds: (performance.now() - started) / 1000 };
  };

  const phases: Phase[] = ['bare', 'http', 'inProcess'];
  for (const phase of phases) await load(phase, WARMUP);
  const runs: Record<Phase, { latencies: number[]; seconds: number }> = {
    bare: { latencies: [], seconds: 0 },
    http: { latencies: [], seconds: 0 },
    inProcess: { latencies: [], seconds: 0 },
  };
  for (let round = 0; round < ROUNDS; round++) {
    const share = Math.floor(N / ROUNDS) + (round < N % ROUNDS ? 1 : 0);
    for (const phase of phases) {
      const r = await load(phase, share);
      runs[phase].latencies.push(...r.latencies);
      runs[phase].seconds += r.seconds;
    }
  }
  const { rows } = await pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM inbox_messages WHERE dispatched_at IS NOT NULL',
  );
  const rate = (p: Phase) => runs[p].latencies.length / runs[p].seconds;

  console.log(
    `inbox accept: N=${N} messages per path (+${WARMUP} warm-up), ${C} concurrent senders, ` +
      `${ROUNDS} rounds, Ed25519, ${os.cpus().length} CPUs, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  console.log(
    `\n  ${'path'.padEnd(58)} ${['msgs/s', 'p50 ms', 'p95 ms'].map((h) => h.padStart(8)).join(' ')}`,
  );
  const row = (label: string, p: Phase) =>
    console.log(
      `  ${label.padEnd(58)} ${[rate(p).toFixed(0), pct(runs[p].latencies, 0.5).toFixed(2), pct(runs[p].latencies, 0.95).toFixed(2)].map((c) => c.padStart(8)).join(' ')}`,
    );
  row('bare jose compactVerify + INSERT (baseline)', 'bare');
  row('ours over HTTP: POST /v1/messages until 202 + receipt', 'http');
  row('ours in-process: receiveEnvelope', 'inProcess');
  const verdict = (r: number) =>
    `${r.toFixed(2)} (goal >= ${GOAL}: ${r >= GOAL ? 'met' : 'NOT met'})`;
  console.log(
    `\n  ratio ours over HTTP / bare:   ${verdict(rate('http') / rate('bare'))}\n` +
      `  ratio ours in-process / bare:  ${verdict(rate('inProcess') / rate('bare'))}\n` +
      `  (${rows[0]?.n} messages stored, receipted and handed to the sink)`,
  );
}

await runBench(main, TIMEOUT_S);
