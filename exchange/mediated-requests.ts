// A mediator following the requests it relays (README, _Mediated exchange_): reads what it relayed
// and the receipts it passed back, and derives each request's state as both parties show it
// (domain/mediated-view.ts). It reads the clear members of the signed messages only: a sealed
// message's content stays sealed.
import type pg from 'pg';
import { mediatedRequestIds, relayedOfRequests, type RelayedTokenRow } from '../db/mediator.js';
import {
  consentsHeld,
  noticesOfRequests,
  type HeldConsent,
  type NoticeRow,
} from '../db/mediator-notices.js';
import { mediatedView, type RelayedMessage } from '../domain/mediated-view.js';
import type { LoadedPolicy } from '../node/policy.js';
import { storedPayloadOf } from '../protocol/claims.js';
import type { MediatedRequestView, MediatorNoticeView } from '../schemas/mediator-api.js';
import { isRetriedRefusal } from './outbox.js';

const payloadOf = (token: string) => storedPayloadOf<Record<string, unknown>>(token);

const isoOfSeconds = (s: unknown, fallback: Date) =>
  new Date(typeof s === 'number' ? s * 1000 : fallback.getTime()).toISOString();

/** One relayed row as the view reads it (M verified the token when it relayed it). */
function relayedMessage(row: RelayedTokenRow): RelayedMessage | undefined {
  const p = payloadOf(row.token);
  if (p.kind === 'receipt' || typeof p.msg_id !== 'string') return undefined;
  const receipt = row.partner_receipt_token ? payloadOf(row.partner_receipt_token) : undefined;
  const receiptBody = receipt?.body as { received_at?: unknown } | undefined;
  const receivedAt = typeof receiptBody?.received_at === 'string' ? receiptBody.received_at : null;
  const status = row.partner_status;
  return {
    digest: row.digest,
    msgId: p.msg_id,
    iss: String(p.iss),
    aud: String(p.aud),
    kind: p.kind as RelayedMessage['kind'],
    // A sender that predates `seq`: its messages have no place M can tell (the view is incomplete).
    seq: typeof p.seq === 'number' ? p.seq : p.kind === 'request' ? 1 : null,
    seen: typeof p.seen === 'number' ? p.seen : 0,
    sentAt: isoOfSeconds(p.sent_at ?? p.iat, row.received_at),
    body: (p.body ?? {}) as Record<string, unknown>,
    relayedAt: row.received_at.toISOString(),
    receivedAt,
    // Refused for good: its sender gives it up (a refusal it retries is still in transit, and so
    // is a message whose recipient's receipt M could not check: M answers the sender
    // relay_pending, exchange/mediator.ts).
    refused:
      receivedAt === null &&
      status !== null &&
      status >= 400 &&
      row.last_error !== 'receipt_invalid' &&
      !isRetriedRefusal(status, row.last_error ?? `http_${status}`),
  };
}

/** One of M's notices as its view shows it (`requester`: the requester's id). */
export function noticeView(n: NoticeRow, requester: string): MediatorNoticeView {
  return {
    msgId: n.msg_id,
    digest: n.digest,
    to: n.aud,
    side: n.aud === requester ? 'requester' : 'responder',
    action: n.action,
    pauseId: n.pause_id,
    at: n.at?.toISOString() ?? null,
    deadline: n.deadline,
    createdAt: n.created_at.toISOString(),
    createdBy: n.created_by,
    state: n.state,
    receivedAt: n.received_at?.toISOString() ?? null,
    code: n.code,
    attempts: n.attempts,
  };
}

/**
 * The consents M holds about one request (in the order the parties signed them), each with the
 * pause that carried it, or the party's withdrawal that ended it unused.
 */
export function consentViews(
  held: readonly HeldConsent[],
  carriedBy: ReadonlyMap<string, string | null>,
): MediatedRequestView['consents'] {
  return held.flatMap((c, i) => {
    if (c.action !== 'consent') return [];
    const pauseId = carriedBy.get(c.digest) ?? null;
    const withdrawal = pauseId
      ? undefined
      : held.slice(i + 1).find((w) => w.iss === c.iss && w.action === 'withdraw_consent');
    return [
      {
        party: c.iss,
        msgId: c.msg_id,
        receivedAt: c.received_at.toISOString(),
        pauseId,
        withdrawnAt: withdrawal?.received_at.toISOString() ?? null,
      },
    ];
  });
}

/** Views of the requests M relays (one, or the most recently active), each as both parties see it. */
export async function mediatedRequests(
  deps: { pool: pg.Pool; policy: LoadedPolicy },
  opts: { reqId?: string; reqIds?: readonly string[]; limit: number; now?: Date },
): Promise<MediatedRequestView[]> {
  const ids = opts.reqId
    ? [opts.reqId]
    : (opts.reqIds ?? (await mediatedRequestIds(deps.pool, opts.limit)));
  const [rows, notices, consents] = await Promise.all([
    relayedOfRequests(deps.pool, ids),
    noticesOfRequests(deps.pool, ids),
    consentsHeld(deps.pool, ids),
  ]);
  const carriedBy = new Map(notices.flatMap((n) => n.consents.map((d) => [d, n.pause_id])));
  const byRequest = new Map<string, RelayedMessage[]>();
  for (const row of rows) {
    const m = relayedMessage(row);
    if (m) (byRequest.get(row.req_id) ?? byRequest.set(row.req_id, []).get(row.req_id)!).push(m);
  }
  const now = (opts.now ?? new Date()).toISOString();
  return ids.flatMap((reqId) => {
    const messages = byRequest.get(reqId) ?? [];
    const requester = messages.find((m) => m.kind === 'request')?.iss ?? '';
    const view = mediatedView({
      reqId,
      messages,
      policy: deps.policy,
      notices: notices.filter((n) => n.req_id === reqId).map((n) => noticeView(n, requester)),
      consents: consentViews(
        consents.filter((c) => c.req_id === reqId),
        carriedBy,
      ),
      now,
    });
    return view ? [view] : [];
  });
}
