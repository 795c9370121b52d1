// The codec endpoint (Temporal's codec server protocol): `POST /codec/decode` lets an admin read
// the node's encrypted payloads in the Temporal Web UI or CLI, `POST /codec/encode` encrypts input
// they send to a workflow. Admins only: payloads hold personal data no supervisor may see. Only
// the node's own namespace, bounded bodies, and CORS for the configured Temporal UI origin only.
import type { Router } from 'express';
import express, { type RequestHandler } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type pg from 'pg';
import type { Logger } from 'pino';
import { AppError } from '../errors.js';
import { CodecPayloads, type CodecPayload } from '../schemas/codec-api.js';
import { CodecError } from '../temporal/codec.js';
import { recordReads } from './access-log.js';
import { principalOf, type Authenticator } from './auth.js';
import { parseOrThrow } from './problem.js';
import { DeclaredRouter } from './routes.js';

export interface CodecRouteDeps {
  codec: PayloadCodec;
  /** Where decodes are read-audited (api/access-log.ts). */
  pool: pg.Pool;
  auth: Authenticator;
  /** The node's Temporal namespace: the only one this endpoint serves. */
  namespace: string;
  /** Browser origins (the Temporal UI's) allowed to call; exact `scheme://host:port` matches. */
  corsOrigins: readonly string[];
  log: Logger;
}

/** Largest request body: a payload may be 2 MB (Temporal's blob limit), a third more in base64. */
export const CODEC_BODY_LIMIT = 4 * 1024 * 1024;
/** Largest answer, in bytes of JSON: an encoded payload grows by a few dozen bytes only. */
export const CODEC_ANSWER_LIMIT = 6 * 1024 * 1024;

const ALLOWED_HEADERS = 'Authorization, Content-Type, X-Namespace';

const fromJson = (p: CodecPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): CodecPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  ...(p.data?.length ? { data: Buffer.from(p.data).toString('base64') } : {}),
});

/** CORS for the configured origins only; a preflight from any other origin is refused. */
function cors(origins: readonly string[]): { headers: RequestHandler; preflight: RequestHandler } {
  const allowed = (origin: string | undefined) => origin !== undefined && origins.includes(origin);
  const refuse = () =>
    new AppError(
      'forbidden',
      'the codec endpoint answers browsers of the configured Temporal UI origin only (TEMPORAL_CODEC_CORS_ORIGIN)',
    );
  return {
    headers: (req, res, next) => {
      res.vary('Origin');
      const origin = req.get('origin');
      if (allowed(origin)) {
        res.set('access-control-allow-origin', origin);
        res.set('access-control-allow-credentials', 'true');
      } else if (origin !== undefined && req.method !== 'OPTIONS') throw refuse();
      next();
    },
    preflight: (req, res) => {
      if (!allowed(req.get('origin'))) throw refuse();
      res.set({
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': '600',
      });
      res.status(204).end();
    },
  };
}

export function codecRouter(deps: CodecRouteDeps): Router {
  const declared = new DeclaredRouter('/codec', deps.auth);
  const router = declared.router;
  const { headers, preflight } = cors(deps.corsOrigins);
  const ownNamespace: RequestHandler = (req, _res, next) => {
    const ns = req.get('x-namespace');
    if (ns !== undefined && ns !== deps.namespace)
      throw new AppError(
        'forbidden',
        `this codec endpoint serves namespace ${deps.namespace} only`,
      );
    next();
  };
  const json: RequestHandler = (req, _res, next) => {
    if (!req.is('application/json'))
      throw new AppError('unsupported_media_type', 'send the body as application/json');
    next();
  };
  const body = express.json({ limit: CODEC_BODY_LIMIT, strict: true });

  const route =
    (op: 'encode' | 'decode'): RequestHandler =>
    async (req, res) => {
      const { payloads } = parseOrThrow(CodecPayloads, req.body, 'the body');
      let out: Payload[];
      try {
        out = await deps.codec[op](payloads.map(fromJson));
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        // Input this node cannot decrypt (unknown key id, altered bytes): 400 at the payload's path.
        throw new AppError('schema_invalid', 'a payload cannot be decoded by this node', [
          { path: `/payloads/${err.index}`, message: err.message },
        ]);
      }
      const answer = JSON.stringify({ payloads: out.map(toJson) });
      if (Buffer.byteLength(answer) > CODEC_ANSWER_LIMIT)
        throw new AppError(
          'too_large',
          'the answer would be larger than allowed; send fewer payloads',
        );
      // A decode is a read of personal data (an admin's break-glass view of histories): recorded
      // in the access log before the answer, by count (a payload names no request by itself).
      if (op === 'decode')
        await recordReads(deps.pool, req, 'POST /codec/decode', [
          { reqId: null, parts: ['temporal_payloads'], ref: `payloads:${payloads.length}` },
        ]);
      // Who read or wrote payloads, and how many: never what they hold.
      deps.log.info(
        { codec: op, sub: principalOf(req).sub, payloads: payloads.length },
        'codec endpoint used',
      );
      res.type('application/json').send(answer);
    };

  router.use(headers);
  router.options(['/encode', '/decode'], preflight);
  declared.route('codec_decode', ownNamespace, json, body, route('decode'));
  declared.route('codec_encode', ownNamespace, json, body, route('encode'));
  return router;
}
