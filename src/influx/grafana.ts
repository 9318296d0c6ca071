import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gateFilter, thresholdKey } from '../../analysis/gates.ts';
import type { GateSpec } from '../config/config-schema.ts';
import { INFLUX_MEASUREMENTS as M, INFLUX_TAGS as T, influxIdent, influxOneOf, influxString } from './influx-schema.ts';

/**
 * Grafana dashboards generated from the gates in perf.config.ts (`perf grafana`), so the
 * threshold lines on the dashboards are the gates that decide pass/fail. Output is
 * deterministic (no timestamps, stable ids and key order): the committed JSON under
 * grafana/dashboards/ is compared with a fresh generation by the tests, and a stale file
 * fails them.
 *
 * Every query is InfluxQL on what perf stores (influx-schema.ts): k6's measurements with the
 * run-wide tags `run_id` and `perf_scenario`, and perf's own `perf_*` points. Every query
 * uses `fill(none)`: a panel without data for the run stays empty instead of drawing zeros,
 * which is what lets the tests tell a broken query from a working one.
 */

export const DATASOURCE_UID = 'perf-influxdb';
const DS = { type: 'influxdb', uid: DATASOURCE_UID } as const;

const RUN = `"${T.runId}" =~ /^$run_id$/`;
const SCEN = `"${T.scenario}" =~ /^$scenario$/`;
/** Filter of every k6 query: the selected run and scenarios, the dashboard's time range. */
const K6_WHERE = `${RUN} AND ${SCEN} AND $timeFilter`;

type Json = Record<string, unknown>;

interface Target {
  query: string;
  alias?: string;
  format?: 'time_series' | 'table';
}

interface Threshold {
  value: number;
  /** True when values below the line are the bad side (`>` / `>=` gates). */
  badBelow: boolean;
}

const TIME_METRIC = /duration|latency|time|_ms$|waiting|blocked|connecting|sending|receiving|handshaking/;

/** The gate's threshold key, with the tags perf adds (`expected_response`, `perf_window`). */
function keyOf(g: GateSpec): string {
  return thresholdKey(g);
}

/** The gate's own filter: the tags its samples carry (analysis/gates.ts gateFilter), and the perf scenarios it is bound to. */
function tagFilter(g: GateSpec): string {
  return [
    ...(g.scenarios?.length ? [` AND ${influxIdent(T.scenario)} =~ ${influxOneOf(g.scenarios)}`] : []),
    ...Object.entries(gateFilter(g)).map(([k, v]) => ` AND ${influxIdent(k)} = ${influxString(v)}`),
  ].join('');
}

/** A gate holds per scenario (unless merged) and per `groupBy` value: one line each. */
function gateGroups(g: GateSpec): string[] {
  return [...(g.merge ? [] : [T.scenario]), ...(g.groupBy ? [g.groupBy] : [])];
}

function thresholdsOf(gates: GateSpec[]): Threshold[] {
  return gates.map((g) => ({ value: g.limit, badBelow: g.op === '>' || g.op === '>=' }));
}

/** Grafana threshold steps: one line per gate limit, coloured by which side fails. */
function steps(thresholds: Threshold[]): Json[] {
  const sorted = [...thresholds].sort((a, b) => a.value - b.value);
  const base = sorted[0]?.badBelow ? 'red' : 'green';
  return [{ color: base, value: null }, ...sorted.map((t) => ({ color: t.badBelow ? 'green' : 'red', value: t.value }))];
}

function unitFor(metric: string, stat: string): string {
  if (stat === 'rate') return 'percentunit';
  if (stat === 'count') return 'short';
  return TIME_METRIC.test(metric) ? 'ms' : 'short';
}

/** The gate's statistic per interval, as InfluxQL (`count` as a running total against its limit), one series per `groups` tag values. */
function gateQuery(g: GateSpec, interval = '$__interval', groups: string[] = []): string {
  const where = `${K6_WHERE}${tagFilter(g)}`;
  const pm = /^p\(([\d.]+)\)$/.exec(g.stat);
  const expr = pm
    ? `percentile("value", ${pm[1]})`
    : ({ avg: 'mean("value")', min: 'min("value")', max: 'max("value")', med: 'median("value")', rate: 'mean("value")', count: 'cumulative_sum(sum("value"))' } as Record<string, string>)[g.stat]!;
  return `SELECT ${expr} AS "${g.stat}" FROM "${g.metric}" WHERE ${where} GROUP BY time(${interval})${groups.map((t) => `, ${influxIdent(t)}`).join('')} fill(none)`;
}

class Layout {
  private id = 0;
  private x = 0;
  private y = 0;
  readonly panels: Json[] = [];

  row(title: string): void {
    if (this.x) {
      this.x = 0;
      this.y += 8;
    }
    this.panels.push({ id: ++this.id, type: 'row', title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: this.y }, panels: [] });
    this.y += 1;
  }

  panel(p: { title: string; description?: string; type?: 'timeseries' | 'table'; unit?: string; thresholds?: Threshold[]; targets: Target[]; width?: 12 | 24 }): void {
    const w = p.width ?? 12;
    if (this.x + w > 24) {
      this.x = 0;
      this.y += 8;
    }
    const type = p.type ?? 'timeseries';
    const lines = p.thresholds?.length ? p.thresholds : undefined;
    this.panels.push({
      id: ++this.id,
      type,
      title: p.title,
      ...(p.description ? { description: p.description } : {}),
      datasource: DS,
      gridPos: { h: 8, w, x: this.x, y: this.y },
      fieldConfig: {
        defaults: {
          ...(p.unit ? { unit: p.unit } : {}),
          ...(type === 'timeseries' ? { custom: { drawStyle: 'line', lineWidth: 1, pointSize: 4, showPoints: 'auto', spanNulls: false, thresholdsStyle: { mode: lines ? 'line' : 'off' } } } : {}),
          thresholds: { mode: 'absolute', steps: lines ? steps(lines) : [{ color: 'green', value: null }] },
        },
        overrides: [],
      },
      options:
        type === 'timeseries'
          ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'none' } }
          : { showHeader: true, cellHeight: 'sm' },
      targets: p.targets.map((t, i) => ({
        refId: String.fromCharCode(65 + i),
        datasource: DS,
        rawQuery: true,
        resultFormat: t.format ?? (type === 'table' ? 'table' : 'time_series'),
        query: t.query,
        ...(t.alias ? { alias: t.alias } : {}),
      })),
    });
    this.x += w;
    if (this.x >= 24) {
      this.x = 0;
      this.y += 8;
    }
  }
}

function templating(extra: Json[] = []): Json {
  return {
    list: [
      {
        name: 'run_id',
        label: 'run',
        type: 'query',
        datasource: DS,
        query: `SHOW TAG VALUES WITH KEY = "${T.runId}"`,
        definition: `SHOW TAG VALUES WITH KEY = "${T.runId}"`,
        refresh: 2,
        // Run ids start with their date: descending is newest first.
        sort: 2,
        multi: false,
        includeAll: false,
        options: [],
        current: {},
        hide: 0,
      },
      {
        name: 'scenario',
        label: 'scenario',
        type: 'query',
        datasource: DS,
        query: `SHOW TAG VALUES WITH KEY = "${T.scenario}" WHERE ${RUN}`,
        definition: `SHOW TAG VALUES WITH KEY = "${T.scenario}" WHERE ${RUN}`,
        refresh: 2,
        sort: 1,
        multi: true,
        includeAll: true,
        allValue: '.*',
        options: [],
        current: { selected: true, text: ['All'], value: ['$__all'] },
        hide: 0,
      },
      ...extra,
    ],
  };
}

/** Phase begin/end from the run (perf_phase), on every dashboard; check results available, off by default. */
function annotations(): Json {
  return {
    list: [
      {
        name: 'Phases',
        datasource: DS,
        enable: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        query: `SELECT "text", "${T.phase}", "event", "status" FROM "${M.phase}" WHERE ${RUN} AND $timeFilter`,
        textColumn: 'text',
        tagsColumn: `${T.phase},event,status`,
      },
      {
        name: 'Checks',
        datasource: DS,
        enable: false,
        iconColor: 'rgba(255, 152, 48, 1)',
        query: `SELECT "text", "${T.phase}", "check", "status" FROM "${M.check}" WHERE ${RUN} AND $timeFilter`,
        textColumn: 'text',
        tagsColumn: `${T.phase},check,status`,
      },
    ],
  };
}

const UIDS = { overview: 'perf-overview', latency: 'perf-latency', websocket: 'perf-websocket', soak: 'perf-soak' } as const;

function dashboard(uid: string, title: string, description: string, layout: Layout, extraVars: Json[] = []): Json {
  return {
    uid,
    title,
    description: `${description} Generated by \`perf grafana\` from the gates in perf.config.ts: edit the gates, not this file.`,
    tags: ['perf'],
    editable: false,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    timezone: 'browser',
    time: { from: 'now-1h', to: 'now' },
    refresh: '',
    links: [{ title: 'perf dashboards', type: 'dashboards', tags: ['perf'], asDropdown: true, includeVars: true, keepTime: true }],
    templating: templating(extraVars),
    annotations: annotations(),
    panels: layout.panels,
  };
}

function gatePanel(l: Layout, g: GateSpec): void {
  l.panel({
    title: `gate ${keyOf(g)} ${g.stat} ${g.op} ${g.limit}${g.groupBy ? ` per ${g.groupBy}` : ''}${g.merge ? ' merged' : ''}${g.scenarios?.length ? ` (${g.scenarios.join(', ')})` : ''}`,
    description: g.description ?? `Gate ${keyOf(g)} ${g.stat}${g.op}${g.limit}; the line is its limit.`,
    unit: unitFor(g.metric, g.stat),
    thresholds: thresholdsOf([g]),
    targets: [{ query: gateQuery(g, '$__interval', gateGroups(g)), alias: [g.stat, ...gateGroups(g).map((t) => `$tag_${t}`)].join(' ') }],
  });
}

function overview(gates: GateSpec[]): Json {
  const l = new Layout();
  l.row('Load');
  l.panel({ title: 'VUs', unit: 'short', targets: [{ query: `SELECT max("value") AS "VUs" FROM "vus" WHERE ${K6_WHERE} GROUP BY time($__interval), "${T.scenario}" fill(none)`, alias: `$tag_${T.scenario}` }] });
  l.panel({
    title: 'Request rate',
    unit: 'reqps',
    targets: [{ query: `SELECT count("value") * 1000 / $__interval_ms AS "req/s" FROM "http_reqs" WHERE ${K6_WHERE} GROUP BY time($__interval), "${T.scenario}" fill(none)`, alias: `$tag_${T.scenario}` }],
  });
  const failedGates = gates.filter((g) => g.metric === 'http_req_failed' && !g.tags && g.stat === 'rate');
  l.panel({
    title: 'Errors: failed request ratio',
    description: 'Share of requests k6 counted as failed (http_req_failed); the line is the error-rate gate.',
    unit: 'percentunit',
    thresholds: thresholdsOf(failedGates),
    targets: [{ query: `SELECT mean("value") AS "failed" FROM "http_req_failed" WHERE ${K6_WHERE} GROUP BY time($__interval), "${T.scenario}" fill(none)`, alias: `$tag_${T.scenario}` }],
  });
  l.panel({
    title: 'Errors: failed requests by status',
    unit: 'short',
    targets: [{ query: `SELECT sum("value") AS "failed" FROM "http_req_failed" WHERE ${K6_WHERE} GROUP BY time($__interval), "status" fill(none)`, alias: 'status $tag_status' }],
  });
  l.row('Checks');
  l.panel({
    title: 'k6 checks: pass ratio by check',
    unit: 'percentunit',
    targets: [{ query: `SELECT mean("value") AS "pass" FROM "checks" WHERE ${K6_WHERE} GROUP BY time($__interval), "check" fill(none)`, alias: '$tag_check' }],
  });
  l.panel({
    title: 'Coordinator checks',
    description: 'Every Node-side check of the run (health, smoke, flows, db-integrity, front end), with its duration.',
    type: 'table',
    targets: [{ query: `SELECT "duration_ms", "${T.phase}", "check", "status", "error" FROM "${M.check}" WHERE ${RUN} AND $timeFilter`, format: 'table' }],
  });
  l.row('Gates');
  l.panel({
    title: 'Gate results (end of run)',
    description: 'One row per gate as the run decided it: observed value, limit, status.',
    type: 'table',
    width: 24,
    targets: [{ query: `SELECT "gate", "expression", "observed", "limit", "unit", "samples", "status" FROM "${M.gate}" WHERE ${RUN} AND $timeFilter`, format: 'table' }],
  });
  for (const g of gates) gatePanel(l, g);
  return dashboard(UIDS.overview, 'perf · run overview', 'A run at a glance: load, errors, checks and every gate.', l);
}

function latency(gates: GateSpec[]): Json {
  const l = new Layout();
  const untagged = (stat: string) => gates.filter((g) => g.metric === 'http_req_duration' && !Object.keys(g.tags ?? {}).length && g.stat === stat);
  l.row('Per endpoint (the `name` tag)');
  for (const p of [95, 99]) {
    l.panel({
      title: `P${p} per endpoint`,
      description: `p(${p}) of http_req_duration per interval, by endpoint name; lines: the untagged p(${p}) gates.`,
      unit: 'ms',
      thresholds: thresholdsOf(untagged(`p(${p})`)),
      targets: [{ query: `SELECT percentile("value", ${p}) AS "p${p}" FROM "http_req_duration" WHERE ${K6_WHERE} GROUP BY time($__interval), "name" fill(none)`, alias: '$tag_name' }],
    });
  }
  l.panel({
    title: 'All requests: p50 / p90 / p95 / p99',
    unit: 'ms',
    thresholds: thresholdsOf([...untagged('p(95)'), ...untagged('p(99)')]),
    targets: [
      {
        query: `SELECT percentile("value", 50) AS "p50", percentile("value", 90) AS "p90", percentile("value", 95) AS "p95", percentile("value", 99) AS "p99" FROM "http_req_duration" WHERE ${K6_WHERE} GROUP BY time($__interval) fill(none)`,
      },
    ],
  });
  l.panel({
    title: 'Time waiting for the first byte (p95) per endpoint',
    unit: 'ms',
    targets: [{ query: `SELECT percentile("value", 95) AS "p95" FROM "http_req_waiting" WHERE ${K6_WHERE} GROUP BY time($__interval), "name" fill(none)`, alias: '$tag_name' }],
  });
  const latencyGates = gates.filter((g) => !g.metric.startsWith('ws_') && g.stat !== 'rate' && g.stat !== 'count');
  if (latencyGates.length) {
    l.row('Latency gates');
    for (const g of latencyGates) gatePanel(l, g);
  }
  return dashboard(UIDS.latency, 'perf · latency', 'P95/P99 per endpoint over time, each latency gate drawn as a threshold line.', l);
}

function websocket(gates: GateSpec[]): Json {
  const l = new Layout();
  const ws = (metric: string) => gates.filter((g) => g.metric === metric && g.stat !== 'rate' && g.stat !== 'count');
  l.row('Agent events');
  l.panel({
    title: 'Time to first event',
    description: 'From sending `run` to the first agent event (ws_time_to_first_event); lines: its gates.',
    unit: 'ms',
    thresholds: thresholdsOf(ws('ws_time_to_first_event')),
    targets: [
      {
        query: `SELECT percentile("value", 50) AS "p50", percentile("value", 95) AS "p95", percentile("value", 99) AS "p99" FROM "ws_time_to_first_event" WHERE ${K6_WHERE} GROUP BY time($__interval) fill(none)`,
      },
    ],
  });
  l.panel({
    title: 'Per-event latency (p95)',
    description: 'From sending `run` to each event, by event type (ws_event_latency{event}).',
    unit: 'ms',
    thresholds: thresholdsOf(ws('ws_event_latency')),
    targets: [{ query: `SELECT percentile("value", 95) AS "p95" FROM "ws_event_latency" WHERE ${K6_WHERE} GROUP BY time($__interval), "event" fill(none)`, alias: '$tag_event' }],
  });
  l.panel({
    title: 'Order failures',
    description: 'Agent runs whose events were incomplete or out of order (ws_event_order = 0), and runs that saw a foreign event (ws_event_ownership = 0). Must stay 0.',
    unit: 'short',
    targets: [
      { query: `SELECT count("value") - sum("value") AS "out of order" FROM "ws_event_order" WHERE ${K6_WHERE} GROUP BY time($__interval) fill(none)` },
      { query: `SELECT count("value") - sum("value") AS "foreign events" FROM "ws_event_ownership" WHERE ${K6_WHERE} GROUP BY time($__interval) fill(none)` },
    ],
  });
  l.panel({
    title: 'Agent runs',
    unit: 'short',
    targets: [{ query: `SELECT count("value") AS "runs" FROM "ws_event_order" WHERE ${K6_WHERE} GROUP BY time($__interval), "${T.scenario}" fill(none)`, alias: '$tag_perf_scenario' }],
  });
  const wsGates = gates.filter((g) => g.metric.startsWith('ws_'));
  if (wsGates.length) {
    l.row('WebSocket gates');
    for (const g of wsGates) gatePanel(l, g);
  }
  return dashboard(UIDS.websocket, 'perf · WebSocket events', 'Agent events: time to first event, per-event latency, order and ownership failures.', l);
}

function soak(gates: GateSpec[]): Json {
  const l = new Layout();
  const untagged = (stat: string) => gates.filter((g) => g.metric === 'http_req_duration' && !Object.keys(g.tags ?? {}).length && g.stat === stat);
  const failed = gates.filter((g) => g.metric === 'http_req_failed' && !g.tags && g.stat === 'rate');
  const win = `${RUN} AND ${SCEN} AND $timeFilter`;
  l.row("Harness windows (HDR, from the run's raw samples)");
  l.panel({
    title: 'p95 / p99 per window',
    description: "The harness's per-window percentiles (perf_window); ramp-up windows are tagged ramp_up=true. Lines: the untagged latency gates.",
    unit: 'ms',
    thresholds: thresholdsOf([...untagged('p(95)'), ...untagged('p(99)')]),
    targets: [{ query: `SELECT "p95_ms" AS "p95", "p99_ms" AS "p99" FROM "${M.window}" WHERE ${win} GROUP BY "${T.scenario}"`, alias: '$tag_perf_scenario $col' }],
  });
  l.panel({
    title: 'Drift: p95 against the first steady window',
    description: 'Percent change of each window’s p95 from the first window after ramp-up. A soak that degrades climbs here.',
    unit: 'percent',
    targets: [{ query: `SELECT "drift_p95_pct" AS "drift" FROM "${M.window}" WHERE ${win} GROUP BY "${T.scenario}"`, alias: '$tag_perf_scenario' }],
  });
  l.panel({
    title: 'Error rate per window',
    unit: 'percentunit',
    thresholds: thresholdsOf(failed),
    targets: [{ query: `SELECT "error_rate" AS "errors" FROM "${M.window}" WHERE ${win} GROUP BY "${T.scenario}"`, alias: '$tag_perf_scenario' }],
  });
  l.panel({
    title: 'Requests per window',
    unit: 'short',
    targets: [{ query: `SELECT "requests" FROM "${M.window}" WHERE ${win} GROUP BY "${T.scenario}"`, alias: '$tag_perf_scenario' }],
  });
  l.row('From InfluxDB, per $window');
  l.panel({
    title: 'p95 per $window',
    unit: 'ms',
    thresholds: thresholdsOf(untagged('p(95)')),
    targets: [{ query: `SELECT percentile("value", 95) AS "p95" FROM "http_req_duration" WHERE ${K6_WHERE} GROUP BY time($window), "${T.scenario}" fill(none)`, alias: '$tag_perf_scenario' }],
  });
  l.panel({
    title: 'p95 change from the previous $window',
    unit: 'ms',
    targets: [{ query: `SELECT difference(percentile("value", 95)) AS "change" FROM "http_req_duration" WHERE ${K6_WHERE} GROUP BY time($window), "${T.scenario}" fill(none)`, alias: '$tag_perf_scenario' }],
  });
  const windowVar = {
    name: 'window',
    label: 'window',
    type: 'custom',
    query: '10s,1m,5m,15m,1h',
    options: ['10s', '1m', '5m', '15m', '1h'].map((v) => ({ selected: v === '1m', text: v, value: v })),
    current: { selected: true, text: '1m', value: '1m' },
    multi: false,
    includeAll: false,
    hide: 0,
  };
  return dashboard(UIDS.soak, 'perf · soak', 'Long runs: latency and errors window by window, and how far they drift.', l, [windowVar]);
}

/** Dashboards by file name (grafana/dashboards/<name>). */
export function generateDashboards(gates: GateSpec[]): Record<string, Json> {
  return {
    'perf-overview.json': overview(gates),
    'perf-latency.json': latency(gates),
    'perf-websocket.json': websocket(gates),
    'perf-soak.json': soak(gates),
  };
}

export function renderDashboard(d: Json): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}

export const DASHBOARD_DIR = path.join('grafana', 'dashboards');

/** Files under `dir` that differ from a fresh generation (missing ones included). */
export function staleDashboards(dir: string, gates: GateSpec[]): string[] {
  return Object.entries(generateDashboards(gates))
    .filter(([name, d]) => {
      const file = path.join(dir, name);
      return !existsSync(file) || readFileSync(file, 'utf8') !== renderDashboard(d);
    })
    .map(([name]) => name);
}

export function writeDashboards(dir: string, gates: GateSpec[]): string[] {
  mkdirSync(dir, { recursive: true });
  return Object.entries(generateDashboards(gates)).map(([name, d]) => {
    const file = path.join(dir, name);
    writeFileSync(file, renderDashboard(d));
    return file;
  });
}
