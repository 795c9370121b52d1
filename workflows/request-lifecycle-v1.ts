// Version 1 of the request lifecycle, kept so that histories recorded before the convergence rule
// (patch `conversation-order`) replay unchanged. New requests run request-lifecycle.ts.
// One request, as one side sees it: records every event, sends this side's messages in order,
// applies the partner's, and keeps the deadlines (reminders, overdue, escalation) on Temporal
// timers. Shared by the requester's and the responder's workflow types.
// Deterministic orchestration only: no I/O, no Node modules, no clock but the workflow's own;
// every side effect (signing, delivery, Postgres) is an activity.
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type {
  DeadlineSnapshot,
  ProjectedEvent,
  RequestRecord,
} from '../schemas/workflow-contract.js';
import type { MessageKind } from '../schemas/envelope.js';
import type { DeadlinePolicy } from '../schemas/policy.js';
import { ACTIONS, apply, refusal, type Action, type LifecycleState, type Side } from './actions.js';
import {
  computeDeadline,
  escalationLevel,
  findRule,
  nextEscalationAt,
  type DeadlineExplanation,
  type DeadlineKind,
  type GrantedExtension,
  type Pause,
} from './deadlines.js';
import { deliveryActivity } from './deliver-message.js';
import { workflowUlid } from './ids.js';
import { isTerminal } from './lifecycle.js';
import {
  act,
  awaitRecorded,
  getRequestState,
  messageReceived,
  type ActInput,
  type InboundMessage,
  type RequestWorkflowState,
} from './messages.js';
import { ParleyOverdue, ParleyResponseDue, ParleyStatus } from './search-attributes.js';

export interface RequestWorkflowInputV1 {
  record: RequestRecord;
  policy: DeadlinePolicy;
  policyDigest: string;
  /** Longest wait between delivery attempts to an unreachable partner, e.g. '5 minutes'. */
  maxRetryInterval: string;
  /** Responder side: the request message as this node received and receipted it. */
  received?: { msgId: string; digest: string; receivedAt: string };
}

const { projectRequest, enqueueMessage } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // The read model and the outbox must catch up whatever the outage: retry without a limit.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The partner's message kinds, as the action they stand for. */
function actionOf(msg: InboundMessage): Action | undefined {
  switch (msg.kind) {
    case 'acknowledgement':
      return 'acknowledge';
    case 'response':
      return (msg.body ?? {}).final === true ? 'respond_final' : 'respond_partial';
    case 'clarification_request':
      return 'ask_clarification';
    case 'clarification':
      return 'answer_clarification';
    case 'extension_request':
      return 'request_extension';
    case 'extension_decision':
      return 'decide_extension';
    case 'decline':
      return 'decline';
    case 'withdrawal':
      return 'withdraw';
    case 'closure':
      return (msg.body ?? {}).outcome === 'accepted' ? 'close_accepted' : 'close_incomplete';
    default:
      return undefined;
  }
}

const DEADLINES: readonly DeadlineKind[] = ['acknowledgement', 'response'];

export async function runRequestV1(
  side: Side,
  input: RequestWorkflowInputV1,
): Promise<RequestWorkflowState> {
  const { record, policy } = input;
  const partner = side === 'requester' ? record.responder : record.requester;
  const partnerSide: Side = side === 'requester' ? 'responder' : 'requester';
  const rule = findRule(policy, record.type, record.priority);
  const deliverMessage = deliveryActivity(input.maxRetryInterval);
  // Supervisor notifications go to webhooks beside the request, never holding it up: retried with
  // backoff for a day at most, and awaited only before the workflow ends.
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

  let lifecycle: LifecycleState = {
    status: side === 'requester' ? 'submitted' : 'delivered',
    openClarification: null,
    pendingExtension: null,
  };
  let receiptAt: string | null = input.received?.receivedAt ?? null;
  const pauses: Pause[] = [];
  let extension: GrantedExtension | null = null;
  let overdue = false;
  let level = 0;
  let seq = 0;
  let recorded = false;
  let requestMsgId: string | null = null;
  const inbound: InboundMessage[] = [];
  const seen = new Set<string>();
  const outgoing: string[] = [];
  const outgoingKinds = new Map<string, MessageKind>();
  const remindersDone = new Set<string>();
  const escalated: Record<DeadlineKind, number> = { acknowledgement: 0, response: 0 };
  let poke = false;

  // One thing at a time: updates and the main loop take turns on the state.
  let turn: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = turn.then(fn);
    turn = run.catch(() => undefined);
    return run;
  };

  const nowIso = () => new Date().toISOString();

  function deadline(kind: DeadlineKind): DeadlineExplanation | null {
    if (!receiptAt) return null;
    return computeDeadline({
      deadline: kind,
      policy,
      requestType: record.type,
      priority: record.priority,
      responder: record.responder,
      receiptAt,
      pauses,
      extension,
      now: nowIso(),
    });
  }

  /** Whether a deadline still binds: the acknowledgement until any answer, the response until the end. */
  function binding(kind: DeadlineKind): boolean {
    const s = lifecycle.status;
    return kind === 'acknowledgement'
      ? s === 'delivered'
      : s === 'delivered' || s === 'acknowledged' || s === 'partially_answered';
  }

  function refreshOverdue(): void {
    const now = Date.now();
    let late = false;
    let worst = 0;
    for (const kind of DEADLINES) {
      const d = deadline(kind);
      if (!d || !binding(kind) || d.clockStopped) continue;
      if (Date.parse(d.dueAt) <= now) {
        late = true;
        worst = Math.max(worst, escalationLevel(d.dueAt, rule.escalation_after_seconds, nowIso()));
      }
    }
    if (late !== overdue) upsertSearchAttributes([{ key: ParleyOverdue, value: late }]);
    overdue = late;
    level = late ? worst : 0;
  }

  function deadlineSnapshot(): DeadlineSnapshot {
    const ack = deadline('acknowledgement');
    const resp = deadline('response');
    return {
      receiptAt,
      ackDueAt: ack?.dueAt ?? null,
      responseDueAt: resp?.dueAt ?? null,
      escalationLevel: level,
      policyDigest: input.policyDigest,
      explanations: { acknowledgement: ack, response: resp },
    };
  }

  const snapshot = (): RequestWorkflowState => ({
    reqId: record.reqId,
    status: lifecycle.status,
    overdue,
    escalationLevel: level,
    recorded,
    seq,
    lifecycle,
    receiptAt,
    deadlines: { acknowledgement: deadline('acknowledgement'), response: deadline('response') },
    undelivered: [...outgoing],
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
    upsertSearchAttributes([
      { key: ParleyStatus, value: lifecycle.status },
      ...(deadline('response')
        ? [{ key: ParleyResponseDue, value: new Date(deadline('response')!.dueAt) }]
        : []),
    ]);
    const eventSeq = seq;
    await projectRequest({
      record,
      event: {
        ...rest,
        seq,
        at: nowIso(),
        status: changesStatus === false ? null : lifecycle.status,
        overdue,
        deadlines: deadlineSnapshot(),
      },
    });
    if (rest.notification && patched('webhook-notifications'))
      notices.push(notifyWebhooks({ reqId: record.reqId, seq: eventSeq }).catch(() => undefined));
  }

  /**
   * A clarification stops the response clock from the moment the requester received the question
   * until the moment the responder received the answer: both signed receipt times, so both sides
   * compute the same pause. Inbound messages carry our receipt time; our own messages get theirs
   * when delivered.
   */
  function pauseEffects(kind: MessageKind, receivedAt: string): void {
    if (!rule.clarification_stops_clock) return;
    if (kind === 'clarification_request') pauses.push({ from: receivedAt, to: null });
    if (kind === 'clarification') {
      const open = pauses.find((p) => p.to === null);
      if (open) open.to = receivedAt;
    }
  }

  /** A granted extension moves the response deadline to the date granted (or the one proposed). */
  function applyExtension(action: Action, at: string, body: Record<string, unknown>): void {
    if (action !== 'decide_extension' || body.granted !== true) return;
    const proposed = lifecycle.pendingExtension?.proposedDeadline;
    const newDeadline = typeof body.new_deadline === 'string' ? body.new_deadline : proposed;
    if (newDeadline) extension = { grantedAt: at, newDeadline };
  }

  /** Signs and stores one of our messages, then queues it for delivery in order. */
  async function send(
    kind: MessageKind,
    body: Record<string, unknown>,
    inReplyTo?: { msgId: string; digest: string },
  ) {
    const msgId = workflowUlid();
    const stored = await enqueueMessage({
      kind,
      aud: partner,
      req_id: record.reqId,
      msg_id: msgId,
      ...(inReplyTo ? { in_reply_to: { msg_id: inReplyTo.msgId, digest: inReplyTo.digest } } : {}),
      body,
    } as Parameters<typeof enqueueMessage>[0]);
    outgoing.push(msgId);
    outgoingKinds.set(msgId, kind);
    return stored;
  }

  setHandler(getRequestState, snapshot);
  setHandler(awaitRecorded, async () => {
    await condition(() => recorded);
    return snapshot();
  });
  setHandler(messageReceived, (msg) => {
    if (seen.has(msg.digest)) return; // handed over twice: once is enough
    seen.add(msg.digest);
    inbound.push(msg);
  });
  setHandler(
    act,
    (inputAct) =>
      exclusive(async () => {
        const refused = refusal(lifecycle, side, inputAct.action);
        if (refused) throw ApplicationFailure.nonRetryable(refused.message, refused.code);
        const { kind } = ACTIONS[inputAct.action];
        const replyTo =
          inputAct.action === 'answer_clarification'
            ? lifecycle.openClarification
            : inputAct.action === 'decide_extension'
              ? lifecycle.pendingExtension
              : null;
        const at = nowIso();
        const stored = await send(kind, inputAct.body, replyTo ?? undefined);
        applyExtension(inputAct.action, at, inputAct.body);
        lifecycle = apply(lifecycle, inputAct.action, {
          ...stored,
          at,
          ...(typeof inputAct.body.proposed_deadline === 'string'
            ? { proposedDeadline: inputAct.body.proposed_deadline }
            : {}),
        });
        await recordEvent({
          type: inputAct.action,
          actor: inputAct.actor,
          detail: { kind, msgId: stored.msgId, digest: stored.digest },
        });
        poke = true;
        return { status: lifecycle.status, msgId: stored.msgId, digest: stored.digest };
      }),
    {
      validator: (inputAct: ActInput) => {
        const refused = refusal(lifecycle, side, inputAct.action);
        if (refused) throw ApplicationFailure.nonRetryable(refused.message, refused.code);
      },
    },
  );

  // The beginning: the requester records and sends the request; the responder records its arrival.
  await exclusive(async () => {
    if (side === 'requester') {
      await recordEvent({
        type: 'created',
        actor: record.createdBy,
        detail: { policyDigest: input.policyDigest },
      });
      recorded = true;
      const stored = await send('request', {
        request_type: record.type,
        priority: record.priority,
        subject: record.subject,
        policy_digest: input.policyDigest,
      });
      requestMsgId = stored.msgId;
    } else {
      await recordEvent({
        type: 'received',
        actor: partner,
        detail: { msgId: input.received?.msgId, digest: input.received?.digest },
      });
      recorded = true;
    }
  });

  // Delivery, in order, for as long as it takes; the request's receipt starts the clocks.
  let finished = false;
  const sender = (async () => {
    for (;;) {
      await condition(() => outgoing.length > 0 || finished);
      if (outgoing.length === 0) return;
      const msgId = outgoing[0]!;
      const outcome = await deliverMessage(msgId);
      await exclusive(async () => {
        outgoing.shift();
        if (outcome.status === 'rejected') {
          outgoingKinds.delete(msgId);
          await recordEvent({
            type: 'message_refused_by_partner',
            actor: partner,
            detail: { msgId, code: outcome.code },
            changesStatus: false,
          });
          return;
        }
        if (msgId === requestMsgId) {
          receiptAt = outcome.receivedAt;
          if (lifecycle.status === 'submitted') lifecycle = { ...lifecycle, status: 'delivered' };
          await recordEvent({
            type: 'delivered',
            actor: partner,
            detail: { msgId, receiptDigest: outcome.receiptDigest, receivedAt: outcome.receivedAt },
          });
        } else {
          pauseEffects(outgoingKinds.get(msgId) ?? 'reminder', outcome.receivedAt);
          outgoingKinds.delete(msgId);
          await recordEvent({
            type: 'message_delivered',
            actor: partner,
            detail: { msgId, receivedAt: outcome.receivedAt },
            changesStatus: false,
          });
        }
        poke = true;
      });
    }
  })();

  async function applyInbound(msg: InboundMessage): Promise<void> {
    const action = actionOf(msg);
    if (!action) {
      await recordEvent({
        type: `${msg.kind}_received`,
        actor: partner,
        detail: {
          msgId: msg.msgId,
          digest: msg.digest,
          ...(msg.kind === 'reminder' ? (msg.body ?? {}) : {}),
        },
        changesStatus: false,
      });
      return;
    }
    const refused = refusal(lifecycle, partnerSide, action);
    if (refused) {
      // Stored and receipted already; shown, not applied.
      await recordEvent({
        type: 'message_out_of_turn',
        actor: partner,
        detail: { kind: msg.kind, msgId: msg.msgId, digest: msg.digest, reason: refused.message },
        changesStatus: false,
      });
      return;
    }
    pauseEffects(msg.kind, msg.receivedAt);
    applyExtension(action, msg.receivedAt, msg.body ?? {});
    lifecycle = apply(lifecycle, action, {
      msgId: msg.msgId,
      digest: msg.digest,
      at: msg.receivedAt,
      ...(typeof (msg.body ?? {}).proposed_deadline === 'string'
        ? { proposedDeadline: (msg.body ?? {}).proposed_deadline as string }
        : {}),
    });
    await recordEvent({
      type: action,
      actor: partner,
      detail: { kind: msg.kind, msgId: msg.msgId, digest: msg.digest },
    });
  }

  /** Reminders and escalations that are due now; returns when the next one falls. */
  async function keepTime(): Promise<number | undefined> {
    const now = Date.now();
    let next: number | undefined;
    const later = (t: number) => (next = next === undefined ? t : Math.min(next, t));
    for (const kind of DEADLINES) {
      const d = deadline(kind);
      if (!d || !binding(kind) || d.clockStopped) continue;
      const due = Date.parse(d.dueAt);
      for (const offset of rule.reminder_offsets_seconds) {
        const at = due - offset * 1000;
        const key = `${kind}:${offset}:${d.dueAt}`;
        if (at < Date.parse(d.countsFrom) || remindersDone.has(key)) continue;
        if (at > now) {
          later(at);
          continue;
        }
        remindersDone.add(key);
        const body = { deadline: kind, due_at: d.dueAt };
        if (side === 'requester') {
          const stored = await send('reminder', body);
          await recordEvent({
            type: 'reminder_sent',
            actor: null,
            detail: { ...body, msgId: stored.msgId },
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
      const lvl = escalationLevel(d.dueAt, rule.escalation_after_seconds, nowIso());
      if (lvl > escalated[kind]) {
        escalated[kind] = lvl;
        const detail = { deadline: kind, level: lvl, due_at: d.dueAt };
        await recordEvent({
          type: 'escalated',
          actor: null,
          detail,
          changesStatus: false,
          notification: { kind: 'escalation', level: lvl, detail },
        });
      }
      if (due > now) later(due);
      const step = nextEscalationAt(d.dueAt, rule.escalation_after_seconds, nowIso());
      if (step) later(Date.parse(step));
    }
    return next;
  }

  // The main loop: partner's messages, then the clock, until the request ends and all is sent.
  for (;;) {
    const wakeAt = await exclusive(async () => {
      while (inbound.length > 0) await applyInbound(inbound.shift()!);
      return keepTime();
    });
    if (isTerminal(lifecycle.status)) break;
    poke = false;
    const wait = () => inbound.length > 0 || poke;
    if (wakeAt === undefined) await condition(wait);
    else await condition(wait, Math.max(1, wakeAt - Date.now()));
  }

  finished = true;
  await sender;
  await Promise.all(notices);
  await condition(allHandlersFinished);
  return snapshot();
}
