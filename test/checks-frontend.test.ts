// The front-end checks, called directly: real headless Chromium (Debian's, through
// playwright-core) against the real sample-app in this process, faults switched over its admin
// port. Each failure test shows a check failing for the reason it exists, with its evidence.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import perfConfig from '../perf.config.ts';
import { closeSharedBrowser, findChromium } from '../src/clients/browser.ts';
import { readZip } from '../src/checks/frontend-artifacts.ts';
import { frontendSmokeChecks } from '../src/checks/frontend-smoke.ts';
import type { Check, Evidence, FileEvidence, NoteEvidence } from '../src/checks/types.ts';
import { configSchema } from '../src/config/config-schema.ts';
import { userBrowserFlowChecks } from '../src/flows/checks.ts';
import { byName, deleteRunUsers, newRun, runCheck, startTestApp, testConfig, type CheckRun, type TestApp, type TestRun } from './checks-helpers.ts';

/** The repository: perf.config.ts's `browserFlows.dir` (sample-app/perf/frontend) is relative to it. */
const REPO = path.resolve(import.meta.dirname, '..');

const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/;

/** The check with the run folder set to `runDir` (checks-helpers' runner has none: artifacts need one). */
function inRunDir(check: Check, runDir: string): Check {
  return { ...check, run: (ctx) => check.run({ ...ctx, runDir }) };
}

const notes = (r: CheckRun): NoteEvidence[] => r.evidence.filter((e): e is NoteEvidence => e.kind === 'note');
const files = (r: CheckRun): FileEvidence[] => r.evidence.filter((e): e is FileEvidence => e.kind === 'file');

/** Every text entry of every trace a check saved, for secret hunting. */
async function traceTexts(runDir: string, evidence: Evidence[]): Promise<string[]> {
  const traces = evidence.filter((e): e is FileEvidence => e.kind === 'file' && e.path.endsWith('trace.zip'));
  const entries = await Promise.all(traces.map((e) => readZip(path.join(runDir, e.path))));
  return entries.flat().map((entry) => entry.data.toString('utf8'));
}

describe('front-end checks in Chromium against the sample-app', () => {
  let app: TestApp;
  const runs: TestRun[] = [];
  const config = testConfig(perfConfig);
  /** sample-app's browser flows (its own browserFlow() files), loaded as the frontend-flows phase loads them. */
  const browserFlows = (cfg = config) => userBrowserFlowChecks(cfg, { projectDir: REPO });
  const fresh = () => {
    const r = newRun();
    runs.push(r);
    return r;
  };
  /** Runs checks two at a time (the phase's concurrency) with one shared browser, like the pipeline. */
  async function runAll(checks: Check[], run: TestRun, runDir: string): Promise<Map<string, CheckRun>> {
    const results = new Map<string, CheckRun>();
    const queue = [...checks];
    await Promise.all(
      [0, 1].map(async () => {
        for (let c = queue.shift(); c; c = queue.shift()) results.set(c.name, await runCheck(inRunDir(c, runDir), app.target, run, 30_000));
      }),
    );
    return results;
  }

  before(async () => {
    assert.ok(findChromium(), 'these tests need Chromium: apt-get install chromium (scripts/setup.sh installs it)');
    app = await startTestApp();
  });
  after(async () => {
    for (const r of runs) await closeSharedBrowser(r.shared);
    for (const r of runs) await deleteRunUsers(r.runId);
    await app.stop();
  });

  test('check names: page_<name>/redirect_<name> from frontend.pages; the browser flows of sample-app/perf/frontend by their names', async () => {
    assert.deepEqual(
      frontendSmokeChecks(config).map((c) => c.name),
      ['page_landing', 'page_login', 'page_signup', 'page_forgot_password', 'page_reset_password', 'page_not_found', 'page_dashboard', 'redirect_dashboard', 'page_brand_kits', 'redirect_brand_kits'],
    );
    assert.deepEqual((await browserFlows()).map((c) => c.name), ['browser_bad_credentials', 'browser_journey', 'browser_signed_in_dashboard']);
  });

  test('budgets naming an unknown page and duplicate page names are config errors naming their field', () => {
    const bad = configSchema.safeParse({ frontend: { pages: [{ name: 'home', path: '/' }, { name: 'home', path: '/x' }], budgets: [{ page: 'landing', metric: 'fcp', limitMs: 100 }] } });
    assert.equal(bad.success, false);
    const byField = Object.fromEntries(bad.error!.issues.map((i) => [i.path.join('.'), i.message]));
    assert.match(byField['frontend.pages.1.name'] ?? '', /duplicate page name "home"/);
    assert.match(byField['frontend.budgets.0.page'] ?? '', /unknown page "landing" \(pages: home\)/);
  });

  test('healthy: every frontend-smoke check passes, with page timings and the redirect hops', async () => {
    const run = fresh();
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'perf-fe-'));
    const t0 = performance.now();
    const results = await runAll(frontendSmokeChecks(config), run, runDir);
    const ms = Math.round(performance.now() - t0);
    for (const [name, r] of results) assert.ok(r.passed, `${name} should pass, failed: ${r.error}\n${JSON.stringify(notes(r), null, 1)}`);
    const landing = results.get('page_landing')!.measurements;
    for (const key of ['fcp_ms', 'dom_content_loaded_ms', 'load_ms']) assert.ok(typeof landing[key] === 'number' && (landing[key] as number) > 0, `page_landing measured ${key}: ${landing[key]}`);
    assert.deepEqual(
      (landing.budgets as { metric: string; passed: boolean }[]).map((b) => [b.metric, b.passed]),
      [
        ['fcp', true],
        ['load', true],
      ],
    );
    assert.deepEqual(results.get('redirect_dashboard')!.measurements.redirect_chain, ['/dashboard', '/login?next=%2Fdashboard']);
    assert.ok(typeof results.get('page_dashboard')!.measurements.load_ms === 'number', 'the signed-in dashboard was measured');
    assert.equal(files(results.get('page_landing')!).length, 0, 'no artifacts for a passing check');
    console.log(`# frontend-smoke: ${results.size} checks in ${ms} ms`);
  });

  test('brokenPageScript: page checks fail with the uncaught error as evidence, a screenshot on disk and a trace without secrets', async () => {
    const run = fresh();
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'perf-fe-'));
    await app.setFaults({ brokenPageScript: true });
    try {
      const smoke = frontendSmokeChecks(config);
      const results = await runAll([byName(smoke, 'page_landing'), byName(smoke, 'page_dashboard')], run, runDir);
      for (const name of ['page_landing', 'page_dashboard']) {
        const r = results.get(name)!;
        assert.equal(r.passed, false, `${name} must fail on a broken page script`);
        assert.match(r.error!, /uncaught page error\(s\): Error: sample-app fault brokenPageScript: page script crashed/);
        const pageErrors = notes(r).find((n) => n.message.startsWith('uncaught page errors'));
        assert.ok(pageErrors, `${name}: the page errors are in the evidence`);
        assert.match(JSON.stringify(pageErrors.data), /sample-app fault brokenPageScript/);
        const shot = files(r).find((f) => f.path.endsWith('screenshot.png'));
        assert.equal(shot?.path, `frontend/${name}/attempt-1/screenshot.png`, 'relative to the run folder');
        const png = readFileSync(path.join(runDir, shot.path));
        assert.ok(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) && png.length > 1000, 'a real PNG');
        assert.ok(existsSync(path.join(runDir, `frontend/${name}/attempt-1/trace.zip`)));
      }
      // The signed-in page's trace held the test user's access token (cookie, Authorization):
      // every trace entry was redacted before the trace was referenced.
      const texts = await traceTexts(runDir, results.get('page_dashboard')!.evidence);
      assert.ok(texts.some((t) => t.includes('"type":"context-options"')), 'the trace is a Playwright trace');
      assert.ok(texts.some((t) => t.includes('[redacted]')), 'something was redacted');
      const token = (await (run.shared.get('perf.auth.user:frontend') as Promise<{ token: string }>)).token;
      assert.ok(token, 'the dashboard was loaded as the phase\'s shared test user (src/auth/users.ts sharedUser)');
      for (const t of texts) {
        assert.equal(t.includes(token), false, 'no access token in the trace');
        assert.doesNotMatch(t, JWT, 'no JWT in the trace');
      }
    } finally {
      await app.resetFaults();
    }
  });

  test('dashboardNoRedirect: the redirect check fails naming where it ended; signed in the page still loads', async () => {
    const run = fresh();
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'perf-fe-'));
    await app.setFaults({ dashboardNoRedirect: true });
    try {
      const smoke = frontendSmokeChecks(config);
      const results = await runAll([byName(smoke, 'redirect_dashboard'), byName(smoke, 'page_dashboard')], run, runDir);
      const r = results.get('redirect_dashboard')!;
      assert.equal(r.passed, false, 'redirect_dashboard must fail when the dashboard renders for signed-out visitors');
      assert.match(r.error!, /signed out, \/dashboard answered 200 and ended on \/dashboard instead of redirecting to \/login/);
      assert.ok(files(r).some((f) => f.path === 'frontend/redirect_dashboard/attempt-1/screenshot.png' && existsSync(path.join(runDir, f.path))));
      assert.ok(results.get('page_dashboard')!.passed, results.get('page_dashboard')!.error);
    } finally {
      await app.resetFaults();
    }
  });

  test('dashboardNoRedirect: the browser journey fails at "sign out" (the dashboard still opens), with its screenshot and a redacted trace', async () => {
    const run = fresh();
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'perf-fe-'));
    const journey = byName(await browserFlows(), 'browser_journey');
    await app.setFaults({ dashboardNoRedirect: true });
    try {
      const j = await runCheck(inRunDir(journey, runDir), app.target, run, 60_000);
      assert.equal(j.passed, false);
      // The step, expected vs received, and the user's line that asserted it.
      assert.match(j.error!, /^step "sign out": expect\(received\)\.toBe\(expected\)/);
      assert.match(j.error!, /Expected: "\/login"\s+Received: "\/dashboard"/);
      assert.match(j.error!, /at sample-app\/perf\/frontend\/journey\.ts:\d+:\d+$/);
      assert.deepEqual(Object.keys(j.measurements.steps_ms as object), ['signup', 'login', 'create brand kit', 'edit colours', 'start a job', 'watch progress', 'view the asset', 'sign out']);
      const shot = files(j).find((f) => f.path.endsWith('screenshot.png'));
      assert.equal(shot?.path, 'frontend/browser-journey/attempt-1/screenshot.png');
      assert.ok(readFileSync(path.join(runDir, shot.path)).length > 1000, 'the screenshot is on disk');
      assert.ok(files(j).some((f) => f.path === 'frontend/browser-journey/attempt-1/trace.zip'), 'the trace is referenced');
      const texts = await traceTexts(runDir, j.evidence);
      assert.ok(texts.length > 0);
      // The journey typed its password into the page: redacted by value.
      assert.ok(texts.some((t) => t.includes('"method":"fill"') && t.includes('[redacted]')), 'the fill of the password is in the trace, redacted');
      for (const t of texts) assert.doesNotMatch(t, JWT);
    } finally {
      await app.resetFaults();
    }
  });

  test('browser_signed_in_dashboard: signed in as frontend.signIn says, the dashboard shows the user; a wrong signIn cookie fails it (sent to /login)', async () => {
    const healthy = await runCheck(inRunDir(byName(await browserFlows(), 'browser_signed_in_dashboard'), mkdtempSync(path.join(os.tmpdir(), 'perf-fe-'))), app.target, fresh(), 30_000);
    assert.ok(healthy.passed, healthy.error);
    assert.deepEqual(Object.keys(healthy.measurements.steps_ms as object), ['sign in', 'open the dashboard']);

    const wrongCookie = testConfig({ ...perfConfig, frontend: { ...perfConfig.frontend, signIn: { via: 'cookie', name: 'not_the_session' } } });
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'perf-fe-'));
    const r = await runCheck(inRunDir(byName(await browserFlows(wrongCookie), 'browser_signed_in_dashboard'), runDir), app.target, fresh(), 30_000);
    assert.equal(r.passed, false, 'a browser that does not carry the session must not see the dashboard');
    assert.match(r.error!, /^step "open the dashboard": expect\(received\)\.toBe\(expected\)/);
    assert.match(r.error!, /Expected: "\/dashboard"\s+Received: "\/login"/);
    assert.ok(existsSync(path.join(runDir, 'frontend/browser-signed-in-dashboard/attempt-1/screenshot.png')));
  });

  test("slowPageMs: a page that got slow fails perf.config's front-end budgets, observed against limit", async () => {
    const run = fresh();
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'perf-fe-'));
    await app.setFaults({ slowPageMs: 3200 });
    try {
      const r = await runCheck(inRunDir(byName(frontendSmokeChecks(config), 'page_landing'), runDir), app.target, run, 30_000);
      assert.equal(r.passed, false, 'page_landing must fail its budgets when the page is slow');
      assert.match(r.error!, /fcp [\d.]+ ms over its budget of 2000 ms/);
      assert.match(r.error!, /load [\d.]+ ms over its budget of 3000 ms/);
      const budgets = r.measurements.budgets as { metric: string; observed: number; passed: boolean }[];
      assert.deepEqual(budgets.map((b) => [b.metric, b.passed]), [['fcp', false], ['load', false]]);
      assert.ok(budgets.every((b) => b.observed >= 3200), JSON.stringify(budgets));
    } finally {
      await app.resetFaults();
    }
  });

  test('frontend.ignoreRequests: declared-harmless failed requests (a missing favicon) are noted, not failed; others still fail', async () => {
    // A target of its own (real socket): a page whose icon and one image are missing (404).
    const server = http.createServer((req, res) => {
      if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><head><link rel="icon" href="/favicon.ico"></head><body><h1 data-testid="hello">hi</h1><img src="/img/a/pixel.gif?v=1" alt=""></body></html>');
      } else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const page = { pages: [{ name: 'home', path: '/', testIds: ['hello'] }] };
      const check = async (ignoreRequests?: string[]) => {
        const run = fresh();
        const c = byName(frontendSmokeChecks(testConfig({ frontend: { ...page, ...(ignoreRequests ? { ignoreRequests } : {}) } })), 'page_home');
        return runCheck(inRunDir(c, mkdtempSync(path.join(os.tmpdir(), 'perf-fe-'))), { kind: 'external', baseUrl }, run, 30_000);
      };
      const none = await check();
      assert.equal(none.passed, false, 'without ignoreRequests the missing image fails the page');
      assert.match(none.error!, /failed request\(s\): GET http:\/\/127\.0\.0\.1:\d+\/img\/a\/pixel\.gif\?v=1 404/);
      assert.match(none.error!, /console error\(s\): Failed to load resource/);

      const onlyFavicon = await check(['/favicon.ico']);
      assert.equal(onlyFavicon.passed, false, 'an image not declared harmless still fails');
      assert.match(onlyFavicon.error!, /1 failed request\(s\): GET \S+\/img\/a\/pixel\.gif\?v=1 404/);

      const both = await check(['/favicon.ico', '/img/**']);
      assert.ok(both.passed, `both declared harmless: ${both.error}`);
      const note = notes(both).find((n) => n.message.startsWith('failed requests ignored by frontend.ignoreRequests'));
      assert.ok(note, 'the ignored requests are in the evidence');
      assert.match(JSON.stringify(note.data), /\/img\/a\/pixel\.gif\?v=1 404/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('a page that is not there: wrong status, missing element, blown budget, the console error and the failed request, all named', async () => {
    const run = fresh();
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'perf-fe-'));
    const missing = testConfig({ frontend: { pages: [{ name: 'gone', path: '/perf-gone', testIds: ['cta'] }], budgets: [{ page: 'gone', metric: 'fcp', limitMs: 1 }] } });
    const r = await runCheck(inRunDir(byName(frontendSmokeChecks(missing), 'page_gone'), runDir), app.target, run);
    assert.equal(r.passed, false);
    const [head, ...problems] = r.error!.split(/ → |; /);
    assert.equal(head, '/perf-gone');
    assert.equal(problems[0], 'answered 404, expected 200');
    assert.equal(problems[1], 'not visible: [data-testid=cta]');
    assert.match(problems[2]!, /^fcp [\d.]+ ms over its budget of 1 ms$/);
    assert.match(problems[3]!, /^1 console error\(s\): Failed to load resource: the server responded with a status of 404/);
    assert.match(problems[4]!, /^1 failed request\(s\): GET http:\/\/127\.0\.0\.1:\d+\/perf-gone 404$/);
    assert.equal(problems.length, 5, r.error);
    assert.deepEqual((r.measurements.budgets as { passed: boolean }[]).map((b) => b.passed), [false]);
    assert.ok(notes(r).some((n) => n.message === 'console errors (1)'));
    assert.ok(notes(r).some((n) => n.message === 'failed requests (1)'));
  });
});
