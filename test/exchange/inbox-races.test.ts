// Many copies of one message at once, over real HTTP, at a complete node with its request
// workflows (real Postgres, real Temporal): exactly one copy is stored and receipted (202), every
// other copy is told it is a replay and given that same receipt, never a conflict with itself. And
// of several different messages claiming one place in a conversation, exactly one takes it.
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDraft } from '../../protocol/sign.js';
import { createParty, validDraft, type TestParty } from '../helpers/envelopes.js';
import { call, type HttpResult } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import { eventually } from '../helpers/partners.js';

const COPIES = 200;

let node: TestNode;
let partyA: TestParty;

beforeAll(async () => {
  node = await startTestNode({ partyId: 'party-b' });
  partyA = await createParty('party-a');
  const added = await call(node.url, 'POST', '/v1/admin/partners', {
    token: await node.token('admin', 'admin-ops'),
    json: {
      partyId: 'party-a',
      name: 'Party A',
      inboxUrl: 'http://127.0.0.1:9/v1/messages',
      jwks: { keys: [{ ...partyA.signingKey.publicJwk, alg: partyA.signingKey.alg }] },
    },
  });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
});
afterAll(() => node?.destroy());

function post(token: string): Promise<HttpResult> {
  return call(node.url, 'POST', '/v1/messages', {
    raw: token,
    headers: { 'content-type': 'application/jose' },
  });
}

/** Sends `token` `n` times at once; returns the answers. */
function storm(token: string, n = COPIES): Promise<HttpResult[]> {
  return Promise.all(Array.from({ length: n }, () => post(token)));
}

async function count(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await node.database.pool.query<{ n: number }>(sql, params);
  return rows[0]!.n;
}

/** Exactly one 202; every other answer a 409 replay carrying that receipt and the digest. */
function expectOneReceipt(answers: HttpResult[], digest: string): string {
  const accepted = answers.filter((r) => r.status === 202);
  expect(accepted).toHaveLength(1);
  const receipt = accepted[0]!.body as string;
  const others = answers.filter((r) => r.status !== 202);
  expect(others.map((r) => [r.status, (r.body as { code?: string }).code])).toEqual(
    Array(answers.length - 1).fill([409, 'replay']),
  );
  for (const r of others) expect(r.body).toMatchObject({ receipt, original_digest: digest });
  return receipt;
}

describe(`${COPIES} copies of one message at once`, () => {
  const reqId = ulid();

  it('stores and receipts a new request once, and answers every other copy 409 replay with that receipt', async () => {
    const base = validDraft('request', { iss: 'party-a', aud: 'party-b', req_id: reqId, seq: 1 });
    const request = await signDraft(
      { ...base, body: { ...base.body, policy_digest: node.policy.digest } },
      partyA.signingKey,
    );
    expectOneReceipt(await storm(request.token), request.digest);

    expect(
      await count('SELECT count(*)::int AS n FROM inbox_messages WHERE req_id = $1', [reqId]),
    ).toBe(1);
    expect(
      await count(
        "SELECT count(*)::int AS n FROM inbox_rejections WHERE digest = $1 AND code = 'replay'",
        [request.digest],
      ),
    ).toBe(COPIES - 1);
    expect(
      await count('SELECT count(*)::int AS n FROM inbox_rejections WHERE digest = $1', [
        request.digest,
      ]),
    ).toBe(COPIES - 1);
    // The one stored copy reached its workflow: the request is in the read model.
    await eventually(
      async () =>
        (await count('SELECT count(*)::int AS n FROM requests WHERE req_id = $1', [reqId])) === 1
          ? true
          : undefined,
      20_000,
      'the request recorded by its workflow',
    );
  });

  it('does the same for the next message of the conversation', async () => {
    const reminder = await signDraft(
      validDraft('reminder', { iss: 'party-a', aud: 'party-b', req_id: reqId, seq: 2, seen: 0 }),
      partyA.signingKey,
    );
    expectOneReceipt(await storm(reminder.token), reminder.digest);
    expect(
      await count(
        "SELECT count(*)::int AS n FROM inbox_messages WHERE req_id = $1 AND kind <> 'receipt' AND seq = 2",
        [reqId],
      ),
    ).toBe(1);
  });

  it('lets exactly one of several different messages take one place; the others are a 409 conflict', async () => {
    const rivals = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        signDraft(
          validDraft('reminder', {
            iss: 'party-a',
            aud: 'party-b',
            req_id: reqId,
            seq: 3,
            seen: 0,
            body: { deadline: 'response', due_at: `2030-01-${String(i + 10)}T10:00:00Z` },
          }),
          partyA.signingKey,
        ),
      ),
    );
    const answers = await Promise.all(rivals.map((m) => post(m.token)));
    expect(answers.filter((r) => r.status === 202)).toHaveLength(1);
    expect(
      answers
        .filter((r) => r.status !== 202)
        .map((r) => [r.status, (r.body as { code?: string }).code]),
    ).toEqual(Array(rivals.length - 1).fill([409, 'conflict']));
  });
});
