/**
 * k6's checks and the script's own thresholds, read for the verdict and judged.
 *
 * k6 passes a run whose `check()`s fail unless a threshold on `checks` says otherwise, so a
 * scenario could report failing checks under a green PASS. Here every check that ran is read
 * from the raw samples (the `checks` metric, one sample per evaluation, tagged `check`,
 * `group` and `scenario`), cross-checked against k6's `--summary-export` (its `root_group`
 * tree counts the same evaluations), and decided:
 *  - a threshold or gate on `checks` (or a sub-metric of it) that selects the check decides it;
 *  - otherwise `load.checks`: the check must pass at least `minRate` of its evaluations
 *    (default 1: one failed evaluation fails the run), unless its name is in `ignore`.
 * Script thresholds (declared in the scenario's options, not injected from gates) are listed
 * with their sample count; one that k6 passed on no sample at all (a trend or rate sub-metric
 * nothing fed) fails, as a gate with no data would.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { MetricStore } from '../../analysis/metric-store.ts';
import type { ThresholdResult } from './k6-run.ts';
import type { K6CheckResult, K6ThresholdResult } from '../run/verdict.ts';

/** `load.checks` of perf.config.ts. */
export interface ChecksRule {
  /** Share of a check's evaluations that must pass (0..1). */
  minRate: number;
  /** Check names exempt from the rule (listed, never failing the run). */
  ignore: string[];
}

/** At most this many checks are listed per scenario (failed ones first); the rest are counted. */
export const MAX_LISTED_CHECKS = 200;

/** `http_req_duration{name:login,scenario:journey}` → metric and tag filter (a value may hold `:`). */
export function parseThresholdKey(key: string): { metric: string; filter: Record<string, string> } {
  const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key.trim());
  if (!m) return { metric: key, filter: {} };
  const filter: Record<string, string> = {};
  for (const part of (m[2] ?? '').split(',')) {
    const at = part.indexOf(':');
    if (at > 0) filter[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return { metric: m[1]!.trim(), filter };
}

/** Threshold keys and expressions perf injected (`gatesToThresholds`), as `key expression`. */
export function injectedThresholds(injected: Record<string, unknown[]>): Set<string> {
  const out = new Set<string>();
  for (const [key, list] of Object.entries(injected)) {
    for (const t of list) {
      const expr = typeof t === 'string' ? t : (t as { threshold?: unknown }).threshold;
      if (typeof expr === 'string') out.add(`${key} ${expr}`);
    }
  }
  return out;
}

type SummaryMetric = Record<string, unknown>;
export interface SummaryGroup {
  checks?: Record<string, { name?: string; path?: string; passes?: number; fails?: number }>;
  groups?: Record<string, SummaryGroup>;
}
export interface Summary {
  metrics?: Record<string, SummaryMetric>;
  root_group?: SummaryGroup;
}

export function readSummary(file: string): Summary {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Summary;
  } catch {
    return {};
  }
}

/** Samples of a summary metric for trends (`count`) and rates (`passes + fails`); undefined otherwise. */
function summarySamples(m: SummaryMetric | undefined): number | undefined {
  if (!m) return undefined;
  if ('passes' in m && 'fails' in m) return Number(m.passes) + Number(m.fails);
  if ('p(95)' in m || 'avg' in m || 'med' in m) return typeof m.count === 'number' ? m.count : undefined;
  return undefined; // counters (a zero can be true) and gauges (no count)
}

/** Script vs gate, and the sample count; a script trend/rate threshold on zero samples is `noData`. */
export function classifyThresholds(thresholds: ThresholdResult[], injected: Set<string>, summary: Summary): K6ThresholdResult[] {
  const metrics = summary.metrics ?? {};
  return thresholds.map((t) => {
    const source = injected.has(`${t.metric} ${t.expression}`) ? ('gate' as const) : ('script' as const);
    const samples = summarySamples(metrics[t.metric]);
    return { ...t, source, ...(samples !== undefined ? { samples } : {}), ...(source === 'script' && samples === 0 ? { noData: true } : {}) };
  });
}

interface CheckCount {
  name: string;
  k6Scenario?: string;
  group?: string;
  passes: number;
  fails: number;
}

const pathOf = (c: { name: string; group?: string }) => `${c.group ?? ''}::${c.name}`;

/** Checks by (group path, name) from k6's summary tree. */
function summaryChecks(group: SummaryGroup | undefined, out = new Map<string, CheckCount>()): Map<string, CheckCount> {
  for (const c of Object.values(group?.checks ?? {})) {
    const name = c.name ?? '';
    const p = c.path ?? `::${name}`;
    const g = p.slice(0, Math.max(0, p.length - name.length - 2));
    out.set(p, { name, ...(g ? { group: g } : {}), passes: c.passes ?? 0, fails: c.fails ?? 0 });
  }
  for (const sub of Object.values(group?.groups ?? {})) summaryChecks(sub, out);
  return out;
}

/**
 * Every check that ran, per k6 scenario and group: from the raw samples, or from k6's summary
 * when the samples hold none. `disagreements`: the two sources count a check differently (raw
 * samples lost, or a reader bug), which makes the raw figures untrustworthy.
 */
export function readChecks(store: MetricStore, summary: Summary): { checks: CheckCount[]; disagreements: string[] } {
  const byKey = new Map<string, CheckCount>();
  for (const s of store.select('checks')) {
    const name = s.tags.check ?? '';
    const group = s.tags.group || undefined;
    const k6Scenario = s.tags.scenario || undefined;
    const key = `${k6Scenario ?? ''}\u0000${group ?? ''}\u0000${name}`;
    let c = byKey.get(key);
    if (!c) byKey.set(key, (c = { name, ...(k6Scenario ? { k6Scenario } : {}), ...(group ? { group } : {}), passes: 0, fails: 0 }));
    c.passes += s.nonZero;
    c.fails += s.count - s.nonZero;
  }
  const fromSummary = summaryChecks(summary.root_group);
  if (byKey.size === 0) return { checks: [...fromSummary.values()], disagreements: [] };

  const totals = new Map<string, { passes: number; fails: number }>();
  for (const c of byKey.values()) {
    const t = totals.get(pathOf(c)) ?? { passes: 0, fails: 0 };
    t.passes += c.passes;
    t.fails += c.fails;
    totals.set(pathOf(c), t);
  }
  const disagreements: string[] = [];
  if (fromSummary.size) {
    for (const [p, k] of fromSummary) {
      const t = totals.get(p) ?? { passes: 0, fails: 0 };
      if (t.passes !== k.passes || t.fails !== k.fails) {
        disagreements.push(`check "${k.name}": k6's summary counts ${k.passes} passed / ${k.fails} failed, the raw samples ${t.passes} / ${t.fails}`);
      }
    }
  }
  return { checks: [...byKey.values()], disagreements };
}

/** A threshold or gate on `checks` that takes over the checks its tag filter selects. */
export interface ChecksCover {
  label: string;
  filter: Record<string, string>;
  passed: boolean;
}

/** The `checks` thresholds of a scenario's k6 run, script ones and those injected from gates alike. */
export function checksCovers(thresholds: K6ThresholdResult[]): ChecksCover[] {
  return thresholds.flatMap((t) => {
    const { metric, filter } = parseThresholdKey(t.metric);
    if (metric !== 'checks') return [];
    const passed = t.passed && !t.noData;
    return [{ label: `${t.source === 'gate' ? 'gate' : 'threshold'} ${t.metric} ${t.expression}${passed ? '' : ' (failed)'}`, filter, passed }];
  });
}

/** `check`, `group` and `scenario` are matched; another tag cannot be told from the samples kept, so it is taken to select the check. */
function selects(filter: Record<string, string>, c: CheckCount): boolean {
  return Object.entries(filter).every(([k, v]) => (k === 'check' ? c.name === v : k === 'group' ? (c.group ?? '') === v : k === 'scenario' ? c.k6Scenario === v : true));
}

/** Each check's status and what decided it. */
export function decideChecks(checks: CheckCount[], covers: ChecksCover[], rule: ChecksRule): K6CheckResult[] {
  return checks.map((c) => {
    const covering = covers.filter((cv) => selects(cv.filter, c));
    const total = c.passes + c.fails;
    let status: K6CheckResult['status'];
    let decidedBy: string;
    if (covering.length) {
      decidedBy = covering.map((cv) => cv.label).join(', ');
      status = c.fails === 0 ? 'passed' : covering.every((cv) => cv.passed) ? 'tolerated' : 'failed';
    } else if (rule.ignore.includes(c.name)) {
      decidedBy = 'load.checks.ignore';
      status = c.fails === 0 ? 'passed' : 'tolerated';
    } else {
      decidedBy = `load.checks.minRate ${rule.minRate}`;
      status = c.fails === 0 ? 'passed' : total > 0 && c.passes / total >= rule.minRate ? 'tolerated' : 'failed';
    }
    return { ...c, status, decidedBy };
  });
}

/** Failed first, then by scenario, group and name; at most `MAX_LISTED_CHECKS`, the rest counted. */
export function listChecks(checks: K6CheckResult[]): { checks: K6CheckResult[]; omitted?: { count: number; fails: number } } {
  const rank = { failed: 0, tolerated: 1, passed: 2 } as const;
  const sorted = [...checks].sort(
    (a, b) => rank[a.status] - rank[b.status] || `${a.k6Scenario ?? ''}${pathOf(a)}`.localeCompare(`${b.k6Scenario ?? ''}${pathOf(b)}`),
  );
  const rest = sorted.slice(MAX_LISTED_CHECKS);
  return { checks: sorted.slice(0, MAX_LISTED_CHECKS), ...(rest.length ? { omitted: { count: rest.length, fails: rest.reduce((n, c) => n + c.fails, 0) } } : {}) };
}

/** `"status is 200" (browse, ::inner)`: how a check is named in reasons and reports. */
export function checkLabel(c: Pick<K6CheckResult, 'name' | 'k6Scenario' | 'group'>): string {
  const where = [c.k6Scenario, c.group].filter(Boolean).join(', ');
  return `"${c.name}"${where ? ` (${where})` : ''}`;
}

/** The run-failing lines of one scenario's checks and script thresholds. */
export function checkReasons(scenario: string, checks: K6CheckResult[], thresholds: K6ThresholdResult[]): string[] {
  const out: string[] = [];
  for (const c of checks.filter((c) => c.status === 'failed' && c.decidedBy.startsWith('load.checks'))) {
    const total = c.passes + c.fails;
    out.push(`${scenario}: k6 check ${checkLabel(c)} failed ${c.fails} of ${total} (no threshold or gate on checks covers it; ${c.decidedBy})`);
  }
  for (const t of thresholds.filter((t) => t.noData)) {
    out.push(`${scenario}: threshold ${t.metric} "${t.expression}" had no samples (k6 passes it; perf does not: feed the metric or remove the threshold)`);
  }
  return out;
}
