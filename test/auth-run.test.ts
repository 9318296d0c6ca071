// A whole `perf run` (the real CLI) against a service of its own (test/auth-helpers.ts) with
// `auth`: smoke makes its test user the service's way, the run removes it at the end when
// `auth.cleanup` says how (verdict testData), says what it left behind when not, and no secret
// the service handed out is anywhere in the run folder or the output.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { cleanupRunUsers, forgetRun, testDataOf } from '../src/auth/cleanup.ts';
import { trackLoadUsers } from '../src/auth/load-users.ts';
import { identityFor } from '../src/auth/users.ts';
import { Redactor } from '../src/redact/redact.ts';
import { testConfig } from './checks-helpers.ts';
import { startAuthService, type AuthService } from './auth-helpers.ts';
import { readVerdictFromOutput, runCli, runDirFromOutput, tempDir } from './helpers.ts';

function project(url: string, cleanup: boolean): string {
  const dir = tempDir('perf-auth-run-');
  writeFileSync(
    path.join(dir, 'perf.config.ts'),
    `import { defineConfig } from 'perf-harness';
export default defineConfig({
  target: { baseUrl: ${JSON.stringify(url)} },
  auth: {
    signup: { method: 'POST', path: '/bearer/signup', body: { email: '{{email}}', password: '{{password}}' }, expect: [201] },
    login: { method: 'POST', path: '/bearer/login', body: { email: '{{email}}', password: '{{password}}' }, expect: [200] },
    credential: { type: 'bearer', tokenPath: 'auth.token', scheme: 'Token' },
    userIdPath: 'user.id',
    refreshTokenPath: 'refresh',
    ${cleanup ? "cleanup: { method: 'DELETE', path: '/bearer/account', expect: [204] }," : ''}
  },
  smoke: {
    unauthenticatedStatus: 403,
    endpoints: [
      { name: 'me', method: 'GET', path: '/bearer/me' },
      { name: 'item', method: 'GET', path: '/bearer/items/:id' },
    ],
  },
  reporters: ['console', 'json'],
});
`,
  );
  return dir;
}

/** A short k6 load (2 VUs) whose users sign up through `perf-harness/k6`'s session(). */
const LOAD_SCENARIO = `import { check } from 'k6';
import { api, session } from 'perf-harness/k6';
export const options = { vus: 2, iterations: 4 };
export default function (): void {
  const me = session();
  check(me, { 'signed in': (s) => s !== undefined });
  if (me) check(api('GET', '/bearer/me', { name: 'me', as: me }), { 'me 200': (r) => r.status === 200 });
}
`;

function loadProject(url: string, cleanup: boolean): string {
  const dir = project(url, cleanup);
  mkdirSync(path.join(dir, 'scenarios'));
  writeFileSync(path.join(dir, 'scenarios', 'users.ts'), LOAD_SCENARIO);
  const config = path.join(dir, 'perf.config.ts');
  writeFileSync(config, readFileSync(config, 'utf8').replace("reporters: ['console', 'json'],", "users: 2, load: { scenarios: ['users'] }, reporters: ['console', 'json'],"));
  return dir;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('perf run with `auth` on a service of its own', () => {
  let svc: AuthService;
  before(async () => {
    svc = await startAuthService();
  });
  after(async () => {
    await svc.close();
  });

  const run = async (cleanup: boolean) => {
    const cwd = project(svc.url, cleanup);
    const r = await runCli(['run', '--phase', 'smoke'], { cwd, timeoutMs: 60_000 });
    const verdict = readVerdictFromOutput(cwd, r.stderr);
    return { r, verdict, runDir: runDirFromOutput(cwd, r.stderr) };
  };

  test('auth.cleanup: the smoke user is removed at the end, testData says so; 403 as the unauthenticated status; no secret in the run folder', async () => {
    const { r, verdict, runDir } = await run(true);
    assert.equal(r.code, 0, r.stderr);
    const checks = verdict.phases[0].checks.map((c: { name: string; status: string }) => `${c.name} ${c.status}`);
    assert.deepEqual(checks, ['me_reachable passed', 'me_requires_auth passed', 'item_reachable passed', 'item_requires_auth passed', 'item_unknown_id passed', 'unknown_path passed']);
    assert.deepEqual(verdict.testData, { usersCreated: 1, usersRemoved: 1, leftBehind: [] });
    assert.match(r.stderr, /test data: 1 test user created, 1 removed/);
    const email = `perf-smoke-${verdict.runId}@perf.test`;
    assert.equal(svc.accounts.has(email), false, 'the account is gone from the service');
    assert.ok(svc.log.some((l) => l.method === 'DELETE' && l.path === '/bearer/account'), 'the cleanup request was made');
    const everything = [r.stdout, r.stderr, ...filesUnder(runDir).map((f) => readFileSync(f, 'utf8'))].join('\n');
    for (const s of svc.secrets()) assert.ok(!everything.includes(s), `a secret leaked into the run's output: ${s.slice(0, 6)}…`);
  });

  test('no auth.cleanup: the verdict lists the user left behind and why, and the console says it', async () => {
    const { r, verdict } = await run(false);
    assert.equal(r.code, 0, r.stderr);
    const email = `perf-smoke-${verdict.runId}@perf.test`;
    assert.deepEqual(verdict.testData, { usersCreated: 1, usersRemoved: 0, leftBehind: [email], note: 'no auth.cleanup configured: 1 test user(s) left behind' });
    assert.ok(svc.accounts.has(email), 'the account is still there');
    assert.match(r.stderr, new RegExp(`test data: 1 test user created, 0 removed, 1 left behind \\(${email.replace(/[.]/g, '\\.')}\\): no auth\\.cleanup configured`));
  });

  // k6 load users (vu1, vu2) are the run's test data too: counted by the k6 side
  // (perf_test_users_created{label}), signed in again and removed by the run's cleanup.
  const loadRun = async (cleanup: boolean) => {
    const cwd = loadProject(svc.url, cleanup);
    const r = await runCli(['run', '--phase', 'load'], { cwd, timeoutMs: 120_000 });
    const verdict = readVerdictFromOutput(cwd, r.stderr);
    const emails = ['vu1', 'vu2'].map((l) => identityFor(testConfig({ auth: { login: { path: '/x' } } }).auth, verdict.runId, 1, l).email);
    return { r, verdict, emails, runDir: runDirFromOutput(cwd, r.stderr) };
  };

  test('load users with auth.cleanup: both are counted as load users, removed the service\'s way, no account left; no secret in the run folder', async () => {
    const { r, verdict, emails, runDir } = await loadRun(true);
    assert.equal(r.code, 0, r.stderr);
    for (const e of emails) assert.ok(!svc.accounts.has(e), `${e} was removed`);
    assert.deepEqual(verdict.testData, { usersCreated: 2, usersRemoved: 2, leftBehind: [], loadUsersCreated: 2 });
    assert.match(r.stderr, /test data: 2 test users created \(2 by the load\), 2 removed/);
    const everything = [r.stdout, r.stderr, ...filesUnder(runDir).map((f) => readFileSync(f, 'utf8'))].join('\n');
    for (const s of svc.secrets()) assert.ok(!everything.includes(s), `a secret leaked into the run's output: ${s.slice(0, 6)}…`);
  });

  test('load users without auth.cleanup: listed as left behind, with the note; the accounts are still there', async () => {
    const { r, verdict, emails } = await loadRun(false);
    assert.equal(r.code, 0, r.stderr);
    for (const e of emails) assert.ok(svc.accounts.has(e), `${e} is still there`);
    assert.deepEqual(verdict.testData, {
      usersCreated: 2,
      usersRemoved: 0,
      leftBehind: emails,
      loadUsersCreated: 2,
      note: 'no auth.cleanup configured: 2 test user(s) left behind (all of them k6 load users)',
    });
  });
});

// A flow that tests sign-up itself: it takes `users.identity(label)` and signs up on its own. The
// run's cleanup logs each handed-out identity in: an account that exists is counted and removed
// (or listed as left behind), one never signed up (the login's 401) is not counted at all.
const SELF_SIGNUP_FLOWS = `import { expect, flow } from 'perf-harness';
flow('self_signup', { retries: 0 }, async ({ api, users }) => {
  const me = users.identity('self');
  const res = await api.post('/bearer/signup', { email: me.email, password: me.password });
  expect(res).toHaveStatus(201);
});
flow('identity_only', { retries: 0 }, async ({ users }) => {
  expect(users.identity('idle').email).toContain('idle');
});
`;

function flowsProject(url: string, opts: { cleanup: boolean; login: boolean }): string {
  const dir = project(url, opts.cleanup);
  mkdirSync(path.join(dir, 'flows'));
  writeFileSync(path.join(dir, 'flows', 'signup.ts'), SELF_SIGNUP_FLOWS);
  const config = path.join(dir, 'perf.config.ts');
  let text = readFileSync(config, 'utf8');
  if (!opts.login) text = text.replace(/\n    login: .*\n/, '\n');
  writeFileSync(config, text);
  return dir;
}

describe('identities a flow signs up itself (users.identity)', () => {
  let svc: AuthService;
  before(async () => {
    svc = await startAuthService();
  });
  after(async () => {
    await svc.close();
  });

  const run = async (opts: { cleanup: boolean; login: boolean }) => {
    const cwd = flowsProject(svc.url, opts);
    const r = await runCli(['run', '--phase', 'flows'], { cwd, timeoutMs: 60_000 });
    const verdict = readVerdictFromOutput(cwd, r.stderr);
    const email = (label: string) => `perf-${label}-${verdict.runId}@perf.test`;
    return { r, verdict, email };
  };

  test('auth.cleanup: the account the flow signed up is counted and removed; an identity never signed up is not counted', async () => {
    const { r, verdict, email } = await run({ cleanup: true, login: true });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(verdict.testData, { usersCreated: 1, usersRemoved: 1, leftBehind: [] });
    assert.equal(svc.accounts.has(email('self')), false, 'the account is gone from the service');
    assert.equal(svc.accounts.has(email('idle')), false);
    assert.match(r.stderr, /test data: 1 test user created, 1 removed/);
  });

  test('no auth.cleanup: the account the flow signed up is listed as left behind', async () => {
    const { r, verdict, email } = await run({ cleanup: false, login: true });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(verdict.testData, { usersCreated: 1, usersRemoved: 0, leftBehind: [email('self')], note: 'no auth.cleanup configured: 1 test user(s) left behind' });
    assert.ok(svc.accounts.has(email('self')), 'the account is still there');
  });

  test('no auth.login: the identities cannot be checked, the note names them as unknown', async () => {
    const { r, verdict, email } = await run({ cleanup: true, login: false });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(verdict.testData.usersCreated, 0);
    assert.deepEqual(verdict.testData.leftBehind, []);
    assert.match(verdict.testData.note, /^unknown: could not check 2 identities users\.identity\(\) handed out: /);
    for (const l of ['self', 'idle']) assert.ok(verdict.testData.note.includes(email(l)), `${l} is named`);
    assert.match(verdict.testData.note, /no auth\.login to sign it in/);
    assert.match(r.stderr, /test data: 0 test users created, 0 removed: unknown: could not check 2 identities/);
  });
});

// The load users' removal, called the way the run's teardown calls it, on bounds and missing ways.
describe('load users in the run cleanup: its bounds', () => {
  const BEARER = {
    signup: { path: '/signup', body: { email: '{{email}}', password: '{{password}}' } },
    login: { path: '/login', body: { email: '{{email}}', password: '{{password}}' } },
    credential: { type: 'bearer' as const, tokenPath: 'token' },
    cleanup: { method: 'DELETE' as const, path: '/me', expect: [204] },
  };

  test('a service slower than the deadline: at most 4 removals at once, the rest not tried and reported left behind', async () => {
    let inFlight = 0;
    let most = 0;
    const server = http.createServer((req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      // Never answers in time: each login outlives the 500 ms deadline.
      const t = setTimeout(() => res.end('{}'), 3000);
      res.on('close', () => {
        clearTimeout(t);
        inFlight--;
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const runId = `cleanup-bounds-${Date.now()}`;
    try {
      const config = testConfig({ auth: BEARER });
      const labels = Array.from({ length: 8 }, (_, i) => `vu${i + 1}`);
      await trackLoadUsers({ runId, runDir: tempDir('perf-cleanup-'), config, labels });
      const t0 = Date.now();
      await cleanupRunUsers({ runId, runDir: tempDir('perf-cleanup-'), seed: config.seed, redactor: new Redactor(), target: { baseUrl, kind: 'external' }, timeoutMs: 500 });
      assert.ok(Date.now() - t0 < 2500, `bounded by its deadline: ${Date.now() - t0} ms`);
      assert.equal(most, 4, 'at most 4 at once');
      const data = testDataOf(runId, config)!;
      assert.equal(data.usersCreated, 8);
      assert.equal(data.loadUsersCreated, 8);
      assert.equal(data.usersRemoved, 0);
      assert.deepEqual(data.leftBehind, labels.map((l) => identityFor(config.auth, runId, config.seed, l).email));
      assert.match(data.note ?? '', /^the cleanup's 1 s deadline passed before 4 could be tried; 4 could not be removed \(/);
    } finally {
      forgetRun(runId);
      server.close();
    }
  });

  test('auth.cleanup without auth.login: load users cannot be signed in again, left behind saying why', async () => {
    const runId = `cleanup-nologin-${Date.now()}`;
    const { login: _login, ...noLogin } = BEARER;
    const config = testConfig({ auth: noLogin });
    await trackLoadUsers({ runId, runDir: tempDir('perf-cleanup-'), config, labels: ['vu1'] });
    await cleanupRunUsers({ runId, runDir: tempDir('perf-cleanup-'), seed: config.seed, redactor: new Redactor(), target: { baseUrl: 'http://127.0.0.1:9', kind: 'external' } });
    assert.deepEqual(testDataOf(runId, config), {
      usersCreated: 1,
      usersRemoved: 0,
      loadUsersCreated: 1,
      leftBehind: [identityFor(config.auth, runId, config.seed, 'vu1').email],
      note: 'no auth.login to sign the k6 load users in again and remove them: 1 test user(s) left behind (all of them k6 load users)',
    });
    forgetRun(runId);
  });
});
