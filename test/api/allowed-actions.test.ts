// `allowedActions` of GET /v1/requests/:id and `nextStep` of GET /v1/requests, between two live
// nodes: each side's officers are offered exactly the actions the action table allows them now,
// as the request moves (delivered, acknowledged, a question open, answered, declined); supervisors
// are offered none; the pure rule is checked against `refusal` for every status and loop.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowedActions } from '../../domain/allowed-actions.js';
import { RequestListItem } from '../../schemas/officer-list.js';
import { RequestDetailView } from '../../schemas/requests-api.js';
import { RequestStatus } from '../../schemas/common.js';
import { ACTIONS, refusal, type Action } from '../../workflows/actions.js';
import { subjectFor } from '../helpers/domain.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually, registerPartner } from '../helpers/partners.js';

let a: TestNode;
let b: TestNode;
let officerA: string;
let officerB: string;

beforeAll(async () => {
  [a, b] = await Promise.all([
    startTestNode({ partyId: 'party-a' }),
    startTestNode({ partyId: 'party-b' }),
  ]);
  await registerPartner(a, b);
  await registerPartner(b, a);
  [officerA, officerB] = await Promise.all([
    a.token('officer', 'officer-amira'),
    b.token('officer', 'officer-boris'),
  ]);
});
afterAll(() => Promise.all([a?.destroy(), b?.destroy()]));

/** The detail as `token` sees it on `node`. */
async function detail(node: TestNode, id: string, token: string) {
  const res = await call(node.url, 'GET', `/v1/requests/${id}`, { token });
  return res.status === 200 ? RequestDetailView.parse(res.body) : undefined;
}

/** The action names offered on `node`, once its request is in `status`. */
async function offeredWhen(node: TestNode, id: string, token: string, status: string) {
  const d = await eventually(
    async () => {
      const got = await detail(node, id, token);
      return got?.status === status ? got : undefined;
    },
    20_000,
    `${node.config.partyId} to show ${status}`,
  );
  return d.allowedActions.map((x) => x.action);
}

/** The officers' list item of request `id` on `node`. */
async function listed(node: TestNode, id: string, token: string) {
  const res = await call(node.url, 'GET', '/v1/requests', { token });
  expect(res.status).toBe(200);
  const items = (res.body as { items: unknown[] }).items.map((i) => RequestListItem.parse(i));
  return items.find((i) => i.id === id);
}

async function act(node: TestNode, id: string, token: string, path: string, json: unknown) {
  const res = await call(node.url, 'POST', `/v1/requests/${id}/${path}`, { token, json });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

describe('allowedActions and nextStep', () => {
  it('offers each side the actions the table allows now, as the request moves', async () => {
    const created = await call(a.url, 'POST', '/v1/requests', {
      token: officerA,
      json: {
        type: 'grave_information',
        counterparty: 'party-b',
        subject: subjectFor('grave_information', 'Burial sites near the quarry (actions test)'),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = (created.body as { id: string }).id;

    // Delivered: B (responder) may acknowledge, ask, ask for time, respond or decline; A may
    // only withdraw. B owes the acknowledgement.
    const responderOpen = [
      'ask_clarification',
      'request_extension',
      'respond_partial',
      'respond_final',
      'decline',
    ];
    expect(await offeredWhen(b, id, officerB, 'delivered')).toEqual([
      'acknowledge',
      ...responderOpen,
    ]);
    expect(await offeredWhen(a, id, officerA, 'delivered')).toEqual(['withdraw']);
    const onB = await detail(b, id, officerB);
    expect(onB?.allowedActions[0]).toEqual({ action: 'acknowledge', path: 'acknowledge' });
    expect((await listed(b, id, officerB))?.nextStep).toMatchObject({
      action: 'acknowledge',
      by: 'us',
      party: 'party-b',
    });
    expect((await listed(a, id, officerA))?.nextStep).toMatchObject({
      action: 'acknowledge',
      by: 'partner',
    });
    // Supervisors act on nothing.
    const supervisor = await b.token('supervisor', 'sup-sofia');
    expect((await detail(b, id, supervisor))?.allowedActions).toEqual([]);

    // Acknowledged, then a question open: B may not acknowledge nor ask again; A may answer.
    await act(b, id, officerB, 'acknowledge', { note: 'Looking into it.' });
    expect(await offeredWhen(b, id, officerB, 'acknowledged')).toEqual(responderOpen);
    await act(b, id, officerB, 'clarification-requests', { questions: ['Which quarry?'] });
    const bAsked = await eventually(async () => {
      const d = await detail(b, id, officerB);
      return d?.timeline.some((e) => e.type === 'ask_clarification') ? d : undefined;
    });
    expect(bAsked.allowedActions.map((x) => x.action)).toEqual(
      responderOpen.filter((x) => x !== 'ask_clarification'),
    );
    const aAsked = await eventually(async () => {
      const d = await detail(a, id, officerA);
      return d?.timeline.some((e) => e.type === 'ask_clarification') ? d : undefined;
    });
    expect(aAsked.allowedActions.map((x) => x.action)).toEqual([
      'answer_clarification',
      'withdraw',
    ]);
    expect((await listed(a, id, officerA))?.nextStep).toMatchObject({
      action: 'answer_clarification',
      by: 'us',
    });

    // Answered: B may ask again; A may only withdraw. Declined: nobody may do anything.
    await act(a, id, officerA, 'clarifications', { answers: ['The old one, north of the road.'] });
    await eventually(async () => {
      const d = await detail(b, id, officerB);
      return d?.timeline.some((e) => e.type === 'answer_clarification') ? d : undefined;
    });
    expect((await detail(b, id, officerB))?.allowedActions.map((x) => x.action)).toEqual(
      responderOpen,
    );
    expect((await detail(a, id, officerA))?.allowedActions.map((x) => x.action)).toEqual([
      'withdraw',
    ]);
    await act(b, id, officerB, 'decline', { reason: 'Not ours to answer.' });
    expect(await offeredWhen(b, id, officerB, 'declined')).toEqual([]);
    expect(await offeredWhen(a, id, officerA, 'declined')).toEqual([]);
    expect((await listed(a, id, officerA))?.nextStep).toBeNull();
  });

  it('offers exactly what refusal() allows, for every status and loop', () => {
    for (const status of RequestStatus.options)
      for (const direction of ['incoming', 'outgoing'] as const)
        for (const openClarification of [false, true])
          for (const pendingExtension of [false, true]) {
            const side = direction === 'outgoing' ? 'requester' : 'responder';
            const state = {
              status,
              openClarification: openClarification ? { msgId: 'm', digest: 'd', since: 's' } : null,
              pendingExtension: pendingExtension
                ? { msgId: 'm', digest: 'd', proposedDeadline: 'p' }
                : null,
            };
            const expected = (Object.keys(ACTIONS) as Action[]).filter(
              (x) => !refusal(state, side, x),
            );
            expect(
              allowedActions({ status, direction, openClarification, pendingExtension }).map(
                (x) => x.action,
              ),
            ).toEqual(expected);
          }
  });
});
