import { setTimeout as sleep } from 'node:timers/promises';
import { CheckFailure, CheckSkipped, type Check, type CheckContext, type CheckResult, type Evidence, type ResolvedTarget } from '../checks/types.ts';
import type { RunStatus } from './exit-codes.ts';
import type { Redactor } from '../redact/redact.ts';
import type { Reporter } from '../reporters/reporter.ts';
import type { PhaseResult, PhaseStatus } from './verdict.ts';

/**
 * One generic runner for every phase (the Playwright test-runner model): phases are
 * data, fixtures are set up in order and torn down in reverse, and every phase and
 * check races SIGINT, the global deadline and its own timeout. Whatever happens, the
 * result lists every phase with a status and, when skipped, why.
 */

export interface PhaseDef {
  name: string;
  description?: string;
  parallel: boolean;
  blocking: boolean;
  timeoutMs: number;
  /** Timeout of one check attempt (a check's own `timeoutMs` wins). */
  checkTimeoutMs: number;
  retries: number;
  /** Cap on checks running at once when parallel. */
  concurrency: number;
  checks: Check[];
  /**
   * A phase that is not a list of checks (the k6 load phase) runs itself. It returns
   * its status and reason and may fill in extra result fields (k6 results, gates).
   */
  run?: (ctx: PhaseRunContext) => Promise<Pick<PhaseResult, 'status' | 'reason'> & Partial<PhaseResult>>;
  /**
   * A `run` that stops by itself when its signal aborts (the load phase: k6 gets SIGINT, stops,
   * and what it measured until then is analysed) is awaited this long after an interrupt or a
   * timeout before it is abandoned, so its children are gone and its partial results are in the
   * verdict before teardown (stopping the target) begins. Without it, the phase is abandoned at once.
   */
  abortGraceMs?: number;
}

export interface PhaseRunContext {
  signal: AbortSignal;
  target: ResolvedTarget;
  runId: string;
  runDir: string;
  reporter: Reporter;
}

/** A resource the whole run needs (the target app, test data): torn down in reverse order. */
export interface Fixture {
  name: string;
  setup(signal: AbortSignal): Promise<{ teardown?: () => Promise<void> }>;
}

/** Why the run signal was aborted. */
export type AbortKind = 'interrupted' | 'deadline';
export class RunAbort extends Error {
  constructor(readonly kind: AbortKind) {
    super(kind === 'interrupted' ? 'interrupted' : 'global deadline reached');
  }
}

export interface PipelineOptions {
  runId: string;
  runDir: string;
  seed: number;
  phases: PhaseDef[];
  fixtures: Fixture[];
  /** Read when the phases start: fixtures (the target) fill it in during setup. */
  target: () => ResolvedTarget;
  reporter: Reporter;
  redactor: Redactor;
  /** SIGINT/SIGTERM from the CLI; aborted with a `RunAbort('interrupted')`. */
  signal: AbortSignal;
  deadlineMs: number;
  /** Backoff before retry n (1-based): base * 2^(n-1). */
  retryBackoffMs?: number;
}

export interface PipelineResult {
  status: RunStatus;
  phases: PhaseResult[];
  reasons: string[];
}

const failedStatuses: PhaseStatus[] = ['failed', 'timedout'];

export async function runPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const deadline = new AbortController();
  const deadlineTimer = setTimeout(() => deadline.abort(new RunAbort('deadline')), opts.deadlineMs);
  deadlineTimer.unref();
  const runSignal = AbortSignal.any([opts.signal, deadline.signal]);
  const results: PhaseResult[] = [];
  const reasons: string[] = [];
  const teardowns: { name: string; fn: () => Promise<void> }[] = [];
  let skipReason: string | undefined;

  try {
    for (const fixture of opts.fixtures) {
      try {
        const { teardown } = await raceAbort(fixture.setup(runSignal), runSignal);
        if (teardown) teardowns.push({ name: fixture.name, fn: teardown });
      } catch (e) {
        skipReason = runSignal.aborted ? `skipped: ${abortKind(runSignal)}` : `skipped: setup failed: ${fixture.name}`;
        reasons.push(runSignal.aborted ? abortMessage(runSignal) : `setup of ${fixture.name} failed: ${errorMessage(e)}`);
        break;
      }
    }

    for (const phase of opts.phases) {
      if (!skipReason && runSignal.aborted) skipReason = `skipped: ${abortKind(runSignal)}`;
      if (skipReason) {
        const skipped: PhaseResult = { name: phase.name, status: 'skipped', startedAt: new Date().toISOString(), durationMs: 0, skippedBecause: skipReason, policy: policyOf(phase), checks: [] };
        results.push(skipped);
        await opts.reporter.onPhaseEnd?.(skipped);
        continue;
      }
      await opts.reporter.onPhaseBegin?.({ name: phase.name, checks: phase.checks.map((c) => c.name) });
      const result = await runPhase(phase, opts, runSignal);
      results.push(result);
      await opts.reporter.onPhaseEnd?.(result);
      if (failedStatuses.includes(result.status)) {
        const failed = (result.checks ?? []).filter((c) => c.status === 'failed' || c.status === 'timedout').map((c) => c.name);
        const what = failed.length ? `: ${failed.slice(0, 3).join(', ')}${failed.length > 3 ? `, +${failed.length - 3} more` : ''}` : result.reason ? `: ${result.reason}` : '';
        reasons.push(`${phase.name} ${result.status === 'timedout' ? 'timed out' : 'failed'}${what}`);
        if (phase.blocking) skipReason = `skipped: ${phase.name} ${result.status === 'timedout' ? 'timed out' : 'failed'}${what}`;
      }
      if (result.status === 'interrupted') skipReason = `skipped: ${abortKind(runSignal)}`;
    }
  } finally {
    clearTimeout(deadlineTimer);
    for (const t of teardowns.reverse()) {
      try {
        await t.fn();
      } catch (e) {
        reasons.push(`teardown of ${t.name} failed: ${errorMessage(e)}`);
      }
    }
  }

  let status: RunStatus = 'passed';
  if (runSignal.aborted) {
    status = abortKind(runSignal) === 'interrupted' ? 'interrupted' : 'timedout';
    reasons.unshift(abortMessage(runSignal));
  } else if (results.some((r) => r.invalidBecause)) {
    // An overloaded generator measured itself: neither a pass nor a fair failure.
    status = 'invalid';
    for (const r of results) if (r.invalidBecause) reasons.push(`${r.name} invalid: ${r.invalidBecause}`);
  } else if (skipReason?.startsWith('skipped: setup failed') || results.some((r) => failedStatuses.includes(r.status))) {
    status = 'failed';
  }
  return { status, phases: results, reasons: [...new Set(reasons)] };
}

function abortKind(signal: AbortSignal): AbortKind {
  return signal.reason instanceof RunAbort ? signal.reason.kind : 'interrupted';
}
function abortMessage(signal: AbortSignal): string {
  return abortKind(signal) === 'interrupted' ? 'interrupted by signal' : 'global deadline reached';
}

function policyOf(p: PhaseDef): PhaseResult['policy'] {
  return { parallel: p.parallel, blocking: p.blocking, timeoutMs: p.timeoutMs, checkTimeoutMs: p.checkTimeoutMs, retries: p.retries };
}

class PhaseTimeout extends Error {
  constructor(ms: number) {
    super(`phase timed out after ${ms} ms`);
  }
}
class CheckTimeout extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

async function runPhase(phase: PhaseDef, opts: PipelineOptions, runSignal: AbortSignal): Promise<PhaseResult> {
  const startedAt = new Date();
  const t0 = performance.now();
  const phaseTimer = new AbortController();
  const timer = setTimeout(() => phaseTimer.abort(new PhaseTimeout(phase.timeoutMs)), phase.timeoutMs);
  const signal = AbortSignal.any([runSignal, phaseTimer.signal]);
  const base = { name: phase.name, startedAt: startedAt.toISOString(), policy: policyOf(phase) };
  try {
    if (phase.run) {
      const target = opts.target();
      try {
        const r = await raceAbort(phase.run({ signal, target, runId: opts.runId, runDir: opts.runDir, reporter: opts.reporter }), signal, phase.abortGraceMs);
        // Stopped by the signal within its grace: its results stand, its status says why it stopped.
        if (signal.aborted && !runSignal.aborted) return { ...r, ...base, status: 'timedout', reason: `phase timed out after ${phase.timeoutMs} ms`, durationMs: performance.now() - t0 };
        if (runSignal.aborted) return { ...r, ...base, status: 'interrupted', reason: r.reason ?? abortMessage(runSignal), durationMs: performance.now() - t0 };
        return { ...r, ...base, durationMs: performance.now() - t0 };
      } catch (e) {
        const status: PhaseStatus = runSignal.aborted ? 'interrupted' : phaseTimer.signal.aborted ? 'timedout' : 'failed';
        return { ...base, status, reason: errorMessage(e), durationMs: performance.now() - t0 };
      }
    }

    const shared = new Map<string, unknown>();
    const results: (CheckResult | undefined)[] = new Array(phase.checks.length);
    const runOne = async (i: number) => {
      const check = phase.checks[i]!;
      if (signal.aborted) {
        results[i] = notRun(check, signal, runSignal);
        return;
      }
      await opts.reporter.onCheckBegin?.(phase.name, { name: check.name });
      const r = await runCheck(check, phase, opts, shared, signal);
      results[i] = r;
      await opts.reporter.onCheckEnd?.(phase.name, r);
    };
    if (phase.parallel) {
      let next = 0;
      const worker = async () => {
        while (next < phase.checks.length) await runOne(next++);
      };
      await Promise.all(Array.from({ length: Math.min(phase.concurrency, phase.checks.length) }, worker));
    } else {
      for (let i = 0; i < phase.checks.length; i++) await runOne(i);
    }
    const checks = results.map((r, i) => r ?? notRun(phase.checks[i]!, signal, runSignal));
    let status: PhaseStatus = 'passed';
    if (runSignal.aborted) status = 'interrupted';
    else if (phaseTimer.signal.aborted) status = 'timedout';
    else if (checks.some((c) => c.status === 'failed' || c.status === 'timedout')) status = 'failed';
    else if (checks.some((c) => c.status === 'flaky')) status = 'flaky';
    // A phase whose every check had nothing to assert proved nothing: skipped, not passed.
    else if (checks.length > 0 && checks.every((c) => c.status === 'skipped')) status = 'skipped';
    const firstBad = checks.find((c) => c.status === 'failed' || c.status === 'timedout');
    return {
      ...base,
      status,
      durationMs: performance.now() - t0,
      checks,
      ...(status === 'timedout'
        ? { reason: `phase timed out after ${phase.timeoutMs} ms` }
        : firstBad
          ? { reason: `${firstBad.name}: ${firstBad.error}` }
          : status === 'skipped'
            ? { skippedBecause: `skipped: no check had anything to assert (${checks[0]!.name}: ${checks[0]!.error})` }
            : {}),
    };
  } finally {
    clearTimeout(timer);
  }
}

function notRun(check: Check, signal: AbortSignal, runSignal: AbortSignal): CheckResult {
  const why = runSignal.aborted ? abortMessage(runSignal) : signal.reason instanceof PhaseTimeout ? signal.reason.message : 'not run';
  return { name: check.name, status: runSignal.aborted ? 'interrupted' : 'skipped', attempts: 0, durationMs: 0, error: why, correlationIds: [], evidence: [] };
}

/**
 * One check, with per-attempt timeout and retries with exponential backoff. A check
 * that fails and then passes on a retry is `flaky`, never silently `passed`; its result
 * keeps the failed attempt's error and evidence, since that is the interesting part.
 */
async function runCheck(check: Check, phase: PhaseDef, opts: PipelineOptions, shared: Map<string, unknown>, phaseSignal: AbortSignal): Promise<CheckResult> {
  const retries = check.retries ?? phase.retries;
  const timeoutMs = check.timeoutMs ?? phase.checkTimeoutMs;
  const backoff = opts.retryBackoffMs ?? 250;
  const t0 = performance.now();
  let firstFailure: { error: string; evidence: Evidence[]; correlationIds: string[]; details?: string; timedout: boolean } | undefined;
  let attempts = 0;
  let measurements: Record<string, unknown> = {};

  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) {
      try {
        await sleep(backoff * 2 ** (attempt - 1), undefined, { signal: phaseSignal });
      } catch {
        break;
      }
    }
    if (phaseSignal.aborted) break;
    attempts++;
    const evidence: Evidence[] = [];
    const correlationIds: string[] = [];
    measurements = {};
    const attemptTimer = new AbortController();
    const timer = setTimeout(() => attemptTimer.abort(new CheckTimeout(timeoutMs)), timeoutMs);
    const signal = AbortSignal.any([phaseSignal, attemptTimer.signal]);
    let counter = 0;
    const ctx: CheckContext = {
      target: opts.target(),
      runId: opts.runId,
      runDir: opts.runDir,
      signal,
      seed: opts.seed,
      shared,
      redactor: opts.redactor,
      record: (e) => {
        evidence.push(e);
        if ('correlationId' in e && e.correlationId) correlationIds.push(e.correlationId);
      },
      correlationId: () => `perf-${opts.runId}-${check.name}-${attempts}-${++counter}`,
      measure: (k, v) => {
        measurements[k] = v;
      },
    };
    try {
      await raceAbort(check.run(ctx), signal);
      clearTimeout(timer);
      const durationMs = performance.now() - t0;
      if (!firstFailure) return { name: check.name, status: 'passed', attempts, durationMs, correlationIds, evidence: slim(evidence), ...(Object.keys(measurements).length ? { measurements } : {}) };
      return {
        name: check.name,
        status: 'flaky',
        attempts,
        durationMs,
        error: `passed on attempt ${attempts} after: ${firstFailure.error}`,
        correlationIds: firstFailure.correlationIds,
        evidence: firstFailure.evidence,
        ...(Object.keys(measurements).length ? { measurements } : {}),
      };
    } catch (e) {
      clearTimeout(timer);
      if (e instanceof CheckSkipped && !phaseSignal.aborted && !attemptTimer.signal.aborted) {
        // Nothing to assert: not a pass, and retrying would find nothing either. After a failed
        // attempt the failure stands (the check did find something wrong once).
        if (firstFailure) {
          return {
            name: check.name,
            status: firstFailure.timedout ? 'timedout' : 'failed',
            attempts,
            durationMs: performance.now() - t0,
            error: `${firstFailure.error} (then skipped on attempt ${attempts}: ${e.reason})`,
            correlationIds: firstFailure.correlationIds,
            evidence: firstFailure.evidence,
          };
        }
        return {
          name: check.name,
          status: 'skipped',
          attempts,
          durationMs: performance.now() - t0,
          error: e.reason,
          correlationIds,
          evidence: slim(evidence),
          ...(Object.keys(measurements).length ? { measurements } : {}),
        };
      }
      if (phaseSignal.aborted) {
        // Interrupted or the phase ran out of time: no retry, the phase decides the status.
        const interrupted = !(phaseSignal.reason instanceof PhaseTimeout);
        return {
          name: check.name,
          status: interrupted ? 'interrupted' : 'timedout',
          attempts,
          durationMs: performance.now() - t0,
          error: interrupted ? errorMessage(phaseSignal.reason) : `phase ${errorMessage(phaseSignal.reason)}`,
          correlationIds,
          evidence,
        };
      }
      const timedout = attemptTimer.signal.aborted;
      const failure = {
        error: timedout ? `timed out after ${timeoutMs} ms` : errorMessage(e),
        evidence: [...evidence, ...(e instanceof CheckFailure ? e.evidence : [])],
        correlationIds,
        ...(e instanceof CheckFailure || timedout ? {} : { details: e instanceof Error ? e.stack : String(e) }),
        timedout,
      };
      firstFailure ??= failure;
      if (attempt === retries) {
        return {
          name: check.name,
          status: failure.timedout ? 'timedout' : 'failed',
          attempts,
          durationMs: performance.now() - t0,
          error: attempts > 1 ? `${failure.error} (after ${attempts} attempts)` : failure.error,
          correlationIds: failure.correlationIds,
          evidence: failure.evidence,
          ...(failure.details ? { details: failure.details } : {}),
          ...(Object.keys(measurements).length ? { measurements } : {}),
        };
      }
    }
  }
  return notRun(check, phaseSignal, phaseSignal);
}

/** Passed checks keep what was asked and answered, not the bodies: verdicts stay small. */
function slim(evidence: Evidence[]): Evidence[] {
  return evidence.map((e) => (e.kind === 'http' ? { ...e, requestBody: undefined, responseBody: undefined, responseHeaders: undefined } : e.kind === 'ws' ? { ...e, frames: e.frames.slice(0, 20) } : e));
}

/** Resolves with the promise, or rejects as soon as the signal aborts (a check that
 *  ignores its signal is abandoned, not awaited). With `graceMs`, the promise still has that
 *  long after the abort to settle, and then its outcome is the result. */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal, graceMs?: number): Promise<T> {
  if (signal.aborted && !graceMs) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    let grace: NodeJS.Timeout | undefined;
    const onAbort = () => {
      if (!graceMs) return reject(signal.reason);
      grace = setTimeout(() => reject(signal.reason), graceMs);
    };
    p.finally(() => clearTimeout(grace)).catch(() => {});
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
