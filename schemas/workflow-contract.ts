// What the request workflows and the rest of the node pass each other through Temporal: the facts
// a workflow starts with, and the timeline events it records in the read model (activities
// project them; the API writes the first one itself). Types only: workflow code imports them.
import type { Direction, Priority, RequestStatus, RequestType } from './common.js';
import type { RequestSubject } from './requests-api.js';

/** The facts of a request that do not change after creation. */
export interface RequestRecord {
  reqId: string;
  workflowId: string;
  direction: Direction;
  type: RequestType;
  requester: string;
  responder: string;
  priority: Priority;
  subject: RequestSubject;
  createdBy: string | null;
  createdAt: string;
  /** The mediator the request names (outgoing: signed into the request's body). */
  mediator?: string;
}

/** One timeline event, numbered by the workflow so a retried projection is a no-op. */
export interface ProjectedEvent {
  seq: number;
  at: string;
  type: string;
  actor: string | null;
  /** Status after this event, when the event changes it. */
  status: RequestStatus | null;
  overdue?: boolean;
  detail: Record<string, unknown>;
  /** Deadline state after this event, when it changed. */
  deadlines?: DeadlineSnapshot;
  /** A notification for supervisors raised by this event (escalation, near deadline). */
  notification?: { kind: string; level: number; detail: Record<string, unknown> };
}

/** What the read model shows of a request's deadlines. */
export interface DeadlineSnapshot {
  receiptAt: string | null;
  ackDueAt: string | null;
  responseDueAt: string | null;
  escalationLevel: number;
  policyDigest: string | null;
  /** How each deadline was computed. */
  explanations: Record<string, unknown>;
}
