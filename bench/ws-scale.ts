/**
 * WebSocket scale (issue 5): the most concurrent agent users one run sustains on this
 * machine with the event checks on (target ≥ 1,000). Steps up the users; a step is
 * sustained when every run's events arrived complete, in order, to their owner, and the
 * p95 time to first event stays under the gate. Reports the limiting factor: the CPU of
 * k6 and of the target (sampled), or the failing gate.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ProcSampler } from '../coordinator/proc-stats.ts';
import { startTarget } from '../coordinator/target.ts';
import { PERF_BIN } from '../test/helpers.ts';
import { benchProject } from './bench-helpers.ts';

const STEPS = (process.env.BENCH_WS_STEPS ?? '250,500,1000,1500').split(',').map(Number);
const target = await startTarget({});
const project = benchProject();
let best = 0;
try {
  for (const users of STEPS) {
    const sampler = new ProcSampler(target.pid).start(500);
    // Async, so the target's CPU sampler keeps ticking while the run goes on.
    const r = await promisify(execFile)(process.execPath, [PERF_BIN, 'run', '--phase', 'load', '--scenario', 'ws-events', '--target', target.baseUrl, '--users', String(users), '--profile', 'smoke', '--duration', '10s', '--reporter', 'console'], {
      cwd: project,
      env: { ...process.env, NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 300_000,
      maxBuffer: 64 << 20,
    }).catch((e: { stderr?: string; code?: number }) => ({ stderr: e.stderr ?? '', code: e.code }));
    const targetCpu = sampler.stop();
    const runDir = /(\S*\.perf\/runs\/[^/\s]+)\/verdict\.json/.exec(r.stderr)?.[1];
    if (!runDir) {
      console.log(`  ${users} users: no verdict`);
      break;
    }
    const v = JSON.parse(readFileSync(path.join(project, runDir, 'verdict.json'), 'utf8'));
    const gate = (m: string) => v.gates.find((g: { metric: string }) => g.metric === m);
    const order = gate('ws_event_order');
    const ttfe = gate('ws_time_to_first_event');
    const k6 = v.phases[0].k6?.[0]?.resources?.k6;
    const ok = v.status === 'passed';
    console.log(
      `  ${String(users).padStart(5)} users: ${ok ? 'sustained' : v.status.padEnd(9)}  runs ${order?.samples ?? 0}, in order ${(order?.observed ?? 0).toFixed(4)}, first event p95 ${ttfe?.observed?.toFixed(1) ?? '-'} ms, k6 CPU ${k6?.cpuAvgPct ?? '?'}%, target CPU ${targetCpu.cpuAvgPct}% (of one core; ${targetCpu.cores} cores)${ok ? '' : `  — ${v.reasons[0] ?? ''}`}`,
    );
    if (!ok) break;
    best = users;
  }
  console.log(`ws scale: ${best} concurrent agent users sustained (target ≥ 1000: ${best >= 1000 ? 'met' : 'NOT met'})`);
} finally {
  await target.stop();
}
