/**
 * The load phase's view of k6's own verdict parts: the script's thresholds, its `check()`s
 * (src/k6/k6-checks.ts decides them) and, for a scenario that did not pass, where k6's
 * record of it is and what its script logged with console.warn/console.error
 * (src/k6/k6-console.ts). Kept apart from the gate evaluation in load.ts.
 */
import path from 'node:path';
import type { MetricStore } from '../../analysis/metric-store.ts';
import { checkReasons, checksCovers, classifyThresholds, decideChecks, injectedThresholds, listChecks, readChecks, readSummary, type ChecksRule } from '../k6/k6-checks.ts';
import { readConsoleLines } from '../k6/k6-console.ts';
import type { K6RunResult } from '../k6/k6-run.ts';
import { Redactor } from '../redact/redact.ts';
import type { GateResult, K6PhaseResult } from '../run/verdict.ts';

export const DEFAULT_CHECKS_RULE: ChecksRule = { minRate: 1, ignore: [] };

/**
 * One scenario's thresholds (with `source`, samples, `noData`) and checks (decided), the
 * verdict fields for them, and the lines that fail the run: a failed script threshold, one
 * judged on no data, a check the `load.checks` rule fails, raw samples that disagree with
 * k6's summary about a check.
 */
export function judgeScenario(
  scenario: string,
  r: Pick<K6RunResult, 'thresholds' | 'files'>,
  store: MetricStore,
  injected: Record<string, unknown[]>,
  rule: ChecksRule = DEFAULT_CHECKS_RULE,
): { fields: Pick<K6PhaseResult, 'thresholds' | 'checks' | 'checksOmitted'>; reasons: string[] } {
  const summary = readSummary(r.files.summary);
  const thresholds = classifyThresholds(r.thresholds, injectedThresholds(injected), summary);
  const read = readChecks(store, summary);
  const decided = decideChecks(read.checks, checksCovers(thresholds), rule);
  const listed = listChecks(decided);
  const reasons: string[] = [];
  // The scenario's own thresholds decide through k6 (gate thresholds are decided in the gate table).
  for (const t of thresholds.filter((t) => t.source === 'script' && !t.passed)) {
    const obs = t.observed !== undefined ? `, observed ${Number(t.observed.toPrecision(4))}` : '';
    reasons.push(`${scenario}: threshold ${t.metric} "${t.expression}" failed${obs}`);
  }
  reasons.push(...checkReasons(scenario, decided, thresholds));
  for (const d of read.disagreements) reasons.push(`${scenario}: ${d}`);
  return {
    fields: { thresholds, checks: listed.checks, ...(listed.omitted ? { checksOmitted: listed.omitted } : {}) },
    reasons,
  };
}

/** Whether a scenario did not pass on its own account (k6's exit, errors, its thresholds, checks, or a gate its samples failed). */
export function scenarioFailed(k: K6PhaseResult, gates: GateResult[]): boolean {
  if (k.exitCode !== 0 || k.scriptErrors.length) return true;
  if (k.thresholds.some((t) => !t.passed || t.noData)) return true;
  if ((k.checks ?? []).some((c) => c.status === 'failed') || (k.checksOmitted?.fails ?? 0) > 0) return true;
  const failedGates = new Set(gates.filter((g) => g.status === 'failed' || g.status === 'insufficient-data').map((g) => `${g.metric} ${g.expression}`));
  return (k.consistency ?? []).some((c) => failedGates.has(`${c.metric} ${c.expression}`) && c.harness.status !== 'passed');
}

/**
 * For each scenario that did not pass: k6's stdout and log (relative to the run folder) and
 * its console.warn/error lines, redacted with the run's Redactor.
 */
export async function attachEvidence(results: K6PhaseResult[], gates: GateResult[], runDir: string, redactor: Redactor = new Redactor()): Promise<void> {
  for (const k of results) {
    if (!scenarioFailed(k, gates)) continue;
    const stdout = k.files.stdout ?? `k6-${k.scenario}-stdout.txt`;
    const log = k.files.log ?? `k6-${k.scenario}-log.jsonl`;
    const { lines, omitted } = await readConsoleLines(path.join(runDir, log), redactor);
    k.evidence = { stdout, log, console: lines, ...(omitted ? { consoleOmitted: omitted } : {}) };
  }
}
