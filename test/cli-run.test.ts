import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURE_SCENARIOS, wrapRealK6, readVerdictFromOutput, runDirFromOutput, runCli, startHelloServer, tempDir } from './helpers.ts';

// Black-box: the real CLI bundles fixture scenarios and runs them on the real k6
// against a real local HTTP server. Each run works in its own project folder.
describe('perf run --scenario (first load path)', () => {
  let server: Awaited<ReturnType<typeof startHelloServer>>;
  let project: string;
  before(async () => {
    server = await startHelloServer();
    project = tempDir('perf-run-');
    cpSync(FIXTURE_SCENARIOS, path.join(project, 'scenarios'), { recursive: true });
    // The fixture imports an npm package; the project resolves it from the harness's node_modules.
    cpSync(path.resolve('node_modules/fast-deep-equal'), path.join(project, 'node_modules/fast-deep-equal'), { recursive: true });
  });
  after(() => server.close());

  const run = (...args: string[]) => runCli(['run', '--target', server.url, ...args], { cwd: project });

  test('a scenario with a local helper and an npm package passes its thresholds on real k6', async () => {
    const before = server.requests();
    const r = await run('--scenario', 'hello', '--users', '2', '--duration', '2s');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(server.requests() - before > 10, 'k6 really sent requests to the server');
    const v = readVerdictFromOutput(project, r.stderr);
    assert.equal(v.schema, 'perf.verdict/v1');
    assert.equal(v.status, 'passed');
    assert.match(v.manifest.k6Version, /^v2\.\d+\.\d+/);
    assert.equal(v.manifest.users, 2);
    const k6 = v.phases[0].k6[0];
    assert.equal(k6.exitCode, 0);
    assert.deepEqual(
      k6.thresholds.map((t: { metric: string; passed: boolean }) => [t.metric, t.passed]),
      [['checks', true], ['http_req_duration', true]],
    );
    // Raw results of what ran are kept beside the verdict.
    const runDir = runDirFromOutput(project, r.stderr);
    for (const f of ['k6-hello-summary.json', 'k6-hello-samples.csv.gz', 'k6-hello-log.jsonl', 'k6-hello-stdout.txt', 'k6-hello-analysis.json.gz']) {
      assert.ok(existsSync(path.join(runDir, f)), `${f} written`);
    }
  });

  test("a k6 the user provides (K6_BIN): k6's CSV output holds every request k6 counted", async () => {
    const k6 = await wrapRealK6(tempDir('perf-k6-bin-'), 'true');
    const r = await runCli(['run', '--target', server.url, '--scenario', 'hello', '--users', '2', '--duration', '2s'], { cwd: project, env: { K6_BIN: k6 } });
    assert.equal(r.code, 0, r.stderr);
    const v = readVerdictFromOutput(project, r.stderr);
    const k6r = v.phases[0].k6[0];
    assert.equal(k6r.files.samples, 'k6-hello-samples.csv.gz');
    assert.ok(k6r.analysis.requests > 10 && k6r.analysis.samples > 100, `${k6r.analysis.requests} requests, ${k6r.analysis.samples} samples`);
    assert.equal(k6r.analysis.requests, JSON.parse(readFileSync(path.join(runDirFromOutput(project, r.stderr), 'k6-hello-summary.json'), 'utf8')).metrics.http_reqs.count);
  });

  test('an impossible threshold fails the run with exit 1 and names the threshold', async () => {
    const r = await run('--scenario', 'hello-impossible', '--users', '1', '--duration', '1s');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /threshold http_req_duration "p\(95\)<0\.001" failed, observed [\d.]+/);
    const v = readVerdictFromOutput(project, r.stderr);
    assert.equal(v.status, 'failed');
    const k6 = v.phases[0].k6[0];
    assert.equal(k6.exitCode, 99);
    assert.equal(k6.meaning, 'thresholds have failed');
    const failed = k6.thresholds.filter((t: { passed: boolean }) => !t.passed);
    assert.deepEqual(failed.map((t: { expression: string }) => t.expression), ['p(95)<0.001']);
  });

  test('an exception thrown in a scenario is reported at its TypeScript file and line', async () => {
    const r = await run('--scenario', 'throws');
    assert.equal(r.code, 1, r.stderr);
    const line = readFileSync(path.join(project, 'scenarios/lib/fail.ts'), 'utf8').split('\n').findIndex((l) => l.includes('FAIL_LINE')) + 1;
    assert.match(r.stderr, new RegExp(`scenario exploded: fixture failure at scenarios/lib/fail\\.ts:${line}:\\d+`));
    const v = readVerdictFromOutput(project, r.stderr);
    assert.equal(v.phases[0].k6[0].scriptErrors[0].location.replace(/:\d+$/, ''), `scenarios/lib/fail.ts:${line}`);
    assert.equal(v.phases[0].k6[0].scriptErrors[0].count, 3);
  });

  test('a type error stops the run with exit 2 and file:line:col, and k6 never starts', async () => {
    // A spy in front of the real k6 records whether it was ever started.
    const spyDir = tempDir('perf-k6-spy-');
    const marker = path.join(spyDir, 'k6-was-started');
    const spy = await wrapRealK6(spyDir, `touch ${marker}`);
    const r = await runCli(['run', '--target', server.url, '--scenario', 'type-error'], { cwd: project, env: { K6_BIN: spy } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /scenarios\/type-error\.ts:5:9 - error TS2322: Type 'number' is not assignable to type 'string'/);
    assert.equal(existsSync(marker), false, 'k6 must not be started after a type error');
    const v = readVerdictFromOutput(project, r.stderr);
    assert.equal(v.status, 'failed');
    assert.equal(v.error.kind, 'user');
    assert.equal(v.manifest.k6Version, undefined);
  });

  test('missing k6 and no Go: exit 2 naming the three ways to get k6', async () => {
    const r = await runCli(['run', '--target', server.url, '--scenario', 'hello'], {
      cwd: project,
      env: { PATH: '', K6_BIN: undefined, PERF_TOOLS_DIR: tempDir('perf-no-tools-') },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /k6 v2\.x not found/);
    assert.match(r.stderr, /package manager/);
    assert.match(r.stderr, /grafana\/k6/);
    assert.match(r.stderr, /Go/);
  });

  const badFlags: [string, string[], RegExp][] = [
    ['--users 0', ['--users', '0'], /--users must be at least 1/],
    ['--users abc', ['--users', 'abc'], /--users must be a whole number of users \(got "abc"\)/],
    ['--duration -5s', ['--duration', '-5s'], /--duration must be a positive duration/],
    ['--duration 10 (no unit)', ['--duration', '10'], /--duration must be a positive duration/],
    ['--target not-a-url', ['--target', 'not-a-url'], /--target is not a URL/],
  ];
  for (const [name, args, message] of badFlags) {
    test(`${name}: clear message, exit 2`, async () => {
      const r = await runCli(['run', '--scenario', 'hello', ...args], { cwd: project });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    });
  }

  test('an unknown scenario name: exit 2 listing the known ones', async () => {
    const r = await run('--scenario', 'nope');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /unknown scenario "nope"/);
    assert.match(r.stderr, /Known scenarios: .*hello/);
  });

  test('an unknown flag is a usage error: exit 2', async () => {
    const r = await runCli(['run', '--no-such-flag']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option '--no-such-flag'/);
  });
});
