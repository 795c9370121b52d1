// Erasing a request's personal content while its evidence keeps verifying: one idempotent,
// resumable procedure (an admin's action or the retention sweep). Temporal's copies go first (the
// request's workflow, every run, and the delivery workflows of our messages are deleted: they are
// closed by then, and their histories hold the subject and bodies, encrypted), then Postgres in one
// transaction (db/erasure.ts) that ends with the `request_erased` audit entry. A crash between the
// two leaves a begun erasure that running the procedure again (or the next sweep) finishes.
import { isGrpcServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import {
  beginErasure,
  ENDED_STATUSES,
  eraseRequestContent,
  getErasure,
  markTemporalErased,
  outboxMessageIds,
  type ErasureRow,
  type ErasureTrigger,
  type RetentionSeconds,
} from '../db/erasure.js';
import { getRequest } from '../db/requests.js';
import { AppError } from '../errors.js';
import type { DeadlinePolicy } from '../schemas/policy.js';
import type { ErasureView } from '../schemas/requests-api.js';
import { RequestType } from '../schemas/common.js';
import { deliveryWorkflowId } from '../workflows/deliver-message.js';
import { requestWorkflowId } from '../workflows/messages.js';

export interface ErasureDeps {
  pool: pg.Pool;
  client: Client;
  namespace: string;
}

/** gRPC NOT_FOUND: the execution is not there (never was, or already deleted). */
const NOT_FOUND = 5;

function isNotFound(err: unknown): boolean {
  return (
    err instanceof WorkflowNotFoundError ||
    (isGrpcServiceError(err) && (err.code as number) === NOT_FOUND)
  );
}

/** Whether the workflow's latest run is still running; false when there is none. */
async function running(client: Client, workflowId: string): Promise<boolean> {
  try {
    const d = await client.workflow.getHandle(workflowId).describe();
    return d.status.name === 'RUNNING';
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

async function deleteExecution(deps: ErasureDeps, workflowId: string, runId?: string) {
  try {
    await deps.client.workflowService.deleteWorkflowExecution({
      namespace: deps.namespace,
      workflowExecution: { workflowId, ...(runId ? { runId } : {}) },
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * Deletes every run of the request's workflow (continued-as-new runs included) and the delivery
 * workflow of each of our messages. Idempotent: what is already gone is skipped.
 */
async function deleteHistories(deps: ErasureDeps, reqId: string): Promise<void> {
  const workflowId = requestWorkflowId(reqId);
  // The id is `request-<ULID>`, checked before it gets here: nothing to escape in the query.
  for await (const run of deps.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    await deleteExecution(deps, workflowId, run.runId);
  await deleteExecution(deps, workflowId);
  for (const msgId of await outboxMessageIds(deps.pool, reqId))
    await deleteExecution(deps, deliveryWorkflowId(msgId));
}

function viewOf(e: ErasureRow): ErasureView {
  return {
    requestId: e.reqId,
    state: 'erased',
    trigger: e.trigger,
    by: e.actor,
    startedAt: e.startedAt.toISOString(),
    erasedAt: e.completedAt!.toISOString(),
    auditIndex: e.auditIndex!,
    messages: e.summary.messages ?? [],
    attachments: e.summary.attachments ?? [],
  };
}

/** The erasure of a request once complete, or undefined. */
export async function erasureOf(pool: pg.Pool, reqId: string): Promise<ErasureView | undefined> {
  const e = await getErasure(pool, reqId);
  return e?.completedAt ? viewOf(e) : undefined;
}

/**
 * Erases the request's personal content; the same answer however often it is called. Refuses,
 * changing nothing, a request that has not ended (`request_open`: not closed, declined or
 * withdrawn, or its workflow still settling messages with the partner) and an unknown one.
 */
export async function eraseRequest(
  deps: ErasureDeps,
  reqId: string,
  by: { trigger: ErasureTrigger; actor: string | null },
): Promise<ErasureView> {
  const done = await erasureOf(deps.pool, reqId);
  if (done) return done;
  const request = await getRequest(deps.pool, reqId);
  if (!request) throw new AppError('request_not_found', 'no request with that id on this node');
  let begun = await getErasure(deps.pool, reqId);
  if (!begun) {
    if (!(ENDED_STATUSES as readonly string[]).includes(request.status))
      throw new AppError(
        'request_open',
        `the request is ${request.status}: it can be erased once it is closed, declined or withdrawn`,
      );
    const workflows = [
      requestWorkflowId(reqId),
      ...(await outboxMessageIds(deps.pool, reqId)).map(deliveryWorkflowId),
    ];
    for (const id of workflows)
      if (await running(deps.client, id))
        throw new AppError(
          'request_open',
          'the request has ended but is still settling messages with the partner; try again shortly',
        );
    begun = await beginErasure(deps.pool, reqId, by.trigger, by.actor);
  }
  if (!begun.temporalDoneAt) {
    await deleteHistories(deps, reqId);
    await markTemporalErased(deps.pool, reqId);
  }
  return viewOf(await eraseRequestContent(deps.pool, reqId));
}

/** The retention the policy sets per request type, in seconds (null: kept). */
export function retentionOf(policy: DeadlinePolicy): RetentionSeconds[] {
  return RequestType.options.map((requestType) => {
    const rule = policy.retention?.[requestType];
    const afterClosure = rule?.after_closure_seconds ?? null;
    return {
      requestType,
      afterClosure,
      afterOtherEnd:
        rule?.after_other_end_seconds === undefined ? afterClosure : rule.after_other_end_seconds,
    };
  });
}
