import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { evaluateGates, gatesToThresholds, thresholdExpression, thresholdKey } from '../analysis/gates.ts';
import { add, createLatencyHistogramUs, decodeHistogram, encodeHistogram, minSamplesForPercentile, percentileMs, recordMs, RELATIVE_PRECISION, statsMs } from '../analysis/histogram.ts';
import { CsvIngest, ingestK6Csv } from '../analysis/k6-csv.ts';
import type { MetricType } from '../analysis/metric-store.ts';
import { gateSchema } from '../coordinator/config-schema.ts';
import { tempDir } from './helpers.ts';

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exact nearest-rank percentile of raw samples. */
function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

const HEADER = 'metric_name,timestamp,metric_value,status,method,name,scenario,expected_response,check,group,error_code,extra_tags,metadata\n';
function row(metric: string, ts: number | string, value: number, tags: { name?: string; status?: string; extra?: string } = {}): string {
  return `${metric},${ts},${value.toFixed(6)},${tags.status ?? '200'},GET,${tags.name ?? 'health'},default,true,,,,${tags.extra ?? ''},\n`;
}
const types = new Map<string, MetricType>([['http_req_duration', 'trend'], ['http_req_failed', 'rate'], ['data_isolation', 'rate'], ['orders_created', 'counter']]);
const gate = (g: Record<string, unknown>) => gateSchema.parse(g);
/** Equal within HDR precision. HDR reports the highest value equivalent to a recorded one,
 *  so it may read up to 0.1 % high, never low: conservative for latency gates. */
function near(actual: number | undefined, expected: number): void {
  assert.ok(actual !== undefined && actual >= expected - 1e-9 && actual <= expected * (1 + RELATIVE_PRECISION) + 0.001, `${actual} ≉ ${expected}`);
}

describe('HDR histograms', () => {
  test('percentiles agree with exact percentiles of the raw samples within HDR precision', () => {
    const r = rng(42);
    const samples: number[] = [];
    const h = createLatencyHistogramUs();
    for (let i = 0; i < 200_000; i++) {
      // Long-tailed latencies: 0.2 ms to ~2 s.
      const ms = 0.2 + -Math.log(1 - r()) * (r() < 0.02 ? 400 : 5);
      samples.push(Math.round(ms * 1000) / 1000);
      recordMs(h, ms);
    }
    samples.sort((a, b) => a - b);
    for (const p of [50, 90, 95, 99, 99.9]) {
      const exact = exactPercentile(samples, p);
      const hdr = percentileMs(h, p)!;
      assert.ok(Math.abs(hdr - exact) <= exact * RELATIVE_PRECISION * 2 + 0.001, `p${p}: hdr ${hdr} vs exact ${exact}`);
    }
  });

  test('merging with add() equals recording everything in one histogram; encode/decode round-trips', () => {
    const a = createLatencyHistogramUs();
    const b = createLatencyHistogramUs();
    const all = createLatencyHistogramUs();
    for (let i = 1; i <= 5000; i++) {
      recordMs(i % 2 ? a : b, i / 10);
      recordMs(all, i / 10);
    }
    const merged = add(createLatencyHistogramUs(), a);
    add(merged, decodeHistogram(encodeHistogram(b)));
    const [m, e] = [statsMs(merged), statsMs(all)];
    assert.equal(m.count, e.count);
    assert.deepEqual(m.percentilesMs, e.percentilesMs);
    near(m.maxMs, 500);
  });

  test('empty histograms give no percentiles instead of zeros', () => {
    const h = createLatencyHistogramUs();
    assert.equal(percentileMs(h, 99), undefined);
    assert.deepEqual(statsMs(h), { count: 0, percentilesMs: {} });
    assert.equal(add(createLatencyHistogramUs(), h).totalCount, 0);
  });

  test('samples needed per percentile', () => {
    assert.equal(minSamplesForPercentile(99), 100);
    assert.equal(minSamplesForPercentile(95), 20);
    assert.equal(minSamplesForPercentile(99.9), 1000);
    assert.equal(minSamplesForPercentile(50), 2);
  });
});

describe('k6 CSV ingest', () => {
  test('a gzip CSV streams into series per tag set, with tags and extra tags parsed', async () => {
    let csv = HEADER;
    for (let i = 0; i < 1000; i++) csv += row('http_req_duration', 1700000000 + Math.floor(i / 100), i % 2 ? 10 : 20, { name: i % 2 ? 'login' : 'health' });
    csv += row('data_isolation', 1700000001, 1, { extra: 'vu_user=u1&kind=kit' });
    csv += row('data_isolation', 1700000001, 0, { extra: 'vu_user=u1&kind=kit' });
    const file = path.join(tempDir(), 'samples.csv.gz');
    writeFileSync(file, gzipSync(csv));
    const store = await ingestK6Csv(file, types);
    assert.equal(store.samples, 1002);
    const login = store.merged('http_req_duration', { name: 'login' });
    assert.equal(login.count, 500);
    near(percentileMs(login.histogram!, 99), 10);
    assert.equal(store.merged('http_req_duration').count, 1000);
    const iso = store.select('data_isolation');
    assert.deepEqual(iso[0]!.tags, { status: '200', method: 'GET', name: 'health', scenario: 'default', expected_response: 'true', vu_user: 'u1', kind: 'kit' });
    assert.equal(store.merged('data_isolation').nonZero, 1);
    // 10 s windows: 1000 samples over 10 seconds land in one window.
    assert.equal(store.windows.get('http_req_duration')!.size, 1);
  });

  test('lines split across chunks are reassembled', () => {
    const ingest = new CsvIngest(types);
    const text = HEADER + row('http_req_duration', 1700000000, 12.5) + row('http_req_duration', 1700000000, 7.25);
    for (let i = 0; i < text.length; i += 7) ingest.push(text.slice(i, i + 7));
    const store = ingest.end();
    assert.equal(store.samples, 2);
    assert.equal(store.merged('http_req_duration').max, 12.5);
  });

  test('nanosecond timestamps: windows by the second, and samples InfluxDB would store as one point counted', () => {
    const ingest = new CsvIngest(types, 10, true);
    // k6's unix_nano: seconds and nanoseconds as one 19-digit number, past JS's exact integers.
    const ns = (sec: number, nanos: number) => `${sec}${String(nanos).padStart(9, '0')}`;
    let text = HEADER;
    // Two VUs ending an iteration in the same nanosecond (same tags): one InfluxDB point.
    text += row('iterations', ns(1700000009, 123456789), 1);
    text += row('iterations', ns(1700000009, 123456789), 1);
    // k6 writes extra tags in any order: still the same tag set, the same point.
    text += row('checks', ns(1700000009, 5), 1, { extra: 'run_id=r1&phase=load' });
    text += row('checks', ns(1700000009, 5), 1, { extra: 'phase=load&run_id=r1' });
    // The same nanosecond with other tags, or in another second, is a point of its own.
    text += row('iterations', ns(1700000009, 123456789), 1, { name: 'login' });
    text += row('iterations', ns(1700000010, 123456789), 1);
    text += row('iterations', ns(1700000010, 123456790), 1);
    ingest.push(text);
    const store = ingest.end();
    assert.equal(store.samples, 7);
    assert.deepEqual(Object.fromEntries(store.coincident), { iterations: 1, checks: 1 });
    assert.equal(store.firstTimestamp, 1700000009);
    assert.equal(store.lastTimestamp, 1700000010);
    // 10 s windows: 1700000009 and 1700000010 fall into two.
    assert.deepEqual([...store.windows.get('iterations')!.keys()], [1700000000, 1700000010]);
  });
});

describe('gates', () => {
  function storeWith(n: number, failedEvery = 0) {
    const ingest = new CsvIngest(types);
    let text = HEADER;
    for (let i = 1; i <= n; i++) {
      text += row('http_req_duration', 1700000000, i, { name: 'login' });
      text += row('http_req_failed', 1700000000, failedEvery && i % failedEvery === 0 ? 1 : 0);
    }
    text += row('orders_created', 1700000000, 3) + row('orders_created', 1700000000, 4);
    ingest.push(text);
    return ingest.end();
  }

  test('one declaration → k6 thresholds', () => {
    const gates = [gate({ metric: 'http_req_duration', tags: { name: 'login' }, stat: 'p(95)', limit: 300 }), gate({ metric: 'http_req_failed', stat: 'rate', limit: 0.01, abortOnFail: true })];
    assert.equal(thresholdKey(gates[0]!), 'http_req_duration{name:login}');
    assert.equal(thresholdExpression(gates[0]!), 'p(95)<300');
    assert.deepEqual(gatesToThresholds(gates), {
      'http_req_duration{name:login}': ['p(95)<300'],
      http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true }],
    });
  });

  test('percentile, rate and count gates pass and fail on the observed values', () => {
    const store = storeWith(1000, 50);
    const [p95, p99, rate, count] = evaluateGates(
      [
        gate({ metric: 'http_req_duration', tags: { name: 'login' }, stat: 'p(95)', limit: 960 }),
        gate({ metric: 'http_req_duration', stat: 'p(99)', limit: 980 }),
        gate({ metric: 'http_req_failed', stat: 'rate', limit: 0.01 }),
        gate({ metric: 'orders_created', stat: 'count', op: '>=', limit: 7 }),
      ],
      store,
    );
    assert.deepEqual([p95!.status, p95!.samples, p95!.unit], ['passed', 1000, 'ms']);
    near(p95!.observed, 950);
    assert.equal(p99!.status, 'failed');
    near(p99!.observed, 990);
    assert.deepEqual([rate!.status, rate!.observed, rate!.unit], ['failed', 0.02, 'ratio']);
    assert.deepEqual([count!.status, count!.observed], ['passed', 7]);
  });

  test('too few samples for the percentile → insufficient-data (unless allowed); no samples at all too', () => {
    const store = storeWith(50);
    const [p99, allowed, p95, missing] = evaluateGates(
      [
        gate({ metric: 'http_req_duration', stat: 'p(99)', limit: 1000 }),
        gate({ metric: 'http_req_duration', stat: 'p(99)', limit: 1000, allowInsufficientData: true }),
        gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 1000 }),
        gate({ metric: 'data_isolation', stat: 'rate', op: '>=', limit: 1 }),
      ],
      store,
    );
    assert.equal(p99!.status, 'insufficient-data');
    assert.match(p99!.note!, /50 sample\(s\); p\(99\) needs at least 100/);
    assert.equal(allowed!.status, 'passed');
    assert.equal(p95!.status, 'passed');
    assert.equal(missing!.status, 'insufficient-data');
    assert.equal(missing!.samples, 0);
  });
});
