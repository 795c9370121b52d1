/* global location, history, FormData, HTMLButtonElement */
// The officers' list: the requests they work on, from the officers' API (`GET /v1/requests`),
// with the subject's title, which officers may see and lists may show (it carries no personal
// data by rule). Filters live in the URL, as on the overview. A request with a message of ours the
// partner has not accepted for over a minute is marked "Pending at partner". Above it, the work
// list: the requests where this party owes the next step (the list item's `nextStep`, computed by
// the node from the action table), incoming and outgoing apart, the soonest deadline first, the
// overdue ones marked; the same filters apply.
import { getJson, queryString } from './api.js';
import {
  DIRECTION_LABEL,
  h,
  KIND_LABEL,
  KINDS,
  label,
  NEXT_STEP_LABEL,
  PRIORITY_LABEL,
  render,
  requestLink,
  STATUS_LABEL,
  STATUSES,
  statusBadges,
  table,
  time,
} from './dom.js';
import { t } from './i18n.js';
import { pollWithAlert } from './live.js';

/** @typedef {import('./types.js').RequestListItem} RequestListItem */

/**
 * The deadline of the step we owe, if it has one of ours: the acknowledgement's or the response's.
 * Answering a question, deciding an extension and closing have none (the partner's clock waits).
 * @param {RequestListItem} r
 */
const dueOf = (r) =>
  r.nextStep?.action === 'acknowledge'
    ? r.ackDueAt
    : r.nextStep?.action === 'respond_final'
      ? r.responseDueAt
      : null;

/**
 * The requests waiting on us, soonest deadline first; those without a deadline of ours last, the
 * longest waiting first.
 * @param {RequestListItem[]} items
 */
export function workList(items) {
  const at = (/** @type {string | null} */ iso) => (iso ? Date.parse(iso) : Infinity);
  return items
    .filter((r) => r.nextStep?.by === 'us')
    .sort(
      (x, y) =>
        at(dueOf(x)) - at(dueOf(y)) ||
        Date.parse(x.updatedAt) - Date.parse(y.updatedAt) ||
        x.id.localeCompare(y.id),
    );
}

/** URL names (shared with the overview) and the officers' API names they map to. */
const FILTERS = /** @type {const} */ ([
  ['status', 'status'],
  ['kind', 'type'],
  ['partner', 'counterparty'],
  ['direction', 'direction'],
]);

/**
 * @param {string} name
 * @param {string} text
 * @param {[string, string][]} options
 * @param {string | null} selected
 */
function select(name, text, options, selected) {
  const id = `filter-${name}`;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, text),
    h(
      'select',
      { id, name, 'data-focus-key': id },
      [['', t('officer:filters.any')], ...options].map(([value, shown]) =>
        h('option', { value, selected: value === (selected ?? '') }, shown),
      ),
    ),
  );
}

/** @param {import('./types.js').ViewContext} ctx */
export function officerRequests(ctx) {
  const url = new URLSearchParams(location.search);
  /** @type {Record<string, string>} */
  const apiQuery = { limit: '200' };
  for (const [name, apiName] of FILTERS) {
    const v = url.get(name);
    if (v) apiQuery[apiName] = v;
  }
  /** Partners seen in the answers so far, offered in the partner filter. */
  const partners = new Set(url.get('partner') ? [/** @type {string} */ (url.get('partner'))] : []);

  const updated = h('p', { class: 'updated' }, t('officer:page.loading'));
  const problem = h('div', { class: 'problem-slot' });
  const listBox = h('div');
  const incomingBox = h('div');
  const outgoingBox = h('div');
  const partnerField = h('div');
  const drawPartnerField = () =>
    render(
      partnerField,
      select(
        'partner',
        t('officer:filters.partner'),
        [...partners].sort().map((p) => [p, p]),
        url.get('partner'),
      ),
    );
  drawPartnerField();

  const form = h(
    'form',
    {
      class: 'filters',
      method: 'get',
      action: '/dashboard/requests',
      onsubmit: (e) => {
        e.preventDefault();
        const data = new FormData(/** @type {HTMLFormElement} */ (e.currentTarget));
        /** @type {Record<string, string>} */
        const q = {};
        for (const [name] of FILTERS) {
          const v = data.get(name);
          if (typeof v === 'string' && v) q[name] = v;
        }
        history.pushState(null, '', `/dashboard/requests${queryString(q)}`);
        stop();
        stop = officerRequests(ctx);
        const again = ctx.main.querySelector('button[type="submit"]');
        if (again instanceof HTMLButtonElement) again.focus();
      },
    },
    h(
      'fieldset',
      {},
      h('legend', {}, t('officer:filters.legend')),
      select(
        'status',
        t('officer:filters.status'),
        STATUSES.map((s) => [s, label(STATUS_LABEL, s)]),
        url.get('status'),
      ),
      select(
        'kind',
        t('officer:filters.kind'),
        KINDS.map((k) => [k, label(KIND_LABEL, k)]),
        url.get('kind'),
      ),
      partnerField,
      select(
        'direction',
        t('officer:filters.direction'),
        Object.keys(DIRECTION_LABEL).map((d) => [d, label(DIRECTION_LABEL, d)]),
        url.get('direction'),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit' }, t('officer:filters.apply')),
        h(
          'a',
          { href: '/dashboard/requests', class: 'button secondary' },
          t('officer:filters.clear'),
        ),
      ),
    ),
  );

  render(
    ctx.main,
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: '-1' }, t('officer:page.title')),
      h('a', { href: '/dashboard/requests/new', class: 'button' }, t('officer:page.newRequest')),
      updated,
    ),
    problem,
    form,
    h(
      'section',
      { class: 'panel work-list', 'aria-labelledby': 'work-title' },
      h('h2', { id: 'work-title' }, t('officer:work.title')),
      h('p', { class: 'help' }, t('officer:work.help')),
      h(
        'section',
        { id: 'work-incoming', 'aria-labelledby': 'work-incoming-title' },
        h('h3', { id: 'work-incoming-title' }, t('officer:work.incoming.title')),
        incomingBox,
      ),
      h(
        'section',
        { id: 'work-outgoing', 'aria-labelledby': 'work-outgoing-title' },
        h('h3', { id: 'work-outgoing-title' }, t('officer:work.outgoing.title')),
        outgoingBox,
      ),
    ),
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'list-title' },
      h('h2', { id: 'list-title' }, t('officer:list.title')),
      listBox,
    ),
  );

  /**
   * One half of the work list.
   * @param {HTMLElement} box
   * @param {string} caption
   * @param {RequestListItem[]} items
   * @param {string} empty
   */
  function drawWork(box, caption, items, empty) {
    const now = Date.now();
    const rows = items.map((r) => {
      const due = dueOf(r);
      const late = due !== null && Date.parse(due) <= now;
      return h(
        'tr',
        { 'data-work-id': r.id, class: late || r.overdue ? 'overdue-row' : null },
        h('td', {}, requestLink(r.id)),
        h('td', {}, r.subject ? r.subject.title : h('em', {}, t('officer:erased'))),
        h('td', {}, r.counterparty),
        h('td', {}, label(KIND_LABEL, r.type)),
        h(
          'td',
          { class: 'next-step by-us' },
          r.nextStep ? label(NEXT_STEP_LABEL, r.nextStep.action) : '—',
        ),
        h(
          'td',
          { class: late ? 'late' : null },
          due
            ? time(due, { compact: true })
            : h('span', { class: 'muted' }, t('officer:work.noDeadline')),
          late ? [' ', h('span', { class: 'badge overdue' }, t('officer:work.overdue'))] : null,
        ),
        h('td', {}, statusBadges(r)),
      );
    });
    render(
      box,
      table(
        caption,
        [
          t('officer:work.columns.request'),
          t('officer:work.columns.title'),
          t('officer:work.columns.partner'),
          t('officer:work.columns.kind'),
          t('officer:work.columns.nextStep'),
          t('officer:work.columns.due'),
          t('officer:work.columns.status'),
        ],
        rows,
        { empty, captionHidden: true },
      ),
    );
  }

  /** @param {RequestListItem[]} items */
  function drawList(items) {
    const rows = items.map((r) =>
      h(
        'tr',
        { 'data-request-id': r.id },
        h('td', {}, requestLink(r.id)),
        h('td', {}, r.subject ? r.subject.title : h('em', {}, t('officer:erased'))),
        h('td', {}, time(r.createdAt, { compact: true })),
        h('td', {}, label(DIRECTION_LABEL, r.direction)),
        h('td', {}, r.counterparty),
        h('td', {}, label(KIND_LABEL, r.type)),
        h('td', {}, label(PRIORITY_LABEL, r.priority)),
        h('td', {}, statusBadges(r)),
        h('td', {}, time(r.responseDueAt, { compact: true })),
      ),
    );
    render(
      listBox,
      table(
        t('officer:list.caption'),
        [
          t('officer:list.columns.request'),
          t('officer:list.columns.title'),
          t('officer:list.columns.created'),
          t('officer:list.columns.direction'),
          t('officer:list.columns.partner'),
          t('officer:list.columns.kind'),
          t('officer:list.columns.priority'),
          t('officer:list.columns.status'),
          t('officer:list.columns.responseDue'),
        ],
        rows,
        { empty: t('officer:list.empty'), captionHidden: true },
      ),
    );
  }

  let stop = pollWithAlert(
    ctx,
    async () => {
      const { items } = /** @type {{ items: RequestListItem[] }} */ (
        await getJson(`/v1/requests${queryString(apiQuery)}`)
      );
      const before = partners.size;
      for (const r of items) partners.add(r.counterparty);
      if (partners.size !== before) drawPartnerField();
      const work = workList(items);
      drawWork(
        incomingBox,
        t('officer:work.incoming.caption'),
        work.filter((r) => r.direction === 'incoming'),
        t('officer:work.incoming.empty'),
      );
      drawWork(
        outgoingBox,
        t('officer:work.outgoing.caption'),
        work.filter((r) => r.direction === 'outgoing'),
        t('officer:work.outgoing.empty'),
      );
      drawList(items);
      updated.replaceChildren(
        t('officer:page.updated'),
        time(new Date().toISOString(), { short: true }),
      );
      render(problem);
    },
    problem,
    (err) => t('officer:errors.refresh', { message: String(err) }),
  );
  return () => stop();
}
