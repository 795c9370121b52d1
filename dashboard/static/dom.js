/* global document, HTMLElement, CSS */
// Small DOM helpers. Elements are built from data, never from HTML strings, so no text the API
// returns can turn into markup; and the formats every view shares (times, durations, labels).

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

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });
const compact = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/**
 * A `<time>` in the reader's time zone; the exact instant stays in `datetime` and the tooltip.
 * @param {string | null | undefined} iso
 * @param {{ short?: boolean; compact?: boolean }} [opts] `short`: the time of day only, when the
 *   date is obvious; `compact`: no year, for table cells
 */
export function time(iso, opts = {}) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const format = opts.short ? timeOnly : opts.compact ? compact : dateTime;
  return h('time', { datetime: iso, title: iso }, format.format(new Date(iso)));
}

/**
 * A duration in words a person reads at a glance: `4 s`, `3 min 10 s`, `2 h 5 min`, `3 d 4 h`.
 * @param {number} seconds
 */
export function duration(seconds) {
  let s = Math.round(Math.abs(seconds));
  if (s < 60) return `${s} s`;
  const units = /** @type {const} */ ([
    ['d', 86_400],
    ['h', 3_600],
    ['min', 60],
    ['s', 1],
  ]);
  const parts = [];
  for (const [unit, size] of units) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)} ${unit}`);
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
  return diff >= 0 ? `in ${duration(diff)}` : `${duration(diff)} ago`;
}

/** @type {Record<string, string>} */
export const STATUS_LABEL = {
  submitted: 'Submitted',
  delivered: 'Delivered',
  acknowledged: 'Acknowledged',
  partially_answered: 'Partially answered',
  answered: 'Answered',
  closed: 'Closed',
  declined: 'Declined',
  withdrawn: 'Withdrawn',
};
export const STATUSES = Object.keys(STATUS_LABEL);
/** Statuses in which a request still waits for someone. */
export const OPEN_STATUSES = ['submitted', 'delivered', 'acknowledged', 'partially_answered'];

/** @type {Record<string, string>} */
export const KIND_LABEL = {
  mine_map: 'Mine map',
  grave_information: 'Grave information',
  identification_result: 'Identification result',
};
export const KINDS = Object.keys(KIND_LABEL);

/** @type {Record<string, string>} */
export const PRIORITY_LABEL = { routine: 'Routine', urgent: 'Urgent', critical: 'Critical' };
export const PRIORITIES = Object.keys(PRIORITY_LABEL);

/** @type {Record<string, string>} */
export const DIRECTION_LABEL = { outgoing: 'Outgoing', incoming: 'Incoming' };

/** @type {Record<string, string>} */
export const DEADLINE_LABEL = { acknowledgement: 'Acknowledgement', response: 'Response' };

/** The kinds of signed messages, as a noun in a sentence ("our withdrawal"). */
/** @type {Record<string, string>} */
export const MESSAGE_KIND_LABEL = {
  request: 'request',
  acknowledgement: 'acknowledgement',
  clarification_request: 'clarification request',
  clarification: 'clarification',
  extension_request: 'extension request',
  extension_decision: 'extension decision',
  response: 'response',
  decline: 'decline',
  withdrawal: 'withdrawal',
  closure: 'closure',
  reminder: 'reminder',
};

/**
 * Why the partner refused one of our messages, in one sentence.
 * @param {{ kind: string | null; code: string }} refusal
 */
export const refusalSentence = (refusal) =>
  `The partner refused our ${refusal.kind ? label(MESSAGE_KIND_LABEL, refusal.kind) : 'message'} (${refusal.code}); it had no effect.`;

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
  const partner = r.counterparty ?? 'the partner';
  return h(
    'span',
    { class: 'badges' },
    h('span', { class: `badge status-${r.status}` }, label(STATUS_LABEL, r.status)),
    r.overdue
      ? h(
          'span',
          { class: 'badge overdue' },
          r.escalationLevel ? `Overdue · level ${r.escalationLevel}` : 'Overdue',
        )
      : null,
    r.partnerRefusal
      ? h(
          'span',
          {
            class: 'badge refused',
            title: `The partner refused a message (${r.partnerRefusal.code})`,
          },
          'Refused by partner',
        )
      : null,
    pendingSince
      ? h(
          'span',
          {
            class: 'badge pending-at-partner',
            title: `A message of ours has not been accepted by ${partner} since ${new Date(pendingSince).toLocaleString()}: ${partner} does not show this status yet`,
          },
          'Pending at partner',
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
    const empty = h('p', { class: 'empty' }, opts.empty ?? 'Nothing to show.');
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
      title:
        'A clarification question is open: the response clock stands still until it is answered',
    },
    'Clock stopped',
  );

/** The steps a request waits for (the supervisor API's `nextStep.action`), as what is to be done. */
/** @type {Record<string, string>} */
export const NEXT_STEP_LABEL = {
  answer_clarification: 'answer the clarification question',
  decide_extension: 'decide on the extension request',
  acknowledge: 'acknowledge the request',
  respond_final: 'give the final response',
  close_accepted: 'close the answered request',
};

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
    h('strong', {}, step.by === 'us' ? 'Us' : 'Partner'),
    ` (${step.party}): ${label(NEXT_STEP_LABEL, step.action)}`,
  );
}
