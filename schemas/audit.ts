// The audit log's wire contract: what one leaf says, what a signed checkpoint and a cosignature
// say, and the proofs served for them. Leaves carry digests and ids only, never personal data:
// a third party can check the log without being able to read what the parties exchanged.
import { z } from 'zod';
import { PartyId, Ulid } from './common.js';
import { MessageKind, Sha256Hex } from './envelope.js';

export const AUDIT_ENTRY_VERSION = 1;
/** JWS `typ` of a checkpoint signed by a node's log key, and of a partner's cosignature. */
export const CHECKPOINT_TYP = 'parley-checkpoint+jws';
export const COSIGNATURE_TYP = 'parley-cosignature+jws';

const Instant = z.iso.datetime();
const Via = z.enum(['online', 'import']);

const entry = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({
    v: z.literal(AUDIT_ENTRY_VERSION),
    type: z.literal(type),
    at: Instant,
    ...shape,
  });

/**
 * One leaf of the log, as RFC 8785 canonical JSON; the leaf hash is SHA-256(0x00 || UTF-8 bytes).
 * `digest` of a message is its message identity (SHA-256 of `header64.payload64`).
 */
export const AuditEntry = z.discriminatedUnion('type', [
  entry('message_sent', {
    digest: Sha256Hex,
    msg_id: Ulid,
    kind: MessageKind,
    req_id: Ulid.nullable(),
    aud: PartyId,
  }),
  /** A pending message signed again (same msg_id) after its lifetime passed. */
  entry('message_resigned', { digest: Sha256Hex, msg_id: Ulid }),
  entry('message_received', {
    digest: Sha256Hex,
    msg_id: Ulid,
    kind: MessageKind,
    req_id: Ulid.nullable(),
    iss: PartyId,
    kid: z.string(),
    via: Via,
    /** It came through a mediator, with this relay receipt (README, _Mediated exchange_). */
    relay_receipt_digest: Sha256Hex.optional(),
    /** The mediator that signed that relay receipt. */
    relayed_by: PartyId.optional(),
  }),
  /** The receipt this node signed for a message it received. */
  entry('receipt_signed', { digest: Sha256Hex, for_digest: Sha256Hex }),
  /** The partner's receipt for one of our messages. */
  entry('receipt_received', {
    digest: Sha256Hex,
    msg_id: Ulid,
    for_digest: Sha256Hex,
    received_at: Instant,
    via: Via,
    /** The message went through a mediator, whose relay receipt (this digest) the node kept. */
    relay_receipt_digest: Sha256Hex.optional(),
    /** The mediator that signed that relay receipt. */
    relayed_by: PartyId.optional(),
  }),
  /** A change of the partner registry; `change_digest` covers who, what and when. */
  entry('registry_change', {
    change_id: z.number().int().positive(),
    action: z.string(),
    party_id: PartyId,
    kid: z.string().nullable(),
    change_digest: Sha256Hex,
  }),
  /** Input that did not verify: the digest of what came and why it was refused. */
  entry('rejected', { digest: Sha256Hex, code: z.string(), via: z.string() }),
  /** A state transition or deadline event of a request's timeline; `event_digest` covers it whole. */
  entry('request_event', {
    req_id: Ulid,
    seq: z.number().int().positive(),
    event: z.string(),
    status: z.string().nullable(),
    event_digest: Sha256Hex,
  }),
  /**
   * A request's personal content erased (domain/erasure.ts): by an admin or the retention sweep.
   * `messages` are the digests of the envelopes whose bodies were removed (their own entries stay
   * and still prove them), `attachments` the SHA-256 of the files whose bytes were removed.
   */
  entry('request_erased', {
    req_id: Ulid,
    trigger: z.enum(['admin', 'retention']),
    messages: z.array(Sha256Hex),
    attachments: z.array(Sha256Hex),
  }),
  /**
   * On a mediator: a message from `iss` to `aud` it took and will pass on (its exact token kept),
   * and the digest of the relay receipt it signed for it.
   */
  entry('message_relayed', {
    digest: Sha256Hex,
    msg_id: Ulid,
    kind: MessageKind,
    req_id: Ulid.nullable(),
    iss: PartyId,
    aud: PartyId,
    relay_receipt_digest: Sha256Hex,
  }),
  /** On a mediator: the recipient's receipt for a message it relayed, passed back to the sender. */
  entry('relay_receipt_received', {
    digest: Sha256Hex,
    for_digest: Sha256Hex,
    received_at: Instant,
  }),
  /** A partner's checkpoint this node checked and countersigned. */
  entry('checkpoint_witnessed', {
    party_id: PartyId,
    size: z.number().int().nonnegative(),
    root: Sha256Hex,
  }),
]);
export type AuditEntry = z.infer<typeof AuditEntry>;
export type AuditEntryType = AuditEntry['type'];
/** An entry before the log stamps it with version and time. */
export type NewAuditEntry = AuditEntry extends infer E
  ? E extends AuditEntry
    ? Omit<E, 'v' | 'at'>
    : never
  : never;

/** The payload of a checkpoint JWS: this log had `size` leaves with root `root` at `at`. */
export const CheckpointPayload = z.strictObject({
  log: PartyId,
  size: z.number().int().nonnegative(),
  root: Sha256Hex,
  at: Instant,
});
export type CheckpointPayload = z.infer<typeof CheckpointPayload>;

/** The payload of a cosignature JWS: `witness` checked `log`'s checkpoint and found it consistent. */
export const CosignaturePayload = z.strictObject({
  witness: PartyId,
  log: PartyId,
  size: z.number().int().nonnegative(),
  root: Sha256Hex,
  /** SHA-256 of the checkpoint's signing input, so the cosignature names exactly one checkpoint. */
  checkpoint_digest: Sha256Hex,
  at: Instant,
});
export type CosignaturePayload = z.infer<typeof CosignaturePayload>;

export const CheckpointView = z.object({
  size: z.number().int(),
  root: Sha256Hex,
  at: Instant,
  token: z.string(),
  cosignatures: z.array(z.object({ witness: PartyId, token: z.string() })),
});
export type CheckpointView = z.infer<typeof CheckpointView>;

export const InclusionProofView = z.object({
  index: z.number().int(),
  tree_size: z.number().int(),
  entry: z.string(),
  leaf_hash: Sha256Hex,
  proof: z.array(Sha256Hex),
});
export type InclusionProofView = z.infer<typeof InclusionProofView>;

export const ConsistencyProofView = z.object({
  from_size: z.number().int(),
  to_size: z.number().int(),
  proof: z.array(Sha256Hex),
});
export type ConsistencyProofView = z.infer<typeof ConsistencyProofView>;

/** What a node posts to a partner's witness endpoint, and what it gets back. */
export const WitnessRequest = z.strictObject({
  checkpoint: z.string().max(4096),
  /** Consistency proof from the last size this partner countersigned (0: none yet). */
  from_size: z.number().int().nonnegative(),
  proof: z.array(Sha256Hex).max(128),
});
export type WitnessRequest = z.infer<typeof WitnessRequest>;
export const WitnessResponse = z.object({ cosignature: z.string() });
