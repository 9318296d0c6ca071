import type { SampleTap } from './k6-csv.ts';
import type { Series } from './metric-store.ts';
import { steadyStartMs } from '../bundler/window-tag.ts';

/**
 * Achieved concurrency of a k6 run, from its raw samples: how many requests were really in
 * flight, how many iterations per second ran, and what the scenario asked for. A closed-model
 * journey with think time can leave a fast service with under one request in flight whatever
 * `--users` says; these figures show it.
 *
 * Definitions (every figure per k6 scenario, and for all of a script's scenarios together):
 *
 * - A request is the interval [end − d, end): `end` is its samples' timestamp (k6 stamps a
 *   request's samples when it completes), `d` its `http_req_duration` (sending + waiting +
 *   receiving: from the first byte written to the last byte read; DNS, connecting and TLS
 *   come before it and are not counted).
 * - The load period is the time k6 ran the scenario's iterations: from the earliest start of
 *   an iteration or request (end − `iteration_duration`, end − `http_req_duration`) to the
 *   latest end. Only samples with a `scenario` tag count: `setup()` and `teardown()` carry
 *   none (their `group` is `::setup` / `::teardown`), so their requests and their time are
 *   not part of the load.
 * - Requests/s and iterations/s: their count (`http_req_duration`, `iterations` samples)
 *   divided by the load period in seconds (fractional, not whole seconds).
 * - Mean in flight: Little's law, exact: the sum of the requests' durations over the load
 *   period (the time average of the number in flight, since every request lies inside it).
 * - Max in flight: the most requests whose intervals contain one instant. It is reached just
 *   after some request starts, so it is the maximum, over request starts in time order, of
 *   the number of requests started and not yet ended (a sweep with a min-heap of the ends of
 *   the requests in flight). Samples arrive ordered by end, not start, so each request waits
 *   in a second heap, ordered by start, until no request still to come can start before it:
 *   until the latest end seen is past its start by the longest duration seen so far plus
 *   `REORDER_SLACK_MS` (k6 writes samples in batches, not exactly in time order). Memory is
 *   bounded by the requests of that horizon, not by the run's length. A request longer than
 *   every earlier one by more than the slack can arrive after the sweep has passed its start:
 *   it is counted from the sweep's position on, and `lateRequests` says how many were; with
 *   none, the max is exact.
 * - In flight at start: for each request, the number in flight the moment it started, itself
 *   included (the same sweep), and its percentiles over the requests (nearest rank): what a
 *   request arriving at the service found. A fault that slows requests arriving with more
 *   than N in flight slows more than 1 % of them, and so fails a p(99) gate, when N is below
 *   the healthy run's `atStart.p99` (the slowed requests only add to the count; "about", as
 *   k6 sees each request from the client's side of the socket).
 */

/** How far out of end-time order k6 may write two samples (its outputs flush about every second). */
export const REORDER_SLACK_MS = 2000;

export interface InFlight {
  /** Time average of requests in flight over the load period (Little's law). */
  mean: number;
  /** Most requests in flight at one instant. */
  max: number;
  /** Requests that reached the sweep after it had passed their start (0: the max is exact). */
  lateRequests: number;
  /** Requests in flight as a request started, itself included: percentiles over the requests. */
  atStart: { p50: number; p90: number; p99: number };
}

/** What a k6 scenario asked for, from its options as k6 reports them (`k6 inspect`). */
export interface AskedLoad {
  executor: string;
  /** VUs (constant-vus, per-vu-iterations, shared-iterations) or the peak of ramping-vus stages. */
  vus?: number;
  /** Iterations per second asked of an arrival-rate executor (the peak stage of ramping-arrival-rate). */
  arrivalRatePerSec?: number;
}

export interface AchievedLoad {
  /** Seconds from the first iteration start to the last end (setup and teardown excluded). */
  periodSeconds: number;
  requests: number;
  requestsPerSec: number;
  iterations: number;
  iterationsPerSec: number;
  inFlight: InFlight;
}

export interface ScenarioLoad extends AchievedLoad {
  /** The k6 scenario (its `scenario` tag). */
  scenario: string;
  asked?: AskedLoad;
}

export interface LoadConcurrency extends AchievedLoad {
  /** Per k6 scenario of the script, by name. */
  scenarios: ScenarioLoad[];
}

/** A growable binary min-heap of numbers with a number payload each, in typed arrays. */
class MinHeap {
  private keys = new Float64Array(64);
  private vals = new Float64Array(64);
  size = 0;

  push(key: number, val: number): void {
    if (this.size === this.keys.length) {
      const k = new Float64Array(this.size * 2);
      const v = new Float64Array(this.size * 2);
      k.set(this.keys);
      v.set(this.vals);
      this.keys = k;
      this.vals = v;
    }
    let i = this.size++;
    const { keys, vals } = this;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent]! <= key) break;
      keys[i] = keys[parent]!;
      vals[i] = vals[parent]!;
      i = parent;
    }
    keys[i] = key;
    vals[i] = val;
  }

  /** The smallest key (the heap must not be empty). */
  peekKey(): number {
    return this.keys[0]!;
  }

  peekVal(): number {
    return this.vals[0]!;
  }

  pop(): void {
    const { keys, vals } = this;
    const n = --this.size;
    const key = keys[n]!;
    const val = vals[n]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && keys[child + 1]! < keys[child]!) child++;
      if (keys[child]! >= key) break;
      keys[i] = keys[child]!;
      vals[i] = vals[child]!;
      i = child;
    }
    keys[i] = key;
    vals[i] = val;
  }
}

/**
 * Requests in flight and rates of one set of requests and iterations (one k6 scenario, or all
 * of a script's), fed sample by sample in the order k6 wrote them. Times in milliseconds on
 * any fixed origin.
 */
export class ConcurrencyMeter {
  private first = Infinity;
  private last = -Infinity;
  private requests = 0;
  private iterations = 0;
  private busyMs = 0;
  private maxDurationMs = 0;
  private latestEnd = -Infinity;
  /** Requests not yet swept, by start; payload: end. */
  private readonly pending = new MinHeap();
  /** Ends of the swept requests still in flight at the sweep's position. */
  private readonly active = new MinHeap();
  /** The start the sweep is at. */
  private sweptTo = -Infinity;
  private max = 0;
  private late = 0;
  /** `atStartCounts[k]`: requests that started with k in flight (bounded by the max). */
  private atStartCounts = new Float64Array(16);

  request(endMs: number, durationMs: number): void {
    const d = durationMs > 0 ? durationMs : 0;
    const start = endMs - d;
    this.requests++;
    this.busyMs += d;
    this.span(start, endMs);
    if (d > this.maxDurationMs) this.maxDurationMs = d;
    if (endMs > this.latestEnd) this.latestEnd = endMs;
    if (start < this.sweptTo) {
      // Arrived after the sweep passed its start: in flight from the sweep's position on.
      this.late++;
      if (endMs > this.sweptTo) {
        this.active.push(endMs, 0);
        if (this.active.size > this.max) this.max = this.active.size;
      }
    } else {
      this.pending.push(start, endMs);
    }
    this.sweep(this.latestEnd - this.maxDurationMs - REORDER_SLACK_MS);
  }

  /** One iteration (an `iteration_duration` sample): widens the load period. */
  iterationSpan(endMs: number, durationMs: number): void {
    this.span(endMs - Math.max(0, durationMs), endMs);
  }

  /** One completed iteration (an `iterations` sample). */
  iteration(atMs: number): void {
    this.iterations++;
    this.span(atMs, atMs);
  }

  private span(from: number, to: number): void {
    if (from < this.first) this.first = from;
    if (to > this.last) this.last = to;
  }

  /** Sweeps every pending request that starts before `until`, in start order. */
  private sweep(until: number): void {
    const { pending, active } = this;
    while (pending.size > 0 && pending.peekKey() < until) {
      const start = pending.peekKey();
      const end = pending.peekVal();
      pending.pop();
      this.sweptTo = start;
      // [start, end): a request that ended exactly at this start is no longer in flight.
      while (active.size > 0 && active.peekKey() <= start) active.pop();
      if (end > start) active.push(end, 0);
      // A request of zero duration is in flight at its start only.
      const seen = active.size + (end > start ? 0 : 1);
      if (seen > this.max) this.max = seen;
      this.noteAtStart(seen);
    }
  }

  private noteAtStart(k: number): void {
    if (k >= this.atStartCounts.length) {
      const grown = new Float64Array(Math.max(k + 1, this.atStartCounts.length * 2));
      grown.set(this.atStartCounts);
      this.atStartCounts = grown;
    }
    this.atStartCounts[k]!++;
  }

  /** Nearest-rank percentile of the in-flight counts at request starts. */
  private atStart(p: number): number {
    const counts = this.atStartCounts;
    let total = 0;
    for (const c of counts) total += c;
    if (total === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * total));
    let seen = 0;
    for (let k = 0; k < counts.length; k++) {
      seen += counts[k]!;
      if (seen >= rank) return k;
    }
    return counts.length - 1;
  }

  result(): AchievedLoad {
    this.sweep(Infinity);
    const periodMs = this.last > this.first ? this.last - this.first : 0;
    const perSec = (n: number) => (periodMs > 0 ? round((n * 1000) / periodMs, 1) : 0);
    return {
      periodSeconds: round(periodMs / 1000, 3),
      requests: this.requests,
      requestsPerSec: perSec(this.requests),
      iterations: this.iterations,
      iterationsPerSec: perSec(this.iterations),
      inFlight: {
        mean: periodMs > 0 ? round(this.busyMs / periodMs, 3) : 0,
        max: this.max,
        lateRequests: this.late,
        atStart: { p50: this.atStart(50), p90: this.atStart(90), p99: this.atStart(99) },
      },
    };
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Per series: which figure its samples feed (0 none, 1 request, 2 iteration span, 3 iteration) and its scenario's meter. */
interface SeriesRole {
  kind: 0 | 1 | 2 | 3;
  own?: ConcurrencyMeter;
}

/**
 * A script's samples into a meter per k6 scenario and one for all of them. `tap` is handed to
 * the ingest (`ingestK6Csv(..., tap)`, analysis/k6-csv.ts), so the figures come from the same
 * pass over the raw file as the gates; what each sample feeds is decided once per series.
 */
export class LoadConcurrencyIngest {
  private readonly all = new ConcurrencyMeter();
  private readonly byScenario = new Map<string, ConcurrencyMeter>();
  private readonly roles = new Map<Series, SeriesRole>();
  /** Seconds origin of the millisecond clock (the first sample's second): keeps doubles exact to the nanosecond. */
  private origin: number | undefined;

  readonly tap: SampleTap = (series, seconds, nanos, value) => {
    let role = this.roles.get(series);
    if (!role) this.roles.set(series, (role = this.roleOf(series)));
    if (role.kind === 0) return;
    if (this.origin === undefined) this.origin = seconds;
    const ms = (seconds - this.origin) * 1000 + nanos / 1e6;
    const own = role.own!;
    if (role.kind === 1) {
      own.request(ms, value);
      this.all.request(ms, value);
    } else if (role.kind === 2) {
      own.iterationSpan(ms, value);
      this.all.iterationSpan(ms, value);
    } else {
      own.iteration(ms);
      this.all.iteration(ms);
    }
  };

  /** Only samples with a `scenario` tag are load: setup() and teardown() have none. */
  private roleOf(series: Series): SeriesRole {
    const kind = series.metric === 'http_req_duration' ? 1 : series.metric === 'iteration_duration' ? 2 : series.metric === 'iterations' ? 3 : 0;
    const scenario = series.tags.scenario;
    if (kind === 0 || !scenario) return { kind: 0 };
    let own = this.byScenario.get(scenario);
    if (!own) this.byScenario.set(scenario, (own = new ConcurrencyMeter()));
    return { kind, own };
  }

  /** Undefined when no load sample was seen (k6 ran nothing, or wrote no sample). */
  result(asked: Record<string, AskedLoad> = {}): LoadConcurrency | undefined {
    if (this.byScenario.size === 0) return undefined;
    const scenarios = [...this.byScenario.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([scenario, m]) => ({ scenario, ...(asked[scenario] ? { asked: asked[scenario] } : {}), ...m.result() }));
    return { ...this.all.result(), scenarios };
  }
}

/** A k6 duration option (`"1s"`, `"500ms"`, `"1m30s"`, or a number of ms) in ms; undefined when unreadable. */
function durationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+(?:\.\d+)?)ms)?$/.exec(v.trim());
  if (!m || !v.trim()) return undefined;
  const [h, min, s, ms] = m.slice(1).map((g) => Number(g ?? 0)) as [number, number, number, number];
  return h * 3_600_000 + min * 60_000 + s * 1000 + ms;
}

/**
 * What each scenario asked for, from the `scenarios` block of k6's options (`k6 inspect
 * --execution-requirements`, which reports them after the script and perf's run-time
 * overrides have set them). Unknown executors get their name only.
 */
export function askedLoad(scenarios: Record<string, unknown> | undefined): Record<string, AskedLoad> {
  const out: Record<string, AskedLoad> = {};
  for (const [name, raw] of Object.entries(scenarios ?? {})) {
    if (!raw || typeof raw !== 'object') continue;
    const s = raw as Record<string, unknown>;
    const executor = typeof s.executor === 'string' ? s.executor : 'unknown';
    const stages = Array.isArray(s.stages) ? (s.stages as { target?: unknown }[]).map((x) => Number(x.target)).filter(Number.isFinite) : [];
    const perSec = (rate: number) => {
      const unit = durationMs(s.timeUnit ?? '1s');
      return unit ? Math.round(((rate * 1000) / unit) * 1000) / 1000 : undefined;
    };
    const a: AskedLoad = { executor };
    if (executor === 'constant-arrival-rate' && typeof s.rate === 'number') {
      const r = perSec(s.rate);
      if (r !== undefined) a.arrivalRatePerSec = r;
    } else if (executor === 'ramping-arrival-rate') {
      const peak = Math.max(typeof s.startRate === 'number' ? s.startRate : 0, ...stages);
      const r = perSec(peak);
      if (r !== undefined) a.arrivalRatePerSec = r;
    } else if (executor === 'ramping-vus') {
      a.vus = Math.max(typeof s.startVUs === 'number' ? s.startVUs : 1, ...stages);
    } else if (typeof s.vus === 'number') {
      a.vus = s.vus;
    } else if (executor === 'constant-vus' || executor === 'per-vu-iterations' || executor === 'shared-iterations') {
      a.vus = 1; // k6's default
    }
    out[name] = a;
  }
  return out;
}

/**
 * Seconds from a perf scenario's start until every k6 scenario in it reached its peak (its
 * ramp-up, from the options k6 resolved): `stages` of ramping executors up to the first stage at
 * the peak, plus `startTime`; 0 for constant executors. `fallback` (the profile's ramp-up) when
 * k6 could not tell. Steady-state windows (window capture, drift gates, the report's shading)
 * start here, so a constant-arrival-rate scenario loses none of its samples to a ramp-up it does not have.
 */
export function rampUpSecondsOf(scenarios: Record<string, unknown> | undefined, fallback: number): number {
  const entries = Object.values(scenarios ?? {}).filter((s): s is Record<string, unknown> => !!s && typeof s === 'object');
  if (!entries.length) return fallback;
  let end = 0;
  for (const s of entries) {
    const startMs = durationMs(s.startTime) ?? 0;
    const stages = Array.isArray(s.stages) ? (s.stages as { duration?: unknown; target?: unknown }[]).map((x) => ({ duration: String(x.duration ?? '0s'), target: Number(x.target) })) : undefined;
    const from = typeof s.startVUs === 'number' ? s.startVUs : typeof s.startRate === 'number' ? s.startRate : 0;
    end = Math.max(end, (startMs + (stages ? steadyStartMs(stages, from) : 0)) / 1000);
  }
  return end;
}
