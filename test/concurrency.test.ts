// Achieved concurrency (analysis/concurrency.ts): requests in flight, rates over the load
// period, what each scenario asked for. Checked against brute force on synthetic intervals,
// and on the real k6 against a local server that keeps its own record of every request.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { askedLoad, ConcurrencyMeter, LoadConcurrencyIngest, REORDER_SLACK_MS } from '../analysis/concurrency.ts';
import { ingestK6Csv } from '../analysis/k6-csv.ts';
import { readK6CsvSamples, readVerdictFromOutput, runCli, runDirFromOutput, tempDir } from './helpers.ts';

/** Exact figures by brute force: every start and end event sorted, counted one by one. */
function bruteForce(intervals: { start: number; end: number }[]) {
  const events = intervals.flatMap((i) => (i.end > i.start ? [[i.start, 1] as const, [i.end, -1] as const] : []));
  // Ends before starts at the same instant: [start, end) intervals.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let max = 0;
  for (const [, d] of events) max = Math.max(max, (n += d));
  const atStart = intervals.map((i) => intervals.filter((j) => j.start <= i.start && (j.end > i.start || j === i)).length).sort((a, b) => a - b);
  const pct = (p: number) => atStart[Math.max(1, Math.ceil((p / 100) * atStart.length)) - 1]!;
  const first = Math.min(...intervals.map((i) => i.start));
  const last = Math.max(...intervals.map((i) => i.end));
  const busy = intervals.reduce((s, i) => s + (i.end - i.start), 0);
  return { max, mean: busy / (last - first), p50: pct(50), p99: pct(99), periodMs: last - first };
}

/** A seeded generator: the same intervals on every run. */
function rng(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

describe('ConcurrencyMeter: requests in flight', () => {
  test('max, mean and in-flight-at-start percentiles equal brute force, whatever the order within the reorder slack', () => {
    const random = rng(7);
    for (let round = 0; round < 5; round++) {
      const intervals = Array.from({ length: 600 }, () => {
        const start = random() * 20_000;
        // Mostly short, a few long: the long ones are what a sweep in end order gets wrong.
        const d = random() < 0.05 ? 500 + random() * 1500 : random() * 40;
        return { start, end: start + d };
      });
      // Fed by end, each displaced by up to 1.5 s: k6 writes samples in batches.
      const fed = intervals.map((i) => ({ ...i, at: i.end + random() * (REORDER_SLACK_MS * 0.75) })).sort((a, b) => a.at - b.at);
      const m = new ConcurrencyMeter();
      for (const i of fed) m.request(i.end, i.end - i.start);
      const got = m.result();
      const want = bruteForce(intervals);
      assert.equal(got.inFlight.lateRequests, 0);
      assert.equal(got.inFlight.max, want.max, `round ${round}`);
      assert.ok(Math.abs(got.inFlight.mean - want.mean) < 0.001, `mean ${got.inFlight.mean} vs ${want.mean}`);
      assert.equal(got.inFlight.atStart.p50, want.p50);
      assert.equal(got.inFlight.atStart.p99, want.p99);
      assert.equal(got.requests, 600);
      assert.ok(Math.abs(got.periodSeconds - want.periodMs / 1000) < 0.001);
    }
  });

  test('requests that only touch (one ends as the next starts) are never in flight together', () => {
    const m = new ConcurrencyMeter();
    for (let i = 0; i < 10; i++) m.request((i + 1) * 100, 100);
    const r = m.result();
    assert.equal(r.inFlight.max, 1);
    assert.equal(r.inFlight.mean, 1);
    assert.equal(r.requestsPerSec, 10);
  });

  test('a request that arrives after the sweep passed its start is counted from there on, and said to be late', () => {
    const m = new ConcurrencyMeter();
    for (let t = 0; t < 10_000; t += 10) m.request(t + 5, 5);
    // Started at 1 s, ended at 10 s, written last: far past the slack.
    m.request(10_000, 9_000);
    const r = m.result();
    assert.equal(r.inFlight.lateRequests, 1);
    assert.equal(r.inFlight.max, 2, 'in flight together with the requests after the sweep position');
  });

  test('iterations widen the load period and count for iterations/s; no sample: zeros, not NaN', () => {
    const m = new ConcurrencyMeter();
    m.iterationSpan(1000, 1000);
    m.iteration(1000);
    m.iterationSpan(3000, 500);
    m.iteration(3000);
    const r = m.result();
    assert.equal(r.periodSeconds, 3);
    assert.equal(r.iterationsPerSec, 0.7);
    assert.deepEqual(new ConcurrencyMeter().result().inFlight, { mean: 0, max: 0, lateRequests: 0, atStart: { p50: 0, p90: 0, p99: 0 } });
  });

  test('in the ingest’s pass: per k6 scenario and in all, setup() and teardown() left out of the load and its period', async () => {
    const dir = tempDir('perf-concurrency-csv-');
    const file = path.join(dir, 'samples.csv');
    const ns = (s: number) => `${1_796_000_000n * 1_000_000_000n + BigInt(Math.round(s * 1e9))}`;
    const row = (metric: string, at: number, value: number, scenario: string, group = '') => `${metric},${ns(at)},${value},${group},GET,x,${scenario},200,,\n`;
    const rows = [
      // setup(): a request at 0 s, 2 s before the load.
      row('http_req_duration', 0.01, 10, '', '::setup'),
      row('iteration_duration', 2, 2000, '', '::setup'),
      // Scenario a: two overlapping 100 ms requests at 2.1 s; b: one at 2.5 s; the load ends at 3 s.
      row('http_req_duration', 2.1, 100, 'a'),
      row('http_req_duration', 2.12, 100, 'a'),
      row('http_req_duration', 2.5, 100, 'b'),
      row('iteration_duration', 3, 1000, 'a'),
      row('iterations', 3, 1, 'a'),
      // teardown(): after the load.
      row('http_req_duration', 5, 10, '', '::teardown'),
    ];
    writeFileSync(file, `metric_name,timestamp,metric_value,group,method,name,scenario,status,extra_tags,metadata\n${rows.join('')}`);
    const load = new LoadConcurrencyIngest();
    const store = await ingestK6Csv(file, new Map(), 10, false, load.tap);
    assert.equal(store.merged('http_req_duration').count, 5, 'the gates still see every sample');
    const c = load.result({ a: { executor: 'constant-vus', vus: 2 } })!;
    assert.equal(c.requests, 3);
    assert.equal(c.periodSeconds, 1, 'from the iteration’s start (2 s) to its end (3 s)');
    assert.equal(c.requestsPerSec, 3);
    assert.equal(c.inFlight.max, 2);
    assert.deepEqual(
      c.scenarios.map((s) => [s.scenario, s.requests, s.inFlight.max, s.iterations, s.asked?.vus]),
      [
        ['a', 2, 2, 1, 2],
        ['b', 1, 1, 0, undefined],
      ],
    );
    assert.equal(new LoadConcurrencyIngest().result(), undefined, 'no load sample: no figures');
  });

  test('what each scenario asked for, from k6’s scenario options', () => {
    assert.deepEqual(
      askedLoad({
        a: { executor: 'constant-arrival-rate', rate: 30, timeUnit: '1m' },
        b: { executor: 'ramping-arrival-rate', startRate: 2, timeUnit: '500ms', stages: [{ target: 10 }, { target: 4 }] },
        c: { executor: 'ramping-vus', startVUs: 1, stages: [{ target: 15 }, { target: 15 }, { target: 0 }] },
        d: { executor: 'constant-vus', vus: 3 },
        e: { executor: 'shared-iterations' },
        f: { executor: 'externally-controlled' },
      }),
      {
        a: { executor: 'constant-arrival-rate', arrivalRatePerSec: 0.5 },
        b: { executor: 'ramping-arrival-rate', arrivalRatePerSec: 20 },
        c: { executor: 'ramping-vus', vus: 15 },
        d: { executor: 'constant-vus', vus: 3 },
        e: { executor: 'shared-iterations', vus: 1 },
        f: { executor: 'externally-controlled' },
      },
    );
  });
});

/** A server that holds every request `ms` milliseconds and records when each arrived and was answered. */
async function startHoldServer() {
  const seen: { scenario: string; start: number; end: number }[] = [];
  const server = http.createServer((req, res) => {
    const start = performance.now();
    const url = new URL(req.url ?? '/', 'http://x');
    setTimeout(() => {
      res.end('ok', () => seen.push({ scenario: url.searchParams.get('s') ?? '', start, end: performance.now() }));
    }, Number(url.searchParams.get('ms') ?? 0));
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

// Two k6 scenarios side by side: a closed model (4 VUs: --users 4, each request held 100 ms, no pause:
// 4 in flight all the time) and an open model (20 iterations/s of a 100 ms request: 2 in
// flight on average, by Little's law). setup() takes 2 s and makes a request of its own: none
// of it is load.
const SCENARIO = `
import http from 'k6/http';
import { sleep } from 'k6';
export const options = {
  scenarios: {
    closed: { executor: 'constant-vus', vus: 4, duration: '3s', exec: 'closed' },
    open: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '3s', preAllocatedVUs: 8, maxVUs: 8, exec: 'open' },
  },
};
export function setup() {
  http.get(__ENV.PERF_BASE_URL + '/setup?s=setup&ms=10');
  sleep(2);
}
export function closed() { http.get(__ENV.PERF_BASE_URL + '/hold?s=closed&ms=100'); }
export function open() { http.get(__ENV.PERF_BASE_URL + '/hold?s=open&ms=100'); }
`;

describe('achieved concurrency on the real k6 (perf run)', () => {
  let server: Awaited<ReturnType<typeof startHoldServer>>;
  let project: string;
  before(async () => {
    server = await startHoldServer();
    project = tempDir('perf-concurrency-');
    mkdirSync(path.join(project, 'scenarios'));
    writeFileSync(path.join(project, 'scenarios', 'inflight.ts'), SCENARIO);
  });
  after(() => server.close());

  test('requests in flight, rates over the load period (setup excluded) and what was asked, per k6 scenario', async () => {
    const r = await runCli(['run', '--target', server.url, '--scenario', 'inflight', '--users', '4', '--reporter', 'console'], { cwd: project, timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const k6 = readVerdictFromOutput(project, r.stderr).phases[0].k6[0];
    const c = k6.analysis.concurrency;
    const of = (name: string) => c.scenarios.find((s: { scenario: string }) => s.scenario === name);
    const [closed, open] = [of('closed'), of('open')];

    // What was asked, as k6 resolved the options.
    assert.deepEqual(closed.asked, { executor: 'constant-vus', vus: 4 });
    assert.deepEqual(open.asked, { executor: 'constant-arrival-rate', arrivalRatePerSec: 20 });

    // The server's own record: the same requests, the same concurrency.
    const load = server.seen.filter((s) => s.scenario !== 'setup');
    assert.equal(server.seen.filter((s) => s.scenario === 'setup').length, 1, 'setup made its request');
    assert.equal(c.requests, load.length, 'every load request, and not the setup one');
    assert.equal(closed.inFlight.max, 4, 'a closed model of 4 VUs: 4 in flight at most');
    assert.ok(closed.inFlight.mean > 3.5 && closed.inFlight.mean <= 4, `closed mean ${closed.inFlight.mean}`);
    assert.equal(closed.inFlight.atStart.p50, 4);
    assert.ok(open.inFlight.mean > 1.6 && open.inFlight.mean < 2.6, `open mean ${open.inFlight.mean} (Little: 20/s × 0.1 s = 2)`);
    assert.ok(Math.abs(open.iterationsPerSec - 20) < 2, `open ran ${open.iterationsPerSec} iterations/s of 20 asked`);

    // Rates over the load period (about 3 s), not over whole seconds including the 2 s setup.
    const periodS = (Math.max(...load.map((s) => s.end)) - Math.min(...load.map((s) => s.start))) / 1000;
    assert.ok(c.periodSeconds > 2.9 && c.periodSeconds < periodS + 0.2, `period ${c.periodSeconds} s (server: ${periodS.toFixed(3)} s)`);
    const serverRate = load.length / periodS;
    assert.ok(Math.abs(k6.analysis.requestsPerSec - serverRate) / serverRate < 0.05, `${k6.analysis.requestsPerSec} req/s vs ${serverRate.toFixed(1)} by the server`);

    // Exact, not estimated: brute force over the run's raw samples gives the same figures.
    const raw = readK6CsvSamples(gunzipSync(readFileSync(path.join(runDirFromOutput(project, r.stderr), k6.files.samples))).toString('utf8'));
    for (const s of [closed, open, { scenario: undefined, inFlight: c.inFlight }]) {
      const intervals = raw
        .filter((x) => x.metric === 'http_req_duration' && x.tags.scenario && (s.scenario === undefined || x.tags.scenario === s.scenario))
        .map((x) => {
          const end = Number(BigInt(x.timestamp) - 1_796_000_000_000_000_000n) / 1e6;
          return { start: end - x.value, end };
        });
      const want = bruteForce(intervals);
      assert.equal(s.inFlight.max, want.max, `${s.scenario ?? 'all'}: max`);
      assert.equal(s.inFlight.atStart.p99, want.p99, `${s.scenario ?? 'all'}: p99 at start`);
      assert.equal(s.inFlight.lateRequests, 0);
    }
    assert.match(r.stderr, /closed: asked 4 VUs \(constant-vus\) → [\d.]+ iterations\/s, [\d.]+ req\/s over [\d.]+ s; requests in flight mean [\d.]+, max 4/);
    assert.match(r.stderr, /open: asked 20 iterations\/s \(constant-arrival-rate\) → /);
  });
});
