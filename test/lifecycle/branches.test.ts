// The branches of a request's lifecycle between two live nodes: the clarification loop (with and
// without a stopped clock), extensions granted and refused, partial answers, decline, withdrawal,
// reopening, and a request answered in time. Each test runs one real request from A to B and checks
// both sides: status, timeline, deadlines and the signed messages each stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Priority, RequestType } from '../../schemas/common.js';
import type { RequestDetailView } from '../../schemas/requests-api.js';
import { ACTIONS } from '../../workflows/actions.js';
import type { DeadlineExplanation } from '../../workflows/deadlines.js';
import { getRequestState } from '../../workflows/messages.js';
import { call, type HttpResult } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';
import {
  finalFor,
  notFoundFor,
  partialFor,
  subjectFor,
  withoutAttachments,
} from '../helpers/domain.js';
import { r0412, r0430, r0457 } from '../fixtures/domain/identifications.js';
import { requestDetail } from '../helpers/requests.js';

let a: TestNode;
let b: TestNode;
let tokens: { a: string; b: string };

const SECOND = 1000;
const WAIT_MS = 30_000;

const detail = requestDetail;

/** Waits (at most 30 s) until the request on `node` satisfies `pred`. */
function until(node: TestNode, id: string, pred: (r: RequestDetailView) => boolean, what: string) {
  return eventually(
    async () => {
      const r = await detail(node, id);
      return r && pred(r) ? r : undefined;
    },
    WAIT_MS,
    `${node.config.partyId}: ${what}`,
  );
}

/** Waits until both sides show the request in `status`; returns [A's view, B's view]. */
async function bothIn(id: string, status: string) {
  return Promise.all([
    until(a, id, (r) => r.status === status, status),
    until(b, id, (r) => r.status === status, status),
  ]);
}

const actOn = (node: TestNode, token: string, id: string, route: string, json: unknown) =>
  call(node.url, 'POST', `/v1/requests/${id}/${route}`, { token, json });

/** The action is accepted and leaves the request in `status` on the acting side. */
function expectAccepted(res: HttpResult, status: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body).toMatchObject({ status });
}

/** The action is refused as not allowed in the request's state. */
function expectRefused(res: HttpResult) {
  expect(res, JSON.stringify(res.body)).toMatchObject({
    status: 409,
    body: { code: 'invalid_state' },
  });
}

const ACTION_TYPES = new Set(Object.keys(ACTIONS));
/** The lifecycle actions of a timeline, in order (deliveries, reminders, escalations left out). */
const steps = (r: RequestDetailView) =>
  r.timeline.filter((e) => ACTION_TYPES.has(e.type)).map((e) => e.type);
const hasEvent = (r: RequestDetailView, type: string) => r.timeline.some((e) => e.type === type);
const responseDeadline = (r: RequestDetailView) =>
  (r.deadlines as { response?: DeadlineExplanation | null }).response ?? null;

/** Checks what both sides agree on at the end of a test: same steps, nothing out of turn. */
function expectSameStory(atA: RequestDetailView, atB: RequestDetailView, expected: string[]) {
  expect(steps(atA)).toEqual(expected);
  expect(steps(atB)).toEqual(expected);
  expect(hasEvent(atA, 'message_out_of_turn')).toBe(false);
  expect(hasEvent(atB, 'message_out_of_turn')).toBe(false);
  // A's officers act on A's side; their actions reach B as messages from party-a, and vice versa.
  for (const e of atA.timeline.filter((x) => ACTION_TYPES.has(x.type))) {
    const ownSide = ACTIONS[e.type as keyof typeof ACTIONS].side === 'requester';
    expect(e.actor).toBe(ownSide ? 'officer-amira' : 'party-b');
  }
  for (const e of atB.timeline.filter((x) => ACTION_TYPES.has(x.type))) {
    const ownSide = ACTIONS[e.type as keyof typeof ACTIONS].side === 'responder';
    expect(e.actor).toBe(ownSide ? 'officer-bogdan' : 'party-a');
  }
}

interface StoredRow {
  msg_id: string;
  kind: string;
  digest: string;
  payload: {
    body: Record<string, unknown>;
    in_reply_to?: { msg_id: string; digest: string };
  };
}
/** The signed messages `node` sent for the request, in order. */
async function sentBy(node: TestNode, id: string) {
  const { rows } = await node.database.pool.query<StoredRow>(
    'SELECT msg_id, kind, digest, payload FROM outbox_messages WHERE req_id = $1 ORDER BY created_at',
    [id],
  );
  return rows;
}
/** The signed messages `node` received for the request, in order (the request itself left out). */
async function receivedBy(node: TestNode, id: string) {
  const { rows } = await node.database.pool.query<StoredRow>(
    `SELECT msg_id, kind, digest, payload FROM inbox_messages
     WHERE req_id = $1 AND kind <> 'request' ORDER BY received_at`,
    [id],
  );
  return rows;
}
/** What `from` sent (reminders aside) is what `to` stored, message for message. */
async function expectSameMessages(from: TestNode, to: TestNode, id: string, kinds: string[]) {
  const sent = (await sentBy(from, id)).filter(
    (m) => m.kind !== 'request' && m.kind !== 'reminder',
  );
  const received = (await receivedBy(to, id)).filter((m) => m.kind !== 'reminder');
  expect(sent.map((m) => m.kind)).toEqual(kinds);
  expect(received.map((m) => [m.msg_id, m.digest])).toEqual(sent.map((m) => [m.msg_id, m.digest]));
  return sent;
}

/** The workflow's own view of the request (its clock is that of its last workflow task). */
const liveState = (node: TestNode, id: string) =>
  node.temporal.client.workflow.getHandle(`request-${id}`).query(getRequestState);

/**
 * Keeps checking `check` until the wall clock reaches `untilMs`: for things that must NOT happen
 * during a window (a bounded wait whose end is the point of the test).
 */
async function holdsUntil(untilMs: number, check: () => Promise<void>) {
  expect(untilMs - Date.now()).toBeLessThan(WAIT_MS);
  while (Date.now() < untilMs) {
    await check();
    await new Promise((r) => setTimeout(r, 250));
  }
  await check();
}

/** A submits a request to B; returns its id once B holds it, and the signed receipt time. */
async function submit(type: RequestType, priority: Priority, title: string) {
  const created = await call(a.url, 'POST', '/v1/requests', {
    token: tokens.a,
    json: { type, counterparty: 'party-b', priority, subject: subjectFor(type, title) },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id as string;
  const [atA, atB] = await bothIn(id, 'delivered');
  expect(atA.receiptAt).not.toBeNull();
  expect(atB.receiptAt).toBe(atA.receiptAt);
  expect(atB.responseDueAt).toBe(atA.responseDueAt);
  return { id, receiptMs: Date.parse(atA.receiptAt!), atA, atB };
}

/** B acknowledges and A sees it. */
async function acknowledge(id: string) {
  expectAccepted(await actOn(b, tokens.b, id, 'acknowledge', {}), 'acknowledged');
  await until(a, id, (r) => r.status === 'acknowledged', 'acknowledged');
}

const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  const policyFile = await writeTestPolicy([
    // Clarification stops the response clock. Deadlines long enough for the acknowledgement and
    // the question to reach A in time on a busy machine (both did not, once, at 4 s and 8 s).
    {
      request_type: 'mine_map',
      priority: 'urgent',
      acknowledge_seconds: 12,
      respond_seconds: 20,
      escalation_after_seconds: [0],
      clarification_stops_clock: true,
    },
    // Clarification does not stop the clock.
    {
      request_type: 'mine_map',
      priority: 'critical',
      acknowledge_seconds: 3,
      respond_seconds: 5,
      escalation_after_seconds: [0],
      clarification_stops_clock: false,
    },
    // Extension granted: the original response deadline passes during the test.
    {
      request_type: 'grave_information',
      priority: 'routine',
      acknowledge_seconds: 4,
      respond_seconds: 8,
      escalation_after_seconds: [0],
    },
    // Extension refused: long enough that nothing falls due during the test.
    {
      request_type: 'grave_information',
      priority: 'critical',
      acknowledge_seconds: 60,
      respond_seconds: 120,
    },
    // Answered in time: short deadlines that pass during the test.
    {
      request_type: 'grave_information',
      priority: 'urgent',
      acknowledge_seconds: 4,
      respond_seconds: 6,
      escalation_after_seconds: [0],
    },
    // identification_result/* and mine_map/routine keep the generous defaults (1 h / 2 h).
  ]);
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1', PARLEY_POLICY_FILE: policyFile };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  tokens = {
    a: await a.token('officer', 'officer-amira'),
    b: await b.token('officer', 'officer-bogdan'),
  };
});
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('the clarification loop', () => {
  it('stops the response clock while the question is open and moves the deadline by the pause', async () => {
    const { id, receiptMs } = await submit('mine_map', 'urgent', 'Minefield records, mill ford');
    const originalDueMs = receiptMs + 20 * SECOND;
    await acknowledge(id);

    const askedAt = Date.now();
    const asked = await actOn(b, tokens.b, id, 'clarification-requests', {
      questions: ['Which bank of the river: east or west?'],
    });
    expectAccepted(asked, 'acknowledged');
    expect(askedAt).toBeLessThan(originalDueMs); // the question is asked before the deadline
    // One question at a time.
    expectRefused(
      await actOn(b, tokens.b, id, 'clarification-requests', { questions: ['And the year?'] }),
    );

    // A stops the clock when the question arrives; B when A's signed receipt for it comes back
    // (the pause counts from that receipt time on both sides), so B may show the question first.
    const stopped = (r: RequestDetailView) =>
      hasEvent(r, 'ask_clarification') && responseDeadline(r)?.clockStopped === true;
    const [openA, openB] = await Promise.all([
      until(a, id, stopped, 'question arrived, clock stopped'),
      until(b, id, stopped, 'question delivered, clock stopped'),
    ]);
    for (const r of [openA, openB]) {
      expect(responseDeadline(r)!.pauses).toHaveLength(1);
      expect(responseDeadline(r)!.pauses[0]!.to).toBeNull();
    }
    expect(responseDeadline(openB)!.pauses[0]!.from).toBe(responseDeadline(openA)!.pauses[0]!.from);

    // The question stays open past the original due time: nothing turns overdue or escalates.
    await holdsUntil(originalDueMs + 2 * SECOND, async () => {
      for (const node of [a, b]) {
        const r = (await detail(node, id))!;
        expect(r.overdue, `${node.config.partyId} overdue`).toBe(false);
        expect(hasEvent(r, 'escalated'), `${node.config.partyId} escalated`).toBe(false);
      }
    });
    // The workflows themselves agree: the clock stands still, nothing is overdue.
    for (const node of [a, b]) {
      const live = await liveState(node, id);
      expect(live.overdue).toBe(false);
      expect(live.deadlines.response?.clockStopped).toBe(true);
    }
    // A partial answer while the question is open records the state afresh: still not overdue.
    expectAccepted(
      await actOn(b, tokens.b, id, 'responses', partialFor('mine_map')),
      'partially_answered',
    );
    const [partialA, partialB] = await Promise.all([
      until(a, id, (r) => hasEvent(r, 'respond_partial'), 'partial answer'),
      until(b, id, (r) => hasEvent(r, 'respond_partial'), 'partial answer'),
    ]);
    for (const r of [partialA, partialB]) {
      expect(r.overdue).toBe(false);
      expect(r.escalationLevel).toBe(0);
      expect(responseDeadline(r)).toMatchObject({ clockStopped: true });
    }

    const answered = await actOn(a, tokens.a, id, 'clarifications', {
      answers: ['The east bank, between the ford and the mill.'],
    });
    const answeredAt = Date.now();
    expectAccepted(answered, 'partially_answered');
    // The question is answered once.
    expectRefused(await actOn(a, tokens.a, id, 'clarifications', { answers: ['Again.'] }));

    const pausedMs = answeredAt - askedAt;
    expect(answeredAt).toBeGreaterThan(originalDueMs); // the question was open past the due time
    // Each side's pause closes once the answer has reached the responder (its signed receipt time).
    const pauseClosed = (r: RequestDetailView) => {
      const d = responseDeadline(r);
      return !!d && d.pauses.length === 1 && d.pauses[0]!.to !== null;
    };
    const [afterA, afterB] = await Promise.all([
      until(a, id, pauseClosed, 'pause closed at A'),
      until(b, id, pauseClosed, 'pause closed at B'),
    ]);
    for (const r of [afterA, afterB]) {
      const d = responseDeadline(r)!;
      expect(d.clockStopped).toBe(false);
      expect(d.baseDueAt).toBe(iso(originalDueMs));
      // Moved later by the time the question was open (measured here from outside: ±5 s).
      const moved = Date.parse(r.responseDueAt!) - originalDueMs;
      expect(Math.abs(moved - pausedMs)).toBeLessThan(5 * SECOND);
      expect(Math.abs(d.pausedSeconds * SECOND - moved)).toBeLessThanOrEqual(500);
      expect(r.overdue).toBe(false);
    }
    // Both sides count the pause between the same signed receipt times: they agree exactly.
    expect(responseDeadline(afterA)!.pauses).toEqual(responseDeadline(afterB)!.pauses);
    expect(afterA.responseDueAt).toBe(afterB.responseDueAt);

    // The answer names the question it answers, by id and digest, on both sides.
    const question = (await sentBy(b, id)).find((m) => m.kind === 'clarification_request')!;
    expect(question.payload.body).toEqual({
      questions: ['Which bank of the river: east or west?'],
    });
    const answer = (await sentBy(a, id)).find((m) => m.kind === 'clarification')!;
    expect(answer.payload.in_reply_to).toEqual({
      msg_id: question.msg_id,
      digest: question.digest,
    });
    expect(answer.payload.body).toEqual({
      answers: ['The east bank, between the ford and the mill.'],
    });

    expectAccepted(await actOn(b, tokens.b, id, 'responses', finalFor('mine_map')), 'answered');
    const [endA, endB] = await bothIn(id, 'answered');
    expect(endA.overdue).toBe(false);
    expect(endB.overdue).toBe(false);
    expectSameStory(endA, endB, [
      'acknowledge',
      'ask_clarification',
      'respond_partial',
      'answer_clarification',
      'respond_final',
    ]);
    expect(hasEvent(endA, 'escalated') || hasEvent(endB, 'escalated')).toBe(false);
    await expectSameMessages(b, a, id, [
      'acknowledgement',
      'clarification_request',
      'response',
      'response',
    ]);
    await expectSameMessages(a, b, id, ['clarification']);
  });

  it('keeps the response clock running when the policy says clarification does not stop it', async () => {
    const { id, receiptMs } = await submit('mine_map', 'critical', 'Minefield records, old quarry');
    const dueAt = iso(receiptMs + 5 * SECOND);
    await acknowledge(id);

    expectAccepted(
      await actOn(b, tokens.b, id, 'clarification-requests', { questions: ['Which quarry?'] }),
      'acknowledged',
    );
    const [openA, openB] = await Promise.all([
      until(a, id, (r) => hasEvent(r, 'ask_clarification'), 'question arrived'),
      until(b, id, (r) => hasEvent(r, 'ask_clarification'), 'question recorded'),
    ]);
    for (const r of [openA, openB]) {
      expect(responseDeadline(r)).toMatchObject({ clockStopped: false, pauses: [] });
      expect(r.responseDueAt).toBe(dueAt);
    }

    // With the question still open, the deadline passes: overdue and escalated on both sides.
    const [lateA, lateB] = await Promise.all([
      until(a, id, (r) => r.overdue && hasEvent(r, 'escalated'), 'overdue with the question open'),
      until(b, id, (r) => r.overdue && hasEvent(r, 'escalated'), 'overdue with the question open'),
    ]);
    for (const r of [lateA, lateB]) {
      expect(r.escalationLevel).toBe(1);
      expect(r.timeline.find((e) => e.type === 'escalated')?.detail).toMatchObject({
        deadline: 'response',
        level: 1,
        due_at: dueAt,
      });
    }

    expectAccepted(
      await actOn(a, tokens.a, id, 'clarifications', { answers: ['The one by the dam.'] }),
      'acknowledged',
    );
    const [afterA, afterB] = await Promise.all([
      until(a, id, (r) => hasEvent(r, 'answer_clarification'), 'answer recorded'),
      until(b, id, (r) => hasEvent(r, 'answer_clarification'), 'answer arrived'),
    ]);
    for (const r of [afterA, afterB]) {
      expect(r.responseDueAt).toBe(dueAt);
      expect(responseDeadline(r)).toMatchObject({
        pauses: [],
        pausedSeconds: 0,
        clockStopped: false,
        dueAt,
      });
      expect(r.overdue).toBe(true);
    }

    expectAccepted(await actOn(b, tokens.b, id, 'responses', notFoundFor('mine_map')), 'answered');
    const [endA, endB] = await Promise.all([
      until(a, id, (r) => r.status === 'answered' && !r.overdue, 'answered, no longer overdue'),
      until(b, id, (r) => r.status === 'answered' && !r.overdue, 'answered, no longer overdue'),
    ]);
    expectSameStory(endA, endB, [
      'acknowledge',
      'ask_clarification',
      'answer_clarification',
      'respond_final',
    ]);
  });
});

describe('extensions', () => {
  it('moves the response deadline to the granted date on both sides, so the request is not overdue', async () => {
    const { id, receiptMs } = await submit('grave_information', 'routine', 'Graves by the chapel');
    const originalDueMs = receiptMs + 8 * SECOND;
    await acknowledge(id);

    const proposed = iso(Math.ceil(receiptMs / SECOND) * SECOND + 30 * SECOND);
    const granted = iso(Math.ceil(receiptMs / SECOND) * SECOND + 25 * SECOND);
    expectAccepted(
      await actOn(b, tokens.b, id, 'extension-requests', {
        reason: 'The parish archive opens next week.',
        proposed_deadline: proposed,
      }),
      'acknowledged',
    );
    // One pending extension request at a time.
    expectRefused(
      await actOn(b, tokens.b, id, 'extension-requests', {
        reason: 'More time still.',
        proposed_deadline: proposed,
      }),
    );
    await until(a, id, (r) => hasEvent(r, 'request_extension'), 'extension request arrived');
    const decision = await actOn(a, tokens.a, id, 'extension-decision', {
      granted: true,
      new_deadline: granted,
    });
    expectAccepted(decision, 'acknowledged');
    expect(Date.now()).toBeLessThan(originalDueMs); // granted before the original deadline

    const [grantedA, grantedB] = await Promise.all([
      until(a, id, (r) => hasEvent(r, 'decide_extension'), 'extension granted'),
      until(b, id, (r) => hasEvent(r, 'decide_extension'), 'extension decision arrived'),
    ]);
    for (const r of [grantedA, grantedB]) {
      expect(r.responseDueAt).toBe(granted);
      expect(responseDeadline(r)).toMatchObject({
        baseDueAt: iso(originalDueMs),
        dueAt: granted,
        extension: { newDeadline: granted },
      });
    }

    // Past the original deadline: neither side is overdue or escalates.
    await holdsUntil(originalDueMs + 2 * SECOND, async () => {
      for (const node of [a, b]) {
        const r = (await detail(node, id))!;
        expect(r.overdue, `${node.config.partyId} overdue`).toBe(false);
        expect(hasEvent(r, 'escalated'), `${node.config.partyId} escalated`).toBe(false);
      }
    });
    // A partial answer now records the state afresh: still not overdue, the granted date holds.
    expectAccepted(
      await actOn(b, tokens.b, id, 'responses', partialFor('grave_information')),
      'partially_answered',
    );
    const [partialA, partialB] = await Promise.all([
      until(a, id, (r) => r.status === 'partially_answered', 'partially answered'),
      until(b, id, (r) => r.status === 'partially_answered', 'partially answered'),
    ]);
    for (const r of [partialA, partialB]) {
      expect(r.overdue).toBe(false);
      expect(r.escalationLevel).toBe(0);
      expect(r.responseDueAt).toBe(granted);
      expect(hasEvent(r, 'escalated')).toBe(false);
    }

    // The decision answers the extension request by id and digest.
    const ask = (await sentBy(b, id)).find((m) => m.kind === 'extension_request')!;
    expect(ask.payload.body).toEqual({
      reason: 'The parish archive opens next week.',
      proposed_deadline: proposed,
    });
    const [sentDecision] = await expectSameMessages(a, b, id, ['extension_decision']);
    expect(sentDecision!.payload.in_reply_to).toEqual({ msg_id: ask.msg_id, digest: ask.digest });
    expect(sentDecision!.payload.body).toEqual({ granted: true, new_deadline: granted });

    expectAccepted(
      await actOn(b, tokens.b, id, 'responses', finalFor('grave_information')),
      'answered',
    );
    const [endA, endB] = await bothIn(id, 'answered');
    expectSameStory(endA, endB, [
      'acknowledge',
      'request_extension',
      'decide_extension',
      'respond_partial',
      'respond_final',
    ]);
    for (const r of [endA, endB]) {
      expect(r.overdue).toBe(false);
      expect(hasEvent(r, 'escalated')).toBe(false);
    }
  });

  it('leaves the deadline where it was when the extension is refused, and refuses a decision with nothing to decide', async () => {
    const { id, receiptMs } = await submit('grave_information', 'critical', 'Graves on the ridge');
    const dueAt = iso(receiptMs + 120 * SECOND);
    await acknowledge(id);

    // Nothing to decide yet.
    expectRefused(
      await actOn(a, tokens.a, id, 'extension-decision', {
        granted: true,
        new_deadline: iso(receiptMs + 600 * SECOND),
      }),
    );

    expectAccepted(
      await actOn(b, tokens.b, id, 'extension-requests', {
        reason: 'Exhumation reports are still being typed.',
        proposed_deadline: iso(Math.ceil(receiptMs / SECOND) * SECOND + 600 * SECOND),
      }),
      'acknowledged',
    );
    await until(a, id, (r) => hasEvent(r, 'request_extension'), 'extension request arrived');
    expectAccepted(
      await actOn(a, tokens.a, id, 'extension-decision', {
        granted: false,
        reason: 'The families were promised an answer this month.',
      }),
      'acknowledged',
    );
    // Decided once: a second decision has nothing to decide.
    expectRefused(
      await actOn(a, tokens.a, id, 'extension-decision', {
        granted: true,
        new_deadline: iso(receiptMs + 600 * SECOND),
      }),
    );

    const [refusedA, refusedB] = await Promise.all([
      until(a, id, (r) => hasEvent(r, 'decide_extension'), 'extension refused'),
      until(b, id, (r) => hasEvent(r, 'decide_extension'), 'extension decision arrived'),
    ]);
    for (const r of [refusedA, refusedB]) {
      expect(r.status).toBe('acknowledged');
      expect(r.responseDueAt).toBe(dueAt);
      expect(responseDeadline(r)).toMatchObject({ extension: null, dueAt, baseDueAt: dueAt });
    }
    expectSameStory(refusedA, refusedB, ['acknowledge', 'request_extension', 'decide_extension']);
    const ask = (await sentBy(b, id)).find((m) => m.kind === 'extension_request')!;
    const [sentDecision] = await expectSameMessages(a, b, id, ['extension_decision']);
    expect(sentDecision!.payload.in_reply_to).toEqual({ msg_id: ask.msg_id, digest: ask.digest });
    expect(sentDecision!.payload.body).toEqual({
      granted: false,
      reason: 'The families were promised an answer this month.',
    });
    // The responder cannot decide its own extension either.
    expectRefused(await actOn(b, tokens.b, id, 'extension-decision', { granted: true }));
  });
});

describe('answers and endings', () => {
  it('takes partial answers, then a final one, and closes on both sides', async () => {
    const { id } = await submit('identification_result', 'routine', 'Results for site 9 remains');
    await acknowledge(id);

    for (const [n, records] of [
      [1, [withoutAttachments(r0412)]],
      [2, [withoutAttachments(r0457)]],
    ] as const) {
      expectAccepted(
        await actOn(b, tokens.b, id, 'responses', { final: false, records }),
        'partially_answered',
      );
      await until(
        a,
        id,
        (r) => steps(r).filter((s) => s === 'respond_partial').length === n,
        `partial answer ${n}`,
      );
    }
    const [midA, midB] = await bothIn(id, 'partially_answered');
    expect(steps(midA)).toEqual(steps(midB));

    expectAccepted(
      await actOn(b, tokens.b, id, 'responses', {
        final: true,
        records: [withoutAttachments(r0430)],
        outcomes: [
          { item_id: 'case-1', outcome: 'found' },
          { item_id: 'case-2', outcome: 'found' },
          { item_id: 'remains-1', outcome: 'found' },
        ],
        note: 'All remains from site 9 are covered.',
      }),
      'answered',
    );
    await bothIn(id, 'answered');
    // Answered: nothing more to respond.
    expectRefused(await actOn(b, tokens.b, id, 'responses', notFoundFor('identification_result')));

    expectAccepted(await actOn(a, tokens.a, id, 'close', { outcome: 'accepted' }), 'closed');
    const [endA, endB] = await bothIn(id, 'closed');
    expectSameStory(endA, endB, [
      'acknowledge',
      'respond_partial',
      'respond_partial',
      'respond_final',
      'close_accepted',
    ]);
    const responses = (
      await expectSameMessages(b, a, id, ['acknowledgement', 'response', 'response', 'response'])
    ).filter((m) => m.kind === 'response');
    expect(responses.map((m) => m.payload.body.final)).toEqual([false, false, true]);
    expect(responses.map((m) => (m.payload.body.records as unknown[]).length)).toEqual([1, 1, 1]);
    await expectSameMessages(a, b, id, ['closure']);
  });

  it('ends declined on both sides, with the reason, and refuses every action afterwards', async () => {
    const { id } = await submit('identification_result', 'urgent', 'Results for site 3 remains');
    expectAccepted(
      await actOn(b, tokens.b, id, 'decline', { reason: 'Site 3 is not in our jurisdiction.' }),
      'declined',
    );
    // Refused at once, while the workflow is finishing…
    expectRefused(await actOn(b, tokens.b, id, 'responses', notFoundFor('identification_result')));
    await bothIn(id, 'declined');

    // …and after both workflows have ended.
    await a.temporal.client.workflow.getHandle(`request-${id}`).result();
    await b.temporal.client.workflow.getHandle(`request-${id}`).result();
    const [endA, endB] = (await Promise.all([detail(a, id), detail(b, id)])) as RequestDetailView[];
    expectSameStory(endA!, endB!, ['decline']);
    const [decline] = await expectSameMessages(b, a, id, ['decline']);
    expect(decline!.payload.body).toEqual({ reason: 'Site 3 is not in our jurisdiction.' });
    expectRefused(await actOn(b, tokens.b, id, 'responses', notFoundFor('identification_result')));
    expectRefused(await actOn(b, tokens.b, id, 'acknowledge', {}));
    expectRefused(await actOn(b, tokens.b, id, 'decline', { reason: 'Again.' }));
    expectRefused(await actOn(b, tokens.b, id, 'clarification-requests', { questions: ['?'] }));
    expectRefused(await actOn(a, tokens.a, id, 'withdraw', {}));
    expectRefused(await actOn(a, tokens.a, id, 'close', { outcome: 'accepted' }));
    const [stillA, stillB] = await Promise.all([detail(a, id), detail(b, id)]);
    expect(stillA!.status).toBe('declined');
    expect(stillB!.status).toBe('declined');
    expect(stillA!.timeline).toEqual(endA!.timeline);
    expect(stillB!.timeline).toEqual(endB!.timeline);
  });

  it('ends withdrawn on both sides when A withdraws, and B can no longer respond', async () => {
    const { id } = await submit('identification_result', 'critical', 'Results for site 5 remains');
    await acknowledge(id);
    expectAccepted(
      await actOn(a, tokens.a, id, 'withdraw', { reason: 'The family found the records.' }),
      'withdrawn',
    );
    const [endA, endB] = await bothIn(id, 'withdrawn');
    expectSameStory(endA, endB, ['acknowledge', 'withdraw']);
    const [withdrawal] = await expectSameMessages(a, b, id, ['withdrawal']);
    expect(withdrawal!.payload.body).toEqual({ reason: 'The family found the records.' });

    expectRefused(await actOn(b, tokens.b, id, 'responses', notFoundFor('identification_result')));
    expectRefused(await actOn(b, tokens.b, id, 'decline', { reason: 'Too late.' }));
    expectRefused(await actOn(a, tokens.a, id, 'withdraw', {}));
    // The refused response was never signed nor sent: nothing more arrived at A.
    expect((await sentBy(b, id)).map((m) => m.kind)).toEqual(['acknowledgement']);
    expect((await receivedBy(a, id)).map((m) => m.kind)).toEqual(['acknowledgement']);
    expect((await detail(b, id))!.status).toBe('withdrawn');
  });

  it('reopens an answer marked incomplete, takes a new final answer, and closes it accepted', async () => {
    const { id } = await submit('mine_map', 'routine', 'Minefield records, south road');
    await acknowledge(id);
    expectAccepted(await actOn(b, tokens.b, id, 'responses', finalFor('mine_map')), 'answered');
    await bothIn(id, 'answered');

    expectAccepted(
      await actOn(a, tokens.a, id, 'close', {
        outcome: 'incomplete',
        reason: 'Sheet S-2 is missing.',
      }),
      'acknowledged',
    );
    const [reopenedA, reopenedB] = await bothIn(id, 'acknowledged');
    for (const r of [reopenedA, reopenedB])
      expect(steps(r)).toEqual(['acknowledge', 'respond_final', 'close_incomplete']);
    // Reopened, not closed: it cannot be closed again until answered again.
    expectRefused(await actOn(a, tokens.a, id, 'close', { outcome: 'accepted' }));

    expectAccepted(await actOn(b, tokens.b, id, 'responses', finalFor('mine_map')), 'answered');
    await bothIn(id, 'answered');
    expectAccepted(await actOn(a, tokens.a, id, 'close', { outcome: 'accepted' }), 'closed');
    const [endA, endB] = await bothIn(id, 'closed');
    expectSameStory(endA, endB, [
      'acknowledge',
      'respond_final',
      'close_incomplete',
      'respond_final',
      'close_accepted',
    ]);
    for (const r of [endA, endB]) {
      const statuses = r.timeline.filter((e) => ACTION_TYPES.has(e.type)).map((e) => e.status);
      expect(statuses).toEqual(['acknowledged', 'answered', 'acknowledged', 'answered', 'closed']);
    }
    const closures = await expectSameMessages(a, b, id, ['closure', 'closure']);
    expect(closures.map((m) => m.payload.body)).toEqual([
      { outcome: 'incomplete', reason: 'Sheet S-2 is missing.' },
      { outcome: 'accepted' },
    ]);
    expectRefused(await actOn(a, tokens.a, id, 'close', { outcome: 'accepted' }));
  });
});

describe('deadlines met', () => {
  it('does not escalate or mark overdue a request answered before its deadlines', async () => {
    const { id, receiptMs } = await submit('grave_information', 'urgent', 'Graves by the orchard');
    const dueMs = receiptMs + 6 * SECOND;
    await acknowledge(id);
    expectAccepted(
      await actOn(b, tokens.b, id, 'responses', finalFor('grave_information')),
      'answered',
    );
    expect(Date.now()).toBeLessThan(dueMs); // answered in time
    await bothIn(id, 'answered');

    await holdsUntil(dueMs + 3 * SECOND, async () => {
      for (const node of [a, b]) {
        const r = (await detail(node, id))!;
        expect(r.status).toBe('answered');
        expect(r.overdue, `${node.config.partyId} overdue`).toBe(false);
        expect(r.escalationLevel).toBe(0);
        expect(hasEvent(r, 'escalated'), `${node.config.partyId} escalated`).toBe(false);
      }
    });
    for (const node of [a, b]) {
      const live = await liveState(node, id);
      expect(live).toMatchObject({ status: 'answered', overdue: false, escalationLevel: 0 });
    }
    const { rows } = await a.database.pool.query(
      'SELECT kind FROM notifications WHERE req_id = $1',
      [id],
    );
    expect(rows).toEqual([]);

    // Closing after the deadline passed records the state afresh: still not overdue.
    expectAccepted(await actOn(a, tokens.a, id, 'close', { outcome: 'accepted' }), 'closed');
    const [endA, endB] = await bothIn(id, 'closed');
    expectSameStory(endA, endB, ['acknowledge', 'respond_final', 'close_accepted']);
    for (const r of [endA, endB]) {
      expect(r.overdue).toBe(false);
      expect(hasEvent(r, 'escalated')).toBe(false);
    }
  });
});
