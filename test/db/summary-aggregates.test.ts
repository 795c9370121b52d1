// The supervisors' summary from the aggregates kept as requests change (migration 0019) against
// the full computation that reads every request and reply: on a database where many requests went
// through every state, projected concurrently by the real write path (projectRequestEvent, events
// replayed and arriving late included), both give the same figures at several moments, so the
// aggregates cannot drift from what the summary means.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { projectRequestEvent } from '../../db/requests.js';
import type {
  DeadlineSnapshot,
  ProjectedEvent,
  RequestRecord,
} from '../../schemas/workflow-contract.js';
import { computeSummary } from '../../db/supervisor.js';
import type { Direction, Priority, RequestType } from '../../schemas/common.js';
import { createdEvent } from '../../workflows/created-event.js';
import { subjectFor } from '../helpers/domain.js';
import { cloneTemplate } from '../helpers/postgres.js';

let db: Awaited<ReturnType<typeof cloneTemplate>>;
let pool: pg.Pool;

beforeAll(async () => {
  db = await cloneTemplate(inject('templateDatabase'));
  pool = new pg.Pool({ connectionString: db.url, max: 12 });
  pool.on('error', () => undefined); // idle connections ended by the database's drop
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const T0 = Date.parse('2026-11-01T08:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(T0 + ms).toISOString();

const KINDS: RequestType[] = ['mine_map', 'grave_information', 'identification_result'];
const PARTNERS = ['party-b', 'party-c', 'party-d'];
const PRIORITIES: Priority[] = ['routine', 'urgent', 'critical'];
/** What becomes of a request, one per request in turn. */
const FATES = [
  'submitted',
  'delivered',
  'delivered_overdue',
  'acknowledged',
  'clarification_open',
  'partial_overdue',
  'answered_on_time',
  'answered_late',
  'closed',
  'declined',
  'withdrawn',
  'refused',
] as const;

function recordOf(i: number): RequestRecord {
  const direction: Direction = i % 3 === 0 ? 'incoming' : 'outgoing';
  const type = KINDS[i % KINDS.length]!;
  const partner = PARTNERS[(i * 7) % PARTNERS.length]!;
  return {
    reqId: `01JBENCHAGG${String(i).padStart(15, '0')}`,
    workflowId: `request-agg-${i}`,
    direction,
    type,
    requester: direction === 'outgoing' ? 'party-a' : partner,
    responder: direction === 'outgoing' ? partner : 'party-a',
    priority: PRIORITIES[i % PRIORITIES.length]!,
    subject: subjectFor(type, `Request ${i}`) as RequestRecord['subject'],
    createdBy: 'officer-amira',
    createdAt: iso(i * HOUR),
  };
}

/** The events of request `i`, in order. */
function eventsOf(i: number, record: RequestRecord): ProjectedEvent[] {
  const fate = FATES[i % FATES.length]!;
  const start = i * HOUR;
  const receipt = start + 5 * 60_000;
  const deadlines = (
    escalationLevel = 0,
    clockStopped = false,
    extraDays = 0,
  ): DeadlineSnapshot => ({
    receiptAt: iso(receipt),
    ackDueAt: iso(receipt + DAY),
    // Spread over three weeks, so each moment below finds some passed and some ahead.
    responseDueAt: iso(receipt + ((i % 21) + 1 + extraDays) * DAY),
    escalationLevel,
    policyDigest: 'p'.repeat(64),
    explanations: { acknowledgement: null, response: { clockStopped } },
  });
  const events: ProjectedEvent[] = [createdEvent(record, 'p'.repeat(64))];
  let seq = 1;
  const add = (ms: number, type: string, e: Partial<ProjectedEvent> = {}) =>
    events.push({
      seq: ++seq,
      at: iso(ms),
      type,
      actor: null,
      status: null,
      detail: {},
      ...e,
    });
  if (fate === 'submitted') return events;
  add(receipt, 'delivered', { status: 'delivered', deadlines: deadlines() });
  if (fate === 'delivered') return events;
  if (fate === 'delivered_overdue') {
    add(receipt + 2 * DAY, 'overdue', { overdue: true, deadlines: deadlines(1 + (i % 3)) });
    return events;
  }
  if (fate === 'declined') {
    add(receipt + HOUR, 'decline', { status: 'declined' });
    return events;
  }
  if (fate === 'withdrawn') {
    add(receipt + HOUR, 'withdraw', { status: 'withdrawn' });
    return events;
  }
  if (fate === 'refused') {
    add(receipt + HOUR, 'message_refused_by_partner', {
      detail: { msgId: `m-${i}`, kind: 'request', code: 'schema_invalid' },
    });
    return events;
  }
  add(receipt + ((i % 5) + 1) * HOUR, 'acknowledge', { status: 'acknowledged' });
  if (fate === 'acknowledged') return events;
  if (fate === 'clarification_open') {
    add(receipt + 10 * HOUR, 'ask_clarification', { deadlines: deadlines(0, true) });
    return events;
  }
  add(receipt + DAY, 'respond_partial', { status: 'partially_answered' });
  if (fate === 'partial_overdue') {
    add(receipt + 30 * DAY, 'overdue', { overdue: true, deadlines: deadlines(2) });
    return events;
  }
  const late = fate === 'answered_late';
  add(receipt + (late ? 25 : (i % 3) + 1) * DAY, 'respond_final', { status: 'answered' });
  // A second final response does not move the first.
  add(receipt + 26 * DAY, 'respond_final', { status: 'answered' });
  if (fate === 'closed') add(receipt + 27 * DAY, 'close_accepted', { status: 'closed' });
  return events;
}

describe('summary from maintained aggregates', () => {
  it('equals the full computation from the timeline, at every moment', async () => {
    const N = 120;
    // Requests projected concurrently (each one's events in order), as the workers do.
    await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const record = recordOf(i);
        const events = eventsOf(i, record);
        for (const e of events) await projectRequestEvent(pool, record, e);
        // A retried projection of the first events, and one arriving late: no change.
        await projectRequestEvent(pool, record, events[0]!);
        if (events[1]) await projectRequestEvent(pool, record, events[1]);
      }),
    );
    for (const at of [-DAY, 3 * DAY, 9 * DAY, 20 * DAY, 60 * DAY]) {
      const now = new Date(T0 + at);
      const aggregated = await computeSummary(pool, now);
      const full = await computeSummary(pool, now, { from: 'timeline' });
      expect(aggregated).toEqual(full);
    }
    // The moments chosen see the states they are about.
    const later = await computeSummary(pool, new Date(T0 + 20 * DAY));
    expect(later.total).toBe(N);
    expect(later.overdue.total).toBeGreaterThan(0);
    expect(later.refusedByPartner).toBe(N / FATES.length);
    expect(later.onTime.outgoing.lateOpen + later.onTime.incoming.lateOpen).toBeGreaterThan(0);
    expect(later.onTime.outgoing.answered + later.onTime.incoming.answered).toBeGreaterThan(0);
    expect(later.timing.some((t) => t.toAnswer.medianSeconds !== null)).toBe(true);
  });
});
