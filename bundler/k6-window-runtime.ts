/**
 * Runs inside k6 (bundled into every scenario by bundler/bundle.ts). Tags each iteration's
 * samples with the part of its scenario it started in, `perf_window` = `ramp-up` | `steady`
 * (bundler/window-tag.ts), so a gate with `window: 'steady'` and k6's threshold for it
 * (`metric{perf_window:steady}`) judge the same samples.
 *
 * Contract: only when `__ENV.PERF_K6_OPTIONS` has `windows: true` (perf sets it when a gate
 * of the scenario needs the tag; otherwise options and samples are untouched).
 * - A scenario is steady from when it first reaches its peak: for `ramping-vus` and
 *   `ramping-arrival-rate`, the end of the first stage whose target is the highest (0 when it
 *   starts there); every other executor is steady from its start. Time is measured from the
 *   scenario's own start (`exec.scenario.startTime`).
 * - An iteration is tagged when it starts, so its samples carry one value even when it ends
 *   after the boundary. setup() and teardown() run in no scenario and carry no tag: they
 *   are in no `steady` window.
 * - Each scenario's `exec` is routed through `__perf_exec` (exported by the bundle wrapper),
 *   which tags and then calls the scenario's own function; shorthand options (no
 *   `scenarios`) run the wrapped default export.
 */
import exec from 'k6/execution';
import { steadyStartMs, WINDOW_TAG, WINDOW_VALUES } from './window-tag.ts';

declare const __ENV: Record<string, string | undefined>;

interface Stage {
  duration: string;
  target: number;
}
interface ScenarioOptions {
  executor?: string;
  exec?: string;
  stages?: Stage[];
  startVUs?: number;
  startRate?: number;
  [k: string]: unknown;
}
interface Options {
  stages?: Stage[];
  scenarios?: Record<string, ScenarioOptions>;
  [k: string]: unknown;
}
type Module = Record<string, unknown>;

/** The export every scenario's `exec` is routed through. */
export const WINDOW_EXEC = '__perf_exec';

const enabled = ((): boolean => {
  try {
    return (JSON.parse(__ENV.PERF_K6_OPTIONS || '{}') as { windows?: boolean }).windows === true;
  } catch {
    return false;
  }
})();
/** Per k6 scenario: the scenario's own exec function name, and when it becomes steady (ms after its start). */
const original: Record<string, string> = {};
const steadyAfterMs: Record<string, number> = {};

/** Routes every scenario through `__perf_exec` and notes when each becomes steady (when enabled). */
export function windowOptions(options: Options, mod: Module): Options {
  if (!enabled) return options;
  if (!options.scenarios) {
    steadyAfterMs.default = steadyStartMs(options.stages);
    return options;
  }
  const scenarios: Record<string, ScenarioOptions> = {};
  for (const [name, s] of Object.entries(options.scenarios)) {
    const fn = s.exec ?? 'default';
    if (typeof mod[fn] !== 'function') throw new Error(`scenario "${name}": exec "${fn}" is not an exported function of the script`);
    original[name] = fn;
    const ramping = s.executor === 'ramping-vus' || s.executor === 'ramping-arrival-rate';
    steadyAfterMs[name] = ramping ? steadyStartMs(s.stages, s.executor === 'ramping-vus' ? (s.startVUs ?? 1) : (s.startRate ?? 0)) : 0;
    scenarios[name] = { ...s, exec: WINDOW_EXEC };
  }
  return { ...options, scenarios };
}

/** One iteration: tag it with its window, then run the scenario's function (`fn`, or the one its scenario names). */
export function runInWindow(mod: Module, data: unknown, fn?: string): unknown {
  const name = exec.scenario.name;
  if (enabled) {
    const w = Date.now() - exec.scenario.startTime >= (steadyAfterMs[name] ?? 0) ? WINDOW_VALUES.steady : WINDOW_VALUES.rampUp;
    const tags = exec.vu.metrics.tags as Record<string, unknown>;
    if (tags[WINDOW_TAG] !== w) tags[WINDOW_TAG] = w;
  }
  return (mod[fn ?? original[name] ?? 'default'] as (d: unknown) => unknown)(data);
}
