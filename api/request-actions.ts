// Officers' actions on a request, one route each. Each is a Temporal update whose validator
// refuses an action the request's state does not allow (409 invalid_state) before anything is
// signed, stored or sent; the answer says what happened.
import { Router } from 'express';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type pg from 'pg';
import type { z } from 'zod';
import { getRequest } from '../db/requests.js';
import { AppError } from '../errors.js';
import { Ulid } from '../schemas/common.js';
import { MessageBodies } from '../schemas/envelope.js';
import type { Action } from '../workflows/actions.js';
import { act, requestWorkflowId } from '../workflows/messages.js';
import { principalOf, requireRole, type Authenticator } from './auth.js';
import { requireJson } from './json-body.js';
import { parseOrThrow } from './problem.js';

/** Route, body schema (the message body of the action's kind) and action. */
const ROUTES: readonly {
  path: string;
  body: z.ZodType<Record<string, unknown>>;
  action: (body: Record<string, unknown>) => Action;
}[] = [
  { path: 'acknowledge', body: MessageBodies.acknowledgement, action: () => 'acknowledge' },
  {
    path: 'clarification-requests',
    body: MessageBodies.clarification_request,
    action: () => 'ask_clarification',
  },
  {
    path: 'clarifications',
    body: MessageBodies.clarification,
    action: () => 'answer_clarification',
  },
  {
    path: 'extension-requests',
    body: MessageBodies.extension_request,
    action: () => 'request_extension',
  },
  {
    path: 'extension-decision',
    body: MessageBodies.extension_decision,
    action: () => 'decide_extension',
  },
  {
    path: 'responses',
    body: MessageBodies.response,
    action: (b) => (b.final === true ? 'respond_final' : 'respond_partial'),
  },
  { path: 'decline', body: MessageBodies.decline, action: () => 'decline' },
  { path: 'withdraw', body: MessageBodies.withdrawal, action: () => 'withdraw' },
  {
    path: 'close',
    body: MessageBodies.closure,
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
  for (const route of ROUTES) {
    router.post(`/:id/${route.path}`, officer, requireJson, async (req, res) => {
      const id = Ulid.safeParse(req.params.id);
      const existing = id.success ? await getRequest(deps.pool, id.data) : undefined;
      if (!existing)
        throw new AppError('request_not_found', 'no request with that id on this node');
      const body = parseOrThrow(route.body, req.body, 'the action');
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
      res.json({ ...result, request: await getRequest(deps.pool, existing.id) });
    });
  }
  return router;
}
