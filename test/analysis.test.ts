import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { crossCheck, decideGate, evaluateGates, gatesToThresholds, minSamplesForRate, thresholdExpression, thresholdKey } from '../analysis/gates.ts';
import { add, createLatencyHistogramUs, decodeHistogram, encodeHistogram, minSamplesForPercentile, percentileMs, recordMs, RELATIVE_PRECISION, statsMs } from '../analysis/histogram.ts';
import { CsvIngest, ingestK6Csv } from '../analysis/k6-csv.ts';
import { MetricStore, type MetricType } from '../analysis/metric-store.ts';
import { gateSchema, type GateSpec } from '../src/config/config-schema.ts';
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
const gate = (g: Record<string, unknown>) => gateSchema.parse(g) as GateSpec;
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
    // Latency counts successful responses only, unless the gate says responses: 'all'.
    assert.equal(thresholdKey(gates[0]!), 'http_req_duration{name:login,expected_response:true}');
    assert.equal(thresholdExpression(gates[0]!), 'p(95)<300');
    assert.deepEqual(gatesToThresholds(gates), {
      'http_req_duration{name:login,expected_response:true}': ['p(95)<300'],
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
    // Samples 1..50 ms: p99 = 50 ms holds a 1000 ms limit and crosses a 40 ms one.
    const [p99, allowed, allowedOver, p95, missing] = evaluateGates(
      [
        gate({ metric: 'http_req_duration', stat: 'p(99)', limit: 1000 }),
        gate({ metric: 'http_req_duration', stat: 'p(99)', limit: 1000, allowInsufficientData: true }),
        gate({ metric: 'http_req_duration', stat: 'p(99)', limit: 40, allowInsufficientData: true }),
        gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 1000 }),
        gate({ metric: 'data_isolation', stat: 'rate', op: '>=', limit: 1 }),
      ],
      store,
    );
    assert.equal(p99!.status, 'insufficient-data');
    assert.match(p99!.note!, /50 sample\(s\); p\(99\) needs at least 100 \(1\/\(1 − 0\.99\)\)/);
    // The flag is what passes it (the same gate without it is insufficient, above), and only
    // while the figure holds: too few samples that already cross the limit fail, flag or not.
    assert.equal(allowed!.status, 'passed');
    assert.match(allowed!.note!, /50 sample\(s\); p\(99\) needs at least 100/);
    assert.equal(allowedOver!.status, 'failed');
    near(allowedOver!.observed, 50);
    assert.equal(p95!.status, 'passed');
    assert.equal(missing!.status, 'insufficient-data');
    assert.equal(missing!.samples, 0);
  });
});

/** A store with samples of `metric` under exact tag sets: [tags, values][]. */
function storeOf(metric: string, sets: [Record<string, string>, number[]][]): MetricStore {
  const store = new MetricStore(new Map([...types, ['http_req_failed', 'rate'], ['job_completed', 'rate']]));
  for (const [tags, values] of sets) {
    const s = store.seriesFor(`${metric}|${JSON.stringify(tags)}`, metric, () => tags);
    for (const v of values) store.record(s, 1700000000, v);
  }
  return store;
}
const times = (n: number, v: number) => Array.from({ length: n }, () => v);
const ok = { expected_response: 'true' };

describe('where a gate holds', () => {
  test('per scenario by default: a slow scenario fails the gate though merged it would pass; merge: true merges', () => {
    const stores = new Map([
      ['fast', storeOf('http_req_duration', [[ok, times(1900, 10)]])],
      ['slow', storeOf('http_req_duration', [[ok, times(100, 500)]])],
    ]);
    const perScenario = decideGate(gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 300, scenarios: ['fast', 'slow'] }), stores);
    assert.equal(perScenario.status, 'failed');
    assert.equal(perScenario.scenario, 'slow');
    near(perScenario.observed, 500);
    assert.equal(perScenario.samples, 100);
    assert.deepEqual(perScenario.parts!.map((p) => [p.scenario, p.status, p.samples]), [['fast', 'passed', 1900], ['slow', 'failed', 100]]);
    near(perScenario.parts![0]!.observed, 10);
    const merged = decideGate(gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 300, scenarios: ['fast', 'slow'], merge: true }), stores);
    assert.equal(merged.status, 'passed');
    assert.equal(merged.merged, true);
    assert.deepEqual(merged.parts!.map((p) => [p.scenario, p.samples]), [[undefined, 2000]]);
  });

  test('bound scenarios that ran must have samples; unbound gates hold where the metric was measured; none ran: not-run', () => {
    const stores = new Map([
      ['api', storeOf('http_req_duration', [[ok, times(100, 10)]])],
      ['ws', storeOf('ws_time_to_first_event', [[{}, times(100, 10)]])],
    ]);
    const unbound = decideGate(gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 300 }), stores);
    assert.deepEqual([unbound.status, unbound.parts!.map((p) => p.scenario)], ['passed', ['api']]);
    const bound = decideGate(gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 300, scenarios: ['api', 'ws'] }), stores);
    assert.deepEqual([bound.status, bound.scenario, bound.samples], ['insufficient-data', 'ws', 0]);
    assert.match(bound.note!, /^ws: 0 sample/);
    assert.equal(decideGate(gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 300, scenarios: ['other'] }), stores).status, 'not-run');
    assert.equal(decideGate(gate({ metric: 'job_completed', stat: 'rate', op: '>=', limit: 1 }), stores).status, 'insufficient-data');
  });

  test('groupBy: one endpoint failing 3 % fails the gate while the whole API stays under 1 %', () => {
    const fails = (n: number, failed: number) => Array.from({ length: n }, (_, i) => (i < failed ? 1 : 0));
    const store = storeOf('http_req_failed', [
      [{ name: 'list' }, fails(1000, 0)],
      [{ name: 'update' }, fails(100, 3)],
      [{ name: 'login' }, fails(15, 0)],
      [{}, fails(200, 0)],
    ]);
    const stores = new Map([['journey', store]]);
    const overall = decideGate(gate({ metric: 'http_req_failed', stat: 'rate', limit: 0.01 }), stores);
    assert.equal(overall.status, 'passed');
    assert.ok(overall.observed! < 0.01);
    const grouped = decideGate(gate({ metric: 'http_req_failed', stat: 'rate', limit: 0.01, groupBy: 'name' }), stores);
    assert.deepEqual([grouped.status, grouped.group, grouped.observed, grouped.samples], ['failed', 'update', 0.03, 100]);
    assert.equal(grouped.groupBy, 'name');
    assert.deepEqual(
      grouped.parts!.map((p) => [p.group, p.status, p.samples]),
      [['list', 'passed', 1000], ['login', 'insufficient-data', 15], ['update', 'failed', 100], [undefined, 'passed', 200]],
    );
    assert.match(grouped.parts!.find((p) => p.group === 'login')!.note!, /15 sample\(s\); rate<0\.01 needs at least 100/);
    // Without the failing endpoint the login group's 15 samples decide: insufficient, unless allowed.
    const healthy = new Map([['journey', storeOf('http_req_failed', [[{ name: 'list' }, fails(1000, 0)], [{ name: 'login' }, fails(15, 0)]])]]);
    assert.equal(decideGate(gate({ metric: 'http_req_failed', stat: 'rate', limit: 0.01, groupBy: 'name' }), healthy).status, 'insufficient-data');
    assert.equal(decideGate(gate({ metric: 'http_req_failed', stat: 'rate', limit: 0.01, groupBy: 'name', allowInsufficientData: true }), healthy).status, 'passed');
    // k6 gets the gate's threshold without the grouping.
    assert.deepEqual(gatesToThresholds([gate({ metric: 'http_req_failed', stat: 'rate', limit: 0.01, groupBy: 'name' })]), { http_req_failed: ['rate<0.01'] });
    assert.throws(() => gate({ metric: 'http_req_failed', stat: 'rate', limit: 0.01, groupBy: 'name', tags: { name: 'x' } }), /also a tag filter/);
  });
});

describe('samples a gate counts', () => {
  test('rate gates need 1/min(L, 1 − L) samples to pass; samples that cross the limit fail however few', () => {
    assert.deepEqual([0.01, 0.999, 0.99, 0.5, 1, 0].map(minSamplesForRate), [100, 1000, 100, 2, 1, 1]);
    const stores = (values: number[]) => new Map([['s', storeOf('job_completed', [[{}, values]])]]);
    const few = decideGate(gate({ metric: 'job_completed', stat: 'rate', op: '>=', limit: 0.999 }), stores(times(15, 1)));
    assert.deepEqual([few.status, few.observed], ['insufficient-data', 1]);
    assert.match(few.note!, /15 sample\(s\); rate>=0\.999 needs at least 1000 \(1\/\(1 − 0\.999\)\)/);
    const enough = decideGate(gate({ metric: 'job_completed', stat: 'rate', op: '>=', limit: 0.999 }), stores(times(1000, 1)));
    assert.equal(enough.status, 'passed');
    const crossed = decideGate(gate({ metric: 'job_completed', stat: 'rate', op: '>=', limit: 0.999 }), stores([...times(14, 1), 0]));
    assert.equal(crossed.status, 'failed');
    // "Always" needs one sample.
    assert.equal(decideGate(gate({ metric: 'job_completed', stat: 'rate', op: '>=', limit: 1 }), stores([1])).status, 'passed');
  });

  test('latency counts expected responses by default (fast errors cannot hide slow successes); responses: all counts every one', () => {
    const stores = new Map([['s', storeOf('http_req_duration', [[{ expected_response: 'true' }, times(40, 400)], [{ expected_response: 'false' }, times(960, 1)]])]]);
    const expected = decideGate(gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 300 }), stores);
    assert.deepEqual([expected.status, expected.samples, expected.metric], ['failed', 40, 'http_req_duration{expected_response:true}']);
    const all = decideGate(gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 300, responses: 'all' }), stores);
    assert.deepEqual([all.status, all.samples, all.metric], ['passed', 1000, 'http_req_duration']);
    // Not a latency metric: no filter added.
    assert.equal(thresholdKey(gate({ metric: 'http_req_failed', stat: 'rate', limit: 0.01 })), 'http_req_failed');
  });

  test("window: 'steady' counts only samples tagged perf_window=steady, and k6's threshold names the same tag", () => {
    const stores = new Map([['s', storeOf('http_req_duration', [[{ ...ok, perf_window: 'ramp-up' }, times(50, 900)], [{ ...ok, perf_window: 'steady' }, times(100, 20)], [ok, times(3, 900)]])]]);
    const steady = gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 300, window: 'steady' });
    assert.equal(thresholdKey(steady), 'http_req_duration{expected_response:true,perf_window:steady}');
    const r = decideGate(steady, stores);
    assert.deepEqual([r.status, r.samples, r.window], ['passed', 100, 'steady']);
    const all = decideGate(gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 300 }), stores);
    assert.deepEqual([all.status, all.samples], ['failed', 153]);
    assert.throws(() => gate({ metric: 'http_req_duration', stat: 'p(95)', limit: 300, window: 'steady', tags: { perf_window: 'x' } }), /perf sets perf_window/);
  });
});

describe('k6 against perf on the same samples', () => {
  const g = gate({ metric: 'http_req_failed', stat: 'rate', limit: 0.01 });
  const store = storeOf('http_req_failed', [[{}, [...times(990, 0), ...times(10, 1)]]]);
  test('agreeing results: no disagreement', () => {
    const [c] = crossCheck([g], [{ metric: 'http_req_failed', expression: 'rate<0.01', passed: false, observed: 0.01 }], store, true);
    assert.equal(c!.disagreement, undefined);
    assert.deepEqual(c!.k6, { observed: 0.01, passed: false });
    assert.deepEqual(c!.harness, { observed: 0.01, status: 'failed' });
  });
  test('a different value or verdict, or no k6 result for an injected threshold, is a disagreement that says why', () => {
    const [c] = crossCheck([g], [{ metric: 'http_req_failed', expression: 'rate<0.01', passed: true, observed: 0 }], store, true);
    assert.match(c!.disagreement!, /harness and k6 disagree on http_req_failed rate<0\.01: harness 0\.01 over 1000 sample\(s\) \(fail\) vs k6 0 \(pass\)/);
    const [missing] = crossCheck([g], [], store, true);
    assert.match(missing!.disagreement!, /k6 reported no result for the threshold http_req_failed rate<0\.01 that perf injected, while perf counted 1000 sample/);
    // k6 stopped early (no summary): nothing to compare, not a disagreement.
    assert.equal(crossCheck([g], [], store, false)[0]!.disagreement, undefined);
  });
});
