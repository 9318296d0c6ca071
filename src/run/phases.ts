import { CheckSkipped, type Check } from '../checks/types.ts';
import { PHASE_NAMES, type PhaseName, type PhasePolicyConfig, type ResolvedConfig } from '../config/config-schema.ts';
import { UserError } from '../errors.ts';
import { parseDurationMs } from '../cli/flags.ts';
import type { PhaseDef } from './pipeline.ts';

/** The pipeline's order: what must hold before load is worth running comes first. */
export const PHASE_ORDER: readonly PhaseName[] = PHASE_NAMES;

export interface PhasePolicyDefaults {
  parallel: boolean;
  blocking: boolean;
  timeoutMs: number;
  checkTimeoutMs: number;
  retries: number;
  concurrency: number;
  description: string;
}

/**
 * The phase policy the user's documents asked for (DESIGN.md): health, smoke and
 * frontend smoke are parallel and blocking; flows are sequential and not blocking;
 * database integrity is parallel and blocking. Each can be overridden in
 * `perf.config.ts` under `phases.<name>`.
 */
export const DEFAULT_POLICIES: Record<PhaseName, PhasePolicyDefaults> = {
  health: { parallel: true, blocking: true, timeoutMs: 60_000, checkTimeoutMs: 10_000, retries: 2, concurrency: 8, description: 'the status endpoint and its assertions; Redis, PostgreSQL and storage when configured' },
  smoke: { parallel: true, blocking: true, timeoutMs: 120_000, checkTimeoutMs: 10_000, retries: 1, concurrency: 8, description: 'every endpoint answers: refused without credentials, bad bodies rejected, unknown ids not found' },
  flows: { parallel: false, blocking: false, timeoutMs: 180_000, checkTimeoutMs: 30_000, retries: 1, concurrency: 1, description: 'the project\'s flows (flow() files): journeys end to end, with evidence' },
  'db-integrity': { parallel: true, blocking: true, timeoutMs: 60_000, checkTimeoutMs: 15_000, retries: 0, concurrency: 4, description: 'schema, constraints, row-level security, functions and triggers' },
  'frontend-smoke': { parallel: true, blocking: true, timeoutMs: 120_000, checkTimeoutMs: 30_000, retries: 1, concurrency: 2, description: 'pages load in Chromium without errors; redirects hold' },
  'frontend-flows': { parallel: false, blocking: false, timeoutMs: 180_000, checkTimeoutMs: 60_000, retries: 1, concurrency: 1, description: 'the project\'s browser flows (browserFlow() files) in Chromium' },
  load: { parallel: false, blocking: false, timeoutMs: 30 * 60_000, checkTimeoutMs: 30 * 60_000, retries: 0, concurrency: 1, description: 'k6 scenarios with P95/P99 gates' },
};

/** What a check factory may need besides the config. */
export interface CheckFactoryContext {
  /** The project folder (the config file's): the user's flow files are found from it. */
  projectDir: string;
  /** `perf list`: also the checks that will not run this time (flows not selected), each saying why. */
  listing?: boolean;
}

/** A phase's checks. Async: the user's flow files are type-checked, bundled and imported first. */
export type CheckFactory = (config: ResolvedConfig, ctx: CheckFactoryContext) => Promise<Check[]> | Check[];

/**
 * `--phase a,b` and `--skip c`: names are validated against the known phases. Phases this
 * build does not provide are left out of the default selection and refused when asked for.
 */
export function selectPhases(config: ResolvedConfig, only: string[] | undefined, skip: string[] | undefined, available?: ReadonlySet<PhaseName>): PhaseName[] {
  const known = new Set<string>(PHASE_ORDER);
  const unknown = [...(only ?? []), ...(skip ?? [])].filter((n) => !known.has(n));
  if (unknown.length) {
    throw new UserError(`unknown phase${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, `Phases: ${PHASE_ORDER.join(', ')}.`);
  }
  const missing = (only ?? []).filter((n) => available && !available.has(n as PhaseName));
  if (missing.length) {
    throw new UserError(`phase${missing.length > 1 ? 's' : ''} not available in this version of perf: ${missing.join(', ')}`, `Available: ${[...available!].join(', ')}.`);
  }
  return PHASE_ORDER.filter((name) => {
    if (available && !available.has(name)) return false;
    if (only?.length) return only.includes(name);
    if (skip?.includes(name)) return false;
    return config.phases[name]?.enabled !== false;
  });
}

/** A check phase as data: policy from defaults overlaid with `phases.<name>` of the config. */
export function checkPhase(name: PhaseName, config: ResolvedConfig, checks: Check[]): PhaseDef {
  const d = DEFAULT_POLICIES[name];
  const o: Partial<PhasePolicyConfig> = config.phases[name] ?? {};
  const disabled = new Set(o.disable ?? []);
  const unknown = [...disabled].filter((n) => !checks.some((c) => c.name === n));
  if (unknown.length) {
    throw new UserError(
      `phases.${name}.disable: no check named ${unknown.map((n) => JSON.stringify(n)).join(', ')} in phase ${name}`,
      `Checks of ${name}: ${checks.map((c) => c.name).join(', ') || 'none'} (perf list shows them).`,
    );
  }
  return {
    name,
    description: d.description,
    parallel: o.parallel ?? d.parallel,
    blocking: o.blocking ?? d.blocking,
    timeoutMs: o.timeout ? parseDurationMs(o.timeout) : d.timeoutMs,
    checkTimeoutMs: o.checkTimeout ? parseDurationMs(o.checkTimeout) : d.checkTimeoutMs,
    retries: o.retries ?? d.retries,
    // `smoke.concurrency` is the smoke phase's own spelling of its policy; `phases.smoke` wins.
    concurrency: o.concurrency ?? (name === 'smoke' ? config.smoke.concurrency : d.concurrency),
    // A switched-off check stays visible: skipped, saying where it was switched off.
    checks: checks.map((c) =>
      disabled.has(c.name)
        ? {
            ...c,
            retries: 0,
            run: async () => {
              throw new CheckSkipped(`switched off in the config (phases.${name}.disable)`);
            },
          }
        : c,
    ),
  };
}
