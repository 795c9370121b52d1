// Which consents M's pause carries (exchange/mediator-notices.ts `consentsForPause`) and how M's
// view shows them (exchange/mediated-requests.ts `consentViews`), with withdrawals (README,
// _Mediated exchange_): a withdrawal ends every consent of its party signed before it, a consent
// given after it counts again, and one party's withdrawal leaves the other's consent alone.
import { describe, expect, it } from 'vitest';
import type { HeldConsent } from '../../db/mediator-notices.js';
import { consentViews } from '../../exchange/mediated-requests.js';
import { consentsForPause } from '../../exchange/mediator-notices.js';

let n = 0;
/** A consent (or withdrawal) of `iss`, M taking it a second after the one before. */
function held(iss: string, action: HeldConsent['action'] = 'consent'): HeldConsent {
  n += 1;
  return {
    req_id: 'req',
    msg_id: `01J00000000000000000000${String(n).padStart(3, '0')}`,
    digest: `digest-${n}`,
    iss,
    token: `token-${n}`,
    received_at: new Date(Date.UTC(2026, 11, 7, 10, 0, n)),
    action,
  };
}
const PARTIES = ['party-a', 'party-b'];

describe('consentsForPause', () => {
  it('takes each party’s newest consent, and names a party without one', () => {
    const a1 = held('party-a');
    const a2 = held('party-a');
    const b1 = held('party-b');
    expect(consentsForPause([a1, b1, a2], [], PARTIES)).toEqual({ consents: [a2, b1] });
    expect(consentsForPause([a1], [], PARTIES)).toEqual({ missing: ['party-b'] });
  });

  it('a withdrawal ends the consents of its party before it, not the partner’s', () => {
    const a1 = held('party-a');
    const b1 = held('party-b');
    const aw = held('party-a', 'withdraw_consent');
    expect(consentsForPause([a1, b1, aw], [], PARTIES)).toEqual({ missing: ['party-a'] });
    // Given again after the withdrawal: it counts, with B's consent from before.
    const a2 = held('party-a');
    expect(consentsForPause([a1, b1, aw, a2], [], PARTIES)).toEqual({ consents: [a2, b1] });
    // B's withdrawal ends B's only.
    const bw = held('party-b', 'withdraw_consent');
    expect(consentsForPause([a1, b1, aw, a2, bw], [], PARTIES)).toEqual({ missing: ['party-b'] });
  });

  it('a consent carried by a pause is spent with the older ones; a withdrawal changes nothing of it', () => {
    const a1 = held('party-a');
    const b1 = held('party-b');
    const pause = { consents: [a1.digest, b1.digest] };
    expect(consentsForPause([a1, b1], [pause], PARTIES)).toEqual({
      missing: ['party-a', 'party-b'],
    });
    const aw = held('party-a', 'withdraw_consent');
    const a2 = held('party-a');
    const b2 = held('party-b');
    expect(consentsForPause([a1, b1, aw, a2, b2], [pause], PARTIES)).toEqual({
      consents: [a2, b2],
    });
  });
});

describe('consentViews', () => {
  it('shows each consent with the pause that carried it, or when its party withdrew it', () => {
    const a1 = held('party-a');
    const b1 = held('party-b');
    const a2 = held('party-a');
    const aw = held('party-a', 'withdraw_consent');
    const views = consentViews([a1, b1, a2, aw], new Map([[a1.digest, 'pause-1']]));
    expect(views).toEqual([
      expect.objectContaining({ msgId: a1.msg_id, pauseId: 'pause-1', withdrawnAt: null }),
      expect.objectContaining({ msgId: b1.msg_id, pauseId: null, withdrawnAt: null }),
      expect.objectContaining({
        msgId: a2.msg_id,
        pauseId: null,
        withdrawnAt: aw.received_at.toISOString(),
      }),
    ]);
  });
});
