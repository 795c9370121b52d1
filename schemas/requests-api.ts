// Bodies and views of the officers' request API (`/v1/requests`). No I/O.
import { z } from 'zod';
import { Direction, PartyId, Priority, RequestStatus, RequestType, Ulid } from './common.js';

/**
 * What the request is about, in words the other side can act on. Structured items per request
 * type (areas, case ids, remains ids) extend this object; the title must carry no personal data
 * because it is shown in lists.
 */
export const RequestSubject = z.strictObject({
  title: z.string().trim().min(3).max(200),
  description: z.string().trim().max(10_000).optional(),
});
export type RequestSubject = z.infer<typeof RequestSubject>;

/** Body of `POST /v1/requests`: an officer creates and submits a request to a counterparty. */
export const CreateRequestBody = z.strictObject({
  type: RequestType,
  counterparty: PartyId,
  priority: Priority.default('routine'),
  subject: RequestSubject,
});
export type CreateRequestBody = z.infer<typeof CreateRequestBody>;

/** One entry in a request's timeline: what happened, when, and who did it. */
export const TimelineEvent = z.object({
  seq: z.number().int().nonnegative(),
  at: z.iso.datetime(),
  type: z.string(),
  actor: z.string().nullable(),
  status: RequestStatus.nullable(),
  detail: z.record(z.string(), z.unknown()),
});
export type TimelineEvent = z.infer<typeof TimelineEvent>;

/** A request as the read model shows it. */
export const RequestView = z.object({
  id: Ulid,
  workflowId: z.string(),
  direction: Direction,
  type: RequestType,
  requester: PartyId,
  responder: PartyId,
  counterparty: PartyId,
  priority: Priority,
  status: RequestStatus,
  overdue: z.boolean(),
  subject: RequestSubject,
  createdBy: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  /** The responder's signed receipt time of the request: every deadline counts from it. */
  receiptAt: z.iso.datetime().nullable(),
  ackDueAt: z.iso.datetime().nullable(),
  responseDueAt: z.iso.datetime().nullable(),
  escalationLevel: z.number().int().nonnegative(),
  policyDigest: z.string().nullable(),
  /** How each deadline was computed: rule, receipt time, calendar, pauses, extension. */
  deadlines: z.record(z.string(), z.unknown()),
});
export type RequestView = z.infer<typeof RequestView>;

export const RequestDetailView = RequestView.extend({ timeline: z.array(TimelineEvent) });
export type RequestDetailView = z.infer<typeof RequestDetailView>;

/** Query of `GET /v1/requests`. */
export const ListRequestsQuery = z.strictObject({
  status: RequestStatus.optional(),
  type: RequestType.optional(),
  direction: Direction.optional(),
  counterparty: PartyId.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type ListRequestsQuery = z.infer<typeof ListRequestsQuery>;
