// Store-and-forward bundle: envelopes and receipts carried between nodes as one file when there
// is no network between them. Every token in it is verified on import exactly as online, except
// for freshness; uniqueness is never relaxed.
import { z } from 'zod';
import { PartyId } from './common.js';

export const BUNDLE_FORMAT = 'parley-bundle';

const Token = z
  .string()
  .min(1)
  .max(1024 * 1024);

export const Bundle = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  v: z.literal(1),
  from: PartyId,
  to: PartyId,
  created_at: z.iso.datetime(),
  /** Envelopes from `from` to `to`, exact compact JWS tokens. */
  messages: z.array(Token).max(100_000),
  /** Receipts `from` signed for envelopes it received from `to`. */
  receipts: z.array(Token).max(100_000),
});
export type Bundle = z.infer<typeof Bundle>;

export const ImportResult = z.object({
  kind: z.enum(['message', 'receipt']),
  digest: z.string(),
  outcome: z.string().describe('accepted, applied, or the error code'),
});
export type ImportResult = z.infer<typeof ImportResult>;
