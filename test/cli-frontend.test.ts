// Black-box: the real CLI runs the front-end phases in Debian's Chromium against the real
// bundled sample-app (started by perf), faults switched on through perf.config.ts.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { identityFor } from '../src/auth/users.ts';
import { readZip } from '../src/checks/frontend-artifacts.ts';
import { configProject, readVerdictFromOutput, REPO, runCli, runDirFromOutput, tempDir } from './helpers.ts';

/**
 * A project folder with a perf.config.ts: the repo's default config, plus overrides. Its browser
 * flows are sample-app's own files (the repo config's `browserFlows.dir` is relative to the repo).
 */
const project = (overrides = ''): string =>
  configProject(`browserFlows: { dir: ${JSON.stringify(path.join(REPO, 'sample-app', 'perf', 'frontend'))} }${overrides ? `, ${overrides}` : ''}`, 'perf-frontend-');

/** Every file under a folder as text, zip archives (traces) entry by entry. */
async function allText(dir: string): Promise<{ file: string; text: string }[]> {
  const parts = await Promise.all(
    readdirSync(dir).map(async (name) => {
      const f = path.join(dir, name);
      if (statSync(f).isDirectory()) return allText(f);
      if (name.endsWith('.zip')) return (await readZip(f)).map((e) => ({ file: `${f}!${e.name}`, text: e.data.toString('utf8') }));
      return [{ file: f, text: readFileSync(f, 'utf8') }];
    }),
  );
  return parts.flat();
}

interface Check {
  name: string;
  status: string;
  error?: string;
  evidence: { kind: string; path?: string; message?: string; data?: unknown }[];
}

describe('perf run: front-end phases in Chromium', () => {
  test('healthy: frontend-smoke and frontend-flows pass, every check shown, exit 0', async () => {
    const cwd = project();
    const r = await runCli(['run', '--phase', 'frontend-smoke,frontend-flows', '--reporter', 'console,junit'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    assert.equal(v.status, 'passed');
    assert.deepEqual(v.phases.map((p: { name: string; status: string }) => [p.name, p.status]), [['frontend-smoke', 'passed'], ['frontend-flows', 'passed']]);
    for (const p of v.phases) for (const c of p.checks) assert.match(r.stderr, new RegExp(`✓ ${c.name}\\b`), `console shows ${c.name}`);
    assert.equal(v.phases[0].checks.length, 10);
    const flows = v.phases[1].checks as (Check & { measurements: Record<string, any> })[];
    assert.deepEqual(flows.map((c) => c.name).sort(), ['browser_bad_credentials', 'browser_journey', 'browser_signed_in_dashboard']);
    const [journey, badCredentials, signedIn] = ['browser_journey', 'browser_bad_credentials', 'browser_signed_in_dashboard'].map((n) => flows.find((c) => c.name === n)!);
    assert.deepEqual(Object.keys(journey!.measurements.steps_ms), ['signup', 'login', 'create brand kit', 'edit colours', 'start a job', 'watch progress', 'view the asset', 'sign out']);
    assert.equal(journey!.measurements.job_statuses.at(-1), 'completed');
    assert.equal(journey!.measurements.asset.status, 200);
    assert.match(badCredentials!.measurements.error_text, /\S/, 'the login page showed an error');
    assert.deepEqual(Object.keys(signedIn!.measurements.steps_ms), ['sign in', 'open the dashboard']);
    const landing = v.phases[0].checks[0];
    assert.ok(landing.measurements.fcp_ms > 0 && landing.measurements.load_ms > 0, 'page timings are in the verdict');
    assert.match(readFileSync(path.join(runDirFromOutput(cwd, r.stderr), 'junit.xml'), 'utf8'), /<testsuite[^>]*name="frontend-smoke"/);
    assert.equal(existsSync(path.join(runDirFromOutput(cwd, r.stderr), 'frontend')), false, 'no artifacts when everything passed');
    console.log(`# phase timings: ${v.phases.map((p: { name: string; durationMs: number }) => `${p.name} ${Math.round(p.durationMs)} ms`).join(', ')}; run ${v.durationMs} ms`);
  });

  test('brokenPageScript: frontend-smoke fails with the console error and a screenshot on disk; flows are skipped; no secret in any file', async () => {
    const cwd = project("sampleApp: { faults: { brokenPageScript: true } }, phases: { 'frontend-smoke': { retries: 0 } }");
    const r = await runCli(['run', '--phase', 'frontend-smoke,frontend-flows', '--reporter', 'console'], { cwd });
    assert.equal(r.code, 1, r.stderr);
    const runDir = runDirFromOutput(cwd, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    const [smoke, flows] = v.phases;
    assert.equal(smoke.status, 'failed');
    const landing = smoke.checks.find((c: Check) => c.name === 'page_landing') as Check;
    assert.equal(landing.status, 'failed');
    assert.match(landing.error!, /^\/ → 1 uncaught page error\(s\): Error: sample-app fault brokenPageScript: page script crashed$/);
    const pageErrors = landing.evidence.find((e) => e.kind === 'note' && e.message === 'uncaught page errors (1)');
    assert.match(JSON.stringify(pageErrors?.data), /sample-app fault brokenPageScript: page script crashed/, 'the error is in the evidence');
    const shot = landing.evidence.find((e) => e.kind === 'file' && e.path!.endsWith('.png'));
    assert.equal(shot?.path, 'frontend/page_landing/attempt-1/screenshot.png');
    assert.ok(statSync(path.join(runDir, shot.path)).size > 1000, 'the screenshot exists on disk');
    assert.ok(landing.evidence.some((e) => e.kind === 'file' && e.path === 'frontend/page_landing/attempt-1/trace.zip'));
    // Every page carries the broken script; the redirect checks only judge the redirect.
    for (const c of smoke.checks as Check[]) assert.equal(c.status, c.name.startsWith('redirect_') ? 'passed' : 'failed', c.name);
    assert.equal(flows.status, 'skipped');
    assert.match(flows.skippedBecause, /^skipped: frontend-smoke failed: page_landing/);
    // The signed-in pages' traces held the test user's token: nothing in the run folder does.
    const texts = await allText(runDir);
    assert.ok(texts.some((t) => t.file.endsWith('page_dashboard/attempt-1/trace.zip!trace.network')), 'the signed-in page has a trace');
    for (const { file, text } of texts) {
      assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/, `${path.relative(runDir, file)} must not contain a JWT`);
      assert.doesNotMatch(text, /Bearer (?!\[redacted\])[A-Za-z0-9]/, `${path.relative(runDir, file)} must not contain a bearer token`);
    }
  });

  test('dashboardNoRedirect: frontend-flows fails on browser_journey at "sign out", with its screenshot and trace in the run folder; no secret in any file', async () => {
    const cwd = project("sampleApp: { faults: { dashboardNoRedirect: true } }, phases: { 'frontend-flows': { retries: 0 } }");
    const r = await runCli(['run', '--phase', 'frontend-flows', '--reporter', 'console'], { cwd });
    assert.equal(r.code, 1, r.stderr);
    const runDir = runDirFromOutput(cwd, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    const [flows] = v.phases;
    assert.equal(flows.status, 'failed');
    // Only the journey signs out and reopens the dashboard: the other flows are unaffected.
    assert.deepEqual(
      (flows.checks as Check[]).map((c) => [c.name, c.status]).sort(),
      [['browser_bad_credentials', 'passed'], ['browser_journey', 'failed'], ['browser_signed_in_dashboard', 'passed']],
    );
    const journey = (flows.checks as Check[]).find((c) => c.name === 'browser_journey')!;
    assert.match(journey.error!, /^step "sign out": expect\(received\)\.toBe\(expected\)[\s\S]*Expected: "\/login"\s+Received: "\/dashboard"/);
    assert.match(journey.error!, /at \S*sample-app\/perf\/frontend\/journey\.ts:\d+:\d+$/, 'the user\'s line that asserted it');
    assert.match(r.stderr, /✗ browser_journey/);
    for (const file of ['screenshot.png', 'trace.zip']) {
      const rel = `frontend/browser-journey/attempt-1/${file}`;
      assert.ok(journey.evidence.some((e) => e.kind === 'file' && e.path === rel), `${rel} is in the evidence`);
      assert.ok(statSync(path.join(runDir, rel)).size > 1000, `${rel} is on disk`);
    }
    // The journey typed its password, and its pages held the user's token: nothing in the run folder does.
    // (Its password is the one perf derives for its label: the repo config's seed is 1.)
    const { password } = identityFor(undefined, v.runId, 1, 'browser-journey-1');
    const texts = await allText(runDir);
    assert.ok(texts.some((t) => t.file.endsWith('browser-journey/attempt-1/trace.zip!trace.trace') && t.text.includes('"method":"fill"') && t.text.includes('[redacted]')), 'the trace holds the form fills, redacted');
    for (const { file, text } of texts) {
      assert.equal(text.includes(password), false, `${path.relative(runDir, file)} must not contain the journey's password`);
      assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/, `${path.relative(runDir, file)} must not contain a JWT`);
      assert.doesNotMatch(text, /Bearer (?!\[redacted\])[A-Za-z0-9]/, `${path.relative(runDir, file)} must not contain a bearer token`);
    }
  });

  test('no browser: exit 2 with the install hint, before any phase runs', async () => {
    const cwd = project();
    // PERF_CHROMIUM wins over every other place, and an empty PATH finds no chromium either.
    const r = await runCli(['run', '--phase', 'health,frontend-smoke', '--reporter', 'console'], { cwd, env: { PERF_CHROMIUM: '/nonexistent', PATH: tempDir('perf-empty-path-') } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /perf: no Chromium found for the front-end phases \(PERF_CHROMIUM is \/nonexistent, which is not an executable file\)/);
    assert.match(r.stderr, /apt-get install chromium/);
    assert.match(r.stderr, /PERF_CHROMIUM/);
    assert.doesNotMatch(r.stderr, /▶ health|api_health/, 'health did not run');
    const v = readVerdictFromOutput(cwd, r.stderr);
    assert.deepEqual(v.phases, [], 'no phase ran');
    assert.equal(v.target, undefined, 'the target was never started');
    assert.equal(v.error.kind, 'user');
  });

  test('perf doctor: a missing Chromium is required for the default run', async () => {
    const r = await runCli(['doctor'], { env: { PERF_CHROMIUM: '/nonexistent' } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^Chromium\s+MISSING\s+not found/m);
    assert.match(r.stdout, /→ The front-end phases need Chromium: `apt-get install chromium`/);
    assert.match(r.stdout, /missing for the default run: .*Chromium/);
  });
});
