// Charts drawn by the page itself: bar lists in HTML and CSS, one line chart in inline SVG. No
// chart library is installed on the node, and these three shapes need none. Every chart carries
// its figures as text beside the drawing, so it reads the same with a screen reader or no colour.
import { h, svg } from './dom.js';
import { formatNumber, t } from './i18n.js';

/**
 * A chart in a `<figure>` with its caption and an optional note under it.
 * @param {string} caption
 * @param {import('./dom.js').Children} body
 * @param {string} [note]
 */
export function figure(caption, body, note) {
  return h(
    'figure',
    { class: 'chart' },
    h('figcaption', {}, caption),
    body,
    note ? h('p', { class: 'note' }, note) : null,
  );
}

/**
 * A bar whose length is a share of its track (0…1); drawn only, the figure is in the text beside.
 * @param {number} fraction
 * @param {string} cls
 */
function fill(fraction, cls) {
  const el = h('span', { class: `bar-fill ${cls}` });
  el.style.width = `${(Math.max(0, Math.min(1, fraction)) * 100).toFixed(2)}%`;
  return el;
}

/**
 * Horizontal bars, one a row: a label, the bar, and the value in words.
 * @param {{ label: string; fraction: number | null; text: string; cls?: string }[]} rows
 */
export function barList(rows) {
  return h(
    'ul',
    { class: 'bars' },
    rows.map((r) =>
      h(
        'li',
        { class: 'bar-row' },
        h('span', { class: 'bar-label' }, r.label),
        h(
          'span',
          { class: 'bar-track', 'aria-hidden': 'true' },
          r.fraction === null ? null : fill(r.fraction, r.cls ?? ''),
        ),
        h('span', { class: 'bar-value' }, r.text),
      ),
    ),
  );
}

/**
 * A distribution summarised by its quantiles, one row each: a dark bar to the median and a light
 * one on to the 90th percentile, on a scale shared by all rows (the longest 90th percentile).
 * @param {{ label: string; median: number | null; p90: number | null; text: string }[]} rows
 */
export function quantileList(rows) {
  const max = Math.max(1, ...rows.map((r) => r.p90 ?? r.median ?? 0));
  return h(
    'ul',
    { class: 'bars' },
    rows.map((r) =>
      h(
        'li',
        { class: 'bar-row' },
        h('span', { class: 'bar-label' }, r.label),
        h(
          'span',
          { class: 'bar-track stacked', 'aria-hidden': 'true' },
          r.p90 === null ? null : fill(r.p90 / max, 'p90'),
          r.median === null ? null : fill(r.median / max, 'median'),
        ),
        h('span', { class: 'bar-value' }, r.text),
      ),
    ),
  );
}

/**
 * Lines over time on a shared vertical scale from 0, with a legend that gives each line's last
 * value. A single sample draws as a flat line across the chart.
 * @param {{ name: string; cls: string; points: { t: number; v: number }[] }[]} series
 * @param {{ ariaLabel: string; formatTime: (t: number) => string }} opts
 */
export function lineChart(series, opts) {
  const width = 600;
  const height = 160;
  const pad = 6;
  const times = series.flatMap((s) => s.points.map((p) => p.t));
  if (times.length === 0) return h('p', { class: 'empty' }, t('chart.noSamples'));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const vmax = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.v)));
  /** @param {number} t */
  const x = (t) => (t1 === t0 ? 0 : ((t - t0) / (t1 - t0)) * width);
  /** @param {number} v */
  const y = (v) => height - pad - (v / vmax) * (height - 2 * pad);
  /** @param {{ t: number; v: number }[]} points */
  const path = (points) => {
    const xy = points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
    const last = points.at(-1);
    if (t1 === t0 && last) xy.push(`${width},${y(last.v).toFixed(1)}`);
    return xy.join(' ');
  };
  return h(
    'div',
    { class: 'line-chart' },
    h(
      'div',
      { class: 'plot' },
      h('span', { class: 'y-max', 'aria-hidden': 'true' }, formatNumber(vmax)),
      svg(
        'svg',
        {
          viewBox: `0 0 ${width} ${height}`,
          preserveAspectRatio: 'none',
          role: 'img',
          'aria-label': opts.ariaLabel,
        },
        [0, 0.5, 1].map((f) =>
          svg('line', {
            class: 'grid',
            x1: 0,
            x2: width,
            y1: y(f * vmax),
            y2: y(f * vmax),
            'vector-effect': 'non-scaling-stroke',
          }),
        ),
        series.map((s) =>
          svg('polyline', {
            class: `line ${s.cls}`,
            points: path(s.points),
            fill: 'none',
            'vector-effect': 'non-scaling-stroke',
          }),
        ),
      ),
      h(
        'div',
        { class: 'x-axis', 'aria-hidden': 'true' },
        h('span', {}, opts.formatTime(t0)),
        h('span', {}, opts.formatTime(t1)),
      ),
    ),
    h(
      'ul',
      { class: 'legend' },
      series.map((s) =>
        h(
          'li',
          {},
          h('span', { class: `swatch ${s.cls}`, 'aria-hidden': 'true' }),
          t('chart.legend', { name: s.name, value: formatNumber(s.points.at(-1)?.v ?? 0) }),
        ),
      ),
    ),
  );
}
