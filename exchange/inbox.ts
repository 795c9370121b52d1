// Receiving an envelope, online or from a file: verify it, store it with a signed receipt before
// answering, refuse replays, and hand it on. Anything refused leaves only a line in the rejection log.
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  digestsOfMessage,
  findInboxConflict,
  insertInboxMessage,
  logRejection,
  markDispatched,
} from '../db/messages.js';
import { AppError } from '../errors.js';
import { digestOfInput } from '../protocol/digest.js';
import type { KeyRegistry } from '../protocol/keys.js';
import type { Keyring } from '../protocol/keyring.js';
import { signDraft } from '../protocol/sign.js';
import { verifyEnvelope, type VerifiedEnvelope } from '../protocol/verify.js';

/** What the request workflows need of a stored message. */
export type StoredMessage = Pick<AcceptedMessage, 'digest' | 'payload' | 'receivedAt'>;

/** A message that verified and is stored, with the receipt this node signed for it. */
export interface AcceptedMessage extends VerifiedEnvelope {
  receivedAt: Date;
  via: 'online' | 'import';
  receipt: string;
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
}

export interface Receipted {
  digest: string;
  receipt: string;
  receivedAt: Date;
}

export async function receiveEnvelope(
  deps: InboxDeps,
  token: string,
  via: 'online' | 'import',
): Promise<Receipted> {
  const now = new Date();
  let verified: VerifiedEnvelope;
  try {
    verified = await verifyEnvelope(token, {
      registry: deps.registry,
      self: deps.partyId,
      now,
      mode: via,
    });
    await refuseReplay(deps.pool, verified);
    await checkInReplyTo(deps.pool, verified);
    await deps.sink.check(verified);
  } catch (err) {
    if (err instanceof AppError) await reject(deps, digestOfInput(token), err, via);
    throw err;
  }

  const { payload, digest } = verified;
  const receipt = await signDraft(
    {
      kind: 'receipt',
      iss: deps.partyId,
      aud: payload.iss,
      ...(payload.req_id ? { req_id: payload.req_id } : {}),
      in_reply_to: { msg_id: payload.msg_id, digest },
      body: { digest, received_at: now.toISOString() },
    },
    deps.keyring.signerFor('receipt', now),
    now,
  );
  const stored = await insertInboxMessage(deps.pool, {
    digest,
    iss: payload.iss,
    msgId: payload.msg_id,
    kind: payload.kind,
    reqId: payload.req_id ?? null,
    kid: verified.key.kid,
    token,
    payload,
    receivedAt: now,
    via,
    receiptToken: receipt.token,
    receiptDigest: receipt.digest,
  });
  if (!stored) {
    // Lost a race with the same message arriving at the same moment.
    const err =
      (await replayError(deps.pool, verified)) ??
      new AppError('replay', 'this message was already received');
    await reject(deps, digest, err, via);
    throw err;
  }

  const accepted: AcceptedMessage = { ...verified, receivedAt: now, via, receipt: receipt.token };
  try {
    await deps.sink.accept(accepted);
    await markDispatched(deps.pool, digest);
  } catch (err) {
    // Stored is stored: the message is not lost, and undispatched rows are handed on again later.
    deps.log.warn(
      { digest, errName: (err as Error).name },
      'accepted message not yet handed to its workflow',
    );
  }
  deps.log.info({ digest, kind: payload.kind, iss: payload.iss, via }, 'message accepted');
  return { digest, receipt: receipt.token, receivedAt: now };
}

/** The replay error for a message already stored (same digest, or same sender and msg_id). */
async function replayError(pool: pg.Pool, v: VerifiedEnvelope): Promise<AppError | undefined> {
  const original = await findInboxConflict(pool, v.digest, v.payload.iss, v.payload.msg_id);
  if (!original) return undefined;
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

async function reject(deps: InboxDeps, digest: string, err: AppError, via: string): Promise<void> {
  deps.log.info({ digest, code: err.code, via }, 'message refused');
  await logRejection(deps.pool, { digest, code: err.code, via }).catch(() => undefined);
}
