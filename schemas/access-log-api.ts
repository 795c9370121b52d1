// The read audit's API contract: the admins' listing of who read which request's content
// (`GET /v1/admin/access-log`). No I/O.
import { z } from 'zod';
import { Role, Ulid } from './common.js';

/** Query of `GET /v1/admin/access-log`: every filter optional, newest first, cursor pages. */
export const AccessLogQuery = z.strictObject({
  request: Ulid.optional().describe('only reads of this request'),
  subject: z.string().min(1).max(256).optional().describe('only reads by this token subject'),
  route: z
    .string()
    .regex(/^(GET|POST) \/[A-Za-z0-9/:._<>-]*$/, 'a route as recorded, e.g. GET /v1/requests/:id')
    .max(200)
    .optional()
    .describe('only reads through this route, e.g. `GET /v1/requests/:id`'),
  since: z.iso.datetime({ offset: true }).optional().describe('reads at or after this time'),
  until: z.iso.datetime({ offset: true }).optional().describe('reads before this time'),
  cursor: z
    .string()
    .regex(/^[1-9][0-9]{0,17}$/, 'a cursor this API issued (nextCursor)')
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type AccessLogQuery = z.infer<typeof AccessLogQuery>;

/** One recorded read: ids and part names only, never the data read. */
export const AccessLogEntry = z.object({
  id: z.string().describe('the record’s id; increases with time'),
  at: z.iso.datetime().describe('when the read was answered'),
  sub: z.string().describe('the caller’s token subject'),
  roles: z.array(z.union([Role, z.string()])).describe('the roles the token held'),
  route: z.string().describe('the route template, e.g. GET /v1/requests/:id'),
  reqId: z.string().nullable().describe('the request read; null for codec decodes'),
  parts: z
    .array(z.string())
    .describe(
      'what of it: subject, outcomes, message, attachment, records, evidence, temporal_payloads, exchange_bundle',
    ),
  ref: z
    .string()
    .nullable()
    .describe('which item, by id: a message digest or msg_id, a file’s sha256, a payload count'),
});
export type AccessLogEntry = z.infer<typeof AccessLogEntry>;

export const AccessLogPage = z.object({
  items: z.array(AccessLogEntry),
  nextCursor: z.string().nullable().describe('pass as `cursor` for the next (older) page'),
});
export type AccessLogPage = z.infer<typeof AccessLogPage>;
