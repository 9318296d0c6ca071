/**
 * The flows phase: the built-in user journeys, one check each, run in this order.
 *
 * `config.flows.only` keeps the named flows (in this order); an unknown name is an error that
 * lists the known ones, so a typo cannot silently run nothing. `FLOW_NAMES` is what `perf list`
 * shows.
 */
import type { ResolvedConfig } from '../config/config-schema.ts';
import { UserError } from '../errors.ts';
import { authFlows } from './flow-auth.ts';
import { resourceFlows } from './flow-resources.ts';
import { wsFlows } from './flow-ws.ts';
import type { Check } from './types.ts';

const ALL_FLOWS: readonly Check[] = [...authFlows, ...resourceFlows, ...wsFlows];

export const FLOW_NAMES: readonly string[] = ALL_FLOWS.map((f) => f.name);

export function flowChecks(config: ResolvedConfig): Check[] {
  const only = config.flows.only;
  if (only.length === 0) return [...ALL_FLOWS];
  const unknown = only.filter((name) => !FLOW_NAMES.includes(name));
  if (unknown.length) {
    throw new UserError(`flows.only: unknown flow ${unknown.map((n) => JSON.stringify(n)).join(', ')}`, `known flows: ${FLOW_NAMES.join(', ')}`);
  }
  return ALL_FLOWS.filter((f) => only.includes(f.name));
}
