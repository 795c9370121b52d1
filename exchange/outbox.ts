// Sending: every outgoing message is signed and stored before any attempt; delivery posts it to
// the partner's inbox and keeps the partner's signed receipt as proof. Idempotent by msg_id.
import type pg from 'pg';
import {
  addOutboxVersion,
  getOutboxMessage,
  insertOutboxMessage,
  markDelivered,
  markRejected,
  outboxVersionDigests,
  recordAttempt,
} from '../db/messages.js';
import { getParty } from '../db/registry.js';
import { pushAttachments } from './attachments.js';
import { AppError } from '../errors.js';
import type { KeyRegistry } from '../protocol/keys.js';
import type { Keyring } from '../protocol/keyring.js';
import { buildPayload, signPayload, type OwnDraft, type SignedEnvelope } from '../protocol/sign.js';
import { verifyEnvelope } from '../protocol/verify.js';
import { attachmentMeta } from '../db/attachments.js';
import { referencedAttachments } from '../schemas/domain/shared.js';
import { ENVELOPE_MEDIA_TYPE, type Attachment } from '../schemas/envelope.js';

export interface OutboxDeps {
  pool: pg.Pool;
  partyId: string;
  keyring: Keyring;
  registry: KeyRegistry;
  /** Per-attempt HTTP timeout. */
  timeoutMs?: number;
}

/**
 * The attachments a body's records refer to (`{ref: 'sha256:…', media_type, file_name}`), as the
 * envelope lists them, so they travel (and are waited for) with the message. Each must be stored.
 */
async function attachmentsNamedIn(pool: pg.Pool, body: unknown): Promise<Attachment[]> {
  const out: Attachment[] = [];
  for (const sha256 of referencedAttachments(body)) {
    const meta = await attachmentMeta(pool, sha256);
    if (!meta)
      throw new AppError('unknown_attachment', `attachment sha256:${sha256} is not stored here`);
    out.push({
      sha256,
      size: meta.size,
      media_type: meta.media_type,
      name: fileNameOf(body, sha256),
    });
  }
  return out;
}

/** The file name a body gives an attachment (its first reference), else the digest. */
function fileNameOf(body: unknown, sha256: string): string {
  let name: string | undefined;
  const walk = (v: unknown): void => {
    if (name !== undefined || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) return v.forEach(walk);
    const o = v as { ref?: unknown; file_name?: unknown };
    if (o.ref === `sha256:${sha256}` && typeof o.file_name === 'string') name = o.file_name;
    Object.values(v).forEach(walk);
  };
  walk(body);
  return (name ?? sha256).slice(0, 255);
}

/** Signs a message from this node and stores it as pending. The caller then starts its delivery. */
export async function enqueueMessage(deps: OutboxDeps, draft: OwnDraft): Promise<SignedEnvelope> {
  if (draft.msg_id) {
    // Idempotent by msg_id: a retried activity finds the message it already signed and stored.
    const existing = await getOutboxMessage(deps.pool, draft.msg_id);
    if (existing) {
      const [header64 = ''] = existing.token.split('.');
      return {
        token: existing.token,
        digest: existing.digest,
        header: JSON.parse(
          Buffer.from(header64, 'base64url').toString('utf8'),
        ) as SignedEnvelope['header'],
        payload: existing.payload,
      };
    }
  }
  if (!(await getParty(deps.pool, draft.aud)))
    throw new AppError('unknown_party', `no registered party ${draft.aud}`);
  const now = new Date();
  const attachments = draft.attachments ?? (await attachmentsNamedIn(deps.pool, draft.body));
  const payload = buildPayload(
    { ...draft, iss: deps.partyId, ...(attachments.length ? { attachments } : {}) },
    now,
  );
  const signed = await signPayload(payload, deps.keyring.signerFor(payload.kind, now));
  await insertOutboxMessage(deps.pool, {
    msgId: payload.msg_id,
    aud: payload.aud,
    kind: payload.kind,
    reqId: payload.req_id ?? null,
    payload,
    digest: signed.digest,
    token: signed.token,
  });
  return signed;
}

export type DeliveryOutcome =
  | { status: 'delivered'; receiptDigest: string; receivedAt: string }
  | { status: 'rejected'; code: string };

/** Thrown when an attempt should be retried later (partner unreachable or failing). */
export class DeliveryRetry extends Error {
  override name = 'DeliveryRetry';
}

/**
 * Checks a partner's receipt for one of our messages and records delivery. The receipt must verify
 * as an envelope from that partner to us and name one of the digests this node signed for msg_id.
 */
export async function applyReceipt(
  deps: OutboxDeps,
  msgId: string,
  receiptToken: string,
  via: 'online' | 'import',
): Promise<{ receiptDigest: string; receivedAt: Date }> {
  const message = await getOutboxMessage(deps.pool, msgId);
  if (!message) throw new AppError('unknown_message', `no outgoing message ${msgId}`);
  const receipt = await verifyEnvelope(receiptToken, {
    registry: deps.registry,
    self: deps.partyId,
    now: new Date(),
    mode: via,
  });
  const p = receipt.payload;
  if (p.kind !== 'receipt' || p.iss !== message.aud)
    throw new AppError('reply_mismatch', 'not a receipt from the addressee');
  const ours = await outboxVersionDigests(deps.pool, msgId);
  if (
    p.in_reply_to.msg_id !== msgId ||
    !ours.includes(p.in_reply_to.digest) ||
    p.body.digest !== p.in_reply_to.digest
  ) {
    throw new AppError(
      'reply_mismatch',
      'the receipt does not name a digest this node signed for the message',
    );
  }
  const receivedAt = new Date(p.body.received_at);
  await markDelivered(deps.pool, msgId, {
    receiptToken,
    receiptDigest: receipt.digest,
    forDigest: p.in_reply_to.digest,
    receivedAt,
    via,
  });
  return { receiptDigest: receipt.digest, receivedAt };
}

/** Re-signs a pending message whose lifetime is nearly over, keeping its msg_id. */
async function freshToken(deps: OutboxDeps, msgId: string): Promise<string> {
  const m = (await getOutboxMessage(deps.pool, msgId))!;
  const now = new Date();
  if (m.payload.exp - 60 > Math.floor(now.getTime() / 1000)) return m.token;
  const { v: _v, iat: _iat, exp: _exp, iss: _iss, ...rest } = m.payload;
  const payload = buildPayload({ ...rest, iss: deps.partyId }, now);
  const signed = await signPayload(payload, deps.keyring.signerFor(payload.kind, now));
  await addOutboxVersion(deps.pool, msgId, { digest: signed.digest, token: signed.token, payload });
  return signed.token;
}

/** One delivery attempt. Throws DeliveryRetry when the partner should be tried again later. */
export async function deliverOnce(deps: OutboxDeps, msgId: string): Promise<DeliveryOutcome> {
  const message = await getOutboxMessage(deps.pool, msgId);
  if (!message) throw new AppError('unknown_message', `no outgoing message ${msgId}`);
  if (message.status === 'delivered') {
    return {
      status: 'delivered',
      receiptDigest: message.receipt_digest!,
      receivedAt: message.receipt_received_at!.toISOString(),
    };
  }
  if (message.status === 'rejected')
    return { status: 'rejected', code: message.last_error ?? 'rejected' };
  const partner = await getParty(deps.pool, message.aud);
  if (!partner) throw new AppError('unknown_party', `no registered party ${message.aud}`);

  // The partner gets the message's attachments first, so it never holds a message without them.
  const pushed = await pushAttachments(deps, message, partner.inboxUrl);
  if (pushed && 'retry' in pushed) throw new DeliveryRetry(pushed.retry);
  if (pushed) return { status: 'rejected', code: pushed.rejected };

  const token = await freshToken(deps, msgId);
  let res: Response;
  try {
    res = await fetch(partner.inboxUrl, {
      method: 'POST',
      headers: {
        'content-type': ENVELOPE_MEDIA_TYPE,
        accept: `${ENVELOPE_MEDIA_TYPE}, application/problem+json`,
      },
      body: token,
      signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
    });
  } catch (err) {
    const reason = `unreachable: ${(err as Error).name}`;
    await recordAttempt(deps.pool, msgId, reason);
    throw new DeliveryRetry(reason);
  }
  const text = await res.text();
  if (res.status === 202) {
    await recordAttempt(deps.pool, msgId, null);
    const r = await applyReceipt(deps, msgId, text.trim(), 'online');
    return {
      status: 'delivered',
      receiptDigest: r.receiptDigest,
      receivedAt: r.receivedAt.toISOString(),
    };
  }
  let problem: { code?: unknown; receipt?: unknown } = {};
  try {
    problem = JSON.parse(text) as typeof problem;
  } catch {
    problem = {};
  }
  if (res.status === 409 && problem.code === 'replay' && typeof problem.receipt === 'string') {
    // Delivered before, but its answer was lost: the partner returns the receipt it owes.
    await recordAttempt(deps.pool, msgId, null);
    const r = await applyReceipt(deps, msgId, problem.receipt, 'online');
    return {
      status: 'delivered',
      receiptDigest: r.receiptDigest,
      receivedAt: r.receivedAt.toISOString(),
    };
  }
  const code = typeof problem.code === 'string' ? problem.code : `http_${res.status}`;
  await recordAttempt(deps.pool, msgId, code);
  // Server trouble, or a partner whose registry does not know our (new) key yet: try again later.
  if (
    res.status >= 500 ||
    res.status === 429 ||
    res.status === 408 ||
    code === 'unknown_key' ||
    code === 'key_not_valid'
  ) {
    throw new DeliveryRetry(code);
  }
  await markRejected(deps.pool, msgId, code);
  return { status: 'rejected', code };
}
