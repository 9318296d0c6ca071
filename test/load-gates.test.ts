import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { decodeHistogram, RELATIVE_PRECISION } from '../analysis/histogram.ts';
import { configProject, readK6BinSamples, readVerdictFromOutput, runCli, runDirFromOutput } from './helpers.ts';

// Real k6 against the real sample-app, started by perf. Each gate of the default config is
// shown to pass on the healthy app and to fail under the fault it exists to catch.

const project = (overrides = ''): string => configProject(overrides, 'perf-load-');

interface Gate {
  metric: string;
  expression: string;
  status: string;
  observed?: number;
  samples: number;
}
const gate = (v: { gates: Gate[] }, metric: string, expression: string): Gate => {
  const g = v.gates.find((x) => x.metric === metric && x.expression === expression);
  assert.ok(g, `gate ${metric} ${expression} in the verdict`);
  return g;
};

/** Only the load phase, one scenario, the short smoke profile. */
async function load(cwd: string, scenario: string, users: number, extra: string[] = [], env: Record<string, string> = {}) {
  const r = await runCli(['run', '--phase', 'load', '--scenario', scenario, '--profile', 'smoke', '--users', String(users), '--reporter', 'console', ...extra], { cwd, env, timeoutMs: 180_000 });
  return { r, v: readVerdictFromOutput(cwd, r.stderr) as { status: string; gates: Gate[]; phases: any[] } };
}

describe('load gates on real k6 against the real sample-app', () => {
  test('healthy: perf run --users 15 passes every gate, exit 0, every gate with its sample count', async () => {
    const cwd = project();
    const r = await runCli(['run', '--users', '15', '--profile', 'smoke', '--reporter', 'console'], { cwd, timeoutMs: 240_000 });
    assert.equal(r.code, 0, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    assert.equal(v.status, 'passed');
    const names = v.phases.map((p: { name: string }) => p.name);
    const order = ['health', 'smoke', 'flows', 'db-integrity', 'load', 'db-integrity-after-load'].map((n) => names.indexOf(n));
    assert.ok(order.every((i: number, k: number) => i >= 0 && (k === 0 || i > order[k - 1]!)), `phases in order: ${names.join(', ')}`);
    for (const p of v.phases) assert.equal(p.status, 'passed', p.name);
    assert.equal(v.gates.length, 10);
    for (const g of v.gates as Gate[]) {
      assert.equal(g.status, 'passed', `${g.metric} ${g.expression}`);
      assert.ok(g.samples > 0 && g.observed !== undefined, `${g.metric} ${g.expression} has samples and a value`);
    }
    const reconcile = v.phases.find((p: { name: string }) => p.name === 'db-integrity-after-load').checks.find((c: { name: string }) => c.name === 'reconcile_job');
    assert.ok(reconcile.measurements.job_expected > 0, 'the load created jobs and they were all found');
    const k6 = v.phases.find((p: { name: string }) => p.name === 'load').k6.find((k: { scenario: string }) => k.scenario === 'multi-user');
    assert.ok(k6.resources.k6.cpuAvgPct > 0, 'k6 CPU is in the verdict');
    assert.ok(k6.resources.target.rssPeakMb > 0, 'the target (started by perf) memory is in the verdict');
    assert.match(r.stderr, /http_req_duration p\(99\)<1000 \(observed [\d.]+ ms, \d+ samples\)/, 'the console prints the gate table');
  });

  test('tail latency fails the p99 gate', async () => {
    const { r, v } = await load(project("sampleApp: { faults: { tailLatencyMs: 1500, tailFraction: 0.1 } }"), 'throughput', 20);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, 'http_req_duration', 'p(99)<1000');
    assert.equal(g.status, 'failed');
    assert.ok(g.observed! >= 1000 && g.samples >= 100, `observed ${g.observed} over ${g.samples} samples`);
  });

  test('added latency on every API answer fails the overall p95 gate', async () => {
    const { r, v } = await load(project("sampleApp: { faults: { latencyMs: 400 } }"), 'throughput', 10);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, 'http_req_duration', 'p(95)<300');
    assert.equal(g.status, 'failed');
    assert.ok(g.observed! >= 400 && g.samples >= 20, `observed ${g.observed} over ${g.samples} samples`);
  });

  test('an error rate fails the http_req_failed gate', async () => {
    const { r, v } = await load(project("sampleApp: { faults: { errorRate: 0.2 } }"), 'throughput', 10);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, 'http_req_failed', 'rate<0.01');
    assert.equal(g.status, 'failed');
    assert.ok(g.observed! > 0.05, `observed ${g.observed}`);
    // The authenticated hot endpoint was really exercised (setup retried its signup through the fault).
    assert.ok(gate(v, 'http_req_duration{name:brand_kits_list}', 'p(95)<200').samples > 50);
  });

  test('a slow query fails that endpoint’s p95 gate (and only the endpoint gate needs to)', async () => {
    const { r, v } = await load(project("sampleApp: { faults: { slowQueryMs: 300 } }"), 'throughput', 10);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, 'http_req_duration{name:brand_kits_list}', 'p(95)<200');
    assert.equal(g.status, 'failed');
    assert.ok(g.observed! >= 300, `observed ${g.observed}`);
  });

  for (const [name, fault] of [
    ['a dropped WebSocket event', "wsDropEvent: 'tool_completed'"],
    ['reordered WebSocket events', "wsReorder: ['tool_executing', 'agent_thinking']"],
  ] as const) {
    test(`${name} fails the ws_event_order gate`, async () => {
      const { r, v } = await load(project(`sampleApp: { faults: { ${fault} } }`), 'ws-events', 3);
      assert.equal(r.code, 1, r.stderr);
      const g = gate(v, 'ws_event_order', 'rate>=1');
      assert.equal(g.status, 'failed');
      assert.ok(g.observed! < 0.5 && g.samples > 10, `observed ${g.observed} over ${g.samples}`);
    });
  }

  test('refused WebSocket handshakes fail ws_session_established, not the event-order gate', async () => {
    const { r, v } = await load(project('sampleApp: { faults: { wsHandshakeFailRate: 0.2 } }'), 'ws-events', 3);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, 'ws_session_established', 'rate>=0.999');
    assert.equal(g.status, 'failed');
    assert.ok(g.observed! < 0.95 && g.observed! > 0.5, `observed ${g.observed}`);
    assert.equal(gate(v, 'ws_event_order', 'rate>=1').status, 'passed', 'runs that connected were in order');
  });

  test('a slow first agent event fails the ws_time_to_first_event p95 gate, not the order gate', async () => {
    const { r, v } = await load(project('sampleApp: { faults: { wsFirstEventDelayMs: 400 } }'), 'ws-events', 5);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, 'ws_time_to_first_event', 'p(95)<250');
    assert.equal(g.status, 'failed');
    assert.ok(g.observed! >= 400 && g.samples >= 20, `observed ${g.observed} over ${g.samples} samples`);
    assert.equal(gate(v, 'ws_event_order', 'rate>=1').status, 'passed', 'slow, but complete and in order');
  });

  test("agent events broadcast to every socket fail ws_event_ownership", async () => {
    // Users run concurrently, so each run's socket also receives other users' events.
    const { r, v } = await load(project('sampleApp: { faults: { wsBroadcast: true } }'), 'ws-events', 5);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, 'ws_event_ownership', 'rate>=1');
    assert.equal(g.status, 'failed');
    assert.ok(g.observed! < 1 && g.samples > 10, `observed ${g.observed} over ${g.samples}`);
  });

  test('jobs that stall in running fail the job_completed gate', async () => {
    const { r, v } = await load(project('sampleApp: { faults: { jobStallRate: 0.5 } }'), 'multi-user', 5);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, 'job_completed', 'rate>=0.99');
    assert.equal(g.status, 'failed');
    assert.ok(g.observed! < 0.99 && g.samples >= 5, `observed ${g.observed} over ${g.samples}`);
    assert.equal(gate(v, 'data_isolation', 'rate>=1').status, 'passed', 'a stalled job is not a leak');
  });

  test('a cross-user leak under concurrency fails data_isolation', async () => {
    // The leak is a race: enough users at once, long enough, for requests to interleave.
    const { r, v } = await load(project('sampleApp: { faults: { crossUserLeak: true } }'), 'multi-user', 15, ['--duration', '10s']);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, 'data_isolation', 'rate>=1');
    assert.equal(g.status, 'failed');
    assert.ok(g.observed! < 1, `observed ${g.observed}`);
  });

  test('HDR percentiles agree with exact ones from the raw samples and with k6’s summary', async () => {
    const cwd = project();
    const { r } = await load(cwd, 'throughput', 20);
    assert.equal(r.code, 0, r.stderr);
    const runDir = runDirFromOutput(cwd, r.stderr);
    // Exact: every http_req_duration sample from k6's raw output, sorted.
    const raw = readK6BinSamples(gunzipSync(readFileSync(path.join(runDir, 'k6-throughput-samples.bin.gz'))));
    const values = raw.filter((x) => x.metric === 'http_req_duration').map((x) => x.value).sort((a, b) => a - b);
    assert.ok(values.length > 200);
    const analysis = JSON.parse(gunzipSync(readFileSync(path.join(runDir, 'k6-throughput-analysis.json.gz'))).toString('utf8'));
    const h = decodeHistogram(analysis.series.filter((s: { metric: string }) => s.metric === 'http_req_duration').map((s: { histogram: string }) => s.histogram)[0]);
    for (const s of analysis.series.filter((x: { metric: string }) => x.metric === 'http_req_duration').slice(1)) h.add(decodeHistogram(s.histogram));
    assert.equal(h.totalCount, values.length, 'every sample is in the histograms');
    const k6 = JSON.parse(readFileSync(path.join(runDir, 'k6-throughput-summary.json'), 'utf8')).metrics.http_req_duration;
    for (const p of [90, 95, 99]) {
      const rank = Math.max(1, Math.ceil((p / 100) * values.length));
      const [lo, hi] = [values[Math.max(0, rank - 2)]!, values[Math.min(values.length - 1, rank)]!];
      const hdr = h.getValueAtPercentile(p) / 1000;
      const tol = (x: number) => x * 2 * RELATIVE_PRECISION + 0.002;
      // HDR reads the nearest-rank sample to 0.1 %; k6 interpolates between neighbouring samples.
      assert.ok(hdr >= lo - tol(lo) && hdr <= hi + tol(hi), `p${p}: HDR ${hdr} outside exact [${lo}, ${hi}]`);
      assert.ok(k6[`p(${p})`] >= lo - tol(lo) && k6[`p(${p})`] <= hi + tol(hi), `p${p}: k6 ${k6[`p(${p})`]} outside exact [${lo}, ${hi}]`);
    }
    const verdict = readVerdictFromOutput(cwd, r.stderr);
    const consistency = verdict.phases[0].k6[0].consistency as { disagreement?: string; k6?: unknown }[];
    assert.ok(consistency.some((c) => c.k6), 'harness and k6 were compared');
    assert.deepEqual(consistency.filter((c) => c.disagreement), []);
  });

  test('too few samples for a percentile: insufficient-data, which fails the gate', async () => {
    const cwd = project("gates: [{ metric: 'http_req_duration', stat: 'p(99.9)', limit: 5000 }]");
    const { r, v } = await load(cwd, 'throughput', 2);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, 'http_req_duration', 'p(99.9)<5000');
    assert.equal(g.status, 'insufficient-data');
    assert.ok(g.samples > 0 && g.samples < 1000);
    assert.match(r.stderr, /p\(99\.9\) needs at least 1000/);
  });

  test('an arrival rate the generator cannot reach marks the run invalid, not passed', async () => {
    // 400 iterations/s asked, at most 2 VUs, every API answer 100 ms: k6 must drop iterations.
    const cwd = project("sampleApp: { faults: { latencyMs: 100 } }, gates: []");
    const { r, v } = await load(cwd, 'throughput', 2, [], { PERF_RATE: '400', PERF_MAX_VUS: '2' });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(v.status, 'invalid');
    assert.match(v.phases[0].invalidBecause, /dropped \d+ iterations/);
    assert.ok(v.phases[0].k6[0].analysis.droppedIterations > 0);
  });
});
