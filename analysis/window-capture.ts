import { existsSync, readFileSync } from 'node:fs';
import type { GateDecl } from '../src/config/config-schema.ts';
import { gateFilter, thresholdKey } from './gates.ts';
import { createLatencyHistogramUs, decodeHistogram, encodeHistogram, recordMs, type Histogram } from './histogram.ts';
import type { SampleTap } from './k6-csv.ts';
import type { Series } from './metric-store.ts';

/**
 * Per-window figures of each gate's samples, for comparing runs (src/baseline/): one HDR
 * histogram (trends) or count/non-zero/sum (rates, counters) per gate sample filter × window,
 * written to `<runDir>/windows.json`. The rank test (analysis/rank-test.ts) needs a distribution
 * of a statistic per run, which one whole-run figure cannot give.
 *
 * The filter is the gate's own (tags, `expected_response`) without `perf_window`: the steady
 * part is chosen by time here (windows starting after the ramp-up), so relative gates work
 * whether or not k6 tagged iterations.
 */
export const WINDOWS_SCHEMA = 'perf.windows/v1';
export const WINDOWS_FILE = 'windows.json';

/** Windows per run to aim for: enough for the rank test to reach α = 0.01 on a short run. */
const TARGET_WINDOWS = 30;

/** A run's `windows.json` (the file at `file`), or undefined when it is absent or of another schema. */
export function readWindowsFile(file: string): WindowsFile | undefined {
  if (!existsSync(file)) return undefined;
  const w = JSON.parse(readFileSync(file, 'utf8')) as WindowsFile;
  return w.schema === WINDOWS_SCHEMA ? w : undefined;
}

/** Seconds per capture window: 1 s up to a 30 s hold, then hold/30 (a 30 min soak: 60 s). */
export function captureWindowSeconds(holdMs: number): number {
  return Math.max(1, Math.ceil(holdMs / 1000 / TARGET_WINDOWS));
}

export interface CapturedWindow {
  start: number;
  count: number;
  nonZero: number;
  sum: number;
  /** Trends: compressed base64 HDR histogram (analysis/histogram.ts encodeHistogram). */
  histogram?: string;
}

export interface ScenarioWindows {
  scenario: string;
  /** Unix seconds of the first and last sample of the scenario. */
  firstTimestamp: number;
  lastTimestamp: number;
  /** Windows starting before this (first sample + the profile's ramp-up) are ramp-up. */
  rampUpEnd: number;
  /** By sample key (`captureKey`: the gate's k6 threshold key without `perf_window`). */
  series: Record<string, { type: Series['type']; windows: CapturedWindow[] }>;
}

export interface WindowsFile {
  schema: typeof WINDOWS_SCHEMA;
  windowSeconds: number;
  scenarios: ScenarioWindows[];
}

/** The samples a gate reads, as a key: `http_req_duration{name:login,expected_response:true}`. */
export function captureKey(g: Pick<GateDecl, 'metric' | 'tags' | 'responses'>): string {
  return thresholdKey({ metric: g.metric, tags: g.tags, responses: g.responses ?? 'expected', window: 'all' });
}

interface Slot {
  count: number;
  nonZero: number;
  sum: number;
  histogram?: Histogram;
}

/** Collects one scenario's windows as its samples are ingested (`tap`, beside the store's). */
export class WindowCapture {
  private readonly filters: { key: string; metric: string; filter: Record<string, string> }[];
  private readonly matches = new WeakMap<Series, { key: string; windows: Map<number, Slot>; type: Series['type'] }[]>();
  private readonly byKey = new Map<string, { type: Series['type']; windows: Map<number, Slot> }>();

  constructor(
    gates: Pick<GateDecl, 'metric' | 'tags' | 'responses'>[],
    readonly windowSeconds: number,
  ) {
    const seen = new Set<string>();
    this.filters = [];
    for (const g of gates) {
      const key = captureKey(g);
      if (seen.has(key)) continue;
      seen.add(key);
      this.filters.push({ key, metric: g.metric, filter: gateFilter({ metric: g.metric, tags: g.tags, responses: g.responses ?? 'expected', window: 'all' }) });
    }
  }

  readonly tap: SampleTap = (series, seconds, _nanos, value) => {
    let targets = this.matches.get(series);
    if (!targets) {
      targets = this.filters
        .filter((f) => f.metric === series.metric && Object.entries(f.filter).every(([k, v]) => series.tags[k] === v))
        .map((f) => {
          let e = this.byKey.get(f.key);
          if (!e) this.byKey.set(f.key, (e = { type: series.type, windows: new Map() }));
          return { key: f.key, windows: e.windows, type: series.type };
        });
      this.matches.set(series, targets);
    }
    if (!targets.length) return;
    const start = seconds - (seconds % this.windowSeconds);
    for (const t of targets) {
      let slot = t.windows.get(start);
      if (!slot) t.windows.set(start, (slot = { count: 0, nonZero: 0, sum: 0, ...(t.type === 'trend' ? { histogram: createLatencyHistogramUs() } : {}) }));
      slot.count++;
      slot.sum += value;
      if (value !== 0) slot.nonZero++;
      if (slot.histogram) recordMs(slot.histogram, value);
    }
  };

  result(scenario: string, firstTimestamp: number, lastTimestamp: number, rampUpSeconds: number): ScenarioWindows {
    const series: ScenarioWindows['series'] = {};
    for (const [key, e] of this.byKey) {
      series[key] = {
        type: e.type,
        windows: [...e.windows]
          .sort(([a], [b]) => a - b)
          .map(([start, s]) => ({ start, count: s.count, nonZero: s.nonZero, sum: s.sum, ...(s.histogram ? { histogram: encodeHistogram(s.histogram) } : {}) })),
      };
    }
    const first = Number.isFinite(firstTimestamp) ? firstTimestamp : 0;
    return { scenario, firstTimestamp: first, lastTimestamp: Number.isFinite(lastTimestamp) ? lastTimestamp : 0, rampUpEnd: first + rampUpSeconds, series };
  }
}

/** A window's figure for a gate statistic: a percentile, avg, med, max (trends) or rate. */
export function windowStat(stat: GateDecl['stat'], type: Series['type'], w: Pick<CapturedWindow, 'count' | 'nonZero' | 'sum'> & { hist?: Histogram }): number | undefined {
  if (w.count === 0) return undefined;
  if (stat === 'rate') return w.nonZero / w.count;
  if (stat === 'count') return type === 'counter' ? w.sum : w.count;
  if (stat === 'avg') return w.sum / w.count;
  const h = w.hist;
  if (!h || h.totalCount === 0) return undefined;
  if (stat === 'max') return h.maxValue / 1000;
  if (stat === 'min') return h.minNonZeroValue / 1000;
  const p = stat === 'med' ? 50 : Number(/^p\(([\d.]+)\)$/.exec(stat)?.[1]);
  return Number.isFinite(p) ? h.getValueAtPercentile(p) / 1000 : undefined;
}

/**
 * The steady, complete windows of one scenario's series: after the ramp-up, and not the last
 * (partial, ramp-down) one. Falls back to every non-ramp-up window when that leaves fewer than two.
 */
export function steadyWindows(sc: ScenarioWindows, key: string, windowSeconds: number): CapturedWindow[] {
  const all = sc.series[key]?.windows ?? [];
  const afterRamp = all.filter((w) => w.start >= sc.rampUpEnd);
  const complete = afterRamp.filter((w) => w.start + windowSeconds <= sc.lastTimestamp);
  return complete.length >= 2 ? complete : afterRamp;
}

/** Per-window figures and the figure over those windows merged (the gate's statistic on the steady samples). */
export function figuresOf(windows: CapturedWindow[], stat: GateDecl['stat'], type: Series['type']): { perWindow: number[]; overall?: number; samples: number } {
  const merged = type === 'trend' ? createLatencyHistogramUs() : undefined;
  const perWindow: number[] = [];
  let count = 0;
  let nonZero = 0;
  let sum = 0;
  for (const w of windows) {
    const hist = w.histogram ? decodeHistogram(w.histogram) : undefined;
    const v = windowStat(stat, type, { ...w, ...(hist ? { hist } : {}) });
    if (v !== undefined) perWindow.push(v);
    if (merged && hist) merged.add(hist);
    count += w.count;
    nonZero += w.nonZero;
    sum += w.sum;
  }
  const overall = windowStat(stat, type, { count, nonZero, sum, ...(merged ? { hist: merged } : {}) });
  return { perWindow, samples: count, ...(overall !== undefined ? { overall } : {}) };
}
