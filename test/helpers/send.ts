// Sends one signed message outside any request workflow, for the transport tests: signed and
// stored in the outbox, then delivered by the `deliverMessage` workflow (the delivery activity
// with the retry policy every request workflow uses). The node itself no longer starts that
// workflow (each request's workflow delivers its own messages); it stays registered so that
// deliveries started by older versions finish.
import type { OwnDraft, SignedEnvelope } from '../../protocol/sign.js';
import { enqueueMessage } from '../../exchange/outbox.js';
import type { RunningNode } from '../../node/start-node.js';
import { deliveryWorkflowId, type deliverMessage } from '../../workflows/deliver-message.js';

export async function sendMessage(node: RunningNode, draft: OwnDraft): Promise<SignedEnvelope> {
  const signed = await enqueueMessage(node.exchange.outbox, draft);
  await node.temporal.client.workflow.start<typeof deliverMessage>('deliverMessage', {
    workflowId: deliveryWorkflowId(signed.payload.msg_id),
    taskQueue: node.config.temporal.taskQueue,
    args: [
      {
        msgId: signed.payload.msg_id,
        maxRetryInterval: `${node.config.deliveryMaxBackoffSeconds} seconds`,
      },
    ],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return signed;
}
