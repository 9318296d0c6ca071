import { thresholdExpression, thresholdKey } from '../../analysis/gates.ts';
import type { IPoint } from 'influx';
import type { GateSpec } from '../config/config-schema.ts';
import { INFLUX_MEASUREMENTS as M, INFLUX_TAGS as T } from './influx-schema.ts';
import type { Redactor } from '../redact/redact.ts';
import type { CheckEndInfo, PhaseBeginInfo } from '../reporters/reporter.ts';
import type { GateResult, PhaseResult } from '../run/verdict.ts';
import type { RunIndexRecord } from '../baseline/run-index.ts';
import type { WindowsFile } from '../../analysis/window-capture.ts';

/**
 * perf's own run events as InfluxDB points (shapes documented in influx-schema.ts).
 * Pure functions: the influx reporter and the run's end call them, the tests read them back.
 * Every free text goes through the redactor first: InfluxDB is one more place a token in an
 * error message must not reach. Numbers are written as floats (one field type per field,
 * whatever the value), texts as strings; a field that has no value is left out rather than
 * written as 0 (an observed value of 0 and "no samples" are different things).
 */

const formatMs = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

export function runBeginPoint(runId: string, phases: string[], at = new Date()): IPoint {
  return {
    measurement: M.run,
    tags: { [T.runId]: runId, event: 'begin' },
    fields: { text: `perf run ${runId}: ${phases.join(' → ')}`, phases: phases.join(',') },
    timestamp: at,
  };
}

export function runEndPoint(runId: string, status: string, durationMs: number, at: Date): IPoint {
  return {
    measurement: M.run,
    tags: { [T.runId]: runId, event: 'end', status },
    fields: { text: `perf run ${runId} ${status} in ${formatMs(durationMs)}`, duration_ms: durationMs },
    timestamp: at,
  };
}

export function phaseBeginPoint(runId: string, phase: PhaseBeginInfo, at = new Date()): IPoint {
  const checks = phase.checks?.length ? ` (${phase.checks.length} checks)` : '';
  return {
    measurement: M.phase,
    tags: { [T.runId]: runId, [T.phase]: phase.name, event: 'begin' },
    fields: { text: `${phase.name} begins${checks}` },
    timestamp: at,
  };
}

export function phaseEndPoint(runId: string, p: PhaseResult, redactor: Redactor): IPoint {
  const started = Date.parse(p.startedAt);
  const at = Number.isFinite(started) ? new Date(started + p.durationMs) : new Date();
  const why = p.skippedBecause ?? p.reason;
  return {
    measurement: M.phase,
    tags: { [T.runId]: runId, [T.phase]: p.name, event: 'end', status: p.status },
    fields: {
      text: redactor.redactString(`${p.name} ${p.status} in ${formatMs(p.durationMs)}${why ? `: ${why}` : ''}`).slice(0, 2000),
      duration_ms: p.durationMs,
    },
    timestamp: at,
  };
}

export function checkPoint(runId: string, phase: string, c: CheckEndInfo, redactor: Redactor, at = new Date()): IPoint {
  const error = c.error ? redactor.redactString(c.error).slice(0, 2000) : undefined;
  return {
    measurement: M.check,
    tags: { [T.runId]: runId, [T.phase]: phase, check: c.name, status: c.status },
    fields: {
      text: `${phase}/${c.name} ${c.status} in ${formatMs(c.durationMs)}${error ? `: ${error}` : ''}`,
      duration_ms: c.durationMs,
      attempts: c.attempts ?? 1,
      ...(error ? { error } : {}),
    },
    timestamp: at,
  };
}

const EXPRESSION = /^(p\([\d.]+\)|avg|min|max|med|rate|count)(<=|>=|<|>)(-?[\d.eE+-]+)$/;

/** `p(95)<300` → its parts; undefined for anything else. */
export function parseGateExpression(expression: string): { stat: string; op: string; limit: number } | undefined {
  const m = EXPRESSION.exec(expression.replace(/\s+/g, ''));
  return m ? { stat: m[1]!, op: m[2]!, limit: Number(m[3]) } : undefined;
}

/** The gate declaration behind a result: same threshold key and expression, the one at the same
 *  position first (the load phase returns results in declaration order), else the first match. */
export function specOf<S extends Pick<GateSpec, 'metric' | 'tags' | 'stat' | 'op' | 'limit'>>(g: GateResult, index: number, specs: S[]): S | undefined {
  const key = (s: S) => `${thresholdKey(s)} ${thresholdExpression(s)}`;
  const want = `${g.metric} ${g.expression}`;
  const same = specs[index];
  return same && key(same) === want ? same : specs.find((s) => key(s) === want);
}

/** `http_req_duration{name:login,method:GET}` → metric and tags. */
export function parseGateKey(key: string): { metric: string; tags: Record<string, string> } {
  const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key);
  const tags: Record<string, string> = {};
  for (const kv of (m?.[2] ?? '').split(',').filter(Boolean)) {
    const i = kv.indexOf(':');
    if (i > 0) tags[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return { metric: m?.[1] ?? key, tags };
}

/**
 * One summary point per gate (observed, limit, status), stamped at the end of the run. `spec`
 * is the gate's declaration, for what the result does not carry (the scenarios it is bound
 * to, which `perf analyze` needs to recompute it).
 */
export function gatePoint(runId: string, g: GateResult, at: Date, spec?: Pick<GateSpec, 'scenarios'> & Partial<Pick<GateSpec, 'allowInsufficientData'>>): IPoint {
  const parsed = parseGateExpression(g.expression);
  return {
    measurement: M.gate,
    tags: {
      [T.runId]: runId,
      gate: g.metric,
      metric: parseGateKey(g.metric).metric,
      stat: parsed?.stat ?? '',
      expression: g.expression,
      status: g.status,
      // Two gates of one threshold (grouped or merged and not) must stay two points.
      ...(g.groupBy ? { group_by: g.groupBy } : {}),
      ...(g.merged ? { merged: 'true' } : {}),
    },
    fields: {
      limit: g.limit,
      samples: g.samples,
      unit: g.unit,
      passed: g.status === 'passed' ? 1 : 0,
      text: `gate ${g.metric} ${g.expression} ${g.status}${g.observed !== undefined ? ` (observed ${Number(g.observed.toPrecision(4))} ${g.unit})` : ''}`,
      ...(g.observed !== undefined ? { observed: g.observed } : {}),
      ...(parsed ? { op: parsed.op } : {}),
      ...(g.description ? { description: g.description } : {}),
      ...(g.note ? { note: g.note } : {}),
      ...(spec?.scenarios?.length ? { scenarios: spec.scenarios.join(',') } : {}),
      // The part (scenario, groupBy value) observed and samples are of: perf analyze recomputes that one.
      ...(g.scenario ? { part_scenario: g.scenario } : {}),
      ...(g.group !== undefined ? { part_group: g.group } : {}),
      ...(spec?.allowInsufficientData ? { allow_insufficient: 1 } : {}),
    },
    timestamp: at,
  };
}

/**
 * The harness's per-window figures of each scenario of a load phase (HDR, from the raw
 * samples), with the p95 drift against the first steady-state window (the first window
 * when all are ramp-up): what the soak dashboard plots.
 */
export function windowPoints(runId: string, p: PhaseResult): IPoint[] {
  const out: IPoint[] = [];
  for (const k of p.k6 ?? []) {
    const windows = k.analysis?.windows ?? [];
    const base = windows.find((w) => !w.rampUp && w.p95Ms !== undefined) ?? windows.find((w) => w.p95Ms !== undefined);
    for (const w of windows) {
      out.push({
        measurement: M.window,
        tags: { [T.runId]: runId, [T.phase]: p.name, [T.scenario]: k.scenario, ramp_up: String(w.rampUp) },
        fields: {
          requests: w.requests,
          error_rate: w.errorRate,
          ...(w.p95Ms !== undefined ? { p95_ms: w.p95Ms } : {}),
          ...(w.p99Ms !== undefined ? { p99_ms: w.p99Ms } : {}),
          ...(w.p95Ms !== undefined && base?.p95Ms ? { drift_p95_pct: ((w.p95Ms - base.p95Ms) / base.p95Ms) * 100 } : {}),
        },
        timestamp: new Date(w.start * 1000),
      });
    }
  }
  return out;
}

/** The run index in InfluxDB (src/baseline/run-index.ts, written at the end of the run). */
export const RUN_INDEX_MEASUREMENT = M.runIndex;
/** The per-window figures of each gate's samples (the run folder's windows.json). */
export const RUN_WINDOWS_MEASUREMENT = M.runWindows;

/**
 * The run's `.perf/runs.jsonl` line as one point: what identifies and groups runs as tags
 * (run_id, status, profile, users, comparable_hash, git_sha, baseline_run_id), the rest as
 * fields; `gates` is the record's array as JSON. The caller redacts the record first
 * (InfluxSession.finish: `redactDeep`).
 */
export function runIndexPoint(record: RunIndexRecord, at: Date): IPoint {
  return {
    measurement: RUN_INDEX_MEASUREMENT,
    tags: {
      [T.runId]: record.runId,
      status: record.status,
      ...(record.profile ? { profile: record.profile } : {}),
      ...(record.users !== undefined ? { users: String(record.users) } : {}),
      comparable_hash: record.comparableHash,
      ...(record.gitSha ? { git_sha: record.gitSha } : {}),
      ...(record.baselineRunId ? { baseline_run_id: record.baselineRunId } : {}),
    },
    fields: {
      ...(record.configHash ? { config_hash: record.configHash } : {}),
      scenarios: record.scenarios.join(','),
      started_at: record.startedAt,
      finished_at: record.finishedAt,
      gates: JSON.stringify(record.gates),
      gates_failed: record.gates.filter((g) => g.status === 'failed').length,
      windows: record.windows ?? '',
    },
    timestamp: at,
  };
}

/**
 * windows.json as points: one per scenario × sample key × window, at the window's start,
 * tagged run_id, perf_scenario, series (the sample key), type and ramp_up. `histogram` is the
 * compressed base64 HDR (trends only), decodable with analysis/histogram.ts decodeHistogram.
 */
export function runWindowPoints(runId: string, w: WindowsFile): IPoint[] {
  const out: IPoint[] = [];
  for (const sc of w.scenarios) {
    for (const [key, series] of Object.entries(sc.series)) {
      for (const win of series.windows) {
        out.push({
          measurement: RUN_WINDOWS_MEASUREMENT,
          tags: { [T.runId]: runId, [T.scenario]: sc.scenario, series: key, type: series.type, ramp_up: String(win.start < sc.rampUpEnd) },
          fields: {
            count: win.count,
            non_zero: win.nonZero,
            sum: win.sum,
            window_seconds: w.windowSeconds,
            ...(win.histogram ? { histogram: win.histogram } : {}),
          },
          timestamp: new Date(win.start * 1000),
        });
      }
    }
  }
  return out;
}
