// Bodies and views of the officers' request API (`/v1/requests`). No I/O.
import { z } from 'zod';
import { Direction, PartyId, Priority, RequestStatus, RequestType, Ulid } from './common.js';
import { CoverageRow } from './domain/coverage.js';
import { ItemId } from './domain/shared.js';
import { GraveSubject } from './domain/grave.js';
import { IdentificationSubject } from './domain/identification.js';
import { MineMapSubject } from './domain/mine-map.js';
import { safeText } from './text.js';
import { ACTIONS, type Action } from '../workflows/actions.js';

/**
 * What the request is about: the subject of its type (schemas/domain/), with its items. The
 * union is for types and documentation; bodies pick the member by their `type`.
 */
export const RequestSubject = z.union([MineMapSubject, GraveSubject, IdentificationSubject]);
export type RequestSubject = z.infer<typeof RequestSubject>;

/**
 * What roles other than officer see of an identification request's subject: its title and the
 * items' ids and kinds, not the case or remains ids (the most sensitive data here).
 */
export const RedactedSubject = z.strictObject({
  title: safeText(200, { min: 3 }),
  items: z.array(z.strictObject({ item_id: ItemId, kind: z.string() })),
});

const common = {
  counterparty: PartyId,
  priority: Priority.default('routine'),
  /**
   * The mediator the request goes through (README, _A mediator per request_): the registry's `via`
   * for the counterparty or one of its `mediators`. Absent: the `via`, else directly.
   */
  mediator: PartyId.optional(),
};

/**
 * Body of `POST /v1/requests`: an officer creates and submits a request to a counterparty. One
 * shape per type, so a subject is checked against its own type's rules, with precise paths.
 */
export const CreateRequestBody = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('mine_map'), ...common, subject: MineMapSubject }),
  z.strictObject({ type: z.literal('grave_information'), ...common, subject: GraveSubject }),
  z.strictObject({
    type: z.literal('identification_result'),
    ...common,
    subject: IdentificationSubject,
  }),
]);
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

/**
 * One of our messages the partner refused for good (a 4xx other than replay): it had no effect,
 * and the request shows the state without it. Our later messages were not sent.
 */
export const PartnerRefusal = z.object({
  msgId: z.string().describe('the refused message'),
  kind: z
    .string()
    .nullable()
    .describe('its kind (withdrawal, response, …); null if recorded before kinds were'),
  code: z.string().describe('the partner’s error code, e.g. key_role_mismatch'),
  at: z.iso.datetime().describe('when the refusal was recorded'),
});
export type PartnerRefusal = z.infer<typeof PartnerRefusal>;

/**
 * One of our messages about the request that the partner has not accepted yet (pending in our
 * outbox, delivery retried). This node already shows its effect; the partner does not, until it
 * accepts it. Oldest first in `undelivered`.
 */
export const UndeliveredMessage = z.object({
  msgId: z.string().describe('the message'),
  kind: z.string().describe('its kind (withdrawal, response, …)'),
  since: z.iso.datetime().describe('when it was signed and stored'),
  attempts: z.number().int().nonnegative().describe('delivery attempts so far'),
  lastError: z
    .string()
    .nullable()
    .describe(
      'the last attempt’s answer: the partner’s code (key_not_valid, unknown_key, sequence_gap, …), ' +
        'http_<status>, or unreachable; null before any attempt failed',
    ),
});
export type UndeliveredMessage = z.infer<typeof UndeliveredMessage>;

/**
 * A request whose personal content was erased (domain/erasure.ts): when, and whether by an admin
 * or the retention policy. Its ids, type, parties, times, status, timeline (message ids and
 * digests) and evidence stay; its subject and the bodies of its messages are gone.
 */
export const RequestErasure = z.object({
  at: z.iso.datetime().describe('when the content was erased'),
  trigger: z
    .enum(['admin', 'retention'])
    .describe('an admin’s erase action, or the retention sweep'),
});
export type RequestErasure = z.infer<typeof RequestErasure>;

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
  subject: z
    .union([RequestSubject, RedactedSubject])
    .nullable()
    .describe('null once the request is erased (`erasure`)'),
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
  /** The last of our messages the partner refused, or null. */
  partnerRefusal: PartnerRefusal.nullable(),
  /**
   * Our messages about the request the partner has not accepted yet, oldest first, read with the
   * row: while any is here, the partner does not show the state this node shows.
   */
  undelivered: z.array(UndeliveredMessage),
  /** Present once the request's personal content is erased. */
  erasure: RequestErasure.optional(),
});
export type RequestView = z.infer<typeof RequestView>;

/** The answer of `POST /v1/admin/requests/:id/erase`: the same however often it is asked. */
export const ErasureView = z.object({
  requestId: Ulid,
  state: z.literal('erased'),
  trigger: RequestErasure.shape.trigger,
  /** The admin's token subject, or null for the retention sweep. */
  by: z.string().nullable(),
  startedAt: z.iso.datetime(),
  erasedAt: z.iso.datetime(),
  /** The `request_erased` entry of the audit log. */
  auditIndex: z.number().int().nonnegative(),
  /** Digests of the messages whose bodies were removed; their log entries still prove them. */
  messages: z.array(z.string()),
  /** SHA-256 of the files whose bytes were removed (files other requests name are kept). */
  attachments: z.array(z.string()),
});
export type ErasureView = z.infer<typeof ErasureView>;

/** A gap of a received record against the legal minimums: a clarification item, not a refusal. */
export const ClarificationItem = z.object({
  msg_id: z.string(),
  code: z.string(),
  path: z.string().describe('RFC 6901 pointer into the response body'),
  message: z.string(),
});

/** One action this node's officers may take now (domain/allowed-actions.ts), and its route. */
export const AllowedAction = z.object({
  action: z.enum(Object.keys(ACTIONS) as [Action, ...Action[]]),
  path: z.string().describe('the route under /v1/requests/{id}/ that takes it'),
});

/**
 * A message about the request whose body officers read on the request's page: the clarification
 * questions and answers, and the responses with their records. Ours and the partner's, oldest
 * first (domain/access-policy.ts: officers only).
 */
export const ExchangedMessage = z.object({
  msgId: z.string(),
  kind: z.enum(['clarification_request', 'clarification', 'response']),
  from: z.enum(['us', 'partner']).describe('sent by this node, or received from the partner'),
  at: z.iso.datetime().describe('when this node stored it (sent or received)'),
  body: z.record(z.string(), z.unknown()).describe('the body as signed'),
});
export type ExchangedMessage = z.infer<typeof ExchangedMessage>;

/**
 * This node's consent to a pause of both parties' clocks by the request's mediator, given and not
 * yet carried by a pause this node holds (README, _Mediated exchange_).
 */
export const PendingPauseConsent = z.object({
  msgId: Ulid.describe('the consent (a `mediation` message to the mediator)'),
  createdAt: z.iso.datetime().describe('when this node signed it'),
  heldSince: z.iso
    .datetime()
    .nullable()
    .describe(
      'the mediator’s receipt time; null while the mediator could not be reached (the consent is kept: `POST /v1/requests/{id}/pause-consent` sends it again)',
    ),
});
export type PendingPauseConsent = z.infer<typeof PendingPauseConsent>;

export const RequestDetailView = RequestView.extend({
  timeline: z.array(TimelineEvent),
  /** Per item of the request: answered, outstanding, not found or withheld, and by which message. */
  coverage: z.array(CoverageRow),
  /** Gaps of the records exchanged so far against the legal minimums of the request's type. */
  clarificationItems: z.array(ClarificationItem),
  allowedActions: z
    .array(AllowedAction)
    .describe(
      'the actions of the action table this node’s side may take now (status, open question, pending extension); empty for callers without the officer role. The workflow still refuses one a crossing step made illegal (409 invalid_state)',
    ),
  messages: z
    .array(ExchangedMessage)
    .optional()
    .describe(
      'officers only: the clarification questions and answers and the responses (with their records) exchanged about the request, oldest first; absent for other roles',
    ),
  mediator: PartyId.nullable().describe(
    'the mediator the request goes through: the one its signed request names, else the one the partner registry names (`via`) for the counterparty. Every message of the request goes through it, and it may pause both parties’ clocks with their consent; null when the exchange is direct',
  ),
  pauseConsent: PendingPauseConsent.nullable().describe(
    'this node’s newest consent to a pause by `mediator` not yet carried by a pause (`POST /v1/requests/{id}/pause-consent`); null when there is none or no mediator',
  ),
});
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

/** A response body as stored (already past the checks of its request). */
export interface ResponseBody {
  final: boolean;
  records: readonly Record<string, unknown>[];
  outcomes?: readonly {
    item_id: string;
    outcome: 'found' | 'not_found' | 'withheld';
    reason?: string;
  }[];
}
