/**
 * What a run records about how it held up over time, in `verdict.soak` (docs/soak.md): drift
 * gates, the error budget and the target's memory growth. Shapes only: src/soak/ computes them.
 */

/** One drift gate in one scenario: the first steady windows against the last ones. */
export interface DriftPart {
  scenario: string;
  /** The statistic over the first `windows.first` steady windows merged (the gate's statistic on those samples). */
  first?: number;
  /** The same over the last `windows.last` windows. */
  last?: number;
  /** (last − first) / first × 100; absent when either is missing. */
  driftPct?: number;
  /** One-sided Mann-Whitney U p-value that the last windows' per-window figures are larger (worse). */
  pValue?: number;
  windows: { first: number; last: number; seconds: number };
  /** Unix seconds: where the first span starts and the last span ends (for the report). */
  from?: number;
  to?: number;
  /** drifted: more than allowed AND significant; stable: within the limit or not told from noise;
   *  insufficient: too few windows for the rank test to reach the significance level. */
  verdict: 'drifted' | 'stable' | 'insufficient';
}

/** A drift gate (`maxDrift`), decided per scenario from the run's own windows. */
export interface DriftGateResult {
  /** k6 threshold key of the samples (the gate's tags, `expected_response`). */
  metric: string;
  stat: string;
  maxDrift: string;
  significance: number;
  scenarios?: string[];
  description?: string;
  unit: string;
  /** not-run: none of its scenarios ran with its samples (the note says why). */
  status: 'passed' | 'failed' | 'insufficient-data' | 'not-run';
  /** The deciding part: a drifted one, else an insufficient one, else the largest drift. */
  decided?: DriftPart;
  parts: DriftPart[];
  note?: string;
}

/** One scenario's error budget, window by window. */
export interface ErrorBudgetResult {
  scenario: string;
  /** k6 threshold key of the samples counted. */
  metric: string;
  budget: number;
  maxBurnRate: number;
  /** Samples and failed (non-zero) samples over the scenario's run. */
  samples: number;
  failed: number;
  /** failed / (budget × samples) × 100 at the end: over 100 means the budget ran out. */
  spentPct: number;
  /** Seconds after the scenario's first sample when the budget ran out (failed > budget × all samples of the run). */
  exhaustedAfterSeconds?: number;
  /** The window that burned fastest: its start (unix seconds), burn rate (its failed share / budget) and samples. */
  worstWindow?: { start: number; burnRate: number; samples: number; failed: number };
  /** Per window (capture windows): start, samples, failed, budget spent so far in % (for the report's plot). */
  windows: { start: number; samples: number; failed: number; spentPct: number }[];
  windowSeconds: number;
  status: 'passed' | 'failed';
  /** Why it failed, one line: spent, exhausted when, or the window that burned too fast. */
  reason?: string;
}

/** One process perf started, its resident memory over the load. */
export interface MemoryTrendResult {
  /** `target.start` service name, or `sample-app`. */
  service: string;
  pid: number;
  /** Readings used for the slope (after the first scenario's ramp-up) and all readings taken. */
  samples: number;
  /** Seconds the slope covers. */
  spanSeconds: number;
  /** The load ended before 3 readings after the ramp-up: the slope is over every reading, warm-up included. */
  includesRampUp?: true;
  firstMb?: number;
  lastMb?: number;
  peakMb?: number;
  /** Least-squares slope of RSS over the readings, MB per hour; absent with fewer than 3 readings. */
  slopeMbPerHour?: number;
  maxGrowthMbPerHour: number;
  /** Readings for the plot, at most ~240 (averaged in time buckets so memory stays bounded): [unix seconds, MB]. */
  series: [number, number][];
  status: 'passed' | 'failed' | 'insufficient-data';
  reason?: string;
}

export interface SoakOutcome {
  drift: DriftGateResult[];
  errorBudget: ErrorBudgetResult[];
  /** With `soak.targetMemory`: one per process judged; empty with a note when perf did not start the target. */
  memory: MemoryTrendResult[];
  /** Said when something configured could not be judged (no windows, target not started by perf). */
  notes: string[];
}
