// The requester's side of one request: records it, sends it, follows the responder's answers and
// the deadlines. Deterministic orchestration only (see request-lifecycle.ts); no I/O here.
import type { RequestWorkflowState } from './messages.js';
import { runRequest, type RequestWorkflowInput } from './request-lifecycle.js';

export type OutgoingRequestInput = RequestWorkflowInput;

export function outgoingRequest(input: OutgoingRequestInput): Promise<RequestWorkflowState> {
  return runRequest('requester', input);
}
