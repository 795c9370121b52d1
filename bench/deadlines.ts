// Benchmark of timekeeping under load: BENCH_N requests (1,000 by default) from node A to node B,
// submitted as fast as C officers can, with a policy in seconds so their acknowledgement deadlines
// (B's receipt + BENCH_ACK_SECONDS) fall close together, in the same minute when the submissions
// take less than one. Nobody answers, so on both sides every request's workflow fires a reminder
// BENCH_REMIND_SECONDS before its deadline, escalates to level 1 at the deadline (overdue) and to
// level 2 BENCH_ESCALATE_SECONDS after it. The lateness of each is its timeline event's `at` in
// the read model against the time it was due (from the event's `due_at`); printed as p50/p99/max
// per kind and side against the goal: every one within 2 s of its time. A workflow that wakes
// after level 2 is due escalates straight to it: that event then counts for level 1 too (it is when
// the request was first shown overdue), and the line says how many did.
//
//   npm run bench:deadlines   (BENCH_N=1000, BENCH_CONCURRENCY=16, BENCH_ACK_SECONDS=150,
//                              BENCH_REMIND_SECONDS=30, BENCH_ESCALATE_SECONDS=15,
//                              BENCH_TIMEOUT_SECONDS=900)
import os from 'node:os';
import type pg from 'pg';
import { subjectFor } from '../test/helpers/domain.js';
import { writeTestPolicy } from '../test/helpers/policy.js';
import {
  http,
  pair,
  pct,
  runBench,
  sleep,
  startBenchNode,
  startBenchTemporal,
  type BenchNode,
} from './harness.js';

const N = Number(process.env.BENCH_N ?? 1000);
const C = Number(process.env.BENCH_CONCURRENCY ?? 16);
const ACK_S = Number(process.env.BENCH_ACK_SECONDS ?? 150);
const REMIND_S = Number(process.env.BENCH_REMIND_SECONDS ?? 30);
const ESCALATE_S = Number(process.env.BENCH_ESCALATE_SECONDS ?? 15);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 900);
/** How long after the last escalation was due the run still waits for missing events. */
const GRACE_S = 60;
const GOAL_MS = 2000;

/** Each kind of timekeeping event, and when it is due relative to the deadline's `due_at`. */
const KINDS = [
  {
    kind: 'reminder',
    types: ['reminder_sent', 'reminder'],
    level: null,
    offsetMs: -REMIND_S * 1000,
  },
  { kind: 'overdue (escalation level 1)', types: ['escalated'], level: 1, offsetMs: 0 },
  { kind: 'escalation (level 2)', types: ['escalated'], level: 2, offsetMs: ESCALATE_S * 1000 },
] as const;

interface Fired {
  req_id: string;
  type: string;
  level: number | null;
  due_at: Date;
  at: Date;
}

/** The acknowledgement deadline's timekeeping events in a node's read model. */
async function firedEvents(pool: pg.Pool): Promise<Fired[]> {
  const { rows } = await pool.query<Fired>(
    `SELECT req_id, type, (detail->>'level')::int AS level,
            (detail->>'due_at')::timestamptz AS due_at, at
     FROM request_events
     WHERE type IN ('reminder_sent', 'reminder', 'escalated')
       AND detail->>'deadline' = 'acknowledgement'`,
  );
  return rows;
}

/**
 * Per kind, each request's lateness (ms): its first event of that kind, or, for an escalation
 * level, its first escalation to that level or above (a workflow that wakes after level 2 is due
 * escalates straight to 2, and that event is when level 1 became visible too; counted as `merged`).
 */
function lateness(events: Fired[]) {
  return KINDS.map((k) => {
    const first = new Map<string, Fired>();
    for (const e of events) {
      if (!(k.types as readonly string[]).includes(e.type)) continue;
      if (k.level !== null && (e.level ?? 0) < k.level) continue;
      const seen = first.get(e.req_id);
      if (!seen || e.at < seen.at) first.set(e.req_id, e);
    }
    const firsts = [...first.values()];
    return {
      kind: k.kind,
      late: firsts.map((e) => e.at.getTime() - (e.due_at.getTime() + k.offsetMs)),
      merged: firsts.filter((e) => k.level !== null && e.level !== k.level).length,
      missing: N - firsts.length,
    };
  });
}

function report(side: string, events: Fired[]) {
  let met = true;
  for (const { kind, late, merged, missing } of lateness(events)) {
    const worst = late.length ? Math.max(...late) : NaN;
    met &&= missing === 0 && worst <= GOAL_MS;
    const ms = (v: number) => `${(v / 1000).toFixed(2)} s`.padStart(9);
    console.log(
      `  ${side} ${kind.padEnd(30)} ${String(late.length).padStart(6)} ${ms(pct(late, 0.5))} ${ms(pct(late, 0.99))} ${ms(worst)}` +
        (merged ? `   ${merged} only with a higher level` : '') +
        (missing ? `   ${missing} missing` : ''),
    );
  }
  return met;
}

async function main() {
  const policyFile = await writeTestPolicy([
    {
      request_type: 'mine_map',
      priority: 'routine',
      acknowledge_seconds: ACK_S,
      respond_seconds: 3600,
      reminder_offsets_seconds: [REMIND_S],
      escalation_after_seconds: [0, ESCALATE_S],
    },
  ]);
  const temporal = await startBenchTemporal(['party-a', 'party-b']);
  const env = { PARLEY_POLICY_FILE: policyFile };
  const [a, b] = await Promise.all([
    startBenchNode('party-a', temporal, { env }),
    startBenchNode('party-b', temporal, { env }),
  ]);
  await pair(a, b);
  const officer = await a.token(['officer'], 'bench-officer');

  // Submit: C officers, each POST until its 201; B receipts each delivery, which starts its clock.
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: C }, async () => {
      for (let i = next++; i < N; i = next++) {
        await http(`${a.url}/v1/requests`, officer, {
          type: 'mine_map',
          counterparty: 'party-b',
          subject: subjectFor('mine_map', `Deadline benchmark request ${i}`),
        });
      }
    }),
  );
  const submitSeconds = (performance.now() - started) / 1000;
  console.log(
    `deadlines: N=${N} requests submitted by ${C} officers in ${submitSeconds.toFixed(1)} s; ` +
      `acknowledgement due ${ACK_S} s after B's receipt, reminder ${REMIND_S} s before, ` +
      `overdue at it, level 2 ${ESCALATE_S} s after; ${os.cpus().length} CPUs`,
  );

  // Wait until every event is in both read models, or GRACE_S past the last one's time.
  const lastDue = async (node: BenchNode) => {
    const { rows } = await node.database.pool.query<{ at: Date | null }>(
      `SELECT max(ack_due_at) AS at FROM requests`,
    );
    return rows[0]?.at ?? null;
  };
  for (;;) {
    const [ea, eb] = await Promise.all([
      firedEvents(a.database.pool),
      firedEvents(b.database.pool),
    ]);
    const missing = [...lateness(ea), ...lateness(eb)].reduce((n, k) => n + k.missing, 0);
    if (missing === 0) break;
    const due = await lastDue(a);
    if (due && Date.now() > due.getTime() + (ESCALATE_S + GRACE_S) * 1000) break;
    await sleep(2000);
  }
  const [ea, eb] = await Promise.all([firedEvents(a.database.pool), firedEvents(b.database.pool)]);
  const dues = [...ea, ...eb].filter((e) => e.type === 'escalated');
  const times = dues.map((e) => e.due_at.getTime());
  const spread = times.length ? (Math.max(...times) - Math.min(...times)) / 1000 : NaN;
  console.log(
    `deadlines fell within ${spread.toFixed(1)} s of each other; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `\n  ${'side kind'.padEnd(32)} ${['fired', 'p50', 'p99', 'max'].map((h, i) => h.padStart(i ? 9 : 6)).join(' ')}   (lateness: timeline at - due time)`,
  );
  const metA = report('A', ea);
  const metB = report('B', eb);
  console.log(
    `\n  goal: every one fires within ${GOAL_MS / 1000} s of its time: ${metA && metB ? 'met' : 'NOT met'}`,
  );
}

await runBench(main, TIMEOUT_S);
