import type { GateComparison, RelativeGateResult } from '../baseline/baseline-types.ts';
import { fmtDelta, fmtP } from '../baseline/compare-runs.ts';
import type { GateResult } from '../run/verdict.ts';

/**
 * Baseline comparisons as text, shared by the console, GitHub summary and JUnit reporters:
 * "vs 20261204-213012-ab12 in throughput: 12.1 → 14.6 ms (+20.7%, p=0.004, regressed)".
 */
const fig = (n: number | undefined, unit: string) => (n === undefined ? 'no value' : `${Number(n.toPrecision(4))}${unit === 'ms' ? ' ms' : ''}`);

export function comparisonText(c: GateComparison, runId: string | undefined, unit: string): string {
  return `vs ${runId ?? 'baseline'} in ${c.scenario}: ${fig(c.baseline, unit)} → ${fig(c.current, unit)} (${fmtDelta(c.deltaPct)}, p=${fmtP(c.pValue)}, ${c.verdict}; ${c.windows.baseline}/${c.windows.current} windows)`;
}

/** The delta column of an absolute gate: `+4.2% (noise)`, or '' without a baseline. */
export function gateDeltaCell(g: GateResult): string {
  return g.baseline ? `${fmtDelta(g.baseline.deltaPct)} (${g.baseline.verdict})` : '';
}

/** `http_req_duration{expected_response:true} p(95) max +15% vs baseline`. */
export function relativeGateTitle(r: RelativeGateResult): string {
  return `${r.metric} ${r.stat} max +${r.maxIncrease} vs baseline`;
}

export function relativeGateText(r: RelativeGateResult): string {
  if (!r.decided) return `${relativeGateTitle(r)}: ${r.status === 'not-run' ? 'not run' : r.status}${r.note ? ` (${r.note})` : ''}`;
  return `${relativeGateTitle(r)}: ${comparisonText(r.decided, r.baselineRunId, r.unit)}${r.note ? ` — ${r.note}` : ''}`;
}
