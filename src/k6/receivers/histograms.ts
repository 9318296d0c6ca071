/**
 * The histograms k6's aggregating outputs deliver (issue 14 point 2), in one shape for both
 * receivers: OpenTelemetry's explicit-bucket and base-2 exponential histograms, and
 * Prometheus' native histograms (the same base-2 exponential layout: a native histogram's
 * schema is an exponential histogram's scale). Merging (across tag sets, windows, shards)
 * and percentile estimates with the precision the buckets allow.
 */

/** Base-2 exponential buckets: base = 2^(2^-scale); bucket i holds (base^i, base^(i+1)] (OTel's indexing). */
export interface ExponentialHistogram {
  kind: 'exponential';
  scale: number;
  /** Values in [-zeroThreshold, zeroThreshold]. */
  zeroCount: number;
  zeroThreshold: number;
  positive: Map<number, number>;
  /** Bucket i holds [-base^(i+1), -base^i). */
  negative: Map<number, number>;
  count: number;
  sum: number;
  min?: number;
  max?: number;
}

/** Bucket i holds (bounds[i-1], bounds[i]]; the first is open below, the last open above. */
export interface ExplicitHistogram {
  kind: 'explicit';
  bounds: number[];
  counts: number[];
  count: number;
  sum: number;
  min?: number;
  max?: number;
}

export type Histogram = ExponentialHistogram | ExplicitHistogram;

/**
 * A percentile as k6 defines it (TrendSink.P: linear interpolation between the sorted samples
 * at ranks floor(q·(n−1)) and ceil(q·(n−1))), known only to the buckets holding those ranks:
 * the true value lies in [lo, hi]; `value` is the middle, off from the truth by at most
 * `absolutePrecision`, which is `relativePrecision` of any value in [lo, hi].
 */
export interface PercentileEstimate {
  value: number;
  lo: number;
  hi: number;
  absolutePrecision: number;
  /** (hi − lo) / 2 / lo; Infinity when lo ≤ 0. For one exponential bucket: (base − 1) / 2. */
  relativePrecision: number;
}

/** The worst relative error of a bucket's middle at this scale (or native histogram schema). */
export const exponentialRelativePrecision = (scale: number): number => (2 ** (2 ** -scale) - 1) / 2;

/** An estimate in another unit (Prometheus' seconds → k6's milliseconds): the relative precision stays. */
export const scaleEstimate = (e: PercentileEstimate, factor: number): PercentileEstimate => ({
  ...e,
  value: e.value * factor,
  lo: e.lo * factor,
  hi: e.hi * factor,
  absolutePrecision: e.absolutePrecision * factor,
});

/** Exponential buckets at a coarser scale: index i becomes floor(i / 2^(scale − to)). */
function downscale(buckets: Map<number, number>, by: number): Map<number, number> {
  if (by === 0) return new Map(buckets);
  const out = new Map<number, number>();
  const d = 2 ** by;
  for (const [i, c] of buckets) {
    const j = Math.floor(i / d);
    out.set(j, (out.get(j) ?? 0) + c);
  }
  return out;
}

function addInto(a: Map<number, number>, b: Map<number, number>): Map<number, number> {
  const out = new Map(a);
  for (const [i, c] of b) out.set(i, (out.get(i) ?? 0) + c);
  return out;
}

const minOf = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
const maxOf = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));

/**
 * The histogram of the union of two populations. Exponential histograms of different scales
 * meet at the coarser one (exact: every fine bucket lies inside one coarse bucket); explicit
 * ones must share their bounds (k6's OTel output gives every Trend the SDK's default bounds).
 */
export function mergeHistograms(a: Histogram, b: Histogram): Histogram {
  if (a.kind === 'explicit' && b.kind === 'explicit') {
    if (a.bounds.length !== b.bounds.length || a.bounds.some((x, i) => x !== b.bounds[i])) throw new Error('explicit histograms with different bounds cannot be merged');
    return { kind: 'explicit', bounds: a.bounds, counts: a.counts.map((c, i) => c + (b.counts[i] ?? 0)), count: a.count + b.count, sum: a.sum + b.sum, min: minOf(a.min, b.min), max: maxOf(a.max, b.max) };
  }
  if (a.kind === 'exponential' && b.kind === 'exponential') {
    const scale = Math.min(a.scale, b.scale);
    return {
      kind: 'exponential',
      scale,
      zeroCount: a.zeroCount + b.zeroCount,
      zeroThreshold: Math.max(a.zeroThreshold, b.zeroThreshold),
      positive: addInto(downscale(a.positive, a.scale - scale), downscale(b.positive, b.scale - scale)),
      negative: addInto(downscale(a.negative, a.scale - scale), downscale(b.negative, b.scale - scale)),
      count: a.count + b.count,
      sum: a.sum + b.sum,
      min: minOf(a.min, b.min),
      max: maxOf(a.max, b.max),
    };
  }
  throw new Error('an explicit and an exponential histogram cannot be merged');
}

/** The buckets in value order as [lo, hi, count], empty ones left out. */
function bucketIntervals(h: Histogram): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  if (h.kind === 'explicit') {
    h.counts.forEach((c, i) => {
      if (c > 0) out.push([i === 0 ? -Infinity : h.bounds[i - 1]!, i < h.bounds.length ? h.bounds[i]! : Infinity, c]);
    });
    return out;
  }
  const base = 2 ** (2 ** -h.scale);
  for (const i of [...h.negative.keys()].sort((x, y) => y - x)) out.push([-(base ** (i + 1)), -(base ** i), h.negative.get(i)!]);
  if (h.zeroCount > 0) out.push([-h.zeroThreshold, h.zeroThreshold, h.zeroCount]);
  for (const i of [...h.positive.keys()].sort((x, y) => x - y)) out.push([base ** i, base ** (i + 1), h.positive.get(i)!]);
  return out.filter(([, , c]) => c > 0);
}

/** The percentile q (0–1) as k6 computes it, bounded by the buckets; undefined when empty. */
export function percentile(h: Histogram, q: number): PercentileEstimate | undefined {
  const buckets = bucketIntervals(h);
  const n = buckets.reduce((s, [, , c]) => s + c, 0);
  if (n === 0) return undefined;
  const rank = q * (n - 1);
  const bucketOf = (r: number): [number, number, number] => {
    let seen = 0;
    for (const b of buckets) {
      seen += b[2];
      if (r < seen) return b;
    }
    return buckets[buckets.length - 1]!;
  };
  let lo = bucketOf(Math.floor(rank))[0];
  let hi = bucketOf(Math.ceil(rank))[1];
  // Every sample lies in [min, max] where the histogram carries them (OTel does).
  if (h.min !== undefined) lo = Math.max(lo, h.min);
  if (h.max !== undefined) hi = Math.min(hi, h.max);
  const absolutePrecision = (hi - lo) / 2;
  return { value: (lo + hi) / 2, lo, hi, absolutePrecision, relativePrecision: lo > 0 ? absolutePrecision / lo : Infinity };
}

/** One metric's whole-run figures, every series (attribute or label set) of it merged. */
export interface MetricTotal {
  /** Samples (histograms) or the summed value (counters, sums) over the whole run. */
  count: number;
  histogram?: Histogram;
  /** Per requested quantile, e.g. 0.95 (in the unit the output sent). */
  percentiles: Map<number, PercentileEstimate>;
}

/** Sums each series' whole-run figures per metric name, merging histograms, then estimates `quantiles`. */
export function totalsByMetric(series: Iterable<{ metric: string; count: number; histogram?: Histogram }>, quantiles: number[]): Map<string, MetricTotal> {
  const out = new Map<string, MetricTotal>();
  for (const s of series) {
    const m: MetricTotal = out.get(s.metric) ?? { count: 0, percentiles: new Map() };
    m.count += s.count;
    if (s.histogram) m.histogram = m.histogram ? mergeHistograms(m.histogram, s.histogram) : s.histogram;
    out.set(s.metric, m);
  }
  for (const m of out.values()) {
    for (const q of quantiles) {
      const e = m.histogram && percentile(m.histogram, q);
      if (e) m.percentiles.set(q, e);
    }
  }
  return out;
}
