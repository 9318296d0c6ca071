import { WINDOW_TAG, WINDOW_VALUES } from '../bundler/window-tag.ts';
import type { GateDecl, GateSpec } from '../src/config/config-schema.ts';
import type { ThresholdResult } from '../src/k6/k6-run.ts';
import type { GatePart, GateResult, K6PhaseResult } from '../src/run/verdict.ts';
import { minSamplesForPercentile, RELATIVE_PRECISION } from './histogram.ts';
import { K6_BUILTIN_METRICS } from './k6-metrics.ts';
import { StoreUnion, type Aggregate, type MetricSource, type MetricStore } from './metric-store.ts';

/**
 * One gate declaration, two evaluations: `thresholdKey`/`thresholdExpression` turn it
 * into a k6 threshold (injected into each bundled script it applies to), and `decideGate`
 * computes it again from the raw samples through HDR histograms. `crossCheck` compares,
 * scenario by scenario, k6's result for every injected threshold with perf's evaluation of
 * the same samples; a disagreement beyond HDR precision and percentile interpolation fails
 * the run.
 *
 * Where a gate holds (`decideGate`): in each scenario it applies to, the worst deciding,
 * unless it says `merge: true`; with `groupBy`, in each value of that tag as well. Which
 * samples count: the gate's tags, plus `expected_response:true` for `http_req_*` latency
 * (`responses: 'expected'`, the default) and `perf_window:steady` for `window: 'steady'`.
 * k6's threshold key carries the same filter, so both judge the same samples.
 */

type GateShape = Pick<GateSpec, 'metric' | 'tags'> & Partial<Pick<GateSpec, 'responses' | 'window'>>;

/** k6's HTTP timing Trends, which carry `expected_response`. */
function isHttpTiming(metric: string): boolean {
  return metric.startsWith('http_req_') && K6_BUILTIN_METRICS[metric] === 'trend';
}

/** The tags a sample must carry to count for the gate: its own, then what perf adds. */
export function gateFilter(g: GateShape): Record<string, string> {
  const f: Record<string, string> = { ...(g.tags ?? {}) };
  if ((g.responses ?? 'expected') === 'expected' && isHttpTiming(g.metric) && f.expected_response === undefined) f.expected_response = 'true';
  if (g.window === 'steady') f[WINDOW_TAG] = WINDOW_VALUES.steady;
  return f;
}

/** `http_req_duration{name:login,expected_response:true}`: k6's sub-metric syntax over `gateFilter`. */
export function thresholdKey(g: GateShape): string {
  const tags = Object.entries(gateFilter(g));
  return tags.length ? `${g.metric}{${tags.map(([k, v]) => `${k}:${v}`).join(',')}}` : g.metric;
}

/**
 * A gate as declared, for `perf list`: `http_req_duration{name:login} p(95) < 200 ms  [multi-user]
 * steady  — description` — its own tags (not the filters perf adds), the scenarios it applies to,
 * how it is decided when not by default (steady window, per tag value, merged, all responses).
 */
export function gateSpecText(g: GateDecl): string {
  const unit = unitOf(g.metric, g.stat, K6_BUILTIN_METRICS[g.metric] ?? 'trend');
  const rule = g.maxIncrease !== undefined ? `${g.stat} at most +${g.maxIncrease} over the baseline (α ${g.significance ?? 0.01})` : g.maxDrift !== undefined ? `${g.stat} drifts at most +${g.maxDrift}, first windows to last (α ${g.significance ?? 0.01})` : `${g.stat} ${g.op} ${g.limit}${unit === 'ms' ? ' ms' : ''}`;
  const how = [
    ...(g.window === 'steady' ? ['steady'] : []),
    ...(g.groupBy ? [`per ${g.groupBy}`] : []),
    ...(g.merge ? ['merged'] : []),
    ...(g.responses === 'all' ? ['all responses'] : []),
    ...(g.allowInsufficientData ? ['insufficient data allowed'] : []),
    ...(g.abortOnFail ? ['abort on fail'] : []),
  ];
  return [
    `${thresholdKey({ metric: g.metric, tags: g.tags, responses: 'all' })} ${rule}`,
    `[${g.scenarios?.join(', ') ?? 'all scenarios'}]`,
    ...(how.length ? [how.join(', ')] : []),
  ].join('  ') + (g.description ? `  — ${g.description}` : '');
}

/** `p(95)` → 95; undefined for statistics that are not percentiles. */
export function percentileOf(stat: string): number | undefined {
  const m = /^p\(([\d.]+)\)$/.exec(stat);
  return m ? Number(m[1]) : undefined;
}

/**
 * How far two evaluations of one percentile may differ and still agree: the gap between the
 * samples one rank either side (k6 and InfluxQL interpolate or round ranks differently from
 * HDR's nearest rank), plus HDR's precision on both values, plus a micro-second of rounding.
 */
export function percentileTolerance(neighbourGap: number, value: number): number {
  return Math.max(0, neighbourGap) + 2 * RELATIVE_PRECISION * Math.abs(value) + 0.001;
}

/** `p(95)<300`. */
export function thresholdExpression(g: Pick<GateSpec, 'stat' | 'op' | 'limit'>): string {
  return `${g.stat}${g.op}${g.limit}`;
}

/** The `thresholds` option k6 gets: gates grouped by threshold key. */
export function gatesToThresholds(gates: GateSpec[]): Record<string, (string | { threshold: string; abortOnFail: boolean })[]> {
  const out: Record<string, (string | { threshold: string; abortOnFail: boolean })[]> = {};
  for (const g of gates) {
    const expr = thresholdExpression(g);
    const list = (out[thresholdKey(g)] ??= []);
    // Two gates with one threshold (e.g. grouped and not) are one threshold for k6.
    if (!list.some((t) => (typeof t === 'string' ? t : t.threshold) === expr)) list.push(g.abortOnFail ? { threshold: expr, abortOnFail: true } : expr);
  }
  return out;
}

/** Whether `observed op limit` holds (the gate's comparison, as k6 evaluates it). */
export function compare(observed: number, op: GateSpec['op'], limit: number): boolean {
  switch (op) {
    case '<':
      return observed < limit;
    case '<=':
      return observed <= limit;
    case '>':
      return observed > limit;
    case '>=':
      return observed >= limit;
  }
}

const TIME_METRIC = /duration|latency|time|_ms$|waiting|blocked|connecting|sending|receiving|handshaking/;

export function unitOf(metric: string, stat: GateSpec['stat'], type: string): string {
  if (stat === 'rate') return 'ratio';
  if (stat === 'count') return type === 'counter' ? 'count' : 'samples';
  return TIME_METRIC.test(metric) ? 'ms' : 'value';
}

/**
 * Samples a rate limit needs before a rate says anything about it: one sample moves a rate
 * by 1/n, so n must reach 1/min(L, 1 − L) — `rate<0.01` needs 100 (to tell 1 % from 0),
 * `rate>=0.999` needs 1000. A limit of 0 or 1 ("never", "always") is decided by one sample.
 */
export function minSamplesForRate(limit: number): number {
  if (limit <= 0 || limit >= 1) return 1;
  return Math.ceil(1 / Math.min(limit, 1 - limit) - 1e-9);
}

/** Samples the gate's statistic needs, and why, for the insufficient-data note. */
export function samplesNeeded(g: Pick<GateSpec, 'stat' | 'limit'>): { needed: number; why: string } {
  const p = percentileOf(g.stat);
  if (p !== undefined) return { needed: minSamplesForPercentile(p), why: `1/(1 − ${p / 100})` };
  if (g.stat === 'rate') {
    const needed = minSamplesForRate(g.limit);
    return { needed, why: needed === 1 ? 'any sample decides a limit of 0 or 1' : `1/${g.limit < 0.5 ? g.limit : `(1 − ${g.limit})`}` };
  }
  if (g.stat === 'count') return { needed: 0, why: '' };
  return { needed: 1, why: '' };
}

/** One gate on one aggregate: its figure, and whether it holds with enough samples. */
export interface Evaluation {
  observed?: number;
  samples: number;
  status: GatePart['status'];
  note?: string;
  unit: string;
  /** `observed op limit`, whatever the sample count (what k6 decides the threshold by). */
  holds?: boolean;
}

/**
 * A percentile or rate needs enough samples to mean anything (`samplesNeeded`); a figure that
 * holds on fewer is `insufficient-data`, which fails unless the gate allows it, and one that
 * crosses the limit fails whatever the count. No samples at all is insufficient too: k6
 * itself passes such thresholds silently, perf does not.
 */
export function evaluateAggregate(g: GateSpec, agg: Aggregate): Evaluation {
  const unit = unitOf(g.metric, g.stat, agg.type);
  const p = percentileOf(g.stat);
  let observed: number | undefined;
  if (g.stat === 'count') observed = agg.type === 'counter' ? agg.sum : agg.count;
  else if (g.stat === 'rate') observed = agg.count ? agg.nonZero / agg.count : undefined;
  else if (agg.histogram) {
    const h = agg.histogram;
    if (h.totalCount > 0) {
      if (p !== undefined) observed = h.getValueAtPercentile(p) / 1000;
      else if (g.stat === 'avg') observed = agg.sum / agg.count;
      else if (g.stat === 'min') observed = agg.min;
      else if (g.stat === 'max') observed = agg.max;
      else if (g.stat === 'med') observed = h.getValueAtPercentile(50) / 1000;
    }
  } else {
    // A percentile on a non-trend metric: k6 would reject it too.
    return { samples: agg.count, unit, status: 'failed', note: `${g.stat} needs a Trend metric; ${g.metric} is a ${agg.type}` };
  }
  const holds = observed !== undefined ? compare(observed, g.op, g.limit) : undefined;
  const { needed, why } = samplesNeeded(g);
  const base = { samples: agg.count, unit, ...(observed !== undefined ? { observed, holds } : {}) };
  // Too few samples can only withhold a pass: samples that already cross the limit fail it
  // (as k6's threshold does), however few they are.
  if (holds === false) return { ...base, status: 'failed' };
  if (observed === undefined || agg.count < needed) {
    const stat = g.stat === 'rate' ? thresholdExpression(g) : g.stat;
    const note = `${agg.count} sample(s); ${stat} needs at least ${needed}${why ? ` (${why})` : ''}`;
    return { ...base, status: g.allowInsufficientData ? 'passed' : 'insufficient-data', note };
  }
  return { ...base, status: holds ? 'passed' : 'failed' };
}

/** The gate over everything `source` holds (one scenario's store, or several merged), without grouping. */
export function evaluateOn(g: GateSpec, source: MetricSource): Evaluation {
  return evaluateAggregate(g, source.merged(g.metric, gateFilter(g)));
}

function resultBase(g: GateSpec): Omit<GateResult, 'status' | 'samples' | 'unit'> {
  return {
    metric: thresholdKey(g),
    expression: thresholdExpression(g),
    limit: g.limit,
    ...(g.scenarios ? { scenarios: g.scenarios } : {}),
    ...(g.groupBy ? { groupBy: g.groupBy } : {}),
    ...(g.merge ? { merged: true } : {}),
    ...(g.window === 'steady' ? { window: 'steady' as const } : {}),
    ...(g.description ? { description: g.description } : {}),
  };
}

/** Each gate over one source as a whole (one scenario; no per-scenario or per-value parts). */
export function evaluateGates(gates: GateSpec[], source: MetricSource): GateResult[] {
  return gates.map((g) => {
    const e = evaluateOn(g, source);
    return { ...resultBase(g), unit: e.unit, samples: e.samples, status: e.status, ...(e.observed !== undefined ? { observed: e.observed } : {}), ...(e.note ? { note: e.note } : {}) };
  });
}

const SEVERITY: Record<GatePart['status'], number> = { passed: 0, 'insufficient-data': 1, failed: 2 };

/**
 * Whether part a is worse than b: a worse status, else a figure further on the failing side,
 * else fewer samples (less evidence). Total up to equal figures, so any order of the same
 * parts picks an equal worst (perf analyze relies on it).
 */
export function worse(a: Pick<GatePart, 'status' | 'observed' | 'samples'>, b: Pick<GatePart, 'status' | 'observed' | 'samples'>, op: GateSpec['op']): boolean {
  if (SEVERITY[a.status] !== SEVERITY[b.status]) return SEVERITY[a.status] > SEVERITY[b.status];
  if ((a.observed === undefined) !== (b.observed === undefined)) return a.observed === undefined;
  if (a.observed !== undefined && b.observed !== undefined && a.observed !== b.observed) return op === '<' || op === '<=' ? a.observed > b.observed : a.observed < b.observed;
  return a.samples < b.samples;
}

/** "multi-user name=login" — where a part of a gate was evaluated. */
export function partLabel(p: Pick<GatePart, 'scenario' | 'group'>, groupBy?: string): string {
  const where = p.scenario ?? 'all scenarios';
  if (!groupBy) return where;
  return `${where} ${groupBy}=${p.group ?? '(none)'}`;
}

/**
 * Decides one gate over the scenarios that ran (`stores`, by perf scenario name, in run
 * order). A gate bound to `scenarios` must hold in each of them that ran (not-run when none
 * did; a named scenario without samples is insufficient, never skipped); an unbound gate in
 * each scenario that produced samples of its metric and tags. `merge: true` makes one part of
 * all of them. With `groupBy`, each part splits into one per tag value seen.
 */
export function decideGate(g: GateSpec, stores: Map<string, MetricStore>): GateResult {
  const base = resultBase(g);
  const ran = [...stores.keys()];
  if (g.scenarios && !g.scenarios.some((n) => stores.has(n))) {
    return { ...base, unit: unitOf(g.metric, g.stat, 'trend'), samples: 0, status: 'not-run', note: `its scenarios (${g.scenarios.join(', ')}) did not run` };
  }
  const own = g.scenarios ? ran.filter((n) => g.scenarios!.includes(n)) : ran.filter((n) => stores.get(n)!.merged(g.metric, g.tags ?? {}).count > 0);
  const units: { scenario?: string; source: MetricSource }[] = g.merge
    ? [{ source: new StoreUnion(own.map((n) => stores.get(n)!)) }]
    : own.map((n) => ({ scenario: n, source: stores.get(n)! }));
  if (units.length === 0) units.push({ source: new StoreUnion([]) });

  const filter = gateFilter(g);
  const parts: GatePart[] = [];
  let unit = '';
  for (const u of units) {
    const aggs: [string | undefined, Aggregate][] = g.groupBy ? [...u.source.groupedBy(g.metric, filter, g.groupBy)].sort(([a], [b]) => (a === undefined ? 1 : b === undefined ? -1 : a.localeCompare(b))) : [];
    const evaluated = g.groupBy && aggs.length ? aggs.map(([group, agg]) => ({ group, e: evaluateAggregate(g, agg) })) : [{ group: undefined, e: evaluateAggregate(g, u.source.merged(g.metric, filter)) }];
    for (const { group, e } of evaluated) {
      unit = e.unit;
      parts.push({
        ...(u.scenario ? { scenario: u.scenario } : {}),
        ...(g.groupBy && group !== undefined ? { group } : {}),
        samples: e.samples,
        status: e.status,
        ...(e.observed !== undefined ? { observed: e.observed } : {}),
        ...(e.note ? { note: e.note } : {}),
      });
    }
  }
  const worst = parts.reduce((w, p) => (worse(p, w, g.op) ? p : w));
  const where = partLabel(worst, g.groupBy);
  const note = parts.length === 1 ? worst.note : worst.note ? `${where}: ${worst.note}` : `worst of ${parts.length}: ${where}`;
  return {
    ...base,
    ...(worst.scenario ? { scenario: worst.scenario } : {}),
    ...(worst.group !== undefined ? { group: worst.group } : {}),
    unit,
    samples: worst.samples,
    status: worst.status,
    ...(worst.observed !== undefined ? { observed: worst.observed } : {}),
    ...(note ? { note } : {}),
    parts,
  };
}

export type Consistency = NonNullable<K6PhaseResult['consistency']>[number];

/**
 * k6 against perf on one scenario's samples, for every threshold perf injected into it (one
 * per gate: its key and expression, without `groupBy`). They must agree: values within HDR
 * precision plus the gap between the order statistics around the percentile's rank (k6
 * interpolates between neighbouring samples; HDR reports a recorded value), and pass/fail
 * alike unless the value is within that tolerance of the limit. k6 not reporting a threshold
 * that perf saw samples for is a disagreement too (`k6Reported`: k6 ran to its end and wrote
 * its summary).
 */
export function crossCheck(gates: GateSpec[], thresholds: ThresholdResult[], store: MetricSource, k6Reported: boolean): Consistency[] {
  const seen = new Set<string>();
  const out: Consistency[] = [];
  for (const g of gates) {
    const metric = thresholdKey(g);
    const expression = thresholdExpression(g);
    if (seen.has(`${metric} ${expression}`)) continue;
    seen.add(`${metric} ${expression}`);
    const agg = store.merged(g.metric, gateFilter(g));
    const e = evaluateAggregate(g, agg);
    const t = thresholds.find((x) => x.metric === metric && x.expression === expression);
    const entry: Consistency = {
      metric,
      expression,
      samples: e.samples,
      harness: { ...(e.observed !== undefined ? { observed: e.observed } : {}), status: e.status },
      ...(t ? { k6: { ...(t.observed !== undefined ? { observed: t.observed } : {}), passed: t.passed } } : {}),
    };
    const d = disagreement(g, e, agg, t, k6Reported);
    if (d) entry.disagreement = d;
    out.push(entry);
  }
  return out;
}

function disagreement(g: GateSpec, e: Evaluation, agg: Aggregate, t: ThresholdResult | undefined, k6Reported: boolean): string | undefined {
  const what = `${thresholdKey(g)} ${thresholdExpression(g)}`;
  if (!t) return k6Reported && e.samples > 0 ? `k6 reported no result for the threshold ${what} that perf injected, while perf counted ${e.samples} sample(s)` : undefined;
  if (e.observed === undefined || e.holds === undefined) return undefined;
  let tolerance = 0;
  const p = g.stat === 'med' ? 50 : percentileOf(g.stat);
  if (p !== undefined && agg.histogram) {
    const h = agg.histogram;
    const step = 100 / Math.max(1, h.totalCount);
    const lo = h.getValueAtPercentile(Math.max(0, p - step)) / 1000;
    const hi = h.getValueAtPercentile(Math.min(100, p + step)) / 1000;
    tolerance = percentileTolerance(hi - lo, e.observed);
  } else if (g.stat === 'avg' || g.stat === 'min' || g.stat === 'max') {
    tolerance = 0.001 + RELATIVE_PRECISION * Math.abs(e.observed);
  } else if (g.stat === 'rate') {
    tolerance = 1e-9;
  }
  const valueOff = t.observed !== undefined && Math.abs(t.observed - e.observed) > tolerance;
  // Near the limit, a difference within tolerance may legitimately flip pass/fail.
  const nearLimit = Math.abs(e.observed - g.limit) <= tolerance;
  if (!valueOff && (e.holds === t.passed || nearLimit)) return undefined;
  const fmt = (n: number | undefined) => (n === undefined ? 'no value' : String(Number(n.toPrecision(6))));
  return (
    `harness and k6 disagree on ${what}: harness ${fmt(e.observed)} over ${e.samples} sample(s) (${e.holds ? 'pass' : 'fail'}) vs k6 ${fmt(t.observed)} (${t.passed ? 'pass' : 'fail'}), ` +
    `tolerance ${Number(tolerance.toPrecision(3))}; the raw samples perf read are not the ones k6 judged (lost or altered samples, or a bug in perf's analysis)`
  );
}
