// The publication list's API contract (`GET /v1/publication/identifications`): the identification
// records whose consent scope allows publication, in their published form. No I/O.
import { z } from 'zod';
import { PartyId, Ulid } from './common.js';
import { Sha256Hex } from './envelope.js';
import { Conclusion } from './domain/identification.js';
import { CaseId, IsoDate, RemainsId } from './domain/shared.js';

/** Query of the publication list: newest first. */
export const PublicationQuery = z.strictObject({
  conclusion: Conclusion.optional().describe('only records with this conclusion'),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(500)
    .describe('at most this many records, the newest'),
});
export type PublicationQuery = z.infer<typeof PublicationQuery>;

/**
 * A record in its published form: the members a consent to publication covers, and nothing of the
 * rest (no DNA profiles, files, methods, burial or holding places, nor the confirming official).
 * Its members keep the record's wire names.
 */
export const PublishedRecord = z.object({
  remains_id: RemainsId,
  case_id: CaseId.optional(),
  conclusion: Conclusion,
  reported_on: IsoDate.optional().describe('when the identification report was issued'),
  handover: z
    .object({
      kind: z.enum(['handover', 'repatriation']),
      status: z.enum(['planned', 'done']),
      date: IsoDate,
    })
    .optional()
    .describe('the handover of the remains to the family, without its place'),
  family_notified: z.boolean().optional(),
  consent: z.object({
    scope: z.literal('publication'),
    given_by: z.enum(['family', 'holder', 'court', 'other']),
    given_on: IsoDate.optional(),
  }),
});
export type PublishedRecord = z.infer<typeof PublishedRecord>;

/** One published record with the signed response that carries it, to check it against. */
export const PublishedIdentification = z.object({
  requestId: Ulid,
  msgId: Ulid.describe('the response that carries the record'),
  digest: Sha256Hex.describe('that response’s envelope digest, as in the evidence bundle'),
  signedBy: PartyId.describe('the party that signed the response (the holder of the record)'),
  signedAt: z.iso.datetime().describe('when it signed it'),
  record: PublishedRecord,
});
export type PublishedIdentification = z.infer<typeof PublishedIdentification>;
