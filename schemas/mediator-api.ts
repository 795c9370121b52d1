// The mediator's API (README, _Mediated exchange_): what its operators may ask of what it relayed.
import { z } from 'zod';
import { PartyId, Priority, RequestStatus, RequestType, Ulid } from './common.js';

/** `GET /v1/relayed`: newest first, of one request or all. */
export const RelayedQuery = z.strictObject({
  req_id: Ulid.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type RelayedQuery = z.infer<typeof RelayedQuery>;

/** `GET /v1/mediated`: the requests M relays, the most recently active first. */
export const MediatedQuery = z.strictObject({
  overdue: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type MediatedQuery = z.infer<typeof MediatedQuery>;

const Instant = z.iso.datetime();
const Side = z.enum(['requester', 'responder']);

export const MediatedDeadline = z.object({
  kind: z.enum(['acknowledgement', 'response']),
  dueAt: Instant,
  countsFrom: Instant.describe('the responder’s receipt of the request'),
  answeredAt: Instant.nullable().describe('when the step that met it counts; null while it binds'),
  clockStopped: z.boolean().describe('a clarification stops the response clock'),
  overdue: z.boolean(),
  escalationLevel: z.number().int().nonnegative(),
  nextChangeAt: Instant.nullable().describe(
    'when it falls due or escalates next, as things stand; null when it no longer will',
  ),
});
export type MediatedDeadline = z.infer<typeof MediatedDeadline>;

/** `POST /v1/mediated/{id}/notices`: what M tells the request's parties (README, _Mediated exchange_). */
export const MediatorNoticeInput = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('reminder'),
    deadline: z.enum(['acknowledgement', 'response']),
    to: z.enum(['requester', 'responder', 'both']).default('both'),
  }),
  z.strictObject({ action: z.literal('pause') }),
  z.strictObject({ action: z.literal('resume') }),
]);
export type MediatorNoticeInput = z.infer<typeof MediatorNoticeInput>;

/** One of M's notices to one party, and what became of it. */
export const MediatorNoticeView = z.object({
  msgId: Ulid,
  digest: z.string(),
  to: PartyId,
  side: Side,
  action: z.enum(['reminder', 'pause', 'resume']),
  pauseId: Ulid.nullable(),
  at: Instant.nullable().describe('a pause’s start or a resume’s end, as signed'),
  deadline: z.enum(['acknowledgement', 'response']).nullable(),
  createdAt: Instant,
  createdBy: z.string(),
  state: z
    .enum(['pending', 'delivered', 'refused', 'given_up'])
    .describe('delivered: the party’s receipt came; refused: with `code`; given_up: no answer'),
  receivedAt: Instant.nullable().describe('the party’s receipt time'),
  code: z.string().nullable(),
  attempts: z.number().int().nonnegative(),
});
export type MediatorNoticeView = z.infer<typeof MediatorNoticeView>;

/**
 * A mediated request as M sees it: the state each party shows, derived by the convergence rule
 * from the messages M relayed and the receipts it passed back; ids, kinds, times and deadlines only.
 */
export const MediatedRequestView = z.object({
  reqId: Ulid,
  type: RequestType,
  priority: Priority,
  requester: PartyId,
  responder: PartyId,
  policyDigest: z.string(),
  policyKnown: z
    .boolean()
    .describe('M holds the policy the parties agreed (same digest), so it counts the deadlines'),
  asRequester: RequestStatus.describe('the state the requester shows, from what it holds'),
  asResponder: RequestStatus.nullable().describe(
    'the state the responder shows, from what it holds; null while the request has not reached it',
  ),
  agree: z.boolean().describe('no message is in transit: both show the settled state'),
  complete: z
    .boolean()
    .describe(
      'M holds every message of the request (false: one went another way, by file or before the route through M, and the states and deadlines shown are M’s best guess; no notification is made)',
    ),
  settledStatus: RequestStatus.describe(
    'the state both show once every message in transit arrives',
  ),
  receiptAt: Instant.nullable(),
  deadlines: z.array(MediatedDeadline),
  overdue: z.boolean(),
  escalationLevel: z.number().int().nonnegative(),
  lastActivityAt: Instant,
  pauses: z
    .array(
      z.object({
        pauseId: Ulid,
        from: Instant,
        to: Instant.nullable(),
        counted: z
          .boolean()
          .describe(
            'in the deadlines shown: no party refused or missed it (README, _Mediated exchange_)',
          ),
        takenBy: z
          .array(PartyId)
          .describe(
            'the parties that took its pause notice (their receipt came): one alone counts it, the other does not',
          ),
      }),
    )
    .describe('M’s pauses of both parties’ clocks'),
  notices: z.array(MediatorNoticeView).describe('M’s reminders and pauses, as signed'),
  consents: z
    .array(
      z.object({
        party: PartyId,
        msgId: Ulid,
        receivedAt: Instant,
        pauseId: Ulid.nullable().describe('the pause that carried it; null: not used yet'),
        withdrawnAt: Instant.nullable().describe(
          'when M took the party’s withdrawal of it (no pause carries it then); null: not withdrawn',
        ),
      }),
    )
    .describe('the parties’ signed consents to a pause M holds'),
  messages: z.array(
    z.object({
      msgId: Ulid,
      digest: z.string(),
      kind: z.string(),
      from: Side,
      seq: z.number().int().positive(),
      sentAt: Instant,
      relayedAt: Instant.describe('when M took it (its relay receipt)'),
      receivedAt: Instant.nullable().describe('the recipient’s receipt time'),
      state: z.enum(['received', 'in_transit', 'refused']),
      effect: z.string().describe('applied, or why it had no effect where it falls'),
    }),
  ),
});
export type MediatedRequestView = z.infer<typeof MediatedRequestView>;

/** `POST /v1/requests/{id}/pause-consent`: a party's consent, and whether its mediator holds it. */
export const PauseConsentView = z.object({
  msgId: Ulid,
  digest: z.string(),
  mediator: PartyId,
  createdAt: Instant,
  createdBy: z.string(),
  heldSince: Instant.nullable().describe(
    'the mediator’s receipt time; null while it could not be reached (ask again to send it again)',
  ),
});
export type PauseConsentView = z.infer<typeof PauseConsentView>;

/** `GET /v1/mediator/notifications`: the newest first. */
export const MediatorNotificationsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** A deadline of a mediated request that passed, as M told its supervisors (ids and times only). */
export const MediatorNotification = z.object({
  reqId: Ulid,
  type: RequestType.nullable().describe('the request’s type (null: told before M kept it)'),
  requester: PartyId.nullable(),
  responder: PartyId.nullable(),
  deadline: z.enum(['acknowledgement', 'response']),
  level: z
    .number()
    .int()
    .nonnegative()
    .describe('the escalation level reached (0: passed, before the policy’s first escalation)'),
  dueAt: Instant,
  at: Instant.describe('when M found it passed'),
  webhooksTook: z.number().int().nonnegative().describe('webhook targets that took it'),
  attempts: z.number().int().nonnegative().describe('rounds of webhook POSTs'),
  lastError: z.string().nullable(),
});
export type MediatorNotification = z.infer<typeof MediatorNotification>;
