// Store and forward between parties that go through a mediator (README, _Mediated exchange_):
// a file may carry what M took while B was out of M's reach, with M's relay receipt beside it, but
// cannot route around M. Three live nodes; the link from M to B's inbox is cut throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle, type TrustAnchors } from '../../audit/verify-bundle.js';
import { signDraft } from '../../protocol/sign.js';
import { Bundle } from '../../schemas/bundle.js';
import { call } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
import {
  bundleFrom,
  createRequest,
  failed,
  startMediatedTrio,
  trustOf,
  untilFailedAttempt,
  untilStatus,
  type CutTrio,
} from '../helpers/mediated.js';
import { eventually } from '../helpers/partners.js';
import { requestDetail } from '../helpers/requests.js';

let trio: CutTrio;
let a: TestNode;
let b: TestNode;
let trust: TrustAnchors;

beforeAll(async () => {
  trio = await startMediatedTrio({ sealContent: true, cut: 'm-to-b' });
  ({ a, b } = trio);
  trio.proxy.cut();
  trust = await trustOf(trio.a, trio.m, trio.b);
}, 120_000);
afterAll(async () => {
  await trio?.stop();
});

/** A's file for B, as its admin exports it. */
async function exported(): Promise<Bundle> {
  const res = await call(a.url, 'GET', '/v1/admin/exchange/export?partner=party-b', {
    token: await a.token('admin'),
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return Bundle.parse(res.body);
}

/** Imports `bundle` at `node`; its results and reply. */
async function imported(node: TestNode, bundle: unknown) {
  const res = await call(node.url, 'POST', '/v1/admin/exchange/import', {
    token: await node.token('admin'),
    json: bundle,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as {
    results: { kind: string; digest: string; outcome: string }[];
    reply: Bundle;
  };
}

/** A's pending request message for `id` and the relay receipt M signed for it. */
async function pendingAtA(id: string) {
  const { rows } = await a.database.pool.query<{
    msg_id: string;
    digest: string;
    relay: string | null;
  }>(
    `SELECT msg_id, digest, relay_receipt_token AS relay FROM outbox_messages
      WHERE req_id = $1 AND kind = 'request'`,
    [id],
  );
  return rows[0]!;
}

const storedAtB = async (digest: string) =>
  (
    await b.database.pool.query<{ relay: string | null }>(
      'SELECT relay_receipt_token AS relay FROM inbox_messages WHERE digest = $1',
      [digest],
    )
  ).rows;

describe('a file between parties that go through a mediator', () => {
  let id: string;
  let digest: string;
  let msgId: string;
  let file: Bundle;

  it('carries M’s relay receipt of each message M took', async () => {
    id = await createRequest(a, 'Grave sites near Brod, carried by hand past a cut line');
    // M took it (relay receipt) and could not reach B.
    await untilFailedAttempt(a, id, 'A told relay_pending by M');
    const sent = await eventually(
      async () => {
        const row = await pendingAtA(id);
        return row.relay ? row : undefined;
      },
      30_000,
      'A keeping M’s relay receipt',
    );
    ({ digest, msg_id: msgId } = sent);
    file = await exported();
    expect(file.messages).toHaveLength(1);
    expect(file.relay_receipts).toEqual({ [digest]: sent.relay });
  });

  it('is refused without the relay receipt, or with one M did not sign, and B keeps nothing', async () => {
    const { relay_receipts: _dropped, ...stripped } = file;
    const without = await imported(b, stripped);
    expect(without.results).toEqual([{ kind: 'message', digest, outcome: 'relay_missing' }]);
    expect(without.reply.receipts).toEqual([]);

    // A relay receipt A signed itself, for the right digest: not M's.
    const forged = await signDraft(
      {
        kind: 'receipt',
        iss: 'party-a',
        aud: 'party-a',
        req_id: id,
        in_reply_to: { msg_id: msgId, digest },
        body: { digest, received_at: new Date().toISOString() },
      },
      a.exchange.outbox.keyring.signerFor('receipt'),
    );
    const wrong = await imported(b, { ...file, relay_receipts: { [digest]: forged.token } });
    expect(wrong.results).toEqual([{ kind: 'message', digest, outcome: 'relay_missing' }]);

    expect(await storedAtB(digest)).toEqual([]);
    expect(await requestDetail(b, id)).toBeUndefined();
  });

  it('is taken with it: B keeps the relay receipt, A is delivered by the reply, evidence holds', async () => {
    const taken = await imported(b, file);
    expect(taken.results).toEqual([{ kind: 'message', digest, outcome: 'accepted' }]);
    expect(await storedAtB(digest)).toEqual([{ relay: file.relay_receipts![digest] }]);
    await untilStatus(b, id, 'delivered', 'the request imported at B');

    const back = await imported(a, taken.reply);
    expect(back.results.map((r) => r.outcome)).toEqual(['applied']);
    await untilStatus(a, id, 'delivered', 'A holding B’s receipt from the reply file');

    // B's evidence names M's relay receipt of the message it took by file, and verifies.
    const bundle = await eventually(
      async () => {
        const e = await bundleFrom(b, id);
        return e.mediator?.relay_receipts?.length ? e : undefined;
      },
      30_000,
      'B’s evidence holding M’s relay receipt',
    );
    const report = await verifyBundle(bundle, trust);
    expect(failed(report)).toEqual([]);
  });

  it('carries the relay receipt of the version it carries, when the message was signed again', async () => {
    const later = await createRequest(
      a,
      'Grave sites near Brod, signed again before it was carried',
    );
    await untilFailedAttempt(a, later, 'A told relay_pending by M');
    const first = await eventually(
      async () => {
        const row = await pendingAtA(later);
        return row.relay ? row : undefined;
      },
      30_000,
      'A keeping M’s relay receipt',
    );
    // Near the end of its lifetime: A signs it again at its next attempt, and M takes that too.
    await a.database.pool.query(
      `UPDATE outbox_messages
          SET payload = jsonb_set(payload, '{exp}', to_jsonb(extract(epoch FROM now())::int))
        WHERE msg_id = $1`,
      [first.msg_id],
    );
    const resigned = await eventually(
      async () => {
        const { rows } = await a.database.pool.query<{ digest: string; relay: string | null }>(
          `SELECT v.digest, v.relay_receipt_token AS relay FROM outbox_versions v
            WHERE v.msg_id = $1 AND v.digest <> $2`,
          [first.msg_id, first.digest],
        );
        return rows[0]?.relay ? rows[0] : undefined;
      },
      30_000,
      'the version signed again, taken by M',
    );
    expect((await pendingAtA(later)).digest).toBe(resigned.digest);

    const again = await exported();
    expect(again.relay_receipts).toEqual({ [resigned.digest]: resigned.relay });
    const taken = await imported(b, again);
    expect(taken.results).toEqual([
      { kind: 'message', digest: resigned.digest, outcome: 'accepted' },
    ]);
    expect(await storedAtB(resigned.digest)).toEqual([{ relay: resigned.relay }]);
    await untilStatus(b, later, 'delivered', 'the version signed again, imported at B');
  });
});
