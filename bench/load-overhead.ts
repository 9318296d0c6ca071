/**
 * Harness overhead (issue 5): the throughput scenario under `perf run` against the same
 * bundled script under a bare `k6 run` (no outputs, no thresholds), both against one
 * sample-app, asked for more than the machine can serve so the achieved request rate is
 * what the generator side can sustain. Runs alternate, and which goes first alternates
 * too (bare-perf, perf-bare, ...), so drift hits both. Two figures: the ratio of the medians,
 * and the median of each round's perf/bare ratio (a pair run back to back shares the
 * machine's state of the moment). The target (≥ 0.95) counts as met only when both reach it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleScenarios } from '../bundler/bundle.ts';
import { requireK6 } from '../src/k6/k6.ts';
import { startTarget } from '../src/target/target.ts';
import { PERF_BIN, REPO, tempDir } from '../test/helpers.ts';
import { benchProject, median, perfAuthForK6 } from './bench-helpers.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DURATION = process.env.BENCH_DURATION ?? '10s';
const env = { PERF_RATE: process.env.BENCH_RATE ?? '1500', PERF_MAX_VUS: '60', PERF_PROFILE: 'smoke', PERF_DURATION: DURATION, PERF_USERS: '10' };
// Only the bare side: `perf run` passes its own PERF_AUTH from the bench project's config.
const bareEnv = { ...env, ...(await perfAuthForK6()) };

/** The achieved request rate from a k6 `--summary-export` file. */
const requestRate = (summaryFile: string): number =>
  (JSON.parse(readFileSync(summaryFile, 'utf8')) as { metrics: { http_reqs: { rate: number } } }).metrics.http_reqs.rate;

const target = await startTarget({});
try {
  const k6 = await requireK6();
  const [bundle] = await bundleScenarios({ scenariosDir: path.join(REPO, 'scenarios'), outDir: path.join(tempDir(), 'build'), names: ['throughput'] });
  const project = benchProject('gates: []');
  const bare: number[] = [];
  const perf: number[] = [];
  const runBare = (): number => {
    const summary = path.join(tempDir(), 'summary.json');
    execFileSync(k6.path, ['run', '--no-usage-report', '-q', `--summary-export=${summary}`, bundle!.script], {
      env: { ...process.env, ...bareEnv, PERF_BASE_URL: target.baseUrl, K6_AUTO_EXTENSION_RESOLUTION: 'false' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return requestRate(summary);
  };
  const runPerf = (): number => {
    const r = spawnSync(process.execPath, [PERF_BIN, 'run', '--phase', 'load', '--scenario', 'throughput', '--target', target.baseUrl, '--profile', 'smoke', '--duration', DURATION, '--users', '10', '--reporter', process.env.BENCH_REPORTER ?? 'console'], {
      cwd: project,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      encoding: 'utf8',
    });
    const runs = path.join(project, '.perf', 'runs');
    const runDir = readdirSync(runs).sort().map((d) => path.join(runs, d)).pop();
    if (!runDir || r.status === null || r.status > 1) throw new Error(`perf run failed (exit ${r.status}):\n${r.stderr}`);
    return requestRate(path.join(runDir, 'k6-throughput-summary.json'));
  };
  // One unmeasured run first: a cold target is slower, which favoured whichever side ran
  // second in round 1 (perf, in three runs of this bench out of three).
  runBare();
  for (let i = 0; i < ROUNDS; i++) {
    // The order alternates (bare first, then perf first): a target that slows down or warms
    // up over a round would otherwise always favour the same side.
    if (i % 2 === 0) {
      bare.push(runBare());
      perf.push(runPerf());
    } else {
      perf.push(runPerf());
      bare.push(runBare());
    }
    console.log(`  round ${i + 1} (${i % 2 === 0 ? 'bare first' : 'perf first'}): bare k6 ${bare[i]!.toFixed(0)} req/s, perf run ${perf[i]!.toFixed(0)} req/s`);
  }
  const ofMedians = median(perf) / median(bare);
  const paired = perf.map((p, i) => p / bare[i]!).sort((a, b) => a - b);
  const pairedMedian = median(paired);
  const met = ofMedians >= 0.95 && pairedMedian >= 0.95;
  console.log(`harness overhead: perf run ${median(perf).toFixed(0)} req/s vs bare k6 ${median(bare).toFixed(0)} req/s`);
  console.log(`  ratio of medians ${ofMedians.toFixed(3)}; median of round ratios ${pairedMedian.toFixed(3)} (rounds ${paired[0]!.toFixed(3)}–${paired[paired.length - 1]!.toFixed(3)})`);
  console.log(`  target ≥ 0.95 on both: ${met ? 'met' : 'NOT met'}`);
} finally {
  await target.stop();
}
