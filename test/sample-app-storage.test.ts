// Both storage modes: an external PostgreSQL (DATABASE_URL, a fresh database on 127.0.0.1:5432)
// with Redis (REDIS_URL, 127.0.0.1:6379), and the embedded PostgreSQL with in-process state;
// plus start failures that must leave nothing behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startSampleApp, type SampleAppHandle } from '../sample-app/index.ts';
import { http, openWs, signup, waitFor } from './sample-app-helpers.ts';

const SERVER_URL = process.env.SAMPLE_APP_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.SAMPLE_APP_TEST_REDIS ?? 'redis://127.0.0.1:6379';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Data folders of embedded servers started by this process. */
function ourDataDirs(): string[] {
  return ['/dev/shm', os.tmpdir()]
    .filter((d) => existsSync(d))
    .flatMap((d) => readdirSync(d).filter((n) => n.startsWith(`sample-app-pg-${process.pid}-`)).map((n) => path.join(d, n)));
}

describe('DATABASE_URL and REDIS_URL', () => {
  const dbName = `sample_app_test_${randomBytes(4).toString('hex')}`;
  let admin: pg.Client;
  let databaseUrl: string;
  let redis: Redis;
  let one: SampleAppHandle;
  let two: SampleAppHandle;

  before(async () => {
    admin = new pg.Client({ connectionString: SERVER_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(SERVER_URL);
    url.pathname = `/${dbName}`;
    databaseUrl = url.toString();
    redis = new Redis(REDIS_URL);
    // Two instances at once on one fresh database: the migration runs under an advisory lock.
    const started = await Promise.all(
      [1, 2].map(() => startSampleApp({ databaseUrl, redisUrl: REDIS_URL, seed: { users: 3 }, timings: { jobStepMs: 30, wsEventDelayMs: 2 } })),
    );
    [one, two] = [started[0]!, started[1]!];
  });
  after(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    redis?.disconnect();
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
  });

  test('health reports external storage and Redis mode', async () => {
    for (const app of [one, two]) {
      assert.equal(app.storage, 'external');
      assert.equal(app.databaseUrl, databaseUrl);
      const res = await http(app.baseUrl, 'GET', '/health?fresh=1');
      assert.equal(res.status, 200);
      assert.equal(res.body.storage, 'external');
      assert.deepEqual([res.body.dependencies.redis.status, res.body.dependencies.redis.mode], ['ok', 'redis']);
    }
    assert.notEqual(one.redisPrefix, two.redisPrefix, 'each instance has its own key prefix');
  });

  test('the schema landed once in the shared database', async () => {
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      assert.equal((await db.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n, 1);
      const tables = await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`);
      assert.deepEqual(
        tables.rows.map((r) => r.tablename),
        ['assets', 'audit', 'brand_kits', 'jobs', 'schema_migrations', 'sessions', 'usage', 'users'],
      );
      assert.equal((await db.query('SELECT count(*)::int AS n FROM users WHERE is_seed')).rows[0].n, 3);
    } finally {
      await db.end();
    }
  });

  test('sessions and login counters live in Redis under the instance prefix', async () => {
    const user = await signup(one.baseUrl, 'redis');
    const sessions = await redis.keys(`${one.redisPrefix}session:*`);
    assert.equal(sessions.length, 1);
    assert.equal(await redis.hget(sessions[0]!, 'userId'), user.id);
    assert.ok((await redis.pttl(sessions[0]!)) > 0, 'sessions expire');
    assert.deepEqual(await redis.keys(`${two.redisPrefix}session:*`), [], 'the other instance has none');
    await http(one.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: 'wrong-password' } });
    const counter = `${one.redisPrefix}counter:login:account:${user.email}`;
    assert.equal(await redis.get(counter), '1');
    const ttl = await redis.pttl(counter);
    assert.ok(ttl > 0 && ttl <= 60_000, `window ${ttl}`);
    assert.equal((await http(one.baseUrl, 'POST', '/auth/logout', { token: user.accessToken })).status, 204);
    assert.deepEqual(await redis.keys(`${one.redisPrefix}session:*`), [], 'logout deletes the session');
  });

  test('DELETE /auth/me removes the account\'s Redis sessions and login counter; the seed user stays (403)', async () => {
    const user = await signup(one.baseUrl, 'redis-leaving');
    const again = await http(one.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: user.password } });
    assert.equal(again.status, 200);
    await http(one.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: 'wrong-password' } });
    const counter = `${one.redisPrefix}counter:login:account:${user.email}`;
    assert.equal(await redis.get(counter), '1');
    const userSessions = async () => {
      const keys = await redis.keys(`${one.redisPrefix}session:*`);
      const owners = await Promise.all(keys.map((k) => redis.hget(k, 'userId')));
      return keys.filter((_, i) => owners[i] === user.id);
    };
    assert.equal((await userSessions()).length, 2);
    assert.equal((await http(one.baseUrl, 'DELETE', '/auth/me', { token: user.accessToken })).status, 204);
    assert.deepEqual(await userSessions(), [], 'both sessions are gone from Redis');
    assert.equal(await redis.get(counter), null, 'the login counter is gone');
    assert.equal((await http(one.baseUrl, 'GET', '/auth/me', { token: again.body.accessToken })).status, 401);
    assert.equal((await http(one.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: user.password } })).status, 401);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      assert.equal((await db.query('SELECT count(*)::int AS n FROM users WHERE id = $1', [user.id])).rows[0].n, 0);
      assert.equal((await db.query('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [user.id])).rows[0].n, 0);
    } finally {
      await db.end();
    }
    const seedUser = one.seedUsers[0]!;
    const seedLogin = await http(two.baseUrl, 'POST', '/auth/login', { body: { email: seedUser.email, password: two.seedPassword } });
    const refused = await http(two.baseUrl, 'DELETE', '/auth/me', { token: seedLogin.body.accessToken });
    assert.deepEqual([refused.status, refused.body.error], [403, 'seed_user']);
  });

  test('data written through one instance is read through the other; jobs run from the Redis queue', async () => {
    const user = await signup(one.baseUrl, 'shared');
    const kit = await http(one.baseUrl, 'POST', '/brand-kits', { token: user.accessToken, body: { name: 'shared kit' } });
    const viaTwo = await http(two.baseUrl, 'POST', '/auth/login', { body: { email: user.email, password: user.password } });
    assert.equal(viaTwo.status, 200);
    const kits = await http(two.baseUrl, 'GET', '/brand-kits', { token: viaTwo.body.accessToken });
    assert.deepEqual(
      kits.body.items.map((k: { id: string }) => k.id),
      [kit.body.id],
    );
    const job = await http(two.baseUrl, 'POST', '/jobs', { token: viaTwo.body.accessToken, body: { prompt: 'queued in redis' } });
    const done = await waitFor(async () => {
      const res = await http(two.baseUrl, 'GET', `/jobs/${job.body.id}`, { token: viaTwo.body.accessToken });
      return res.body.status === 'completed' ? res.body : null;
    });
    assert.equal(done.assetIds.length, 2);
    assert.equal(await redis.llen(`${two.redisPrefix}queue:jobs`), 0);
    // A token of one instance means nothing to the other (own secret, own session store).
    assert.equal((await http(one.baseUrl, 'GET', '/auth/me', { token: viaTwo.body.accessToken })).status, 401);
  });

  test('WebSocket history is kept in Redis', async () => {
    const user = await signup(one.baseUrl, 'wsredis');
    const ws = await openWs(one.wsUrl, { token: user.accessToken });
    const { sessionId } = await ws.next((m) => m.type === 'session');
    ws.send({ type: 'run', prompt: 'persist' });
    const events = await ws.runEvents();
    await ws.close();
    assert.equal(await redis.llen(`${one.redisPrefix}ws-events:${sessionId}`), events.length);
    const again = await openWs(one.wsUrl, { token: user.accessToken, session: sessionId });
    assert.deepEqual((await again.next((m) => m.type === 'history')).events, events);
    await again.close();
  });

  test('a restarted instance finds the schema applied and the seed users in place; stop removes its Redis keys', async () => {
    const prefix = two.redisPrefix!;
    assert.ok((await redis.keys(`${prefix}*`)).length > 0);
    await two.stop();
    assert.deepEqual(await redis.keys(`${prefix}*`), [], 'generated prefix cleaned up');
    two = await startSampleApp({ databaseUrl, redisUrl: REDIS_URL, seed: { users: 3 } });
    const login = await http(two.baseUrl, 'POST', '/auth/login', { body: { email: two.seedUsers[0]!.email, password: two.seedPassword } });
    assert.equal(login.status, 200);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      assert.equal((await db.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n, 1);
      assert.equal((await db.query('SELECT count(*)::int AS n FROM users WHERE is_seed')).rows[0].n, 3);
    } finally {
      await db.end();
    }
  });
});

describe('embedded PostgreSQL', () => {
  test('starts a real server on a loopback port; stop shuts it down and deletes its data', async () => {
    const app = await startSampleApp({ seed: false });
    let dataDir = '';
    let postmasterPid = 0;
    let port = 0;
    try {
      assert.equal(app.storage, 'embedded');
      const url = new URL(app.databaseUrl);
      assert.equal(url.hostname, '127.0.0.1');
      port = Number(url.port);
      const db = new pg.Client({ connectionString: app.databaseUrl });
      await db.connect();
      try {
        dataDir = (await db.query('SHOW data_directory')).rows[0].data_directory;
        assert.match((await db.query('SHOW server_version')).rows[0].server_version, /^\d+/);
        assert.equal((await db.query('SELECT current_database() AS d')).rows[0].d, 'sample_app');
      } finally {
        await db.end();
      }
      postmasterPid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      assert.ok(pidAlive(postmasterPid));
      assert.ok(ourDataDirs().includes(dataDir));
    } finally {
      await app.stop();
    }
    assert.ok(!pidAlive(postmasterPid), 'postgres exited');
    assert.ok(!existsSync(dataDir), 'data folder removed');
    const probe = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: 'sample-app', database: 'sample_app', connectionTimeoutMillis: 1000 });
    await assert.rejects(probe.connect());
    await app.stop(); // idempotent
  });
});

describe('start failures', () => {
  test('an unreachable Redis fails the start with a clear error and leaves no embedded server behind', async () => {
    const before = ourDataDirs();
    await assert.rejects(startSampleApp({ redisUrl: 'redis://127.0.0.1:1', seed: false }), /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    assert.deepEqual(ourDataDirs(), before);
  });

  test('an unreachable DATABASE_URL fails the start with a clear error, password redacted', async () => {
    await assert.rejects(
      startSampleApp({ databaseUrl: 'postgres://someone:secret@127.0.0.1:1/nowhere', seed: false }),
      (error: Error) => /cannot connect to PostgreSQL at postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1/.test(error.message) && !error.message.includes('secret'),
    );
  });

  test('invalid faults fail before anything starts', async () => {
    await assert.rejects(startSampleApp({ faults: { errorRate: 3 } as never }), /errorRate/);
  });
});
