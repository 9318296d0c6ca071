import * as hdr from 'hdr-histogram-js';

/**
 * The one histogram module. Every percentile perf reports comes from an HDR histogram
 * (bounded memory whatever the sample count, mergeable across phases, shards and
 * nights), never from an array of samples.
 *
 * Unit: values are recorded as integer microseconds (`...Us`); k6 reports durations in
 * milliseconds with µs resolution, so nothing is lost. Non-time trends (custom metrics)
 * use the same scale: value × 1000 → integer.
 */
export type Histogram = hdr.Histogram;

/** The percentiles reported everywhere (summary tables, windows, dashboards). */
export const PERCENTILES = [50, 90, 95, 99, 99.9] as const;

/** Three significant digits: a recorded value is exact to within 0.1 %. */
export const SIGNIFICANT_DIGITS = 3;
export const RELATIVE_PRECISION = 10 ** -SIGNIFICANT_DIGITS;

/** 1 µs to 1 hour. Larger values are clamped (and counted) rather than dropped. */
const LOWEST_US = 1;
const HIGHEST_US = 3_600_000_000;

/**
 * A latency histogram: values in µs from 1 µs to 1 h, 3 significant digits, 32-bit counts
 * (~95 KB each). Measured (bench/analysis.ts): 3.4× faster to record into than the packed
 * variant, which is what lets the analysis keep up with k6; the WebAssembly variant is
 * faster still but needs explicit destroy() calls, which nothing here would get right.
 */
export function createLatencyHistogramUs(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: LOWEST_US,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    bitBucketSize: 32,
    useWebAssembly: false,
  });
}

/** Records a k6 millisecond value. Returns false when it had to be clamped to the range. */
export function recordMs(h: Histogram, ms: number): boolean {
  const us = Math.round(ms * 1000);
  if (us < LOWEST_US) {
    h.recordValue(LOWEST_US);
    return us >= 0;
  }
  if (us > HIGHEST_US) {
    h.recordValue(HIGHEST_US);
    return false;
  }
  h.recordValue(us);
  return true;
}

/** Value at a percentile in ms, or undefined for an empty histogram. */
export function percentileMs(h: Histogram, p: number): number | undefined {
  if (h.totalCount === 0) return undefined;
  return h.getValueAtPercentile(p) / 1000;
}

export interface HistogramStats {
  count: number;
  minMs?: number;
  maxMs?: number;
  meanMs?: number;
  /** Keyed `p50`, `p90`, `p95`, `p99`, `p99.9`. */
  percentilesMs: Record<string, number>;
}

export function statsMs(h: Histogram): HistogramStats {
  if (h.totalCount === 0) return { count: 0, percentilesMs: {} };
  return {
    count: h.totalCount,
    minMs: h.minNonZeroValue / 1000,
    maxMs: h.maxValue / 1000,
    meanMs: h.mean / 1000,
    percentilesMs: Object.fromEntries(PERCENTILES.map((p) => [`p${p}`, h.getValueAtPercentile(p) / 1000])),
  };
}

/** Merges `src` into `into` (same unit and range by construction). Returns `into`. */
export function add(into: Histogram, src: Histogram): Histogram {
  if (src.totalCount > 0) into.add(src);
  return into;
}

/** Compressed base64 (the HdrHistogram interchange format): saved in run folders for later merges. */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): Histogram {
  const decoded = hdr.decodeFromCompressedBase64(encoded, 32, false);
  // Re-home into a histogram with the standard range, so any two decoded ones can merge.
  const h = createLatencyHistogramUs();
  h.add(decoded);
  decoded.destroy();
  return h;
}

/**
 * Smallest sample count that makes percentile p meaningful: p99 needs 100 samples
 * (with fewer, "the 99th percentile" is just the maximum), p95 needs 20, p50 needs 2.
 */
export function minSamplesForPercentile(p: number): number {
  return Math.ceil(100 / (100 - p) - 1e-9);
}

/**
 * Calls `fn` once per distinct recorded value (an HDR bucket: values within the histogram's
 * precision of each other share one), in ascending order, with its highest equivalent value
 * in µs and its count. For drawing a distribution (src/report/report-data.ts).
 */
export function forEachRecordedValue(h: Histogram, fn: (valueUs: number, count: number) => void): void {
  if (h.totalCount === 0) return;
  if (!(h instanceof hdr.JsHistogram)) throw new Error('forEachRecordedValue needs a JavaScript HDR histogram (createLatencyHistogramUs)');
  const it = h.recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    fn(v.valueIteratedTo, v.countAtValueIteratedTo);
  }
}
