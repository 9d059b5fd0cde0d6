import type { LoadResult } from '../lib/load/runner.js'
import type { TimelinePoint } from '../lib/load/stats.js'
import { describeModel, fmtMs, requestTotals } from './load-summary.js'

/**
 * `game load --report FILE`: one self-contained HTML file that works offline. The charting library
 * (uPlot, pinned in package.json, ~50 kB minified) and its CSS are inlined, the run's figures are
 * embedded as JSON, and the page's script draws four charts: latency percentiles over time, throughput
 * (with errors and, open model, late requests), and the latency distribution. When it has drawn them
 * it sets `data-rendered` on <body> and writes what it drew (series per chart, painted pixels) into
 * #render-status, which the browser test reads. A pure renderer: the command reads the library from
 * node_modules and writes the file.
 */
export interface ChartLibrary {
  js: string
  css: string
}

function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

/** JSON safe inside <script>: no `</script>`, no `<!--`. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}

function table(head: string[], rows: (string | number)[][], numeric: number[] = []): string {
  const th = head.map((h, i) => `<th${numeric.includes(i) ? ' class="n"' : ''}>${esc(h)}</th>`).join('')
  const trs = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`,
    )
    .join('\n')
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`
}

/** The page's own script: builds the charts from DATA with uPlot, then reports what it drew. */
const PAGE_SCRIPT = `
(function () {
  var D = DATA;
  var width = Math.min(1100, document.body.clientWidth - 40);
  var t = D.timeline.map(function (p) { return p.t; });
  var col = function (k) { return D.timeline.map(function (p) { return p[k]; }); };
  var charts = [];
  function chart(id, title, xLabel, yLabel, x, series, opts) {
    var el = document.getElementById(id);
    var u = new uPlot(Object.assign({
      title: title, width: width, height: 280,
      scales: { x: { time: false } },
      axes: [{ label: xLabel }, { label: yLabel }],
      series: [{ label: xLabel }].concat(series.map(function (s) {
        return { label: s.label, stroke: s.color, width: 2, points: { show: x.length < 40 } };
      }))
    }, opts || {}), [x].concat(series.map(function (s) { return s.data; })), el);
    charts.push({ id: id, u: u, series: series.length });
  }
  var lat = D.model === 'open' ? 'corrected latency, ms' : 'service time, ms';
  chart('chart-latency', 'Latency percentiles per second (' + lat + ')', 'seconds', 'ms', t, [
    { label: 'p50', color: '#1b9e77', data: col('p50') },
    { label: 'p90', color: '#7570b3', data: col('p90') },
    { label: 'p99', color: '#d95f02', data: col('p99') },
    { label: 'p99.9', color: '#e7298a', data: col('p999') },
    { label: 'max', color: '#666666', data: col('max') }
  ]);
  var tput = [
    { label: 'answered req/s', color: '#1f78b4', data: col('rps') },
    { label: 'errors', color: '#e31a1c', data: col('errors') }
  ];
  if (D.model === 'open') tput.push({ label: 'late', color: '#ff7f00', data: col('late') });
  chart('chart-throughput', 'Throughput per second' + (D.rate ? ' (target ' + D.rate + ' req/s)' : ''), 'seconds', 'requests', t, tput);
  // x: the percentile drawn on a log scale of 1/(1 - q), so the tail gets the room
  var q = D.distribution.map(function (d) { return Math.min(1e5, 1 / Math.max(1e-5, 1 - d[0] / 100)); });
  var dist = [{ label: lat, color: '#d95f02', data: D.distribution.map(function (d) { return d[1]; }) }];
  if (D.model === 'open') dist.push({ label: 'service time, ms', color: '#1f78b4', data: D.distribution.map(function (d) { return d[2]; }) });
  var pctLabel = function (v) { var p = 100 * (1 - 1 / v); return (Math.round(p * 1000) / 1000) + '%'; };
  chart('chart-distribution', 'Latency distribution (by percentile)', 'percentile', 'ms', q, dist, {
    scales: { x: { time: false, distr: 3, log: 10 } },
    axes: [{
      label: 'percentile',
      splits: function () { return [1, 10, 100, 1000, 10000, 100000]; },
      values: function (u, vals) { return vals.map(pctLabel); }
    }, { label: 'ms' }]
  });
  // what was drawn (uPlot paints after a microtask/frame): series per chart and painted pixels of each canvas
  setTimeout(function () {
  var status = charts.map(function (c) {
    var canvas = c.u.root.querySelector('canvas');
    var painted = 0;
    try {
      var px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (var i = 3; i < px.length; i += 4) if (px[i] !== 0) painted++;
    } catch (e) { painted = -1; }
    return { id: c.id, series: c.series, points: c.u.data[0].length, painted: painted };
  });
  document.getElementById('render-status').textContent = JSON.stringify(status);
  document.body.setAttribute('data-rendered', String(charts.length));
  }, 100);
})();
`

/** The most timeline points drawn (a 3-hour run has 10,800): the file stays well under 1 MB. */
export const MAX_POINTS = 1200
/** The most players listed (the busiest first); --json has them all. */
export const MAX_PLAYERS = 500

/**
 * At most MAX_POINTS points: adjacent seconds merged, counts summed, rate averaged, each percentile
 * the highest of the merged seconds (a chart of the worst, never of an invented average).
 */
export function downsampleTimeline(points: TimelinePoint[], max = MAX_POINTS): TimelinePoint[] {
  if (points.length <= max) return points
  const per = Math.ceil(points.length / max)
  const out: TimelinePoint[] = []
  for (let i = 0; i < points.length; i += per) {
    const group = points.slice(i, i + per)
    const top = (k: 'p50' | 'p90' | 'p99' | 'p999' | 'max') => Math.max(...group.map((p) => p[k]))
    const sum = (k: 'answered' | 'errors' | 'late') => group.reduce((a, p) => a + p[k], 0)
    out.push({
      t: group[group.length - 1].t,
      answered: sum('answered'),
      rps: Math.round((group.reduce((a, p) => a + p.rps, 0) / group.length) * 100) / 100,
      errors: sum('errors'),
      late: sum('late'),
      p50: top('p50'),
      p90: top('p90'),
      p99: top('p99'),
      p999: top('p999'),
      max: top('max'),
    })
  }
  return out
}

/** The HTML report of a run (pure: the chart library is passed in). */
export function renderLoadReport(r: LoadResult, lib: ChartLibrary): string {
  const open = r.model === 'open'
  const { head: summaryHead, row: summaryRow } = requestTotals(r)
  const latRow = (label: string, l: LoadResult['latency']) => [
    label,
    fmtMs(l.p50),
    fmtMs(l.p90),
    fmtMs(l.p99),
    fmtMs(l.p999),
    fmtMs(l.max),
    fmtMs(l.mean),
    l.count,
  ]
  const latRows = open
    ? [latRow('corrected (from due time)', r.latency), latRow('service time', r.serviceTime)]
    : [latRow('service time', r.latency)]
  const thresholds =
    r.thresholds.checks.length === 0
      ? ''
      : `<h2>Thresholds</h2>${table(
          ['', 'threshold', 'limit', 'actual'],
          r.thresholds.checks.map((c) => [c.passed ? '✓' : '✗', c.threshold, c.limit, c.actual]),
          [2, 3],
        )}`
  const data = {
    model: r.model,
    rate: r.rate ?? null,
    timeline: downsampleTimeline(r.timeline),
    distribution: r.distribution,
  }
  const codes = Object.entries(r.statusCodes)
    .map(([c, n]) => `${c}: ${n}`)
    .join(', ')
  const players =
    r.players.length <= MAX_PLAYERS
      ? r.players
      : [...r.players].sort((a, b) => b.sent - a.sent || (a.host < b.host ? -1 : 1)).slice(0, MAX_PLAYERS)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>game load: ${esc(r.scenario)} (${esc(r.model)} model), run ${esc(r.runId)}</title>
<style>${lib.css}</style>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 20px; color: #222; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: #555; } .model { background: #f4f6fa; border-left: 4px solid #1f78b4; padding: 8px 12px; max-width: 1100px; }
table { border-collapse: collapse; margin: 4px 0 8px; } th, td { padding: 3px 10px; border-bottom: 1px solid #ddd; text-align: left; }
th { background: #f4f4f4; } .n { text-align: right; font-variant-numeric: tabular-nums; }
.chart { margin: 12px 0; } #render-status { display: none; }
</style>
</head>
<body>
<h1>game load: scenario ${esc(r.scenario)}, ${esc(r.model)} model</h1>
<div class="meta">${esc(r.url)} · seed ${esc(r.seed)} · run ${esc(r.runId)} · ${esc(r.startedAt)} · ${esc((r.durationMs / 1000).toFixed(1))} s${r.interrupted ? ' · <b>interrupted: partial results</b>' : ''}</div>
<p class="model">${esc(describeModel(r))}</p>
<h2>Requests</h2>
${table(
  summaryHead,
  [summaryRow],
  summaryHead.map((_, i) => i),
)}
<div class="meta">Status codes: ${esc(codes || 'none')}.${open ? ` Late: sent more than ${esc(r.open?.lateAfterMs ?? 10)} ms after the due time; peak connections ${esc(r.open?.peakConnections ?? 0)} of ${esc(r.open?.maxConnections ?? 0)}, peak queue ${esc(r.open?.peakQueue ?? 0)}.` : ''}</div>
<h2>Latency</h2>
${table(['latency, ms', 'p50', 'p90', 'p99', 'p99.9', 'max', 'mean', 'count'], latRows, [1, 2, 3, 4, 5, 6, 7])}
${thresholds}
<h2>Over time</h2>
<div id="chart-latency" class="chart"></div>
<div id="chart-throughput" class="chart"></div>
<h2>Distribution</h2>
<div id="chart-distribution" class="chart"></div>
<h2>Per event type</h2>
${table(
  ['event type', 'sent', 'accepted', 'rejected', 'no answer'],
  r.eventTypes.map((t) => [t.eventType, t.sent, t.accepted, t.rejected, t.unanswered]),
  [1, 2, 3, 4],
)}
<h2>Per player (Host)</h2>
${table(
  ['player', 'sent', 'accepted', 'rejected', 'no answer'],
  players.map((p) => [p.host, p.sent, p.accepted, p.rejected, p.unanswered]),
  [1, 2, 3, 4],
)}
${r.players.length > players.length ? `<div class="meta">The ${players.length} busiest of ${r.players.length} players; --json lists them all.</div>` : ''}
<pre id="render-status"></pre>
<script>${lib.js.replace(/<\/script/gi, '<\\/script')}</script>
<script>var DATA = ${scriptJson(data)};${PAGE_SCRIPT}</script>
</body>
</html>
`
}
