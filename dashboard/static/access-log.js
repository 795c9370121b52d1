// The read audit of one request, for admins: who read its content (subject, records, files,
// messages, full evidence), with which roles, when and through which route. Ids and part names
// only, never what was read. From `GET /v1/admin/access-log?request=<id>`; the request page shows
// this panel to admins only (the route answers nobody else).
import { getJson, queryString } from './api.js';
import { h, render, table, time } from './dom.js';
import { t } from './i18n.js';
import { POLL_MS, poll } from './live.js';

/** @typedef {import('../../schemas/access-log-api.js').AccessLogPage} AccessLogPage */
/** @typedef {import('../../schemas/access-log-api.js').AccessLogEntry} AccessLogEntry */

/** How many of the newest reads the panel lists. */
const SHOWN = 50;

/**
 * The routes a read goes through, each with its key under `overview:accessLog.route` (the route
 * itself is no key: it holds `:` and `/`).
 * @type {Record<string, string>}
 */
const ROUTE_KEY = {
  'GET /v1/requests/:id': 'request',
  'GET /v1/requests/:id/geojson': 'geojson',
  'GET /v1/requests/:id/evidence': 'evidence',
  'GET /v1/messages/:ref': 'message',
  'GET /v1/attachments/:id': 'attachment',
  'GET /v1/admin/exchange/export': 'exchangeExport',
  'POST /codec/decode': 'codecDecode',
};

/** The parts of a request a read touched, each with its key under `overview:accessLog.part`. */
const PARTS = [
  'subject',
  'outcomes',
  'message',
  'attachment',
  'records',
  'evidence',
  'temporal_payloads',
  'exchange_bundle',
];

/** @param {string} route */
const routeLabel = (route) => {
  const key = ROUTE_KEY[route];
  return key ? t(`overview:accessLog.route.${key}`) : route;
};

/** @param {string} part */
const partLabel = (part) =>
  PARTS.includes(part) ? t(`overview:accessLog.part.${part}`) : part.replaceAll('_', ' ');

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
    h('td', {}, routeLabel(r.route)),
    h('td', {}, r.parts.map(partLabel).join(', ')),
    h('td', {}, r.ref ? h('span', { class: 'mono' }, r.ref.slice(0, 16)) : null),
  );

/**
 * The panel, kept up to date while the page is open.
 * @param {import('./types.js').ViewContext} ctx
 * @param {string} reqId
 * @returns {{ panel: HTMLElement; stop: () => void }}
 */
export function accessLogPanel(ctx, reqId) {
  const body = h('div', {}, h('p', { class: 'muted' }, t('overview:accessLog.loading')));
  const panel = h(
    'section',
    { class: 'panel access-log', 'aria-labelledby': 'access-log-title' },
    h('h2', { id: 'access-log-title' }, t('overview:accessLog.title')),
    h('p', { class: 'help' }, t('overview:accessLog.help')),
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
          t('overview:accessLog.caption'),
          [
            t('overview:accessLog.columns.when'),
            t('overview:accessLog.columns.who'),
            t('overview:accessLog.columns.through'),
            t('overview:accessLog.columns.what'),
            t('overview:accessLog.columns.item'),
          ],
          page.items.map(row),
          {
            captionHidden: true,
            empty: t('overview:accessLog.empty'),
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
              t('overview:accessLog.error', { message: String(err) }),
            ),
          );
      },
    },
  );
  return { panel, stop };
}
