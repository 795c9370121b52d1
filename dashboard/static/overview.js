/* global document, location, history, sessionStorage, FormData, HTMLSelectElement */
// The supervisors' overview: every request at a glance, from the supervisor read API. Lists show
// where a request stands and its deadlines, never its subject (which may name people), as the
// API itself leaves it out. Filters live in the URL, so a view can be bookmarked and shared.
// Requests whose message the partner refused have their own list: the message had no effect.
// Items whose oldest message not yet accepted by the partner (`undeliveredSince`, when the
// supervisor API gives it) is over a minute old are marked "Pending at partner" (statusBadges).
// The overdue and upcoming lists say who owes the next step (us or the partner, named: the API's
// `nextStep`), and a response clock stopped by an open question shows as "Clock stopped", not as
// a past due time.
import { ApiError, getJson, queryString } from './api.js';
import { barList, figure, lineChart, quantileList } from './charts.js';
import {
  clockStoppedBadge,
  DEADLINE_LABEL,
  DIRECTION_LABEL,
  duration,
  h,
  KIND_LABEL,
  KINDS,
  label,
  MESSAGE_KIND_LABEL,
  nextStepText,
  OPEN_STATUSES,
  PRIORITIES,
  PRIORITY_LABEL,
  relative,
  render,
  requestLink,
  STATUS_LABEL,
  STATUSES,
  statusBadges,
  table,
  time,
} from './dom.js';
import { dateFormat, formatNumber, t } from './i18n.js';
import { pollWithAlert } from './live.js';

/** @typedef {import('./types.js').Summary} Summary */
/** @typedef {import('./types.js').SupervisorItem} Item */
/** @typedef {import('./types.js').SupervisorPage} Page */
/** @typedef {import('./types.js').SecurityAlert} SecurityAlert */
/** @typedef {import('./types.js').DashboardNotification} Notification */

/** The filters a view can carry in its URL; the names are those of the supervisor API. */
const FILTERS = /** @type {const} */ ([
  'status',
  'kind',
  'partner',
  'priority',
  'overdue',
  'refused',
]);
/** @typedef {Partial<Record<(typeof FILTERS)[number], string>>} Filters */

const PAGE = 50;
const MAX_PAGE = 200;
/** Samples of the open counts kept for the chart: half an hour at one every 2.5 s. */
const HISTORY_SAMPLES = 720;

/** @returns {Filters} */
function filtersFromUrl() {
  const q = new URLSearchParams(location.search);
  /** @type {Filters} */
  const f = {};
  for (const name of FILTERS) {
    const v = q.get(name);
    if (v) f[name] = v;
  }
  return f;
}

/**
 * Which deadline an overdue request missed and by how long: the earliest one that still binds
 * (the acknowledgement while only delivered, the response until answered) and has passed.
 * @param {Item} r
 * @param {number} now
 */
function missed(r, now) {
  /** @type {[string, string][]} */
  const binding = [];
  if (r.status === 'delivered' && r.ackDueAt) binding.push(['acknowledgement', r.ackDueAt]);
  // A stopped response clock has no due time that passes: its stored one moves when it runs.
  if (
    OPEN_STATUSES.includes(r.status) &&
    r.status !== 'submitted' &&
    r.responseDueAt &&
    !r.clockStopped
  )
    binding.push(['response', r.responseDueAt]);
  const passed = binding
    .filter(([, due]) => Date.parse(due) <= now)
    .sort((a, b) => Date.parse(a[1]) - Date.parse(b[1]));
  const [deadline, dueAt] = passed[0] ?? ['response', r.responseDueAt ?? r.ackDueAt ?? r.createdAt];
  return { deadline, dueAt, lateMs: now - Date.parse(dueAt) };
}

/**
 * @param {string} text
 * @returns {unknown}
 */
const parseJson = (text) => JSON.parse(text);

/**
 * The open counts of each summary, kept in the tab's storage: the summary is a snapshot, and
 * this is how the chart shows it over time (since this tab started watching, not before).
 * @param {string} partyId
 * @param {Summary} s
 */
function recordSample(partyId, s) {
  const key = `parley.dashboard.open-history.${partyId}`;
  /** @type {{ t: number; counts: Record<string, number> }[]} */
  let samples;
  try {
    samples = /** @type {typeof samples} */ (parseJson(sessionStorage.getItem(key) ?? '[]'));
  } catch {
    samples = [];
  }
  const at = Date.parse(s.asOf);
  if (samples.at(-1)?.t !== at) {
    /** @type {Record<string, number>} */
    const counts = {};
    for (const status of OPEN_STATUSES)
      counts[status] = /** @type {Record<string, number>} */ (s.byStatus)[status] ?? 0;
    samples.push({ t: at, counts });
    samples = samples.slice(-HISTORY_SAMPLES);
    sessionStorage.setItem(key, JSON.stringify(samples));
  }
  return samples;
}

/**
 * A `<select>` of one filter, with "any" first.
 * @param {string} name
 * @param {string} text
 * @param {[string, string][]} options value and label
 * @param {string | undefined} selected
 */
function select(name, text, options, selected) {
  const id = `filter-${name}`;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, text),
    h(
      'select',
      { id, name },
      [['', t('overview:filters.any')], ...options].map(([value, shown]) =>
        h('option', { value, selected: value === (selected ?? '') }, shown),
      ),
    ),
  );
}

/**
 * @param {string} title
 * @param {string} id
 * @param {HTMLElement} body
 * @param {import('./dom.js').Children} [intro]
 */
function section(title, id, body, intro) {
  return h(
    'section',
    { class: 'panel', id, 'aria-labelledby': `${id}-title` },
    h('h2', { id: `${id}-title` }, title),
    intro ?? null,
    body,
  );
}

/** @param {Record<string, number>} counts @param {Record<string, string>} labels */
const countRows = (counts, labels) =>
  Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, label(labels, k)),
        h('td', { class: 'num' }, formatNumber(n)),
      ),
    );

/**
 * A share (0…1) as a whole percentage, in the page's language: rounded first, so the English
 * figure is the one it always was (`67%`).
 * @param {number} fraction
 */
const percent = (fraction) => formatNumber(Math.round(fraction * 100) / 100, { style: 'percent' });

/** @param {number | null} seconds */
const maybeDuration = (seconds) => (seconds === null ? '—' : duration(seconds));

/** @param {import('./types.js').ViewContext} ctx */
export function overview(ctx) {
  let filters = filtersFromUrl();
  let limit = PAGE;
  /** @type {number | undefined} */
  let lastOverdue;

  const updated = h('p', { class: 'updated' }, t('overview:page.loading'));
  const problem = h('div', { class: 'problem-slot' });
  const glance = h('div');
  const charts = h('div', { class: 'charts' });
  const overdueBox = h('div');
  const refusedBox = h('div');
  const upcomingBox = h('div');
  const listBox = h('div');
  const countsBox = h('div', { class: 'counts' });
  const alertsBox = h('div');
  const notificationsBox = h('div');

  const partnerSelect = () => document.getElementById('filter-partner');
  const form = h(
    'form',
    {
      class: 'filters',
      method: 'get',
      action: '/dashboard',
      onsubmit: (e) => {
        e.preventDefault();
        const data = new FormData(/** @type {HTMLFormElement} */ (e.currentTarget));
        /** @type {Record<string, string>} */
        const q = {};
        for (const name of FILTERS) {
          const v = data.get(name);
          if (typeof v === 'string' && v) q[name] = v;
        }
        // The view stays; only its URL and data change, so the focus stays on the button.
        history.pushState(null, '', `/dashboard${queryString(q)}`);
        filters = filtersFromUrl();
        limit = PAGE;
        restart();
      },
    },
    h(
      'fieldset',
      {},
      h('legend', {}, t('overview:filters.legend')),
      select(
        'status',
        t('overview:filters.status'),
        STATUSES.map((s) => [s, label(STATUS_LABEL, s)]),
        filters.status,
      ),
      select(
        'kind',
        t('overview:filters.kind'),
        KINDS.map((k) => [k, label(KIND_LABEL, k)]),
        filters.kind,
      ),
      select(
        'partner',
        t('overview:filters.partner'),
        filters.partner ? [[filters.partner, filters.partner]] : [],
        filters.partner,
      ),
      select(
        'priority',
        t('overview:filters.priority'),
        PRIORITIES.map((p) => [p, label(PRIORITY_LABEL, p)]),
        filters.priority,
      ),
      select(
        'overdue',
        t('overview:filters.overdue'),
        [
          ['true', t('overview:filters.overdueOnly')],
          ['false', t('overview:filters.notOverdue')],
        ],
        filters.overdue,
      ),
      select(
        'refused',
        t('overview:filters.refused'),
        [
          ['true', t('overview:filters.refusedOnly')],
          ['false', t('overview:filters.notRefused')],
        ],
        filters.refused,
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit' }, t('overview:filters.apply')),
        h('a', { href: '/dashboard', class: 'button secondary' }, t('overview:filters.clear')),
      ),
    ),
  );

  render(
    ctx.main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: '-1' }, t('overview:page.title')),
      updated,
    ),
    problem,
    form,
    section(
      t('overview:glance.title'),
      'glance',
      glance,
      h('p', { class: 'help' }, t('overview:glance.help')),
    ),
    section(
      t('overview:overdue.title'),
      'overdue',
      overdueBox,
      h('p', { class: 'help' }, t('overview:overdue.help')),
    ),
    section(
      t('overview:refused.title'),
      'refused',
      refusedBox,
      h('p', { class: 'help' }, t('overview:refused.help')),
    ),
    section(t('overview:upcoming.title'), 'upcoming', upcomingBox),
    section(
      t('overview:notifications.title'),
      'notifications',
      notificationsBox,
      h('p', { class: 'help' }, t('overview:notifications.help')),
    ),
    section(
      t('overview:requests.title'),
      'requests',
      listBox,
      h('p', { class: 'help' }, t('overview:requests.help')),
    ),
    section(
      t('overview:charts.title'),
      'charts',
      charts,
      h('p', { class: 'help' }, t('overview:charts.help')),
    ),
    section(t('overview:counts.title'), 'counts', countsBox),
    section(t('overview:alerts.title'), 'alerts', alertsBox),
  );

  /** Partners come from the summary; the list is redrawn only while nobody is choosing in it. */
  function updatePartners(/** @type {string[]} */ partners) {
    const el = partnerSelect();
    if (!(el instanceof HTMLSelectElement) || document.activeElement === el) return;
    const wanted = ['', ...new Set([...partners, ...(filters.partner ? [filters.partner] : [])])];
    const have = [...el.options].map((o) => o.value);
    if (have.join() === wanted.join()) return;
    el.replaceChildren(
      ...wanted.map((p) =>
        h(
          'option',
          { value: p, selected: p === (filters.partner ?? '') },
          p || t('overview:filters.any'),
        ),
      ),
    );
  }

  /** @param {Summary} s */
  function drawGlance(s) {
    /** @type {Record<string, number>} */
    const byStatus = s.byStatus;
    const open = OPEN_STATUSES.reduce((n, st) => n + (byStatus[st] ?? 0), 0);
    /** @param {string} name @param {string} text @param {string} [cls] */
    const cardOf = (name, text, cls) =>
      h(
        'li',
        { class: `card ${cls ?? ''}` },
        h('span', { class: 'card-value' }, text),
        h('span', { class: 'card-label' }, name),
      );
    /** @param {string} name @param {number} value @param {string} [cls] */
    const card = (name, value, cls) => cardOf(name, formatNumber(value), cls);
    // Open requests already past their response deadline count as late (the API's `lateOpen`).
    /** @param {import('./types.js').Summary['onTime']['outgoing'] | undefined} o */
    const share = (o) => (o?.share === null || o === undefined ? '—' : percent(o.share));
    render(
      glance,
      h(
        'ul',
        { class: 'cards' },
        card(t('overview:glance.requests'), s.total),
        card(t('overview:glance.open'), open),
        card(t('overview:glance.overdue'), s.overdue.total, s.overdue.total ? 'alert' : ''),
        card(t('overview:glance.refused'), s.refusedByPartner, s.refusedByPartner ? 'alert' : ''),
        card(
          t('overview:glance.upcoming', {
            count: s.upcoming.days,
            days: formatNumber(s.upcoming.days),
          }),
          s.upcoming.count,
        ),
        cardOf(t('overview:glance.partnersOnTime'), share(s.onTime.outgoing)),
        cardOf(t('overview:glance.weOnTime'), share(s.onTime.incoming)),
      ),
    );
  }

  /** @param {Summary} s */
  function drawCharts(s) {
    const samples = recordSample(ctx.config.partyId, s);
    const series = OPEN_STATUSES.map((st, i) => ({
      name: label(STATUS_LABEL, st),
      cls: `series-${i + 1}`,
      points: samples.map((p) => ({ t: p.t, v: p.counts[st] ?? 0 })),
    }));
    const fmt = dateFormat({ timeStyle: 'medium' });
    // `answered` here counts the open requests already late too: they are late answers.
    /** @type {Map<string, { answered: number; onTime: number }>} */
    const perPartner = new Map(s.byPartner.map((p) => [p.partner, { answered: 0, onTime: 0 }]));
    for (const timing of s.timing) {
      const acc = perPartner.get(timing.partner) ?? { answered: 0, onTime: 0 };
      acc.answered += timing.onTime.answered + timing.onTime.lateOpen;
      acc.onTime += timing.onTime.onTime;
      perPartner.set(timing.partner, acc);
    }
    /** @param {'toAnswer' | 'toAcknowledge'} which */
    const quantiles = (which) =>
      s.timing
        .filter((timing) => timing[which].count > 0)
        .map((timing) => ({
          label: t('overview:charts.timing.label', {
            partner: timing.partner,
            kind: label(KIND_LABEL, timing.kind),
            direction: label(DIRECTION_LABEL, timing.direction).toLowerCase(),
          }),
          median: timing[which].medianSeconds,
          p90: timing[which].p90Seconds,
          text: t('overview:charts.timing.text', {
            median: maybeDuration(timing[which].medianSeconds),
            p90: maybeDuration(timing[which].p90Seconds),
            n: formatNumber(timing[which].count),
          }),
        }));
    const answer = quantiles('toAnswer');
    const ack = quantiles('toAcknowledge');
    render(
      charts,
      figure(
        t('overview:charts.open.title'),
        lineChart(series, {
          ariaLabel: t('overview:charts.open.now', {
            counts: series
              .map((x) =>
                t('overview:charts.open.count', {
                  status: x.name,
                  n: formatNumber(x.points.at(-1)?.v ?? 0),
                }),
              )
              .join(', '),
          }),
          formatTime: (ms) => fmt.format(ms),
        }),
        t('overview:charts.open.note'),
      ),
      figure(
        t('overview:charts.onTime.title'),
        perPartner.size
          ? barList(
              [...perPartner].map(([partner, v]) => ({
                label: partner,
                fraction: v.answered ? v.onTime / v.answered : null,
                text: v.answered
                  ? t('overview:charts.onTime.share', {
                      percent: percent(v.onTime / v.answered),
                      onTime: formatNumber(v.onTime),
                      answered: formatNumber(v.answered),
                    })
                  : t('overview:charts.onTime.none'),
                cls: v.answered && v.onTime / v.answered < 0.8 ? 'low' : '',
              })),
            )
          : h('p', { class: 'empty' }, t('overview:charts.onTime.empty')),
        t('overview:charts.onTime.note'),
      ),
      figure(
        t('overview:charts.answer.title'),
        answer.length
          ? quantileList(answer)
          : h('p', { class: 'empty' }, t('overview:charts.answer.empty')),
        t('overview:charts.answer.note'),
      ),
      figure(
        t('overview:charts.acknowledge.title'),
        ack.length
          ? quantileList(ack)
          : h('p', { class: 'empty' }, t('overview:charts.acknowledge.empty')),
        t('overview:charts.acknowledge.note'),
      ),
    );
  }

  /** @param {Summary} s */
  function drawCounts(s) {
    const levels = s.overdue.byEscalationLevel.map((l) =>
      h(
        'tr',
        {},
        h(
          'th',
          { scope: 'row' },
          l.level === 0
            ? t('overview:counts.notEscalated')
            : t('overview:counts.level', { level: formatNumber(l.level) }),
        ),
        h('td', { class: 'num' }, formatNumber(l.count)),
      ),
    );
    const partners = s.byPartner.map((p) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, p.partner),
        h('td', { class: 'num' }, formatNumber(p.count)),
      ),
    );
    const headers = ['', t('overview:counts.requests')];
    const empty = t('overview:counts.empty');
    render(
      countsBox,
      table(t('overview:counts.byStatus'), headers, countRows(s.byStatus, STATUS_LABEL), {
        empty,
      }),
      table(t('overview:counts.byKind'), headers, countRows(s.byKind, KIND_LABEL), { empty }),
      table(t('overview:counts.byPartner'), headers, partners, { empty }),
      table(t('overview:counts.byLevel'), ['', t('overview:counts.overdue')], levels, {
        empty: t('overview:counts.nothingOverdue'),
      }),
    );
  }

  /** @param {Item[]} items */
  function drawOverdue(items) {
    const now = Date.now();
    const rows = items
      .map((r) => ({ r, m: missed(r, now) }))
      .sort((a, b) => b.m.lateMs - a.m.lateMs)
      .map(({ r, m }) =>
        h(
          'tr',
          { 'data-request-id': r.id },
          h('td', {}, requestLink(r.id)),
          h('td', { class: 'late' }, duration(m.lateMs / 1000)),
          h('td', {}, label(DEADLINE_LABEL, m.deadline)),
          h('td', {}, time(m.dueAt, { compact: true })),
          h('td', {}, nextStepText(r.nextStep), r.clockStopped ? [' ', clockStoppedBadge()] : null),
          h('td', { class: 'num' }, formatNumber(r.escalationLevel)),
          h('td', {}, r.counterparty),
          h('td', {}, label(KIND_LABEL, r.type)),
          h('td', {}, label(PRIORITY_LABEL, r.priority)),
        ),
      );
    render(
      overdueBox,
      table(
        t('overview:overdue.caption'),
        [
          t('overview:overdue.columns.request'),
          t('overview:overdue.columns.lateBy'),
          t('overview:overdue.columns.missed'),
          t('overview:overdue.columns.wasDue'),
          t('overview:overdue.columns.nextStep'),
          t('overview:overdue.columns.level'),
          t('overview:overdue.columns.partner'),
          t('overview:overdue.columns.kind'),
          t('overview:overdue.columns.priority'),
        ],
        rows,
        {
          empty: t('overview:overdue.empty'),
          captionHidden: true,
        },
      ),
    );
  }

  /** @param {Item[]} items */
  function drawRefused(items) {
    const rows = items.flatMap((r) => {
      const refusal = r.partnerRefusal;
      if (!refusal) return [];
      return [
        h(
          'tr',
          { 'data-request-id': r.id },
          h('td', {}, requestLink(r.id)),
          h(
            'td',
            {},
            refusal.kind ? label(MESSAGE_KIND_LABEL, refusal.kind) : t('overview:refused.aMessage'),
          ),
          h('td', {}, h('code', {}, refusal.code)),
          h('td', {}, time(refusal.at, { compact: true })),
          h('td', {}, r.counterparty),
          h('td', {}, label(KIND_LABEL, r.type)),
          h('td', {}, statusBadges({ ...r, partnerRefusal: null })),
        ),
      ];
    });
    render(
      refusedBox,
      table(
        t('overview:refused.caption'),
        [
          t('overview:refused.columns.request'),
          t('overview:refused.columns.refused'),
          t('overview:refused.columns.code'),
          t('overview:refused.columns.when'),
          t('overview:refused.columns.partner'),
          t('overview:refused.columns.kind'),
          t('overview:refused.columns.status'),
        ],
        rows,
        { empty: t('overview:refused.empty'), captionHidden: true },
      ),
    );
  }

  /** @param {Summary} s */
  function drawUpcoming(s) {
    const now = Date.now();
    // The summary is a few seconds old: a deadline passed since is in the overdue list instead.
    const soonest = s.upcoming.soonest.filter(
      (u) =>
        Date.parse(u.dueAt) > now &&
        (!filters.status || filters.status.split(',').includes(u.status)) &&
        (!filters.kind || filters.kind.split(',').includes(u.type)) &&
        (!filters.partner || filters.partner.split(',').includes(u.counterparty)) &&
        (!filters.priority || filters.priority.split(',').includes(u.priority)) &&
        (!filters.overdue || String(u.overdue) === filters.overdue) &&
        (!filters.refused || String(u.partnerRefusal !== null) === filters.refused),
    );
    const rows = soonest.map((u) =>
      h(
        'tr',
        { 'data-request-id': u.id },
        // A stopped clock's due time moves until the question is answered: no time to count to.
        u.deadline === 'response' && u.clockStopped
          ? h('td', {}, clockStoppedBadge())
          : h('td', {}, relative(u.dueAt, now), h('br'), time(u.dueAt, { compact: true })),
        h('td', {}, label(DEADLINE_LABEL, u.deadline)),
        h('td', {}, nextStepText(u.nextStep)),
        h('td', {}, requestLink(u.id)),
        h('td', {}, u.counterparty),
        h('td', {}, label(KIND_LABEL, u.type)),
        h('td', {}, label(PRIORITY_LABEL, u.priority)),
      ),
    );
    render(
      upcomingBox,
      h(
        'p',
        { class: 'help' },
        t('overview:upcoming.help', {
          count: s.upcoming.count,
          n: formatNumber(s.upcoming.count),
          within: t('overview:upcoming.within', {
            count: s.upcoming.days,
            days: formatNumber(s.upcoming.days),
          }),
        }),
      ),
      table(
        t('overview:upcoming.caption'),
        [
          t('overview:upcoming.columns.due'),
          t('overview:upcoming.columns.deadline'),
          t('overview:upcoming.columns.nextStep'),
          t('overview:upcoming.columns.request'),
          t('overview:upcoming.columns.partner'),
          t('overview:upcoming.columns.kind'),
          t('overview:upcoming.columns.priority'),
        ],
        rows,
        {
          empty: t('overview:upcoming.empty'),
          captionHidden: true,
        },
      ),
    );
  }

  /** @param {Page} page */
  function drawList(page) {
    const rows = page.items.map((r) =>
      h(
        'tr',
        { 'data-request-id': r.id },
        h('td', {}, requestLink(r.id)),
        h('td', {}, time(r.createdAt, { compact: true })),
        h('td', {}, label(DIRECTION_LABEL, r.direction)),
        h('td', {}, r.counterparty),
        h('td', {}, label(KIND_LABEL, r.type)),
        h('td', {}, label(PRIORITY_LABEL, r.priority)),
        h('td', {}, statusBadges(r)),
        h(
          'td',
          {},
          r.clockStopped ? clockStoppedBadge() : time(r.responseDueAt, { compact: true }),
        ),
      ),
    );
    const more = page.nextCursor
      ? limit < MAX_PAGE
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              'data-focus-key': 'show-more',
              onclick: () => {
                limit = Math.min(MAX_PAGE, limit + PAGE);
                restart();
              },
            },
            t('overview:requests.showMore'),
          )
        : h('p', { class: 'help' }, t('overview:requests.limit', { max: formatNumber(MAX_PAGE) }))
      : null;
    render(
      listBox,
      table(
        t('overview:requests.caption'),
        [
          t('overview:requests.columns.request'),
          t('overview:requests.columns.created'),
          t('overview:requests.columns.direction'),
          t('overview:requests.columns.partner'),
          t('overview:requests.columns.kind'),
          t('overview:requests.columns.priority'),
          t('overview:requests.columns.status'),
          t('overview:requests.columns.responseDue'),
        ],
        rows,
        {
          empty: t('overview:requests.empty'),
          captionHidden: true,
        },
      ),
      more,
    );
  }

  /** @param {Notification[]} list */
  function drawNotifications(list) {
    const rows = list.map((n) =>
      h(
        'tr',
        { 'data-request-id': n.reqId },
        h('td', {}, time(n.at, { compact: true })),
        h(
          'td',
          { class: n.kind === 'escalation' || n.kind === 'message_refused' ? 'late' : null },
          n.kind === 'escalation'
            ? t('overview:notifications.escalation', { level: formatNumber(n.level) })
            : n.kind === 'deadline_near'
              ? t('overview:notifications.deadlineNear')
              : n.kind === 'message_refused'
                ? t('overview:notifications.messageRefused')
                : label({}, n.kind),
        ),
        h('td', {}, n.deadline ? label(DEADLINE_LABEL, n.deadline) : '—'),
        h('td', {}, time(n.dueAt, { compact: true })),
        h('td', {}, requestLink(n.reqId)),
        h('td', {}, n.counterparty),
        h('td', {}, label(KIND_LABEL, n.type)),
      ),
    );
    render(
      notificationsBox,
      table(
        t('overview:notifications.caption'),
        [
          t('overview:notifications.columns.when'),
          t('overview:notifications.columns.what'),
          t('overview:notifications.columns.deadline'),
          t('overview:notifications.columns.due'),
          t('overview:notifications.columns.request'),
          t('overview:notifications.columns.partner'),
          t('overview:notifications.columns.kind'),
        ],
        rows,
        {
          empty: t('overview:notifications.empty'),
          captionHidden: true,
        },
      ),
    );
  }

  /** @param {SecurityAlert[]} alerts */
  function drawAlerts(alerts) {
    const latest = alerts.slice(-20).reverse();
    const rows = latest.map((a) =>
      h(
        'tr',
        {},
        h('td', {}, time(a.at, { compact: true })),
        h('td', {}, label({}, a.kind)),
        h('td', {}, a.partyId ?? '—'),
      ),
    );
    render(
      alertsBox,
      alerts.length > latest.length
        ? h(
            'p',
            { class: 'help' },
            t('overview:alerts.latest', {
              shown: formatNumber(latest.length),
              total: formatNumber(alerts.length),
            }),
          )
        : null,
      table(
        t('overview:alerts.caption'),
        [
          t('overview:alerts.columns.when'),
          t('overview:alerts.columns.what'),
          t('overview:alerts.columns.party'),
        ],
        rows,
        { empty: t('overview:alerts.empty'), captionHidden: true },
      ),
    );
  }

  /**
   * @param {HTMLElement} box
   * @param {unknown} err
   */
  function drawError(box, err) {
    render(
      box,
      h(
        'p',
        { class: 'error' },
        err instanceof ApiError && err.status === 403
          ? t('overview:errors.forbidden')
          : t('overview:errors.load', {
              message: err instanceof Error ? err.message : String(err),
            }),
      ),
    );
  }

  async function tick() {
    const filterQuery = { ...filters };
    const overdueWanted = filters.overdue !== 'false';
    const refusedWanted = filters.refused !== 'false';
    const empty = Promise.resolve({ items: [], nextCursor: null });
    const [summary, page, overdue, refused, alerts, notes] = await Promise.allSettled([
      getJson('/v1/supervisor/summary'),
      getJson(`/v1/supervisor/requests${queryString({ ...filterQuery, limit })}`),
      overdueWanted
        ? getJson(
            `/v1/supervisor/requests${queryString({ ...filterQuery, overdue: 'true', sort: 'response_due_at', limit: MAX_PAGE })}`,
          )
        : empty,
      refusedWanted
        ? getJson(
            `/v1/supervisor/requests${queryString({ ...filterQuery, refused: 'true', limit: MAX_PAGE })}`,
          )
        : empty,
      getJson('/v1/audit/alerts'),
      getJson('/dashboard/notifications.json'),
    ]);
    for (const r of [summary, page, overdue, refused, alerts, notes])
      if (r.status === 'rejected' && ctx.sessionLost(r.reason)) return;

    if (summary.status === 'fulfilled') {
      const s = /** @type {Summary} */ (summary.value);
      updatePartners(s.byPartner.map((p) => p.partner));
      drawGlance(s);
      drawCharts(s);
      drawCounts(s);
      drawUpcoming(s);
      updated.replaceChildren(
        t('overview:page.updated'),
        time(new Date().toISOString(), { short: true }),
        t('overview:page.asOf'),
        time(s.asOf, { short: true }),
      );
      if (lastOverdue !== undefined && lastOverdue !== s.overdue.total)
        ctx.announce(
          t('overview:announce.overdue', {
            count: s.overdue.total,
            n: formatNumber(s.overdue.total),
          }),
        );
      lastOverdue = s.overdue.total;
    } else {
      for (const box of [glance, charts, countsBox, upcomingBox]) drawError(box, summary.reason);
    }
    if (page.status === 'fulfilled') drawList(/** @type {Page} */ (page.value));
    else drawError(listBox, page.reason);
    if (overdue.status === 'fulfilled') {
      if (overdueWanted) drawOverdue(/** @type {Page} */ (overdue.value).items);
      else render(overdueBox, h('p', { class: 'empty' }, t('overview:overdue.filteredOut')));
    } else drawError(overdueBox, overdue.reason);
    if (refused.status === 'fulfilled') {
      if (refusedWanted) drawRefused(/** @type {Page} */ (refused.value).items);
      else render(refusedBox, h('p', { class: 'empty' }, t('overview:refused.filteredOut')));
    } else drawError(refusedBox, refused.reason);
    if (alerts.status === 'fulfilled')
      drawAlerts(/** @type {{ alerts: SecurityAlert[] }} */ (alerts.value).alerts);
    else drawError(alertsBox, alerts.reason);
    if (notes.status === 'fulfilled')
      drawNotifications(
        /** @type {{ notifications: Notification[] }} */ (notes.value).notifications,
      );
    else drawError(notificationsBox, notes.reason);
    render(problem);
  }

  /** @type {() => void} */
  let stop = () => {};
  function restart() {
    stop();
    stop = pollWithAlert(ctx, tick, problem, (err) =>
      t('overview:errors.refresh', { message: String(err) }),
    );
  }
  // Back and forward between filter views go through the router, which draws the view anew.
  restart();
  return () => stop();
}
