// The requester's side of one request: records it in the read model and keeps its status.
// Deterministic orchestration only: no I/O, no Node modules, no clocks but the workflow's own;
// every side effect is an activity.
import {
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ProjectedEvent, RequestRecord } from '../db/requests.js';
import type { RequestStatus } from '../schemas/common.js';
import { isTerminal } from './lifecycle.js';
import { awaitRecorded, getRequestState, type RequestWorkflowState } from './messages.js';
import { ParleyStatus } from './search-attributes.js';

const { projectRequest } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // The read model must catch up eventually, whatever the outage: retry without a limit.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** Input of the outgoing request workflow: the request as the officer created it. */
export type OutgoingRequestInput = RequestRecord;

export async function outgoingRequest(
  request: OutgoingRequestInput,
): Promise<RequestWorkflowState> {
  let status: RequestStatus = 'submitted';
  let recorded = false;
  let seq = 0;
  const snapshot = (): RequestWorkflowState => ({
    reqId: request.reqId,
    status,
    overdue: false,
    recorded,
    seq,
  });

  setHandler(getRequestState, snapshot);
  setHandler(awaitRecorded, async () => {
    await condition(() => recorded);
    return snapshot();
  });

  /** Moves to a new status (or records an event without one) and projects it to the read model. */
  async function record(event: Omit<ProjectedEvent, 'seq' | 'at'>): Promise<void> {
    seq += 1;
    if (event.status) {
      status = event.status;
      upsertSearchAttributes([{ key: ParleyStatus, value: status }]);
    }
    await projectRequest({
      record: request,
      event: { ...event, seq, at: new Date().toISOString() },
    });
  }

  await record({ type: 'created', actor: request.createdBy, status: 'submitted', detail: {} });
  recorded = true;

  // Signing, delivery and the partner's answers move the status from here on.
  await condition(() => isTerminal(status));
  await condition(allHandlersFinished);
  return snapshot();
}
