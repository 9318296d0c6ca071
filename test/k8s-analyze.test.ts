// The Kubernetes path's collection, end to end, without a cluster: `perf k8s render` → the
// runners the k6-operator would start → `perf analyze --run-id` over every runner's samples.
//
// THIS TEST STANDS IN FOR THE k6-OPERATOR. There is no cluster here: instead of runner pods, it
// spawns `parallelism` stock k6 processes at once, each with the rendered TestRun's
// `spec.arguments`, its `spec.runner.env` (the Secret's PERF_AUTH computed locally, as
// bench/bench-helpers.ts perfAuthForK6 does) and the `--execution-segment` /
// `--execution-segment-sequence` the operator adds (equal segments). What it proves: the
// rendered script, arguments and env work on stock k6, the runners' samples meet in InfluxDB
// under one run_id, and `perf analyze` judges the gates over all of them. What it does not: the
// operator's scheduling, its pods, its initializer and starter (docs/kubernetes.md, "Tried locally").
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import { startSampleApp, type SampleAppHandle } from '../sample-app/index.ts';
import { configProject, REPO, runCli, tempDir } from './helpers.ts';
import { influxQuery, startInflux, type InfluxServer } from './influx-helpers.ts';

const K6 = path.join(REPO, '.tools', 'bin', 'k6');
const DB = 'perf';

let influx: InfluxServer;
let app: SampleAppHandle;

before(async () => {
  [influx, app] = await Promise.all([startInflux(), startSampleApp()]);
});
after(async () => {
  await Promise.allSettled([influx?.stop(), app?.stop()]);
});

/** PERF_AUTH as `perf run` gives k6 for the repo config (bench/bench-helpers.ts perfAuthForK6): what the Secret would hold. */
async function perfAuth(): Promise<string> {
  const { resolveConfig } = await import('../src/config/config.ts');
  const { perfAuthEnv } = await import('../src/load/load-phase.ts');
  const { config } = await resolveConfig({ cwd: REPO, env: {} });
  assert.ok(config.auth, 'the repo config has an auth block');
  return perfAuthEnv(config.auth, config.seed ?? 1);
}

type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string; optional?: boolean } } };

function runK6(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(K6, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('k8s render → 2 stock k6 runners on equal segments → perf analyze judges the gates over both', { timeout: 110_000 }, async (t) => {
  const out = tempDir('perf-k8s-analyze-');
  const influxUrl = `${influx.url}/${DB}`;
  // --users 4 (16 req/s over both runners, ~160 requests in 5 s): p(99) and rate<0.01 need 100
  // samples to decide; with --users 2 (~80 requests) they are insufficient-data.
  const rendered = await runCli(['k8s', 'render', '--scenario', 'throughput', '--parallelism', '2', '--influx', influxUrl, '--target', app.baseUrl, '--duration', '5s', '--users', '4', '--out', out]);
  assert.equal(rendered.code, 0, rendered.stderr + rendered.stdout);

  const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { runId: string; parallelism: number };
  const testRun = parse(readFileSync(path.join(out, 'testrun.yaml'), 'utf8')) as {
    spec: { parallelism: number; script: { configMap: { name: string; file: string } }; arguments: string; runner: { env: EnvVar[] } };
  };
  const configMap = parse(readFileSync(path.join(out, 'configmap.yaml'), 'utf8')) as { metadata: { name: string }; data: Record<string, string> };
  assert.equal(testRun.spec.parallelism, 2);
  assert.equal(testRun.spec.script.configMap.name, configMap.metadata.name);
  const script = path.join(out, testRun.spec.script.configMap.file);
  writeFileSync(script, configMap.data[testRun.spec.script.configMap.file]!);

  // The runner's env as a pod would see it: values as rendered, secretKeyRefs from "the Secret".
  const secret: Record<string, string> = { PERF_AUTH: await perfAuth() };
  const podEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: out };
  for (const e of testRun.spec.runner.env) {
    if (e.value !== undefined) podEnv[e.name] = e.value;
    else if (e.valueFrom) {
      const v = secret[e.valueFrom.secretKeyRef.key];
      if (v !== undefined) podEnv[e.name] = v;
      else assert.ok(e.valueFrom.secretKeyRef.optional, `${e.name} is required but the Secret has no ${e.valueFrom.secretKeyRef.key}`);
    }
  }
  assert.equal(podEnv.PERF_RUN_ID, manifest.runId);
  assert.equal(podEnv.K6_AUTO_EXTENSION_RESOLUTION, 'false');

  // What the operator runs in each of the 2 pods, all at once.
  const segments = ['0:1/2', '1/2:1'];
  const summaries = segments.map((_, i) => path.join(out, `summary-${i}.json`));
  const runs = await Promise.all(
    segments.map((seg, i) =>
      runK6(['run', ...testRun.spec.arguments.split(/\s+/), `--execution-segment=${seg}`, '--execution-segment-sequence=0,1/2,1', `--summary-export=${summaries[i]}`, '--quiet', script], podEnv),
    ),
  );
  runs.forEach((r, i) => assert.equal(r.code, 0, `runner ${i}: ${r.stderr.slice(-3000)}`));
  const reqs = summaries.map((f) => (JSON.parse(readFileSync(f, 'utf8')) as { metrics: Record<string, { count?: number }> }).metrics.http_reqs!.count!);
  const total = reqs[0]! + reqs[1]!;
  assert.ok(reqs.every((n) => n > 0), `each runner made requests: ${reqs.join(', ')}`);

  // InfluxDB holds both runners' samples under the one run id: its count is their sum.
  const inInflux = async (q: string) => Number((await influxQuery(influx.url, DB, q))[0]?.values[0]?.[1] ?? 0);
  const runId = `"run_id" = '${manifest.runId}'`;
  assert.equal(await inInflux(`SELECT count("value") FROM "http_reqs" WHERE ${runId}`), total, 'http_reqs points in InfluxDB = the two runners\' summaries');
  assert.equal(await inInflux(`SELECT count("value") FROM "http_reqs" WHERE ${runId} AND "perf_scenario" = 'throughput' AND "phase" = 'load'`), total, 'every point carries the rendered tags');
  const expected = await inInflux(`SELECT count("value") FROM "http_req_duration" WHERE ${runId} AND "expected_response" = 'true'`);

  type Row = { gate: string; expression: string; influx: { samples: number; status: string; observed?: number; note?: string } };
  type Analyzed = { runId: string; localSource: string; k6Samples: number; rows: Row[] };
  const gate = (rows: Row[], key: string, expression: string) => rows.find((r) => r.gate === key && r.expression === expression);

  // A config holding the gates a throughput run can be judged by (the repo's, minus those bound
  // only to multi-user / ws-events): analyze exits 0, every gate decided from InfluxDB.
  const project = configProject(`gates: base.gates.filter((g) => !g.scenarios || g.scenarios.includes('throughput'))`, 'perf-k8s-analyze-project-');
  const judged = await runCli(['analyze', '--run-id', manifest.runId, '--influx', influxUrl, '--json'], { cwd: project });
  assert.equal(judged.code, 0, judged.stderr + judged.stdout);
  const result = JSON.parse(judged.stdout) as Analyzed;
  assert.equal(result.runId, manifest.runId);
  assert.equal(result.localSource, 'none', 'no local verdict: the gates come from the config, the figures from InfluxDB');
  assert.ok(result.rows.length >= 4, judged.stdout);
  for (const r of result.rows) assert.equal(r.influx.status, 'passed', `${r.gate} ${r.expression}: ${JSON.stringify(r.influx)}`);
  // The error-rate gate counts every request of both runners; the latency gates the expected responses.
  assert.equal(gate(result.rows, 'http_req_failed', 'rate<0.01')?.influx.samples, total);
  assert.equal(gate(result.rows, 'http_req_duration{expected_response:true}', 'p(99)<1000')?.influx.samples, expected);
  assert.ok(expected > 0 && expected <= total);

  // The repo's own perf.config.ts: the same gates pass, the multi-user / ws-events ones are
  // not-run (a single-scenario TestRun cannot run them).
  const repo = await runCli(['analyze', '--run-id', manifest.runId, '--influx', influxUrl, '--json']);
  const repoResult = JSON.parse(repo.stdout) as Analyzed;
  for (const r of repoResult.rows) {
    const same = gate(result.rows, r.gate, r.expression);
    assert.equal(r.influx.status, same ? 'passed' : 'not-run', `${r.gate} ${r.expression}: ${JSON.stringify(r.influx)}`);
  }
  assert.ok(repoResult.rows.some((r) => r.influx.status === 'not-run'));
  await t.test('with the repo config, analyze exits 0 when every gate of the scenario that ran passes', () => {
    assert.equal(repo.code, 0, repo.stderr);
  });

  // The check can fail: a run id no runner used has no samples, and no gate is reported passed.
  const other = `${manifest.runId.slice(0, -4)}0000`;
  assert.notEqual(other, manifest.runId);
  const none = await runCli(['analyze', '--run-id', other, '--influx', influxUrl, '--json'], { cwd: project });
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, new RegExp(`holds no k6 samples for run_id=${other}`));
  assert.doesNotMatch(none.stdout, /passed/);
});
