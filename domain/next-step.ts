// Which side owes the next step of a request, derived from the one table of actions
// (workflows/actions.ts): the first of the steps that move a request on which the action table
// allows now names the side, and the request's direction says whether that side is us or the
// partner. Pure: no I/O, no clock.
import type { Direction, RequestStatus } from '../schemas/common.js';
import {
  ACTIONS,
  refusal,
  type Action,
  type LifecycleState,
  type Side,
} from '../workflows/actions.js';

/**
 * The steps a request waits for, in the order they come first: an open question or a pending
 * extension request holds the requester before anything else (the question stops the response
 * clock); then the acknowledgement, the final response, and the closure of an answered request.
 * Other actions (withdraw, decline, a partial response, asking) are always open to one side and
 * owed by nobody.
 */
export const OWED_STEPS = [
  'answer_clarification',
  'decide_extension',
  'acknowledge',
  'respond_final',
  'close_accepted',
] as const satisfies readonly Action[];
export type OwedStep = (typeof OWED_STEPS)[number];

export interface NextStep {
  /** The step awaited (an action of the action table). */
  action: OwedStep;
  /** The side that takes it. */
  side: Side;
  /** Whether that side is this node's party or the partner. */
  by: 'us' | 'partner';
  /** The party that owes it, named. */
  party: string;
}

/** What the rule looks at: the status, whether a question is open, whether an extension waits. */
export interface NextStepInput {
  status: RequestStatus;
  openClarification: boolean;
  pendingExtension: boolean;
  direction: Direction;
  requester: string;
  responder: string;
}

/** The side of this node: outgoing requests are ours to ask, incoming ones ours to answer. */
export const ourSide = (direction: Direction): Side =>
  direction === 'outgoing' ? 'requester' : 'responder';

/**
 * Who owes the next step, or null when nobody does: the request has ended, or it is not yet
 * delivered (the outbox owes its delivery, not a person).
 */
export function nextStep(input: NextStepInput): NextStep | null {
  // The action table looks only at whether a question or an extension request is there.
  const state: LifecycleState = {
    status: input.status,
    openClarification: input.openClarification ? { msgId: '', digest: '', since: '' } : null,
    pendingExtension: input.pendingExtension
      ? { msgId: '', digest: '', proposedDeadline: '' }
      : null,
  };
  for (const action of OWED_STEPS) {
    const side = ACTIONS[action].side;
    if (refusal(state, side, action)) continue;
    return {
      action,
      side,
      by: side === ourSide(input.direction) ? 'us' : 'partner',
      party: side === 'requester' ? input.requester : input.responder,
    };
  }
  return null;
}
