import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { K6_SYSTEM_TAGS } from '../../analysis/k6-csv.ts';
import { UserError } from '../errors.ts';
import type { K6Binary } from './k6.ts';
import { K6_KILL_AFTER_MS, K6_STOP_GRACE_MS, trackK6 } from './k6-children.ts';
import { freeBytes, gzipRawSamples, k6Inspect, rawMode as rawModeFor } from './k6-raw.ts';
import { freePort } from '../clients/net.ts';
import { redactTextFile } from '../redact/redact-file.ts';
import { LineRedactor } from '../redact/redact-stream.ts';
import { ProcSampler, type ResourceUsage } from './proc-stats.ts';

/** k6's exit codes (errext/exitcodes), recorded in the verdict rather than passed through. */
export const K6_EXIT_MEANINGS: Record<number, string> = {
  0: 'ok',
  97: 'cloud test run failed',
  98: 'cloud failed to get progress',
  99: 'thresholds have failed',
  100: 'setup() timed out',
  101: 'teardown() timed out',
  102: 'generic timeout',
  103: 'engine error',
  104: 'invalid config',
  105: 'aborted externally (signal)',
  106: 'cannot start REST API',
  107: 'script exception',
  108: 'script aborted (test.abort())',
  109: 'Go panic in k6',
  110: 'test marked as failed (execution.test.fail())',
};

export interface ThresholdResult {
  metric: string;
  expression: string;
  passed: boolean;
  /** The statistic the expression names, from k6's end-of-test summary, when k6 reports it. */
  observed?: number;
}

export interface ScriptError {
  message: string;
  /** First stack frame, mapped to the TypeScript source through the bundle's source map. */
  location?: string;
  count: number;
}

export interface K6RunResult {
  exitCode: number;
  meaning: string;
  thresholds: ThresholdResult[];
  scriptErrors: ScriptError[];
  durationMs: number;
  interrupted: boolean;
  files: { stdout: string; log: string; summary: string; samples: string };
  /** k6's own CPU and memory over the run, and the target's when perf knows its pid. */
  resources: { k6?: ResourceUsage; target?: ResourceUsage };
  /** The script's scenario options as k6 resolved them (`k6 inspect`), when it could tell. */
  scenarioOptions?: Record<string, unknown>;
}

/** What the live progress line shows, from k6's REST API (cumulative since start). */
export interface K6LiveSnapshot {
  scenario: string;
  elapsedMs: number;
  expectedMs?: number;
  vus: number;
  requests: number;
  requestsPerSec: number;
  p95Ms?: number;
  errorRate: number;
}

export interface K6RunOptions {
  k6: K6Binary;
  script: string;
  runDir: string;
  /** `PERF_K6_OPTIONS`: users, duration and gate thresholds (bundler/k6-options-runtime.ts); `windows`: tag iterations ramp-up/steady (bundler/k6-window-runtime.ts). */
  overrides?: { vus?: number; duration?: string; thresholds?: Record<string, unknown[]>; windows?: boolean };
  env?: Record<string, string>;
  /** Expected wall time, for the progress line only. */
  expectedMs?: number;
  label?: string;
  signal?: AbortSignal;
  /** Process id of the target, when perf started it, to sample its CPU and memory too. */
  targetPid?: number;
  /** More k6 outputs (`--out`), e.g. `influxdb=http://127.0.0.1:8086/perf`. */
  outputs?: string[];
  /** Tags on every sample (`--tag k=v`), e.g. run_id and phase for InfluxDB. */
  tags?: Record<string, string>;
  /**
   * `perf run --shards N`: this process runs segment `index` of `count` equal execution segments
   * (`--execution-segment i/N:(i+1)/N --execution-segment-sequence 0,1/N,…,1`): k6 splits every
   * scenario's VUs, iterations and arrival rate between the N processes exactly.
   */
  segment?: { index: number; count: number };
  onProgress?: (s: K6LiveSnapshot) => void;
  /** Applied to every line of k6's stdout and log before it is written, and to its summary file (the run's redactor). */
  redact?: (s: string) => string;
}


interface ApiMetric {
  id: string;
  attributes: { sample: Record<string, number> };
}

/** The metrics the live line shows. */
const LIVE_METRICS = ['vus', 'http_reqs', 'http_req_failed', 'http_req_duration'];

/**
 * The live figures, one metric at a time: k6 answers `/v1/metrics` by computing every
 * metric's percentiles (sorting every Trend's whole sample list) under the lock its sample
 * ingestion takes too, so asking for all of them each second costs k6 more the longer a run
 * lasts. Only `http_req_duration` is a Trend here. A metric with no sample yet answers 404
 * and is left out.
 */
async function readLive(port: number): Promise<Map<string, Record<string, number>> | undefined> {
  try {
    const live = new Map<string, Record<string, number>>();
    for (const id of LIVE_METRICS) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/metrics/${id}`, { signal: AbortSignal.timeout(800) });
      const body = (await res.json()) as { data?: ApiMetric };
      if (res.ok && body.data) live.set(body.data.id, body.data.attributes.sample);
    }
    return live;
  } catch {
    return undefined;
  }
}

const TREND_STATS = 'avg,min,med,max,p(90),p(95),p(99),count';

/**
 * Runs the real k6 on a bundled script. Everything k6 writes lands in the run folder:
 * its stdout (end-of-test summary), its JSON log, `--summary-export` and the raw samples,
 * so the raw results of what ran survive whatever happens next. On abort (SIGINT to
 * perf) k6 gets SIGINT, which makes it stop the test and still write its summary.
 */
export async function runK6(opts: K6RunOptions): Promise<K6RunResult> {
  const label = opts.label ?? path.basename(opts.script, '.js');
  const prefix = path.join(opts.runDir, `k6-${label}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...opts.env,
    // k6 v2 would otherwise try to provision extensions over the network for k6/x/ imports.
    K6_AUTO_EXTENSION_RESOLUTION: 'false',
    // Only the tags gates use; dropping `url` etc. makes every sample cheaper for k6 to write.
    K6_SYSTEM_TAGS: opts.env?.K6_SYSTEM_TAGS ?? K6_SYSTEM_TAGS.join(','),
    // Nanoseconds, not k6's default seconds: the analysis needs them to tell which samples
    // InfluxDB stores as one point (analysis/metric-store.ts `coincident`).
    K6_CSV_TIME_FORMAT: 'unix_nano',
    PERF_K6_OPTIONS: JSON.stringify(opts.overrides ?? {}),
  };
  // Raw samples: k6's own CSV output, the cheapest stock output that keeps every sample (k6
  // CPU per request at saturation ×1.11 of no output; JSON costs ~40 % more still:
  // bench/k6-output-cost.ts). Plain or gzip while k6 writes: src/k6/k6-raw.ts.
  const inspected = await k6Inspect(opts.k6.path, opts.script, env);
  const rawMode = rawModeFor(inspected.maxRunMs, await freeBytes(opts.runDir));
  const raw = { out: 'csv', file: `${prefix}-samples.csv` };
  const files = {
    stdout: `${prefix}-stdout.txt`,
    log: `${prefix}-log.jsonl`,
    summary: `${prefix}-summary.json`,
    samples: rawMode === 'plain' ? raw.file : `${raw.file}.gz`,
  };
  const apiPort = await freePort();
  const args = [
    'run',
    '--no-usage-report',
    '--quiet',
    '--no-color',
    '--log-format=json',
    `--address=127.0.0.1:${apiPort}`,
    `--summary-trend-stats=${TREND_STATS}`,
    `--summary-export=${files.summary}`,
    `--out=${raw.out}=${files.samples}`,
    ...(opts.outputs ?? []).map((o) => `--out=${o}`),
    ...Object.entries(opts.tags ?? {}).map(([k, v]) => `--tag=${k}=${v}`),
    ...(opts.segment ? executionSegmentArgs(opts.segment.index, opts.segment.count) : []),
    opts.script,
  ];
  const started = Date.now();
  let lastCount = 0;
  let lastAt = started;
  let polling = false;
  // Live figures go to whoever renders them (the console reporter's status line); nobody
  // listening means no polling of k6's API at all.
  const onProgress = opts.onProgress;
  const tick = async () => {
    if (polling || !onProgress) return;
    polling = true;
    const live = await readLive(apiPort);
    polling = false;
    if (!live) return; // k6's API is not up yet
    const now = Date.now();
    const requests = live.get('http_reqs')?.count ?? 0;
    onProgress({
      scenario: label,
      elapsedMs: now - started,
      ...(opts.expectedMs ? { expectedMs: opts.expectedMs } : {}),
      vus: live.get('vus')?.value ?? 0,
      requests,
      requestsPerSec: now > lastAt ? ((requests - lastCount) * 1000) / (now - lastAt) : 0,
      ...(live.get('http_req_duration')?.['p(95)'] !== undefined ? { p95Ms: live.get('http_req_duration')!['p(95)'] } : {}),
      errorRate: live.get('http_req_failed')?.rate ?? 0,
    });
    lastCount = requests;
    lastAt = now;
  };
  const timer = onProgress ? setInterval(() => void tick(), 1000) : undefined;
  let k6Sampler: ProcSampler | undefined;
  const targetSampler = opts.targetPid ? new ProcSampler(opts.targetPid).start() : undefined;
  let resources: K6RunResult['resources'] = {};

  const out = createWriteStream(files.stdout);
  const logOut = createWriteStream(files.log);
  const errors = new Map<string, ScriptError>();
  let interrupted = false;
  /** Signals perf itself sent k6: a death by one of them is perf's doing, any other is not. */
  const sent = new Set<NodeJS.Signals>();

  // Whatever happens (k6 exits, or never starts), the poller and the samplers stop and the
  // files are closed: a timer left running would keep perf alive after the run.
  const exit = await new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve, reject) => {
    const child = spawn(opts.k6.path, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid) k6Sampler = new ProcSampler(child.pid).start();
    const send = (sig: NodeJS.Signals) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      sent.add(sig);
      child.kill(sig);
    };
    const timers: NodeJS.Timeout[] = [];
    let escalated = false;
    // k6's own "abort now" is a second SIGINT (no teardown, no summary); SIGKILL if even that is ignored.
    const escalate = () => {
      if (escalated) return;
      escalated = true;
      send('SIGINT');
      timers.push(setTimeout(() => send('SIGKILL'), K6_KILL_AFTER_MS));
    };
    const onAbort = () => {
      interrupted = true;
      // The first SIGINT: k6 stops the test, runs teardown and writes its summary.
      send('SIGINT');
      timers.push(setTimeout(escalate, K6_STOP_GRACE_MS));
    };
    let closed!: () => void;
    if (child.pid) trackK6({ pid: child.pid, escalate, kill: () => send('SIGKILL'), closed: new Promise<void>((r) => (closed = r)) });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    // Interrupted while perf was still preparing the run (k6 inspect): k6 stops at once, and
    // its (empty) result still goes with the scenarios before it.
    if (opts.signal?.aborted) onAbort();
    // k6 prints what a script logs and what failed requests were: redacted before it is kept.
    const redact = opts.redact ?? ((s: string) => s);
    const stdoutLines = new LineRedactor(redact, (s) => out.write(s));
    // The log's lines, once split and redacted, are both written and read for script errors.
    const logLines = new LineRedactor(redact, (s) => {
      logOut.write(s);
      for (const line of s.split('\n')) if (line) collectScriptError(line, errors);
    });
    child.stdout.on('data', (chunk: Buffer) => stdoutLines.push(chunk));
    child.on('close', () => {
      stdoutLines.end();
      logLines.end();
    });
    child.stderr.on('data', (chunk: Buffer) => logLines.push(chunk));
    const done = () => {
      opts.signal?.removeEventListener('abort', onAbort);
      for (const t of timers) clearTimeout(t);
      closed?.();
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      // Only a k6 that never started is an error here; a failed kill() of a running one is not.
      if (child.pid !== undefined) return;
      done();
      // The fix goes in the message too: the load phase's reason is all a verdict keeps.
      const why = e.code === 'ENOENT' ? ' (no such file)' : e.code === 'EACCES' ? ' (not executable)' : '';
      reject(
        new UserError(
          `k6 could not be started: ${opts.k6.path}: ${e.code ?? e.message}${why}. Point K6_BIN at an executable k6 v2 or run \`perf k6 install\`; \`perf k6 path\` shows the k6 perf uses.`,
        ),
      );
    });
    child.on('exit', () => k6Sampler?.sample());
    child.on('close', (code, sig) => {
      done();
      resolve({ code, sig });
    });
  }).finally(async () => {
    if (timer) clearInterval(timer);
    resources = { ...(k6Sampler ? { k6: k6Sampler.stop() } : {}), ...(targetSampler ? { target: targetSampler.stop() } : {}) };
    await Promise.all([new Promise((r) => out.end(r)), new Promise((r) => logOut.end(r))]);
  });
  const { exitCode, meaning } = k6Outcome(exit.code, exit.sig, sent);
  const durationMs = Date.now() - started;
  if (rawMode === 'plain') files.samples = await gzipRawSamples(files.samples);
  dropSetupData(files.summary);
  if (opts.redact) redactTextFile(files.summary, opts.redact);

  return {
    exitCode,
    meaning,
    thresholds: readThresholds(files.summary),
    scriptErrors: [...errors.values()],
    durationMs,
    interrupted,
    files,
    resources,
    ...(inspected.scenarios ? { scenarioOptions: inspected.scenarios } : {}),
  };
}

/**
 * The code recorded for k6's end. k6 exits with a code of its own (K6_EXIT_MEANINGS); one
 * killed by a signal has none, and is recorded the way a shell reports it, 128 + the signal's
 * number (SIGKILL: 137), with who sent it: perf (after an interrupt) or not perf, e.g. the
 * kernel's out-of-memory killer. Never 130 (perf's "interrupted") unless SIGINT killed it.
 */
export function k6Outcome(code: number | null, sig: NodeJS.Signals | null, sentByPerf: ReadonlySet<NodeJS.Signals>): { exitCode: number; meaning: string } {
  if (code !== null) return { exitCode: code, meaning: K6_EXIT_MEANINGS[code] ?? `unknown k6 exit code ${code}` };
  if (!sig) return { exitCode: 1, meaning: 'k6 ended without an exit code or a signal' };
  const exitCode = 128 + (os.constants.signals[sig] ?? 0);
  const who = sentByPerf.has(sig)
    ? `sent by perf${sig === 'SIGKILL' ? ': k6 had not stopped after the interrupt' : ', on the interrupt'}`
    : `not sent by perf${sig === 'SIGKILL' ? ": the kernel's out-of-memory killer sends it when memory runs out" : ''}`;
  return { exitCode, meaning: `killed by ${sig}, ${who}` };
}

/**
 * k6 logs an uncaught exception as `{"level":"error","source":"stacktrace","msg":"Error: x\n\tat f (file:///…/helper.ts:3:10(10))…"}`;
 * with the bundle's linked source map the frames already name the TypeScript files.
 * Also k6's init-context failures (exit 107) arrive as level=error lines with a stack.
 */
function collectScriptError(line: string, errors: Map<string, ScriptError>): void {
  if (!line.startsWith('{')) return;
  let entry: { level?: string; msg?: string; source?: string };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return;
  }
  if (entry.level !== 'error' || !entry.msg) return;
  if (entry.source !== 'stacktrace' && !/\n\s*at /.test(entry.msg)) return;
  const [first, ...rest] = entry.msg.split('\n');
  // perf's k6-module shims (bundler/k6-shims/) are never where the script went wrong: skipped.
  const frame = rest.filter((l) => !l.includes('/bundler/k6-shims/')).map((l) => /\((file:\/\/[^)]*?):(\d+):(\d+)(?:\(\d+\))?\)|at (file:\/\/\S+?):(\d+):(\d+)/.exec(l)).find(Boolean);
  let location: string | undefined;
  if (frame) {
    const file = (frame[1] ?? frame[4])!.replace(/^file:\/\//, '');
    location = `${path.relative(process.cwd(), decodeURI(file))}:${frame[2] ?? frame[5]}:${frame[3] ?? frame[6]}`;
  }
  const message = (first ?? '').trim();
  const key = `${message}@${location ?? ''}`;
  const prev = errors.get(key);
  if (prev) prev.count++;
  else errors.set(key, { message, location, count: 1 });
}

const EXPR = /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*(<=|>=|<|>|===|==|!=)\s*(-?[\d.]+)\s*$/;

/**
 * `--summary-export` carries what the script's `setup()` returned (`setup_data`): a script's own
 * data, often the session it signed in (credentials perf may not know as secrets, such as a
 * load user's password or a session cookie). perf reads nothing from it, so it is not kept.
 */
export function dropSetupData(summaryFile: string): void {
  if (!existsSync(summaryFile)) return;
  let summary: Record<string, unknown>;
  try {
    summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as Record<string, unknown>;
  } catch {
    return;
  }
  if (!summary || typeof summary !== 'object' || !('setup_data' in summary)) return;
  summary.setup_data = '[not kept by perf: setup() data may hold credentials]';
  writeFileSync(summaryFile, JSON.stringify(summary, null, 4));
}

/** In `--summary-export`, a threshold's boolean is true when the threshold was crossed. */
export function readThresholds(summaryFile: string): ThresholdResult[] {
  if (!existsSync(summaryFile)) return [];
  let summary: { metrics?: Record<string, Record<string, unknown> & { thresholds?: Record<string, boolean> }> };
  try {
    summary = JSON.parse(readFileSync(summaryFile, 'utf8')) as typeof summary;
  } catch {
    return [];
  }
  const out: ThresholdResult[] = [];
  for (const [metric, values] of Object.entries(summary.metrics ?? {})) {
    for (const [expression, crossed] of Object.entries(values.thresholds ?? {})) {
      const stat = EXPR.exec(expression)?.[1];
      const key = stat === 'rate' && 'value' in values ? 'value' : stat;
      const observed = key !== undefined ? values[key] : undefined;
      out.push({
        metric,
        expression,
        passed: !crossed,
        ...(typeof observed === 'number' ? { observed } : {}),
      });
    }
  }
  return out.sort((a, b) => `${a.metric}${a.expression}`.localeCompare(`${b.metric}${b.expression}`));
}

/** k6's flags for segment `index` (0-based) of `count` equal segments. */
export function executionSegmentArgs(index: number, count: number): string[] {
  const at = (i: number) => (i === 0 ? '0' : i === count ? '1' : `${i}/${count}`);
  return [`--execution-segment=${at(index)}:${at(index + 1)}`, `--execution-segment-sequence=${Array.from({ length: count + 1 }, (_, i) => at(i)).join(',')}`];
}
