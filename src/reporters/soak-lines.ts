import type { DriftGateResult, ErrorBudgetResult, MemoryTrendResult } from '../soak/soak-types.ts';
import { driftGateTitle, driftPartText } from '../soak/drift.ts';

/**
 * `verdict.soak` as text, shared by the console, GitHub summary and JUnit reporters (and the
 * report's tables): drift gates, error budgets, target memory trends (src/soak/, docs/soak.md).
 */

/** 0.01 → `1 %`. */
export function budgetPct(budget: number): string {
  return `${Number((budget * 100).toPrecision(3))} %`;
}

const mb = (n: number | undefined) => (n === undefined ? '?' : String(Number(n.toPrecision(4))));

/** `+12 MB/h`, `-3.5 MB/h`, `n/a` without a slope. */
export function slopeText(slope: number | undefined): string {
  return slope === undefined ? 'n/a' : `${slope >= 0 ? '+' : ''}${Number(slope.toPrecision(4))} MB/h`;
}

/** The status as a word: `not run`, `insufficient data`. */
export function soakStatusWord(status: string): string {
  return status === 'not-run' ? 'not run' : status === 'insufficient-data' ? 'insufficient data' : status;
}

/** `http_req_duration p(95) max drift +20%: passed — multi-user: 12.1 ms → 12.4 ms (+2.5%, …)`: the decided part, or the status and note. */
export function driftGateText(r: DriftGateResult): string {
  const head = `${driftGateTitle(r)}: ${soakStatusWord(r.status)}`;
  const note = r.note ? ` (${r.note})` : '';
  return r.decided ? `${head} — ${driftPartText(r.decided, r.unit)}${note}` : `${head}${note}`;
}

/** Seconds from the scenario's first window to its worst one. */
export function worstWindowAt(b: ErrorBudgetResult): number | undefined {
  if (!b.worstWindow) return undefined;
  return Math.round(b.worstWindow.start - (b.windows[0]?.start ?? b.worstWindow.start));
}

/** `spent 34 % of 1 % http_req_failed in multi-user; worst window 2.1× at 40 s`. */
export function errorBudgetText(b: ErrorBudgetResult): string {
  const at = worstWindowAt(b);
  const worst = b.worstWindow ? `; worst window ${b.worstWindow.burnRate}× at ${at} s` : '';
  const out = b.exhaustedAfterSeconds !== undefined ? `; ran out ${b.exhaustedAfterSeconds} s in` : '';
  return `spent ${b.spentPct} % of ${budgetPct(b.budget)} ${b.metric} in ${b.scenario}${out}${worst}`;
}

/** `error budget http_req_failed in multi-user`. */
export function errorBudgetTitle(b: ErrorBudgetResult): string {
  return `error budget ${b.metric} in ${b.scenario}`;
}

/** `sample-app: 95 → 97 MB, +12 MB/h (limit 50 MB/h) passed`. */
export function memoryTrendText(m: MemoryTrendResult): string {
  return `${m.service}: ${mb(m.firstMb)} → ${mb(m.lastMb)} MB, ${slopeText(m.slopeMbPerHour)}${m.includesRampUp ? ', ramp-up included' : ''} (limit ${m.maxGrowthMbPerHour} MB/h) ${soakStatusWord(m.status)}`;
}
