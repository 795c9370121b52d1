// Bodies and views of the admin partner-registry API (`/v1/admin/partners`). No I/O.
import { z } from 'zod';
import { PartyId } from './common.js';
import { KeyAlg, KeyRole } from './envelope.js';
import { safeIdentifier, safeText } from './text.js';

/** A list of mediators named by party id, each once. */
const Mediators = z
  .array(PartyId)
  .max(20)
  .refine((l) => new Set(l).size === l.length, 'each mediator once');

const B64u = (len: number) =>
  z.string().regex(new RegExp(`^[A-Za-z0-9_-]{${len}}$`), `${len} base64url characters`);

/** Optional Parley members a JWKS entry may carry to describe the key. */
const KeyMetadata = {
  kid: safeIdentifier({ max: 200 }).optional(),
  alg: KeyAlg.optional(),
  use: z.enum(['sig', 'enc']).optional(),
  parley_roles: z.array(KeyRole).min(1).optional(),
  parley_valid_from: z.iso.datetime().optional(),
  parley_valid_until: z.iso.datetime().nullable().optional(),
};

/**
 * A public key as a JWK: Ed25519 (OKP) or P-256 (EC) to sign, X25519 (OKP) or P-256 (EC) to
 * encrypt (algorithm ECDH-ES+A256KW, role `encryption`). Private members are refused.
 */
export const PublicJwk = z.discriminatedUnion('kty', [
  z.strictObject({
    kty: z.literal('OKP'),
    crv: z.enum(['Ed25519', 'X25519']),
    x: B64u(43),
    ...KeyMetadata,
  }),
  z.strictObject({
    kty: z.literal('EC'),
    crv: z.literal('P-256'),
    x: B64u(43),
    y: B64u(43),
    ...KeyMetadata,
  }),
]);
export type PublicJwk = z.infer<typeof PublicJwk>;

export const Jwks = z.strictObject({ keys: z.array(PublicJwk).min(1).max(20) });
export type Jwks = z.infer<typeof Jwks>;

/** Keys to register: a JWKS, with roles and validity for all of them unless each key says. */
export const KeysInput = z.strictObject({
  jwks: Jwks,
  roles: z.array(KeyRole).min(1).optional(),
  validFrom: z.iso.datetime().optional(),
  validUntil: z.iso.datetime().nullable().optional(),
});
export type KeysInput = z.infer<typeof KeysInput>;

export const AddPartnerBody = KeysInput.extend({
  partyId: PartyId,
  name: safeText(200),
  // Stored as the URL parser writes it (zod's url normalizes): no control characters survive.
  inboxUrl: z.url({
    protocol: /^https?$/,
    message: 'an http(s) URL of the partner’s POST /v1/messages',
  }),
  /**
   * Whether the personal content of messages to and from this party is sealed (README, _Sealed
   * content_): messages to it are sealed to its encryption key, and its messages carrying content
   * in clear are refused (`not_sealed`). Off unless set.
   */
  sealContent: z.boolean().optional(),
  /**
   * The mediator (a registered party) that carries messages to and from this party (README,
   * _Mediated exchange_): messages to it are posted to the mediator's inbox, and its messages
   * must come with the mediator's relay receipt.
   */
  via: PartyId.optional(),
  /**
   * The mediators (registered parties) a request with this party may name (README, _A mediator
   * per request_): such a request and every later message of it go through the one it names.
   */
  mediators: Mediators.optional(),
  /** On a mediator: whether it relays messages from and to this party. */
  relays: z.boolean().optional(),
}).strict();
export type AddPartnerBody = z.infer<typeof AddPartnerBody>;

export const UpdatePartnerBody = z.strictObject({
  name: safeText(200).optional(),
  inboxUrl: z.url({ protocol: /^https?$/ }).optional(),
  sealContent: z.boolean().optional(),
  /** The mediator to go through, or null to exchange directly again. */
  via: PartyId.nullable().optional(),
  /** The mediators a request with this party may name; replaces the list ([]: none). */
  mediators: Mediators.optional(),
  relays: z.boolean().optional(),
});
export type UpdatePartnerBody = z.infer<typeof UpdatePartnerBody>;

export const RevokeKeyBody = z.strictObject({
  reason: safeText(500, { multiline: true }),
  revokedAt: z.iso.datetime().optional(),
});
export type RevokeKeyBody = z.infer<typeof RevokeKeyBody>;

export const PartnerKeyView = z.object({
  kid: z.string(),
  alg: KeyAlg,
  publicJwk: z.record(z.string(), z.unknown()),
  roles: z.array(KeyRole),
  validFrom: z.iso.datetime(),
  validUntil: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
  revocationReason: z.string().nullable(),
  addedAt: z.iso.datetime(),
  addedBy: z.string(),
});
export type PartnerKeyView = z.infer<typeof PartnerKeyView>;

export const PartnerView = z.object({
  partyId: PartyId,
  name: z.string(),
  inboxUrl: z.string(),
  createdAt: z.iso.datetime(),
  createdBy: z.string(),
  /** Whether content to and from this party is sealed. */
  sealContent: z.boolean(),
  /** The mediator messages to and from this party go through, if any. */
  via: PartyId.nullable(),
  /** The mediators a request with this party may name (besides `via`). */
  mediators: z.array(PartyId),
  /** On a mediator: whether it relays for this party. */
  relays: z.boolean(),
  keys: z.array(PartnerKeyView),
});
export type PartnerView = z.infer<typeof PartnerView>;

export const RegistryChangeView = z.object({
  at: z.iso.datetime(),
  actor: z.string(),
  action: z.string(),
  partyId: z.string(),
  kid: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
});
export type RegistryChangeView = z.infer<typeof RegistryChangeView>;
