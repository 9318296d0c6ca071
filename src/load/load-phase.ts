import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BundledScenario } from '../../bundler/bundle.ts';
import { askedLoad, LoadConcurrencyIngest, rampUpSecondsOf } from '../../analysis/concurrency.ts';
import { crossCheck, decideGate, gatesToThresholds } from '../../analysis/gates.ts';
import { percentileMs } from '../../analysis/histogram.ts';
import { ingestK6Csv, metricTypesFromSummary } from '../../analysis/k6-csv.ts';
import { isK6Builtin } from '../../analysis/k6-metrics.ts';
import { summarizeSeries, type MetricStore } from '../../analysis/metric-store.ts';
import { PROFILES, type ProfileName } from '../../scenarios/lib/profiles.ts';
import { durationMs } from '../../bundler/window-tag.ts';
import type { GateDecl, GateSpec } from '../config/config-schema.ts';
import { WINDOWS_FILE, WINDOWS_SCHEMA, WindowCapture, type ScenarioWindows, type WindowsFile } from '../../analysis/window-capture.ts';
import { writeJsonAtomic } from '../run/verdict.ts';
import type { K6Binary } from '../k6/k6.ts';
import { screenSecretTags, secretTagReasons } from '../../analysis/tag-secrets.ts';
import { scrubFile } from '../redact/redact-file.ts';
import { K6_KILL_AFTER_MS, K6_STOP_GRACE_MS } from '../k6/k6-children.ts';
import { HostCpuInterval } from '../k6/host-cpu.ts';
import { runK6, type K6RunResult } from '../k6/k6-run.ts';
import { mergeShards } from '../k6/k6-shards.ts';
import type { PhaseDef, PhaseRunContext } from '../run/pipeline.ts';
import type { Redactor } from '../redact/redact.ts';
import type { AuthConfig } from '../config/schema-auth.ts';
import type { AgentProtocol } from '../config/schema-agent.ts';
import type { ChecksRule } from '../k6/k6-checks.ts';
import { attachEvidence, judgeScenario } from './load-checks.ts';
import { loadOperationHits, operationsEnv } from '../openapi/coverage.ts';
import type { OpenApiOperation } from '../openapi/document.ts';
import type { GateResult, K6PhaseResult, PhaseResult } from '../run/verdict.ts';

export interface LoadPhaseOptions {
  /** Bundled before the pipeline starts (pre-flight), so a type error never reaches k6. */
  bundles: BundledScenario[];
  k6: K6Binary;
  projectDir: string;
  users?: number;
  duration?: string;
  durationMs?: number;
  timeoutMs: number;
  gates: GateSpec[];
  profile: ProfileName;
  /** Leading windows excluded from steady-state figures. */
  rampUpSeconds?: number;
  /** The target's pid when perf started it (its CPU and memory go in the verdict). */
  targetPid?: () => number | undefined;
  /** Generator judged saturated above this share of all cores (0..1). */
  saturationCpuShare?: number;
  /**
   * Receives what the load created and deleted (k6 counters by `kind`), for the after-load
   * reconciliation, and the labels (`vu<n>`) of the load users it signed up (k6 counter
   * `perf_test_users_created{label}`, scenarios/lib/auth.ts), for reconciliation and cleanup;
   * `loadUsers` is absent when no scenario counted one (users made some other way, or none).
   */
  onCounters?: (c: { created: Record<string, number>; deleted: Record<string, number>; loadUsers?: string[] }) => void;
  /** Extra k6 outputs and per-sample tags (InfluxDB: src/influx/influx.ts). */
  outputs?: (scenario: string) => { outputs: string[]; tags: Record<string, string>; env?: Record<string, string> } | undefined;
  /** `load.checks`: how k6 checks no threshold or gate covers decide (default: every evaluation passes). */
  checks?: ChecksRule;
  /** The run's Redactor, for the console lines of failing scenarios quoted in the verdict; also k6's
   *  stdout, log and summary pass through it, and a sample tag holding a secret fails the run
   *  (analysis/tag-secrets.ts). */
  redactor?: Redactor;
  /**
   * `auth` of the config, passed to k6 as `PERF_AUTH` (JSON, without `module`, plus the run's
   * `seed`): `perf-harness/k6`'s `session()` signs load users up and in with it (scenarios/lib/auth.ts).
   */
  auth?: AuthConfig;
  seed?: number;
  /**
   * `agent` of the config (the WebSocket event protocol), passed to k6 as `PERF_AGENT` (JSON):
   * `perf-harness/k6`'s `runAgent()` connects, starts and judges runs with it (scenarios/lib/agent.ts).
   */
  agent?: AgentProtocol;
  /**
   * The operations of `smoke.openapi`'s document, for endpoint coverage: passed to k6 as
   * `PERF_OPENAPI_OPERATIONS` (`perf-harness/k6`'s `api()` tags each request `operation: <id>`),
   * and each scenario's `http_reqs` attributed to them (`analysis.operations`, src/openapi/coverage.ts).
   */
  operations?: readonly OpenApiOperation[];
  /**
   * Every gate of the config, absolute and relative: their samples are kept per window of
   * `captureWindowSeconds` in `<runDir>/windows.json`, for `--baseline` and `perf compare`
   * (analysis/window-capture.ts).
   */
  captureGates?: readonly Pick<GateDecl, 'metric' | 'tags' | 'responses'>[];
  /**
   * `--shards N` (`load.shards`): each scenario runs as N k6 processes at once, each an equal
   * execution segment with its own raw output; the analysis ingests the N files into one store,
   * so gates are decided on the merged samples. A shard k6 failed (any exit but 0 or 99) fails
   * the scenario, naming the shard.
   */
  shards?: number;
  captureWindowSeconds?: number;
}


/** `PERF_AUTH`: the auth config for k6 (the Node-only `module` left out), with the seed of passwords. */
export function perfAuthEnv(auth: AuthConfig, seed: number): string {
  const { module: _module, ...rest } = auth;
  return JSON.stringify({ ...rest, seed });
}

/** Custom metrics a bundled script declares (`new Trend('name')` etc.). */
export function declaredMetrics(script: string): Set<string> {
  const js = readFileSync(script, 'utf8');
  const out = new Set<string>();
  for (const m of js.matchAll(/new\s+(?:Trend|Rate|Counter|Gauge)\(\s*["'`]([A-Za-z_][A-Za-z0-9_]*)["'`]/g)) out.add(m[1]!);
  return out;
}

/** Gates that apply to a scenario: its metric exists there, and the gate's `scenarios` (if any) name it. */
export function gatesFor(scenario: string, script: string, gates: GateSpec[]): GateSpec[] {
  const custom = declaredMetrics(script);
  return gates.filter((g) => (isK6Builtin(g.metric) || custom.has(g.metric)) && (!g.scenarios || g.scenarios.includes(scenario)));
}

/**
 * The load phase: each bundled scenario on the real k6, one after the other. Gates
 * become k6 thresholds and are evaluated again by the harness from the raw samples;
 * k6's exit code is recorded, never passed through. A run whose generator could not
 * produce the load (dropped iterations, CPU pinned) is marked invalid.
 */
export function loadPhase(opts: LoadPhaseOptions): PhaseDef {
  return {
    name: 'load',
    description: `k6 scenarios: ${opts.bundles.map((b) => b.name).join(', ')}`,
    parallel: false,
    blocking: false,
    timeoutMs: opts.timeoutMs,
    checkTimeoutMs: opts.timeoutMs,
    retries: 0,
    concurrency: 1,
    checks: [],
    // On an interrupt or timeout, k6 gets SIGINT and is escalated to SIGKILL within
    // K6_STOP_GRACE_MS + K6_KILL_AFTER_MS; then what it measured is analysed.
    abortGraceMs: K6_STOP_GRACE_MS + K6_KILL_AFTER_MS + 10_000,
    run: (ctx) => runLoad(opts, ctx),
  };
}

async function runLoad(opts: LoadPhaseOptions, ctx: PhaseRunContext): Promise<Pick<PhaseResult, 'status' | 'reason'> & Partial<PhaseResult>> {
  const results: K6PhaseResult[] = [];
  /** Each scenario's samples, by scenario name (in run order). */
  const storeOf = new Map<string, MetricStore>();
  const captured: ScenarioWindows[] = [];
  const reasons: string[] = [];
  const invalid: string[] = [];
  const dropped: string[] = [];
  /** Scenarios that ran on a host whose CPU was saturated (by whatever). */
  const contended: string[] = [];
  let interrupted = false;
  let hardFailures = 0;

  for (const b of opts.bundles) {
    if (ctx.signal.aborted) break;
    const gates = gatesFor(b.name, b.script, opts.gates);
    const extraOut = opts.outputs?.(b.name);
    // The whole host's CPU while this scenario's k6 runs (src/k6/host-cpu.ts).
    const hostInterval = new HostCpuInterval();
    const shards = Math.max(1, opts.shards ?? 1);
    const runShard = (index: number) => runK6({
      ...(extraOut ? { outputs: extraOut.outputs, tags: extraOut.tags } : {}),
      k6: opts.k6,
      script: b.script,
      runDir: ctx.runDir,
      label: shards > 1 ? `${b.name}-shard${index + 1}of${shards}` : b.name,
      ...(shards > 1 ? { segment: { index, count: shards } } : {}),
      expectedMs: opts.durationMs,
      signal: ctx.signal,
      targetPid: opts.targetPid?.(),
      ...(opts.redactor ? { redact: (t: string) => opts.redactor!.redactString(t) } : {}),
      // `windows`: tag each iteration ramp-up/steady when a gate here judges the steady window only.
      overrides: { vus: opts.users, duration: opts.duration, thresholds: gatesToThresholds(gates), ...(gates.some((g) => g.window === 'steady') ? { windows: true } : {}) },
      env: {
        PERF_BASE_URL: ctx.target.baseUrl,
        ...(ctx.target.wsUrl ? { PERF_WS_URL: ctx.target.wsUrl } : {}),
        PERF_RUN_ID: ctx.runId,
        PERF_PROFILE: opts.profile,
        ...(opts.users !== undefined ? { PERF_USERS: String(opts.users) } : {}),
        ...(opts.duration ? { PERF_DURATION: opts.duration } : {}),
        ...(opts.auth ? { PERF_AUTH: perfAuthEnv(opts.auth, opts.seed ?? 1) } : {}),
        ...(opts.agent ? { PERF_AGENT: JSON.stringify(opts.agent) } : {}),
        ...(opts.operations?.length ? { PERF_OPENAPI_OPERATIONS: operationsEnv(opts.operations) } : {}),
        ...(extraOut?.env ?? {}),
        ...(shards > 1 ? { PERF_SHARD: `${index + 1}/${shards}` } : {}),
      },
      // One live line per scenario: the first shard's (its share of the load).
      onProgress: index > 0 ? undefined : (s) =>
        void ctx.reporter.onProgress?.('load', {
          elapsedMs: s.elapsedMs,
          ...(s.expectedMs ? { expectedMs: s.expectedMs } : {}),
          scenario: s.scenario,
          vus: s.vus,
          requests: s.requests,
          failedRequests: Math.round(s.errorRate * s.requests),
          requestsPerSec: Math.round(s.requestsPerSec),
          ...(s.p95Ms !== undefined ? { p95Ms: s.p95Ms } : {}),
        }),
    });
    const shardRuns = await Promise.all(Array.from({ length: shards }, (_, i) => runShard(i)));
    const r = shards > 1 ? mergeShards(shardRuns, path.join(ctx.runDir, `k6-${b.name}-summary.json`)) : shardRuns[0]!;
    const hostCpu = hostInterval.stop();
    const analysis = await analyse(r, b.name, gates, opts, ctx.runDir, extraOut !== undefined, ctx.target.baseUrl, shardRuns);
    storeOf.set(b.name, analysis.store);
    if (analysis.windows) captured.push(analysis.windows);
    // The script's own thresholds and its k6 checks (src/load/load-checks.ts).
    const judged = judgeScenario(b.name, r, analysis.store, gatesToThresholds(gates), opts.checks);
    results.push({
      scenario: b.name,
      script: path.relative(opts.projectDir, b.script),
      exitCode: r.exitCode,
      meaning: r.meaning,
      ...judged.fields,
      scriptErrors: r.scriptErrors,
      durationMs: r.durationMs,
      files: Object.fromEntries(Object.entries({ ...r.files, analysis: analysis.file }).map(([k, f]) => [k, path.relative(ctx.runDir, f)])),
      analysis: analysis.summary,
      resources: { ...r.resources, ...(hostCpu ? { host: hostCpu } : {}) },
      consistency: analysis.consistency,
      ...(shards > 1
        ? {
            shards: shardRuns.map((x, i) => ({
              shard: `${i + 1}/${shards}`,
              exitCode: x.exitCode,
              meaning: x.meaning,
              files: Object.fromEntries(Object.entries(x.files).map(([k, f]) => [k, path.relative(ctx.runDir, f)])),
              ...(x.resources.k6 ? { k6: x.resources.k6 } : {}),
            })),
          }
        : {}),
    });
    if (r.interrupted) {
      interrupted = true;
      break;
    }
    for (const c of analysis.consistency.filter((c) => c.disagreement)) reasons.push(`${b.name}: ${c.disagreement}`);
    reasons.push(...judged.reasons);
    reasons.push(...secretTagReasons(b.name, analysis.secretTags));
    // k6 streamed those samples to InfluxDB as they were: say how to remove them there.
    if (analysis.secretTags.length && extraOut) {
      reasons.push(`${b.name}: InfluxDB got these samples before perf saw them; remove them there with DROP SERIES FROM /.*/ WHERE "run_id" = '${ctx.runId}' AND "perf_scenario" = '${b.name}'`);
    }
    for (const e of r.scriptErrors) reasons.push(`${b.name}: script error ×${e.count}: ${e.message}${e.location ? ` at ${e.location}` : ''}`);
    // A k6 process that failed or a script that threw is not something a busy CPU explains.
    if (r.scriptErrors.length || shardRuns.some((x) => x.exitCode !== 0 && x.exitCode !== 99)) hardFailures++;
    if (shards > 1) {
      shardRuns.forEach((x, i) => {
        if (x.exitCode !== 0 && x.exitCode !== 99) reasons.push(`${b.name}: shard ${i + 1}/${shards}: k6 exited ${x.exitCode} (${x.meaning}); its log: ${path.relative(ctx.runDir, x.files.log)}`);
      });
    } else if (r.exitCode !== 0 && r.exitCode !== 99) reasons.push(`${b.name}: k6 exited ${r.exitCode} (${r.meaning})`);
    if (analysis.summary.droppedIterations > 0) dropped.push(`${b.name}: k6 dropped ${analysis.summary.droppedIterations} iterations (the requested load was not generated)`);
    const k6cpu = r.resources.k6;
    const share = opts.saturationCpuShare ?? 0.9;
    // The generator is saturated when k6 alone used nearly every core, or when the machine was
    // pinned and k6 was three quarters of it or more (k6 wanted more CPU than it got; the target on the same
    // machine takes the rest, so "k6 alone at 90 % of all cores" would hardly ever fire there).
    const k6Pinned = k6cpu && k6cpu.cpuAvgPct >= share * 100 * k6cpu.cores;
    const k6MostOfPinnedHost = k6cpu && hostCpu && hostCpu.busyPct >= share * 100 && k6cpu.cpuAvgPct >= 0.75 * hostCpu.busyPct * hostCpu.cores;
    if (k6cpu && (k6Pinned || k6MostOfPinnedHost)) {
      const host = hostCpu ? `, the host ${hostCpu.busyPct}% busy` : '';
      invalid.push(`${b.name}: k6 used ${k6cpu.cpuAvgPct}% CPU on ${k6cpu.cores} cores${host} (generator saturated)`);
    } else if (k6cpu && hostCpu && hostCpu.busyPct >= (opts.saturationCpuShare ?? 0.9) * 100) {
      // k6 itself was not pinned, but the machine was (the target, other work): k6 waited for a
      // CPU between receiving and stamping, so timings and time budgets measured the machine.
      const t = r.resources.target;
      contended.push(
        `${b.name}: the host's CPU was ${hostCpu.busyPct}% busy on ${hostCpu.cores} cores (k6 ${k6cpu.cpuAvgPct}%${t ? `, the target ${t.cpuAvgPct}%` : ''} of one core, other processes the rest): the generator competed for CPU (host saturated)`,
      );
    }
  }

  if (opts.captureGates?.length) {
    const file: WindowsFile = { schema: WINDOWS_SCHEMA, windowSeconds: opts.captureWindowSeconds ?? 1, scenarios: captured };
    writeJsonAtomic(path.join(ctx.runDir, WINDOWS_FILE), file);
  }
  const stores = [...storeOf.values()];
  const loadUsers = labelsCounted(stores, 'perf_test_users_created');
  opts.onCounters?.({ created: sumByKind(stores, 'resources_created'), deleted: sumByKind(stores, 'resources_deleted'), ...(loadUsers ? { loadUsers } : {}) });

  // Each gate holds in each scenario it applies to (and each value of its groupBy tag), the
  // worst deciding; merged over its scenarios only when it says `merge: true` (analysis/gates.ts).
  // Each whole-scenario part carries k6's result for the threshold perf injected there, and the
  // gate any disagreement between the two (which fails the run above, scenario by scenario).
  const gateResults: GateResult[] = opts.gates.map((g) => {
    const r = decideGate(g, storeOf);
    const checks = results.flatMap((k) => (k.consistency ?? []).filter((c) => c.metric === r.metric && c.expression === r.expression).map((c) => ({ scenario: k.scenario, c })));
    for (const p of r.parts ?? []) {
      const k6 = p.scenario !== undefined && p.group === undefined ? checks.find((x) => x.scenario === p.scenario)?.c.k6 : undefined;
      if (k6) p.k6 = k6;
    }
    const worstK6 = checks.find((x) => x.scenario === r.scenario)?.c.k6;
    const disagreements = checks.filter((x) => x.c.disagreement).map((x) => `${x.scenario}: ${x.c.disagreement}`);
    return { ...r, ...(worstK6 ? { k6: worstK6 } : {}), ...(disagreements.length ? { disagreement: disagreements.join('; ') } : {}) };
  });
  for (const g of gateResults.filter((g) => g.status !== 'passed' && g.status !== 'not-run')) {
    const obs = g.observed !== undefined ? `, observed ${Number(g.observed.toPrecision(4))} ${g.unit}` : '';
    reasons.unshift(`gate ${g.metric} ${g.expression} ${g.status}${obs}${g.note ? ` (${g.note})` : ''}`);
  }

  // Dropped iterations void a pass (the asked-for load was not applied) but not a failure:
  // a gate that failed at a lower load than asked would fail at the full load too.
  if (dropped.length) {
    if (reasons.length) reasons.push(...dropped);
    else invalid.push(...dropped);
  }
  // A saturated host voids a failure but not a pass: contention only slows k6 and the target,
  // so what passed would pass on a quiet machine too, while a failed latency gate or time
  // budget may have measured the machine. The failures stay in the reasons.
  if (contended.length && reasons.length && !hardFailures) invalid.push(...contended);
  // A scenario that did not pass points at k6's stdout and log, and quotes its console.warn/error lines.
  await attachEvidence(results, gateResults, ctx.runDir, opts.redactor);
  const extra = { k6: results, gates: gateResults, ...(invalid.length ? { invalidBecause: invalid.join('; ') } : {}) };
  if (interrupted || ctx.signal.aborted) return { status: 'interrupted', reason: 'interrupted during k6', ...extra };
  return reasons.length ? { status: 'failed', reason: reasons.join('; '), ...extra } : { status: 'passed', ...extra };
}

/** `toInflux`: the samples also went to InfluxDB, so count those that are one point there;
 *  `baseUrl`: the target's, to place requests named by their URL among the document's operations. */
async function analyse(r: K6RunResult, scenario: string, gates: GateSpec[], opts: LoadPhaseOptions, runDir: string, toInflux: boolean, baseUrl: string, shardRuns: K6RunResult[] = [r]) {
  const sharded = shardRuns.length > 1;
  // Rates and requests in flight over the scenario's load period (setup and teardown left out), in
  // the same pass. The meter sweeps samples in time order, which one k6 file keeps and N shards'
  // files read one after the other do not: sharded runs have no in-flight figures.
  const load = new LoadConcurrencyIngest();
  const capture = opts.captureGates?.length ? new WindowCapture([...opts.captureGates], opts.captureWindowSeconds ?? 1) : undefined;
  const loadTap: typeof load.tap | undefined = sharded ? undefined : load.tap;
  const tap: typeof load.tap | undefined = capture
    ? (series, seconds, nanos, value) => {
        loadTap?.(series, seconds, nanos, value);
        capture.tap(series, seconds, nanos, value);
      }
    : loadTap;
  const store: MetricStore = await ingestK6Csv(
    shardRuns.map((x) => x.files.samples),
    metricTypesFromSummary(r.files.summary),
    windowSecondsFor(opts.durationMs),
    toInflux,
    tap,
  );
  // The ramp-up as k6 resolved the scenario's options (none for a constant executor), else the profile's.
  const rampUpSeconds = rampUpSecondsOf(r.scenarioOptions, opts.rampUpSeconds ?? 0);
  const captured = capture?.result(scenario, store.firstTimestamp, store.lastTimestamp, rampUpSeconds);
  const concurrency = load.result(askedLoad(r.scenarioOptions));
  // A tag value holding a secret is redacted before anything below sees it, and scrubbed from the raw file.
  const secretTags = opts.redactor ? screenSecretTags(store, opts.redactor) : [];
  if (secretTags.length) await scrubFile(r.files.samples, secretTags.flatMap((t) => t.secrets));
  // k6's result for every threshold perf injected into this scenario against perf's evaluation
  // of the same samples: they must agree (analysis/gates.ts crossCheck). k6 reported when it ran
  // to its end (exit 0, or 99 for crossed thresholds) and was not interrupted.
  // Sharded, each k6 judged its thresholds on its own segment only: no cross-check against the merged samples.
  const consistency = crossCheck(gates, sharded ? [] : r.thresholds, store, !sharded && !r.interrupted && (r.exitCode === 0 || r.exitCode === 99));
  const reqs = store.merged('http_reqs');
  const failed = store.merged('http_req_failed');
  const dropped = store.merged('dropped_iterations');
  const rampUpEnd = store.firstTimestamp + rampUpSeconds;
  const durWindows = store.windows.get('http_req_duration') ?? new Map();
  const failWindows = store.windows.get('http_req_failed') ?? new Map();
  const windows = [...durWindows.values()]
    .sort((a, b) => a.start - b.start)
    .map((w) => {
      const f = failWindows.get(w.start);
      return {
        start: w.start,
        requests: w.count,
        ...(w.histogram ? { p95Ms: percentileMs(w.histogram, 95), p99Ms: percentileMs(w.histogram, 99) } : {}),
        errorRate: f && f.count ? f.nonZero / f.count : 0,
        rampUp: w.start < rampUpEnd,
      };
    });
  const file = path.join(runDir, `k6-${scenario}-analysis.json.gz`);
  writeFileSync(
    file,
    gzipSync(JSON.stringify({ scenario, windowSeconds: store.windowSeconds, series: [...store.series.values()].map((s) => summarizeSeries(s, true)), windows })),
  );
  return {
    store,
    secretTags,
    consistency,
    windows: captured,
    file,
    summary: {
      samples: store.samples,
      samplesByMetric: countsByMetric(store),
      ...(store.coincident.size ? { coincidentByMetric: Object.fromEntries(store.coincident) } : {}),
      requests: reqs.count,
      requestsPerSec: concurrency?.requestsPerSec ?? (sharded && store.lastTimestamp > store.firstTimestamp ? Math.round((reqs.count / (store.lastTimestamp - store.firstTimestamp)) * 10) / 10 : 0),
      errorRate: failed.count ? failed.nonZero / failed.count : 0,
      droppedIterations: dropped.sum,
      windows,
      ...(concurrency ? { concurrency } : {}),
      ...(opts.operations?.length ? { operations: loadOperationHits(store, opts.operations, baseUrl) } : {}),
    },
  };
}

function countsByMetric(store: MetricStore): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of store.series.values()) out[s.metric] = (out[s.metric] ?? 0) + s.count;
  return out;
}

function sumByKind(stores: MetricStore[], metric: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const store of stores) for (const s of store.select(metric)) if (s.tags.kind) out[s.tags.kind] = (out[s.tags.kind] ?? 0) + s.sum;
  return out;
}

/** The `label` tags of a counter's samples over every scenario, in `vu<n>` order; undefined when no scenario has the counter. */
function labelsCounted(stores: MetricStore[], metric: string): string[] | undefined {
  const labels = new Set<string>();
  let seen = false;
  for (const store of stores) {
    for (const s of store.select(metric)) {
      seen = true;
      if (s.tags.label && s.sum > 0) labels.add(s.tags.label);
    }
  }
  const n = (l: string) => Number(/^vu(\d+)$/.exec(l)?.[1] ?? Number.MAX_SAFE_INTEGER);
  return seen ? [...labels].sort((a, b) => n(a) - n(b) || a.localeCompare(b)) : undefined;
}

/** Windows of 10 s, widened for long runs so a verdict holds at most ~120 of them. */
function windowSecondsFor(durationMs: number | undefined): number {
  return Math.max(10, Math.ceil((durationMs ?? 0) / 1000 / 120));
}

/**
 * How long the load phase should take: per scenario, the profile's ramp-up and the hold (the
 * profile's or `--duration`), plus 2 minutes for k6's start, setup(), graceful stops and
 * teardown(). The default load timeout and run deadline add this to their 30 minutes.
 */
export function expectedLoadMs(profile: ProfileName, duration: string | undefined, scenarios: number): number {
  const p = PROFILES[profile];
  const hold = duration ? durationMs(duration) : durationMs(p.hold);
  return Math.max(1, scenarios) * (durationMs(p.rampUp) + hold + 2 * 60_000);
}
