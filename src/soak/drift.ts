import { mannWhitneyGreater } from '../../analysis/rank-test.ts';
import { figuresOf, steadyWindows, type WindowsFile } from '../../analysis/window-capture.ts';
import type { DriftGateSpec } from '../config/config-schema.ts';
import { fmtDelta, fmtP, percentOf, windowGateHead } from '../baseline/compare-runs.ts';
import type { DriftGateResult, DriftPart } from './soak-types.ts';

/**
 * Drift gates (`maxDrift`): does a scenario get worse as the run goes on? Each scenario's
 * steady windows (analysis/window-capture.ts: after the ramp-up, complete ones) are split into
 * the first N and the last N; the gate's statistic over each span (the windows' samples merged)
 * gives the drift in %, and the one-sided Mann-Whitney U test over the per-window figures says
 * whether the last windows are worse beyond window-to-window noise. Both must hold for the gate
 * to fail, as for relative gates (src/baseline/compare-runs.ts): one slow window at the end of a
 * healthy run is noise, not drift.
 */

/** N when `soak.driftWindows` is absent: a sixth of the steady windows, at least 5. */
export function defaultDriftWindows(steady: number): number {
  return Math.max(5, Math.floor(steady / 6));
}

export function driftPart(
  g: Pick<DriftGateSpec, 'stat' | 'op'>,
  sc: WindowsFile['scenarios'][number],
  key: string,
  windowSeconds: number,
  o: { driftWindows?: number; significance: number; maxDriftPct: number },
): DriftPart | undefined {
  const series = sc.series[key];
  if (!series) return undefined;
  const steady = steadyWindows(sc, key, windowSeconds);
  // Spans never overlap: with fewer than 2N steady windows each side gets half.
  const n = Math.min(o.driftWindows ?? defaultDriftWindows(steady.length), Math.floor(steady.length / 2));
  const firstSpan = steady.slice(0, n);
  const lastSpan = steady.slice(steady.length - n);
  const first = figuresOf(firstSpan, g.stat, series.type);
  const last = figuresOf(lastSpan, g.stat, series.type);
  // A success rate (`>=` gates) gets worse by going down.
  const higherIsWorse = g.op === '<' || g.op === '<=';
  const test = higherIsWorse ? mannWhitneyGreater(last.perWindow, first.perWindow) : mannWhitneyGreater(first.perWindow, last.perWindow);
  const driftPct =
    first.overall !== undefined && last.overall !== undefined
      ? first.overall === 0
        ? last.overall === 0
          ? 0
          : Infinity
        : ((last.overall - first.overall) / first.overall) * 100
      : undefined;
  const worse = driftPct === undefined ? false : higherIsWorse ? driftPct > o.maxDriftPct : -driftPct > o.maxDriftPct;
  // Within the limit is stable whatever the test's power; past it, the test must be able to tell.
  const verdict: DriftPart['verdict'] = n < 2 ? 'insufficient' : !worse ? 'stable' : test.minPValue > o.significance ? 'insufficient' : test.pValue < o.significance ? 'drifted' : 'stable';
  return {
    scenario: sc.scenario,
    ...(first.overall !== undefined ? { first: first.overall } : {}),
    ...(last.overall !== undefined ? { last: last.overall } : {}),
    ...(driftPct !== undefined && Number.isFinite(driftPct) ? { driftPct } : {}),
    ...(n >= 2 ? { pValue: test.pValue } : {}),
    windows: { first: first.perWindow.length, last: last.perWindow.length, seconds: windowSeconds },
    ...(firstSpan[0] ? { from: firstSpan[0].start } : {}),
    ...(lastSpan.at(-1) ? { to: lastSpan.at(-1)!.start + windowSeconds } : {}),
    verdict,
  };
}

export function driftGateResult(g: DriftGateSpec, windows: WindowsFile | undefined, driftWindows: number | undefined): DriftGateResult {
  const head = { ...windowGateHead(g), maxDrift: g.maxDrift };
  const { significance, metric: key } = head;
  if (!windows) return { ...head, status: 'not-run', parts: [], note: 'no per-window figures: the load phase did not run' };
  const parts: DriftPart[] = [];
  for (const sc of windows.scenarios) {
    if (g.scenarios && !g.scenarios.includes(sc.scenario)) continue;
    const p = driftPart(g, sc, key, windows.windowSeconds, { ...(driftWindows !== undefined ? { driftWindows } : {}), significance, maxDriftPct: percentOf(g.maxDrift) });
    if (p) parts.push(p);
  }
  if (!parts.length) return { ...head, status: 'not-run', parts, note: 'no scenario that ran has samples of it' };
  const decided =
    parts.find((p) => p.verdict === 'drifted') ??
    parts.find((p) => p.verdict === 'insufficient') ??
    [...parts].sort((a, b) => (b.driftPct ?? -Infinity) - (a.driftPct ?? -Infinity))[0]!;
  const status: DriftGateResult['status'] =
    decided.verdict === 'drifted' ? 'failed' : decided.verdict === 'insufficient' ? (g.allowInsufficientData ? 'passed' : 'insufficient-data') : 'passed';
  const note =
    decided.verdict === 'insufficient'
      ? `${decided.scenario}: ${decided.windows.first} first and ${decided.windows.last} last steady window(s) of ${decided.windows.seconds} s cannot reach significance ${significance}: run longer`
      : undefined;
  return { ...head, status, decided, parts, ...(note ? { note } : {}) };
}

/** `12.5 ms`, `0.012`: a figure in the gate's unit. */
function fig(n: number | undefined, unit: string): string {
  return n === undefined ? 'no value' : `${Number(n.toPrecision(4))}${unit === 'ms' ? ' ms' : ''}`;
}

/** `http_req_duration{expected_response:true} p(95) max drift +20%`. */
export function driftGateTitle(r: Pick<DriftGateResult, 'metric' | 'stat' | 'maxDrift'>): string {
  return `${r.metric} ${r.stat} max drift +${r.maxDrift}`;
}

/** One part, for consoles and JUnit: `multi-user: 12.1 ms → 31.4 ms (+159.5%, p=0.004, drifted; 5/5 windows of 2 s)`. */
export function driftPartText(p: DriftPart, unit: string): string {
  return `${p.scenario}: ${fig(p.first, unit)} → ${fig(p.last, unit)} (${fmtDelta(p.driftPct ?? (p.first === 0 && (p.last ?? 0) > 0 ? Infinity : undefined))}, p=${fmtP(p.pValue)}, ${p.verdict}; ${p.windows.first}/${p.windows.last} windows of ${p.windows.seconds} s)`;
}

/** The verdict's reason line for a drift gate that failed or could not decide. */
export function driftGateReason(r: DriftGateResult): string {
  const d = r.decided;
  if (r.status === 'failed' && d)
    return `drift gate ${driftGateTitle(r)} failed in ${d.scenario}: ${fig(d.first, r.unit)} in the first ${d.windows.first} steady windows → ${fig(d.last, r.unit)} in the last ${d.windows.last} (${fmtDelta(d.driftPct ?? Infinity)}, rank test p=${fmtP(d.pValue)} < ${r.significance})`;
  return `drift gate ${driftGateTitle(r)} ${r.status}${r.note ? ` (${r.note})` : ''}`;
}
