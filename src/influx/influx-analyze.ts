import { isK6Counter } from '../../analysis/k6-metrics.ts';
import type { GateSpec } from '../config/config-schema.ts';
import { UserError } from '../errors.ts';
import { influxClient, pingInflux } from './influx.ts';
import { compare, percentileOf, percentileTolerance, samplesNeeded, thresholdExpression, thresholdKey, worse } from '../../analysis/gates.ts';
import { parseGateExpression, parseGateKey, specOf } from './influx-points.ts';
import { INFLUX_MEASUREMENTS, INFLUX_TAGS, influxIdent, influxOneOf, influxString, type InfluxTarget } from './influx-schema.ts';
import type { GateResult, Verdict } from '../run/verdict.ts';

/**
 * `perf analyze`: a run's gates recomputed from what InfluxDB holds (for runs whose raw
 * files are gone, like a week-old soak), next to the figures the run decided with.
 *
 * The two computations differ by design, and the tolerance says by how much they may:
 * - percentiles: the harness reads an HDR histogram (3 significant digits: a recorded value
 *   is exact to 0.1 %, values kept as whole microseconds) at rank ceil(p·n); InfluxQL's
 *   PERCENTILE() is nearest-rank on the raw points, rank floor(p·n + 0.5). The ranks may be
 *   one apart, so the tolerance is the gap between the samples one rank either side of the
 *   percentile (measured in InfluxDB), plus 2 × 0.1 % of the value, plus 1 µs of rounding.
 *   MEDIAN() (for `med`) averages the two middle points; the same tolerance covers it.
 * - avg, min, max: exact on both sides but for float formatting (k6's CSV keeps 6
 *   decimals): 1e-6 relative (at least 1e-6 absolute).
 * - rate and count: exact; any difference means samples are missing from InfluxDB.
 * A status difference is a disagreement unless the value sits within tolerance of the limit.
 */

export type GateStatus = GateResult['status'];

export interface AnalyzeGate {
  /** k6 threshold key, e.g. `http_req_duration{name:login}`. */
  key: string;
  metric: string;
  tags: Record<string, string>;
  stat: string;
  op: string;
  limit: number;
  expression: string;
  allowInsufficientData: boolean;
  /** The perf scenarios the gate is bound to (all when absent): `perf_scenario` in InfluxDB. */
  scenarios?: string[];
  /** `count` gates: `count` sums a Counter's values, `samples` counts points. */
  unit?: string;
  /** Decided over its scenarios merged (`merge: true`); else per `perf_scenario`, the worst deciding. */
  merge?: boolean;
  /** A tag each value of which must hold the gate (per scenario too). */
  groupBy?: string;
}

export interface Figure {
  observed?: number;
  samples: number;
  status: GateStatus;
  unit?: string;
  note?: string;
}

export interface AnalyzeRow {
  gate: string;
  expression: string;
  influx: Figure;
  /** What the run decided with (its verdict, or the perf_gate summary written at its end). */
  local?: Figure;
  difference?: number;
  tolerance?: number;
  /** How the tolerance is made up, in words. */
  toleranceBasis?: string;
  /** Undefined when there is nothing local to compare with. */
  agree?: boolean;
  disagreement?: string;
}

export interface AnalyzeResult {
  runId: string;
  url: string;
  /** Where the local figures came from. */
  localSource: 'verdict' | 'influx-summary' | 'none';
  k6Samples: number;
  rows: AnalyzeRow[];
}



type Series = { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] };

export class InfluxReader {
  private readonly client;
  constructor(
    readonly target: InfluxTarget,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.client = influxClient(target, env, 10_000);
  }

  async query(q: string): Promise<Series[]> {
    const raw = (await this.client.queryRaw(q)) as { results: { error?: string; series?: Series[] }[] };
    const r = raw.results[0];
    if (r?.error) throw new Error(`${r.error} (query: ${q})`);
    return r?.series ?? [];
  }

  /** First row of the first series, as column → value. */
  async row(q: string): Promise<Record<string, unknown> | undefined> {
    const s = (await this.query(q))[0];
    const v = s?.values[0];
    return v ? Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) : undefined;
  }
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export interface RecordedGate extends Figure {
  metric: string;
  expression: string;
  scenarios?: string[];
  groupBy?: string;
  merged?: boolean;
  /** The part (scenario, tag value) whose figure the run reported: compared with the same part in InfluxDB. */
  part?: { scenario?: string; group?: string };
  /** Recorded with the gate summary (runs whose config is not at hand). */
  allowInsufficientData?: boolean;
}

/**
 * The gates of a run: from its recorded results (the gates that gated it, in declaration
 * order), else from the config. What a result does not carry (allowInsufficientData, and the
 * scenarios when the run predates recording them) comes from the matching declaration.
 */
export function gatesOf(recorded: RecordedGate[], configGates: GateSpec[]): AnalyzeGate[] {
  const fromConfig = (g: GateSpec): AnalyzeGate => {
    return {
      key: thresholdKey(g),
      metric: g.metric,
      tags: g.tags ?? {},
      stat: g.stat,
      op: g.op,
      limit: g.limit,
      expression: thresholdExpression(g),
      allowInsufficientData: g.allowInsufficientData,
      ...(g.scenarios?.length ? { scenarios: g.scenarios } : {}),
      ...(g.merge ? { merge: true } : {}),
      ...(g.groupBy ? { groupBy: g.groupBy } : {}),
    };
  };
  if (!recorded.length) return configGates.map(fromConfig);
  return recorded.flatMap((r, i) => {
    const e = parseGateExpression(r.expression);
    if (!e) return [];
    const { metric, tags } = parseGateKey(r.metric);
    const spec = specOf({ metric: r.metric, expression: r.expression } as GateResult, i, configGates);
    const scenarios = r.scenarios ?? spec?.scenarios;
    const merge = r.merged ?? spec?.merge;
    const groupBy = r.groupBy ?? spec?.groupBy;
    return [
      {
        key: r.metric,
        metric,
        tags,
        stat: e.stat,
        op: e.op,
        limit: e.limit,
        expression: r.expression,
        allowInsufficientData: spec?.allowInsufficientData ?? r.allowInsufficientData ?? false,
        ...(scenarios?.length ? { scenarios } : {}),
        ...(r.unit ? { unit: r.unit } : {}),
        ...(merge ? { merge: true } : {}),
        ...(groupBy ? { groupBy } : {}),
      },
    ];
  });
}

/**
 * One gate, computed by InfluxQL over this run's raw points, the way the run decided it
 * (analysis/gates.ts decideGate): per `perf_scenario` unless merged, per `groupBy` value,
 * the worst deciding; a bound scenario that ran without a sample is a part of 0 samples.
 */
export async function computeGate(
  reader: InfluxReader,
  runId: string,
  g: AnalyzeGate,
  ran?: Set<string>,
  /** Report this part's figure (the one the run reported), with the gate's status over all parts. */
  want?: { scenario?: string; group?: string },
): Promise<{ figure: Figure; neighbours?: { lo: number; hi: number } }> {
  const where = [
    `${influxIdent(INFLUX_TAGS.runId)} = ${influxString(runId)}`,
    ...(g.scenarios?.length ? [`${influxIdent(INFLUX_TAGS.scenario)} =~ ${influxOneOf(g.scenarios)}`] : []),
    ...Object.entries(g.tags).map(([k, v]) => `${influxIdent(k)} = ${influxString(v)}`),
  ].join(' AND ');
  const groups = [...(g.merge ? [] : [INFLUX_TAGS.scenario]), ...(g.groupBy ? [g.groupBy] : [])];
  const groupBy = groups.length ? ` GROUP BY ${groups.map(influxIdent).join(', ')}` : '';
  const partOf = (tags?: Record<string, string>) => Object.fromEntries(groups.map((t) => [t, tags?.[t] ?? '']));
  const keyOf = (part: Record<string, string>) => groups.map((t) => part[t] ?? '').join('\u0000');
  const from = influxIdent(g.metric);
  const op = g.op as GateSpec['op'];
  const { needed, why } = samplesNeeded({ stat: g.stat as GateSpec['stat'], limit: g.limit });
  // As the run decides: a figure that crosses the limit fails however few its samples.
  const finish = (observed: number | undefined, samples: number, unit?: string): Figure => {
    if (observed !== undefined && !compare(observed, op, g.limit)) return { observed, samples, status: 'failed', ...(unit ? { unit } : {}) };
    if (observed === undefined || samples < needed) {
      return {
        ...(observed !== undefined ? { observed } : {}),
        samples,
        status: g.allowInsufficientData ? 'passed' : 'insufficient-data',
        note: `${samples} sample(s); ${g.stat === 'rate' ? g.expression : g.stat} needs at least ${needed}${why ? ` (${why})` : ''}`,
        ...(unit ? { unit } : {}),
      };
    }
    return { observed, samples, status: 'passed', ...(unit ? { unit } : {}) };
  };
  /** Rows of a grouped query by part key, with the part's tags. */
  const rows = async (q: string) => {
    const out = new Map<string, { part: Record<string, string>; row: Record<string, unknown> }>();
    for (const s of await reader.query(q)) {
      const v = s.values[0];
      if (!v) continue;
      const part = partOf(s.tags);
      out.set(keyOf(part), { part, row: Object.fromEntries(s.columns.map((c, i) => [c, v[i]])) });
    }
    return out;
  };
  const parts: { part: Record<string, string>; figure: Figure; row?: Record<string, unknown> }[] = [];
  const pct = percentileOf(g.stat);
  if (g.stat === 'rate') {
    const all = await rows(`SELECT count("value") AS n FROM ${from} WHERE ${where}${groupBy}`);
    const nonZero = await rows(`SELECT count("value") AS n FROM ${from} WHERE ${where} AND "value" <> 0${groupBy}`);
    for (const [k, { part, row }] of all) {
      const n = num(row.n) ?? 0;
      parts.push({ part, figure: finish(n ? (num(nonZero.get(k)?.row.n) ?? 0) / n : undefined, n, 'ratio') });
    }
  } else if (g.stat === 'count') {
    const counter = g.unit ? g.unit === 'count' : isK6Counter(g.metric);
    for (const { part, row } of (await rows(`SELECT count("value") AS n, sum("value") AS s FROM ${from} WHERE ${where}${groupBy}`)).values()) {
      const n = num(row.n) ?? 0;
      parts.push({ part, figure: finish(counter ? (num(row.s) ?? 0) : n, n, counter ? 'count' : 'samples') });
    }
  } else if (pct !== undefined || g.stat === 'med') {
    const agg = pct !== undefined ? `percentile("value", ${pct})` : 'median("value")';
    for (const { part, row } of (await rows(`SELECT count("value") AS n, ${agg} AS v, min("value") AS lo, max("value") AS hi FROM ${from} WHERE ${where}${groupBy}`)).values()) {
      const n = num(row.n) ?? 0;
      parts.push({ part, row, figure: finish(n ? num(row.v) : undefined, n) });
    }
  } else {
    const fn = { avg: 'mean', min: 'min', max: 'max' }[g.stat as 'avg' | 'min' | 'max'];
    if (!fn) return { figure: { samples: 0, status: 'failed', note: `unknown statistic ${g.stat}` } };
    for (const { part, row } of (await rows(`SELECT count("value") AS n, ${fn}("value") AS v FROM ${from} WHERE ${where}${groupBy}`)).values()) {
      const n = num(row.n) ?? 0;
      parts.push({ part, figure: finish(n ? num(row.v) : undefined, n) });
    }
  }
  // Bound scenarios that ran but have no point of it are parts too (insufficient), as in the run.
  if (!g.merge && g.scenarios && ran) {
    for (const s of g.scenarios.filter((x) => ran.has(x) && !parts.some((p) => p.part[INFLUX_TAGS.scenario] === x))) parts.push({ part: { [INFLUX_TAGS.scenario]: s }, figure: finish(undefined, 0) });
  }
  if (!parts.length) parts.push({ part: {}, figure: finish(undefined, 0) });
  type Judged = Figure & { status: 'passed' | 'failed' | 'insufficient-data' };
  const worst = parts.reduce((w, p) => (worse(p.figure as Judged, w.figure as Judged, op) ? p : w));
  // Figures of the same part on both sides (two close parts may rank differently by HDR and
  // by InfluxQL); the status is the gate's, over all parts.
  const same = want && parts.find((p) => groups.every((t) => (p.part[t] ?? '') === ((t === INFLUX_TAGS.scenario ? want.scenario : want.group) ?? '')));
  const chosen = same ?? worst;
  let neighbours: { lo: number; hi: number } | undefined;
  const observed = chosen.figure.observed;
  if ((pct !== undefined || g.stat === 'med') && chosen.row && observed !== undefined) {
    // One rank either side, in the worst part; PERCENTILE() at 0 or beyond 100 has no rank, min/max stand in.
    const p = pct ?? 50;
    const step = 100 / chosen.figure.samples;
    const q = (x: number) => (x <= step / 2 ? 'min("value")' : x >= 100 ? 'max("value")' : `percentile("value", ${x})`);
    const own = Object.entries(chosen.part).map(([k, v]) => ` AND ${influxIdent(k)} = ${influxString(v)}`).join('');
    const nb = await reader.row(`SELECT ${q(p - step)} AS lo, ${q(p + step)} AS hi FROM ${from} WHERE ${where}${own}`);
    neighbours = { lo: num(nb?.lo) ?? num(chosen.row.lo) ?? observed, hi: num(nb?.hi) ?? num(chosen.row.hi) ?? observed };
  }
  const { note: _n, ...figure } = chosen.figure;
  const note = chosen === worst ? worst.figure.note : worst.figure.note ?? chosen.figure.note;
  return { figure: { ...figure, status: worst.figure.status, ...(note ? { note } : {}) }, ...(neighbours ? { neighbours } : {}) };
}

/** Tolerance of |InfluxDB − local| for one gate (see the module comment for why). */
export function toleranceFor(stat: string, local: number, neighbours?: { lo: number; hi: number }): { tolerance: number; basis: string } {
  if (percentileOf(stat) !== undefined || stat === 'med') {
    const gap = neighbours ? Math.max(0, neighbours.hi - neighbours.lo) : 0;
    return {
      tolerance: percentileTolerance(gap, local),
      basis: `one rank either side (${Number(gap.toPrecision(3))}) + 2×0.1 % HDR + 0.001`,
    };
  }
  if (stat === 'avg' || stat === 'min' || stat === 'max') return { tolerance: 1e-6 * Math.max(1, Math.abs(local)), basis: '1e-6 relative (CSV decimals)' };
  return { tolerance: 1e-9, basis: 'exact' };
}

/** Local figures written at the end of the run (perf_gate), for runs whose verdict is gone. */
async function recordedInInflux(reader: InfluxReader, runId: string): Promise<RecordedGate[]> {
  const series = await reader.query(
    `SELECT "observed", "samples", "unit", "scenarios", "gate", "expression", "status", "group_by", "merged", "part_scenario", "part_group", "allow_insufficient" FROM ${influxIdent(INFLUX_MEASUREMENTS.gate)} WHERE ${influxIdent(INFLUX_TAGS.runId)} = ${influxString(runId)}`,
  );
  const out: RecordedGate[] = [];
  for (const s of series) {
    for (const v of s.values) {
      const row = Object.fromEntries(s.columns.map((c, i) => [c, v[i]]));
      out.push({
        metric: String(row.gate),
        expression: String(row.expression),
        samples: num(row.samples) ?? 0,
        status: String(row.status) as GateStatus,
        ...(num(row.observed) !== undefined ? { observed: num(row.observed)! } : {}),
        ...(typeof row.unit === 'string' ? { unit: row.unit } : {}),
        ...(typeof row.scenarios === 'string' && row.scenarios ? { scenarios: row.scenarios.split(',') } : {}),
        ...(typeof row.group_by === 'string' && row.group_by ? { groupBy: row.group_by } : {}),
        ...(row.merged === 'true' ? { merged: true } : {}),
        part: { ...(typeof row.part_scenario === 'string' ? { scenario: row.part_scenario } : {}), ...(typeof row.part_group === 'string' ? { group: row.part_group } : {}) },
        ...(num(row.allow_insufficient) ? { allowInsufficientData: true } : {}),
      });
    }
  }
  return out;
}

export async function analyzeRun(opts: { target: InfluxTarget; runId: string; verdict?: Verdict; configGates: GateSpec[]; env?: NodeJS.ProcessEnv }): Promise<AnalyzeResult> {
  const why = await pingInflux(opts.target, 5000);
  if (why) throw new UserError(`InfluxDB at ${opts.target.url} is not reachable (${why})`, 'Start it, or pass the right --influx URL (or PERF_INFLUX_URL).');
  const reader = new InfluxReader(opts.target, opts.env);
  let k6Samples = 0;
  /** perf scenarios with samples in this run: a gate bound to none of them is not-run. */
  const ran = new Set<string>();
  try {
    for (const s of await reader.query(`SELECT count("value") FROM /.*/ WHERE ${influxIdent(INFLUX_TAGS.runId)} = ${influxString(opts.runId)} GROUP BY ${influxIdent(INFLUX_TAGS.scenario)}`)) {
      k6Samples += Number(s.values[0]?.[1] ?? 0);
      const scenario = s.tags?.[INFLUX_TAGS.scenario];
      if (scenario) ran.add(scenario);
    }
  } catch (e) {
    // A database that does not exist yet holds no run.
    if (!/database not found/.test(String(e))) throw e;
  }
  const recordedLocal: RecordedGate[] = opts.verdict?.gates?.length
    ? opts.verdict.gates.map((g) => ({
        metric: g.metric,
        expression: g.expression,
        samples: g.samples,
        status: g.status,
        unit: g.unit,
        ...(g.observed !== undefined ? { observed: g.observed } : {}),
        ...(g.groupBy ? { groupBy: g.groupBy } : {}),
        ...(g.merged ? { merged: true } : {}),
        part: { ...(g.scenario ? { scenario: g.scenario } : {}), ...(g.group !== undefined ? { group: g.group } : {}) },
      }))
    : k6Samples
      ? await recordedInInflux(reader, opts.runId)
      : [];
  if (!k6Samples) {
    throw new UserError(`InfluxDB at ${opts.target.url} holds no k6 samples for run_id=${opts.runId}`, 'Check the run id (`ls .perf/runs`) and that the run had --influx (its verdict.json says so under "influx").');
  }
  const localSource: AnalyzeResult['localSource'] = opts.verdict?.gates?.length ? 'verdict' : recordedLocal.length ? 'influx-summary' : 'none';
  const gates = gatesOf(recordedLocal, opts.configGates);

  const rows: AnalyzeRow[] = [];
  for (const [i, g] of gates.entries()) {
    const notRun = g.scenarios?.length && !g.scenarios.some((s) => ran.has(s));
    const { figure, neighbours } = notRun
      ? { figure: { samples: 0, status: 'not-run' as const, note: `its scenarios (${g.scenarios!.join(', ')}) did not run` }, neighbours: undefined }
      : await computeGate(reader, opts.runId, g, ran, recordedLocal[i]?.part);
    const local = recordedLocal[i]?.metric === g.key && recordedLocal[i]?.expression === g.expression ? recordedLocal[i] : recordedLocal.find((r) => r.metric === g.key && r.expression === g.expression);
    const row: AnalyzeRow = { gate: g.key, expression: g.expression, influx: figure };
    if (local) {
      const { metric: _m, expression: _e, scenarios: _s, groupBy: _g, merged: _mg, part: _p, allowInsufficientData: _a, ...fig } = local;
      row.local = fig;
      const problems: string[] = [];
      if (local.samples !== figure.samples) problems.push(`samples differ: local ${local.samples}, InfluxDB ${figure.samples}`);
      if (local.observed !== undefined && figure.observed !== undefined) {
        const { tolerance, basis } = toleranceFor(g.stat, local.observed, neighbours);
        row.difference = figure.observed - local.observed;
        row.tolerance = tolerance;
        row.toleranceBasis = basis;
        if (Math.abs(row.difference) > tolerance) problems.push(`values differ by ${Number(row.difference.toPrecision(3))} (tolerance ${Number(tolerance.toPrecision(3))})`);
        const nearLimit = Math.abs(local.observed - g.limit) <= tolerance;
        if (local.status !== figure.status && !nearLimit) problems.push(`status differs: local ${local.status}, InfluxDB ${figure.status}`);
      } else if ((local.observed === undefined) !== (figure.observed === undefined) || local.status !== figure.status) {
        problems.push(`local ${local.status}${local.observed === undefined ? ' (no value)' : ''}, InfluxDB ${figure.status}${figure.observed === undefined ? ' (no value)' : ''}`);
      }
      row.agree = problems.length === 0;
      if (problems.length) row.disagreement = problems.join('; ');
    }
    rows.push(row);
  }
  return { runId: opts.runId, url: opts.target.url, localSource, k6Samples, rows };
}

function fmt(v: number | undefined, unit?: string): string {
  if (v === undefined) return '—';
  const n = Math.abs(v) >= 100 ? v.toFixed(1) : Number(v.toPrecision(4)).toString();
  return unit === 'ms' ? `${n} ms` : n;
}

/** The side-by-side table `perf analyze` prints. */
export function formatAnalyzeTable(r: AnalyzeResult): string {
  const source = { verdict: 'the local verdict', 'influx-summary': "the gate summaries written at the run's end", none: 'nothing (no local figures)' }[r.localSource];
  const head = ['gate', 'local (HDR)', 'InfluxDB (InfluxQL)', 'difference', 'tolerance', ''];
  const lines = r.rows.map((row) => {
    const unit = row.local?.unit ?? row.influx.unit;
    const side = (f?: Figure) => (f ? `${fmt(f.observed, unit)} ${f.status} n=${f.samples}` : '—');
    return [
      `${row.gate} ${row.expression}`,
      side(row.local),
      side(row.influx),
      row.difference !== undefined ? fmt(row.difference, unit) : '',
      row.tolerance !== undefined ? `±${fmt(row.tolerance, unit)}` : '',
      row.agree === undefined ? '' : row.agree ? 'agree' : `DISAGREE: ${row.disagreement}`,
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    `run ${r.runId}: ${r.k6Samples} k6 samples in ${r.url}; local figures from ${source}`,
    render(head),
    ...lines.map(render),
  ].join('\n');
}
