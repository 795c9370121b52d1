// Officers' actions on a request, one route each. Each is a Temporal update whose validator
// refuses an action the request's state does not allow (409 invalid_state) before anything is
// signed, stored or sent; the answer says what happened.
import { Router } from 'express';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { getRequest } from '../db/requests.js';
import { missingAttachments } from '../db/attachments.js';
import { checkResponseBody, responsesOf } from '../domain/responses.js';
import { referencedAttachments } from '../schemas/domain/shared.js';
import { AppError } from '../errors.js';
import { Ulid } from '../schemas/common.js';
import { MessageBodies, type MessageKind } from '../schemas/envelope.js';
import type { Action } from '../workflows/actions.js';
import { act, requestWorkflowId } from '../workflows/messages.js';
import { principalOf, requireRole, type Authenticator } from './auth.js';
import { requireJson } from './json-body.js';
import { parseOrThrow } from './problem.js';

/** One officer action: its route, who may take it, the message kind that carries it, its effect. */
export interface ActionRoute {
  path: string;
  kind: MessageKind;
  side: 'requester' | 'responder';
  summary: string;
  action: (body: Record<string, unknown>) => Action;
}

/** The action routes under /v1/requests/:id/; the body is the message body of `kind`. */
export const ACTION_ROUTES: readonly ActionRoute[] = [
  {
    path: 'acknowledge',
    kind: 'acknowledgement',
    side: 'responder',
    summary: 'Acknowledge an incoming request',
    action: () => 'acknowledge',
  },
  {
    path: 'clarification-requests',
    kind: 'clarification_request',
    side: 'responder',
    summary: 'Ask the requester for clarification',
    action: () => 'ask_clarification',
  },
  {
    path: 'clarifications',
    kind: 'clarification',
    side: 'requester',
    summary: 'Answer the open clarification question',
    action: () => 'answer_clarification',
  },
  {
    path: 'extension-requests',
    kind: 'extension_request',
    side: 'responder',
    summary: 'Ask for more time, with a reason and a proposed deadline',
    action: () => 'request_extension',
  },
  {
    path: 'extension-decision',
    kind: 'extension_decision',
    side: 'requester',
    summary: 'Grant or refuse the pending extension request',
    action: () => 'decide_extension',
  },
  {
    path: 'responses',
    kind: 'response',
    side: 'responder',
    summary: 'Send a partial (final: false) or final response',
    action: (b) => (b.final === true ? 'respond_final' : 'respond_partial'),
  },
  {
    path: 'decline',
    kind: 'decline',
    side: 'responder',
    summary: 'Decline the request, with a reason',
    action: () => 'decline',
  },
  {
    path: 'withdraw',
    kind: 'withdrawal',
    side: 'requester',
    summary: 'Withdraw the request',
    action: () => 'withdraw',
  },
  {
    path: 'close',
    kind: 'closure',
    side: 'requester',
    summary: 'Close an answered request: accept it, or mark it incomplete (reopens it)',
    action: (b) => (b.outcome === 'accepted' ? 'close_accepted' : 'close_incomplete'),
  },
];

export function requestActionsRouter(deps: {
  pool: pg.Pool;
  client: Client;
  auth: Authenticator;
}): Router {
  const router = Router();
  const officer = requireRole(deps.auth, 'officer');
  for (const route of ACTION_ROUTES) {
    router.post(`/:id/${route.path}`, officer, requireJson, async (req, res) => {
      const id = Ulid.safeParse(req.params.id);
      const existing = id.success ? await getRequest(deps.pool, id.data) : undefined;
      if (!existing)
        throw new AppError('request_not_found', 'no request with that id on this node');
      const body = parseOrThrow(MessageBodies[route.kind], req.body, 'the action') as Record<
        string,
        unknown
      >;
      // A response must fit its request; its gaps go back to the officer as clarification items.
      let clarificationItems: unknown[] | undefined;
      if (route.kind === 'response') {
        const earlier = (await responsesOf(deps.pool, existing.id)).map((r) => r.body);
        clarificationItems = checkResponseBody(existing.type, existing.subject, body, earlier).gaps;
        // Files a record refers to travel with the response: they must be uploaded first.
        const missing = await missingAttachments(deps.pool, referencedAttachments(body));
        if (missing.length)
          throw new AppError(
            'unknown_attachment',
            'upload each attachment the records refer to (PUT /v1/attachments/sha256:…) first',
            missing.map((sha) => ({ path: '/records', message: `sha256:${sha} is not uploaded` })),
          );
      }
      let result;
      try {
        result = await deps.client.workflow
          .getHandle(requestWorkflowId(existing.id))
          .executeUpdate(act, {
            args: [{ action: route.action(body), actor: principalOf(req).sub, body }],
          });
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          const cause = err.cause as { type?: unknown; message?: unknown } | undefined;
          if (cause?.type === 'invalid_state')
            throw new AppError('invalid_state', String(cause.message));
        }
        // The workflow of a finished request is gone; the request stays.
        if (err instanceof WorkflowNotFoundError)
          throw new AppError('invalid_state', `the request is ${existing.status}`);
        throw err;
      }
      res.json({
        ...result,
        ...(clarificationItems ? { clarification_items: clarificationItems } : {}),
        request: await getRequest(deps.pool, existing.id),
      });
    });
  }
  return router;
}
