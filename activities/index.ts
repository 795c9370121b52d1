// Activities of the node: every side effect a workflow decides on happens here. Each activity is
// idempotent (keyed by request id and event sequence, or by message id), so Temporal may retry it.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type pg from 'pg';
import { projectRequestEvent } from '../db/requests.js';
import type { ProjectedEvent, RequestRecord } from '../schemas/workflow-contract.js';
import { isPermanentDataError } from '../db/errors.js';
import { markAbandoned } from '../db/messages.js';
import { AppError } from '../errors.js';
import {
  deliverOnce,
  DeliveryRetry,
  enqueueInOrder,
  enqueueMessage,
  type DeliveryOutcome,
  type OutboxDeps,
} from '../exchange/outbox.js';
import type { OwnDraft } from '../protocol/sign.js';
import type { InboundMessage } from '../workflows/messages.js';
import { factsOf } from '../workflows/conversation.js';
import { notifyWebhooks, type NotifyResult, type WebhookOptions } from './notify-webhooks.js';

/** What the activities count for `/metrics` (see observability/metrics.ts). */
export interface ActivityMetrics {
  deliveryAttempt(): void;
  /** A failed attempt, by reason: an error code, `http_<status>` or `unreachable`. */
  deliveryFailure(reason: string): void;
  webhookPost(outcome: 'delivered' | 'failed'): void;
}

export interface ActivityDeps {
  pool: pg.Pool;
  outbox: OutboxDeps;
  metrics?: ActivityMetrics;
  /** Where supervisor notifications are POSTed; without URLs, notifyWebhooks does nothing. */
  webhooks?: WebhookOptions;
}

export interface NotifyWebhooksInput {
  reqId: string;
  /** The timeline event that raised the notification. */
  seq: number;
}

export interface ProjectRequestInput {
  record: RequestRecord;
  event: ProjectedEvent;
}

/** How often a delivery attempt says it is alive, in ms (the workflow's heartbeat timeout is 10 s). */
const DELIVERY_HEARTBEAT_MS = 2_000;

/**
 * A failure to sign and store a message, as Temporal should take it: a refusal is final, but a
 * partner that takes sealed content and has no usable encryption key can get one registered, so
 * that one is tried again (with backoff) until it has.
 */
function signingFailure(err: unknown): unknown {
  if (!(err instanceof AppError)) return err;
  if (err.code === 'encryption_key_missing')
    return ApplicationFailure.retryable(err.message, err.code);
  return ApplicationFailure.nonRetryable(err.message, err.code);
}

export function createActivities(deps: ActivityDeps) {
  return {
    /** Writes the request's read-model row and one timeline event. */
    async projectRequest(input: ProjectRequestInput): Promise<void> {
      try {
        await projectRequestEvent(deps.pool, input.record, input.event);
      } catch (err) {
        // Data Postgres can never store (a retry cannot help): fail for good, without the value
        // (pg's message may quote it), so the workflow records that instead of retrying for ever.
        if (isPermanentDataError(err))
          throw ApplicationFailure.nonRetryable(
            `the read model refuses this event's data (SQLSTATE ${(err as { code?: string }).code ?? '?'})`,
            'unstorable',
          );
        throw err;
      }
    },

    /** Signs and stores a message of this node (idempotent by msg_id); delivery comes after. */
    async enqueueMessage(draft: OwnDraft): Promise<{ msgId: string; digest: string }> {
      try {
        const signed = await enqueueMessage(deps.outbox, draft);
        return { msgId: signed.payload.msg_id, digest: signed.digest };
      } catch (err) {
        throw signingFailure(err);
      }
    },

    /**
     * Signs and stores a message of this node in conversation order (idempotent by msg_id). When
     * the partner's messages reached this node after the workflow last looked, nothing is signed:
     * they come back (their facts only, no body) for the workflow to fold in and decide again.
     */
    async enqueueInOrder(
      draft: OwnDraft & { seq: number; seen: number },
    ): Promise<
      | { status: 'signed'; msgId: string; digest: string; sentAt: string }
      | { status: 'behind'; messages: InboundMessage[] }
    > {
      try {
        const r = await enqueueInOrder(deps.outbox, draft);
        if (r.status === 'signed') return r;
        return {
          status: 'behind',
          messages: r.messages.map((m) => ({
            msgId: m.msgId,
            digest: m.digest,
            kind: m.kind,
            seq: m.seq,
            seen: m.seen,
            sentAt: m.sentAt,
            receivedAt: m.receivedAt,
            facts: factsOf(m.body),
          })),
        };
      } catch (err) {
        throw signingFailure(err);
      }
    },

    /** Our messages that will never be sent (an earlier one was refused): abandoned. Idempotent. */
    async abandonMessages(input: { msgIds: string[]; reason: string }): Promise<void> {
      await markAbandoned(deps.pool, input.msgIds, input.reason);
    },

    /**
     * One attempt to deliver a stored outgoing message and verify the partner's receipt. Fails
     * (to be retried by Temporal) while the partner is unreachable; never sends a message twice
     * once it holds a receipt.
     */
    async deliverMessage(msgId: string): Promise<DeliveryOutcome> {
      deps.metrics?.deliveryAttempt();
      // Alive while it runs: a worker killed mid-attempt stops heartbeating, and Temporal gives
      // the attempt to another worker after its heartbeat timeout (10 s), not after the whole minute.
      const beat = setInterval(() => Context.current().heartbeat(), DELIVERY_HEARTBEAT_MS);
      try {
        const outcome = await deliverOnce(deps.outbox, msgId);
        if (outcome.status === 'rejected') deps.metrics?.deliveryFailure(outcome.code);
        return outcome;
      } catch (err) {
        deps.metrics?.deliveryFailure(
          err instanceof DeliveryRetry ? err.message : err instanceof AppError ? err.code : 'error',
        );
        if (err instanceof DeliveryRetry)
          throw ApplicationFailure.retryable(err.message, 'delivery_retry');
        if (err instanceof AppError) throw ApplicationFailure.nonRetryable(err.message, err.code);
        throw err;
      } finally {
        clearInterval(beat);
      }
    },

    /**
     * POSTs one supervisor notification to every configured webhook that has not taken it yet.
     * Fails (to be retried by Temporal with backoff) while any target fails; a target that took
     * it is never posted to again.
     */
    async notifyWebhooks(input: NotifyWebhooksInput): Promise<NotifyResult> {
      if (!deps.webhooks?.urls.length) return { targets: 0, posted: 0, skipped: 0, failed: [] };
      const result = await notifyWebhooks(
        deps.pool,
        deps.webhooks,
        input.reqId,
        input.seq,
        (outcome) => deps.metrics?.webhookPost(outcome),
      );
      if (result === 'unknown_notification')
        throw ApplicationFailure.nonRetryable(
          `no notification ${input.seq} for the request`,
          'unknown_notification',
        );
      if (result.failed.length)
        throw ApplicationFailure.retryable(
          `${result.failed.length} of ${result.targets} webhook targets failed: ${result.failed.join(', ')}`,
          'webhook_retry',
        );
      return result;
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
