import type { GateSpec } from '../coordinator/config-schema.ts';
import type { ThresholdResult } from '../coordinator/k6-run.ts';
import type { GateResult } from '../coordinator/verdict.ts';
import { minSamplesForPercentile, RELATIVE_PRECISION } from './histogram.ts';
import type { MetricSource } from './metric-store.ts';

/**
 * One gate declaration, two evaluations: `thresholdKey`/`thresholdExpression` turn it
 * into a k6 threshold (injected into the bundled script's options), and `evaluateGates`
 * computes it again from the raw samples through HDR histograms. `compareWithK6` then
 * surfaces any disagreement beyond what HDR precision and percentile interpolation allow.
 */

/** `http_req_duration{name:login}`: k6's sub-metric syntax. */
export function thresholdKey(g: Pick<GateSpec, 'metric' | 'tags'>): string {
  const tags = Object.entries(g.tags ?? {});
  return tags.length ? `${g.metric}{${tags.map(([k, v]) => `${k}:${v}`).join(',')}}` : g.metric;
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
    (out[thresholdKey(g)] ??= []).push(g.abortOnFail ? { threshold: expr, abortOnFail: true } : expr);
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
 * Evaluates each gate from the store. A percentile needs enough samples to mean
 * anything (p99: 100); with fewer the gate is `insufficient-data`, which fails unless
 * the gate allows it. A gate on a metric with no samples at all is insufficient too:
 * k6 itself passes such thresholds silently, perf does not.
 */
export function evaluateGates(gates: GateSpec[], store: MetricSource): GateResult[] {
  return gates.map((g) => {
    const agg = store.merged(g.metric, g.tags ?? {});
    const metric = thresholdKey(g);
    const expression = thresholdExpression(g);
    const unit = unitOf(g.metric, g.stat, agg.type);
    const base = { metric, expression, limit: g.limit, unit, samples: agg.count, ...(g.description ? { description: g.description } : {}) };
    const p = percentileOf(g.stat);
    let observed: number | undefined;
    let needed = 1;
    if (g.stat === 'count') {
      observed = agg.type === 'counter' ? agg.sum : agg.count;
      needed = 0;
    } else if (g.stat === 'rate') {
      observed = agg.count ? agg.nonZero / agg.count : undefined;
    } else if (agg.histogram) {
      const h = agg.histogram;
      if (h.totalCount > 0) {
        if (p !== undefined) {
          needed = minSamplesForPercentile(p);
          observed = h.getValueAtPercentile(p) / 1000;
        } else if (g.stat === 'avg') observed = agg.sum / agg.count;
        else if (g.stat === 'min') observed = agg.min;
        else if (g.stat === 'max') observed = agg.max;
        else if (g.stat === 'med') observed = h.getValueAtPercentile(50) / 1000;
      }
    } else {
      // A percentile on a non-trend metric: k6 would reject it too.
      return { ...base, status: 'failed' as const, observed: undefined, note: `${g.stat} needs a Trend metric; ${g.metric} is a ${agg.type}` };
    }
    if (observed === undefined || agg.count < needed) {
      return { ...base, ...(observed !== undefined ? { observed } : {}), status: g.allowInsufficientData ? ('passed' as const) : ('insufficient-data' as const), note: `${agg.count} sample(s); ${g.stat} needs at least ${needed}` };
    }
    return { ...base, observed, status: compare(observed, g.op, g.limit) ? ('passed' as const) : ('failed' as const) };
  });
}

export interface Disagreement {
  metric: string;
  expression: string;
  harness: { observed?: number; passed: boolean };
  k6: { observed?: number; passed: boolean };
  toleranceMs?: number;
}

/**
 * Harness vs k6, gate by gate. Values may differ by HDR precision (0.1 %) plus the gap
 * between the order statistics around the percentile's rank (k6 interpolates between
 * neighbouring samples; HDR reports a recorded value). A pass/fail disagreement, or a
 * value difference beyond that, is a bug to surface.
 */
export function compareWithK6(results: GateResult[], k6: ThresholdResult[], store: MetricSource, gates: GateSpec[]): Disagreement[] {
  const out: Disagreement[] = [];
  results.forEach((r, i) => {
    const g = gates[i]!;
    const t = k6.find((x) => x.metric === r.metric && x.expression === r.expression);
    if (!t || r.status === 'insufficient-data') return;
    const harnessPassed = r.status === 'passed';
    let tolerance = 0;
    const p = percentileOf(g.stat);
    if (p !== undefined && r.observed !== undefined) {
      const agg = store.merged(g.metric, g.tags ?? {});
      const h = agg.histogram!;
      const step = 100 / Math.max(1, h.totalCount);
      const lo = h.getValueAtPercentile(Math.max(0, p - step)) / 1000;
      const hi = h.getValueAtPercentile(Math.min(100, p + step)) / 1000;
      tolerance = percentileTolerance(hi - lo, r.observed);
    } else if (g.stat === 'avg' || g.stat === 'min' || g.stat === 'max') {
      tolerance = 0.001 + RELATIVE_PRECISION * Math.abs(r.observed ?? 0);
    } else if (g.stat === 'rate') {
      tolerance = 1e-9;
    }
    const valueOff = t.observed !== undefined && r.observed !== undefined && Math.abs(t.observed - r.observed) > tolerance;
    // Near the limit, a difference within tolerance may legitimately flip pass/fail.
    const nearLimit = r.observed !== undefined && Math.abs(r.observed - g.limit) <= tolerance;
    if (valueOff || (harnessPassed !== t.passed && !nearLimit)) {
      out.push({ metric: r.metric, expression: r.expression, harness: { observed: r.observed, passed: harnessPassed }, k6: { observed: t.observed, passed: t.passed }, toleranceMs: tolerance });
    }
  });
  return out;
}
