import { readdirSync, readFileSync } from 'node:fs';
import type { MemoryTrendResult } from './soak-types.ts';

/**
 * The resident memory of a process perf started (the target), read from /proc every interval:
 * the private memory (USS) of the process and all its descendants summed (a `target.start`
 * command runs under `sh -c`, the server is its child; a service may run its own database). Memory stays bounded however long it runs: the slope is a running
 * least-squares fit (sums only) and the plot's series keeps at most MAX_POINTS points, merging
 * neighbours pairwise when full (each point the mean of its bucket).
 */
const MAX_POINTS = 240;

function statOf(pid: number): { ppid: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { ppid: Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]) };
  } catch {
    return undefined;
  }
}

/**
 * A process's private resident memory (USS: Private_Clean + Private_Dirty of smaps_rollup), else
 * its RSS. Private, because summed RSS counts shared pages once per process: a database's
 * backends each touching more of its shared buffers look like a leak in RSS and are none.
 */
function privateKb(pid: number): number | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const clean = /Private_Clean:\s+(\d+) kB/.exec(t);
    const dirty = /Private_Dirty:\s+(\d+) kB/.exec(t);
    if (clean && dirty) return Number(clean[1]) + Number(dirty[1]);
  } catch {
    // No smaps_rollup (an old kernel, another user's process): RSS below.
  }
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Private memory of `root` and its descendants, in MB; undefined when `root` is gone. */
export function treeRssMb(root: number): number | undefined {
  const own = privateKb(root);
  if (own === undefined) return undefined;
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (d.charCodeAt(0) > 57) continue;
    const pid = Number(d);
    if (!Number.isInteger(pid) || pid === root) continue;
    const s = statOf(pid);
    if (s) parent.set(pid, s.ppid);
  }
  let kb = own;
  for (const pid of parent.keys()) {
    let p = parent.get(pid);
    for (let hops = 0; p && p !== root && hops < 64; hops++) p = parent.get(p);
    if (p === root) kb += privateKb(pid) ?? 0;
  }
  return kb / 1024;
}

export class RssTrend {
  private timer: NodeJS.Timeout | undefined;
  private n = 0;
  private st = 0;
  private sv = 0;
  private stt = 0;
  private stv = 0;
  private t0: number | undefined;
  private tLast = 0;
  private first: number | undefined;
  private last: number | undefined;
  private peak = 0;
  private all = 0;
  /** [unix seconds, MB, readings merged into it]. */
  private points: [number, number, number][] = [];
  private bucket = 1;

  /**
   * @param fromUnixSeconds readings before this are plotted but left out of the slope (the
   *   ramp-up: the service warming up is not a leak). A function: known once the load starts.
   */
  constructor(
    readonly service: string,
    readonly pid: number,
    private readonly fromUnixSeconds: () => number | undefined,
    private readonly read: (pid: number) => number | undefined = treeRssMb,
  ) {}

  start(intervalMs: number): this {
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
    this.sample();
    return this;
  }

  sample(nowMs = Date.now()): void {
    const mb = this.read(this.pid);
    if (mb === undefined) return;
    const t = nowMs / 1000;
    this.all++;
    if (mb > this.peak) this.peak = mb;
    this.plot(t, mb);
    const from = this.fromUnixSeconds();
    if (from === undefined || t < from) return;
    // Times relative to the first slope reading keep the sums' magnitudes small (no cancellation).
    this.t0 ??= t;
    const x = t - this.t0;
    this.n++;
    this.st += x;
    this.sv += mb;
    this.stt += x * x;
    this.stv += x * mb;
    this.first ??= mb;
    this.last = mb;
    this.tLast = x;
  }

  private plot(t: number, mb: number): void {
    const tail = this.points.at(-1);
    if (tail && tail[2] < this.bucket) {
      tail[0] = (tail[0] * tail[2] + t) / (tail[2] + 1);
      tail[1] = (tail[1] * tail[2] + mb) / (tail[2] + 1);
      tail[2]++;
      return;
    }
    this.points.push([t, mb, 1]);
    if (this.points.length < MAX_POINTS) return;
    const merged: [number, number, number][] = [];
    for (let i = 0; i < this.points.length; i += 2) {
      const a = this.points[i]!;
      const b = this.points[i + 1];
      if (!b) merged.push(a);
      else {
        const w = a[2] + b[2];
        merged.push([(a[0] * a[2] + b[0] * b[2]) / w, (a[1] * a[2] + b[1] * b[2]) / w, w]);
      }
    }
    this.points = merged;
    this.bucket *= 2;
  }

  /** Least-squares slope in MB per hour of the readings since `fromUnixSeconds`. */
  slopeMbPerHour(): number | undefined {
    if (this.n < 3) return undefined;
    const den = this.n * this.stt - this.st * this.st;
    if (den <= 0) return undefined;
    return ((this.n * this.stv - this.st * this.sv) / den) * 3600;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  result(maxGrowthMbPerHour: number): MemoryTrendResult {
    this.stop();
    const slope = this.slopeMbPerHour();
    const r1 = (x: number) => Math.round(x * 10) / 10;
    const base = {
      service: this.service,
      pid: this.pid,
      samples: this.n,
      spanSeconds: Math.round(this.tLast),
      ...(this.first !== undefined ? { firstMb: r1(this.first) } : {}),
      ...(this.last !== undefined ? { lastMb: r1(this.last) } : {}),
      ...(this.all ? { peakMb: r1(this.peak) } : {}),
      ...(slope !== undefined ? { slopeMbPerHour: r1(slope) } : {}),
      maxGrowthMbPerHour,
      series: this.points.map(([t, mb]) => [Math.round(t), r1(mb)] as [number, number]),
    };
    if (slope === undefined)
      return { ...base, status: 'insufficient-data', reason: `${this.service} (pid ${this.pid}): ${this.n} memory reading(s) after the ramp-up, the slope needs 3: run longer or read more often (soak.targetMemory.intervalSeconds)` };
    if (slope > maxGrowthMbPerHour)
      return {
        ...base,
        status: 'failed',
        reason: `target memory of ${this.service} grew ${r1(slope)} MB/h (limit ${maxGrowthMbPerHour} MB/h): ${r1(this.first!)} MB → ${r1(this.last!)} MB over ${Math.round(this.tLast)} s of load`,
      };
    return { ...base, status: 'passed' };
  }
}
