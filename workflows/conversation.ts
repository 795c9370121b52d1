// The convergence rule: one request's conversation (both sides' messages with their order members)
// folded into the one state both nodes show. A pure reducer `step(state, message) -> {state,
// outcome}` and the canonical order it is driven in, shared by the workflow and the model tests.
// Deterministic: no I/O, no clock, no Node modules; everything it needs is in the signed messages.
import type { MessageKind } from '../schemas/envelope.js';
import {
  actionFor,
  apply,
  refusal,
  type Action,
  type LifecycleState,
  type Side,
} from './actions.js';
import type { GrantedExtension, Pause } from './deadlines.js';

/** What the rules read of a message body: small, no personal data. */
export interface MessageFacts {
  final?: boolean;
  outcome?: string;
  granted?: boolean;
  new_deadline?: string;
  proposed_deadline?: string;
}

/** The facts of a body that the convergence rule looks at; nothing else is kept. */
export function factsOf(body: Record<string, unknown>): MessageFacts {
  const facts: MessageFacts = {};
  if (typeof body.final === 'boolean') facts.final = body.final;
  if (typeof body.outcome === 'string') facts.outcome = body.outcome;
  if (typeof body.granted === 'boolean') facts.granted = body.granted;
  if (typeof body.new_deadline === 'string') facts.new_deadline = body.new_deadline;
  if (typeof body.proposed_deadline === 'string') facts.proposed_deadline = body.proposed_deadline;
  return facts;
}

/** One message of the conversation, from either side, as both nodes hold it. */
export interface ConvMessage {
  from: Side;
  /** Its place among its sender's messages about the request (the request itself is 1). */
  seq: number;
  /** How many of the other side's messages its sender held when it signed it. */
  seen: number;
  msgId: string;
  digest: string;
  kind: MessageKind;
  /** When its sender first signed it (RFC 3339). */
  sentAt: string;
  /** The receiver's signed receipt time; null while this node holds no receipt for it. */
  receivedAt: string | null;
  facts: MessageFacts;
}

/**
 * The canonical order of a conversation: each side's messages in their `seq` order, a message after
 * every message of the other side it had seen, and of two messages that crossed (neither had seen
 * the other) the responder's first. Both nodes compute it from the same signed members.
 */
export function canonicalOrder(
  requester: readonly ConvMessage[],
  responder: readonly ConvMessage[],
): ConvMessage[] {
  const out: ConvMessage[] = [];
  let i = 0;
  let j = 0;
  while (i < requester.length || j < responder.length) {
    const r = requester[i];
    const s = responder[j];
    const rReady = r !== undefined && r.seen <= j;
    const sReady = s !== undefined && s.seen <= i;
    // Crossing messages: the responder's goes first. Information already given stands.
    if (s !== undefined && (sReady || !rReady)) {
      out.push(s);
      j += 1;
    } else {
      out.push(r!);
      i += 1;
    }
  }
  return out;
}

/** Whether two messages of opposite sides crossed: neither sender had seen the other. */
export function crossed(a: ConvMessage, b: ConvMessage): boolean {
  if (a.from === b.from) return false;
  return a.seen < b.seq && b.seen < a.seq;
}

/** What became of one message in the fold. */
export type Outcome =
  | {
      applied: true;
      action: Action | null;
      /** For a step that answered a deadline: whether it counts as in time, and from when. */
      onTime: boolean | null;
      countsAt: string | null;
    }
  | {
      applied: false;
      /** Why it had no effect at its place in the canonical order. */
      reason: string;
      /** The other side's message it crossed and that took effect first, if any. */
      crossedWith: string | null;
    };

/** The state both nodes derive from the conversation. */
export interface ConversationState {
  lifecycle: LifecycleState;
  /** The responder's receipt time of the request: every deadline counts from it. */
  receiptAt: string | null;
  pauses: Pause[];
  extension: GrantedExtension | null;
  /** When the step that answered each deadline counts (see stepTime); null while it binds. */
  answered: { acknowledgement: string | null; response: string | null };
  /** Every message folded so far, in canonical order. */
  applied: readonly ConvMessage[];
}

export function initialState(side: Side): ConversationState {
  return {
    lifecycle: {
      status: side === 'requester' ? 'submitted' : 'delivered',
      openClarification: null,
      pendingExtension: null,
    },
    receiptAt: null,
    pauses: [],
    extension: null,
    answered: { acknowledgement: null, response: null },
    applied: [],
  };
}

/**
 * When a step counts for deadlines: its sender's first signing time, but never before the receipt
 * of the last message of ours its sender had seen (a step cannot be dated before what it answers).
 * Both nodes hold both times, signed, so both count the same.
 */
export function stepTime(msg: ConvMessage, other: readonly ConvMessage[]): string {
  const basis = msg.seen > 0 ? other[msg.seen - 1]?.receivedAt : null;
  if (basis && Date.parse(basis) > Date.parse(msg.sentAt)) return basis;
  return msg.sentAt;
}

/** Context a step needs beyond the message: when the deadlines it may meet fall. */
export interface StepContext {
  /** The other side's messages, in seq order (for stepTime). */
  other: readonly ConvMessage[];
  /**
   * Due times of the two deadlines in the state before this message, when known, as they stood at
   * `asOf` (a pause still open then counts up to it); at the folding node's clock without it.
   */
  dueAt: (
    kind: 'acknowledgement' | 'response',
    state: ConversationState,
    asOf?: string,
  ) => string | null;
}

/** The reducer: one message, at its place in the canonical order, applied to the state. */
export function step(
  state: ConversationState,
  msg: ConvMessage,
  ctx: StepContext,
): { state: ConversationState; outcome: Outcome } {
  const next: ConversationState = {
    ...state,
    pauses: state.pauses.map((p) => ({ ...p })),
    applied: [...state.applied, msg],
  };
  // Any message of the responder about the request proves the request reached it.
  if (msg.from === 'responder' && next.lifecycle.status === 'submitted')
    next.lifecycle = { ...next.lifecycle, status: 'delivered' };
  if (msg.kind === 'request') {
    next.receiptAt = msg.receivedAt;
    if (next.lifecycle.status === 'submitted' && msg.receivedAt)
      next.lifecycle = { ...next.lifecycle, status: 'delivered' };
    return { state: next, outcome: { applied: true, action: null, onTime: null, countsAt: null } };
  }
  const action = actionFor(msg.kind, msg.facts as Record<string, unknown>);
  if (!action)
    return { state: next, outcome: { applied: true, action: null, onTime: null, countsAt: null } };
  const refused = refusal(next.lifecycle, msg.from, action);
  if (refused) {
    const rival = [...state.applied].reverse().find((m) => crossed(m, msg));
    return {
      state: next,
      outcome: { applied: false, reason: refused.message, crossedWith: rival?.msgId ?? null },
    };
  }
  const before = next.lifecycle.status;
  if (action === 'decide_extension' && msg.facts.granted === true) {
    const newDeadline =
      msg.facts.new_deadline ?? state.lifecycle.pendingExtension?.proposedDeadline;
    if (newDeadline) next.extension = { grantedAt: msg.sentAt, newDeadline };
  }
  // A clarification stops the response clock from the requester's receipt of the question to the
  // responder's receipt of the answer: signed receipt times both sides hold.
  if (action === 'ask_clarification' && msg.receivedAt)
    next.pauses.push({ from: msg.receivedAt, to: null });
  if (action === 'answer_clarification') {
    const open = next.pauses.find((p) => p.to === null);
    if (open && msg.receivedAt) open.to = msg.receivedAt;
  }
  next.lifecycle = apply(next.lifecycle, action, {
    msgId: msg.msgId,
    digest: msg.digest,
    at: msg.receivedAt ?? msg.sentAt,
    ...(msg.facts.proposed_deadline ? { proposedDeadline: msg.facts.proposed_deadline } : {}),
  });
  // The step that ends a deadline counts at its signed time, wherever it arrives late, and is
  // judged by the deadline as it stood then: an open pause counts up to that time, not up to when
  // a node folds, so every node holding the same messages gives the same verdict.
  let onTime: boolean | null = null;
  const at = stepTime(msg, ctx.other);
  const ends = (kind: 'acknowledgement' | 'response') => {
    const due = ctx.dueAt(kind, state, at);
    next.answered = { ...next.answered, [kind]: at };
    onTime = due === null ? null : Date.parse(at) <= Date.parse(due);
  };
  if (before === 'delivered' && next.lifecycle.status !== 'delivered') ends('acknowledgement');
  if (
    (next.lifecycle.status === 'answered' || next.lifecycle.status === 'declined') &&
    next.answered.response === null &&
    msg.from === 'responder'
  )
    ends('response');
  return {
    state: next,
    outcome: { applied: true, action, onTime, countsAt: onTime === null ? null : at },
  };
}

export interface Settled {
  state: ConversationState;
  /** What became of each message, by msg_id. */
  outcomes: ReadonlyMap<string, Outcome>;
  order: readonly ConvMessage[];
}

/** Folds a whole conversation: the state every node holding these messages shows. */
export function settle(
  side: Side,
  requester: readonly ConvMessage[],
  responder: readonly ConvMessage[],
  dueAt: StepContext['dueAt'],
): Settled {
  const order = canonicalOrder(requester, responder);
  let state = initialState(side);
  const outcomes = new Map<string, Outcome>();
  for (const msg of order) {
    const other = msg.from === 'requester' ? responder : requester;
    const r = step(state, msg, { other, dueAt });
    state = r.state;
    outcomes.set(msg.msgId, r.outcome);
  }
  return { state, outcomes, order };
}

/**
 * The longest run of messages 1, 2, 3… held from one side: a message beyond a gap waits for the
 * ones before it.
 */
export function contiguous(bySeq: ReadonlyMap<number, ConvMessage>): ConvMessage[] {
  const out: ConvMessage[] = [];
  for (let seq = 1; bySeq.has(seq); seq += 1) out.push(bySeq.get(seq)!);
  return out;
}

/** A step whose timeliness another fold counts otherwise (README, _Mediated exchange_). */
export interface ChangedVerdict {
  msgId: string;
  digest: string;
  onTime: boolean;
  countsAt: string;
}

/**
 * The steps that answered a deadline whose verdict in `next` is not the one said before: the one
 * recorded on the timeline (`recorded`, by msg_id), else the one of the `prior` fold. A mediator's
 * pause (or its resume) signed before a step but taken after it moves the deadline the step was
 * judged by; its partner, holding the same messages, ends with the verdicts of `next`.
 */
export function changedVerdicts(
  recorded: ReadonlyMap<string, boolean>,
  prior: Settled,
  next: Settled,
): ChangedVerdict[] {
  return next.order.flatMap((msg) => {
    const now = next.outcomes.get(msg.msgId);
    if (!now?.applied || now.onTime === null || now.countsAt === null) return [];
    const before = prior.outcomes.get(msg.msgId);
    const was =
      recorded.get(msg.msgId) ??
      (before?.applied && before.onTime !== null ? before.onTime : undefined);
    if (was === undefined || was === now.onTime) return [];
    return [{ msgId: msg.msgId, digest: msg.digest, onTime: now.onTime, countsAt: now.countsAt }];
  });
}
