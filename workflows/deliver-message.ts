// The delivery activity as every request workflow calls it: retried with backoff for as long as
// it takes (days offline are normal) until the partner's signed receipt is in or the partner
// refuses the message for good. A request's own workflow is the one deliverer of its messages.
//
// The `deliverMessage` workflow (one stored message, `deliver-<msgId>`) is no longer started by the
// node: older versions started one per pending message at boot, beside the request workflow's own
// sender. It stays registered so that those deliveries finish, and erasure still deletes them.
// Deterministic orchestration only: no I/O, no Node modules; the attempt itself is an activity.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { DeliveryOutcome } from '../exchange/outbox.js';

export interface DeliverMessageInput {
  msgId: string;
  /** Longest wait between attempts, e.g. '5 minutes' (seconds in tests). */
  maxRetryInterval: string;
}

export function deliveryWorkflowId(msgId: string): string {
  return `deliver-${msgId}`;
}

/** The delivery activity, retried with backoff up to `maxRetryInterval` and without an attempt limit. */
export function deliveryActivity(maxRetryInterval: string): Activities['deliverMessage'] {
  return proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    // An attempt whose worker died is given to another after this, not after the minute (the
    // activity heartbeats every 2 s while it runs).
    heartbeatTimeout: '10 seconds',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: maxRetryInterval,
      // No attempt limit: the message waits for the partner, however long it is away.
      nonRetryableErrorTypes: ['unknown_message', 'unknown_party', 'reply_mismatch'],
    },
  }).deliverMessage;
}

export async function deliverMessage(input: DeliverMessageInput): Promise<DeliveryOutcome> {
  return deliveryActivity(input.maxRetryInterval)(input.msgId);
}
