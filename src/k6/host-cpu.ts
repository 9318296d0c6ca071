import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * The whole host's CPU over an interval, from /proc/stat (Linux): the share of all cores that
 * was busy, whoever used it. k6, the target and anything else on the machine compete for the
 * same cores; when they are all taken, k6 waits for a CPU between reading a frame and stamping
 * it, and a latency or time-budget failure measures the machine, not the target. The load
 * phase then calls the run `invalid` (src/load/load-phase.ts). Off Linux it reads nothing.
 */
export interface HostCpuUsage {
  /** Percent of all cores busy over the interval (100 = every core busy all the time). */
  busyPct: number;
  cores: number;
  /** Seconds the interval lasted. */
  seconds: number;
}

interface Ticks {
  busy: number;
  total: number;
}

/** Busy and total jiffies summed over all cores (the `cpu` line); undefined without /proc. */
function hostTicks(): Ticks | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    if (!line.startsWith('cpu ')) return undefined;
    // user nice system idle iowait irq softirq steal (guest time is already inside user/nice).
    const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Marks the start of an interval; `stop()` gives the host's CPU over it. */
export class HostCpuInterval {
  private readonly from = hostTicks();
  private readonly at = performance.now();

  stop(): HostCpuUsage | undefined {
    const to = hostTicks();
    if (!this.from || !to || to.total <= this.from.total) return undefined;
    const busyPct = ((to.busy - this.from.busy) / (to.total - this.from.total)) * 100;
    return { busyPct: Math.round(busyPct * 10) / 10, cores: os.availableParallelism(), seconds: Math.round((performance.now() - this.at) / 100) / 10 };
  }
}
