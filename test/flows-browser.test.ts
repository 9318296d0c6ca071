/**
 * Browser flows, black-box: `browserFlow()` files of a project outside the repo, run by the CLI
 * in the system's Chromium against the tiny service's page; `signIn()` the way
 * `frontend.signIn` says; a failure leaves a screenshot and a redacted trace.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readZip } from '../src/checks/frontend-artifacts.ts';
import { runCli } from './helpers.ts';
import { flowProject, latestRunDir, latestVerdict, startTinyService, type TinyService } from './flows-helpers.ts';

let svc: TinyService;
before(async () => {
  svc = await startTinyService();
});
after(() => svc.close());

const AUTH = `auth: { login: { path: '/login', body: { email: '{{email}}' } }, credential: { type: 'bearer', tokenPath: 'token' } },`;

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

describe('frontend-flows phase: the user\'s browser flows', () => {
  it('signs in by cookie and by localStorage, and a failure keeps a screenshot and a redacted trace', async () => {
    const journey = `import { browserFlow, expect } from 'perf-harness';

browserFlow('signed in by cookie', { retries: 0 }, async ({ page, users, signIn, baseURL, step }) => {
  const alice = await users.create('alice');
  await step('sign in', () => signIn(alice));
  await page.goto(baseURL + '/page');
  await expect.poll(() => page.getByTestId('who').textContent()).toBe('alice');
});

browserFlow('signed out is nobody', { retries: 0 }, async ({ page, baseURL, api, users }) => {
  // The token travels through the page and the API, so the trace has it to redact.
  const alice = await users.create('bob');
  expect(await api.as(alice).get('/me')).toHaveStatus(200);
  await page.goto(baseURL + '/page?t=' + alice.token);
  expect(await page.getByTestId('who').textContent(), 'the page names the signed-in user').toBe('alice');
});
`;
    let dir = flowProject(svc.url, { 'frontend/journey.ts': journey }, `${AUTH} frontend: { signIn: { via: 'cookie', name: 'tok' } },`);
    let r = await runCli(['run', '--phase', 'frontend-flows'], { cwd: dir, timeoutMs: 90_000 });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    const v = latestVerdict(dir);
    const checks = v.phases[0].checks as { name: string; status: string; error?: string; evidence: { kind: string; path?: string }[] }[];
    assert.equal(checks[0]!.status, 'passed', checks[0]!.error);
    const failed = checks[1]!;
    assert.equal(failed.status, 'failed');
    assert.match(failed.error!, /^the page names the signed-in user\n\nexpect\(received\)\.toBe\(expected\)[^\n]*\n\nExpected: "alice"\nReceived: "nobody"\n {2}at frontend\/journey\.ts:15:\d+$/);
    const files = failed.evidence.filter((e) => e.kind === 'file').map((e) => e.path);
    assert.deepEqual(files, ['frontend/signed-out-is-nobody/attempt-1/screenshot.png', 'frontend/signed-out-is-nobody/attempt-1/trace.zip']);
    const runDir = latestRunDir(dir);
    for (const f of files) assert.ok(existsSync(path.join(runDir, f!)), f);
    // Trace archives are compressed: their entries are read and searched one by one.
    for (const f of allFiles(runDir)) {
      const texts = f.endsWith('.zip') ? (await readZip(f)).map((e) => e.data.toString('latin1')) : [readFileSync(f).toString('latin1')];
      assert.ok(texts.length > 0);
      for (const t of texts) assert.ok(!t.includes(svc.token), `${f} holds the token`);
    }
    assert.ok((await readZip(path.join(runDir, files[1]!))).some((e) => e.data.toString('latin1').includes('[redacted]')), 'the trace was redacted');

    // localStorage sign-in: the key is set before the page's scripts run.
    dir = flowProject(
      svc.url,
      {
        'web/ls.ts': `import { browserFlow, expect } from 'perf-harness';
browserFlow('signed in by localStorage', async ({ page, users, signIn, baseURL }) => {
  await signIn(await users.create('carol'));
  await page.goto(baseURL + '/page');
  expect(await page.getByTestId('stored').textContent()).toBe('stored');
});
`,
      },
      `${AUTH} frontend: { signIn: { via: 'localStorage', key: 'tok' } }, browserFlows: { dir: 'web' },`,
    );
    r = await runCli(['run', '--phase', 'frontend-flows'], { cwd: dir, timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(latestVerdict(dir).phases[0].checks[0].status, 'passed');
  });
});
