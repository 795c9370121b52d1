// The mediator's API (README, _Mediated exchange_): what its operators may ask of what it relayed.
import { z } from 'zod';
import { Ulid } from './common.js';

/** `GET /v1/relayed`: newest first, of one request or all. */
export const RelayedQuery = z.strictObject({
  req_id: Ulid.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type RelayedQuery = z.infer<typeof RelayedQuery>;
