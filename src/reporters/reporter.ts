import type { Evidence } from '../checks/types.ts';
import type { Redactor } from '../redact/redact.ts';
import type { PhaseResult, Verdict } from '../run/verdict.ts';

/** What the runner knows when a phase starts. `checks` (names, in declaration order) lets
 *  live progress show "done/total"; omit it for phases without Node-side checks (load). */
export interface PhaseBeginInfo {
  name: string;
  checks?: string[];
}

/**
 * A finished check. The first three fields are the contract; the rest are optional so a
 * runner may simply pass its `CheckResult` (which fits this shape) and live reporters can
 * show the error and evidence as soon as the check ends instead of at the phase's end.
 */
export interface CheckEndInfo {
  name: string;
  status: string;
  durationMs: number;
  attempts?: number;
  error?: string;
  /** The check's own stack, when it failed by a bug rather than a CheckFailure. */
  details?: string;
  correlationIds?: string[];
  evidence?: Evidence[];
}

/** Live numbers of a running load phase (k6), for progress displays only. Every field
 *  but `elapsedMs` is optional: a runner reports what it has. */
export interface LoadProgress {
  elapsedMs: number;
  /** Planned duration, when known (gives "0:42 / 2:00"). */
  expectedMs?: number;
  scenario?: string;
  vus?: number;
  iterations?: number;
  requests?: number;
  failedRequests?: number;
  /** Request rate over the last interval, and k6's p95 of http_req_duration so far. */
  requestsPerSec?: number;
  p95Ms?: number;
  /** Free text, shown as is (redacted), e.g. a stage name. */
  text?: string;
}

/**
 * One interface of optional hooks; every output (console, JSON, JUnit, webhook, ...)
 * implements the hooks it cares about. Hooks may be async; the multiplexer awaits them.
 *
 * Order of calls for one run: onRunBegin, then per phase onPhaseBegin → (onCheckBegin →
 * onCheckEnd)* interleaved for parallel checks, onProgress* for load → onPhaseEnd, and
 * finally onRunEnd with the verdict as written. Phases that are skipped may get only
 * onPhaseEnd (or no hook at all): reporters render `verdict.phases` at onRunEnd as the
 * source of truth and must not rely on having seen every phase live.
 */
export interface Reporter {
  readonly name: string;
  onRunBegin?(info: { runId: string; runDir: string; phases: string[] }): void | Promise<void>;
  onPhaseBegin?(phase: PhaseBeginInfo): void | Promise<void>;
  onCheckBegin?(phase: string, check: { name: string }): void | Promise<void>;
  onCheckEnd?(phase: string, check: CheckEndInfo): void | Promise<void>;
  /** Called often (about once a second); must be cheap and must not await I/O. */
  onProgress?(phase: string, progress: LoadProgress): void | Promise<void>;
  onPhaseEnd?(phase: PhaseResult): void | Promise<void>;
  onRunEnd?(verdict: Verdict, runDir: string): void | Promise<void>;
}

type Hook = Exclude<keyof Reporter, 'name'>;

export interface ReporterFailure {
  reporter: string;
  hook: string;
  message: string;
}

export interface MultiplexerOptions {
  /** Redacts failure messages before they are printed or recorded (an error thrown by a
   *  reporter may quote what it was rendering). */
  redactor?: Redactor;
  /** Where failures are reported; default process.stderr. */
  stream?: { write(s: string): unknown };
  /** A hook that has not settled after this long is abandoned and recorded as failed, so
   *  a hanging reporter cannot hang the run. Default 20 s (the webhook's worst case,
   *  two 5 s attempts and a pause, fits well inside). */
  hookTimeoutMs?: number;
}

/**
 * Fans every hook out to all reporters, in order. Each call is wrapped: a reporter that
 * throws, rejects or hangs is reported on stderr, recorded in `failures`, and the others
 * and the run go on (a broken webhook never kills a run).
 */
export class ReporterMultiplexer implements Reporter {
  readonly name = 'multiplexer';
  readonly failures: ReporterFailure[] = [];
  private readonly stream: { write(s: string): unknown };
  private readonly hookTimeoutMs: number;

  constructor(
    readonly reporters: Reporter[],
    private readonly opts: MultiplexerOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.hookTimeoutMs = opts.hookTimeoutMs ?? 20_000;
  }

  private async fan<H extends Hook>(hook: H, ...args: Parameters<NonNullable<Reporter[H]>>): Promise<void> {
    for (const r of this.reporters) {
      const fn = r[hook] as ((...a: unknown[]) => unknown) | undefined;
      if (!fn) continue;
      let timer: NodeJS.Timeout | undefined;
      try {
        const result = fn.apply(r, args);
        // Synchronous hooks (the common case for live progress) cost no timer.
        if (result && typeof (result as Promise<unknown>).then === 'function') {
          await Promise.race([
            result,
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`did not finish within ${this.hookTimeoutMs} ms`)), this.hookTimeoutMs);
            }),
          ]);
        }
      } catch (e) {
        const raw = e instanceof Error ? e.message : String(e);
        const message = this.opts.redactor ? this.opts.redactor.redactString(raw) : raw;
        this.failures.push({ reporter: r.name, hook, message });
        this.stream.write(`perf: reporter "${r.name}" failed in ${hook}: ${message}\n`);
      } finally {
        if (timer) clearTimeout(timer);
      }
    }
  }

  onRunBegin(info: Parameters<NonNullable<Reporter['onRunBegin']>>[0]) {
    return this.fan('onRunBegin', info);
  }
  onPhaseBegin(phase: PhaseBeginInfo) {
    return this.fan('onPhaseBegin', phase);
  }
  onCheckBegin(phase: string, check: { name: string }) {
    return this.fan('onCheckBegin', phase, check);
  }
  onCheckEnd(phase: string, check: CheckEndInfo) {
    return this.fan('onCheckEnd', phase, check);
  }
  onProgress(phase: string, progress: LoadProgress) {
    return this.fan('onProgress', phase, progress);
  }
  onPhaseEnd(phase: PhaseResult) {
    return this.fan('onPhaseEnd', phase);
  }
  onRunEnd(verdict: Verdict, runDir: string) {
    return this.fan('onRunEnd', verdict, runDir);
  }
}
