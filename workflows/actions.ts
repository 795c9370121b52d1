// What each side may do to a request, and what it does: a pure table shared by update validators
// (to refuse an illegal action with a stable code before it enters history) and by the handling
// of the partner's messages (each side applies the other's action to the same state).
// Deterministic; no I/O, no clock but the `at` it is given.
import type { RequestStatus } from '../schemas/common.js';
import type { MessageKind } from '../schemas/envelope.js';
import { canTransition, isTerminal } from './lifecycle.js';

export type Side = 'requester' | 'responder';

export type Action =
  | 'acknowledge'
  | 'ask_clarification'
  | 'answer_clarification'
  | 'request_extension'
  | 'decide_extension'
  | 'respond_partial'
  | 'respond_final'
  | 'decline'
  | 'withdraw'
  | 'close_accepted'
  | 'close_incomplete';

/** One action: who takes it, the message kind that carries it, and its officers' route. */
export interface ActionSpec {
  side: Side;
  kind: MessageKind;
  /** The route under /v1/requests/:id/ (actions carried by one kind share it). */
  path: string;
  summary: string;
  /** For kinds that carry several actions: whether a body of that kind is this action. */
  matches?: (body: Record<string, unknown>) => boolean;
}

/**
 * The one table of actions. The officers' routes, the partner's message kinds as actions, and the
 * update validators all derive from it.
 */
export const ACTIONS: Readonly<Record<Action, ActionSpec>> = {
  acknowledge: {
    side: 'responder',
    kind: 'acknowledgement',
    path: 'acknowledge',
    summary: 'Acknowledge an incoming request',
  },
  ask_clarification: {
    side: 'responder',
    kind: 'clarification_request',
    path: 'clarification-requests',
    summary: 'Ask the requester for clarification',
  },
  answer_clarification: {
    side: 'requester',
    kind: 'clarification',
    path: 'clarifications',
    summary: 'Answer the open clarification question',
  },
  request_extension: {
    side: 'responder',
    kind: 'extension_request',
    path: 'extension-requests',
    summary: 'Ask for more time, with a reason and a proposed deadline',
  },
  decide_extension: {
    side: 'requester',
    kind: 'extension_decision',
    path: 'extension-decision',
    summary: 'Grant or refuse the pending extension request',
  },
  respond_partial: {
    side: 'responder',
    kind: 'response',
    path: 'responses',
    summary: 'Send a partial (final: false) or final response',
    matches: (b) => b.final !== true,
  },
  respond_final: {
    side: 'responder',
    kind: 'response',
    path: 'responses',
    summary: 'Send a partial (final: false) or final response',
    matches: (b) => b.final === true,
  },
  decline: {
    side: 'responder',
    kind: 'decline',
    path: 'decline',
    summary: 'Decline the request, with a reason',
  },
  withdraw: {
    side: 'requester',
    kind: 'withdrawal',
    path: 'withdraw',
    summary: 'Withdraw the request',
  },
  close_accepted: {
    side: 'requester',
    kind: 'closure',
    path: 'close',
    summary: 'Close an answered request: accept it, or mark it incomplete (reopens it)',
    matches: (b) => b.outcome === 'accepted',
  },
  close_incomplete: {
    side: 'requester',
    kind: 'closure',
    path: 'close',
    summary: 'Close an answered request: accept it, or mark it incomplete (reopens it)',
    matches: (b) => b.outcome !== 'accepted',
  },
};

/** The action a message of `kind` with this body stands for; undefined for reminders and requests. */
export function actionFor(kind: MessageKind, body: Record<string, unknown>): Action | undefined {
  for (const [action, spec] of Object.entries(ACTIONS) as [Action, ActionSpec][]) {
    if (spec.kind === kind && (!spec.matches || spec.matches(body))) return action;
  }
  return undefined;
}

/** The officers' action routes: one per path, with the kind whose body it takes. */
export const ACTION_ROUTES: readonly Pick<ActionSpec, 'path' | 'kind' | 'side' | 'summary'>[] =
  Object.values(ACTIONS).filter(
    (spec, i, all) => all.findIndex((other) => other.path === spec.path) === i,
  );

/** The part of a request's state the rules look at. */
export interface LifecycleState {
  status: RequestStatus;
  /** The open clarification question, by the message that asked it. */
  openClarification: { msgId: string; digest: string; since: string } | null;
  /** The extension request awaiting a decision. */
  pendingExtension: { msgId: string; digest: string; proposedDeadline: string } | null;
}

/** Why an action is refused: the stable code (HTTP 409) and words for people. */
export interface Refusal {
  code: 'invalid_state';
  message: string;
}

const ACTIVE: readonly RequestStatus[] = ['delivered', 'acknowledged', 'partially_answered'];

/** The status an action leads to (unchanged for the loops: clarification and extension). */
export function nextStatus(action: Action, from: RequestStatus): RequestStatus {
  switch (action) {
    case 'acknowledge':
      return 'acknowledged';
    case 'respond_partial':
      return 'partially_answered';
    case 'respond_final':
      return 'answered';
    case 'decline':
      return 'declined';
    case 'withdraw':
      return 'withdrawn';
    case 'close_accepted':
      return 'closed';
    case 'close_incomplete':
      return 'acknowledged';
    default:
      return from;
  }
}

/** Undefined when `side` may take `action` now; otherwise why not. */
export function refusal(state: LifecycleState, side: Side, action: Action): Refusal | undefined {
  const no = (message: string): Refusal => ({ code: 'invalid_state', message });
  if (ACTIONS[action].side !== side)
    return no(`only the ${ACTIONS[action].side} may ${action.replaceAll('_', ' ')}`);
  const s = state.status;
  if (isTerminal(s)) return no(`the request is ${s}`);
  switch (action) {
    case 'acknowledge':
      return s === 'delivered' ? undefined : no(`cannot acknowledge a request that is ${s}`);
    case 'ask_clarification':
      if (!ACTIVE.includes(s)) return no(`cannot ask for clarification while the request is ${s}`);
      return state.openClarification ? no('a clarification question is already open') : undefined;
    case 'answer_clarification':
      return state.openClarification ? undefined : no('there is no open clarification question');
    case 'request_extension':
      if (!ACTIVE.includes(s)) return no(`cannot request an extension while the request is ${s}`);
      return state.pendingExtension ? no('an extension request is already pending') : undefined;
    case 'decide_extension':
      return state.pendingExtension ? undefined : no('there is no extension request to decide');
    case 'respond_partial':
    case 'respond_final':
    case 'decline':
      return ACTIVE.includes(s)
        ? undefined
        : no(`cannot ${action.replaceAll('_', ' ')} while the request is ${s}`);
    case 'withdraw':
      return canTransition(s, 'withdrawn')
        ? undefined
        : no(`cannot withdraw a request that is ${s}`);
    case 'close_accepted':
    case 'close_incomplete':
      return s === 'answered'
        ? undefined
        : no(`only an answered request can be closed; this one is ${s}`);
  }
}

/** Applies an action that `refusal` allowed; returns the new state. */
export function apply(
  state: LifecycleState,
  action: Action,
  message: { msgId: string; digest: string; at: string; proposedDeadline?: string },
): LifecycleState {
  const next: LifecycleState = { ...state, status: nextStatus(action, state.status) };
  if (action === 'ask_clarification')
    next.openClarification = { msgId: message.msgId, digest: message.digest, since: message.at };
  if (action === 'answer_clarification') next.openClarification = null;
  if (action === 'request_extension') {
    next.pendingExtension = {
      msgId: message.msgId,
      digest: message.digest,
      proposedDeadline: message.proposedDeadline ?? message.at,
    };
  }
  if (action === 'decide_extension') next.pendingExtension = null;
  return next;
}
