/* global history, FormData, location */
// On a mediator (README, _Mediated exchange_): the requests it relays between two parties, each
// as both parties show it, with its deadlines, overdue and escalation level; and one request's
// view with its deadlines and the messages relayed about it. From `GET /v1/mediated` and
// `GET /v1/mediated/:id` (supervisors, admins): ids, kinds, states, times and deadlines only, and
// the page asks for nothing more (a mediator holds no request of its own, and what it relays may
// be sealed). The two parties show different states while a message is in transit through this
// node: the list and the request's view mark it, with the state both reach once it arrives.
import { ApiError, getJson, queryString } from './api.js';
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
} from './dom.js';
import { formatNumber, t } from './i18n.js';
import { pollWithAlert } from './live.js';

/** @typedef {import('./types.js').MediatedRequestView} View */
/** @typedef {View['deadlines'][number]} Deadline */
/** @typedef {View['messages'][number]} Message */

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
    next.clockStopped ? clockStoppedBadge() : time(next.dueAt, { compact: true }),
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
  if (d.clockStopped) return clockStoppedBadge();
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

/** @param {Message} m @param {View} v */
const sender = (m, v) =>
  m.from === 'requester'
    ? t('overview:mediated.from.requester', { party: v.requester })
    : t('overview:mediated.from.responder', { party: v.responder });

/**
 * `/dashboard/mediated/:id`: one request this node relays, as both parties show it, its deadlines
 * and the messages relayed about it, in the order this node took them.
 * @param {import('./types.js').ViewContext} ctx
 * @param {string} id
 */
export function mediatedPage(ctx, id) {
  const problem = h('div', { class: 'problem-slot' });
  const updated = h('p', { class: 'updated' }, t('overview:mediated.page.loading'));
  const facts = h('div');
  const deadlinesBox = h('div');
  const messagesBox = h('div');
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
      deadlinesBox,
      t('overview:mediated.detail.deadlines.help'),
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
    const key = JSON.stringify(v);
    if (key !== drawn) {
      drawFacts(v);
      drawDeadlines(v);
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

  const stop = pollWithAlert(ctx, tick, problem, refreshFailed);
  return () => stop();
}
