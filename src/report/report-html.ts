import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CheckResult, Evidence } from '../checks/types.ts';
import type { GateResult, K6PhaseResult, PhaseResult, Verdict } from '../run/verdict.ts';
import type { DriftPart } from '../soak/soak-types.ts';
import { attemptsNote, countChecks, countsText, formatMs, gatePartLabel, gateStatusWord, phaseNote, round, stripAnsi, testDataText } from '../reporters/summarize.ts';
import { checkName, consoleLineText, thresholdPassed, thresholdText } from '../reporters/k6-text.ts';
import type { ReportData, ScenarioReport } from './report-data.ts';
import { comparePlots, runPlots, type PlotSpec } from './report-plots.ts';
import { fmtDelta } from '../baseline/compare-runs.ts';
import { comparisonText, gateDeltaCell, relativeGateTitle } from '../reporters/baseline-lines.ts';
import { driftGateTitle, driftPartText } from '../soak/drift.ts';
import { fmtP } from '../baseline/compare-runs.ts';
import { budgetPct, slopeText, soakStatusWord, worstWindowAt } from '../reporters/soak-lines.ts';

/**
 * report.html: one self-contained page per run (and one for `perf report --compare`). It works
 * offline and makes no request at all: uPlot (MIT, github.com/leeoniya/uPlot) and its CSS are
 * inlined from node_modules when the page is written, the plot data is a JSON block, and a
 * Content-Security-Policy of `default-src 'none'` forbids every fetch (screenshots and traces are
 * links to files of the run folder, opened only when clicked).
 *
 * Everything taken from the verdict or the samples is HTML-escaped; the JSON block has every `<`
 * written as `\u003c`, so no value can end the script element. Nothing is added to what the
 * verdict (redacted) and the samples' tags hold.
 */

const require = createRequire(import.meta.url);
let assets: { js: string; css: string } | undefined;
/** uPlot's browser build and stylesheet, read once. */
function uplotAssets(): { js: string; css: string } {
  assets ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return assets;
}

/** Text → HTML text or attribute value. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON for a `<script type="application/json">` block: no `<` (so no `</script>`), no line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** An href to a file of the run folder, or undefined when the path is not a plain relative one. */
export function relativeHref(p: string): string | undefined {
  if (!p || /^[a-z][a-z0-9+.-]*:/i.test(p) || p.startsWith('/') || p.startsWith('\\') || p.split(/[\\/]/).includes('..')) return undefined;
  return p.split('/').map(encodeURIComponent).join('/');
}

function fileLink(p: string, text = p): string {
  const href = relativeHref(p);
  return href ? `<a href="${esc(href)}">${esc(text)}</a>` : `<code>${esc(text)}</code>`;
}

/** Long text cut for the page, saying how much was left out. */
function cut(s: string, max = 4000): string {
  const t = stripAnsi(s);
  return t.length > max ? `${t.slice(0, max)}\n… (${t.length - max} more characters)` : t;
}

function num(n: number | undefined, unit = ''): string {
  return n === undefined || !Number.isFinite(n) ? '–' : `${round(n)}${unit ? ` ${unit}` : ''}`;
}

const STATUS_WORD: Record<string, string> = { passed: 'PASSED', failed: 'FAILED', timedout: 'TIMED OUT', interrupted: 'INTERRUPTED', invalid: 'INVALID', flaky: 'FLAKY', skipped: 'SKIPPED' };

function statusBadge(status: string, text = status): string {
  return `<span class="badge st-${esc(status)}">${esc(text)}</span>`;
}

const CSS = `
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2328; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 20px 60px; }
header.verdict { padding: 16px 20px; border-bottom: 4px solid var(--line); }
header.verdict.st-passed { background: #dafbe1; border-color: var(--ok); }
header.verdict.st-failed, header.verdict.st-timedout, header.verdict.st-invalid { background: #ffebe9; border-color: var(--bad); }
header.verdict.st-interrupted { background: #fff8c5; border-color: var(--warn); }
header h1 { margin: 0 0 4px; font-size: 22px; }
.meta { color: var(--muted); font-size: 13px; }
.reasons { margin: 8px 0 0; padding-left: 20px; }
.reasons li { white-space: pre-wrap; }
nav { margin: 12px 0; font-size: 13px; }
nav a { margin-right: 14px; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: 4px; margin-top: 28px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.part td:first-child { padding-left: 22px; color: var(--muted); }
tr.gate.st-failed td, tr.part.st-failed td { background: #ffebe9; }
tr.gate.st-insufficient-data td { background: #fff8c5; }
.badge { display: inline-block; padding: 0 6px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--muted); white-space: nowrap; }
.badge.st-passed { background: var(--ok); }
.badge.st-failed, .badge.st-timedout, .badge.st-invalid { background: var(--bad); }
.badge.st-flaky, .badge.st-insufficient-data, .badge.st-interrupted, .badge.st-tolerated { background: var(--warn); }
details { margin: 4px 0; }
details > summary { cursor: pointer; }
details.phase { border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; margin: 8px 0; }
details.phase > summary { font-weight: 600; }
pre { background: #f6f8fa; padding: 6px 8px; overflow: auto; max-height: 320px; white-space: pre-wrap; word-break: break-word; font-size: 12px; margin: 4px 0; }
.ev { border-left: 3px solid var(--line); padding-left: 8px; margin: 6px 0; }
.err { color: var(--bad); white-space: pre-wrap; }
.plot { margin: 10px 0 18px; min-height: 300px; }
.plots-note { color: var(--muted); font-size: 12px; }
.side { display: flex; gap: 16px; align-items: flex-start; }
.side > div { flex: 1 1 0; min-width: 0; overflow-x: auto; }
.side td, .side code { overflow-wrap: anywhere; }
.side td.num { white-space: normal; }
`;

/**
 * Turns each `[data-plot]` element into a uPlot chart from its spec (src/report/report-plots.ts):
 * series as given, null as a gap, the band (ramp-up) shaded before the series are drawn.
 */
const RENDER = `(function () {
  'use strict';
  var specs = JSON.parse(document.getElementById('perf-plots').textContent);
  var byId = {};
  specs.forEach(function (s) { byId[s.id] = s; });
  var nodes = document.querySelectorAll('[data-plot]');
  for (var n = 0; n < nodes.length; n++) {
    var el = nodes[n];
    var s = byId[el.getAttribute('data-plot')];
    if (!s) continue;
    var width = Math.max(480, Math.min(el.clientWidth || 900, 1140));
    var hooks = {};
    var bands = (s.band ? [s.band] : []).concat(s.bands || []);
    if (bands.length) {
      hooks.drawClear = [(function (bands) { return function (u) {
        var dpr = window.devicePixelRatio || 1;
        bands.forEach(function (band, i) {
          var a = u.valToPos(band.from, 'x', true), b = u.valToPos(band.to, 'x', true);
          var l = Math.max(u.bbox.left, Math.min(a, b)), r = Math.min(u.bbox.left + u.bbox.width, Math.max(a, b));
          if (!(r > l)) return;
          var c = u.ctx;
          c.save();
          c.fillStyle = band.color || 'rgba(110, 110, 110, 0.13)';
          c.fillRect(l, u.bbox.top, r - l, u.bbox.height);
          c.fillStyle = 'rgba(60, 60, 60, 0.8)';
          c.font = Math.round(11 * dpr) + 'px sans-serif';
          c.fillText(band.label, l + 4, u.bbox.top + (i === 0 ? 14 : 28) * dpr);
          c.restore();
        });
      }; })(bands)];
    }
    var series = [{ label: s.xLabel }];
    s.series.forEach(function (x) {
      var o = { label: x.label, stroke: x.color, width: x.width || 2 };
      if (x.spanGaps) o.spanGaps = true;
      if (x.dash) {
        o.dash = x.dash;
        o.points = { show: false };
      }
      if (x.stepped) {
        o.paths = uPlot.paths.stepped({ align: 1 });
        o.fill = x.color + '33';
        o.points = { show: false };
      }
      series.push(o);
    });
    var opts = {
      title: s.title,
      width: width,
      height: 280,
      scales: { x: s.xLog ? { time: false, distr: 3, log: 10 } : { time: false }, y: s.yLog ? { distr: 3, log: 10 } : {} },
      axes: [{ label: s.xLabel }, { label: s.yLabel }],
      series: series,
      hooks: hooks
    };
    el.setAttribute('data-probe-color', s.probeColor);
    try {
      new uPlot(opts, s.data, el);
    } catch (e) {
      console.error('plot ' + s.id + ' not drawn: ' + (e && e.message ? e.message : e));
    }
  }
  document.body.setAttribute('data-plots-rendered', String(nodes.length));
})();`;

function page(title: string, status: string, body: string, plots: PlotSpec[]): string {
  const { js, css } = uplotAssets();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="perf report">
<title>${esc(title)}</title>
<style>${css}</style>
<style>${CSS}</style>
</head>
<body data-status="${esc(status)}">
${body}
<script type="application/json" id="perf-plots">${scriptJson(plots)}</script>
<script>${js}</script>
<script>${RENDER}</script>
</body>
</html>
`;
}

function verdictHeader(v: Verdict, d: ReportData): string {
  const m = v.manifest ?? ({} as Verdict['manifest']);
  const facts = [
    `started ${v.startedAt}`,
    `took ${formatMs(v.durationMs)}`,
    m.users !== undefined ? `${m.users} users` : '',
    d.profile ? `profile ${d.profile}${d.rampUpSeconds !== undefined ? ` (ramp-up ${d.rampUpSeconds} s)` : ''}` : '',
    v.target ? `target ${v.target.kind} ${v.target.baseUrl}` : '',
    `perf ${m.perfVersion ?? '?'}`,
    m.k6Version ? `k6 ${m.k6Version}` : '',
    m.gitSha ? `git ${m.gitSha.slice(0, 12)}` : '',
    m.configHash ? `config ${m.configHash}` : '',
  ].filter(Boolean);
  const reasons = v.reasons?.length ? `<ol class="reasons">${v.reasons.map((r) => `<li>${esc(stripAnsi(r))}</li>`).join('')}</ol>` : '';
  const error = v.error ? `<p class="err">${esc(v.error.kind)} error: ${esc(stripAnsi(v.error.message))}</p>` : '';
  const faults = v.target?.faults ? `<p class="meta">sample-app faults: <code>${esc(JSON.stringify(v.target.faults))}</code></p>` : '';
  return `<header class="verdict st-${esc(v.status)}">
<h1 id="verdict" data-status="${esc(v.status)}">perf run ${esc(v.runId)}: ${esc(STATUS_WORD[v.status] ?? v.status.toUpperCase())}</h1>
<div class="meta">${facts.map(esc).join(' · ')}</div>
<div class="meta">checks: ${esc(countsText(countChecks(v)))}${v.testData ? ` · ${esc(testDataText(v.testData))}` : ''}</div>
${faults}${error}${reasons}
</header>`;
}

/** A gate row's `data-gate`: its threshold key and expression, and `by <tag>` with groupBy. */
export function gateKey(g: Pick<GateResult, 'metric' | 'expression' | 'groupBy'>): string {
  return `${g.metric} ${g.expression}${g.groupBy ? ` by ${g.groupBy}` : ''}`;
}

/**
 * `perf run --baseline`: which run was compared (or why none was) and the relative gates
 * (`maxIncrease`), each with the deciding scenario's figures, change and rank-test p-value.
 */
export function baselineSection(b: Verdict['baseline']): string {
  if (!b) return '';
  const rows = b.gates
    .map((r) => {
      const parts = r.parts.map((c) => `<div class="meta">${esc(comparisonText(c, r.baselineRunId, r.unit))}</div>`).join('');
      return `<tr class="gate st-${esc(r.status)}" data-gate="${esc(relativeGateTitle(r))}" data-status="${esc(r.status)}"><td><code>${esc(relativeGateTitle(r))}</code>${r.description ? `<div class="meta">${esc(r.description)}</div>` : ''}${r.note ? `<div class="meta">${esc(r.note)}</div>` : ''}${parts}</td><td class="num">${esc(r.decided ? fmtDelta(r.decided.deltaPct) : '–')}</td><td>${statusBadge(r.status, r.status === 'not-run' ? 'not run' : r.status)}</td></tr>`;
    })
    .join('\n');
  const table = b.gates.length ? `<table class="gates relative"><thead><tr><th>relative gate</th><th>change</th><th>status</th></tr></thead><tbody>${rows}</tbody></table>` : '';
  return `<h3 id="baseline">Baseline: ${esc(b.requested)}${b.runId ? ` → ${esc(b.runId)}` : ''} (${esc(b.status)})</h3><p class="meta">${esc(b.note)}</p>${table}`;
}

/**
 * `verdict.soak`: the drift gates (a row per gate with its deciding part's first/last/drift/p,
 * an indented row per other scenario), the error budgets, the target memory trends, the notes,
 * then the soak plots (error budget spent and target RSS over time).
 */
export function soakSection(s: Verdict['soak'], plots: PlotSpec[]): string {
  if (!s) return '';
  const v = (n: number | undefined, unit: string) => (n === undefined || !Number.isFinite(n) ? '–' : esc(`${Number(n.toPrecision(4))}${unit === 'ms' ? ' ms' : ''}`));
  const partCells = (p: DriftPart | undefined, unit: string) =>
    p ? `<td class="num">${v(p.first, unit)}</td><td class="num">${v(p.last, unit)}</td><td class="num">${esc(fmtDelta(p.driftPct))}</td><td class="num">${esc(fmtP(p.pValue))}</td>` : '<td class="num">–</td><td class="num">–</td><td class="num">–</td><td class="num">–</td>';
  const drift = s.drift
    .map((r) => {
      const title = driftGateTitle(r);
      const others = r.parts.filter((p) => p.scenario !== r.decided?.scenario);
      const meta = [r.description, r.note, r.decided ? driftPartText(r.decided, r.unit) : ''].filter(Boolean).map((x) => `<div class="meta">${esc(x)}</div>`).join('');
      const head = `<tr class="gate drift st-${esc(r.status)}" data-drift-gate="${esc(title)}" data-status="${esc(r.status)}"><td><code>${esc(title)}</code>${meta}</td><td>${esc(r.decided?.scenario ?? (r.scenarios?.join(', ') || '–'))}</td>${partCells(r.decided, r.unit)}<td>${statusBadge(r.status, soakStatusWord(r.status))}</td></tr>`;
      const rows = others.map(
        (p) => `\n<tr class="part st-${p.verdict === 'drifted' ? 'failed' : esc(p.verdict)}"><td>${esc(driftPartText(p, r.unit))}</td><td>${esc(p.scenario)}</td>${partCells(p, r.unit)}<td>${statusBadge(p.verdict === 'drifted' ? 'failed' : p.verdict === 'insufficient' ? 'insufficient-data' : 'passed', p.verdict)}</td></tr>`,
      );
      return head + rows.join('');
    })
    .join('\n');
  const driftTable = s.drift.length
    ? `<table class="gates drift"><thead><tr><th>drift gate</th><th>scenario</th><th>first</th><th>last</th><th>drift</th><th>p</th><th>status</th></tr></thead><tbody>${drift}</tbody></table>`
    : '';
  const budgetTable = s.errorBudget.length
    ? `<table class="gates budget"><thead><tr><th>error budget</th><th>scenario</th><th>spent</th><th>failed</th><th>worst window</th><th>status</th></tr></thead><tbody>${s.errorBudget
        .map(
          (b) =>
            `<tr class="gate st-${esc(b.status)}" data-error-budget="${esc(b.scenario)}" data-status="${esc(b.status)}"><td><code>${esc(`${budgetPct(b.budget)} ${b.metric}`)}</code>${b.reason ? `<div class="meta">${esc(b.reason)}</div>` : ''}</td><td>${esc(b.scenario)}</td><td class="num">${esc(b.spentPct)} %${b.exhaustedAfterSeconds !== undefined ? `<div class="meta">ran out at ${esc(b.exhaustedAfterSeconds)} s</div>` : ''}</td><td class="num">${esc(b.failed)} of ${esc(b.samples)}</td><td class="num">${b.worstWindow ? `${esc(b.worstWindow.burnRate)}× at ${esc(worstWindowAt(b))} s (max ${esc(b.maxBurnRate)}×)` : '–'}</td><td>${statusBadge(b.status)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const memoryTable = s.memory.length
    ? `<table class="gates memory"><thead><tr><th>target memory</th><th>first</th><th>last</th><th>peak</th><th>growth</th><th>limit</th><th>status</th></tr></thead><tbody>${s.memory
        .map(
          (m) =>
            `<tr class="gate st-${esc(m.status)}" data-memory="${esc(m.service)}" data-status="${esc(m.status)}"><td><code>${esc(m.service)}</code> <span class="meta">pid ${esc(m.pid)}, ${esc(m.samples)} readings over ${esc(m.spanSeconds)} s</span>${m.reason && m.status !== 'passed' ? `<div class="meta">${esc(m.reason)}</div>` : ''}</td><td class="num">${esc(num(m.firstMb, 'MB'))}</td><td class="num">${esc(num(m.lastMb, 'MB'))}</td><td class="num">${esc(num(m.peakMb, 'MB'))}</td><td class="num">${esc(slopeText(m.slopeMbPerHour))}</td><td class="num">${esc(m.maxGrowthMbPerHour)} MB/h</td><td>${statusBadge(m.status, soakStatusWord(m.status))}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const notes = s.notes.map((n) => `<p class="err soak-note">${esc(n)}</p>`).join('');
  const soakPlotIds = plots.filter((p) => p.id.startsWith('soak-'));
  const plotNote = `<p class="plots-note">${soakPlotIds.length ? 'x: seconds since the load start. ' : ''}${s.drift.some((r) => r.parts.length) ? 'Shaded in blue on the latency plots (Load, below): each drift gate\'s first and last spans of steady windows.' : ''}</p>`;
  return `<section id="soak"><h2>Soak</h2>${driftTable}${budgetTable}${memoryTable}${notes}${plotNote}${soakPlotIds.map(plotDiv).join('\n')}</section>`;
}

/** The gate table: one row per gate, one indented row per part (scenario, tag value). */
export function gateTable(gates: GateResult[] | undefined, compact = false): string {
  if (!gates?.length) return '<p class="meta">No gates were evaluated in this run.</p>';
  // `perf run --baseline`: each absolute gate's change against the baseline run (information only).
  const withBaseline = gates.some((g) => g.baseline);
  const k6Text = (k6: GateResult['k6']) => (k6 ? `${k6.observed !== undefined ? round(k6.observed) : '–'} (${k6.passed ? 'passed' : 'failed'})` : '–');
  const rows = gates
    .map((g) => {
      const where = `${g.merged ? 'merged' : (g.scenarios?.join(', ') ?? 'all')}${g.groupBy ? ` · by ${g.groupBy}` : ''}`;
      const notes = [compact ? `${where} · window ${g.window ?? 'all'}` : '', g.description, g.note, g.disagreement].filter(Boolean).map((x) => esc(x)).join('<br>');
      const cells = [
        `<td><code>${esc(g.metric)}</code> <code>${esc(g.expression)}</code>${notes ? `<div class="meta">${notes}</div>` : ''}</td>`,
        ...(compact ? [] : [`<td>${esc(where)}</td>`, `<td>${esc(g.window ?? 'all')}</td>`]),
        `<td class="num">${esc(num(g.observed, g.unit))}</td>`,
        `<td class="num">${esc(num(g.limit, g.unit))}</td>`,
        `<td class="num">${esc(g.samples)}</td>`,
        ...(compact ? [] : [`<td class="num">${esc(k6Text(g.k6))}</td>`]),
        ...(withBaseline ? [`<td class="num" title="${esc(g.baseline ? comparisonText(g.baseline, g.baseline.runId, g.unit) : '')}">${esc(gateDeltaCell(g) || '–')}</td>`] : []),
        `<td>${statusBadge(g.status, gateStatusWord(g))}</td>`,
      ];
      const head = `<tr class="gate st-${esc(g.status)}" data-gate="${esc(gateKey(g))}" data-status="${esc(g.status)}">${cells.join('')}</tr>`;
      const parts = g.parts ?? [];
      if (parts.length <= 1 && !parts.some((p) => p.group !== undefined)) return head;
      return (
        head +
        parts
          .map((p) => {
            const c = [
              `<td>${esc(gatePartLabel({ ...p, groupBy: g.groupBy }))}${p.note ? `<div class="meta">${esc(p.note)}</div>` : ''}</td>`,
              ...(compact ? [] : ['<td></td>', '<td></td>']),
              `<td class="num">${esc(num(p.observed, g.unit))}</td>`,
              '<td></td>',
              `<td class="num">${esc(p.samples)}</td>`,
              ...(compact ? [] : [`<td class="num">${esc(k6Text(p.k6))}</td>`]),
              ...(withBaseline ? ['<td></td>'] : []),
              `<td>${statusBadge(p.status, p.status === 'insufficient-data' ? 'insufficient data' : p.status)}</td>`,
            ];
            return `\n<tr class="part st-${esc(p.status)}">${c.join('')}</tr>`;
          })
          .join('')
      );
    })
    .join('\n');
  const heads = ['gate', ...(compact ? [] : ['scenarios', 'window']), 'observed', 'limit', 'samples', ...(compact ? [] : ['k6']), ...(withBaseline ? ['vs baseline'] : []), 'status'];
  return `<table class="gates"><thead><tr>${heads.map((h) => `<th>${h}</th>`).join('')}</tr></thead>\n<tbody>${rows}</tbody></table>`;
}

function kv(obj: Record<string, string> | undefined): string {
  const entries = Object.entries(obj ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}: ${v}`).join('\n') : '';
}

function json(value: unknown, max = 4000): string {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? '';
  } catch {
    text = String(value);
  }
  return cut(text, max);
}

/** One evidence item in full: the exchange, the frames, the query and rows, the note, the file link. */
export function evidenceHtml(e: Evidence): string {
  switch (e.kind) {
    case 'http': {
      const outcome = e.status !== undefined ? String(e.status) : 'no response';
      const head = `${e.method} ${e.url} → ${outcome} (${formatMs(e.durationMs)}${e.ttfbMs !== undefined ? `, ttfb ${formatMs(e.ttfbMs)}` : ''})`;
      return `<div class="ev ev-http"><details><summary>HTTP ${esc(head)}</summary>
<div class="meta">correlation ${esc(e.correlationId)} · started ${esc(e.startedAt)}</div>
${e.error ? `<div class="err">${esc(e.error)}</div>` : ''}
<div>request headers</div><pre>${esc(kv(e.requestHeaders))}</pre>
${e.requestBody !== undefined ? `<div>request body</div><pre>${esc(cut(e.requestBody))}</pre>` : ''}
${e.responseHeaders ? `<div>response headers</div><pre>${esc(kv(e.responseHeaders))}</pre>` : ''}
${e.responseBody !== undefined ? `<div>response body</div><pre>${esc(cut(e.responseBody))}</pre>` : ''}
</details></div>`;
    }
    case 'ws': {
      const shown = e.frames.slice(0, 200);
      const lines = shown.map((f) => `${f.dir === 'in' ? '←' : '→'} +${Math.round(f.atMs)} ms ${cut(f.data, 600)}`).join('\n');
      const more = e.frames.length > shown.length ? `\n… ${e.frames.length - shown.length} more frames` : '';
      return `<div class="ev ev-ws"><details><summary>WebSocket ${esc(e.url)}: ${esc(e.frames.length)} frame(s)${e.error ? ' — error' : ''}</summary>
${e.correlationId ? `<div class="meta">correlation ${esc(e.correlationId)}</div>` : ''}${e.error ? `<div class="err">${esc(e.error)}</div>` : ''}
<pre>${esc(lines + more)}</pre></details></div>`;
    }
    case 'sql':
      return `<div class="ev ev-sql"><details><summary>SQL ${esc(cut(e.query, 140).replace(/\s+/g, ' '))} → ${esc(e.error ? 'error' : `${e.rowCount ?? 0} row(s)`)} (${esc(formatMs(e.durationMs))})</summary>
${e.correlationId ? `<div class="meta">session ${esc(e.correlationId)}</div>` : ''}<pre>${esc(cut(e.query))}</pre>
${e.error ? `<div class="err">${esc(e.error)}</div>` : ''}${e.rows ? `<div>rows</div><pre>${esc(json(e.rows))}</pre>` : ''}</details></div>`;
    case 'note':
      return `<div class="ev ev-note">${esc(cut(e.message, 2000))}${e.data !== undefined ? `<details><summary>data</summary><pre>${esc(json(e.data))}</pre></details>` : ''}</div>`;
    case 'file':
      return `<div class="ev ev-file">file ${fileLink(e.path)}${e.description ? ` — ${esc(e.description)}` : ''}</div>`;
    default:
      return `<div class="ev"><pre>${esc(json(e))}</pre></div>`;
  }
}

const MAX_EVIDENCE = 60;

function checkRow(c: CheckResult): string {
  const note = attemptsNote(c);
  const ev = c.evidence ?? [];
  const evidence = ev.length
    ? `<details class="evidence"${c.status === 'failed' || c.status === 'timedout' ? ' open' : ''}><summary>${esc(ev.length)} evidence item(s)</summary>${ev.slice(0, MAX_EVIDENCE).map(evidenceHtml).join('\n')}${ev.length > MAX_EVIDENCE ? `<p class="meta">… ${ev.length - MAX_EVIDENCE} more in verdict.json</p>` : ''}</details>`
    : '';
  const measurements = c.measurements && Object.keys(c.measurements).length ? `<details><summary>measurements</summary><pre>${esc(json(c.measurements, 2000))}</pre></details>` : '';
  return `<tr class="check st-${esc(c.status)}" data-check="${esc(c.name)}"><td><code>${esc(c.name)}</code>${note ? `<div class="meta">${esc(note)}</div>` : ''}</td>
<td>${statusBadge(c.status)}</td><td class="num">${esc(formatMs(c.durationMs))}</td>
<td>${c.error ? `<div class="err">${esc(cut(c.error, 2000))}</div>` : ''}${c.details ? `<details><summary>stack</summary><pre>${esc(cut(c.details, 3000))}</pre></details>` : ''}${evidence}${measurements}</td></tr>`;
}

function k6Html(k: K6PhaseResult): string {
  const a = k.analysis;
  const inFlight = a?.concurrency?.inFlight;
  const facts = [
    `exit ${k.exitCode} (${k.meaning})`,
    `took ${formatMs(k.durationMs)}`,
    a ? `${a.requests} requests, ${a.requestsPerSec}/s, ${round(a.errorRate * 100)} % failed` : '',
    inFlight ? `in flight mean ${inFlight.mean}, max ${inFlight.max}` : '',
    a?.droppedIterations ? `${a.droppedIterations} dropped iterations` : '',
  ].filter(Boolean);
  const files = Object.entries(k.files ?? {}).map(([name, p]) => `${esc(name)}: ${fileLink(p)}`).join(' · ');
  const thresholds = k.thresholds?.length
    ? `<table class="thresholds"><thead><tr><th>k6 threshold</th><th>source</th><th>status</th></tr></thead><tbody>${k.thresholds
        .map((t) => `<tr><td>${esc(thresholdText(t))}</td><td>${esc(t.source ?? '')}</td><td>${statusBadge(thresholdPassed(t) ? 'passed' : 'failed')}</td></tr>`)
        .join('')}</tbody></table>`
    : '';
  const checks = k.checks?.length
    ? `<table class="k6-checks"><thead><tr><th>k6 check</th><th>passes</th><th>fails</th><th>decided by</th><th>status</th></tr></thead><tbody>${k.checks
        .map((c) => `<tr class="check st-${esc(c.status)}" data-check="${esc(c.name)}"><td>${esc(checkName(c))}</td><td class="num">${esc(c.passes)}</td><td class="num">${esc(c.fails)}</td><td>${esc(c.decidedBy)}</td><td>${statusBadge(c.status)}</td></tr>`)
        .join('')}</tbody></table>${k.checksOmitted ? `<p class="meta">${esc(k.checksOmitted.count)} more checks omitted (${esc(k.checksOmitted.fails)} failed evaluations)</p>` : ''}`
    : '';
  const errors = k.scriptErrors?.length ? `<ul>${k.scriptErrors.map((e) => `<li class="err">script error ×${esc(e.count)}: ${esc(e.message)}${e.location ? ` at ${esc(e.location)}` : ''}</li>`).join('')}</ul>` : '';
  const consoleLines = k.evidence?.console?.length ? `<pre>${esc(k.evidence.console.map((l) => consoleLineText(l)).join('\n'))}</pre>` : '';
  const disagreements = (k.consistency ?? []).filter((c) => c.disagreement).map((c) => `<div class="err">${esc(c.disagreement)}</div>`).join('');
  return `<div class="k6" data-scenario="${esc(k.scenario)}"><h4>k6 scenario ${esc(k.scenario)} <span class="meta">(${esc(k.script)})</span></h4>
<div class="meta">${facts.map(esc).join(' · ')}</div><div class="meta">files: ${files}</div>${errors}${disagreements}${thresholds}${checks}${consoleLines}</div>`;
}

function phaseHtml(p: PhaseResult): string {
  const checks = p.checks ?? [];
  const note = phaseNote(p);
  const open = p.status !== 'passed' && p.status !== 'skipped' ? ' open' : '';
  const counts = checks.length ? ` · ${countsText(countChecks({ phases: [p] }))}` : '';
  const table = checks.length
    ? `<table class="checks"><thead><tr><th>check</th><th>status</th><th>took</th><th>error and evidence</th></tr></thead><tbody>${checks.map(checkRow).join('\n')}</tbody></table>`
    : '';
  return `<details class="phase st-${esc(p.status)}" data-phase="${esc(p.name)}"${open}><summary>${esc(p.name)} ${statusBadge(p.status)} <span class="meta">${esc(formatMs(p.durationMs))}${esc(counts)}</span></summary>
${note ? `<p class="err">${esc(note)}</p>` : ''}${p.invalidBecause ? `<p class="err">measurement invalid: ${esc(p.invalidBecause)}</p>` : ''}${table}${(p.k6 ?? []).map(k6Html).join('\n')}</details>`;
}

/** `links`: the sample files as links (a run's own page, which sits in its folder). */
function scenarioSummary(scenarios: ScenarioReport[], links = true): string {
  if (!scenarios.length) return '';
  const rows = scenarios
    .map(
      (s) => `<tr><td>${esc(s.scenario)}</td><td class="num">${esc(s.overall.requests)}</td><td class="num">${esc(s.overall.failed)}</td><td class="num">${esc(num(s.overall.p50, 'ms'))}</td><td class="num">${esc(num(s.overall.p95, 'ms'))}</td><td class="num">${esc(num(s.overall.p99, 'ms'))}</td><td class="num">${esc(num(s.overall.maxMs, 'ms'))}</td><td class="num">${esc(s.windowSeconds)} s</td><td>${links ? fileLink(s.samplesFile) : `<code>${esc(s.samplesFile)}</code>`}</td></tr>`,
    )
    .join('');
  return `<table class="scenarios"><thead><tr><th>scenario</th><th>requests</th><th>failed</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>window</th><th>samples</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function wsTable(s: ScenarioReport): string {
  if (!s.ws.length) return '';
  return `<table class="ws"><thead><tr><th>WebSocket timing</th><th>samples</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr></thead><tbody>${s.ws
    .map((t) => `<tr><td><code>${esc(t.label)}</code></td><td class="num">${esc(t.overall.count)}</td><td class="num">${esc(num(t.overall.p50, 'ms'))}</td><td class="num">${esc(num(t.overall.p95, 'ms'))}</td><td class="num">${esc(num(t.overall.p99, 'ms'))}</td><td class="num">${esc(num(t.overall.maxMs, 'ms'))}</td></tr>`)
    .join('')}</tbody></table>`;
}

function plotDiv(p: PlotSpec): string {
  return `<div class="plot" data-plot="${esc(p.id)}" aria-label="${esc(p.title)}"></div>`;
}

/** The page of one run. */
export function renderRunHtml(d: ReportData): string {
  const v = d.verdict;
  const plots = runPlots(d);
  const byScenario = (i: number) => plots.filter((p) => p.id.startsWith(`s${i}-`));
  const load = d.scenarios.length
    ? d.scenarios
        .map((s, i) => `<section class="scenario" data-scenario="${esc(s.scenario)}"><h3>${esc(s.scenario)}</h3>${byScenario(i).map(plotDiv).join('\n')}${wsTable(s)}</section>`)
        .join('\n')
    : '<p class="meta">No load samples in this run: no plots.</p>';
  const dist = plots.find((p) => p.id === 'distribution');
  const rampNote = d.rampUpSeconds !== undefined ? `Shaded: the ramp-up (${d.rampUpSeconds} s of profile ${esc(d.profile ?? '')}), excluded from gates with window steady.` : '';
  const body = `${verdictHeader(v, d)}
<main>
<nav><a href="#gates">gates</a>${v.soak ? '<a href="#soak">soak</a>' : ''}<a href="#load">load plots</a><a href="#phases">phases and checks</a><a href="verdict.json">verdict.json</a></nav>
<section id="gates"><h2>Gates</h2>${gateTable(v.gates)}${baselineSection(v.baseline)}</section>
${soakSection(v.soak, plots)}
<section id="load"><h2>Load</h2>
<p class="plots-note">x: seconds since the scenario's load start (its first sample). Dashed lines: gate limits (red when the gate failed). ${rampNote}</p>
${d.notes.map((n) => `<p class="err">${esc(n)}</p>`).join('')}
${scenarioSummary(d.scenarios)}
${load}
${dist ? `<section class="scenario"><h3>Latency distribution</h3>${plotDiv(dist)}</section>` : ''}
</section>
<section id="phases"><h2>Phases and checks</h2>${v.phases.map(phaseHtml).join('\n')}</section>
</main>`;
  return page(`perf ${v.runId}: ${STATUS_WORD[v.status] ?? v.status}`, v.status, body, plots);
}

/** `perf report --compare`: both runs' latency and throughput over one another, their gate tables side by side. */
export function renderCompareHtml(a: ReportData, b: ReportData): string {
  const plots = comparePlots(a, b);
  const head = (d: ReportData, colour: string) =>
    `<div><h2><span style="color:${colour}">■</span> ${esc(d.verdict.runId)} ${statusBadge(d.verdict.status, STATUS_WORD[d.verdict.status] ?? d.verdict.status)}</h2>
<div class="meta">started ${esc(d.verdict.startedAt)} · ${esc(d.verdict.manifest?.users ?? '?')} users${d.profile ? ` · profile ${esc(d.profile)}` : ''}${d.verdict.manifest?.gitSha ? ` · git ${esc(d.verdict.manifest.gitSha.slice(0, 12))}` : ''}</div>
${d.verdict.reasons?.length ? `<ol class="reasons">${d.verdict.reasons.map((r) => `<li>${esc(stripAnsi(r))}</li>`).join('')}</ol>` : ''}
${scenarioSummary(d.scenarios, false)}<h3>Gates</h3>${gateTable(d.verdict.gates, true)}</div>`;
  const worst = a.verdict.status === 'passed' && b.verdict.status === 'passed' ? 'passed' : 'failed';
  const body = `<header class="verdict st-${worst}"><h1 id="verdict" data-status="${esc(worst)}">perf compare ${esc(a.verdict.runId)} vs ${esc(b.verdict.runId)}</h1>
<div class="meta">${esc(a.verdict.runId)}: ${esc(STATUS_WORD[a.verdict.status] ?? a.verdict.status)} · ${esc(b.verdict.runId)}: ${esc(STATUS_WORD[b.verdict.status] ?? b.verdict.status)} · time axes aligned on each run's load start</div></header>
<main>
<div class="side">${head(a, '#3182bd')}${head(b, '#e6550d')}</div>
<section id="load"><h2>Load, both runs</h2><p class="plots-note">${esc(a.verdict.runId)}: solid blues; ${esc(b.verdict.runId)}: dashed oranges. x: seconds since each run's load start.</p>
${plots.map(plotDiv).join('\n')}${plots.length ? '' : '<p class="meta">Neither run has load samples.</p>'}</section>
</main>`;
  return page(`perf compare ${a.verdict.runId} vs ${b.verdict.runId}`, worst, body, plots);
}
