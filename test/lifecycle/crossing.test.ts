// Crossing actions between two live nodes over HTTP: both officers act at the same moment, their
// messages cross, and both nodes end in the same state by the convergence rule; the side whose
// action did not take effect sees it as not applied, on its timeline and in the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestDetailView } from '../../schemas/requests-api.js';
import { finalFor, subjectFor } from '../helpers/domain.js';
import { recordHistory } from '../helpers/histories.js';
import { call, type HttpResult } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { requestDetail } from '../helpers/requests.js';

let a: TestNode;
let b: TestNode;
let tokens: { a: string; b: string };
const ROUNDS = 10;

const detail = requestDetail;

const actOn = (node: TestNode, token: string, id: string, route: string, json: unknown) =>
  call(node.url, 'POST', `/v1/requests/${id}/${route}`, { token, json });

/** A submits a request to B; returns its id once B holds it. */
async function submit(title: string): Promise<string> {
  const created = await call(a.url, 'POST', '/v1/requests', {
    token: tokens.a,
    json: {
      type: 'grave_information',
      counterparty: 'party-b',
      priority: 'routine',
      subject: subjectFor('grave_information', title),
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.id as string;
  await eventually(async () => ((await detail(b, id))?.status === 'delivered' ? true : undefined));
  return id;
}

/** What a node shows of how the conversation ended: status and every message's fate. */
function story(r: RequestDetailView) {
  const notApplied = r.timeline
    .filter((e) => e.type === 'action_not_applied' || e.type === 'message_not_applied')
    .map((e) => (e.detail as { msgId: string }).msgId)
    .sort();
  return { status: r.status, notApplied };
}

/** Waits until the workflows of both sides have ended, then returns both views. */
async function bothEnded(id: string) {
  for (const node of [a, b]) {
    await node.temporal.client.workflow.getHandle(`request-${id}`).result();
  }
  const [atA, atB] = await Promise.all([detail(a, id), detail(b, id)]);
  return [atA!, atB!] as const;
}

/**
 * Waits until both sides show `status` and exactly the messages `notApplied` as not applied (each
 * side records a message's fate once it holds every message it crossed).
 */
async function bothAgree(id: string, status: string, notApplied: string[] = []) {
  const want = JSON.stringify({ status, notApplied: [...notApplied].sort() });
  return eventually(
    async () => {
      const [atA, atB] = await Promise.all([detail(a, id), detail(b, id)]);
      if (!atA || !atB) return undefined;
      return JSON.stringify(story(atA)) === want && JSON.stringify(story(atB)) === want
        ? ([atA, atB] as const)
        : undefined;
    },
    30_000,
    `both sides ${want}`,
  );
}

const msgIdOf = (res: HttpResult) => (res.body as { msgId: string }).msgId;
/** The message of an accepted call, for the list of those that must end up not applied. */
const ifAccepted = (res: HttpResult) => (res.status === 200 ? [msgIdOf(res)] : []);

/** Both calls succeed, or one is refused because the other's message arrived first. */
function expectAcceptedOrTooLate(res: HttpResult) {
  expect([200, 409], JSON.stringify(res.body)).toContain(res.status);
  if (res.status === 409) expect(res.body).toMatchObject({ code: 'invalid_state' });
}

beforeAll(async () => {
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1' };
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

const rounds = Array.from({ length: ROUNDS }, (_, i) => i + 1);

describe('crossing actions end in the same state on both nodes', () => {
  it.each(rounds)('a withdrawal crossing a final response: the response stands (%i)', async (n) => {
    const id = await submit(`Crossing withdrawal and response ${n}`);
    const [withdrawal, response] = await Promise.all([
      actOn(a, tokens.a, id, 'withdraw', { reason: 'No longer needed.' }),
      actOn(b, tokens.b, id, 'responses', finalFor('grave_information')),
    ]);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expectAcceptedOrTooLate(withdrawal);
    const [atA] = await bothAgree(id, 'answered', ifAccepted(withdrawal));
    if (withdrawal.status === 200) {
      // A showed "withdrawn" for a moment; its timeline now says the withdrawal came too late.
      const lost = atA.timeline.find((e) => e.type === 'action_not_applied');
      expect(lost, 'A sees its withdrawal not applied').toMatchObject({
        actor: 'officer-amira',
        detail: { kind: 'withdrawal', msgId: msgIdOf(withdrawal) },
      });
    }
  });

  it.each(rounds)('a decline crossing a withdrawal: the decline stands (%i)', async (n) => {
    const id = await submit(`Crossing decline and withdrawal ${n}`);
    const [withdrawal, decline] = await Promise.all([
      actOn(a, tokens.a, id, 'withdraw', {}),
      actOn(b, tokens.b, id, 'decline', { reason: 'Outside our records.' }),
    ]);
    expect(decline.status, JSON.stringify(decline.body)).toBe(200);
    expectAcceptedOrTooLate(withdrawal);
    const [atA, atB] = await bothEnded(id);
    expect(story(atA)).toEqual({ status: 'declined', notApplied: ifAccepted(withdrawal) });
    expect(story(atB)).toEqual(story(atA));
    if (n === 1 && withdrawal.status === 200) {
      await recordHistory(a.temporal.client, `request-${id}`, 'outgoing-crossing-declined');
      await recordHistory(b.temporal.client, `request-${id}`, 'incoming-crossing-declined');
    }
  });

  it.each(rounds)(
    'a clarification request crossing a withdrawal: both apply, the request is withdrawn (%i)',
    async (n) => {
      const id = await submit(`Crossing question and withdrawal ${n}`);
      const [withdrawal, question] = await Promise.all([
        actOn(a, tokens.a, id, 'withdraw', {}),
        actOn(b, tokens.b, id, 'clarification-requests', { questions: ['Which cemetery?'] }),
      ]);
      expect(withdrawal.status, JSON.stringify(withdrawal.body)).toBe(200);
      expectAcceptedOrTooLate(question);
      // Both ended: each holds every message, and the question and the withdrawal both apply.
      const [atA, atB] = await bothEnded(id);
      expect(story(atA)).toEqual({ status: 'withdrawn', notApplied: [] });
      expect(story(atB)).toEqual(story(atA));
      if (question.status === 200)
        for (const r of [atA, atB])
          expect(r.timeline.some((e) => e.type === 'ask_clarification')).toBe(true);
    },
  );

  it.each(rounds)(
    'a closure crossing a clarification request: the question counts only once the closure reopened the request (%i)',
    async (n) => {
      const id = await submit(`Crossing closure and question ${n}`);
      const answered = await actOn(b, tokens.b, id, 'responses', finalFor('grave_information'));
      expect(answered.status, JSON.stringify(answered.body)).toBe(200);
      await eventually(async () =>
        (await detail(a, id))?.status === 'answered' ? true : undefined,
      );
      // A marks the answer incomplete (which reopens the request) while B's officer asks a question:
      // B may ask only once it holds the closure; before that its own node refuses the question.
      const [closure, question] = await Promise.all([
        actOn(a, tokens.a, id, 'close', { outcome: 'incomplete', reason: 'Item 2 is missing.' }),
        actOn(b, tokens.b, id, 'clarification-requests', {
          questions: ['Which records for item 2?'],
        }),
      ]);
      expect(closure.status, JSON.stringify(closure.body)).toBe(200);
      expectAcceptedOrTooLate(question);
      const asked = (r: RequestDetailView) =>
        r.timeline.some((e) => e.type === 'ask_clarification');
      const [atA, atB] = await eventually(async () => {
        const views = await bothAgree(id, 'acknowledged');
        return views.every((r) => asked(r) === (question.status === 200)) ? views : undefined;
      });
      expect(asked(atA)).toBe(asked(atB));
      // The question is open on both sides, or on neither: A's officers may answer it exactly when
      // B's may not ask another.
      const allowed = async (node: TestNode, token: string) => {
        const res = await call(node.url, 'GET', `/v1/requests/${id}`, { token });
        return (res.body as RequestDetailView).allowedActions.map((x) => x.action);
      };
      expect((await allowed(a, tokens.a)).includes('answer_clarification')).toBe(
        question.status === 200,
      );
      expect((await allowed(b, tokens.b)).includes('ask_clarification')).toBe(
        question.status !== 200,
      );
    },
  );

  it.each(rounds)(
    'an extension decision crossing a final response: the response stands, the decision too (%i)',
    async (n) => {
      const id = await submit(`Crossing decision and response ${n}`);
      const proposed = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
      const asked = await actOn(b, tokens.b, id, 'extension-requests', {
        reason: 'The archive opens next week.',
        proposed_deadline: proposed,
      });
      expect(asked.status, JSON.stringify(asked.body)).toBe(200);
      await eventually(async () =>
        (await detail(a, id))?.timeline.some((e) => e.type === 'request_extension')
          ? true
          : undefined,
      );
      const [decision, response] = await Promise.all([
        actOn(a, tokens.a, id, 'extension-decision', { granted: true }),
        actOn(b, tokens.b, id, 'responses', finalFor('grave_information')),
      ]);
      expect(decision.status, JSON.stringify(decision.body)).toBe(200);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      const [atA, atB] = await eventually(async () => {
        const views = await bothAgree(id, 'answered');
        return views.every((r) => r.timeline.some((e) => e.type === 'decide_extension'))
          ? views
          : undefined;
      });
      // The decision applies after the response it crossed: the same deadline on both sides.
      expect(atA.responseDueAt).not.toBeNull();
      expect(atB.responseDueAt).toBe(atA.responseDueAt);
    },
  );
});
