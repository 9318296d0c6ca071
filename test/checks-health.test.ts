import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { healthChecks } from '../src/checks/health.ts';
import type { ResolvedTarget } from '../src/checks/types.ts';
import { assertFailed, assertNoSecrets, assertPassed, byName, closedPort, newRun, runCheck, startTestApp, testConfig, TEST_REDIS_URL, type TestApp } from './checks-helpers.ts';

describe('health checks', () => {
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
      health: { urls: { storage: `${app.target.baseUrl}/health`, cdn: `${app.target.baseUrl}/public/assets/00000000-0000-4000-8000-000000000000` } },
      database: { tables: { users: {}, brand_kits: {}, jobs: {} } },
    });

  test('one check per part, named as perf list shows them', () => {
    assert.deepEqual(
      healthChecks(config()).map((c) => c.name),
      ['api_health', 'redis_health', 'db_health', 'storage_health', 'cdn_health'],
    );
  });

  test('a healthy target passes api, redis (direct), db (direct) and an HTTP dependency', async () => {
    const checks = healthChecks(config());
    const [api, redis, db, storage] = await Promise.all(
      ['api_health', 'redis_health', 'db_health', 'storage_health'].map((n) => runCheck(byName(checks, n), app.target, run)),
    );
    assertPassed(api!, 'api_health');
    assertPassed(redis!, 'redis_health');
    assertPassed(db!, 'db_health');
    assertPassed(storage!, 'storage_health');
    assert.equal(redis!.measurements.mode, 'direct');
    assert.equal(db!.measurements.mode, 'direct');
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

  test('without Redis and database URLs, redis_health and db_health read the health endpoint and say so', async () => {
    const target: ResolvedTarget = { kind: 'external', baseUrl: app.target.baseUrl };
    const checks = healthChecks(config());
    const redis = await runCheck(byName(checks, 'redis_health'), target, run);
    const db = await runCheck(byName(checks, 'db_health'), target, run);
    assertPassed(redis, 'redis_health via endpoint');
    assertPassed(db, 'db_health via endpoint');
    assert.equal(redis.measurements.mode, 'health-endpoint (redis mode: redis)');
    assert.ok(redis.evidence.some((e) => e.kind === 'note' && /no Redis URL configured/.test(e.message)));
  });

  for (const dependency of ['redis', 'database'] as const) {
    test(`dependencyDown=${dependency}: api_health fails naming it; the endpoint-mode check fails too`, async () => {
      await app.setFaults({ dependencyDown: dependency });
      try {
        const checks = healthChecks(config());
        const api = await runCheck(byName(checks, 'api_health'), app.target, run);
        assertFailed(api, new RegExp(`answered 503, expected 200.*dependency ${dependency} is down`), 'api_health');
        const viaEndpoint = await runCheck(byName(checks, dependency === 'redis' ? 'redis_health' : 'db_health'), { kind: 'external', baseUrl: app.target.baseUrl }, run);
        assertFailed(viaEndpoint, new RegExp(`reports ${dependency} down`), `${dependency} check via endpoint`);
      } finally {
        await app.resetFaults();
      }
    });
  }

  test('a health endpoint without the expected fields fails api_health, listing each missing field', async () => {
    const r = await runCheck(byName(healthChecks(testConfig({ health: { path: '/brand-kits' } })), 'api_health'), app.target, run);
    assertFailed(
      r,
      /health endpoint: answered 401, expected 200; status is undefined, expected "ok"; version is undefined, expected a non-empty string; timestamp is undefined, expected an ISO date; dependency database is not reported; dependency redis is not reported — GET \/brand-kits/,
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
