// The request read model against a real Postgres: the projection records a partner's refusal on the
// row with its event, once; a request is read with its timeline from one snapshot, so no read
// ever shows an event beside the state before it, even while projections commit between queries;
// and a request shows our messages about it the partner has not accepted yet, read with the row.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  insertOutboxMessage,
  markAbandoned,
  markDelivered,
  markRejected,
  recordAttempt,
} from '../../db/messages.js';
import { integrateAudit } from '../../db/audit.js';
import { addParty } from '../../db/registry.js';
import {
  getRequest,
  getRequestDetail,
  getTimeline,
  listRequests,
  projectRequestEvent,
} from '../../db/requests.js';
import type { ProjectedEvent, RequestRecord } from '../../schemas/workflow-contract.js';
import { getSupervisorTimeline } from '../../db/supervisor.js';
import type { RequestStatus } from '../../schemas/common.js';
import type { MessageKind, Payload } from '../../schemas/envelope.js';
import { subjectFor } from '../helpers/domain.js';
import { cloneTemplate, testPool } from '../helpers/postgres.js';

let db: Awaited<ReturnType<typeof cloneTemplate>>;
let pool: pg.Pool;

beforeAll(async () => {
  db = await cloneTemplate(inject('templateDatabase'));
  pool = testPool({ connectionString: db.url, max: 12 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();

function recordOf(reqId: string): RequestRecord {
  return {
    reqId,
    workflowId: `request-${reqId}`,
    direction: 'outgoing',
    type: 'grave_information',
    requester: 'party-a',
    responder: 'party-b',
    priority: 'routine',
    subject: subjectFor('grave_information', 'Graves by the mill') as RequestRecord['subject'],
    createdBy: 'officer-amira',
    createdAt: iso(0),
  };
}

const created = (): ProjectedEvent => ({
  seq: 1,
  at: iso(0),
  type: 'created',
  actor: 'officer-amira',
  status: 'submitted',
  detail: {},
});

/**
 * Event `seq` of a request whose every step moves the response deadline and the status, as an
 * extension decision does: the event says what it left, so a read can be checked against it.
 */
function step(seq: number): ProjectedEvent {
  const responseDueAt = iso(seq * 60_000);
  const status: RequestStatus = seq % 2 ? 'acknowledged' : 'partially_answered';
  return {
    seq,
    at: iso(seq * 1000),
    type: 'decide_extension',
    actor: 'officer-amira',
    status,
    detail: { responseDueAt },
    deadlines: {
      receiptAt: iso(1000),
      ackDueAt: iso(3_600_000),
      responseDueAt,
      escalationLevel: 0,
      policyDigest: null,
      explanations: { response: { dueAt: responseDueAt } },
    },
  };
}

describe('a partner’s refusal in the read model', () => {
  const reqId = '01JBXKQ6W3V2Z8N4PRT5YHGM9B';
  const record = recordOf(reqId);
  const refused: ProjectedEvent = {
    seq: 4,
    at: iso(4000),
    type: 'message_refused_by_partner',
    actor: 'party-b',
    // The state recomputed without the refused withdrawal: as it was.
    status: 'delivered',
    detail: { msgId: '01JBXKQ6W3V2Z8N4PRT5YHGM9W', kind: 'withdrawal', code: 'stale', dropped: [] },
    notification: {
      kind: 'message_refused',
      level: 1,
      detail: { msgId: '01JBXKQ6W3V2Z8N4PRT5YHGM9W', kind: 'withdrawal', code: 'stale' },
    },
  };

  it('sets partnerRefusal with its event, once, and keeps it through later events', async () => {
    await projectRequestEvent(pool, record, created());
    await projectRequestEvent(pool, record, {
      ...created(),
      seq: 2,
      type: 'delivered',
      status: 'delivered',
    });
    await projectRequestEvent(pool, record, {
      ...created(),
      seq: 3,
      type: 'withdraw',
      status: 'withdrawn',
    });
    expect((await getRequest(pool, reqId))?.partnerRefusal).toBeNull();

    await projectRequestEvent(pool, record, refused);
    const want = {
      msgId: '01JBXKQ6W3V2Z8N4PRT5YHGM9W',
      kind: 'withdrawal',
      code: 'stale',
      at: iso(4000),
    };
    const view = await getRequest(pool, reqId);
    expect(view).toMatchObject({ status: 'delivered', partnerRefusal: want });

    // A retried projection changes nothing and logs nothing twice.
    const audited = async () => {
      await integrateAudit(pool);
      return (
        await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit_log WHERE req_id = $1`,
          [reqId],
        )
      ).rows[0]!.n;
    };
    const before = await audited();
    await projectRequestEvent(pool, record, refused);
    expect(await getRequest(pool, reqId)).toEqual(view);
    expect(await audited()).toBe(before);
    const { rows } = await pool.query(
      'SELECT kind FROM notifications WHERE req_id = $1 ORDER BY seq',
      [reqId],
    );
    expect(rows).toEqual([{ kind: 'message_refused' }]);

    // Later events keep it; an older event replayed late changes neither status nor refusal.
    await projectRequestEvent(pool, record, {
      ...created(),
      seq: 5,
      type: 'acknowledge',
      status: 'acknowledged',
    });
    await projectRequestEvent(pool, record, {
      ...created(),
      seq: 3,
      type: 'withdraw',
      status: 'withdrawn',
    });
    expect(await getRequest(pool, reqId)).toMatchObject({
      status: 'acknowledged',
      partnerRefusal: want,
    });
    expect((await getSupervisorTimeline(pool, reqId))?.request.partnerRefusal).toEqual(want);
  });
});

describe('a workflow task run again after it timed out', () => {
  it('replaces the event projected at a place by the one its second run decided there, status and log too', async () => {
    const reqId = '01JBXKQ6W3V2Z8N4PRT5YHGM9F';
    const record = recordOf(reqId);
    const delivered: ProjectedEvent = {
      ...created(),
      seq: 2,
      type: 'delivered',
      actor: 'party-b',
      status: 'delivered',
      detail: { msgId: '01JBXKQ6W3V2Z8N4PRT5YHGM9D' },
    };
    await projectRequestEvent(pool, record, created());
    // The first run projected `delivered` at 2, then its task timed out; run again, the workflow
    // took the partner's acknowledgement first (2) and the receipt after it (3).
    await projectRequestEvent(pool, record, delivered);
    const acknowledged: ProjectedEvent = {
      ...created(),
      seq: 2,
      at: iso(2500),
      type: 'acknowledged',
      actor: 'party-b',
      status: 'acknowledged',
      detail: { msgId: '01JBXKQ6W3V2Z8N4PRT5YHGM9E' },
    };
    await projectRequestEvent(pool, record, acknowledged);
    await projectRequestEvent(pool, record, { ...delivered, seq: 3, status: null });
    expect((await getRequest(pool, reqId))?.status).toBe('acknowledged');
    const types = async () =>
      (
        await pool.query<{ seq: number; type: string }>(
          'SELECT seq, type FROM request_events WHERE req_id = $1 ORDER BY seq',
          [reqId],
        )
      ).rows;
    expect(await types()).toEqual([
      { seq: 1, type: 'created' },
      { seq: 2, type: 'acknowledged' },
      { seq: 3, type: 'delivered' },
    ]);
    await integrateAudit(pool);
    const logged = async () =>
      (
        await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM audit_log WHERE req_id = $1`,
          [reqId],
        )
      ).rows[0]!.n;
    const before = await logged();
    expect(before).toBe(4); // created, delivered (replaced), acknowledged, delivered
    // The same event again (a retried activity) changes and logs nothing.
    await projectRequestEvent(pool, record, { ...acknowledged, at: iso(2600) });
    await integrateAudit(pool);
    expect(await logged()).toBe(before);
    expect(await types()).toHaveLength(3);
  });
});

/**
 * A pool whose clients run `between` once, right after the first read of a request's row: a
 * projection committing between the row and the timeline, every time, instead of by chance.
 */
function poolCommittingBetweenReads(between: () => Promise<unknown>): pg.Pool {
  const hooked = Object.create(pool) as pg.Pool;
  let pending = true;
  hooked.connect = (async () => {
    const client = await pool.connect();
    const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
    const release = client.release.bind(client);
    Object.assign(client, {
      query: async (...args: unknown[]) => {
        const result = await query(...args);
        if (pending && typeof args[0] === 'string' && /FROM requests WHERE req_id/.test(args[0])) {
          pending = false;
          await between();
        }
        return result;
      },
      release: (err?: Error | boolean) => {
        Object.assign(client, { query, release });
        release(err);
      },
    });
    return client;
  }) as pg.Pool['connect'];
  return hooked;
}

describe('reading a request with its timeline', () => {
  it('shows the row and the timeline of one moment when a projection commits between the two reads', async () => {
    const reqId = '01JBXKQ6W3V2Z8N4PRT5YHGM9C';
    const record = recordOf(reqId);
    await projectRequestEvent(pool, record, created());
    await projectRequestEvent(pool, record, step(2));

    const detail = await getRequestDetail(
      poolCommittingBetweenReads(() => projectRequestEvent(pool, record, step(3))),
      reqId,
    );
    // Both as of before event 3: the state that event 2 left, and no event 3.
    expect(detail!.timeline.map((e) => e.seq)).toEqual([1, 2]);
    expect(detail!.request).toMatchObject({
      status: 'partially_answered',
      responseDueAt: iso(120_000),
    });
    // Event 3 committed meanwhile: the next read shows it, with the state it left.
    const after = await getRequestDetail(pool, reqId);
    expect(after!.timeline.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(after!.request).toMatchObject({ status: 'acknowledged', responseDueAt: iso(180_000) });

    // The supervisors' timeline reads the same way.
    const supervised = await getSupervisorTimeline(
      poolCommittingBetweenReads(() => projectRequestEvent(pool, record, step(4))),
      reqId,
    );
    expect(supervised!.events.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(supervised!.request.responseDueAt).toBe(iso(180_000));
  });

  it('never shows an event beside the state before it while many projections commit', async () => {
    const REQUESTS = 4;
    const EVENTS = 120;
    const ids = Array.from({ length: REQUESTS }, (_, i) => `01JBXKQ6W3V2Z8N4PRT5YHGMA${i}`);
    for (const id of ids) await projectRequestEvent(pool, recordOf(id), created());

    let writing = true;
    const stale: string[] = [];
    let reads = 0;
    // Each request's events in order, as its workflow projects them; the requests side by side.
    const writers = Promise.all(
      ids.map(async (id) => {
        for (let seq = 2; seq <= EVENTS; seq++)
          await projectRequestEvent(pool, recordOf(id), step(seq));
      }),
    ).finally(() => (writing = false));
    const readers = ids.flatMap((id) =>
      [0, 1].map(async () => {
        while (writing) {
          const detail = (await getRequestDetail(pool, id))!;
          reads += 1;
          const newest = detail.timeline.at(-1)!;
          const shows = {
            status: detail.request.status,
            responseDueAt: detail.request.responseDueAt,
          };
          const left =
            newest.seq === 1
              ? { status: 'submitted', responseDueAt: null }
              : { status: newest.status, responseDueAt: newest.detail.responseDueAt };
          if (JSON.stringify(shows) !== JSON.stringify(left))
            stale.push(`${id} event ${newest.seq}: ${JSON.stringify(shows)}`);
        }
      }),
    );
    await Promise.all([writers, ...readers]);

    expect(stale).toEqual([]);
    expect(reads).toBeGreaterThan(50);
    for (const id of ids) {
      const timeline = await getTimeline(pool, id);
      expect(timeline).toHaveLength(EVENTS);
    }
  });
});

/** Stores a signed message of ours about `reqId` to party-b, pending as the outbox leaves it. */
async function ourMessage(reqId: string, msgId: string, kind: MessageKind): Promise<void> {
  // The read model reads the outbox's columns, not the envelope: a stand-in payload will do.
  const payload = { v: 1, msg_id: msgId, kind, req_id: reqId } as unknown as Payload;
  await insertOutboxMessage(pool, {
    msgId,
    aud: 'party-b',
    kind,
    reqId,
    payload,
    digest: `digest-${msgId}`,
    token: `token-${msgId}`,
  });
}

const delivered = (msgId: string) =>
  markDelivered(pool, msgId, {
    receiptToken: `receipt-${msgId}`,
    receiptDigest: `receipt-digest-${msgId}`,
    forDigest: `digest-${msgId}`,
    receivedAt: new Date(),
    via: 'online',
  });

describe('our messages the partner has not accepted yet', () => {
  beforeAll(async () => {
    await addParty(
      pool,
      { partyId: 'party-b', name: 'Party B', inboxUrl: 'http://127.0.0.1:9/v1/messages', keys: [] },
      'admin-ops',
    );
  });

  it('lists those pending in the outbox, oldest first, with attempts and the last code', async () => {
    const reqId = '01JBXKQ6W3V2Z8N4PRT5YHGMB0';
    const other = '01JBXKQ6W3V2Z8N4PRT5YHGMB1';
    const record = recordOf(reqId);
    await projectRequestEvent(pool, record, created());
    await projectRequestEvent(pool, recordOf(other), created());
    const [request, refused, dropped, decision, withdrawal, elsewhere] = [
      '01JBXKQ6W3V2Z8N4PRT5YHGMC0',
      '01JBXKQ6W3V2Z8N4PRT5YHGMC1',
      '01JBXKQ6W3V2Z8N4PRT5YHGMC2',
      '01JBXKQ6W3V2Z8N4PRT5YHGMC3',
      '01JBXKQ6W3V2Z8N4PRT5YHGMC4',
      '01JBXKQ6W3V2Z8N4PRT5YHGMC5',
    ] as const;
    const before = Date.now();
    await ourMessage(reqId, request, 'request');
    await delivered(request);
    await ourMessage(reqId, refused, 'clarification');
    await recordAttempt(pool, refused, 'schema_invalid');
    await markRejected(pool, refused, 'schema_invalid');
    await ourMessage(reqId, dropped, 'reminder');
    await markAbandoned(pool, [dropped], 'after_refusal');
    await ourMessage(reqId, decision, 'extension_decision');
    for (const code of ['unreachable: TypeError', 'http_503', 'key_not_valid'])
      await recordAttempt(pool, decision, code);
    await ourMessage(reqId, withdrawal, 'withdrawal');
    await recordAttempt(pool, withdrawal, 'unreachable: TimeoutError');
    await ourMessage(other, elsewhere, 'withdrawal');
    const after = Date.now();
    await projectRequestEvent(pool, record, {
      ...created(),
      seq: 2,
      type: 'withdraw',
      status: 'withdrawn',
    });

    const view = (await getRequest(pool, reqId))!;
    expect(view.status).toBe('withdrawn');
    // Delivered, refused and abandoned messages are not waiting; the other request's is its own.
    expect(view.undelivered).toEqual([
      {
        msgId: decision,
        kind: 'extension_decision',
        since: expect.any(String),
        attempts: 3,
        lastError: 'key_not_valid',
      },
      {
        msgId: withdrawal,
        kind: 'withdrawal',
        since: expect.any(String),
        attempts: 1,
        lastError: 'unreachable',
      },
    ]);
    for (const u of view.undelivered) {
      expect(u.since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(u.since)).toBeGreaterThanOrEqual(before - 1);
      expect(Date.parse(u.since)).toBeLessThanOrEqual(after);
    }
    expect(Date.parse(view.undelivered[0]!.since)).toBeLessThanOrEqual(
      Date.parse(view.undelivered[1]!.since),
    );
    expect((await getRequest(pool, other))!.undelivered.map((u) => u.msgId)).toEqual([elsewhere]);

    // The officers' list and the detail read the same.
    const listed = await listRequests(pool, { limit: 200 });
    expect(listed.find((r) => r.id === reqId)?.undelivered).toEqual(view.undelivered);
    expect((await getRequestDetail(pool, reqId))!.request.undelivered).toEqual(view.undelivered);

    // Accepted at last: no longer listed, and the list is empty.
    await delivered(decision);
    await delivered(withdrawal);
    expect((await getRequest(pool, reqId))!.undelivered).toEqual([]);
  });

  it('reads them in the snapshot of the row and its timeline', async () => {
    const reqId = '01JBXKQ6W3V2Z8N4PRT5YHGMB2';
    const withdrawal = '01JBXKQ6W3V2Z8N4PRT5YHGMC6';
    const record = recordOf(reqId);
    await projectRequestEvent(pool, record, created());
    await ourMessage(reqId, withdrawal, 'withdrawal');
    await projectRequestEvent(pool, record, {
      ...created(),
      seq: 2,
      type: 'withdraw',
      status: 'withdrawn',
      detail: { msgId: withdrawal, kind: 'withdrawal' },
    });

    // The partner's receipt is stored and its event projected between the row and the timeline.
    const detail = await getRequestDetail(
      poolCommittingBetweenReads(async () => {
        await delivered(withdrawal);
        await projectRequestEvent(pool, record, {
          ...created(),
          seq: 3,
          type: 'message_delivered',
          status: null,
          detail: { msgId: withdrawal },
        });
      }),
      reqId,
    );
    // As of before the receipt: still waiting, and no delivery on the timeline.
    expect(detail!.request.undelivered.map((u) => u.msgId)).toEqual([withdrawal]);
    expect(detail!.timeline.map((e) => e.type)).toEqual(['created', 'withdraw']);
    const after = await getRequestDetail(pool, reqId);
    expect(after!.request.undelivered).toEqual([]);
    expect(after!.timeline.map((e) => e.type)).toEqual([
      'created',
      'withdraw',
      'message_delivered',
    ]);
  });
});
