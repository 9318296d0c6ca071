import { add, createLatencyHistogramUs, encodeHistogram, recordMs, statsMs, type Histogram, type HistogramStats } from './histogram.ts';

export type MetricType = 'trend' | 'rate' | 'counter' | 'gauge';

/** One metric under one exact tag set, aggregated over the whole phase. */
export interface Series {
  metric: string;
  type: MetricType;
  tags: Record<string, string>;
  count: number;
  /** Rate metrics: samples whose value was non-zero (k6's `passes`). */
  nonZero: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  /** Trends only. */
  histogram?: Histogram;
  /** Values outside the histogram's 1 µs – 1 h range, clamped. */
  clamped: number;
  /** False for k6's sub-timings (blocked, connecting, ...): kept for the phase, not per window. */
  windowed: boolean;
  /** The window this series wrote to last (samples arrive in time order: saves two lookups). */
  lastWindow?: WindowAgg;
}

/** One metric aggregated over several series (and stores). */
export type Aggregate = Omit<Series, 'tags' | 'windowed' | 'lastWindow'> & { seriesCount: number };

/** Sums series or aggregates into one; histograms merge with `add` (exact to HDR precision). */
function aggregate(metric: string, type: MetricType, parts: (Omit<Aggregate, 'metric' | 'type'> & { histogram?: Histogram })[]): Aggregate {
  const out: Aggregate = { metric, type, count: 0, nonZero: 0, sum: 0, min: Infinity, max: -Infinity, last: 0, clamped: 0, seriesCount: 0, ...(type === 'trend' ? { histogram: createLatencyHistogramUs() } : {}) };
  for (const p of parts) {
    out.count += p.count;
    out.nonZero += p.nonZero;
    out.sum += p.sum;
    out.min = Math.min(out.min, p.min);
    out.max = Math.max(out.max, p.max);
    out.last = p.last;
    out.clamped += p.clamped;
    out.seriesCount += p.seriesCount;
    if (out.histogram && p.histogram) add(out.histogram, p.histogram);
  }
  return out;
}

/**
 * k6 built-ins not worth a time series: request sub-timings and byte counters. Everything
 * else (request duration and failures, iterations, checks, every custom metric) is windowed.
 */
const NOT_WINDOWED = new Set([
  'http_req_blocked', 'http_req_connecting', 'http_req_tls_handshaking', 'http_req_sending', 'http_req_waiting',
  'http_req_receiving', 'iteration_duration', 'data_sent', 'data_received', 'vus', 'vus_max',
]);

/** One metric (all tag sets together) in one time window. */
export interface WindowAgg {
  start: number;
  count: number;
  nonZero: number;
  sum: number;
  histogram?: Histogram;
}

/**
 * Aggregates k6 samples with bounded memory: one `Series` per metric × tag set (the tag
 * cardinality of a scenario, not its sample count) and one `WindowAgg` per metric × time
 * window. Nothing keeps individual samples.
 */
export class MetricStore {
  readonly series = new Map<string, Series>();
  readonly windows = new Map<string, Map<number, WindowAgg>>();
  firstTimestamp = Infinity;
  lastTimestamp = -Infinity;
  samples = 0;
  /**
   * Per metric: samples with the same tags and the same nanosecond timestamp as an earlier
   * sample of their series. InfluxDB keeps one point per measurement × tag set × timestamp,
   * so these are not separate points there. (k6 v2 writes no per-VU tag to InfluxDB, and VUs
   * stopping together at the end of a test can read the clock in the same nanosecond.)
   */
  readonly coincident = new Map<string, number>();
  /**
   * The nanoseconds seen per InfluxDB series (metric and tag set, whatever the order k6 wrote
   * the tags in: it writes extra tags in random order, so one tag set can be several
   * `Series`) within its current second: bounded by one second's samples.
   */
  private readonly pointIds = new Map<Series, { second: number; nanos: Set<number> }>();
  private readonly pointIdsByTagSet = new Map<string, { second: number; nanos: Set<number> }>();

  constructor(
    readonly types: Map<string, MetricType>,
    readonly windowSeconds = 10,
  ) {}

  typeOf(metric: string): MetricType {
    return this.types.get(metric) ?? 'trend';
  }

  /** Finds or creates the series for `key` (metric + raw tag text); `parseTags` runs once per new key. */
  seriesFor(key: string, metric: string, parseTags: () => Record<string, string>): Series {
    let s = this.series.get(key);
    if (!s) {
      const type = this.typeOf(metric);
      s = { metric, type, tags: parseTags(), count: 0, nonZero: 0, sum: 0, min: Infinity, max: -Infinity, last: 0, clamped: 0, windowed: !NOT_WINDOWED.has(metric), ...(type === 'trend' ? { histogram: createLatencyHistogramUs() } : {}) };
      this.series.set(key, s);
    }
    return s;
  }

  /** `timestamp` in unix seconds; `nanos`, when known, the nanoseconds within that second. */
  record(s: Series, timestamp: number, value: number, nanos?: number): void {
    this.samples++;
    if (nanos !== undefined) this.notePointId(s, timestamp, nanos);
    s.count++;
    s.sum += value;
    if (value !== 0) s.nonZero++;
    if (value < s.min) s.min = value;
    if (value > s.max) s.max = value;
    s.last = value;
    if (s.histogram && !recordMs(s.histogram, value)) s.clamped++;
    if (timestamp < this.firstTimestamp) this.firstTimestamp = timestamp;
    if (timestamp > this.lastTimestamp) this.lastTimestamp = timestamp;

    if (!s.windowed) return;
    const start = timestamp - (timestamp % this.windowSeconds);
    let w = s.lastWindow;
    if (!w || w.start !== start) {
      let perMetric = this.windows.get(s.metric);
      if (!perMetric) this.windows.set(s.metric, (perMetric = new Map()));
      w = perMetric.get(start);
      if (!w) perMetric.set(start, (w = { start, count: 0, nonZero: 0, sum: 0, ...(s.type === 'trend' ? { histogram: createLatencyHistogramUs() } : {}) }));
      s.lastWindow = w;
    }
    w.count++;
    w.sum += value;
    if (value !== 0) w.nonZero++;
    if (w.histogram) recordMs(w.histogram, value);
  }

  private notePointId(s: Series, second: number, nanos: number): void {
    let ids = this.pointIds.get(s);
    if (!ids) {
      const key = `${s.metric}\u0000${JSON.stringify(Object.entries(s.tags).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
      ids = this.pointIdsByTagSet.get(key);
      if (!ids) this.pointIdsByTagSet.set(key, (ids = { second, nanos: new Set() }));
      this.pointIds.set(s, ids);
    }
    // Samples arrive nearly in time order; coinciding ones arrive in the same flush.
    if (ids.second !== second) {
      ids.second = second;
      ids.nanos.clear();
    }
    if (ids.nanos.has(nanos)) this.coincident.set(s.metric, (this.coincident.get(s.metric) ?? 0) + 1);
    else ids.nanos.add(nanos);
  }

  /** Series of `metric` whose tags include every `filter` tag (k6's threshold sub-metric rule). */
  select(metric: string, filter: Record<string, string> = {}): Series[] {
    const out: Series[] = [];
    for (const s of this.series.values()) {
      if (s.metric !== metric) continue;
      if (Object.entries(filter).every(([k, v]) => s.tags[k] === v)) out.push(s);
    }
    return out;
  }

  /** The selected series merged into one aggregate (histograms merged with `add`). */
  merged(metric: string, filter: Record<string, string> = {}): Aggregate {
    const parts = this.select(metric, filter);
    return aggregate(metric, this.typeOf(metric), parts.map((p) => ({ ...p, seriesCount: 1 })));
  }

  /** The selected series merged per value of `tag` (undefined: series without that tag). */
  groupedBy(metric: string, filter: Record<string, string>, tag: string): Map<string | undefined, Aggregate> {
    const byValue = new Map<string | undefined, Series[]>();
    for (const s of this.select(metric, filter)) {
      const v = s.tags[tag];
      const list = byValue.get(v);
      if (list) list.push(s);
      else byValue.set(v, [s]);
    }
    const type = this.typeOf(metric);
    return new Map([...byValue].map(([v, parts]) => [v, aggregate(metric, type, parts.map((p) => ({ ...p, seriesCount: 1 })))]));
  }
}

/** Anything gates can be evaluated on: one store, or several merged. */
export interface MetricSource {
  merged(metric: string, filter?: Record<string, string>): Aggregate;
  groupedBy(metric: string, filter: Record<string, string>, tag: string): Map<string | undefined, Aggregate>;
}

/**
 * Several stores as one (the scenarios of a load phase): aggregates are merged on demand,
 * histograms with `add`, so a gate over the whole phase is exact to HDR precision.
 */
export class StoreUnion implements MetricSource {
  constructor(readonly stores: MetricStore[]) {}

  merged(metric: string, filter: Record<string, string> = {}): Aggregate {
    const type = this.stores.find((s) => s.types.has(metric))?.typeOf(metric) ?? 'trend';
    return aggregate(metric, type, this.stores.map((s) => s.merged(metric, filter)));
  }

  groupedBy(metric: string, filter: Record<string, string>, tag: string): Map<string | undefined, Aggregate> {
    const type = this.stores.find((s) => s.types.has(metric))?.typeOf(metric) ?? 'trend';
    const parts = new Map<string | undefined, Aggregate[]>();
    for (const store of this.stores) {
      for (const [v, agg] of store.groupedBy(metric, filter, tag)) {
        const list = parts.get(v);
        if (list) list.push(agg);
        else parts.set(v, [agg]);
      }
    }
    return new Map([...parts].map(([v, list]) => [v, aggregate(metric, type, list)]));
  }
}

export interface SeriesSummary {
  metric: string;
  type: MetricType;
  tags: Record<string, string>;
  count: number;
  rate?: number;
  sum?: number;
  trend?: HistogramStats;
  /** Compressed base64 HDR histogram (trends), for merging runs and shards later. */
  histogram?: string;
}

export function summarizeSeries(s: Series, withHistogram: boolean): SeriesSummary {
  return {
    metric: s.metric,
    type: s.type,
    tags: s.tags,
    count: s.count,
    ...(s.type === 'rate' ? { rate: s.count ? s.nonZero / s.count : 0 } : {}),
    ...(s.type === 'counter' ? { sum: s.sum } : {}),
    ...(s.histogram ? { trend: statsMs(s.histogram), ...(withHistogram ? { histogram: encodeHistogram(s.histogram) } : {}) } : {}),
  };
}
