/* global document, HTMLElement, CSS */
// Small DOM helpers. Elements are built from data, never from HTML strings, so no text the API
// returns can turn into markup; and the formats every view shares (times, durations, labels), in
// the chosen language (i18n.js, the `common` catalog).
import { dateFormat, formatNumber, t } from './i18n.js';

/** @typedef {string | number | Node | null | undefined | false} Child */
/** Children as a tree of lists, three deep (as deep as the views nest them). */
/** @typedef {Child | Array<Child | Array<Child | Array<Child>>>} Children */
/** @typedef {Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>} Attrs */

/**
 * @param {Node} parent
 * @param {Children[]} children
 */
function append(parent, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, /** @type {Children[]} */ (c));
    else parent.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/**
 * @param {Element} el
 * @param {Attrs} attrs
 */
function setAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
}

/**
 * An HTML element: `h('a', { href: '/x' }, 'text')`. Attributes named `on…` with a function are
 * event listeners; `false`, `null` and `undefined` attributes and children are left out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Children} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/**
 * An SVG element.
 * @param {string} tag
 * @param {Attrs} [attrs]
 * @param {...Children} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}, ...children) {
  const el = /** @type {SVGElement} */ (
    document.createElementNS('http://www.w3.org/2000/svg', tag)
  );
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/**
 * Replaces what a live region shows. Polling redraws lists every few seconds; a keyboard user who
 * had tabbed to a link in one would otherwise be thrown back to the top of the page, so the
 * element with the same `data-focus-key` gets the focus back.
 * @param {Element} container
 * @param {...Children} children
 */
export function render(container, ...children) {
  const active = document.activeElement;
  const key =
    active instanceof HTMLElement && container.contains(active)
      ? active.dataset.focusKey
      : undefined;
  const fragment = document.createDocumentFragment();
  append(fragment, children);
  container.replaceChildren(fragment);
  if (key) {
    const again = container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (again instanceof HTMLElement) again.focus();
  }
}

/**
 * A translated sentence with an element in it: `text` gets a mark to pass as the element's
 * placeholder, e.g. `(mark) => t('frame.noscript', { link: mark })`, and the element goes where
 * the mark comes back.
 * @param {(mark: string) => string} text
 * @param {Node} node
 * @returns {Children}
 */
export function withNode(text, node) {
  const mark = '\u0001';
  const [before, after = ''] = text(mark).split(mark);
  return [before, node, after];
}

/** Formats made when used: the language is chosen after this module loads, and may change. */
const DATE_TIME = /** @type {const} */ ({ dateStyle: 'medium', timeStyle: 'medium' });
const TIME_ONLY = /** @type {const} */ ({ timeStyle: 'medium' });
const COMPACT = /** @type {const} */ ({
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
/** As `Date.prototype.toLocaleString` writes an instant, in the chosen language. */
const FULL = /** @type {const} */ ({
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});

/**
 * A `<time>` in the reader's time zone; the exact instant stays in `datetime` and the tooltip.
 * @param {string | null | undefined} iso
 * @param {{ short?: boolean; compact?: boolean }} [opts] `short`: the time of day only, when the
 *   date is obvious; `compact`: no year, for table cells
 */
export function time(iso, opts = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const format = dateFormat(opts.short ? TIME_ONLY : opts.compact ? COMPACT : DATE_TIME);
  return h('time', { datetime: iso, title: iso }, format.format(new Date(iso)));
}

/**
 * A duration in words a person reads at a glance: `4 s`, `3 min 10 s`, `2 h 5 min`, `3 d 4 h`.
 * @param {number} seconds
 */
export function duration(seconds) {
  let s = Math.round(Math.abs(seconds));
  if (s < 60) return t('duration.s', { n: formatNumber(s) });
  const units = /** @type {const} */ ([
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
    ['s', 1],
  ]);
  const parts = [];
  for (const [unit, size] of units) {
    if (s >= size) {
      parts.push(t(`duration.${unit}`, { n: formatNumber(Math.floor(s / size)) }));
      s %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

/**
 * How far an instant is from now, in words: `in 3 s`, `5 min ago`.
 * @param {string} iso
 * @param {number} nowMs
 */
export function relative(iso, nowMs) {
  const diff = (Date.parse(iso) - nowMs) / 1000;
  return diff >= 0
    ? t('relative.in', { duration: duration(diff) })
    : t('relative.ago', { duration: duration(diff) });
}

/**
 * A table of labels for a set of values, whose texts are looked up in the chosen language each
 * time one is read (`labels[value]`, `Object.entries(labels)`).
 * @param {string[]} values
 * @param {(value: string) => string} text
 * @returns {Record<string, string>}
 */
function labelTable(values, text) {
  /** @type {Record<string, string>} */
  const labels = {};
  for (const value of values)
    Object.defineProperty(labels, value, { enumerable: true, get: () => text(value) });
  return labels;
}

export const STATUS_LABEL = labelTable(
  [
    'submitted',
    'delivered',
    'acknowledged',
    'partially_answered',
    'answered',
    'closed',
    'declined',
    'withdrawn',
  ],
  (s) => t(`status.${s}`),
);
export const STATUSES = Object.keys(STATUS_LABEL);
/** Statuses in which a request still waits for someone. */
export const OPEN_STATUSES = ['submitted', 'delivered', 'acknowledged', 'partially_answered'];

export const KIND_LABEL = labelTable(
  ['mine_map', 'grave_information', 'identification_result'],
  (k) => t(`kind.${k}`),
);
export const KINDS = Object.keys(KIND_LABEL);

export const PRIORITY_LABEL = labelTable(['routine', 'urgent', 'critical'], (p) =>
  t(`priority.${p}`),
);
export const PRIORITIES = Object.keys(PRIORITY_LABEL);

export const DIRECTION_LABEL = labelTable(['outgoing', 'incoming'], (d) => t(`direction.${d}`));

export const DEADLINE_LABEL = labelTable(['acknowledgement', 'response'], (d) =>
  t(`deadline.${d}`),
);

/** The kinds of signed messages, as a noun in a sentence ("our withdrawal"). */
export const MESSAGE_KIND_LABEL = labelTable(
  [
    'request',
    'acknowledgement',
    'clarification_request',
    'clarification',
    'extension_request',
    'extension_decision',
    'response',
    'decline',
    'withdrawal',
    'closure',
    'reminder',
  ],
  (k) => t(`messageKind.${k}`),
);

/**
 * Why the partner refused one of our messages, in one sentence.
 * @param {{ kind: string | null; code: string }} refusal
 */
export const refusalSentence = (refusal) =>
  refusal.kind
    ? t('refusal.ofKind', { what: label(MESSAGE_KIND_LABEL, refusal.kind), code: refusal.code })
    : t('refusal.ofMessage', { code: refusal.code });

/**
 * A label for a value of one of the maps above, or the value itself.
 * @param {Record<string, string>} labels
 * @param {string} value
 */
export const label = (labels, value) => labels[value] ?? value.replaceAll('_', ' ');

/** How long a message of ours may wait for the partner before lists mark its request. */
export const UNDELIVERED_MARK_AFTER_MS = 60_000;

/**
 * What a view or list item says of our messages the partner has not accepted yet: the request's
 * view lists them (`undelivered`, oldest first), a list item may give the oldest's time only.
 * @typedef {{ counterparty?: string; undelivered?: { since: string }[];
 *   undeliveredSince?: string | null }} Undelivered
 */

/**
 * When the oldest of our messages about a request that the partner has not accepted yet was
 * signed, or null when none is waiting.
 * @param {Undelivered} r
 */
export const oldestUndelivered = (r) => r.undelivered?.[0]?.since ?? r.undeliveredSince ?? null;

/**
 * A status as a badge, with the overdue flag beside it (overdue is not a status of its own), a
 * mark when the partner refused one of our messages about the request, and one when a message of
 * ours has waited for the partner longer than `pendingAfterMs` (the partner does not show this
 * status yet).
 * @param {{ status: string; overdue?: boolean; escalationLevel?: number;
 *   partnerRefusal?: { code: string } | null } & Undelivered} r
 * @param {{ pendingAfterMs?: number }} [opts] the request's page marks at once; lists after a minute
 */
export function statusBadges(r, opts = {}) {
  const oldest = oldestUndelivered(r);
  const pendingSince =
    oldest !== null &&
    Date.now() - Date.parse(oldest) >= (opts.pendingAfterMs ?? UNDELIVERED_MARK_AFTER_MS)
      ? oldest
      : null;
  const since = pendingSince ? dateFormat(FULL).format(new Date(pendingSince)) : '';
  return h(
    'span',
    { class: 'badges' },
    h('span', { class: `badge status-${r.status}` }, label(STATUS_LABEL, r.status)),
    r.overdue
      ? h(
          'span',
          { class: 'badge overdue' },
          r.escalationLevel
            ? t('badge.overdueLevel', { level: formatNumber(r.escalationLevel) })
            : t('badge.overdue'),
        )
      : null,
    r.partnerRefusal
      ? h(
          'span',
          {
            class: 'badge refused',
            title: t('badge.refusedTitle', { code: r.partnerRefusal.code }),
          },
          t('badge.refused'),
        )
      : null,
    pendingSince
      ? h(
          'span',
          {
            class: 'badge pending-at-partner',
            title: r.counterparty
              ? t('badge.pendingTitle', { partner: r.counterparty, since })
              : t('badge.pendingTitleNoParty', { since }),
          },
          t('badge.pending'),
        )
      : null,
  );
}

/**
 * A link to a request's page, keeping the focus across redraws.
 * @param {string} id
 */
export function requestLink(id) {
  return h(
    'a',
    { href: `/dashboard/requests/${id}`, class: 'mono', 'data-focus-key': `request-${id}` },
    id,
  );
}

/**
 * A table with a caption and header cells, for lists whose rows are already built.
 * @param {string} caption
 * @param {string[]} headers
 * @param {HTMLTableRowElement[]} rows
 * @param {{ empty?: string; captionHidden?: boolean }} [opts]
 */
export function table(caption, headers, rows, opts = {}) {
  if (rows.length === 0) {
    const empty = h('p', { class: 'empty' }, opts.empty ?? t('table.empty'));
    return opts.captionHidden ? empty : h('div', {}, h('p', { class: 'caption' }, caption), empty);
  }
  return h(
    'div',
    // Scrolls sideways on narrow screens; focusable so a keyboard can scroll it too.
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    h(
      'table',
      {},
      h('caption', { class: opts.captionHidden ? 'visually-hidden' : null }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h('tbody', {}, rows),
    ),
  );
}

/**
 * The badge of a response clock that stands still: an open clarification question stops it (if
 * the policy says so), and the due time moves until the question is answered, so a due time shown
 * then would be a past one that means nothing.
 */
export const clockStoppedBadge = () =>
  h(
    'span',
    {
      class: 'badge clock-stopped',
      title: t('clock.stoppedTitle'),
    },
    t('clock.stopped'),
  );

/** The steps a request waits for (the supervisor API's `nextStep.action`), as what is to be done. */
export const NEXT_STEP_LABEL = labelTable(
  ['answer_clarification', 'decide_extension', 'acknowledge', 'respond_final', 'close_accepted'],
  (a) => t(`nextStep.action.${a}`),
);

/**
 * Who owes the request's next step, in words: "Us (party-a): answer the clarification question",
 * "Partner (party-b): acknowledge the request"; a dash when nobody does.
 * @param {import('./types.js').SupervisorItem['nextStep'] | undefined} step
 */
export function nextStepText(step) {
  if (!step) return h('span', { class: 'muted' }, '—');
  return h(
    'span',
    { class: `next-step by-${step.by}` },
    h('strong', {}, step.by === 'us' ? t('nextStep.us') : t('nextStep.partner')),
    t('nextStep.detail', { party: step.party, action: label(NEXT_STEP_LABEL, step.action) }),
  );
}
