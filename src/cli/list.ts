/**
 * `perf list`: every phase in run order with its policy and checks, the user's flows and browser
 * flows (file:line, tags), the load phase's scenarios, profile and gates, and the checks of
 * `db-integrity-after-load`, each marked when it is off:
 *
 *   phase off        `[disabled]`                        (phases.<name>.enabled: false)
 *   check off        `[disabled (phases.<name>.disable)]`
 *   flow off         `[not selected (…)]`, `[skip: …]`   (flows.only / tags, flow.skip)
 *   scenario off     `[not selected (load.scenarios)]`   (a file of scenariosDir not in load.scenarios)
 *   gate off         `[off: … not selected]`             (its scenarios are not among those that run)
 *
 * Side-effect free: no target, no network, no bundling of scenarios, no k6. The checks come from
 * the same factories as a run (with `listing`), the after-load reconcile checks from
 * dbReconcileChecks without counters (nothing runs them here).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { listScenarios } from '../../bundler/bundle.ts';
import { gateSpecText } from '../../analysis/gates.ts';
import { PROFILES } from '../../scenarios/lib/profiles.ts';
import { dbReconcileChecks } from '../checks/db-reconcile.ts';
import type { Check } from '../checks/types.ts';
import type { PhaseName, ResolvedConfig } from '../config/config-schema.ts';
import { listLine } from '../flows/checks.ts';
import { parseDurationMs } from './flags.ts';
import { formatMs } from './progress.ts';
import { checkPhase, DEFAULT_POLICIES, PHASE_ORDER, type CheckFactory } from '../run/phases.ts';
import type { PhaseDef } from '../run/pipeline.ts';

export interface ListOptions {
  config: ResolvedConfig;
  /** The project folder (the config file's): flows, browser flows and scenarios are found from it. */
  projectDir: string;
  factories: Partial<Record<PhaseName, CheckFactory>>;
}

const enabledIn = (config: ResolvedConfig, name: PhaseName): boolean => config.phases[name]?.enabled !== false;
const offMark = (enabled: boolean): string => (enabled ? '' : '  [disabled]');

function policyText(p: PhaseDef): string {
  return `(${p.parallel ? 'parallel' : 'sequential'}, ${p.blocking ? 'blocking' : 'not blocking'}, ${formatMs(p.timeoutMs)} timeout, ${p.retries} retries)`;
}

function checkLines(name: string, p: PhaseDef, config: ResolvedConfig): string[] {
  const disabled = new Set(config.phases[name as PhaseName]?.disable ?? []);
  return p.checks.map((c: Check) => `  ${listLine(c, disabled.has(c.name) ? name : undefined)}`);
}

/** The scenarios a run would bundle (as src/run/run.ts picks them), each with its file, and the files of scenariosDir left out. */
export function loadScenarioLines(config: ResolvedConfig, projectDir: string): { lines: string[]; selected: string[] } {
  const dir = path.resolve(projectDir, config.load.scenariosDir);
  const inDir = listScenarios(dir);
  const names = config.load.scenarios.length ? config.load.scenarios : inDir;
  const rel = (f: string) => path.relative(projectDir, f) || '.';
  const lines: string[] = [];
  const selected: string[] = [];
  for (const n of names) {
    const file = n.endsWith('.ts') ? path.resolve(projectDir, n) : path.join(dir, `${n}.ts`);
    const name = n.endsWith('.ts') ? path.basename(n, '.ts') : n;
    selected.push(name);
    lines.push(`    ${name}  (${rel(file)})${existsSync(file) ? '' : '  [not found]'}`);
  }
  for (const n of inDir.filter((s) => !selected.includes(s))) {
    lines.push(`    ${n}  (${rel(path.join(dir, `${n}.ts`))})  [not selected (load.scenarios)]`);
  }
  if (!names.length) lines.push(`    none: no scenario in ${rel(dir)}/ (load.scenariosDir)`);
  return { lines, selected };
}

function loadLines(config: ResolvedConfig, projectDir: string): string[] {
  const enabled = enabledIn(config, 'load');
  const policy = config.phases.load;
  const timeoutMs = policy?.timeout ? parseDurationMs(policy.timeout) : DEFAULT_POLICIES.load.timeoutMs;
  const profile = PROFILES[config.load.profile];
  const peak = profile.peakFactor === 1 ? `${config.users} users` : `${config.users} users, peak ${Math.ceil(config.users * profile.peakFactor)}`;
  const out = [
    `load  (k6, ${formatMs(timeoutMs)} timeout)${offMark(enabled)}`,
    `  ${DEFAULT_POLICIES.load.description}`,
    `  profile: ${config.load.profile} (ramp-up ${profile.rampUp}, hold ${profile.hold}; ${peak})  duration: ${config.load.duration ?? `the profile's (${profile.rampUp} + ${profile.hold})`}${config.load.shards > 1 ? `  shards: ${config.load.shards} k6 processes per scenario` : ''}`,
  ];
  const { lines, selected } = loadScenarioLines(config, projectDir);
  out.push(`  scenarios:`, ...lines);
  out.push(`  gates:${config.gates.length ? '' : ' none (gates in the config)'}`);
  for (const g of config.gates) {
    const off = (g.scenarios ?? []).filter((s) => !selected.includes(s));
    const mark = !off.length ? '' : off.length === g.scenarios!.length ? `  [off: ${off.join(', ')} not selected]` : `  [${off.join(', ')} not selected]`;
    out.push(`    ${gateSpecText(g)}${mark}`);
  }
  // soak: judged after the load (src/soak/); absent under a profile `soak.profiles` leaves out.
  const { errorBudget: b, targetMemory: m } = config.soak;
  if (b) out.push(`  error budget: ${b.budget * 100} % of ${b.metric}${b.tags ? `{${Object.entries(b.tags).map(([k, v]) => `${k}:${v}`).join(',')}}` : ''} over each scenario, no window burning it faster than ${b.maxBurnRate}×${b.scenarios ? `  [${b.scenarios.join(', ')}]` : ''}`);
  if (m) out.push(`  target memory: grows at most ${m.maxGrowthMbPerHour} MB/h${m.services ? ` (${m.services.join(', ')})` : ''}, read every ${m.intervalSeconds} s`);
  return out;
}

/** `perf list`'s text, one line per string. */
export async function listProject({ config, projectDir, factories }: ListOptions): Promise<string[]> {
  const out: string[] = [];
  let integrity: Check[] | undefined;
  for (const name of PHASE_ORDER) {
    const enabled = enabledIn(config, name);
    if (name === 'load') {
      out.push(...loadLines(config, projectDir));
      continue;
    }
    const factory = factories[name];
    if (!factory) {
      out.push(`${name}  [not available in this version]`);
      continue;
    }
    // The same project folder as a run (flows.dir and browserFlows.dir are relative to it).
    const checks = await factory(config, { projectDir, listing: true });
    if (name === 'db-integrity') integrity = checks;
    const p = checkPhase(name, config, checks);
    out.push(`${name}  ${policyText(p)}${offMark(enabled)}`, ...checkLines(name, p, config));
  }
  // After load, as a run does (src/run/run.ts): the db-integrity checks again, then the reconciliation.
  if (config.database.reconcile && integrity) {
    const on = enabledIn(config, 'load') && enabledIn(config, 'db-integrity');
    const again = checkPhase('db-integrity', config, [...integrity, ...dbReconcileChecks(config, () => undefined)]);
    out.push(
      `db-integrity-after-load  ${policyText(again)}${on ? '' : '  [disabled (runs only with load and db-integrity)]'}`,
      '  integrity again, and what the load created reconciled with the database',
      ...checkLines('db-integrity', again, config),
    );
  }
  return out;
}
