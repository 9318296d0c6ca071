import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { PERF_BIN, REPO, configProject, processAlive, readVerdictFromOutput, runCli, runDirFromOutput } from './helpers.ts';

// Black-box: the real CLI runs the pre-load pipeline against the real bundled sample-app
// (started and stopped by perf itself), with faults switched on through perf.config.ts.

/** A project folder with a perf.config.ts: the repo's default config, plus overrides. */
const project = (overrides = ''): string => configProject(overrides, 'perf-pipeline-');

const alive = processAlive;

/** Every file under a folder, decompressing .gz, as text. */
function allText(dir: string): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  for (const name of readdirSync(dir)) {
    const f = path.join(dir, name);
    if (statSync(f).isDirectory()) out.push(...allText(f));
    else {
      const raw = readFileSync(f);
      out.push({ file: f, text: (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8') });
    }
  }
  return out;
}

describe('perf run: the pre-load pipeline against the bundled sample-app', () => {
  test('healthy target: health and smoke pass, every check shown, exit 0, app stopped', async () => {
    const cwd = project();
    const r = await runCli(['run', '--phase', 'health,smoke', '--reporter', 'console,junit'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    assert.equal(v.status, 'passed');
    assert.deepEqual(v.phases.map((p: { name: string; status: string }) => [p.name, p.status]), [['health', 'passed'], ['smoke', 'passed']]);
    for (const p of v.phases) for (const c of p.checks) assert.match(r.stderr, new RegExp(`${c.name}\\b`), `console shows ${c.name}`);
    assert.ok(v.phases[1].checks.length >= 20, 'the endpoint matrix expands into many smoke checks');
    assert.equal(v.target.kind, 'sample-app');
    assert.equal(alive(v.target.pid), false, 'sample-app stopped with the run');
    assert.match(readFileSync(path.join(runDirFromOutput(cwd, r.stderr), 'junit.xml'), 'utf8'), /<testsuite[^>]*name="health"/);
  });

  test('a check with nothing to assert is reported skipped with its reason everywhere, never passed; the run still passes', async () => {
    // RLS on the tables, but no database.rls to read as: isolation cannot be proven.
    const cwd = project('database: { ...base.database, rls: undefined }');
    const r = await runCli(['run', '--phase', 'db-integrity', '--reporter', 'console,junit'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    const checks = v.phases[0].checks as { name: string; status: string; error?: string }[];
    const rls = checks.find((c) => c.name === 'db_rls_isolation');
    assert.deepEqual([rls?.status, rls?.error?.split(':')[0]], ['skipped', 'database.rls is not configured']);
    assert.equal(checks.find((c) => c.name === 'db_rls_policies')?.status, 'passed');
    assert.match(r.stderr, /^ {4}- db_rls_isolation +\S+( ms| s) skipped — database\.rls is not configured/m);
    const junit = readFileSync(path.join(runDirFromOutput(cwd, r.stderr), 'junit.xml'), 'utf8');
    assert.match(junit, /<testcase[^>]*name="db_rls_isolation"[^>]*>\s*<skipped message="skipped: database\.rls is not configured/);
  });

  test('a dependency reported down fails health with evidence and skips everything after, saying why', async () => {
    const cwd = project("sampleApp: { faults: { dependencyDown: 'redis' } }");
    const r = await runCli(['run', '--phase', 'health,smoke', '--reporter', 'console'], { cwd });
    assert.equal(r.code, 1, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    const health = v.phases[0];
    assert.equal(health.status, 'failed');
    const failed = health.checks.filter((c: { status: string }) => c.status === 'failed');
    assert.ok(failed.length >= 1);
    for (const c of failed) {
      assert.ok(c.correlationIds.length > 0, `${c.name} carries a correlation id`);
      assert.ok(c.evidence.some((e: { kind: string; status?: number }) => e.kind === 'http' && e.status === 503), `${c.name} has the 503 response as evidence`);
    }
    assert.equal(v.phases[1].status, 'skipped');
    // Redis is an assertion of api_health (perf.config.ts: dependencies.redis.status == "ok").
    const api = health.checks.find((c: { name: string }) => c.name === 'api_health');
    assert.match(api.error, /dependencies\.redis\.status\): expected "ok", found "down"/);
    assert.match(v.phases[1].skippedBecause, /^skipped: health failed: api_health/);
    assert.match(r.stderr, /smoke .*skipped .*health failed: .*api_health/);
  });

  test('an unreachable target: health fails within its timeout, the rest is skipped, exit 1, verdict written', async () => {
    const cwd = project();
    // A port that was free a moment ago: nothing listens there.
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const started = Date.now();
    const r = await runCli(['run', '--phase', 'health,smoke', '--target', `http://127.0.0.1:${port}`, '--reporter', 'console'], { cwd });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - started < 60_000);
    const v = readVerdictFromOutput(cwd, r.stderr);
    assert.equal(v.status, 'failed');
    assert.equal(v.target.kind, 'external');
    assert.equal(v.phases[0].status, 'failed');
    assert.match(v.phases[0].checks[0].error, /ECONNREFUSED|connection refused|fetch failed/i);
    assert.equal(v.phases[1].status, 'skipped');
  });

  test('SIGINT during a phase: exit 130, verdict interrupted, no child process left', async () => {
    // Every API answer is slowed down, so smoke is still running when the signal arrives.
    const cwd = project('sampleApp: { faults: { latencyMs: 3000 } }');
    const child = spawn(process.execPath, [PERF_BIN, 'run', '--phase', 'health,smoke', '--reporter', 'console'], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      // Exactly one SIGINT: a second one is the "force quit now" escape hatch.
      if (stderr.includes('▶ smoke') && !sent) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), 300);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 130, stderr);
    const v = readVerdictFromOutput(cwd, stderr);
    assert.equal(v.status, 'interrupted');
    assert.equal(v.phases.find((p: { name: string }) => p.name === 'smoke').status, 'interrupted');
    assert.equal(alive(v.target.pid), false, 'sample-app was stopped');
  });

  test('secrets (a password, bearer tokens, a webhook URL) appear in no file of the run folder', async () => {
    const password = 'Sup3r-S3cret-Passw0rd';
    let received = '';
    const receiver = http.createServer((req, res) => {
      req.on('data', (c: Buffer) => (received += c.toString()));
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/T000/B000/xoxb-webhook-secret-path`;
    // PostgreSQL here trusts loopback, so any password is accepted: it still must never be written.
    const cwd = project(`sampleApp: { databaseUrl: 'postgres://postgres:${password}@127.0.0.1:5432/test' }`);
    const r = await runCli(['run', '--phase', 'health,smoke', '--reporter', 'console,json,junit,webhook'], { cwd, env: { PERF_WEBHOOK_URL: webhook, PERF_API_TOKEN: 'tok_live_abcdef123456' } });
    receiver.close();
    assert.equal(r.code, 0, r.stderr);
    assert.ok(received.length > 0, 'the webhook was called');
    const files = allText(runDirFromOutput(cwd, r.stderr));
    assert.ok(files.length >= 2);
    for (const { file, text } of [...files, { file: 'stdout', text: r.stdout }, { file: 'stderr', text: r.stderr }, { file: 'webhook payload', text: received }]) {
      for (const secret of [password, webhook, 'xoxb-webhook-secret-path', 'tok_live_abcdef123456']) {
        assert.equal(text.includes(secret), false, `${path.basename(file)} must not contain ${secret}`);
      }
      assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/, `${path.basename(file)} must not contain a JWT`);
      assert.doesNotMatch(text, /Bearer (?!\[redacted\])/, `${path.basename(file)} must not contain a bearer token`);
    }
  });

  test('three wrong config fields: three messages naming them, exit 2, nothing run', async () => {
    const cwd = project("users: 0, deadline: 'later', phases: { smoke: { retries: -1 } }");
    const r = await runCli(['run'], { cwd });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /invalid configuration \(3 problems\)/);
    assert.match(r.stderr, /^ {2}users \(from perf\.config\.ts\): /m);
    assert.match(r.stderr, /^ {2}deadline \(from perf\.config\.ts\): must be a positive duration/m);
    assert.match(r.stderr, /^ {2}phases\.smoke\.retries \(from perf\.config\.ts\): /m);
  });

  test('unknown --phase and --reporter names are usage errors', async () => {
    const cwd = project();
    const a = await runCli(['run', '--phase', 'helth'], { cwd });
    assert.equal(a.code, 2);
    assert.match(a.stderr, /unknown phase: helth/);
    assert.match(a.stderr, /Phases: health, smoke, flows, db-integrity/);
    const b = await runCli(['run', '--reporter', 'xml'], { cwd });
    assert.equal(b.code, 2);
    assert.match(b.stderr, /unknown reporter: xml/);
  });

  test('perf list shows each phase with its policy and checks', async () => {
    const r = await runCli(['list'], { cwd: project() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^health {2}\(parallel, blocking, 1 min 0 s timeout, 2 retries\)/m);
    assert.match(r.stdout, /^smoke {2}\(parallel, blocking, 2 min 0 s timeout/m);
    assert.match(r.stdout, /^ {2}api_health/m);
  });

  test('perf list on the repo config: the three scenarios, every gate, the after-load reconcile checks in run order', async () => {
    const r = await runCli(['list'], { cwd: REPO });
    assert.equal(r.code, 0, r.stderr);
    const out = r.stdout;
    assert.match(out, /^load {2}\(k6, 30 min 0 s timeout\)$/m);
    assert.match(out, /^ {2}profile: load \(ramp-up 5s, hold 15s; 15 users\) {2}duration: the profile's/m);
    for (const s of ['multi-user', 'ws-events', 'throughput']) assert.match(out, new RegExp(`^ {4}${s} {2}\\(scenarios/${s}\\.ts\\)$`, 'm'));
    const gates = [
      'http_req_duration p(99) < 1000 ms  [multi-user, throughput]  — p99 of every request under 1 s',
      'http_req_duration p(95) < 300 ms  [multi-user, throughput]  steady  — p95 of every request under 300 ms (steady state)',
      'http_req_duration{name:brand_kits_list} p(95) < 200 ms  [multi-user, throughput]  — brand-kit list p95 under 200 ms',
      'http_req_failed rate < 0.01  [multi-user, throughput]  — under 1 % failed requests',
      'http_req_failed rate < 0.01  [multi-user, throughput]  per name, insufficient data allowed  — under 1 % failed requests per endpoint',
      'data_isolation rate >= 1  [multi-user]  — no cross-user data, ever',
      'ws_session_established rate >= 0.999  [ws-events]  — 99.9 % of agent connections established',
      'ws_event_order rate >= 1  [ws-events]  — agent events complete and in order',
      'ws_event_ownership rate >= 1  [ws-events]  — agent events only to their owner',
      'ws_time_to_first_event p(95) < 250 ms  [ws-events]  — first agent event within 250 ms (p95)',
      'job_completed rate >= 0.99  [multi-user]  — 99 % of jobs complete in time',
    ];
    const gateLines = out.split('\n').slice(out.split('\n').indexOf('  gates:') + 1).filter((l) => l.startsWith('    ')).map((l) => l.slice(4));
    assert.deepEqual(gateLines, gates);
    // After load: the section follows load; db-integrity's checks again, then the reconciliation, in a run's order.
    const after = out.slice(out.indexOf('\ndb-integrity-after-load  ('));
    assert.ok(out.indexOf('\nload  (') < out.indexOf('\ndb-integrity-after-load  ('), out);
    const names = [...after.matchAll(/^ {2}(\w+) {2}/gm)].map((m) => m[1]);
    assert.deepEqual(names.filter((n) => n!.startsWith('reconcile_')), ['reconcile_kit', 'reconcile_job', 'reconcile_asset', 'reconcile_orphans', 'reconcile_isolation']);
    assert.equal(names[0], 'db_tables_columns');
    assert.doesNotMatch(out, /\[disabled/);
  });

  test('perf list marks what is off: a disabled phase, a disabled check, scenarios not selected, gates whose scenarios do not run', async () => {
    const cwd = project(
      `phases: { load: { enabled: false }, 'db-integrity': { disable: ['db_indexes'] } }, load: { scenariosDir: ${JSON.stringify(path.join(REPO, 'scenarios'))}, scenarios: ['multi-user'] },`,
    );
    const started = performance.now();
    const r = await runCli(['list'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(performance.now() - started < 15_000, 'perf list stays fast');
    assert.match(r.stdout, /^load {2}\(k6, 30 min 0 s timeout\) {2}\[disabled\]$/m);
    assert.match(r.stdout, /^ {2}db_indexes {2}\[disabled \(phases\.db-integrity\.disable\)\] {2}every expected index/m);
    assert.match(r.stdout, /^ {4}multi-user {2}\(.*scenarios\/multi-user\.ts\)$/m);
    assert.match(r.stdout, /^ {4}ws-events {2}\(.*scenarios\/ws-events\.ts\) {2}\[not selected \(load\.scenarios\)\]$/m);
    assert.match(r.stdout, /^ {4}ws_event_order rate >= 1 {2}\[ws-events\] {2}— agent events complete and in order {2}\[off: ws-events not selected\]$/m);
    assert.match(r.stdout, /^ {4}http_req_failed rate < 0\.01 {2}\[multi-user, throughput\] {2}— under 1 % failed requests {2}\[throughput not selected\]$/m);
    assert.match(r.stdout, /^ {4}data_isolation rate >= 1 {2}\[multi-user\] {2}— no cross-user data, ever$/m);
    assert.match(r.stdout, /^db-integrity-after-load .* {2}\[disabled \(runs only with load and db-integrity\)\]$/m);
    // Only the caches of the config and flow files (as any command loading them): no run, no scenario bundled.
    const perfDir = path.join(cwd, '.perf');
    assert.ok(!readdirSync(perfDir).includes('runs'), 'perf list starts no run');
    assert.deepEqual(readdirSync(path.join(perfDir, 'build')).filter((f) => f.endsWith('.js')), [], 'perf list bundles no scenario');
  });

  test('perf list --config examples/notes/perf.config.ts: its scenarios, its 5 gates, its reconcile check', async () => {
    const r = await runCli(['list', '--config', 'examples/notes/perf.config.ts'], { cwd: REPO });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {4}notes-journey {2}\(scenarios\/notes-journey\.ts\)$/m);
    assert.match(r.stdout, /^ {4}summaries {2}\(scenarios\/summaries\.ts\)$/m);
    const lines = r.stdout.split('\n');
    const gateLines = lines.slice(lines.indexOf('  gates:') + 1).filter((l) => l.startsWith('    '));
    assert.equal(gateLines.length, 5, r.stdout);
    assert.equal(gateLines[0], '    http_req_duration{name:notes_list} p(95) < 250 ms  [notes-journey]  — notes list p95 under 250 ms');
    assert.match(r.stdout, /^db-integrity-after-load {2}\(/m);
    assert.match(r.stdout, /^ {2}reconcile_note {2}notes: rows of the load users/m);
  });
});
