// Activities of the node: every side effect a workflow decides on happens here. Each activity is
// idempotent (keyed by request id and event sequence, or by message id), so Temporal may retry it.
import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import { projectRequestEvent, type ProjectedEvent, type RequestRecord } from '../db/requests.js';
import { AppError } from '../errors.js';
import {
  deliverOnce,
  DeliveryRetry,
  type DeliveryOutcome,
  type OutboxDeps,
} from '../exchange/outbox.js';

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
