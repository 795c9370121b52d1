// The evidence bundle: one JSON file that lets a third party check a request's whole history
// offline, with nothing but the file and the parties' key fingerprints. Documented in the README;
// this schema is its single source.
import { z } from 'zod';
import { PartyId, Ulid } from './common.js';
import { KeyRole, SignatureAlg, Sha256Hex } from './envelope.js';

export const EVIDENCE_FORMAT = 'parley-evidence/1';

const Instant = z.iso.datetime();
const Hex = Sha256Hex;

/**
 * Why an item of a bundle is given by digest only: `access_policy` (the role that asked may not
 * see the content) or `erased` (the content is no longer stored).
 */
export const Withheld = z.enum(['access_policy', 'erased']);
export type Withheld = z.infer<typeof Withheld>;

export const EvidenceKey = z.strictObject({
  party_id: PartyId,
  kid: z.string(),
  alg: SignatureAlg,
  public_jwk: z.record(z.string(), z.unknown()),
  roles: z.array(KeyRole),
  valid_from: Instant,
  valid_until: Instant.nullable(),
  revoked_at: Instant.nullable(),
});
export type EvidenceKey = z.infer<typeof EvidenceKey>;

/** A log's checkpoint with the entries of the bundle proven against it. */
export const LogProofs = z.strictObject({
  /** The log's checkpoint all entries are proven against, with witnesses' cosignatures. */
  checkpoint: z.strictObject({ token: z.string(), cosignatures: z.array(z.string()) }),
  entries: z.array(
    z.strictObject({
      index: z.number().int().nonnegative(),
      entry: z.string(),
      proof: z.array(Hex),
    }),
  ),
});
export type LogProofs = z.infer<typeof LogProofs>;

/**
 * What a mediator's route `POST /v1/relayed/proofs` takes: the digests of messages it relayed (a
 * party of the request holds them; nobody else knows them).
 */
export const RelayProofsRequest = z.strictObject({
  digests: z.array(Hex).min(1).max(2000),
});
export type RelayProofsRequest = z.infer<typeof RelayProofsRequest>;

/**
 * The mediator's answer: its log entries for those digests (`message_relayed`,
 * `relay_receipt_received`), proven in a fresh checkpoint of its log with the cosignatures the
 * parties it relays for gave it.
 */
export const RelayProofs = z.strictObject({
  log: PartyId,
  proofs: LogProofs,
});
export type RelayProofs = z.infer<typeof RelayProofs>;

export const EvidenceBundle = z.strictObject({
  format: z.literal(EVIDENCE_FORMAT),
  manifest: z.strictObject({
    request_id: Ulid,
    /** The node that made the bundle: its log is the one the entries come from. */
    node: PartyId,
    partner: PartyId,
    created_at: Instant,
    request_type: z.string(),
    direction: z.enum(['outgoing', 'incoming']),
    status: z.string(),
    counts: z.record(z.string(), z.number().int()),
    /**
     * `full`: every envelope with its payload; `digests`: envelopes by digest only (the reader's
     * role may not see the content). Absent in bundles made before digest-only bundles existed.
     */
    content: z.enum(['full', 'digests']).optional(),
  }),
  /** Every public key that signed something in the bundle, with its validity. */
  keys: z.array(EvidenceKey),
  /**
   * Every envelope of the request exactly as exchanged (each signed version of ours), or, where
   * its content is withheld, by digest only: proven by its log entry, not by its signature.
   */
  envelopes: z.array(
    z.union([
      z.strictObject({ digest: Hex, direction: z.enum(['sent', 'received']), token: z.string() }),
      z.strictObject({ digest: Hex, direction: z.enum(['sent', 'received']), withheld: Withheld }),
    ]),
  ),
  /** Receipts both ways: ours for what we received, the partner's for what we sent. */
  receipts: z.array(
    z.union([
      z.strictObject({
        digest: Hex,
        for_digest: Hex,
        direction: z.enum(['sent', 'received']),
        token: z.string(),
      }),
      z.strictObject({
        digest: Hex,
        for_digest: Hex,
        direction: z.enum(['sent', 'received']),
        withheld: Withheld,
      }),
    ]),
  ),
  attachments: z.array(
    z.strictObject({
      sha256: Hex,
      size: z.number().int().nonnegative(),
      media_type: z.string(),
      name: z.string(),
      in_message: Hex,
      /** The bytes, base64, when the bundle was asked for with attachments. */
      content_base64: z.string().optional(),
    }),
  ),
  /** The node's timeline of the request; each event's digest is in the log. */
  timeline: z.array(
    z.strictObject({
      seq: z.number().int().positive(),
      at: Instant,
      type: z.string(),
      actor: z.string().nullable(),
      status: z.string().nullable(),
      detail: z.record(z.string(), z.unknown()),
    }),
  ),
  /**
   * The node's log: its checkpoint, countersigned by the partner (and by the mediator, for a
   * mediated request), and every entry of the request proven against it.
   */
  log: LogProofs,
  /**
   * A mediated request (README, _Mediated exchange_): the mediator's signed relay receipts for the
   * envelopes above (when it received each one), and its own log's entries for them (when it
   * relayed each one, and when the recipient's receipt came back) proven in a checkpoint of its log
   * countersigned by the parties; `log` is null when the mediator could not be reached as the bundle
   * was made (the bundle then does not verify).
   */
  mediator: z
    .strictObject({
      party: PartyId,
      relay_receipts: z.array(z.strictObject({ digest: Hex, for_digest: Hex, token: z.string() })),
      log: LogProofs.nullable(),
    })
    .optional(),
  summary: z.string(),
});
export type EvidenceBundle = z.infer<typeof EvidenceBundle>;
