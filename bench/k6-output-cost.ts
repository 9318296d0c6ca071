/**
 * What perf's additions to a k6 run cost k6 itself (issue 5, harness overhead): k6's CPU
 * seconds per request, which on this shared VM is far steadier than a saturated request rate.
 * The throughput scenario runs at a fixed arrival rate the machine can serve, under bare
 * `k6 run` and with one addition at a time; variants interleave, round after round, so drift
 * hits all alike. Printed: median CPU ms per 1,000 requests and the ratio to bare k6.
 * Every variant runs the k6 perf uses, a stock k6 (src/k6/k6.ts): k6's own outputs only.
 *
 *   node --import tsx bench/k6-output-cost.ts        (BENCH_RATE, BENCH_ROUNDS, BENCH_VARIANTS)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { K6_SYSTEM_TAGS } from '../analysis/k6-csv.ts';
import { bundleScenarios } from '../bundler/bundle.ts';
import { requireK6 } from '../src/k6/k6.ts';
import { startTarget } from '../src/target/target.ts';
import { REPO, tempDir } from '../test/helpers.ts';
import { median } from './bench-helpers.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const env = { PERF_RATE: process.env.BENCH_RATE ?? '1200', PERF_MAX_VUS: '60', PERF_PROFILE: 'smoke', PERF_DURATION: '8s', PERF_USERS: '10' };
// The environment perf's k6-run.ts sets: trimmed system tags, nanosecond CSV timestamps.
const TAGS = { K6_SYSTEM_TAGS: K6_SYSTEM_TAGS.join(','), K6_CSV_TIME_FORMAT: 'unix_nano' };
const PERF_ARGS = ['--log-format=json', '--address=127.0.0.1:0', '--summary-trend-stats=avg,min,med,max,p(90),p(95),p(99),count'];

const variants: Record<string, (dir: string) => { args: string[]; env?: Record<string, string> }> = {
  'bare k6': () => ({ args: [] }),
  'trimmed system tags': () => ({ args: [], env: TAGS }),
  'csv (plain)': (d) => ({ args: [`--out=csv=${d}/s.csv`], env: TAGS }),
  'json (plain)': (d) => ({ args: [`--out=json=${d}/s.json`], env: TAGS }),
  'csv.gz': (d) => ({ args: [`--out=csv=${d}/s.csv.gz`], env: TAGS }),
  'json.gz': (d) => ({ args: [`--out=json=${d}/s.json.gz`], env: TAGS }),
  'csv.gz + json log': (d) => ({ args: ['--log-format=json', `--out=csv=${d}/s.csv.gz`], env: TAGS }),
  'csv.gz + REST API': (d) => ({ args: ['--address=127.0.0.1:0', `--out=csv=${d}/s.csv.gz`], env: TAGS }),
  'csv.gz + trend stats': (d) => ({ args: ['--summary-trend-stats=avg,min,med,max,p(90),p(95),p(99),count', `--out=csv=${d}/s.csv.gz`], env: TAGS }),
  'csv.gz + run tags': (d) => ({ args: [`--out=csv=${d}/s.csv.gz`, '--tag=run_id=x', '--tag=phase=load', '--tag=perf_scenario=throughput'], env: TAGS }),
  // Everything perf's k6-run.ts passes (but the live polling of the REST API), with the raw
  // samples (k6's CSV output) as k6 writes them for a short run (plain, compressed by perf
  // afterwards) and for a run over 10 minutes (gzip in k6); src/k6/k6-raw.ts decides.
  'perf argv + csv (plain)': (d) => ({ args: [...PERF_ARGS, `--out=csv=${d}/s.csv`], env: TAGS }),
  'perf argv + csv (gzip)': (d) => ({ args: [...PERF_ARGS, `--out=csv=${d}/s.csv.gz`], env: TAGS }),
  // What `--influx` adds on top (the InfluxDB output itself aside).
  'perf argv + run tags': (d) => ({ args: [...PERF_ARGS, `--out=csv=${d}/s.csv`, '--tag=run_id=x', '--tag=phase=load', '--tag=perf_scenario=throughput'], env: TAGS }),
};
const only = process.env.BENCH_VARIANTS?.split(',');

const target = await startTarget({});
try {
  const k6 = await requireK6();
  const [bundle] = await bundleScenarios({ scenariosDir: path.join(REPO, 'scenarios'), outDir: path.join(tempDir(), 'build'), names: ['throughput'] });
  const perKilo = new Map<string, number[]>();
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, make] of Object.entries(variants)) {
      if (only && !only.includes(name)) continue;
      const dir = tempDir();
      const v = make(dir);
      const summary = path.join(dir, 'summary.json');
      // bash's `times` prints the user and system CPU of the children it waited for: k6's.
      const out = execFileSync('bash', ['-c', '"$@" >/dev/null 2>&1; times', 'bench', k6.path, 'run', '--no-usage-report', '-q', `--summary-export=${summary}`, ...v.args, bundle!.script], {
        env: { ...process.env, ...env, ...v.env, PERF_BASE_URL: target.baseUrl, K6_AUTO_EXTENSION_RESOLUTION: 'false' },
        encoding: 'utf8',
      });
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(out.trim().split('\n')[1] ?? '');
      if (!m) throw new Error(`no CPU times from bash: ${out}`);
      const cpuMs = (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
      const requests = (JSON.parse(readFileSync(summary, 'utf8')) as { metrics: { http_reqs: { count: number } } }).metrics.http_reqs.count;
      perKilo.set(name, [...(perKilo.get(name) ?? []), (cpuMs / requests) * 1000]);
      console.log(`  round ${i + 1}: ${name}: ${requests} requests, k6 CPU ${(cpuMs / 1000).toFixed(2)} s`);
    }
  }
  const bare = median(perKilo.get('bare k6') ?? [NaN]);
  console.log('k6 CPU per 1,000 requests (median), relative to bare k6:');
  for (const [name, xs] of perKilo) console.log(`  ${name.padEnd(22)} ${median(xs).toFixed(0).padStart(5)} ms  ×${(median(xs) / bare).toFixed(3)}`);
} finally {
  await target.stop();
}
