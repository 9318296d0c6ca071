/**
 * An OTLP/HTTP metrics receiver for k6's stock OpenTelemetry output (`k6 run -o opentelemetry`,
 * issue 14 point 2): a node:http server on 127.0.0.1 that decodes each protobuf
 * ExportMetricsServiceRequest k6 posts to /v1/metrics and keeps, per metric × attribute set,
 * every data point it got (so per-window detail survives), and turns them into a total count
 * per metric and percentile estimates with their precision (./histograms.ts).
 *
 * How k6 sends (grafana/k6 internal/output/opentelemetry): samples are fed to the Go OTel SDK
 * every K6_OTEL_FLUSH_INTERVAL; the SDK exports every K6_OTEL_EXPORT_INTERVAL, and once more
 * when k6 stops (MeterProvider.Shutdown). Counters are Float64 Sums, Trends Float64Histograms:
 * explicit buckets (the SDK's default bounds) unless the SDK's own environment variable
 * OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION=base2_exponential_bucket_histogram
 * asks for exponential ones (SDK defaults: at most 160 buckets, scale at most 20, lowered until
 * the data's range fits; neither k6 nor the SDK's environment lets a user set them).
 * Temporality is cumulative unless OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta.
 *
 * Start k6 with K6_OTEL_EXPORTER_PROTOCOL=http/protobuf,
 * K6_OTEL_HTTP_EXPORTER_ENDPOINT=<receiver.endpoint> (host:port, no scheme),
 * K6_OTEL_HTTP_EXPORTER_INSECURE=true.
 */
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { type Histogram, mergeHistograms, type MetricTotal, totalsByMetric } from './histograms.ts';
import { startPushServer } from './push-server.ts';

/**
 * The subset of the OTLP metrics protocol this receiver reads, field numbers from
 * open-telemetry/opentelemetry-proto: opentelemetry/proto/collector/metrics/v1/metrics_service.proto,
 * opentelemetry/proto/metrics/v1/metrics.proto, opentelemetry/proto/common/v1/common.proto
 * (Resource, scope, exemplars and Summary are left out: protobuf skips unknown fields).
 */
const OTLP_PROTO = `
syntax = "proto3";
package otlp;
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ResourceMetrics { repeated ScopeMetrics scope_metrics = 2; }
message ScopeMetrics { repeated Metric metrics = 2; }
message Metric {
  string name = 1;
  string unit = 3;
  oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; }
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message NumberDataPoint {
  repeated KeyValue attributes = 7;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; }
}
message HistogramDataPoint {
  repeated KeyValue attributes = 9;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  optional double sum = 5;
  repeated fixed64 bucket_counts = 6;
  repeated double explicit_bounds = 7;
  optional double min = 11;
  optional double max = 12;
}
message ExponentialHistogramDataPoint {
  repeated KeyValue attributes = 1;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  optional double sum = 5;
  sint32 scale = 6;
  fixed64 zero_count = 7;
  Buckets positive = 8;
  Buckets negative = 9;
  optional double min = 12;
  optional double max = 13;
  double zero_threshold = 14;
  message Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; }
}
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
`;
const ExportRequest = protobuf.parse(OTLP_PROTO, { keepCase: true }).root.lookupType('otlp.ExportMetricsServiceRequest');

/** AggregationTemporality: 1 DELTA, 2 CUMULATIVE. */
export type Temporality = 'delta' | 'cumulative' | 'none';

export interface OtlpPoint {
  /** start_time_unix_nano as decimal text (beyond 2^53); a cumulative series restarts when it changes. */
  start: string;
  /** time_unix_nano in milliseconds: the end of the window the point covers. */
  timeMs: number;
  value?: number;
  histogram?: Histogram;
}

export interface OtlpSeries {
  metric: string;
  unit: string;
  attributes: Record<string, string>;
  type: 'sum' | 'gauge' | 'histogram' | 'exponential_histogram';
  temporality: Temporality;
  points: OtlpPoint[];
}

export interface OtlpReceiver {
  /** For K6_OTEL_HTTP_EXPORTER_ENDPOINT: host:port, no scheme. */
  endpoint: string;
  /** Export requests received (dropped ones included). */
  pushes: () => number;
  /** CPU milliseconds this process spent decoding and keeping pushes (Node's HTTP parsing aside). */
  cpuMs: () => number;
  /** Of those, gzip-encoded ones (OTEL_EXPORTER_OTLP_COMPRESSION=gzip). */
  gzipped: () => number;
  /** Keyed by metric name and sorted attributes. */
  series: Map<string, OtlpSeries>;
  close: () => Promise<void>;
}

export interface ReceiverFaults {
  /** Answer 200 but keep nothing of push n (1-based): a receiver that loses data silently. */
  dropPush?: (n: number) => boolean;
}

// toObject's shape for the messages above (longs as decimal strings, enums as numbers).
type Obj = Record<string, unknown>;
interface KV {
  key: string;
  value?: { string_value?: string; bool_value?: boolean; int_value?: string; double_value?: number };
}

const attributesOf = (kvs: KV[] | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const kv of kvs ?? []) {
    const v = kv.value ?? {};
    out[kv.key] = String(v.string_value ?? v.int_value ?? v.double_value ?? v.bool_value ?? '');
  }
  return out;
};
const seriesKey = (metric: string, attrs: Record<string, string>) =>
  `${metric}\u0000${Object.entries(attrs)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('\u0001')}`;
const nsToMs = (ns: string | undefined) => (ns ? Number(BigInt(ns) / 1_000_000n) : 0);
const temporalityOf = (t: unknown): Temporality => (t === 1 ? 'delta' : t === 2 ? 'cumulative' : 'none');

function expBuckets(b: { offset?: number; bucket_counts?: string[] } | undefined): Map<number, number> {
  const out = new Map<number, number>();
  (b?.bucket_counts ?? []).forEach((c, i) => {
    if (Number(c) > 0) out.set((b?.offset ?? 0) + i, Number(c));
  });
  return out;
}

/** Adds one decoded export request to `series`. */
function ingest(series: Map<string, OtlpSeries>, req: Obj): void {
  for (const rm of (req.resource_metrics as Obj[] | undefined) ?? []) {
    for (const sm of (rm.scope_metrics as Obj[] | undefined) ?? []) {
      for (const m of (sm.metrics as Obj[] | undefined) ?? []) {
        const type = m.data as OtlpSeries['type'] | undefined;
        if (!type) continue;
        const body = m[type] as { data_points?: Obj[]; aggregation_temporality?: number };
        for (const dp of body.data_points ?? []) {
          const attributes = attributesOf(dp.attributes as KV[]);
          const key = seriesKey(m.name as string, attributes);
          let s = series.get(key);
          if (!s) series.set(key, (s = { metric: m.name as string, unit: (m.unit as string) ?? '', attributes, type, temporality: temporalityOf(body.aggregation_temporality), points: [] }));
          const point: OtlpPoint = { start: (dp.start_time_unix_nano as string) ?? '0', timeMs: nsToMs(dp.time_unix_nano as string) };
          if (type === 'sum' || type === 'gauge') point.value = dp.value === 'as_int' ? Number(dp.as_int) : Number(dp.as_double ?? 0);
          else if (type === 'histogram') {
            point.histogram = {
              kind: 'explicit',
              bounds: (dp.explicit_bounds as number[] | undefined) ?? [],
              counts: ((dp.bucket_counts as string[] | undefined) ?? []).map(Number),
              count: Number(dp.count ?? 0),
              sum: Number(dp.sum ?? 0),
              min: dp.min as number | undefined,
              max: dp.max as number | undefined,
            };
          } else {
            point.histogram = {
              kind: 'exponential',
              scale: Number(dp.scale ?? 0),
              zeroCount: Number(dp.zero_count ?? 0),
              zeroThreshold: Number(dp.zero_threshold ?? 0),
              positive: expBuckets(dp.positive as never),
              negative: expBuckets(dp.negative as never),
              count: Number(dp.count ?? 0),
              sum: Number(dp.sum ?? 0),
              min: dp.min as number | undefined,
              max: dp.max as number | undefined,
            };
          }
          s.points.push(point);
        }
      }
    }
  }
}

/** Starts the receiver on 127.0.0.1, a free port. */
export async function startOtlpReceiver(faults: ReceiverFaults = {}): Promise<OtlpReceiver> {
  const series = new Map<string, OtlpSeries>();
  let gzipped = 0;
  const server = await startPushServer({
    path: '/v1/metrics',
    // An empty ExportMetricsServiceResponse: no partial_success, all accepted.
    accepted: { status: 200, headers: { 'content-type': 'application/x-protobuf' } },
    decode: (raw, headers, n) => {
      let body = raw;
      if (headers['content-encoding'] === 'gzip') {
        body = gunzipSync(body);
        gzipped++;
      }
      if (faults.dropPush?.(n)) return;
      ingest(series, ExportRequest.toObject(ExportRequest.decode(body), { longs: String, oneofs: true, arrays: true }));
    },
  });
  return {
    endpoint: `127.0.0.1:${server.port}`,
    pushes: server.pushes,
    cpuMs: server.cpuMs,
    gzipped: () => gzipped,
    series,
    close: server.close,
  };
}

export type { MetricTotal } from './histograms.ts';


/**
 * One series' whole-run value: a delta series sums all its points; a cumulative one keeps the
 * last point of each start time (a new start time is a restart) and sums those.
 */
function seriesTotal(s: OtlpSeries): { value: number; histogram?: Histogram } {
  let points = s.points;
  if (s.temporality === 'cumulative') {
    const lastOfStart = new Map<string, OtlpPoint>();
    for (const p of s.points) {
      const seen = lastOfStart.get(p.start);
      if (!seen || p.timeMs >= seen.timeMs) lastOfStart.set(p.start, p);
    }
    points = [...lastOfStart.values()];
  } else if (s.type === 'gauge') points = s.points.slice(-1);
  let value = 0;
  let histogram: Histogram | undefined;
  for (const p of points) {
    value += p.histogram ? p.histogram.count : (p.value ?? 0);
    if (p.histogram) histogram = histogram ? mergeHistograms(histogram, p.histogram) : p.histogram;
  }
  return { value, histogram };
}

/** Total count and percentile estimates per metric (all attribute sets merged). */
export function otlpTotals(series: Iterable<OtlpSeries>, quantiles: number[] = [0.95]): Map<string, MetricTotal> {
  return totalsByMetric(
    [...series].map((s) => {
      const t = seriesTotal(s);
      return { metric: s.metric, count: t.value, ...(t.histogram ? { histogram: t.histogram } : {}) };
    }),
    quantiles,
  );
}
