// The partner inbox `POST /v1/messages` and this node's public keys. Partner systems
// authenticate by signature, not by bearer token: the envelope is the credential. A source that
// keeps sending input no party can be held to is answered 429 rate_limited with Retry-After; the
// limit counts refusals only, so a valid envelope from the same address is still taken.
import type { Router } from 'express';
import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import { AppError } from '../errors.js';
import { receiveEnvelope, type InboxDeps } from '../exchange/inbox.js';
import { claimedAudience, relayEnvelope } from '../exchange/mediator.js';
import { RELAY_RECEIPT_HEADER } from '../exchange/relay-receipt.js';
import { partyOwnInbox } from '../db/registry.js';
import { sourceKey } from '../exchange/refusal-limit.js';
import { refusalLogOf } from '../exchange/refusals.js';
import { MAX_ENVELOPE_BYTES } from '../protocol/verify.js';
import { ENVELOPE_MEDIA_TYPE } from '../schemas/envelope.js';
import { sendProblem } from './problem.js';
import { DeclaredRouter } from './routes.js';

export function inboxRouter(deps: InboxDeps): Router {
  const declared = new DeclaredRouter('');
  const router = declared.router;
  declared.route('getJwks', (_req, res) => {
    res.set('cache-control', 'max-age=300').json(deps.keyring.jwks());
  });

  /** A refusal without a body to digest (media type, size, none): counted and limited only. */
  const refuseUnread = (req: Request, err: AppError) =>
    refusalLogOf(deps).refuse(err, {
      code: err.code,
      via: 'online',
      source: sourceOf(req),
      kind: 'unattributed',
    });

  // Answers a 429 here, with its Retry-After (the problem document carries the same
  // `retry_after`), and without the error handler's log line per request: a flood would flood
  // the log too. The refusal log says once a second how many were limited. The answer is held a
  // while first (see RefusalLimits.limitedHoldMs): a flood then runs at the pace the node sets.
  const retryAfter: ErrorRequestHandler = (err, req, res, next) => {
    if (!(err instanceof AppError && err.code === 'rate_limited') || res.headersSent)
      return next(err);
    const given = err.extra?.retry_after;
    const seconds = typeof given === 'number' ? given : 1;
    const answer = refusalLogOf(deps).limitedAnswer(sourceOf(req), seconds);
    const send = () => {
      answer.release();
      if (res.headersSent || res.destroyed) return;
      res.set('retry-after', String(seconds));
      if (answer.close) res.set('connection', 'close');
      sendProblem(res, err);
    };
    if (answer.holdMs <= 0) return send();
    const timer = setTimeout(send, answer.holdMs);
    // A sender that hangs up while held frees its place at once.
    res.once('close', () => {
      clearTimeout(timer);
      answer.release();
    });
  };

  const tooLarge: ErrorRequestHandler = async (err, req, _res, next) => {
    if ((err as { type?: unknown }).type !== 'entity.too.large') return next(err);
    const refused = new AppError('too_large', `envelope over ${MAX_ENVELOPE_BYTES} bytes`);
    next(await refuseUnread(req, refused));
  };

  declared.route(
    'receiveMessage',
    async (req: Request, _res: Response, next: NextFunction) => {
      if (!req.is(ENVELOPE_MEDIA_TYPE)) {
        const refused = new AppError(
          'unsupported_media_type',
          `send one compact JWS as ${ENVELOPE_MEDIA_TYPE}`,
        );
        throw await refuseUnread(req, refused);
      }
      next();
    },
    express.text({ type: ENVELOPE_MEDIA_TYPE, limit: MAX_ENVELOPE_BYTES, defaultCharset: 'utf-8' }),
    async (req: Request, res: Response) => {
      const body: unknown = req.body;
      if (typeof body !== 'string')
        throw await refuseUnread(req, new AppError('malformed_envelope', 'empty body'));
      const token = body.trim();
      // A mediator relays what is addressed to a party it relays for (README, _Mediated
      // exchange_); everything else is this node's own mail, refused as before when not for it.
      const aud = claimedAudience(token);
      if (
        aud !== undefined &&
        aud !== deps.partyId &&
        (await partyOwnInbox(deps.pool, aud))?.relays
      ) {
        const answer = await relayEnvelope(deps, token, sourceOf(req));
        res.set(RELAY_RECEIPT_HEADER, answer.relayReceipt);
        if ('problem' in answer) return sendProblem(res, answer.problem);
        res.status(answer.status).type(answer.contentType).send(answer.body);
        return;
      }
      const { receipt } = await receiveEnvelope(deps, token, 'online', sourceOf(req), {
        relayReceipt: req.get(RELAY_RECEIPT_HEADER),
      });
      res.status(202).type(ENVELOPE_MEDIA_TYPE).send(receipt);
    },
    tooLarge,
    retryAfter,
  );
  return router;
}

/**
 * The sender's address key. `req.ip` is the peer's address unless the app trusts a proxy
 * (`trust proxy`), which then names the client it forwarded for.
 */
function sourceOf(req: Request): string {
  return sourceKey(req.ip ?? req.socket.remoteAddress);
}
