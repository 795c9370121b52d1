// Mediated exchange (README, _Mediated exchange_): A and B exchange through a mediator M, each on
// its own node, namespace and database. A and B seal their content to each other, so M relays what
// it cannot read. M is reached through a proxy that the test can cut, as an outage would.
//
// - A whole request lifecycle through M converges on A and B; every message crossed M, and each
//   side holds M's relay receipt for it (A: proof M took it; B: proof it came through M). B's
//   answer carries a file: it crosses M sealed and arrives whole.
// - M holds no personal content: no marker in any row of any table of its database.
// - M away for a while: the request waits (relay and delivery retry), then goes through.
// - A message changed on its way is refused by B (the signature is A's, not M's), and a message
//   from A that bypasses M is refused (`relay_missing`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referencedAttachments } from '../../schemas/domain/shared.js';
import { PHOTO_GS031 } from '../fixtures/domain/attachments.js';
import { casesFinal } from '../fixtures/domain/graves.js';
import { call } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
import {
  act,
  createRequest,
  everyRowOf,
  officerOf,
  startMediatedTrio,
  untilFailedAttempt,
  untilStatus,
  type CutTrio,
} from '../helpers/mediated.js';
import { eventually } from '../helpers/partners.js';
import type { CuttableProxy } from '../helpers/proxy.js';
import { requestDetail } from '../helpers/requests.js';

const MARKER = 'MEDIATED-MARKER-Zora-Ilic';

let trio: CutTrio;
let a: TestNode;
let m: TestNode;
let b: TestNode;
let proxy: CuttableProxy;
/** M's inbox as A and B know it: through the proxy. */
let mInbox: string;

beforeAll(async () => {
  // M relays for both; A and B know M (through the proxy), and each other as reached through M.
  trio = await startMediatedTrio({
    env: {
      // The fixtures' site photo is an SVG drawing, which a node takes only when configured to.
      ATTACHMENT_MEDIA_TYPES: 'image/svg+xml,text/plain,application/pdf',
    },
    sealContent: true,
    cut: 'm',
  });
  ({ a, m, b, proxy, mInbox } = trio);
}, 120_000);
afterAll(async () => {
  await trio?.stop();
});

describe('a request through a mediator', () => {
  let id: string;

  it('runs its whole lifecycle between A and B through M, both sides converging', async () => {
    id = await createRequest(a, `Burial site of ${MARKER}`);
    const atB = await untilStatus(b, id, 'delivered', 'request arrived');
    expect(atB.subject).toMatchObject({ title: `Burial site of ${MARKER}` });
    expect((await act(b, id, 'acknowledge', { note: `Searching for ${MARKER}` })).status).toBe(200);
    await untilStatus(a, id, 'acknowledged');
    // B's answer refers to a photo of the site: uploaded at B, it travels to A through M.
    expect(referencedAttachments(casesFinal)).toEqual([PHOTO_GS031.sha256]);
    const up = await fetch(`${b.url}/v1/attachments/sha256:${PHOTO_GS031.sha256}`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${officerOf(b)}`,
        'content-type': PHOTO_GS031.media_type,
      },
      body: PHOTO_GS031.bytes,
    });
    expect(up.status).toBe(201);
    const final = await act(b, id, 'responses', casesFinal);
    expect(final.status, JSON.stringify(final.body)).toBe(200);
    await untilStatus(a, id, 'answered');
    const photo = await fetch(`${a.url}/v1/attachments/sha256:${PHOTO_GS031.sha256}`, {
      headers: { authorization: `Bearer ${officerOf(a)}` },
    });
    expect(photo.status).toBe(200);
    expect(Buffer.from(await photo.arrayBuffer()).equals(Buffer.from(PHOTO_GS031.bytes))).toBe(
      true,
    );
    // M passed the file on without keeping it.
    const atM = await m.database.pool.query('SELECT 1 FROM attachments WHERE sha256 = $1', [
      PHOTO_GS031.sha256,
    ]);
    expect(atM.rowCount).toBe(0);
    expect((await act(a, id, 'close', { outcome: 'accepted' })).status).toBe(200);
    const endB = await untilStatus(b, id, 'closed');
    const endA = (await requestDetail(a, id))!;
    expect(endA.status).toBe('closed');
    // Deadlines count from B's receipt on both sides, as without a mediator.
    expect(endB.receiptAt).toBe(endA.receiptAt);
  });

  it('left every message with M, and M’s relay receipt with both parties', async () => {
    const { rows } = await m.database.pool.query<{
      kind: string;
      iss: string;
      aud: string;
      sealed: boolean;
      partner_receipt_token: string | null;
    }>(
      'SELECT kind, iss, aud, sealed, partner_receipt_token FROM relayed_messages WHERE req_id = $1',
      [id],
    );
    expect(rows.map((r) => `${r.iss}>${r.aud}:${r.kind}`).sort()).toEqual(
      [
        'party-a>party-b:closure',
        'party-a>party-b:request',
        'party-b>party-a:acknowledgement',
        'party-b>party-a:response',
      ].sort(),
    );
    expect(rows.every((r) => r.partner_receipt_token !== null)).toBe(true);
    // M's own tamper-evident log says what it relayed and when each recipient took it.
    const digests = (
      await m.database.pool.query<{ digest: string }>(
        'SELECT digest FROM relayed_messages WHERE req_id = $1',
        [id],
      )
    ).rows.map((r) => r.digest);
    const logged = await eventually(
      async () => {
        const { rows: entries } = await m.database.pool.query<{ entry: string }>(
          'SELECT entry FROM audit_log ORDER BY idx',
        );
        const parsed = entries.map(
          (e) => JSON.parse(e.entry) as { type: string; digest?: string; for_digest?: string },
        );
        const relayed = parsed.filter((e) => e.type === 'message_relayed').map((e) => e.digest);
        const receipts = parsed
          .filter((e) => e.type === 'relay_receipt_received')
          .map((e) => e.for_digest);
        return digests.every((d) => relayed.includes(d) && receipts.includes(d))
          ? parsed
          : undefined;
      },
      20_000,
      'M’s log entries for what it relayed',
    );
    expect(JSON.stringify(logged)).not.toContain(MARKER);

    // M's operators see what it relayed (ids, kinds, parties, outcomes), never the content.
    const listed = await call(m.url, 'GET', `/v1/relayed?req_id=${id}`, {
      token: await m.token('supervisor'),
    });
    expect(listed.status).toBe(200);
    const items = listed.body.items as {
      kind: string;
      from: string;
      to: string;
      sealed: boolean;
      recipientReceivedAt: string | null;
    }[];
    expect(items.map((i) => `${i.from}>${i.to}:${i.kind}`).sort()).toEqual(
      rows.map((r) => `${r.iss}>${r.aud}:${r.kind}`).sort(),
    );
    expect(items.every((i) => i.recipientReceivedAt !== null)).toBe(true);
    expect(JSON.stringify(listed.body)).not.toMatch(/eyJ/); // no token
    const officer = await call(m.url, 'GET', '/v1/relayed', { token: await m.token('officer') });
    expect(officer.status).toBe(403);
    // What carried personal content crossed M sealed.
    expect(rows.filter((r) => r.kind !== 'closure').every((r) => r.sealed)).toBe(true);

    const relayOf = (token: string | null) =>
      token &&
      (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
        iss: string;
        kind: string;
        body: { digest: string };
      });
    const sentByA = await a.database.pool.query<{
      digest: string;
      relay_receipt_token: string | null;
    }>('SELECT digest, relay_receipt_token FROM outbox_messages WHERE req_id = $1', [id]);
    expect(sentByA.rows.length).toBeGreaterThanOrEqual(2);
    for (const r of sentByA.rows) {
      const relay = relayOf(r.relay_receipt_token);
      expect(relay, 'A holds M’s relay receipt').toMatchObject({ iss: 'party-m', kind: 'receipt' });
    }
    const receivedByB = await b.database.pool.query<{
      digest: string;
      relay_receipt_token: string | null;
    }>('SELECT digest, relay_receipt_token FROM inbox_messages WHERE req_id = $1', [id]);
    expect(receivedByB.rows.length).toBeGreaterThanOrEqual(2);
    for (const r of receivedByB.rows)
      expect(relayOf(r.relay_receipt_token)).toMatchObject({
        iss: 'party-m',
        body: { digest: r.digest },
      });
  });

  it('holds no personal content at M', async () => {
    // The parties hold it (so the marker did travel), M holds none of it anywhere.
    expect(await everyRowOf(b)).toContain(MARKER);
    expect(await everyRowOf(m)).not.toContain(MARKER);
  });

  it('waits while M is away and goes through when it is back', async () => {
    proxy.cut();
    const waiting = await createRequest(a, 'Request sent while the mediator is away');
    // A's outbox says why it waits: M cannot be reached.
    await untilFailedAttempt(a, waiting, 'a failed attempt at A');
    expect((await requestDetail(b, waiting)) ?? undefined).toBeUndefined();
    proxy.restore();
    await untilStatus(b, waiting, 'delivered', 'delivered after M came back');
    await untilStatus(a, waiting, 'delivered', 'A holds B’s receipt');
  });

  it('answers a message signed again (same msg_id) with the receipt B gave its first version', async () => {
    // A's request to B, as M relayed it; A signs it again with a fresh lifetime, as its outbox
    // does when a delivery outlives a signature (the answer to the first one was lost).
    const { rows } = await m.database.pool.query<{ digest: string; token: string }>(
      `SELECT digest, token FROM relayed_messages WHERE req_id = $1 AND kind = 'request'`,
      [id],
    );
    const first = rows[0]!;
    const { forgeToken, headerJson, toKeyObject } = await import('../../protocol/forge.js');
    const signer = a.exchange.outbox.keyring.signerFor('request');
    const resign = () => {
      const wire = JSON.parse(
        Buffer.from(first.token.split('.')[1]!, 'base64url').toString('utf8'),
      ) as Record<string, unknown>;
      const now = Math.floor(Date.now() / 1000) + Math.floor(Math.random() * 100);
      return forgeToken({
        header: headerJson(signer),
        payload: { ...wire, iat: now, exp: now + 600 },
        key: toKeyObject(signer.privateKey),
      });
    };
    const post = (token: string) =>
      fetch(mInbox, {
        method: 'POST',
        headers: { 'content-type': 'application/jose' },
        body: token,
      }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const receiptNames = (token: string) =>
      JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
        iss: string;
        body: { digest: string };
      };

    // M holds B's receipt for the first version: it answers the second with it.
    const again = await post(resign());
    expect(again.status).toBe(202);
    expect(receiptNames(again.text)).toMatchObject({
      iss: 'party-b',
      body: { digest: first.digest },
    });

    // Had M not kept it (the answer lost between B and M too), B answers a replay with it, and M
    // takes that receipt though it names the first version.
    await m.database.pool.query(
      `UPDATE relayed_messages SET partner_receipt_token = NULL, partner_received_at = NULL
        WHERE req_id = $1 AND kind = 'request'`,
      [id],
    );
    const third = await post(resign());
    expect(third.status).toBe(409);
    const problem = JSON.parse(third.text) as { code: string; receipt: string };
    expect(problem.code).toBe('replay');
    expect(receiptNames(problem.receipt)).toMatchObject({ body: { digest: first.digest } });
    const kept = await m.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM relayed_messages
        WHERE req_id = $1 AND kind = 'request' AND partner_receipt_token IS NOT NULL`,
      [id],
    );
    expect(kept.rows[0]!.n).toBeGreaterThanOrEqual(1);
  });

  it('refuses at B a message changed on its way, and one that bypasses M', async () => {
    const { rows } = await m.database.pool.query<{ token: string; relay_receipt_token: string }>(
      `SELECT token, relay_receipt_token FROM relayed_messages
        WHERE iss = 'party-a' AND kind = 'request' ORDER BY received_at LIMIT 1`,
    );
    const [h, p, s] = rows[0]!.token.split('.');
    const payload = Buffer.from(p!, 'base64url');
    payload[payload.length - 2] = payload[payload.length - 2]! ^ 1;
    const altered = `${h}.${payload.toString('base64url')}.${s}`;
    const post = (token: string, relay?: string) =>
      fetch(`${b.url}/v1/messages`, {
        method: 'POST',
        headers: {
          'content-type': 'application/jose',
          ...(relay ? { 'parley-relay-receipt': relay } : {}),
        },
        body: token,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { code: string } }));
    const changed = await post(altered, rows[0]!.relay_receipt_token);
    expect(changed.status).toBe(401);
    expect(changed.body.code).toBe('signature_invalid');

    // A fresh message of A straight to B, without M's relay receipt.
    // (A's outbox would route it through M: it is signed by hand instead.)
    const { signPayload, buildPayload } = await import('../../protocol/sign.js');
    const direct = await signPayload(
      buildPayload(
        {
          kind: 'reminder',
          iss: 'party-a',
          aud: 'party-b',
          req_id: id,
          body: { deadline: 'response', due_at: '2030-01-01T00:00:00Z' },
        },
        new Date(),
      ),
      a.exchange.outbox.keyring.signerFor('reminder'),
    );
    const bypass = await post(direct.token);
    expect(bypass.status).toBe(400);
    expect(bypass.body.code).toBe('relay_missing');
  });
});
