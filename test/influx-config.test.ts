import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { flagLayer, resolveConfig } from '../src/config/config.ts';
import { InfluxSession } from '../src/influx/influx.ts';
import { checkPoint, gatePoint, parseGateExpression, parseGateKey, phaseEndPoint, specOf, windowPoints } from '../src/influx/influx-points.ts';
import { influxOneOf, influxUrlProblem, parseInfluxUrl } from '../src/influx/influx-schema.ts';
import { toleranceFor } from '../src/influx/influx-analyze.ts';
import { Redactor } from '../src/redact/redact.ts';
import { REPO, runCli, tempDir } from './helpers.ts';

// Unit level: how an InfluxDB URL is configured and refused, what perf's points look like
// (redacted), and the analysis tolerance. The real InfluxDB is in influx-run.test.ts.

const header = `import { defineConfig } from ${JSON.stringify(path.join(REPO, 'src/config/define-config.ts'))};\n`;

describe('InfluxDB configuration', () => {
  test('influx.url in the file, PERF_INFLUX_URL, then --influx, each layer winning', async () => {
    const cwd = tempDir('perf-influx-config-');
    writeFileSync(path.join(cwd, 'perf.config.ts'), `${header}export default defineConfig({ influx: { url: 'http://file:8086/a' } });\n`);
    assert.equal((await resolveConfig({ cwd, env: {} })).config.influx.url, 'http://file:8086/a');
    assert.equal((await resolveConfig({ cwd, env: { PERF_INFLUX_URL: 'http://env:8086/b' } })).config.influx.url, 'http://env:8086/b');
    const flags = flagLayer({ 'influx.url': { flag: '--influx', value: 'http://flag:8086/c' } });
    assert.equal((await resolveConfig({ cwd, env: { PERF_INFLUX_URL: 'http://env:8086/b' }, flagLayers: flags })).config.influx.url, 'http://flag:8086/c');
    assert.equal((await resolveConfig({ cwd: tempDir(), env: {} })).config.influx.url, undefined, 'off by default');
  });

  test('credentials, prefixes and non-http URLs are refused, naming the variable or flag', async () => {
    await assert.rejects(resolveConfig({ cwd: tempDir(), env: { PERF_INFLUX_URL: 'http://admin:s3cret@db:8086/perf' } }), (e: Error) => {
      assert.match(e.message, /influx\.url \(from PERF_INFLUX_URL\): must not hold credentials: set K6_INFLUXDB_USERNAME and K6_INFLUXDB_PASSWORD/);
      assert.doesNotMatch(e.message, /s3cret/);
      return true;
    });
    const r = await runCli(['run', '--influx', 'udp://127.0.0.1:8089'], { cwd: tempDir() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /influx\.url \(from --influx\): must be an http:\/\/ or https:\/\/ URL/);
    assert.match(influxUrlProblem('http://h:8086/proxy/perf')!, /path prefixes are not supported/);
    assert.match(influxUrlProblem('http://h:8086/perf?precision=s')!, /query/);
    assert.equal(influxUrlProblem('https://influx.example.com/perf_nightly'), undefined);
  });

  test('the database is the URL path, `perf` when there is none; the URL shown never has credentials', () => {
    assert.deepEqual(parseInfluxUrl('http://127.0.0.1:8086'), { protocol: 'http', host: '127.0.0.1', port: 8086, base: 'http://127.0.0.1:8086', database: 'perf', url: 'http://127.0.0.1:8086/perf' });
    const t = parseInfluxUrl('https://influx.example.com/nightly');
    assert.deepEqual([t.port, t.database, t.url], [443, 'nightly', 'https://influx.example.com/nightly']);
    assert.throws(() => parseInfluxUrl('http://u:p@h/x'), /credentials/);
  });

  test('the k6 side: an influxdb output and the run tags, only once InfluxDB answered', () => {
    const s = new InfluxSession({ url: 'http://127.0.0.1:1/perf', runId: 'r1', redactor: new Redactor(), stream: { write: () => true } });
    assert.equal(s.k6Output('multi-user'), undefined, 'not before connect()');
    s.state = 'ok';
    assert.deepEqual(s.k6Output('multi-user'), { outputs: ['influxdb=http://127.0.0.1:1/perf'], tags: { run_id: 'r1', phase: 'load', perf_scenario: 'multi-user' } });
    s.close();
  });
});

describe('perf points', () => {
  const redactor = new Redactor();
  redactor.addSecret('hunter2-password');

  test('check and phase points carry their tags, and secrets never reach InfluxDB', () => {
    const c = checkPoint('r1', 'flows', { name: 'login', status: 'failed', durationMs: 12, error: 'POST /auth/login with hunter2-password and Bearer abc.def.ghi answered 500' }, redactor);
    assert.deepEqual(c.tags, { run_id: 'r1', phase: 'flows', check: 'login', status: 'failed' });
    assert.doesNotMatch(JSON.stringify(c), /hunter2|abc\.def\.ghi/);
    assert.match(String(c.fields!.error), /\[redacted\]/);
    const p = phaseEndPoint('r1', { name: 'flows', status: 'failed', startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1500, reason: 'login: token hunter2-password' }, redactor);
    assert.equal((p.timestamp as Date).toISOString(), '2026-01-01T00:00:01.500Z', 'stamped at the phase end');
    assert.deepEqual(p.tags, { run_id: 'r1', phase: 'flows', event: 'end', status: 'failed' });
    assert.doesNotMatch(String(p.fields!.text), /hunter2/);
  });

  test('a gate point holds observed, limit and status, and the scenarios of its declaration', () => {
    const at = new Date(0);
    const g = gatePoint('r1', { metric: 'http_req_duration{name:login}', expression: 'p(95)<300', limit: 300, observed: 12.5, unit: 'ms', samples: 40, status: 'passed' }, at, { scenarios: ['multi-user'] });
    assert.deepEqual(g.tags, { run_id: 'r1', gate: 'http_req_duration{name:login}', metric: 'http_req_duration', stat: 'p(95)', expression: 'p(95)<300', status: 'passed' });
    assert.equal(g.fields!.observed, 12.5);
    assert.equal(g.fields!.limit, 300);
    assert.equal(g.fields!.scenarios, 'multi-user');
    const none = gatePoint('r1', { metric: 'data_isolation', expression: 'rate>=1', limit: 1, unit: 'ratio', samples: 0, status: 'insufficient-data' }, at);
    assert.equal('observed' in none.fields!, false, 'no value is not 0');
    assert.deepEqual(parseGateExpression('p(99.9)<=1500'), { stat: 'p(99.9)', op: '<=', limit: 1500 });
    assert.deepEqual(parseGateKey('http_req_duration{name:a,method:GET}'), { metric: 'http_req_duration', tags: { name: 'a', method: 'GET' } });
    // Two declarations with the same key and expression: the one at the same position wins.
    const specs = [
      { metric: 'm', stat: 'rate' as const, op: '<' as const, limit: 1, scenarios: ['a'] },
      { metric: 'm', stat: 'rate' as const, op: '<' as const, limit: 1, scenarios: ['b'] },
    ];
    assert.deepEqual(specOf({ metric: 'm', expression: 'rate<1' } as never, 1, specs)?.scenarios, ['b']);
  });

  test('window points give the p95 drift against the first steady window', () => {
    const pts = windowPoints('r1', {
      name: 'load',
      status: 'passed',
      startedAt: '',
      durationMs: 0,
      k6: [
        {
          scenario: 's',
          script: '',
          exitCode: 0,
          meaning: '',
          thresholds: [],
          scriptErrors: [],
          durationMs: 0,
          files: {},
          analysis: {
            samples: 0,
            requests: 0,
            requestsPerSec: 0,
            errorRate: 0,
            droppedIterations: 0,
            windows: [
              { start: 10, requests: 5, p95Ms: 50, errorRate: 0, rampUp: true },
              { start: 20, requests: 9, p95Ms: 10, errorRate: 0, rampUp: false },
              { start: 30, requests: 9, p95Ms: 15, errorRate: 0.1, rampUp: false },
            ],
          },
        },
      ],
    });
    assert.deepEqual(pts.map((p) => p.fields!.drift_p95_pct), [400, 0, 50]);
    assert.deepEqual(pts[2]!.tags, { run_id: 'r1', phase: 'load', perf_scenario: 's', ramp_up: 'false' });
    assert.equal((pts[0]!.timestamp as Date).getTime(), 10_000);
  });

  test('regex of scenario names is exact and escaped', () => {
    assert.equal(influxOneOf(['multi-user', 'a.b']), '/^(multi-user|a\\.b)$/');
  });
});

describe('analysis tolerance', () => {
  test('percentiles: one rank either side + 2×0.1 % + 1 µs; means: 1e-6 relative; rates and counts: exact', () => {
    const p = toleranceFor('p(95)', 100, { lo: 98, hi: 103 });
    assert.ok(Math.abs(p.tolerance - (5 + 0.2 + 0.001)) < 1e-9);
    assert.ok(Math.abs(toleranceFor('avg', 2000).tolerance - 0.002) < 1e-12);
    assert.equal(toleranceFor('rate', 0.5).tolerance, 1e-9);
    assert.equal(toleranceFor('count', 10).tolerance, 1e-9);
  });
});
