// A mediator's view of one request it relays (domain/mediated-view.ts; README, _Mediated
// exchange_): from the signed messages M relayed and the recipients' receipts it passed back, the
// state each party shows, whether they agree, the state both reach, the deadlines as the parties
// count them, and what became of each message. Hand-built conversations, checked against the
// convergence rule's table in the README and against what each party folds from what it holds.
import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mediatedView, type RelayedMessage } from '../../domain/mediated-view.js';
import { policyDigest } from '../../node/policy.js';
import { MediatedRequestView, type MediatorNoticeView } from '../../schemas/mediator-api.js';
import type { Side } from '../../workflows/actions.js';
import { contiguous, factsOf, settle, type ConvMessage } from '../../workflows/conversation.js';
import { testPolicy } from '../helpers/test-policy.js';

const T0 = Date.parse('2026-03-02T08:00:00.000Z');
/** The instant `s` seconds after T0. */
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

const ACK_SECONDS = 3600;
const RESPOND_SECONDS = 86_400;
const ESCALATION = [0, 1800, 7200];

/** M's policy, the one the parties agreed: the same file, so the same digest. */
const POLICY = testPolicy('mediated view test policy (seconds)', [
  {
    request_type: 'grave_information',
    priority: 'routine',
    acknowledge_seconds: ACK_SECONDS,
    respond_seconds: RESPOND_SECONDS,
    escalation_after_seconds: ESCALATION,
    clarification_stops_clock: true,
  },
  {
    request_type: 'mine_map',
    priority: 'critical',
    acknowledge_seconds: 60,
    respond_seconds: 600,
  },
]);
/** Another policy's digest, as a request under a policy M does not hold carries. */
const OTHER_DIGEST = policyDigest({ ...POLICY.raw, name: 'another policy' });

const REQ_ID = '01JQ7Z0000000000000000REQ1';
const PARTY: Record<Side, string> = { requester: 'party-a', responder: 'party-b' };

let counter = 0;
const ulidOf = (n: number) => `01JQ7Z${String(n).padStart(20, '0')}`;
const digestOf = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

interface Spec {
  kind: RelayedMessage['kind'];
  from: Side;
  seq: number;
  seen: number;
  /** Seconds after T0 when its sender signed it; M relays it a second later. */
  sent: number;
  /** Seconds after T0 of the recipient's receipt, or null while in transit. */
  received: number | null;
  body?: Record<string, unknown>;
  refused?: boolean;
  msgId?: string;
}

/** One message as M relayed it (only the body members a sealed message carries in clear). */
function relayed(s: Spec): RelayedMessage {
  counter += 1;
  const msgId = s.msgId ?? ulidOf(counter);
  return {
    digest: digestOf(`${msgId}:${counter}`),
    msgId,
    iss: PARTY[s.from],
    aud: PARTY[s.from === 'requester' ? 'responder' : 'requester'],
    kind: s.kind,
    seq: s.seq,
    seen: s.seen,
    sentAt: at(s.sent),
    body: s.body ?? {},
    relayedAt: at(s.sent + 1),
    receivedAt: s.received === null ? null : at(s.received),
    refused: s.refused ?? false,
  };
}

const requestBody = (digest = POLICY.digest) => ({
  request_type: 'grave_information',
  priority: 'routine',
  policy_digest: digest,
});

/** A's request, received by B at T0+2 s unless told otherwise. */
const request = (received: number | null = 2, digest?: string) =>
  relayed({
    kind: 'request',
    from: 'requester',
    seq: 1,
    seen: 0,
    sent: 0,
    received,
    body: requestBody(digest),
  });

/**
 * B's acknowledgement of the request, its first message (seq 1, having seen the request), signed
 * `sent` seconds after T0 and received at `received` (null: in transit).
 */
const acknowledgement = (sent = 5, received: number | null = 7, more: Partial<Spec> = {}) =>
  relayed({ kind: 'acknowledgement', from: 'responder', seq: 1, seen: 1, sent, received, ...more });

/** B's final response after its acknowledgement (seq 2), signed at T0+20 s. */
const finalResponse = (received: number | null) =>
  relayed({
    kind: 'response',
    from: 'responder',
    seq: 2,
    seen: 1,
    sent: 20,
    received,
    body: { final: true },
  });

/**
 * A's withdrawal, its message 2 (having seen B's message 1 unless `more` says otherwise), signed at
 * T0+30 s and received at `received` (null: in transit).
 */
const withdrawalOfA = (received: number | null, more: Partial<Spec> = {}) =>
  relayed({ kind: 'withdrawal', from: 'requester', seq: 2, seen: 1, sent: 30, received, ...more });

/** B's message 2 (`kind`, `body`), signed at T0+31 s without having seen A's withdrawal. */
const crossingStep = (kind: Spec['kind'], body: Record<string, unknown>, received: number | null) =>
  relayed({ kind, from: 'responder', seq: 2, seen: 1, sent: 31, received, body });

/** Request received and acknowledged, then A's withdrawal and B's step signed unseen. */
function crossing(step: Spec['kind'], body: Record<string, unknown>, arrived: boolean) {
  return [
    request(),
    acknowledgement(),
    // Both had seen all the other had sent before: neither has seen the other's new message.
    withdrawalOfA(arrived ? 40 : null),
    crossingStep(step, body, arrived ? 41 : null),
  ];
}

/** The view, checked against the wire type M answers with. */
function viewOf(messages: readonly RelayedMessage[], now = at(10)): MediatedRequestView {
  const view = mediatedView({ reqId: REQ_ID, messages, policy: POLICY, now });
  expect(view).toBeDefined();
  return MediatedRequestView.parse(view);
}

const byKind = (view: MediatedRequestView, kind: string) => {
  const found = view.messages.filter((m) => m.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0]!;
};
const deadline = (view: MediatedRequestView, kind: 'acknowledgement' | 'response') => {
  const d = view.deadlines.find((x) => x.kind === kind);
  expect(d, kind).toBeDefined();
  return d!;
};

/**
 * What a party's own node folds from what it holds: every message it sent that was not refused,
 * with the receipt times it holds, and the other side's messages it received, in seq order. Its
 * own copy of the rule, independent of the view's, to compare with.
 */
function partyStatus(side: Side, messages: readonly RelayedMessage[]): string {
  const conv = (m: RelayedMessage, from: Side): ConvMessage => ({
    from,
    seq: m.seq!,
    seen: m.seen,
    msgId: m.msgId,
    digest: m.digest,
    kind: m.kind,
    sentAt: m.sentAt,
    receivedAt: m.receivedAt,
    facts: factsOf(m.body),
  });
  const of = (s: Side) =>
    messages.filter((m) => m.iss === PARTY[s] && !m.refused).map((m) => conv(m, s));
  const own = of(side);
  const other = side === 'requester' ? 'responder' : 'requester';
  const theirs = contiguous(
    new Map(of(other).flatMap((m) => (m.receivedAt ? [[m.seq, m] as const] : []))),
  );
  const [req, resp] = side === 'requester' ? [own, theirs] : [theirs, own];
  return settle(side, req, resp, () => null).state.lifecycle.status;
}

describe('mediatedView: the state each party shows', () => {
  it('shows the request in transit as submitted at A, with nothing to agree on yet', () => {
    const view = viewOf([request(null)]);
    expect(view).toMatchObject({
      reqId: REQ_ID,
      type: 'grave_information',
      priority: 'routine',
      requester: 'party-a',
      responder: 'party-b',
      asRequester: 'submitted',
      agree: false,
      receiptAt: null,
      deadlines: [],
      overdue: false,
    });
    expect(byKind(view, 'request')).toMatchObject({
      from: 'requester',
      seq: 1,
      state: 'in_transit',
      receivedAt: null,
    });
  });

  it('sets the requester and the responder apart while B’s acknowledgement is in transit', () => {
    const messages = [request(), acknowledgement(5, null)];
    const view = viewOf(messages);
    // A holds B's receipt of its request but not the acknowledgement; B has acknowledged.
    expect(view.asRequester).toBe('delivered');
    expect(view.asResponder).toBe('acknowledged');
    expect(view.agree).toBe(false);
    expect(view.settledStatus).toBe('acknowledged');
    expect(view.asRequester).toBe(partyStatus('requester', messages));
    expect(view.asResponder).toBe(partyStatus('responder', messages));
    expect(byKind(view, 'request')).toMatchObject({ state: 'received', receivedAt: at(2) });
    expect(byKind(view, 'acknowledgement')).toMatchObject({
      from: 'responder',
      state: 'in_transit',
      receivedAt: null,
      relayedAt: at(6),
      effect: 'applied',
    });
    expect(view.receiptAt).toBe(at(2));
  });

  it('agrees once the acknowledgement’s receipt came back', () => {
    const messages = [request(), acknowledgement()];
    const view = viewOf(messages);
    expect(view).toMatchObject({
      asRequester: 'acknowledged',
      asResponder: 'acknowledged',
      settledStatus: 'acknowledged',
      agree: true,
      lastActivityAt: at(7),
    });
    expect(view.messages.map((m) => m.state)).toEqual(['received', 'received']);
    expect(partyStatus('requester', messages)).toBe('acknowledged');
  });

  it('does not count a message its recipient refused for good', () => {
    const messages = [request(), acknowledgement(5, null, { refused: true })];
    // Past the acknowledgement deadline: the refused acknowledgement did not meet it.
    const view = viewOf(messages, at(2 + ACK_SECONDS + 10));
    expect(view).toMatchObject({
      asRequester: 'delivered',
      asResponder: 'delivered',
      settledStatus: 'delivered',
      // Nothing is in transit: B gave the acknowledgement up.
      agree: true,
      overdue: true,
    });
    expect(byKind(view, 'acknowledgement')).toMatchObject({ state: 'refused' });
    expect(byKind(view, 'acknowledgement').effect).toMatch(/refused/);
    expect(deadline(view, 'acknowledgement')).toMatchObject({ answeredAt: null, overdue: true });
  });

  it('derives the same view whatever order M read the messages in', () => {
    const messages = [request(), acknowledgement(), finalResponse(null)];
    // The same view; only the listing of messages with equal seq may follow the input.
    const sortedById = (v: MediatedRequestView) => ({
      ...v,
      messages: [...v.messages].sort((x, y) => x.msgId.localeCompare(y.msgId)),
    });
    const view = viewOf(messages);
    expect(sortedById(viewOf([...messages].reverse()))).toEqual(sortedById(view));
    expect(view).toMatchObject({
      asRequester: 'acknowledged',
      asResponder: 'answered',
      settledStatus: 'answered',
    });
    expect(view.messages.map((m) => `${m.from}:${m.seq}`)).toEqual(
      expect.arrayContaining(['requester:1', 'responder:1', 'responder:2']),
    );
  });
});

describe('mediatedView: crossing messages, by the convergence rule', () => {
  it.each([
    // README, _Convergence rule_: requester's action × responder's, what both end with.
    ['response', { final: true }, 'answered', false],
    ['response', { final: false }, 'withdrawn', true],
    ['decline', {}, 'declined', false],
    ['acknowledgement', {}, 'withdrawn', true],
  ] as const)(
    'a withdrawal crossing a %s %j ends %s on both sides',
    (kind, body, ends, withdrawalApplies) => {
      // The acknowledgement case crosses the request's first acknowledgement.
      const messages =
        kind === 'acknowledgement'
          ? [request(), withdrawalOfA(40, { seen: 0 }), acknowledgement(31, 41)]
          : crossing(kind, body, true);
      const view = viewOf(messages, at(100));
      expect(view).toMatchObject({
        asRequester: ends,
        asResponder: ends,
        settledStatus: ends,
        agree: true,
      });
      // Each party folds what it holds to the same state.
      expect(partyStatus('requester', messages)).toBe(ends);
      expect(partyStatus('responder', messages)).toBe(ends);
      // The responder's step stands; the withdrawal applies after it, or is too late.
      for (const m of view.messages.filter((x) => x.from === 'responder'))
        expect(m.effect, m.kind).toBe('applied');
      const withdrawal = byKind(view, 'withdrawal');
      if (withdrawalApplies) expect(withdrawal.effect).toBe('applied');
      else expect(withdrawal.effect).toMatch(new RegExp(`^no effect: .*${ends}`));
    },
  );

  it('shows each side its own move while a withdrawal and a final response cross in transit', () => {
    const messages = crossing('response', { final: true }, false);
    const view = viewOf(messages, at(100));
    // A withdrew and has not seen the response; B answered and has not seen the withdrawal.
    expect(view).toMatchObject({
      asRequester: 'withdrawn',
      asResponder: 'answered',
      agree: false,
      // Once both arrive: the response first (crossing), the withdrawal too late.
      settledStatus: 'answered',
    });
    expect(view.asRequester).toBe(partyStatus('requester', messages));
    expect(view.asResponder).toBe(partyStatus('responder', messages));
    expect(byKind(view, 'withdrawal')).toMatchObject({ state: 'in_transit' });
    expect(byKind(view, 'withdrawal').effect).toMatch(/^no effect: /);
    expect(byKind(view, 'response')).toMatchObject({ state: 'in_transit', effect: 'applied' });
    // The response met its deadline in the settled state.
    expect(deadline(view, 'response').answeredAt).toBe(at(31));
  });

  it('counts B’s in-transit step as seen by B only, even once A’s crossing message arrived', () => {
    // A's withdrawal reached B; B's final response is still on its way to A.
    const messages = crossing('response', { final: true }, true);
    const response = messages.at(-1)!;
    response.receivedAt = null;
    const view = viewOf(messages, at(100));
    expect(view.asRequester).toBe('withdrawn');
    expect(view.asResponder).toBe('answered');
    expect(view.settledStatus).toBe('answered');
    expect(view.agree).toBe(false);
    expect(byKind(view, 'withdrawal').state).toBe('received');
  });
});

describe('mediatedView: deadlines, when M holds the agreed policy', () => {
  const receipt = 2;
  const ackDue = at(receipt + ACK_SECONDS);
  const responseDue = at(receipt + RESPOND_SECONDS);

  it('counts both deadlines from B’s receipt of the request', () => {
    const view = viewOf([request(receipt)], at(receipt + ACK_SECONDS - 1));
    expect(view.policyKnown).toBe(true);
    expect(view.policyDigest).toBe(POLICY.digest);
    expect(view.deadlines).toEqual([
      {
        kind: 'acknowledgement',
        dueAt: ackDue,
        countsFrom: at(receipt),
        answeredAt: null,
        clockStopped: false,
        overdue: false,
        escalationLevel: 0,
        // Next: it falls due.
        nextChangeAt: ackDue,
      },
      {
        kind: 'response',
        dueAt: responseDue,
        countsFrom: at(receipt),
        answeredAt: null,
        clockStopped: false,
        overdue: false,
        escalationLevel: 0,
        nextChangeAt: responseDue,
      },
    ]);
    expect(view).toMatchObject({ overdue: false, escalationLevel: 0 });
  });

  it.each([
    [0, 1, 1800],
    [1799, 1, 1800],
    [1800, 2, 7200],
    [7199, 2, 7200],
    [7200, 3, null],
    [50_000, 3, null],
  ])(
    'is overdue %i s after an unanswered acknowledgement deadline, at level %i',
    (late, level, next) => {
      const view = viewOf([request(receipt)], at(receipt + ACK_SECONDS + late));
      expect(deadline(view, 'acknowledgement')).toMatchObject({
        dueAt: ackDue,
        overdue: true,
        escalationLevel: level,
        // The next escalation level, none after the last.
        nextChangeAt: next === null ? null : at(receipt + ACK_SECONDS + next),
      });
      expect(deadline(view, 'response')).toMatchObject({ overdue: false, escalationLevel: 0 });
      expect(view).toMatchObject({ overdue: true, escalationLevel: level });
    },
  );

  it('takes the deadline as met by an acknowledgement, in time or late, from its signed time', () => {
    const now = at(receipt + ACK_SECONDS + 8000);
    for (const sent of [100, receipt + ACK_SECONDS + 500]) {
      const view = viewOf([request(receipt), acknowledgement(sent, sent + 3)], now);
      expect(deadline(view, 'acknowledgement')).toMatchObject({
        dueAt: ackDue,
        answeredAt: at(sent),
        overdue: false,
        escalationLevel: 0,
        // Met: it changes no more.
        nextChangeAt: null,
      });
      expect(view).toMatchObject({ overdue: false, escalationLevel: 0 });
    }
  });

  it('counts the response deadline, not the acknowledgement’s, once acknowledged', () => {
    const view = viewOf(
      [request(receipt), acknowledgement(50, 52)],
      at(receipt + RESPOND_SECONDS + 1800),
    );
    expect(deadline(view, 'acknowledgement').overdue).toBe(false);
    expect(deadline(view, 'response')).toMatchObject({
      dueAt: responseDue,
      answeredAt: null,
      overdue: true,
      escalationLevel: 2,
    });
    expect(view).toMatchObject({ overdue: true, escalationLevel: 2 });
  });

  it('is not overdue once the request ended', () => {
    const view = viewOf(
      [
        request(receipt),
        relayed({ kind: 'decline', from: 'responder', seq: 1, seen: 1, sent: 50, received: null }),
      ],
      at(receipt + RESPOND_SECONDS + 9000),
    );
    expect(view.settledStatus).toBe('declined');
    expect(view.deadlines.map((d) => [d.kind, d.overdue, d.answeredAt, d.nextChangeAt])).toEqual([
      ['acknowledgement', false, at(50), null],
      ['response', false, at(50), null],
    ]);
    expect(view.overdue).toBe(false);
  });

  it('stops the response clock while a clarification question is open, and moves it by the pause', () => {
    const asked = relayed({
      kind: 'clarification_request',
      from: 'responder',
      seq: 2,
      seen: 1,
      sent: 200,
      received: 210,
    });
    const base = [request(receipt), acknowledgement(50, 52), asked];
    const open = viewOf(base, at(receipt + RESPOND_SECONDS + 9000));
    // Stopped: it moves when the answer comes, not with time.
    expect(deadline(open, 'response')).toMatchObject({
      clockStopped: true,
      overdue: false,
      nextChangeAt: null,
    });
    expect(open.overdue).toBe(false);

    // Answered: A's answer reached B at T0+410, so the clock stood still for 200 s.
    const answered = viewOf(
      [
        ...base,
        relayed({
          kind: 'clarification',
          from: 'requester',
          seq: 2,
          seen: 2,
          sent: 400,
          received: 410,
        }),
      ],
      at(500),
    );
    expect(deadline(answered, 'response')).toMatchObject({
      dueAt: at(receipt + RESPOND_SECONDS + 200),
      clockStopped: false,
    });
  });

  it('moves the response deadline to a granted extension’s new deadline', () => {
    const newDeadline = at(receipt + RESPOND_SECONDS * 3);
    const view = viewOf(
      [
        request(receipt),
        acknowledgement(50, 52),
        relayed({
          kind: 'extension_request',
          from: 'responder',
          seq: 2,
          seen: 1,
          sent: 60,
          received: 62,
          body: { proposed_deadline: newDeadline },
        }),
        relayed({
          kind: 'extension_decision',
          from: 'requester',
          seq: 2,
          seen: 2,
          sent: 70,
          received: 72,
          body: { granted: true, new_deadline: newDeadline },
        }),
      ],
      at(receipt + RESPOND_SECONDS + 60),
    );
    expect(deadline(view, 'response')).toMatchObject({ dueAt: newDeadline, overdue: false });
    expect(view.overdue).toBe(false);
  });

  it('counts no deadline under a policy it does not hold', () => {
    const view = viewOf([request(receipt, OTHER_DIGEST)], at(receipt + RESPOND_SECONDS * 2));
    expect(view).toMatchObject({
      policyDigest: OTHER_DIGEST,
      policyKnown: false,
      deadlines: [],
      overdue: false,
      escalationLevel: 0,
      // The state is still derived: that needs no policy.
      asRequester: 'delivered',
      asResponder: 'delivered',
      receiptAt: at(receipt),
    });
  });
});

describe('mediatedView: what it reads', () => {
  it('counts a message signed again (same msg_id, another digest) once, the version B took', () => {
    const first = request(null);
    const again: RelayedMessage = {
      ...first,
      digest: digestOf('signed again'),
      relayedAt: at(60),
      receivedAt: at(61),
    };
    for (const messages of [
      [first, again],
      [again, first],
    ]) {
      const view = viewOf(messages, at(100));
      expect(view.messages).toHaveLength(1);
      expect(view.messages[0]).toMatchObject({
        msgId: first.msgId,
        digest: again.digest,
        state: 'received',
        receivedAt: at(61),
      });
      expect(view).toMatchObject({ asRequester: 'delivered', agree: true, receiptAt: at(61) });
      expect(deadline(view, 'acknowledgement').countsFrom).toBe(at(61));
    }

    // Neither version taken yet: still one message, in transit.
    const other = { ...first, digest: digestOf('signed again, not taken'), relayedAt: at(60) };
    const waiting = viewOf([first, other], at(100));
    expect(waiting.messages).toHaveLength(1);
    expect(waiting.messages[0]!.state).toBe('in_transit');
    expect(waiting.agree).toBe(false);
  });

  it('has no view of a request whose request message did not go through M', () => {
    const ackOnly = [acknowledgement()];
    for (const messages of [[], ackOnly]) {
      expect(
        mediatedView({ reqId: REQ_ID, messages, policy: POLICY, now: at(10) }),
      ).toBeUndefined();
    }
  });

  it('reads only the public members of a sealed body', () => {
    // What a sealed closure carries in clear: its outcome. The rest (reason) is sealed.
    const messages = [
      request(),
      acknowledgement(),
      finalResponse(22),
      relayed({
        kind: 'closure',
        from: 'requester',
        seq: 2,
        seen: 2,
        sent: 30,
        received: 32,
        body: { outcome: 'incomplete' },
      }),
    ];
    // An incomplete closure reopens the request.
    expect(viewOf(messages, at(40))).toMatchObject({
      asRequester: 'acknowledged',
      asResponder: 'acknowledged',
      settledStatus: 'acknowledged',
      agree: true,
      lastActivityAt: at(32),
    });
  });
});

describe('mediatedView: which version of a message signed again counts', () => {
  /** Another version of `m` (same msg_id, another digest), relayed at T0+`relayed` s. */
  const versionOf = (
    m: RelayedMessage,
    label: string,
    relayed: number,
    more: Partial<RelayedMessage> = {},
  ): RelayedMessage => ({ ...m, digest: digestOf(label), relayedAt: at(relayed), ...more });

  it('takes the version B received, even when a newer one was relayed since', () => {
    const taken = request(2);
    const newer = versionOf(taken, 'relayed again, no answer', 60, { receivedAt: null });
    for (const messages of [
      [taken, newer],
      [newer, taken],
    ]) {
      const view = viewOf(messages, at(100));
      expect(view.messages).toHaveLength(1);
      expect(view.messages[0]).toMatchObject({
        digest: taken.digest,
        state: 'received',
        receivedAt: at(2),
      });
      expect(view).toMatchObject({ asRequester: 'delivered', agree: true, receiptAt: at(2) });
    }
  });

  it('takes the version its recipient received over one it refused for good', () => {
    const refused = acknowledgement(5, null, { refused: true });
    const taken = versionOf(refused, 'acknowledgement signed again, taken', 60, {
      receivedAt: at(61),
      refused: false,
    });
    for (const messages of [
      [request(), refused, taken],
      [request(), taken, refused],
    ]) {
      const view = viewOf(messages, at(100));
      expect(byKind(view, 'acknowledgement')).toMatchObject({
        digest: taken.digest,
        state: 'received',
        effect: 'applied',
      });
      expect(view).toMatchObject({ asRequester: 'acknowledged', settledStatus: 'acknowledged' });
    }
  });

  it('counts a message as refused (its sender gave it up) when a version was refused for good, even if another has no answer', () => {
    const unanswered = acknowledgement(5, null);
    const refused = versionOf(unanswered, 'acknowledgement refused for good', 60, {
      refused: true,
    });
    // Relayed after the refused one, before its sender heard of the refusal.
    const later = versionOf(unanswered, 'acknowledgement relayed after', 90);
    const now = at(2 + ACK_SECONDS + 10);
    for (const messages of [
      [request(), unanswered, refused],
      [request(), refused, unanswered],
      [request(), unanswered, refused, later],
      [request(), later, refused, unanswered],
    ]) {
      const view = viewOf(messages, now);
      expect(byKind(view, 'acknowledgement')).toMatchObject({
        digest: refused.digest,
        state: 'refused',
      });
      // B gave the acknowledgement up: nothing is in transit, and the deadline is not met.
      expect(view).toMatchObject({
        asRequester: 'delivered',
        asResponder: 'delivered',
        settledStatus: 'delivered',
        agree: true,
        overdue: true,
      });
      expect(deadline(view, 'acknowledgement').answeredAt).toBeNull();
    }
  });

  it('takes the newest relayed version when none has an answer', () => {
    const first = request(null);
    const newest = versionOf(first, 'relayed at T0+90', 90);
    const middle = versionOf(first, 'relayed at T0+60', 60);
    for (const messages of [
      [first, newest, middle],
      [newest, middle, first],
      [middle, first, newest],
    ]) {
      const view = viewOf(messages, at(100));
      expect(view.messages).toHaveLength(1);
      expect(view.messages[0]).toMatchObject({
        digest: newest.digest,
        relayedAt: at(90),
        state: 'in_transit',
      });
    }
  });
});

describe('mediatedView: whether M holds every message of the request (complete)', () => {
  const refusedAck = () => acknowledgement(5, null, { refused: true });
  it.each<[string, () => RelayedMessage[]]>([
    ['the request in transit', () => [request(null)]],
    ['the request received', () => [request()]],
    ['an acknowledgement in transit', () => [request(), acknowledgement(5, null)]],
    ['an acknowledgement received', () => [request(), acknowledgement()]],
    ['a refused acknowledgement', () => [request(), refusedAck()]],
    [
      'a refused message whose place its sender signed again',
      () => [
        request(),
        refusedAck(),
        acknowledgement(30, 32),
        relayed({ kind: 'withdrawal', from: 'requester', seq: 2, seen: 1, sent: 40, received: 42 }),
      ],
    ],
    [
      'a message signed again',
      () => {
        const first = request(null);
        return [first, { ...first, digest: digestOf('again'), receivedAt: at(3) }];
      },
    ],
    [
      'a withdrawal and a final response crossing',
      () => crossing('response', { final: true }, false),
    ],
  ])('is complete with %s', (_, messages) => {
    expect(viewOf(messages(), at(100)).complete).toBe(true);
  });

  it('is not complete when the requester’s messages have a gap, and folds only 1..n of them', () => {
    // A's message 2 went another way; its message 3 (a withdrawal) waits for it.
    const withdrawal = (seq: number) =>
      relayed({ kind: 'withdrawal', from: 'requester', seq, seen: 1, sent: 30, received: 32 });
    const view = viewOf([request(), acknowledgement(), withdrawal(3)], at(100));
    expect(view).toMatchObject({
      complete: false,
      asRequester: 'acknowledged',
      asResponder: 'acknowledged',
      settledStatus: 'acknowledged',
    });
    expect(byKind(view, 'withdrawal')).toMatchObject({
      seq: 3,
      state: 'received',
      effect: 'waits for an earlier message',
    });
    // Listed after the messages that were folded.
    expect(view.messages.map((m) => m.kind)).toEqual(['request', 'acknowledgement', 'withdrawal']);

    // Without the gap the same withdrawal applies.
    expect(viewOf([request(), acknowledgement(), withdrawal(2)], at(100))).toMatchObject({
      complete: true,
      settledStatus: 'withdrawn',
    });
  });

  it('is not complete when the responder’s messages have a gap, and folds only 1..n of them', () => {
    // B's acknowledgement (its message 1) went another way; only its final response came via M.
    const view = viewOf([request(), finalResponse(22)], at(100));
    expect(view).toMatchObject({
      complete: false,
      asRequester: 'delivered',
      asResponder: 'delivered',
      settledStatus: 'delivered',
    });
    expect(byKind(view, 'response').effect).toBe('waits for an earlier message');
  });

  it('is not complete when a message has no place (seq: null, from a sender that predates it)', () => {
    const noPlace = (m: RelayedMessage): RelayedMessage => ({ ...m, seq: null });
    for (const messages of [
      [request(), noPlace(acknowledgement())],
      [request(), noPlace(refusedAck())],
      [request(), acknowledgement(), noPlace(finalResponse(22))],
    ]) {
      const view = viewOf(messages, at(100));
      expect(view.complete).toBe(false);
      // The messages with a place are still shown.
      expect(view.messages.map((m) => m.msgId)).toEqual(
        messages.filter((m) => m.seq !== null).map((m) => m.msgId),
      );
    }
  });

  it.each<[string, () => RelayedMessage[]]>([
    [
      'A’s message saw a message of B that M does not hold',
      () => [request(), acknowledgement(), withdrawalOfA(null, { seen: 2 })],
    ],
    [
      'B’s message saw a message of A that M does not hold',
      () => [request(), acknowledgement(5, 7, { seen: 2 })],
    ],
  ])('is not complete when %s', (_, messages) => {
    expect(viewOf(messages(), at(100)).complete).toBe(false);
  });

  it('is not complete when B’s messages came but M never passed B’s receipt of the request back', () => {
    const view = viewOf([request(null), acknowledgement()], at(100));
    expect(view.complete).toBe(false);
    // Once the receipt is there, the same messages make a complete view.
    expect(viewOf([request(), acknowledgement()], at(100)).complete).toBe(true);
  });
});

describe('mediatedView: the responder’s state and the listing of messages', () => {
  it('shows no state for B while the request has no receipt from B', () => {
    expect(viewOf([request(null)]).asResponder).toBeNull();
    // Even with B's acknowledgement relayed: M cannot tell what B holds.
    expect(viewOf([request(null), acknowledgement()]).asResponder).toBeNull();
    expect(viewOf([request()]).asResponder).toBe('delivered');
    expect(viewOf([request(), acknowledgement(5, null)]).asResponder).toBe('acknowledged');
    // A version of the request received by B is enough.
    const first = request(null);
    const again = { ...first, digest: digestOf('request again'), relayedAt: at(30) };
    expect(viewOf([first, { ...again, receivedAt: at(31) }], at(40)).asResponder).toBe('delivered');
  });

  it('lists the messages in the order both parties fold them (the crossing responder’s first), refused ones last', () => {
    // B's clarification question (its message 2) was refused for good; B then signed a final
    // response as its message 2, crossing A's withdrawal.
    const refused = relayed({
      kind: 'clarification_request',
      from: 'responder',
      seq: 2,
      seen: 1,
      sent: 20,
      received: null,
      refused: true,
    });
    const withdrawal = withdrawalOfA(40);
    const response = crossingStep('response', { final: true }, 41);
    const expected = [
      'requester:request',
      'responder:acknowledgement',
      'responder:response',
      'requester:withdrawal',
      'responder:clarification_request',
    ];
    for (const messages of [
      [refused, withdrawal, response, acknowledgement(), request()],
      [request(), acknowledgement(), withdrawal, refused, response],
    ]) {
      const view = viewOf(messages, at(100));
      expect(view.messages.map((m) => `${m.from}:${m.kind}`)).toEqual(expected);
      expect(view.messages.map((m) => m.state)).toEqual([
        'received',
        'received',
        'received',
        'received',
        'refused',
      ]);
      expect(view).toMatchObject({ settledStatus: 'answered', complete: true });
    }
  });
});

describe('mediatedView: M’s pauses, as each party took them', () => {
  /** M's notice of `action` about pause P1 to `to`, in `state`. */
  const noticeTo = (
    n: number,
    to: string,
    action: 'pause' | 'resume',
    state: MediatorNoticeView['state'],
  ): MediatorNoticeView => ({
    msgId: ulidOf(900 + n),
    digest: digestOf(`notice ${n}`),
    to,
    side: to === PARTY.requester ? 'requester' : 'responder',
    action,
    pauseId: ulidOf(800),
    at: action === 'pause' ? at(3) : at(4),
    deadline: null,
    createdAt: action === 'pause' ? at(3) : at(4),
    createdBy: 'sup-m',
    state,
    receivedAt: state === 'delivered' ? at(5) : null,
    code: state === 'refused' ? 'pause_consent' : null,
    attempts: 1,
  });
  const withNotices = (notices: MediatorNoticeView[]) =>
    mediatedView({ reqId: REQ_ID, messages: [request()], policy: POLICY, now: at(10), notices });

  it('says which party took a pause, and that the parties disagree when only one did', () => {
    const both = withNotices([
      noticeTo(1, PARTY.requester, 'pause', 'delivered'),
      noticeTo(2, PARTY.responder, 'pause', 'delivered'),
    ])!;
    expect(both.pauses).toEqual([
      {
        pauseId: ulidOf(800),
        from: at(3),
        to: null,
        counted: true,
        takenBy: ['party-a', 'party-b'],
      },
    ]);
    expect(both.agree).toBe(true);

    for (const lost of ['refused', 'given_up'] as const) {
      const one = withNotices([
        noticeTo(1, PARTY.requester, 'pause', 'delivered'),
        noticeTo(2, PARTY.responder, 'pause', lost),
      ])!;
      expect(one.pauses[0], lost).toMatchObject({ counted: false, takenBy: ['party-a'] });
      expect(one.agree, lost).toBe(false);
    }
    // Refused by both: neither counts it, and they agree.
    const neither = withNotices([
      noticeTo(1, PARTY.requester, 'pause', 'refused'),
      noticeTo(2, PARTY.responder, 'pause', 'refused'),
    ])!;
    expect(neither.pauses[0]).toMatchObject({ counted: false, takenBy: [] });
    expect(neither.agree).toBe(true);
    // A resume B missed for good: B's clocks stay stopped, A's run again.
    const resumed = withNotices([
      noticeTo(1, PARTY.requester, 'pause', 'delivered'),
      noticeTo(2, PARTY.responder, 'pause', 'delivered'),
      noticeTo(3, PARTY.requester, 'resume', 'delivered'),
      noticeTo(4, PARTY.responder, 'resume', 'given_up'),
    ])!;
    expect(resumed.pauses[0]).toMatchObject({ counted: true, to: at(4) });
    expect(resumed.agree).toBe(false);
  });
});
