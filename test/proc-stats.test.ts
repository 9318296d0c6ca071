import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { ProcSampler } from '../src/k6/proc-stats.ts';

// The resource sampler on real processes (/proc): its figures are right, and a reading per
// second for days (a soak) neither grows its memory nor loses the result.

/** utime + stime of a process, in seconds (/proc/<pid>/stat fields 14 and 15, USER_HZ 100). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** A real process that burns one core, or sleeps, for `ms`. */
function child(kind: 'busy' | 'idle', ms: number) {
  const code = kind === 'busy' ? `const end = Date.now() + ${ms}; while (Date.now() < end) {}` : `setTimeout(() => {}, ${ms})`;
  const p = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  return { pid: p.pid!, done: new Promise<void>((r) => p.on('close', () => r())) };
}

describe('ProcSampler (real processes)', () => {
  test('average and peak CPU agree with the CPU time the kernel charged; an idle process reads ~nothing', async () => {
    const busy = child('busy', 2500);
    const idle = child('idle', 2500);
    await sleep(300); // past node's start-up, which costs CPU in the idle one too
    const t0 = performance.now();
    const ticks0 = cpuSeconds(busy.pid);
    const b = new ProcSampler(busy.pid).start(200);
    const i = new ProcSampler(idle.pid).start(200);
    await sleep(1800);
    const rb = b.stop();
    const ri = i.stop();
    // The oracle: CPU seconds the kernel charged the busy child over the same span.
    const overallPct = ((cpuSeconds(busy.pid) - ticks0) / ((performance.now() - t0) / 1000)) * 100;
    await Promise.all([busy.done, idle.done]);
    assert.ok(rb.samples >= 5 && rb.samples <= 10, `${rb.samples} readings in 1.8 s at 200 ms`);
    // Other tests share these 2 cores, so the busy child gets anything from a part of a core to all of it.
    assert.ok(Math.abs(rb.cpuAvgPct - overallPct) < 15, `busy avg ${rb.cpuAvgPct}%, kernel's figure ${overallPct.toFixed(1)}%`);
    assert.ok(rb.cpuAvgPct > 20 && rb.cpuAvgPct > 4 * ri.cpuAvgPct, `busy avg ${rb.cpuAvgPct}%, idle avg ${ri.cpuAvgPct}%`);
    assert.ok(rb.cpuPeakPct >= rb.cpuAvgPct && rb.cpuPeakPct <= 130, `busy peak ${rb.cpuPeakPct}%, avg ${rb.cpuAvgPct}%`);
    assert.ok(ri.cpuAvgPct < 10 && ri.cpuPeakPct < 30, `idle avg ${ri.cpuAvgPct}%, peak ${ri.cpuPeakPct}%`);
    assert.ok(rb.rssPeakMb > 5 && rb.rssPeakMb < 500, `rss ${rb.rssPeakMb} MB`);
  });

  test('past 130,000 readings (36 hours at one a second) the result is still there', () => {
    // Every reading used to be kept and the peak was Math.max(...readings), which throws
    // "Maximum call stack size exceeded" past ~125,000 arguments: a long soak lost its result.
    const s = new ProcSampler(process.pid);
    const n = 140_000;
    for (let k = 0; k <= n; k++) s.sample();
    const r = s.stop();
    assert.equal(r.samples, n);
    assert.ok(Number.isFinite(r.cpuAvgPct) && Number.isFinite(r.cpuPeakPct) && r.cpuPeakPct >= r.cpuAvgPct);
    assert.ok(s.current() !== undefined);
  });
});
