// Sealed content (wire protocol v1): the personal parts of a message's body, and the names of its
// attachments, encrypted to the recipient's registered encryption key as one compact JWE inside
// the signed payload. What stays in clear is what an intermediary needs to follow the exchange
// (kind, ids, order, request type, priority, deadlines, digests and sizes). The single source of
// the sealed wire shapes and of which body members are public.
import { z } from 'zod';
import { PartyId, Ulid } from './common.js';
import { Attachment, EncryptionAlg, InReplyTo, MessageKind, PROTOCOL_VERSION } from './envelope.js';

/** The JWE `typ` of sealed content, and its content encryption. */
export const SEALED_TYP = 'parley-content+jwe';
/** The JWE `typ` of an attachment's bytes sealed to the recipient (sent as `application/jose`). */
export const SEALED_FILE_TYP = 'parley-file+jwe';
export const SEAL_ENC = 'A256GCM';
export const SEAL_ALG: EncryptionAlg = 'ECDH-ES+A256KW';

/**
 * The kinds whose body can hold personal content: all but receipts (digests and times only) and a
 * mediator's notices (ids, actions and instants).
 */
export const SealableKind = MessageKind.exclude(['receipt', 'mediation']);
export type SealableKind = z.infer<typeof SealableKind>;

/**
 * The body members of each kind that stay in clear in a sealed message; every other member of the
 * body (subjects, records, outcomes, notes, questions, answers, reasons) travels only inside the
 * JWE. Free text is always sealed: nobody can promise it names no one.
 */
export const PUBLIC_BODY_MEMBERS = {
  request: ['request_type', 'priority', 'policy_digest', 'mediator'],
  acknowledgement: ['expected_by'],
  response: ['final'],
  clarification_request: [],
  clarification: [],
  extension_request: ['proposed_deadline'],
  extension_decision: ['granted', 'new_deadline'],
  decline: [],
  withdrawal: [],
  reminder: ['deadline', 'due_at'],
  closure: ['outcome'],
} as const satisfies Record<SealableKind, readonly string[]>;

/** Whether `member` of a `kind` body stays in clear when the message is sealed. */
export function isPublicMember(kind: SealableKind, member: string): boolean {
  return (PUBLIC_BODY_MEMBERS[kind] as readonly string[]).includes(member);
}

/** Largest sealed member: the whole payload is at most 1 MiB anyway. */
const MAX_JWE_CHARS = 1024 * 1024;

/** A compact JWE: five base64url segments (the encrypted key, IV, ciphertext and tag non-empty). */
export const JweCompact = z
  .string()
  .max(MAX_JWE_CHARS)
  .regex(
    /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
    'a compact JWE (five base64url segments)',
  );

/** The protected header of the JWE: exactly these members (`epk` is the sender's ephemeral key). */
export const SealedHeader = z.strictObject({
  alg: EncryptionAlg,
  enc: z.literal(SEAL_ENC),
  kid: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'the recipient encryption key’s thumbprint'),
  typ: z.literal(SEALED_TYP),
  epk: z.record(z.string(), z.unknown()),
});
export type SealedHeader = z.infer<typeof SealedHeader>;

/**
 * The plaintext of the JWE, canonical JSON: the sender, the recipient and the message id (so the
 * content cannot be re-signed by anyone else, or moved into another message, without the
 * recipient noticing), the sealed body members, and the attachment list with the real file names.
 */
export const SealedContent = z.strictObject({
  iss: PartyId,
  aud: PartyId,
  msg_id: Ulid,
  body: z.record(z.string(), z.unknown()),
  attachments: z.array(Attachment).max(100),
});
export type SealedContent = z.infer<typeof SealedContent>;

const Seconds = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Count = z.number().int().min(0).max(1_000_000);

/**
 * A sealed payload as it is signed: the members of every payload, a body holding only the kind's
 * public members, attachments named by their digest, and `sealed`. The kind's own rules (which
 * members are required, `in_reply_to`) are checked on the opened payload.
 */
export const SealedPayload = z.strictObject({
  v: z.literal(PROTOCOL_VERSION),
  msg_id: Ulid,
  iss: PartyId,
  aud: PartyId,
  iat: Seconds,
  exp: Seconds,
  kind: SealableKind,
  req_id: Ulid,
  in_reply_to: InReplyTo.optional(),
  seq: Count.min(1).optional(),
  seen: Count.optional(),
  sent_at: Seconds.optional(),
  body: z.record(z.string(), z.unknown()),
  attachments: z.array(Attachment).max(100),
  sealed: JweCompact,
});
export type SealedPayload = z.infer<typeof SealedPayload>;
