import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { decodeHistogram, RELATIVE_PRECISION } from '../analysis/histogram.ts';
import { configProject, readK6CsvSamples, readVerdictFromOutput, runCli, runDirFromOutput, tempDir, wrapRealK6 } from './helpers.ts';

// Real k6 against the real sample-app, started by perf. Each gate of the default config is
// shown to pass on the healthy app and to fail under the fault it exists to catch.

const project = (overrides = ''): string => configProject(overrides, 'perf-load-');

interface Part {
  scenario?: string;
  group?: string;
  status: string;
  observed?: number;
  samples: number;
  note?: string;
  k6?: { observed?: number; passed: boolean };
}
interface Gate {
  metric: string;
  expression: string;
  status: string;
  observed?: number;
  samples: number;
  scenario?: string;
  group?: string;
  groupBy?: string;
  note?: string;
  parts?: Part[];
  disagreement?: string;
}
/** The gate of that threshold key and expression (`groupBy`: the one grouped by that tag). */
const gate = (v: { gates: Gate[] }, metric: string, expression: string, groupBy?: string): Gate => {
  const g = v.gates.find((x) => x.metric === metric && x.expression === expression && x.groupBy === groupBy);
  assert.ok(g, `gate ${metric} ${expression}${groupBy ? ` by ${groupBy}` : ''} in the verdict`);
  return g;
};
// Threshold keys of the default config's gates: latency counts successful responses only.
const P99 = 'http_req_duration{expected_response:true}';
const P95_STEADY = 'http_req_duration{expected_response:true,perf_window:steady}';
const KITS_P95 = 'http_req_duration{name:brand_kits_list,expected_response:true}';

/** Only the load phase, one scenario, the short smoke profile. */
async function load(cwd: string, scenario: string, users: number, extra: string[] = [], env: Record<string, string> = {}) {
  const r = await runCli(['run', '--phase', 'load', '--scenario', scenario, '--profile', 'smoke', '--users', String(users), '--reporter', 'console', ...extra], { cwd, env, timeoutMs: 180_000 });
  return { r, v: readVerdictFromOutput(cwd, r.stderr) as { status: string; gates: Gate[]; phases: any[] } };
}

describe('load gates on real k6 against the real sample-app', () => {
  test('healthy: perf run --users 15 passes every gate, exit 0, every gate with its sample count', async () => {
    const cwd = project();
    // The default profile, as a user runs it: a 99.9 % gate needs its 1000 samples.
    const r = await runCli(['run', '--users', '15', '--reporter', 'console'], { cwd, timeoutMs: 420_000 });
    assert.equal(r.code, 0, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    assert.equal(v.status, 'passed');
    const names = v.phases.map((p: { name: string }) => p.name);
    const order = ['health', 'smoke', 'flows', 'db-integrity', 'load', 'db-integrity-after-load'].map((n) => names.indexOf(n));
    assert.ok(order.every((i: number, k: number) => i >= 0 && (k === 0 || i > order[k - 1]!)), `phases in order: ${names.join(', ')}`);
    for (const p of v.phases) assert.equal(p.status, 'passed', p.name);
    assert.equal(v.gates.length, 11);
    for (const g of v.gates as Gate[]) {
      assert.equal(g.status, 'passed', `${g.metric} ${g.expression}`);
      assert.ok(g.samples > 0 && g.observed !== undefined, `${g.metric} ${g.expression} has samples and a value`);
      // Held in each scenario it names, each with its own figure and k6's for the same samples.
      for (const p of g.parts!) assert.ok(p.status === 'passed' && p.samples > 0, `${g.metric} ${g.expression} in ${p.scenario} ${p.group ?? ''}: ${p.status}, ${p.samples} samples`);
    }
    assert.deepEqual(gate(v as { gates: Gate[] }, P99, 'p(99)<1000').parts!.map((p) => [p.scenario, p.k6?.passed]), [['multi-user', true], ['throughput', true]]);
    // Each endpoint listed with its failure rate and sample count; one with too few for 1 % says so.
    const perEndpoint = gate(v as { gates: Gate[] }, 'http_req_failed', 'rate<0.01', 'name');
    const journey = perEndpoint.parts!.filter((p) => p.scenario === 'multi-user');
    for (const name of ['brand_kits_create', 'brand_kits_update', 'jobs_get', 'assets_get']) assert.ok(journey.some((p) => p.group === name && p.samples >= 100 && p.observed === 0), name);
    assert.ok(perEndpoint.parts!.some((p) => p.note && /needs at least 100/.test(p.note)), 'a one-request-per-user endpoint is marked insufficient');
    const reconcile = v.phases.find((p: { name: string }) => p.name === 'db-integrity-after-load').checks.find((c: { name: string }) => c.name === 'reconcile_job');
    assert.ok(reconcile.measurements.job_expected > 0, 'the load created jobs and they were all found');
    const k6 = v.phases.find((p: { name: string }) => p.name === 'load').k6.find((k: { scenario: string }) => k.scenario === 'multi-user');
    assert.ok(k6.resources.k6.cpuAvgPct > 0, 'k6 CPU is in the verdict');
    assert.ok(k6.resources.target.rssPeakMb > 0, 'the target (started by perf) memory is in the verdict');
    assert.match(r.stderr, /http_req_duration\{expected_response:true\} p\(99\)<1000 \(observed [\d.]+ ms, \d+ samples in (multi-user|throughput)\)/, 'the console prints the gate table');
    assert.match(r.stderr, /multi-user name=brand_kits_update: observed 0 ratio, \d+ samples/, 'and the per-endpoint parts');
  });

  test('tail latency fails the p99 gate', async () => {
    const { r, v } = await load(project("sampleApp: { faults: { tailLatencyMs: 1500, tailFraction: 0.1 } }"), 'throughput', 20);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, P99, 'p(99)<1000');
    assert.equal(g.status, 'failed');
    assert.ok(g.observed! >= 1000 && g.samples >= 100, `observed ${g.observed} over ${g.samples} samples`);
  });

  test('added latency on every API answer fails the overall p95 gate', async () => {
    const { r, v } = await load(project("sampleApp: { faults: { latencyMs: 400 } }"), 'throughput', 10);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, P95_STEADY, 'p(95)<300');
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
    assert.ok(gate(v, KITS_P95, 'p(95)<200').samples > 50);
  });

  test('a slow query fails that endpoint’s p95 gate (and only the endpoint gate needs to)', async () => {
    const { r, v } = await load(project("sampleApp: { faults: { slowQueryMs: 300 } }"), 'throughput', 10);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, KITS_P95, 'p(95)<200');
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
    const raw = readK6CsvSamples(gunzipSync(readFileSync(path.join(runDir, 'k6-throughput-samples.csv.gz'))).toString('utf8'));
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

  test('too few samples for a percentile or a rate: insufficient-data, which fails the gate (k6 passes both)', async () => {
    const cwd = project("gates: [{ metric: 'http_req_duration', stat: 'p(99.9)', limit: 5000 }, { metric: 'http_req_failed', stat: 'rate', limit: 0.001 }]");
    const { r, v } = await load(cwd, 'throughput', 2);
    assert.equal(r.code, 1, r.stderr);
    const g = gate(v, P99, 'p(99.9)<5000');
    assert.equal(g.status, 'insufficient-data');
    assert.ok(g.samples > 0 && g.samples < 1000);
    assert.match(r.stderr, /p\(99\.9\) needs at least 1000/);
    // No failure in ~50 requests says nothing about "under 0.1 %": that takes 1000.
    const rate = gate(v, 'http_req_failed', 'rate<0.001');
    assert.deepEqual([rate.status, rate.observed], ['insufficient-data', 0]);
    assert.ok(rate.samples > 10 && rate.samples < 1000, `${rate.samples} samples`);
    assert.match(rate.note!, /rate<0\.001 needs at least 1000 \(1\/0\.001\)/);
    assert.equal(rate.parts![0]!.k6?.passed, true, 'k6 passed its threshold on the same samples');
    assert.equal(v.phases[0].k6[0].exitCode, 0);
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

  test('one endpoint failing 3 % fails the per-endpoint gate (groupBy: name) while the whole API stays under 1 %', async () => {
    // Every 33rd brand-kit update fails (deterministic), one request of ~12 per journey.
    const cwd = project("sampleApp: { faults: { endpointErrorRoute: 'PATCH /brand-kits/:id', endpointErrorRate: 0.03 } }");
    const { r, v } = await load(cwd, 'multi-user', 15);
    assert.equal(r.code, 1, r.stderr);
    const overall = gate(v, 'http_req_failed', 'rate<0.01');
    assert.equal(overall.status, 'passed', 'the overall gate misses it');
    assert.ok(overall.observed! > 0 && overall.observed! < 0.01 && overall.samples >= 100, `overall ${overall.observed} over ${overall.samples}`);
    const perEndpoint = gate(v, 'http_req_failed', 'rate<0.01', 'name');
    assert.deepEqual([perEndpoint.status, perEndpoint.scenario, perEndpoint.group], ['failed', 'multi-user', 'brand_kits_update']);
    assert.ok(perEndpoint.observed! >= 0.02 && perEndpoint.samples >= 34, `update ${perEndpoint.observed} over ${perEndpoint.samples}`);
    const others = perEndpoint.parts!.filter((p) => p.group !== 'brand_kits_update');
    assert.ok(others.length >= 6 && others.every((p) => p.status === 'passed' && p.observed === 0), JSON.stringify(others));
    assert.match(v.phases[0].reason, /gate http_req_failed rate<0\.01 failed, observed 0\.0\d+ ratio \(worst of \d+: multi-user name=brand_kits_update\)/);
    assert.match(r.stderr, /✗ multi-user name=brand_kits_update: observed 0\.0\d+ ratio, \d+ samples/);
  });

  test("window: 'steady' counts only samples from the scenario's peak on, and k6's threshold counts the same ones", async () => {
    const cwd = project("gates: [{ metric: 'http_req_duration', stat: 'p(99)', limit: 1000 }, { metric: 'http_req_duration', stat: 'p(95)', limit: 300, window: 'steady' }]");
    const { r, v } = await load(cwd, 'multi-user', 5);
    assert.equal(r.code, 0, r.stderr);
    const steady = gate(v, P95_STEADY, 'p(95)<300').parts!.find((p) => p.scenario === 'multi-user')!;
    const all = gate(v, P99, 'p(99)<1000').parts!.find((p) => p.scenario === 'multi-user')!;
    assert.ok(steady.samples > 20 && steady.samples < all.samples, `steady ${steady.samples} of ${all.samples}`);
    // Oracle: the raw rows k6 wrote, tagged by the bundle in k6 as each iteration started.
    const runDir = runDirFromOutput(cwd, r.stderr);
    const rows = readK6CsvSamples(gunzipSync(readFileSync(path.join(runDir, 'k6-multi-user-samples.csv.gz'))).toString('utf8')).filter((x) => x.metric === 'http_req_duration' && x.tags.expected_response === 'true');
    const windowOf = (x: { tags: Record<string, string> }) => /(?:^|&)perf_window=([^&]*)/.exec(x.tags.extra_tags ?? '')?.[1];
    assert.equal(rows.filter((x) => windowOf(x) === 'steady').length, steady.samples);
    assert.ok(rows.some((x) => windowOf(x) === 'ramp-up'), 'the ramp-up is tagged too');
    assert.equal(rows.filter((x) => windowOf(x) === undefined).length, 0, 'every iteration sample carries its window');
    const c = (v.phases[0].k6[0].consistency as { metric: string; expression: string; samples: number; k6?: { passed: boolean }; disagreement?: string }[]).find((x) => x.metric === P95_STEADY);
    assert.ok(c?.k6?.passed === true && c.samples === steady.samples && !c.disagreement, JSON.stringify(c));
  });
});

/** A project of its own scenarios (name → TypeScript source) on the default config, `overrides` as source text. */
function scenarioProject(scenarios: Record<string, string>, overrides: string): string {
  const dir = configProject('', 'perf-load-own-');
  mkdirSync(path.join(dir, 'scenarios'));
  for (const [name, source] of Object.entries(scenarios)) writeFileSync(path.join(dir, 'scenarios', `${name}.ts`), source);
  writeFileSync(
    path.join(dir, 'perf.config.ts'),
    `import base from './base.config.ts';\nimport { defineConfig } from 'perf-harness';\nexport default defineConfig({ ...base, load: { ...base.load, scenariosDir: 'scenarios', scenarios: ${JSON.stringify(Object.keys(scenarios))} }, ${overrides} });\n`,
  );
  return dir;
}

// /health is exempt from sample-app's latency fault: a fast scenario of many requests next to a
// slow one of few, which merged would hide.
const FAST = `import http from 'k6/http';
import { sleep } from 'k6';
import type { Options } from 'k6/options';
export const options: Options = { scenarios: { health: { executor: 'constant-vus', vus: 2, duration: '3s' } } };
export default function (): void {
  http.get(\`\${__ENV.PERF_BASE_URL}/health\`, { tags: { name: 'health' } });
  sleep(0.005); // ~400 requests/s: far more than the slow scenario's, without saturating the host
}
`;
const SLOW = `import http from 'k6/http';
import type { Options } from 'k6/options';
export const options: Options = { scenarios: { kits: { executor: 'constant-vus', vus: 2, duration: '3s' } } };
const BASE = __ENV.PERF_BASE_URL;
export function setup(): { token: string } {
  const body = JSON.stringify({ email: \`slow-\${Date.now()}@perf.test\`, password: 'slow-password-1' });
  const res = http.post(\`\${BASE}/auth/signup\`, body, { headers: { 'Content-Type': 'application/json' }, tags: { name: 'signup' } });
  return { token: res.json('accessToken') as string };
}
export default function (d: { token: string }): void {
  http.get(\`\${BASE}/brand-kits\`, { headers: { Authorization: \`Bearer \${d.token}\` }, tags: { name: 'kits' } });
}
`;

describe('a gate holds where it is declared (real k6, real sample-app)', () => {
  test('a gate on two scenarios fails on the slow one that merging would hide, as k6 did; merge: true merges knowingly', async () => {
    const cwd = scenarioProject(
      { fast: FAST, slow: SLOW },
      "sampleApp: { faults: { latencyMs: 400 } }, gates: [{ metric: 'http_req_duration', stat: 'p(95)', limit: 300, scenarios: ['fast', 'slow'] }, { metric: 'http_req_duration', stat: 'p(95)', limit: 300, scenarios: ['fast', 'slow'], merge: true }]",
    );
    const r = await runCli(['run', '--phase', 'load', '--users', '2', '--reporter', 'console'], { cwd, timeoutMs: 180_000 });
    const v = readVerdictFromOutput(cwd, r.stderr) as { gates: (Gate & { merged?: boolean })[]; phases: any[] };
    assert.equal(r.code, 1, r.stderr);
    const [each, merged] = v.gates;
    assert.deepEqual([each!.status, each!.scenario], ['failed', 'slow']);
    assert.ok(each!.observed! >= 400, `slow p95 ${each!.observed}`);
    const [fast, slow] = each!.parts!;
    assert.ok(fast!.samples > 20 * slow!.samples, `fast ${fast!.samples} vs slow ${slow!.samples}: merged, the slow ones are under 5 %`);
    assert.ok(fast!.scenario === 'fast' && fast!.status === 'passed' && fast!.observed! < 300 && fast!.k6?.passed === true, JSON.stringify(fast));
    assert.ok(slow!.scenario === 'slow' && slow!.status === 'failed' && slow!.k6?.passed === false, JSON.stringify(slow));
    // k6 failed that threshold in the slow scenario (exit 99): perf agrees instead of ignoring it.
    assert.equal(v.phases[0].k6.find((k: { scenario: string }) => k.scenario === 'slow').exitCode, 99);
    assert.equal(each!.disagreement, undefined);
    assert.match(v.phases[0].reason, /gate http_req_duration\{expected_response:true\} p\(95\)<300 failed, observed \d+(\.\d+)? ms \(worst of 2: slow\)/);
    // Merged by choice: the many fast requests carry it.
    assert.equal(merged!.merged, true);
    assert.equal(merged!.status, 'passed');
    assert.deepEqual(merged!.parts!.map((p) => p.scenario), [undefined]);
    assert.equal(merged!.samples, fast!.samples + slow!.samples);
  });

  test('k6 and perf disagreeing on the same threshold fails the run and says why', async () => {
    // An honest disagreement: k6 judges every sample; the raw file perf reads loses the
    // successful http_req_failed rows after k6 wrote them (as a full disk or a cut file would
    // lose rows). k6 sees ~10 % failed and passes rate<0.5; perf sees only failures.
    const k6 = await wrapRealK6(
      tempDir('perf-lossy-k6-'),
      `f=""; for a in "$@"; do case "$a" in --out=csv=*) f="\${a#--out=csv=}";; esac; done
if [ "$1" = run ] && [ -n "$f" ]; then $K6 "$@"; rc=$?; case "$f" in *.gz) ;; *) sed -i '/^http_req_failed,[0-9]*,0\\.000000,/d' "$f";; esac; exit $rc; fi`,
    );
    const cwd = project("sampleApp: { faults: { errorRate: 0.1 } }, gates: [{ metric: 'http_req_failed', stat: 'rate', limit: 0.5, scenarios: ['throughput'] }]");
    const { r, v } = await load(cwd, 'throughput', 5, [], { K6_BIN: k6 });
    assert.equal(r.code, 1, r.stderr);
    const k6run = v.phases[0].k6[0];
    assert.equal(k6run.exitCode, 0, 'k6 itself passed the threshold');
    const c = k6run.consistency.find((x: { metric: string }) => x.metric === 'http_req_failed');
    assert.equal(c.k6.passed, true);
    assert.match(c.disagreement, /harness and k6 disagree on http_req_failed rate<0\.5: harness 1 over \d+ sample\(s\) \(fail\) vs k6 0\.\d+ \(pass\)/);
    assert.match(v.phases[0].reason, /throughput: harness and k6 disagree on http_req_failed rate<0\.5/);
    assert.match(gate(v, 'http_req_failed', 'rate<0.5').disagreement!, /^throughput: harness and k6 disagree/);
    assert.match(r.stderr, /harness and k6 disagree on http_req_failed rate<0\.5/);
  });
});
