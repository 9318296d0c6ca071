/**
 * WebSocket scale (issues 5 and 11): the most concurrent agent users one run sustains on this
 * machine with the event checks on (target ≥ 1,000), and whether a healthy target ever gets a
 * false alarm there. Steps up the users (BENCH_WS_STEPS); each step runs BENCH_WS_REPEAT times
 * (default 1) against one sample-app. A step is sustained when every run passed: every run's
 * events arrived complete, in order, to their owner, and the p95 time to first event stayed
 * under the gate. Each run prints its verdict, the gate figures, how its failed agent runs
 * ended (the scenario's `ws_run_failed` lines in the k6 log), the CPU of k6 and of the target,
 * and the host's CPU (all processes: other work on the machine shows there).
 *
 *   BENCH_WS_STEPS=1000 BENCH_WS_REPEAT=10 node --import tsx bench/ws-scale.ts   # the false-alarm check
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ProcSampler } from '../src/k6/proc-stats.ts';
import { startTarget } from '../src/target/target.ts';
import { PERF_BIN } from '../test/helpers.ts';
import { benchProject } from './bench-helpers.ts';

const STEPS = (process.env.BENCH_WS_STEPS ?? '250,500,1000,1500').split(',').map(Number);
const REPEAT = Number(process.env.BENCH_WS_REPEAT ?? 1);

/** How the failed agent runs ended, from the scenario's console.warn lines: reason → count. */
function failedRuns(runDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  let text = '';
  try {
    text = readFileSync(path.join(runDir, 'k6-ws-events-log.jsonl'), 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /ws_run_failed\\?":\\?"([^"\\]*)/.exec(line);
    // One line per kind of ending: "handshake took 12.3 s" and "… 10.8 s" are one kind.
    const how = m?.[1]?.replace(/\d+\.\d+ s\b/g, '… s');
    if (how) out[how] = (out[how] ?? 0) + 1;
  }
  return out;
}

const target = await startTarget({});
const project = benchProject();
let best = 0;
const tally = { passed: 0, failed: 0, invalid: 0, other: 0 };
try {
  steps: for (const users of STEPS) {
    let sustained = true;
    for (let round = 1; round <= REPEAT; round++) {
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
        console.log(`  ${users} users: no verdict\n${r.stderr.slice(-2000)}`);
        break steps;
      }
      const dir = path.join(project, runDir);
      const v = JSON.parse(readFileSync(path.join(dir, 'verdict.json'), 'utf8'));
      const gate = (m: string) => v.gates.find((g: { metric: string }) => g.metric === m);
      const order = gate('ws_event_order');
      const session = gate('ws_session_established');
      const ttfe = gate('ws_time_to_first_event');
      const k6 = v.phases[0].k6?.[0]?.resources?.k6;
      // The whole machine while k6 ran (src/k6/host-cpu.ts): other work on it shows here.
      const hostBusyPct = v.phases[0].k6?.[0]?.resources?.host?.busyPct ?? '?';
      const ok = v.status === 'passed';
      if (v.status in tally) tally[v.status as keyof typeof tally]++;
      else tally.other++;
      const fails = Object.entries(failedRuns(dir)).map(([how, n]) => `${n}× ${how}`);
      console.log(
        `  ${String(users).padStart(5)} users${REPEAT > 1 ? ` #${round}` : ''}: ${ok ? 'sustained' : v.status.padEnd(9)}  runs ${order?.samples ?? 0}, sessions ${(session?.observed ?? 0).toFixed(4)}, in order ${(order?.observed ?? 0).toFixed(4)}, first event p95 ${ttfe?.observed?.toFixed(1) ?? '-'} ms, k6 CPU ${k6?.cpuAvgPct ?? '?'}%, target CPU ${targetCpu.cpuAvgPct}% (of one core; ${targetCpu.cores} cores), host ${hostBusyPct}% busy` +
          `${fails.length ? `; failed runs: ${fails.join(', ')}` : ''}${ok ? '' : `  — ${v.reasons?.[0] ?? ''}`}`,
      );
      if (!ok) sustained = false;
    }
    if (!sustained) break;
    best = users;
  }
  console.log(`ws scale: ${best} concurrent agent users sustained (target ≥ 1000: ${best >= 1000 ? 'met' : 'NOT met'})`);
  if (REPEAT > 1) console.log(`runs: ${tally.passed} passed, ${tally.failed} failed, ${tally.invalid} invalid${tally.other ? `, ${tally.other} other` : ''}`);
} finally {
  await target.stop();
}
