// The supervisors' read API over real HTTP, against rows seeded straight into the node's Postgres
// whose answers are known: role checks, every filter, cursor pages (also with rows inserted
// between pages), the summary figures exactly, a request's timeline, and refused parameters.
import crypto from 'node:crypto';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SupervisorRequestPage, SupervisorSummary } from '../../schemas/supervisor-api.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerOfflinePartner } from '../helpers/partners.js';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;
/** "Now" for the seeded set: deadlines are placed around it. */
const T0 = Date.now();
const at = (offset: number) => new Date(T0 + offset).toISOString();

interface Seed {
  id?: string;
  direction: 'outgoing' | 'incoming';
  partner: string;
  kind: 'mine_map' | 'grave_information' | 'identification_result';
  priority?: 'routine' | 'urgent' | 'critical';
  status: string;
  overdue?: boolean;
  level?: number;
  /** Instants as Postgres literals (ISO, or with microseconds). */
  created: string;
  updated?: string;
  receipt?: string | null;
  ackDue?: string | null;
  responseDue?: string | null;
  /** Timeline events after `created`, as [type, instant]. */
  events?: [string, string][];
  /** A message of ours the partner refused (column partner_refusal, migration 0012). */
  refusal?: { msgId: string; kind: string | null; code: string; at: string };
  /** How the workflow explained the deadlines (column deadlines), e.g. a stopped response clock. */
  deadlines?: Record<string, unknown>;
}

let node: TestNode;
let supervisor: string;

/** Inserts requests and their timelines as the projection would have left them; returns the ids. */
async function seed(rows: Seed[]): Promise<string[]> {
  const ids: string[] = [];
  for (const r of rows) {
    const id = r.id ?? ulid(Date.parse(r.created));
    ids.push(id);
    const events: [string, string][] = [['created', r.created], ...(r.events ?? [])];
    await node.database.pool.query(
      `INSERT INTO requests (req_id, workflow_id, direction, request_type, requester, responder,
         counterparty, priority, status, overdue, subject, created_by, created_at, updated_at, last_seq,
         receipt_at, ack_due_at, response_due_at, escalation_level, partner_refusal, deadlines)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
         $20, $21)`,
      [
        id,
        `request-${id}`,
        r.direction,
        r.kind,
        r.direction === 'outgoing' ? 'party-a' : r.partner,
        r.direction === 'outgoing' ? r.partner : 'party-a',
        r.partner,
        r.priority ?? 'routine',
        r.status,
        r.overdue ?? false,
        JSON.stringify({ title: 'Secret: the name of a missing person' }),
        'officer-carol',
        r.created,
        r.updated ?? events.at(-1)![1],
        events.length,
        r.receipt ?? null,
        r.ackDue ?? null,
        r.responseDue ?? null,
        r.level ?? 0,
        r.refusal ? JSON.stringify(r.refusal) : null,
        JSON.stringify(r.deadlines ?? {}),
      ],
    );
    for (const [i, [type, when]] of events.entries()) {
      await node.database.pool.query(
        `INSERT INTO request_events (req_id, seq, at, type, actor, status, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [id, i + 1, when, type, i === 0 ? 'officer-carol' : null, null, JSON.stringify({ i })],
      );
    }
  }
  return ids;
}

/**
 * The hand-made set whose summary is worked out below. Receipt at `r`; the first reply is the
 * first acknowledge / respond_partial / respond_final, the answer the first respond_final.
 */
function knownSet(): Record<string, Seed> {
  const r1 = -30 * D;
  const r2 = -20 * D;
  const r3 = -15 * D;
  const r4 = -5 * D;
  const r5 = -4 * D;
  const r6 = -12 * D;
  const r7 = -1 * H;
  const r9 = -40 * D;
  const r10 = -3 * D;
  const r11 = -8 * D;
  const r12 = -2 * H;
  const received = (r: number, ackDue: number, responseDue: number) => ({
    created: at(r - MIN),
    receipt: at(r),
    ackDue: at(ackDue),
    responseDue: at(responseDue),
  });
  return {
    // Outgoing to party-b, mine maps: replies after 1, 3, 5 and 2 hours; answers after 5 days
    // (on time), 12 days (late: due after 10) and 4 days (on time).
    A1: {
      direction: 'outgoing',
      partner: 'party-b',
      kind: 'mine_map',
      status: 'closed',
      ...received(r1, r1 + 2 * D, r1 + 10 * D),
      events: [
        ['delivered', at(r1)],
        ['acknowledge', at(r1 + 1 * H)],
        ['respond_final', at(r1 + 5 * D)],
        ['close_accepted', at(r1 + 6 * D)],
      ],
    },
    A2: {
      direction: 'outgoing',
      partner: 'party-b',
      kind: 'mine_map',
      priority: 'urgent',
      status: 'answered',
      ...received(r2, r2 + 2 * D, r2 + 10 * D),
      events: [
        ['delivered', at(r2)],
        ['acknowledge', at(r2 + 3 * H)],
        ['respond_partial', at(r2 + 2 * D)],
        ['respond_final', at(r2 + 12 * D)],
      ],
    },
    A3: {
      direction: 'outgoing',
      partner: 'party-b',
      kind: 'mine_map',
      status: 'answered',
      ...received(r3, r3 + 2 * D, r3 + 10 * D),
      events: [
        ['delivered', at(r3)],
        ['acknowledge', at(r3 + 5 * H)],
        ['reminder_sent', at(r3 + 3 * D)],
        ['respond_final', at(r3 + 4 * D)],
      ],
    },
    // Acknowledged: its response deadline (in 3 days) binds; its passed ack deadline does not.
    // Our withdrawal was refused by the partner: it had no effect.
    A4: {
      direction: 'outgoing',
      partner: 'party-c',
      kind: 'grave_information',
      status: 'acknowledged',
      ...received(r4, r4 + 1 * D, 3 * D),
      events: [
        ['delivered', at(r4)],
        ['acknowledge', at(r4 + 10 * H)],
        ['withdraw', at(r4 + 11 * H)],
        ['message_refused_by_partner', at(r4 + 12 * H)],
      ],
      refusal: {
        msgId: '01JREFUSEDWITHDRAWAL00000A',
        kind: 'withdrawal',
        code: 'key_role_mismatch',
        at: at(r4 + 12 * H),
      },
    },
    // Delivered, acknowledgement missed: overdue at level 1; its response falls due in a day.
    A5: {
      direction: 'outgoing',
      partner: 'party-c',
      kind: 'grave_information',
      priority: 'critical',
      status: 'delivered',
      overdue: true,
      level: 1,
      ...received(r5, -3 * D, 1 * D),
      events: [
        ['delivered', at(r5)],
        ['escalated', at(-2 * D)],
      ],
    },
    // Incoming, partly answered a day after receipt, response overdue at level 2.
    A6: {
      direction: 'incoming',
      partner: 'party-c',
      kind: 'identification_result',
      priority: 'urgent',
      status: 'partially_answered',
      overdue: true,
      level: 2,
      ...received(r6, r6 + 1 * D, -2 * D),
      events: [
        ['received', at(r6)],
        ['respond_partial', at(r6 + 1 * D)],
      ],
    },
    // Incoming, just delivered: acknowledgement due in 2 days less an hour; response in 10 days.
    A7: {
      direction: 'incoming',
      partner: 'party-b',
      kind: 'mine_map',
      status: 'delivered',
      ...received(r7, 2 * D - H, 10 * D),
      events: [['received', at(r7)]],
    },
    // Not yet received by the partner: no deadlines.
    A8: {
      direction: 'outgoing',
      partner: 'party-d',
      kind: 'identification_result',
      status: 'submitted',
      created: at(-10 * MIN),
    },
    // Declined: no reply in the sense of the timing figures.
    A9: {
      direction: 'incoming',
      partner: 'party-d',
      kind: 'grave_information',
      status: 'declined',
      ...received(r9, r9 + 2 * D, r9 + 10 * D),
      events: [
        ['received', at(r9)],
        ['decline', at(r9 + 1 * D)],
      ],
    },
    // Withdrawn after an acknowledgement; its response deadline (in 4 days) no longer binds.
    A10: {
      direction: 'outgoing',
      partner: 'party-b',
      kind: 'mine_map',
      status: 'withdrawn',
      ...received(r10, r10 + 2 * D, 4 * D),
      events: [
        ['delivered', at(r10)],
        ['acknowledge', at(r10 + 2 * H)],
        ['withdraw', at(r10 + 1 * D)],
      ],
    },
    // Incoming, answered outright a day after receipt, on time.
    A11: {
      direction: 'incoming',
      partner: 'party-b',
      kind: 'mine_map',
      priority: 'critical',
      status: 'answered',
      ...received(r11, r11 + 1 * D, r11 + 2 * D),
      events: [
        ['received', at(r11)],
        ['respond_final', at(r11 + 1 * D)],
      ],
    },
    // Delivered two hours ago: both deadlines fall within the week. A refusal recorded before
    // the workflow named the kind of the refused message.
    A12: {
      direction: 'outgoing',
      partner: 'party-c',
      kind: 'grave_information',
      status: 'delivered',
      ...received(r12, 6 * D, 6 * D + 12 * H),
      events: [
        ['delivered', at(r12)],
        ['message_refused_by_partner', at(r12 + 30 * MIN)],
      ],
      refusal: {
        msgId: '01JREFUSEDREMINDER0000000B',
        kind: null,
        code: 'stale',
        at: at(r12 + 30 * MIN),
      },
    },
  };
}

const known: Record<string, string> = {};
const nameOf = (id: string) => Object.entries(known).find(([, v]) => v === id)?.[0] ?? id;

async function list(query: string, token = supervisor) {
  const res = await call(node.url, 'GET', `/v1/supervisor/requests${query ? `?${query}` : ''}`, {
    token,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return SupervisorRequestPage.parse(res.body);
}
const names = async (query: string) => (await list(query)).items.map((i) => nameOf(i.id));

beforeAll(async () => {
  node = await startTestNode({ partyId: 'party-a' });
  supervisor = await node.token('supervisor', 'supervisor-sam');
  const set = knownSet();
  const ids = await seed(Object.values(set));
  Object.keys(set).forEach((name, i) => (known[name] = ids[i]!));
});
afterAll(() => node?.destroy());

describe('who may read', () => {
  const routes = () => [
    '/v1/supervisor/requests',
    '/v1/supervisor/summary',
    `/v1/supervisor/requests/${known.A2}/timeline`,
  ];

  it('refuses callers without a token (401) and officers (403)', async () => {
    const officer = await node.token('officer', 'officer-olga');
    for (const path of routes()) {
      const anonymous = await call(node.url, 'GET', path);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.contentType).toMatch(/^application\/problem\+json/);
      expect(anonymous.body.code).toBe('token_missing');
      const refused = await call(node.url, 'GET', path, { token: officer });
      expect(refused.status, path).toBe(403);
      expect(refused.body.code).toBe('forbidden');
    }
  });

  it('admits supervisors and admins', async () => {
    const admin = await node.token('admin', 'admin-ada');
    for (const path of routes()) {
      for (const token of [supervisor, admin]) {
        const res = await call(node.url, 'GET', path, { token });
        expect(res.status, path).toBe(200);
      }
    }
  });
});

describe('GET /v1/supervisor/summary', () => {
  it('gives the figures of the seeded set exactly', async () => {
    const res = await call(node.url, 'GET', '/v1/supervisor/summary', { token: supervisor });
    expect(res.status).toBe(200);
    const s = SupervisorSummary.parse(res.body);
    expect(Date.parse(s.asOf)).toBeGreaterThanOrEqual(T0);
    expect(s.total).toBe(12);
    expect(s.byStatus).toEqual({
      submitted: 1,
      delivered: 3,
      acknowledged: 1,
      partially_answered: 1,
      answered: 3,
      closed: 1,
      declined: 1,
      withdrawn: 1,
    });
    expect(s.byKind).toEqual({ mine_map: 6, grave_information: 4, identification_result: 2 });
    expect(s.byPartner).toEqual([
      { partner: 'party-b', count: 6 },
      { partner: 'party-c', count: 4 },
      { partner: 'party-d', count: 2 },
    ]);
    expect(s.overdue).toEqual({
      total: 2,
      byEscalationLevel: [
        { level: 1, count: 1 },
        { level: 2, count: 1 },
      ],
    });
    expect(s.refusedByPartner).toBe(2);

    // Binding deadlines within 7 days, soonest first; A12 has two.
    expect(s.upcoming.days).toBe(7);
    expect(s.upcoming.count).toBe(5);
    expect(s.upcoming.soonest.map((u) => [nameOf(u.id), u.deadline, u.dueAt])).toEqual([
      ['A5', 'response', at(1 * D)],
      ['A7', 'acknowledgement', at(2 * D - H)],
      ['A4', 'response', at(3 * D)],
      ['A12', 'acknowledgement', at(6 * D)],
      ['A12', 'response', at(6 * D + 12 * H)],
    ]);

    const row = (direction: string, partner: string, kind: string) =>
      s.timing.find((t) => t.direction === direction && t.partner === partner && t.kind === kind);
    expect(s.timing.map((t) => `${t.direction}/${t.partner}/${t.kind}`)).toEqual([
      'incoming/party-b/mine_map',
      'incoming/party-c/identification_result',
      'outgoing/party-b/mine_map',
      'outgoing/party-c/grave_information',
    ]);
    // Replies after 1, 3, 5, 2 h: median 2.5 h; p90 (continuous) 3 h + 0.7 × 2 h = 4.4 h.
    // Answers after 5, 12, 4 days: median 5 days; p90 5 + 0.8 × 7 = 10.6 days; 2 of 3 on time.
    const b = row('outgoing', 'party-b', 'mine_map')!;
    expect(b.toAcknowledge.count).toBe(4);
    expect(b.toAcknowledge.medianSeconds).toBeCloseTo(2.5 * 3600, 3);
    expect(b.toAcknowledge.p90Seconds).toBeCloseTo(4.4 * 3600, 3);
    expect(b.toAnswer.count).toBe(3);
    expect(b.toAnswer.medianSeconds).toBeCloseTo(5 * 86400, 3);
    expect(b.toAnswer.p90Seconds).toBeCloseTo(10.6 * 86400, 3);
    expect(b.onTime).toEqual({ answered: 3, onTime: 2, lateOpen: 0, share: 2 / 3 });
    expect(row('outgoing', 'party-c', 'grave_information')).toEqual({
      direction: 'outgoing',
      partner: 'party-c',
      kind: 'grave_information',
      toAcknowledge: { count: 1, medianSeconds: 36000, p90Seconds: 36000 },
      toAnswer: { count: 0, medianSeconds: null, p90Seconds: null },
      onTime: { answered: 0, onTime: 0, lateOpen: 0, share: null },
    });
    expect(row('incoming', 'party-c', 'identification_result')!.toAcknowledge).toEqual({
      count: 1,
      medianSeconds: 86400,
      p90Seconds: 86400,
    });
    // A6 is open and its response deadline passed two days ago: not answered, but late already.
    expect(row('incoming', 'party-c', 'identification_result')!.onTime).toEqual({
      answered: 0,
      onTime: 0,
      lateOpen: 1,
      share: 0,
    });
    expect(row('incoming', 'party-b', 'mine_map')).toMatchObject({
      toAcknowledge: { count: 1, medianSeconds: 86400, p90Seconds: 86400 },
      toAnswer: { count: 1, medianSeconds: 86400, p90Seconds: 86400 },
      onTime: { answered: 1, onTime: 1, lateOpen: 0, share: 1 },
    });
    // We answered one request on time, and are late on an open one (A6): 50%, not 100%.
    expect(s.onTime).toEqual({
      outgoing: { answered: 3, onTime: 2, lateOpen: 0, share: 2 / 3 },
      incoming: { answered: 1, onTime: 1, lateOpen: 1, share: 0.5 },
    });
    expect(JSON.stringify(s)).not.toMatch(/Secret|officer-carol|subject/);
  });

  it('refuses unknown parameters', async () => {
    const res = await call(node.url, 'GET', '/v1/supervisor/summary?partner=party-b', {
      token: supervisor,
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'schema_invalid',
      errors: [{ path: '/partner' }],
    });
  });
});

describe('GET /v1/supervisor/requests: filters', () => {
  it('lists newest first with what a supervisor needs and nothing about the subject', async () => {
    const page = await list('');
    expect(page.items.map((i) => nameOf(i.id))).toEqual([
      'A8',
      'A7',
      'A12',
      'A10',
      'A5',
      'A4',
      'A11',
      'A6',
      'A3',
      'A2',
      'A1',
      'A9',
    ]);
    expect(page.nextCursor).toBeNull();
    const a5 = page.items.find((i) => i.id === known.A5)!;
    expect(a5).toEqual({
      id: known.A5,
      workflowId: `request-${known.A5}`,
      direction: 'outgoing',
      type: 'grave_information',
      counterparty: 'party-c',
      priority: 'critical',
      status: 'delivered',
      overdue: true,
      escalationLevel: 1,
      receiptAt: at(-4 * D),
      ackDueAt: at(-3 * D),
      responseDueAt: at(1 * D),
      createdAt: at(-4 * D - MIN),
      updatedAt: at(-2 * D),
      partnerRefusal: null,
      undeliveredCount: 0,
      undeliveredSince: null,
      nextStep: { action: 'acknowledge', side: 'responder', by: 'partner', party: 'party-c' },
      clockStopped: false,
    });
    expect(page.items.find((i) => i.id === known.A4)!.partnerRefusal).toEqual({
      msgId: '01JREFUSEDWITHDRAWAL00000A',
      kind: 'withdrawal',
      code: 'key_role_mismatch',
      at: at(-5 * D + 12 * H),
    });
    expect(JSON.stringify(page)).not.toMatch(/Secret|officer-carol|subject|createdBy/);
  });

  it('filters by status (one, a list, or repeated), kind, direction, partner and priority', async () => {
    expect(await names('status=delivered')).toEqual(['A7', 'A12', 'A5']);
    expect(await names('status=delivered,acknowledged')).toEqual(['A7', 'A12', 'A5', 'A4']);
    expect(await names('status=delivered&status=acknowledged')).toEqual(['A7', 'A12', 'A5', 'A4']);
    expect(await names('kind=grave_information&direction=outgoing')).toEqual(['A12', 'A5', 'A4']);
    expect(await names('direction=incoming')).toEqual(['A7', 'A11', 'A6', 'A9']);
    expect(await names('partner=party-d')).toEqual(['A8', 'A9']);
    expect(await names('partner=party-d,party-c&status=declined,delivered')).toEqual([
      'A12',
      'A5',
      'A9',
    ]);
    expect(await names('priority=critical')).toEqual(['A5', 'A11']);
    expect(await names('priority=urgent,critical&kind=mine_map')).toEqual(['A11', 'A2']);
  });

  it('filters by the overdue flag', async () => {
    expect(await names('overdue=true')).toEqual(['A5', 'A6']);
    expect(await names('overdue=false&direction=incoming')).toEqual(['A7', 'A11', 'A9']);
  });

  it('filters by a message the partner refused', async () => {
    expect(await names('refused=true')).toEqual(['A12', 'A4']);
    expect(await names('refused=true&partner=party-c&status=acknowledged')).toEqual(['A4']);
    expect(await names('refused=false&partner=party-c')).toEqual(['A5', 'A6']);
    expect(await names('refused=true&sort=response_due_at')).toEqual(['A4', 'A12']);
  });

  it('says how many of our messages the partner has not accepted yet, and since when', async () => {
    const pending = (msgId: string, kind: string, status: string, createdAt: string) =>
      node.database.pool.query(
        `INSERT INTO outbox_messages (msg_id, aud, kind, req_id, payload, digest, token, status, created_at)
         VALUES ($1, 'party-c', $2, $3, '{}', $4, 'token', $5, $6)`,
        [
          msgId,
          kind,
          known.A6,
          crypto.createHash('sha256').update(msgId).digest('hex'),
          status,
          createdAt,
        ],
      );
    await registerOfflinePartner(node, 'party-c');
    await pending('01JPENDINGWITHDRAWAL00000A', 'withdrawal', 'pending', at(-2 * MIN));
    await pending('01JPENDINGREMINDER000000AB', 'reminder', 'pending', at(-1 * MIN));
    await pending('01JDELIVEREDREMINDER0000AC', 'reminder', 'delivered', at(-3 * MIN));
    await pending('01JPENDINGRECEIPT0000000AD', 'receipt', 'pending', at(-4 * MIN));
    const page = await list('');
    const a6 = page.items.find((i) => i.id === known.A6)!;
    expect(a6).toMatchObject({ undeliveredCount: 2, undeliveredSince: at(-2 * MIN) });
    expect(page.items.find((i) => i.id === known.A5)).toMatchObject({
      undeliveredCount: 0,
      undeliveredSince: null,
    });
  });

  it('filters by response deadline (at or after, before) and sorts by it', async () => {
    // Response deadlines in [now, now + 5 days): A5 (1 day), A10 (4 days), A4 (3 days).
    const window = `due_after=${at(0)}&due_before=${at(5 * D)}`;
    expect(await names(`${window}&sort=response_due_at`)).toEqual(['A5', 'A4', 'A10']);
    expect(await names(`${window}&sort=response_due_at&order=desc`)).toEqual(['A10', 'A4', 'A5']);
    // A3 is due exactly then: the upper bound is exclusive.
    expect(await names(`due_before=${at(-5 * D)}`)).toEqual(['A11', 'A2', 'A1', 'A9']);
    // The bound is inclusive: A4 is due exactly at now + 3 days.
    expect(await names(`due_after=${at(3 * D)}&sort=response_due_at`)).toEqual([
      'A4',
      'A10',
      'A12',
      'A7',
    ]);
    expect(await names(`due_before=${at(3 * D)}&due_after=${at(0)}`)).toEqual(['A5']);
  });

  it('sorts requests without a response deadline last ascending and first descending', async () => {
    const asc = await names('sort=response_due_at');
    expect(asc).toEqual([
      'A9',
      'A1',
      'A2',
      'A11',
      'A3',
      'A6',
      'A5',
      'A4',
      'A10',
      'A12',
      'A7',
      'A8',
    ]);
    expect(await names('sort=response_due_at&order=desc')).toEqual([...asc].reverse());
    expect(await names('sort=updated_at&limit=3')).toEqual(['A8', 'A7', 'A12']);
  });

  it('filters by creation time (from inclusive, to exclusive)', async () => {
    expect(await names(`created_from=${at(-15 * D - MIN)}&created_to=${at(-4 * D - MIN)}`)).toEqual(
      ['A4', 'A11', 'A6', 'A3'],
    );
    expect(await names(`created_from=${at(-3 * D - MIN)}&direction=outgoing`)).toEqual([
      'A8',
      'A12',
      'A10',
    ]);
  });

  it('filters by request id prefix, in either case', async () => {
    const id = known.A3!;
    expect(await names(`id_prefix=${id}`)).toEqual(['A3']);
    expect(await names(`id_prefix=${id.slice(0, 12).toLowerCase()}`)).toEqual(['A3']);
    const all = await names(`id_prefix=${id.slice(0, 1)}`);
    expect(all).toHaveLength(12);
    expect(await names('id_prefix=7ZZZZZZZ')).toEqual([]);
  });
});

describe('GET /v1/supervisor/requests: refused parameters', () => {
  const cases: [string, string][] = [
    ['status=lost', '/status/0'],
    ['status=delivered,lost', '/status/1'],
    ['kind=map', '/kind/0'],
    ['partner=Party%20B', '/partner/0'],
    ['direction=sideways', '/direction'],
    ['overdue=yes', '/overdue'],
    ['refused=1', '/refused'],
    ['due_before=tomorrow', '/due_before'],
    ['created_from=2024-13-01T00:00:00Z', '/created_from'],
    ['id_prefix=01U', '/id_prefix'],
    ['sort=subject', '/sort'],
    ['order=up', '/order'],
    ['limit=0', '/limit'],
    ['limit=201', '/limit'],
    ['limit=ten', '/limit'],
    ['subject=x', '/subject'],
    ['cursor=not-a-cursor', '/cursor'],
  ];
  it.each(cases)('%s → 400 schema_invalid at %s', async (query, path) => {
    const res = await call(node.url, 'GET', `/v1/supervisor/requests?${query}`, {
      token: supervisor,
    });
    expect(res.status).toBe(400);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('schema_invalid');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('refuses a cursor used with other filters or another sort', async () => {
    const first = await list('limit=2&status=delivered');
    expect(first.nextCursor).toBeTruthy();
    for (const other of ['status=acknowledged', 'status=delivered&sort=updated_at']) {
      const res = await call(
        node.url,
        'GET',
        `/v1/supervisor/requests?${other}&limit=2&cursor=${first.nextCursor}`,
        { token: supervisor },
      );
      expect(res.status, other).toBe(400);
      expect(res.body.errors).toEqual([{ path: '/cursor', message: expect.any(String) }]);
    }
    // The same query with another page size is fine.
    const next = await list(`status=delivered&limit=5&cursor=${first.nextCursor}`);
    expect(next.items.map((i) => nameOf(i.id))).toEqual(['A5']);
  });
});

describe('GET /v1/supervisor/requests/{id}/timeline', () => {
  it('gives the request and its events in order', async () => {
    const res = await call(node.url, 'GET', `/v1/supervisor/requests/${known.A2}/timeline`, {
      token: supervisor,
    });
    expect(res.status).toBe(200);
    expect(res.body.request).toMatchObject({
      id: known.A2,
      status: 'answered',
      priority: 'urgent',
    });
    expect(res.body.request).not.toHaveProperty('subject');
    expect(
      res.body.events.map((e: { seq: number; type: string; at: string }) => [e.seq, e.type, e.at]),
    ).toEqual([
      [1, 'created', at(-20 * D - MIN)],
      [2, 'delivered', at(-20 * D)],
      [3, 'acknowledge', at(-20 * D + 3 * H)],
      [4, 'respond_partial', at(-18 * D)],
      [5, 'respond_final', at(-8 * D)],
    ]);
  });

  it('shows the refusal on the request beside the event that recorded it', async () => {
    const res = await call(node.url, 'GET', `/v1/supervisor/requests/${known.A4}/timeline`, {
      token: supervisor,
    });
    expect(res.status).toBe(200);
    expect(res.body.request).toMatchObject({
      status: 'acknowledged',
      partnerRefusal: { kind: 'withdrawal', code: 'key_role_mismatch' },
    });
    expect(res.body.events.at(-1)).toMatchObject({ type: 'message_refused_by_partner' });
  });

  it('answers 404 unknown_request for an unknown id and 400 for a malformed one', async () => {
    const unknown = await call(node.url, 'GET', `/v1/supervisor/requests/${ulid()}/timeline`, {
      token: supervisor,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('unknown_request');
    const malformed = await call(node.url, 'GET', '/v1/supervisor/requests/nope/timeline', {
      token: supervisor,
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'schema_invalid', errors: [{ path: '/id' }] });
  });
});

describe('cursor pages', () => {
  /** Follows nextCursor from the first page to the last; returns the ids in order. */
  async function walk(query: string, between?: (page: number) => Promise<void>) {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; ; page++) {
      const res: SupervisorRequestPage = await list(`${query}${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...res.items.map((i) => i.id));
      if (!res.nextCursor) return seen;
      expect(res.items.length).toBeGreaterThan(0);
      cursor = res.nextCursor;
      await between?.(page);
    }
  }

  async function expected(where: string, orderBy: string): Promise<string[]> {
    const { rows } = await node.database.pool.query<{ req_id: string }>(
      `SELECT req_id FROM requests ${where} ORDER BY ${orderBy}`,
    );
    return rows.map((r) => r.req_id);
  }

  beforeAll(async () => {
    // 150 more requests in triples that share their creation instant to the microsecond (the id
    // breaks the tie), some without a response deadline, updates in ties too.
    const bulk: Seed[] = Array.from({ length: 150 }, (_, i) => {
      const second = Math.floor(i / 3);
      const created = `2025-01-01 00:${String(Math.floor(second / 60)).padStart(2, '0')}:${String(second % 60).padStart(2, '0')}.123456+00`;
      return {
        id: ulid(Date.parse('2025-01-01T00:00:00Z') + second * 1000),
        direction: i % 4 === 0 ? 'incoming' : 'outgoing',
        partner: i % 2 ? 'party-e' : 'party-f',
        kind: 'mine_map',
        status: i % 5 === 0 ? 'submitted' : 'acknowledged',
        created,
        updated: `2025-02-01 00:00:${String(i % 7).padStart(2, '0')}.000001+00`,
        receipt: i % 5 === 0 ? null : created,
        responseDue:
          i % 5 === 0 ? null : `2025-03-01 00:00:${String(i % 11).padStart(2, '0')}.5+00`,
      };
    });
    await seed(bulk);
  });

  const sorts: [string, string][] = [
    ['', 'created_at DESC, req_id DESC'],
    ['sort=created_at&order=asc', 'created_at ASC, req_id ASC'],
    ['sort=updated_at', 'updated_at DESC, req_id DESC'],
    ['sort=updated_at&order=asc', 'updated_at ASC, req_id ASC'],
    ['sort=response_due_at', "COALESCE(response_due_at, 'infinity') ASC, req_id ASC"],
    ['sort=response_due_at&order=desc', "COALESCE(response_due_at, 'infinity') DESC, req_id DESC"],
  ];

  it.each(sorts)('walks every page of "%s" without duplicates or gaps', async (sort, orderBy) => {
    const seen = await walk(`limit=7&${sort}`);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(await expected('', orderBy));
    expect(seen).toHaveLength(162);
  });

  it('walks filtered pages the same way', async () => {
    const seen = await walk('limit=4&partner=party-e&status=acknowledged,submitted');
    expect(seen).toEqual(
      await expected(
        "WHERE counterparty = 'party-e' AND status IN ('acknowledged', 'submitted')",
        'created_at DESC, req_id DESC',
      ),
    );
    expect(seen).toHaveLength(75);
  });

  it('stays stable when requests are inserted between pages', async () => {
    const before = await expected("WHERE counterparty = 'party-f'", 'created_at DESC, req_id DESC');
    const ahead: string[] = [];
    const behind: string[] = [];
    const seen = await walk('limit=10&partner=party-f', async (page) => {
      if (page > 2) return;
      // One newer than every request (before the cursor: not part of this walk) and one in the
      // middle of what is still to come (after the cursor: it must show up, once).
      const [newer, older] = await seed([
        {
          direction: 'outgoing',
          partner: 'party-f',
          kind: 'mine_map',
          status: 'submitted',
          created: at(H + page * MIN),
        },
        {
          direction: 'outgoing',
          partner: 'party-f',
          kind: 'mine_map',
          status: 'submitted',
          created: `2025-01-01 00:00:${String(5 + page).padStart(2, '0')}.654321+00`,
        },
      ]);
      ahead.push(newer!);
      behind.push(older!);
    });
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of before) expect(seen).toContain(id);
    for (const id of behind) expect(seen).toContain(id);
    for (const id of ahead) expect(seen).not.toContain(id);
    expect(seen).toHaveLength(before.length + behind.length);
    // In order all the same.
    const now = await expected("WHERE counterparty = 'party-f'", 'created_at DESC, req_id DESC');
    expect(seen).toEqual(now.filter((id) => !ahead.includes(id)));
  });

  it('the summary catches up with new requests within seconds', async () => {
    const { rows } = await node.database.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM requests',
    );
    const changed = Date.now();
    const s = await eventually(
      async () => {
        const res = await call(node.url, 'GET', '/v1/supervisor/summary', { token: supervisor });
        const body = SupervisorSummary.parse(res.body);
        return Date.parse(body.asOf) >= changed ? body : undefined;
      },
      15_000,
      'a summary computed after the inserts',
    );
    expect(s.total).toBe(rows[0]!.n);
    expect(s.byPartner.find((p) => p.partner === 'party-e')?.count).toBe(75);
  });
});

describe('who owes the next step, and stopped clocks', () => {
  const ids: Record<string, string> = {};
  const receipt = -6 * D;
  const base = {
    partner: 'party-g',
    kind: 'mine_map' as const,
    created: at(receipt - MIN),
    receipt: at(receipt),
    ackDue: at(receipt + D),
    responseDue: at(-1 * D),
  };
  beforeAll(async () => {
    const set: Record<string, Seed> = {
      // Incoming: we asked the partner a question and it is still open. The response clock stands
      // still, so the deadline written a day ago is not missed: the partner owes the answer.
      asked: {
        ...base,
        direction: 'incoming',
        status: 'acknowledged',
        events: [
          ['received', at(receipt)],
          ['acknowledge', at(receipt + H)],
          ['ask_clarification', at(-2 * D)],
        ],
        deadlines: { response: { clockStopped: true, dueAt: at(-1 * D) } },
      },
      // Incoming: the question was answered, the clock runs again and the deadline passed: we owe
      // the answer and are late.
      answered: {
        ...base,
        direction: 'incoming',
        status: 'acknowledged',
        events: [
          ['received', at(receipt)],
          ['acknowledge', at(receipt + H)],
          ['ask_clarification', at(-5 * D)],
          ['answer_clarification', at(-4 * D)],
        ],
        deadlines: { response: { clockStopped: false, dueAt: at(-1 * D) } },
      },
      // Outgoing: the partner asked for more time; the decision is ours.
      extension: {
        ...base,
        direction: 'outgoing',
        status: 'acknowledged',
        responseDue: at(5 * D),
        events: [
          ['delivered', at(receipt)],
          ['acknowledge', at(receipt + H)],
          ['request_extension', at(-3 * D)],
        ],
      },
      // Outgoing and answered: ours to close.
      toClose: {
        ...base,
        direction: 'outgoing',
        status: 'answered',
        events: [
          ['delivered', at(receipt)],
          ['respond_final', at(receipt + 2 * D)],
        ],
      },
    };
    const seeded = await seed(Object.values(set));
    Object.keys(set).forEach((name, i) => (ids[name] = seeded[i]!));
  });

  it('says which side owes the next step, us or the partner, named', async () => {
    const items = (await list('partner=party-g')).items;
    const of = (name: string) => items.find((i) => i.id === ids[name])!;
    expect(of('asked')).toMatchObject({
      nextStep: {
        action: 'answer_clarification',
        side: 'requester',
        by: 'partner',
        party: 'party-g',
      },
      clockStopped: true,
    });
    expect(of('answered')).toMatchObject({
      nextStep: { action: 'respond_final', side: 'responder', by: 'us', party: 'party-a' },
      clockStopped: false,
    });
    expect(of('extension').nextStep).toEqual({
      action: 'decide_extension',
      side: 'requester',
      by: 'us',
      party: 'party-a',
    });
    expect(of('toClose').nextStep).toMatchObject({ action: 'close_accepted', by: 'us' });
    // The same on the timeline and in the summary's upcoming deadlines.
    const t = await call(node.url, 'GET', `/v1/supervisor/requests/${ids.asked}/timeline`, {
      token: supervisor,
    });
    expect(t.body.request).toMatchObject({ nextStep: { by: 'partner' }, clockStopped: true });
  });

  it('counts an open request past its running response deadline as late, not a stopped one', async () => {
    const s = await eventually(
      async () => {
        const res = await call(node.url, 'GET', '/v1/supervisor/summary', { token: supervisor });
        const body = SupervisorSummary.parse(res.body);
        return body.timing.some((t) => t.partner === 'party-g') ? body : undefined;
      },
      15_000,
      'a summary with party-g',
    );
    const incoming = s.timing.find((t) => t.partner === 'party-g' && t.direction === 'incoming');
    // `asked` has its clock stopped: neither answered nor late. `answered` is late.
    expect(incoming!.onTime).toEqual({ answered: 0, onTime: 0, lateOpen: 1, share: 0 });
    const outgoing = s.timing.find((t) => t.partner === 'party-g' && t.direction === 'outgoing');
    expect(outgoing!.onTime).toEqual({ answered: 1, onTime: 1, lateOpen: 0, share: 1 });
  });
});

describe('the supervisors’ notifications (GET /dashboard/notifications.json)', () => {
  it('hides notifications of deadlines already settled, and keeps them stored', async () => {
    const receipt = -2 * D;
    const common = {
      direction: 'outgoing' as const,
      partner: 'party-h',
      kind: 'grave_information' as const,
      created: at(receipt - MIN),
      receipt: at(receipt),
      ackDue: at(receipt + 3 * D),
      responseDue: at(8 * D),
    };
    const [waiting, acknowledged, moved, answered] = await seed([
      { ...common, status: 'delivered', events: [['delivered', at(receipt)]] },
      {
        ...common,
        status: 'acknowledged',
        events: [
          ['delivered', at(receipt)],
          ['acknowledge', at(-1 * D)],
        ],
      },
      // Its response deadline moved (an extension) after the reminder of the old one.
      {
        ...common,
        status: 'acknowledged',
        events: [
          ['delivered', at(receipt)],
          ['acknowledge', at(-1 * D)],
        ],
      },
      {
        ...common,
        status: 'answered',
        events: [
          ['delivered', at(receipt)],
          ['respond_final', at(-1 * H)],
        ],
      },
    ]);
    const notify = (
      reqId: string,
      seq: number,
      kind: string,
      detail: Record<string, unknown>,
      level = 0,
    ) =>
      node.database.pool.query(
        `INSERT INTO notifications (req_id, seq, at, kind, level, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
        [reqId, seq, at(-MIN * seq), kind, level, JSON.stringify(detail)],
      );
    const ack = { deadline: 'acknowledgement', due_at: at(receipt + 3 * D) };
    const response = { deadline: 'response', due_at: at(8 * D) };
    await notify(waiting!, 10, 'deadline_near', ack); // shown: still waiting for it
    await notify(acknowledged!, 11, 'deadline_near', ack); // hidden: acknowledged
    await notify(acknowledged!, 12, 'deadline_near', response); // shown: the response still runs
    await notify(moved!, 13, 'deadline_near', { deadline: 'response', due_at: at(6 * D) }); // hidden
    await notify(answered!, 14, 'escalation', response, 1); // hidden: answered
    await notify(answered!, 15, 'message_refused', { code: 'stale' }); // shown: no deadline

    const shown = await eventually(
      async () => {
        const res = await call(node.url, 'GET', '/dashboard/notifications.json', {
          token: supervisor,
        });
        expect(res.status).toBe(200);
        const list = (res.body as { notifications: { reqId: string; seq: number }[] })
          .notifications;
        return list.some((n) => n.seq === 15) ? list : undefined;
      },
      15_000,
      'the seeded notifications listed',
    );
    const ours = shown
      .filter((n) => [waiting, acknowledged, moved, answered].includes(n.reqId))
      .map((n) => n.seq)
      .sort();
    expect(ours).toEqual([10, 12, 15]);
    // Hidden from the list, not deleted: the table still holds all six.
    const { rows } = await node.database.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM notifications WHERE req_id = ANY($1::text[])',
      [[waiting, acknowledged, moved, answered]],
    );
    expect(rows[0]!.n).toBe(6);
  });
});
