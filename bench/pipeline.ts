/**
 * The whole pre-load pipeline (health, smoke, flows incl. WebSocket, db-integrity) against
 * the bundled sample-app, started by perf (issue 4 target: under 15 s). Median of N runs,
 * with the per-phase split and sample-app's own start-up.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PERF_BIN } from '../test/helpers.ts';
import { benchProject, median } from './bench-helpers.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const project = benchProject();
const totals: number[] = [];
for (let i = 0; i < RUNS; i++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [PERF_BIN, 'run', '--phase', 'health,smoke,flows,db-integrity', '--reporter', 'console'], { cwd: project, env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8' });
  const wall = performance.now() - t0;
  const runDir = /(\S*\.perf\/runs\/[^/\s]+)\/verdict\.json/.exec(r.stderr)?.[1];
  if (r.status !== 0 || !runDir) throw new Error(`run failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  const v = JSON.parse(readFileSync(path.join(project, runDir, 'verdict.json'), 'utf8'));
  totals.push(wall);
  console.log(`  run ${i + 1}: ${(wall / 1000).toFixed(2)} s wall (perf start to exit), phases: ${v.phases.map((p: { name: string; durationMs: number }) => `${p.name} ${(p.durationMs / 1000).toFixed(2)} s`).join(', ')}`);
}
console.log(`pre-load pipeline: median ${(median(totals) / 1000).toFixed(2)} s including sample-app start and stop (target < 15 s: ${median(totals) < 15_000 ? 'met' : 'NOT met'})`);
