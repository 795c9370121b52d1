// Workflow ids, queries, signals and updates of request workflows: the one place callers and
// workflows agree on names and shapes. Definitions only; no I/O.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { RequestStatus } from '../schemas/common.js';
import type { MessageKind } from '../schemas/envelope.js';
import type { Action, LifecycleState } from './actions.js';
import type { MessageFacts } from './conversation.js';
import type { DeadlineExplanation } from './deadlines.js';

/** The business id is the workflow id: one workflow per request and side. */
export function requestWorkflowId(reqId: string): string {
  return `request-${reqId}`;
}

/** What a request workflow reports about itself. */
export interface RequestWorkflowState {
  reqId: string;
  status: RequestStatus;
  overdue: boolean;
  escalationLevel: number;
  /** True once the request row and its first timeline event are in the read model. */
  recorded: boolean;
  /** Number of timeline events the workflow has decided so far. */
  seq: number;
  lifecycle: LifecycleState;
  receiptAt: string | null;
  deadlines: { acknowledgement: DeadlineExplanation | null; response: DeadlineExplanation | null };
  /** Our messages signed but not yet receipted by the partner, in sending order. */
  undelivered: string[];
  /** The last of our messages the partner refused (a 4xx other than replay), with its code. */
  partnerRefusal?: { msgId: string; code: string } | null;
}

export const getRequestState = defineQuery<RequestWorkflowState>('getRequestState');

/**
 * Completes once the request is durably recorded in the read model. Sent with update-with-start
 * by the API, so a 2xx to the officer means the request is both in Temporal and in Postgres.
 */
export const awaitRecorded = defineUpdate<RequestWorkflowState>('awaitRecorded');

/** A verified message from the partner, as the inbox hands it to the request's workflow. */
export interface InboundMessage {
  msgId: string;
  digest: string;
  kind: MessageKind;
  /** This node's signed receipt time. */
  receivedAt: string;
  /** The conversation order (see schemas/envelope.ts): as sent, or as this node assigned it. */
  seq?: number;
  seen?: number;
  /** When the sender first signed it (RFC 3339). */
  sentAt?: string;
  /** The body (workflows of version 1 read it); version 2 reads only `facts`. */
  body?: Record<string, unknown>;
  facts?: MessageFacts;
}

export const messageReceived = defineSignal<[InboundMessage]>('messageReceived');

/**
 * A notice from the request's mediator (kind `mediation`), verified and stored by the inbox: a
 * reminder of a deadline, or a pause of both parties' clocks from `at` (a resume: until `at`).
 */
export interface MediatorNotice {
  msgId: string;
  digest: string;
  mediator: string;
  /** This node's signed receipt time. */
  receivedAt: string;
  action: 'reminder' | 'pause' | 'resume';
  deadline?: 'acknowledgement' | 'response';
  dueAt?: string;
  pauseId?: string;
  /** The pause's start, or the resume's end, as the mediator signed it (RFC 3339). */
  at?: string;
  /** A pause: the parties whose signed consent it carries. */
  consentedBy?: string[];
}

export const mediatorNoticeReceived = defineSignal<[MediatorNotice]>('mediatorNotice');

/**
 * The partner's receipt of one of our messages was stored another way than by its delivery attempt
 * (carried back in a store-and-forward file): the attempt waiting to retry can stop and read it.
 */
export const receiptArrived = defineSignal<[{ msgId: string }]>('receiptArrived');

/** An officer's action on the request; the body is the message body of the action's kind. */
export interface ActInput {
  action: Action;
  actor: string;
  body: Record<string, unknown>;
}

export interface ActResult {
  status: RequestStatus;
  msgId: string;
  digest: string;
}

/** Takes an action; the validator refuses it (invalid_state) before anything enters history. */
export const act = defineUpdate<ActResult, [ActInput]>('act');
