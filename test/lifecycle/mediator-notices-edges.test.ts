// Edges of a mediator's notices and the parties' consents to a pause (README, _Mediated exchange_:
// "Both parties agree to a pause", "What the parties do with them"; evidence check 10), each a
// fault found by review and mended, on live nodes: A and B exchange sealed content through M, each
// on its own node, namespace and database; M reaches B's inbox through a proxy the test can cut; a
// fourth node N can relay for both, for a route changed from M to N.
//
// - a pause backdated to before both parties consented is refused by both: nothing stops, and an
//   overdue request stays overdue (M's own pause, after the deadline passed, gives no time back);
// - a double click gives consents that one pause spends together: the next pause needs A's word
//   again;
// - a resume M gave up on at B is sent to B again when M's supervisor resumes again;
// - a consent M refused (the request went straight, before the route through M) is no part of A's
//   evidence, which verifies;
// - a route changed from M to N while a pause is open: M's resume still ends it at both parties;
// - a route changed from M to N: A's evidence names N, and says what went through M;
// - a key of B that A's registry revoked after B consented: both parties take M's pause;
// - and, with a small history limit, a pause signalled while A's workflow waits to continue as new
//   is taken by the next run.
import http from 'node:http';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle, type TrustAnchors } from '../../audit/verify-bundle.js';
import { loadKeyring } from '../../protocol/keyring.js';
import { signDraft } from '../../protocol/sign.js';
import { decodeHistoryPayloads } from '../../temporal/history-payloads.js';
import type { MediatorNoticeView } from '../../schemas/mediator-api.js';
import type { RequestDetailView } from '../../schemas/requests-api.js';
import { call } from '../helpers/http.js';
import { startTestNode, type TestNode } from '../helpers/node.js';
import {
  act,
  bundleFrom,
  consent,
  consentToken,
  createRequest,
  eventOf,
  expectRefused,
  explained,
  failed,
  held,
  heldAtM,
  notice,
  postEnvelope,
  signed,
  startMediatedTrio,
  trustOf,
  untilAtM,
  untilReceipted,
  untilRequest,
  untilStatus,
  viewAtM,
  type CutTrio,
  type MediatedTrio,
} from '../helpers/mediated.js';
import { eventually, registerPartner } from '../helpers/partners.js';
import { writeTestPolicy } from '../helpers/policy.js';
import { freePort } from '../helpers/ports.js';
import type { CuttableProxy } from '../helpers/proxy.js';
import { requestDetail } from '../helpers/requests.js';

const MARKER = 'MEDIATOR-NOTICES-EDGES-MARKER-Hasan-Nuhanovic';
const SUPERVISOR = 'sup-vesna';
/** The acknowledgement deadline of an urgent request here: passed within the test. */
const URGENT_ACK_SECONDS = 2;
/**
 * How far before the consents M dates a pause: well within the 300 s clock skew, which a first
 * version of the rule allowed.
 */
const BACKDATE_MS = 10_000;

/** Which party shows the request: A sent it, B received it. */
const whoOf = (r: RequestDetailView) => (r.direction === 'outgoing' ? 'party-a' : 'party-b');

/** Both of a party's clocks stopped (true) or running (false). */
function expectClocks(r: RequestDetailView, stopped: boolean, who: string) {
  for (const kind of ['acknowledgement', 'response'] as const)
    expect(explained(r, kind).clockStopped, `${who} ${kind}`).toBe(stopped);
}

/** A request A created, delivered at B with B's receipt at A, and seen so at M. */
async function deliveredRequest(
  trio: MediatedTrio,
  title: string,
  opts: { priority?: string } = {},
): Promise<string> {
  const { a, m, b } = trio;
  const id = await createRequest(a, `${title} ${MARKER}`, opts);
  await untilStatus(b, id, 'delivered', 'the request arrived');
  await untilRequest(a, id, (r) => r.receiptAt !== null, 'B’s receipt at A');
  await untilAtM(
    m,
    SUPERVISOR,
    id,
    (v) => v.agree && v.asResponder === 'delivered',
    'the request delivered',
  );
  return id;
}

/** Until both parties show the event (`clock_paused`, `clock_resumed`) `count` times. */
async function untilBoth(trio: MediatedTrio, id: string, type: string, count = 1) {
  const out: RequestDetailView[] = [];
  for (const node of [trio.a, trio.b])
    out.push(
      await untilRequest(node, id, (r) => eventOf(r, type).length >= count, `${type} × ${count}`),
    );
  return out as [RequestDetailView, RequestDetailView];
}

describe('M’s notices and the parties’ consents, at their edges', () => {
  let trio: CutTrio;
  let a: TestNode;
  let m: TestNode;
  let b: TestNode;
  /** A fourth node that relays for A and B too: their route may move to it. */
  let n: TestNode;
  /** What M reaches B's inbox through. */
  let toB: CuttableProxy;
  let trust: TrustAnchors;

  /** Both operators route their exchange through `via` (null: straight). */
  async function routeVia(via: string | null) {
    for (const [node, other] of [
      [a, 'party-b'],
      [b, 'party-a'],
    ] as const) {
      const res = await call(node.url, 'PATCH', `/v1/admin/partners/${other}`, {
        token: await node.token('admin', 'admin-ops'),
        json: { via },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
  }

  beforeAll(async () => {
    const policyFile = await writeTestPolicy([
      {
        request_type: 'grave_information',
        priority: 'urgent',
        acknowledge_seconds: URGENT_ACK_SECONDS,
        respond_seconds: 7200,
      },
    ]);
    const env = {
      PARLEY_POLICY_FILE: policyFile,
      MEDIATOR_WATCH_SECONDS: '0',
      DELIVERY_MAX_BACKOFF_SECONDS: '1',
      KEY_REGISTRY_CACHE_SECONDS: '0',
    };
    const [started, other] = await Promise.all([
      startMediatedTrio({ env, sealContent: true, cut: 'm-to-b' }),
      startTestNode({ partyId: 'party-n', env }),
    ]);
    trio = started;
    n = other;
    ({ a, m, b, proxy: toB } = trio);
    await registerPartner(n, a, undefined, { relays: true });
    await registerPartner(n, b, undefined, { relays: true });
    await registerPartner(a, n);
    await registerPartner(b, n);
    trust = await trustOf(a, b, m, n);
  }, 120_000);
  afterAll(async () => {
    await Promise.all([trio?.stop(), n?.destroy()]);
  });

  it('a pause backdated to before both consents is refused by both parties; an overdue request stays overdue', async () => {
    const id = await deliveredRequest(trio, 'Ossuary of', { priority: 'urgent' });
    const before: Record<string, RequestDetailView> = {};
    for (const node of [a, b])
      before[node.config.partyId] = await untilRequest(
        node,
        id,
        (r) => r.overdue,
        'the acknowledgement overdue',
      );
    expect(before['party-b']!.ackDueAt).toBe(before['party-a']!.ackDueAt);

    // Both agree only now, after the deadline passed.
    const ofA = held(await consent(a, id));
    const ofB = held(await consent(b, id));
    const consents = [await consentToken(a, ofA.msgId), await consentToken(b, ofB.msgId)];
    // M's key, signing a pause from ten seconds before either consent: then its resume now.
    const keyOfM = (await loadKeyring(m.config.keysDir)).signerFor('mediation');
    const pauseId = ulid();
    const from = new Date(
      Math.min(Date.parse(ofA.createdAt), Date.parse(ofB.createdAt)) - BACKDATE_MS,
    ).toISOString();
    for (const node of [a, b]) {
      const who = node.config.partyId;
      const pause = await signDraft(
        {
          kind: 'mediation',
          iss: 'party-m',
          aud: who,
          req_id: id,
          body: { action: 'pause', pause_id: pauseId, from, consents },
        },
        keyOfM,
      );
      const refused = await postEnvelope(node, pause.token);
      expectRefused(refused, 409, 'pause_consent');
      expect((refused.body as { detail: string }).detail, who).toContain('no later than it began');
      const resume = await signDraft(
        {
          kind: 'mediation',
          iss: 'party-m',
          aud: who,
          req_id: id,
          body: { action: 'resume', pause_id: pauseId, to: new Date().toISOString() },
        },
        keyOfM,
      );
      // No such pause was taken, so none ends.
      expectRefused(await postEnvelope(node, resume.token), 409, 'invalid_state');
    }
    for (const node of [a, b]) {
      const who = node.config.partyId;
      const r = (await requestDetail(node, id))!;
      expect(eventOf(r, 'clock_paused'), who).toEqual([]);
      expect(eventOf(r, 'clock_resumed'), who).toEqual([]);
      expectClocks(r, false, who);
      expect(r.overdue, who).toBe(true);
      expect(r.ackDueAt, who).toBe(before[who]!.ackDueAt);
      expect(r.responseDueAt, who).toBe(before[who]!.responseDueAt);
    }
    // The consents were not spent by what both refused: M's own pause, from now, carries them and
    // both take it; it began after the acknowledgement was due, so it gives none of it back.
    const paused = signed(await notice(m, SUPERVISOR, id, { action: 'pause' }));
    expect(paused.map((x) => x.to).sort()).toEqual(['party-a', 'party-b']);
    expect(Date.parse(paused[0]!.at!)).toBeGreaterThan(Date.parse(before['party-a']!.ackDueAt!));
    await untilBoth(trio, id, 'clock_paused');
    signed(await notice(m, SUPERVISOR, id, { action: 'resume' }));
    for (const r of await untilBoth(trio, id, 'clock_resumed')) {
      const who = whoOf(r);
      expect(r.overdue, who).toBe(true);
      expect(r.ackDueAt, who).toBe(before[who]!.ackDueAt);
      expect(Date.parse(r.responseDueAt!), who).toBeGreaterThan(
        Date.parse(before[who]!.responseDueAt!),
      );
    }
  });

  it('a double click’s consents are spent together: the next pause needs A’s word again', async () => {
    const id = await deliveredRequest(trio, 'Exhumation records of');
    // A's officer asks, then asks twice at once (a double click); B's asks once.
    const first = held(await consent(a, id));
    const clicks = (await Promise.all([consent(a, id), consent(a, id)])).map(held);
    const ofB = held(await consent(b, id));
    const ofA = [first, ...clicks].map((c) => c.msgId);
    const heldOfA = (await heldAtM(m, SUPERVISOR, id)).consents.filter(
      (c) => c.party === 'party-a',
    );
    // Every consent A gave is one M holds; at least two of them (the clicks are fresh ones).
    expect(heldOfA.map((c) => c.msgId).sort()).toEqual([...new Set(ofA)].sort());
    expect(heldOfA.length).toBeGreaterThanOrEqual(2);

    const [pause] = signed(await notice(m, SUPERVISOR, id, { action: 'pause' }));
    await untilBoth(trio, id, 'clock_paused');
    // The pause carried one consent of A, its newest as A signed them (M orders a party's
    // consents by their signing second, then msg_id, the ULID of the signing instant; the two
    // clicks may reach M in either order), and B's.
    const carried = (await heldAtM(m, SUPERVISOR, id)).consents.filter(
      (c) => c.pauseId === pause!.pauseId,
    );
    expect(carried.map((c) => c.party).sort()).toEqual(['party-a', 'party-b']);
    expect(carried.find((c) => c.party === 'party-b')!.msgId).toBe(ofB.msgId);
    expect(carried.find((c) => c.party === 'party-a')!.msgId).toBe(
      heldOfA
        .map((c) => c.msgId)
        .sort()
        .at(-1),
    );
    signed(await notice(m, SUPERVISOR, id, { action: 'resume' }));
    await untilBoth(trio, id, 'clock_resumed');

    // B agrees again; A does not: its older consents are spent with the newest.
    const againB = held(await consent(b, id));
    const refused = await notice(m, SUPERVISOR, id, { action: 'pause' });
    expectRefused(refused, 409, 'pause_consent');
    expect((refused.body as { detail: string }).detail).toContain('party-a');
    const view = await heldAtM(m, SUPERVISOR, id);
    expect(view.notices.filter((x) => x.action === 'pause')).toHaveLength(2);
    expect(view.pauses).toHaveLength(1);
    expect(view.consents.find((c) => c.msgId === againB.msgId)?.pauseId).toBeNull();
    for (const node of [a, b])
      expectClocks((await requestDetail(node, id))!, false, node.config.partyId);
  });

  it('a resume M gave up on at B is sent to B again when M’s supervisor resumes again', async () => {
    const id = await deliveredRequest(trio, 'Mass grave survey of');
    held(await consent(a, id));
    held(await consent(b, id));
    const [pause] = signed(await notice(m, SUPERVISOR, id, { action: 'pause' }));
    await untilBoth(trio, id, 'clock_paused');

    toB.cut();
    let toBResume: MediatorNoticeView;
    try {
      const resumed = signed(await notice(m, SUPERVISOR, id, { action: 'resume' }));
      toBResume = resumed.find((x) => x.to === 'party-b')!;
      expect(toBResume).toMatchObject({ action: 'resume', pauseId: pause!.pauseId });
      await untilAtM(
        m,
        SUPERVISOR,
        id,
        (v) => (v.notices.find((x) => x.msgId === toBResume.msgId)?.attempts ?? 0) >= 1,
        'a first attempt to deliver B’s resume',
      );
      // As if the 20 rounds (about 8 hours) had passed: the next is the last.
      const { rowCount } = await m.database.pool.query(
        `UPDATE mediator_notices SET attempts = 19, next_at = now()
          WHERE msg_id = $1 AND state = 'pending'`,
        [toBResume.msgId],
      );
      expect(rowCount).toBe(1);
      await untilAtM(
        m,
        SUPERVISOR,
        id,
        (v) => v.notices.find((x) => x.msgId === toBResume.msgId)?.state === 'given_up',
        'B’s resume given up',
        { watchPass: true },
      );
      // A's clocks run again; B's stay stopped.
      const atA = await untilRequest(
        a,
        id,
        (r) => eventOf(r, 'clock_resumed').length === 1,
        'resumed',
      );
      expectClocks(atA, false, 'party-a');
      const atB = (await requestDetail(b, id))!;
      expect(eventOf(atB, 'clock_resumed')).toEqual([]);
      expectClocks(atB, true, 'party-b');
    } finally {
      toB.restore();
    }

    // Asked to resume again, M sends B the resume it never took: the same one, with 20 rounds more.
    const again = signed(await notice(m, SUPERVISOR, id, { action: 'resume' }));
    expect(again).toEqual([
      expect.objectContaining({
        msgId: toBResume!.msgId,
        to: 'party-b',
        action: 'resume',
        pauseId: pause!.pauseId,
        at: toBResume!.at,
      }),
    ]);
    const atB = await untilRequest(
      b,
      id,
      (r) => eventOf(r, 'clock_resumed').length === 1,
      'the resume taken at last',
    );
    expect(eventOf(atB, 'clock_resumed')[0]!.detail).toMatchObject({
      msgId: toBResume!.msgId,
      pauseId: pause!.pauseId,
      at: toBResume!.at,
    });
    expectClocks(atB, false, 'party-b');
    // Both count the same due times again, moved by the same pause.
    const atA = (await requestDetail(a, id))!;
    expect([atB.ackDueAt, atB.responseDueAt]).toEqual([atA.ackDueAt, atA.responseDueAt]);
    const view = await untilAtM(
      m,
      SUPERVISOR,
      id,
      (v) => v.notices.find((x) => x.msgId === toBResume!.msgId)?.state === 'delivered',
      'B’s resume delivered',
    );
    expect(view.pauses).toEqual([
      {
        pauseId: pause!.pauseId,
        from: pause!.at,
        to: toBResume!.at,
        counted: true,
        takenBy: ['party-a', 'party-b'],
      },
    ]);
    // Nothing is left to resume.
    expectRefused(await notice(m, SUPERVISOR, id, { action: 'resume' }), 409, 'invalid_state');
  });

  it('a consent M refused (the request went straight, before the route through M) is left out of A’s evidence, which verifies', async () => {
    let id: string;
    await routeVia(null);
    try {
      id = await createRequest(a, `Straight request about ${MARKER}`);
      await untilStatus(b, id, 'delivered', 'the request arrived straight');
      await untilReceipted(a, id);
    } finally {
      await routeVia('party-m');
    }
    expect(await viewAtM(m, SUPERVISOR, id)).toBeUndefined();
    const refused = await consent(a, id);
    expectRefused(refused, 409, 'invalid_state');
    expect((refused.body as { detail: string }).detail).toContain('unknown_request');
    const { rows } = await a.database.pool.query<{ digest: string; refused_code: string }>(
      'SELECT digest, refused_code FROM pause_consents WHERE req_id = $1',
      [id],
    );
    expect(rows).toEqual([expect.objectContaining({ refused_code: 'unknown_request' })]);

    const bundle = await bundleFrom(a, id);
    expect(bundle.envelopes.map((e) => e.digest)).not.toContain(rows[0]!.digest);
    expect(bundle.receipts.map((r) => r.for_digest)).not.toContain(rows[0]!.digest);
    expect(bundle.mediator ?? null).toBeNull();
    const report = await verifyBundle(bundle, trust);
    expect(failed(report)).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('a route changed from M to N while a pause is open: M’s resume still ends it at both parties', async () => {
    const id = await deliveredRequest(trio, 'Cemetery registers of');
    held(await consent(a, id));
    held(await consent(b, id));
    const [pause] = signed(await notice(m, SUPERVISOR, id, { action: 'pause' }));
    const before = await untilBoth(trio, id, 'clock_paused');
    for (const r of before) expectClocks(r, true, whoOf(r));

    await routeVia('party-n');
    try {
      const resumed = signed(await notice(m, SUPERVISOR, id, { action: 'resume' }));
      const view = await untilAtM(
        m,
        SUPERVISOR,
        id,
        (v) =>
          v.notices.filter((x) => x.action === 'resume' && x.state === 'delivered').length === 2,
        'both resumes delivered',
      );
      expect(view.notices.map((x) => x.code)).toEqual([null, null, null, null]);
      const at = resumed[0]!.at!;
      const after = await untilBoth(trio, id, 'clock_resumed');
      for (const r of after) {
        expectClocks(r, false, whoOf(r));
        expect(eventOf(r, 'clock_resumed')[0]!.detail).toMatchObject({
          pauseId: pause!.pauseId,
          at,
        });
        expect(explained(r, 'response').mediatorPauses).toEqual([{ from: pause!.at, to: at }]);
      }
      expect([after[1].ackDueAt, after[1].responseDueAt]).toEqual([
        after[0].ackDueAt,
        after[0].responseDueAt,
      ]);
      // N, the route now, relayed none of it: it has nothing to resume.
      expectRefused(await notice(n, SUPERVISOR, id, { action: 'resume' }), 404, 'unknown_request');
    } finally {
      await routeVia('party-m');
    }
  });

  it('a route changed from M to N: the request keeps going through M, A’s evidence says so, and a new one goes through N', async () => {
    const id = await deliveredRequest(trio, 'Identification files of');
    await routeVia('party-n');
    try {
      const ack = await act(b, id, 'acknowledge', {});
      expect(ack.status, JSON.stringify(ack.body)).toBe(200);
      await untilStatus(a, id, 'acknowledged', 'the acknowledgement through M');
      await untilReceipted(b, id);
      const digestOf = async (node: TestNode, table: string, kind: string) =>
        (
          await node.database.pool.query<{ digest: string }>(
            `SELECT digest FROM ${table} WHERE req_id = $1 AND kind = $2`,
            [id, kind],
          )
        ).rows[0]!.digest;
      const request = await digestOf(a, 'outbox_messages', 'request');
      const acknowledgement = await digestOf(a, 'inbox_messages', 'acknowledgement');
      // The request named M when it was signed: both parties keep that route, N sees none of it.
      const atN = await n.database.pool.query('SELECT 1 FROM relayed_messages WHERE req_id = $1', [
        id,
      ]);
      expect(atN.rowCount).toBe(0);
      for (const node of [a, b]) expect((await requestDetail(node, id))!.mediator).toBe('party-m');

      const bundle = await bundleFrom(a, id);
      expect(bundle.mediator?.party).toBe('party-m');
      const report = await verifyBundle(bundle, trust);
      expect(failed(report)).toEqual([]);
      expect(report.ok).toBe(true);
      expect(bundle.mediator!.relay_receipts.map((r) => r.for_digest)).toEqual(
        expect.arrayContaining([request, acknowledgement]),
      );

      // A request created now names N, and goes through it.
      const fresh = await createRequest(a, `Burial registers of ${MARKER}`);
      await untilStatus(b, fresh, 'delivered', 'the new request through N');
      for (const node of [a, b])
        expect((await requestDetail(node, fresh))!.mediator).toBe('party-n');
      const freshAtN = await n.database.pool.query(
        'SELECT 1 FROM relayed_messages WHERE req_id = $1',
        [fresh],
      );
      expect(freshAtN.rowCount).toBe(1);
    } finally {
      await routeVia('party-m');
    }
  });

  // Last: B's key revoked at A refuses what B signs to A from now on.
  it('a key of B that A revoked after B consented: both parties take M’s pause', async () => {
    const id = await deliveredRequest(trio, 'Autopsy reports of');
    held(await consent(a, id));
    const ofB = held(await consent(b, id));
    const tokenOfB = await consentToken(b, ofB.msgId);
    const { kid } = JSON.parse(Buffer.from(tokenOfB.split('.')[0]!, 'base64url').toString()) as {
      kid: string;
    };
    // A's admin revokes the key B signed its consent with (B rotated it), from now.
    const revoked = await call(a.url, 'POST', `/v1/admin/partners/party-b/keys/${kid}/revoke`, {
      token: await a.token('admin', 'admin-ops'),
      json: { reason: 'rotated' },
    });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);

    const paused = signed(await notice(m, SUPERVISOR, id, { action: 'pause' }));
    const view = await untilAtM(
      m,
      SUPERVISOR,
      id,
      (v) => v.notices.filter((x) => x.state !== 'pending').length === 2,
      'both pauses answered',
    );
    expect(view.notices.map((x) => [x.to, x.state, x.code]).sort()).toEqual([
      ['party-a', 'delivered', null],
      ['party-b', 'delivered', null],
    ]);
    expect(view.pauses).toEqual([
      {
        pauseId: paused[0]!.pauseId,
        from: paused[0]!.at,
        to: null,
        counted: true,
        takenBy: ['party-a', 'party-b'],
      },
    ]);
    for (const r of await untilBoth(trio, id, 'clock_paused')) {
      expectClocks(r, true, whoOf(r));
      expect(eventOf(r, 'clock_paused')[0]!.detail).toMatchObject({
        pauseId: paused[0]!.pauseId,
        at: paused[0]!.at,
      });
    }
  });
});

describe('a pause signalled while A’s workflow waits to continue as new', () => {
  const LIMIT = 50;
  let trio: MediatedTrio;
  let server: http.Server;
  /** Whether the webhooks fail: A's workflow then cannot continue as new (its notifications wait). */
  let failing = false;
  /** What the webhooks were sent: party, request, kind and seq of each notification. */
  const posts: { party: string; req_id: string; kind: string; seq: number }[] = [];

  beforeAll(async () => {
    const port = await freePort();
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        try {
          posts.push(JSON.parse(body) as (typeof posts)[number]);
        } catch {
          // not a notification
        }
        res.statusCode = failing ? 500 : 204;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    trio = await startMediatedTrio({
      env: {
        MEDIATOR_WATCH_SECONDS: '0',
        // Reminders here fill a history: none is held back for spacing.
        MEDIATOR_REMINDER_SECONDS: '0',
        WORKFLOW_HISTORY_LIMIT: String(LIMIT),
        NOTIFY_WEBHOOK_URLS: `http://127.0.0.1:${port}/hook`,
      },
      sealContent: true,
    });
  }, 120_000);
  afterAll(async () => {
    await trio?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  /** A run of A's workflow of the request (the current one unless told), its payloads decrypted. */
  async function historyOf(id: string, runId?: string) {
    const { client } = trio.a.temporal;
    const history = await decodeHistoryPayloads(
      await client.workflow.getHandle(`request-${id}`, runId).fetchHistory(),
      client.options.loadedDataConverter.payloadCodecs,
    );
    return history.events ?? [];
  }

  /** Where in a run's history the mediator's pause was signalled to it; -1: not signalled. */
  function pauseSignalled(events: Awaited<ReturnType<typeof historyOf>>): number {
    return events.findIndex((e) => {
      const s = e.workflowExecutionSignaledEventAttributes;
      const data = s?.input?.payloads?.[0]?.data;
      if (s?.signalName !== 'mediatorNotice' || !data) return false;
      const notice = JSON.parse(Buffer.from(data).toString('utf8')) as { action?: string };
      return notice.action === 'pause';
    });
  }

  it('is taken by the next run: A’s clocks stop as B’s do', async () => {
    const { a, m, b } = trio;
    const id = await deliveredRequest(trio, 'Grave markers of');
    held(await consent(a, id));
    held(await consent(b, id));
    const handle = a.temporal.client.workflow.getHandle(`request-${id}`);
    const runBefore = (await handle.describe()).runId;

    // M reminds A until A's workflow, past its history limit, waits for its notifications before
    // continuing as new (they fail): the last workflow task that took a reminder began past it.
    failing = true;
    const reminded = () =>
      new Set(
        posts
          .filter((p) => p.party === 'party-a' && p.req_id === id && p.kind === 'mediator_reminder')
          .map((p) => p.seq),
      ).size;
    for (let k = 1; ; k += 1) {
      expect(k, 'reminders before A’s workflow reached its limit').toBeLessThan(30);
      signed(
        await notice(m, SUPERVISOR, id, {
          action: 'reminder',
          deadline: 'response',
          to: 'requester',
        }),
      );
      await eventually(
        () => Promise.resolve(reminded() >= k ? true : undefined),
        30_000,
        `the webhooks told of reminder ${k}`,
      );
      // Once no workflow task is pending: where the last one began.
      const lastTaskStarted = await eventually(
        async () => {
          const d = await handle.describe();
          expect(d.runId).toBe(runBefore);
          if (d.raw.pendingWorkflowTask) return undefined;
          const started = (await historyOf(id)).filter((e) => e.workflowTaskStartedEventAttributes);
          return Math.max(...started.map((e) => Number(e.eventId)));
        },
        30_000,
        'A’s workflow between tasks',
      );
      if (lastTaskStarted >= LIMIT) break;
    }

    const paused = signed(await notice(m, SUPERVISOR, id, { action: 'pause' }));
    const pauseOfA = paused.find((x) => x.to === 'party-a')!;
    await untilAtM(
      m,
      SUPERVISOR,
      id,
      (v) => v.notices.filter((x) => x.action === 'pause' && x.state === 'delivered').length === 2,
      'both pauses delivered',
    );
    // The waiting run got the pause, and holds it untaken while its notifications fail.
    await eventually(
      async () => (pauseSignalled(await historyOf(id, runBefore)) >= 0 ? true : undefined),
      30_000,
      'the pause signalled to the waiting run',
    );
    expect((await handle.describe()).runId).toBe(runBefore);
    const waiting = (await requestDetail(a, id))!;
    expect(eventOf(waiting, 'clock_paused')).toEqual([]);
    // B took it meanwhile.
    const atB = await untilRequest(b, id, (r) => eventOf(r, 'clock_paused').length === 1, 'paused');
    expectClocks(atB, true, 'party-b');

    // The webhooks take the notifications again: A's workflow continues as new, with the pause.
    failing = false;
    await eventually(
      async () => ((await handle.describe()).runId !== runBefore ? true : undefined),
      45_000,
      'A’s workflow continued as new',
    );
    const atA = await untilRequest(
      a,
      id,
      (r) => eventOf(r, 'clock_paused').length === 1,
      'the pause taken by the next run',
    );
    expect(eventOf(atA, 'clock_paused')[0]).toMatchObject({
      actor: 'party-m',
      detail: expect.objectContaining({
        msgId: pauseOfA.msgId,
        pauseId: pauseOfA.pauseId,
        at: pauseOfA.at,
      }),
    });
    expectClocks(atA, true, 'party-a');
    for (const kind of ['acknowledgement', 'response'] as const)
      expect(explained(atA, kind).mediatorPauses, kind).toEqual([{ from: pauseOfA.at, to: null }]);
    for (const kind of ['acknowledgement', 'response'] as const)
      expect(explained(atB, kind).mediatorPauses, kind).toEqual([{ from: pauseOfA.at, to: null }]);
    // The first run got the pause and did not take it (no event recorded after the signal): the
    // run it continued as did.
    const eventsBefore = await historyOf(id, runBefore);
    const signalledAt = pauseSignalled(eventsBefore);
    expect(signalledAt).toBeGreaterThanOrEqual(0);
    const after = eventsBefore.slice(signalledAt + 1);
    expect(
      after.filter(
        (e) => e.activityTaskScheduledEventAttributes || e.markerRecordedEventAttributes,
      ),
    ).toEqual([]);
    expect(eventsBefore.at(-1)?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
  });
});
