// Workflow ids, queries and updates of request workflows: the one place callers and workflows
// agree on names. Definitions only; no I/O.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { RequestStatus } from '../schemas/common.js';

/** The business id is the workflow id: one workflow per request and side. */
export function requestWorkflowId(reqId: string): string {
  return `request-${reqId}`;
}

/** What a request workflow reports about itself. */
export interface RequestWorkflowState {
  reqId: string;
  status: RequestStatus;
  overdue: boolean;
  /** True once the request row and its first timeline event are in the read model. */
  recorded: boolean;
  /** Number of timeline events the workflow has decided so far. */
  seq: number;
}

export const getRequestState = defineQuery<RequestWorkflowState>('getRequestState');

/**
 * Completes once the request is durably recorded in the read model. Sent with update-with-start
 * by the API, so a 2xx to the officer means the request is both in Temporal and in Postgres.
 */
export const awaitRecorded = defineUpdate<RequestWorkflowState>('awaitRecorded');
