// The body of the codec endpoint's calls and answers (Temporal's codec server protocol): the
// proto3 JSON form of a list of Payloads, every bytes value (data and each metadata value) base64.
import { z } from 'zod';

/** Most payloads one call may carry (the Web UI and the CLI send those of one event at a time). */
export const CODEC_MAX_PAYLOADS = 1000;

const Base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'expected base64')
  .refine((s) => s.replace(/=+$/, '').length % 4 !== 1, 'expected base64');

/** One Payload in proto3 JSON. */
export const CodecPayload = z
  .object({
    metadata: z.record(z.string().max(256), Base64).optional(),
    data: Base64.optional(),
  })
  .strict();
export type CodecPayload = z.infer<typeof CodecPayload>;

/**
 * `{"payloads": [...]}`, in and out of `/codec/encode` and `/codec/decode`. Proto3 JSON leaves an
 * empty list out: the Temporal CLI sends `{}` for an event without payloads.
 */
export const CodecPayloads = z
  .object({
    payloads: z
      .array(CodecPayload)
      .max(CODEC_MAX_PAYLOADS, `at most ${CODEC_MAX_PAYLOADS} payloads per call`)
      .default([]),
  })
  .strict();
export type CodecPayloads = z.infer<typeof CodecPayloads>;
