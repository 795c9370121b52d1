// A long request continues as new: with a small history limit (WORKFLOW_HISTORY_LIMIT), both
// sides' workflows carry the conversation into new runs several times over a long clarification
// exchange, and the request still ends the same on both nodes, with every step on its timeline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestDetailView } from '../../schemas/requests-api.js';
import { finalFor, subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { requestDetail } from '../helpers/requests.js';

let a: TestNode;
let b: TestNode;
const ROUNDS = 6;

const detail = requestDetail;
const count = (r: RequestDetailView | undefined, type: string) =>
  r?.timeline.filter((e) => e.type === type).length ?? 0;

/** Acts, and waits until the other node has applied it. */
async function step(
  actor: TestNode,
  other: TestNode,
  id: string,
  route: string,
  json: unknown,
  type: string,
) {
  const before = count(await detail(other, id), type);
  const res = await call(actor.url, 'POST', `/v1/requests/${id}/${route}`, {
    token: await actor.token('officer', actor === a ? 'officer-amira' : 'officer-bogdan'),
    json,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  await eventually(
    async () => (count(await detail(other, id), type) > before ? true : undefined),
    30_000,
    type,
  );
}

/** How many runs the request's workflow has had on a node (1 = never continued as new). */
async function runs(node: TestNode, id: string): Promise<number> {
  const handle = node.temporal.client.workflow.getHandle(`request-${id}`);
  let n = 1;
  let history = await handle.fetchHistory();
  // Walk back from the current run to the first through each run's continuedExecutionRunId.
  for (;;) {
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const previous = started?.continuedExecutionRunId;
    if (!previous) return n;
    n += 1;
    history = await node.temporal.client.workflow
      .getHandle(`request-${id}`, previous)
      .fetchHistory();
  }
}

beforeAll(async () => {
  const env = { DELIVERY_MAX_BACKOFF_SECONDS: '1', WORKFLOW_HISTORY_LIMIT: '60' };
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a', env }),
    startTestNode({ partyId: 'party-b', env }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
});
afterAll(async () => {
  await Promise.all([a?.destroy(), b?.destroy()]);
});

describe('a long request', () => {
  it('continues as new on both sides and ends the same, with every step on both timelines', async () => {
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: await a.token('officer', 'officer-amira'),
      json: {
        type: 'grave_information',
        counterparty: 'party-b',
        priority: 'routine',
        subject: subjectFor('grave_information', 'Graves along the long road'),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    await eventually(async () =>
      (await detail(b, id))?.status === 'delivered' ? true : undefined,
    );

    await step(b, a, id, 'acknowledge', {}, 'acknowledge');
    for (let i = 1; i <= ROUNDS; i += 1) {
      await step(
        b,
        a,
        id,
        'clarification-requests',
        { questions: [`Question ${i}?`] },
        'ask_clarification',
      );
      await step(a, b, id, 'clarifications', { answers: [`Answer ${i}.`] }, 'answer_clarification');
    }
    await step(b, a, id, 'responses', finalFor('grave_information'), 'respond_final');
    await step(a, b, id, 'close', { outcome: 'accepted' }, 'close_accepted');

    for (const node of [a, b])
      await node.temporal.client.workflow.getHandle(`request-${id}`).result();
    const [atA, atB] = [(await detail(a, id))!, (await detail(b, id))!];
    for (const r of [atA, atB]) {
      expect(r.status).toBe('closed');
      expect(count(r, 'ask_clarification')).toBe(ROUNDS);
      expect(count(r, 'answer_clarification')).toBe(ROUNDS);
      expect(count(r, 'action_not_applied') + count(r, 'message_not_applied')).toBe(0);
    }
    // Timeline numbers run on without a gap or a repeat across runs.
    for (const r of [atA, atB])
      expect(r.timeline.map((e) => e.seq)).toEqual(r.timeline.map((_, i) => i + 1));
    expect(await runs(a, id)).toBeGreaterThan(1);
    expect(await runs(b, id)).toBeGreaterThan(1);
  });
});
