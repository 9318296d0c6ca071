import type { WindowsFile } from '../../analysis/window-capture.ts';
import { isDriftGate, type GateDecl } from '../config/config-schema.ts';
import type { SoakConfig } from '../config/schema-soak.ts';
import type { PhaseDef } from '../run/pipeline.ts';
import { driftGateReason, driftGateResult } from './drift.ts';
import { errorBudgetCapture, errorBudgetResults } from './error-budget.ts';
import { RssTrend } from './rss-trend.ts';
import type { MemoryTrendResult, SoakOutcome } from './soak-types.ts';

/**
 * How a run held up over time (`verdict.soak`): drift gates and the error budget from the run's
 * windows (`<runDir>/windows.json`, read once by the run), the target's memory from the readings taken during the load.
 * Nothing here when none of them is configured.
 */

/** The samples to keep per window beyond the gates' own: the error budget's. */
export function soakCaptures(soak: SoakConfig): Pick<GateDecl, 'metric' | 'tags' | 'responses'>[] {
  return soak.errorBudget ? [errorBudgetCapture(soak.errorBudget)] : [];
}

export interface MemoryTarget {
  service: string;
  pid: number;
}

/**
 * The load phase with the target's memory read while it runs (`soak.targetMemory`): a reading
 * every `intervalSeconds` from the phase's start, the slope from the end of the first scenario's
 * ramp-up. `targets` is called when the phase starts (the target is up by then).
 */
export function withMemoryTrend(
  def: PhaseDef,
  o: { targets: () => MemoryTarget[]; config: NonNullable<SoakConfig['targetMemory']>; rampUpSeconds: number; onResult: (r: MemoryTrendResult[], note?: string) => void },
): PhaseDef {
  const inner = def.run;
  if (!inner) return def;
  return {
    ...def,
    run: async (ctx) => {
      const chosen = o.targets().filter((t) => !o.config.services || o.config.services.includes(t.service));
      const from = Date.now() / 1000 + o.rampUpSeconds;
      const trends = chosen.map((t) => new RssTrend(t.service, t.pid, () => from).start(o.config.intervalSeconds * 1000));
      try {
        return await inner(ctx);
      } finally {
        const results = trends.map((t) => t.result(o.config.maxGrowthMbPerHour));
        const note = chosen.length
          ? undefined
          : `soak.targetMemory: perf did not start the target${o.config.services ? ` (no started service named ${o.config.services.join(', ')})` : ''}, so its memory was not read; use target.start (or the embedded sample-app)`;
        o.onResult(results, note);
      }
    },
  };
}

/** `windows`: the run's windows.json (undefined when the load wrote none). */
export function evaluateSoak(o: { windows: WindowsFile | undefined; gates: readonly GateDecl[]; soak: SoakConfig; memory?: MemoryTrendResult[]; memoryNote?: string }): SoakOutcome | undefined {
  const driftGates = o.gates.filter(isDriftGate);
  if (!driftGates.length && !o.soak.errorBudget && !o.soak.targetMemory) return undefined;
  const windows = o.windows;
  const notes: string[] = [];
  const drift = driftGates.map((g) => driftGateResult(g, windows, o.soak.driftWindows));
  const errorBudget = o.soak.errorBudget && windows ? errorBudgetResults(o.soak.errorBudget, windows) : [];
  if (o.soak.errorBudget && !errorBudget.length) notes.push(`soak.errorBudget: no scenario that ran has samples of ${o.soak.errorBudget.metric}${o.soak.errorBudget.tags ? ` with ${JSON.stringify(o.soak.errorBudget.tags)}` : ''}`);
  if (o.memoryNote) notes.push(o.memoryNote);
  return { drift, errorBudget, memory: o.memory ?? [], notes };
}

/** Lines for `verdict.reasons`: what failed, or could not be decided. */
export function soakReasons(s: SoakOutcome): string[] {
  return [
    ...s.drift.filter((g) => g.status === 'failed' || g.status === 'insufficient-data').map(driftGateReason),
    ...s.errorBudget.filter((b) => b.status === 'failed').map((b) => b.reason!),
    ...s.memory.filter((m) => m.status !== 'passed').map((m) => m.reason!),
  ];
}
