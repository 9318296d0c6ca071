import path from 'node:path';
import { mannWhitneyGreater } from '../../analysis/rank-test.ts';
import { captureKey, figuresOf, readWindowsFile, steadyWindows, type WindowsFile } from '../../analysis/window-capture.ts';
import { unitOf } from '../../analysis/gates.ts';
import { K6_BUILTIN_METRICS } from '../../analysis/k6-metrics.ts';
import type { GateDecl, RelativeGateSpec } from '../config/config-schema.ts';
import { runsDir } from '../paths.ts';
import type { GateResult } from '../run/verdict.ts';
import type { BaselineOutcome, GateComparison, RelativeGateResult } from './baseline-types.ts';
import type { ResolvedBaseline, RunIndexRecord } from './run-index.ts';

/**
 * Two runs' gates side by side: per scenario, each gate's statistic over the steady windows of
 * each run, the change in %, and the one-sided rank test over the per-window figures
 * (analysis/rank-test.ts). A regression needs both: a change larger than allowed and one the test
 * does not put down to run-to-run noise.
 */
export const DEFAULT_SIGNIFICANCE = 0.01;

export function readWindows(projectDir: string, r: RunIndexRecord): WindowsFile | undefined {
  return r.windows ? readWindowsFile(path.join(runsDir(projectDir), r.runId, r.windows)) : undefined;
}

/** `'15%'` → 15. */
export function percentOf(s: string): number {
  return Number(s.replace(/%$/, ''));
}

/**
 * One gate's samples compared, scenario by scenario (those of `scenarios`, or every scenario of
 * both runs that has them). `higherIsWorse`: a latency or error rate; false for `>=` gates
 * (a success rate), whose regression is a decrease. `maxChangePct`: the change allowed before a
 * significant one counts as a regression (0: any significant change).
 */
export function compareGate(
  g: { key: string; stat: GateDecl['stat']; scenarios?: string[] },
  base: WindowsFile,
  cur: WindowsFile,
  o: { significance: number; maxChangePct: number; higherIsWorse: boolean },
): GateComparison[] {
  const key = g.key;
  const out: GateComparison[] = [];
  for (const sc of cur.scenarios) {
    if (g.scenarios && !g.scenarios.includes(sc.scenario)) continue;
    const bsc = base.scenarios.find((s) => s.scenario === sc.scenario);
    const cs = sc.series[key];
    const bs = bsc?.series[key];
    if (!bsc || !cs || !bs) continue;
    const c = figuresOf(steadyWindows(sc, key, cur.windowSeconds), g.stat, cs.type);
    const b = figuresOf(steadyWindows(bsc, key, base.windowSeconds), g.stat, bs.type);
    const worse = o.higherIsWorse ? mannWhitneyGreater(c.perWindow, b.perWindow) : mannWhitneyGreater(b.perWindow, c.perWindow);
    const better = o.higherIsWorse ? mannWhitneyGreater(b.perWindow, c.perWindow) : mannWhitneyGreater(c.perWindow, b.perWindow);
    const deltaPct = c.overall !== undefined && b.overall !== undefined ? (b.overall === 0 ? (c.overall === 0 ? 0 : Infinity) : ((c.overall - b.overall) / b.overall) * 100) : undefined;
    const badChange = deltaPct === undefined ? false : o.higherIsWorse ? deltaPct > o.maxChangePct : -deltaPct > o.maxChangePct;
    let verdict: GateComparison['verdict'];
    if (worse.minPValue > o.significance) verdict = 'insufficient';
    else if (badChange && worse.pValue < o.significance) verdict = 'regressed';
    else if (better.pValue < o.significance) verdict = 'improved';
    else verdict = 'noise';
    out.push({
      scenario: sc.scenario,
      ...(b.overall !== undefined ? { baseline: b.overall } : {}),
      ...(c.overall !== undefined ? { current: c.overall } : {}),
      ...(deltaPct !== undefined && Number.isFinite(deltaPct) ? { deltaPct } : {}),
      pValue: worse.pValue,
      windows: { baseline: b.perWindow.length, current: c.perWindow.length },
      verdict,
    });
  }
  return out;
}

/** The part that decides: a regressed one, else an insufficient one, else the largest change for the worse. */
export function decidingPart(parts: GateComparison[]): GateComparison | undefined {
  return parts.find((p) => p.verdict === 'regressed') ?? parts.find((p) => p.verdict === 'insufficient') ?? [...parts].sort((a, b) => (b.deltaPct ?? -Infinity) - (a.deltaPct ?? -Infinity))[0];
}

/**
 * What the result of a gate decided on windows by the rank test (relative, drift) repeats of
 * its declaration: the samples' key, statistic, significance, scenarios, description, unit.
 */
export function windowGateHead(g: GateDecl): { metric: string; stat: string; significance: number; scenarios?: string[]; description?: string; unit: string } {
  return {
    metric: captureKey(g),
    stat: g.stat,
    significance: g.significance ?? DEFAULT_SIGNIFICANCE,
    ...(g.scenarios ? { scenarios: g.scenarios } : {}),
    ...(g.description ? { description: g.description } : {}),
    unit: unitOf(g.metric, g.stat, K6_BUILTIN_METRICS[g.metric] ?? 'trend'),
  };
}

export function relativeGateResult(g: RelativeGateSpec, base: WindowsFile | undefined, cur: WindowsFile | undefined, baselineRunId: string | undefined, why?: string): RelativeGateResult {
  const head = { ...windowGateHead(g), maxIncrease: g.maxIncrease, ...(baselineRunId ? { baselineRunId } : {}) };
  const { significance } = head;
  if (!base || !cur) return { ...head, status: 'not-run', parts: [], note: why ?? 'no baseline' };
  const parts = compareGate({ key: captureKey(g), stat: g.stat, ...(g.scenarios ? { scenarios: g.scenarios } : {}) }, base, cur, { significance, maxChangePct: percentOf(g.maxIncrease), higherIsWorse: true });
  if (!parts.length) return { ...head, status: 'not-run', parts, note: 'no scenario of the gate has its samples in both runs' };
  const decided = decidingPart(parts)!;
  const status: RelativeGateResult['status'] =
    decided.verdict === 'regressed' ? 'failed' : decided.verdict === 'insufficient' ? (g.allowInsufficientData ? 'passed' : 'insufficient-data') : 'passed';
  const note =
    decided.verdict === 'insufficient'
      ? `${decided.scenario}: ${decided.windows.current} current and ${decided.windows.baseline} baseline steady window(s) cannot reach significance ${significance}: run longer`
      : undefined;
  return { ...head, status, decided, parts, ...(note ? { note } : {}) };
}

/** `+12.3%`, `-4.0%`, `n/a`. */
export function fmtDelta(d: number | undefined): string {
  if (d === undefined) return 'n/a';
  return `${d >= 0 ? '+' : ''}${d.toFixed(1)}%`;
}

export function fmtP(p: number | undefined): string {
  if (p === undefined) return 'n/a';
  return p < 0.0001 ? p.toExponential(1) : String(Number(p.toPrecision(2)));
}

/** The verdict's reason line for a failed relative gate: the gate, the baseline run, the figures and the test. */
export function relativeGateReason(r: RelativeGateResult): string {
  const d = r.decided;
  const fig = (n: number | undefined) => (n === undefined ? 'no value' : `${Number(n.toPrecision(4))}${r.unit === 'ms' ? ' ms' : ''}`);
  const what = `relative gate ${r.metric} ${r.stat} max +${r.maxIncrease}`;
  if (r.status === 'failed' && d) return `${what} failed in ${d.scenario}: ${fig(d.current)} vs ${fig(d.baseline)} in baseline ${r.baselineRunId} (${fmtDelta(d.deltaPct)}, rank test p=${fmtP(d.pValue)} < ${r.significance})`;
  return `${what} ${r.status}${r.note ? ` (${r.note})` : ''}`;
}

/**
 * After the load: each relative gate decided against the baseline, and each absolute gate's
 * result given the comparison too (`GateResult.baseline`, information only). An unusable baseline
 * leaves the relative gates `not-run` with the note saying why.
 */
export function evaluateBaseline(o: { projectDir: string; current: WindowsFile | undefined; resolved: ResolvedBaseline; gates: readonly GateDecl[]; gateResults: GateResult[] }): BaselineOutcome {
  const { resolved } = o;
  const relative = o.gates.filter((g): g is RelativeGateSpec => g.maxIncrease !== undefined);
  const cur = o.current;
  const base = resolved.status === 'found' && resolved.record ? readWindows(o.projectDir, resolved.record) : undefined;
  let note = resolved.note;
  let status: BaselineOutcome['status'] = resolved.status === 'found' ? 'compared' : resolved.status;
  if (resolved.status === 'found' && !base) {
    status = 'missing';
    note = `baseline ${resolved.record?.runId}: its windows.json is gone from its run folder`;
  }
  if (status === 'compared' && !cur) note = `${note}; this run has no per-window figures (no load phase ran)`;
  const usable = status === 'compared' ? base : undefined;
  const gates = relative.map((g) => relativeGateResult(g, usable, cur, resolved.record?.runId, usable ? undefined : note));
  if (usable && cur) {
    const absolute = o.gates.filter((g) => g.limit !== undefined);
    absolute.forEach((g, i) => {
      const r = o.gateResults[i];
      if (!r) return;
      const parts = compareGate({ key: captureKey(g), stat: g.stat, ...(g.scenarios ? { scenarios: g.scenarios } : {}) }, usable, cur, { significance: DEFAULT_SIGNIFICANCE, maxChangePct: 0, higherIsWorse: g.op === '<' || g.op === '<=' });
      const d = parts.find((p) => p.scenario === r.scenario) ?? decidingPart(parts);
      if (d) r.baseline = { runId: resolved.record!.runId, ...d };
    });
  }
  return { requested: resolved.requested, ...(resolved.record ? { runId: resolved.record.runId } : {}), status, note, gates };
}
