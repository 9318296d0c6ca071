import type { ReportData, ScenarioReport } from './report-data.ts';
import type { SoakOutcome } from '../soak/soak-types.ts';

/**
 * The plots of report.html as data: each a title, axes, series (label, colour, dash) and the
 * columns uPlot draws (`data[0]` the x values, one array per series after it, null for a gap).
 * The page's script turns a spec into uPlot options as it stands, so what is drawn is decided
 * here, in TypeScript, and tested here.
 */
export interface PlotSeries {
  label: string;
  color: string;
  dash?: number[];
  width?: number;
  /** Drawn as steps (distributions) rather than lines. */
  stepped?: boolean;
  /** A line across x values where this series has no point (series on different time grids). */
  spanGaps?: boolean;
}

/** A shaded x range with a label; `color` a CSS colour (default a light grey). */
export interface PlotBand {
  from: number;
  to: number;
  label: string;
  color?: string;
}

export interface PlotSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  /** log10 x axis (the latency distribution). */
  xLog?: boolean;
  /** log10 y axis (latencies: milliseconds and a gate at a second on one plot). */
  yLog?: boolean;
  /** Shaded x range, e.g. the ramp-up. */
  band?: { from: number; to: number; label: string };
  /** More shaded ranges, drawn after `band` (the drift gates' first and last spans). */
  bands?: PlotBand[];
  series: PlotSeries[];
  data: (number | null)[][];
  /** The colour of a data series drawn last (on top), whose pixels prove the plot drew data (tests look for it). */
  probeColor: string;
}

export const COLORS = {
  p50: '#2ca02c',
  p95: '#ff7f0e',
  p99: '#d62728',
  requests: '#1f77b4',
  failed: '#d62728',
  inFlight: '#9467bd',
  vus: '#8c564b',
  gatePassed: '#555555',
  gateFailed: '#d62728',
  driftSpan: 'rgba(31, 119, 180, 0.10)',
};
/** Series colours apart from the gates' red and grey. */
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
/** --compare: run A in blues, run B in oranges (p50, p95, p99; throughput uses the middle one). */
const RUN_A = ['#9ecae1', '#3182bd', '#08306b'];
const RUN_B = ['#fdae6b', '#e6550d', '#7f2704'];

const X_LABEL = 's since load start';

function gateSeries(s: ScenarioReport, metric: string): { series: PlotSeries[]; columns: (number | null)[][] } {
  const lines = s.gateLines.filter((g) => g.metric === metric);
  return {
    series: lines.map((g) => ({ label: `gate ${g.label}`, color: g.status === 'failed' ? COLORS.gateFailed : COLORS.gatePassed, dash: [8, 5], width: 1.5 })),
    columns: lines.map((g) => s.t.map(() => g.limit)),
  };
}

function band(s: ScenarioReport): PlotSpec['band'] {
  return s.rampUp ? { ...s.rampUp, label: 'ramp-up' } : undefined;
}

/**
 * The first and last spans of the drift gates judged in `s` (verdict.soak), in seconds since
 * its load start, once each when several gates used the same windows.
 */
export function driftBands(s: ScenarioReport, soak: SoakOutcome | undefined): PlotBand[] {
  const out = new Map<string, PlotBand>();
  for (const g of soak?.drift ?? []) {
    for (const p of g.parts) {
      if (p.scenario !== s.scenario) continue;
      const w = p.windows.seconds;
      if (p.from !== undefined && p.windows.first > 0) {
        const b = { from: p.from - s.startUnix, to: p.from + p.windows.first * w - s.startUnix, label: `drift: first ${p.windows.first}`, color: COLORS.driftSpan };
        out.set(`${b.from}-${b.to}`, b);
      }
      if (p.to !== undefined && p.windows.last > 0) {
        const b = { from: p.to - p.windows.last * w - s.startUnix, to: p.to - s.startUnix, label: `drift: last ${p.windows.last}`, color: COLORS.driftSpan };
        out.set(`${b.from}-${b.to}`, b);
      }
    }
  }
  return [...out.values()];
}

/** Unix seconds of the soak plots' x = 0: the first scenario's load start, else the first soak reading. */
function soakOrigin(d: ReportData): number {
  const soak = d.verdict.soak;
  const starts = d.scenarios.map((s) => s.startUnix);
  if (starts.length) return Math.min(...starts);
  const all = [...(soak?.errorBudget ?? []).flatMap((b) => b.windows.map((w) => w.start)), ...(soak?.memory ?? []).flatMap((m) => m.series.map((x) => x[0]))];
  return all.length ? Math.min(...all) : 0;
}

/** Columns of several series on the union of their x values (null where a series has none). */
function unionColumns(parts: [number, number][][], origin: number): { x: number[]; columns: (number | null)[][] } {
  const x = [...new Set(parts.flatMap((p) => p.map(([t]) => t - origin)))].sort((a, b) => a - b);
  const columns = parts.map((p) => {
    const m = new Map(p.map(([t, y]) => [t - origin, y]));
    return x.map((t) => m.get(t) ?? null);
  });
  return { x, columns };
}

/**
 * `verdict.soak`'s plots: the error budget spent (cumulative %) per scenario with the 100 % line,
 * and each target process's resident memory; none without data.
 */
export function soakPlots(d: ReportData): PlotSpec[] {
  const soak = d.verdict.soak;
  if (!soak) return [];
  const origin = soakOrigin(d);
  const out: PlotSpec[] = [];
  const budgets = soak.errorBudget.filter((b) => b.windows.length);
  if (budgets.length) {
    const { x, columns } = unionColumns(
      budgets.map((b) => b.windows.map((w) => [w.start, w.spentPct] as [number, number])),
      origin,
    );
    out.push({
      id: 'soak-budget',
      title: 'error budget spent over time, per scenario (100 %: the budget is gone)',
      xLabel: X_LABEL,
      yLabel: '% of the budget spent',
      series: [
        { label: '100 %', color: COLORS.gateFailed, dash: [8, 5], width: 1.5 },
        ...budgets.map((b, i) => ({ label: `${b.scenario} (${b.metric})`, color: PALETTE[i % PALETTE.length]!, spanGaps: true })),
      ],
      data: [x, x.map(() => 100), ...columns],
      probeColor: PALETTE[(budgets.length - 1) % PALETTE.length]!,
    });
  }
  const memory = soak.memory.filter((m) => m.series.length);
  if (memory.length) {
    const { x, columns } = unionColumns(
      memory.map((m) => m.series),
      origin,
    );
    out.push({
      id: 'soak-memory',
      title: 'target private memory (USS: the service and its children) over time, per service',
      xLabel: X_LABEL,
      yLabel: 'MB',
      series: memory.map((m, i) => ({ label: `${m.service} (pid ${m.pid})`, color: PALETTE[i % PALETTE.length]!, spanGaps: true })),
      data: [x, ...columns],
      probeColor: PALETTE[(memory.length - 1) % PALETTE.length]!,
    });
  }
  return out;
}

/** Every plot of one run's page, per scenario, then the latency distribution of all scenarios, then the soak plots. */
export function runPlots(d: ReportData): PlotSpec[] {
  const out: PlotSpec[] = [];
  d.scenarios.forEach((s, i) => {
    const id = `s${i}`;
    const rampUp = band(s);
    const drift = driftBands(s, d.verdict.soak);
    const gates = gateSeries(s, 'http_req_duration');
    const w = s.windowSeconds === 1 ? 'per second' : `per ${s.windowSeconds} s window`;
    out.push({
      id: `${id}-latency`,
      title: `${s.scenario}: http_req_duration percentiles ${w}`,
      xLabel: X_LABEL,
      yLabel: 'ms (log scale)',
      yLog: true,
      ...(rampUp ? { band: rampUp } : {}),
      ...(drift.length ? { bands: drift } : {}),
      // p50 drawn last: on top where the percentiles meet.
      series: [
        { label: 'p99', color: COLORS.p99 },
        { label: 'p95', color: COLORS.p95 },
        { label: 'p50', color: COLORS.p50 },
        ...gates.series,
      ],
      data: [s.t, s.latency.p99, s.latency.p95, s.latency.p50, ...gates.columns],
      probeColor: COLORS.p50,
    });
    out.push({
      id: `${id}-throughput`,
      title: `${s.scenario}: requests/s and failed requests/s`,
      xLabel: X_LABEL,
      yLabel: 'per second',
      ...(rampUp ? { band: rampUp } : {}),
      series: [
        { label: 'requests/s', color: COLORS.requests },
        { label: 'failed/s', color: COLORS.failed },
      ],
      data: [s.t, s.requestsPerSec, s.failedPerSec],
      probeColor: COLORS.requests,
    });
    out.push({
      id: `${id}-concurrency`,
      title: `${s.scenario}: requests in flight (time average per window) and k6 VUs`,
      xLabel: X_LABEL,
      yLabel: 'count',
      ...(rampUp ? { band: rampUp } : {}),
      series: [
        { label: 'in flight', color: COLORS.inFlight },
        { label: 'VUs', color: COLORS.vus, dash: [3, 3] },
      ],
      data: [s.t, s.inFlight, s.vus],
      probeColor: COLORS.inFlight,
    });
    if (s.ws.length) {
      const wsGates = s.gateLines.filter((g) => g.metric !== 'http_req_duration');
      out.push({
        id: `${id}-ws`,
        title: `${s.scenario}: WebSocket timings, p95 ${w}`,
        xLabel: X_LABEL,
        yLabel: 'ms (log scale)',
        yLog: true,
        ...(rampUp ? { band: rampUp } : {}),
        series: [
          ...s.ws.map((t, j) => ({ label: `${t.label} p95`, color: PALETTE[j % PALETTE.length]! })),
          ...wsGates.map((g) => ({ label: `gate ${g.label}`, color: g.status === 'failed' ? COLORS.gateFailed : COLORS.gatePassed, dash: [8, 5], width: 1.5 })),
        ],
        data: [s.t, ...s.ws.map((t) => t.p95), ...wsGates.map((g) => s.t.map(() => g.limit))],
        probeColor: PALETTE[(s.ws.length - 1) % PALETTE.length]!,
      });
    }
  });
  const withData = d.scenarios.filter((s) => s.distribution.length);
  if (withData.length) out.push(distributionPlot(withData.map((s) => ({ label: s.scenario, s }))));
  out.push(...soakPlots(d));
  return out;
}

/**
 * Share of requests per log bin, one filled step outline per scenario: a value at each bin's
 * lower edge held to the next edge (uPlot's stepped path, step after), back to 0 at the scenario's
 * last upper edge; x is the union of every scenario's edges.
 */
function distributionPlot(parts: { label: string; s: ScenarioReport }[], colors = PALETTE): PlotSpec {
  const edges = [...new Set(parts.flatMap((p) => p.s.distribution.flatMap((b) => [b.fromMs, b.toMs])))].sort((a, b) => a - b);
  const columns = parts.map((p) => {
    const bins = p.s.distribution;
    const total = bins.reduce((n, b) => n + b.count, 0) || 1;
    const at = new Map(bins.map((b) => [b.fromMs, Math.round((b.count / total) * 1e5) / 1e3]));
    const lo = bins[0]?.fromMs ?? Infinity;
    const hi = bins[bins.length - 1]?.toMs ?? -Infinity;
    return edges.map((e) => (e < lo || e > hi ? null : e === hi ? 0 : (at.get(e) ?? 0)));
  });
  return {
    id: 'distribution',
    title: 'http_req_duration distribution (HDR buckets in 10 log bins per decade)',
    xLabel: 'ms (log scale)',
    yLabel: '% of requests',
    xLog: true,
    series: parts.map((p, i) => ({ label: p.label, color: colors[i % colors.length]!, stepped: true })),
    data: [edges, ...columns],
    probeColor: colors[(parts.length - 1) % colors.length]!,
  };
}

/** `perf report --compare`: per scenario of either run, both runs drawn on one time axis from their load starts. */
export function comparePlots(a: ReportData, b: ReportData): PlotSpec[] {
  const ida = a.verdict.runId;
  const idb = b.verdict.runId;
  const names = [...new Set([...a.scenarios, ...b.scenarios].map((s) => s.scenario))];
  const out: PlotSpec[] = [];
  names.forEach((name, i) => {
    const sa = a.scenarios.find((s) => s.scenario === name);
    const sb = b.scenarios.find((s) => s.scenario === name);
    const x = [...new Set([...(sa?.t ?? []), ...(sb?.t ?? [])])].sort((p, q) => p - q);
    const on = (s: ScenarioReport | undefined, col: (s: ScenarioReport) => (number | null)[]) => {
      if (!s) return x.map(() => null);
      const m = new Map(s.t.map((t, j) => [t, col(s)[j] ?? null]));
      return x.map((t) => m.get(t) ?? null);
    };
    const rampUp = sa ? band(sa) : sb ? band(sb) : undefined;
    out.push({
      id: `c${i}-latency`,
      title: `${name}: http_req_duration percentiles, ${ida} (blue) vs ${idb} (orange)`,
      xLabel: X_LABEL,
      yLabel: 'ms (log scale)',
      yLog: true,
      ...(rampUp ? { band: rampUp } : {}),
      series: [
        ...(['p50', 'p95', 'p99'] as const).map((p, j) => ({ label: `${ida} ${p}`, color: RUN_A[j]! })),
        ...(['p50', 'p95', 'p99'] as const).map((p, j) => ({ label: `${idb} ${p}`, color: RUN_B[j]!, dash: [6, 3] })),
      ],
      data: [
        x,
        on(sa, (s) => s.latency.p50),
        on(sa, (s) => s.latency.p95),
        on(sa, (s) => s.latency.p99),
        on(sb, (s) => s.latency.p50),
        on(sb, (s) => s.latency.p95),
        on(sb, (s) => s.latency.p99),
      ],
      probeColor: sb ? RUN_B[2]! : RUN_A[2]!,
    });
    out.push({
      id: `c${i}-throughput`,
      title: `${name}: requests/s and failed/s, ${ida} vs ${idb}`,
      xLabel: X_LABEL,
      yLabel: 'per second',
      ...(rampUp ? { band: rampUp } : {}),
      series: [
        { label: `${ida} failed/s`, color: RUN_A[2]!, width: 1 },
        { label: `${idb} failed/s`, color: RUN_B[2]!, dash: [2, 2], width: 1 },
        { label: `${ida} requests/s`, color: RUN_A[1]! },
        { label: `${idb} requests/s`, color: RUN_B[1]!, dash: [6, 3] },
      ],
      data: [x, on(sa, (s) => s.failedPerSec), on(sb, (s) => s.failedPerSec), on(sa, (s) => s.requestsPerSec), on(sb, (s) => s.requestsPerSec)],
      probeColor: sb ? RUN_B[1]! : RUN_A[1]!,
    });
  });
  return out;
}
