import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createLatencyHistogramUs, forEachRecordedValue, percentileMs, recordMs, type Histogram } from '../../analysis/histogram.ts';
import { K6CsvDecoder, metricTypesFromSummary, readCsvText } from '../../analysis/k6-csv.ts';
import { typesWithBuiltins } from '../../analysis/k6-metrics.ts';
import { PROFILES, type ProfileName } from '../../scenarios/lib/profiles.ts';
import { parseDurationMs } from '../cli/flags.ts';
import type { GateResult, K6PhaseResult, Verdict } from '../run/verdict.ts';

/**
 * What the plots of report.html need, computed from a run folder: the verdict, and each load
 * scenario's raw k6 samples (`k6-<scenario>-samples.csv.gz`) streamed once through perf's own
 * CSV decoder (analysis/k6-csv.ts) into HDR histograms (analysis/histogram.ts).
 *
 * Definitions, per perf scenario (one k6 script, one sample file):
 * - Windows are `windowSeconds` long, aligned on multiples of it in unix time (as the
 *   analysis's), 1 s unless the scenario ran longer than MAX_POINTS seconds (then as many whole
 *   seconds as keep a plot under MAX_POINTS points). `t` is a window's start in seconds since
 *   the start of the first window (the load start, on which `--compare` aligns two runs).
 * - Latency: p50/p95/p99 of every `http_req_duration` sample stamped in the window (k6 stamps a
 *   request when it completes). Requests/s: those samples over the window's length; failed/s:
 *   `http_req_failed` samples with value 1 over it. The last window may be partial.
 * - In flight: the time average of requests in flight over the window (Little's law, exact: each
 *   request [end − duration, end) adds its overlap with the window), requests with a `scenario`
 *   tag only, as in analysis/concurrency.ts; `vus`: the most VUs k6 reported in the window.
 * - WebSocket timings: every Trend whose name starts with `ws_` (k6's ws_connecting, ws_ping,
 *   ws_session_duration; the agent's ws_time_to_first_event and ws_event_latency, split by its
 *   `event` tag), p50/p95/p99 per window and over the run.
 * - Distribution: the scenario's whole `http_req_duration` histogram, its HDR buckets summed into
 *   ten log-spaced bins per decade of milliseconds.
 *
 * Memory is bounded by the windows of a plot, not by the samples: a window's histogram is read
 * and recycled once samples are FINALIZE_LAG_S past its end (k6 writes samples nearly in time
 * order); a sample arriving later still counts in its window's requests, not in its percentiles
 * (`lateSamples` says how many did).
 */

/** Most points a time plot gets per series. */
export const MAX_POINTS = 2000;
/** Seconds after a window's end before its percentiles are read (k6 flushes about every second). */
const FINALIZE_LAG_S = 5;
/** Bins per decade of the latency distribution. */
const BINS_PER_DECADE = 10;

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** A trend over time: per window its sample count and percentiles (null: no sample there). */
export interface TrendTrack {
  /** The metric, with `{event=...}` when split by that tag. */
  label: string;
  metric: string;
  count: number[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  /** Over the whole scenario. */
  overall: Percentiles & { count: number; maxMs: number };
}

/** A gate drawn as a horizontal line on a plot of its metric. */
export interface GateLine {
  label: string;
  metric: string;
  stat: string;
  limit: number;
  status: GateResult['status'];
}

export interface ScenarioReport {
  scenario: string;
  /** The sample file, relative to the run folder. */
  samplesFile: string;
  windowSeconds: number;
  /** Unix seconds of `t = 0`. */
  startUnix: number;
  /** Window starts, seconds since `startUnix`. */
  t: number[];
  latency: { p50: (number | null)[]; p95: (number | null)[]; p99: (number | null)[] };
  requestsPerSec: number[];
  failedPerSec: number[];
  inFlight: number[];
  /** Null in windows where k6 reported no `vus` sample. */
  vus: (number | null)[];
  /** The ramp-up, in seconds since `startUnix` (the profile's, from the first sample on). */
  rampUp?: { from: number; to: number };
  overall: Percentiles & { requests: number; failed: number; maxMs: number };
  /** HDR buckets of http_req_duration in log bins: [fromMs, toMs) and how many. */
  distribution: { fromMs: number; toMs: number; count: number }[];
  ws: TrendTrack[];
  gateLines: GateLine[];
  samples: number;
  lateSamples: number;
}

export interface ReportData {
  verdict: Verdict;
  profile?: string;
  rampUpSeconds?: number;
  scenarios: ScenarioReport[];
  /** Why a scenario has no plots (sample file missing or unreadable), one line each. */
  notes: string[];
}

export interface ReportDataOptions {
  /** Applied to tag values shown on the page (event names); the verdict comes redacted already. */
  redact?: (text: string) => string;
}

/** The verdict of a run folder; throws with the path when it is missing or not JSON. */
export function readVerdict(runDir: string): Verdict {
  return JSON.parse(readFileSync(path.join(runDir, 'verdict.json'), 'utf8')) as Verdict;
}

/** Everything the report draws, from a run folder and its verdict. */
export async function buildReportData(runDir: string, verdict: Verdict, opts: ReportDataOptions = {}): Promise<ReportData> {
  const profile = profileOf(verdict);
  const rampUpSeconds = profile ? parseDurationMs(PROFILES[profile].rampUp) / 1000 : undefined;
  const scenarios: ScenarioReport[] = [];
  const notes: string[] = [];
  for (const phase of verdict.phases) {
    for (const k of phase.k6 ?? []) {
      const rel = k.files?.samples;
      if (!rel) continue;
      const file = path.resolve(runDir, rel);
      if (!existsSync(file)) {
        notes.push(`${k.scenario}: no sample file (${rel}): nothing to plot`);
        continue;
      }
      // The plots stream one time-ordered file; N shards' files are not one stream (the gates are theirs merged).
      if (k.shards?.length) notes.push(`${k.scenario}: ran as ${k.shards.length} k6 shards; the plots show shard 1's samples (its 1/${k.shards.length} of the load), the gates all shards' merged`);
      try {
        scenarios.push(await scenarioReport(k, file, rel, runDir, verdict.gates ?? [], rampUpSeconds, opts));
      } catch (e) {
        notes.push(`${k.scenario}: ${rel} could not be read: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  return { verdict, ...(profile ? { profile } : {}), ...(rampUpSeconds !== undefined ? { rampUpSeconds } : {}), scenarios, notes };
}

/** The run's profile: the manifest's, else `--profile` in its argv (verdicts before the manifest had it). */
function profileOf(v: Verdict): ProfileName | undefined {
  const argv = v.manifest?.argv ?? [];
  const i = argv.indexOf('--profile');
  const named = v.manifest?.profile ?? (i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--profile='))?.slice(10));
  return named && Object.hasOwn(PROFILES, named) ? (named as ProfileName) : undefined;
}

/** Window length for a scenario that ran `durationMs`: 1 s, or coarser so a plot stays under MAX_POINTS. */
export function windowSecondsFor(durationMs: number | undefined): number {
  return Math.max(1, Math.ceil((durationMs ?? 0) / 1000 / MAX_POINTS));
}

interface WindowCounts {
  requests: number;
  failed: number;
  busyMs: number;
  vus: number | null;
}

/** Windowed percentiles of one trend, its histograms recycled through a shared pool. */
class WindowedTrend {
  readonly open = new Map<number, Histogram>();
  readonly done = new Map<number, Percentiles & { count: number }>();
  readonly whole = createLatencyHistogramUs();
  late = 0;

  constructor(
    readonly metric: string,
    readonly label: string,
    private readonly pool: Histogram[],
  ) {}

  record(window: number, ms: number): void {
    recordMs(this.whole, ms);
    let h = this.open.get(window);
    if (!h) {
      const finished = this.done.get(window);
      if (finished) {
        finished.count++;
        this.late++;
        return;
      }
      h = this.pool.pop() ?? createLatencyHistogramUs();
      this.open.set(window, h);
    }
    recordMs(h, ms);
  }

  /** Reads and recycles every open window that starts before `before`. */
  finalize(before: number): void {
    for (const [w, h] of this.open) {
      if (w >= before) continue;
      this.done.set(w, { count: h.totalCount, p50: percentileMs(h, 50)!, p95: percentileMs(h, 95)!, p99: percentileMs(h, 99)! });
      this.open.delete(w);
      h.reset();
      this.pool.push(h);
    }
  }

  series(windows: number[]): Omit<TrendTrack, 'label' | 'metric' | 'overall'> {
    const at = windows.map((w) => this.done.get(w));
    return { count: at.map((x) => x?.count ?? 0), p50: at.map((x) => x?.p50 ?? null), p95: at.map((x) => x?.p95 ?? null), p99: at.map((x) => x?.p99 ?? null) };
  }

  overall(): Percentiles & { count: number; maxMs: number } {
    const h = this.whole;
    return { count: h.totalCount, p50: percentileMs(h, 50) ?? 0, p95: percentileMs(h, 95) ?? 0, p99: percentileMs(h, 99) ?? 0, maxMs: h.totalCount ? h.maxValue / 1000 : 0 };
  }
}

/** One scenario's sample file, streamed once. */
export async function scenarioReport(
  k: Pick<K6PhaseResult, 'scenario' | 'durationMs' | 'files'>,
  file: string,
  rel: string,
  runDir: string,
  gates: GateResult[],
  rampUpSeconds: number | undefined,
  opts: ReportDataOptions = {},
): Promise<ScenarioReport> {
  const W = windowSecondsFor(k.durationMs);
  const Wms = W * 1000;
  const summary = k.files?.summary ? path.resolve(runDir, k.files.summary) : '';
  const types = typesWithBuiltins(summary ? metricTypesFromSummary(summary) : new Map());
  const redact = opts.redact ?? ((s: string) => s);
  const pool: Histogram[] = [];
  const latency = new WindowedTrend('http_req_duration', 'http_req_duration', pool);
  const ws = new Map<string, WindowedTrend>();
  const counts = new Map<number, WindowCounts>();
  const countsAt = (w: number): WindowCounts => {
    let c = counts.get(w);
    if (!c) counts.set(w, (c = { requests: 0, failed: 0, busyMs: 0, vus: null }));
    return c;
  };
  /** Per tag text: whether it has a `scenario` tag, and its `event` tag. */
  const tagInfo = new Map<string, { scenario: boolean; event?: string }>();
  let firstSecond = Infinity;
  let lastSecond = -Infinity;
  let newestWindow = -Infinity;
  let samples = 0;
  /** Seconds origin of the millisecond clock: keeps doubles exact to the nanosecond. */
  let origin: number | undefined;

  const decoder: K6CsvDecoder = new K6CsvDecoder((metric, seconds, nanos, value, tagKey) => {
    samples++;
    if (seconds < firstSecond) firstSecond = seconds;
    if (seconds > lastSecond) lastSecond = seconds;
    const w = seconds - (seconds % W);
    if (w > newestWindow) {
      newestWindow = w;
      // Windows that ended FINALIZE_LAG_S ago will get no more samples (bar a late one).
      const before = w - Math.ceil(FINALIZE_LAG_S / W) * W;
      latency.finalize(before);
      for (const t of ws.values()) t.finalize(before);
    }
    if (metric === 'http_req_duration') {
      latency.record(w, value);
      const c = countsAt(w);
      c.requests++;
      let info = tagInfo.get(tagKey);
      if (!info) tagInfo.set(tagKey, (info = infoOf(decoder.tagsOf(tagKey))));
      if (!info.scenario) return;
      if (origin === undefined) origin = seconds;
      const end = (seconds - origin) * 1000 + nanos / 1e6;
      const start = end - Math.max(0, value);
      // The request's overlap with each window it spans ([start, end), on the windows' grid).
      const originMs = origin * 1000;
      for (let ws0 = Math.floor((start + originMs) / Wms) * Wms - originMs; ws0 < end; ws0 += Wms) {
        const overlap = Math.min(end, ws0 + Wms) - Math.max(start, ws0);
        if (overlap > 0) countsAt(Math.round((ws0 + originMs) / 1000)).busyMs += overlap;
      }
    } else if (metric === 'http_req_failed') {
      if (value !== 0) countsAt(w).failed++;
    } else if (metric === 'vus') {
      const c = countsAt(w);
      if (c.vus === null || value > c.vus) c.vus = value;
    } else if (metric.startsWith('ws_') && types.get(metric) === 'trend') {
      let info = tagInfo.get(tagKey);
      if (!info) tagInfo.set(tagKey, (info = infoOf(decoder.tagsOf(tagKey))));
      const label = info.event !== undefined ? `${metric}{event=${redact(info.event)}}` : metric;
      let t = ws.get(label);
      if (!t) ws.set(label, (t = new WindowedTrend(metric, label, pool)));
      t.record(w, value);
    }
  }, true);

  for await (const text of readCsvText(file)) decoder.push(text);
  decoder.end();
  latency.finalize(Infinity);
  for (const t of ws.values()) t.finalize(Infinity);

  const windows: number[] = [];
  if (samples > 0) for (let w = firstSecond - (firstSecond % W); w <= lastSecond; w += W) windows.push(w);
  const startUnix = windows[0] ?? 0;
  const lat = latency.series(windows);
  const overall = latency.overall();
  const c = windows.map((w) => counts.get(w));
  const rampUp = rampUpSeconds !== undefined && samples > 0 ? { from: firstSecond - startUnix, to: firstSecond - startUnix + rampUpSeconds } : undefined;
  return {
    scenario: k.scenario,
    samplesFile: rel,
    windowSeconds: W,
    startUnix,
    t: windows.map((w) => w - startUnix),
    latency: { p50: lat.p50, p95: lat.p95, p99: lat.p99 },
    requestsPerSec: c.map((x) => round((x?.requests ?? 0) / W, 3)),
    failedPerSec: c.map((x) => round((x?.failed ?? 0) / W, 3)),
    inFlight: c.map((x) => round((x?.busyMs ?? 0) / Wms, 3)),
    vus: c.map((x) => x?.vus ?? null),
    ...(rampUp ? { rampUp } : {}),
    overall: { requests: overall.count, failed: [...counts.values()].reduce((n, x) => n + x.failed, 0), p50: overall.p50, p95: overall.p95, p99: overall.p99, maxMs: overall.maxMs },
    distribution: distributionOf(latency.whole),
    ws: [...ws.values()]
      .sort((a, b) => (a.label < b.label ? -1 : 1))
      .map((t) => ({ label: t.label, metric: t.metric, ...t.series(windows), overall: t.overall() })),
    gateLines: gateLinesFor(k.scenario, gates, ['http_req_duration', ...new Set([...ws.values()].map((t) => t.metric))]),
    samples,
    lateSamples: latency.late + [...ws.values()].reduce((n, t) => n + t.late, 0),
  };
}

function infoOf(tags: Record<string, string>): { scenario: boolean; event?: string } {
  return { scenario: tags.scenario !== undefined, ...(tags.event !== undefined ? { event: tags.event } : {}) };
}

/** The histogram's HDR buckets summed into log-spaced bins (BINS_PER_DECADE per decade of ms). */
export function distributionOf(h: Histogram): { fromMs: number; toMs: number; count: number }[] {
  const bins = new Map<number, number>();
  forEachRecordedValue(h, (us, count) => {
    const i = Math.floor(Math.log10(Math.max(us, 1) / 1000) * BINS_PER_DECADE + 1e-9);
    bins.set(i, (bins.get(i) ?? 0) + count);
  });
  const keys = [...bins.keys()].sort((a, b) => a - b);
  if (!keys.length) return [];
  const out: { fromMs: number; toMs: number; count: number }[] = [];
  // Empty bins in between are kept (count 0), so the shape is drawn to scale.
  for (let i = keys[0]!; i <= keys[keys.length - 1]!; i++) {
    out.push({ fromMs: round(10 ** (i / BINS_PER_DECADE), 4), toMs: round(10 ** ((i + 1) / BINS_PER_DECADE), 4), count: bins.get(i) ?? 0 });
  }
  return out;
}

/** Percentile gates on `metrics` that apply to `scenario` (bound to it, or to every scenario). */
export function gateLinesFor(scenario: string, gates: GateResult[], metrics: string[]): GateLine[] {
  const out: GateLine[] = [];
  for (const g of gates) {
    const metric = g.metric.split('{')[0]!;
    if (!metrics.includes(metric) || g.status === 'not-run') continue;
    if (g.scenarios && !g.scenarios.includes(scenario)) continue;
    const stat = /^\s*(p\(\d+(?:\.\d+)?\)|avg|med|min|max)/.exec(g.expression)?.[1];
    if (!stat || !Number.isFinite(g.limit)) continue;
    out.push({ label: `${g.metric} ${g.expression}${g.window === 'steady' ? ' (steady)' : ''}`, metric, stat, limit: g.limit, status: g.status });
  }
  return out;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
