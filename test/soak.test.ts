import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createLatencyHistogramUs, encodeHistogram, recordMs } from '../analysis/histogram.ts';
import type { CapturedWindow, ScenarioWindows, WindowsFile } from '../analysis/window-capture.ts';
import { WINDOWS_SCHEMA } from '../analysis/window-capture.ts';
import { rampUpSecondsOf } from '../analysis/concurrency.ts';
import { configSchema, type DriftGateSpec } from '../src/config/config-schema.ts';
import { driftGateResult } from '../src/soak/drift.ts';
import { errorBudgetResults } from '../src/soak/error-budget.ts';
import { RssTrend } from '../src/soak/rss-trend.ts';
import { configProject, readVerdictFromOutput, runCli } from './helpers.ts';

// Drift gates, the error budget and the target's memory (src/soak/, docs/soak.md): each judge on
// windows made by hand, then real k6 against the real sample-app, healthy and with the faults
// that degrade with uptime (latencyCreepMsPerMin, leakKbPerRequest) and an error rate.

const KEY = 'http_req_duration{expected_response:true}';

/** Windows of 2 s from t=1000, `ms(i)` the latency of every sample of window i (50 samples each). */
function trendWindows(n: number, ms: (i: number) => number, rampUp = 0): WindowsFile {
  const windows: CapturedWindow[] = [];
  for (let i = 0; i < n; i++) {
    const h = createLatencyHistogramUs();
    for (let k = 0; k < 50; k++) recordMs(h, ms(i) * (0.9 + (k % 10) / 50));
    windows.push({ start: 1000 + 2 * i, count: 50, nonZero: 50, sum: ms(i) * 50, histogram: encodeHistogram(h) });
  }
  const sc: ScenarioWindows = { scenario: 'journey', firstTimestamp: 1000, lastTimestamp: 1000 + 2 * n, rampUpEnd: 1000 + rampUp, series: { [KEY]: { type: 'trend', windows } } };
  return { schema: WINDOWS_SCHEMA, windowSeconds: 2, scenarios: [sc] };
}

const drift = (maxDrift = '20%', extra: Partial<DriftGateSpec> = {}): DriftGateSpec =>
  configSchema.parse({ gates: [{ metric: 'http_req_duration', stat: 'p(95)', maxDrift, ...extra }] }).gates[0] as DriftGateSpec;

describe('drift gates', () => {
  test('a latency growing over the run fails, naming first and last spans, the drift and the rank test', () => {
    const r = driftGateResult(drift(), trendWindows(30, (i) => 20 + i), undefined);
    assert.equal(r.status, 'failed');
    const d = r.decided!;
    assert.equal(d.verdict, 'drifted');
    assert.deepEqual(d.windows, { first: 5, last: 5, seconds: 2 });
    assert.ok(d.driftPct! > 100, `drift ${d.driftPct}`);
    assert.ok(d.pValue! < 0.01);
    assert.equal(d.from, 1000);
    assert.equal(d.to, 1000 + 2 * 30, 'the last complete window ends the last span');
  });
  test('flat latency with noise passes; a drift within the limit passes; an improvement passes', () => {
    assert.equal(driftGateResult(drift(), trendWindows(30, (i) => 20 + ((i * 7) % 5)), undefined).status, 'passed');
    assert.equal(driftGateResult(drift('50%'), trendWindows(30, (i) => 20 + i / 4), undefined).status, 'passed');
    assert.equal(driftGateResult(drift(), trendWindows(30, (i) => 50 - i), undefined).status, 'passed');
  });
  test('one slow window at the end is noise, not drift: the rank test needs the whole last span worse', () => {
    const r = driftGateResult(drift(), trendWindows(30, (i) => (i === 28 ? 200 : 20 + ((i * 7) % 5) * 0.3)), undefined);
    assert.equal(r.status, 'passed', JSON.stringify(r.decided));
  });
  test('too few windows is insufficient data (fails), unless allowed; driftWindows sets the spans', () => {
    const few = driftGateResult(drift(), trendWindows(4, (i) => 20 + 10 * i), undefined);
    // 2 against 2 windows can never reach p < 0.01: a drift past the limit cannot be confirmed.
    assert.equal(few.status, 'insufficient-data');
    assert.match(few.note!, /cannot reach significance 0\.01: run longer/);
    assert.equal(driftGateResult(drift('20%', { allowInsufficientData: true }), trendWindows(4, (i) => 20 + 10 * i), undefined).status, 'passed');
    const eight = driftGateResult(drift(), trendWindows(30, (i) => 20 + i), 8);
    assert.deepEqual(eight.decided!.windows, { first: 8, last: 8, seconds: 2 });
    // The ramp-up's windows are not the "first steady" ones.
    const ramped = driftGateResult(drift(), trendWindows(30, (i) => (i < 10 ? 500 : 20 + i), 20), undefined);
    assert.equal(ramped.decided!.from, 1020);
    assert.equal(ramped.status, 'failed');
  });
  test('no windows (no load): not-run, saying why', () => {
    const r = driftGateResult(drift(), undefined, undefined);
    assert.equal(r.status, 'not-run');
    assert.match(r.note!, /load phase did not run/);
  });
  test('the config: one of limit, maxIncrease or maxDrift; every problem named', () => {
    const r = configSchema.safeParse({
      gates: [
        { metric: 'http_req_duration', stat: 'p(95)', limit: 300, maxDrift: '20%' },
        { metric: 'http_req_duration', stat: 'p(95)', maxDrift: '20' },
        { metric: 'http_req_duration', stat: 'p(95)', maxDrift: '20%', groupBy: 'name' },
        { metric: 'http_req_duration', stat: 'count', maxDrift: '20%' },
      ],
      soak: { driftWindows: 2, errorBudget: { budget: 5 }, targetMemory: {} },
    });
    assert.equal(r.success, false);
    const paths = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    for (const re of [/^gates\.0\.maxDrift: a gate has one of/, /^gates\.1\.maxDrift: must be a percentage/, /^gates\.2\.groupBy: a drift gate/, /^gates\.3\.stat: a drift gate/, /^soak\.driftWindows: /, /^soak\.errorBudget\.budget: /, /^soak\.targetMemory\.maxGrowthMbPerHour: /])
      assert.ok(paths.some((p) => re.test(p)), `${re}\n${paths.join('\n')}`);
  });
});

test('gates and soak judgements of other profiles are left out of the run (profiles)', async () => {
  const { resolveConfig } = await import('../src/config/config.ts');
  const cwd = configProject(`gates: [
      { metric: 'http_req_duration', stat: 'p(95)', limit: 300 },
      { metric: 'http_req_duration', stat: 'p(95)', maxDrift: '20%', profiles: ['soak'] },
    ],
    soak: { profiles: ['soak', 'stress'], errorBudget: { budget: 0.01 }, targetMemory: { maxGrowthMbPerHour: 50 } }`);
  const load = (await resolveConfig({ cwd, env: {} })).config;
  assert.deepEqual(load.gates.map((g) => g.maxDrift ?? g.limit), [300]);
  assert.equal(load.soak.errorBudget, undefined);
  assert.equal(load.soak.targetMemory, undefined);
  const soak = (await resolveConfig({ cwd, env: { PERF_PROFILE: 'soak' } })).config;
  assert.deepEqual(soak.gates.map((g) => g.maxDrift ?? g.limit), [300, '20%']);
  assert.equal(soak.soak.errorBudget?.budget, 0.01);
  assert.equal(soak.soak.targetMemory?.maxGrowthMbPerHour, 50);
  const bad = configSchema.safeParse({ gates: [{ metric: 'http_req_duration', stat: 'p(95)', limit: 1, profiles: ['nightly'] }] });
  assert.equal(bad.success, false);
  assert.match(bad.error!.issues[0]!.path.join('.'), /^gates\.0\.profiles/);
});

describe('the error budget over time', () => {
  const rateWindows = (failed: number[], samples = 200): WindowsFile => ({
    schema: WINDOWS_SCHEMA,
    windowSeconds: 10,
    scenarios: [{ scenario: 'journey', firstTimestamp: 1000, lastTimestamp: 1000 + 10 * failed.length, rampUpEnd: 1000, series: { http_req_failed: { type: 'rate', windows: failed.map((f, i) => ({ start: 1000 + 10 * i, count: samples, nonZero: f, sum: f })) } } }],
  });
  const budget = { metric: 'http_req_failed', budget: 0.01, maxBurnRate: 10 };
  test('within budget: passes, and the plot series spends it window by window', () => {
    const [r] = errorBudgetResults(budget, rateWindows([1, 0, 2, 1, 0, 1]));
    assert.equal(r!.status, 'passed');
    assert.equal(r!.spentPct, 41.67);
    assert.deepEqual(r!.windows.map((w) => w.spentPct), [8.33, 8.33, 25, 33.33, 33.33, 41.67]);
  });
  test('spent: fails, saying when it ran out', () => {
    const [r] = errorBudgetResults(budget, rateWindows([2, 2, 6, 6, 6, 6]));
    assert.equal(r!.status, 'failed');
    assert.equal(r!.exhaustedAfterSeconds, 40);
    assert.match(r!.reason!, /233\.33 % of the budget spent; it ran out 40 s into the scenario/);
  });
  test('an outage in one window fails on the burn rate even when the whole run is within budget', () => {
    const [r] = errorBudgetResults(budget, rateWindows([0, 0, 0, 25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert.ok(r!.spentPct < 100);
    assert.equal(r!.status, 'failed');
    assert.match(r!.reason!, /the window at 30 s burned it 12.5× too fast \(25 of 200 failed; at most 10×\)/);
  });
});

describe('the target memory trend', () => {
  test('the slope of RSS is a least-squares fit in MB per hour, from the end of the ramp-up', () => {
    let mb = 100;
    const t = new RssTrend('api', 1, () => 1010, () => mb);
    for (let s = 0; s <= 70; s++) {
      mb = s < 10 ? 100 + 5 * s : 150 + s / 6 + (s % 2 ? 0.5 : -0.5); // warm-up, then 10 MB/min with GC noise
      t.sample((1000 + s) * 1000);
    }
    const r = t.result(500);
    assert.ok(Math.abs(r.slopeMbPerHour! - 600) < 15, `slope ${r.slopeMbPerHour}`);
    assert.equal(r.status, 'failed');
    assert.match(r.reason!, /target memory of api grew 6\d\d(\.\d)? MB\/h \(limit 500 MB\/h\)/);
    assert.equal(r.samples, 61);
    assert.equal(t.result(1000).status, 'passed');
  });
  test('memory stays bounded: days of readings keep at most 240 plot points', () => {
    const t = new RssTrend('api', 1, () => 0, () => 100);
    for (let s = 0; s < 100_000; s++) t.sample(s * 1000);
    const r = t.result(10);
    assert.ok(r.series.length <= 240 && r.series.length >= 120, `${r.series.length} points`);
    assert.equal(r.slopeMbPerHour, 0);
  });
  test('too few readings: insufficient data, saying how to get more; a load shorter than its ramp-up uses every reading, saying so', () => {
    const t = new RssTrend('api', 1, () => 1000, () => 100);
    t.sample(1_000_000);
    assert.equal(t.result(10).status, 'insufficient-data');
    let mb = 100;
    const short = new RssTrend('api', 1, () => 2000, () => mb);
    for (let s = 0; s < 10; s++, mb += 1) short.sample((1000 + s) * 1000);
    const r = short.result(1000);
    assert.equal(r.includesRampUp, true);
    assert.equal(r.samples, 10);
    assert.ok(Math.abs(r.slopeMbPerHour! - 3600) < 1, `slope ${r.slopeMbPerHour}`);
    assert.equal(r.status, 'failed');
    assert.match(r.reason!, /ramp-up included \(the load was shorter than it\)/);
  });
});

test('the ramp-up of a scenario comes from the options k6 resolved; a constant executor has none', () => {
  assert.equal(rampUpSecondsOf({ hot: { executor: 'constant-arrival-rate', rate: 10, duration: '1m' } }, 30), 0);
  assert.equal(rampUpSecondsOf({ users: { executor: 'ramping-vus', startVUs: 0, stages: [{ duration: '30s', target: 5 }, { duration: '1h', target: 5 }, { duration: '5s', target: 0 }] } }, 9), 30);
  assert.equal(rampUpSecondsOf({ late: { executor: 'constant-vus', vus: 2, startTime: '10s' } }, 9), 10);
  assert.equal(rampUpSecondsOf(undefined, 9), 9);
});

test("a soak is not cut short: the default deadline and load timeout add the load's own length", async () => {
  const { expectedLoadMs } = await import('../src/load/load-phase.ts');
  // 30 s ramp-up + 8 h hold + 2 min of setup and teardown.
  assert.equal(expectedLoadMs('soak', '8h', 1), 30_000 + 8 * 3_600_000 + 120_000);
  // Three scenarios of the default profile: 3 × (5 s + 15 s + 2 min).
  assert.equal(expectedLoadMs('load', undefined, 3), 3 * (5_000 + 15_000 + 120_000));
});

describe('a short soak on the real sample-app', () => {
  // Absolute gates generous enough for the creep (~+140 ms by the end), the drift gate at 25 %,
  // an error budget of 1 %, and the target's memory growth at most 5 GB/h: a 40 s hold extrapolated
  // to an hour; healthy sample-app grows far less, leaking 256 KB per request far more.
  const config = (faults: string) =>
    configProject(`gates: [
      { metric: 'http_req_duration', stat: 'p(95)', limit: 300, window: 'steady', description: 'absolute p95' },
      { metric: 'http_req_duration', stat: 'p(99)', limit: 1000, description: 'absolute p99' },
      { metric: 'http_req_duration', stat: 'p(95)', maxDrift: '25%', description: 'p95 does not drift' },
    ],
    soak: { errorBudget: { budget: 0.01 }, targetMemory: { maxGrowthMbPerHour: 5000, intervalSeconds: 2 } },
    sampleApp: { ...base.sampleApp, faults: { ${faults} } }`);
  const run = (cwd: string) =>
    runCli(['run', '--scenario', 'multi-user', '--profile', 'soak', '--duration', '40s', '--users', '5', '--reporter', 'console,junit'], { cwd, timeoutMs: 240_000 });

  test('healthy: every drift gate, budget and memory trend passes', async () => {
    const cwd = config('');
    const r = await run(cwd);
    const v = readVerdictFromOutput(cwd, r.stdout + r.stderr);
    assert.equal(v.status, 'passed', `${r.stdout}\n${r.stderr}`);
    assert.equal(r.code, 0);
    assert.equal(v.soak.drift[0].status, 'passed');
    assert.ok(v.soak.drift[0].decided.windows.first >= 5);
    assert.equal(v.soak.errorBudget[0].status, 'passed');
    assert.equal(v.soak.memory[0].service, 'sample-app');
    assert.equal(v.soak.memory[0].status, 'passed');
    assert.ok(v.soak.memory[0].samples >= 10, `memory readings ${v.soak.memory[0].samples}`);
  });

  test('latency creeping with uptime fails the drift gate while the absolute gates pass; a leak and errors fail memory and budget', async () => {
    const cwd = config('latencyCreepMsPerMin: 120, leakKbPerRequest: 256, errorRate: 0.03');
    const r = await run(cwd);
    const v = readVerdictFromOutput(cwd, r.stdout + r.stderr);
    assert.equal(v.status, 'failed', r.stdout);
    assert.equal(r.code, 1);
    // The absolute latency gates hold: only the drift says the service degrades.
    for (const g of v.gates.filter((g: { metric: string }) => g.metric.startsWith('http_req_duration'))) assert.equal(g.status, 'passed', JSON.stringify(g));
    const d = v.soak.drift[0];
    assert.equal(d.status, 'failed', JSON.stringify(d));
    assert.ok(d.decided.driftPct > 25 && d.decided.pValue < 0.01, JSON.stringify(d.decided));
    assert.ok(v.reasons.some((x: string) => /^drift gate http_req_duration\{expected_response:true\} p\(95\) max drift \+25% failed in multi-user: .* ms in the first \d+ steady windows → .* ms in the last \d+ \(\+\d+/.test(x)), v.reasons.join('\n'));
    const b = v.soak.errorBudget[0];
    assert.equal(b.status, 'failed');
    assert.ok(b.spentPct > 100, `spent ${b.spentPct}`);
    const m = v.soak.memory[0];
    assert.equal(m.status, 'failed', JSON.stringify({ ...m, series: m.series.length }));
    assert.ok(v.reasons.some((x: string) => /^target memory of sample-app grew \d+/.test(x)), v.reasons.join('\n'));
    assert.match(r.stderr + r.stdout, /soak:\n  ✗ http_req_duration\{expected_response:true\} p\(95\) max drift \+25%: failed/);
  });
});
