/**
 * Where k6's CPU goes at saturation with the raw output perf reads (k6's CSV), issue 14 point 3:
 * the throughput scenario under a stock k6 with perf's arguments and `--out=csv` (plain, as for
 * a short run), asked for more than the machine serves; a CPU profile taken mid-run from k6's
 * own pprof endpoint (`--profiling-enabled` on its REST API address), summarised with
 * `go tool pprof -top` and grouped by what the time was spent on. Writes the summary (not the
 * raw profile) to bench/results/k6-cpu-profile.txt.
 *
 *   node --import tsx bench/k6-cpu-profile.ts        (BENCH_RATE, BENCH_PROFILE_SECONDS)
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { K6_SYSTEM_TAGS } from '../analysis/k6-csv.ts';
import { bundleScenarios } from '../bundler/bundle.ts';
import { requireK6 } from '../src/k6/k6.ts';
import { startTarget } from '../src/target/target.ts';
import { REPO, tempDir } from '../test/helpers.ts';
import { perfAuthForK6 } from './bench-helpers.ts';

const RATE = process.env.BENCH_RATE ?? '5000';
const SECONDS = Number(process.env.BENCH_PROFILE_SECONDS ?? 10);
// Long enough that the profile window sits inside the steady state (setup and VU start before it).
const DURATION = `${SECONDS + 12}s`;

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/**
 * What a stack's time was spent on: the first group, in this order, any of its frames belongs
 * to. GC's own goroutines and assists first; the CSV output and sample handling before the HTTP
 * client and the JS runtime that call into them (a sample pushed from an HTTP request is sample
 * handling; a CSV write syscall is the CSV output); the scheduler last (stacks of runtime only).
 */
const GROUPS: Array<[string, RegExp]> = [
  ['GC', /^runtime\.(gcBgMarkWorker|gcAssistAlloc|bgsweep|bgscavenge|sweepone)\b/],
  ['CSV output (formatting, writing)', /internal\/output\/csv|^encoding\/csv|^compress\//],
  ['metrics/sample handling', /k6\/v2\/metrics|\/metrics\/engine|output\.\(\*SampleBuffer\)|output\.\(\*PeriodicFlusher\)|mstoykov\/atlas|\/lib\/executor.*[Ss]ample/],
  ['HTTP client', /^net\/http|^net\.|^crypto\/|^internal\/poll|netext|httpext|k6\/http|^vendor\/golang\.org\/x\/net|^bufio\./],
  ['JS runtime (sobek)', /grafana\/sobek|k6\/v2\/js\b|k6\/v2\/js\/|^github\.com\/dop251|\/js\/modules/],
  ['scheduler (runtime: goroutines, timers, netpoll)', /^runtime\./],
];

function groupTraces(traces: string): { total: number; groups: Map<string, number> } {
  const toMs = (v: string) => {
    const m = /^([\d.]+)(ns|us|µs|ms|s|min)$/.exec(v);
    if (!m) return 0;
    const n = Number(m[1]);
    return m[2] === 's' ? n * 1000 : m[2] === 'min' ? n * 60_000 : m[2] === 'ms' ? n : m[2] === 'ns' ? n / 1e6 : n / 1000;
  };
  const groups = new Map<string, number>();
  let total = 0;
  for (const block of traces.split(/^-+\+-+$/m).slice(1)) {
    const lines = block.split('\n').filter((l) => l.trim());
    const head = /^\s*(\S+)\s+(\S.*)$/.exec(lines[0] ?? '');
    if (!head) continue;
    const ms = toMs(head[1]!);
    const frames = [head[2]!.trim(), ...lines.slice(1).map((l) => l.trim())];
    const group = GROUPS.find(([, re]) => frames.some((f) => re.test(f)))?.[0] ?? 'other';
    groups.set(group, (groups.get(group) ?? 0) + ms);
    total += ms;
  }
  return { total, groups };
}

const target = await startTarget({});
try {
  const k6 = await requireK6();
  const dir = tempDir('perf-k6-profile-');
  const [bundle] = await bundleScenarios({ scenariosDir: path.join(REPO, 'scenarios'), outDir: path.join(dir, 'build'), names: ['throughput'] });
  const port = await freePort();
  const args = ['run', '--no-usage-report', '-q', '--log-format=json', `--address=127.0.0.1:${port}`, '--profiling-enabled', '--summary-trend-stats=avg,min,med,max,p(90),p(95),p(99),count', `--summary-export=${dir}/summary.json`, `--out=csv=${dir}/s.csv`, bundle!.script];
  const env = { PERF_RATE: RATE, PERF_MAX_VUS: '60', PERF_PROFILE: 'smoke', PERF_DURATION: DURATION, PERF_USERS: '10', ...(await perfAuthForK6()), K6_SYSTEM_TAGS: K6_SYSTEM_TAGS.join(','), K6_CSV_TIME_FORMAT: 'unix_nano' };
  const run = promisify(execFile)(k6.path, args, { env: { ...process.env, ...env, PERF_BASE_URL: target.baseUrl, K6_AUTO_EXTENSION_RESOLUTION: 'false' }, maxBuffer: 64 << 20 });
  await new Promise((r) => setTimeout(r, 6000));
  const res = await fetch(`http://127.0.0.1:${port}/debug/pprof/profile?seconds=${SECONDS}`);
  if (!res.ok) throw new Error(`pprof: HTTP ${res.status}: ${await res.text()}`);
  const profile = path.join(dir, 'cpu.pb.gz');
  writeFileSync(profile, Buffer.from(await res.arrayBuffer()));
  await run;
  const m = (JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { metrics: { http_reqs: { count: number; rate: number } } }).metrics.http_reqs;
  const top = execFileSync('go', ['tool', 'pprof', '-top', '-nodecount=25', profile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const { total, groups } = groupTraces(execFileSync('go', ['tool', 'pprof', '-traces', profile], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'pipe'] }));
  // The k6 and sobek frames by cumulative time: which k6 functions the groups above come from.
  const cum = execFileSync('go', ['tool', 'pprof', '-top', '-cum', '-nodecount=400', profile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .split('\n')
    .filter((l) => /go\.k6\.io\/k6\/v2\/(internal\/output|output|metrics|lib\/netext|js\/modules|internal\/js\/modules)|mstoykov\/atlas|^.*encoding\/csv/.test(l))
    .slice(0, 20);
  const version = execFileSync(k6.path, ['version'], { encoding: 'utf8' }).trim();
  const lines = [
    `k6 CPU profile at saturation with k6's CSV output (issue 14 point 3)`,
    `date: ${new Date().toISOString()}   host: ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores, shared   ${version}`,
    `command: node --import tsx bench/k6-cpu-profile.ts   (BENCH_RATE=${RATE}, BENCH_PROFILE_SECONDS=${SECONDS})`,
    `k6: ${args.slice(0, -1).join(' ')} <throughput bundle>  with PERF_RATE=${RATE} (iterations/s, 2 requests each) PERF_DURATION=${DURATION} K6_SYSTEM_TAGS=${env.K6_SYSTEM_TAGS} K6_CSV_TIME_FORMAT=unix_nano`,
    `profile: GET /debug/pprof/profile?seconds=${SECONDS} from 6 s into the run; the run made ${m.count} requests, ${m.rate.toFixed(0)} req/s`,
    '',
    `Grouped (go tool pprof -traces; each stack to the first group any frame belongs to, in this order):`,
    ...[...GROUPS.map(([g]) => g), 'other'].map((g) => `  ${g.padEnd(50)} ${(((groups.get(g) ?? 0) / total) * 100).toFixed(1).padStart(5)} %   ${((groups.get(g) ?? 0) / 1000).toFixed(2)} s`),
    `  ${'total sampled'.padEnd(50)} ${(total / 1000).toFixed(2)} s of ${SECONDS} s wall (${(total / 1000 / SECONDS).toFixed(2)} cores)`,
    '',
    `go tool pprof -top -cum cpu.pb.gz, k6's outputs, metrics, HTTP client and JS modules (first 20):`,
    ...cum,
    '',
    `go tool pprof -top -nodecount=25 cpu.pb.gz`,
    ...top.split('\n').filter((l) => !/^(File|Build ID|Type|Time):/.test(l)),
  ];
  mkdirSync(path.join(REPO, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(REPO, 'bench', 'results', 'k6-cpu-profile.txt'), `${lines.join('\n').trimEnd()}\n`);
  console.log(lines.join('\n'));
} finally {
  await target.stop();
}
