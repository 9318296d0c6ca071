import { gateFilter, thresholdKey } from '../analysis/gates.ts';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { resolveConfig } from '../src/config/config.ts';
import { isAbsoluteGate, type GateSpec } from '../src/config/config-schema.ts';
import { DATASOURCE_UID, generateDashboards, staleDashboards } from '../src/influx/grafana.ts';
import { REPO, runCli, tempDir } from './helpers.ts';

// The Grafana provisioning: dashboards generated from perf.config.ts's gates (committed, and
// kept current by this test), the datasource they use, and the compose file that mounts them.
// That every panel query returns data for a real run is checked in influx-run.test.ts.

const execFileAsync = promisify(execFile);
const DASHBOARDS = path.join(REPO, 'grafana', 'dashboards');

type Json = Record<string, any>;

async function repoGates(): Promise<GateSpec[]> {
  return (await resolveConfig({ cwd: REPO, env: {} })).config.gates.filter(isAbsoluteGate);
}

describe('Grafana dashboards generated from the gates', () => {
  test('the committed dashboards are what perf.config.ts generates (regenerate with `npx perf grafana`)', async () => {
    const gates = await repoGates();
    assert.deepEqual(staleDashboards(DASHBOARDS, gates), [], 'stale dashboards: run `npx perf grafana` and commit grafana/dashboards');
    // The check can fail: a changed limit, or a hand edit, makes them stale.
    const changed = gates.map((g, i) => (i === 0 ? { ...g, limit: g.limit + 1 } : g));
    assert.ok(staleDashboards(DASHBOARDS, changed).length >= 1);
    const copy = tempDir('perf-grafana-');
    cpSync(DASHBOARDS, copy, { recursive: true });
    const f = path.join(copy, 'perf-soak.json');
    writeFileSync(f, readFileSync(f, 'utf8').replace('"perf · soak"', '"edited by hand"'));
    assert.deepEqual(staleDashboards(copy, gates), ['perf-soak.json']);
  });

  test('perf grafana --check says so and exits 1 on stale dashboards, 0 on current ones', async () => {
    const ok = await runCli(['grafana', '--check']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /up to date/);
    const copy = tempDir('perf-grafana-');
    const stale = await runCli(['grafana', '--check', '--out', copy]);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /stale dashboards in .*: perf-overview\.json, perf-latency\.json, perf-websocket\.json, perf-soak\.json/);
    const written = await runCli(['grafana', '--out', copy]);
    assert.equal(written.code, 0, written.stderr);
    assert.equal((await runCli(['grafana', '--check', '--out', copy])).code, 0);
  });

  test('every gate is drawn as a threshold line at its limit, on the right side', async () => {
    const gates = await repoGates();
    const all = Object.values(generateDashboards(gates));
    const panels = all.flatMap((d) => (d.panels as Json[]).filter((p) => p.type !== 'row'));
    for (const g of gates) {
      // The threshold key: the gate's tags plus what perf adds (expected_response, perf_window).
      const key = thresholdKey(g);
      const own = panels.filter((p) => (p.title as string).startsWith(`gate ${key} ${g.stat} ${g.op} ${g.limit}`) && (p.title as string).includes(' per ') === Boolean(g.groupBy));
      assert.ok(own.length >= 1, `a panel for gate ${key} ${g.stat}${g.op}${g.limit}`);
      for (const p of own) {
        assert.equal(p.fieldConfig.defaults.custom.thresholdsStyle.mode, 'line');
        const step = (p.fieldConfig.defaults.thresholds.steps as Json[]).find((s) => s.value === g.limit);
        assert.ok(step, `threshold step at ${g.limit}`);
        // Past the line is red: above it for `<` gates, below it for `>=` gates.
        assert.equal(step.color, g.op.startsWith('<') ? 'red' : 'green');
        const q = p.targets[0].query as string;
        assert.match(q, new RegExp(`FROM "${g.metric}"`));
        for (const [k, v] of Object.entries(gateFilter(g))) assert.ok(q.includes(`"${k}" = '${v}'`), `${q} filters ${k}=${v}`);
        // One line per place the gate must hold: each scenario (unless merged), each groupBy value.
        if (!g.merge) assert.match(q, /GROUP BY time\(\$__interval\), "perf_scenario"/);
        if (g.groupBy) assert.ok(q.includes(`, "${g.groupBy}"`), `${q} groups by ${g.groupBy}`);
        for (const s of g.scenarios ?? []) assert.ok(q.includes(s), `${q} is bound to ${s}`);
      }
    }
    // The per-endpoint latency panels carry the untagged http_req_duration gates.
    const latency = generateDashboards(gates)['perf-latency.json']!;
    const p95 = (latency.panels as Json[]).find((p) => p.title === 'P95 per endpoint')!;
    assert.match(p95.targets[0].query, /GROUP BY time\(\$__interval\), "name"/);
    const limits = gates.filter((g) => g.metric === 'http_req_duration' && !g.tags && g.stat === 'p(95)').map((g) => g.limit);
    assert.ok(limits.length);
    for (const l of limits) assert.ok(p95.fieldConfig.defaults.thresholds.steps.some((s: Json) => s.value === l));
  });

  test('each dashboard has run_id and scenario variables, phase annotations, and uses the provisioned datasource', () => {
    const gates: GateSpec[] = [];
    const dashboards = generateDashboards(gates);
    assert.deepEqual(Object.keys(dashboards), ['perf-overview.json', 'perf-latency.json', 'perf-websocket.json', 'perf-soak.json']);
    const datasource = readFileSync(path.join(REPO, 'grafana', 'provisioning', 'datasources', 'influxdb.yml'), 'utf8');
    assert.match(datasource, new RegExp(`uid: ${DATASOURCE_UID}`));
    assert.match(datasource, /type: influxdb/);
    const provider = readFileSync(path.join(REPO, 'grafana', 'provisioning', 'dashboards', 'perf.yml'), 'utf8');
    assert.match(provider, /path: \/var\/lib\/grafana\/dashboards\/perf/);
    for (const [name, d] of Object.entries(dashboards)) {
      assert.equal(`${d.uid}.json`, name);
      const vars = (d.templating as Json).list.map((v: Json) => v.name);
      assert.deepEqual(vars.slice(0, 2), ['run_id', 'scenario']);
      const phases = (d.annotations as Json).list.find((a: Json) => a.name === 'Phases');
      assert.equal(phases.enable, true);
      assert.match(phases.query, /FROM "perf_phase" WHERE "run_id" =~ \/\^\$run_id\$\//);
      const json = JSON.stringify(d);
      const uids = [...json.matchAll(/"uid":"([^"]+)"/g)].map((m) => m[1]).filter((u) => u !== d.uid);
      assert.ok(uids.length > 0 && uids.every((u) => u === DATASOURCE_UID), `${name} uses only ${DATASOURCE_UID}`);
      for (const p of (d.panels as Json[]).filter((p) => p.type !== 'row')) {
        for (const t of p.targets) {
          // Every k6/perf query is scoped to the selected run and keeps empty intervals empty.
          assert.match(t.query, /"run_id" =~ \/\^\$run_id\$\//, `${p.title}`);
          if (/GROUP BY time/.test(t.query)) assert.match(t.query, /fill\(none\)/, `${p.title}`);
        }
      }
    }
  });
});

describe('docker-compose.perf.yml', () => {
  test('validates with docker-compose (and an invalid file is refused)', async () => {
    const file = path.join(REPO, 'docker-compose.perf.yml');
    const { stdout } = await execFileAsync('docker-compose', ['-f', file, 'config'], { cwd: REPO });
    for (const s of ['influxdb', 'grafana', 'sample-app', 'perf']) assert.match(stdout, new RegExp(`^  ${s}:$`, 'm'), `service ${s}`);
    assert.match(stdout, /image: influxdb:1\.8/);
    assert.match(stdout, /GF_AUTH_ANONYMOUS_ENABLED: "true"/);
    assert.match(stdout, /GF_AUTH_ANONYMOUS_ORG_ROLE: Viewer/);
    assert.match(stdout, /grafana\/provisioning:\/etc\/grafana\/provisioning:ro/);
    assert.match(stdout, /grafana\/dashboards:\/var\/lib\/grafana\/dashboards\/perf:ro/);
    assert.match(stdout, /PERF_INFLUX_URL: http:\/\/influxdb:8086\/perf/);
    // The validation is real: a misspelt key makes docker-compose refuse the file.
    const bad = path.join(tempDir('perf-compose-'), 'docker-compose.yml');
    writeFileSync(bad, readFileSync(file, 'utf8').replace('    depends_on:\n      influxdb:', '    depends_onn:\n      influxdb:'));
    await assert.rejects(execFileAsync('docker-compose', ['-f', bad, 'config'], { cwd: REPO }), /depends_onn/);
  });
});
