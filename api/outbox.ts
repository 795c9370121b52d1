// Operators' view of message traffic and store-and-forward: the outbox (what waits for which
// partner), one stored message, and export/import of bundles.
import type { Router } from 'express';
import express from 'express';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import { z } from 'zod';
import { getInboxMessage, getOutboxMessage, listOutbox } from '../db/messages.js';
import { AppError } from '../errors.js';
import { exportBundle, importBundle } from '../exchange/bundle.js';
import { signalReceiptArrived } from '../temporal/request-workflows.js';
import type { InboxDeps } from '../exchange/inbox.js';
import type { OutboxDeps } from '../exchange/outbox.js';
import {
  listMediatorNotifications,
  listRelayed,
  mediatedRequestIds,
  overdueWatches,
} from '../db/mediator.js';
import {
  MediatedQuery,
  MediatorNoticeInput,
  MediatorNotificationsQuery,
  RelayedQuery,
  type MediatorNotification,
  type PauseConsentView,
} from '../schemas/mediator-api.js';
import { mediatedRequests } from '../exchange/mediated-requests.js';
import {
  deliverNoticesOf,
  REMINDER_SPACING_SECONDS,
  sendNotice,
} from '../exchange/mediator-notices.js';
import {
  givePauseConsent,
  withdrawPauseConsent,
  type ConsentAnswer,
} from '../exchange/pause-consent.js';
import { noticeView } from '../exchange/mediated-requests.js';
import type { LoadedPolicy } from '../node/policy.js';
import { Bundle } from '../schemas/bundle.js';
import { PartyId, Ulid } from '../schemas/common.js';
import { Sha256Hex } from '../schemas/envelope.js';
import { principalOf, type Authenticator } from './auth.js';
import { recordReads } from './access-log.js';
import { requestTypeOf } from '../db/access-log.js';
import { messageFormFor } from '../domain/access-policy.js';
import { claimedString } from '../protocol/claims.js';
import { parseJson } from './json-body.js';
import { parseOrThrow } from './problem.js';
import { DeclaredRouter } from './routes.js';

const OutboxQuery = z.strictObject({
  status: z.enum(['pending', 'delivered', 'rejected', 'abandoned']).optional(),
  partner: PartyId.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** The request an envelope of ours names, read without trust (we signed it). */
const reqIdOf = (token: string): string | undefined => claimedString(token, 'req_id');

/** Bundles can carry many envelopes; they get a larger cap than ordinary JSON bodies. */
const BUNDLE_LIMIT = '64mb';

export function outboxRouter(deps: {
  pool: pg.Pool;
  auth: Authenticator;
  inbox: InboxDeps;
  outbox: OutboxDeps;
  /** Where request workflows run: told when a file brings a receipt, so they need not retry first. */
  client?: Client;
  /** This node's deadline policy: a mediator counts the deadlines of the requests it relays by it. */
  policy: LoadedPolicy;
  /** On a mediator: least seconds between reminders of one deadline to one party. */
  reminderSpacingSeconds?: number;
}): Router {
  const declared = new DeclaredRouter('', deps.auth);
  const router = declared.router;
  /**
   * Tells the request's workflow that the receipt of its message `msgId` is stored, so its waiting
   * delivery attempt stops now. Best effort: the receipt is stored, and the next attempt finds it.
   */
  const wakeRequest = async (msgId: string): Promise<void> => {
    const message = await getOutboxMessage(deps.pool, msgId);
    if (!deps.client || !message?.req_id) return;
    try {
      await signalReceiptArrived(deps.client, message.req_id, msgId);
    } catch (err) {
      deps.inbox.log.warn(
        { msgId, errName: (err as Error).name },
        'imported receipt not signalled to its request; its next delivery attempt reads it',
      );
    }
  };

  declared.route('listOutbox', async (req, res) => {
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

  // On a mediator: the requests it relays, each as both parties see it, without content.
  declared.route('listMediated', async (req, res) => {
    const q = parseOrThrow(MediatedQuery, req.query, 'the query');
    // Overdue: those the watch last found overdue (seldom the most recently active) and the most
    // recently active, each looked at again now.
    const reqIds =
      q.overdue === 'true'
        ? [
            ...new Set([
              ...(await overdueWatches(deps.pool, q.limit)),
              ...(await mediatedRequestIds(deps.pool, q.limit)),
            ]),
          ]
        : undefined;
    const views = await mediatedRequests(deps, { limit: q.limit, ...(reqIds ? { reqIds } : {}) });
    const items =
      q.overdue === undefined ? views : views.filter((v) => v.overdue === (q.overdue === 'true'));
    res.json({ items: items.slice(0, q.limit) });
  });
  declared.route('getMediated', async (req, res) => {
    const id = parseOrThrow(Ulid, req.params.id, 'the request id');
    const [view] = await mediatedRequests(deps, { reqId: id, limit: 1 });
    if (!view) throw new AppError('unknown_request', 'this node relays no request with this id');
    res.json(view);
  });

  // On a mediator: a reminder to the parties, or a pause of both clocks (README, _Mediated exchange_).
  declared.routeWith('sendMediatorNotice', { parse: [parseJson] }, async (req, res) => {
    const id = parseOrThrow(Ulid, req.params.id, 'the request id');
    const input = parseOrThrow(MediatorNoticeInput, req.body, 'the notice');
    const [view] = await mediatedRequests(deps, { reqId: id, limit: 1 });
    if (!view) throw new AppError('unknown_request', 'this node relays no request with this id');
    const actor = principalOf(req).sub;
    const sent = await sendNotice(deps.inbox, view, input, actor, new Date(), {
      reminderSpacingSeconds: deps.reminderSpacingSeconds ?? REMINDER_SPACING_SECONDS,
    });
    // Stored: delivered now as far as the parties take it, else by the watch's passes.
    void deliverNoticesOf(deps.inbox, id).catch((err: unknown) =>
      deps.inbox.log.warn({ errName: (err as Error).name }, 'mediator notice delivery failed'),
    );
    res.status(201).json({ items: sent.map((n) => noticeView(n, view.requester)) });
  });

  // On a party: its consent that the request's mediator may pause both clocks, and its withdrawal.
  const consentView = ({ row, heldSince }: ConsentAnswer): PauseConsentView => ({
    msgId: row.msg_id,
    digest: row.digest,
    mediator: row.mediator,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
    heldSince: heldSince?.toISOString() ?? null,
  });
  declared.route('givePauseConsent', async (req, res) => {
    const id = parseOrThrow(Ulid, req.params.id, 'the request id');
    const answer = await givePauseConsent(deps.inbox, id, principalOf(req).sub);
    res.status(answer.heldSince ? 201 : 202).json(consentView(answer));
  });
  declared.route('withdrawPauseConsent', async (req, res) => {
    const id = parseOrThrow(Ulid, req.params.id, 'the request id');
    const answer = await withdrawPauseConsent(deps.inbox, id, principalOf(req).sub);
    res.status(answer.heldSince ? 200 : 202).json(consentView(answer));
  });

  // On a mediator: what it told its supervisors about deadlines that passed.
  declared.route('listMediatorNotifications', async (req, res) => {
    const q = parseOrThrow(MediatorNotificationsQuery, req.query, 'the query');
    const rows = await listMediatorNotifications(deps.pool, { limit: q.limit });
    const items: MediatorNotification[] = rows.map((n) => ({
      reqId: n.req_id,
      type: n.request_type,
      requester: n.requester,
      responder: n.responder,
      deadline: n.deadline,
      level: n.level,
      dueAt: n.due_at.toISOString(),
      at: n.at.toISOString(),
      webhooksTook: n.delivered_targets.length,
      attempts: n.attempts,
      lastError: n.last_error,
    }));
    res.json({ items });
  });

  // On a mediator: what it relayed, without tokens or content.
  declared.route('listRelayed', async (req, res) => {
    const q = parseOrThrow(RelayedQuery, req.query, 'the query');
    const rows = await listRelayed(deps.pool, { reqId: q.req_id, limit: q.limit });
    res.json({
      items: rows.map((r) => ({
        digest: r.digest,
        msgId: r.msg_id,
        kind: r.kind,
        reqId: r.req_id,
        from: r.iss,
        to: r.aud,
        sealed: r.sealed,
        receivedAt: r.received_at.toISOString(),
        attempts: r.attempts,
        lastError: r.last_error,
        recipientStatus: r.partner_status,
        recipientReceivedAt: r.partner_received_at?.toISOString() ?? null,
      })),
    });
  });

  // A stored message exactly as exchanged: by msg_id (ours) or by digest (received). Its token and
  // payload only to a role that may see its request's content (domain/access-policy.ts), with
  // the read recorded; otherwise its ids, kind, digest and status.
  declared.route('getStoredMessage', async (req, res) => {
    const ref = String(req.params.ref);
    const out = Ulid.safeParse(ref).success ? await getOutboxMessage(deps.pool, ref) : undefined;
    const inb =
      !out && Sha256Hex.safeParse(ref).success ? await getInboxMessage(deps.pool, ref) : undefined;
    const m = out ?? inb;
    if (!m) throw new AppError('unknown_message', 'no stored message with that msg_id or digest');
    const type = m.req_id ? await requestTypeOf(deps.pool, m.req_id) : undefined;
    const form = messageFormFor(principalOf(req).roles, { kind: m.kind, type });
    const meta = out
      ? {
          direction: 'out' as const,
          msgId: out.msg_id,
          digest: out.digest,
          kind: out.kind,
          reqId: out.req_id,
          to: out.aud,
          status: out.status,
        }
      : {
          direction: 'in' as const,
          msgId: inb!.msg_id,
          digest: inb!.digest,
          kind: inb!.kind,
          reqId: inb!.req_id,
          from: inb!.iss,
          via: inb!.via,
          receivedAt: inb!.received_at.toISOString(),
        };
    if (form === 'withheld') {
      res.json({ ...meta, withheld: 'access_policy', receipt: m.receipt_token });
      return;
    }
    // An erased message keeps its ids and digest only: there is nothing of it left to read.
    if (typeof m.token !== 'string') {
      res.json({ ...meta, withheld: 'erased', receipt: m.receipt_token });
      return;
    }
    if (m.kind !== 'receipt')
      await recordReads(deps.pool, req, 'GET /v1/messages/:ref', [
        { reqId: m.req_id, parts: ['message'], ref: m.digest },
      ]);
    res.json({ ...meta, token: m.token, payload: m.payload, receipt: m.receipt_token });
  });

  declared.route('exportBundle', async (req, res) => {
    const { partner } = parseOrThrow(z.strictObject({ partner: PartyId }), req.query, 'the query');
    const bundle = await exportBundle(deps.outbox, partner);
    // Our pending envelopes, with their content, for transport: an operator's tool, read-audited
    // per request it carries.
    const reqIds = [...new Set(bundle.messages.flatMap((t) => reqIdOf(t) ?? []))];
    await recordReads(
      deps.pool,
      req,
      'GET /v1/admin/exchange/export',
      reqIds.map((reqId) => ({ reqId, parts: ['exchange_bundle'], ref: partner })),
    );
    res
      .set('content-disposition', `attachment; filename="parley-${bundle.from}-to-${partner}.json"`)
      .json(bundle);
  });

  declared.routeWith(
    'importBundle',
    { parse: [express.json({ limit: BUNDLE_LIMIT })] },
    async (req, res) => {
      const bundle = parseOrThrow(Bundle, req.body, 'the bundle');
      res.json(
        await importBundle(
          { inbox: deps.inbox, outbox: deps.outbox, receiptApplied: wakeRequest },
          bundle,
        ),
      );
    },
  );

  return router;
}
