// Activities of the node: every side effect a workflow decides on happens here. Each activity is
// idempotent (keyed by request id and event sequence, or by message id), so Temporal may retry it.
import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import { projectRequestEvent, type ProjectedEvent, type RequestRecord } from '../db/requests.js';
import { AppError } from '../errors.js';
import {
  deliverOnce,
  DeliveryRetry,
  enqueueMessage,
  type DeliveryOutcome,
  type OutboxDeps,
} from '../exchange/outbox.js';
import type { OwnDraft } from '../protocol/sign.js';

export interface ActivityDeps {
  pool: pg.Pool;
  outbox: OutboxDeps;
}

export interface ProjectRequestInput {
  record: RequestRecord;
  event: ProjectedEvent;
}

export function createActivities(deps: ActivityDeps) {
  return {
    /** Writes the request's read-model row and one timeline event. */
    async projectRequest(input: ProjectRequestInput): Promise<void> {
      await projectRequestEvent(deps.pool, input.record, input.event);
    },

    /** Signs and stores a message of this node (idempotent by msg_id); delivery comes after. */
    async enqueueMessage(draft: OwnDraft): Promise<{ msgId: string; digest: string }> {
      try {
        const signed = await enqueueMessage(deps.outbox, draft);
        return { msgId: signed.payload.msg_id, digest: signed.digest };
      } catch (err) {
        if (err instanceof AppError) throw ApplicationFailure.nonRetryable(err.message, err.code);
        throw err;
      }
    },

    /**
     * One attempt to deliver a stored outgoing message and verify the partner's receipt. Fails
     * (to be retried by Temporal) while the partner is unreachable; never sends a message twice
     * once it holds a receipt.
     */
    async deliverMessage(msgId: string): Promise<DeliveryOutcome> {
      try {
        return await deliverOnce(deps.outbox, msgId);
      } catch (err) {
        if (err instanceof DeliveryRetry)
          throw ApplicationFailure.retryable(err.message, 'delivery_retry');
        if (err instanceof AppError) throw ApplicationFailure.nonRetryable(err.message, err.code);
        throw err;
      }
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
