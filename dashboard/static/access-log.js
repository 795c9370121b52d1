// The read audit of one request, for admins: who read its content (subject, records, files,
// messages, full evidence), with which roles, when and through which route. Ids and part names
// only, never what was read. From `GET /v1/admin/access-log?request=<id>`; the request page shows
// this panel to admins only (the route answers nobody else).
import { getJson, queryString } from './api.js';
import { h, label, render, table, time } from './dom.js';
import { POLL_MS, poll } from './live.js';

/** @typedef {import('../../schemas/access-log-api.js').AccessLogPage} AccessLogPage */
/** @typedef {import('../../schemas/access-log-api.js').AccessLogEntry} AccessLogEntry */

/** How many of the newest reads the panel lists. */
const SHOWN = 50;

/** @type {Record<string, string>} */
const ROUTE_LABEL = {
  'GET /v1/requests/:id': 'Request page',
  'GET /v1/requests/:id/geojson': 'GeoJSON export',
  'GET /v1/requests/:id/evidence': 'Evidence bundle',
  'GET /v1/messages/:ref': 'Stored message',
  'GET /v1/attachments/:id': 'File download',
  'GET /v1/admin/exchange/export': 'Exchange export',
  'POST /codec/decode': 'Temporal codec decode',
};

/** @type {Record<string, string>} */
const PART_LABEL = {
  subject: 'subject',
  outcomes: 'withheld reasons',
  message: 'message',
  attachment: 'file',
  records: 'records',
  evidence: 'full evidence',
  temporal_payloads: 'Temporal payloads',
  exchange_bundle: 'envelopes',
};

/** @param {AccessLogEntry} r */
const row = (r) =>
  h(
    'tr',
    { 'data-access-id': r.id },
    h('td', {}, time(r.at)),
    h(
      'td',
      {},
      h('span', { class: 'mono' }, r.sub),
      ' ',
      h('span', { class: 'muted' }, r.roles.join(', ')),
    ),
    h('td', {}, label(ROUTE_LABEL, r.route)),
    h('td', {}, r.parts.map((p) => label(PART_LABEL, p)).join(', ')),
    h('td', {}, r.ref ? h('span', { class: 'mono' }, r.ref.slice(0, 16)) : null),
  );

/**
 * The panel, kept up to date while the page is open.
 * @param {import('./types.js').ViewContext} ctx
 * @param {string} reqId
 * @returns {{ panel: HTMLElement; stop: () => void }}
 */
export function accessLogPanel(ctx, reqId) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const panel = h(
    'section',
    { class: 'panel access-log', 'aria-labelledby': 'access-log-title' },
    h('h2', { id: 'access-log-title' }, 'Who read this request'),
    h(
      'p',
      { class: 'help' },
      'Every read of its content (subject, records, files, messages, full evidence), newest first. Shown to admins only.',
    ),
    body,
  );
  let drawn = '';
  const stop = poll(
    async () => {
      const page = /** @type {AccessLogPage} */ (
        await getJson(`/v1/admin/access-log${queryString({ request: reqId, limit: SHOWN })}`)
      );
      const key = page.items.map((r) => r.id).join();
      if (key === drawn && drawn !== '') return;
      drawn = key || 'none';
      render(
        body,
        table(
          'Reads of this request’s content',
          ['When', 'Who', 'Through', 'What', 'Item'],
          page.items.map(row),
          {
            captionHidden: true,
            empty: 'Nobody has read this request’s content yet.',
          },
        ),
      );
    },
    {
      everyMs: POLL_MS * 2,
      onError: (err) => {
        if (!ctx.sessionLost(err))
          render(
            body,
            h(
              'p',
              { class: 'error', role: 'alert' },
              `Could not load the access log: ${String(err)}`,
            ),
          );
      },
    },
  );
  return { panel, stop };
}
