/* global location, history, FormData, HTMLButtonElement */
// The officers' list: the requests they work on, from the officers' API (`GET /v1/requests`),
// with the subject's title, which officers may see and lists may show (it carries no personal
// data by rule). Filters live in the URL, as on the overview. A request with a message of ours the
// partner has not accepted for over a minute is marked "Pending at partner".
import { getJson, queryString } from './api.js';
import {
  DIRECTION_LABEL,
  h,
  KIND_LABEL,
  KINDS,
  label,
  PRIORITY_LABEL,
  render,
  requestLink,
  STATUS_LABEL,
  STATUSES,
  statusBadges,
  table,
  time,
} from './dom.js';
import { poll } from './live.js';

/** @typedef {import('./types.js').RequestView} RequestView */

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
      [['', 'Any'], ...options].map(([value, shown]) =>
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

  const updated = h('p', { class: 'updated' }, 'Loading…');
  const problem = h('div', { class: 'problem-slot' });
  const listBox = h('div');
  const partnerField = h('div');
  const drawPartnerField = () =>
    render(
      partnerField,
      select(
        'partner',
        'Partner',
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
      h('legend', {}, 'Filter the list'),
      select(
        'status',
        'Status',
        STATUSES.map((s) => [s, label(STATUS_LABEL, s)]),
        url.get('status'),
      ),
      select(
        'kind',
        'Kind',
        KINDS.map((k) => [k, label(KIND_LABEL, k)]),
        url.get('kind'),
      ),
      partnerField,
      select(
        'direction',
        'Direction',
        Object.entries(DIRECTION_LABEL).map(([k, v]) => [k, v]),
        url.get('direction'),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit' }, 'Apply filters'),
        h('a', { href: '/dashboard/requests', class: 'button secondary' }, 'Clear'),
      ),
    ),
  );

  render(
    ctx.main,
    h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'Requests'), updated),
    problem,
    form,
    h(
      'section',
      { class: 'panel', 'aria-labelledby': 'list-title' },
      h('h2', { id: 'list-title' }, 'Requests of this node'),
      listBox,
    ),
  );

  /** @param {RequestView[]} items */
  function drawList(items) {
    const rows = items.map((r) =>
      h(
        'tr',
        { 'data-request-id': r.id },
        h('td', {}, requestLink(r.id)),
        h('td', {}, r.subject ? r.subject.title : h('em', {}, 'Erased')),
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
        'Requests',
        [
          'Request',
          'Title',
          'Created',
          'Direction',
          'Partner',
          'Kind',
          'Priority',
          'Status',
          'Response due',
        ],
        rows,
        { empty: 'No request matches the filters.', captionHidden: true },
      ),
    );
  }

  let stop = poll(
    async () => {
      const { items } = /** @type {{ items: RequestView[] }} */ (
        await getJson(`/v1/requests${queryString(apiQuery)}`)
      );
      const before = partners.size;
      for (const r of items) partners.add(r.counterparty);
      if (partners.size !== before) drawPartnerField();
      drawList(items);
      updated.replaceChildren('Updated ', time(new Date().toISOString(), { short: true }));
      render(problem);
    },
    {
      onError: (err) => {
        if (!ctx.sessionLost(err))
          render(
            problem,
            h('p', { class: 'error', role: 'alert' }, `Could not refresh: ${String(err)}`),
          );
      },
    },
  );
  return () => stop();
}
