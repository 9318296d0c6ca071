import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { ingestK6Csv } from '../analysis/k6-csv.ts';
import { PERF_BIN, readVerdictFromOutput, runCli, runDirFromOutput, startHelloServer, tempDir } from './helpers.ts';
import { freePort, influxQuery, startInflux, type InfluxServer } from './influx-helpers.ts';

// InfluxDB is never on a run's critical path. Black-box: the real CLI, real k6 and a real
// InfluxDB (killed for real) against a local HTTP server, with a paced scenario written
// into a temp project (a few hundred requests a second rather than thousands, so the InfluxDB
// side stays light on a 2-core runner).

const PACED = `import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = { vus: 2, duration: __ENV.PERF_DURATION || '4s', thresholds: { checks: ['rate==1'] } };
export default function (): void {
  check(http.get(\`\${__ENV.PERF_BASE_URL}/hello\`), { 'status is 200': (r) => r.status === 200 });
  sleep(0.02);
}
`;

const CONFIG = `import { defineConfig } from 'perf-harness';
export default defineConfig({
  reporters: ['console'],
  gates: [
    { metric: 'http_req_duration', stat: 'p(95)', limit: 1000, description: 'loopback answers fast' },
    { metric: 'http_req_failed', stat: 'rate', limit: 0.01 },
  ],
});
`;

function project(): string {
  const dir = tempDir('perf-influx-fail-');
  mkdirSync(path.join(dir, 'scenarios'));
  writeFileSync(path.join(dir, 'scenarios', 'paced.ts'), PACED);
  writeFileSync(path.join(dir, 'perf.config.ts'), CONFIG);
  return dir;
}

const CLEAN_ENV = { PERF_INFLUX_URL: undefined, K6_INFLUXDB_USERNAME: undefined, K6_INFLUXDB_PASSWORD: undefined };

describe('InfluxDB failures never cost a run its local results', () => {
  let server: Awaited<ReturnType<typeof startHelloServer>>;
  before(async () => {
    server = await startHelloServer();
  });
  after(() => server.close());

  test('InfluxDB down at the start: a clear message, the run goes on, the verdict says nothing was written', async () => {
    const dir = project();
    const port = await freePort(); // nothing listens there
    const url = `http://127.0.0.1:${port}/perf`;
    const r = await runCli(['run', '--target', server.url, '--scenario', 'paced', '--duration', '2s', '--influx', url], { cwd: dir, env: CLEAN_ENV, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`perf: InfluxDB at http://127\\.0\\.0\\.1:${port}/perf is not reachable \\(ECONNREFUSED\\); the run goes on with local results only`));
    const v = readVerdictFromOutput(dir, r.stderr);
    assert.equal(v.status, 'passed');
    assert.equal(v.influx.status, 'unavailable');
    assert.equal(v.influx.url, url);
    assert.match(v.influx.note, /not reachable at the start \(ECONNREFUSED\): nothing of this run is in InfluxDB; the local results are complete/);
    // Local results complete: samples analysed and every gate decided from them.
    const k6 = v.phases[0].k6[0];
    assert.ok(k6.analysis.samples > 100);
    assert.deepEqual(v.gates.map((g: { status: string }) => g.status), ['passed', 'passed']);
    // k6 was not given an InfluxDB output: no run tags in its samples, no write errors in its log.
    const runDir = runDirFromOutput(dir, r.stderr);
    const raw = await ingestK6Csv(path.join(runDir, k6.files.samples), new Map());
    assert.ok(raw.samples > 100);
    assert.ok([...raw.series.values()].every((s) => !('run_id' in s.tags)), 'no run_id tag on any sample');
    assert.doesNotMatch(readFileSync(path.join(runDir, k6.files.log), 'utf8'), /InfluxDB/);
  });

  describe('an InfluxDB with authentication', () => {
    const auth = { username: 'perf_admin', password: 'Inf1ux-s3cret-pw' };
    let influx: InfluxServer;
    before(async () => {
      influx = await startInflux({ auth });
    });
    after(() => influx?.stop());

    test('credentials come from K6_INFLUXDB_USERNAME/PASSWORD, reach perf and k6, and appear nowhere in the run folder', async () => {
      const dir = project();
      const url = `${influx.url}/perf`;
      // Without them InfluxDB refuses perf's and k6's writes: the verdict says so (the check can fail).
      const refused = await runCli(['run', '--target', server.url, '--scenario', 'paced', '--duration', '1s', '--influx', url], { cwd: dir, env: CLEAN_ENV, timeoutMs: 60_000 });
      assert.equal(refused.code, 0, refused.stderr);
      const rv = readVerdictFromOutput(dir, refused.stderr);
      assert.equal(rv.influx.status, 'partial');
      assert.match(rv.influx.missing.join('\n'), /perf's own points not written: .*\(last error: .*authorization/);
      assert.match(rv.influx.missing.join('\n'), /k6 samples of paced: not countable \(InfluxDB: .*authorization/);

      const r = await runCli(['run', '--target', server.url, '--scenario', 'paced', '--duration', '2s', '--influx', url], {
        cwd: dir,
        env: { ...CLEAN_ENV, K6_INFLUXDB_USERNAME: auth.username, K6_INFLUXDB_PASSWORD: auth.password },
        timeoutMs: 60_000,
      });
      assert.equal(r.code, 0, r.stderr);
      const v = readVerdictFromOutput(dir, r.stderr);
      assert.equal(v.influx.status, 'ok', JSON.stringify(v.influx, null, 2));
      assert.equal(v.influx.k6[0].stored, v.influx.k6[0].samples - (v.influx.k6[0].coincident ?? 0));
      const stored = await influxQuery(influx.url, 'perf', `SELECT count("value") FROM "http_reqs" WHERE "run_id" = '${v.runId}'`, auth);
      assert.ok(Number(stored[0]!.values[0]![1]) > 0);
      // The password is nowhere: not in the verdict, not in any file k6 or perf wrote.
      const runDir = runDirFromOutput(dir, r.stderr);
      for (const f of readdirSync(runDir)) {
        const raw = readFileSync(path.join(runDir, f));
        const text = f.endsWith('.gz') ? gunzipSync(raw).toString() : raw.toString();
        assert.ok(!text.includes(auth.password), `${f} holds the InfluxDB password`);
      }
      assert.ok(!r.stderr.includes(auth.password));
    });
  });

  test('InfluxDB refusing one measurement: the verdict names it, with its local and stored counts', async () => {
    const influx = await startInflux();
    try {
      // A string `value` already in http_reqs: InfluxDB drops every float http_reqs point k6
      // sends to that shard (a field type conflict), and keeps all the other measurements.
      const seed = await fetch(`${influx.url}/query`, { method: 'POST', body: new URLSearchParams({ q: 'CREATE DATABASE perf' }) });
      assert.equal(seed.status, 200);
      const conflict = await fetch(`${influx.url}/write?db=perf`, { method: 'POST', body: `http_reqs value="not a number" ${Date.now()}000000` });
      assert.equal(conflict.status, 204);

      const dir = project();
      const r = await runCli(['run', '--target', server.url, '--scenario', 'paced', '--duration', '2s', '--influx', `${influx.url}/perf`], { cwd: dir, env: CLEAN_ENV, timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      const v = readVerdictFromOutput(dir, r.stderr);
      assert.equal(v.influx.status, 'partial', JSON.stringify(v.influx, null, 2));
      const k6 = v.influx.k6[0];
      const analysis = v.phases[0].k6[0].analysis;
      // Samples that coincide with another (same tags, same nanosecond) are one point in InfluxDB.
      const points = (metric: string) => analysis.samplesByMetric[metric] - (analysis.coincidentByMetric?.[metric] ?? 0);
      const total = k6.samples - (k6.coincident ?? 0);
      const requests = points('http_reqs');
      assert.ok(requests > 50);
      assert.deepEqual(k6.short, [{ measurement: 'http_reqs', local: requests, stored: 0 }]);
      assert.equal(k6.stored, total - requests, 'every other measurement is complete');
      assert.ok(k6.failedWrites > 0, "k6's refused writes are counted from its log");
      assert.match(v.influx.missing.join('\n'), new RegExp(`k6 samples of paced: ${k6.stored} of ${total} in InfluxDB, ${requests} missing \\(http_reqs 0/${requests}\\); k6 reported`));
    } finally {
      await influx.stop();
    }
  });

  describe('InfluxDB killed in the middle of the load', () => {
    let influx: InfluxServer;
    before(async () => {
      influx = await startInflux();
    });
    after(() => influx?.stop());

    test('the run finishes with complete local results and the verdict says which points may be missing', async () => {
      const dir = project();
      const url = `${influx.url}/perf`;
      const child = spawn(process.execPath, [PERF_BIN, 'run', '--target', server.url, '--scenario', 'paced', '--duration', '6s', '--influx', url], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: '1', PERF_INFLUX_URL: '', K6_INFLUXDB_USERNAME: '', K6_INFLUXDB_PASSWORD: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stdout.resume();
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

      // Kill InfluxDB once k6's samples of this run are arriving (mid-load).
      const deadline = Date.now() + 40_000;
      let runId: string | undefined;
      let before = 0;
      while (Date.now() < deadline) {
        runId ??= /perf run (\S+):/.exec(stderr)?.[1];
        if (runId) {
          const s = await influxQuery(influx.url, 'perf', `SELECT count("value") FROM "http_reqs" WHERE "run_id" = '${runId}'`).catch(() => []);
          before = Number(s[0]?.values[0]?.[1] ?? 0);
          if (before > 0) break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(before > 0, `k6 samples reached InfluxDB before the kill\n${stderr}`);
      await influx.kill();

      const code = await exited;
      assert.equal(code, 0, stderr);
      const v = readVerdictFromOutput(dir, stderr);
      assert.equal(v.runId, runId);
      assert.equal(v.status, 'passed');
      // Local results complete: the samples were analysed and the gates decided.
      const k6 = v.phases[0].k6[0];
      assert.ok(k6.analysis.samples > before, 'the local CSV holds more than what reached InfluxDB');
      assert.deepEqual(v.gates.map((g: { status: string }) => g.status), ['passed', 'passed']);
      assert.ok(existsSync(path.join(runDirFromOutput(dir, stderr), k6.files.samples)));

      // The verdict says what may be missing.
      assert.equal(v.influx.status, 'partial', JSON.stringify(v.influx, null, 2));
      assert.match(v.influx.note, /InfluxDB failed during the run \(first failure [\d-]+T[\d:.]+Z\): the local results are complete/);
      const missing = v.influx.missing.join('\n');
      assert.match(missing, /k6 samples of paced: not countable \(InfluxDB: connect ECONNREFUSED [\d.:]+\); those after \S+ may be missing; k6 reported \d+ failed write\(s\) between/);
      assert.match(missing, /perf's own points not written: .*perf_gate ×2/);
      assert.match(missing, /perf_run ×1/);
      assert.ok(v.influx.points.unwritten >= 3);
      assert.ok(v.influx.k6[0].failedWrites > 0);
      assert.equal(v.influx.k6[0].stored, undefined);
      // Said on stderr as well, as it happened and at the end.
      assert.match(stderr, /perf: InfluxDB at http:\/\/127\.0\.0\.1:\d+\/perf: write failed/);
      assert.match(stderr, /perf: InfluxDB: InfluxDB failed during the run/);
    });
  });
});
