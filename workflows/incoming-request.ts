// The responder's side of one request, started when the request arrives and verifies: records it,
// carries the officers' answers to the requester, keeps the deadlines. Deterministic
// orchestration only (see request-lifecycle.ts); no I/O here.
import type { RequestWorkflowState } from './messages.js';
import { runRequest, type RequestWorkflowInput } from './request-lifecycle.js';

export type IncomingRequestInput = RequestWorkflowInput & {
  received: NonNullable<RequestWorkflowInput['received']>;
};

export function incomingRequest(input: IncomingRequestInput): Promise<RequestWorkflowState> {
  return runRequest('responder', input);
}
