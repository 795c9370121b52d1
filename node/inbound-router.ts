// Hands verified messages to the request workflows: a request starts the responder's workflow,
// everything else is signalled to the workflow of its request. Refuses, before anything is stored,
// messages that have no place here (unknown request, wrong party, another deadline policy).
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import {
  requestIdTaken,
  requestKnownWith,
  undispatchedMessages,
  markDispatched,
} from '../db/messages.js';
import { getRequest, type RequestRecord } from '../db/requests.js';
import { checkResponseBody, responsesOf } from '../domain/responses.js';
import { AppError } from '../errors.js';
import { holdForAttachments } from '../exchange/attachments.js';
import type { InboundSink, StoredMessage } from '../exchange/inbox.js';
import type { VerifiedEnvelope } from '../protocol/verify.js';
import type { incomingRequest } from '../workflows/incoming-request.js';
import { messageReceived, requestWorkflowId } from '../workflows/messages.js';
import { startingSearchAttributes } from '../workflows/search-attributes.js';
import type { LoadedPolicy } from './policy.js';

export interface InboundRouterDeps {
  pool: pg.Pool;
  client: Client;
  taskQueue: string;
  partyId: string;
  policy: LoadedPolicy;
  maxRetryInterval: string;
}

export function createInboundRouter(deps: InboundRouterDeps): InboundSink {
  return {
    async check({ payload: p }: VerifiedEnvelope) {
      if (p.kind === 'receipt') return; // receipts answer our messages; nothing to route
      if (p.kind === 'request') {
        if (p.body.policy_digest !== deps.policy.digest) {
          throw new AppError(
            'policy_mismatch',
            'the request names another deadline policy than this node’s (see GET /v1/policy)',
          );
        }
        if (await requestIdTaken(deps.pool, p.req_id)) {
          throw new AppError('conflict', 'this node already holds a request with this req_id');
        }
        return;
      }
      if (!(await requestKnownWith(deps.pool, p.req_id, p.iss))) {
        throw new AppError(
          'unknown_request',
          'no request with this req_id between this node and the sender',
        );
      }
      // A response must fit the request it answers (its type's records, its items), as at the
      // sender's API: a partner system that skips those checks is refused here.
      if (p.kind === 'response') {
        const request = await getRequest(deps.pool, p.req_id);
        if (request) {
          const earlier = (await responsesOf(deps.pool, p.req_id)).map((r) => r.body);
          checkResponseBody(request.type, request.subject, p.body, earlier);
        }
      }
    },

    async accept(m: StoredMessage) {
      const p = m.payload;
      if (p.kind === 'receipt') return;
      // Not before its attachments are here: held (stored, receipted, undispatched), not refused.
      await holdForAttachments(deps.pool, m);
      const workflowId = requestWorkflowId(p.req_id);
      if (p.kind === 'request') {
        const record: RequestRecord = {
          reqId: p.req_id,
          workflowId,
          direction: 'incoming',
          type: p.body.request_type,
          requester: p.iss,
          responder: deps.partyId,
          priority: p.body.priority,
          subject: p.body.subject,
          createdBy: null,
          createdAt: m.receivedAt.toISOString(),
        };
        await deps.client.workflow.start<typeof incomingRequest>('incomingRequest', {
          workflowId,
          taskQueue: deps.taskQueue,
          args: [
            {
              record,
              policy: deps.policy.policy,
              policyDigest: deps.policy.digest,
              maxRetryInterval: deps.maxRetryInterval,
              received: {
                msgId: p.msg_id,
                digest: m.digest,
                receivedAt: m.receivedAt.toISOString(),
              },
            },
          ],
          workflowIdConflictPolicy: 'USE_EXISTING',
          typedSearchAttributes: startingSearchAttributes(record, 'delivered'),
        });
        return;
      }
      try {
        await deps.client.workflow.getHandle(workflowId).signal(messageReceived, {
          msgId: p.msg_id,
          digest: m.digest,
          kind: p.kind,
          receivedAt: m.receivedAt.toISOString(),
          body: p.body,
        });
      } catch (err) {
        // The request's workflow has ended (closed, declined, withdrawn): the message stays stored
        // and receipted, in the evidence, with nothing left to act on it.
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    },
  };
}

/** Hands on, in arrival order, stored messages whose hand-over failed (Temporal was down). */
export async function redispatch(pool: pg.Pool, sink: InboundSink): Promise<number> {
  const rows = await undispatchedMessages(pool);
  let done = 0;
  for (const row of rows) {
    try {
      await sink.accept({ digest: row.digest, payload: row.payload, receivedAt: row.received_at });
    } catch {
      continue; // stays undispatched; tried again at the next start
    }
    await markDispatched(pool, row.digest);
    done += 1;
  }
  return done;
}
