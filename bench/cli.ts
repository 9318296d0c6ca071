/**
 * Foundation benchmarks (issue 2). Prints figures; asserts nothing (machines are noisy).
 *   - `perf bundle` of all scenarios, cold (empty build folder) and cached (target < 150 ms)
 *   - `perf --help` start-up time against `node -e 0` as the floor, as a ratio
 * Each figure is the median of N runs measured side by side in this one process.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { listScenarios } from '../bundler/bundle.ts';
import { FIXTURE_SCENARIOS, PERF_BIN, REPO, tempDir } from '../test/helpers.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);

function timeMs(cmd: string, args: string[], cwd: string): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

// Start-up: interleave the two commands so drift on a noisy machine hits both alike.
const floor: number[] = [];
const help: number[] = [];
for (let i = 0; i < RUNS; i++) {
  floor.push(timeMs(process.execPath, ['-e', '0'], REPO));
  help.push(timeMs(process.execPath, [PERF_BIN, '--help'], REPO));
}
console.log(`start-up   node -e 0: ${fmt(median(floor))}   perf --help: ${fmt(median(help))}   ratio ${(median(help) / median(floor)).toFixed(2)}x`);

// Bundle: the repo's scenarios when there are any, else the test fixtures (minus the one with a type error).
const project = tempDir('perf-bench-bundle-');
const useRepo = listScenarios(path.join(REPO, 'scenarios')).length > 0;
cpSync(useRepo ? path.join(REPO, 'scenarios') : FIXTURE_SCENARIOS, path.join(project, 'scenarios'), { recursive: true });
if (!useRepo) rmSync(path.join(project, 'scenarios', 'type-error.ts'));
cpSync(path.join(REPO, 'node_modules/fast-deep-equal'), path.join(project, 'node_modules/fast-deep-equal'), { recursive: true });
const cold: number[] = [];
const cached: number[] = [];
for (let i = 0; i < Math.max(3, Math.floor(RUNS / 3)); i++) {
  rmSync(path.join(project, '.perf'), { recursive: true, force: true });
  cold.push(timeMs(process.execPath, [PERF_BIN, 'bundle'], project));
  cached.push(timeMs(process.execPath, [PERF_BIN, 'bundle'], project));
}
console.log(
  `bundle     ${useRepo ? 'repo' : 'fixture'} scenarios (${listScenarios(path.join(project, 'scenarios')).length}): cold ${fmt(median(cold))}   cached ${fmt(median(cached))} (target < 150 ms: ${median(cached) < 150 ? 'met' : 'NOT met'})`,
);
rmSync(project, { recursive: true, force: true });
