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
  log: z.strictObject({
    /** The node's checkpoint all entries are proven against, with partners' cosignatures. */
    checkpoint: z.strictObject({ token: z.string(), cosignatures: z.array(z.string()) }),
    entries: z.array(
      z.strictObject({
        index: z.number().int().nonnegative(),
        entry: z.string(),
        proof: z.array(Hex),
      }),
    ),
  }),
  summary: z.string(),
});
export type EvidenceBundle = z.infer<typeof EvidenceBundle>;
