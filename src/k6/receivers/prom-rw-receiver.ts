/**
 * A Prometheus remote-write receiver for k6's stock `experimental-prometheus-rw` output with
 * Trends as native histograms (issue 14 point 2): a node:http server on 127.0.0.1 that decodes
 * each snappy-compressed protobuf WriteRequest and keeps, per series (metric name and labels),
 * every sample and histogram it got, and turns them into a total count per metric and
 * percentile estimates with their precision (./histograms.ts).
 *
 * How k6 sends (grafana/k6 internal/output/prometheusrw/remotewrite): every
 * K6_PROMETHEUS_RW_PUSH_INTERVAL, and once more when k6 stops, the series that got samples
 * since the last push, each with its value since the start of the run (cumulative): counters
 * as `k6_<name>_total`, Trends as `k6_<name>_seconds` (time) native histograms built by
 * client_golang with NativeHistogramBucketFactor 1.1, i.e. schema 3 (base 2^(1/8), fixed:
 * k6 has no option for it). Times are converted to seconds.
 *
 * Start k6 with `-o experimental-prometheus-rw`, K6_PROMETHEUS_RW_SERVER_URL=<receiver.url>,
 * K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM=true.
 */
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { type ExponentialHistogram, type Histogram, type MetricTotal, totalsByMetric } from './histograms.ts';
import type { ReceiverFaults } from './otlp-receiver.ts';
import { startPushServer } from './push-server.ts';

/**
 * The subset of remote write 1.0 this receiver reads, field numbers from prometheus/prometheus
 * prompb/remote.proto (WriteRequest) and prompb/types.proto (TimeSeries, Label, Sample,
 * Histogram, BucketSpan); exemplars and metadata are skipped.
 */
const PROM_PROTO = `
syntax = "proto3";
package prom;
message WriteRequest { repeated TimeSeries timeseries = 1; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; repeated Histogram histograms = 4; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
message Histogram {
  oneof count { uint64 count_int = 1; double count_float = 2; }
  double sum = 3;
  sint32 schema = 4;
  double zero_threshold = 5;
  oneof zero_count { uint64 zero_count_int = 6; double zero_count_float = 7; }
  repeated BucketSpan negative_spans = 8;
  repeated sint64 negative_deltas = 9;
  repeated double negative_counts = 10;
  repeated BucketSpan positive_spans = 11;
  repeated sint64 positive_deltas = 12;
  repeated double positive_counts = 13;
  int64 timestamp = 15;
}
message BucketSpan { sint32 offset = 1; uint32 length = 2; }
`;
const WriteRequest = protobuf.parse(PROM_PROTO, { keepCase: true }).root.lookupType('prom.WriteRequest');

export interface PromPoint {
  timeMs: number;
  value?: number;
  histogram?: ExponentialHistogram;
}

export interface PromSeries {
  /** The `__name__` label, e.g. k6_http_reqs_total, k6_http_req_duration_seconds. */
  metric: string;
  labels: Record<string, string>;
  points: PromPoint[];
}

export interface PromRwReceiver {
  /** For K6_PROMETHEUS_RW_SERVER_URL. */
  url: string;
  /** Write requests received (dropped ones included). */
  pushes: () => number;
  /** CPU milliseconds this process spent decoding and keeping pushes (Node's HTTP parsing aside). */
  cpuMs: () => number;
  series: Map<string, PromSeries>;
  close: () => Promise<void>;
}

interface Span {
  offset?: number;
  length?: number;
}
interface PromHistogramObj {
  count_int?: string;
  count_float?: number;
  sum?: number;
  schema?: number;
  zero_threshold?: number;
  zero_count_int?: string;
  zero_count_float?: number;
  negative_spans?: Span[];
  negative_deltas?: string[];
  negative_counts?: number[];
  positive_spans?: Span[];
  positive_deltas?: string[];
  positive_counts?: number[];
  timestamp?: string;
}

/**
 * Native histogram buckets to absolute counts by OTel's index. Spans give runs of consecutive
 * bucket indexes (the first offset from 0, later ones from the previous run's end); integer
 * histograms carry counts as deltas from the previous bucket. Prometheus' bucket i holds
 * (base^(i−1), base^i], OTel's bucket i holds (base^i, base^(i+1)]: index − 1.
 */
function nativeBuckets(spans: Span[] = [], deltas: string[] = [], counts: number[] = []): Map<number, number> {
  const out = new Map<number, number>();
  let index = 0;
  let k = 0;
  let running = 0;
  for (const span of spans) {
    index += span.offset ?? 0;
    for (let j = 0; j < (span.length ?? 0); j++, k++, index++) {
      const c = counts.length ? counts[k]! : (running += Number(deltas[k] ?? 0));
      if (c > 0) out.set(index - 1, c);
    }
  }
  return out;
}

function toHistogram(h: PromHistogramObj): ExponentialHistogram {
  return {
    kind: 'exponential',
    scale: h.schema ?? 0,
    zeroThreshold: h.zero_threshold ?? 0,
    zeroCount: h.zero_count_float ?? Number(h.zero_count_int ?? 0),
    positive: nativeBuckets(h.positive_spans, h.positive_deltas, h.positive_counts),
    negative: nativeBuckets(h.negative_spans, h.negative_deltas, h.negative_counts),
    count: h.count_float ?? Number(h.count_int ?? 0),
    sum: h.sum ?? 0,
  };
}

/** Prometheus' stale marker, a NaN with this bit pattern, ends a series; it carries no value. */
const isStale = (v: number) => Number.isNaN(v);

function ingest(series: Map<string, PromSeries>, req: { timeseries?: Array<{ labels?: Array<{ name: string; value: string }>; samples?: Array<{ value?: number; timestamp?: string }>; histograms?: PromHistogramObj[] }> }): void {
  for (const ts of req.timeseries ?? []) {
    const labels: Record<string, string> = {};
    for (const l of ts.labels ?? []) labels[l.name] = l.value;
    const { __name__: metric = '', ...rest } = labels;
    // k6 sends labels sorted by name, as remote write requires: their text is the series' key.
    const key = (ts.labels ?? []).map((l) => `${l.name}=${l.value}`).join('\u0001');
    let s = series.get(key);
    if (!s) series.set(key, (s = { metric, labels: rest, points: [] }));
    for (const smp of ts.samples ?? []) if (!isStale(smp.value ?? 0)) s.points.push({ timeMs: Number(smp.timestamp ?? 0), value: smp.value ?? 0 });
    for (const h of ts.histograms ?? []) s.points.push({ timeMs: Number(h.timestamp ?? 0), histogram: toHistogram(h) });
  }
}

/** Starts the receiver on 127.0.0.1, a free port; answers 204 as remote write expects. */
export async function startPromRwReceiver(faults: ReceiverFaults = {}): Promise<PromRwReceiver> {
  const series = new Map<string, PromSeries>();
  const server = await startPushServer({
    path: '/api/v1/write',
    accepted: { status: 204 },
    decode: (raw, headers, n) => {
      if (headers['content-encoding'] !== 'snappy') throw new Error(`Content-Encoding ${headers['content-encoding']}, not snappy`);
      if (faults.dropPush?.(n)) return;
      ingest(series, WriteRequest.toObject(WriteRequest.decode(snappy.uncompress(raw)), { longs: String, oneofs: false, arrays: true }) as never);
    },
  });
  return { url: `http://127.0.0.1:${server.port}/api/v1/write`, pushes: server.pushes, cpuMs: server.cpuMs, series, close: server.close };
}

/** Times in seconds, as remote write sends them. */
export type PromMetricTotal = MetricTotal;

/**
 * Total count and percentile estimates per metric name (all label sets merged). Every value k6
 * sends is cumulative since the run's start, so a series' total is its latest point.
 */
export function promTotals(series: Iterable<PromSeries>, quantiles: number[] = [0.95]): Map<string, PromMetricTotal> {
  const latest = [...series].flatMap((s) => {
    const last = s.points.reduce<PromPoint | undefined>((a, b) => (!a || b.timeMs >= a.timeMs ? b : a), undefined);
    if (!last) return [];
    return [{ metric: s.metric, count: last.histogram ? last.histogram.count : (last.value ?? 0), ...(last.histogram ? { histogram: last.histogram } : {}) }];
  });
  return totalsByMetric(latest, quantiles);
}
