// Sending: every outgoing message is signed and stored before any attempt; delivery posts it to
// the partner's inbox and keeps the partner's signed receipt as proof. Idempotent by msg_id.
import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import {
  addOutboxVersion,
  conversationCounts,
  getOutboxMessage,
  ownMessageAt,
  insertOutboxRows,
  markDelivered,
  markRejected,
  outboxVersionDigests,
  partnerMessagesAfter,
  recordAttempt,
  requestPartnerAndMediator,
  withConversationLock,
  type OutboxRow,
} from '../db/messages.js';
import { withTransaction } from '../db/transaction.js';
import {
  partyExists,
  partyInboxUrl,
  partyOwnInbox,
  partyVia,
  sealingKeyFor,
} from '../db/registry.js';
import { keepRelayReceipt } from '../db/mediator.js';
import { RELAY_RECEIPT_HEADER } from './relay-receipt.js';
import { pushAttachments } from './attachments.js';
import { AppError } from '../errors.js';
import type { KeyRegistry } from '../protocol/keys.js';
import type { Keyring } from '../protocol/keyring.js';
import {
  buildPayload,
  signPayload,
  type Draft,
  type OwnDraft,
  type SignedEnvelope,
} from '../protocol/sign.js';
import { verifyEnvelope } from '../protocol/verify.js';
import { postToInbox, readInboxAnswer } from './inbox-post.js';
import { attachmentMeta } from '../db/attachments.js';
import { referencedAttachments } from '../schemas/domain/shared.js';
import { type Attachment, type MessageKind, type Payload } from '../schemas/envelope.js';

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

/** A stored message of ours as the envelope it is. */
function envelopeOf(row: OutboxRow): SignedEnvelope {
  const [header64 = ''] = row.token.split('.');
  return {
    token: row.token,
    digest: row.digest,
    header: JSON.parse(
      Buffer.from(header64, 'base64url').toString('utf8'),
    ) as SignedEnvelope['header'],
    payload: row.payload,
  };
}

/** When the sender first signed a payload (`sent_at`, else `iat`), ISO 8601. */
function sentAtOf(payload: Payload): string {
  const seconds = payload.kind === 'receipt' ? payload.iat : (payload.sent_at ?? payload.iat);
  return new Date(seconds * 1000).toISOString();
}

/** The addressee must be registered; the attachments the body names are listed from the store. */
async function attachmentsOf(deps: OutboxDeps, draft: OwnDraft): Promise<Attachment[]> {
  if (!(await partyExists(deps.pool, draft.aud)))
    throw new AppError('unknown_party', `no registered party ${draft.aud}`);
  return draft.attachments ?? (await attachmentsNamedIn(deps.pool, draft.body));
}

/** Signs the draft now and stores it in the caller's transaction. */
async function signAndStore(
  deps: OutboxDeps,
  client: pg.PoolClient,
  draft: Draft,
  position: number | null,
): Promise<SignedEnvelope> {
  const now = new Date();
  const iat = Math.floor(now.getTime() / 1000);
  const payload = buildPayload(
    draft.kind === 'receipt' || draft.req_id === undefined
      ? draft
      : { ...draft, sent_at: draft.sent_at ?? iat },
    now,
  );
  // Sealed to the partner's newest encryption key when the registry says it takes sealed content.
  const sealTo =
    payload.kind === 'receipt' ? undefined : await sealingKeyFor(client, payload.aud, now);
  const signed = await signPayload(payload, deps.keyring.signerFor(payload.kind, now), sealTo);
  await insertOutboxRows(client, {
    msgId: payload.msg_id,
    aud: payload.aud,
    kind: payload.kind,
    reqId: payload.req_id ?? null,
    payload,
    digest: signed.digest,
    token: signed.token,
    seq: position,
  });
  return signed;
}

/**
 * A draft's own claims about the conversation, against what is stored (under the lock): it cannot
 * have seen partner messages this node does not hold, and its place must be the next one.
 */
/** Whether a stored payload says what `draft` says: kind, body and what it replies to. */
function sameDraft(payload: Payload, draft: OwnDraft): boolean {
  const plain = (v: unknown) =>
    v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as unknown);
  const p = payload as unknown as Record<string, unknown>;
  return (
    p.kind === draft.kind &&
    isDeepStrictEqual(plain(p.body), plain(draft.body)) &&
    isDeepStrictEqual(plain(p.in_reply_to), plain(draft.in_reply_to))
  );
}

function checkClaims(
  draft: { seq?: number | undefined; seen?: number | undefined },
  counts: { fromPartner: number; own: number },
): void {
  if (draft.seen !== undefined && draft.seen > counts.fromPartner)
    throw new AppError(
      'sequence_invalid',
      `the draft has seen ${draft.seen} of the partner’s messages about the request; ${counts.fromPartner} are stored`,
    );
  if (draft.seq !== undefined && draft.seq !== counts.own + 1)
    throw new AppError(
      'sequence_invalid',
      `the draft is message ${draft.seq} about the request; this node has signed ${counts.own}, so the next is ${counts.own + 1}`,
    );
}

/**
 * Signs a message from this node and stores it as pending. The caller then starts its delivery.
 * Idempotent by msg_id. A message about a request is signed under its conversation lock and carries
 * `seen` (the partner's messages stored now, unless the draft says) and `sent_at`; `seq` only when
 * the draft gives it (then it must be the next place): without it the partner orders by arrival,
 * so a caller that does not keep the conversation's order (enqueueInOrder) never waits on it.
 */
export async function enqueueMessage(deps: OutboxDeps, draft: OwnDraft): Promise<SignedEnvelope> {
  if (draft.msg_id) {
    // Idempotent by msg_id: a retried activity finds the message it already signed and stored.
    const existing = await getOutboxMessage(deps.pool, draft.msg_id);
    if (existing) return envelopeOf(existing);
  }
  const attachments = await attachmentsOf(deps, draft);
  const full: Draft = {
    ...draft,
    iss: deps.partyId,
    ...(attachments.length ? { attachments } : {}),
  };
  if (full.kind === 'receipt' || full.req_id === undefined)
    return withTransaction(deps.pool, (client) => signAndStore(deps, client, full, null));
  const reqId = full.req_id;
  return withConversationLock(deps.pool, reqId, async (client) => {
    if (draft.msg_id) {
      const existing = await getOutboxMessage(client, draft.msg_id);
      if (existing) return envelopeOf(existing);
    }
    const counts = await conversationCounts(client, reqId, draft.aud);
    checkClaims(full, counts);
    return signAndStore(
      deps,
      client,
      { ...full, seen: full.seen ?? counts.fromPartner },
      counts.own + 1,
    );
  });
}

/** A partner's stored message about a request, as enqueueInOrder hands it back. */
export interface PartnerMessage {
  msgId: string;
  digest: string;
  kind: MessageKind;
  /** Its place among the partner's messages about the request (the request is 1). */
  seq: number;
  /** How many of our messages about the request the partner held when it signed it. */
  seen: number;
  /** When the partner first signed it, and this node's signed receipt time (ISO 8601). */
  sentAt: string;
  receivedAt: string;
  body: Record<string, unknown>;
}

export type EnqueueInOrderResult =
  | { status: 'signed'; msgId: string; digest: string; sentAt: string }
  | { status: 'behind'; messages: PartnerMessage[] };

/**
 * Signs and stores a message about a request as message `seq` of ours, having seen `seen` of the
 * partner's, unless more of the partner's messages are stored by now: then nothing is signed and
 * those after the first `seen` come back in order (`behind`), for the caller to take in and
 * decide again. Runs under the conversation lock, so a `signed` message's `seen` is exactly what
 * was stored when it was signed. Idempotent by msg_id (pass one): a stored message is `signed`
 * whatever the counts are now. Throws `sequence_invalid` when `seq` is not the next place or
 * `seen` exceeds what is stored (the caller's count is wrong).
 */
export async function enqueueInOrder(
  deps: OutboxDeps,
  draft: OwnDraft & { seq: number; seen: number },
): Promise<EnqueueInOrderResult> {
  if (draft.kind === 'receipt' || draft.req_id === undefined)
    throw new TypeError('enqueueInOrder takes a message about a request (req_id), not a receipt');
  const signedOf = (row: OutboxRow): EnqueueInOrderResult => ({
    status: 'signed',
    msgId: row.msg_id,
    digest: row.digest,
    sentAt: sentAtOf(row.payload),
  });
  if (draft.msg_id) {
    const existing = await getOutboxMessage(deps.pool, draft.msg_id);
    if (existing) return signedOf(existing);
  }
  const attachments = await attachmentsOf(deps, draft);
  const reqId = draft.req_id;
  return withConversationLock(deps.pool, reqId, async (client) => {
    if (draft.msg_id) {
      const existing = await getOutboxMessage(client, draft.msg_id);
      if (existing) return signedOf(existing);
    }
    const counts = await conversationCounts(client, reqId, draft.aud);
    if (counts.fromPartner > draft.seen) {
      const rows = await partnerMessagesAfter(client, reqId, draft.aud, draft.seen);
      return {
        status: 'behind',
        messages: rows.map((r) => ({
          msgId: r.msg_id,
          digest: r.digest,
          kind: r.kind,
          seq: r.seq,
          seen: r.seen,
          sentAt: r.sent_at.toISOString(),
          receivedAt: r.received_at.toISOString(),
          body: r.body,
        })),
      };
    }
    // A workflow task that ran this step and then timed out (its worker was killed, or too slow)
    // runs it again with another msg_id (the workflow's clock moved on): the message it signed
    // then, at the same place with the same content, is this one.
    if (draft.seq <= counts.own) {
      const same = await ownMessageAt(client, reqId, draft.aud, draft.seq);
      if (same && sameDraft(same.payload, draft)) return signedOf(same);
    }
    checkClaims(draft, counts);
    const signed = await signAndStore(
      deps,
      client,
      {
        ...draft,
        iss: deps.partyId,
        ...(attachments.length ? { attachments } : {}),
      },
      draft.seq,
    );
    return {
      status: 'signed',
      msgId: signed.payload.msg_id,
      digest: signed.digest,
      sentAt: sentAtOf(signed.payload),
    };
  });
}

export type DeliveryOutcome =
  | {
      status: 'delivered';
      receiptDigest: string;
      receivedAt: string;
      /** The receipt's `sent`: how many of its messages about the request the partner had signed. */
      partnerSent?: number;
    }
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
  /** The message as the caller just read it (a delivery attempt), to spare reading it again. */
  read?: OutboxRow,
): Promise<{ receiptDigest: string; receivedAt: Date; partnerSent?: number }> {
  const message = read ?? (await getOutboxMessage(deps.pool, msgId));
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
  // Most receipts name the message's first signature; only a re-signed one needs the others.
  const ours =
    p.in_reply_to.digest === message.digest
      ? [message.digest]
      : await outboxVersionDigests(deps.pool, msgId);
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
  const partnerSent = p.body.sent;
  await markDelivered(deps.pool, msgId, {
    receiptToken,
    receiptDigest: receipt.digest,
    forDigest: p.in_reply_to.digest,
    receivedAt,
    via,
    partnerSent,
  });
  return {
    receiptDigest: receipt.digest,
    receivedAt,
    ...(partnerSent !== undefined ? { partnerSent } : {}),
  };
}

function deliveredOutcome(r: {
  receiptDigest: string;
  receivedAt: Date;
  partnerSent?: number | null | undefined;
}): DeliveryOutcome {
  return {
    status: 'delivered',
    receiptDigest: r.receiptDigest,
    receivedAt: r.receivedAt.toISOString(),
    ...(r.partnerSent !== undefined && r.partnerSent !== null
      ? { partnerSent: r.partnerSent }
      : {}),
  };
}

/**
 * The mediator one of our messages goes through, if any: the one its request names (README, _A
 * mediator per request_), else the registry's `via` for the partner. Receipts go as before.
 */
async function routeOf(pool: pg.Pool, message: OutboxRow): Promise<string | undefined> {
  if (message.kind !== 'receipt' && message.req_id) {
    const known = await requestPartnerAndMediator(pool, message.req_id);
    if (known) return known.via ?? undefined;
  }
  return partyVia(pool, message.aud);
}

/** Re-signs a pending message whose lifetime is nearly over, keeping its msg_id. */
async function freshToken(deps: OutboxDeps, m: OutboxRow): Promise<string> {
  const msgId = m.msg_id;
  const now = new Date();
  if (m.payload.exp - 60 > Math.floor(now.getTime() / 1000)) return m.token;
  const { v: _v, iat: _iat, exp: _exp, iss: _iss, ...rest } = m.payload;
  const payload = buildPayload({ ...rest, iss: deps.partyId }, now);
  const sealTo =
    payload.kind === 'receipt' ? undefined : await sealingKeyFor(deps.pool, payload.aud, now);
  const signed = await signPayload(payload, deps.keyring.signerFor(payload.kind, now), sealTo);
  await addOutboxVersion(deps.pool, msgId, { digest: signed.digest, token: signed.token, payload });
  return signed.token;
}

/**
 * Keeps the mediator's relay receipt for one of our messages, when it is one: a receipt signed by
 * `via`, the mediator the message went through (routeOf), naming a digest we signed for it.
 */
async function keepMediatorReceipt(
  deps: OutboxDeps,
  message: OutboxRow,
  via: string | undefined,
  token: string,
) {
  if (!via || via === message.aud) return;
  try {
    const r = await verifyEnvelope(token, {
      registry: deps.registry,
      self: deps.partyId,
      now: new Date(),
      mode: 'import',
    });
    const p = r.payload;
    if (p.kind !== 'receipt' || p.iss !== via || p.in_reply_to.msg_id !== message.msg_id) return;
    const ours =
      p.body.digest === message.digest
        ? [message.digest]
        : await outboxVersionDigests(deps.pool, message.msg_id);
    if (!ours.includes(p.body.digest)) return;
    await keepRelayReceipt(
      deps.pool,
      { table: 'outbox', msgId: message.msg_id, digest: p.body.digest },
      token,
    );
  } catch {
    // Not the mediator's receipt: nothing to keep. The partner's own receipt decides delivery.
  }
}

/** One delivery attempt. Throws DeliveryRetry when the partner should be tried again later. */
export async function deliverOnce(deps: OutboxDeps, msgId: string): Promise<DeliveryOutcome> {
  const message = await getOutboxMessage(deps.pool, msgId);
  if (!message) throw new AppError('unknown_message', `no outgoing message ${msgId}`);
  if (message.status === 'delivered') {
    return deliveredOutcome({
      receiptDigest: message.receipt_digest!,
      receivedAt: message.receipt_received_at!,
      partnerSent: message.receipt_sent,
    });
  }
  if (message.status === 'rejected')
    return { status: 'rejected', code: message.last_error ?? 'rejected' };
  const mediator = await routeOf(deps.pool, message);
  const inboxUrl =
    mediator && mediator !== message.aud
      ? (await partyOwnInbox(deps.pool, mediator))?.inboxUrl
      : await partyInboxUrl(deps.pool, message.aud);
  if (inboxUrl === undefined)
    throw new AppError('unknown_party', `no registered party ${mediator ?? message.aud}`);

  // The partner gets the message's attachments first, so it never holds a message without them.
  const pushed = await pushAttachments(deps, message, inboxUrl);
  if (pushed && 'retry' in pushed) throw new DeliveryRetry(pushed.retry);
  if (pushed) return { status: 'rejected', code: pushed.rejected };

  let token: string;
  try {
    token = await freshToken(deps, message);
  } catch (err) {
    // Re-signing for a partner that takes sealed content, whose encryption key ended meanwhile:
    // wait for a new one to be registered, as a first signing does.
    if (err instanceof AppError && err.code === 'encryption_key_missing') {
      await recordAttempt(deps.pool, msgId, err.code);
      throw new DeliveryRetry(err.code);
    }
    throw err;
  }
  let res: Response;
  try {
    res = await postToInbox(inboxUrl, token, deps.timeoutMs ?? 10_000);
  } catch (err) {
    const reason = `unreachable: ${(err as Error).name}`;
    await recordAttempt(deps.pool, msgId, reason);
    throw new DeliveryRetry(reason);
  }
  const text = await res.text();
  // Through a mediator: its relay receipt (proof it took the message, and when) is kept.
  const relayed = res.headers.get(RELAY_RECEIPT_HEADER);
  if (relayed) await keepMediatorReceipt(deps, message, mediator, relayed);
  // A replay: delivered before, but its answer was lost: the partner returns the receipt it owes.
  const { receipt, code } = readInboxAnswer(res.status, text);
  if (receipt !== undefined) {
    await recordAttempt(deps.pool, msgId, null);
    return deliveredOutcome(await applyReceipt(deps, msgId, receipt, 'online', message));
  }
  await recordAttempt(deps.pool, msgId, code);
  if (isRetriedRefusal(res.status, code)) throw new DeliveryRetry(code);
  await markRejected(deps.pool, msgId, code);
  return { status: 'rejected', code };
}

/**
 * Whether a sender tries a refused delivery again rather than giving the message up: server
 * trouble, a partner whose registry does not know our (new) key yet, or one that still waits for an
 * earlier message of ours about the request (sequence_gap). A mediator reads its relays' outcomes
 * the same way (exchange/mediated-requests.ts).
 */
export function isRetriedRefusal(status: number, code: string): boolean {
  return (
    status >= 500 ||
    status === 429 ||
    status === 408 ||
    code === 'unknown_key' ||
    code === 'key_not_valid' ||
    code === 'sequence_gap' ||
    // The route through a mediator changes on both sides one after the other: until both agree,
    // the partner may refuse what came straight or through the mediator.
    code === 'relay_missing'
  );
}
