// The request state machine as pure data and functions: which status may follow which.
// Deterministic by construction; shared by workflows (to decide) and tests (to check).
import type { RequestStatus } from '../schemas/common.js';

/** Statuses after which nothing more happens to a request. */
export const TERMINAL_STATUSES: ReadonlySet<RequestStatus> = new Set([
  'closed',
  'declined',
  'withdrawn',
]);

/**
 * The transitions both sides agree on. `answered -> acknowledged` is the reopening of a request
 * whose answer the requester marked incomplete.
 */
export const TRANSITIONS: Readonly<Record<RequestStatus, readonly RequestStatus[]>> = {
  submitted: ['delivered', 'withdrawn'],
  delivered: ['acknowledged', 'partially_answered', 'answered', 'declined', 'withdrawn'],
  acknowledged: ['partially_answered', 'answered', 'declined', 'withdrawn'],
  partially_answered: ['partially_answered', 'answered', 'declined', 'withdrawn'],
  answered: ['closed', 'acknowledged'],
  closed: [],
  declined: [],
  withdrawn: [],
};

export function isTerminal(status: RequestStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

export function canTransition(from: RequestStatus, to: RequestStatus): boolean {
  return TRANSITIONS[from].includes(to);
}
