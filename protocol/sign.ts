// Signing: a payload becomes a compact JWS whose payload bytes are RFC 8785 canonical JSON and
// whose header is exactly {alg, kid, typ}. Identity is the digest of the signing input.
import { CompactSign } from 'jose';
import { ulid } from 'ulid';
import { AppError, issueDetails } from '../errors.js';
import {
  ENVELOPE_TYP,
  Payload,
  PROTOCOL_VERSION,
  roleForKind,
  type InReplyTo,
  type MessageKind,
  type PayloadOf,
  type ProtectedHeader,
} from '../schemas/envelope.js';
import { canonicalBytes } from './canonical-json.js';
import { messageDigest } from './digest.js';
import type { SigningKey } from './keys.js';
import { sealPayload, type SealingKey } from './seal.js';

/** Default lifetime of an envelope: well inside the 15 minutes receivers accept. */
export const DEFAULT_LIFETIME_SECONDS = 600;

export interface SignedEnvelope {
  token: string;
  digest: string;
  header: ProtectedHeader;
  /** The payload in clear, as this node keeps it (the token's may be sealed: schemas/sealed.ts). */
  payload: Payload;
}

interface DraftOf<K extends MessageKind> {
  kind: K;
  iss: string;
  aud: string;
  req_id?: string;
  in_reply_to?: InReplyTo;
  body: PayloadOf<K>['body'];
  attachments?: PayloadOf<K>['attachments'];
  /** Keep the id when re-signing a message that was already sent. */
  msg_id?: string;
  /** The conversation order (see schemas/envelope.ts); absent on receipts. */
  seq?: number;
  seen?: number;
  sent_at?: number;
}

/**
 * What a sender decides, one shape per kind (a discriminated union); the protocol members
 * (v, iat, exp, and msg_id unless given) are filled in here.
 */
export type Draft<K extends MessageKind = MessageKind> = { [P in K]: DraftOf<P> }[K];

/** A draft from this node: `iss` is always the node's own party id. */
export type OwnDraft<K extends MessageKind = MessageKind> = {
  [P in K]: Omit<DraftOf<P>, 'iss'>;
}[K];

export function buildPayload(
  draft: Draft,
  now: Date,
  lifetimeSeconds = DEFAULT_LIFETIME_SECONDS,
): Payload {
  const iat = Math.floor(now.getTime() / 1000);
  const candidate = {
    v: PROTOCOL_VERSION,
    msg_id: draft.msg_id ?? ulid(now.getTime()),
    iss: draft.iss,
    aud: draft.aud,
    iat,
    exp: iat + lifetimeSeconds,
    kind: draft.kind,
    ...(draft.req_id !== undefined ? { req_id: draft.req_id } : {}),
    ...(draft.in_reply_to !== undefined ? { in_reply_to: draft.in_reply_to } : {}),
    ...(draft.seq !== undefined ? { seq: draft.seq } : {}),
    ...(draft.seen !== undefined ? { seen: draft.seen } : {}),
    ...(draft.sent_at !== undefined ? { sent_at: draft.sent_at } : {}),
    body: draft.body,
    attachments: draft.attachments ?? [],
  };
  const parsed = Payload.safeParse(candidate);
  if (!parsed.success) {
    throw new AppError(
      'schema_invalid',
      `the ${draft.kind} message does not match the protocol schema`,
      issueDetails(parsed.error.issues),
    );
  }
  return parsed.data;
}

/**
 * Signs a payload with one of this node's keys; with `sealTo`, its personal content is first sealed
 * to that key of the recipient (protocol/seal.ts), and the token carries the sealed form.
 */
export async function signPayload(
  payload: Payload,
  key: SigningKey,
  sealTo?: SealingKey,
): Promise<SignedEnvelope> {
  if (!key.roles.includes(roleForKind(payload.kind))) {
    throw new TypeError(
      `key ${key.kid} has no ${roleForKind(payload.kind)} role to sign a ${payload.kind}`,
    );
  }
  // Member order alg, kid, typ is the canonical order; kid and typ need no escaping.
  const header: ProtectedHeader = { alg: key.alg, kid: key.kid, typ: ENVELOPE_TYP };
  const signed = sealTo ? await sealPayload(payload, sealTo) : payload;
  const token = await new CompactSign(canonicalBytes(signed))
    .setProtectedHeader(header)
    .sign(key.privateKey);
  const [header64 = '', payload64 = ''] = token.split('.');
  return { token, digest: messageDigest(header64, payload64), header, payload };
}

export async function signDraft(
  draft: Draft,
  key: SigningKey,
  now = new Date(),
): Promise<SignedEnvelope> {
  return signPayload(buildPayload(draft, now), key);
}
