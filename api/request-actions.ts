// Officers' actions on a request, one route per path of the action table (workflows/actions.ts).
// The body is normalised and the message it becomes is checked as the partner will check it
// (domain/outgoing-message.ts); then a Temporal update whose validator refuses an action the
// request's state does not allow (409 invalid_state) before anything is signed, stored or sent.
// The answer says what happened.
import type { Router } from 'express';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { claimIdempotencyKey, getRequest } from '../db/requests.js';
import { missingAttachments } from '../db/attachments.js';
import { requestPartnerAndMediator } from '../db/messages.js';
import { sealingKeyFor } from '../db/registry.js';
import { beyondScopeThroughMediator } from '../domain/consent.js';
import { checkOutgoingBody, normaliseBody } from '../domain/outgoing-message.js';
import { earlierResponses } from '../domain/responses.js';
import { requestSummary } from '../domain/access-policy.js';
import { referencedAttachments } from '../schemas/domain/shared.js';
import { AppError, ERROR_STATUS, type ErrorCode } from '../errors.js';
import { actOnRequest } from '../temporal/request-workflows.js';
import { withinTime } from '../temporal/within.js';
import { Ulid } from '../schemas/common.js';
import { ACTION_ROUTES, actionFor } from '../workflows/actions.js';
import { principalOf, type Authenticator } from './auth.js';
import {
  actionUpdateId,
  bodyDigest,
  IDEMPOTENCY_KEY_REUSED,
  idempotencyKeyOf,
} from './idempotency.js';
import { DeclaredRouter } from './routes.js';

/** The action routes under /v1/requests/:id/, one per path of the action table. */
export { ACTION_ROUTES } from '../workflows/actions.js';

/** How long an action waits for its workflow by default (REQUEST_UPDATE_TIMEOUT_SECONDS). */
export const DEFAULT_UPDATE_TIMEOUT_MS = 10_000;

export function requestActionsRouter(deps: {
  pool: pg.Pool;
  client: Client;
  auth: Authenticator;
  /** Longest wait for the workflow to confirm an action, before `503 update_timeout`. */
  updateTimeoutMs?: number;
}): Router {
  const declared = new DeclaredRouter('/v1/requests', deps.auth);
  const router = declared.router;
  for (const route of ACTION_ROUTES) {
    const { kind } = route;
    if (kind === 'request' || kind === 'receipt')
      throw new TypeError(`no officer action is carried by a ${kind}`);
    declared.route(`requestAction_${route.path.replace(/-/g, '_')}`, async (req, res) => {
      const id = Ulid.safeParse(req.params.id);
      const existing = id.success ? await getRequest(deps.pool, id.data) : undefined;
      if (!existing)
        throw new AppError('request_not_found', 'no request with that id on this node');
      // A partner that takes sealed content needs a usable encryption key registered first
      // (`encryption_key_missing`); its messages are larger, sealed, and sized as such.
      const partner = existing.direction === 'outgoing' ? existing.responder : existing.requester;
      const sealed = (await sealingKeyFor(deps.pool, partner, new Date())) !== undefined;
      // What will be signed, normalised and checked as the partner will check it: a body the
      // partner must refuse is refused here with the partner's code, and nothing is signed.
      const { body, gaps } = checkOutgoingBody(
        kind,
        existing,
        normaliseBody(kind, existing.type, req.body),
        kind === 'response' ? await earlierResponses(deps.pool, existing.id) : [],
        { sealed },
      );
      // Through a mediator unsealed, records only the requesting authority may see are refused.
      if (
        !sealed &&
        kind === 'response' &&
        (await requestPartnerAndMediator(deps.pool, existing.id))?.via
      ) {
        const beyond = beyondScopeThroughMediator(existing.type, body);
        if (beyond.length)
          throw new AppError(
            'consent_scope',
            'these records may not cross the mediator unsealed',
            beyond,
          );
      }
      // Files a record refers to travel with the message: they must be uploaded first.
      const missing = await missingAttachments(deps.pool, referencedAttachments(body));
      if (missing.length)
        throw new AppError(
          'unknown_attachment',
          'upload each attachment the records refer to (PUT /v1/attachments/sha256:…) first',
          missing.map((sha) => ({ path: '/records', message: `sha256:${sha} is not uploaded` })),
        );
      const action = actionFor(kind, body);
      if (!action) throw new TypeError(`no action for a ${kind} body`);
      // With an Idempotency-Key, a retry is the same action: the key is held for this request and
      // body, and the update's id comes from it, so Temporal runs it once and answers the retry
      // with the first outcome.
      const principal = principalOf(req).sub;
      const key = idempotencyKeyOf(req);
      let updateId: string | undefined;
      if (key !== undefined) {
        const digest = bodyDigest({ action: route.path, request: existing.id, body });
        const claim = await claimIdempotencyKey(deps.pool, principal, key, existing.id, digest);
        if (claim.reqId !== existing.id || claim.bodySha256 !== digest)
          throw new AppError('idempotency_key_reused', IDEMPOTENCY_KEY_REUSED);
        updateId = actionUpdateId(principal, key);
      }
      let result;
      const limitMs = deps.updateTimeoutMs ?? DEFAULT_UPDATE_TIMEOUT_MS;
      try {
        result = await withinTime(
          deps.client,
          limitMs,
          () =>
            actOnRequest(deps.client, existing.id, { action, actor: principal, body }, updateId),
          () =>
            new AppError(
              'update_timeout',
              `the workflow did not confirm the action within ${limitMs} ms; look at the request before acting again`,
            ),
        );
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          // The workflow's refusal carries a stable code (invalid_state, or the outbox's).
          const cause = err.cause as { type?: unknown; message?: unknown } | undefined;
          if (typeof cause?.type === 'string' && cause.type in ERROR_STATUS)
            throw new AppError(cause.type as ErrorCode, String(cause.message));
        }
        // The workflow of a finished request is gone; the request stays.
        if (err instanceof WorkflowNotFoundError)
          throw new AppError('invalid_state', `the request is ${existing.status}`);
        throw err;
      }
      res.json({
        ...result,
        // A response's gaps against the legal minimums, ready to ask about.
        ...(kind === 'response' ? { clarification_items: gaps } : {}),
        // The summary form (domain/access-policy.ts): the detail route shows, and read-audits, content.
        request: await getRequest(deps.pool, existing.id).then((r) => r && requestSummary(r)),
      });
    });
  }
  return router;
}
