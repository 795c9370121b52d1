// Receiving an envelope, online or from a file: verify it, store it with a signed receipt before
// answering, refuse replays, and hand it on. Anything refused changes nothing: it is counted, and
// kept in the refusal log as exchange/refusals.ts says.
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  conversationCounts,
  digestsOfMessage,
  findInboxConflict,
  insertInboxMessage,
  markDispatched,
  withConversationLock,
  type InboxRow,
} from '../db/messages.js';
import { withTransaction } from '../db/transaction.js';
import { AppError } from '../errors.js';
import { digestOfInput } from '../protocol/digest.js';
import type { KeyRegistry } from '../protocol/keys.js';
import type { Keyring } from '../protocol/keyring.js';
import { signDraft } from '../protocol/sign.js';
import { verifyEnvelope, type VerifiedEnvelope } from '../protocol/verify.js';
import type { Payload } from '../schemas/envelope.js';
import { refusalKind, refusalLogOf, type RefusalLog } from './refusals.js';
import { checkRelayReceipt, type Relayed } from './relay-receipt.js';
import { keepRelayReceipt } from '../db/mediator.js';

/**
 * A message's effective place in its request's conversation, as stored: the payload's `seq` and
 * `seen` (or, from a partner that predates them, its arrival position and our count then) and its
 * sender's first signing time (`sent_at`, else `iat`), ISO 8601.
 */
export interface ConversationOrder {
  seq: number;
  seen: number;
  sentAt: string;
}

/** What the request workflows need of a stored message; `order` on all kinds but receipts. */
export type StoredMessage = Pick<AcceptedMessage, 'digest' | 'payload' | 'receivedAt' | 'order'>;

/** A message that verified and is stored, with the receipt this node signed for it. */
export interface AcceptedMessage extends VerifiedEnvelope {
  receivedAt: Date;
  via: 'online' | 'import';
  receipt: string;
  order?: ConversationOrder;
}

/** A stored row as the workflows take it (for hand-overs after the first). */
export function storedMessageOf(row: InboxRow): StoredMessage {
  return {
    digest: row.digest,
    payload: row.payload,
    receivedAt: row.received_at,
    ...(row.seq !== null && row.seen !== null
      ? { order: { seq: row.seq, seen: row.seen, sentAt: row.sent_at.toISOString() } }
      : {}),
  };
}

/** Where accepted messages go next (the request workflows). */
export interface InboundSink {
  /** Refuses (throws AppError) a message that verifies but has no place here; runs before storing. */
  check(message: VerifiedEnvelope): Promise<void>;
  /** Hands a stored message on. Must be idempotent by digest: it may run again after a restart. */
  accept(message: StoredMessage): Promise<void>;
}

export interface InboxDeps {
  pool: pg.Pool;
  partyId: string;
  registry: KeyRegistry;
  keyring: Keyring;
  sink: InboundSink;
  log: Logger;
  /** Counts, samples and limits refusals; made on first use when absent (one per deps object). */
  refusals?: RefusalLog;
}

export interface Receipted {
  digest: string;
  receipt: string;
  receivedAt: Date;
}

/**
 * Receives one envelope. `source` is the sender's address key (`sourceKey`) online; a refusal of
 * input no party can be held to counts against it, and past its limit the answer is
 * `rate_limited` instead of the refusal's own code.
 */
export async function receiveEnvelope(
  deps: InboxDeps,
  token: string,
  via: 'online' | 'import',
  source = via === 'import' ? 'import' : 'unknown',
  /** The mediator's relay receipt that came beside the message (README, _Mediated exchange_). */
  route: { relayReceipt?: string | undefined } = {},
): Promise<Receipted> {
  let accepted: AcceptedMessage;
  let verified: VerifiedEnvelope | undefined;
  let relayed: Relayed | undefined;
  try {
    verified = await verifyEnvelope(token, {
      registry: deps.registry,
      self: deps.partyId,
      now: new Date(),
      mode: via,
      open: deps.keyring.decryptionKeys,
    });
    // A copy of a stored message is answered with its receipt, however it came.
    await refuseReplay(deps.pool, verified);
    // From a party whose messages go through a mediator: only with its relay receipt, online or
    // carried by file (the bundle's `relay_receipts`): a file does not route around the mediator.
    relayed = await checkRelayReceipt(deps, verified, route.relayReceipt);
    await checkInReplyTo(deps.pool, verified);
    try {
      await deps.sink.check(verified);
    } catch (err) {
      // A copy of this message stored meanwhile (the request's id now taken, ...) makes it a replay.
      throw (await replayError(deps.pool, verified)) ?? err;
    }
    accepted = await storeWithReceipt(deps, verified, token, via, relayed);
  } catch (err) {
    // A 5xx (Postgres or Temporal away) is no refusal: the same message may be taken shortly.
    if (!(err instanceof AppError) || err.status >= 500) throw err;
    throw await refusalLogOf(deps).refuse(err, {
      code: err.code,
      digest: digestOfInput(token),
      via,
      source,
      kind: refusalKind(err.code, verified !== undefined),
    });
  }

  const { payload, digest, receivedAt, receipt } = accepted;
  try {
    await deps.sink.accept(accepted);
    await markDispatched(deps.pool, digest);
  } catch (err) {
    // Stored is stored: the message is not lost, and the relay hands undispatched rows on later.
    deps.log.warn(
      { digest, errName: (err as Error).name },
      'accepted message not yet handed to its workflow',
    );
  }
  deps.log.info({ digest, kind: payload.kind, iss: payload.iss, via }, 'message accepted');
  return { digest, receipt, receivedAt };
}

/**
 * Stores a verified message with the receipt signed for it, in one transaction holding the
 * request's conversation lock: the replay check, then the order check, then both writes. A
 * concurrent copy of the message thus always finds the first one stored (`replay`, never a
 * position `conflict`), and the receipt's `sent` is exactly the count of our messages signed.
 */
async function storeWithReceipt(
  deps: InboxDeps,
  verified: VerifiedEnvelope,
  token: string,
  via: 'online' | 'import',
  /** The mediator's relay receipt it came with: kept with it, in the same transaction. */
  relayed?: Relayed,
): Promise<AcceptedMessage> {
  const { payload, digest } = verified;
  const store = async (client: pg.PoolClient): Promise<AcceptedMessage> => {
    const original = await findInboxConflict(client, digest, payload.iss, payload.msg_id);
    if (original) throw replayErrorOf(original);
    const order = payload.kind === 'receipt' ? undefined : await orderOf(client, payload);
    // The receiver's time is the time of storing: after the lock, so it follows the order.
    const receivedAt = new Date();
    const receipt = await signDraft(
      {
        kind: 'receipt',
        iss: deps.partyId,
        aud: payload.iss,
        ...(payload.req_id ? { req_id: payload.req_id } : {}),
        in_reply_to: { msg_id: payload.msg_id, digest },
        body: {
          digest,
          received_at: receivedAt.toISOString(),
          ...(order ? { sent: order.own } : {}),
        },
      },
      deps.keyring.signerFor('receipt', receivedAt),
      receivedAt,
    );
    const sentAt = new Date(
      (payload.kind !== 'receipt' ? (payload.sent_at ?? payload.iat) : payload.iat) * 1000,
    );
    const stored = await insertInboxMessage(client, {
      digest,
      iss: payload.iss,
      msgId: payload.msg_id,
      kind: payload.kind,
      reqId: payload.req_id ?? null,
      kid: verified.key.kid,
      token,
      payload,
      receivedAt,
      via,
      receiptToken: receipt.token,
      receiptDigest: receipt.digest,
      seq: order?.seq ?? null,
      seen: order?.seen ?? null,
      sentAt,
      relayReceiptDigest: relayed ? digestOfInput(relayed.relayReceipt) : undefined,
      relayedBy: relayed?.mediator,
    });
    if (!stored) {
      // The same sender's msg_id stored meanwhile under another request's lock.
      const other = await findInboxConflict(client, digest, payload.iss, payload.msg_id);
      throw other
        ? replayErrorOf(other)
        : new AppError('replay', 'this message was already received');
    }
    // The proof it came through the mediator is stored with it, or not at all: a bundle of the
    // request names every message the mediator's log says it relayed.
    if (relayed) await keepRelayReceipt(client, { table: 'inbox', digest }, relayed.relayReceipt);
    return {
      ...verified,
      receivedAt,
      via,
      receipt: receipt.token,
      ...(order
        ? { order: { seq: order.seq, seen: order.seen, sentAt: sentAt.toISOString() } }
        : {}),
    };
  };
  return payload.req_id
    ? withConversationLock(deps.pool, payload.req_id, store)
    : withTransaction(deps.pool, store);
}

/**
 * The message's effective place in its request's conversation, checked against what is stored
 * (run under the conversation lock). Its sender's earlier messages must all be here (held ones,
 * waiting for their attachments, count: they are stored and receipted), its position must be new,
 * and it cannot have seen more of our messages than we signed. A partner that predates `seq` and
 * `seen` gets its arrival position and our count at this moment.
 */
async function orderOf(
  client: pg.PoolClient,
  payload: Exclude<Payload, { kind: 'receipt' }>,
): Promise<{ seq: number; seen: number; own: number }> {
  const counts = await conversationCounts(client, payload.req_id, payload.iss);
  const expected = counts.fromPartner + 1;
  if (payload.kind === 'request' && payload.seq !== undefined && payload.seq !== 1)
    throw new AppError(
      'sequence_invalid',
      'a request is message 1 of its conversation',
      undefined,
      {
        expected_seq: 1,
      },
    );
  const seq = payload.seq ?? expected;
  if (seq > expected)
    throw new AppError(
      'sequence_gap',
      `message ${seq} of the sender about this request came before message ${expected}: send that one first, then this again`,
      undefined,
      { expected_seq: expected },
    );
  if (seq < expected)
    throw new AppError(
      'conflict',
      `message ${seq} of the sender about this request is already stored, and this is another message`,
      undefined,
      { expected_seq: expected },
    );
  const seen = payload.seen ?? counts.own;
  if (seen > counts.own)
    throw new AppError(
      'sequence_invalid',
      `the message has seen ${seen} of this node’s messages about the request; this node signed ${counts.own}`,
      undefined,
      { sent: counts.own },
    );
  return { seq, seen, own: counts.own };
}

/** The replay error for a message already stored (same digest, or same sender and msg_id). */
async function replayError(pool: pg.Pool, v: VerifiedEnvelope): Promise<AppError | undefined> {
  const original = await findInboxConflict(pool, v.digest, v.payload.iss, v.payload.msg_id);
  return original ? replayErrorOf(original) : undefined;
}

function replayErrorOf(original: InboxRow): AppError {
  // The sender may have lost our first answer: give it the receipt it is owed for the original.
  return new AppError(
    'replay',
    'this message (same digest, or same sender and msg_id) was already received',
    undefined,
    {
      receipt: original.receipt_token,
      original_digest: original.digest,
    },
  );
}

async function refuseReplay(pool: pg.Pool, v: VerifiedEnvelope): Promise<void> {
  const err = await replayError(pool, v);
  if (err) throw err;
}

/** A reply must name a message this node knows, by its id and exact digest. */
async function checkInReplyTo(pool: pg.Pool, verified: VerifiedEnvelope): Promise<void> {
  const ref = verified.payload.in_reply_to;
  if (!ref) return;
  const digests = await digestsOfMessage(pool, ref.msg_id);
  if (!digests.includes(ref.digest)) {
    throw new AppError(
      'reply_mismatch',
      'in_reply_to does not name a stored message with that digest',
    );
  }
}
