/**
 * Baseline noise (issue 15): how often does a healthy run fail its relative gate against the
 * previous healthy run (false alarms), and what is the smallest slowdown the relative gate catches?
 *
 *   BENCH_RUNS=10 node --import tsx bench/baseline-noise.ts
 *
 * BENCH_RUNS healthy runs of one scenario at the default profile (`load`: 5 s ramp-up, 15 s hold,
 * --users 15), each with `--baseline <the previous healthy run>` (so BENCH_RUNS − 1 comparisons);
 * then one run per step of sample-app's `latencyMs` fault (BENCH_STEPS, ms, ascending), each against
 * the last healthy run. The gate: `http_req_duration` p(95), `maxIncrease: BENCH_MAX_INCREASE`
 * (default 15%), significance 0.01 (the default). Not a test: minutes of real load.
 *
 * Env: BENCH_RUNS (10), BENCH_STEPS ('2,5,10,20,40'), BENCH_SCENARIO ('multi-user'),
 * BENCH_USERS (15), BENCH_PROFILE ('load'), BENCH_MAX_INCREASE ('15%'). Results on stdout and in
 * bench/results/baseline-noise.txt.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readVerdictFromOutput, REPO, runCli } from '../test/helpers.ts';
import { benchProject } from './bench-helpers.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const STEPS = (process.env.BENCH_STEPS ?? '2,5,10,20,40').split(',').map(Number);
const SCENARIO = process.env.BENCH_SCENARIO ?? 'multi-user';
const USERS = process.env.BENCH_USERS ?? '15';
const PROFILE = process.env.BENCH_PROFILE ?? 'load';
const MAX_INCREASE = process.env.BENCH_MAX_INCREASE ?? '15%';

const gates = `gates: [{ metric: 'http_req_duration', stat: 'p(95)', maxIncrease: '${MAX_INCREASE}', scenarios: ['${SCENARIO}'] }]`;
const cwd = benchProject(gates);
const healthyConfig = readFileSync(path.join(cwd, 'perf.config.ts'), 'utf8');
const slowConfig = (ms: number) => healthyConfig.replace(/\}\);\n$/, `, sampleApp: { ...base.sampleApp, faults: { latencyMs: ${ms} } } });\n`);

interface Rel {
  status: string;
  decided?: { baseline?: number; current?: number; deltaPct?: number; pValue?: number; verdict: string; windows: { baseline: number; current: number } };
}
interface Outcome {
  runId: string;
  status: string;
  rel?: Rel;
}

async function run(baseline?: string): Promise<Outcome> {
  const r = await runCli(['run', '--phase', 'load', '--scenario', SCENARIO, '--profile', PROFILE, '--users', USERS, '--reporter', 'console', ...(baseline ? ['--baseline', baseline] : [])], { cwd, timeoutMs: 600_000 });
  const v = readVerdictFromOutput(cwd, r.stderr) as { runId: string; status: string; baseline?: { gates: Rel[] } };
  return { runId: v.runId, status: v.status, ...(v.baseline?.gates[0] ? { rel: v.baseline.gates[0] } : {}) };
}

const fmt = (o: Outcome) => {
  const d = o.rel?.decided;
  if (!d) return `${o.runId} ${o.status} (no comparison)`;
  return `${o.runId} ${o.status.padEnd(6)} p95 ${d.baseline?.toFixed(1)} → ${d.current?.toFixed(1)} ms  ${(d.deltaPct ?? 0) >= 0 ? '+' : ''}${d.deltaPct?.toFixed(1)}%  p=${d.pValue?.toPrecision(2)}  ${d.verdict} (${d.windows.baseline}/${d.windows.current} windows)`;
};

const lines: string[] = [];
const say = (l: string) => {
  lines.push(l);
  process.stdout.write(`${l}\n`);
};
say(`baseline noise: ${SCENARIO}, --profile ${PROFILE}, --users ${USERS}, maxIncrease ${MAX_INCREASE}, α 0.01, ${RUNS} healthy runs`);

let previous: Outcome | undefined;
let falseAlarms = 0;
let comparisons = 0;
for (let i = 0; i < RUNS; i++) {
  const o = await run(previous?.runId);
  if (previous) {
    comparisons++;
    if (o.rel?.status === 'failed') falseAlarms++;
  }
  say(`healthy ${i + 1}: ${fmt(o)}`);
  if (o.status === 'passed' || o.rel?.status === 'failed') previous = o;
}
say(`false alarms: ${falseAlarms} of ${comparisons} healthy comparisons`);

let caught: number | undefined;
for (const ms of STEPS) {
  writeFileSync(path.join(cwd, 'perf.config.ts'), slowConfig(ms));
  const o = await run(previous!.runId);
  say(`latencyMs ${ms}: ${fmt(o)}`);
  if (o.rel?.status === 'failed' && caught === undefined) caught = ms;
}
writeFileSync(path.join(cwd, 'perf.config.ts'), healthyConfig);
say(caught === undefined ? `no step caught (steps ${STEPS.join(', ')} ms)` : `smallest slowdown caught: latencyMs ${caught} (steps ${STEPS.join(', ')} ms)`);
writeFileSync(path.join(REPO, 'bench', 'results', 'baseline-noise.txt'), `${lines.join('\n')}\n`);
