// A party withdraws its consent to a pause before the mediator used it (README, _Mediated
// exchange_, "Both parties agree to a pause"): three live nodes, A and B sealing their content
// through M.
//
// - With nothing to withdraw, the withdrawal is refused and nothing is signed.
// - A and B consent; A withdraws while M is away (kept, 202), then again once M is back: M holds
//   the withdrawal (A keeps M's receipt), A's request no longer shows a consent, M's view shows A's consent withdrawn, and M refuses to pause
//   (`pause_consent`, naming A) without signing anything.
// - A consents again; a withdrawal A signed before that consent, reaching M late, does not end it
//   (M orders them as A signed them). M pauses, and both parties' clocks stop; A's evidence,
//   holding the withdrawal and M's receipt of it, verifies offline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyBundle } from '../../audit/verify-bundle.js';
import { signDraft } from '../../protocol/sign.js';
import { PauseConsentView } from '../../schemas/mediator-api.js';
import { call } from '../helpers/http.js';
import type { TestNode } from '../helpers/node.js';
import {
  bundleFrom,
  consent,
  createRequest,
  eventOf,
  expectRefused,
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
import { requestDetail } from '../helpers/requests.js';

const SUPERVISOR = 'sup-dragana';
let trio: CutTrio;
let a: TestNode;
let m: TestNode;
let b: TestNode;

beforeAll(async () => {
  // A and B reach M through a proxy the test cuts, as an outage would.
  trio = await startMediatedTrio({ sealContent: true, cut: 'm' });
  ({ a, m, b } = trio);
}, 120_000);
afterAll(async () => {
  await trio?.stop();
});

/** A's officer withdraws A's consent to a pause of the request. */
const withdraw = async (node: TestNode, id: string) =>
  call(node.url, 'DELETE', `/v1/requests/${id}/pause-consent`, {
    token: await node.token('officer', 'officer-of-a'),
  });

/** A's rows of consents and withdrawals about the request, oldest first. */
async function keptAtA(id: string) {
  const { rows } = await a.database.pool.query<{ action: string; received_at: Date | null }>(
    'SELECT action, received_at FROM pause_consents WHERE req_id = $1 ORDER BY created_at',
    [id],
  );
  return rows.map((r) => `${r.action}:${r.received_at ? 'held' : 'not held'}`);
}

describe('withdrawing a consent to a pause', () => {
  let id: string;

  it('is refused while there is no consent to withdraw, and signs nothing', async () => {
    id = await createRequest(a, 'Exhumation records of the valley');
    await untilStatus(b, id, 'delivered', 'the request arrived');
    await untilRequest(a, id, (r) => r.receiptAt !== null, 'B’s receipt at A');
    await untilAtM(m, SUPERVISOR, id, (v) => v.asResponder === 'delivered', 'delivered at M');
    expectRefused(await withdraw(a, id), 409, 'invalid_state');
    expect(await keptAtA(id)).toEqual([]);
  });

  it('takes A’s consent back at M: M refuses to pause, and signs nothing', async () => {
    held(await consent(a, id));
    held(await consent(b, id));
    expect((await requestDetail(a, id))!.pauseConsent).not.toBeNull();

    // M cannot be reached: the withdrawal is kept, and M still holds A's consent.
    trio.proxy.cut();
    let res;
    try {
      res = await withdraw(a, id);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(PauseConsentView.parse(res.body).heldSince).toBeNull();
      expect(await keptAtA(id)).toEqual(['consent:held', 'withdraw_consent:not held']);
      const atM = (await heldAtM(m, SUPERVISOR, id)).consents;
      expect(atM.map((c) => [c.party, c.withdrawnAt])).toEqual([
        ['party-a', null],
        ['party-b', null],
      ]);
    } finally {
      trio.proxy.restore();
    }
    // Asked again: the same withdrawal goes to M.
    res = await withdraw(a, id);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const withdrawal = PauseConsentView.parse(res.body);
    expect(withdrawal).toMatchObject({ mediator: 'party-m', createdBy: 'officer-of-a' });
    expect(withdrawal.heldSince).not.toBeNull();
    expect(await keptAtA(id)).toEqual(['consent:held', 'withdraw_consent:held']);
    expect((await requestDetail(a, id))!.pauseConsent).toBeNull();
    // B's consent is B's: still given.
    expect((await requestDetail(b, id))!.pauseConsent).not.toBeNull();

    const view = await heldAtM(m, SUPERVISOR, id);
    expect(view.consents.map((c) => [c.party, c.pauseId, c.withdrawnAt !== null])).toEqual([
      ['party-a', null, true],
      ['party-b', null, false],
    ]);
    const refused = await notice(m, SUPERVISOR, id, { action: 'pause' });
    expectRefused(refused, 409, 'pause_consent');
    expect(JSON.stringify(refused.body)).toContain('party-a');
    expect((await heldAtM(m, SUPERVISOR, id)).notices).toEqual([]);
    // Nothing left to withdraw.
    expectRefused(await withdraw(a, id), 409, 'invalid_state');
  });

  it('a consent given again lets M pause both clocks, and A’s evidence verifies', async () => {
    held(await consent(a, id));
    // A withdrawal A signed a few seconds before that consent, reaching M only now (as one
    // kept while M was away and sent again would): M orders them as A signed them, so it does not
    // end the newer consent.
    const newest = (await requestDetail(a, id))!.pauseConsent!;
    const signedAt = new Date(Date.parse(newest.createdAt) - 3_000);
    const early = await signDraft(
      {
        kind: 'mediation',
        iss: 'party-a',
        aud: 'party-m',
        req_id: id,
        body: { action: 'withdraw_consent' },
      },
      a.exchange.outbox.keyring.signerFor('mediation', signedAt),
      signedAt,
    );
    const late = await postEnvelope(m, early.token);
    expect(late.status, JSON.stringify(late.body)).toBe(202);
    const atM = (await heldAtM(m, SUPERVISOR, id)).consents;
    expect(atM.find((c) => c.msgId === newest.msgId)).toMatchObject({ withdrawnAt: null });
    const [pause] = signed(await notice(m, SUPERVISOR, id, { action: 'pause' }));
    expect(pause).toBeDefined();
    for (const node of [a, b]) {
      const r = await untilRequest(
        node,
        id,
        (d) => eventOf(d, 'clock_paused').length === 1,
        'the pause taken',
      );
      expect(eventOf(r, 'clock_paused')[0]!.detail).toMatchObject({ pauseId: pause!.pauseId });
    }
    const view = await heldAtM(m, SUPERVISOR, id);
    const carried = view.consents.filter((c) => c.pauseId === pause!.pauseId);
    expect(carried.map((c) => c.party).sort()).toEqual(['party-a', 'party-b']);

    const bundle = await bundleFrom(a, id);
    const report = await verifyBundle(bundle, await trustOf(a, m, b));
    expect(failed(report)).toEqual([]);
    expect(report.ok).toBe(true);
    // The withdrawal is in it, with M's receipt: A's proof that M held it, and when.
    const kinds = report.verdicts.map((v) => v.detail).join('\n');
    expect(kinds).toContain('mediation (withdraw_consent) from party-a');
  });
});
