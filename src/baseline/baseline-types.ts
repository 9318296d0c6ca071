/**
 * What a run records about its baseline (`perf run --baseline`), in `verdict.baseline`, and what
 * each gate carries of the comparison. Shapes only: src/baseline/compare-runs.ts computes them.
 */

/** The rank test's outcome for one gate in one scenario (analysis/rank-test.ts). */
export interface GateComparison {
  scenario: string;
  baseline?: number;
  current?: number;
  /** (current − baseline) / baseline × 100; absent when either figure is missing (or the baseline is 0 and so is current). */
  deltaPct?: number;
  /** One-sided Mann-Whitney U p-value that current's per-window figures are larger. */
  pValue?: number;
  /** Steady windows compared on each side. */
  windows: { baseline: number; current: number };
  /**
   * regressed: larger than the allowed increase AND significant; noise: a change the test does not
   * tell from run-to-run noise (or within the allowed increase); improved: significantly smaller;
   * insufficient: too few windows for the test to reach the significance level.
   */
  verdict: 'regressed' | 'noise' | 'improved' | 'insufficient';
}

/** A relative gate (`maxIncrease`), decided against the baseline run. */
export interface RelativeGateResult {
  /** k6 threshold key of the samples (the gate's tags, `expected_response`). */
  metric: string;
  stat: string;
  maxIncrease: string;
  significance: number;
  scenarios?: string[];
  description?: string;
  unit: string;
  /** not-run: no usable baseline (see `verdict.baseline.note`), or none of its scenarios ran. */
  status: 'passed' | 'failed' | 'insufficient-data' | 'not-run';
  baselineRunId?: string;
  /** The deciding scenario's comparison (the failing one, else the largest increase). */
  decided?: GateComparison;
  parts: GateComparison[];
  note?: string;
}

export interface BaselineOutcome {
  /** What `--baseline` asked for: a run id or `last-green`. */
  requested: string;
  /** The run compared with, when one was found (even if not comparable). */
  runId?: string;
  /** compared: relative gates were decided; missing: no such run (last-green: none passed alike);
   *  not-comparable: the run found differs in profile, users, scenarios or config. */
  status: 'compared' | 'missing' | 'not-comparable';
  /** One line saying what was found or why not: printed by the console and in the verdict. */
  note: string;
  gates: RelativeGateResult[];
}
