// Crossing actions through a mediator (README, _Mediated exchange_ and _Convergence rule_): A and B
// exchange through M, as in mediated-exchange.test.ts. While M is cut off, A and B both act on the
// same delivered request, so both messages are signed before either has arrived; once M is back,
// both go through it and cross. A and B end in the same state, the one the two-party crossing test
// (crossing.test.ts) expects for that pair, and M holds both messages, each with its recipient's
// receipt: all three agree on what was exchanged.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestDetailView } from '../../schemas/requests-api.js';
import { finalFor } from '../helpers/domain.js';
import type { HttpResult } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
import {
  act,
  createRequest,
  outboxOf,
  startMediatedTrio,
  untilAtM,
  untilFailedAttempt,
  untilStatus,
  type CutTrio,
} from '../helpers/mediated.js';
import { eventually } from '../helpers/partners.js';
import type { CuttableProxy } from '../helpers/proxy.js';
import { requestDetail } from '../helpers/requests.js';

let trio: CutTrio;
let a: TestNode;
let m: TestNode;
let b: TestNode;
let proxy: CuttableProxy;

const msgIdOf = (res: HttpResult) => (res.body as { msgId: string }).msgId;

/** What a node shows of how the conversation ended: status and every message's fate. */
function story(r: RequestDetailView) {
  const notApplied = r.timeline
    .filter((e) => e.type === 'action_not_applied' || e.type === 'message_not_applied')
    .map((e) => (e.detail as { msgId: string }).msgId)
    .sort();
  return { status: r.status, notApplied };
}

interface RelayedView {
  iss: string;
  aud: string;
  kind: string;
  msg_id: string;
  attempts: number;
  last_error: string | null;
  partner_status: number | null;
  partner_receipt_token: string | null;
}

/** What M relayed for the request. */
async function relayedAtM(id: string): Promise<RelayedView[]> {
  const { rows } = await m.database.pool.query<RelayedView>(
    `SELECT iss, aud, kind, msg_id, attempts, last_error, partner_status, partner_receipt_token
       FROM relayed_messages WHERE req_id = $1 ORDER BY received_at`,
    [id],
  );
  return rows;
}

/** Everything the three nodes show of the request, for a failure's message. */
async function evidence(id: string): Promise<string> {
  const [atA, atB] = await Promise.all([requestDetail(a, id), requestDetail(b, id)]);
  return JSON.stringify(
    {
      a: atA && { ...story(atA), undelivered: atA.undelivered },
      b: atB && { ...story(atB), undelivered: atB.undelivered },
      relayedAtM: (await relayedAtM(id)).map((r) => ({
        ...r,
        partner_receipt_token: r.partner_receipt_token ? 'present' : null,
      })),
      outboxA: await outboxOf(a, id),
      outboxB: await outboxOf(b, id),
    },
    null,
    2,
  );
}

/** Runs `wait`; if it fails, fails with what the three nodes show. */
async function orExplain<T>(id: string, wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${await evidence(id)}`, { cause: err });
  }
}

/** A submits a request to B through M; returns its id once both show it delivered. */
async function submit(title: string): Promise<string> {
  const id = await createRequest(a, title);
  for (const node of [b, a])
    await orExplain(id, untilStatus(node, id, 'delivered', 'request delivered'));
  return id;
}

/**
 * With M cut off, A and B act on the request at the same moment; both actions are accepted (neither
 * side can hold the other's message) and both messages wait in their outboxes, having failed to
 * reach M. Then M is restored.
 */
async function crossWhileMIsAway(
  id: string,
  atA: [route: string, json: unknown],
  atB: [route: string, json: unknown],
  shown: { a: string; b: string },
): Promise<{ fromA: HttpResult; fromB: HttpResult }> {
  proxy.cut();
  try {
    const [fromA, fromB] = await Promise.all([act(a, id, ...atA), act(b, id, ...atB)]);
    expect(fromA.status, JSON.stringify(fromA.body)).toBe(200);
    expect(fromB.status, JSON.stringify(fromB.body)).toBe(200);
    // Both are signed and waiting: each side tried M and could not reach it.
    for (const [node, res] of [
      [a, fromA],
      [b, fromB],
    ] as const)
      await untilFailedAttempt(
        node,
        id,
        `${node.config.partyId}: a failed attempt to reach M`,
        msgIdOf(res),
      );
    // Neither message has arrived: each side shows only its own action.
    const [nowA, nowB] = await Promise.all([requestDetail(a, id), requestDetail(b, id)]);
    expect(nowA!.status).toBe(shown.a);
    expect(nowB!.status).toBe(shown.b);
    return { fromA, fromB };
  } finally {
    proxy.restore();
  }
}

/** Waits until A and B both show `status`, with exactly `notApplied` as not applied. */
function bothAgree(id: string, status: string, notApplied: string[]) {
  const want = JSON.stringify({ status, notApplied: [...notApplied].sort() });
  return orExplain(
    id,
    eventually(
      async () => {
        const [atA, atB] = await Promise.all([requestDetail(a, id), requestDetail(b, id)]);
        if (!atA || !atB) return undefined;
        return JSON.stringify(story(atA)) === want && JSON.stringify(story(atB)) === want
          ? ([atA, atB] as const)
          : undefined;
      },
      45_000,
      `both sides ${want}`,
    ),
  );
}

/**
 * Waits until M holds exactly `expected` (iss>aud:kind) for the request, each with the recipient's
 * receipt, and returns its rows.
 */
function mAgrees(id: string, expected: string[]) {
  const want = [...expected].sort();
  return orExplain(
    id,
    eventually(
      async () => {
        const rows = await relayedAtM(id);
        const got = rows.map((r) => `${r.iss}>${r.aud}:${r.kind}`).sort();
        return JSON.stringify(got) === JSON.stringify(want) &&
          rows.every((r) => r.partner_receipt_token !== null)
          ? rows
          : undefined;
      },
      45_000,
      `M holding ${want.join(', ')}, each receipted`,
    ),
  );
}

/**
 * Waits until M holds the request, A's withdrawal and B's crossing message of `kind`, each with its
 * recipient's receipt, and checks each is the message its sender's node answered with.
 */
async function mRelayedCrossing(
  id: string,
  withdrawal: HttpResult,
  kind: string,
  fromB: HttpResult,
  settled: string,
) {
  const rows = await mAgrees(id, [
    'party-a>party-b:request',
    'party-a>party-b:withdrawal',
    `party-b>party-a:${kind}`,
  ]);
  expect(rows.find((r) => r.kind === 'withdrawal')!.msg_id).toBe(msgIdOf(withdrawal));
  expect(rows.find((r) => r.kind === kind)!.msg_id).toBe(msgIdOf(fromB));
  // And M's view, folded by the same rule from what it relayed, shows the state both show.
  const view = await orExplain(
    id,
    untilAtM(m, 'sup-crossing', id, (v) => v.agree, 'M’s view settled'),
  );
  expect(view).toMatchObject({
    asRequester: settled,
    asResponder: settled,
    settledStatus: settled,
  });
}

/** A's timeline shows its withdrawal not applied, under the officer who withdrew. */
function expectWithdrawalNotApplied(atA: RequestDetailView, withdrawal: HttpResult) {
  expect(atA.timeline.find((e) => e.type === 'action_not_applied')).toMatchObject({
    actor: 'officer-amira',
    detail: { kind: 'withdrawal', msgId: msgIdOf(withdrawal) },
  });
}

/** Both workflows end (every message receipted both ways), then both views. */
async function bothEnded(id: string) {
  await orExplain(
    id,
    Promise.all(
      [a, b].map((node) => node.temporal.client.workflow.getHandle(`request-${id}`).result()),
    ),
  );
  const [atA, atB] = await Promise.all([requestDetail(a, id), requestDetail(b, id)]);
  return [atA!, atB!] as const;
}

beforeAll(async () => {
  // M relays for both; A and B reach M through the proxy, and each other through M, sealed.
  trio = await startMediatedTrio({ sealContent: true, cut: 'm' });
  ({ a, m, b, proxy } = trio);
}, 120_000);
afterAll(async () => {
  await trio?.stop();
});

describe('crossing actions through a mediator end in the same state on A and B, and at M', () => {
  it('a decline crossing a withdrawal while M is away: the decline stands', async () => {
    const id = await submit('Mediated crossing of decline and withdrawal');
    const { fromA: withdrawal, fromB: decline } = await crossWhileMIsAway(
      id,
      ['withdraw', { reason: 'No longer needed.' }],
      ['decline', { reason: 'Outside our records.' }],
      { a: 'withdrawn', b: 'declined' },
    );
    // As between two nodes: declined on both sides, the withdrawal not applied.
    await bothAgree(id, 'declined', [msgIdOf(withdrawal)]);
    const [atA, atB] = await bothEnded(id);
    expect(story(atA)).toEqual({ status: 'declined', notApplied: [msgIdOf(withdrawal)] });
    expect(story(atB)).toEqual(story(atA));
    expectWithdrawalNotApplied(atA, withdrawal);
    // M relayed both crossing messages, and holds the recipient's receipt of each.
    await mRelayedCrossing(id, withdrawal, 'decline', decline, 'declined');
    // Nothing waits in either outbox.
    for (const node of [a, b])
      expect((await outboxOf(node, id)).every((i) => i.status === 'delivered')).toBe(true);
  }, 180_000);

  it('a withdrawal crossing a final response while M is away: the response stands', async () => {
    const id = await submit('Mediated crossing of withdrawal and response');
    const { fromA: withdrawal, fromB: response } = await crossWhileMIsAway(
      id,
      ['withdraw', { reason: 'No longer needed.' }],
      ['responses', finalFor('grave_information')],
      { a: 'withdrawn', b: 'answered' },
    );
    // As between two nodes: answered on both sides, the withdrawal not applied (too late).
    const [atA] = await bothAgree(id, 'answered', [msgIdOf(withdrawal)]);
    expectWithdrawalNotApplied(atA, withdrawal);
    await mRelayedCrossing(id, withdrawal, 'response', response, 'answered');
    // Each side holds its partner's receipt of its crossing message: nothing waits.
    await orExplain(
      id,
      eventually(
        async () => {
          const [outA, outB] = await Promise.all([outboxOf(a, id), outboxOf(b, id)]);
          return [...outA, ...outB].every((i) => i.status === 'delivered') ? true : undefined;
        },
        30_000,
        'both outboxes delivered',
      ),
    );
  }, 180_000);
});
