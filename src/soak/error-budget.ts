import { captureKey, type WindowsFile } from '../../analysis/window-capture.ts';
import type { SoakConfig } from '../config/schema-soak.ts';
import type { ErrorBudgetResult } from './soak-types.ts';

/**
 * The error budget over time (`soak.errorBudget`): a scenario may fail `budget` of its samples
 * over its whole run. Spent window by window from the run's windows (all of them: errors during
 * the ramp-up spend the budget too); fails when the run ends with more than 100 % spent (saying
 * when it ran out), or when one window burned faster than `maxBurnRate` × the budget, an outage
 * the whole-run share would average away.
 */
export type ErrorBudgetConfig = NonNullable<SoakConfig['errorBudget']>;

/** The samples the budget reads, as a window-capture filter (src/load/load-phase.ts captures it). */
export function errorBudgetCapture(b: ErrorBudgetConfig): { metric: string; tags?: Record<string, string>; responses: 'all' } {
  return { metric: b.metric, ...(b.tags ? { tags: b.tags } : {}), responses: 'all' };
}

export function errorBudgetResults(b: ErrorBudgetConfig, windows: WindowsFile): ErrorBudgetResult[] {
  const key = captureKey(errorBudgetCapture(b));
  const out: ErrorBudgetResult[] = [];
  for (const sc of windows.scenarios) {
    if (b.scenarios && !b.scenarios.includes(sc.scenario)) continue;
    const ws = sc.series[key]?.windows;
    if (!ws?.length) continue;
    const samples = ws.reduce((s, w) => s + w.count, 0);
    const failed = ws.reduce((s, w) => s + w.nonZero, 0);
    const allowed = b.budget * samples;
    let cumFailed = 0;
    let exhaustedAt: number | undefined;
    let worst: ErrorBudgetResult['worstWindow'];
    // A window is judged on its burn rate only with enough samples to see it (one failure in a
    // window of 3 samples is not a 33 % outage).
    const minSamples = Math.ceil(1 / (b.maxBurnRate * b.budget));
    const series: ErrorBudgetResult['windows'] = [];
    for (const w of ws) {
      cumFailed += w.nonZero;
      if (exhaustedAt === undefined && cumFailed > allowed) exhaustedAt = w.start + windows.windowSeconds;
      const burnRate = w.count ? w.nonZero / w.count / b.budget : 0;
      if (w.count >= minSamples && (!worst || burnRate > worst.burnRate)) worst = { start: w.start, burnRate: round(burnRate), samples: w.count, failed: w.nonZero };
      series.push({ start: w.start, samples: w.count, failed: w.nonZero, spentPct: round((cumFailed / allowed) * 100) });
    }
    const spentPct = round((failed / allowed) * 100);
    const base = { scenario: sc.scenario, metric: key, budget: b.budget, maxBurnRate: b.maxBurnRate, samples, failed, spentPct, windows: series, windowSeconds: windows.windowSeconds };
    const after = exhaustedAt !== undefined ? Math.max(0, Math.round(exhaustedAt - sc.firstTimestamp)) : undefined;
    const pct = (x: number) => `${Number((x * 100).toPrecision(3))} %`;
    let reason: string | undefined;
    if (spentPct > 100) reason = `error budget of ${pct(b.budget)} ${key} in ${sc.scenario}: ${failed} of ${samples} failed (${pct(failed / samples)}), ${spentPct} % of the budget spent; it ran out ${after} s into the scenario`;
    else if (worst && worst.burnRate > b.maxBurnRate)
      reason = `error budget of ${pct(b.budget)} ${key} in ${sc.scenario}: the window at ${Math.round(worst.start - sc.firstTimestamp)} s burned it ${worst.burnRate}× too fast (${worst.failed} of ${worst.samples} failed; at most ${b.maxBurnRate}×)`;
    out.push({
      ...base,
      ...(after !== undefined ? { exhaustedAfterSeconds: after } : {}),
      ...(worst ? { worstWindow: worst } : {}),
      status: reason ? 'failed' : 'passed',
      ...(reason ? { reason } : {}),
    });
  }
  return out;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
