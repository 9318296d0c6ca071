/**
 * The check factories of the phases the user's flow files feed (src/run/registry.ts):
 * `flows` (flow()), `frontend-flows` (browserFlow()), and the `db-integrity` checks declared
 * with `flow(name, { phase: 'db-integrity' }, ...)`.
 *
 * Contract: only selected flows become checks of a run; with `listing` (perf list) every
 * declared flow does, those not selected saying why (their run would be `skipped`). A `flows` /
 * `frontend-flows` phase with no flow at all gets one `no_flows` check, skipped with the reason
 * (the folder and the option to set), so the phase reports `skipped` rather than a vacuous pass.
 */
import path from 'node:path';
import { CheckSkipped, type Check } from '../checks/types.ts';
import type { ResolvedConfig } from '../config/config-schema.ts';
import { loadUserFlows, type FlowsOption, type LoadedFlow } from './load.ts';
import { flowCheck, type FlowCheck } from './run-flow.ts';

export interface FactoryContext {
  projectDir: string;
  /** `perf list`: every declared flow, also those that will not run. */
  listing?: boolean;
}

export const NO_FLOWS = 'no_flows';

async function checksOf(config: ResolvedConfig, ctx: FactoryContext, option: FlowsOption, keep: (f: LoadedFlow) => boolean, placeholder: boolean): Promise<Check[]> {
  const loaded = await loadUserFlows(config, ctx.projectDir, option);
  const flows = loaded.flows.filter(keep);
  const checks: Check[] = flows.filter((f) => ctx.listing || !f.off).map((f) => flowCheck(f, config, ctx.projectDir));
  if (checks.length || !placeholder) return checks;
  const rel = path.relative(ctx.projectDir, loaded.dir) || '.';
  const fn = option === 'flows' ? 'flow' : 'browserFlow';
  const why = loaded.missing
    ? `no ${rel}/ folder: write ${fn}() files there (docs/flows.md), or point ${option}.dir at them`
    : flows.length
      ? `no ${fn}() selected: ${[...new Set(flows.map((f) => f.off))].join('; ')}`
      : `no ${fn}() declared in ${rel}/ (files **/*.ts; docs/flows.md)`;
  return [
    {
      name: NO_FLOWS,
      description: why,
      retries: 0,
      run: async () => {
        throw new CheckSkipped(why);
      },
    },
  ];
}

const phaseOf = (f: LoadedFlow) => f.options.phase ?? 'flows';

export function userFlowChecks(config: ResolvedConfig, ctx: FactoryContext): Promise<Check[]> {
  return checksOf(config, ctx, 'flows', (f) => phaseOf(f) === 'flows', true);
}

export function userBrowserFlowChecks(config: ResolvedConfig, ctx: FactoryContext): Promise<Check[]> {
  return checksOf(config, ctx, 'browserFlows', () => true, true);
}

/** The `db-integrity` checks the user's flow files declare (none is fine: the phase has its own). */
export function userDbIntegrityChecks(config: ResolvedConfig, ctx: FactoryContext): Promise<Check[]> {
  return checksOf(config, ctx, 'flows', (f) => phaseOf(f) === 'db-integrity', false);
}

/** `perf list`'s line for a check: file, tags, and why it is off. */
export function listLine(c: Check, disabledIn?: string): string {
  const disabled = disabledIn !== undefined;
  const f = (c as Partial<FlowCheck>).flow;
  if (!f) return `${c.name}${disabled ? `  [disabled (phases.${disabledIn}.disable)]` : ''}${c.description ? `  ${c.description}` : ''}`;
  const parts = [`${f.file}${f.line ? `:${f.line}` : ''}`];
  if (f.tags.length) parts.push(`tags: ${f.tags.join(', ')}`);
  const off = disabled ? `disabled (phases.${disabledIn}.disable)` : (f.off ?? (f.skip ? `skip: ${f.skip}` : undefined));
  return `${c.name}  (${parts.join('; ')})${off ? `  [${off}]` : ''}${c.description ? `  ${c.description}` : ''}`;
}
