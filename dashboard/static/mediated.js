/* global history, FormData, location */
// On a mediator (README, _Mediated exchange_): the requests it relays between two parties, each
// as both parties show it, with its deadlines, overdue and escalation level; and one request's
// view with its deadlines and the messages relayed about it. From `GET /v1/mediated` and
// `GET /v1/mediated/:id` (supervisors, admins): ids, kinds, states, times and deadlines only, and
// the page asks for nothing more (a mediator holds no request of its own, and what it relays may
// be sealed). The two parties show different states while a message is in transit through this
// node: the list and the request's view mark it, with the state both reach once it arrives. On the
// request's view, M's supervisors also send the parties its notices (a reminder of a deadline, a
// pause of both clocks and its resume) and follow what became of each, and see the parties'
// consents to a pause this node holds: it pauses only with an unused consent of each party.
/* global document */
import { ApiError, callApi, getJson, queryString } from './api.js';
import {
  clockStoppedBadge,
  DEADLINE_LABEL,
  h,
  KIND_LABEL,
  label,
  MESSAGE_KIND_LABEL,
  PRIORITY_LABEL,
  render,
  STATUS_LABEL,
  table,
  time,
  withNode,
} from './dom.js';
import { formatNumber, t } from './i18n.js';
import { pollWithAlert } from './live.js';

/** @typedef {import('./types.js').MediatedRequestView} View */
/** @typedef {View['deadlines'][number]} Deadline */
/** @typedef {View['messages'][number]} Message */
/** @typedef {View['notices'][number]} Notice */
/** @typedef {View['consents'][number]} Consent */
/** @typedef {import('../../schemas/mediator-api.js').MediatorNoticeInput} NoticeInput */

/** How many of the most recently active requests the list asks for. */
const LIMIT = 200;
/** Statuses after which no deadline binds (the request has ended). */
const TERMINAL = ['closed', 'declined', 'withdrawn'];

/** @param {string} status */
/** @param {string | null} status null: the request has not reached that side yet */
const statusBadge = (status) =>
  status === null
    ? h('span', { class: 'badge status-none' }, t('overview:mediated.notReached'))
    : h('span', { class: `badge status-${status}` }, label(STATUS_LABEL, status));

/** @param {{ overdue: boolean; escalationLevel: number }} x */
const overdueBadge = (x) =>
  h(
    'span',
    { class: 'badge overdue' },
    x.escalationLevel
      ? t('badge.overdueLevel', { level: formatNumber(x.escalationLevel) })
      : t('badge.overdue'),
  );

const dash = () => h('span', { class: 'muted' }, '—');

/** @param {View} v */
const inTransit = (v) => v.messages.filter((m) => m.state === 'in_transit').length;

/**
 * Whether the two parties show different states, or will (a message in transit through this
 * node), in words: a badge and the state both show once it arrives; else that they are in step.
 * @param {View} v
 */
function transitMark(v) {
  const moving = inTransit(v);
  if (v.agree || moving === 0)
    return h('span', { class: 'muted in-step' }, t('overview:mediated.transit.none'));
  const count = { count: moving, n: formatNumber(moving) };
  return h(
    'span',
    { class: 'transit' },
    h(
      'span',
      { class: 'badge in-transit' },
      v.asRequester === v.asResponder
        ? t('overview:mediated.transit.moving', count)
        : t('overview:mediated.transit.differs', count),
    ),
    ' ',
    h(
      'span',
      { class: 'muted settles' },
      t('overview:mediated.transit.settles', { status: label(STATUS_LABEL, v.settledStatus) }),
    ),
  );
}

/**
 * The deadlines that still bind: not met, the request not ended.
 * @param {View} v
 */
const binding = (v) =>
  TERMINAL.includes(v.settledStatus) ? [] : v.deadlines.filter((d) => d.answeredAt === null);

/** Why a mediator may show no deadline: it holds another policy than the parties agreed. */
const notCounted = () =>
  h(
    'span',
    { class: 'muted', title: t('overview:mediated.deadline.notCountedTitle') },
    t('overview:mediated.deadline.notCounted'),
  );

/**
 * The next deadline of a request: which, and when it falls (a stopped clock has no due time).
 * @param {View} v
 */
function nextDeadline(v) {
  if (!v.policyKnown) return notCounted();
  const next = binding(v).sort(
    (x, y) =>
      Number(x.clockStopped) - Number(y.clockStopped) || Date.parse(x.dueAt) - Date.parse(y.dueAt),
  )[0];
  if (!next) return dash();
  return [
    h('span', { class: 'deadline-kind' }, label(DEADLINE_LABEL, next.kind)),
    h('br'),
    next.clockStopped
      ? openPause(v)
        ? pausedBadge()
        : clockStoppedBadge()
      : time(next.dueAt, { compact: true }),
  ];
}

/** @param {string} id */
const mediatedLink = (id) =>
  h(
    'a',
    { href: `/dashboard/mediated/${id}`, class: 'mono', 'data-focus-key': `mediated-${id}` },
    id,
  );

/** @param {View} v */
const parties = (v) =>
  t('overview:mediated.parties', { requester: v.requester, responder: v.responder });

/**
 * A panel with its heading, a line of help under it when given, and its body.
 * @param {string} title
 * @param {string} id
 * @param {HTMLElement} body
 * @param {string} [help]
 */
const section = (title, id, body, help) =>
  h(
    'section',
    { class: 'panel', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title),
    help ? h('p', { class: 'help' }, help) : null,
    body,
  );

/**
 * Why the page could not refresh, in words.
 * @param {unknown} err
 */
const refreshFailed = (err) =>
  err instanceof ApiError && err.status === 403
    ? t('overview:mediated.errors.forbidden')
    : t('overview:mediated.errors.refresh', {
        message: err instanceof Error ? err.message : String(err),
      });

/**
 * `/dashboard/mediated`: the requests this node relays, the most recently active first; the
 * filter (overdue or not) lives in the URL like the overview's.
 * @param {import('./types.js').ViewContext} ctx
 */
export function mediatedList(ctx) {
  const overdueFilter = () => {
    const v = new URLSearchParams(location.search).get('overdue');
    return v === 'true' || v === 'false' ? v : '';
  };
  let overdue = overdueFilter();
  /** @type {number | undefined} */
  let lastOverdue;
  let drawn = '';

  const updated = h('p', { class: 'updated' }, t('overview:mediated.page.loading'));
  const problem = h('div', { class: 'problem-slot' });
  const listBox = h('div');

  const form = h(
    'form',
    {
      class: 'filters',
      method: 'get',
      action: '/dashboard/mediated',
      onsubmit: (e) => {
        e.preventDefault();
        const data = new FormData(/** @type {HTMLFormElement} */ (e.currentTarget));
        const value = data.get('overdue');
        history.pushState(
          null,
          '',
          `/dashboard/mediated${queryString({ overdue: typeof value === 'string' ? value : '' })}`,
        );
        overdue = overdueFilter();
        drawn = '';
        restart();
      },
    },
    h(
      'fieldset',
      {},
      h('legend', {}, t('overview:mediated.filters.legend')),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'filter-overdue' }, t('overview:mediated.filters.overdue')),
        h(
          'select',
          { id: 'filter-overdue', name: 'overdue' },
          [
            ['', t('overview:mediated.filters.any')],
            ['true', t('overview:mediated.filters.overdueOnly')],
            ['false', t('overview:mediated.filters.notOverdue')],
          ].map(([value, shown]) => h('option', { value, selected: value === overdue }, shown)),
        ),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit' }, t('overview:mediated.filters.apply')),
        h(
          'a',
          { href: '/dashboard/mediated', class: 'button secondary' },
          t('overview:mediated.filters.clear'),
        ),
      ),
    ),
  );

  render(
    ctx.main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: '-1' }, t('overview:mediated.page.title')),
      updated,
    ),
    h('p', { class: 'help' }, t('overview:mediated.page.help')),
    problem,
    form,
    section(t('overview:mediated.list.title'), 'mediated', listBox),
  );

  /** @param {View[]} items */
  function drawList(items) {
    const rows = items.map((v) =>
      h(
        'tr',
        {
          'data-request-id': v.reqId,
          class:
            [v.overdue ? 'overdue-row' : '', v.agree ? '' : 'transit-row'].join(' ').trim() || null,
        },
        h('td', {}, mediatedLink(v.reqId)),
        h('td', {}, label(KIND_LABEL, v.type)),
        h('td', {}, label(PRIORITY_LABEL, v.priority)),
        h('td', {}, parties(v)),
        h('td', { 'data-side': 'requester' }, statusBadge(v.asRequester)),
        h('td', { 'data-side': 'responder' }, statusBadge(v.asResponder)),
        h('td', { 'data-transit': '' }, transitMark(v)),
        h('td', { 'data-next-deadline': '' }, nextDeadline(v)),
        h('td', { 'data-overdue': '' }, v.overdue ? overdueBadge(v) : dash()),
        h('td', {}, time(v.lastActivityAt, { compact: true })),
      ),
    );
    render(
      listBox,
      table(
        t('overview:mediated.list.caption'),
        [
          t('overview:mediated.list.columns.request'),
          t('overview:mediated.list.columns.kind'),
          t('overview:mediated.list.columns.priority'),
          t('overview:mediated.list.columns.parties'),
          t('overview:mediated.list.columns.asRequester'),
          t('overview:mediated.list.columns.asResponder'),
          t('overview:mediated.list.columns.transit'),
          t('overview:mediated.list.columns.nextDeadline'),
          t('overview:mediated.list.columns.overdue'),
          t('overview:mediated.list.columns.lastActivity'),
        ],
        rows,
        {
          empty: overdue
            ? t('overview:mediated.list.emptyFiltered')
            : t('overview:mediated.list.empty'),
          captionHidden: true,
        },
      ),
      items.length >= LIMIT
        ? h('p', { class: 'help' }, t('overview:mediated.list.limit', { n: formatNumber(LIMIT) }))
        : null,
    );
  }

  async function tick() {
    const { items } = /** @type {{ items: View[] }} */ (
      await getJson(`/v1/mediated${queryString({ overdue, limit: LIMIT })}`)
    );
    // Redrawn when the answer changes only: a keyboard user's place in the table stays put.
    const key = JSON.stringify(items);
    if (key !== drawn) {
      drawList(items);
      drawn = key;
    }
    updated.replaceChildren(
      t('overview:mediated.page.updated'),
      time(new Date().toISOString(), { short: true }),
    );
    const late = items.filter((v) => v.overdue).length;
    if (lastOverdue !== undefined && lastOverdue !== late)
      ctx.announce(t('overview:mediated.announce.overdue', { count: late, n: formatNumber(late) }));
    lastOverdue = late;
    render(problem);
  }

  /** @type {() => void} */
  let stop = () => {};
  function restart() {
    stop();
    stop = pollWithAlert(ctx, tick, problem, refreshFailed);
  }
  restart();
  return () => stop();
}

/**
 * Where a deadline stands, in words.
 * @param {Deadline} d
 * @param {View} v
 */
function deadlineState(d, v) {
  if (d.answeredAt)
    return Date.parse(d.answeredAt) > Date.parse(d.dueAt)
      ? h('span', { class: 'late' }, t('overview:mediated.deadline.metLate'))
      : t('overview:mediated.deadline.met');
  if (TERMINAL.includes(v.settledStatus)) return t('overview:mediated.deadline.ended');
  if (d.clockStopped) return openPause(v) ? pausedBadge() : clockStoppedBadge();
  if (d.overdue) return overdueBadge(d);
  return t('overview:mediated.deadline.running');
}

/**
 * What became of a message at its place in the conversation, or will once everything in transit
 * arrives, in words. The node says it in English (domain/mediated-view.ts); the known sentences
 * are translated, a reason the convergence rule gives is shown as the node gave it (as the request
 * page shows it).
 * @param {Message} m
 */
function effectText(m) {
  const effect = m.effect;
  if (effect === 'applied')
    return m.state === 'in_transit'
      ? t('overview:mediated.effect.appliesOnArrival')
      : t('overview:mediated.effect.applied');
  if (effect === 'refused by its recipient') return t('overview:mediated.effect.refused');
  if (effect === 'waits for an earlier message') return t('overview:mediated.effect.waits');
  const reason = /^no effect: ([\s\S]*)$/.exec(effect)?.[1];
  return reason !== undefined ? t('overview:mediated.effect.noEffect', { reason }) : effect;
}

/**
 * The pause of both clocks this node holds open (signed, not resumed yet), if any.
 * @param {View} v
 */
const openPause = (v) => v.pauses.find((p) => p.to === null);

/** A clock stopped by this node's pause (not by a clarification, as the shared badge says). */
const pausedBadge = () =>
  h(
    'span',
    { class: 'badge clock-stopped', title: t('overview:mediated.pauses.stoppedTitle') },
    t('clock.stopped'),
  );

/**
 * Whether this node may send the parties a notice about the request: it reached the responder
 * and has not ended (the node answers `invalid_state` otherwise).
 * @param {View} v
 */
const noticesAllowed = (v) => v.asResponder !== null && !TERMINAL.includes(v.settledStatus);

/**
 * The deadline a reminder names: the acknowledgement while it binds, else the response. Without
 * the parties' policy this node counts no deadline, and the state says whether the responder
 * acknowledged.
 * @param {View} v
 * @returns {'acknowledgement' | 'response'}
 */
const remindedDeadline = (v) =>
  v.deadlines.some((d) => d.kind === 'acknowledgement' && d.answeredAt === null) ||
  (!v.policyKnown && v.settledStatus === 'delivered')
    ? 'acknowledgement'
    : 'response';

/**
 * A translated sentence with two elements in it, at the places of `from` and `to`.
 * @param {(from: string, to: string) => string} text
 * @param {Node} from
 * @param {Node} to
 * @returns {import('./dom.js').Children}
 */
function withTwoNodes(text, from, to) {
  const [a, b] = ['\u0001', '\u0002'];
  const said = text(a, b);
  return said
    .split(new RegExp(`(${a}|${b})`))
    .map((part) => (part === a ? from : part === b ? to : part));
}

/** The two sides of a request, in the order the page names them. */
const SIDES = /** @type {const} */ (['requester', 'responder']);

/**
 * A party by its name and side, as the page names the sender of a message or notice.
 * @param {View} v
 * @param {'requester' | 'responder'} side
 */
const partyOnSide = (v, side) =>
  side === 'requester'
    ? t('overview:mediated.from.requester', { party: v.requester })
    : t('overview:mediated.from.responder', { party: v.responder });

/**
 * The sides whose consent to a pause this node lacks: it holds none of that party's that no pause
 * carried yet and the party did not withdraw. It signs a pause only when none lacks one
 * (exchange/mediator-notices.ts, README _Mediated exchange_; else `409 pause_consent`).
 * @param {View} v
 */
const consentsMissing = (v) =>
  SIDES.filter(
    (side) =>
      !v.consents.some((c) => c.party === v[side] && c.pauseId === null && c.withdrawnAt === null),
  );

/**
 * Why the clocks cannot be paused yet, naming the party or parties whose consent is missing.
 * @param {View} v
 * @param {readonly ('requester' | 'responder')[]} missing
 */
const pauseNeeds = (v, missing) =>
  missing.length === 1 && missing[0]
    ? t('overview:mediated.notices.send.pauseNeeds.one', { party: partyOnSide(v, missing[0]) })
    : t('overview:mediated.notices.send.pauseNeeds.both', {
        requester: partyOnSide(v, 'requester'),
        responder: partyOnSide(v, 'responder'),
      });

/** @param {Message} m @param {View} v */
const sender = (m, v) =>
  m.from === 'requester'
    ? t('overview:mediated.from.requester', { party: v.requester })
    : t('overview:mediated.from.responder', { party: v.responder });

/** The state of a notice, as a badge (coloured as a relayed message's of the same fate). */
const NOTICE_BADGE = {
  pending: 'message-in_transit',
  delivered: 'message-received',
  refused: 'message-refused',
  given_up: 'message-refused',
};

/** @param {Notice} n */
const noticeBadge = (n) =>
  h(
    'span',
    { class: `badge notice-${n.state} ${NOTICE_BADGE[n.state]}` },
    t(`overview:mediated.notices.state.${n.state}`),
  );

/** @param {Notice} n */
const noticeAction = (n) => [
  t(`overview:mediated.notices.action.${n.action}`),
  n.deadline
    ? [
        h('br'),
        h(
          'span',
          { class: 'muted deadline-kind' },
          t(`overview:mediated.notices.deadline.${n.deadline}`),
        ),
      ]
    : null,
];

/**
 * What the page says once the node took a notice to send.
 * @param {NoticeInput} input
 * @param {View} v
 */
function noticeSent(input, v) {
  if (input.action !== 'reminder') return t(`overview:mediated.notices.sent.${input.action}`);
  const party = input.to === 'requester' ? v.requester : v.responder;
  return t(`overview:mediated.notices.sent.reminder.${input.deadline}`, { party });
}

/**
 * `/dashboard/mediated/:id`: one request this node relays, as both parties show it, its deadlines
 * (and this node's pauses of both clocks), the notices it sent the parties with the buttons that
 * send more, the parties' consents to a pause it holds, and the messages relayed about it, in the
 * order this node took them.
 * @param {import('./types.js').ViewContext} ctx
 * @param {string} id
 */
export function mediatedPage(ctx, id) {
  const problem = h('div', { class: 'problem-slot' });
  const updated = h('p', { class: 'updated' }, t('overview:mediated.page.loading'));
  const facts = h('div');
  const deadlinesBox = h('div');
  const pausesBox = h('div', { class: 'pauses' });
  const messagesBox = h('div');
  const noticesBox = h('div', { id: 'mediated-notice-list' });
  const consentsBox = h('div', { id: 'mediated-consents' });

  // The buttons are made once and put in or taken out as the request changes (a `hidden` button
  // would still show: the style sheet gives buttons a display of their own); the one a keyboard
  // user pressed keeps the focus across refreshes (its `data-focus-key`).
  /** @type {View | undefined} */
  let current;
  let busy = false;
  const reminderHelp = h('p', { class: 'help', id: 'notice-reminder-help' });
  /** Why Pause is not available yet: whose consent is missing (it takes the focus from Resume). */
  const pauseHelp = h('p', { class: 'help', id: 'notice-pause-help', tabindex: '-1' });
  /**
   * @param {string} key
   * @param {string} text
   * @param {(v: View) => NoticeInput} input
   * @param {string} [describedBy]
   */
  const noticeButton = (key, text, input, describedBy) =>
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        'data-notice': key,
        'data-focus-key': `notice-${key}`,
        'aria-describedby': describedBy,
        onclick: () => {
          if (current) void send(input(current));
        },
      },
      text,
    );
  const pauseButton = noticeButton('pause', t('overview:mediated.notices.send.pause'), () => ({
    action: 'pause',
  }));
  const resumeButton = noticeButton('resume', t('overview:mediated.notices.send.resume'), () => ({
    action: 'resume',
  }));
  const remindRequester = noticeButton(
    'remind-requester',
    t('overview:mediated.notices.send.remindRequester'),
    (v) => ({ action: 'reminder', deadline: remindedDeadline(v), to: 'requester' }),
    reminderHelp.id,
  );
  const remindResponder = noticeButton(
    'remind-responder',
    t('overview:mediated.notices.send.remindResponder'),
    (v) => ({ action: 'reminder', deadline: remindedDeadline(v), to: 'responder' }),
    reminderHelp.id,
  );
  const noticeButtons = h('div', {
    class: 'action-buttons',
    role: 'group',
    'aria-label': t('overview:mediated.notices.send.group'),
  });
  /** The buttons that fit the request now, or why no notice can be sent. */
  const noticeControls = h('div', { class: 'notice-controls' });
  /** What the controls show: which buttons and which deadline (redrawn when it changes). */
  let controlsDrawn = '';
  /** What the node did with the last notice sent (said out loud through ctx.announce). */
  const noticeOutcome = h('p', { class: 'action-outcome' });
  /** The node's refusal of a notice, or why it was not sent. */
  const noticeProblem = h('div', { class: 'problem-slot' });
  render(
    ctx.main,
    h(
      'p',
      { class: 'crumbs' },
      h('a', { href: '/dashboard/mediated' }, t('overview:mediated.detail.back')),
    ),
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: '-1' }, t('overview:mediated.detail.heading', { id })),
      updated,
    ),
    problem,
    facts,
    section(
      t('overview:mediated.detail.deadlines.title'),
      'mediated-deadlines',
      h('div', {}, deadlinesBox, pausesBox),
      t('overview:mediated.detail.deadlines.help'),
    ),
    section(
      t('overview:mediated.notices.title'),
      'mediated-notices',
      h('div', {}, noticeControls, noticeProblem, noticeOutcome, noticesBox, consentsBox),
      t('overview:mediated.notices.help'),
    ),
    section(
      t('overview:mediated.detail.messages.title'),
      'mediated-messages',
      messagesBox,
      t('overview:mediated.detail.messages.help'),
    ),
  );

  let drawn = '';
  /** The two states last shown, to say out loud when they change. */
  let states = '';

  /** @param {View} v */
  function drawFacts(v) {
    /** @param {string} term @param {import('./dom.js').Children} value @param {string} [key] */
    const row = (term, value, key) =>
      h('div', key ? { 'data-fact': key } : {}, h('dt', {}, term), h('dd', {}, value));
    render(
      facts,
      h(
        'dl',
        { class: 'facts' },
        row(t('overview:mediated.detail.facts.kind'), label(KIND_LABEL, v.type)),
        row(t('overview:mediated.detail.facts.priority'), label(PRIORITY_LABEL, v.priority)),
        row(t('overview:mediated.detail.facts.requester'), v.requester),
        row(t('overview:mediated.detail.facts.responder'), v.responder),
        row(
          t('overview:mediated.detail.facts.asRequester'),
          statusBadge(v.asRequester),
          'as-requester',
        ),
        row(
          t('overview:mediated.detail.facts.asResponder'),
          statusBadge(v.asResponder),
          'as-responder',
        ),
        row(t('overview:mediated.detail.facts.transit'), transitMark(v), 'transit'),
        row(t('overview:mediated.detail.facts.receipt'), time(v.receiptAt)),
        row(
          t('overview:mediated.detail.facts.overdue'),
          v.overdue ? overdueBadge(v) : t('overview:mediated.detail.notOverdue'),
          'overdue',
        ),
        row(t('overview:mediated.detail.facts.lastActivity'), time(v.lastActivityAt)),
      ),
    );
  }

  /** @param {View} v */
  function drawDeadlines(v) {
    if (!v.policyKnown) {
      render(
        deadlinesBox,
        h('p', { class: 'empty' }, t('overview:mediated.deadline.notCountedTitle')),
      );
      return;
    }
    const bind = binding(v);
    const rows = v.deadlines.map((d) =>
      h(
        'tr',
        { 'data-deadline': d.kind, class: d.overdue ? 'overdue-row' : null },
        h('th', { scope: 'row' }, label(DEADLINE_LABEL, d.kind)),
        h('td', {}, time(d.countsFrom, { compact: true })),
        h('td', {}, d.clockStopped && bind.includes(d) ? dash() : time(d.dueAt, { compact: true })),
        h('td', {}, d.answeredAt ? time(d.answeredAt, { compact: true }) : dash()),
        h('td', { 'data-state': '' }, deadlineState(d, v)),
      ),
    );
    render(
      deadlinesBox,
      table(
        t('overview:mediated.detail.deadlines.caption'),
        [
          t('overview:mediated.detail.deadlines.columns.deadline'),
          t('overview:mediated.detail.deadlines.columns.countsFrom'),
          t('overview:mediated.detail.deadlines.columns.due'),
          t('overview:mediated.detail.deadlines.columns.met'),
          t('overview:mediated.detail.deadlines.columns.state'),
        ],
        rows,
        { empty: t('overview:mediated.detail.deadlines.empty'), captionHidden: true },
      ),
    );
  }

  /** @param {View} v */
  function drawPauses(v) {
    if (!v.pauses.length) {
      render(pausesBox);
      return;
    }
    render(
      pausesBox,
      h('h3', {}, t('overview:mediated.pauses.title')),
      h(
        'ul',
        {},
        v.pauses.map((p) =>
          h(
            'li',
            { 'data-pause-id': p.pauseId, 'data-open': p.to === null ? 'true' : null },
            p.to === null
              ? withNode((from) => t('overview:mediated.pauses.open', { from }), time(p.from))
              : withTwoNodes(
                  (from, to) => t('overview:mediated.pauses.closed', { from, to }),
                  time(p.from),
                  time(p.to),
                ),
            p.counted ? null : [' ', h('em', {}, t('overview:mediated.pauses.notCounted'))],
            !p.counted && p.takenBy.length === 1
              ? [
                  ' ',
                  h('em', {}, t('overview:mediated.pauses.takenOnlyBy', { party: p.takenBy[0] })),
                ]
              : null,
          ),
        ),
      ),
    );
  }

  /** @param {View} v */
  function drawNotices(v) {
    const rows = v.notices.map((n) =>
      h(
        'tr',
        {
          'data-msg-id': n.msgId,
          'data-action': n.action,
          'data-side': n.side,
          'data-state': n.state,
        },
        h('td', {}, noticeAction(n)),
        h(
          'td',
          {},
          n.side === 'requester'
            ? t('overview:mediated.from.requester', { party: n.to })
            : t('overview:mediated.from.responder', { party: n.to }),
        ),
        h('td', {}, time(n.createdAt, { compact: true })),
        h('td', {}, n.at ? time(n.at, { compact: true }) : dash()),
        h('td', { 'data-notice-state': '' }, noticeBadge(n)),
        h('td', {}, n.receivedAt ? time(n.receivedAt, { compact: true }) : dash()),
        h('td', { class: 'mono' }, n.code ?? dash()),
      ),
    );
    render(
      noticesBox,
      table(
        t('overview:mediated.notices.caption'),
        [
          t('overview:mediated.notices.columns.action'),
          t('overview:mediated.notices.columns.to'),
          t('overview:mediated.notices.columns.signed'),
          t('overview:mediated.notices.columns.at'),
          t('overview:mediated.notices.columns.state'),
          t('overview:mediated.notices.columns.received'),
          t('overview:mediated.notices.columns.code'),
        ],
        rows,
        { empty: t('overview:mediated.notices.empty'), captionHidden: true },
      ),
    );
  }

  /**
   * The parties' consents to a pause this node holds, in the order they came: whose, when, and
   * the pause that carried it, if one did.
   * @param {View} v
   */
  function drawConsents(v) {
    /** @param {Consent} c */
    const sideOf = (c) =>
      c.party === v.requester ? 'requester' : c.party === v.responder ? 'responder' : null;
    /** @param {Consent} c */
    const use = (c) => {
      if (c.pauseId === null && c.withdrawnAt !== null)
        return withNode(
          (at) => t('overview:mediated.notices.consents.withdrawn', { at }),
          time(c.withdrawnAt, { compact: true }),
        );
      if (c.pauseId === null) return t('overview:mediated.notices.consents.unused');
      const pause = v.pauses.find((p) => p.pauseId === c.pauseId);
      return pause
        ? withNode(
            (from) => t('overview:mediated.notices.consents.usedBy', { from }),
            time(pause.from, { compact: true }),
          )
        : t('overview:mediated.notices.consents.used');
    };
    const rows = v.consents.map((c) => {
      const side = sideOf(c);
      return h(
        'tr',
        {
          'data-msg-id': c.msgId,
          'data-side': side,
          'data-used': c.pauseId === null ? 'false' : 'true',
          'data-withdrawn': c.withdrawnAt === null ? 'false' : 'true',
        },
        h('td', {}, side ? partyOnSide(v, side) : c.party),
        h('td', {}, time(c.receivedAt, { compact: true })),
        h('td', {}, use(c)),
      );
    });
    render(
      consentsBox,
      h('h3', { id: 'mediated-consents-title' }, t('overview:mediated.notices.consents.title')),
      h('p', { class: 'help' }, t('overview:mediated.notices.consents.help')),
      table(
        t('overview:mediated.notices.consents.caption'),
        [
          t('overview:mediated.notices.consents.columns.party'),
          t('overview:mediated.notices.consents.columns.received'),
          t('overview:mediated.notices.consents.columns.pause'),
        ],
        rows,
        { empty: t('overview:mediated.notices.consents.empty'), captionHidden: true },
      ),
    );
  }

  /**
   * Shows the buttons that fit the request now: pause or resume, and the reminders (of the
   * deadline that still binds); none once it ended or before it reached the responder. Pause is
   * there but disabled, with whose consent is missing, until this node holds an unused consent of
   * each party.
   * @param {View} v
   */
  function drawNoticeControls(v) {
    const allowed = noticesAllowed(v);
    const open = openPause(v) !== undefined;
    const missing = open ? [] : consentsMissing(v);
    const deadline = remindedDeadline(v);
    const shown = allowed
      ? `${open ? 'resume' : `pause ${missing.join('+')}`} ${deadline}`
      : v.asResponder === null
        ? 'not-reached'
        : 'ended';
    if (shown === controlsDrawn) return;
    controlsDrawn = shown;
    // The button pressed may go (pause gives way to resume): the focus goes to its successor, or
    // to why it cannot be pressed yet.
    const focused = document.activeElement;
    reminderHelp.textContent = t(`overview:mediated.notices.send.reminderOf.${deadline}`);
    const canPause = !open && missing.length === 0;
    pauseButton.disabled = !canPause;
    if (canPause) pauseButton.removeAttribute('aria-describedby');
    else pauseButton.setAttribute('aria-describedby', pauseHelp.id);
    pauseHelp.textContent = missing.length ? pauseNeeds(v, missing) : '';
    render(noticeButtons, open ? resumeButton : pauseButton, remindRequester, remindResponder);
    render(
      noticeControls,
      allowed
        ? [noticeButtons, missing.length ? pauseHelp : null, reminderHelp]
        : h(
            'p',
            { class: 'help' },
            v.asResponder === null
              ? t('overview:mediated.notices.closed.notReached')
              : t('overview:mediated.notices.closed.ended'),
          ),
    );
    if (focused === pauseButton && open) resumeButton.focus();
    else if (focused === resumeButton && !open) (canPause ? pauseButton : pauseHelp).focus();
  }

  /**
   * Sends the parties a notice; the node's refusal (`invalid_state`: the request changed since
   * the page last showed it) shows as an alert, and the page fetches the request again at once.
   * @param {NoticeInput} input
   */
  async function send(input) {
    if (busy || !current) return;
    const v = current;
    busy = true;
    noticeButtons.setAttribute('aria-busy', 'true');
    render(noticeProblem);
    render(noticeOutcome);
    try {
      await callApi('POST', `/v1/mediated/${encodeURIComponent(id)}/notices`, { json: input });
      const said = noticeSent(input, v);
      render(noticeOutcome, said);
      ctx.announce(said);
    } catch (err) {
      if (ctx.sessionLost(err)) return;
      render(
        noticeProblem,
        h(
          'p',
          { class: 'error', role: 'alert' },
          err instanceof ApiError
            ? t('overview:mediated.notices.refused', {
                code: err.code ?? err.status,
                message: err.message,
              })
            : t('overview:mediated.notices.notSent', {
                reason: err instanceof Error ? err.message : String(err),
              }),
        ),
      );
    } finally {
      busy = false;
      noticeButtons.removeAttribute('aria-busy');
    }
    refreshNow();
  }

  /** @param {View} v */
  function drawMessages(v) {
    const ordered = [...v.messages].sort(
      (x, y) => Date.parse(x.relayedAt) - Date.parse(y.relayedAt) || x.seq - y.seq,
    );
    const rows = ordered.map((m) =>
      h(
        'tr',
        { 'data-msg-id': m.msgId, 'data-state': m.state },
        h('td', {}, label(MESSAGE_KIND_LABEL, m.kind)),
        h('td', {}, sender(m, v)),
        h('td', { class: 'num' }, formatNumber(m.seq)),
        h('td', {}, time(m.sentAt, { compact: true })),
        h('td', {}, time(m.relayedAt, { compact: true })),
        h('td', {}, m.receivedAt ? time(m.receivedAt, { compact: true }) : dash()),
        h(
          'td',
          {},
          h(
            'span',
            { class: `badge message-${m.state}` },
            t(`overview:mediated.messageState.${m.state}`),
          ),
        ),
        h('td', {}, effectText(m)),
      ),
    );
    render(
      messagesBox,
      table(
        t('overview:mediated.detail.messages.caption'),
        [
          t('overview:mediated.detail.messages.columns.kind'),
          t('overview:mediated.detail.messages.columns.from'),
          t('overview:mediated.detail.messages.columns.seq'),
          t('overview:mediated.detail.messages.columns.sent'),
          t('overview:mediated.detail.messages.columns.relayed'),
          t('overview:mediated.detail.messages.columns.received'),
          t('overview:mediated.detail.messages.columns.state'),
          t('overview:mediated.detail.messages.columns.effect'),
        ],
        rows,
        { empty: t('overview:mediated.detail.messages.empty'), captionHidden: true },
      ),
    );
  }

  async function tick() {
    /** @type {View} */
    let v;
    try {
      v = /** @type {View} */ (await getJson(`/v1/mediated/${encodeURIComponent(id)}`));
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.code === 'schema_invalid')) {
        render(
          problem,
          h('p', { class: 'error', role: 'alert' }, t('overview:mediated.detail.notFound')),
        );
        return;
      }
      throw err;
    }
    current = v;
    const key = JSON.stringify(v);
    if (key !== drawn) {
      drawFacts(v);
      drawDeadlines(v);
      drawPauses(v);
      drawNoticeControls(v);
      drawNotices(v);
      drawConsents(v);
      drawMessages(v);
      drawn = key;
    }
    const now = `${v.asRequester} ${v.asResponder}`;
    if (states && states !== now)
      ctx.announce(
        t('overview:mediated.announce.states', {
          requester: label(STATUS_LABEL, v.asRequester),
          responder:
            v.asResponder === null
              ? t('overview:mediated.notReached')
              : label(STATUS_LABEL, v.asResponder),
        }),
      );
    states = now;
    updated.replaceChildren(
      t('overview:mediated.page.updated'),
      time(new Date().toISOString(), { short: true }),
    );
    render(problem);
  }

  let stop = pollWithAlert(ctx, tick, problem, refreshFailed);
  /** Fetches the request now (after a notice was sent), then every few seconds as before. */
  function refreshNow() {
    stop();
    stop = pollWithAlert(ctx, tick, problem, refreshFailed);
  }
  return () => stop();
}
