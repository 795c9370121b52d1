/* global window */
// One request: where it stands, a bar for each deadline against the clock, how each deadline was
// computed (the workflow's own explanation, so nobody argues about a date), its timeline, and a
// link to its workflow in the Temporal Web UI. The subject is shown to officers only: supervisors
// watch deadlines, not what a request is about. A message of ours the partner refused is said
// at the top, and messages that had no effect (a crossing lost) are said in words; so are messages
// of ours the partner has not accepted yet, since until it does, it does not show this state.
import { ApiError, getJson } from './api.js';
import {
  clockStoppedBadge,
  DEADLINE_LABEL,
  DIRECTION_LABEL,
  duration,
  h,
  KIND_LABEL,
  label,
  MESSAGE_KIND_LABEL,
  PRIORITY_LABEL,
  refusalSentence,
  relative,
  render,
  STATUS_LABEL,
  statusBadges,
  time,
} from './dom.js';
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

/** The officers' actions (timeline event types), as the noun of the message that carries them. */
/** @type {Record<string, string>} */
const ACTION_NOUN = {
  acknowledge: 'acknowledgement',
  ask_clarification: 'clarification request',
  answer_clarification: 'clarification',
  request_extension: 'extension request',
  decide_extension: 'extension decision',
  respond_partial: 'partial response',
  respond_final: 'final response',
  decline: 'decline',
  withdraw: 'withdrawal',
  close_accepted: 'closure (accepted)',
  close_incomplete: 'closure (incomplete)',
};

/** Titles of the timeline's events; others are their type in words. */
/** @type {Record<string, string>} */
const EVENT_TITLE = {
  created: 'Created',
  received: 'Received from the partner',
  delivered: 'Delivered: the partner signed its receipt',
  message_delivered: 'Message delivered',
  message_refused_by_partner: 'Refused by the partner',
  reminder_sent: 'Reminder sent',
  reminder_received: 'Reminder received',
  escalated: 'Escalated',
  acknowledge: 'Acknowledged',
  ask_clarification: 'Clarification requested',
  answer_clarification: 'Clarification given',
  request_extension: 'Extension requested',
  decide_extension: 'Extension decided',
  respond_partial: 'Partial response',
  respond_final: 'Final response',
  decline: 'Declined',
  withdraw: 'Withdrawn',
  close_accepted: 'Closed (accepted)',
  close_incomplete: 'Closed as incomplete: reopened',
};

/** @param {string} type */
const eventLabel = (type) => {
  if (EVENT_TITLE[type]) return EVENT_TITLE[type];
  const s = type.replaceAll('_', ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
};

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
  const what = kind ? label(MESSAGE_KIND_LABEL, kind) : 'message';
  const reason = textOf(e.detail.reason);
  const crossedWith = textOf(e.detail.crossedWith);
  const rival = crossedWith
    ? events.find((x) => x.detail.msgId === crossedWith && ACTION_NOUN[x.type])
    : undefined;
  const subject = ours ? `Your ${what}` : `The partner’s ${what}`;
  if (!crossedWith) return `${subject} was not applied${reason ? `: ${reason}` : ''}.`;
  const other = `${ours ? 'the partner’s' : 'your'} ${rival ? ACTION_NOUN[rival.type] : 'message'}`;
  return `${subject} was not applied: ${other} crossed it and stands${reason ? ` (${reason})` : ''}.`;
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
      ? `${sentence} ${dropped} later message${dropped === 1 ? '' : 's'} of ours ${dropped === 1 ? 'was' : 'were'} not sent.`
      : sentence;
  }
  if (typeof e.detail.onTime === 'boolean') {
    const at = textOf(e.detail.countsAt);
    return [e.detail.onTime ? 'In time' : 'Late', at ? [' (counts at ', time(at), ')'] : null, '.'];
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
    const t = /** @type {SupervisorTimeline} */ (
      await getJson(`/v1/supervisor/requests/${encodeURIComponent(id)}/timeline`)
    );
    return { request: t.request, events: t.events, explanations: null };
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
  if (!dueAt || !from)
    return h(
      'p',
      { class: 'state' },
      'Not running yet: it starts at the partner’s signed receipt of the request.',
    );

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
  const at = (/** @type {number} */ t) =>
    Math.max(0, Math.min(1, (t - start) / (scaleEnd - start)));
  // Times of day alone on a scale of a day or less; dates with them beyond.
  const onScale = (/** @type {string} */ iso) =>
    scaleEnd - start > DAY_MS ? time(iso, { compact: true }) : time(iso, { short: true });

  /** @type {string} */
  let state;
  /** @type {string} */
  let cls;
  if (settledBy) {
    const late = end - due;
    const how = label(STATUS_LABEL, settledBy.status ?? '');
    state =
      late > 0
        ? `Settled (${how}) ${duration(late / 1000)} after it fell due.`
        : `Settled in time (${how}), ${duration(-late / 1000)} before it fell due.`;
    cls = late > 0 ? 'settled-late' : 'settled';
  } else if (stopped) {
    state = 'A clarification question is open: the clock stands still until it is answered.';
    cls = 'paused';
  } else if (now >= due) {
    state = `Overdue by ${duration((now - due) / 1000)}.`;
    cls = 'overdue';
  } else {
    state = `Due ${relative(dueAt, now)}.`;
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
                ' Stopped since ',
                time(pause.since),
                pause.leftMs > 0
                  ? ` with ${duration(pause.leftMs / 1000)} left; answered now, it would be due `
                  : ', already past due then; answered now, it would be due ',
                time(dueIso),
                '.',
              ]
            : null,
        )
      : h('p', { class: `state ${cls}` }, h('strong', {}, state), ' Due ', time(dueAt), '.'),
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
      h('span', { class: 'scale-receipt' }, 'receipt ', onScale(from)),
      stopped && !pause
        ? pin(h('span', { class: 'scale-due' }, 'now (clock stopped)'), at(now))
        : pin(
            h(
              'span',
              { class: `scale-due${at(due) < 0.4 ? ' below' : ''}` },
              stopped ? 'due if answered now ' : 'due ',
              onScale(stopped ? dueIso : dueAt),
            ),
            at(due),
          ),
    ),
  ];
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
    h('h4', {}, 'How it was computed'),
    h(
      'dl',
      {},
      row('Rule', h('code', {}, e.rule)),
      row('Counts from', [time(e.countsFrom), ' (the signed receipt)']),
      row(
        'Duration',
        `${duration(e.durationSeconds)} (${e.calendar === 'working_days' ? 'working days' : 'calendar time'})`,
      ),
      e.daysSkipped.length ? row('Days skipped', e.daysSkipped.join(', ')) : null,
      row('Due by the rule alone', time(e.baseDueAt)),
      row(
        'Clock stopped',
        e.pauses.length
          ? h(
              'ul',
              {},
              e.pauses.map((p) =>
                h('li', {}, time(p.from), ' to ', p.to ? time(p.to) : 'now (open)'),
              ),
              h('li', {}, `${duration(e.pausedSeconds)} in all`),
            )
          : 'never',
      ),
      row(
        'Extension',
        e.extension
          ? [
              'granted ',
              time(e.extension.grantedAt),
              ', new deadline ',
              time(e.extension.newDeadline),
            ]
          : 'none',
      ),
      row('Due', time(e.dueAt)),
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
    h('summary', {}, 'Details'),
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
          ? 'It had no effect: see below.'
          : ACTION_NOUN[e.type] && pending.waiting.has(textOf(e.detail.msgId) ?? '')
            ? `Not yet accepted by ${pending.partner}: see above.`
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
          e.actor ? h('span', { class: 'muted' }, ` by ${e.actor}`) : null,
          e.status
            ? [
                ' → ',
                h('span', { class: `badge status-${e.status}` }, label(STATUS_LABEL, e.status)),
              ]
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
      'The request is shown as it stands without that message',
      dropped
        ? `; ${dropped} later message${dropped === 1 ? '' : 's'} of ours ${dropped === 1 ? 'was' : 'were'} not sent`
        : '',
      '. Refused ',
      time(refusal.at),
      '.',
    ),
  );
}

/**
 * How often one of our messages was tried and what the partner last answered, in words.
 * @param {RequestDetail['undelivered'][number]} u
 * @param {string} partner
 */
function attemptsSaid(u, partner) {
  if (u.attempts === 0) return 'not tried yet';
  const tries = `${u.attempts} attempt${u.attempts === 1 ? '' : 's'}`;
  if (u.lastError === 'unreachable') return `${tries}, last answer: none (${partner} unreachable)`;
  return `${tries}, last answer: ${u.lastError ?? 'none'}`;
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
  const listed = waiting.map((u, i) => [
    i === 0 ? '' : i === waiting.length - 1 ? ' and ' : ', ',
    `our ${label(MESSAGE_KIND_LABEL, u.kind)} (since `,
    time(u.since, sameDay(u.since, now) ? { short: true } : { compact: true }),
    `, ${attemptsSaid(u, partner)})`,
  ]);
  const until = waiting.length === 1 ? 'Until it is' : 'Until they are';
  const kinds = new Set(waiting.map((u) => u.kind));
  const meaning =
    kinds.size === 1 && kinds.has('request')
      ? `${until}, ${partner} does not know of this request.`
      : kinds.size === 1 && kinds.has('reminder')
        ? `${until}, ${partner} has not seen ${waiting.length === 1 ? 'it' : 'them'}.`
        : `${until}, ${partner} does not show this state.`;
  return h(
    'div',
    { class: 'banner undelivered', 'data-undelivered': waiting.map((u) => u.msgId).join(' ') },
    h('p', {}, h('strong', {}, `Not yet accepted by ${partner}: `, listed, '.')),
    h(
      'p',
      {},
      meaning,
      ` This node sends ${waiting.length === 1 ? 'it' : 'them'} again until ${partner} accepts or refuses.`,
    ),
  );
}

/**
 * @param {import('./types.js').ViewContext} ctx
 * @param {string} id
 */
export function requestPage(ctx, id) {
  const head = h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, `Request ${id}`));
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
        h('h3', {}, `${label(DEADLINE_LABEL, b.kind)} deadline`),
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
  render(
    ctx.main,
    h('p', { class: 'crumbs' }, h('a', { href: '/dashboard' }, '← Back to the dashboard')),
    head,
    problem,
    banner,
    pendingNotice,
    facts,
    work?.panel,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'deadlines-title' },
      h('h2', { id: 'deadlines-title' }, 'Deadlines'),
      deadlines,
    ),
    work?.coverage,
    work?.clarification,
    talk?.panel,
    map?.panel,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'timeline-title' },
      h('h2', { id: 'timeline-title' }, 'Timeline'),
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
            : h(
                'p',
                { class: 'help' },
                'How it was computed is shown to officers and supervisors.',
              ),
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
        row('Status', statusBadges(r, { pendingAfterMs: 0 })),
        row('Kind', label(KIND_LABEL, r.type)),
        row('Direction', label(DIRECTION_LABEL, r.direction)),
        row('Partner', r.counterparty),
        row('Priority', label(PRIORITY_LABEL, r.priority)),
        row('Created', time(r.createdAt)),
        row('Receipt signed', time(r.receiptAt)),
        row('Escalation level', String(r.escalationLevel)),
      ),
      showSubject && r.subject
        ? h(
            'section',
            { class: 'panel subject', 'aria-labelledby': 'subject-title' },
            h('h2', { id: 'subject-title' }, 'Subject'),
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
              `Workflow ${r.workflowId} in the Temporal Web UI`,
              h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'),
            )
          : h(
              'span',
              { class: 'muted' },
              `Workflow ${r.workflowId} (no Temporal Web UI address is configured: TEMPORAL_UI_URL)`,
            ),
      ),
    );
  }

  const tick = async () => {
    let next;
    try {
      next = await load(id);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.code === 'schema_invalid')) {
        render(
          problem,
          h(
            'p',
            { class: 'error', role: 'alert' },
            'There is no request with this id on this node.',
          ),
        );
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
      else ctx.announce(`No message of ours is waiting for ${partner} any more.`);
      waitingIds = ids;
    }
    const waiting = new Set(next.request.undelivered?.map((u) => u.msgId) ?? []);
    const eventsKey = JSON.stringify([next.events, [...waiting]]);
    if (eventsKey !== drawnEvents) {
      render(
        events,
        next.events.length
          ? timeline(next.events, { partner: next.request.counterparty, waiting })
          : h('p', { class: 'empty' }, 'No events yet.'),
      );
      drawnEvents = eventsKey;
    }
    if (work && next.detail) work.update(next.detail);
    if (map && next.detail) map.update(next.detail);
    if (talk && next.detail) talk.update(next.detail);
    drawDeadlines();
    render(problem);
  };
  const polling = {
    onError: (/** @type {unknown} */ err) => {
      if (!ctx.sessionLost(err))
        render(
          problem,
          h('p', { class: 'error', role: 'alert' }, `Could not refresh: ${String(err)}`),
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
