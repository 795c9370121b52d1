/* global document, window */
// One request: where it stands, a bar for each deadline against the clock, how each deadline was
// computed (the workflow's own explanation, so nobody argues about a date), its timeline, and a
// link to its workflow in the Temporal Web UI. The subject is shown to officers only: supervisors
// watch deadlines, not what a request is about. A message of ours the partner refused is said
// at the top, and messages that had no effect (a crossing lost) are said in words; so are messages
// of ours the partner has not accepted yet, since until it does, it does not show this state. A
// request that goes through a mediator names it, and its officers and supervisors give there their
// consent that the mediator may pause both parties' clocks.
import { ApiError, callApi, getJson } from './api.js';
import {
  clockStoppedBadge,
  duration,
  h,
  refusalSentence,
  relative,
  render,
  statusBadges,
  time,
} from './dom.js';
import { formatNumber, t } from './i18n.js';
import { poll } from './live.js';
import { accessLogPanel } from './access-log.js';
import { actionsPanel } from './request-actions.js';
import { conversationPanel } from './conversation.js';
import { mapPanel } from './map.js';

/** @typedef {import('./types.js').RequestDetail} RequestDetail */
/** @typedef {import('./types.js').SupervisorTimeline} SupervisorTimeline */
/** @typedef {import('./types.js').TimelineEvent} TimelineEvent */
/** @typedef {import('./types.js').DeadlineExplanation} DeadlineExplanation */

/**
 * Fields of the supervisors' item that the officers' view of a request does not have.
 * @typedef {'undeliveredCount' | 'undeliveredSince' | 'nextStep' | 'clockStopped'} SupervisorOnly
 */

/**
 * What the page draws: the officers' view of a request when the role may read it, else (admins)
 * the supervisors' timeline, which has the due times but not their explanation nor the subject.
 * @typedef {{
 *   request: Omit<import('./types.js').SupervisorItem, SupervisorOnly> &
 *     Partial<Pick<import('./types.js').SupervisorItem, SupervisorOnly>> & {
 *     subject?: RequestDetail['subject'];
 *     undelivered?: RequestDetail['undelivered'];
 *   };
 *   events: TimelineEvent[];
 *   explanations: Partial<Record<'acknowledgement' | 'response', DeadlineExplanation | null>> | null;
 *   detail?: RequestDetail;
 * }} Shown
 */

/** Statuses after which each deadline no longer runs (it was met, or the request ended). */
const SETTLES = {
  acknowledgement: [
    'acknowledged',
    'partially_answered',
    'answered',
    'closed',
    'declined',
    'withdrawn',
  ],
  response: ['answered', 'closed', 'declined', 'withdrawn'],
};

/**
 * The officers' actions (timeline event types), each named as the noun of the message that
 * carries it by `request:actionNoun.<type>`.
 */
const ACTIONS = [
  'acknowledge',
  'ask_clarification',
  'answer_clarification',
  'request_extension',
  'decide_extension',
  'respond_partial',
  'respond_final',
  'decline',
  'withdraw',
  'close_accepted',
  'close_incomplete',
];

/** @param {string} type an officers' action (one of ACTIONS) */
const actionNoun = (type) => t(`request:actionNoun.${type}`);

/**
 * The title of a timeline event (`request:event.<type>`); a type without one is its type in words.
 * @param {string} type
 */
const eventLabel = (type) => {
  const s = type.replaceAll('_', ' ');
  return t(`request:event.${type}`, { defaultValue: s.charAt(0).toUpperCase() + s.slice(1) });
};

/**
 * A kind of signed message as a noun in a sentence ("our withdrawal"); an unknown kind in words.
 * @param {string} kind
 */
const messageKind = (kind) =>
  t(`request:messageKind.${kind}`, { defaultValue: kind.replaceAll('_', ' ') });

/** @param {string} value */
const statusLabel = (value) =>
  t(`request:status.${value}`, { defaultValue: value.replaceAll('_', ' ') });

/** Stands for the n-th element put in a translated text by `fill`. @param {number} n */
const slot = (n) => `\u0001${n}\u0001`;

/**
 * A translated text with elements in it: each `slot(n)` in `text` (passed to `t` as a
 * placeholder's value) becomes the n-th of `parts`, so a `<time>` can stand where the language
 * puts it.
 * @param {string} text
 * @param {...(import('./dom.js').Child | import('./dom.js').Child[])} parts
 * @returns {import('./dom.js').Child[]}
 */
function fill(text, ...parts) {
  return text
    .split('\u0001')
    .flatMap((piece, i) => (i % 2 ? (parts[Number(piece)] ?? []) : piece ? [piece] : []));
}

/** @param {unknown} v */
const textOf = (v) => (typeof v === 'string' ? v : null);

/**
 * A message that had no effect, in words: whose it was, what it was, and what crossed it.
 * "Your withdrawal was not applied: the partner's final response crossed it and stands (the
 * request is answered)."
 * @param {TimelineEvent} e an `action_not_applied` or `message_not_applied` event
 * @param {TimelineEvent[]} events the whole timeline, to name the message it crossed
 */
function notAppliedSentence(e, events) {
  const ours = e.type === 'action_not_applied';
  const kind = textOf(e.detail.kind);
  const reason = textOf(e.detail.reason);
  const crossedWith = textOf(e.detail.crossedWith);
  const rival = crossedWith
    ? events.find((x) => x.detail.msgId === crossedWith && ACTIONS.includes(x.type))
    : undefined;
  const subject = kind
    ? t(ours ? 'request:notApplied.subject.ours' : 'request:notApplied.subject.theirs', {
        what: messageKind(kind),
      })
    : t(
        ours
          ? 'request:notApplied.subject.oursMessage'
          : 'request:notApplied.subject.theirsMessage',
      );
  if (!crossedWith)
    return reason
      ? t('request:notApplied.reason', { subject, reason })
      : t('request:notApplied.plain', { subject });
  // The message that crossed ours is the partner's, and the other way round.
  const other = rival
    ? t(ours ? 'request:notApplied.other.theirs' : 'request:notApplied.other.ours', {
        what: actionNoun(rival.type),
      })
    : t(ours ? 'request:notApplied.other.theirsMessage' : 'request:notApplied.other.oursMessage');
  return reason
    ? t('request:notApplied.crossedReason', { subject, other, reason })
    : t('request:notApplied.crossed', { subject, other });
}

/**
 * What an event says beyond its title, in words, or null.
 * @param {TimelineEvent} e
 * @param {TimelineEvent[]} events
 */
function eventSentence(e, events) {
  if (e.type === 'action_not_applied' || e.type === 'message_not_applied')
    return notAppliedSentence(e, events);
  if (e.type === 'message_refused_by_partner') {
    const dropped = Array.isArray(e.detail.dropped) ? e.detail.dropped.length : 0;
    const sentence = refusalSentence({
      kind: textOf(e.detail.kind),
      code: textOf(e.detail.code) ?? 'unknown',
    });
    return dropped
      ? `${sentence} ${t('request:timeline.droppedAfterRefusal', { count: dropped })}`
      : sentence;
  }
  if (typeof e.detail.onTime === 'boolean') {
    const at = textOf(e.detail.countsAt);
    if (!at) return t(e.detail.onTime ? 'request:timeline.inTime' : 'request:timeline.late');
    return fill(
      t(e.detail.onTime ? 'request:timeline.inTimeCountsAt' : 'request:timeline.lateCountsAt', {
        at: slot(0),
      }),
      time(at),
    );
  }
  return null;
}

/** Events that record a message without effect (the message they name did not count). */
const NO_EFFECT = ['action_not_applied', 'message_not_applied', 'message_refused_by_partner'];

/**
 * The messages the timeline says had no effect (refused by the partner, or not applied).
 * @param {TimelineEvent[]} events
 */
const undoneMessages = (events) =>
  new Set(events.filter((e) => NO_EFFECT.includes(e.type)).map((e) => textOf(e.detail.msgId)));

/**
 * The event from which the deadline has been settled (met, or ended with the request), or
 * undefined while it runs. A status can go back or change (a withdrawal the partner refused leaves
 * the request as it was; one that lost a crossing gives way to the final response), so it is the
 * first step that counted in the last stretch of settling statuses.
 * @param {'acknowledgement' | 'response'} kind
 * @param {Shown} shown
 */
function settlingEvent(kind, shown) {
  if (!SETTLES[kind].includes(shown.request.status)) return undefined;
  const undone = undoneMessages(shown.events);
  /** @type {TimelineEvent | undefined} */
  let since;
  /** @type {TimelineEvent | undefined} */
  let fallback;
  for (const e of shown.events) {
    if (!e.status) continue;
    if (!SETTLES[kind].includes(e.status)) {
      since = fallback = undefined;
      continue;
    }
    fallback ??= e;
    if (NO_EFFECT.includes(e.type) || undone.has(textOf(e.detail.msgId))) continue;
    since ??= e;
  }
  return since ?? fallback;
}

/**
 * @param {string} id
 * @returns {Promise<Shown>}
 */
async function load(id) {
  try {
    const d = /** @type {RequestDetail} */ (
      await getJson(`/v1/requests/${encodeURIComponent(id)}`)
    );
    return {
      request: d,
      events: d.timeline,
      explanations: /** @type {Shown['explanations']} */ (d.deadlines),
      detail: d,
    };
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 403) throw err;
    const tl = /** @type {SupervisorTimeline} */ (
      await getJson(`/v1/supervisor/requests/${encodeURIComponent(id)}/timeline`)
    );
    return { request: tl.request, events: tl.events, explanations: null };
  }
}

/**
 * A position on the bar's scale as a CSS length.
 * @param {HTMLElement} el
 * @param {number} from 0…1
 * @param {number} to 0…1
 */
function place(el, from, to) {
  el.style.left = `${(from * 100).toFixed(2)}%`;
  el.style.width = `${(Math.max(0, to - from) * 100).toFixed(2)}%`;
  return el;
}

/** Past this span a bar's scale is labelled with dates, not times of day only. */
const DAY_MS = 86_400_000;

/**
 * A label under a bar at a position on its scale, kept inside the bar: centred on its mark, or
 * flush with the edge it is near.
 * @param {HTMLElement} el
 * @param {number} x 0…1
 */
function pin(el, x) {
  el.style.left = `${(x * 100).toFixed(2)}%`;
  el.classList.add(x < 0.15 ? 'from-mark' : x > 0.85 ? 'to-mark' : 'on-mark');
  return el;
}

/**
 * The remaining time when the clock stopped, and the due time if the question were answered now,
 * from the workflow's explanation: the due time of the rule (or of a granted extension) plus the
 * pauses already closed, counted from the start of the open one.
 * @param {DeadlineExplanation} e
 * @param {number} now
 */
function stoppedClock(e, now) {
  const open = e.pauses.find((p) => p.to === null);
  if (!open) return null;
  const closed = e.pauses.reduce(
    (ms, p) => (p.to ? ms + Math.max(0, Date.parse(p.to) - Date.parse(p.from)) : ms),
    0,
  );
  const base = Math.max(
    Date.parse(e.baseDueAt),
    e.extension ? Date.parse(e.extension.newDeadline) : -Infinity,
  );
  const leftMs = base + closed - Date.parse(open.from);
  return { since: open.from, leftMs, dueIfAnsweredNow: now + Math.max(0, leftMs) };
}

/**
 * Where a deadline stands now: its state in words, and a bar from the receipt to the due time
 * (or to when it was settled, or to now when overdue) with "now" marked on it. The scale under it
 * shows dates when it spans more than a day, and the due label stands at the due mark. A response
 * clock stopped by an open question shows a "Clock stopped" badge and no past due time: while it
 * stands still the due time moves, so the bar ends at the due time if the question were answered
 * now.
 * @param {'acknowledgement' | 'response'} kind
 * @param {Shown} shown
 * @param {number} now
 */
function deadlineNow(kind, shown, now) {
  const r = shown.request;
  const explanation = shown.explanations?.[kind] ?? null;
  const dueAt = explanation?.dueAt ?? (kind === 'acknowledgement' ? r.ackDueAt : r.responseDueAt);
  const from = explanation?.countsFrom ?? r.receiptAt;
  if (!dueAt || !from) return h('p', { class: 'state' }, t('request:deadline.notRunning'));

  const settledBy = settlingEvent(kind, shown);
  const stopped =
    !settledBy &&
    kind === 'response' &&
    (explanation ? explanation.clockStopped : r.clockStopped === true);
  const pause = stopped && explanation ? stoppedClock(explanation, now) : null;
  const start = Date.parse(from);
  // Stopped: the due time is where it would be if the question were answered now (unknown
  // without the explanation: then the bar ends at now).
  const due = stopped ? (pause?.dueIfAnsweredNow ?? now) : Date.parse(dueAt);
  // A step counts at its signed time (countsAt), wherever it arrived late.
  const end = settledBy ? Date.parse(textOf(settledBy.detail.countsAt) ?? settledBy.at) : now;
  const last = Math.max(due, end);
  const scaleEnd = last > start ? last + (last - start) * 0.08 : start + 1000;
  const at = (/** @type {number} */ ms) =>
    Math.max(0, Math.min(1, (ms - start) / (scaleEnd - start)));
  // Times of day alone on a scale of a day or less; dates with them beyond.
  const onScale = (/** @type {string} */ iso) =>
    scaleEnd - start > DAY_MS ? time(iso, { compact: true }) : time(iso, { short: true });

  /** @type {string} */
  let state;
  /** @type {string} */
  let cls;
  if (settledBy) {
    const late = end - due;
    const how = statusLabel(settledBy.status ?? '');
    state =
      late > 0
        ? t('request:deadline.settledLate', { how, late: duration(late / 1000) })
        : t('request:deadline.settledInTime', { how, early: duration(-late / 1000) });
    cls = late > 0 ? 'settled-late' : 'settled';
  } else if (stopped) {
    state = t('request:deadline.clockStopped');
    cls = 'paused';
  } else if (now >= due) {
    state = t('request:deadline.overdue', { by: duration((now - due) / 1000) });
    cls = 'overdue';
  } else {
    state = t('request:deadline.dueIn', { when: relative(dueAt, now) });
    cls = 'running';
  }

  const dueIso = new Date(due).toISOString();
  return [
    stopped
      ? h(
          'p',
          { class: `state ${cls}` },
          clockStoppedBadge(),
          ' ',
          h('strong', {}, state),
          pause
            ? [
                ' ',
                fill(
                  pause.leftMs > 0
                    ? t('request:deadline.stoppedWithTimeLeft', {
                        since: slot(0),
                        left: duration(pause.leftMs / 1000),
                        due: slot(1),
                      })
                    : t('request:deadline.stoppedPastDue', { since: slot(0), due: slot(1) }),
                  time(pause.since),
                  time(dueIso),
                ),
              ]
            : null,
        )
      : h(
          'p',
          { class: `state ${cls}` },
          h('strong', {}, state),
          ' ',
          fill(t('request:deadline.dueAt', { at: slot(0) }), time(dueAt)),
        ),
    h(
      'div',
      { class: `deadline-track ${cls}`, 'aria-hidden': 'true' },
      place(h('span', { class: 'elapsed' }), 0, at(Math.min(end, due))),
      end > due && !stopped ? place(h('span', { class: 'late' }), at(due), at(end)) : null,
      stopped && !pause ? null : place(h('span', { class: 'mark due-mark' }), at(due), at(due)),
      settledBy ? null : place(h('span', { class: 'mark now-mark' }), at(now), at(now)),
    ),
    h(
      'div',
      { class: 'deadline-scale', 'aria-hidden': 'true' },
      h(
        'span',
        { class: 'scale-receipt' },
        fill(t('request:deadline.scale.receipt', { at: slot(0) }), onScale(from)),
      ),
      stopped && !pause
        ? pin(h('span', { class: 'scale-due' }, t('request:deadline.scale.nowStopped')), at(now))
        : pin(
            h(
              'span',
              { class: `scale-due${at(due) < 0.4 ? ' below' : ''}` },
              fill(
                t(
                  stopped
                    ? 'request:deadline.scale.dueIfAnsweredNow'
                    : 'request:deadline.scale.due',
                  {
                    at: slot(0),
                  },
                ),
                onScale(stopped ? dueIso : dueAt),
              ),
            ),
            at(due),
          ),
    ),
  ];
}

/**
 * Pauses of a clock, each from and to (or open), then what they came to in all.
 * @param {{ from: string; to: string | null }[]} pauses
 * @param {string} total
 */
function pauseList(pauses, total) {
  return h(
    'ul',
    {},
    pauses.map((p) =>
      h(
        'li',
        {},
        p.to
          ? fill(
              t('request:explanation.pause', { from: slot(0), to: slot(1) }),
              time(p.from),
              time(p.to),
            )
          : fill(t('request:explanation.pauseOpen', { from: slot(0) }), time(p.from)),
      ),
    ),
    h('li', {}, total),
  );
}

/**
 * The steps of a deadline's computation, as the workflow recorded them.
 * @param {DeadlineExplanation} e
 */
function explain(e) {
  /** @param {string} term @param {import('./dom.js').Children} value */
  const row = (term, value) => [h('dt', {}, term), h('dd', {}, value)];
  return h(
    'div',
    { class: 'explanation' },
    h('h4', {}, t('request:explanation.heading')),
    h(
      'dl',
      {},
      row(t('request:explanation.rule'), h('code', {}, e.rule)),
      row(
        t('request:explanation.countsFrom'),
        fill(t('request:explanation.countsFromReceipt', { at: slot(0) }), time(e.countsFrom)),
      ),
      row(
        t('request:explanation.duration'),
        t(
          e.calendar === 'working_days'
            ? 'request:explanation.workingDays'
            : 'request:explanation.calendarTime',
          { duration: duration(e.durationSeconds) },
        ),
      ),
      e.daysSkipped.length
        ? row(t('request:explanation.daysSkipped'), e.daysSkipped.join(', '))
        : null,
      row(t('request:explanation.baseDue'), time(e.baseDueAt)),
      row(
        t('request:explanation.clockStopped'),
        e.pauses.length
          ? pauseList(
              e.pauses,
              t('request:explanation.pausedInAll', { duration: duration(e.pausedSeconds) }),
            )
          : t('request:explanation.never'),
      ),
      e.mediatorPauses?.length
        ? row(
            t('request:explanation.pausedByMediator'),
            pauseList(
              e.mediatorPauses,
              t('request:explanation.mediatorPausedInAll', {
                duration: duration(e.mediatorPausedSeconds ?? 0),
              }),
            ),
          )
        : null,
      row(
        t('request:explanation.extension'),
        e.extension
          ? fill(
              t('request:explanation.extensionGranted', { at: slot(0), deadline: slot(1) }),
              time(e.extension.grantedAt),
              time(e.extension.newDeadline),
            )
          : t('request:explanation.none'),
      ),
      row(t('request:explanation.due'), time(e.dueAt)),
    ),
  );
}

/**
 * A timeline event's details as terms and values, short.
 * @param {Record<string, unknown>} detail
 */
function details(detail) {
  const entries = Object.entries(detail);
  if (entries.length === 0) return null;
  /** @param {unknown} v */
  const text = (v) => {
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    return s.length > 300 ? `${s.slice(0, 300)}…` : s;
  };
  return h(
    'details',
    {},
    h('summary', {}, t('request:timeline.details')),
    h(
      'dl',
      {},
      entries.map(([k, v]) => [h('dt', {}, k.replaceAll('_', ' ')), h('dd', {}, text(v))]),
    ),
  );
}

/**
 * @param {TimelineEvent[]} events
 * @param {{ partner: string; waiting: Set<string> }} pending our messages the partner has not
 *   accepted yet: the steps that sent them say so
 */
function timeline(events, pending) {
  const undone = undoneMessages(events);
  return h(
    'ol',
    { class: 'timeline' },
    events.map((e) => {
      const notApplied = e.type === 'action_not_applied' || e.type === 'message_not_applied';
      // A step shown when taken whose message later turned out to have no effect says so.
      const sentence =
        eventSentence(e, events) ??
        (!NO_EFFECT.includes(e.type) && undone.has(textOf(e.detail.msgId))
          ? t('request:timeline.noEffect')
          : ACTIONS.includes(e.type) && pending.waiting.has(textOf(e.detail.msgId) ?? '')
            ? t('request:timeline.notYetAccepted', { partner: pending.partner })
            : null);
      return h(
        'li',
        {
          'data-event': e.type,
          class: notApplied || e.type === 'message_refused_by_partner' ? 'no-effect' : null,
        },
        h('div', { class: 'when' }, time(e.at)),
        h(
          'div',
          { class: 'what' },
          // A message that had no effect is said as a sentence, which is its title.
          notApplied ? h('strong', {}, sentence) : h('strong', {}, eventLabel(e.type)),
          e.actor
            ? h('span', { class: 'muted' }, ` ${t('request:timeline.by', { actor: e.actor })}`)
            : null,
          e.status
            ? [' → ', h('span', { class: `badge status-${e.status}` }, statusLabel(e.status))]
            : null,
          sentence && !notApplied ? h('p', { class: 'sentence' }, sentence) : null,
          details(e.detail),
        ),
      );
    }),
  );
}

/**
 * The banner of a request whose message the partner refused: what was refused, with which code,
 * and that the request stands as it was without it.
 * @param {Shown} s
 */
function refusalBanner(s) {
  const refusal = s.request.partnerRefusal;
  if (!refusal) return null;
  const event = s.events.find(
    (e) => e.type === 'message_refused_by_partner' && e.detail.msgId === refusal.msgId,
  );
  const dropped = Array.isArray(event?.detail.dropped) ? event.detail.dropped.length : 0;
  return h(
    'div',
    { class: 'banner refused', 'data-refusal-code': refusal.code },
    h('p', {}, h('strong', {}, refusalSentence(refusal))),
    h(
      'p',
      {},
      fill(
        dropped
          ? t('request:refusal.standsWithoutDropped', { count: dropped, at: slot(0) })
          : t('request:refusal.standsWithout', { at: slot(0) }),
        time(refusal.at),
      ),
    ),
  );
}

/**
 * How often one of our messages was tried and what the partner last answered, in words.
 * @param {RequestDetail['undelivered'][number]} u
 * @param {string} partner
 */
function attemptsSaid(u, partner) {
  if (u.attempts === 0) return t('request:pending.notTried');
  const tries = t('request:pending.attempts', { count: u.attempts });
  if (u.lastError === 'unreachable')
    return t('request:pending.lastAnswerUnreachable', { tries, partner });
  return u.lastError
    ? t('request:pending.lastAnswer', { tries, answer: u.lastError })
    : t('request:pending.lastAnswerNone', { tries });
}

/** @param {string} iso @param {Date} now */
const sameDay = (iso, now) => new Date(iso).toDateString() === now.toDateString();

/**
 * The notice of a request with messages of ours the partner has not accepted yet: which, since
 * when, how often tried and the partner's last answer, and what that means: "Not yet accepted by
 * party-b: our withdrawal (since 10:02, 14 attempts, last answer: key_not_valid). Until it is,
 * party-b does not show this state." A refusal for good is the refusal banner's, not this.
 * @param {Shown} s
 */
function undeliveredNotice(s) {
  const waiting = s.request.undelivered ?? [];
  if (waiting.length === 0) return null;
  const partner = s.request.counterparty;
  const now = new Date();
  const listed = waiting.flatMap((u, i) => [
    i === 0 ? '' : t(i === waiting.length - 1 ? 'request:pending.and' : 'request:pending.comma'),
    ...fill(
      t('request:pending.message', {
        kind: messageKind(u.kind),
        since: slot(0),
        attempts: attemptsSaid(u, partner),
      }),
      time(u.since, sameDay(u.since, now) ? { short: true } : { compact: true }),
    ),
  ]);
  // One message or several: "it" or "them", whatever the number (not a plural of a count).
  const one = waiting.length === 1 ? 'one' : 'several';
  const kinds = new Set(waiting.map((u) => u.kind));
  const meaning =
    kinds.size === 1 && kinds.has('request')
      ? t(`request:pending.unknownRequest.${one}`, { partner })
      : kinds.size === 1 && kinds.has('reminder')
        ? t(`request:pending.reminderUnseen.${one}`, { partner })
        : t(`request:pending.stateNotShown.${one}`, { partner });
  return h(
    'div',
    { class: 'banner undelivered', 'data-undelivered': waiting.map((u) => u.msgId).join(' ') },
    h(
      'p',
      {},
      h('strong', {}, fill(t('request:pending.heading', { partner, list: slot(0) }), listed)),
    ),
    h('p', {}, meaning, ' ', t(`request:pending.sendsAgain.${one}`, { partner })),
  );
}

/** Statuses after which nothing more happens to a request: no clock runs, none is paused. */
const ENDED = ['closed', 'declined', 'withdrawn'];

/**
 * The mediator a request goes through, and this node's consent that it may pause both parties'
 * clocks (README, _Mediated exchange_): officers and supervisors give it here
 * (`POST /v1/requests/:id/pause-consent`), and withdraw it before the mediator used it (`DELETE`).
 * Once the mediator holds it, the panel says since when; while the mediator could not be reached,
 * that it is kept, with a button to send it again. Only
 * for a request that goes through a mediator and has not ended (or to keep what the node just
 * answered in sight). The mediator's pauses show in the deadlines' explanations.
 * @param {import('./types.js').ViewContext} ctx
 * @param {string} id
 * @param {() => void} refresh fetches the request again now
 */
function mediatorPanel(ctx, id, refresh) {
  const through = h('p', { class: 'through' });
  const state = h('div', { class: 'consent-state' });
  /** What the node answered the last consent: said out loud too (ctx.announce). */
  const outcome = h('p', { class: 'action-outcome', tabindex: '-1' });
  const problem = h('div', { class: 'problem-slot' });
  const panel = h(
    'section',
    {
      class: 'panel mediator-panel',
      id: 'mediator',
      'aria-labelledby': 'mediator-title',
      hidden: true,
    },
    h('h2', { id: 'mediator-title' }, t('request:mediator.heading')),
    through,
    state,
    outcome,
    problem,
  );
  /** @type {RequestDetail | undefined} */
  let current;
  let drawn = '';
  let busy = false;

  /**
   * A button that gives (or sends again) the consent, or withdraws it.
   * @param {string} text
   * @param {'POST' | 'DELETE'} method
   */
  const button = (text, method) =>
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        'data-focus-key': method === 'POST' ? 'pause-consent' : 'pause-consent-withdraw',
        onclick: () => void send(method),
      },
      text,
    );
  /**
   * The buttons under a consent: `text`'s to give it (or send it again), and to withdraw it.
   * @param {string | null} text
   * @param {boolean} withdraw
   */
  const consentButton = (text, withdraw = false) =>
    h(
      'p',
      { class: 'actions' },
      text ? button(text, 'POST') : null,
      withdraw ? button(t('request:mediator.consent.withdraw'), 'DELETE') : null,
    );

  /** @param {RequestDetail['pauseConsent']} consent */
  function consentState(consent) {
    if (!consent)
      return [
        h('p', {}, t('request:mediator.consent.none')),
        h('p', { class: 'help' }, t('request:mediator.consent.help')),
        consentButton(t('request:mediator.consent.agree')),
      ];
    if (consent.heldSince)
      return [
        h(
          'p',
          {},
          h(
            'strong',
            {},
            fill(t('request:mediator.consent.held', { at: slot(0) }), time(consent.heldSince)),
          ),
        ),
        h('p', { class: 'help' }, t('request:mediator.consent.help')),
        consentButton(null, true),
      ];
    return [
      h(
        'p',
        {},
        h(
          'strong',
          {},
          fill(t('request:mediator.consent.kept', { at: slot(0) }), time(consent.createdAt)),
        ),
      ),
      h('p', { class: 'help' }, t('request:mediator.consent.keptHelp')),
      consentButton(t('request:mediator.consent.sendAgain'), true),
    ];
  }

  /**
   * Gives this node's consent (or sends the kept one again), or withdraws it (DELETE), and says
   * what the node answered.
   * @param {'POST' | 'DELETE'} method
   */
  async function send(method) {
    const mediator = current?.mediator;
    if (busy || !mediator) return;
    busy = true;
    state.setAttribute('aria-busy', 'true');
    render(outcome);
    render(problem);
    try {
      const answer = /** @type {import('./types.js').PauseConsentView} */ (
        await callApi(method, `/v1/requests/${encodeURIComponent(id)}/pause-consent`)
      );
      // 201 or 200: the mediator holds it; 202 (`heldSince` null): kept, the mediator not reached.
      const said = t(
        `request:mediator.${method === 'POST' ? 'sent' : 'withdrawn'}.${answer.heldSince ? 'held' : 'kept'}`,
        {
          mediator,
          at: answer.heldSince ? (time(answer.heldSince).textContent ?? answer.heldSince) : '',
        },
      );
      render(outcome, said);
      ctx.announce(said);
    } catch (err) {
      if (ctx.sessionLost(err)) return;
      // An alert: read out as it appears. 409 invalid_state: the request ended, no longer goes
      // through a mediator, or the mediator refused the consent (the node's words say which).
      render(
        problem,
        h(
          'p',
          { class: 'error', role: 'alert' },
          !(err instanceof ApiError)
            ? t('request:mediator.notSent', {
                reason: err instanceof Error ? err.message : String(err),
              })
            : err.status === 409
              ? t(
                  method === 'POST' ? 'request:mediator.notGiven' : 'request:mediator.notWithdrawn',
                  {
                    code: err.code ?? err.status,
                    message: err.message,
                  },
                )
              : t('request:mediator.refused', {
                  code: err.code ?? err.status,
                  message: err.message,
                }),
        ),
      );
    } finally {
      busy = false;
      state.removeAttribute('aria-busy');
    }
    refresh();
  }

  return {
    panel,
    /**
     * Draws the panel for the request as the node shows it (undefined: the role reads no detail).
     * @param {RequestDetail | undefined} d
     */
    update(d) {
      current = d;
      const mediator = d?.mediator ?? null;
      const ended = !d || ENDED.includes(d.status) || d.erasure !== undefined;
      const said = outcome.textContent !== '' || problem.textContent !== '';
      panel.hidden = !((mediator !== null && !ended) || said);
      const key = JSON.stringify([mediator, ended, d?.counterparty, d?.pauseConsent ?? null]);
      if (key === drawn) return;
      drawn = key;
      const hadFocus = panel.contains(document.activeElement);
      render(
        through,
        mediator && d ? t('request:mediator.through', { mediator, partner: d.counterparty }) : null,
      );
      render(
        state,
        !mediator
          ? null
          : ended
            ? h('p', { class: 'help' }, t('request:mediator.ended'))
            : consentState(d?.pauseConsent ?? null),
      );
      state.dataset.consent = !d?.pauseConsent
        ? 'none'
        : d.pauseConsent.heldSince
          ? 'held'
          : 'kept';
      // The button pressed is gone (the mediator holds the consent): the focus goes to what was said.
      if (hadFocus && !panel.contains(document.activeElement)) outcome.focus();
    },
  };
}

/**
 * @param {import('./types.js').ViewContext} ctx
 * @param {string} id
 */
export function requestPage(ctx, id) {
  const head = h(
    'div',
    { class: 'page-head' },
    h('h1', { tabindex: '-1' }, t('request:page.heading', { id })),
  );
  const problem = h('div', { class: 'problem-slot' });
  // A live region from the start, so a refusal that comes in while the page is open is read out.
  const banner = h('div', { class: 'banner-slot', role: 'status' });
  // Not a live region: its attempts change at every refresh. Its coming and going is announced.
  const pendingNotice = h('div', { class: 'banner-slot' });
  const facts = h('div');
  /** Per deadline: what changes with the clock, and its explanation, which changes with the data. */
  const boxes = /** @type {const} */ (['acknowledgement', 'response']).map((kind) => ({
    kind,
    now: h('div'),
    how: h('div'),
  }));
  const deadlines = h(
    'div',
    { class: 'deadlines' },
    boxes.map((b) =>
      h(
        'article',
        { class: 'deadline', 'data-deadline': b.kind },
        h('h3', {}, t(`request:deadline.heading.${b.kind}`)),
        b.now,
        b.how,
      ),
    ),
  );
  const events = h('div');
  const accessLog = ctx.session.roles.includes('admin') ? accessLogPanel(ctx, id) : null;
  // Officers work the request here (request-actions.js): its buttons, coverage and gaps.
  const work = ctx.session.roles.includes('officer')
    ? actionsPanel(ctx, id, { refresh: () => refreshNow() })
    : null;
  // Officers see a mine-map request's areas and records on a map (map.js), with downloads.
  const map = work ? mapPanel(ctx, id) : null;
  // Officers read the questions, answers and responses exchanged (conversation.js).
  const talk = work ? conversationPanel(ctx) : null;
  // Officers and supervisors (who may give it) see the mediator and give their consent to a pause.
  const mediation = ctx.session.roles.some((r) => r === 'officer' || r === 'supervisor')
    ? mediatorPanel(ctx, id, () => refreshNow())
    : null;
  render(
    ctx.main,
    h('p', { class: 'crumbs' }, h('a', { href: '/dashboard' }, t('request:page.back'))),
    head,
    problem,
    banner,
    pendingNotice,
    facts,
    work?.panel,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'deadlines-title' },
      h('h2', { id: 'deadlines-title' }, t('request:deadline.title')),
      deadlines,
    ),
    mediation?.panel,
    work?.coverage,
    work?.clarification,
    talk?.panel,
    map?.panel,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'timeline-title' },
      h('h2', { id: 'timeline-title' }, t('request:timeline.title')),
      events,
    ),
    accessLog?.panel,
  );

  /** @type {Shown | undefined} */
  let shown;
  let drawnFacts = '';
  let drawnEvents = '';
  let drawnBanner = '';
  let drawnNotice = '';
  /** The messages the notice named last, to announce when that changes. */
  let waitingIds = '';
  const showSubject = ctx.session.roles.includes('officer');

  function drawDeadlines() {
    if (!shown) return;
    const now = Date.now();
    for (const b of boxes) render(b.now, deadlineNow(b.kind, shown, now));
  }

  /** @param {Shown} s */
  function drawExplanations(s) {
    for (const b of boxes) {
      const e = s.explanations?.[b.kind];
      render(
        b.how,
        e
          ? explain(e)
          : s.explanations
            ? null
            : h('p', { class: 'help' }, t('request:explanation.officersOnly')),
      );
    }
  }

  /** @param {Shown} s */
  function drawFacts(s) {
    const r = s.request;
    const { temporalUiUrl, namespace } = ctx.config;
    const workflowUrl = temporalUiUrl
      ? `${temporalUiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(r.workflowId)}`
      : null;
    /** @param {string} term @param {import('./dom.js').Children} value */
    const row = (term, value) => h('div', {}, h('dt', {}, term), h('dd', {}, value));
    render(
      facts,
      h(
        'dl',
        { class: 'facts' },
        row(t('request:facts.status'), statusBadges(r, { pendingAfterMs: 0 })),
        row(
          t('request:facts.kind'),
          t(`request:kind.${r.type}`, { defaultValue: r.type.replaceAll('_', ' ') }),
        ),
        row(
          t('request:facts.direction'),
          t(`request:direction.${r.direction}`, { defaultValue: r.direction }),
        ),
        row(t('request:facts.partner'), r.counterparty),
        row(
          t('request:facts.priority'),
          t(`request:priority.${r.priority}`, { defaultValue: r.priority }),
        ),
        row(t('request:facts.created'), time(r.createdAt)),
        row(t('request:facts.receiptSigned'), time(r.receiptAt)),
        row(t('request:facts.escalationLevel'), formatNumber(r.escalationLevel)),
      ),
      showSubject && r.subject
        ? h(
            'section',
            { class: 'panel subject', 'aria-labelledby': 'subject-title' },
            h('h2', { id: 'subject-title' }, t('request:subject.heading')),
            h('p', {}, h('strong', {}, r.subject.title)),
            'description' in r.subject && typeof r.subject.description === 'string'
              ? h('p', {}, r.subject.description)
              : null,
          )
        : null,
      h(
        'p',
        { class: 'links' },
        workflowUrl
          ? h(
              'a',
              {
                href: workflowUrl,
                target: '_blank',
                rel: 'noopener noreferrer',
                class: 'temporal-link',
              },
              t('request:workflow.link', { id: r.workflowId }),
              h('span', { class: 'visually-hidden' }, ` ${t('request:workflow.newTab')}`),
            )
          : h('span', { class: 'muted' }, t('request:workflow.noTemporalUi', { id: r.workflowId })),
      ),
    );
  }

  const tick = async () => {
    let next;
    try {
      next = await load(id);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.code === 'schema_invalid')) {
        render(problem, h('p', { class: 'error', role: 'alert' }, t('request:page.notFound')));
        return;
      }
      throw err;
    }
    shown = next;
    // Redrawn only when they change, so an open "Details" stays open while the page updates.
    // Attempts change at every refresh while a message waits: only which messages wait counts here.
    const factsKey = JSON.stringify({
      ...next.request,
      undelivered: next.request.undelivered?.map((u) => u.msgId),
    });
    if (factsKey !== drawnFacts) {
      drawFacts(next);
      drawExplanations(next);
      drawnFacts = factsKey;
    }
    // Drawn when it changes only: it is a live region, read out when it appears.
    const drawn = refusalBanner(next);
    const bannerKey = drawn?.textContent ?? '';
    if (bannerKey !== drawnBanner) {
      render(banner, drawn);
      drawnBanner = bannerKey;
    }
    const notice = undeliveredNotice(next);
    const noticeKey = notice?.textContent ?? '';
    if (noticeKey !== drawnNotice) {
      render(pendingNotice, notice);
      drawnNotice = noticeKey;
    }
    const ids = notice?.dataset.undelivered ?? '';
    if (ids !== waitingIds) {
      const partner = next.request.counterparty;
      if (ids && notice) ctx.announce(notice.querySelector('p')?.textContent ?? '');
      else ctx.announce(t('request:pending.noneWaiting', { partner }));
      waitingIds = ids;
    }
    const waiting = new Set(next.request.undelivered?.map((u) => u.msgId) ?? []);
    const eventsKey = JSON.stringify([next.events, [...waiting]]);
    if (eventsKey !== drawnEvents) {
      render(
        events,
        next.events.length
          ? timeline(next.events, { partner: next.request.counterparty, waiting })
          : h('p', { class: 'empty' }, t('request:timeline.empty')),
      );
      drawnEvents = eventsKey;
    }
    if (work && next.detail) work.update(next.detail);
    if (map && next.detail) map.update(next.detail);
    if (talk && next.detail) talk.update(next.detail);
    mediation?.update(next.detail);
    drawDeadlines();
    render(problem);
  };
  const polling = {
    onError: (/** @type {unknown} */ err) => {
      if (!ctx.sessionLost(err))
        render(
          problem,
          h(
            'p',
            { class: 'error', role: 'alert' },
            t('request:page.refreshFailed', { error: String(err) }),
          ),
        );
    },
  };
  let stopPolling = poll(tick, polling);
  /** Fetches the request now (after an action), then every few seconds as before. */
  function refreshNow() {
    stopPolling();
    stopPolling = poll(tick, polling);
  }
  // The bars move with the clock between two fetches.
  const ticker = window.setInterval(drawDeadlines, 1000);
  return () => {
    stopPolling();
    accessLog?.stop();
    map?.stop();
    window.clearInterval(ticker);
  };
}
