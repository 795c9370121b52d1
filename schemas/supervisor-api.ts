// Queries and views of the supervisors' read API (`/v1/supervisor`). No I/O.
// Supervisors see every request at a glance, but never what a request is about: the subject may
// hold personal data, so no view here carries it (nor who created the request).
import { z } from 'zod';
import { Direction, PartyId, Priority, RequestStatus, RequestType, Ulid } from './common.js';
import { RequestView, TimelineEvent } from './requests-api.js';

const Instant = z.iso.datetime({ offset: true });

/**
 * A query parameter that takes one value or several: `status=a,b` or `status=a&status=b`.
 * Bad values are reported at their position, e.g. `/status/1`.
 */
function oneOrMore<T extends z.ZodType<string, string>>(item: T, what: string) {
  return z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')))
    .pipe(z.array(item).min(1).max(50))
    .describe(
      `${what}: one value, a comma-separated list, or the parameter repeated` +
        ('options' in item && Array.isArray(item.options) ? ` (${item.options.join(', ')})` : ''),
    );
}

/** The sort keys of the list; requests without a response deadline sort as if due at infinity. */
export const SupervisorSort = z.enum(['created_at', 'response_due_at', 'updated_at']);
export type SupervisorSort = z.infer<typeof SupervisorSort>;
export const SortOrder = z.enum(['asc', 'desc']);
export type SortOrder = z.infer<typeof SortOrder>;

/** The filters of `GET /v1/supervisor/requests`: every one given must hold. */
export const SupervisorFilters = z.strictObject({
  status: oneOrMore(RequestStatus, 'any of these statuses').optional(),
  kind: oneOrMore(RequestType, 'any of these request types').optional(),
  direction: Direction.optional(),
  partner: oneOrMore(PartyId, 'any of these counterparties').optional(),
  priority: oneOrMore(Priority, 'any of these priorities').optional(),
  overdue: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  refused: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional()
    .describe('the partner refused one of our messages about the request (partnerRefusal is set)'),
  due_after: Instant.optional().describe('response deadline at or after this instant'),
  due_before: Instant.optional().describe('response deadline before this instant'),
  created_from: Instant.optional().describe('created at or after this instant'),
  created_to: Instant.optional().describe('created before this instant'),
  id_prefix: z
    .string()
    .regex(/^[0-9A-HJKMNP-TV-Z]{1,26}$/i, '1 to 26 characters of a ULID (Crockford base32)')
    .transform((s) => s.toUpperCase())
    .optional()
    .describe('the request id starts with this (ULIDs start with their creation time)'),
});
export type SupervisorFilters = z.infer<typeof SupervisorFilters>;

/** Query of `GET /v1/supervisor/requests`: filters, sort, and a page. */
export const SupervisorListQuery = SupervisorFilters.extend({
  sort: SupervisorSort.default('created_at'),
  order: SortOrder.optional().describe(
    'default: asc for response_due_at (soonest first), desc otherwise (newest first)',
  ),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z
    .string()
    .max(1024)
    .optional()
    .describe('nextCursor of the previous page, with the same filters and sort'),
});
export type SupervisorListQuery = z.infer<typeof SupervisorListQuery>;

/**
 * Who owes the request's next step (domain/next-step.ts, from the action table of
 * workflows/actions.ts): an open clarification question or a pending extension request holds the
 * requester; otherwise the responder owes the acknowledgement and then the final response, and the
 * requester the closure of an answered request.
 */
export const NextStepView = z
  .object({
    action: z.enum([
      'answer_clarification',
      'decide_extension',
      'acknowledge',
      'respond_final',
      'close_accepted',
    ]),
    side: z.enum(['requester', 'responder']),
    by: z.enum(['us', 'partner']).describe("this node's party, or the partner"),
    party: PartyId.describe('the party that owes it'),
  })
  .nullable()
  .describe('null when nobody owes a step: not yet delivered, or ended');
export type NextStepView = z.infer<typeof NextStepView>;

/** A request as a supervisor sees it: where it stands and its deadlines, not what it is about. */
export const SupervisorRequestItem = RequestView.pick({
  id: true,
  workflowId: true,
  direction: true,
  type: true,
  counterparty: true,
  priority: true,
  status: true,
  overdue: true,
  escalationLevel: true,
  receiptAt: true,
  ackDueAt: true,
  responseDueAt: true,
  createdAt: true,
  updatedAt: true,
  partnerRefusal: true,
}).extend({
  undeliveredCount: z
    .int()
    .min(0)
    .describe('our messages about the request the partner has not accepted yet'),
  undeliveredSince: z
    .string()
    .nullable()
    .describe('when the oldest of them was signed (ISO 8601), null when there is none'),
  nextStep: NextStepView,
  clockStopped: z
    .boolean()
    .describe(
      'an open clarification question stops the response clock (the policy says so): responseDueAt is where it stood and moves until the question is answered',
    ),
});
export type SupervisorRequestItem = z.infer<typeof SupervisorRequestItem>;

export const SupervisorRequestPage = z.object({
  items: z.array(SupervisorRequestItem),
  nextCursor: z
    .string()
    .nullable()
    .describe('pass as `cursor` for the next page; null on the last page'),
});
export type SupervisorRequestPage = z.infer<typeof SupervisorRequestPage>;

/** `GET /v1/supervisor/requests/{id}/timeline`. */
export const SupervisorTimeline = z.object({
  request: SupervisorRequestItem,
  events: z.array(TimelineEvent).describe('in the order they happened (by seq)'),
});
export type SupervisorTimeline = z.infer<typeof SupervisorTimeline>;

const Count = z.int().min(0);
const Seconds = z.number().nullable().describe('seconds; null when there is nothing to measure');

/** Median and 90th percentile (continuous) of a duration, and how many requests it covers. */
export const DurationStats = z.object({
  count: Count,
  medianSeconds: Seconds,
  p90Seconds: Seconds,
});
export type DurationStats = z.infer<typeof DurationStats>;

/**
 * Final answers, how many of them came no later than the response deadline, and the open requests
 * already late: no final answer yet, the response deadline passed, its clock running. Those count
 * as late, so a share is never "on time" while a request waits past its deadline.
 */
export const OnTimeStats = z.object({
  answered: Count.describe('first final responses'),
  onTime: Count.describe('of them, given no later than the response deadline'),
  lateOpen: Count.describe(
    'open requests without a final response whose response deadline has passed (clock not stopped)',
  ),
  share: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .describe('onTime / (answered + lateOpen); null if there is neither'),
});
export type OnTimeStats = z.infer<typeof OnTimeStats>;

export const DeadlineKind = z.enum(['acknowledgement', 'response']);

/** `GET /v1/supervisor/summary`: the read model at a glance. */
export const SupervisorSummary = z.object({
  asOf: z.iso.datetime().describe('when these figures were computed (they are cached briefly)'),
  total: Count,
  byStatus: z.record(RequestStatus, Count),
  byKind: z.record(RequestType, Count),
  byPartner: z.array(z.object({ partner: PartyId, count: Count })),
  overdue: z.object({
    total: Count,
    byEscalationLevel: z.array(z.object({ level: z.int().min(0), count: Count })),
  }),
  refusedByPartner: Count.describe(
    'requests where the partner refused one of our messages (list them with refused=true)',
  ),
  upcoming: z
    .object({
      days: z.int().positive(),
      count: Count.describe('deadlines still binding that fall due within `days` from asOf'),
      soonest: z.array(
        SupervisorRequestItem.extend({ deadline: DeadlineKind, dueAt: z.iso.datetime() }),
      ),
    })
    .describe(
      'Binding deadlines: acknowledgement while delivered, response while delivered, acknowledged or partially answered.',
    ),
  timing: z
    .array(
      z.object({
        direction: Direction,
        partner: PartyId,
        kind: RequestType,
        toAcknowledge: DurationStats.describe(
          'receipt of the request to its first acknowledgement or response',
        ),
        toAnswer: DurationStats.describe('receipt of the request to its first final response'),
        onTime: OnTimeStats,
      }),
    )
    .describe(
      'Per direction, partner and kind. Outgoing: how fast the partner answers us; incoming: how fast we answer the partner.',
    ),
  onTime: z
    .record(Direction, OnTimeStats)
    .describe(
      'share of first final responses given by the response deadline, counting open requests past their response deadline (lateOpen) as late',
    ),
});
export type SupervisorSummary = z.infer<typeof SupervisorSummary>;

/** Path parameters of the timeline route. */
export const RequestIdParams = z.strictObject({ id: Ulid });
