// One request, as one side sees it: holds both sides' messages of the conversation, folds them with
// the convergence rule (conversation.ts) into the state both nodes show, records what changed, sends
// this side's messages in order and keeps the deadlines on Temporal timers.
// Deterministic orchestration only: no I/O, no Node modules, no clock but the workflow's own; the
// decisions are pure functions (conversation.ts, timekeeping.ts); every side effect is an activity.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  continueAsNew,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type {
  DeadlineSnapshot,
  ProjectedEvent,
  RequestRecord,
} from '../schemas/workflow-contract.js';
import type { DeadlinePolicy } from '../schemas/policy.js';
import { ACTIONS, refusal, type Side } from './actions.js';
import {
  changedVerdicts,
  contiguous,
  factsOf,
  settle,
  type ConvMessage,
  type ConversationState,
  type Outcome,
  type Settled,
} from './conversation.js';
import {
  computeDeadline,
  escalationLevel,
  findRule,
  type DeadlineExplanation,
  type DeadlineKind,
  type Pause,
} from './deadlines.js';
import { deliveryActivity } from './deliver-message.js';
import { workflowUlid } from './ids.js';
import { isTerminal } from './lifecycle.js';
import {
  act,
  awaitRecorded,
  getRequestState,
  mediatorNoticeReceived,
  messageReceived,
  receiptArrived,
  type ActInput,
  type InboundMessage,
  type MediatorNotice,
  type RequestWorkflowState,
} from './messages.js';
import { runRequestV1 } from './request-lifecycle-v1.js';
import {
  ParleyOverdue,
  ParleyPartnerRefusal,
  ParleyResponseDue,
  ParleyStatus,
} from './search-attributes.js';
import { dueTimekeeping, type TimekeepingMemory } from './timekeeping.js';

/** One of this side's messages and what became of its delivery. */
export interface OwnMessage {
  conv: ConvMessage;
  /** pending until the partner's receipt; refused by the partner; dropped behind a refused one. */
  delivery: 'pending' | 'delivered' | 'refused' | 'dropped';
  /** From the partner's receipt: how many of its messages it had signed by then. */
  partnerSent: number | null;
  code?: string;
}

/** What a continued run carries over from the run before it. */
export interface CarriedState {
  own: OwnMessage[];
  partner: ConvMessage[];
  recorded: [string, string][];
  seq: number;
  memory: TimekeepingMemory;
  refusal: { msgId: string; code: string } | null;
  /**
   * The mediator's pauses of both clocks, by pause id; the digests of its notices taken; its
   * notices signalled and not yet taken; resumes that came before their pause.
   */
  mediator?: {
    pauses: [string, Pause][];
    taken: string[];
    waiting?: MediatorNotice[];
    early?: [string, string][];
  };
  /** The verdict (on time or not) each step's timeline event said last, by msg_id. */
  verdicts?: [string, boolean][];
}

export interface RequestWorkflowInput {
  record: RequestRecord;
  policy: DeadlinePolicy;
  policyDigest: string;
  /** Longest wait between delivery attempts to an unreachable partner, e.g. '5 minutes'. */
  maxRetryInterval: string;
  /** Responder side: the request message as this node received and receipted it. */
  received?: {
    msgId: string;
    digest: string;
    receivedAt: string;
    sentAt?: string;
  };
  /** Continue as new once the history holds this many events (a size is data, like durations). */
  continueAsNewAfterEvents?: number;
  /** Set by continue-as-new: the conversation so far. */
  carried?: CarriedState;
}

const DEFAULT_CONTINUE_AS_NEW_AFTER = 5_000;

/** The read model and the outbox: short database writes. */
const STORE_OPTIONS = {
  startToCloseTimeout: '30 seconds',
  // The read model and the outbox catch up whatever the outage; data that can never be stored
  // fails as non-retryable (see activities/index.ts) instead of retrying for ever.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
} as const;

/** As activities of their own (a task round trip through Temporal each): histories before 2026-12. */
const storeActivities = proxyActivities<Activities>(STORE_OPTIONS);
/**
 * As local activities: run by the worker inside the workflow task that asks for them, their
 * results recorded with it, so a request's first task records, signs and stores the request in
 * one go. They are short, idempotent database writes; retries past a minute wait on timers.
 */
const storeLocalActivities = proxyLocalActivities<Activities>(STORE_OPTIONS);

const DEADLINES: readonly DeadlineKind[] = ['acknowledgement', 'response'];

/** Whether an activity failed because its data can never be stored (see activities/index.ts). */
function isUnstorable(err: ActivityFailure): boolean {
  return err.cause instanceof ApplicationFailure && err.cause.type === 'unstorable';
}

/** Whether a step that answered a deadline counts as in time, and from when (timeline detail). */
function timing(o: Outcome | undefined): { onTime?: boolean; countsAt?: string } {
  return o?.applied && o.onTime !== null && o.countsAt !== null
    ? { onTime: o.onTime, countsAt: o.countsAt }
    : {};
}

/** A short, stable description of an outcome, to notice when it changes. */
function outcomeKey(o: Outcome): string {
  return o.applied ? `applied:${o.action ?? ''}` : `not_applied:${o.crossedWith ?? ''}`;
}

export async function runRequest(
  side: Side,
  input: RequestWorkflowInput,
): Promise<RequestWorkflowState> {
  if (!input.carried && !patched('conversation-order')) return runRequestV1(side, input);
  const { record, policy } = input;
  const { projectRequest, enqueueInOrder, abandonMessages } = patched('local-store-activities')
    ? storeLocalActivities
    : storeActivities;
  const partner = side === 'requester' ? record.responder : record.requester;
  const partnerSide: Side = side === 'requester' ? 'responder' : 'requester';
  const rule = findRule(policy, record.type, record.priority);
  const deliverMessage = deliveryActivity(input.maxRetryInterval);
  const { notifyWebhooks } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: '1 day',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: input.maxRetryInterval,
      nonRetryableErrorTypes: ['unknown_notification'],
    },
  });
  const notices: Promise<unknown>[] = [];
  const carried = input.carried;

  // The conversation as this node holds it.
  const own: OwnMessage[] = carried?.own ?? [];
  const partnerBySeq = new Map<number, ConvMessage>(
    (carried?.partner ?? []).map((m) => [m.seq, m]),
  );
  const seenDigests = new Set<string>([...partnerBySeq.values()].map((m) => m.digest));
  // What the timeline already says about each message (by msg_id).
  const recordedOutcomes = new Map<string, string>(carried?.recorded ?? []);
  const verdicts = new Map<string, boolean>(carried?.verdicts ?? []);
  /** A step's timing for its timeline event, remembered as the verdict said. */
  const said = (msgId: string, o: Outcome | undefined) => {
    const t = timing(o);
    if (t.onTime !== undefined) verdicts.set(msgId, t.onTime);
    return t;
  };
  const memory: TimekeepingMemory = carried?.memory ?? { reminders: [], escalated: {} };
  let partnerRefusal = carried?.refusal ?? null;
  let seq = carried?.seq ?? 0;
  let recorded = carried !== undefined;
  let overdue = false;
  let level = 0;
  let poke = false;
  /** Our messages whose receipt the partner's file brought (see `deliverOrWake`). */
  const receiptsArrived = new Set<string>();
  /** The mediator's pauses of both clocks (by pause id) and its notices, taken and waiting. */
  const mediatorPauses = new Map<string, Pause>(carried?.mediator?.pauses ?? []);
  const noticesTaken = new Set<string>(carried?.mediator?.taken ?? []);
  const noticesWaiting: MediatorNotice[] = [...(carried?.mediator?.waiting ?? [])];
  /** Resumes whose pause had not come yet (a hand-over may overtake another): pause id, end. */
  const earlyResumes = new Map<string, string>(carried?.mediator?.early ?? []);

  if (side === 'responder' && input.received && !carried) {
    const r = input.received;
    partnerBySeq.set(1, {
      from: 'requester',
      seq: 1,
      seen: 0,
      msgId: r.msgId,
      digest: r.digest,
      kind: 'request',
      sentAt: r.sentAt ?? r.receivedAt,
      receivedAt: r.receivedAt,
      facts: {},
    });
    seenDigests.add(r.digest);
  }

  const nowIso = () => new Date().toISOString();
  const activeOwn = () =>
    own.filter((m) => m.delivery !== 'refused' && m.delivery !== 'dropped').map((m) => m.conv);
  const partnerPrefix = () => contiguous(partnerBySeq);

  function deadlineOf(
    kind: DeadlineKind,
    s: ConversationState,
    asOf?: string,
  ): DeadlineExplanation | null {
    if (!s.receiptAt) return null;
    return computeDeadline({
      deadline: kind,
      policy,
      requestType: record.type,
      priority: record.priority,
      responder: record.responder,
      receiptAt: s.receiptAt,
      pauses: s.pauses,
      extension: s.extension,
      ...(mediatorPauses.size ? { mediatorPauses: [...mediatorPauses.values()] } : {}),
      now: asOf ?? nowIso(),
    });
  }

  function fold(): Settled {
    const mine = activeOwn();
    const theirs = partnerPrefix();
    const [requester, responder] = side === 'requester' ? [mine, theirs] : [theirs, mine];
    return settle(
      side,
      requester,
      responder,
      (kind, s, asOf) => deadlineOf(kind, s, asOf)?.dueAt ?? null,
    );
  }

  let current = fold();
  const status = () => current.state.lifecycle.status;

  /** Whether a deadline still binds: the acknowledgement until any answer, the response until the end. */
  function binding(kind: DeadlineKind): boolean {
    return current.state.answered[kind] === null && !isTerminal(status());
  }

  function refreshOverdue(): void {
    const now = nowIso();
    let late = false;
    let worst = 0;
    for (const kind of DEADLINES) {
      const d = deadlineOf(kind, current.state);
      if (!d || !binding(kind) || d.clockStopped) continue;
      if (Date.parse(d.dueAt) <= Date.parse(now)) {
        late = true;
        // The level shown is the one escalated so far, so no read shows a level before its event.
        const reached = escalationLevel(d.dueAt, rule.escalation_after_seconds, now);
        worst = Math.max(worst, Math.min(reached, memory.escalated[kind] ?? 0));
      }
    }
    if (late !== overdue) upsertSearchAttributes([{ key: ParleyOverdue, value: late }]);
    overdue = late;
    level = late ? worst : 0;
  }

  function deadlineSnapshot(): DeadlineSnapshot {
    const ack = deadlineOf('acknowledgement', current.state);
    const resp = deadlineOf('response', current.state);
    return {
      receiptAt: current.state.receiptAt,
      ackDueAt: ack?.dueAt ?? null,
      responseDueAt: resp?.dueAt ?? null,
      escalationLevel: level,
      policyDigest: input.policyDigest,
      explanations: { acknowledgement: ack, response: resp },
    };
  }

  const snapshot = (): RequestWorkflowState => ({
    reqId: record.reqId,
    status: status(),
    overdue,
    escalationLevel: level,
    recorded,
    seq,
    lifecycle: current.state.lifecycle,
    receiptAt: current.state.receiptAt,
    deadlines: {
      acknowledgement: deadlineOf('acknowledgement', current.state),
      response: deadlineOf('response', current.state),
    },
    undelivered: own.filter((m) => m.delivery === 'pending').map((m) => m.conv.msgId),
    partnerRefusal,
  });

  /** Records one timeline event (and the state it leaves) in the read model. */
  async function recordEvent(
    event: Omit<ProjectedEvent, 'seq' | 'at' | 'overdue' | 'deadlines' | 'status'> & {
      changesStatus?: boolean;
    },
  ) {
    refreshOverdue();
    seq += 1;
    const { changesStatus, ...rest } = event;
    const resp = deadlineOf('response', current.state);
    upsertSearchAttributes([
      { key: ParleyStatus, value: status() },
      ...(resp ? [{ key: ParleyResponseDue, value: new Date(resp.dueAt) }] : []),
    ]);
    const eventSeq = seq;
    const projected = {
      seq,
      at: nowIso(),
      status: changesStatus === false ? null : status(),
      overdue,
      deadlines: deadlineSnapshot(),
    };
    try {
      await projectRequest({ record, event: { ...rest, ...projected } });
    } catch (err) {
      // The event's data can never be stored: record that it happened, without its data, and
      // alert supervisors, rather than retrying for ever or leaving the read model behind.
      if (!(err instanceof ActivityFailure) || !isUnstorable(err)) throw err;
      await projectRequest({
        record,
        event: {
          ...projected,
          type: 'event_not_stored',
          actor: null,
          detail: { type: rest.type },
          notification: { kind: 'event_not_stored', level: 1, detail: { type: rest.type } },
        },
      });
      notices.push(notifyWebhooks({ reqId: record.reqId, seq: eventSeq }).catch(() => undefined));
      return;
    }
    if (rest.notification)
      notices.push(notifyWebhooks({ reqId: record.reqId, seq: eventSeq }).catch(() => undefined));
  }

  /**
   * Folds the conversation again and records, in canonical order, every message whose outcome is
   * new or changed: an action taking effect, or not (and why, and which message it crossed).
   */
  async function reconcile(actorOf: (m: ConvMessage) => string | null): Promise<void> {
    current = fold();
    for (const msg of current.order) {
      const outcome = current.outcomes.get(msg.msgId)!;
      const key = outcomeKey(outcome);
      const before = recordedOutcomes.get(msg.msgId);
      if (before === key) continue;
      recordedOutcomes.set(msg.msgId, key);
      const mine = msg.from === side;
      if (outcome.applied) {
        if (!outcome.action) {
          // The request itself and reminders: recorded where they happen (created, received,
          // delivered, reminder_received), not here.
          if (msg.kind === 'reminder' && !mine)
            await recordEvent({
              type: 'reminder_received',
              actor: partner,
              detail: { msgId: msg.msgId, digest: msg.digest },
              changesStatus: false,
            });
          continue;
        }
        // Our own actions were recorded when taken; a change back to applied is recorded too.
        if (mine && before === undefined) continue;
        await recordEvent({
          type: outcome.action,
          actor: mine ? actorOf(msg) : partner,
          detail: {
            kind: msg.kind,
            msgId: msg.msgId,
            digest: msg.digest,
            ...said(msg.msgId, outcome),
          },
        });
      } else {
        await recordEvent({
          type: mine ? 'action_not_applied' : 'message_not_applied',
          actor: mine ? actorOf(msg) : partner,
          detail: {
            kind: msg.kind,
            msgId: msg.msgId,
            digest: msg.digest,
            reason: outcome.reason,
            crossedWith: outcome.crossedWith,
          },
        });
      }
    }
  }
  const officers = new Map<string, string>();
  const actorOf = (m: ConvMessage) => officers.get(m.msgId) ?? null;

  function addPartnerMessage(m: ConvMessage): boolean {
    if (seenDigests.has(m.digest) || partnerBySeq.has(m.seq)) return false;
    seenDigests.add(m.digest);
    partnerBySeq.set(m.seq, m);
    return true;
  }

  /**
   * Signs and stores one of our messages in conversation order. If the partner's messages reached
   * this node meanwhile, they are folded in first and `null` is returned: the caller decides again.
   */
  async function send(
    kind: ConvMessage['kind'],
    body: Record<string, unknown>,
    inReplyTo?: { msgId: string; digest: string },
  ): Promise<ConvMessage | null> {
    const msgId = workflowUlid();
    const ownSeq = activeOwn().length + 1;
    const seen = partnerPrefix().length;
    const result = await enqueueInOrder({
      kind,
      aud: partner,
      req_id: record.reqId,
      msg_id: msgId,
      seq: ownSeq,
      seen,
      ...(inReplyTo ? { in_reply_to: { msg_id: inReplyTo.msgId, digest: inReplyTo.digest } } : {}),
      body,
    } as Parameters<typeof enqueueInOrder>[0]);
    if (result.status === 'behind') {
      for (const m of result.messages) addPartnerMessage(toConv(m));
      return null;
    }
    const conv: ConvMessage = {
      from: side,
      seq: ownSeq,
      seen,
      // The stored message's id: another than `msgId` when this step ran before in a workflow task
      // that timed out (its clock, hence its id, differed). Equal in every history recorded before
      // this line changed, so replays take the same path.
      msgId: result.msgId,
      digest: result.digest,
      kind,
      sentAt: result.sentAt,
      receivedAt: null,
      facts: factsOf(body),
    };
    own.push({ conv, delivery: 'pending', partnerSent: null });
    return conv;
  }

  function toConv(m: InboundMessage): ConvMessage {
    return {
      from: partnerSide,
      seq: m.seq ?? partnerBySeq.size + 1,
      seen: m.seen ?? 0,
      msgId: m.msgId,
      digest: m.digest,
      kind: m.kind,
      sentAt: m.sentAt ?? m.receivedAt,
      receivedAt: m.receivedAt,
      facts: m.facts ?? factsOf(m.body ?? {}),
    };
  }

  // One thing at a time: updates and the main loop take turns on the state.
  let turn: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = turn.then(fn);
    turn = run.catch(() => undefined);
    return run;
  };

  const refuseNow = (inputAct: ActInput) => {
    const refused = refusal(current.state.lifecycle, side, inputAct.action);
    if (refused) throw ApplicationFailure.nonRetryable(refused.message, refused.code);
  };

  setHandler(getRequestState, snapshot);
  setHandler(awaitRecorded, async () => {
    await condition(() => recorded);
    return snapshot();
  });
  setHandler(messageReceived, (msg) => {
    if (addPartnerMessage(toConv(msg))) poke = true;
  });
  setHandler(receiptArrived, ({ msgId }) => {
    receiptsArrived.add(msgId);
  });
  // A signal no history before 2026-12 holds: the handler adds no command to a recorded replay.
  setHandler(mediatorNoticeReceived, (notice) => {
    if (noticesTaken.has(notice.digest)) return;
    noticesTaken.add(notice.digest);
    noticesWaiting.push(notice);
    poke = true;
  });

  /**
   * Takes the mediator's notices in the order they came: a pause stops both clocks from the
   * instant the mediator signed (the partner takes the same notice, so both count alike), a resume
   * restarts them, a reminder tells supervisors. Each is a timeline event.
   */
  async function takeNotices(): Promise<void> {
    while (noticesWaiting.length) {
      const n = noticesWaiting.shift()!;
      const base = { msgId: n.msgId, digest: n.digest };
      if (n.action === 'reminder') {
        const detail = { ...base, deadline: n.deadline ?? null, due_at: n.dueAt ?? null };
        await recordEvent({
          type: 'mediator_reminder',
          actor: n.mediator,
          detail,
          changesStatus: false,
          notification: { kind: 'mediator_reminder', level: 0, detail },
        });
        continue;
      }
      if (!n.pauseId || !n.at) continue;
      if (n.action === 'pause') {
        if (mediatorPauses.has(n.pauseId)) continue;
        mediatorPauses.set(n.pauseId, { from: n.at, to: earlyResumes.get(n.pauseId) ?? null });
        earlyResumes.delete(n.pauseId);
      } else {
        const open = mediatorPauses.get(n.pauseId);
        if (!open) earlyResumes.set(n.pauseId, n.at);
        if (!open || open.to !== null) continue;
        open.to = n.at;
      }
      const prior = current;
      current = fold();
      await recordEvent({
        type: n.action === 'pause' ? 'clock_paused' : 'clock_resumed',
        actor: n.mediator,
        detail: {
          ...base,
          pauseId: n.pauseId,
          at: n.at,
          ...(n.consentedBy ? { consentedBy: n.consentedBy } : {}),
        },
        changesStatus: false,
        notification: {
          kind: n.action === 'pause' ? 'clock_paused' : 'clock_resumed',
          level: 0,
          detail: { pauseId: n.pauseId, at: n.at },
        },
      });
      // A step taken before this notice arrived was judged without it: its partner, which may have
      // held the notice first, counts it with it. Say the verdict that now holds.
      if (patched('verdict-corrections'))
        for (const v of changedVerdicts(verdicts, prior, current)) {
          verdicts.set(v.msgId, v.onTime);
          await recordEvent({
            type: 'deadline_verdict_changed',
            actor: n.mediator,
            detail: { ...v, pauseId: n.pauseId },
            changesStatus: false,
          });
        }
    }
  }
  setHandler(
    act,
    (inputAct) =>
      exclusive(async () => {
        for (;;) {
          // Decided on everything the partner sent that this node holds (see `send`).
          refuseNow(inputAct);
          const { kind } = ACTIONS[inputAct.action];
          const lc = current.state.lifecycle;
          const replyTo =
            inputAct.action === 'answer_clarification'
              ? lc.openClarification
              : inputAct.action === 'decide_extension'
                ? lc.pendingExtension
                : null;
          const sent = await send(kind, inputAct.body, replyTo ?? undefined);
          if (!sent) {
            await reconcile(actorOf);
            continue;
          }
          officers.set(sent.msgId, inputAct.actor);
          recordedOutcomes.set(sent.msgId, `applied:${inputAct.action}`);
          current = fold();
          await recordEvent({
            type: inputAct.action,
            actor: inputAct.actor,
            detail: {
              kind,
              msgId: sent.msgId,
              digest: sent.digest,
              ...said(sent.msgId, current.outcomes.get(sent.msgId)),
            },
          });
          // Folding again may settle earlier messages differently (it cannot, but say so if it did).
          await reconcile(actorOf);
          poke = true;
          return { status: status(), msgId: sent.msgId, digest: sent.digest };
        }
      }),
    { validator: refuseNow },
  );

  // The beginning: the requester records and sends the request; the responder records its arrival.
  if (!carried) {
    await exclusive(async () => {
      if (side === 'requester') {
        await recordEvent({
          type: 'created',
          actor: record.createdBy,
          detail: { policyDigest: input.policyDigest },
        });
        recorded = true;
        let sent: ConvMessage | null = null;
        while (!sent) {
          sent = await send('request', {
            request_type: record.type,
            priority: record.priority,
            subject: record.subject,
            policy_digest: input.policyDigest,
            ...(record.mediator !== undefined ? { mediator: record.mediator } : {}),
          });
        }
        recordedOutcomes.set(sent.msgId, 'applied:');
      } else {
        const first = partnerBySeq.get(1)!;
        recordedOutcomes.set(first.msgId, 'applied:');
        current = fold();
        await recordEvent({
          type: 'received',
          actor: partner,
          detail: { msgId: first.msgId, digest: first.digest },
        });
        recorded = true;
      }
    });
  }

  /** Marks our messages after a refused one as not sent: the partner would refuse them too. */
  function dropAfter(index: number): string[] {
    const dropped: string[] = [];
    for (const m of own.slice(index + 1)) {
      if (m.delivery !== 'pending') continue;
      m.delivery = 'dropped';
      dropped.push(m.conv.msgId);
    }
    return dropped;
  }

  /**
   * One message's delivery. An attempt waiting to retry (the partner away) stops when the
   * partner's receipt arrives another way (`receiptArrived`, from a store-and-forward file); a new
   * attempt then finds the receipt stored and returns it at once instead of after the backoff.
   */
  async function deliverOrWake(msgId: string) {
    if (!patched('receipt-wakeup')) return deliverMessage(msgId);
    let woken = false;
    const attempt = await CancellationScope.cancellable(async () => {
      const wake = condition(() => receiptsArrived.has(msgId)).then(() => {
        woken = true;
        CancellationScope.current().cancel();
      });
      try {
        return await deliverMessage(msgId);
      } catch (err) {
        if (woken && isCancellation(err)) return undefined;
        throw err;
      } finally {
        // Stops waiting for a receipt from a file once the attempt is over, whichever way.
        if (!woken) CancellationScope.current().cancel();
        await wake.catch(() => undefined);
      }
    });
    receiptsArrived.delete(msgId);
    return attempt ?? deliverMessage(msgId);
  }

  // Delivery, in order, for as long as it takes; the request's receipt starts the clocks.
  let finished = false;
  let delivering = false;
  const sender = (async () => {
    for (;;) {
      await condition(() => own.some((m) => m.delivery === 'pending') || finished);
      const index = own.findIndex((m) => m.delivery === 'pending');
      if (index < 0) return;
      const next = own[index]!;
      delivering = true;
      const outcome = await deliverOrWake(next.conv.msgId);
      delivering = false;
      await exclusive(async () => {
        if (outcome.status === 'rejected') {
          next.delivery = 'refused';
          next.code = outcome.code;
          partnerRefusal = { msgId: next.conv.msgId, code: outcome.code };
          upsertSearchAttributes([{ key: ParleyPartnerRefusal, value: outcome.code }]);
          const dropped = dropAfter(index);
          if (dropped.length)
            await abandonMessages({ msgIds: dropped, reason: `after_refused:${outcome.code}` });
          recordedOutcomes.delete(next.conv.msgId);
          current = fold();
          await recordEvent({
            type: 'message_refused_by_partner',
            actor: partner,
            detail: { msgId: next.conv.msgId, kind: next.conv.kind, code: outcome.code, dropped },
            notification: {
              kind: 'message_refused',
              level: 1,
              detail: { msgId: next.conv.msgId, kind: next.conv.kind, code: outcome.code },
            },
          });
          await reconcile(actorOf);
          return;
        }
        next.delivery = 'delivered';
        next.conv = { ...next.conv, receivedAt: outcome.receivedAt };
        next.partnerSent = outcome.partnerSent ?? null;
        const wasSubmitted = status() === 'submitted';
        current = fold();
        if (next.conv.kind === 'request') {
          await recordEvent({
            type: 'delivered',
            actor: partner,
            detail: {
              msgId: next.conv.msgId,
              receiptDigest: outcome.receiptDigest,
              receivedAt: outcome.receivedAt,
            },
            changesStatus: wasSubmitted,
          });
        } else {
          await recordEvent({
            type: 'message_delivered',
            actor: partner,
            detail: { msgId: next.conv.msgId, receivedAt: outcome.receivedAt },
            changesStatus: false,
          });
        }
        await reconcile(actorOf);
        poke = true;
      });
    }
  })();

  /** Reminders and escalations that are due now; returns when the next one falls. */
  async function keepTime(): Promise<number | undefined> {
    const deadlines = DEADLINES.flatMap((kind) => {
      const d = deadlineOf(kind, current.state);
      return d && binding(kind) && !d.clockStopped
        ? [{ kind, dueAt: d.dueAt, countsFrom: d.countsFrom }]
        : [];
    });
    const due = dueTimekeeping({
      deadlines,
      reminderOffsetsSeconds: rule.reminder_offsets_seconds,
      escalationAfterSeconds: rule.escalation_after_seconds,
      now: Date.now(),
      memory,
    });
    for (const r of due.reminders) {
      memory.reminders.push(r.key);
      const body = { deadline: r.kind, due_at: r.dueAt };
      if (side === 'requester') {
        let sent: ConvMessage | null = null;
        while (!sent) {
          sent = await send('reminder', body);
          if (!sent) await reconcile(actorOf);
        }
        recordedOutcomes.set(sent.msgId, 'applied:');
        await recordEvent({
          type: 'reminder_sent',
          actor: null,
          detail: { ...body, msgId: sent.msgId },
          changesStatus: false,
          notification: { kind: 'deadline_near', level: 0, detail: body },
        });
      } else {
        await recordEvent({
          type: 'reminder',
          actor: null,
          detail: body,
          changesStatus: false,
          notification: { kind: 'deadline_near', level: 0, detail: body },
        });
      }
    }
    for (const e of due.escalations) {
      memory.escalated[e.kind] = e.level;
      const detail = { deadline: e.kind, level: e.level, due_at: e.dueAt };
      await recordEvent({
        type: 'escalated',
        actor: null,
        detail,
        changesStatus: false,
        notification: { kind: 'escalation', level: e.level, detail },
      });
    }
    return due.nextWakeAt;
  }

  /**
   * Whether nothing can change any more: the request has ended, every message of ours is settled,
   * and every message the partner had signed before receipting ours is here (its receipts say how
   * many): no message that crossed ours is still on its way.
   */
  function settledForGood(): boolean {
    if (!isTerminal(status()) || noticesWaiting.length) return false;
    if (own.some((m) => m.delivery === 'pending')) return false;
    const promised = Math.max(0, ...own.map((m) => m.partnerSent ?? 0));
    return partnerPrefix().length >= promised && partnerBySeq.size === partnerPrefix().length;
  }

  const limit = input.continueAsNewAfterEvents ?? DEFAULT_CONTINUE_AS_NEW_AFTER;

  // The main loop: the partner's messages, then the clock, until nothing can change any more.
  for (;;) {
    poke = false;
    const wakeAt = await exclusive(async () => {
      // Guarded: a history recorded by a worker without the handler (a signal it only buffered)
      // replays without the events taking it would record; they are recorded from then on.
      if (noticesWaiting.length && patched('mediator-notices')) await takeNotices();
      await reconcile(actorOf);
      return keepTime();
    });
    if (settledForGood()) break;
    if (
      !delivering &&
      (workflowInfo().historyLength >= limit || workflowInfo().continueAsNewSuggested)
    ) {
      await condition(allHandlersFinished);
      await Promise.all(notices);
      // Read after the notifications settled: what came meanwhile goes on with the new run.
      const next: RequestWorkflowInput = {
        ...input,
        received: undefined,
        carried: {
          own,
          partner: [...partnerBySeq.values()],
          recorded: [...recordedOutcomes.entries()],
          seq,
          memory,
          refusal: partnerRefusal,
          ...(verdicts.size ? { verdicts: [...verdicts.entries()] } : {}),
          ...(mediatorPauses.size || noticesTaken.size
            ? {
                mediator: {
                  pauses: [...mediatorPauses.entries()],
                  taken: [...noticesTaken],
                  waiting: [...noticesWaiting],
                  early: [...earlyResumes.entries()],
                },
              }
            : {}),
        },
      };
      return continueAsNew<(i: RequestWorkflowInput) => Promise<RequestWorkflowState>>(next);
    }
    const wait = () => poke;
    if (wakeAt === undefined) await condition(wait);
    else await condition(wait, Math.max(1, wakeAt - Date.now()));
  }

  finished = true;
  await sender;
  await Promise.all(notices);
  await condition(allHandlersFinished);
  return snapshot();
}
