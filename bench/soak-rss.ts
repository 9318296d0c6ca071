/**
 * Does the harness stay flat over hours (issue 15)? perf's and k6's resident memory over one
 * soak at a modest rate, read from /proc every BENCH_SAMPLE_S seconds, from outside perf (the
 * bench does not trust perf's own figures about itself).
 *
 *   node --import tsx bench/soak-rss.ts                 # 1 hour, --users 5, multi-user
 *   BENCH_DURATION=10m node --import tsx bench/soak-rss.ts
 *
 * Runs `perf run --scenario multi-user --profile soak --duration BENCH_DURATION --users
 * BENCH_USERS` against the embedded sample-app (load phase only). Processes: perf (the node
 * process of bin/perf.js), k6 (its child while the load runs) and sample-app (the target, also a
 * child; reported for information). Per process: RSS after the ramp-up, the least-squares slope
 * over the hold (MB per hour), the last reading of the hold, and the peak; perf's peak after k6
 * exits is the analysis of the hour's samples (streamed CSV ingest).
 *
 * Not a test: an hour of real load. Results: bench/results/soak-rss.txt (summary) and
 * bench/results/soak-rss.json (every reading).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PERF_BIN, REPO, runDirFromOutput } from '../test/helpers.ts';
import { benchProject } from './bench-helpers.ts';

const DURATION = process.env.BENCH_DURATION ?? '1h';
const USERS = process.env.BENCH_USERS ?? '5';
const SCENARIO = process.env.BENCH_SCENARIO ?? 'multi-user';
const SAMPLE_S = Number(process.env.BENCH_SAMPLE_S ?? 15);
const OUT = path.join(REPO, 'bench', 'results');

interface Reading {
  /** Seconds since perf started. */
  t: number;
  perfMb?: number;
  k6Mb?: number;
  targetMb?: number;
}

function statOf(pid: number): { ppid: number; comm: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
    const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
    return { ppid, comm };
  } catch {
    return undefined;
  }
}

function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) / 1024) * 10) / 10 : undefined;
  } catch {
    return undefined;
  }
}

/** Every descendant of `root`, with its command name. */
function descendants(root: number): { pid: number; comm: string; cmdline: string }[] {
  const parent = new Map<number, number>();
  const comm = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = statOf(Number(d));
    if (s) {
      parent.set(Number(d), s.ppid);
      comm.set(Number(d), s.comm);
    }
  }
  const out: { pid: number; comm: string; cmdline: string }[] = [];
  for (const [pid] of parent) {
    let p = parent.get(pid);
    while (p && p !== root && p !== 1) p = parent.get(p);
    if (p === root) {
      let cmdline = '';
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {}
      out.push({ pid, comm: comm.get(pid) ?? '', cmdline });
    }
  }
  return out;
}

function slopeMbPerHour(points: { t: number; v: number }[]): number | undefined {
  if (points.length < 3) return undefined;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mv = points.reduce((s, p) => s + p.v, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.v - mv);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? undefined : (num / den) * 3600;
}

const cwd = benchProject();
const started = Date.now();
const args = [PERF_BIN, 'run', '--scenario', SCENARIO, '--profile', 'soak', '--duration', DURATION, '--users', USERS, '--reporter', 'console'];
console.log(`soak-rss: ${args.slice(1).join(' ')} in ${cwd}, reading RSS every ${SAMPLE_S} s`);
const child = spawn(process.execPath, args, { cwd, env: { ...process.env, NO_COLOR: '1', CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
child.stdout.on('data', (b: Buffer) => (output += b.toString()));
child.stderr.on('data', (b: Buffer) => (output += b.toString()));
const readings: Reading[] = [];
let k6Seen = false;
let k6ExitT: number | undefined;
const sample = () => {
  const t = Math.round((Date.now() - started) / 1000);
  const kids = descendants(child.pid!);
  const k6 = kids.find((k) => k.comm === 'k6');
  const target = kids.find((k) => k.comm !== 'k6' && /sample-app/.test(k.cmdline));
  if (k6) k6Seen = true;
  else if (k6Seen && k6ExitT === undefined) k6ExitT = t;
  const r: Reading = { t, ...(rssMb(child.pid!) !== undefined ? { perfMb: rssMb(child.pid!)! } : {}) };
  if (k6) r.k6Mb = rssMb(k6.pid);
  if (target) r.targetMb = rssMb(target.pid);
  readings.push(r);
  if (readings.length % Math.max(1, Math.round(300 / SAMPLE_S)) === 0) console.log(`  t=${t}s perf ${r.perfMb ?? '-'} MB, k6 ${r.k6Mb ?? '-'} MB, sample-app ${r.targetMb ?? '-'} MB`);
};
const timer = setInterval(sample, SAMPLE_S * 1000);
setTimeout(sample, 2000);
const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
clearInterval(timer);

// The hold: from the first reading 60 s after k6 appeared (ramp-up 30 s, warm-up) to k6's exit.
const k6Readings = readings.filter((r) => r.k6Mb !== undefined);
const loadStart = k6Readings[0]?.t ?? 0;
const loadEnd = k6ExitT ?? readings.at(-1)?.t ?? 0;
const hold = readings.filter((r) => r.t >= loadStart + 60 && r.t < loadEnd);
type Key = 'perfMb' | 'k6Mb' | 'targetMb';
const figures = (key: Key) => {
  const pts = hold.filter((r) => r[key] !== undefined).map((r) => ({ t: r.t, v: r[key]! }));
  const all = readings.filter((r) => r[key] !== undefined).map((r) => r[key]!);
  return {
    afterRampUpMb: pts[0]?.v,
    endOfHoldMb: pts.at(-1)?.v,
    slopeMbPerHour: (() => {
      const s = slopeMbPerHour(pts);
      return s === undefined ? undefined : Math.round(s * 10) / 10;
    })(),
    peakMb: all.length ? Math.max(...all) : undefined,
  };
};
let runDir: string | undefined;
let csvMb: number | undefined;
let status: string | undefined;
let requests: number | undefined;
try {
  runDir = runDirFromOutput(cwd, output);
  status = (JSON.parse(readFileSync(path.join(runDir, 'verdict.json'), 'utf8')) as { status: string }).status;
  for (const f of readdirSync(runDir)) if (/-samples\.csv/.test(f)) csvMb = Math.round(statSync(path.join(runDir, f)).size / 1e5) / 10;
  const summaryFile = readdirSync(runDir).find((f) => f.endsWith('-summary.json'));
  if (summaryFile) requests = (JSON.parse(readFileSync(path.join(runDir, summaryFile), 'utf8')) as { metrics: Record<string, { count?: number }> }).metrics.http_reqs?.count;
} catch {}
const after = readings.filter((r) => r.t >= loadEnd && r.perfMb !== undefined).map((r) => r.perfMb!);
const result = {
  date: new Date().toISOString(),
  command: `perf ${args.slice(2).join(' ')}`,
  exitCode: code,
  status,
  sampleSeconds: SAMPLE_S,
  loadSeconds: loadEnd - loadStart,
  perf: { ...figures('perfMb'), afterLoadPeakMb: after.length ? Math.max(...after) : undefined },
  k6: figures('k6Mb'),
  sampleApp: figures('targetMb'),
  ...(csvMb !== undefined ? { rawSamplesMb: csvMb } : {}),
  ...(requests !== undefined ? { requests, requestsPerSecond: Math.round((requests / Math.max(1, loadEnd - loadStart)) * 10) / 10 } : {}),
  readings,
};
mkdirSync(OUT, { recursive: true });
writeFileSync(path.join(OUT, 'soak-rss.json'), JSON.stringify(result, null, 1) + '\n');
const line = (name: string, f: ReturnType<typeof figures>) =>
  `${name.padEnd(11)} after ramp-up ${f.afterRampUpMb ?? '-'} MB, end of hold ${f.endOfHoldMb ?? '-'} MB, slope ${f.slopeMbPerHour ?? '-'} MB/h, peak ${f.peakMb ?? '-'} MB`;
const summary = [
  `soak-rss ${result.date}: ${result.command} → exit ${code}, ${status ?? 'no verdict'}; load ${result.loadSeconds} s${requests !== undefined ? `, ${requests} requests (${result.requestsPerSecond}/s)` : ''}, readings every ${SAMPLE_S} s`,
  line('perf', result.perf),
  `            perf after k6 exited (analysis of the raw samples${csvMb !== undefined ? `, ${csvMb} MB of gzipped CSV` : ''}): peak ${result.perf.afterLoadPeakMb ?? '-'} MB`,
  line('k6', result.k6),
  line('sample-app', result.sampleApp),
].join('\n');
writeFileSync(path.join(OUT, 'soak-rss.txt'), summary + '\n');
console.log(summary);
if (code !== 0) console.log(output.split('\n').slice(-30).join('\n'));
