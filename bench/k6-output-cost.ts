/**
 * What perf's additions to a k6 run cost k6 itself (issue 5, harness overhead): k6's CPU
 * seconds per request, which on this shared VM is far steadier than a saturated request rate.
 * The throughput scenario runs at a fixed arrival rate the machine can serve, under bare
 * `k6 run` and with one addition at a time; variants interleave, round after round, so drift
 * hits all alike. Printed: median CPU ms per 1,000 requests and the ratio to bare k6.
 * Every variant runs the k6 perf uses, a stock k6 (src/k6/k6.ts): k6's own outputs only.
 * The aggregating outputs (OpenTelemetry, Prometheus remote write) push to perf's receivers
 * (src/k6/receivers/), which run in this process: their CPU is Node's, not k6's, and is
 * printed apart: the receiver's own (decoding and keeping pushes) and this whole process's
 * (Node's HTTP handling too, plus an idle floor that bare k6's figure shows).
 *
 *   node --import tsx bench/k6-output-cost.ts        (BENCH_RATE, BENCH_ROUNDS, BENCH_VARIANTS)
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { K6_SYSTEM_TAGS } from '../analysis/k6-csv.ts';
import { bundleScenarios } from '../bundler/bundle.ts';
import { requireK6 } from '../src/k6/k6.ts';
import { otlpTotals, startOtlpReceiver } from '../src/k6/receivers/otlp-receiver.ts';
import { promTotals, startPromRwReceiver } from '../src/k6/receivers/prom-rw-receiver.ts';
import { startTarget } from '../src/target/target.ts';
import { REPO, tempDir } from '../test/helpers.ts';
import { median, perfAuthForK6 } from './bench-helpers.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const env = { PERF_RATE: process.env.BENCH_RATE ?? '1200', PERF_MAX_VUS: '60', PERF_PROFILE: 'smoke', PERF_DURATION: '8s', PERF_USERS: '10', ...(await perfAuthForK6()) };
// The environment perf's k6-run.ts sets: trimmed system tags, nanosecond CSV timestamps.
const TAGS = { K6_SYSTEM_TAGS: K6_SYSTEM_TAGS.join(','), K6_CSV_TIME_FORMAT: 'unix_nano' };
const PERF_ARGS = ['--log-format=json', '--address=127.0.0.1:0', '--summary-trend-stats=avg,min,med,max,p(90),p(95),p(99),count'];

// The aggregating outputs: one push a second (a window perf's analysis could use), to a
// receiver in this process; Trends as explicit or exponential histograms (OTel) or native
// histograms (remote write, schema 3).
const OTEL = (endpoint: string) => ({ K6_OTEL_EXPORTER_PROTOCOL: 'http/protobuf', K6_OTEL_HTTP_EXPORTER_ENDPOINT: endpoint, K6_OTEL_HTTP_EXPORTER_INSECURE: 'true', K6_OTEL_EXPORT_INTERVAL: '1s', K6_OTEL_FLUSH_INTERVAL: '1s' });
const EXPONENTIAL = { OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: 'base2_exponential_bucket_histogram' };

type Receiver = 'otlp' | 'prom-rw';
interface Variant {
  args: string[];
  env?: Record<string, string>;
  receiver?: Receiver;
}
/** `at` is the receiver's address (host:port for OTLP, the write URL for remote write). */
const variants: Record<string, (dir: string, at: string) => Variant> = {
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
  'opentelemetry http (explicit)': (_d, at) => ({ args: ['--out=opentelemetry'], env: { ...TAGS, ...OTEL(at) }, receiver: 'otlp' }),
  'opentelemetry http (exponential)': (_d, at) => ({ args: ['--out=opentelemetry'], env: { ...TAGS, ...OTEL(at), ...EXPONENTIAL }, receiver: 'otlp' }),
  'prometheus-rw (native histograms)': (_d, at) => ({
    args: ['--out=experimental-prometheus-rw'],
    env: { ...TAGS, K6_PROMETHEUS_RW_SERVER_URL: at, K6_FEATURES: 'native-histograms', K6_PROMETHEUS_RW_PUSH_INTERVAL: '1s' },
    receiver: 'prom-rw',
  }),
};
const only = process.env.BENCH_VARIANTS?.split(',');

const target = await startTarget({});
try {
  const k6 = await requireK6();
  const [bundle] = await bundleScenarios({ scenariosDir: path.join(REPO, 'scenarios'), outDir: path.join(tempDir(), 'build'), names: ['throughput'] });
  const perKilo = new Map<string, number[]>();
  const nodePerKilo = new Map<string, number[]>();
  const receiverPerKilo = new Map<string, number[]>();
  for (let i = 0; i < ROUNDS; i++) {
    for (const [name, make] of Object.entries(variants)) {
      if (only && !only.includes(name)) continue;
      const dir = tempDir();
      const receiverKind = make(dir, '').receiver;
      const otlp = receiverKind === 'otlp' ? await startOtlpReceiver() : undefined;
      const prom = receiverKind === 'prom-rw' ? await startPromRwReceiver() : undefined;
      const v = make(dir, otlp?.endpoint ?? prom?.url ?? '');
      const summary = path.join(dir, 'summary.json');
      const node0 = process.cpuUsage();
      // bash's `times` prints the user and system CPU of the children it waited for: k6's.
      // Not execFileSync: the receivers answer k6 on this process's event loop.
      const { stdout: out } = await promisify(execFile)('bash', ['-c', '"$@" >/dev/null 2>&1; times', 'bench', k6.path, 'run', '--no-usage-report', '-q', `--summary-export=${summary}`, ...v.args, bundle!.script], {
        env: { ...process.env, ...env, ...v.env, PERF_BASE_URL: target.baseUrl, K6_AUTO_EXTENSION_RESOLUTION: 'false' },
        encoding: 'utf8',
      });
      const node = process.cpuUsage(node0);
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(out.trim().split('\n')[1] ?? '');
      if (!m) throw new Error(`no CPU times from bash: ${out}`);
      const cpuMs = (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
      const requests = (JSON.parse(readFileSync(summary, 'utf8')) as { metrics: { http_reqs: { count: number } } }).metrics.http_reqs.count;
      // A receiver that did not get what k6 counted would make its variant's figure meaningless.
      const received = otlp ? otlpTotals(otlp.series.values()).get('http_reqs')?.count : prom ? promTotals(prom.series.values()).get('k6_http_reqs_total')?.count : undefined;
      const receiverMs = otlp?.cpuMs() ?? prom?.cpuMs() ?? 0;
      await otlp?.close();
      await prom?.close();
      if (received !== undefined && received !== requests) console.log(`  MISMATCH ${name}: the receiver counted ${received} requests, k6 ${requests}`);
      perKilo.set(name, [...(perKilo.get(name) ?? []), (cpuMs / requests) * 1000]);
      const nodeMs = (node.user + node.system) / 1000;
      nodePerKilo.set(name, [...(nodePerKilo.get(name) ?? []), (nodeMs / requests) * 1000]);
      receiverPerKilo.set(name, [...(receiverPerKilo.get(name) ?? []), (receiverMs / requests) * 1000]);
      console.log(`  round ${i + 1}: ${name}: ${requests} requests, k6 CPU ${(cpuMs / 1000).toFixed(2)} s, this process ${(nodeMs / 1000).toFixed(2)} s${received !== undefined ? `, receiver ${(receiverMs / 1000).toFixed(3)} s, counted ${received}` : ''}`);
    }
  }
  const bare = median(perKilo.get('bare k6') ?? [NaN]);
  console.log(`CPU per 1,000 requests, medians of ${ROUNDS} rounds: k6's, relative to bare k6; the receiver's (Node: decoding and keeping pushes); this whole Node process's (bare k6's is its idle floor):`);
  for (const [name, xs] of perKilo) {
    const receiver = median(receiverPerKilo.get(name)!);
    const node = median(nodePerKilo.get(name)!);
    console.log(`  ${name.padEnd(34)} k6 ${median(xs).toFixed(1).padStart(6)} ms ×${(median(xs) / bare).toFixed(3)}   receiver ${receiver.toFixed(2).padStart(5)} ms   k6+receiver ×${((median(xs) + receiver) / bare).toFixed(3)}   node process ${node.toFixed(1).padStart(5)} ms`);
  }
} finally {
  await target.stop();
}
