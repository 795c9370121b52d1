// Hands verified messages to the request workflows: a request starts the responder's workflow,
// everything else is signalled to the workflow of its request. Refuses, before anything is stored,
// messages that have no place here (unknown request, wrong party, another deadline policy).
import type { Client } from '@temporalio/client';
import { relaysRequestFor } from '../db/mediator.js';
import { consentsInPauses, gaveConsent } from '../db/pause-consents.js';
import { digestOfInput } from '../protocol/digest.js';
import type { KeyRegistry } from '../protocol/keys.js';
import { verifyAsSigned } from '../protocol/verify.js';
import type pg from 'pg';
import type { Logger } from 'pino';
import {
  mediatorPauseFrom,
  requestIdTaken,
  requestKnownWith,
  requestPartnerAndMediator,
  undispatchedMessages,
  markDispatched,
  withRelayLock,
} from '../db/messages.js';
import { getRequest } from '../db/requests.js';
import type { RequestRecord } from '../schemas/workflow-contract.js';
import { checkResponseBody, responsesOf } from '../domain/responses.js';
import { beyondScopeThroughMediator } from '../domain/consent.js';
import { AppError } from '../errors.js';
import { AttachmentsPending, holdForAttachments } from './attachments.js';
import {
  storedMessageOf,
  type ConversationOrder,
  type InboundSink,
  type StoredMessage,
} from './inbox.js';
import type { VerifiedEnvelope } from '../protocol/verify.js';
import type { Payload } from '../schemas/envelope.js';
import {
  handMediatorNotice,
  handMessage,
  startIncomingRequest,
  type RequestWorkflowsDeps,
} from '../temporal/request-workflows.js';
import { requestWorkflowId } from '../workflows/messages.js';
import { claimedString, storedPayloadOf, unverifiedClaims } from '../protocol/claims.js';

export interface InboundRouterDeps extends RequestWorkflowsDeps {
  pool: pg.Pool;
  partyId: string;
  /** Checks the partner's signed consent inside a mediator's pause (`checkMediation`). */
  registry: KeyRegistry;
}

/**
 * How long one hand-over may wait for Temporal. Beyond it the message stays stored, receipted and
 * undispatched for the relay: the partner is answered without waiting out the client's retries.
 */
export const HAND_OVER_DEADLINE_MS = 5000;

function handOver<T>(client: Client, call: () => Promise<T>): Promise<T> {
  return client.connection.withDeadline(Date.now() + HAND_OVER_DEADLINE_MS, call);
}

function orderInPayload(p: Exclude<Payload, { kind: 'receipt' }>): Partial<ConversationOrder> {
  return {
    ...(p.seq !== undefined ? { seq: p.seq } : {}),
    ...(p.seen !== undefined ? { seen: p.seen } : {}),
    sentAt: new Date((p.sent_at ?? p.iat) * 1000).toISOString(),
  };
}

export function createInboundRouter(deps: InboundRouterDeps): InboundSink {
  return {
    async check({ payload: p, sealed }: VerifiedEnvelope) {
      if (p.kind === 'receipt') return; // receipts answer our messages; nothing to route
      if (p.kind === 'request') {
        if (p.body.policy_digest !== deps.policy.digest) {
          throw new AppError(
            'policy_mismatch',
            'the request names another deadline policy than this node’s (see GET /v1/policy)',
          );
        }
        if (await requestIdTaken(deps.pool, p.req_id)) {
          throw new AppError('conflict', 'this node already holds a request with this req_id');
        }
        return;
      }
      if (p.kind === 'mediation') return checkMediation(deps, p);
      if (!(await requestKnownWith(deps.pool, p.req_id, p.iss))) {
        throw new AppError(
          'unknown_request',
          'no request with this req_id between this node and the sender',
        );
      }
      // An erased request has ended on both sides; its content is not taken in again.
      const request = await getRequest(deps.pool, p.req_id);
      if (request?.erasure)
        throw new AppError('invalid_state', 'the request has ended and was erased on this node');
      // A response must fit the request it answers (its type's records, its items), as at the
      // sender's API: a partner system that skips those checks is refused here.
      if (p.kind === 'response') {
        if (request) {
          const earlier = (await responsesOf(deps.pool, p.req_id)).map((r) => r.body);
          checkResponseBody(request.type, request.subject, p.body, earlier);
          // Records only the requesting authority may see came through a mediator readable.
          if (!sealed && (await requestPartnerAndMediator(deps.pool, p.req_id))?.via) {
            const beyond = beyondScopeThroughMediator(request.type, p.body);
            if (beyond.length)
              throw new AppError(
                'consent_scope',
                'records beyond their consent scope came through the mediator unsealed',
                beyond,
              );
          }
        }
      }
    },

    async accept(m: StoredMessage) {
      const p = m.payload;
      if (p.kind === 'receipt') return;
      // Not before its attachments are here: held (stored, receipted, undispatched), not refused.
      await holdForAttachments(deps.pool, m);
      const workflowId = requestWorkflowId(p.req_id);
      if (p.kind === 'request') {
        const record: RequestRecord = {
          reqId: p.req_id,
          workflowId,
          direction: 'incoming',
          type: p.body.request_type,
          requester: p.iss,
          responder: deps.partyId,
          priority: p.body.priority,
          subject: p.body.subject,
          createdBy: null,
          createdAt: m.receivedAt.toISOString(),
        };
        await handOver(deps.client, () =>
          startIncomingRequest(deps, record, {
            msgId: p.msg_id,
            digest: m.digest,
            receivedAt: m.receivedAt.toISOString(),
            sentAt: m.order?.sentAt ?? new Date((p.sent_at ?? p.iat) * 1000).toISOString(),
          }),
        );
        return;
      }
      if (p.kind === 'mediation') {
        const b = p.body;
        // A party's consent (or its withdrawal), at its mediator: kept (stored and receipted) for
        // the next pause to carry, or not to.
        if (b.action === 'consent' || b.action === 'withdraw_consent') return;
        await handOver(deps.client, () =>
          handMediatorNotice(deps.client, p.req_id, {
            msgId: p.msg_id,
            digest: m.digest,
            mediator: p.iss,
            receivedAt: m.receivedAt.toISOString(),
            action: b.action,
            ...(b.action === 'reminder'
              ? { deadline: b.deadline, ...(b.due_at ? { dueAt: b.due_at } : {}) }
              : b.action === 'pause'
                ? { pauseId: b.pause_id, at: b.from, consentedBy: b.consents.map(issuerOf) }
                : { pauseId: b.pause_id, at: b.to }),
          }),
        );
        return;
      }
      // A request's workflow that has ended (closed, declined, withdrawn) leaves the message
      // stored and receipted, in the evidence, with nothing left to act on it.
      await handOver(deps.client, () =>
        handMessage(deps.client, p.req_id, {
          msgId: p.msg_id,
          digest: m.digest,
          kind: p.kind,
          receivedAt: m.receivedAt.toISOString(),
          // The effective order as stored (a partner that predates seq/seen gets arrival order);
          // from a caller that did not read it, what the payload says.
          ...(m.order ?? orderInPayload(p)),
          body: p.body,
        }),
      );
    },
  };
}

/** How far ahead of its signing a mediator's pause may start or end (the protocol's clock skew). */
const NOTICE_SKEW_MS = 300_000;

/**
 * A mediator's notice (README, _Mediated exchange_) is taken from the mediator the registry names
 * for the request's partner, about a request this node holds; a resume, from the mediator whose
 * pause it ends (the route may have changed since). A pause or resume names instants no later
 * than its signing; a resume ends a pause this node holds, after its start. A pause carries both
 * parties' consents, checked alike at both (`checkConsents`). The rules read nothing the partner
 * may not hold alike, so both parties take or refuse the same notices.
 */
async function checkMediation(
  deps: InboundRouterDeps,
  p: Extract<Payload, { kind: 'mediation' }>,
): Promise<void> {
  const b = p.body;
  // At a mediator: a party's consent to a pause (or its withdrawal), about a request it relays for
  // that party.
  if (b.action === 'consent' || b.action === 'withdraw_consent') {
    if (!(await relaysRequestFor(deps.pool, p.req_id, p.iss)))
      throw new AppError(
        'unknown_request',
        'this node relays no request with this req_id from or to the sender',
      );
    return;
  }
  const known = await requestPartnerAndMediator(deps.pool, p.req_id);
  const pausedFrom =
    b.action === 'resume'
      ? await mediatorPauseFrom(deps.pool, p.req_id, p.iss, b.pause_id)
      : undefined;
  if (!known || (known.via !== p.iss && pausedFrom === undefined))
    throw new AppError(
      'unknown_request',
      'no request with this req_id that the sender mediates for this node',
    );
  const request = await getRequest(deps.pool, p.req_id);
  if (request?.erasure)
    throw new AppError('invalid_state', 'the request has ended and was erased on this node');
  if (b.action === 'reminder') return;
  const at = b.action === 'pause' ? b.from : b.to;
  if (Date.parse(at) > p.iat * 1000 + NOTICE_SKEW_MS)
    throw new AppError('schema_invalid', 'a pause cannot start or end after it was signed', [
      { path: `/body/${b.action === 'pause' ? 'from' : 'to'}`, message: 'must not be after iat' },
    ]);
  if (b.action === 'pause') {
    if ((await mediatorPauseFrom(deps.pool, p.req_id, p.iss, b.pause_id)) !== undefined)
      throw new AppError('conflict', 'a pause with this pause_id is already stored');
    await checkConsents(deps, p, b, known.partner);
    return;
  }
  if (pausedFrom === undefined)
    throw new AppError('invalid_state', 'no pause with this pause_id from the sender');
  if (Date.parse(b.to) < Date.parse(pausedFrom))
    throw new AppError('schema_invalid', 'a resume cannot end a pause before it began', [
      { path: '/body/to', message: 'must not be before the pause’s from' },
    ]);
}

/** The claims of a compact JWS, read without trust (checked by `checkConsents`). */
function claimsOf(token: string): { iss: string; iat: number } {
  const iat = unverifiedClaims(token)?.iat;
  return { iss: claimedString(token, 'iss') ?? '', iat: typeof iat === 'number' ? iat : 0 };
}

/** The members of a consent the checks read. */
interface ConsentClaims {
  kind: string;
  body?: { action?: unknown };
  iss: string;
  aud: string;
  req_id?: string;
  iat: number;
}

/** The issuer a compact JWS claims, read without trust. */
const issuerOf = (token: string): string => claimsOf(token).iss;

/**
 * A mediator's pause stops this node's clocks only with both parties' word. Each of the two
 * consents it carries is checked by the same rules, the partner's and this node's own alike:
 * - signed by its party: the partner's with a key the registry holds for it, valid when it signed
 *   (a key revoked or rotated later does not undo it); this node's own, one it signed and kept;
 * - a `mediation` consent about this request, addressed to the pause's mediator, signed before the
 *   pause (within the skew), and the pause begins no earlier than both consents (within the skew):
 *   M cannot stop the clocks, or give back time, from before both parties agreed;
 * - newer than every consent of its party that an earlier pause carried: one consent serves one
 *   pause, and an older one given twice (a double click) is spent with the newer.
 * A partner's key this node does not know yet answers `unknown_key`, which the mediator retries.
 */
async function checkConsents(
  deps: InboundRouterDeps,
  pause: Extract<Payload, { kind: 'mediation' }>,
  body: { from: string; consents: readonly string[] },
  partner: string,
): Promise<void> {
  const refuse = (why: string) => new AppError('pause_consent', why);
  const byIssuer = new Map(body.consents.map((t) => [issuerOf(t), t]));
  const own = byIssuer.get(deps.partyId);
  const theirs = byIssuer.get(partner);
  if (!own || !theirs) throw refuse('a pause must carry this node’s consent and its partner’s');
  if (!(await gaveConsent(deps.pool, pause.req_id, digestOfInput(own))))
    throw refuse('the pause carries a consent of this node that this node never gave');
  let partnerPayload: ConsentClaims;
  try {
    partnerPayload = (
      await verifyAsSigned(theirs, {
        registry: deps.registry,
        self: pause.iss,
        // Keys are judged when the consent was signed, as evidence is.
        now: new Date(claimsOf(theirs).iat * 1000),
        mode: 'import',
      })
    ).payload as ConsentClaims;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    if (err.code === 'unknown_key') throw err;
    throw refuse(`the partner’s consent does not verify (${err.code})`);
  }
  // This node's own consent, as it signed it (its digest is one this node kept).
  const ownPayload = storedPayloadOf<ConsentClaims>(own);
  const used = await consentsInPauses(deps.pool, pause.req_id);
  const spentUntil = (party: string) =>
    Math.max(
      0,
      ...used
        .map(claimsOf)
        .filter((c) => c.iss === party)
        .map((c) => c.iat),
    );
  for (const [party, c] of [
    [deps.partyId, ownPayload],
    [partner, partnerPayload],
  ] as const) {
    const fits =
      c.kind === 'mediation' &&
      c.body?.action === 'consent' &&
      c.iss === party &&
      c.aud === pause.iss &&
      c.req_id === pause.req_id &&
      c.iat * 1000 <= pause.iat * 1000 + NOTICE_SKEW_MS &&
      // Not a second before the consent: M starts a pause no earlier than the consents it holds.
      Date.parse(body.from) >= c.iat * 1000;
    if (!fits)
      throw refuse(
        `the consent of ${party} is not a consent to this mediator about this request, given before the pause and no later than it began`,
      );
    // Spent: carried by an earlier pause, or older than one that was (a double click's first).
    const token = party === deps.partyId ? own : theirs;
    if (used.includes(token) || c.iat < spentUntil(party))
      throw refuse(`the consent of ${party} is not newer than one an earlier pause carried`);
  }
}

/**
 * Hands on, in arrival order, stored messages whose hand-over failed (Temporal or Postgres was
 * away) or that wait for attachments. After a failure, the request's later messages wait for the
 * next pass, so a workflow never gets them ahead of an earlier one.
 */
export async function redispatch(pool: pg.Pool, sink: InboundSink): Promise<number> {
  const rows = await undispatchedMessages(pool);
  const blocked = new Set<string>();
  let done = 0;
  let failedInARow = 0;
  for (const row of rows) {
    if (row.req_id !== null && blocked.has(row.req_id)) continue;
    try {
      await sink.accept(storedMessageOf(row));
    } catch (err) {
      if (row.req_id !== null) blocked.add(row.req_id);
      // Held for attachments is normal; several real failures in a row mean Temporal (or
      // Postgres) is still away: the rest waits for the next pass rather than each time out.
      if (!(err instanceof AttachmentsPending) && ++failedInARow >= MAX_FAILURES_PER_PASS) break;
      continue; // stays undispatched; tried again at the next pass
    }
    failedInARow = 0;
    await markDispatched(pool, row.digest);
    done += 1;
  }
  return done;
}

/** Failed hand-overs in a row after which a pass gives up until the next. */
const MAX_FAILURES_PER_PASS = 3;

/** How often the relay looks for stored messages not yet handed to their workflows. */
export const RELAY_INTERVAL_MS = 2000;

export interface Relay {
  /** One pass now (unless another replica is running one); how many messages it handed on. */
  pass(): Promise<number>;
  /** Stops the loop; resolves when the pass under way (if any) has finished. */
  stop(): Promise<void>;
}

/**
 * Keeps handing undispatched stored messages to their workflows, every `intervalMs`, so a message
 * receipted while Temporal (or Postgres, after storing) was away reaches its workflow once they are
 * back, without a restart. One replica at a time runs a pass (the relay's advisory lock); passes
 * never overlap in one process either.
 */
export function startRelay(o: {
  pool: pg.Pool;
  sink: InboundSink;
  log: Logger;
  intervalMs?: number;
}): Relay {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<number> = Promise.resolve(0);
  const once = async (): Promise<number> => {
    try {
      const ran = await withRelayLock(o.pool, () => redispatch(o.pool, o.sink));
      const done = ran.held ? ran.value : 0;
      if (done) o.log.info({ redispatched: done }, 'stored messages handed to their workflows');
      return done;
    } catch (err) {
      o.log.warn({ errName: (err as Error).name }, 'relay pass failed; trying again');
      return 0;
    }
  };
  const pass = (): Promise<number> => {
    current = current.then(once);
    return current;
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      void pass().then(schedule);
    }, o.intervalMs ?? RELAY_INTERVAL_MS);
    timer.unref();
  };
  schedule();
  return {
    pass,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
