import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import repoConfig from '../perf.config.ts';
import { healthChecks } from '../src/checks/health.ts';
import type { PerfConfig } from '../src/config/config-schema.ts';
import type { ResolvedTarget } from '../src/checks/types.ts';
import { getPath } from '../src/shared/agent-protocol.ts';
import { readVerdictFromOutput, runCli, tempDir } from './helpers.ts';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { assertFailed, assertNoSecrets, assertPassed, byName, closedPort, newRun, runCheck, startTestApp, testConfig, TEST_REDIS_URL, type TestApp } from './checks-helpers.ts';

const names = (config: PerfConfig) => healthChecks(testConfig(config)).map((c) => c.name);

describe('health checks: which ones exist', () => {
  test('redis_health and db_health exist only with a Redis / database URL; one check per health.urls entry', () => {
    const baseUrl = 'http://127.0.0.1:1';
    assert.deepEqual(names({ target: { baseUrl } }), ['api_health']);
    assert.deepEqual(names({ target: { baseUrl, databaseUrl: 'postgres://u@h/db' } }), ['api_health', 'db_health']);
    assert.deepEqual(names({ target: { baseUrl, redisUrl: 'redis://h:6379' } }), ['api_health', 'redis_health']);
    assert.deepEqual(names({ target: { baseUrl, redisUrl: 'redis://h:6379', databaseUrl: 'postgres://u@h/db' }, health: { urls: { storage: `${baseUrl}/s` } } }), [
      'api_health',
      'redis_health',
      'db_health',
      'storage_health',
    ]);
    // The bundled app: its database always; Redis only when it is given one.
    assert.deepEqual(names({}), ['api_health', 'db_health']);
    assert.deepEqual(names({ sampleApp: { redisUrl: 'redis://h:6379' } }), ['api_health', 'redis_health', 'db_health']);
  });

  test('getPath: dotted keys and [n] indices; absent is undefined, null stays null', () => {
    const body = { a: { b: [{ c: 1 }, { c: null }] }, 'x-y': 2 };
    assert.equal(getPath(body, 'a.b[0].c'), 1);
    assert.equal(getPath(body, 'a.b[1].c'), null);
    assert.equal(getPath(body, 'a.b[2].c'), undefined);
    assert.equal(getPath(body, 'a.c'), undefined);
    assert.equal(getPath(body, 'x-y'), 2);
    assert.equal(getPath('text', 'a'), undefined);
  });

  test('config: a bad freshWithin, regular expression or operator-less assertion names the field', () => {
    const problems = (expect: unknown[]): string => {
      try {
        testConfig({ health: { expect } } as PerfConfig);
        return '';
      } catch (e) {
        return String(e);
      }
    };
    assert.match(problems([{ path: 't', freshWithin: 'soon' }]), /freshWithin[\s\S]*positive duration/);
    assert.match(problems([{ path: 'v', matches: '(' }]), /not a regular expression/);
    assert.match(problems([{ path: 'v' }]), /give one of equals, oneOf/);
    assert.match(problems([{ path: 'a..b', exists: true }]), /dotted JSON path/);
  });
});

/** A status endpoint of a shape perf has never seen, answering whatever the test sets. */
async function startStatusServer() {
  const fresh = () => ({
    state: 'green',
    build: { rev: '1.2', branch: 'main' },
    checkedAt: Date.now(),
    components: { pg: 'up', queue: { depth: 3 } },
    region: 'eu-1',
    features: { flags: ['a', 'b'] },
    latencyMs: 12,
    nodes: [{ id: 'a' }, { id: 'b' }],
  });
  let status = 200;
  let body: unknown = fresh();
  let raw: string | undefined;
  const server = http.createServer((_req, res) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(raw ?? JSON.stringify(body));
  });
  server.keepAliveTimeout = 500;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    set(patch: (b: ReturnType<typeof fresh>) => void, code = 200) {
      const b = fresh();
      patch(b);
      body = b;
      status = code;
      raw = undefined;
    },
    setRaw(text: string) {
      raw = text;
      status = 200;
    },
    reset() {
      body = fresh();
      status = 200;
      raw = undefined;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('api_health: assertions on a status body of another shape', () => {
  let srv: Awaited<ReturnType<typeof startStatusServer>>;
  const run = newRun();
  before(async () => {
    srv = await startStatusServer();
  });
  after(() => srv.close());

  const expect = [
    { path: 'state', equals: 'green' },
    { path: 'features', equals: { flags: ['a', 'b'] } },
    { path: 'build.rev', matches: '^\\d+\\.\\d+$' },
    { path: 'build.branch', nonEmpty: true as const },
    { path: 'checkedAt', freshWithin: '5m' },
    { path: 'components.pg', oneOf: ['up', 'ok'], description: 'postgres up' },
    { path: 'region', exists: true },
    { path: 'debug', exists: false },
    { path: 'latencyMs', min: 0, max: 100 },
    { path: 'components.queue.depth', max: 10 },
    { path: 'nodes[1].id', equals: 'b' },
  ];
  const config = (over: Partial<{ status: number; path: string; expect: unknown[] }> = {}) =>
    testConfig({ target: { baseUrl: srv.url }, health: { path: '/status', expect, ...over } } as PerfConfig);
  const target = (): ResolvedTarget => ({ kind: 'external', baseUrl: srv.url });
  const api = async (over?: Parameters<typeof config>[0]) => runCheck(byName(healthChecks(config(over)), 'api_health'), target(), run);

  test('a healthy body passes every assertion; the clock skew is measured; no redis or db check without their URLs', async () => {
    srv.reset();
    const r = await api();
    assertPassed(r, 'api_health');
    const skew = r.measurements['clock_skew_ms.checkedAt'] as number;
    assert.ok(Math.abs(skew) < 2_000, `skew ${skew}`);
    assert.ok(r.evidence.some((e) => e.kind === 'http' && e.status === 200), 'the exchange is the evidence');
    assert.ok(r.evidence.some((e) => e.kind === 'note' && e.message === '11 of 11 health assertion(s) held'));
    assert.deepEqual(
      healthChecks(config()).map((c) => c.name),
      ['api_health'],
    );
  });

  const cases: { kind: string; patch: (b: any) => void; message: RegExp }[] = [
    { kind: 'equals', patch: (b) => (b.state = 'red'), message: /state: expected "green", found "red"/ },
    { kind: 'equals (deep)', patch: (b) => b.features.flags.push('c'), message: /features: expected \{"flags":\["a","b"\]\}, found \{"flags":\["a","b","c"\]\}/ },
    { kind: 'matches', patch: (b) => (b.build.rev = 'dev'), message: /build\.rev: expected a string matching \/\^\\d\+\\\.\\d\+\$\/, found "dev"/ },
    { kind: 'nonEmpty', patch: (b) => (b.build.branch = ''), message: /build\.branch: expected a non-empty value, found ""/ },
    { kind: 'freshWithin (stale)', patch: (b) => (b.checkedAt = Date.now() - 10 * 60_000), message: /checkedAt: expected a timestamp within 5m of perf's clock, found \d+ \(\S+, 10 min in the past: stale, or the clocks disagree\)/ },
    { kind: 'freshWithin (future)', patch: (b) => (b.checkedAt = new Date(Date.now() + 3 * 3_600_000).toISOString()), message: /checkedAt: .*3 h in the future/ },
    { kind: 'freshWithin (not a time)', patch: (b) => (b.checkedAt = 'yesterday'), message: /checkedAt: expected a timestamp \(ISO string, or epoch ms\/s\) within 5m of perf's clock, found "yesterday"/ },
    { kind: 'oneOf', patch: (b) => (b.components.pg = 'down'), message: /postgres up \(components\.pg\): expected one of \["up","ok"\], found "down"/ },
    { kind: 'exists', patch: (b) => delete b.region, message: /region: expected the path to exist, found \(absent\)/ },
    { kind: 'exists: false', patch: (b) => (b.debug = true), message: /debug: expected the path to be absent, found true/ },
    { kind: 'min/max', patch: (b) => (b.latencyMs = 500), message: /latencyMs: expected a number between 0 and 100, found 500/ },
    { kind: 'max', patch: (b) => (b.components.queue.depth = 11), message: /components\.queue\.depth: expected a number at most 10, found 11/ },
    { kind: 'index path', patch: (b) => b.nodes.pop(), message: /nodes\[1\]\.id: expected "b", found \(absent\)/ },
  ];
  for (const c of cases) {
    test(`${c.kind}: a changed body fails api_health, naming the path, expected and found`, async () => {
      srv.set(c.patch);
      const r = await api();
      assertFailed(r, c.message, `api_health (${c.kind})`);
      assert.match(r.error!, /health endpoint: 1 of 11 assertion\(s\) failed: /, 'only the broken assertion is listed');
      assert.ok(r.evidence.some((e) => e.kind === 'http' && e.responseBody?.includes('"state"')), 'the exchange, with its body, is the evidence');
    });
  }

  test('freshWithin takes epoch seconds (a number below 1e11) and ISO strings', async () => {
    srv.set((b) => (b.checkedAt = Math.floor(Date.now() / 1000)));
    assertPassed(await api(), 'epoch seconds');
    srv.set((b) => ((b as { checkedAt: unknown }).checkedAt = new Date().toISOString()));
    assertPassed(await api(), 'ISO');
  });

  test('a status other than health.status fails, and every failed assertion is still listed', async () => {
    srv.set((b) => (b.state = 'red'), 503);
    const r = await api();
    assertFailed(r, /health endpoint: answered 503, expected 200; 1 of 11 assertion\(s\) failed: state: expected "green", found "red" — GET \/status/, 'api_health');
    srv.set(() => undefined, 503);
    assertPassed(await api({ status: 503 }), 'health.status 503 expected');
  });

  test('a body that is not JSON fails when there are assertions; without assertions only the status counts', async () => {
    srv.setRaw('<html>ok</html>');
    assertFailed(await api(), /the body is not JSON, so none of the 11 assertion\(s\) could hold: <html>ok<\/html>/, 'api_health');
    assertPassed(await api({ expect: [] }), 'status only');
  });

  test('health.path may be an absolute URL', async () => {
    srv.reset();
    const r = await runCheck(byName(healthChecks(config({ path: `${srv.url}/elsewhere` })), 'api_health'), { kind: 'external', baseUrl: 'http://127.0.0.1:9' }, run);
    assertPassed(r, 'absolute URL');
  });
});

describe('perf run/list: switching health checks off by name, and the phase blocking policy (black-box)', () => {
  let srv: Awaited<ReturnType<typeof startStatusServer>>;
  before(async () => {
    srv = await startStatusServer();
  });
  after(() => srv.close());

  /** A project whose target is the status server (no Redis, no database), with `phases` as source text. */
  const project = (phases = '{}') => {
    const dir = tempDir('perf-health-cli-');
    writeFileSync(
      path.join(dir, 'perf.config.ts'),
      `import { defineConfig } from 'perf-harness';
export default defineConfig({
  target: { baseUrl: ${JSON.stringify(srv.url)} },
  health: { path: '/status', expect: [{ path: 'state', equals: 'green' }], urls: { storage: ${JSON.stringify(`${srv.url}/storage`)} } },
  smoke: { endpoints: [{ name: 'status_public', method: 'GET', path: '/status', auth: false }] },
  phases: ${phases},
});
`,
    );
    return dir;
  };

  test('perf list shows only the checks that exist: no redis_health or db_health without their URLs', async () => {
    const r = await runCli(['list'], { cwd: project() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}api_health {2}GET \/status: 200, 1 assertion\(s\) on the body$/m);
    assert.match(r.stdout, /^ {2}storage_health/m);
    assert.doesNotMatch(r.stdout, /redis_health|db_health/);
  });

  test('phases.health.disable: the check is reported skipped with the reason; an unknown name is a usage error (exit 2)', async () => {
    srv.reset();
    const cwd = project("{ health: { disable: ['storage_health'] } }");
    const r = await runCli(['run', '--phase', 'health'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    const checks = readVerdictFromOutput(cwd, r.stderr).phases[0].checks as { name: string; status: string; error?: string }[];
    assert.deepEqual(
      checks.map((c) => [c.name, c.status, c.error]),
      [
        ['api_health', 'passed', undefined],
        ['storage_health', 'skipped', 'switched off in the config (phases.health.disable)'],
      ],
    );
    const bad = await runCli(['run', '--phase', 'health'], { cwd: project("{ health: { disable: ['redis_health'] } }") });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /phases\.health\.disable: no check named "redis_health" in phase health/);
    assert.match(bad.stderr, /Checks of health: api_health, storage_health/);
  });

  test('a failing health phase skips what follows when blocking (the default), and not when phases.health.blocking is false', async () => {
    srv.set((b) => (b.state = 'red'));
    try {
      const blockingDir = project();
      const blocked = await runCli(['run', '--phase', 'health,smoke'], { cwd: blockingDir });
      assert.equal(blocked.code, 1, blocked.stderr);
      const v = readVerdictFromOutput(blockingDir, blocked.stderr);
      assert.deepEqual(v.phases.map((p: { name: string; status: string }) => [p.name, p.status]), [['health', 'failed'], ['smoke', 'skipped']]);
      assert.equal(v.phases[1].skippedBecause, 'skipped: health failed: api_health');

      const openDir = project('{ health: { blocking: false } }');
      const open = await runCli(['run', '--phase', 'health,smoke'], { cwd: openDir });
      assert.equal(open.code, 1, open.stderr);
      const w = readVerdictFromOutput(openDir, open.stderr);
      assert.equal(w.phases[0].status, 'failed');
      assert.equal(w.phases[0].policy.blocking, false);
      assert.notEqual(w.phases[1].status, 'skipped', 'smoke ran after a non-blocking health failure');
      assert.ok(w.phases[1].checks.length > 0);
    } finally {
      srv.reset();
    }
  });
});

describe('health checks against the real sample-app (its own assertions, from the repo perf.config.ts)', () => {
  let app: TestApp;
  const run = newRun();
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await app.stop();
  });

  const config = () =>
    testConfig({
      target: { baseUrl: app.target.baseUrl, databaseUrl: app.target.databaseUrl, redisUrl: app.target.redisUrl },
      health: { ...repoConfig.health, urls: { storage: `${app.target.baseUrl}/health`, cdn: `${app.target.baseUrl}/public/assets/00000000-0000-4000-8000-000000000000` } },
      database: { tables: { users: {}, brand_kits: {}, jobs: {} } },
    });

  test('one check per part, named as perf list shows them', () => {
    assert.deepEqual(
      healthChecks(config()).map((c) => c.name),
      ['api_health', 'redis_health', 'db_health', 'storage_health', 'cdn_health'],
    );
  });

  test('a healthy target passes api (status, version, fresh timestamp, dependencies up), redis, db and an HTTP dependency', async () => {
    const checks = healthChecks(config());
    const [api, redis, db, storage] = await Promise.all(
      ['api_health', 'redis_health', 'db_health', 'storage_health'].map((n) => runCheck(byName(checks, n), app.target, run)),
    );
    assertPassed(api!, 'api_health');
    assertPassed(redis!, 'redis_health');
    assertPassed(db!, 'db_health');
    assertPassed(storage!, 'storage_health');
    assert.ok(api!.evidence.some((e) => e.kind === 'note' && e.message === '5 of 5 health assertion(s) held'));
    assert.equal(db!.measurements.tables, 3);
    assert.ok(db!.evidence.some((e) => e.kind === 'sql' && /×8 at once/.test(e.query)), 'the pool probe is in the evidence');
    // The unique keys were removed.
    const client = new Redis(TEST_REDIS_URL);
    try {
      assert.deepEqual(await client.keys(`perf:${run.runId}:*`), []);
    } finally {
      client.disconnect();
    }
    // The database URL carries a password: it never reaches evidence.
    assertNoSecrets([api!, redis!, db!], ['s3cret']);
  });

  for (const dependency of ['redis', 'database'] as const) {
    test(`dependencyDown=${dependency}: api_health fails on status 503 and the dependencies.${dependency}.status assertion`, async () => {
      await app.setFaults({ dependencyDown: dependency });
      try {
        const api = await runCheck(byName(healthChecks(config()), 'api_health'), app.target, run);
        assertFailed(api, new RegExp(`answered 503, expected 200; 2 of 5 assertion\\(s\\) failed: status: expected "ok", found "degraded"; ${dependency} up \\(dependencies\\.${dependency}\\.status\\): expected "ok", found "down"`), 'api_health');
      } finally {
        await app.resetFaults();
      }
    });
  }

  test('an endpoint without the expected fields fails api_health, listing each missing path', async () => {
    const r = await runCheck(byName(healthChecks(testConfig({ ...config(), health: { ...repoConfig.health, path: '/brand-kits' } })), 'api_health'), app.target, run);
    assertFailed(
      r,
      /health endpoint: answered 401, expected 200; 5 of 5 assertion\(s\) failed: status: expected "ok", found \(absent\); version: expected a non-empty value, found \(absent\); timestamp: expected a timestamp .* found \(absent\); database up \(dependencies\.database\.status\): expected "ok", found \(absent\); redis up .* — GET \/brand-kits/,
      'api_health',
    );
  });

  test('a missing table, an unreachable Redis or database, and a non-2xx HTTP dependency each fail their check', async () => {
    const port = await closedPort();
    const broken = testConfig({ ...config(), database: { tables: { users: {}, no_such_table: {} } } });
    const checks = healthChecks(broken);
    const [table, redis, db, cdn] = await Promise.all([
      runCheck(byName(checks, 'db_health'), app.target, run),
      runCheck(byName(checks, 'redis_health'), { ...app.target, redisUrl: `redis://127.0.0.1:${port}` }, run),
      runCheck(byName(checks, 'db_health'), { ...app.target, databaseUrl: `postgres://postgres:s3cret@127.0.0.1:${port}/test` }, run),
      runCheck(byName(checks, 'cdn_health'), app.target, run),
    ]);
    assertFailed(table, /1 expected table\(s\) missing: no_such_table/, 'db_health');
    assert.ok(table.correlationIds.length > 0, 'sql evidence carries the session correlation id');
    assert.match(redis.error ?? '', /Redis redis:\/\/127\.0\.0\.1:\d+: connect failed: .*ECONNREFUSED.*correlation id perf-/);
    assert.match(db.error ?? '', /connection failed: .*ECONNREFUSED.*correlation id perf-/);
    assertFailed(cdn, /cdn answered 404, expected 2xx/, 'cdn_health');
    assertNoSecrets([table, redis, db, cdn], ['s3cret']);
  });

  test('errorRate=1 makes an HTTP dependency on the API fail with 500', async () => {
    await app.setFaults({ errorRate: 1 });
    try {
      const checks = healthChecks(config());
      const cdn = await runCheck(byName(checks, 'cdn_health'), app.target, run);
      assertFailed(cdn, /cdn answered 500/, 'cdn_health');
      // /health is exempt from the error fault: api_health still passes.
      assertPassed(await runCheck(byName(checks, 'api_health'), app.target, run), 'api_health');
    } finally {
      await app.resetFaults();
    }
  });
});
