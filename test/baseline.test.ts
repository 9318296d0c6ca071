import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { mannWhitneyGreater, midRanks } from '../analysis/rank-test.ts';
import { decodeHistogram } from '../analysis/histogram.ts';
import { configSchema } from '../src/config/config-schema.ts';
import { appendIndex, resolveBaseline, RUN_INDEX_SCHEMA, type RunIndexRecord } from '../src/baseline/run-index.ts';
import { configProject, readVerdictFromOutput, runCli, tempDir } from './helpers.ts';

// Run history, --baseline, relative gates and perf compare: the rank test on its own, then real
// k6 against the real sample-app (healthy, healthy, slowed down by the latencyMs fault).

describe('the rank test (one-sided Mann-Whitney U)', () => {
  const healthy = [10.2, 11.1, 9.8, 10.5, 10.9, 10.1, 11.4, 9.9];
  test('identical distributions: no regression', () => {
    const r = mannWhitneyGreater([...healthy], [...healthy]);
    assert.ok(r.pValue > 0.4, `p=${r.pValue}`);
    // Every value equal (a quiet service at the clock's resolution): nothing to declare.
    assert.equal(mannWhitneyGreater([5, 5, 5], [5, 5, 5]).pValue, 1);
  });
  test('shifted distributions: a regression, and the exact p-value of full separation', () => {
    const r = mannWhitneyGreater(healthy.map((x) => x * 1.3), healthy);
    assert.ok(r.pValue < 0.01, `p=${r.pValue}`);
    assert.equal(r.method, 'exact');
    // 3 vs 3, all current larger: 1 of C(6,3) = 20 orderings.
    assert.ok(Math.abs(mannWhitneyGreater([4, 5, 6], [1, 2, 3]).pValue - 1 / 20) < 1e-12);
    // The other way round is no regression at all.
    assert.equal(mannWhitneyGreater([1, 2, 3], [4, 5, 6]).pValue, 1);
  });
  test('small samples: too few windows cannot declare anything, and say how far they can go', () => {
    const one = mannWhitneyGreater([100], [1, 2, 3]);
    assert.equal(one.method, 'too-few');
    assert.equal(one.pValue, 1);
    // 3 vs 3 can never reach 0.01: its smallest p-value is 1/20.
    assert.ok(Math.abs(mannWhitneyGreater([9, 9, 9], [1, 1, 1]).minPValue - 1 / 20) < 1e-12);
  });
  test('ties share mid-ranks; large samples use the normal approximation', () => {
    assert.deepEqual(midRanks([3, 1, 3, 2]), [3.5, 1, 3.5, 2]);
    const a = Array.from({ length: 80 }, (_, i) => 10 + (i % 7));
    const b = Array.from({ length: 80 }, (_, i) => 12 + (i % 7));
    const r = mannWhitneyGreater(b, a);
    assert.equal(r.method, 'normal');
    assert.ok(r.pValue < 0.01, `p=${r.pValue}`);
    assert.ok(mannWhitneyGreater(a, a).pValue > 0.4);
  });
});

describe('relative gates in the config', () => {
  test('a gate has limit or maxIncrease, and every problem is reported', () => {
    const r = configSchema.safeParse({
      gates: [
        { metric: 'http_req_duration', stat: 'p(95)' },
        { metric: 'http_req_duration', stat: 'p(95)', limit: 300, maxIncrease: '15%' },
        { metric: 'http_req_duration', stat: 'p(95)', maxIncrease: '15' },
        { metric: 'http_req_duration', stat: 'p(95)', limit: 300, significance: 0.05 },
        { metric: 'http_req_duration', stat: 'p(95)', maxIncrease: '15%', groupBy: 'name' },
      ],
    });
    assert.equal(r.success, false);
    const paths = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(paths.some((p) => /^gates\.0\.limit: a gate needs `limit`/.test(p)), paths.join('\n'));
    assert.ok(paths.some((p) => /^gates\.1\.maxIncrease: .*not `limit` and `maxIncrease`/.test(p)), paths.join('\n'));
    assert.ok(paths.some((p) => /^gates\.2\.maxIncrease: must be a percentage/.test(p)), paths.join('\n'));
    assert.ok(paths.some((p) => /^gates\.3\.significance: /.test(p)), paths.join('\n'));
    assert.ok(paths.some((p) => /^gates\.4\.groupBy: /.test(p)), paths.join('\n'));
    assert.ok(configSchema.safeParse({ gates: [{ metric: 'http_req_duration', stat: 'p(95)', maxIncrease: '15%', significance: 0.05 }] }).success);
  });
});

describe('the run index', () => {
  const rec = (runId: string, status: string, users: number, extra: Partial<RunIndexRecord> = {}): RunIndexRecord => ({
    schema: RUN_INDEX_SCHEMA, runId, startedAt: '', finishedAt: runId, status, comparableHash: 'h1', profile: 'load', users, scenarios: ['a', 'b'], gates: [], windows: 'windows.json', ...extra,
  });
  const shape = { profile: 'load', users: 5, scenarios: ['b', 'a'], comparableHash: 'h1' };
  test('last-green: the newest passed run of the same shape; failed, other-shaped and cut-short lines are passed over', () => {
    const dir = tempDir('perf-index-');
    appendIndex(dir, rec('r1', 'passed', 5));
    appendIndex(dir, rec('r2', 'passed', 5));
    appendIndex(dir, rec('r3', 'failed', 5));
    appendIndex(dir, rec('r4', 'passed', 5, { comparableHash: 'h2' }));
    appendIndex(dir, rec('r5', 'passed', 7));
    writeFileSync(path.join(dir, '.perf/runs.jsonl'), '{"schema":"perf.run-index/v1","runId":"cut', { flag: 'a' });
    const found = resolveBaseline(dir, 'last-green', shape);
    assert.equal(found.status, 'found');
    assert.equal(found.record?.runId, 'r2');
    const none = resolveBaseline(dir, 'last-green', { ...shape, users: 9 });
    assert.equal(none.status, 'missing');
    assert.match(none.note, /no passed run with profile load, users 9, scenarios a, b in .*; the newest passed run, r5, differs: users 7 vs 9/);
    const config = resolveBaseline(dir, 'r4', shape);
    assert.equal(config.status, 'not-comparable');
    assert.match(config.note, /the configuration differs in more than its gates/);
    assert.throws(() => resolveBaseline(dir, 'r9', shape), /baseline run "r9" is not in .*runs\.jsonl \(5 run\(s\) recorded there\)/);
  });
});

const GATES = "gates: [{ metric: 'http_req_duration', stat: 'p(95)', maxIncrease: '15%', responses: 'all', scenarios: ['probe'], description: 'p95 not 15 % slower than the baseline' }, { metric: 'http_req_duration', stat: 'p(95)', limit: 5000, responses: 'all', scenarios: ['probe'] }]";
const KEY = 'http_req_duration';

/**
 * A plain k6 scenario on one API route of sample-app (answered 401 without a session, after the
 * API's latency fault: the gates count every response). Closed model: --users VUs, ~10
 * requests/s each, so each 1 s window has ~50 samples at --users 5.
 */
const PROBE = `import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 1, duration: '8s' };
export default function (): void {
  http.get(\`\${__ENV.PERF_BASE_URL}/brand-kits\`, { tags: { name: 'probe' } });
  sleep(0.1);
}
`;

interface Rel {
  metric: string;
  status: string;
  baselineRunId?: string;
  decided?: { scenario: string; baseline?: number; current?: number; deltaPct?: number; pValue?: number; verdict: string };
}

describe('perf run --baseline on real k6 against the real sample-app', () => {
  test('healthy, healthy, slowed down: last-green passes the second and fails the third; other users and unknown ids are reported', async () => {
    const cwd = configProject(GATES, 'perf-baseline-');
    mkdirSync(path.join(cwd, 'probes'));
    writeFileSync(path.join(cwd, 'probes', 'probe.ts'), PROBE);
    const slow = configProject(`${GATES}, sampleApp: { faults: { latencyMs: 60 } }`, 'perf-baseline-slow-');
    const healthyConfig = readFileSync(path.join(cwd, 'perf.config.ts'));
    const run = async (extra: string[] = [], env: Record<string, string> = {}) => {
      const r = await runCli(['run', '--phase', 'load', '--scenarios-dir', 'probes', '--scenario', 'probe', '--profile', 'smoke', '--duration', '8s', '--reporter', 'console,junit,github', ...extra], { cwd, env, timeoutMs: 180_000 });
      return { r, v: readVerdictFromOutput(cwd, r.stderr) as { runId: string; status: string; reasons: string[]; gates: { baseline?: { runId: string; deltaPct?: number } }[]; baseline?: { status: string; note: string; runId?: string; gates: Rel[] } } };
    };

    // 1. No run yet: last-green is missing, reported, and the run passes (it becomes the first baseline).
    const first = await run(['--users', '5', '--baseline', 'last-green']);
    assert.equal(first.r.code, 0, first.r.stderr);
    assert.equal(first.v.baseline?.status, 'missing');
    assert.match(first.r.stderr, /baseline: no passed run with profile smoke, users 5, scenarios probe in .*runs\.jsonl \(no run recorded yet\)/);
    assert.equal(first.v.baseline?.gates[0]?.status, 'not-run');
    const index = () => readFileSync(path.join(cwd, '.perf/runs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const rec = index()[0];
    assert.equal(rec.runId, first.v.runId);
    assert.equal(rec.status, 'passed');
    assert.equal(rec.users, 5);
    assert.equal(rec.profile, 'smoke');
    assert.deepEqual(rec.scenarios, ['probe']);
    assert.ok(rec.gates.some((g: { kind: string; observed?: number }) => g.kind === 'absolute' && g.observed! > 0));
    // The per-window HDR histograms the comparison reads, decodable.
    const windows = JSON.parse(readFileSync(path.join(cwd, '.perf/runs', rec.runId, rec.windows), 'utf8'));
    const series = windows.scenarios[0].series[KEY];
    assert.ok(series.windows.length >= 6, `${series.windows.length} windows`);
    assert.ok(decodeHistogram(series.windows[2].histogram).totalCount > 0);

    // 2. Healthy again: compared with the first, within noise, passes.
    const second = await run(['--users', '5', '--baseline', 'last-green']);
    assert.equal(second.r.code, 0, second.r.stderr);
    assert.equal(second.v.baseline?.status, 'compared');
    assert.equal(second.v.baseline?.runId, first.v.runId);
    const g2 = second.v.baseline!.gates[0]!;
    assert.equal(g2.status, 'passed', JSON.stringify(g2));
    assert.equal(g2.baselineRunId, first.v.runId);
    assert.ok(g2.decided && g2.decided.pValue !== undefined && g2.decided.deltaPct !== undefined);
    assert.equal(second.v.gates[0]?.baseline?.runId, first.v.runId, 'the absolute gate carries the delta too');
    assert.match(second.r.stderr, /Δ vs \d{8}-\d{6}-[0-9a-f]{4} in probe: .* → .* \([+-]\d/);

    // 3. The build got slower (every API answer 60 ms later): last-green is the second run; fails naming gate, run and delta.
    copyFileSync(path.join(slow, 'perf.config.ts'), path.join(cwd, 'perf.config.ts'));
    const summary = path.join(tempDir('perf-baseline-gh-'), 'summary.md');
    const third = await run(['--users', '5', '--baseline', 'last-green'], { GITHUB_STEP_SUMMARY: summary });
    writeFileSync(path.join(cwd, 'perf.config.ts'), healthyConfig);
    assert.equal(third.r.code, 1, third.r.stderr);
    assert.equal(third.v.status, 'failed');
    assert.equal(third.v.baseline?.runId, second.v.runId, 'last-green is the newest passed run');
    const g3 = third.v.baseline!.gates[0]!;
    assert.equal(g3.status, 'failed');
    assert.equal(g3.decided?.verdict, 'regressed');
    assert.ok(g3.decided!.deltaPct! > 15 && g3.decided!.pValue! < 0.01, JSON.stringify(g3.decided));
    const reason = third.v.reasons[0]!;
    assert.match(reason, new RegExp(`relative gate http_req_duration p\\(95\\) max \\+15% failed in probe: .* ms vs .* ms in baseline ${second.v.runId} \\(\\+\\d+\\.\\d%, rank test p=`));
    assert.match(third.r.stderr, new RegExp(`✗ ${KEY.replace(/[{}]/g, '\\$&')} p\\(95\\) max \\+15% vs baseline: vs ${second.v.runId} in probe: .*regressed`));
    // JUnit: the relative gate is a failing test case naming the baseline and the delta.
    const runDir = path.join(cwd, '.perf/runs', third.v.runId);
    const junit = readFileSync(path.join(runDir, 'junit.xml'), 'utf8');
    assert.match(junit, /<testcase name="gate http_req_duration p\(95\) max \+15% vs baseline"[^>]*>\s*<properties>[\s\S]*?<failure message="regression: [^"]*vs \d{8}-\d{6}-[0-9a-f]{4} in probe: [^"]*\+\d+\.\d%/);
    // GitHub step summary: the baseline section and the delta column.
    const md = readFileSync(summary, 'utf8');
    assert.match(md, /### Baseline/);
    assert.match(md, new RegExp(`\\| Gate \\| Expression \\| Observed \\| Samples \\| Status \\| vs ${second.v.runId} \\|`));
    assert.match(md, /\| http\\_req\\_duration p\(95\) max \+15% vs baseline \| probe \| [\d.]+ ms \| [\d.]+ ms \| \+\d+\.\d% \| [\d.e-]+ \| ❌ failed \|/);

    // report.html: the baseline named, the relative gate failed with its change, absolute gates with their delta column.
    const html = readFileSync(path.join(runDir, 'report.html'), 'utf8');
    assert.match(html, new RegExp(`<h3 id="baseline">Baseline: last-green → ${second.v.runId} \\(compared\\)</h3>`));
    assert.match(html, /<tr class="gate st-failed" data-gate="[^"]*p\(95\) max \+15% vs baseline" data-status="failed">[\s\S]*?<td class="num">\+\d+\.\d%<\/td>/);
    assert.match(html, /<th>vs baseline<\/th>/);

    // perf compare: the same verdict side by side, last-green accepted (the second run).
    const cmp = await runCli(['compare', 'last-green', third.v.runId], { cwd });
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.match(cmp.stdout, new RegExp(`gate +scenario +${second.v.runId} +${third.v.runId} +delta +p +verdict`));
    assert.match(cmp.stdout, /http_req_duration p\(95\) max \+15% +probe +[\d.]+ +[\d.]+ +\+\d+\.\d% +\S+ +regressed/);

    // 4. Another --users: the explicit baseline is not comparable, reported, and fails the run.
    const other = await run(['--users', '4', '--baseline', second.v.runId]);
    assert.equal(other.r.code, 1, other.r.stderr);
    assert.equal(other.v.baseline?.status, 'not-comparable');
    assert.match(other.v.reasons.join('\n'), new RegExp(`baseline ${second.v.runId} is not comparable with this run: users 5 vs 4`));
    assert.equal(other.v.baseline?.gates[0]?.status, 'not-run');

    // 5. An unknown run id: a usage error (exit 2) naming the file searched.
    const unknown = await runCli(['run', '--phase', 'load', '--scenarios-dir', 'probes', '--scenario', 'probe', '--profile', 'smoke', '--users', '5', '--baseline', '20990101-000000-dead', '--reporter', 'console'], { cwd, timeoutMs: 120_000 });
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /baseline run "20990101-000000-dead" is not in \.perf\/runs\.jsonl \(\d+ run\(s\) recorded there\)/);
    assert.ok(existsSync(path.join(cwd, '.perf/runs.jsonl')));
  });
});
