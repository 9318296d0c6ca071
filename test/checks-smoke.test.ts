import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { smokeChecks, unknownId } from '../src/checks/smoke.ts';
import type { Check, HttpExchange } from '../src/checks/types.ts';
import { identityFor } from '../src/auth/users.ts';
import perfConfig from '../perf.config.ts';
import { assertFailed, assertNoSecrets, assertPassed, byName, closedPort, runCheck, startTestApp, testConfig, trackedRuns, type CheckRun, type TestApp, type TestRun } from './checks-helpers.ts';

/** Runs checks as a parallel phase does: `limit` at once, one shared map. */
async function runPhase(checks: Check[], app: TestApp, run: TestRun, limit = 8): Promise<Map<string, CheckRun>> {
  const results = new Map<string, CheckRun>();
  const queue = [...checks];
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) results.set(c.name, await runCheck(c, app.target, run));
    }),
  );
  return results;
}

describe('smoke checks', () => {
  let app: TestApp;
  const { fresh, cleanup } = trackedRuns();
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await cleanup();
    await app.stop();
  });

  const config = testConfig(perfConfig);
  // No smoke.openapi here: the project folder only matters for a document (test/openapi-smoke.test.ts).
  const at = { projectDir: process.cwd() };

  test("the default matrix is exactly sample-app's API route table (as fastify registered it), plus /health", () => {
    // Params are compared by position, not name (`:id` in both today, but a rename is not a gap).
    const key = (method: string, url: string) => `${method} ${url.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, ':param')}`;
    const routes = app.handle.routes;
    const api = routes.filter((r) => r.scope === 'api').map((r) => key(r.method, r.url));
    assert.ok(api.length >= 20, `the app registered its API routes: ${api.join(', ')}`);
    const health = routes.find((r) => r.url === config.health.path && r.method === 'GET');
    assert.ok(health, `the app registers GET ${config.health.path}`);
    const matrix = config.smoke.endpoints.map((e) => key(e.method, e.path));
    assert.equal(new Set(matrix).size, matrix.length, 'no route twice in the matrix');
    const expected = [...new Set([...api, key(health.method, health.url)])].sort();
    assert.deepEqual([...matrix].sort(), expected, 'matrix rows vs the routes the app serves');
  });

  test('each row gets the checks it calls for, with unique names; one unknown_path for the phase', async () => {
    const checks = await smokeChecks(config, at);
    const names = checks.map((c) => c.name);
    assert.equal(new Set(names).size, names.length, 'check names are unique');
    for (const e of config.smoke.endpoints) {
      const has = (suffix: string) => names.includes(`${e.name}_${suffix}`);
      assert.ok(has('reachable'), `${e.name}_reachable`);
      assert.equal(has('requires_auth'), e.auth, `${e.name}: requires_auth exactly for protected rows`);
      assert.equal(has('rejects_empty_body'), e.body, `${e.name}: rejects_empty_body exactly for rows with a body`);
      assert.equal(has('unknown_id'), e.path.includes('/:') && !e.body, `${e.name}: unknown_id exactly for id paths without a body`);
    }
    assert.equal(names.filter((n) => n === 'unknown_path').length, 1);
    assert.equal(names.length, 1 + config.smoke.endpoints.reduce((n, e) => n + 1 + Number(e.auth) + Number(e.body) + Number(e.path.includes('/:') && !e.body), 0));
    // Without a document, no response is checked against one, and no conforms check exists.
    assert.ok(!names.some((n) => n.endsWith('_conforms')));
    // `smoke.unknownPath: false` and an empty matrix: no unknown_path.
    assert.ok(!(await smokeChecks(testConfig({ ...perfConfig, smoke: { ...perfConfig.smoke, unknownPath: false } }), at)).some((c) => c.name === 'unknown_path'));
    assert.deepEqual(await smokeChecks(testConfig({}), at), []);
  });

  test('unknownId is a UUID derived from the seed: the same for a seed in every process, another for another seed', () => {
    assert.equal(unknownId(1), '00000000-0000-4000-8000-6d4905625b96');
    assert.match(unknownId(7), /^00000000-0000-4000-8000-[0-9a-f]{12}$/);
    assert.notEqual(unknownId(1), unknownId(2));
    // Of the endpoint's own kind (idKind), so a service that checks an id's type before looking it up still answers 404.
    assert.equal(unknownId(1, 'integer'), '2147483646');
    assert.match(unknownId(1, 'slug'), /^perf-no-such-[0-9a-f]{10}$/);
    assert.equal(unknownId(1, 'uuid'), unknownId(1));
  });

  test('a healthy sample-app passes the whole matrix; one smoke user serves the phase; no secret in evidence', async () => {
    const run = fresh();
    const checks = await smokeChecks(config, at);
    const results = await runPhase(checks, app, run);
    const failed = [...results].filter(([, r]) => !r.passed).map(([n, r]) => `${n}: ${r.error}`);
    assert.deepEqual(failed, [], 'every smoke check passes');
    const exchanges = [...results.values()].flatMap((r) => r.evidence).filter((e): e is HttpExchange => e.kind === 'http');
    assert.equal(exchanges.filter((e) => e.method === 'POST' && e.url.endsWith('/auth/signup') && e.status === 201).length, 1, 'the smoke user was signed up once');
    const { password } = identityFor(config.auth, run.runId, run.seed, 'smoke');
    const tokens = exchanges.flatMap((e) => (e.requestHeaders.authorization ? [e.requestHeaders.authorization] : []));
    assert.ok(tokens.length > 0, 'the authenticated checks sent tokens');
    assert.deepEqual([...new Set(tokens)], ['[redacted]']);
    assertNoSecrets([...results.values()], [password, 's3cret']);
  });

  test('errorRate=1: reachable, requires_auth, rejects_empty_body and unknown_id all fail with the 500 and a correlation id', async () => {
    const run = fresh();
    const checks = await smokeChecks(config, at);
    // The smoke user first, while the target is healthy, so the checks below fail on their own request.
    assertPassed(await runCheck(byName(checks, 'auth_me_reachable'), app.target, run), 'warm-up');
    await runCheck(byName(checks, 'jobs_create_rejects_empty_body'), app.target, run);
    await app.setFaults({ errorRate: 1 });
    try {
      const reachable = await runCheck(byName(checks, 'brand_kits_list_reachable'), app.target, run);
      assertFailed(reachable, /GET \/brand-kits is not healthy: it answered 500/, 'brand_kits_list_reachable');
      const auth = await runCheck(byName(checks, 'auth_me_requires_auth'), app.target, run);
      assertFailed(auth, /GET \/auth\/me without a credential: GET \/auth\/me answered 500, expected 401/, 'auth_me_requires_auth');
      const body = await runCheck(byName(checks, 'jobs_create_rejects_empty_body'), app.target, run);
      assertFailed(body, /answered 500, expected 422/, 'jobs_create_rejects_empty_body');
      const unknown = await runCheck(byName(checks, 'public_asset_get_unknown_id'), app.target, run);
      assertFailed(unknown, new RegExp(`GET /public/assets/${unknownId(run.seed)} answered 500, expected 404`), 'public_asset_get_unknown_id');
      // /health is exempt from injected errors: its row still passes.
      assertPassed(await runCheck(byName(checks, 'health_reachable'), app.target, run), 'health_reachable');
    } finally {
      await app.resetFaults();
    }
  });

  test('a matrix that disagrees with the target fails the right checks, naming expected and actual status', async () => {
    const run = fresh();
    const wrong = testConfig({
      auth: perfConfig.auth,
      smoke: {
        endpoints: [
          // Declared protected, but anyone may read public assets.
          { name: 'public_asset_claimed_private', method: 'GET', path: '/public/assets/:id', auth: true },
          // Declared as validating a body, but /health takes none.
          { name: 'health_claimed_body', method: 'GET', path: '/health', auth: false, body: true },
          // An endpoint that does not exist: "unknown id" gets 404 for the wrong reason, but reachable passes.
          { name: 'kits_wrong_expectation', method: 'GET', path: '/brand-kits/:id', expect: { unknownId: 410 } },
        ],
      },
    });
    const results = await runPhase(await smokeChecks(wrong, at), app, run);
    assertFailed(results.get('public_asset_claimed_private_requires_auth')!, /without a credential: GET \/public\/assets\/\S+ answered 404, expected 401/, 'requires_auth');
    assertFailed(results.get('health_claimed_body_rejects_empty_body')!, /GET \/health answered 200, expected 422/, 'rejects_empty_body');
    assertFailed(results.get('kits_wrong_expectation_unknown_id')!, /answered 404, expected 410/, 'unknown_id');
    assertPassed(results.get('public_asset_claimed_private_reachable')!, 'reachable');
  });

  test('a service declared to answer 403 (smoke.unauthenticatedStatus) fails requires_auth on its 401; a row may override it', async () => {
    const run = fresh();
    const forbidden = testConfig({
      auth: perfConfig.auth,
      smoke: {
        unauthenticatedStatus: 403,
        endpoints: [
          { name: 'me', method: 'GET', path: '/auth/me' },
          { name: 'me_row', method: 'GET', path: '/auth/me', expect: { unauthenticated: 401 } },
        ],
      },
    });
    const results = await runPhase(await smokeChecks(forbidden, at), app, run);
    assertFailed(results.get('me_requires_auth')!, /GET \/auth\/me without a credential: GET \/auth\/me answered 401, expected 403/, 'me_requires_auth');
    assertPassed(results.get('me_row_requires_auth')!, 'me_row_requires_auth (the row says 401)');
  });

  test('without `auth`, a check that needs a signed-in user fails saying what to add', async () => {
    const run = fresh();
    const noAuth = testConfig({ smoke: { endpoints: [{ name: 'kit', method: 'GET', path: '/brand-kits/:id' }] } });
    const r = await runCheck(byName(await smokeChecks(noAuth, at), 'kit_unknown_id'), app.target, run);
    assert.ok(!r.passed);
    assert.match(r.error ?? '', /^no `auth` in the config: .*docs\/auth\.md/);
  });

  test('an unreachable target fails every reachable check with the connection error', async () => {
    const run = fresh();
    const checks = await smokeChecks(config, at);
    const r = await runCheck(byName(checks, 'jobs_list_reachable'), { kind: 'external', baseUrl: `http://127.0.0.1:${await closedPort()}` }, run);
    assertFailed(r, /GET \/jobs: connection failed: ECONNREFUSED/, 'jobs_list_reachable');
  });
});
