// Attachments: files a message names by SHA-256 travel beside it, content-addressed. Uploads are
// hashed while they arrive and stored only when the bytes match their digest; before a message is
// delivered its attachments are pushed to the partner; a received message whose attachments have
// not all arrived is stored and receipted but held back from its workflow until they have.
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type pg from 'pg';
import { DEFAULT_ATTACHMENT_MAX_BYTES, DEFAULT_ATTACHMENT_MEDIA_TYPES } from '../config.js';
import {
  earlierMessageHeld,
  getAttachment,
  messagesWaitingOn,
  missingAttachments,
  storeAttachment,
  type AttachmentMeta,
} from '../db/attachments.js';
import { markDispatched, markRejected, recordAttempt, type OutboxRow } from '../db/messages.js';
import { AppError } from '../errors.js';
import { sealingKeyFor } from '../db/registry.js';
import { ATTACHMENT_TOKEN_HEADER, signAttachmentToken } from '../protocol/attachment-token.js';
import type { DecryptionKey } from '../protocol/keys.js';
import type { Keyring } from '../protocol/keyring.js';
import { openBytes, sealBytes } from '../protocol/seal.js';
import { ENVELOPE_MEDIA_TYPE } from '../schemas/envelope.js';
import { storedMessageOf, type InboundSink, type StoredMessage } from './inbox.js';

/** How attachments are limited on this node (ATTACHMENT_MAX_BYTES, ATTACHMENT_MEDIA_TYPES). */
export interface AttachmentLimits {
  maxBytes: number;
  mediaTypes: readonly string[];
}

export const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = {
  maxBytes: DEFAULT_ATTACHMENT_MAX_BYTES,
  mediaTypes: DEFAULT_ATTACHMENT_MEDIA_TYPES,
};

/** `sha256:<64 lowercase hex>`: how routes and domain records name an attachment. */
export const ATTACHMENT_ID = /^sha256:([0-9a-f]{64})$/;

/** The bare hex digest of an attachment id, or `schema_invalid`. */
export function parseAttachmentId(id: string): string {
  const match = ATTACHMENT_ID.exec(id);
  if (!match?.[1]) {
    throw new AppError('schema_invalid', 'the attachment id does not match the schema', [
      { path: '/id', message: 'sha256: followed by 64 lowercase hex characters' },
    ]);
  }
  return match[1];
}

/** The media type a Content-Type header names, without parameters, lowercased. */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

/**
 * The media type of a partner upload whose bytes are sealed to this node (protocol/seal.ts
 * `sealBytes`): a compact JWE, as text.
 */
export const SEALED_UPLOAD_MEDIA_TYPE = ENVELOPE_MEDIA_TYPE;

/** The most bytes a sealed upload of a file of at most `maxBytes` can take (base64url, header). */
export const sealedUploadMax = (maxBytes: number): number => Math.ceil((maxBytes * 4) / 3) + 4096;

/**
 * Refuses, before any byte is read, an upload this node would not keep. A sealed partner upload
 * (`sealedAs`: the media type its token signs) is checked by that type and its sealed size.
 */
export function checkUploadHeaders(
  req: IncomingMessage,
  limits: AttachmentLimits,
  sealedAs?: string,
): string {
  const sealed = sealedAs !== undefined;
  const mediaType = sealed ? sealedAs : mediaTypeOf(req.headers['content-type']);
  if (!mediaType || !limits.mediaTypes.includes(mediaType)) {
    throw new AppError(
      'unsupported_media_type',
      `attachments may be of these media types: ${limits.mediaTypes.join(', ')}`,
    );
  }
  const encoding = req.headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new AppError(
      'unsupported_media_type',
      'send the attachment as it is, without a Content-Encoding: its digest is of those bytes',
    );
  }
  const declared = Number(req.headers['content-length'] ?? NaN);
  const max = sealed ? sealedUploadMax(limits.maxBytes) : limits.maxBytes;
  if (Number.isFinite(declared) && declared > max) throw tooLarge(limits);
  return mediaType;
}

const tooLarge = (limits: AttachmentLimits) =>
  new AppError('too_large', `attachments may be at most ${limits.maxBytes} bytes`);

/**
 * Reads the body as it arrives, hashing each chunk, and keeps at most `maxBytes` of it: at one
 * byte more it stops reading (the caller answers `too_large` and closes the connection).
 */
export function readHashed(
  req: IncomingMessage,
  maxBytes: number,
): Promise<{ content: Buffer; sha256: string } | 'too_large'> {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        resolve('too_large');
        return;
      }
      hash.update(chunk);
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve({ content: Buffer.concat(chunks, size), sha256: hash.digest('hex') });
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onAborted = () => onError(new Error('the upload was aborted'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

export interface StoreDeps {
  pool: pg.Pool;
  sink: InboundSink;
  log: Logger;
}

/**
 * Reads an upload and stores it when its bytes hash to `sha256` (and, from a partner, have the
 * size its token signs). Nothing is stored otherwise. Once stored, messages held for it go on.
 */
export async function receiveUpload(
  deps: StoreDeps,
  req: IncomingMessage,
  limits: AttachmentLimits,
  upload: {
    sha256: string;
    mediaType: string;
    createdBy: string;
    expectedSize?: number;
    /** The body is the file sealed to this node: opened with these keys before it is checked. */
    sealedTo?: readonly DecryptionKey[];
  },
): Promise<{ created: boolean; meta: AttachmentMeta }> {
  let read: { content: Buffer; sha256: string } | 'too_large';
  if (upload.sealedTo) {
    const sealed = await readHashed(req, sealedUploadMax(limits.maxBytes));
    if (sealed === 'too_large') throw tooLarge(limits);
    const content = Buffer.from(
      await openBytes(sealed.content.toString('latin1').trim(), upload.sealedTo),
    );
    if (content.length > limits.maxBytes) throw tooLarge(limits);
    read = { content, sha256: crypto.createHash('sha256').update(content).digest('hex') };
  } else read = await readHashed(req, limits.maxBytes);
  if (read === 'too_large') throw tooLarge(limits);
  if (read.sha256 !== upload.sha256)
    throw new AppError('digest_mismatch', 'the bytes do not hash to the SHA-256 in the URL');
  if (upload.expectedSize !== undefined && read.content.length !== upload.expectedSize)
    throw new AppError('digest_mismatch', 'the bytes are not of the size the token signs');
  const stored = await storeAttachment(deps.pool, {
    sha256: upload.sha256,
    mediaType: upload.mediaType,
    content: read.content,
    createdBy: upload.createdBy,
  });
  // After the answer's fate is sealed: handing held messages on must never undo the upload.
  void dispatchWaitingOn(deps, upload.sha256);
  return stored;
}

// ---------------------------------------------------------------------------------------------
// Receiving side: holding messages whose attachments have not arrived
// ---------------------------------------------------------------------------------------------

/** Thrown by the inbound sink for a message that must wait: it stays undispatched, not refused. */
export class AttachmentsPending extends Error {
  override name = 'AttachmentsPending';
  constructor(readonly missing: readonly string[]) {
    super(
      missing.length
        ? `waiting for ${missing.length} attachment(s)`
        : 'waiting behind an earlier message of the request',
    );
  }
}

/**
 * Throws AttachmentsPending when the message names an attachment not stored here, or when an
 * earlier message of its request is not yet handed on (held for a file, or its hand-over failed):
 * the request's workflow sees them in order, and never a message before it exists. The relay (or
 * the attachment's arrival) hands the held ones on, oldest first.
 */
export async function holdForAttachments(pool: pg.Pool, m: StoredMessage): Promise<void> {
  const wanted = [...new Set(m.payload.attachments.map((a) => a.sha256))];
  const missing = await missingAttachments(pool, wanted);
  if (missing.length) throw new AttachmentsPending(missing);
  const reqId = m.payload.req_id;
  if (
    reqId &&
    (await earlierMessageHeld(pool, { digest: m.digest, reqId, receivedAt: m.receivedAt }))
  ) {
    throw new AttachmentsPending([]);
  }
}

/**
 * Hands on, oldest first, the stored messages that waited for this attachment (and those of their
 * requests that waited behind them). A message still waiting stays undispatched for the next try.
 */
export async function dispatchWaitingOn(deps: StoreDeps, sha256: string): Promise<number> {
  let done = 0;
  try {
    const rows = await messagesWaitingOn(deps.pool, sha256);
    for (const row of rows) {
      try {
        await deps.sink.accept(storedMessageOf(row));
      } catch (err) {
        if (!(err instanceof AttachmentsPending))
          deps.log.warn(
            { digest: row.digest, errName: (err as Error).name },
            'held message not yet handed to its workflow',
          );
        continue;
      }
      await markDispatched(deps.pool, row.digest);
      done += 1;
    }
    if (done) deps.log.info({ sha256, dispatched: done }, 'held messages handed on');
  } catch (err) {
    deps.log.warn({ sha256, errName: (err as Error).name }, 'held messages not handed on');
  }
  return done;
}

// ---------------------------------------------------------------------------------------------
// Sending side: pushing attachments to the partner before the message
// ---------------------------------------------------------------------------------------------

/** What pushing a message's attachments came to; `undefined` when all are at the partner. */
export type PushOutcome = { retry: string } | { rejected: string } | undefined;

export interface PushDeps {
  pool: pg.Pool;
  partyId: string;
  keyring: Keyring;
  /** Per-request HTTP timeout for the existence check; uploads get more. */
  timeoutMs?: number;
}

/** Where a partner takes attachment uploads, next to its inbox. */
export function partnerAttachmentUrl(inboxUrl: string, sha256: string): URL {
  return new URL(`/v1/partner-attachments/sha256:${sha256}`, inboxUrl);
}

/**
 * Makes sure the partner holds every attachment the message names, uploading those it lacks.
 * Records the attempt when one fails: `retry` while the partner is unreachable or failing (or an
 * attachment is not stored here yet), `rejected` (and the message with it) when the partner
 * refuses an attachment for good.
 */
export async function pushAttachments(
  deps: PushDeps,
  message: Pick<OutboxRow, 'msg_id' | 'aud' | 'payload'>,
  inboxUrl: string,
): Promise<PushOutcome> {
  const seen = new Set<string>();
  for (const a of message.payload.attachments) {
    if (seen.has(a.sha256)) continue;
    seen.add(a.sha256);
    const outcome = await pushOne(deps, message.aud, inboxUrl, a.sha256);
    if (!outcome) continue;
    const code = 'retry' in outcome ? outcome.retry : outcome.rejected;
    await recordAttempt(deps.pool, message.msg_id, code);
    if ('rejected' in outcome) await markRejected(deps.pool, message.msg_id, code);
    return outcome;
  }
  return undefined;
}

async function pushOne(
  deps: PushDeps,
  partner: string,
  inboxUrl: string,
  sha256: string,
): Promise<PushOutcome> {
  const stored = await getAttachment(deps.pool, sha256);
  // Not here yet (the message was sent before its file): wait for it rather than lose the message.
  if (!stored) return { retry: 'attachment_missing' };
  const url = partnerAttachmentUrl(inboxUrl, sha256);
  const token = async () =>
    signAttachmentToken(deps.keyring.signerFor('request'), {
      iss: deps.partyId,
      aud: partner,
      sha256,
      size: stored.size,
      media_type: stored.media_type,
    });
  const timeoutMs = deps.timeoutMs ?? 10_000;
  try {
    const head = await fetch(url, {
      method: 'HEAD',
      headers: { [ATTACHMENT_TOKEN_HEADER]: await token() },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (head.status === 200) return undefined;
  } catch (err) {
    return { retry: `unreachable: ${(err as Error).name}` };
  }

  // To a partner that takes sealed content, the bytes travel sealed to its encryption key.
  let sealTo;
  try {
    sealTo = await sealingKeyFor(deps.pool, partner, new Date());
  } catch (err) {
    if (err instanceof AppError) return { retry: `attachment_${err.code}` };
    throw err;
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'PUT',
      headers: {
        'content-type': sealTo ? SEALED_UPLOAD_MEDIA_TYPE : stored.media_type,
        accept: 'application/json, application/problem+json',
        [ATTACHMENT_TOKEN_HEADER]: await token(),
      },
      body: sealTo ? await sealBytes(stored.content, sealTo) : stored.content,
      // A minute at least, plus a second per 256 KiB: large scans on slow links.
      signal: AbortSignal.timeout(Math.max(timeoutMs, 60_000) + Math.ceil(stored.size / 256)),
    });
  } catch (err) {
    return { retry: `unreachable: ${(err as Error).name}` };
  }
  const text = await res.text();
  if (res.status === 200 || res.status === 201) return undefined;
  let code = `http_${res.status}`;
  try {
    const problem = JSON.parse(text) as { code?: unknown };
    if (typeof problem.code === 'string') code = problem.code;
  } catch {
    // not a problem document: keep the status
  }
  // Server trouble, or a partner whose registry does not know our (new) key yet: try again later.
  if (
    res.status >= 500 ||
    res.status === 429 ||
    res.status === 408 ||
    ['unknown_key', 'key_not_valid', 'token_expired'].includes(code)
  ) {
    return { retry: `attachment_${code}` };
  }
  return { rejected: `attachment_${code}` };
}
