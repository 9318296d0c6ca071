import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { BundledScenario } from '../../bundler/bundle.ts';
import { compareWithK6, evaluateGates, gatesToThresholds, thresholdExpression, thresholdKey } from '../../analysis/gates.ts';
import { percentileMs } from '../../analysis/histogram.ts';
import { ingestK6Samples } from '../../analysis/k6-bin.ts';
import { metricTypesFromSummary } from '../../analysis/k6-csv.ts';
import { isK6Builtin } from '../../analysis/k6-metrics.ts';
import { StoreUnion, summarizeSeries, type MetricStore } from '../../analysis/metric-store.ts';
import type { ProfileName } from '../../scenarios/lib/profiles.ts';
import type { GateSpec } from '../config-schema.ts';
import type { K6Binary } from '../k6.ts';
import { runK6, type K6RunResult } from '../k6-run.ts';
import type { PhaseDef, PhaseRunContext } from '../pipeline.ts';
import type { GateResult, K6PhaseResult, PhaseResult } from '../verdict.ts';

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
  /** Receives what the load created and deleted (k6 counters by `kind`), for the after-load reconciliation. */
  onCounters?: (c: { created: Record<string, number>; deleted: Record<string, number> }) => void;
  /** Extra k6 outputs and per-sample tags (InfluxDB: coordinator/influx.ts). */
  outputs?: (scenario: string) => { outputs: string[]; tags: Record<string, string>; env?: Record<string, string> } | undefined;
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
    run: (ctx) => runLoad(opts, ctx),
  };
}

async function runLoad(opts: LoadPhaseOptions, ctx: PhaseRunContext): Promise<Pick<PhaseResult, 'status' | 'reason'> & Partial<PhaseResult>> {
  const results: K6PhaseResult[] = [];
  /** Each scenario's samples, by scenario name (in run order). */
  const storeOf = new Map<string, MetricStore>();
  const reasons: string[] = [];
  const invalid: string[] = [];
  const dropped: string[] = [];
  let interrupted = false;

  for (const b of opts.bundles) {
    if (ctx.signal.aborted) break;
    const gates = gatesFor(b.name, b.script, opts.gates);
    const extraOut = opts.outputs?.(b.name);
    const r = await runK6({
      ...(extraOut ? { outputs: extraOut.outputs, tags: extraOut.tags } : {}),
      k6: opts.k6,
      script: b.script,
      runDir: ctx.runDir,
      label: b.name,
      expectedMs: opts.durationMs,
      signal: ctx.signal,
      targetPid: opts.targetPid?.(),
      overrides: { vus: opts.users, duration: opts.duration, thresholds: gatesToThresholds(gates) },
      env: {
        PERF_BASE_URL: ctx.target.baseUrl,
        ...(ctx.target.wsUrl ? { PERF_WS_URL: ctx.target.wsUrl } : {}),
        PERF_RUN_ID: ctx.runId,
        PERF_PROFILE: opts.profile,
        ...(opts.users !== undefined ? { PERF_USERS: String(opts.users) } : {}),
        ...(opts.duration ? { PERF_DURATION: opts.duration } : {}),
        ...(extraOut?.env ?? {}),
      },
      onProgress: (s) =>
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
    const analysis = await analyse(r, b.name, gates, opts, ctx.runDir, extraOut !== undefined);
    storeOf.set(b.name, analysis.store);
    results.push({
      scenario: b.name,
      script: path.relative(opts.projectDir, b.script),
      exitCode: r.exitCode,
      meaning: r.meaning,
      thresholds: r.thresholds,
      scriptErrors: r.scriptErrors,
      durationMs: r.durationMs,
      files: Object.fromEntries(Object.entries({ ...r.files, analysis: analysis.file }).map(([k, f]) => [k, path.relative(ctx.runDir, f)])),
      analysis: analysis.summary,
      resources: r.resources,
      consistency: analysis.consistency,
    });
    if (r.interrupted) {
      interrupted = true;
      break;
    }
    for (const c of analysis.consistency.filter((c) => c.disagreement)) reasons.push(`${b.name}: ${c.disagreement}`);
    // The scenario's own thresholds (declared in its script, not derived from gates) decide through k6.
    const fromGates = new Set(gates.map((g) => `${thresholdKey(g)} ${thresholdExpression(g)}`));
    for (const t of r.thresholds.filter((t) => !t.passed && !fromGates.has(`${t.metric} ${t.expression}`))) {
      const obs = t.observed !== undefined ? `, observed ${Number(t.observed.toPrecision(4))}` : '';
      reasons.push(`${b.name}: threshold ${t.metric} "${t.expression}" failed${obs}`);
    }
    for (const e of r.scriptErrors) reasons.push(`${b.name}: script error ×${e.count}: ${e.message}${e.location ? ` at ${e.location}` : ''}`);
    if (r.exitCode !== 0 && r.exitCode !== 99) reasons.push(`${b.name}: k6 exited ${r.exitCode} (${r.meaning})`);
    if (analysis.summary.droppedIterations > 0) dropped.push(`${b.name}: k6 dropped ${analysis.summary.droppedIterations} iterations (the requested load was not generated)`);
    const k6cpu = r.resources.k6;
    if (k6cpu && k6cpu.cpuAvgPct >= (opts.saturationCpuShare ?? 0.9) * 100 * k6cpu.cores) {
      invalid.push(`${b.name}: k6 used ${k6cpu.cpuAvgPct}% CPU on ${k6cpu.cores} cores (generator saturated)`);
    }
  }

  const stores = [...storeOf.values()];
  opts.onCounters?.({ created: sumByKind(stores, 'resources_created'), deleted: sumByKind(stores, 'resources_deleted') });

  // Gates are decided once, over every scenario's samples merged (HDR add): one declaration, one verdict.
  // A gate bound to scenarios is evaluated on theirs only, and is not-run when none of them ran.
  const gateResults: GateResult[] = opts.gates.map((g) => {
    const own = g.scenarios ? g.scenarios.flatMap((n) => (storeOf.has(n) ? [storeOf.get(n)!] : [])) : stores;
    const [r] = evaluateGates([g], new StoreUnion(own));
    const bound = g.scenarios ? { scenarios: g.scenarios } : {};
    if (g.scenarios && own.length === 0) return { ...r!, ...bound, status: 'not-run' as const, note: `its scenarios (${g.scenarios.join(', ')}) did not run` };
    return { ...r!, ...bound };
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
  const extra = { k6: results, gates: gateResults, ...(invalid.length ? { invalidBecause: invalid.join('; ') } : {}) };
  if (interrupted || ctx.signal.aborted) return { status: 'interrupted', reason: 'interrupted during k6', ...extra };
  return reasons.length ? { status: 'failed', reason: reasons.join('; '), ...extra } : { status: 'passed', ...extra };
}

/** `toInflux`: the samples also went to InfluxDB, so count those that are one point there. */
async function analyse(r: K6RunResult, scenario: string, gates: GateSpec[], opts: LoadPhaseOptions, runDir: string, toInflux: boolean) {
  const store: MetricStore = await ingestK6Samples(r.files.samples, metricTypesFromSummary(r.files.summary), windowSecondsFor(opts.durationMs), toInflux);
  // The same gates on this scenario alone, next to k6's thresholds for this run: a cross-check
  // of the harness's analysis against k6 (not the gate decision, which is over all scenarios).
  const evaluated = evaluateGates(gates, store).map((g) => ({ ...g, scenario }));
  const disagreements = compareWithK6(evaluated, r.thresholds, store, gates);
  const consistency = evaluated.map((g) => {
    const t = r.thresholds.find((t) => t.metric === g.metric && t.expression === g.expression);
    const d = disagreements.find((d) => d.metric === g.metric && d.expression === g.expression);
    return {
      metric: g.metric,
      expression: g.expression,
      samples: g.samples,
      harness: { ...(g.observed !== undefined ? { observed: g.observed } : {}), status: g.status },
      ...(t ? { k6: { ...(t.observed !== undefined ? { observed: t.observed } : {}), passed: t.passed } } : {}),
      ...(d
        ? { disagreement: `harness and k6 disagree on ${g.metric} ${g.expression}: harness ${d.harness.observed} (${d.harness.passed ? 'pass' : 'fail'}) vs k6 ${d.k6.observed} (${d.k6.passed ? 'pass' : 'fail'}), tolerance ${d.toleranceMs?.toPrecision(3)}` }
        : {}),
    };
  });
  const reqs = store.merged('http_reqs');
  const failed = store.merged('http_req_failed');
  const dropped = store.merged('dropped_iterations');
  const seconds = Math.max(1, store.lastTimestamp - store.firstTimestamp + 1);
  const rampUpEnd = store.firstTimestamp + (opts.rampUpSeconds ?? 0);
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
    consistency,
    file,
    summary: {
      samples: store.samples,
      samplesByMetric: countsByMetric(store),
      ...(store.coincident.size ? { coincidentByMetric: Object.fromEntries(store.coincident) } : {}),
      requests: reqs.count,
      requestsPerSec: Math.round((reqs.count / seconds) * 10) / 10,
      errorRate: failed.count ? failed.nonZero / failed.count : 0,
      droppedIterations: dropped.sum,
      windows,
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

/** Windows of 10 s, widened for long runs so a verdict holds at most ~120 of them. */
function windowSecondsFor(durationMs: number | undefined): number {
  return Math.max(10, Math.ceil((durationMs ?? 0) / 1000 / 120));
}
