import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { requireK6 } from '../src/k6/k6.ts';
import { exponentialRelativePrecision, type PercentileEstimate, percentile, scaleEstimate } from '../src/k6/receivers/histograms.ts';
import { otlpTotals, type ReceiverFaults, startOtlpReceiver } from '../src/k6/receivers/otlp-receiver.ts';
import { promTotals, startPromRwReceiver } from '../src/k6/receivers/prom-rw-receiver.ts';
import { startHelloServer, tempDir } from './helpers.ts';

// The receivers for k6's two aggregating stock outputs (issue 14 point 2), fed by a real k6:
// what they decode must count exactly what k6 counted itself (--summary-export, after k6's last
// push when it stops) and give k6's own p(95) within the precision they state.

const SCRIPT = `import http from 'k6/http';
export const options = { scenarios: { s: { executor: 'constant-arrival-rate', rate: 300, timeUnit: '1s', duration: '2s', preAllocatedVUs: 10, maxVUs: 20 } } };
// Two tag sets, so the totals must merge series.
export default function () { http.get(__ENV.BASE + '/hello', { tags: { name: __ITER % 3 ? 'a' : 'b' } }); }
`;

interface K6Summary {
  requests: number;
  durations: number;
  p95: number;
}

/** What the receiver decoded, for the same checks on both outputs. */
interface Decoded {
  requests: number;
  durations: number;
  p95: PercentileEstimate | undefined;
}

/** The count check: the receiver got exactly what k6 counted. */
function assertCountsMatch(got: Decoded, k6: K6Summary): void {
  assert.ok(k6.requests > 300, `k6 made ${k6.requests} requests`);
  assert.equal(got.requests, k6.requests, 'http_reqs: receiver vs k6 --summary-export');
  assert.equal(got.durations, k6.durations, 'http_req_duration samples: receiver vs k6 --summary-export');
}

/** The percentile check: k6's p(95) lies within the estimate's stated precision. */
function assertP95Within(got: Decoded, k6: K6Summary): PercentileEstimate {
  const e = got.p95;
  assert.ok(e, 'a p95 estimate');
  assert.ok(k6.p95 >= e.lo - 1e-9 && k6.p95 <= e.hi + 1e-9, `k6 p(95) ${k6.p95} ms outside the buckets [${e.lo}, ${e.hi}]`);
  assert.ok(Math.abs(e.value - k6.p95) <= e.absolutePrecision + 1e-9, `estimate ${e.value} ms vs k6 ${k6.p95} ms: more than ±${e.absolutePrecision}`);
  return e;
}

describe('receivers for k6 OpenTelemetry and Prometheus remote-write outputs (real k6)', () => {
  let hello: Awaited<ReturnType<typeof startHelloServer>>;
  let dir: string;
  let k6Path: string;
  before(async () => {
    hello = await startHelloServer();
    dir = tempDir('perf-k6-receivers-');
    writeFileSync(path.join(dir, 'script.js'), SCRIPT);
    k6Path = (await requireK6()).path;
  });
  after(() => hello.close());

  let runs = 0;
  /** Runs the script once with `out` and `env`; k6's own counts and p(95) from its summary. */
  async function runK6(out: string, env: Record<string, string>): Promise<K6Summary> {
    const summary = path.join(dir, `summary-${++runs}.json`);
    // Not execFileSync: the receivers and the target run on this process's event loop.
    await promisify(execFile)(k6Path, ['run', '-q', '--no-usage-report', '--summary-trend-stats=avg,p(95),count', `--summary-export=${summary}`, '-o', out, path.join(dir, 'script.js')], {
      env: { ...process.env, BASE: hello.url, K6_AUTO_EXTENSION_RESOLUTION: 'false', ...env },
    });
    const m = (JSON.parse(readFileSync(summary, 'utf8')) as { metrics: Record<string, Record<string, number>> }).metrics;
    return { requests: m.http_reqs!.count!, durations: m.http_req_duration!.count!, p95: m.http_req_duration!['p(95)']! };
  }

  async function otlpRun(env: Record<string, string>, faults: ReceiverFaults = {}) {
    const receiver = await startOtlpReceiver(faults);
    try {
      const k6 = await runK6('opentelemetry', {
        K6_OTEL_EXPORTER_PROTOCOL: 'http/protobuf',
        K6_OTEL_HTTP_EXPORTER_ENDPOINT: receiver.endpoint,
        K6_OTEL_HTTP_EXPORTER_INSECURE: 'true',
        K6_OTEL_FLUSH_INTERVAL: '200ms',
        K6_OTEL_EXPORT_INTERVAL: '1s',
        ...env,
      });
      const totals = otlpTotals(receiver.series.values(), [0.95]);
      const durations = [...receiver.series.values()].filter((s) => s.metric === 'http_req_duration');
      const got: Decoded = { requests: totals.get('http_reqs')?.count ?? 0, durations: totals.get('http_req_duration')?.count ?? 0, p95: totals.get('http_req_duration')?.percentiles.get(0.95) };
      return { k6, got, durations, pushes: receiver.pushes(), gzipped: receiver.gzipped(), histogram: totals.get('http_req_duration')?.histogram };
    } finally {
      await receiver.close();
    }
  }

  async function promRun(env: Record<string, string>, faults: ReceiverFaults = {}) {
    const receiver = await startPromRwReceiver(faults);
    try {
      const k6 = await runK6('experimental-prometheus-rw', { K6_PROMETHEUS_RW_SERVER_URL: receiver.url, K6_FEATURES: 'native-histograms', K6_PROMETHEUS_RW_PUSH_INTERVAL: '1s', ...env });
      const totals = promTotals(receiver.series.values(), [0.95]);
      const seconds = totals.get('k6_http_req_duration_seconds');
      const p95 = seconds?.percentiles.get(0.95);
      // k6 sends times in seconds; its summary is in milliseconds.
      const got: Decoded = { requests: totals.get('k6_http_reqs_total')?.count ?? 0, durations: seconds?.count ?? 0, p95: p95 && scaleEstimate(p95, 1000) };
      const durations = [...receiver.series.values()].filter((s) => s.metric === 'k6_http_req_duration_seconds');
      return { k6, got, durations, pushes: receiver.pushes(), histogram: seconds?.histogram };
    } finally {
      await receiver.close();
    }
  }

  test('OpenTelemetry, default: explicit-bucket histograms, exact counts, p95 within the bucket k6 put it in', async (t) => {
    const r = await otlpRun({});
    assert.ok(r.pushes >= 2, `${r.pushes} exports: periodic ones and the last`);
    assert.ok(r.durations.length >= 2, 'one series per tag set');
    for (const s of r.durations) {
      assert.equal(s.type, 'histogram');
      assert.equal(s.temporality, 'cumulative');
      for (const p of s.points) assert.equal(p.histogram?.kind, 'explicit');
    }
    assertCountsMatch(r.got, r.k6);
    const e = assertP95Within(r.got, r.k6);
    t.diagnostic(`p95 ${e.value.toFixed(3)} ms ±${e.absolutePrecision.toFixed(3)} ms (k6 ${r.k6.p95.toFixed(3)} ms)`);
    // The SDK's default bounds (0, 5, 10, 25, … ms) make that bucket wide: the stated precision says so.
    assert.ok(e.absolutePrecision > 0.5, `explicit buckets: ±${e.absolutePrecision} ms`);
  });

  test('OpenTelemetry, base2_exponential_bucket_histogram asked (delta, gzip): exponential histograms at the scale the SDK chose', async (t) => {
    const r = await otlpRun({
      OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: 'base2_exponential_bucket_histogram',
      OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    assert.ok(r.gzipped > 0 && r.gzipped === r.pushes, `${r.gzipped} of ${r.pushes} exports gzip-encoded`);
    const scales = new Set<number>();
    for (const s of r.durations) {
      assert.equal(s.type, 'exponential_histogram');
      assert.equal(s.temporality, 'delta');
      for (const p of s.points) {
        assert.equal(p.histogram?.kind, 'exponential');
        if (p.histogram?.kind === 'exponential') scales.add(p.histogram.scale);
      }
    }
    // At most 160 buckets and scale ≤ 20 (the SDK's defaults; nothing in k6 sets them): the
    // scale falls until the range of the data fits, a few octaves of latency give 3–6.
    for (const sc of scales) assert.ok(sc >= 0 && sc <= 20, `scale ${sc}`);
    assertCountsMatch(r.got, r.k6);
    const e = assertP95Within(r.got, r.k6);
    assert.equal(r.histogram?.kind, 'exponential');
    if (r.histogram?.kind === 'exponential') {
      // One bucket's width bounds the estimate when both ranks k6 interpolates between fall in
      // one bucket; in the sparse tail they may not, and the stated precision widens with them.
      const one = exponentialRelativePrecision(r.histogram.scale);
      assert.ok(e.relativePrecision >= one - 1e-12 || e.lo === r.histogram.min || e.hi === r.histogram.max);
      t.diagnostic(`p95 ${e.value.toFixed(3)} ms ±${(e.relativePrecision * 100).toFixed(2)} % (k6 ${r.k6.p95.toFixed(3)} ms); merged scale ${r.histogram.scale}, one bucket ±${(one * 100).toFixed(2)} %; scales sent ${[...scales].join(',')}`);
    }
  });

  test('OpenTelemetry: k6 exports once more when it stops (export interval longer than the run)', async () => {
    const r = await otlpRun({ K6_OTEL_EXPORT_INTERVAL: '1m', OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: 'base2_exponential_bucket_histogram' });
    assert.equal(r.pushes, 1, 'only the export at shutdown');
    assertCountsMatch(r.got, r.k6);
  });

  test('a receiver that drops every other export (delta temporality) fails the count check', async () => {
    const r = await otlpRun({ OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta' }, { dropPush: (n) => n % 2 === 0 });
    assert.ok(r.pushes >= 2);
    assert.throws(() => assertCountsMatch(r.got, r.k6), /http_reqs: receiver vs k6/);
  });

  test('Prometheus remote write with native histograms: schema 3, exact counts, p95 within the stated precision', async (t) => {
    const r = await promRun({});
    assert.ok(r.pushes >= 2, `${r.pushes} pushes`);
    assert.ok(r.durations.length >= 2, 'one series per label set');
    for (const s of r.durations) for (const p of s.points) assert.equal(p.histogram?.scale, 3, 'native histogram schema 3 (bucket factor 1.1)');
    assertCountsMatch(r.got, r.k6);
    const e = assertP95Within(r.got, r.k6);
    t.diagnostic(`p95 ${e.value.toFixed(3)} ms ±${(e.relativePrecision * 100).toFixed(2)} % (k6 ${r.k6.p95.toFixed(3)} ms); one bucket at schema 3: ±${(exponentialRelativePrecision(3) * 100).toFixed(2)} %`);
    // The check catches a decoder off by one bucket (Prometheus' bucket i is (base^(i−1), base^i],
    // OTel's (base^i, base^(i+1)]): the same counts one bucket up put k6's p95 outside.
    const h = r.histogram;
    assert.equal(h?.kind, 'exponential');
    if (h?.kind !== 'exponential') return;
    const shifted = { ...h, positive: new Map([...h.positive].map(([i, c]) => [i + 1, c] as [number, number])) };
    const wrong = percentile(shifted, 0.95);
    assert.throws(() => assertP95Within({ ...r.got, p95: wrong && scaleEstimate(wrong, 1000) }, r.k6), /outside the buckets/);
  });

  test('Prometheus remote write: k6 pushes once more when it stops (push interval longer than the run)', async () => {
    const r = await promRun({ K6_PROMETHEUS_RW_PUSH_INTERVAL: '1m' });
    assert.equal(r.pushes, 1, 'only the push at stop');
    assertCountsMatch(r.got, r.k6);
  });

  test('a remote-write receiver that drops every other push fails the count check (the only push is the last)', async () => {
    const r = await promRun({ K6_PROMETHEUS_RW_PUSH_INTERVAL: '1m' }, { dropPush: (n) => n % 2 === 1 });
    assert.equal(r.pushes, 1);
    assert.throws(() => assertCountsMatch(r.got, r.k6), /http_reqs: receiver vs k6/);
  });
});
