// Wire protocol v1: the protected header and the payload of every message kind (strict: unknown
// members are rejected). The single source of the envelope types and of their OpenAPI schemas.
import { z } from 'zod';
import type { RequestType } from './common.js';
import { PartyId, Priority, Ulid } from './common.js';
import { GraveSubject } from './domain/grave.js';
import { IdentificationSubject } from './domain/identification.js';
import { MineMapSubject } from './domain/mine-map.js';
import { ItemOutcome } from './domain/shared.js';
import { safeIdentifier, safeText } from './text.js';

/** Media type of an envelope on the wire, and the JWS `typ` of its header. */
export const ENVELOPE_MEDIA_TYPE = 'application/jose';
export const ENVELOPE_TYP = 'parley-msg+jws';
export const PROTOCOL_VERSION = 1;

/** Signature algorithms of the profile; a key is registered with exactly one. */
export const SignatureAlg = z.enum(['Ed25519', 'EdDSA', 'ES256']);
export type SignatureAlg = z.infer<typeof SignatureAlg>;

/**
 * The one key-agreement algorithm of sealed content (schemas/sealed.ts): ECDH-ES with A256KW key
 * wrapping, over X25519 or P-256. A key registered with it encrypts; it never signs.
 */
export const EncryptionAlg = z.literal('ECDH-ES+A256KW');
export type EncryptionAlg = z.infer<typeof EncryptionAlg>;

/** Every algorithm a registered key may have: one that signs, or the one that encrypts. */
export const KeyAlg = z.enum([...SignatureAlg.options, EncryptionAlg.value]);
export type KeyAlg = z.infer<typeof KeyAlg>;

/** An RFC 7638 SHA-256 JWK thumbprint: 43 base64url characters. */
export const Kid = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'an RFC 7638 SHA-256 JWK thumbprint (43 base64url characters)');

/** A SHA-256 digest as 64 lowercase hex characters. */
export const Sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest as 64 lowercase hex characters');

/** The protected header: exactly alg, kid and typ. Anything else (crit, jwk, jku, x5c, b64…) is refused. */
export const ProtectedHeader = z.strictObject({
  alg: SignatureAlg,
  kid: Kid,
  typ: z.literal(ENVELOPE_TYP),
});
export type ProtectedHeader = z.infer<typeof ProtectedHeader>;

/** The closed list of message kinds. */
export const MessageKind = z.enum([
  'request',
  'acknowledgement',
  'response',
  'clarification_request',
  'clarification',
  'extension_request',
  'extension_decision',
  'decline',
  'withdrawal',
  'reminder',
  'closure',
  'mediation',
  'receipt',
]);
export type MessageKind = z.infer<typeof MessageKind>;

/** Names the message answered by its id and digest, so a reply cannot be re-pointed. */
export const InReplyTo = z.strictObject({ msg_id: Ulid, digest: Sha256Hex });
export type InReplyTo = z.infer<typeof InReplyTo>;

/** An attachment by content: its bytes travel separately and are found by digest. */
export const Attachment = z.strictObject({
  sha256: Sha256Hex,
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  media_type: z.string().regex(/^[a-z]+\/[a-z0-9.+-]+$/, 'a media type such as application/pdf'),
  name: safeIdentifier({ max: 255 }),
});
export type Attachment = z.infer<typeof Attachment>;

/** Free text in bodies: several lines allowed, never controls, lone surrogates or bidi overrides. */
const Text = (max: number) => safeText(max, { multiline: true });
/** Calendar instants inside bodies: RFC 3339 in UTC. */
const Instant = z.iso.datetime({
  message: 'an RFC 3339 UTC date-time such as 2026-11-28T10:00:00Z',
});

/** A compact JWS carried inside a body (a party's signed consent): three base64url parts. */
const CompactJws = z
  .string()
  .max(8_192)
  .regex(
    /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/,
    'a compact JWS (header.payload.signature)',
  );

/** The body of a request message: its type, priority, subject of that type, and the policy. */
const requestBody = <T extends RequestType, S extends z.ZodType>(type: T, subject: S) =>
  z.strictObject({
    request_type: z.literal(type),
    priority: Priority,
    subject,
    /** SHA-256 of the deadline policy file both parties agreed; the responder refuses another. */
    policy_digest: Sha256Hex,
    /**
     * The mediator every message of the request goes through (README, _A mediator per request_),
     * agreed in both parties' registries; absent: the registry's route for the sender.
     */
    mediator: PartyId.optional(),
  });

/** Body of each kind. Domain records (issue: mine maps, graves, identifications) refine `response`. */
export const MessageBodies = {
  request: z.discriminatedUnion('request_type', [
    requestBody('mine_map', MineMapSubject),
    requestBody('grave_information', GraveSubject),
    requestBody('identification_result', IdentificationSubject),
  ]),
  acknowledgement: z.strictObject({ expected_by: Instant.optional(), note: Text(2000).optional() }),
  /**
   * Records are checked against the request's type (schemas/domain/) where the request is known;
   * a final response states an outcome for every item the request asked about.
   */
  response: z.strictObject({
    final: z.boolean(),
    records: z.array(z.record(z.string(), z.unknown())).max(10_000),
    outcomes: z.array(ItemOutcome).max(5_000).optional(),
    note: Text(10_000).optional(),
  }),
  clarification_request: z.strictObject({ questions: z.array(Text(2000)).min(1).max(50) }),
  clarification: z.strictObject({ answers: z.array(Text(10_000)).min(1).max(50) }),
  extension_request: z.strictObject({ reason: Text(2000), proposed_deadline: Instant }),
  extension_decision: z.strictObject({
    granted: z.boolean(),
    new_deadline: Instant.optional(),
    reason: Text(2000).optional(),
  }),
  decline: z.strictObject({ reason: Text(2000) }),
  withdrawal: z.strictObject({ reason: Text(2000).optional() }),
  reminder: z.strictObject({ deadline: z.enum(['acknowledgement', 'response']), due_at: Instant }),
  closure: z.strictObject({
    outcome: z.enum(['accepted', 'incomplete']),
    reason: Text(2000).optional(),
  }),
  /**
   * Between a request's mediator and its parties (README, _Mediated exchange_). From a party to the
   * mediator: its consent to a pause of both parties' clocks, or the withdrawal of its consents. From the mediator to one party: a
   * reminder of a deadline, or a pause of both clocks (from the instant it names, until a resume
   * names its end) carrying both parties' signed consents, so neither party's clock stops without
   * its word. The mediator sends each notice to both parties, with the same pause id, instants and
   * consents, so both count the same deadlines. No free text, so nothing personal: never sealed.
   */
  mediation: z.discriminatedUnion('action', [
    z.strictObject({
      action: z.literal('reminder'),
      deadline: z.enum(['acknowledgement', 'response']),
      due_at: Instant.optional(),
    }),
    z.strictObject({
      action: z.literal('pause'),
      pause_id: Ulid,
      from: Instant,
      /** The requester's and the responder's consents (compact JWS, kind `mediation`). */
      consents: z.array(CompactJws).length(2),
    }),
    z.strictObject({ action: z.literal('resume'), pause_id: Ulid, to: Instant }),
    z.strictObject({ action: z.literal('consent'), to: z.literal('pause') }),
    /**
     * From a party to the mediator: its consents given so far are withdrawn; the mediator's next
     * pause needs a consent the party gives after this.
     */
    z.strictObject({ action: z.literal('withdraw_consent') }),
  ]),
  /**
   * The receiver's signed word that it stored the message with this digest at this time, and how
   * many of its own messages about the request it had signed by then (`sent`): the sender's later
   * messages crossed none beyond those (see the convergence rule in the README).
   */
  receipt: z.strictObject({
    digest: Sha256Hex,
    received_at: Instant,
    sent: z.number().int().min(0).max(1_000_000).optional(),
  }),
} satisfies Record<MessageKind, z.ZodType>;

const Seconds = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A count or position of messages in one request's conversation. */
const Count = z.number().int().min(0).max(1_000_000);

/**
 * The conversation order every message about a request carries (all kinds but `receipt`):
 * `seq` is its place among its sender's messages about the request (the request itself is 1),
 * `seen` how many of the receiver's messages about it the sender held when it signed, and
 * `sent_at` when the sender first signed it (integer seconds; a re-signed version keeps it).
 * Optional for v1 partners that predate it: the receiver then orders by arrival.
 */
const order = {
  seq: Count.min(1).optional(),
  seen: Count.optional(),
  sent_at: Seconds.optional(),
};

/** Members every payload carries; `kind` selects the body schema. */
const payloadOf = <
  K extends Exclude<MessageKind, 'receipt'>,
  R extends z.ZodType,
  I extends z.ZodType,
>(
  kind: K,
  extra: { req_id: R; in_reply_to: I },
) =>
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    msg_id: Ulid,
    iss: PartyId,
    aud: PartyId,
    iat: Seconds,
    exp: Seconds,
    kind: z.literal(kind),
    req_id: extra.req_id,
    in_reply_to: extra.in_reply_to,
    ...order,
    body: MessageBodies[kind],
    attachments: z.array(Attachment).max(100),
  });

const replyOptional = { req_id: Ulid, in_reply_to: InReplyTo.optional() };
const replyRequired = { req_id: Ulid, in_reply_to: InReplyTo };

/** The payload of an envelope, discriminated by kind. */
export const Payload = z.discriminatedUnion('kind', [
  payloadOf('request', { req_id: Ulid, in_reply_to: z.undefined().optional() }),
  payloadOf('acknowledgement', replyOptional),
  payloadOf('response', replyOptional),
  payloadOf('clarification_request', replyOptional),
  payloadOf('clarification', replyRequired),
  payloadOf('extension_request', replyOptional),
  payloadOf('extension_decision', replyRequired),
  payloadOf('decline', replyOptional),
  payloadOf('withdrawal', replyOptional),
  payloadOf('reminder', replyOptional),
  payloadOf('closure', replyOptional),
  payloadOf('mediation', { req_id: Ulid, in_reply_to: z.undefined().optional() }),
  z.strictObject({
    v: z.literal(PROTOCOL_VERSION),
    msg_id: Ulid,
    iss: PartyId,
    aud: PartyId,
    iat: Seconds,
    exp: Seconds,
    kind: z.literal('receipt'),
    req_id: Ulid.optional(),
    in_reply_to: InReplyTo,
    body: MessageBodies.receipt,
    attachments: z.array(Attachment).max(100),
  }),
]);
export type Payload = z.infer<typeof Payload>;
export type PayloadOf<K extends MessageKind> = Extract<Payload, { kind: K }>;

/**
 * Key roles: which kinds a key may sign. A node's default key holds message and receipt; its audit
 * log is signed by a key of its own with the `log` role (checkpoints and cosignatures only). A key
 * with the `encryption` role (and only that role, with algorithm ECDH-ES+A256KW) signs nothing:
 * partners seal content to it (schemas/sealed.ts).
 */
export const KeyRole = z.enum(['message', 'receipt', 'log', 'encryption']);
export type KeyRole = z.infer<typeof KeyRole>;

/** The role a key needs to sign a message of this kind. */
export function roleForKind(kind: MessageKind): KeyRole {
  return kind === 'receipt' ? 'receipt' : 'message';
}
