import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { executionSegmentArgs } from '../src/k6/k6-run.ts';
import { configProject, readVerdictFromOutput, runCli, runDirFromOutput, tempDir } from './helpers.ts';

// perf run --shards N: each scenario as N k6 processes on k6's execution segments, one merged
// verdict. Real k6 against a real local server that answers every request after 10 ms.

test('execution segments: N equal segments and the sequence k6 needs to split them exactly', () => {
  assert.deepEqual(executionSegmentArgs(0, 2), ['--execution-segment=0:1/2', '--execution-segment-sequence=0,1/2,1']);
  assert.deepEqual(executionSegmentArgs(2, 3), ['--execution-segment=2/3:1', '--execution-segment-sequence=0,1/3,2/3,1']);
});

test('load.shards: from the config, PERF_SHARDS or --shards; a bad value is named', async () => {
  const { resolveConfig } = await import('../src/config/config.ts');
  const cwd = tempDir('perf-shards-config-');
  assert.equal((await resolveConfig({ cwd, env: {} })).config.load.shards, 1);
  assert.equal((await resolveConfig({ cwd, env: { PERF_SHARDS: '3' } })).config.load.shards, 3);
  await assert.rejects(resolveConfig({ cwd, env: { PERF_SHARDS: '0' } }), /load\.shards \(from PERF_SHARDS\): /);
  const bad = await runCli(['run', '--shards', 'two', '--phase', 'load'], { cwd });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /load\.shards \(from --shards\): /);
});

describe('perf run --shards on real k6', () => {
  let server: http.Server;
  let url: string;
  let project: string;
  before(async () => {
    server = http.createServer((_req, res) => setTimeout(() => res.end('ok'), 10));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    project = tempDir('perf-shards-');
    mkdirSync(path.join(project, 'scenarios'));
    // 40 iterations/s for 4.99 s: 200 iterations, whatever the number of processes.
    writeFileSync(
      path.join(project, 'scenarios', 'rate.ts'),
      `import http from 'k6/http';
export const options = {
  scenarios: { rate: { executor: 'constant-arrival-rate', rate: 40, timeUnit: '1s', duration: '4990ms', preAllocatedVUs: 8, maxVUs: 16 } },
};
export default function (): void {
  http.get(\`\${__ENV.PERF_BASE_URL}/ok\`);
}
`,
    );
    // The second shard aborts its test: a shard that fails must fail the run, named.
    writeFileSync(
      path.join(project, 'scenarios', 'broken-shard.ts'),
      `import http from 'k6/http';
import exec from 'k6/execution';
export const options = { scenarios: { rate: { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '3s', preAllocatedVUs: 4 } } };
export default function (): void {
  http.get(\`\${__ENV.PERF_BASE_URL}/ok\`);
  if (__ENV.PERF_SHARD === '2/2' && exec.scenario.iterationInTest >= 3) exec.test.abort('shard two gives up');
}
`,
    );
    writeFileSync(
      path.join(project, 'perf.config.ts'),
      `export default { gates: [
  { metric: 'http_req_duration', stat: 'p(95)', limit: 1000 },
  { metric: 'http_req_duration', stat: 'p(50)', limit: 1000 },
  { metric: 'http_req_failed', stat: 'rate', limit: 0.01 },
] };\n`,
    );
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const run = (scenario: string, shards: number) => runCli(['run', '--target', url, '--scenario', scenario, '--shards', String(shards), '--reporter', 'console'], { cwd: project, timeoutMs: 120_000 });

  test('1 and 2 shards: the same iterations exactly (from the segments) and percentiles that agree', async () => {
    const one = await run('rate', 1);
    const two = await run('rate', 2);
    const v1 = readVerdictFromOutput(project, one.stderr);
    const v2 = readVerdictFromOutput(project, two.stderr);
    assert.equal(v1.status, 'passed', one.stderr);
    assert.equal(v2.status, 'passed', two.stderr);
    const k1 = v1.phases.find((p: { name: string }) => p.name === 'load').k6[0];
    const k2 = v2.phases.find((p: { name: string }) => p.name === 'load').k6[0];
    // Starts at 0, 25, …, 4975 ms: 200 (a last start exactly at the end would be a coin toss of timers).
    const iterations = k1.analysis.samplesByMetric.iterations;
    assert.equal(iterations, 200);
    assert.equal(k2.analysis.samplesByMetric.iterations, iterations);
    // Each shard ran its segment, by k6's own count, and together exactly the 1-shard count.
    const dir2 = runDirFromOutput(project, two.stderr);
    const perShard = k2.shards.map((s: { shard: string; files: { summary: string } }) => JSON.parse(readFileSync(path.join(dir2, s.files.summary), 'utf8')).metrics.iterations.count as number);
    assert.equal(perShard.length, 2);
    assert.equal(perShard[0] + perShard[1], iterations);
    assert.deepEqual(perShard, [100, 100]);
    // Gates decided on both shards' samples merged: every request counted once.
    for (const g of v2.gates) assert.ok(g.samples >= 200 && g.samples === v1.gates[v2.gates.indexOf(g)].samples, `${g.metric} ${g.expression}: ${g.samples} vs ${v1.gates[v2.gates.indexOf(g)].samples}`);
    // The percentiles of two runs against a 10 ms server agree within 20 % (run-to-run noise on a
    // shared 2-core host; the merge itself is exact to the histograms' 0.1 %: the same samples, one store).
    for (const [i, g] of v2.gates.entries()) {
      if (!g.metric.startsWith('http_req_duration')) continue;
      const a = v1.gates[i].observed as number;
      assert.ok(Math.abs(g.observed - a) / a < 0.2, `${g.expression}: 1 shard ${a} ms, 2 shards ${g.observed} ms`);
    }
  });

  test('a shard that fails fails the run, naming the shard', async () => {
    const r = await run('broken-shard', 2);
    const v = readVerdictFromOutput(project, r.stderr);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(v.status, 'failed');
    assert.ok(v.reasons.some((x: string) => /broken-shard: shard 2\/2: k6 exited 108 .*its log: k6-broken-shard-shard2of2-log\.jsonl/.test(x)), v.reasons.join('\n'));
    const k = v.phases.find((p: { name: string }) => p.name === 'load').k6[0];
    assert.deepEqual(k.shards.map((s: { exitCode: number }) => s.exitCode), [0, 108]);
  });
});

test('the healthy sample-app: --shards 2 passes, and its merged gates match a 1-shard run', async () => {
  // The throughput scenario (constant arrival rate) and the repo's gates for it.
  const cwd = configProject();
  const run = (shards: number) => runCli(['run', '--scenario', 'throughput', '--users', '3', '--duration', '8s', '--shards', String(shards), '--reporter', 'console'], { cwd, timeoutMs: 180_000 });
  const one = await run(1);
  const two = await run(2);
  const v1 = readVerdictFromOutput(cwd, one.stderr);
  const v2 = readVerdictFromOutput(cwd, two.stderr);
  assert.equal(v1.status, 'passed', one.stderr);
  assert.equal(v2.status, 'passed', two.stderr);
  assert.equal(two.code, 0);
  const k2 = v2.phases.find((p: { name: string }) => p.name === 'load').k6[0];
  assert.equal(k2.shards.length, 2);
  const it1 = v1.phases.find((p: { name: string }) => p.name === 'load').k6[0].analysis.samplesByMetric.iterations;
  // 12 iterations/s for 8 s: a start exactly at the end may or may not happen in either run.
  assert.ok(Math.abs(k2.analysis.samplesByMetric.iterations - it1) <= 1, `iterations: 1 shard ${it1}, 2 shards ${k2.analysis.samplesByMetric.iterations}`);
  for (const [i, g] of v2.gates.entries()) {
    const a = v1.gates[i];
    assert.equal(g.metric, a.metric);
    assert.equal(g.status, a.status, `${g.metric} ${g.expression}`);
    if (g.status === 'not-run') continue;
    assert.ok(Math.abs(g.samples - a.samples) <= 4, `${g.metric} ${g.expression}: samples ${a.samples} vs ${g.samples}`);
  }
});
