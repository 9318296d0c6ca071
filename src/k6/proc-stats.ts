import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * CPU and memory of a process, sampled from /proc (Linux). Used to judge the load
 * generator (k6) and the target: a generator that pins the CPU measures itself, not the
 * target, and the run is then `invalid` rather than `passed`.
 */
export interface ResourceUsage {
  pid: number;
  samples: number;
  /** Percent of one core; 200 = two cores fully busy. */
  cpuAvgPct: number;
  cpuPeakPct: number;
  rssPeakMb: number;
  cores: number;
}

const TICKS = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** A process's resident memory (VmRSS) in kB; undefined when it is gone. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function rssMb(pid: number): number | undefined {
  const kb = rssKb(pid);
  return kb === undefined ? undefined : kb / 1024;
}

/**
 * Samples one process every `intervalMs`. Memory stays constant however long it runs (a soak
 * of days): readings are folded into running aggregates (count, sum, peak, latest), never kept.
 */
export class ProcSampler {
  private lastTicks: number | undefined;
  private lastAt = 0;
  private readings = 0;
  private cpuSum = 0;
  private cpuPeak = 0;
  private cpuLatest: number | undefined;
  private rssPeak = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly pid: number) {}

  start(intervalMs = 1000): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    return this;
  }

  sample(): void {
    const ticks = cpuTicks(this.pid);
    const now = performance.now();
    if (ticks !== undefined && this.lastTicks !== undefined && now > this.lastAt) {
      const cpu = ((ticks - this.lastTicks) / TICKS / ((now - this.lastAt) / 1000)) * 100;
      this.readings++;
      this.cpuSum += cpu;
      if (cpu > this.cpuPeak) this.cpuPeak = cpu;
      this.cpuLatest = cpu;
    }
    if (ticks !== undefined) {
      this.lastTicks = ticks;
      this.lastAt = now;
    }
    const rss = rssMb(this.pid);
    if (rss !== undefined && rss > this.rssPeak) this.rssPeak = rss;
  }

  /** The latest CPU reading, percent of one core. */
  current(): number | undefined {
    return this.cpuLatest;
  }

  stop(): ResourceUsage {
    if (this.timer) clearInterval(this.timer);
    const n = this.readings;
    return {
      pid: this.pid,
      samples: n,
      cpuAvgPct: n ? round(this.cpuSum / n) : 0,
      cpuPeakPct: n ? round(this.cpuPeak) : 0,
      rssPeakMb: round(this.rssPeak),
      cores: os.availableParallelism(),
    };
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
