import { UserError } from '../errors.ts';
import type { GateComparison } from './baseline-types.ts';
import { compareGate, DEFAULT_SIGNIFICANCE, fmtDelta, fmtP, percentOf, readWindows } from './compare-runs.ts';
import { findRun, incomparability, type RunIndexRecord } from './run-index.ts';

/**
 * `perf compare <a> <b>`: the gates of run b (as b's index line lists them) against run a, per
 * scenario: figure in a, in b, change, rank-test p-value and verdict. Relative gates judge with
 * their `maxIncrease`; absolute gates with 0 % (any significant change counts), in the direction
 * their `op` says is worse. Runs of another shape are compared anyway, saying how they differ.
 */
export interface CompareRow {
  gate: string;
  kind: 'absolute' | 'relative';
  cmp: GateComparison;
}

export interface CompareResult {
  a: string;
  b: string;
  /** How the two runs differ in profile, users, scenarios or config (empty: comparable). */
  differences: string[];
  significance: number;
  rows: CompareRow[];
}

export function compareRuns(projectDir: string, aId: string, bId: string): CompareResult {
  const a = findRun(projectDir, aId);
  const b = findRun(projectDir, bId);
  const wa = readWindows(projectDir, a);
  const wb = readWindows(projectDir, b);
  if (!wa || !wb) throw new UserError(`run ${!wa ? a.runId : b.runId} has no per-window figures (no load phase ran, or its run folder was removed)`, 'Compare two runs that ran the load phase.');
  const differences = incomparability(a, { profile: b.profile ?? '', users: b.users ?? 0, scenarios: b.scenarios, comparableHash: b.comparableHash }).filter((d) => !d.startsWith('it has no'));
  const rows: CompareRow[] = [];
  for (const g of gatesOf(b)) {
    const parts = compareGate({ key: g.key, stat: g.stat, ...(g.scenarios ? { scenarios: g.scenarios } : {}) }, wa, wb, {
      significance: DEFAULT_SIGNIFICANCE,
      maxChangePct: g.kind === 'relative' ? percentOf(g.rule.replace(/^\+/, '')) : 0,
      higherIsWorse: g.kind === 'relative' || g.op === undefined || g.op === '<' || g.op === '<=',
    });
    for (const cmp of parts) rows.push({ gate: `${g.key} ${g.stat} ${g.kind === 'relative' ? `max ${g.rule}` : g.rule.slice(g.stat.length)}`, kind: g.kind, cmp });
  }
  return { a: a.runId, b: b.runId, differences, significance: DEFAULT_SIGNIFICANCE, rows };
}

/** Each gate once (two gates on the same samples and statistic are one comparison). */
function gatesOf(r: RunIndexRecord): RunIndexRecord['gates'] {
  const seen = new Set<string>();
  return r.gates.filter((g) => {
    const id = `${g.key} ${g.stat} ${g.rule}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

const fig = (n: number | undefined) => (n === undefined ? '-' : String(Number(n.toPrecision(4))));

export function formatCompareTable(r: CompareResult): string {
  const head = ['gate', 'scenario', r.a, r.b, 'delta', 'p', 'verdict'];
  const body = r.rows.map((x) => [x.gate, x.cmp.scenario, fig(x.cmp.baseline), fig(x.cmp.current), fmtDelta(x.cmp.deltaPct), fmtP(x.cmp.pValue), x.cmp.verdict]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    `perf compare ${r.a} → ${r.b} (one-sided Mann-Whitney U over steady windows, α ${r.significance})`,
    ...(r.differences.length ? [`warning: the runs are not comparable: ${r.differences.join('; ')}`] : []),
    line(head),
    ...body.map(line),
    ...(body.length ? [] : ['(no gate has samples in both runs)']),
  ].join('\n');
}
