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
  /**
   * The mediator's relay receipts of `messages`, by the digest of the message each is for (README,
   * _Mediated exchange_): a message from a party whose messages go through a mediator is taken only
   * with that mediator's relay receipt, by file as online. Absent when there are none.
   */
  relay_receipts: z
    .record(z.string().regex(/^[0-9a-f]{64}$/, 'a message digest (64 hex digits)'), Token)
    .optional(),
});
export type Bundle = z.infer<typeof Bundle>;

export const ImportResult = z.object({
  kind: z.enum(['message', 'receipt']),
  digest: z.string(),
  outcome: z.string().describe('accepted, applied, or the error code'),
});
export type ImportResult = z.infer<typeof ImportResult>;
