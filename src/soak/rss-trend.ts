import { readdirSync, readFileSync } from 'node:fs';
import { rssKb } from '../k6/proc-stats.ts';
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
  return rssKb(pid);
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
  /** Readings after the ramp-up, and all of them (used when the load was too short for the first). */
  private readonly steady = new LineFit();
  private readonly whole = new LineFit();
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
    this.whole.add(t, mb);
    const from = this.fromUnixSeconds();
    if (from !== undefined && t >= from) this.steady.add(t, mb);
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
    return this.steady.slopePerHour();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  result(maxGrowthMbPerHour: number): MemoryTrendResult {
    this.stop();
    // A load shorter than its ramp-up (a constant-rate scenario, a short hold): every reading,
    // warm-up included, which overstates growth rather than hiding it.
    const includesRampUp = this.steady.n < 3 && this.whole.n >= 3;
    const fit = includesRampUp ? this.whole : this.steady;
    const slope = fit.slopePerHour();
    const r1 = (x: number) => Math.round(x * 10) / 10;
    const base = {
      service: this.service,
      pid: this.pid,
      samples: fit.n,
      spanSeconds: Math.round(fit.lastX),
      ...(includesRampUp ? { includesRampUp: true as const } : {}),
      ...(fit.first !== undefined ? { firstMb: r1(fit.first) } : {}),
      ...(fit.last !== undefined ? { lastMb: r1(fit.last) } : {}),
      ...(this.all ? { peakMb: r1(this.peak) } : {}),
      ...(slope !== undefined ? { slopeMbPerHour: r1(slope) } : {}),
      maxGrowthMbPerHour,
      series: this.points.map(([t, mb]) => [Math.round(t), r1(mb)] as [number, number]),
    };
    if (slope === undefined)
      return { ...base, status: 'insufficient-data', reason: `${this.service} (pid ${this.pid}): ${this.whole.n} memory reading(s) during the load, the slope needs 3: run longer or read more often (soak.targetMemory.intervalSeconds)` };
    if (slope > maxGrowthMbPerHour)
      return {
        ...base,
        status: 'failed',
        reason: `target memory of ${this.service} grew ${r1(slope)} MB/h (limit ${maxGrowthMbPerHour} MB/h): ${r1(fit.first!)} MB → ${r1(fit.last!)} MB over ${Math.round(fit.lastX)} s of load${includesRampUp ? ', ramp-up included (the load was shorter than it)' : ''}`,
      };
    return { ...base, status: 'passed' };
  }
}

/** A running least-squares line through (time, MB) readings: sums only, whatever their number. */
class LineFit {
  n = 0;
  private st = 0;
  private sv = 0;
  private stt = 0;
  private stv = 0;
  private t0: number | undefined;
  /** Seconds from the first reading to the last. */
  lastX = 0;
  first: number | undefined;
  last: number | undefined;

  add(t: number, mb: number): void {
    // Times relative to the first reading keep the sums' magnitudes small (no cancellation).
    this.t0 ??= t;
    const x = t - this.t0;
    this.n++;
    this.st += x;
    this.sv += mb;
    this.stt += x * x;
    this.stv += x * mb;
    this.first ??= mb;
    this.last = mb;
    this.lastX = x;
  }

  slopePerHour(): number | undefined {
    if (this.n < 3) return undefined;
    const den = this.n * this.stt - this.st * this.st;
    if (den <= 0) return undefined;
    return ((this.n * this.stv - this.st * this.sv) / den) * 3600;
  }
}
