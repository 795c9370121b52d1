/* global fetch, document, URL */
// What was said about a request, for its officers: the clarification questions asked and the
// answers given, and the responses with their records and files, ours and the partner's, oldest
// first (the request detail's `messages`, which the node gives officers only:
// domain/access-policy.ts). A record is shown member by member as the node's schema names them;
// a geometry by its type and size (the map shows it); each file by name, type and SHA-256, with a
// button that downloads it as the signed-in user.
import { ApiError, token } from './api.js';
import { h, render, time } from './dom.js';
import { t } from './i18n.js';
import { humanize } from './record-form.js';

/** @typedef {import('./types.js').RequestDetail} RequestDetail */
/** @typedef {NonNullable<RequestDetail['messages']>[number]} Message */

/** @param {unknown} v @returns {v is Record<string, unknown>} */
const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

const GEOMETRY = /^(Multi)?(Point|LineString|Polygon)$/;

/**
 * How many positions a geometry's coordinates hold.
 * @param {unknown} c
 * @returns {number}
 */
function positions(c) {
  if (!Array.isArray(c)) return 0;
  if (!Array.isArray(c[0])) return 1;
  let n = 0;
  for (const x of /** @type {unknown[]} */ (c)) n += positions(x);
  return n;
}

/** A scalar in words ('' for anything else). */
const text = (/** @type {unknown} */ v) =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

/**
 * A file a record names, with a button that fetches it as the user (session cookie or token) and
 * saves it under its name.
 * @param {Record<string, unknown>} a
 */
function attachment(a) {
  const ref = text(a.ref);
  const name = text(a.file_name) || ref;
  const said = h('span', { class: 'muted', role: 'status' });
  const download = async () => {
    render(said, t('request:conversation.downloading'));
    /** @type {Record<string, string>} */
    const headers = {};
    const bearer = token.get();
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    try {
      const res = await fetch(`/v1/attachments/${ref}`, {
        headers,
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (!res.ok) throw new ApiError(res.status, {});
      const url = URL.createObjectURL(await res.blob());
      const link = h('a', { href: url, download: name });
      document.body.append(link);
      link.click();
      link.remove();
      URL.revokeObjectURL(url);
      render(said, t('request:conversation.downloaded'));
    } catch (err) {
      render(
        said,
        t('request:conversation.notDownloaded', {
          error: err instanceof Error ? err.message : String(err),
        }),
      );
    }
  };
  return h(
    'li',
    { class: 'attachment', 'data-digest': ref.replace('sha256:', '') },
    h('strong', {}, name),
    ` (${text(a.media_type)})`,
    typeof a.description === 'string' ? ` ${a.description}` : '',
    h(
      'div',
      {},
      `${t('request:conversation.digest')} `,
      h('code', { class: 'attachment-digest' }, ref.replace('sha256:', '')),
    ),
    h(
      'button',
      { type: 'button', class: 'secondary small', onclick: () => void download() },
      t('request:conversation.download'),
      h('span', { class: 'visually-hidden' }, ` ${name}`),
    ),
    ' ',
    said,
  );
}

/**
 * A value of a record in words: scalars as they are, lists of scalars joined, geometries by type
 * and size, objects and lists of objects as nested terms.
 * @param {string} key
 * @param {unknown} v
 * @returns {import('./dom.js').Children}
 */
function valueOf(key, v) {
  if (v === null || v === undefined) return '—';
  if (typeof v !== 'object') return text(v);
  if (isObject(v) && typeof v.type === 'string' && GEOMETRY.test(v.type))
    return [
      `${t('request:conversation.geometry', { type: v.type, count: positions(v.coordinates) })} `,
      h(
        'details',
        {},
        h('summary', {}, t('request:conversation.geojson')),
        h('pre', { class: 'mono' }, JSON.stringify(v)),
      ),
    ];
  if (key === 'attachments' && Array.isArray(v))
    return h('ul', { class: 'attachment-list' }, v.filter(isObject).map(attachment));
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x !== 'object' || x === null)) return v.map(text).join(', ');
    return h(
      'ol',
      {},
      v.map((x) => h('li', {}, isObject(x) ? terms(x) : valueOf('', x))),
    );
  }
  return terms(/** @type {Record<string, unknown>} */ (v));
}

/** @param {Record<string, unknown>} o */
const terms = (o) =>
  h(
    'dl',
    { class: 'record-terms' },
    Object.entries(o).map(([k, v]) =>
      h('div', {}, h('dt', {}, humanize(k)), h('dd', {}, valueOf(k, v))),
    ),
  );

/**
 * One message: who said what, when.
 * @param {Message} m
 * @param {string} partner
 */
function message(m, partner) {
  const ours = m.from === 'us';
  const body = m.body;
  /** @param {unknown} v */
  const list = (v) => (Array.isArray(v) ? v.map((x) => h('li', {}, String(x))) : []);
  if (m.kind === 'clarification_request')
    return h(
      'li',
      { 'data-kind': m.kind, 'data-msg': m.msgId },
      h(
        'p',
        {},
        h(
          'strong',
          {},
          ours
            ? t('request:conversation.weAsked')
            : t('request:conversation.partnerAsked', { partner }),
        ),
        ' ',
        time(m.at),
      ),
      h('ol', { class: 'questions' }, list(body.questions)),
    );
  if (m.kind === 'clarification')
    return h(
      'li',
      { 'data-kind': m.kind, 'data-msg': m.msgId },
      h(
        'p',
        {},
        h(
          'strong',
          {},
          ours
            ? t('request:conversation.weAnswered')
            : t('request:conversation.partnerAnswered', { partner }),
        ),
        ' ',
        time(m.at),
      ),
      h('ol', { class: 'answers' }, list(body.answers)),
    );
  const records = Array.isArray(body.records) ? body.records.filter(isObject) : [];
  const outcomes = Array.isArray(body.outcomes) ? body.outcomes.filter(isObject) : [];
  return h(
    'li',
    { 'data-kind': m.kind, 'data-msg': m.msgId },
    h(
      'p',
      {},
      h(
        'strong',
        {},
        body.final === true
          ? ours
            ? t('request:conversation.finalWeSent')
            : t('request:conversation.finalFrom', { partner })
          : ours
            ? t('request:conversation.partialWeSent')
            : t('request:conversation.partialFrom', { partner }),
      ),
      ' ',
      time(m.at),
      `: ${t('request:conversation.records', { count: records.length })}`,
    ),
    typeof body.note === 'string' ? h('p', { class: 'note' }, body.note) : null,
    outcomes.length
      ? h(
          'ul',
          { class: 'outcomes' },
          outcomes.map((o) =>
            h(
              'li',
              {},
              `${String(o.item_id)}: ${t(`request:conversation.outcome.${String(o.outcome)}`, {
                defaultValue: String(o.outcome).replaceAll('_', ' '),
              })}`,
              typeof o.reason === 'string' ? ` (${o.reason})` : '',
            ),
          ),
        )
      : null,
    records.map((r, i) =>
      h(
        'details',
        { class: 'record', 'data-record': text(r.record_id) || String(i), open: true },
        h(
          'summary',
          {},
          t('request:conversation.record', { id: text(r.record_id) || String(i + 1) }),
        ),
        terms(r),
      ),
    ),
  );
}

/**
 * The panel: empty until the detail has messages.
 * @param {import('./types.js').ViewContext} _ctx
 */
export function conversationPanel(_ctx) {
  const box = h('div');
  const panel = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'conversation-title', id: 'conversation' },
    h('h2', { id: 'conversation-title' }, t('request:conversation.heading')),
    box,
  );
  let drawn = '';
  return {
    panel,
    /** @param {RequestDetail} d */
    update(d) {
      const key = JSON.stringify(d.messages ?? []);
      if (key === drawn) return;
      drawn = key;
      const messages = d.messages ?? [];
      render(
        box,
        messages.length
          ? h(
              'ol',
              { class: 'conversation' },
              messages.map((m) => message(m, d.counterparty)),
            )
          : h('p', { class: 'empty' }, t('request:conversation.empty')),
      );
    },
  };
}
