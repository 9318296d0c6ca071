/**
 * Runs inside k6 (bundled into every scenario by bundler/bundle.ts). Merges what perf
 * decides at run time (users, duration, gate thresholds) into the scenario's own
 * `options`, so one cached bundle serves every `perf run` invocation.
 *
 * Contract of `__ENV.PERF_K6_OPTIONS` (JSON, all optional):
 *   vus        – VUs for VU-based executors (constant-vus, per-vu-iterations,
 *                shared-iterations; ramping-vus stages are scaled so the peak equals it)
 *   duration   – duration of time-based executors; replaces `iterations` when the
 *                scenario has no `scenarios` block
 *   thresholds – appended to the scenario's own thresholds, metric by metric
 *   windows    – true: iterations are tagged `perf_window` ramp-up/steady (read by
 *                bundler/k6-window-runtime.ts, not here)
 * A scenario with `env: { PERF_MANAGED: '1' }` sizes itself from PERF_USERS/PERF_DURATION
 * (load profiles) and keeps its executor settings; only thresholds are added.
 */
declare const __ENV: Record<string, string | undefined>;

type Threshold = string | { threshold: string; abortOnFail?: boolean; delayAbortEval?: string };
interface Stage {
  duration: string;
  target: number;
}
interface ScenarioOptions {
  executor?: string;
  vus?: number;
  duration?: string;
  stages?: Stage[];
  [k: string]: unknown;
}
interface Options {
  vus?: number;
  duration?: string;
  iterations?: number;
  stages?: Stage[];
  scenarios?: Record<string, ScenarioOptions>;
  thresholds?: Record<string, Threshold[]>;
  [k: string]: unknown;
}
interface PerfOverrides {
  vus?: number;
  duration?: string;
  thresholds?: Record<string, Threshold[]>;
}

function scaleStages(stages: Stage[], vus: number): Stage[] {
  const peak = Math.max(1, ...stages.map((s) => s.target));
  return stages.map((s) => ({ ...s, target: Math.round((s.target * vus) / peak) }));
}

/**
 * A fixed number of shared iterations cannot be spread over more VUs than iterations
 * (k6 rejects the config): such a scenario gets at most one VU per iteration.
 */
function clampToIterations(vus: number, iterations: unknown, executor: string | undefined): number {
  if (typeof iterations !== 'number') return vus;
  if (executor !== undefined && executor !== 'shared-iterations') return vus;
  return Math.min(vus, iterations);
}

export function applyPerfOptions(base: Options | undefined): Options {
  const raw = __ENV.PERF_K6_OPTIONS;
  const out: Options = { ...(base ?? {}) };
  if (!raw) return out;
  const o = JSON.parse(raw) as PerfOverrides;

  if (o.thresholds) {
    const merged: Record<string, Threshold[]> = { ...(out.thresholds ?? {}) };
    for (const [metric, list] of Object.entries(o.thresholds)) {
      merged[metric] = [...(merged[metric] ?? []), ...list];
    }
    out.thresholds = merged;
  }

  if (out.scenarios) {
    const scenarios: Record<string, ScenarioOptions> = {};
    for (const [name, s] of Object.entries(out.scenarios)) {
      const copy: ScenarioOptions = { ...s };
      // Scenarios that size themselves from PERF_USERS / PERF_DURATION (scenarios/lib/profile.ts).
      if ((copy.env as Record<string, string> | undefined)?.PERF_MANAGED === '1') {
        scenarios[name] = copy;
        continue;
      }
      if (o.vus !== undefined) {
        if (copy.executor === 'ramping-vus' && copy.stages) copy.stages = scaleStages(copy.stages, o.vus);
        else if ('vus' in copy || copy.executor === undefined) copy.vus = clampToIterations(o.vus, copy.iterations, copy.executor);
      }
      if (o.duration !== undefined && 'duration' in copy) copy.duration = o.duration;
      scenarios[name] = copy;
    }
    out.scenarios = scenarios;
  } else {
    if (o.duration !== undefined && !out.stages) {
      out.duration = o.duration;
      delete out.iterations;
    }
    if (o.vus !== undefined) {
      if (out.stages) out.stages = scaleStages(out.stages, o.vus);
      else out.vus = clampToIterations(o.vus, out.iterations, undefined);
    }
  }
  return out;
}
