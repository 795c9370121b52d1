// A mediator's notices to the parties of a request it relays (README, _Mediated exchange_): A and
// B exchange sealed content through M, each on its own node, namespace and database, all three
// under the same deadline policy; M reaches B's inbox through a proxy the test can cut. M's
// supervisor sends notices with `POST /v1/mediated/:id/notices`:
//
// - none before the request reached B;
// - a pause stops both clocks at A and at B from the instant M signed, and M shows it taken;
//   a resume restarts them, and A, B and M count the same due times, later by the paused time;
// - a reminder to B only reaches B's timeline, delivered by M's watch once B can be reached;
// - M's route refuses what does not fit (no pause open, one open already, an officer, an unknown
//   request, a malformed body, an ended request) and stores nothing;
// - a notice a party signed reaches nobody: its partner refuses it straight, M will not relay it;
// - a party's evidence bundle lists M's notices it received, verified offline.
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle, type TrustAnchors } from '../../audit/verify-bundle.js';
import { loadKeyring } from '../../protocol/keyring.js';
import { signDraft } from '../../protocol/sign.js';
import type { MediatedRequestView, MediatorNoticeView } from '../../schemas/mediator-api.js';
import { call } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
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
  untilRequest,
  untilStatus,
  type CutTrio,
} from '../helpers/mediated.js';
import { recordHistory } from '../helpers/histories.js';
import { writeTestPolicy } from '../helpers/policy.js';
import type { CuttableProxy } from '../helpers/proxy.js';
import { requestDetail } from '../helpers/requests.js';

const MARKER = 'MEDIATOR-NOTICES-MARKER-Jasmina-Hodzic';
const ACK_SECONDS = 3600;
const RESPOND_SECONDS = 7200;
const SUPERVISOR = 'sup-mira';

let trio: CutTrio;
let a: TestNode;
let m: TestNode;
let b: TestNode;
/** What M reaches B's inbox through: cut, M's notices to B wait. */
let toB: CuttableProxy;
let trust: TrustAnchors;

/** A consent to M's pause about `reqId` that says it is party-b's, signed with `key`. */
async function consentOfB(reqId: string, key: Parameters<typeof signDraft>[1]): Promise<string> {
  const signed = await signDraft(
    {
      kind: 'mediation',
      iss: 'party-b',
      aud: 'party-m',
      req_id: reqId,
      body: { action: 'consent', to: 'pause' },
    },
    key,
  );
  return signed.token;
}

const deadlineAtM = (v: MediatedRequestView, kind: 'acknowledgement' | 'response') => {
  const d = v.deadlines.find((x) => x.kind === kind);
  expect(d, `${kind} deadline at M`).toBeDefined();
  return d!;
};

const plusMs = (iso: string, ms: number) => new Date(Date.parse(iso) + ms).toISOString();

/** One character of a JWS's signature changed for another of its alphabet. */
function flipSignature(token: string): string {
  const at = token.lastIndexOf('.') + 10;
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

beforeAll(async () => {
  const policyFile = await writeTestPolicy([
    {
      request_type: 'grave_information',
      priority: 'routine',
      acknowledge_seconds: ACK_SECONDS,
      respond_seconds: RESPOND_SECONDS,
    },
  ]);
  // M relays for both (B's inbox through the proxy); A and B reach each other through M, sealed.
  // M's watch runs only when a test asks for a pass.
  trio = await startMediatedTrio({
    env: { PARLEY_POLICY_FILE: policyFile, MEDIATOR_WATCH_SECONDS: '0' },
    sealContent: true,
    cut: 'm-to-b',
  });
  ({ a, m, b, proxy: toB } = trio);
  trust = await trustOf(a, b, m);
}, 120_000);
afterAll(async () => {
  await trio?.stop();
});

describe('M’s notices to the parties of a request it relays', () => {
  let id: string;
  /** The due times A, B and M counted before the pause. */
  let before: { ack: string; response: string };
  /** M's pause notices (to A and to B), as its answer listed them. */
  let paused: MediatorNoticeView[];
  let pauseAt: string;
  let resumeAt: string;

  it('sends none before the request reached B, and stores nothing', async () => {
    toB.cut();
    try {
      id = await createRequest(a, `Burial site of ${MARKER}`);
      const held = await untilAtM(m, SUPERVISOR, id, () => true, 'M holds the request');
      expect(held.asResponder).toBeNull();
      for (const json of [
        { action: 'pause' },
        { action: 'reminder', deadline: 'acknowledgement' },
      ]) {
        const res = await notice(m, SUPERVISOR, id, json);
        expectRefused(res, 409, 'invalid_state');
      }
      expect((await heldAtM(m, SUPERVISOR, id)).notices).toEqual([]);
    } finally {
      toB.restore();
    }
    const atB = await untilStatus(b, id, 'delivered', 'request arrived');
    expect(atB.subject).toMatchObject({ title: `Burial site of ${MARKER}` });
    await untilRequest(a, id, (r) => r.receiptAt !== null, 'B’s receipt at A');
  });

  it('pauses both clocks at A and at B from the instant M signed, and shows both notices taken', async () => {
    const view0 = await untilAtM(
      m,
      SUPERVISOR,
      id,
      (v) => v.agree && v.asResponder === 'delivered',
      'the request delivered',
    );
    const [atA0, atB0] = [(await requestDetail(a, id))!, (await requestDetail(b, id))!];
    before = { ack: atA0.ackDueAt!, response: atA0.responseDueAt! };
    expect(before.ack).toBe(plusMs(atA0.receiptAt!, ACK_SECONDS * 1000));
    expect(before.response).toBe(plusMs(atA0.receiptAt!, RESPOND_SECONDS * 1000));
    for (const [where, ack, response] of [
      ['B', atB0.ackDueAt, atB0.responseDueAt],
      ['M', deadlineAtM(view0, 'acknowledgement').dueAt, deadlineAtM(view0, 'response').dueAt],
    ] as const) {
      expect(ack, where).toBe(before.ack);
      expect(response, where).toBe(before.response);
    }

    // Without both parties' consent M signs no pause: A's alone is not enough.
    expectRefused(await notice(m, SUPERVISOR, id, { action: 'pause' }), 409, 'pause_consent');
    const ofA = held(await consent(a, id));
    expect(ofA).toMatchObject({ mediator: 'party-m', createdBy: expect.any(String) });
    // Asked again once M holds it: a fresh consent (M may have used the last in a pause that did
    // not reach A); M uses each party's newest, and the older is spent with it.
    const againA = held(await consent(a, id));
    expect(againA.msgId).not.toBe(ofA.msgId);
    const refused = await notice(m, SUPERVISOR, id, { action: 'pause' });
    expectRefused(refused, 409, 'pause_consent');
    expect((refused.body as { detail: string }).detail).toContain('party-b');
    expect((await heldAtM(m, SUPERVISOR, id)).notices).toEqual([]);
    const ofB = held(await consent(b, id));
    expect(
      (await heldAtM(m, SUPERVISOR, id)).consents.map((c) => [c.party, c.msgId, c.pauseId]).sort(),
    ).toEqual(
      [
        ['party-a', ofA.msgId, null],
        ['party-a', againA.msgId, null],
        ['party-b', ofB.msgId, null],
      ].sort(),
    );

    paused = signed(await notice(m, SUPERVISOR, id, { action: 'pause' }));
    // One per party, the same pause id and instant in both.
    expect(paused.map((n) => `${n.side}:${n.to}`).sort()).toEqual([
      'requester:party-a',
      'responder:party-b',
    ]);
    const [first] = paused;
    pauseAt = first!.at!;
    for (const n of paused) {
      expect(n).toMatchObject({
        action: 'pause',
        pauseId: first!.pauseId,
        at: pauseAt,
        deadline: null,
        createdBy: SUPERVISOR,
      });
    }
    expect(first!.pauseId).not.toBeNull();
    expect(Date.parse(pauseAt)).toBeGreaterThan(Date.parse(atA0.receiptAt!));

    for (const node of [a, b]) {
      const who = node.config.partyId;
      const r = await untilRequest(
        node,
        id,
        (x) => eventOf(x, 'clock_paused').length > 0,
        'clock_paused on the timeline',
      );
      const events = eventOf(r, 'clock_paused');
      expect(events, who).toHaveLength(1);
      const mine = paused.find((n) => n.to === who)!;
      expect(events[0]).toMatchObject({
        actor: 'party-m',
        detail: {
          pauseId: first!.pauseId,
          at: pauseAt,
          msgId: mine.msgId,
          digest: mine.digest,
          consentedBy: ['party-a', 'party-b'],
        },
      });
      expect(r.status, who).toBe('delivered');
      for (const kind of ['acknowledgement', 'response'] as const) {
        const e = explained(r, kind);
        expect(e.clockStopped, `${who} ${kind}`).toBe(true);
        expect(e.mediatorPauses, `${who} ${kind}`).toEqual([{ from: pauseAt, to: null }]);
      }
    }

    const view = await untilAtM(
      m,
      SUPERVISOR,
      id,
      (v) => v.notices.length === 2 && v.notices.every((n) => n.state === 'delivered'),
      'both pause notices delivered',
    );
    expect(view.pauses).toEqual([
      {
        pauseId: first!.pauseId,
        from: pauseAt,
        to: null,
        counted: true,
        takenBy: ['party-a', 'party-b'],
      },
    ]);
    for (const n of view.notices) {
      expect(n, n.to).toMatchObject({ action: 'pause', code: null });
      expect(n.receivedAt, n.to).not.toBeNull();
      expect(Date.parse(n.receivedAt!)).toBeGreaterThanOrEqual(Date.parse(pauseAt) - 1000);
    }
    expect(view.notices.map((n) => n.msgId).sort()).toEqual(paused.map((n) => n.msgId).sort());
    expect(view.agree).toBe(true);
    for (const kind of ['acknowledgement', 'response'] as const)
      expect(deadlineAtM(view, kind).clockStopped, kind).toBe(true);

    // The newest consents are used: each names the pause that carried it.
    expect(
      view.consents
        .filter((c) => c.pauseId === first!.pauseId)
        .map((c) => c.msgId)
        .sort(),
    ).toEqual([againA.msgId, ofB.msgId].sort());
    // A second pause while this one is open: refused, nothing stored.
    expectRefused(await notice(m, SUPERVISOR, id, { action: 'pause' }), 409, 'invalid_state');
    expect((await heldAtM(m, SUPERVISOR, id)).notices).toEqual(view.notices);
  });

  it('resumes them: A, B and M count the same due times, later by the paused time', async () => {
    const resumed = signed(await notice(m, SUPERVISOR, id, { action: 'resume' }));
    expect(resumed.map((n) => n.to).sort()).toEqual(['party-a', 'party-b']);
    resumeAt = resumed[0]!.at!;
    for (const n of resumed)
      expect(n).toMatchObject({ action: 'resume', pauseId: paused[0]!.pauseId, at: resumeAt });
    const pausedMs = Date.parse(resumeAt) - Date.parse(pauseAt);
    expect(pausedMs).toBeGreaterThan(0);

    const after: Record<string, { ack: string; response: string }> = {};
    for (const node of [a, b]) {
      const who = node.config.partyId;
      const r = await untilRequest(
        node,
        id,
        (x) => eventOf(x, 'clock_resumed').length > 0,
        'clock_resumed on the timeline',
      );
      const mine = resumed.find((n) => n.to === who)!;
      expect(eventOf(r, 'clock_resumed')).toEqual([
        expect.objectContaining({
          actor: 'party-m',
          detail: expect.objectContaining({
            pauseId: paused[0]!.pauseId,
            at: resumeAt,
            msgId: mine.msgId,
          }),
        }),
      ]);
      for (const kind of ['acknowledgement', 'response'] as const) {
        const e = explained(r, kind);
        expect(e.clockStopped, `${who} ${kind}`).toBe(false);
        expect(e.mediatorPauses, `${who} ${kind}`).toEqual([{ from: pauseAt, to: resumeAt }]);
        expect(e.mediatorPausedSeconds, `${who} ${kind}`).toBe(Math.round(pausedMs / 1000));
        expect(e.dueAt, `${who} ${kind}`).toBe(
          kind === 'acknowledgement' ? r.ackDueAt : r.responseDueAt,
        );
      }
      after[who] = { ack: r.ackDueAt!, response: r.responseDueAt! };
    }

    const view = await untilAtM(
      m,
      SUPERVISOR,
      id,
      (v) => v.notices.length === 4 && v.notices.every((n) => n.state === 'delivered'),
      'the resume notices delivered',
    );
    expect(view.pauses).toEqual([
      {
        pauseId: paused[0]!.pauseId,
        from: pauseAt,
        to: resumeAt,
        counted: true,
        takenBy: ['party-a', 'party-b'],
      },
    ]);
    after['party-m'] = {
      ack: deadlineAtM(view, 'acknowledgement').dueAt,
      response: deadlineAtM(view, 'response').dueAt,
    };
    for (const kind of ['acknowledgement', 'response'] as const)
      expect(deadlineAtM(view, kind).clockStopped, kind).toBe(false);

    // The same due times on all three, each moved by exactly the paused time.
    const expected = {
      ack: plusMs(before.ack, pausedMs),
      response: plusMs(before.response, pausedMs),
    };
    expect(after).toEqual({ 'party-a': expected, 'party-b': expected, 'party-m': expected });
    for (const [who, due] of Object.entries(after)) {
      expect(Date.parse(due.ack) - Date.parse(before.ack), who).toBeGreaterThanOrEqual(pausedMs);
      expect(Date.parse(due.response) - Date.parse(before.response), who).toBeGreaterThanOrEqual(
        pausedMs,
      );
    }
  });

  it('reminds B only of its response deadline, delivered by M’s watch once B can be reached', async () => {
    const count = (await heldAtM(m, SUPERVISOR, id)).notices.length;
    toB.cut();
    let reminder: MediatorNoticeView;
    try {
      const items = signed(
        await notice(m, SUPERVISOR, id, {
          action: 'reminder',
          deadline: 'response',
          to: 'responder',
        }),
      );
      expect(items).toHaveLength(1);
      reminder = items[0]!;
      expect(reminder).toMatchObject({
        to: 'party-b',
        side: 'responder',
        action: 'reminder',
        deadline: 'response',
        pauseId: null,
        at: null,
      });
      // B cannot be reached: the notice waits at M, and M's view says the parties do not agree.
      const waiting = await untilAtM(
        m,
        SUPERVISOR,
        id,
        (v) => (v.notices.find((n) => n.msgId === reminder.msgId)?.attempts ?? 0) >= 1,
        'a first attempt to deliver the reminder',
      );
      expect(waiting.notices.find((n) => n.msgId === reminder.msgId)).toMatchObject({
        state: 'pending',
        receivedAt: null,
        code: expect.stringMatching(/^unreachable/),
      });
      expect(waiting.agree).toBe(false);
      expect(eventOf((await requestDetail(b, id))!, 'mediator_reminder')).toEqual([]);
    } finally {
      toB.restore();
    }

    const view = await untilAtM(
      m,
      SUPERVISOR,
      id,
      (v) => v.notices.find((n) => n.msgId === reminder.msgId)?.state === 'delivered',
      'the reminder delivered at a pass of the watch',
      { watchPass: true },
    );
    expect(view.notices).toHaveLength(count + 1);
    expect(view.notices.filter((n) => n.action === 'reminder')).toEqual([
      expect.objectContaining({ to: 'party-b', state: 'delivered', code: null }),
    ]);
    expect(view.agree).toBe(true);
    const dueAt = deadlineAtM(view, 'response').dueAt;

    const atB = await untilRequest(
      b,
      id,
      (r) => eventOf(r, 'mediator_reminder').length > 0,
      'the reminder on the timeline',
    );
    expect(eventOf(atB, 'mediator_reminder')).toEqual([
      expect.objectContaining({
        actor: 'party-m',
        status: null,
        detail: expect.objectContaining({
          msgId: reminder!.msgId,
          deadline: 'response',
          due_at: dueAt,
        }),
      }),
    ]);
    expect(atB.responseDueAt).toBe(dueAt);
    // A was not reminded; nothing else changed for either.
    const atA = (await requestDetail(a, id))!;
    expect(eventOf(atA, 'mediator_reminder')).toEqual([]);
    for (const r of [atA, atB]) expect(r.status).toBe('delivered');

    // Another reminder of the same deadline to B (alone, or with A) within the hour: held back,
    // with when it may go, and nothing signed (which reminders go: mediator-reminders.test.ts).
    for (const to of ['responder', 'both']) {
      const again = await notice(m, SUPERVISOR, id, {
        action: 'reminder',
        deadline: 'response',
        to,
      });
      expectRefused(again, 429, 'rate_limited');
      const wait = (again.body as { retry_after: number }).retry_after;
      expect(wait).toBeGreaterThan(3_500);
      expect(wait).toBeLessThanOrEqual(3_600);
      expect(again.headers.get('retry-after')).toBe(String(wait));
    }
    expect((await heldAtM(m, SUPERVISOR, id)).notices).toHaveLength(count + 1);
  });

  it('refuses at M’s route what does not fit, and stores nothing', async () => {
    const held = (await heldAtM(m, SUPERVISOR, id)).notices;
    expect(held.length).toBeGreaterThan(0);
    // No pause open (the one above was resumed).
    expectRefused(await notice(m, SUPERVISOR, id, { action: 'resume' }), 409, 'invalid_state');
    // An officer of M may not; a party relays nothing, so its node knows no such request to mediate.
    const officer = await m.token('officer', 'officer-milan');
    expectRefused(await notice(m, SUPERVISOR, id, { action: 'pause' }, officer), 403, 'forbidden');
    const atA = await call(a.url, 'POST', `/v1/mediated/${id}/notices`, {
      token: await a.token('supervisor'),
      json: { action: 'pause' },
    });
    expectRefused(atA, 404, 'unknown_request');
    // No such request at M.
    expectRefused(await notice(m, SUPERVISOR, ulid(), { action: 'pause' }), 404, 'unknown_request');
    expectRefused(
      await notice(m, SUPERVISOR, 'not-a-request', { action: 'pause' }),
      400,
      'schema_invalid',
    );
    // Malformed bodies.
    for (const json of [
      {},
      { action: 'stop' },
      { action: 'reminder' },
      { action: 'reminder', deadline: 'closure' },
      { action: 'reminder', deadline: 'response', to: 'party-m' },
      { action: 'pause', pause_id: ulid() },
      { action: 'resume', note: 'Resume please' },
      [{ action: 'pause' }],
    ])
      expectRefused(await notice(m, SUPERVISOR, id, json), 400, 'schema_invalid');
    expect((await heldAtM(m, SUPERVISOR, id)).notices).toEqual(held);
    // Nothing reached either party meanwhile.
    for (const node of [a, b]) {
      const r = (await requestDetail(node, id))!;
      expect(eventOf(r, 'clock_paused'), node.config.partyId).toHaveLength(1);
      expect(explained(r, 'acknowledgement').clockStopped, node.config.partyId).toBe(false);
    }
  });

  it('lists M’s notices in a party’s evidence, verified offline with M’s keys', async () => {
    const view = await heldAtM(m, SUPERVISOR, id);
    for (const [node, count] of [
      [a, 2],
      [b, 3],
    ] as const) {
      const who = node.config.partyId;
      const bundle = await bundleFrom(node, id);
      const report = await verifyBundle(bundle, trust);
      expect(failed(report), who).toEqual([]);
      expect(report.ok, who).toBe(true);
      const mine = view.notices.filter((n) => n.to === who);
      expect(mine, who).toHaveLength(count);
      const byItem = new Map(report.verdicts.map((v) => [v.item, v]));
      for (const n of mine) {
        expect(bundle.envelopes, `${who} ${n.action}`).toContainEqual(
          expect.objectContaining({ digest: n.digest, direction: 'received' }),
        );
        expect(byItem.get(`envelope ${n.digest.slice(0, 16)}`), `${who} ${n.action}`).toEqual(
          expect.objectContaining({
            ok: true,
            detail: `mediation (${n.action}) from party-m, signature and digest check, logged`,
          }),
        );
        // With the party's own receipt, the one M holds (received when M's view says).
        const receipt = bundle.receipts.find((r) => r.for_digest === n.digest);
        expect(receipt, `${who} ${n.action}: its receipt`).toMatchObject({ direction: 'sent' });
        expect(byItem.get(`receipt ${receipt!.digest.slice(0, 16)}`)).toEqual(
          expect.objectContaining({
            ok: true,
            detail: `${who} received the message at ${n.receivedAt}`,
          }),
        );
      }
      // Its consents to the pause (A gave two), sent to M, with M's receipts: the agreement is
      // evidence too.
      const given = (
        await node.database.pool.query<{ digest: string }>(
          'SELECT digest FROM pause_consents WHERE req_id = $1',
          [id],
        )
      ).rows;
      expect(given.length, who).toBe(node === a ? 2 : 1);
      for (const { digest: consentDigest } of given) {
        expect(bundle.envelopes).toContainEqual(
          expect.objectContaining({ digest: consentDigest, direction: 'sent' }),
        );
        expect(byItem.get(`envelope ${consentDigest.slice(0, 16)}`)).toEqual(
          expect.objectContaining({
            ok: true,
            detail: `mediation (consent) from ${who}, signature and digest check, logged`,
          }),
        );
        const mReceipt = bundle.receipts.find((r) => r.for_digest === consentDigest);
        expect(mReceipt, `${who}: M's receipt of its consent`).toMatchObject({
          direction: 'received',
        });
        expect(byItem.get(`receipt ${mReceipt!.digest.slice(0, 16)}`)?.detail).toMatch(
          /^party-m received the message at /,
        );
      }
      // Only its own: none M sent the other party.
      const others = view.notices.filter((n) => n.to !== who).map((n) => n.digest);
      for (const e of bundle.envelopes) expect(others).not.toContain(e.digest);
      // The timeline in the bundle holds the pause and the resume.
      expect(bundle.timeline.map((e) => e.type)).toEqual(
        expect.arrayContaining(['clock_paused', 'clock_resumed']),
      );
      expect(JSON.stringify(bundle)).not.toContain(MARKER);

      if (node !== a) continue;
      // A notice changed: named. M's keys not trusted: M's notices no longer check.
      const pause = mine.find((n) => n.action === 'pause')!;
      const copy = structuredClone(bundle);
      const env = copy.envelopes.find((e) => e.digest === pause.digest)!;
      if (!('token' in env)) throw new Error('the pause notice is withheld from the bundle');
      env.token = flipSignature(env.token);
      const changed = await verifyBundle(copy, trust);
      expect(changed.ok).toBe(false);
      expect(failed(changed).map((v) => v.item)).toContain(`envelope ${pause.digest.slice(0, 16)}`);
      const { 'party-m': _m, ...withoutM } = trust;
      const untrusted = await verifyBundle(bundle, withoutM);
      expect(untrusted.ok).toBe(false);
      for (const n of mine)
        expect(failed(untrusted).map((v) => v.item)).toContain(`envelope ${n.digest.slice(0, 16)}`);
    }
  });

  it('a party refuses a notice that does not come from its mediator', async () => {
    const other = await createRequest(a, `Grave of ${MARKER}`);
    await untilStatus(b, other, 'delivered', 'the second request arrived');
    await untilRequest(a, other, (r) => r.receiptAt !== null, 'B’s receipt at A');
    const ackDueAt = (await requestDetail(a, other))!.ackDueAt;

    // B signs a pause of A's clocks with its own key, as if it were M.
    const keyOfB = (await loadKeyring(b.config.keysDir)).signerFor('mediation');
    const forgedConsent = await consentOfB(other, keyOfB);
    const forged = await signDraft(
      {
        kind: 'mediation',
        iss: 'party-b',
        aud: 'party-a',
        req_id: other,
        body: {
          action: 'pause',
          pause_id: ulid(),
          from: new Date().toISOString(),
          consents: [forgedConsent, forgedConsent],
        },
      },
      keyOfB,
    );
    // Straight to A: B's messages come through M only.
    expectRefused(await postEnvelope(a, forged.token), 400, 'relay_missing');
    // Through M, as B's node would send it: a notice is M's own, M relays none from a party.
    const relayed = await postEnvelope(m, forged.token);
    expectRefused(relayed, 403, 'wrong_audience');
    const atM = await m.database.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM relayed_messages WHERE digest = $1',
      [forged.digest],
    );
    expect(atM.rows[0]!.n).toBe(0);
    expect((await heldAtM(m, SUPERVISOR, other)).complete).toBe(true);

    const { rows } = await a.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM inbox_messages WHERE req_id = $1 AND kind = 'mediation'`,
      [other],
    );
    expect(rows[0]!.n).toBe(0);
    const atA = (await requestDetail(a, other))!;
    expect(eventOf(atA, 'clock_paused')).toEqual([]);
    expect(explained(atA, 'acknowledgement').clockStopped).toBe(false);
    expect(atA.ackDueAt).toBe(ackDueAt);
    // M's own view of that request: still readable, and M signed no notice about it.
    expect((await heldAtM(m, SUPERVISOR, other)).notices).toEqual([]);
  });

  it('a party refuses a pause by M that does not carry its partner’s consent, or carries a used one', async () => {
    const other = await createRequest(a, `Mine map of ${MARKER}`);
    await untilStatus(b, other, 'delivered', 'the third request arrived');
    await untilRequest(a, other, (r) => r.receiptAt !== null, 'B’s receipt at A');
    const before = (await requestDetail(a, other))!;
    // A agrees; B does not. A's own consent, as A signed it.
    const ofA = held(await consent(a, other));
    const consentOfA = await consentToken(a, ofA.msgId);
    const keysOfM = await loadKeyring(m.config.keysDir);
    // M's key signing a "consent of B": not B's signature.
    const notB = await consentOfB(other, keysOfM.signerFor('mediation'));
    // B's real consent, but to the first request's pause, carried already.
    const usedOfB = (
      await b.database.pool.query<{ token: string }>(
        'SELECT token FROM pause_consents WHERE req_id = $1',
        [id],
      )
    ).rows[0]!.token;
    // B's real consent to this request, and a pause backdated to before either consent.
    const ofB = held(await consent(b, other));
    const realOfB = await consentToken(b, ofB.msgId);
    const beforeBoth = new Date(Date.parse(ofA.createdAt) - 3_600_000).toISOString();
    for (const [why, consents, from] of [
      ['B’s consent signed by M', [consentOfA, notB], undefined],
      ['B’s consent about another request', [consentOfA, usedOfB], undefined],
      ['A’s consent twice', [consentOfA, consentOfA], undefined],
      ['a pause from before both consents', [consentOfA, realOfB], beforeBoth],
    ] as const) {
      const pause = await signDraft(
        {
          kind: 'mediation',
          iss: 'party-m',
          aud: 'party-a',
          req_id: other,
          body: {
            action: 'pause',
            pause_id: ulid(),
            from: from ?? new Date().toISOString(),
            consents: [...consents],
          },
        },
        keysOfM.signerFor('mediation'),
      );
      const res = await postEnvelope(a, pause.token);
      expect(res.status, `${why}: ${JSON.stringify(res.body)}`).toBe(409);
      expect((res.body as { code: string }).code, why).toBe('pause_consent');
    }
    // Nothing stopped A's clocks.
    const after = (await requestDetail(a, other))!;
    expect(eventOf(after, 'clock_paused')).toEqual([]);
    expect(explained(after, 'acknowledgement').clockStopped).toBe(false);
    expect(after.ackDueAt).toBe(before.ackDueAt);
  });

  it('sends none once the request ended', async () => {
    const withdrawn = await act(a, id, 'withdraw', { reason: `No longer needed, ${MARKER}` });
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(200);
    await untilStatus(b, id, 'withdrawn', 'withdrawn at B');
    await untilAtM(
      m,
      SUPERVISOR,
      id,
      (v) => v.agree && v.settledStatus === 'withdrawn',
      'withdrawn on both sides',
    );
    const held = (await heldAtM(m, SUPERVISOR, id)).notices;
    for (const json of [
      { action: 'pause' },
      { action: 'reminder', deadline: 'response', to: 'both' },
    ])
      expectRefused(await notice(m, SUPERVISOR, id, json), 409, 'invalid_state');
    expect((await heldAtM(m, SUPERVISOR, id)).notices).toEqual(held);
    // Histories with a mediator's pause, resume and reminder, replayed on every run from now on.
    await recordHistory(a.temporal.client, `request-${id}`, 'outgoing-mediated-paused-withdrawn');
    await recordHistory(b.temporal.client, `request-${id}`, 'incoming-mediated-paused-withdrawn');
  });
});
