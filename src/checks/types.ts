/**
 * The contract between the pipeline runner and every Node-side check.
 *
 * A check is a named async function. It passes by returning, fails by throwing (a
 * `CheckFailure` for an expected failure with a clear message; anything else is an
 * error of the check itself, reported the same way but with its stack in `details`).
 * A pass must mean an assertion ran: a check that finds nothing to assert (no table with the
 * column it tests, a feature the config does not declare, no rows the load created) throws
 * `CheckSkipped` with the reason instead of returning, and is reported `skipped`, never `passed`.
 * Evidence (HTTP exchanges, WebSocket frames, SQL, notes) is recorded through the
 * context while the check runs; the runner attaches it to the check's result, redacted.
 */
import type { Redactor } from '../redact/redact.ts';

export type CheckStatus = 'passed' | 'failed' | 'flaky' | 'timedout' | 'skipped' | 'interrupted';

/** One request/response, as the HTTP client recorded it (secrets already redacted). */
export interface HttpExchange {
  kind: 'http';
  correlationId: string;
  method: string;
  url: string;
  requestHeaders: Record<string, string>;
  requestBody?: string;
  status?: number;
  responseHeaders?: Record<string, string>;
  responseBody?: string;
  /** Wall-clock start (ISO) and durations in ms: total, and time to response headers. */
  startedAt: string;
  durationMs: number;
  ttfbMs?: number;
  error?: string;
}

export interface WsEvidence {
  kind: 'ws';
  url: string;
  correlationId?: string;
  /** Frames in order, received (`in`) or sent (`out`), with ms since the socket opened. */
  frames: { dir: 'in' | 'out'; atMs: number; data: string }[];
  error?: string;
}

export interface SqlEvidence {
  kind: 'sql';
  /** The check's database session (also its `application_name` and a comment on each query). */
  correlationId?: string;
  query: string;
  rowCount?: number;
  rows?: unknown[];
  durationMs: number;
  error?: string;
}

export interface NoteEvidence {
  kind: 'note';
  message: string;
  data?: unknown;
}

export interface FileEvidence {
  kind: 'file';
  /** Relative to the run folder (screenshots, traces). */
  path: string;
  description: string;
}

export type Evidence = HttpExchange | WsEvidence | SqlEvidence | NoteEvidence | FileEvidence;

/** Where the system under test lives; every URL optional except the base URL. */
export interface ResolvedTarget {
  baseUrl: string;
  wsUrl?: string;
  databaseUrl?: string;
  redisUrl?: string;
  frontendUrl?: string;
  /** Admin URL of the bundled sample-app (fault injection); absent for real targets. */
  adminUrl?: string;
  /** 'sample-app' when perf started the bundled reference service itself. */
  kind: 'sample-app' | 'external';
}

export interface CheckContext {
  readonly target: ResolvedTarget;
  readonly runId: string;
  /** The run folder, for files a check writes (screenshots, traces). */
  readonly runDir: string;
  /** Aborted on per-check timeout, phase timeout, the global deadline or SIGINT. */
  readonly signal: AbortSignal;
  /** Deterministic seed of the run: test data derived from it is reproducible. */
  readonly seed: number;
  /** Shared across the checks of one phase, in order (flows keep users, tokens, ids here). */
  readonly shared: Map<string, unknown>;
  readonly redactor: Redactor;
  /** Adds evidence to this check's result. */
  record(e: Evidence): void;
  /** A new correlation id, unique in this run: `perf-<runId>-<n>`. */
  correlationId(): string;
  /** Free-form measurements for the result (latencies, counts). */
  measure(key: string, value: unknown): void;
}

export interface Check {
  name: string;
  /** One line saying what the check proves; shown by `perf list`. */
  description?: string;
  /** Overrides the phase's per-check timeout. */
  timeoutMs?: number;
  /** Overrides the phase's retries (0 for checks that must not be repeated, e.g. rate limits). */
  retries?: number;
  run(ctx: CheckContext): Promise<void>;
}

/** An expected failure: the message says what was wrong; evidence may ride along. */
export class CheckFailure extends Error {
  override readonly name = 'CheckFailure';
  constructor(
    message: string,
    readonly evidence: Evidence[] = [],
  ) {
    super(message);
  }
}

/**
 * The check had nothing to assert: its result is `skipped` with this reason (in `error`), not
 * retried. The reason says what was missing and how to make the check run.
 */
export class CheckSkipped extends Error {
  override readonly name = 'CheckSkipped';
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface CheckResult {
  name: string;
  status: CheckStatus;
  attempts: number;
  durationMs: number;
  /** Why it failed; for a `skipped` check, why it was not run or had nothing to assert. */
  error?: string;
  /** Correlation ids of the requests the check made (the failing attempt's when failed). */
  correlationIds: string[];
  evidence: Evidence[];
  measurements?: Record<string, unknown>;
  /** The check's own stack, for failures that were not a CheckFailure (bugs in checks). */
  details?: string;
}
