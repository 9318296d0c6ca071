/**
 * Analysis ingest (issue 5): samples per second through the k6 raw output → HDR pipeline on
 * one core, and peak memory for 1 M and 10 M samples (target: ≥ 1 M samples/s; memory flat,
 * under 200 MB). Each measurement runs in its own child process so peak RSS is its own.
 * Input: synthetic samples (~13 metrics per request) as gzip CSV shaped like k6's (the one
 * raw format, analysis/k6-csv.ts); "quoted": every row's `name` holds a comma and a quote,
 * so every row takes the parser's quoting path.
 *
 *   node --import tsx bench/analysis.ts
 */
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';

const HEADER = 'metric_name,timestamp,metric_value,status,method,name,scenario,expected_response,check,group,error_code,extra_tags,metadata\n';
const METRICS = ['http_reqs', 'http_req_duration', 'http_req_blocked', 'http_req_connecting', 'http_req_tls_handshaking', 'http_req_sending', 'http_req_waiting', 'http_req_receiving', 'http_req_failed', 'data_sent', 'data_received', 'iterations', 'iteration_duration'];
const NAMES = ['health', 'brand_kits_list', 'brand_kits_create', 'jobs_get', 'assets_get'];

async function makeInput(samples: number, quoted: boolean): Promise<string> {
  const file = path.join(os.tmpdir(), `perf-bench-analysis-ns-${samples}${quoted ? '-quoted' : ''}.csv.gz`);
  const names = quoted ? NAMES.map((n) => `"${n},""x"""`) : NAMES;
  if (existsSync(file)) return file;
  const gz = createGzip({ level: 1 });
  const out = createWriteStream(file);
  gz.pipe(out);
  gz.write(HEADER);
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let buf = '';
  for (let i = 0; i < samples; i++) {
    const metric = METRICS[i % METRICS.length]!;
    const value = metric === 'http_req_failed' ? (rnd() < 0.01 ? 1 : 0) : metric === 'http_reqs' || metric === 'iterations' ? 1 : rnd() * 50;
    // Nanosecond timestamps, as perf asks k6 for (K6_CSV_TIME_FORMAT=unix_nano).
    buf += `${metric},${1700000000 + Math.floor(i / 20000)}${String((i % 20000) * 50_000 + (i % 7)).padStart(9, '0')},${value.toFixed(6)},200,GET,${names[(i / METRICS.length) % NAMES.length | 0]},journey,true,,,,,\n`;
    if (buf.length > 1 << 20) {
      if (!gz.write(buf)) await new Promise<void>((r) => gz.once('drain', () => r()));
      buf = '';
    }
  }
  gz.end(buf);
  await new Promise<void>((r) => out.on('close', () => r()));
  return file;
}

const child = process.argv[2] === '--child';
if (child) {
  const { ingestK6Csv } = await import('../analysis/k6-csv.ts');
  const file = process.argv[3]!;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const store = await ingestK6Csv(file, new Map([['http_req_duration', 'trend']]), 10, process.argv[4] === 'points');
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(JSON.stringify({ samples: store.samples, ms, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024, series: store.series.size }));
} else {
  const self = fileURLToPath(import.meta.url);
  console.log('analysis ingest: k6 raw output (gzip) → HDR histograms, one core');
  // "with point ids": a run that also wrote to InfluxDB counts the samples that are one point there.
  for (const [format, n, mode] of [
    ['csv', 1_000_000, ''],
    ['csv', 10_000_000, ''],
    ['csv', 10_000_000, 'points'],
    ['csv quoted', 1_000_000, ''],
    ['csv quoted', 10_000_000, ''],
  ] as const) {
    const file = await makeInput(n, format === 'csv quoted');
    const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', file, mode], { encoding: 'utf8', maxBuffer: 1 << 20 });
    const r = JSON.parse(out) as { samples: number; ms: number; cpuMs: number; peakRssMb: number; series: number };
    const rate = r.samples / (r.ms / 1000);
    // Per CPU second too (gunzip included: zlib's thread counts): steadier on a shared machine.
    const perCpu = r.samples / (r.cpuMs / 1000);
    console.log(
      `  ${format} ${(n / 1e6).toFixed(0).padStart(2)} M samples${mode ? ' with point ids' : ''} (${(statSync(file).size / 1e6).toFixed(0)} MB gz): ${(rate / 1e6).toFixed(2)} M samples/s (target ≥ 1.0: ${rate >= 1e6 ? 'met' : 'NOT met'}; ${(perCpu / 1e6).toFixed(2)} M per CPU second), peak RSS ${r.peakRssMb.toFixed(0)} MB (target < 200: ${r.peakRssMb < 200 ? 'met' : 'NOT met'}), ${r.series} series`,
    );
  }
}
