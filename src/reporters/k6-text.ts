/**
 * k6's own verdict parts as short text, shared by the console, JUnit and the GitHub summary so
 * they say the same thing in the same words: the script's thresholds, its `check()`s, and
 * the console.warn/error lines quoted from a scenario that did not pass. Pure; no redaction
 * (each reporter redacts what it writes), no colour.
 */
import type { K6CheckResult, K6ConsoleLine, K6PhaseResult, K6ThresholdResult } from '../run/verdict.ts';
import { oneLine, round } from './summarize.ts';

/** The thresholds declared in the scenario's script (not injected from gates, which the gate table shows). */
export function scriptThresholds(k: K6PhaseResult): K6ThresholdResult[] {
  // Verdicts written before `source` existed: a threshold with a consistency entry came from a gate.
  const fromGates = new Set((k.consistency ?? []).map((x) => `${x.metric} ${x.expression}`));
  return k.thresholds.filter((t) => (t.source ? t.source === 'script' : !fromGates.has(`${t.metric} ${t.expression}`)));
}

/** passed / failed: as k6 judged it, except that a threshold judged on no sample fails. */
export function thresholdPassed(t: K6ThresholdResult): boolean {
  return t.passed && !t.noData;
}

/** `threshold checks rate==1 (k6, observed 1, 40 samples)`, or `… no samples (k6 passed it on no data)`. */
export function thresholdText(t: K6ThresholdResult): string {
  const bits = [
    'k6',
    ...(t.observed !== undefined && !t.noData ? [`observed ${round(t.observed)}`] : []),
    ...(t.samples !== undefined ? [`${t.samples} samples`] : []),
  ];
  return `threshold ${t.metric} ${t.expression} (${bits.join(', ')})${t.noData ? ' no data: k6 passed it on no sample' : ''}`;
}

/** `"status is 200" (browse, ::inner)`. */
export function checkName(c: Pick<K6CheckResult, 'name' | 'k6Scenario' | 'group'>): string {
  const where = [c.k6Scenario, c.group].filter(Boolean).join(', ');
  return `"${oneLine(c.name, 120)}"${where ? ` (${where})` : ''}`;
}

/** `check "says goodbye" (browse) 0 of 90 passed — failed (load.checks.minRate 1)`. */
export function checkText(c: K6CheckResult): string {
  const total = c.passes + c.fails;
  const tail = c.status === 'passed' ? '' : ` — ${c.status} (${c.decidedBy})`;
  return `check ${checkName(c)} ${c.passes} of ${total} passed${tail}`;
}

/** `console.error ×3: goodbye missing`. */
export function consoleLineText(l: K6ConsoleLine, max = 300): string {
  return `console.${l.level}${l.count > 1 ? ` ×${l.count}` : ''}: ${oneLine(l.message, max)}`;
}

/** The checks of a scenario worth naming next to it: those with failed evaluations. */
export function checksWithFailures(k: K6PhaseResult): K6CheckResult[] {
  return (k.checks ?? []).filter((c) => c.fails > 0);
}
