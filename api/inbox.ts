// The partner inbox `POST /v1/messages` and this node's public keys. Partner systems
// authenticate by signature, not by bearer token: the envelope is the credential.
import express, { Router } from 'express';
import { AppError } from '../errors.js';
import { receiveEnvelope, type InboxDeps } from '../exchange/inbox.js';
import { MAX_ENVELOPE_BYTES } from '../protocol/verify.js';
import { ENVELOPE_MEDIA_TYPE } from '../schemas/envelope.js';

export function inboxRouter(deps: InboxDeps): Router {
  const router = Router();
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.set('cache-control', 'max-age=300').json(deps.keyring.jwks());
  });
  router.post(
    '/v1/messages',
    (req, _res, next) => {
      if (!req.is(ENVELOPE_MEDIA_TYPE))
        throw new AppError(
          'unsupported_media_type',
          `send one compact JWS as ${ENVELOPE_MEDIA_TYPE}`,
        );
      next();
    },
    express.text({ type: ENVELOPE_MEDIA_TYPE, limit: MAX_ENVELOPE_BYTES, defaultCharset: 'utf-8' }),
    async (req, res) => {
      const body: unknown = req.body;
      if (typeof body !== 'string') throw new AppError('malformed_envelope', 'empty body');
      const { receipt } = await receiveEnvelope(deps, body.trim(), 'online');
      res.status(202).type(ENVELOPE_MEDIA_TYPE).send(receipt);
    },
  );
  return router;
}
