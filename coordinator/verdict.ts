import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunStatus } from './exit-codes.ts';
import type { CheckResult } from './checks/types.ts';
import type { ScriptError, ThresholdResult } from './k6-run.ts';

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
  seed?: number;
  argv: string[];
}

export interface K6PhaseResult {
  scenario: string;
  script: string;
  exitCode: number;
  meaning: string;
  thresholds: ThresholdResult[];
  scriptErrors: ScriptError[];
  durationMs: number;
  files: Record<string, string>;
  /** Harness analysis of the raw samples. */
  analysis?: {
    samples: number;
    /** Samples per metric: what InfluxDB must hold per measurement (coordinator/influx.ts). */
    samplesByMetric?: Record<string, number>;
    /** Per metric, samples that share tags and nanosecond timestamp with another: one InfluxDB point each (only when any do). */
    coincidentByMetric?: Record<string, number>;
    requests: number;
    requestsPerSec: number;
    errorRate: number;
    droppedIterations: number;
    /** Per-window figures (window start in unix seconds), ramp-up windows flagged. */
    windows: { start: number; requests: number; p95Ms?: number; p99Ms?: number; errorRate: number; rampUp: boolean }[];
  };
  resources?: Record<string, unknown>;
  /** Harness vs k6 on this scenario's own samples, threshold by threshold. */
  consistency?: { metric: string; expression: string; samples: number; harness: { observed?: number; status: string }; k6?: { observed?: number; passed: boolean }; disagreement?: string }[];
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

export interface GateResult {
  /** The scenario whose samples were evaluated, for per-scenario figures. */
  scenario?: string;
  /** The scenarios the gate is bound to (`scenarios` in its declaration); all when absent. */
  scenarios?: string[];
  /** k6 threshold key, e.g. `http_req_duration{name:login}`. */
  metric: string;
  expression: string;
  limit: number;
  observed?: number;
  unit: string;
  samples: number;
  /** `not-run`: the gate is bound to scenarios that were not selected (not a failure). */
  status: 'passed' | 'failed' | 'insufficient-data' | 'not-run';
  description?: string;
  /** Why a gate is insufficient or malformed, e.g. "12 sample(s); p(99) needs at least 100". */
  note?: string;
  /** k6's own evaluation of the same threshold, for comparison. */
  k6?: { observed?: number; passed: boolean };
  /** Set when harness and k6 disagree beyond HDR precision: a bug, surfaced. */
  disagreement?: string;
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
