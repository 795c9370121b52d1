// Shared building blocks of the wire and API contracts. No I/O, no imports of our own modules.
import { z } from 'zod';
import { safeIdentifier, safeText } from './text.js';

/** A party id: an ASCII slug, so a look-alike Unicode id can never pass for a registered one. */
export const PartyId = safeIdentifier({
  pattern: /^[a-z][a-z0-9-]{1,62}$/,
  message: 'a lowercase ASCII slug: a-z first, then a-z, 0-9 or -, 2 to 63 characters',
});
export type PartyId = z.infer<typeof PartyId>;

/** A ULID in its canonical 26-character Crockford base32 form. */
export const Ulid = safeIdentifier({
  pattern: /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/,
  message: 'a ULID (26 characters, Crockford base32)',
});
export type Ulid = z.infer<typeof Ulid>;

/** The three kinds of request the parties exchange. */
export const RequestType = z.enum(['mine_map', 'grave_information', 'identification_result']);
export type RequestType = z.infer<typeof RequestType>;

/** How urgent a request is; the agreed deadline policy is keyed by type and priority. */
export const Priority = z.enum(['routine', 'urgent', 'critical']);
export type Priority = z.infer<typeof Priority>;

/** Which side of the exchange this node is on for a request. */
export const Direction = z.enum(['outgoing', 'incoming']);
export type Direction = z.infer<typeof Direction>;

/** The roles a human caller can hold. */
export const Role = z.enum(['officer', 'supervisor', 'admin']);
export type Role = z.infer<typeof Role>;

/** Where a request stands, as both sides see it. `overdue` is a flag beside the status, not a status. */
export const RequestStatus = z.enum([
  'submitted',
  'delivered',
  'acknowledged',
  'partially_answered',
  'answered',
  'closed',
  'declined',
  'withdrawn',
]);
export type RequestStatus = z.infer<typeof RequestStatus>;

/**
 * What every request's subject says, in words the other side can act on. Each request type
 * extends it with structured items (areas, case ids, remains ids: schemas/domain/); the title must
 * carry no personal data because it is shown in lists.
 */
export const SubjectBase = z.strictObject({
  title: safeText(200, { min: 3 }),
  description: safeText(10_000, { multiline: true, min: 0 }).optional(),
});
export type SubjectBase = z.infer<typeof SubjectBase>;
