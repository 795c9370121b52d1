// What this node's officers may do to a request now, and which side owes its next step, from the
// one table of actions (workflows/actions.ts `refusal`) and what the read model knows of the
// request: its status, its direction, and the clarification and extension events of its timeline.
// The dashboard shows a button for each allowed action; the workflow's update validator still has
// the last word (a step of the partner's can cross the click). Pure: no I/O, no clock.
import type { Direction, RequestStatus } from '../schemas/common.js';
import { ACTIONS, refusal, type Action, type LifecycleState } from '../workflows/actions.js';
import { nextStep, ourSide, type NextStep } from './next-step.js';

/** Whether a clarification question is open and an extension request waits for a decision. */
export interface LoopState {
  openClarification: boolean;
  pendingExtension: boolean;
}

/**
 * The loops' state from a request's timeline event types (any order of seq given as `oldest
 * first`): a question is open when the latest of ask/answer is an ask, an extension waits when the
 * latest of request/decide is a request (both sides' steps are on the timeline). The same rule as
 * the supervisors' list (db/supervisor.ts).
 */
export function loopStateOf(typesOldestFirst: readonly string[]): LoopState {
  const latest = (open: Action, close: Action) =>
    typesOldestFirst.findLast((t) => t === open || t === close) === open;
  return {
    openClarification: latest('ask_clarification', 'answer_clarification'),
    pendingExtension: latest('request_extension', 'decide_extension'),
  };
}

/** The timeline event types loopStateOf reads (for a query that reads only those). */
export const LOOP_EVENT_TYPES: readonly Action[] = [
  'ask_clarification',
  'answer_clarification',
  'request_extension',
  'decide_extension',
];

/** One action an officer of this node may take now, and its route under /v1/requests/:id/. */
export interface AllowedAction {
  action: Action;
  path: string;
}

/** What the rule looks at. */
export interface AllowedActionsInput extends LoopState {
  status: RequestStatus;
  direction: Direction;
}

/**
 * The actions this node's side may take now, in the order of the action table: each one the
 * table's `refusal` does not refuse for our side (outgoing: requester, incoming: responder).
 */
export function allowedActions(input: AllowedActionsInput): AllowedAction[] {
  const state: LifecycleState = {
    status: input.status,
    openClarification: input.openClarification ? { msgId: '', digest: '', since: '' } : null,
    pendingExtension: input.pendingExtension
      ? { msgId: '', digest: '', proposedDeadline: '' }
      : null,
  };
  const side = ourSide(input.direction);
  return (Object.keys(ACTIONS) as Action[])
    .filter((action) => refusal(state, side, action) === undefined)
    .map((action) => ({ action, path: ACTIONS[action].path }));
}

/** Who owes the next step of a request the read model shows, with its loops' state. */
export const nextStepOf = (
  r: {
    status: RequestStatus;
    direction: Direction;
    requester: string;
    responder: string;
  },
  loops: LoopState,
): NextStep | null => nextStep({ ...r, ...loops });
