// The one place the node starts, updates and signals request workflows (one workflow per request
// and side). The API's create and action routes, the inbound router and the import of receipts
// call it; how long a caller waits is the caller's to bound (temporal/within.ts).
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DeadlinePolicy } from '../schemas/policy.js';
import type { RequestRecord } from '../schemas/workflow-contract.js';
import type { IncomingRequestInput, incomingRequest } from '../workflows/incoming-request.js';
import {
  act,
  mediatorNoticeReceived,
  messageReceived,
  receiptArrived,
  requestWorkflowId,
  type ActInput,
  type ActResult,
  type InboundMessage,
  type MediatorNotice,
} from '../workflows/messages.js';
import type { outgoingRequest } from '../workflows/outgoing-request.js';
import type { RequestWorkflowInput } from '../workflows/request-lifecycle.js';
import { startingSearchAttributes } from '../workflows/search-attributes.js';

export interface RequestWorkflowsDeps {
  client: Client;
  taskQueue: string;
  /** The node's deadline policy, handed to every new workflow with its digest. */
  policy: { policy: DeadlinePolicy; digest: string };
  /** Longest wait between delivery attempts to an unreachable partner, e.g. '5 minutes'. */
  maxRetryInterval: string;
  /** History events after which a request workflow continues as new. */
  historyLimit?: number;
}

const handle = (client: Client, reqId: string) =>
  client.workflow.getHandle(requestWorkflowId(reqId));

function inputOf(deps: RequestWorkflowsDeps, record: RequestRecord): RequestWorkflowInput {
  return {
    record,
    policy: deps.policy.policy,
    policyDigest: deps.policy.digest,
    maxRetryInterval: deps.maxRetryInterval,
    ...(deps.historyLimit ? { continueAsNewAfterEvents: deps.historyLimit } : {}),
  };
}

/**
 * Starts the requester's workflow. A running one with this id is the same request (a retry); a
 * closed one is never run again (`WorkflowExecutionAlreadyStartedError`): the request ended.
 */
export async function startOutgoingRequest(
  deps: RequestWorkflowsDeps,
  record: RequestRecord,
): Promise<void> {
  await deps.client.workflow.start<typeof outgoingRequest>('outgoingRequest', {
    workflowId: record.workflowId,
    taskQueue: deps.taskQueue,
    args: [inputOf(deps, record)],
    // Running: the same request (a retry). Closed: never a second run of a request that ended
    // (an Idempotency-Key outlives the workflow).
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: startingSearchAttributes(record, 'submitted'),
  });
}

/** Starts the responder's workflow for a request that arrived; a running one is kept. */
export async function startIncomingRequest(
  deps: RequestWorkflowsDeps,
  record: RequestRecord,
  received: IncomingRequestInput['received'],
): Promise<void> {
  await deps.client.workflow.start<typeof incomingRequest>('incomingRequest', {
    workflowId: record.workflowId,
    taskQueue: deps.taskQueue,
    args: [{ ...inputOf(deps, record), received }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: startingSearchAttributes(record, 'delivered'),
  });
}

/** An officer's action, run once per `updateId` (a retry gets the first outcome). */
export function actOnRequest(
  client: Client,
  reqId: string,
  input: ActInput,
  updateId?: string,
): Promise<ActResult> {
  return handle(client, reqId).executeUpdate(act, {
    args: [input],
    ...(updateId ? { updateId } : {}),
  });
}

/** Hands a stored partner message to its request; `ended` when the workflow is gone. */
export async function handMessage(
  client: Client,
  reqId: string,
  message: InboundMessage,
): Promise<'handed' | 'ended'> {
  try {
    await handle(client, reqId).signal(messageReceived, message);
    return 'handed';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'ended';
    throw err;
  }
}

/** Hands a mediator's notice to the request's workflow; an ended one has no clock left to pause. */
export async function handMediatorNotice(
  client: Client,
  reqId: string,
  notice: MediatorNotice,
): Promise<'handed' | 'ended'> {
  try {
    await handle(client, reqId).signal(mediatorNoticeReceived, notice);
    return 'handed';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'ended';
    throw err;
  }
}

/** Tells the request that the receipt of its message `msgId` was stored another way (an import). */
export async function signalReceiptArrived(
  client: Client,
  reqId: string,
  msgId: string,
): Promise<void> {
  await handle(client, reqId).signal(receiptArrived, { msgId });
}
