// Operators' view of message traffic and store-and-forward: the outbox (what waits for which
// partner), one stored message, and export/import of bundles.
import express, { Router } from 'express';
import type pg from 'pg';
import { z } from 'zod';
import { getInboxMessage, getOutboxMessage, listOutbox } from '../db/messages.js';
import { AppError } from '../errors.js';
import { exportBundle, importBundle } from '../exchange/bundle.js';
import type { InboxDeps } from '../exchange/inbox.js';
import type { OutboxDeps } from '../exchange/outbox.js';
import { Bundle } from '../schemas/bundle.js';
import { PartyId, Ulid } from '../schemas/common.js';
import { Sha256Hex } from '../schemas/envelope.js';
import { requireRole, type Authenticator } from './auth.js';
import { parseOrThrow } from './problem.js';

const OutboxQuery = z.strictObject({
  status: z.enum(['pending', 'delivered', 'rejected', 'abandoned']).optional(),
  partner: PartyId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** Bundles can carry many envelopes; they get a larger cap than ordinary JSON bodies. */
const BUNDLE_LIMIT = '64mb';

export function outboxRouter(deps: {
  pool: pg.Pool;
  auth: Authenticator;
  inbox: InboxDeps;
  outbox: OutboxDeps;
}): Router {
  const router = Router();
  const operators = requireRole(deps.auth, 'admin', 'supervisor');
  const admin = requireRole(deps.auth, 'admin');

  router.get('/v1/outbox', operators, async (req, res) => {
    const q = parseOrThrow(OutboxQuery, req.query, 'the query');
    const rows = await listOutbox(deps.pool, { status: q.status, aud: q.partner, limit: q.limit });
    res.json({
      items: rows.map((m) => ({
        msgId: m.msg_id,
        to: m.aud,
        kind: m.kind,
        reqId: m.req_id,
        digest: m.digest,
        status: m.status,
        attempts: m.attempts,
        lastAttemptAt: m.last_attempt_at?.toISOString() ?? null,
        lastError: m.last_error,
        deliveredAt: m.delivered_at?.toISOString() ?? null,
        deliveredVia: m.delivered_via,
        receiptReceivedAt: m.receipt_received_at?.toISOString() ?? null,
      })),
    });
  });

  // A stored message exactly as exchanged: by msg_id (ours) or by digest (received).
  router.get('/v1/messages/:ref', admin, async (req, res) => {
    const ref = String(req.params.ref);
    if (Ulid.safeParse(ref).success) {
      const m = await getOutboxMessage(deps.pool, ref);
      if (m) {
        res.json({
          direction: 'out',
          msgId: m.msg_id,
          digest: m.digest,
          status: m.status,
          token: m.token,
          payload: m.payload,
          receipt: m.receipt_token,
        });
        return;
      }
    }
    const m = Sha256Hex.safeParse(ref).success ? await getInboxMessage(deps.pool, ref) : undefined;
    if (!m) throw new AppError('unknown_message', 'no stored message with that msg_id or digest');
    res.json({
      direction: 'in',
      msgId: m.msg_id,
      digest: m.digest,
      via: m.via,
      receivedAt: m.received_at.toISOString(),
      token: m.token,
      payload: m.payload,
      receipt: m.receipt_token,
    });
  });

  router.get('/v1/admin/exchange/export', admin, async (req, res) => {
    const { partner } = parseOrThrow(z.strictObject({ partner: PartyId }), req.query, 'the query');
    const bundle = await exportBundle(deps.outbox, partner);
    res
      .set('content-disposition', `attachment; filename="parley-${bundle.from}-to-${partner}.json"`)
      .json(bundle);
  });

  router.post(
    '/v1/admin/exchange/import',
    admin,
    express.json({ limit: BUNDLE_LIMIT }),
    async (req, res) => {
      if (!req.is('application/json'))
        throw new AppError('unsupported_media_type', 'send the bundle as application/json');
      const bundle = parseOrThrow(Bundle, req.body, 'the bundle');
      res.json(await importBundle({ inbox: deps.inbox, outbox: deps.outbox }, bundle));
    },
  );

  return router;
}
