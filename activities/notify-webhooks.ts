// Posts one supervisor notification (escalation, near deadline) as JSON to every configured
// webhook that has not taken it yet. Run by the request workflow as an activity, so Temporal
// retries it with backoff; a target that answered 2xx is recorded and never posted to again.
// The body holds ids, codes and times only: never the request's subject or anyone's name. Each
// POST is signed as Standard Webhooks says (webhook-id, webhook-timestamp, webhook-signature), so a
// receiver can refuse a replayed one and dedupe retries by id.
import crypto from 'node:crypto';
import type pg from 'pg';
import { deliveredTargets, getNotification, recordWebhookAttempt } from '../db/notifications.js';

export interface WebhookOptions {
  /** This node's party id, the sender of every notification. */
  partyId: string;
  urls: readonly string[];
  /**
   * Signs each POST: `webhook-signature` (Standard Webhooks) and, for receivers built before it,
   * `X-Parley-Signature: sha256=<hex HMAC-SHA256 of the body>`. A `whsec_<base64>` secret is the
   * key its base64 names, as Standard Webhooks tools make them; any other text is the key as UTF-8.
   */
  secret?: string | undefined;
  /** The node's public URL, to give receivers an absolute link as well as the path. */
  publicUrl?: string | undefined;
  /** Per-POST timeout. */
  timeoutMs?: number;
}

/**
 * What a webhook receives. `id` is also sent as `webhook-id`, `Idempotency-Key` and
 * `X-Parley-Notification-Id`: the same on every retry of the notification.
 */
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

/** The HMAC key a secret names: the bytes of a `whsec_<base64>` secret, else its UTF-8 text. */
export function webhookKey(secret: string): Buffer {
  return secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/**
 * The Standard Webhooks signature of one POST: `v1,` and the base64 HMAC-SHA256 of
 * `<id>.<timestamp>.<body>`, the timestamp in whole seconds since the epoch. The timestamp is
 * signed, so a receiver that refuses old ones (five minutes, by the specification's libraries)
 * cannot be fed a captured POST later; each retry is signed anew with its own timestamp.
 */
export function webhookSignature(key: Buffer, id: string, timestamp: number, body: string): string {
  const mac = crypto
    .createHmac('sha256', key)
    .update(`${id}.${timestamp}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
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
  const done = await deliveredTargets(pool, n.reqId, n.seq);
  await Promise.all(
    opts.urls.map(async (url) => {
      const target = webhookTarget(url);
      if (done.has(target)) {
        result.skipped += 1;
        return;
      }
      const error = await postWebhook(url, id, text, opts);
      await recordWebhookAttempt(pool, { target, reqId: n.reqId, seq: n.seq, error });
      onPost?.(error ? 'failed' : 'delivered');
      if (error) result.failed.push(`${target.slice(0, 12)} ${error}`);
      else result.posted += 1;
    }),
  );
  return result;
}

/**
 * One signed POST of a notification's JSON `text` to `url`, whose id `id` is the same on every
 * retry: null when the target took it (2xx), else a short reason (`http_<status>`, `unreachable`).
 */
export async function postWebhook(
  url: string,
  id: string,
  text: string,
  opts: Pick<WebhookOptions, 'partyId' | 'secret' | 'timeoutMs'>,
): Promise<string | null> {
  const key = opts.secret ? webhookKey(opts.secret) : undefined;
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'webhook-id': id,
    'idempotency-key': id,
    'x-parley-notification-id': id,
    'user-agent': `parley-node/${opts.partyId}`,
    'webhook-timestamp': String(timestamp),
  };
  if (key) {
    // Signed at the moment it is sent. The deprecated body-only signature covers the body alone,
    // so a captured POST verifies forever; kept for receivers built before webhook-signature.
    headers['webhook-signature'] = webhookSignature(key, id, timestamp, text);
    headers['x-parley-signature'] =
      `sha256=${crypto.createHmac('sha256', key).update(text).digest('hex')}`;
  }
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body: text,
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
    await res.arrayBuffer().catch(() => undefined);
    return res.status >= 200 && res.status < 300 ? null : `http_${res.status}`;
  } catch {
    return 'unreachable';
  }
}
