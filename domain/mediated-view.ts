// A mediator's view of one request it relays (README, _Mediated exchange_): the state each party
// shows, derived as the party derives it, by the convergence rule (workflows/conversation.ts) over
// the signed messages M relayed and the recipients' receipts M passed back. Everything it reads is
// in clear in a sealed message too: kinds, order members, times, deadlines, and the facts the rule
// reads. Pure: no I/O, no clock (`now` is an input).
import type { Priority, RequestType } from '../schemas/common.js';
import type {
  MediatedDeadline,
  MediatedRequestView,
  MediatorNoticeView,
} from '../schemas/mediator-api.js';
import type { MessageKind } from '../schemas/envelope.js';
import type { DeadlinePolicy } from '../schemas/policy.js';
import type { Side } from '../workflows/actions.js';
import {
  contiguous,
  factsOf,
  settle,
  type ConvMessage,
  type ConversationState,
  type Settled,
} from '../workflows/conversation.js';
import {
  computeDeadline,
  escalationLevel,
  findRule,
  nextEscalationAt,
  type DeadlineExplanation,
  type DeadlineKind,
  type Pause,
} from '../workflows/deadlines.js';
import { isTerminal } from '../workflows/lifecycle.js';

/** One message M relayed about the request: its clear members and what became of it. */
export interface RelayedMessage {
  digest: string;
  msgId: string;
  iss: string;
  aud: string;
  kind: Exclude<MessageKind, 'receipt'>;
  /** Its place among its sender's messages; null from a sender that predates `seq`. */
  seq: number | null;
  seen: number;
  /** When its sender first signed it (RFC 3339). */
  sentAt: string;
  /** The body's members in clear (a sealed message's personal members are not among them). */
  body: Record<string, unknown>;
  /** When M took it (its relay receipt's time). */
  relayedAt: string;
  /** The recipient's signed receipt time, once M passed the receipt back. */
  receivedAt: string | null;
  /** The recipient refused it for good (its sender gives it up). */
  refused: boolean;
}

export type MessageState = MediatedRequestView['messages'][number]['state'];

const conv = (m: RelayedMessage & { seq: number }, from: Side): ConvMessage => ({
  from,
  seq: m.seq,
  seen: m.seen,
  msgId: m.msgId,
  digest: m.digest,
  kind: m.kind,
  sentAt: m.sentAt,
  receivedAt: m.receivedAt,
  facts: factsOf(m.body),
});

/**
 * One message per msg_id (a re-signed copy shares it): the version the recipient took; else, when
 * any version was refused for good, a refused one (its sender gave the message up); else the
 * newest relayed. Messages without a place (`seq`) are left out: the view is then incomplete.
 */
function versions(messages: readonly RelayedMessage[]): (RelayedMessage & { seq: number })[] {
  const byId = new Map<string, RelayedMessage & { seq: number }>();
  const rank = (m: RelayedMessage) => (m.receivedAt !== null ? 2 : m.refused ? 1 : 0);
  for (const m of messages) {
    if (m.seq === null) continue;
    const held = byId.get(m.msgId);
    const mine = { ...m, seq: m.seq };
    if (
      !held ||
      rank(m) > rank(held) ||
      (rank(m) === rank(held) && Date.parse(m.relayedAt) > Date.parse(held.relayedAt))
    )
      byId.set(m.msgId, mine);
  }
  return [...byId.values()].sort((x, y) => x.seq - y.seq);
}

/**
 * The view, or undefined when M holds no request message for it (it relays messages about a
 * request whose first message did not go through it).
 */
export function mediatedView(input: {
  reqId: string;
  messages: readonly RelayedMessage[];
  /** M's own deadline policy and its digest: used only when it is the one the parties agreed. */
  policy: { policy: DeadlinePolicy; digest: string };
  /** M's own notices to the parties about the request, in the order signed. */
  notices?: readonly MediatorNoticeView[];
  /** The parties' consents to a pause M holds, and the pause that carried each. */
  consents?: MediatedRequestView['consents'];
  now: string;
}): MediatedRequestView | undefined {
  const all = versions(input.messages);
  const request = all.find((m) => m.kind === 'request' && m.seq === 1);
  if (!request) return undefined;
  const requester = request.iss;
  const responder = request.aud;
  const type = request.body.request_type as RequestType;
  const priority = request.body.priority as Priority;
  const policyDigest =
    typeof request.body.policy_digest === 'string' ? request.body.policy_digest : '';
  const policyKnown = policyDigest === input.policy.digest;
  const side = (m: RelayedMessage): Side => (m.iss === requester ? 'requester' : 'responder');
  const live = all.filter((m) => !m.refused);
  const bySeq = (msgs: ConvMessage[]) => new Map(msgs.map((m) => [m.seq, m]));
  // A party folds its own messages 1, 2, 3… (a gap: one that did not go through M) and what it
  // received of the other's, in order.
  const fromSide = (s: Side) =>
    contiguous(bySeq(live.filter((m) => side(m) === s).map((m) => conv(m, s))));
  const held = (msgs: ConvMessage[]) =>
    contiguous(bySeq(msgs.filter((m) => m.receivedAt !== null)));

  // M's pauses count as the parties count them once each took the notices; one a party refused
  // or never took is shown, not counted (README, _Mediated exchange_).
  const notices = input.notices ?? [];
  const pauses = new Map<
    string,
    { from: string; to: string | null; counted: boolean; takenBy: string[] }
  >();
  /** Pause and resume notices one party took and the other refused or missed for good. */
  let split = false;
  for (const n of notices) {
    if (!n.pauseId || !n.at) continue;
    const lost = n.state === 'refused' || n.state === 'given_up';
    const p = pauses.get(n.pauseId) ?? { from: n.at, to: null, counted: true, takenBy: [] };
    if (n.action === 'resume') p.to = n.at;
    if (n.action === 'pause' && n.state === 'delivered') p.takenBy.push(n.to);
    // Only a pause a party refused or missed goes uncounted: a resume one missed leaves the pause
    // counted as the other party counts it (closed), and the parties disagree (below).
    if (lost && n.action === 'pause') p.counted = false;
    pauses.set(n.pauseId, p);
    const twin = notices.find(
      (o) => o !== n && o.pauseId === n.pauseId && o.action === n.action && o.to !== n.to,
    );
    if (lost && twin?.state === 'delivered') split = true;
  }
  const counted: Pause[] = [...pauses.values()]
    .filter((p) => p.counted)
    .map((p) => ({ from: p.from, to: p.to }));
  const deadlineOf = (
    kind: DeadlineKind,
    s: ConversationState,
    asOf?: string,
  ): DeadlineExplanation | null =>
    policyKnown && s.receiptAt
      ? computeDeadline({
          deadline: kind,
          policy: input.policy.policy,
          requestType: type,
          priority,
          responder,
          receiptAt: s.receiptAt,
          pauses: s.pauses,
          extension: s.extension,
          ...(counted.length ? { mediatorPauses: counted } : {}),
          now: asOf ?? input.now,
        })
      : null;
  const dueAt = (kind: DeadlineKind, s: ConversationState, asOf?: string) =>
    deadlineOf(kind, s, asOf)?.dueAt ?? null;
  const fold = (as: Side, req: ConvMessage[], resp: ConvMessage[]): Settled =>
    settle(as, req, resp, dueAt);

  const requesterMsgs = fromSide('requester');
  const responderMsgs = fromSide('responder');
  // Each party folds all it sent (not refused) and what it received of the other, in order.
  const atRequester = fold('requester', requesterMsgs, held(responderMsgs));
  const atResponder = fold('responder', held(requesterMsgs), responderMsgs);
  // Once everything in transit arrives, both fold the same messages.
  const settled = fold('requester', requesterMsgs, responderMsgs);
  const state = settled.state;

  const deadlines: MediatedDeadline[] = [];
  const rule = policyKnown ? findRule(input.policy.policy, type, priority) : undefined;
  for (const kind of ['acknowledgement', 'response'] as const) {
    const d = deadlineOf(kind, state);
    if (!d || !rule) continue;
    const answeredAt = state.answered[kind];
    const binding = answeredAt === null && !isTerminal(state.lifecycle.status);
    const late = binding && !d.clockStopped && Date.parse(d.dueAt) <= Date.parse(input.now);
    deadlines.push({
      kind,
      dueAt: d.dueAt,
      countsFrom: d.countsFrom,
      answeredAt,
      clockStopped: d.clockStopped,
      overdue: late,
      escalationLevel: late
        ? escalationLevel(d.dueAt, rule.escalation_after_seconds, input.now)
        : 0,
      // A stopped clock moves when a message comes, not with time.
      nextChangeAt:
        !binding || d.clockStopped
          ? null
          : late
            ? nextEscalationAt(d.dueAt, rule.escalation_after_seconds, input.now)
            : d.dueAt,
    });
  }

  const stateOf = (m: RelayedMessage): MessageState =>
    m.refused ? 'refused' : m.receivedAt ? 'received' : 'in_transit';
  const effectOf = (m: RelayedMessage): string => {
    if (m.refused) return 'refused by its recipient';
    const o = settled.outcomes.get(m.msgId);
    if (!o) return 'waits for an earlier message';
    return o.applied ? 'applied' : `no effect: ${o.reason}`;
  };
  const order = new Map(settled.order.map((m, i) => [m.msgId, i]));
  const place = (m: (typeof all)[number]) => order.get(m.msgId) ?? order.size + all.indexOf(m);
  // What M cannot see makes its view a guess: a message of a party that went another way (a gap
  // in its numbers, one that saw more than M holds), one without a place, or answers to a request
  // whose receipt M never passed back (it came by file).
  const placed = requesterMsgs.length + responderMsgs.length;
  const complete =
    placed === live.length &&
    !input.messages.some((m) => m.seq === null) &&
    !requesterMsgs.some((m) => m.seen > responderMsgs.length) &&
    !responderMsgs.some((m) => m.seen > requesterMsgs.length) &&
    (responderMsgs.length === 0 || request.receivedAt !== null);
  const times = all.flatMap((m) => [m.relayedAt, ...(m.receivedAt ? [m.receivedAt] : [])]);
  return {
    reqId: input.reqId,
    type,
    priority,
    requester,
    responder,
    policyDigest,
    policyKnown,
    asRequester: atRequester.state.lifecycle.status,
    asResponder: requesterMsgs.some((m) => m.kind === 'request' && m.receivedAt !== null)
      ? atResponder.state.lifecycle.status
      : null,
    // A pause (or resume) one party took and the other did not: they count different deadlines.
    agree:
      all.every((m) => m.refused || m.receivedAt !== null) &&
      notices.every((n) => n.state !== 'pending') &&
      !split,
    complete,
    settledStatus: state.lifecycle.status,
    receiptAt: state.receiptAt,
    deadlines,
    overdue: deadlines.some((d) => d.overdue),
    escalationLevel: Math.max(0, ...deadlines.map((d) => d.escalationLevel)),
    lastActivityAt:
      [...times, ...notices.flatMap((n) => [n.createdAt, ...(n.receivedAt ? [n.receivedAt] : [])])]
        .sort()
        .at(-1) ?? request.relayedAt,
    pauses: [...pauses.entries()].map(([pauseId, p]) => ({
      pauseId,
      ...p,
      takenBy: [...p.takenBy].sort(),
    })),
    notices: [...notices],
    consents: [...(input.consents ?? [])],
    // In the order both parties fold them (a crossing's responder message first), then the rest.
    messages: [...all]
      .sort((x, y) => place(x) - place(y))
      .map((m) => ({
        msgId: m.msgId,
        digest: m.digest,
        kind: m.kind,
        from: side(m),
        seq: m.seq,
        sentAt: m.sentAt,
        relayedAt: m.relayedAt,
        receivedAt: m.receivedAt,
        state: stateOf(m),
        effect: effectOf(m),
      })),
  };
}
