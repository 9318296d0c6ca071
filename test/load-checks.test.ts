import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decideChecks, parseThresholdKey } from '../src/k6/k6-checks.ts';
import { MAX_CHARS, MAX_LINES, readConsoleLines } from '../src/k6/k6-console.ts';
import { Redactor } from '../src/redact/redact.ts';
import { configProject, FIXTURE_SCENARIOS, readVerdictFromOutput, REPO, runCli, runDirFromOutput, startHelloServer, tempDir } from './helpers.ts';

// k6's checks and the scripts' own thresholds in the verdict, the console gate table, JUnit and
// the GitHub summary, on the real k6 against a real local server (fixtures in
// test/fixtures/scenarios/k6-checks/), and once against the real sample-app.

/** A secret the fixture logs with console.error: registered by perf from the environment (…TOKEN). */
const SECRET = 'fixture-secret-9f3a7c21';

interface Check {
  name: string;
  k6Scenario?: string;
  group?: string;
  passes: number;
  fails: number;
  status: string;
  decidedBy: string;
}

describe('k6 checks and script thresholds in the verdict (real k6)', () => {
  let server: Awaited<ReturnType<typeof startHelloServer>>;
  before(async () => {
    server = await startHelloServer();
  });
  after(() => server.close());

  /** A project with the k6-checks fixtures and, when given, a perf.config.ts. */
  const project = (config?: string): string => {
    const dir = tempDir('perf-checks-');
    cpSync(path.join(FIXTURE_SCENARIOS, 'k6-checks'), path.join(dir, 'scenarios'), { recursive: true });
    if (config) {
      writeFileSync(
        path.join(dir, 'perf.config.ts'),
        `import { defineConfig } from ${JSON.stringify(path.join(REPO, 'src/config/define-config.ts'))};\nexport default defineConfig(${config});\n`,
      );
    }
    return dir;
  };
  /** Every default reporter (console, JUnit, GitHub summary) on one scenario. */
  const run = async (cwd: string, scenario: string) => {
    const summary = path.join(cwd, 'step-summary.md');
    const r = await runCli(['run', '--target', server.url, '--scenario', scenario, '--users', '1'], {
      cwd,
      env: { FIXTURE_API_TOKEN: SECRET, GITHUB_STEP_SUMMARY: summary },
    });
    const runDir = runDirFromOutput(cwd, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    return { r, v, runDir, k6: v.phases[0].k6[0], junit: readFileSync(path.join(runDir, 'junit.xml'), 'utf8'), md: readFileSync(summary, 'utf8') };
  };
  const check = (k6: { checks: Check[] }, name: string): Check => {
    const c = k6.checks.find((x) => x.name === name);
    assert.ok(c, `check "${name}" in the verdict: ${JSON.stringify(k6.checks)}`);
    return c;
  };

  test('a failing check with no gate or threshold on checks fails the run by default, named everywhere', async () => {
    const cwd = project();
    const { r, v, runDir, k6, junit, md } = await run(cwd, 'checks-fail');
    assert.equal(r.code, 1, r.stderr);
    // `invalid` when the host was saturated meanwhile (other work on a 2-core machine): never passed.
    assert.ok(['failed', 'invalid'].includes(v.status), v.status);
    assert.equal(k6.exitCode, 0, 'k6 itself passed the run: only perf’s rule fails it');

    // Every check, with its k6 scenario, group, passes and fails.
    assert.equal(k6.checks.length, 3);
    assert.deepEqual(check(k6, 'says goodbye'), { name: 'says goodbye', k6Scenario: 'browse', passes: 0, fails: 5, status: 'failed', decidedBy: 'load.checks.minRate 1' });
    assert.deepEqual(check(k6, 'status is 200'), { name: 'status is 200', k6Scenario: 'browse', passes: 5, fails: 0, status: 'passed', decidedBy: 'load.checks.minRate 1' });
    assert.deepEqual(check(k6, 'body is json'), { name: 'body is json', k6Scenario: 'browse', group: '::inner', passes: 5, fails: 0, status: 'passed', decidedBy: 'load.checks.minRate 1' });
    assert.ok(v.reasons.some((x: string) => /checks-fail: k6 check "says goodbye" \(browse\) failed 5 of 5/.test(x)), v.reasons.join('\n'));

    // Every script threshold, passed ones too, marked as the script's.
    assert.deepEqual(
      k6.thresholds.map((t: { metric: string; expression: string; passed: boolean; source: string }) => [t.metric, t.expression, t.passed, t.source]),
      [['http_req_duration{scenario:browse}', 'p(95)<5000', true, 'script'], ['http_reqs', 'count>0', true, 'script']],
    );

    // The console gate table lists each check and each script threshold.
    const table = r.stderr.slice(r.stderr.indexOf('\ngates:'));
    assert.match(table, /✗ checks-fail: check "says goodbye" \(browse\) 0 of 5 passed — failed \(load\.checks\.minRate 1\)/);
    assert.match(table, /✓ checks-fail: check "status is 200" \(browse\) 5 of 5 passed/);
    assert.match(table, /✓ checks-fail: check "body is json" \(browse, ::inner\) 5 of 5 passed/);
    assert.match(table, /✓ checks-fail: threshold http_req_duration\{scenario:browse\} p\(95\)<5000 \(k6, observed [\d.]+, 5 samples\)/);
    assert.match(table, /✓ checks-fail: threshold http_reqs count>0 \(k6, observed 5\)/);

    // JUnit: a case per check (the failing one a failure) and per threshold.
    assert.match(junit, /<testcase name="check checks-fail &quot;says goodbye&quot; \(browse\)"[^>]*>[\s\S]*?<failure message="check &quot;says goodbye&quot; \(browse\) 0 of 5 passed/);
    assert.match(junit, /<testcase name="check checks-fail &quot;status is 200&quot; \(browse\)"[^>]*>\s*<properties>[\s\S]*?<\/properties>\s*<\/testcase>/);
    assert.match(junit, /<testcase name="check checks-fail &quot;body is json&quot; \(browse, ::inner\)"/);
    assert.match(junit, /<testcase name="threshold checks-fail http_reqs: count&gt;0"/);
    assert.match(junit, /<testcase name="threshold checks-fail http_req_duration\{scenario:browse\}: p\(95\)&lt;5000"/);
    // GitHub summary: the same rows.
    assert.match(md, /\| check "says goodbye" \(browse\) \(k6, checks-fail\) \| load\.checks\.minRate 1 \| 0 passed, 5 failed \| 5 \| ❌ failed \|/);
    assert.match(md, /\| check "status is 200" \(browse\) \(k6, checks-fail\) \|/);
    assert.match(md, /\| http\\_reqs \(k6 script, checks-fail\) \| count\\>0 \| 5 \| — \| ✅ passed \|/);

    // The failing scenario points at k6's own files and quotes its console.error/warn lines, redacted.
    assert.deepEqual(
      { stdout: k6.evidence.stdout, log: k6.evidence.log },
      { stdout: 'k6-checks-fail-stdout.txt', log: 'k6-checks-fail-log.jsonl' },
    );
    for (const f of [k6.evidence.stdout, k6.evidence.log]) assert.ok(existsSync(path.join(runDir, f)), `${f} exists`);
    const rel = path.relative(cwd, runDir);
    assert.ok(r.stderr.includes(`k6 output: ${rel}/k6-checks-fail-stdout.txt, ${rel}/k6-checks-fail-log.jsonl`), r.stderr);
    assert.deepEqual(k6.evidence.console, [
      { level: 'error', message: 'no goodbye in {"message":"hello"}; api token [redacted]', count: 5 },
      { level: 'warn', message: 'fixture warning: goodbye expected', count: 5 },
    ]);
    assert.match(r.stderr, /console\.error ×5: no goodbye in \{"message":"hello"\}; api token \[redacted\]/);
    assert.match(r.stderr, /console\.warn ×5: fixture warning: goodbye expected/);
    assert.doesNotMatch(r.stderr, /fixture info line/, 'console.log lines are not quoted');
    assert.match(junit, /<system-err>[\s\S]*console\.error ×5: no goodbye in \{"message":"hello"\}; api token \[redacted\][\s\S]*k6 log: k6-checks-fail-log\.jsonl[\s\S]*<\/system-err>/);
    assert.match(md, /### k6 output of failing scenarios[\s\S]*api token \[redacted\]/);
    // The secret itself is in none of them (k6's own log file is another engineer's redaction).
    for (const [what, text] of [['console', r.stderr], ['verdict', readFileSync(path.join(runDir, 'verdict.json'), 'utf8')], ['junit', junit], ['summary', md]]) {
      assert.ok(!text!.includes(SECRET), `no secret in the ${what}`);
    }
  });

  test('configured to allow: load.checks.minRate 0 passes the run, the check listed as tolerated', async () => {
    const { r, v, k6, junit } = await run(project('{ load: { checks: { minRate: 0 } } }'), 'checks-fail');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(v.status, 'passed');
    assert.deepEqual(check(k6, 'says goodbye'), { name: 'says goodbye', k6Scenario: 'browse', passes: 0, fails: 5, status: 'tolerated', decidedBy: 'load.checks.minRate 0' });
    assert.equal(k6.evidence, undefined, 'a scenario that passed quotes nothing');
    assert.match(r.stderr, /~ checks-fail: check "says goodbye" \(browse\) 0 of 5 passed — tolerated \(load\.checks\.minRate 0\)/);
    assert.match(junit, /<testcase name="check checks-fail &quot;says goodbye&quot; \(browse\)"[^>]*>\s*<properties>[\s\S]*?name="tolerated" value="true"[\s\S]*?<\/testcase>/);
  });

  test('load.checks.ignore lists a check without letting it fail the run; minRate still holds for the others', async () => {
    const { r, k6 } = await run(project("{ load: { checks: { minRate: 0.99, ignore: ['says goodbye'] } } }"), 'checks-fail');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(check(k6, 'says goodbye').status, 'tolerated');
    assert.equal(check(k6, 'says goodbye').decidedBy, 'load.checks.ignore');
    assert.equal(check(k6, 'status is 200').decidedBy, 'load.checks.minRate 0.99');
  });

  test('a threshold on checks in the script takes charge of its checks: it decides, not the default rule', async () => {
    const { r, v, k6 } = await run(project(), 'checks-covered');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(v.status, 'passed');
    assert.deepEqual(check(k6, 'says goodbye'), { name: 'says goodbye', k6Scenario: 'default', passes: 0, fails: 4, status: 'tolerated', decidedBy: 'threshold checks rate>=0.5' });
    assert.equal(check(k6, 'is json').status, 'passed');
    assert.deepEqual(k6.thresholds.map((t: { metric: string; source: string; samples: number }) => [t.metric, t.source, t.samples]), [['checks', 'script', 12]]);
    assert.equal(k6.evidence, undefined);
    assert.doesNotMatch(r.stderr, /covered fixture/, 'console lines of a passing scenario are not quoted');
  });

  test('a script threshold k6 passes on no sample fails as "no data"', async () => {
    const { r, v, k6, junit } = await run(project(), 'no-data');
    assert.equal(r.code, 1, r.stderr);
    // `invalid` when the host was saturated meanwhile (other work on a 2-core machine): never passed.
    assert.ok(['failed', 'invalid'].includes(v.status), v.status);
    const t = k6.thresholds.find((x: { metric: string }) => x.metric === 'http_req_duration{name:never_requested}');
    assert.deepEqual([t.passed, t.samples, t.noData, t.source], [true, 0, true, 'script'], 'k6 passed it; perf marks it no data');
    const ok = k6.thresholds.find((x: { metric: string }) => x.metric === 'http_req_duration');
    assert.equal(ok.noData, undefined);
    assert.ok(ok.samples >= 2);
    assert.ok(v.reasons.some((x: string) => x.includes('no-data: threshold http_req_duration{name:never_requested} "p(95)<100" had no samples')), v.reasons.join('\n'));
    assert.match(r.stderr, /✗ no-data: threshold http_req_duration\{name:never_requested\} p\(95\)<100 \(k6, 0 samples\) no data/);
    assert.match(junit, /<failure message="http_req_duration\{name:never_requested\}: p\(95\)&lt;100 had no samples/);
  });
});

describe('k6 checks on the real sample-app', () => {
  test('API errors no gate covers: before, a silent PASS; now the failing k6 check fails the run', async () => {
    // No gates at all, 20 % of API answers 500: only the throughput scenario's checks see it.
    const cwd = configProject("gates: [], sampleApp: { faults: { errorRate: 0.2 } }", 'perf-checks-app-');
    const r = await runCli(['run', '--phase', 'load', '--scenario', 'throughput', '--profile', 'smoke', '--users', '2', '--reporter', 'console'], { cwd, timeoutMs: 180_000 });
    assert.equal(r.code, 1, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    // `invalid` when the host was saturated meanwhile (other work on a 2-core machine): never passed.
    assert.ok(['failed', 'invalid'].includes(v.status), v.status);
    const k6 = v.phases[0].k6[0];
    assert.equal(k6.exitCode, 0, 'k6 passed it (the scenario declares no threshold)');
    const list = (k6.checks as Check[]).find((c) => c.name === 'list brand kits: status 200');
    assert.ok(list && list.status === 'failed' && list.fails > 0 && list.passes > 0, JSON.stringify(k6.checks));
    const health = (k6.checks as Check[]).find((c) => c.name === 'health: status 200');
    assert.ok(health && health.status === 'passed' && health.passes > 0, '/health is exempt from the fault');
    assert.ok(v.reasons.some((x: string) => x.includes('throughput: k6 check "list brand kits: status 200" (hot) failed')), v.reasons.join('\n'));
  });
});

describe('k6 checks: deciding (unit)', () => {
  const c = (name: string, k6Scenario: string, passes: number, fails: number) => ({ name, k6Scenario, passes, fails });
  test('a sub-metric threshold takes over only the checks it selects; the rule decides the rest', () => {
    const covers = [{ label: 'threshold checks{scenario:a} rate>0.5', filter: parseThresholdKey('checks{scenario:a}').filter, passed: true }];
    const out = decideChecks([c('x', 'a', 3, 1), c('x', 'b', 3, 1), c('y', 'b', 99, 1)], covers, { minRate: 0.99, ignore: [] });
    assert.deepEqual(out.map((o) => [o.k6Scenario, o.name, o.status, o.decidedBy]), [
      ['a', 'x', 'tolerated', 'threshold checks{scenario:a} rate>0.5'],
      ['b', 'x', 'failed', 'load.checks.minRate 0.99'],
      ['b', 'y', 'tolerated', 'load.checks.minRate 0.99'],
    ]);
  });
  test('a covering threshold that failed fails the check it covers', () => {
    const [out] = decideChecks([c('x', 'a', 1, 1)], [{ label: 'threshold checks rate==1 (failed)', filter: {}, passed: false }], { minRate: 0, ignore: [] });
    assert.equal(out!.status, 'failed');
  });
  test('console lines: warn/error of the console only, redacted (JSON by key too), distinct with counts, bounded', async () => {
    const log = path.join(tempDir('perf-k6-log-'), 'k6-x-log.jsonl');
    const entry = (level: string, msg: string, source = 'console') => JSON.stringify({ level, msg, source, time: '2026-12-01T00:00:00Z' });
    const redactor = new Redactor();
    redactor.addSecret('known-secret-value');
    writeFileSync(
      log,
      [
        entry('error', 'login failed for known-secret-value'),
        entry('error', 'login failed for known-secret-value'),
        entry('warning', JSON.stringify({ access_token: 'opaque123', user: 'a' })),
        entry('info', 'an info line'),
        entry('error', 'Error: boom\n\tat f (file:///x.js:1:1)', 'stacktrace'),
        'not json',
        entry('error', 'x'.repeat(MAX_CHARS + 50)),
        ...Array.from({ length: MAX_LINES + 5 }, (_, i) => entry('warning', `distinct ${i}`)),
      ].join('\n'),
    );
    const { lines, omitted } = await readConsoleLines(log, redactor);
    assert.deepEqual(lines[0], { level: 'error', message: 'login failed for [redacted]', count: 2 });
    assert.deepEqual(lines[1], { level: 'warn', message: '{"access_token":"[redacted]","user":"a"}', count: 1 });
    assert.equal(lines[2]!.message.length, MAX_CHARS);
    assert.equal(lines.length, MAX_LINES);
    assert.equal(omitted, 8, 'the lines past the distinct cap are counted');
    assert.ok(!lines.some((l) => /info line|boom/.test(l.message)), 'info and stack traces are not console warn/error');
  });
  test('threshold keys: a tag value may hold colons (group paths)', () => {
    assert.deepEqual(parseThresholdKey('checks{group:::outer::inner,check:ok}'), { metric: 'checks', filter: { group: '::outer::inner', check: 'ok' } });
  });
});
