import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { analyzeRun } from '../src/influx/influx-analyze.ts';
import { parseInfluxUrl } from '../src/influx/influx-schema.ts';
import { generateDashboards } from '../src/influx/grafana.ts';
import { resolveConfig } from '../src/config/config.ts';
import type { Verdict } from '../src/run/verdict.ts';
import type { GateSpec } from '../src/config/config-schema.ts';
import { readVerdictFromOutput, REPO, runCli, runDirFromOutput, tempDir } from './helpers.ts';
import { influxQuery, startInflux, type InfluxServer } from './influx-helpers.ts';

// Black-box, end to end: a real InfluxDB 1.x (Debian's influxd, started here on loopback),
// the real CLI running health + load (all three scenarios, smoke profile, 3 s) against the
// real sample-app on real k6 with --influx. Then what landed is read back over InfluxDB's own
// HTTP API, `perf analyze` is compared with the local verdict, and every query of every
// generated dashboard is run against that InfluxDB for that run.

const DB = 'perf_it';

type Json = Record<string, any>;

/** Grafana's interpolation of a raw InfluxQL query (InfluxDB datasource), for one run. */
function interpolate(query: string, vars: { runId: string; scenarios: string[]; fromMs: number; toMs: number }): string {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return query
    .replace(/\$timeFilter/g, `time >= ${vars.fromMs}ms and time <= ${vars.toMs}ms`)
    .replace(/\$__interval_ms/g, '1000')
    .replace(/\$__interval/g, '1s')
    .replace(/\$window/g, '1s')
    .replace(/\$run_id/g, esc(vars.runId))
    // A multi-value variable in a regex is rendered as (a|b|c).
    .replace(/\$scenario/g, `(${vars.scenarios.map(esc).join('|')})`);
}

/** Every query a dashboard runs: panel targets, template variables and annotations. */
function queriesOf(d: Json): { where: string; query: string; kind: 'panel' | 'variable' | 'annotation' }[] {
  const out: { where: string; query: string; kind: 'panel' | 'variable' | 'annotation' }[] = [];
  for (const p of d.panels as Json[]) {
    if (p.type === 'row') continue;
    for (const t of p.targets as Json[]) out.push({ where: `${d.uid} / ${p.title} / ${t.refId}`, query: t.query, kind: 'panel' });
  }
  for (const v of d.templating.list as Json[]) if (v.type === 'query') out.push({ where: `${d.uid} / $${v.name}`, query: v.query, kind: 'variable' });
  for (const a of d.annotations.list as Json[]) out.push({ where: `${d.uid} / annotation ${a.name}`, query: a.query, kind: 'annotation' });
  return out;
}

/** True when a result holds at least one non-null value outside the time column. */
function hasData(series: { columns: string[]; values: unknown[][] }[]): boolean {
  return series.some((s) => s.values.some((row) => row.some((v, i) => s.columns[i] !== 'time' && v !== null && v !== undefined)));
}

/** The queries of `dashboards` that fail or return no data for the run: a panel with no data is a broken panel. */
async function brokenQueries(url: string, dashboards: Json[], vars: Parameters<typeof interpolate>[1]): Promise<string[]> {
  const broken: string[] = [];
  for (const d of dashboards) {
    for (const q of queriesOf(d)) {
      const sql = interpolate(q.query, vars);
      if (/\$(?!\/)[A-Za-z_]/.test(sql)) {
        broken.push(`${q.where}: uninterpolated variable in ${sql}`);
        continue;
      }
      try {
        if (!hasData(await influxQuery(url, DB, sql))) broken.push(`${q.where}: no data (${sql})`);
      } catch (e) {
        broken.push(`${q.where}: ${(e as Error).message}`);
      }
    }
  }
  return broken;
}

describe('perf run --influx (real InfluxDB, real k6, real sample-app)', () => {
  let influx: InfluxServer;
  let url: string;
  let verdict: Json;
  let stderr: string;
  let code: number | null;

  before(async () => {
    influx = await startInflux();
    url = `${influx.url}/${DB}`;
    // The database does not exist yet: perf creates it.
    const r = await runCli(['run', '--phase', 'health,load', '--profile', 'smoke', '--duration', '3s', '--users', '5', '--reporter', 'console', '--influx', url], {
      env: { PERF_INFLUX_URL: undefined, K6_INFLUXDB_USERNAME: undefined, K6_INFLUXDB_PASSWORD: undefined },
      timeoutMs: 90_000,
    });
    code = r.code;
    stderr = r.stderr;
    verdict = readVerdictFromOutput(REPO, r.stderr);
  });
  after(() => influx?.stop());

  test('the run completes and its verdict records that everything reached InfluxDB', () => {
    assert.ok(code === 0 || code === 1, stderr);
    // The outcome first: on failure its JSON names the short measurements and k6's write errors.
    assert.equal(verdict.influx.status, 'ok', JSON.stringify(verdict.influx, null, 2));
    assert.doesNotMatch(stderr, /InfluxDB.*(not reachable|write failed|may be missing)/);
    assert.equal(verdict.influx.url, url);
    assert.equal(verdict.influx.points.unwritten, 0);
    assert.deepEqual(verdict.influx.k6.map((k: Json) => k.scenario).sort(), ['multi-user', 'throughput', 'ws-events']);
    for (const k of verdict.influx.k6) {
      assert.ok(k.samples > 100, `${k.scenario}: a real number of samples`);
      // A sample with the same measurement, tags and nanosecond as another is that point in InfluxDB.
      assert.equal(k.stored, k.samples - (k.coincident ?? 0), `${k.scenario}: every local sample is in InfluxDB`);
    }
  });

  test('k6 samples land tagged with the run id, the phase and the perf scenario', async () => {
    const byScenario = await influxQuery(influx.url, DB, `SELECT count("value") FROM "http_reqs" WHERE "run_id" = '${verdict.runId}' GROUP BY "perf_scenario", "phase"`);
    const load = verdict.phases.find((p: Json) => p.name === 'load');
    for (const k of load.k6) {
      const s = byScenario.find((x) => x.tags?.perf_scenario === k.scenario);
      assert.ok(s, `http_reqs of ${k.scenario} tagged with the run id`);
      assert.equal(s.tags?.phase, 'load');
      assert.equal(s.values[0]![1], k.analysis.requests, `${k.scenario}: InfluxDB counts the requests the local analysis counted`);
    }
    // Custom metrics from scenarios/lib/metrics.ts are there too, with their own tags.
    const events = await influxQuery(influx.url, DB, `SHOW TAG VALUES FROM "ws_event_latency" WITH KEY = "event" WHERE "run_id" = '${verdict.runId}'`);
    assert.deepEqual(events[0]!.values.map((v) => v[1]).sort(), ['agent_completed', 'agent_started', 'agent_thinking', 'tool_completed', 'tool_executing']);
    // Nothing under another run id: the tag really selects this run.
    assert.deepEqual(await influxQuery(influx.url, DB, `SELECT count("value") FROM "http_reqs" WHERE "run_id" = 'no-such-run'`), []);
  });

  test('phase begin/end, check results and one summary point per gate are written', async () => {
    const phases = await influxQuery(influx.url, DB, `SELECT "text", "phase", "event", "status" FROM "perf_phase" WHERE "run_id" = '${verdict.runId}'`);
    const rows = phases[0]!.values.map((v) => `${v[2]}:${v[3]}:${v[4] ?? ''}`);
    const statusOf = (n: string) => verdict.phases.find((p: Json) => p.name === n).status;
    assert.deepEqual(rows, ['health:begin:', `health:end:${statusOf('health')}`, 'load:begin:', `load:end:${statusOf('load')}`]);

    const checks = await influxQuery(influx.url, DB, `SELECT "duration_ms", "check", "status" FROM "perf_check" WHERE "run_id" = '${verdict.runId}'`);
    const health = verdict.phases.find((p: Json) => p.name === 'health');
    assert.deepEqual(checks[0]!.values.map((v) => v[2]).sort(), health.checks.map((c: Json) => c.name).sort());

    const gates = await influxQuery(influx.url, DB, `SELECT "observed", "limit", "gate", "expression", "status", "group_by" FROM "perf_gate" WHERE "run_id" = '${verdict.runId}'`);
    const stored = gates[0]!.values.map((v) => ({ observed: v[1], limit: v[2], gate: v[3], expression: v[4], status: v[5], groupBy: v[6] ?? undefined }));
    assert.equal(stored.length, verdict.gates.length);
    for (const g of verdict.gates) {
      // One threshold can be two gates (per endpoint and overall): told apart by group_by.
      const s = stored.find((x) => x.gate === g.metric && x.expression === g.expression && x.groupBy === g.groupBy);
      assert.ok(s, `gate ${g.metric} ${g.expression} stored`);
      assert.equal(s.status, g.status);
      assert.equal(s.limit, g.limit);
      if (g.observed !== undefined) assert.equal(s.observed, g.observed);
    }
  });

  test('the run index line and its per-window figures are in InfluxDB too, equal to .perf/runs.jsonl', async () => {
    const lines = readFileSync(path.join(REPO, '.perf', 'runs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Json);
    const rec = lines.find((l) => l.runId === verdict.runId);
    assert.ok(rec, 'the run is indexed locally');
    const rows = await influxQuery(influx.url, DB, `SELECT "status", "profile", "comparable_hash", "gates" FROM "perf_run_index" WHERE "run_id" = '${verdict.runId}'`);
    const [, status, profile, hash, gates] = rows[0]!.values[0]!;
    assert.deepEqual({ status, profile, hash, gates: JSON.parse(String(gates)) }, { status: rec.status, profile: rec.profile, hash: rec.comparableHash, gates: rec.gates });
    const windows = JSON.parse(readFileSync(path.join(runDirFromOutput(REPO, stderr), 'windows.json'), 'utf8')) as Json;
    const expected = windows.scenarios.reduce((n: number, sc: Json) => n + Object.values(sc.series as Record<string, Json>).reduce((m: number, se: Json) => m + se.windows.length, 0), 0);
    const stored = await influxQuery(influx.url, DB, `SELECT count("count") FROM "perf_run_windows" WHERE "run_id" = '${verdict.runId}'`);
    assert.ok(expected > 0);
    assert.equal(stored[0]!.values[0]![1], expected);
  });

  test('perf analyze recomputes every gate from InfluxDB and agrees with the local verdict within tolerance', async () => {
    const r = await runCli(['analyze', '--run-id', verdict.runId, '--influx', url, '--json']);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    const result = JSON.parse(r.stdout) as Json;
    assert.equal(result.localSource, 'verdict');
    assert.equal(result.rows.length, verdict.gates.length);
    for (const row of result.rows) {
      assert.ok(row.local, `${row.gate} ${row.expression}: local figure shown`);
      assert.equal(row.agree, true, `${row.gate} ${row.expression}: ${row.disagreement}`);
      assert.equal(row.influx.samples, row.local.samples, `${row.gate} ${row.expression}: same samples`);
      if (row.local.observed !== undefined) assert.ok(Math.abs(row.difference) <= row.tolerance);
    }
    // Exit code: 1 exactly when a gate does not pass by InfluxDB's figures (all agree here).
    assert.equal(r.code, result.rows.every((row: Json) => row.influx.status === 'passed') ? 0 : 1);
    // The table form names both sides.
    const table = await runCli(['analyze', '--run-id', verdict.runId, '--influx', url]);
    assert.match(table.stdout, /local \(HDR\)\s+InfluxDB \(InfluxQL\)/);
    assert.match(table.stdout, /http_req_duration\{expected_response:true,perf_window:steady\} p\(95\)<300 .* agree/);
  });

  test('perf analyze works for a run whose local files are gone, from the gate summaries in InfluxDB', async () => {
    const elsewhere = tempDir('perf-analyze-');
    const r = await runCli(['analyze', '--run-id', verdict.runId, '--json'], { cwd: elsewhere, env: { PERF_INFLUX_URL: url } });
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    const result = JSON.parse(r.stdout) as Json;
    assert.equal(result.localSource, 'influx-summary');
    assert.equal(result.rows.length, verdict.gates.length);
    for (const row of result.rows) assert.equal(row.agree, true, `${row.gate} ${row.expression}: ${row.disagreement}`);
  });

  test('perf analyze reports a disagreement when the figures differ beyond tolerance (the check can fail)', async () => {
    const tampered = structuredClone(verdict);
    for (const g of tampered.gates) {
      // Far enough off for a per-scenario part of a few dozen samples, whose p99 tolerance is wide.
      if (g.observed !== undefined) g.observed = g.observed * 3 + 100;
    }
    const result = await analyzeRun({ target: parseInfluxUrl(url), runId: verdict.runId, verdict: tampered as unknown as Verdict, configGates: [] });
    const withValue = result.rows.filter((r) => r.local?.observed !== undefined);
    assert.ok(withValue.length >= 5);
    for (const row of withValue) assert.equal(row.agree, false, `${row.gate} ${row.expression} should disagree`);
    const r = await runCli(['analyze', '--run-id', 'no-such-run', '--influx', url]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /holds no k6 samples for run_id=no-such-run/);
  });

  test('every query of every generated dashboard returns data for the run (and a broken one is caught)', async () => {
    const { config } = await resolveConfig({ cwd: REPO, env: {} });
    const dashboards = Object.values(generateDashboards(config.gates.filter((g) => g.limit !== undefined) as GateSpec[])) as Json[];
    // The committed dashboards are these (grafana-dashboards.test.ts checks they are not stale).
    for (const d of dashboards) {
      const committed = JSON.parse(readFileSync(path.join(REPO, 'grafana', 'dashboards', `${d.uid}.json`), 'utf8')) as Json;
      assert.deepEqual(committed, d, `${d.uid}.json is current`);
    }
    const vars = {
      runId: verdict.runId,
      scenarios: ['multi-user', 'ws-events', 'throughput'],
      // A minute either side: window points are stamped at their window's start.
      fromMs: Date.parse(verdict.startedAt) - 60_000,
      toMs: Date.parse(verdict.finishedAt) + 60_000,
    };
    const total = dashboards.reduce((n, d) => n + queriesOf(d).length, 0);
    assert.ok(total >= 40, `${total} queries checked`);
    assert.deepEqual(await brokenQueries(influx.url, dashboards, vars), []);

    // The template variables offer this run and its scenarios.
    const runIds = await influxQuery(influx.url, DB, interpolate(dashboards[0]!.templating.list[0].query, vars));
    assert.ok(runIds[0]!.values.some((v) => v[1] === verdict.runId));
    const scen = await influxQuery(influx.url, DB, interpolate(dashboards[0]!.templating.list[1].query, vars));
    assert.deepEqual(scen[0]!.values.map((v) => v[1]).sort(), ['multi-user', 'throughput', 'ws-events']);

    // Negative control: a panel filtering on a tag k6 never writes, and one on another run, are reported.
    const broken = structuredClone(dashboards[1]!);
    const panel = broken.panels.find((p: Json) => p.type === 'timeseries');
    panel.targets[0].query = panel.targets[0].query.replace('"perf_scenario"', '"scenario_typo"');
    const found = await brokenQueries(influx.url, [broken], vars);
    assert.equal(found.length, 1);
    assert.match(found[0]!, /no data/);
    assert.equal((await brokenQueries(influx.url, [dashboards[1]!], { ...vars, runId: 'no-such-run' })).length, queriesOf(dashboards[1]!).length - 1, 'only the run-id variable query still has data');
  });
});
