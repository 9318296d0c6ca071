// Test users the service's way (src/auth/): bearer tokens, API keys in a header and in the
// query, cookie sessions with CSRF, and a user module, against a real local service
// (test/auth-helpers.ts); every secret the service handed out is absent from the evidence.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestUser } from '../src/api/types.ts';
import { authHeadersFor, credentialUrl, identityFor, requestAs, UserFactory, httpClientFor } from '../src/auth/users.ts';
import { cleanupRunUsers, forgetRun, testDataOf } from '../src/auth/cleanup.ts';
import type { PerfConfig } from '../src/config/config-schema.ts';
import { frontendSmokeChecks } from '../src/checks/frontend-smoke.ts';
import type { CheckContext, HttpExchange } from '../src/checks/types.ts';
import { byName, newRun, runCheck, testConfig, type CheckRun, type TestRun } from './checks-helpers.ts';
import { startAuthService, type AuthService } from './auth-helpers.ts';

const bearer: PerfConfig['auth'] = {
  signup: { method: 'POST', path: '/bearer/signup', body: { email: '{{email}}', password: '{{password}}', name: '{{name}}' }, expect: [201] },
  login: { method: 'POST', path: '/bearer/login', body: { email: '{{email}}', password: '{{password}}' }, expect: [200] },
  credential: { type: 'bearer', tokenPath: 'auth.token', scheme: 'Token' },
  userIdPath: 'user.id',
  refreshTokenPath: 'refresh',
  cleanup: { method: 'DELETE', path: '/bearer/account', expect: [204] },
};
const apiKey = (where: { header: string } | { query: string }): PerfConfig['auth'] => ({
  signup: { method: 'POST', path: '/key/signup', body: { username: '{{username}}', password: '{{password}}' }, expect: [201] },
  credential: { type: 'apiKey', tokenPath: 'data.key', ...where },
  userIdPath: 'data.id',
});
const cookie = (csrf: { cookie: string } | { bodyPath: string }): PerfConfig['auth'] => ({
  signup: { method: 'POST', path: '/cookie/signup', body: { email: '{{email}}', password: '{{password}}' }, expect: [201] },
  login: { method: 'POST', path: '/cookie/login', body: { email: '{{email}}', password: '{{password}}' }, expect: [200] },
  credential: { type: 'cookie', csrf: { ...csrf, header: 'X-CSRF-Token' } },
  userIdPath: 'user.id',
  cleanup: { method: 'DELETE', path: '/cookie/account', expect: [204] },
});

/** Runs `fn` as a check (a real CheckContext, evidence collected) against the service. */
function asCheck(svc: AuthService, run: TestRun, fn: (ctx: CheckContext) => Promise<void>): Promise<CheckRun> {
  return runCheck({ name: 'auth_probe', run: fn }, { kind: 'external', baseUrl: svc.url }, run);
}

function assertNoSecretsIn(text: string, secrets: string[]): void {
  const real = secrets.filter((s) => s.length >= 6);
  assert.ok(real.length > 0, 'no secrets to look for');
  for (const s of real) assert.ok(!text.includes(s), `a secret leaked: ${s.slice(0, 6)}…`);
}

describe('test users through `auth`', () => {
  let svc: AuthService;
  before(async () => {
    svc = await startAuthService();
  });
  after(async () => {
    await svc.close();
  });

  test('bearer: signup without a token, then login; a custom scheme; id, refresh token; secrets not in evidence', async () => {
    const run = newRun();
    const config = testConfig({ auth: bearer });
    let user!: TestUser;
    const r = await asCheck(svc, run, async (ctx) => {
      user = await new UserFactory(ctx, config).create('alice');
      const me = await requestAs(httpClientFor(ctx, config), user, 'GET', '/bearer/me');
      assert.equal(me.status, 200, me.text);
      assert.equal(JSON.parse(me.text).id, user.id);
    });
    assert.ok(r.passed, r.error);
    assert.equal(user.label, 'alice-1');
    assert.equal(user.email, `perf-alice-1-${run.runId}@perf.test`);
    assert.match(user.token!, /^tok_/);
    assert.match(user.refreshToken!, /^rt_/);
    assert.deepEqual(authHeadersFor(user, 'GET', svc.url), { Authorization: `Token ${user.token}` });
    const exchanges = r.evidence.filter((e): e is HttpExchange => e.kind === 'http');
    assert.deepEqual(exchanges.map((e) => `${e.method} ${new URL(e.url).pathname} ${e.status}`), ['POST /bearer/signup 201', 'POST /bearer/login 200', 'GET /bearer/me 200']);
    assertNoSecretsIn(JSON.stringify(r.evidence), [...svc.secrets(), user.password, user.token!, user.refreshToken!]);
  });

  test('identities are deterministic; create() memoises a label within an attempt, a retry (a new factory) gets a new user; signup 409 logs in', async () => {
    const run = newRun();
    const config = testConfig({ auth: bearer });
    const r = await asCheck(svc, run, async (ctx) => {
      const first = new UserFactory(ctx, config);
      const a = await first.create('bob');
      assert.equal(await first.create('bob'), a, 'memoised within the attempt');
      const b = await first.create();
      const c = await first.create();
      assert.notEqual(b.email, c.email, 'create() without a label is a new user each time');
      const retry = await new UserFactory(ctx, config).create('bob');
      assert.equal(retry.label, 'bob-2');
      assert.notEqual(retry.email, a.email);
      // The same label again (a rerun meets the account): signup answers 409, perf logs in.
      const again = await new UserFactory(ctx, config).user('bob-1');
      assert.equal(again.id, a.id);
      assert.notEqual(again.token, a.token);
    });
    assert.ok(r.passed, r.error);
    assert.deepEqual(identityFor(config.auth, run.runId, run.seed, 'x'), identityFor(config.auth, run.runId, run.seed, 'x'));
    assert.notEqual(identityFor(config.auth, run.runId, run.seed, 'x').password, identityFor(config.auth, run.runId, run.seed + 1, 'x').password);
    assert.ok(r.evidence.some((e) => e.kind === 'http' && e.status === 409), 'the existing account answered 409');
  });

  test('API key in a header and in the query; the key is redacted although its JSON name is not secret-looking', async () => {
    for (const where of [{ header: 'X-Key' }, { query: 'api_key' }]) {
      const run = newRun();
      const config = testConfig({ auth: apiKey(where) });
      let user!: TestUser;
      const r = await asCheck(svc, run, async (ctx) => {
        user = await new UserFactory(ctx, config).create('kim');
        const me = await requestAs(httpClientFor(ctx, config), user, 'GET', '/key/me');
        assert.equal(me.status, 200, `${JSON.stringify(where)}: ${me.text}`);
        const anonymous = await httpClientFor(ctx, config).get('/key/me');
        assert.equal(anonymous.status, 403);
      });
      assert.ok(r.passed, r.error);
      assert.match(user.token!, /^k_/);
      if ('header' in where) {
        assert.deepEqual(authHeadersFor(user, 'GET', svc.url), { 'X-Key': user.token });
        assert.equal(credentialUrl(user, `${svc.url}/key/me`), `${svc.url}/key/me`);
      } else {
        assert.deepEqual(authHeadersFor(user, 'GET', svc.url), {});
        assert.equal(credentialUrl(user, `${svc.url}/key/me?x=1`), `${svc.url}/key/me?x=1&api_key=${encodeURIComponent(user.token!)}`);
      }
      assertNoSecretsIn(JSON.stringify({ evidence: r.evidence, error: r.error }), [...svc.secrets(), user.password]);
    }
  });

  test('cookie session with CSRF (from a cookie, and from the login answer): a write without the header is refused, with it passes', async () => {
    for (const csrf of [{ cookie: 'csrf' }, { bodyPath: 'csrfToken' }]) {
      const run = newRun();
      const config = testConfig({ auth: cookie(csrf) });
      let user!: TestUser;
      const r = await asCheck(svc, run, async (ctx) => {
        user = await new UserFactory(ctx, config).create('cleo');
        const http = httpClientFor(ctx, config);
        assert.equal((await requestAs(http, user, 'GET', '/cookie/me')).status, 200, 'the session cookie is sent');
        const h = authHeadersFor(user, 'GET', svc.url);
        assert.ok(h.Cookie?.includes('sid='), 'Cookie header from the jar');
        assert.equal(h['X-CSRF-Token'], undefined, 'no CSRF header on reads');
        // Without the CSRF header (only the cookies): refused.
        const bare = await http.post('/cookie/notes', { text: 'x' }, { headers: { cookie: h.Cookie! } });
        assert.equal(bare.status, 403, 'the service refuses a write without the CSRF header');
        const ok = await requestAs(http, user, 'POST', '/cookie/notes', { body: { text: 'x' } });
        assert.equal(ok.status, 201, `with the CSRF header: ${ok.text}`);
      });
      assert.ok(r.passed, `${JSON.stringify(csrf)}: ${r.error}`);
      assert.equal(user.token, undefined, 'a cookie session has no token');
      assert.ok(user.id);
      assertNoSecretsIn(JSON.stringify({ evidence: r.evidence, error: r.error }), [...svc.secrets(), user.password]);
    }
  });

  test('a credential that is not where the config says fails naming the option; no auth fails saying what to add', async () => {
    const run = newRun();
    const wrongPath = testConfig({ auth: { ...bearer, credential: { type: 'bearer', tokenPath: 'accessToken' } } });
    const r = await asCheck(svc, run, async (ctx) => void (await new UserFactory(ctx, wrongPath).create('dan')));
    assert.equal(r.passed, false);
    assert.match(r.error!, /no token at auth\.credential\.tokenPath "accessToken" of the POST \/bearer\/login answer \(its keys: auth, refresh, user\)/);
    assertNoSecretsIn(JSON.stringify({ evidence: r.evidence, error: r.error }), svc.secrets());

    const none = await asCheck(svc, newRun(), async (ctx) => void (await new UserFactory(ctx, testConfig({})).create()));
    assert.match(none.error!, /^no `auth` in the config/);
  });

  test('module mode: createUser() with the identity and an api client; removeUser() at cleanup', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'perf-auth-module-'));
    const file = path.join(dir, 'users.ts');
    writeFileSync(
      file,
      `import type { ApiClient, TestUser } from 'perf-harness';
export async function createUser({ label, identity, api }: { label: string; identity: { email: string; password: string }; api: ApiClient }) {
  await api.post('/bearer/signup', { email: identity.email, password: identity.password });
  const res = await api.post('/bearer/login', { email: identity.email, password: identity.password });
  return { id: res.json.user.id as string, token: res.json.auth.token as string, headers: { 'X-Label': label } };
}
export async function removeUser(user: TestUser, { api }: { api: ApiClient }) {
  const res = await api.as(user).delete('/bearer/account');
  if (res.status !== 204) throw new Error('delete answered ' + res.status);
}
`,
    );
    const run = newRun();
    const config = testConfig({ auth: { module: file, credential: { type: 'bearer', tokenPath: 'auth.token', scheme: 'Token' } } });
    let user!: TestUser;
    const r = await asCheck(svc, run, async (ctx) => {
      user = await new UserFactory(ctx, config).create('mo');
      const me = await requestAs(httpClientFor(ctx, config), user, 'GET', '/bearer/me');
      assert.equal(me.status, 200, me.text);
      assert.equal(JSON.parse(me.text).id, user.id);
    });
    assert.ok(r.passed, r.error);
    assert.equal(authHeadersFor(user, 'GET', svc.url)['X-Label'], 'mo-1');
    assert.ok(svc.accounts.has(user.email));
    const before = testDataOf(run.runId, config)!;
    assert.deepEqual([before.usersCreated, before.usersRemoved, before.leftBehind], [1, 0, [user.email]]);
    await cleanupRunUsers({ runId: run.runId, runDir: dir, seed: run.seed, redactor: run.redactor, target: { kind: 'external', baseUrl: svc.url } });
    assert.equal(svc.accounts.has(user.email), false, 'removeUser() deleted the account');
    assert.deepEqual(testDataOf(run.runId, config), { usersCreated: 1, usersRemoved: 1, leftBehind: [] });
    forgetRun(run.runId);
  });

  test('cleanup: auth.cleanup as each user (cookie session: with its CSRF header); without a way, the users are left behind and said so', async () => {
    const run = newRun();
    const config = testConfig({ auth: cookie({ cookie: 'csrf' }) });
    const made: TestUser[] = [];
    const r = await asCheck(svc, run, async (ctx) => {
      const f = new UserFactory(ctx, config);
      made.push(await f.create('a'), await f.create('b'));
    });
    assert.ok(r.passed, r.error);
    const before = testDataOf(run.runId, config)!;
    assert.deepEqual([before.usersCreated, before.usersRemoved, before.leftBehind], [2, 0, made.map((u) => u.email)]);
    await cleanupRunUsers({ runId: run.runId, runDir: '/nonexistent', seed: run.seed, redactor: run.redactor, target: { kind: 'external', baseUrl: svc.url } });
    assert.deepEqual(testDataOf(run.runId, config), { usersCreated: 2, usersRemoved: 2, leftBehind: [] });
    for (const u of made) assert.equal(svc.accounts.has(u.email), false);
    forgetRun(run.runId);

    const keep = newRun();
    const noCleanup = testConfig({ auth: apiKey({ header: 'X-Key' }) });
    let kept!: TestUser;
    await asCheck(svc, keep, async (ctx) => {
      kept = await new UserFactory(ctx, noCleanup).create('z');
    });
    await cleanupRunUsers({ runId: keep.runId, runDir: '/nonexistent', seed: keep.seed, redactor: keep.redactor, target: { kind: 'external', baseUrl: svc.url } });
    // Signed up by username: the username names it.
    assert.deepEqual(testDataOf(keep.runId, noCleanup), { usersCreated: 1, usersRemoved: 0, leftBehind: [kept.username], note: 'no auth.cleanup configured: 1 test user(s) left behind' });
    forgetRun(keep.runId);
  });

  test('a cleanup the service refuses leaves the user behind, saying why', async () => {
    const run = newRun();
    const config = testConfig({ auth: { ...bearer, cleanup: { method: 'DELETE', path: '/bearer/no-such-route', expect: [204] } } });
    let user!: TestUser;
    await asCheck(svc, run, async (ctx) => {
      user = await new UserFactory(ctx, config).create('refused');
    });
    const evidence = await cleanupRunUsers({ runId: run.runId, runDir: '/nonexistent', seed: run.seed, redactor: run.redactor, target: { kind: 'external', baseUrl: svc.url } });
    const data = testDataOf(run.runId, config)!;
    assert.deepEqual([data.usersCreated, data.usersRemoved, data.leftBehind], [1, 0, [user.email]]);
    assert.match(data.note!, /^1 could not be removed \(perf-refused-1-\S+: remove test user \S+ \(auth\.cleanup\): DELETE \/bearer\/no-such-route answered 404, expected 204/);
    // It logged in again once (a token may have expired) before giving up; nothing secret in the evidence.
    assert.equal(evidence.filter((e) => e.kind === 'http' && e.method === 'DELETE').length, 2);
    assertNoSecretsIn(JSON.stringify(evidence) + data.note, svc.secrets());
    forgetRun(run.runId);
  });

  test('frontend-smoke: dashboard pages without frontend.signIn fail naming it (before any browser starts)', async () => {
    const config = testConfig({ auth: bearer, frontend: { pages: [{ name: 'home', path: '/home', kind: 'dashboard' }] } });
    const r = await runCheck(byName(frontendSmokeChecks(config), 'page_home'), { kind: 'external', baseUrl: svc.url }, newRun());
    assert.equal(r.passed, false);
    assert.match(r.error!, /dashboard page, loaded signed in, and the config has no `frontend\.signIn`/);
  });
});
