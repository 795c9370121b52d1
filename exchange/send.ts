// Sending from this node: sign and store (outbox), then start the durable delivery workflow.
// Also resumes deliveries of messages still pending after a restart.
import type { Client } from '@temporalio/client';
import { listOutbox } from '../db/messages.js';
import type { OwnDraft, SignedEnvelope } from '../protocol/sign.js';
import { deliveryWorkflowId, type deliverMessage } from '../workflows/deliver-message.js';
import { enqueueMessage, type OutboxDeps } from './outbox.js';

export interface SendDeps extends OutboxDeps {
  client: Client;
  taskQueue: string;
  /** Longest wait between delivery attempts, e.g. '5 minutes'. */
  maxRetryInterval: string;
}

export async function startDelivery(deps: SendDeps, msgId: string): Promise<void> {
  await deps.client.workflow.start<typeof deliverMessage>('deliverMessage', {
    workflowId: deliveryWorkflowId(msgId),
    taskQueue: deps.taskQueue,
    args: [{ msgId, maxRetryInterval: deps.maxRetryInterval }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
}

export async function sendMessage(deps: SendDeps, draft: OwnDraft): Promise<SignedEnvelope> {
  const signed = await enqueueMessage(deps, draft);
  await startDelivery(deps, signed.payload.msg_id);
  return signed;
}

/** Makes sure every pending message has a delivery workflow (after a crash between the two steps). */
export async function resumePendingDeliveries(deps: SendDeps): Promise<number> {
  const pending = await listOutbox(deps.pool, { status: 'pending', limit: 10_000 });
  for (const m of pending) await startDelivery(deps, m.msg_id);
  return pending.length;
}
