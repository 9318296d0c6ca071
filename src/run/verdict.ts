import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunStatus } from './exit-codes.ts';
import type { CheckResult } from '../checks/types.ts';
import type { ScriptError, ThresholdResult } from '../k6/k6-run.ts';
import type { LoadConcurrency } from '../../analysis/concurrency.ts';
import type { TestData } from '../auth/cleanup.ts';
import type { EndpointCoverage, LoadOperationHits } from '../openapi/coverage.ts';
import type { BaselineOutcome, GateComparison } from '../baseline/baseline-types.ts';
import type { SoakOutcome } from '../soak/soak-types.ts';

/**
 * `verdict.json`: the single typed, versioned result of a run. Every reporter renders it.
 * Bump the schema version on any breaking change to this shape.
 */
export const VERDICT_SCHEMA = 'perf.verdict/v1';

export type PhaseStatus = 'passed' | 'failed' | 'flaky' | 'skipped' | 'timedout' | 'interrupted';

export interface Manifest {
  perfVersion: string;
  nodeVersion: string;
  k6Version?: string;
  k6Path?: string;
  gitSha?: string;
  configHash?: string;
  users?: number;
  /** The load profile (`load.profile`, `--profile`): its ramp-up is what the windows flag `rampUp`. */
  profile?: string;
  seed?: number;
  argv: string[];
}

export interface K6PhaseResult {
  scenario: string;
  script: string;
  exitCode: number;
  meaning: string;
  /** Every threshold k6 evaluated: the script's own and those perf injected from gates (`source`). */
  thresholds: K6ThresholdResult[];
  /** Every k6 `check()` that ran, per k6 scenario and group, with what decided it (src/k6/k6-checks.ts). */
  checks?: K6CheckResult[];
  /** Checks left out of `checks` (a script naming checks by id makes thousands): how many, and their failed evaluations. */
  checksOmitted?: { count: number; fails: number };
  /** Set when this scenario did not pass: k6's own record of it (paths relative to the run folder) and
   *  its console.warn/console.error lines, redacted, distinct lines with their counts. */
  evidence?: { stdout: string; log: string; console: K6ConsoleLine[]; consoleOmitted?: number };
  scriptErrors: ScriptError[];
  durationMs: number;
  files: Record<string, string>;
  /** Harness analysis of the raw samples. */
  analysis?: {
    samples: number;
    /** Samples per metric: what InfluxDB must hold per measurement (src/influx/influx.ts). */
    samplesByMetric?: Record<string, number>;
    /** Per metric, samples that share tags and nanosecond timestamp with another: one InfluxDB point each (only when any do). */
    coincidentByMetric?: Record<string, number>;
    requests: number;
    /** Requests of the load period (setup and teardown left out) per second of it (analysis/concurrency.ts). */
    requestsPerSec: number;
    errorRate: number;
    droppedIterations: number;
    /** Per-window figures (window start in unix seconds), ramp-up windows flagged. */
    windows: { start: number; requests: number; p95Ms?: number; p99Ms?: number; errorRate: number; rampUp: boolean }[];
    /** Achieved load per k6 scenario and in all: requests in flight (mean, max), requests/s and
     *  iterations/s over the load period, and what each scenario asked for (analysis/concurrency.ts). */
    concurrency?: LoadConcurrency;
    /** With `smoke.openapi`: the document's operations this scenario's answered requests hit (src/openapi/coverage.ts). */
    operations?: LoadOperationHits;
  };
  resources?: Record<string, unknown>;
  /** `--shards N`: each k6 process of this scenario, its exit and its files (the merged analysis is the scenario's). */
  shards?: { shard: string; exitCode: number; meaning: string; files: Record<string, string>; k6?: unknown }[];
  /** Harness vs k6 on this scenario's own samples, threshold by threshold. */
  consistency?: { metric: string; expression: string; samples: number; harness: { observed?: number; status: string }; k6?: { observed?: number; passed: boolean }; disagreement?: string }[];
}

/** A k6 threshold as the verdict records it. */
export interface K6ThresholdResult extends ThresholdResult {
  /** script: declared in the scenario's own options (k6 decides it, perf checks it had data);
   *  gate: injected by perf from a gate of perf.config.ts (decided in the gate table). */
  source?: 'script' | 'gate';
  /** Samples of the (sub-)metric by k6's summary, for trends and rates (a counter at 0 may be a true zero). */
  samples?: number;
  /** A script threshold k6 passed on no sample at all: perf fails it (a threshold on missing data proves nothing). */
  noData?: boolean;
}

/** One k6 check (`check(res, { name: fn })`) in one k6 scenario and group. */
export interface K6CheckResult {
  name: string;
  /** k6's `scenario` tag (the scenario inside the script, `default` without a `scenarios` block); absent when only k6's summary knew the check. */
  k6Scenario?: string;
  /** k6's group path (`::outer::inner`) when the check ran inside `group()`. */
  group?: string;
  passes: number;
  fails: number;
  /** passed: no failed evaluation; failed: fails the run; tolerated: failed evaluations that what decides accepts. */
  status: 'passed' | 'failed' | 'tolerated';
  /** What decides it: `load.checks.minRate 1`, `load.checks.ignore`, or the thresholds/gates on `checks` that cover it. */
  decidedBy: string;
}

/** A console.warn / console.error line of a k6 script (k6 log `source: console`). */
export interface K6ConsoleLine {
  level: 'warn' | 'error';
  message: string;
  count: number;
}

export interface PhasePolicy {
  parallel: boolean;
  blocking: boolean;
  timeoutMs: number;
  checkTimeoutMs: number;
  retries: number;
}

export interface PhaseResult {
  name: string;
  status: PhaseStatus;
  startedAt: string;
  durationMs: number;
  policy?: PhasePolicy;
  /** Node-side checks of the phase, in declaration order. */
  checks?: CheckResult[];
  /** Why the phase failed, in one line, when it did. */
  reason?: string;
  /** Set when status is `skipped`: "skipped: health failed: redis_health". */
  skippedBecause?: string;
  /** Gate results of a load phase (also collected at the top level of the verdict). */
  gates?: GateResult[];
  /** Set when the measurement itself is not trustworthy (saturated generator, dropped iterations). */
  invalidBecause?: string;
  k6?: K6PhaseResult[];
}

export interface Verdict {
  schema: typeof VERDICT_SCHEMA;
  runId: string;
  status: RunStatus;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  manifest: Manifest;
  /** The system under test as this run saw it (URLs redacted; pid when perf started it). */
  target?: { kind: 'sample-app' | 'external'; baseUrl: string; wsUrl?: string; frontendUrl?: string; pid?: number; faults?: Record<string, unknown> };
  phases: PhaseResult[];
  /** Load gates (issue 5): one entry per declared gate. */
  gates?: GateResult[];
  /** Lines that explain a non-passing status, most important first. */
  reasons: string[];
  error?: { kind: 'user' | 'internal'; message: string };
  /** Set when InfluxDB is configured (issue 6): what of this run reached it. */
  influx?: InfluxOutcome;
  /** Test users the run created on the service, removed (`auth.cleanup`) and left behind (src/auth/cleanup.ts). */
  testData?: TestData;
  /** The services of `target.start` (src/target/services.ts), in start order. */
  services?: ServiceRecord[];
  /** With `smoke.openapi`: which documented operations smoke, flows and load exercised (src/openapi/coverage.ts). Information only: never changes `status`. */
  coverage?: EndpointCoverage;
  /** With `--baseline`: the run compared with, or why none was, and the relative gates (src/baseline/compare-runs.ts). */
  baseline?: BaselineOutcome;
  /** With drift gates, `soak.errorBudget` or `soak.targetMemory`: how the run held up over time (src/soak/, docs/soak.md). */
  soak?: SoakOutcome;
}

/** One service perf started (or reused) for the run. */
export interface ServiceRecord {
  name: string;
  /** Its process group leader (`sh -c <command>`); absent when reused. */
  pid?: number;
  /** true: `reuseExisting` found it already answering; perf neither started nor stopped it. */
  reused: boolean;
  /** From spawn to ready. */
  readyMs?: number;
  /** Set when it exited by itself: before it was ready (`atPhase: 'start'`), or mid-run (the phase then running). */
  exit?: { code: number | null; signal: string | null; atPhase: string };
  /** How perf stopped it: SIGTERM sufficed, or SIGKILL after `stopTimeout`. */
  stopped?: { signal: 'SIGTERM' | 'SIGKILL'; ms: number };
  /** Its output (redacted), relative to the run folder. */
  log: string;
}

/**
 * What of a run reached InfluxDB. The local results never depend on it: InfluxDB down or
 * failing only changes this field (and a message on stderr), never the run's status.
 */
export interface InfluxOutcome {
  /** `http(s)://host:port/database`; never holds credentials (they come from the environment). */
  url: string;
  database: string;
  /** ok: everything is there; unavailable: unreachable at the start, nothing was written;
   *  partial: something failed during the run, see `missing`. */
  status: 'ok' | 'unavailable' | 'partial';
  /** One sentence a person can act on. */
  note: string;
  /** perf's own points (phase, check, gate, run, window annotations). */
  points?: { written: number; unwritten: number; byMeasurement?: Record<string, number> };
  /** k6 samples per scenario: counted in the local CSV, counted in InfluxDB for this run id
   *  (absent when InfluxDB did not answer at the end), and k6's failed writes from its log. */
  k6?: {
    scenario: string;
    samples: number;
    stored?: number;
    /** Samples InfluxDB cannot hold as points of their own (same measurement, tags and timestamp as another); `stored` is expected to be `samples` minus these. */
    coincident?: number;
    /** Measurements with fewer points in InfluxDB than samples locally (only when some are). */
    short?: { measurement: string; local: number; stored: number }[];
    failedWrites: number;
    firstFailure?: string;
    lastFailure?: string;
  }[];
  /** Which points may be missing, one line each. */
  missing?: string[];
  /** When writes first failed (ISO time), if they did. */
  firstFailureAt?: string;
}

/**
 * One place a gate must hold: one scenario (or all of its scenarios, for a `merge` gate),
 * and with `groupBy` one value of that tag. The gate's status is its worst part's.
 */
export interface GatePart {
  /** Absent for a `merge` gate (every scenario of the gate together). */
  scenario?: string;
  /** With `groupBy`: the tag's value (absent: samples without that tag). */
  group?: string;
  observed?: number;
  samples: number;
  status: 'passed' | 'failed' | 'insufficient-data';
  note?: string;
  /** k6's result for the threshold perf injected into this scenario (parts that are a whole scenario only). */
  k6?: { observed?: number; passed: boolean };
}

export interface GateResult {
  /** The scenario of the worst part (the one that decided the gate), when it was one scenario. */
  scenario?: string;
  /** With `groupBy`: the tag value of the worst part. */
  group?: string;
  /** The scenarios the gate is bound to (`scenarios` in its declaration); all when absent. */
  scenarios?: string[];
  /** k6 threshold key, e.g. `http_req_duration{name:login,expected_response:true}`: the gate's
   *  tags plus what perf adds (`expected_response`, `perf_window`). */
  metric: string;
  expression: string;
  limit: number;
  /** The worst part's figure and sample count (the ones that decided). */
  observed?: number;
  unit: string;
  samples: number;
  /** `not-run`: the gate is bound to scenarios that were not selected (not a failure). */
  status: 'passed' | 'failed' | 'insufficient-data' | 'not-run';
  description?: string;
  /** Why a gate is insufficient or malformed, e.g. "12 sample(s); p(99) needs at least 100". */
  note?: string;
  /** The tag each value of which must hold the gate (`groupBy` in its declaration). */
  groupBy?: string;
  /** True when decided over its scenarios' samples merged (`merge: true`). */
  merged?: boolean;
  /** `steady`: ramp-up samples excluded; `all`: every sample. */
  window?: 'steady' | 'all';
  /** Where the gate had to hold, each with its figure: per scenario (and per tag value). */
  parts?: GatePart[];
  /** k6's own evaluation of the same threshold, for comparison (the worst part's scenario). */
  k6?: { observed?: number; passed: boolean };
  /** Set when harness and k6 disagree beyond HDR precision: the run fails, saying why. */
  disagreement?: string;
  /** With a usable `--baseline`: the same samples in the baseline run, the change and the rank test (information only for an absolute gate). */
  baseline?: GateComparison & { runId: string };
}

/** Sortable and unique enough for one machine: 20261121-064512-3fa2. */
export function newRunId(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Temp file + rename: a reader never sees half a verdict, even if perf dies mid-write. */
export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

export function writeVerdict(runDir: string, verdict: Verdict): string {
  const file = path.join(runDir, 'verdict.json');
  writeJsonAtomic(file, verdict);
  return file;
}
