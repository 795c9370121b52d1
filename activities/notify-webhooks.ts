// Posts one supervisor notification (escalation, near deadline) as JSON to every configured
// webhook that has not taken it yet. Run by the request workflow as an activity, so Temporal
// retries it with backoff; a target that answered 2xx is recorded and never posted to again.
// The body holds ids, codes and times only: never the request's subject or anyone's name.
import crypto from 'node:crypto';
import type pg from 'pg';
import { deliveredTargets, getNotification, recordWebhookAttempt } from '../db/notifications.js';

export interface WebhookOptions {
  /** This node's party id, the sender of every notification. */
  partyId: string;
  urls: readonly string[];
  /** Signs each body: `X-Parley-Signature: sha256=<hex HMAC-SHA256 of the body>`. */
  secret?: string | undefined;
  /** The node's public URL, to give receivers an absolute link as well as the path. */
  publicUrl?: string | undefined;
  /** Per-POST timeout. */
  timeoutMs?: number;
}

/** What a webhook receives. `id` is also sent as `Idempotency-Key` and `X-Parley-Notification-Id`. */
export interface WebhookNotification {
  id: string;
  party: string;
  req_id: string;
  seq: number;
  kind: string;
  level: number;
  /** Which deadline: `acknowledgement` or `response`. */
  deadline: string | null;
  due_at: string | null;
  at: string;
  request_type: string;
  direction: string;
  counterparty: string;
  priority: string;
  /** The request's page on this node's dashboard, as a path, and absolute when PUBLIC_URL is set. */
  link: string;
  url: string | null;
  /** The request in the node's API. */
  api: string;
}

export interface NotifyResult {
  targets: number;
  posted: number;
  /** Targets that had already taken it (a retried activity). */
  skipped: number;
  failed: string[];
}

/** A target's id: the SHA-256 of its URL, so neither table nor log holds a secret in a URL. */
export function webhookTarget(url: string): string {
  return crypto.createHash('sha256').update(url).digest('hex');
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

export async function notifyWebhooks(
  pool: pg.Pool,
  opts: WebhookOptions,
  reqId: string,
  seq: number,
  onPost?: (outcome: 'delivered' | 'failed') => void,
): Promise<NotifyResult | 'unknown_notification'> {
  const result: NotifyResult = { targets: opts.urls.length, posted: 0, skipped: 0, failed: [] };
  if (opts.urls.length === 0) return result;
  const n = await getNotification(pool, reqId, seq);
  if (!n) return 'unknown_notification';
  const id = `${opts.partyId}:${n.reqId}:${n.seq}`;
  const link = `/dashboard/requests/${encodeURIComponent(n.reqId)}`;
  const body: WebhookNotification = {
    id,
    party: opts.partyId,
    req_id: n.reqId,
    seq: n.seq,
    kind: n.kind,
    level: n.level,
    deadline: stringOrNull(n.detail.deadline),
    due_at: stringOrNull(n.detail.due_at),
    at: n.at.toISOString(),
    request_type: n.requestType,
    direction: n.direction,
    counterparty: n.counterparty,
    priority: n.priority,
    link,
    url: opts.publicUrl ? new URL(link, opts.publicUrl).toString() : null,
    api: `/v1/requests/${encodeURIComponent(n.reqId)}`,
  };
  const text = JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'idempotency-key': id,
    'x-parley-notification-id': id,
    'user-agent': `parley-node/${opts.partyId}`,
  };
  if (opts.secret) {
    const mac = crypto.createHmac('sha256', opts.secret).update(text).digest('hex');
    headers['x-parley-signature'] = `sha256=${mac}`;
  }

  const done = await deliveredTargets(pool, n.reqId, n.seq);
  await Promise.all(
    opts.urls.map(async (url) => {
      const target = webhookTarget(url);
      if (done.has(target)) {
        result.skipped += 1;
        return;
      }
      let error: string | null;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body: text,
          redirect: 'manual',
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        error = res.status >= 200 && res.status < 300 ? null : `http_${res.status}`;
      } catch {
        error = 'unreachable';
      }
      await recordWebhookAttempt(pool, { target, reqId: n.reqId, seq: n.seq, error });
      onPost?.(error ? 'failed' : 'delivered');
      if (error) result.failed.push(`${target.slice(0, 12)} ${error}`);
      else result.posted += 1;
    }),
  );
  return result;
}
