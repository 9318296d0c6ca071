// The HTTP contract of the sample app, against one real instance (embedded PostgreSQL,
// in-process store): every endpoint's success and error statuses, rate limiting, the 10-kit
// limit, job transitions, correlation ids, pages and cleanup.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { startSampleApp, type SampleAppHandle } from '../sample-app/index.ts';
import { USER_OWNED_TABLES } from '../sample-app/schema.ts';
import { http, signup, uniqueEmail, waitFor, type TestUser } from './sample-app-helpers.ts';

let app: SampleAppHandle;
let base: string;

before(async () => {
  app = await startSampleApp({ timings: { jobStepMs: 60 }, limits: { loginMaxFailuresPerIp: 40 } });
  base = app.baseUrl;
});
after(async () => {
  await app?.stop();
});

describe('health and correlation ids', () => {
  test('GET /health reports version, timestamp and both dependencies', async () => {
    const res = await http(base, 'GET', '/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'ok');
    assert.match(res.body.version, /^\d+\.\d+\.\d+/);
    assert.ok(Math.abs(Date.parse(res.body.timestamp) - Date.now()) < 5_000);
    assert.equal(res.body.dependencies.database.status, 'ok');
    assert.equal(typeof res.body.dependencies.database.latencyMs, 'number');
    assert.deepEqual(
      { status: res.body.dependencies.redis.status, mode: res.body.dependencies.redis.mode },
      { status: 'ok', mode: 'in-process' },
    );
    assert.equal(res.body.storage, 'embedded');
  });

  test('X-Request-Id is echoed when sent, generated otherwise, on success and error answers', async () => {
    const echoed = await http(base, 'GET', '/health', { headers: { 'x-request-id': 'perf-abc.123' } });
    assert.equal(echoed.headers.get('x-request-id'), 'perf-abc.123');
    const generated = await http(base, 'GET', '/brand-kits');
    assert.equal(generated.status, 401);
    assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(generated.body.requestId, generated.headers.get('x-request-id'));
    const notFound = await http(base, 'GET', '/no/such/route', { headers: { 'x-request-id': 'nf-1' } });
    assert.equal(notFound.status, 404);
    assert.equal(notFound.headers.get('x-request-id'), 'nf-1');
    // A hostile id (too long / odd characters) is replaced, not reflected.
    const hostile = await http(base, 'GET', '/health', { headers: { 'x-request-id': 'x'.repeat(300) } });
    assert.notEqual(hostile.headers.get('x-request-id'), 'x'.repeat(300));
  });
});

describe('auth', () => {
  test('signup → 201 with user and tokens; duplicate e-mail (any case) → 409', async () => {
    const email = uniqueEmail('signup');
    const res = await http(base, 'POST', '/auth/signup', { body: { email, password: 'password-1', name: 'Ann' } });
    assert.equal(res.status, 201);
    assert.equal(res.body.user.email, email);
    assert.equal(res.body.user.name, 'Ann');
    assert.equal(res.body.tokenType, 'Bearer');
    assert.ok(res.body.accessToken && res.body.refreshToken);
    const again = await http(base, 'POST', '/auth/signup', { body: { email: email.toUpperCase(), password: 'password-2' } });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'email_taken');
  });

  test('invalid bodies → 422 naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ email: 'not-an-email', password: 'password-1' }, 'email'],
      [{ email: uniqueEmail('x'), password: 'short' }, 'password'],
      [{ password: 'password-1' }, 'email'],
      [{ email: 42, password: 'password-1' }, 'email'],
    ];
    for (const [body, field] of cases) {
      const res = await http(base, 'POST', '/auth/signup', { body });
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.equal(res.body.error, 'validation_failed');
      assert.ok(res.body.fields.some((f: { field: string }) => f.field === field), `${JSON.stringify(res.body.fields)} names ${field}`);
    }
    const malformed = await http(base, 'POST', '/auth/login', { body: '{"email": ', headers: { 'content-type': 'application/json' } });
    assert.equal(malformed.status, 422);
    assert.equal(malformed.body.error, 'invalid_json');
  });

  test('login → 200 tokens; wrong password and unknown account → 401', async () => {
    const user = await signup(base, 'login');
    const ok = await http(base, 'POST', '/auth/login', { body: { email: user.email, password: user.password } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.user.id, user.id);
    assert.ok(ok.body.accessToken);
    const wrong = await http(base, 'POST', '/auth/login', { body: { email: user.email, password: 'nope-nope' } });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_credentials');
    const unknown = await http(base, 'POST', '/auth/login', { body: { email: uniqueEmail('ghost'), password: 'whatever1' } });
    assert.equal(unknown.status, 401);
  });

  test('me → the user; every protected endpoint → 401 without or with a bad token', async () => {
    const user = await signup(base, 'me');
    const me = await http(base, 'GET', '/auth/me', { token: user.accessToken });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, user.email);
    const id = '00000000-0000-4000-8000-000000000000';
    const protectedRoutes: [string, string, unknown?][] = [
      ['GET', '/auth/me'],
      ['DELETE', '/auth/me'],
      ['POST', '/auth/logout'],
      ['GET', '/brand-kits'],
      ['POST', '/brand-kits', { name: 'x' }],
      ['GET', `/brand-kits/${id}`],
      ['PATCH', `/brand-kits/${id}`, { name: 'x' }],
      ['DELETE', `/brand-kits/${id}`],
      ['GET', '/jobs'],
      ['POST', '/jobs', { prompt: 'x' }],
      ['GET', `/jobs/${id}`],
      ['GET', '/assets'],
      ['GET', `/assets/${id}`],
      ['DELETE', `/assets/${id}`],
    ];
    for (const [method, path, body] of protectedRoutes) {
      for (const token of [undefined, 'not-a-jwt', `${user.accessToken.slice(0, -4)}AAAA`, user.refreshToken]) {
        const res = await http(base, method, path, { token, body });
        assert.equal(res.status, 401, `${method} ${path} with token ${String(token).slice(0, 12)}`);
        assert.equal(res.body.error, 'unauthorized');
      }
    }
  });

  test('refresh → new tokens; the old refresh token is then refused; garbage → 401; bad body → 422', async () => {
    const user = await signup(base, 'refresh');
    const first = await http(base, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
    assert.equal(first.status, 200);
    assert.ok(first.body.accessToken && first.body.refreshToken);
    assert.notEqual(first.body.refreshToken, user.refreshToken);
    const me = await http(base, 'GET', '/auth/me', { token: first.body.accessToken });
    assert.equal(me.status, 200);
    const replay = await http(base, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } });
    assert.equal(replay.status, 401);
    assert.equal(replay.body.error, 'invalid_refresh_token');
    const second = await http(base, 'POST', '/auth/refresh', { body: { refreshToken: first.body.refreshToken } });
    assert.equal(second.status, 200);
    assert.equal((await http(base, 'POST', '/auth/refresh', { body: { refreshToken: 'garbage' } })).status, 401);
    assert.equal((await http(base, 'POST', '/auth/refresh', { body: { refreshToken: user.accessToken } })).status, 401);
    assert.equal((await http(base, 'POST', '/auth/refresh', { body: {} })).status, 422);
  });

  test('logout → 204 and that session ends (access and refresh); other sessions live on', async () => {
    const user = await signup(base, 'logout');
    const other = await http(base, 'POST', '/auth/login', { body: { email: user.email, password: user.password } });
    const res = await http(base, 'POST', '/auth/logout', { token: user.accessToken });
    assert.equal(res.status, 204);
    assert.equal((await http(base, 'GET', '/auth/me', { token: user.accessToken })).status, 401);
    assert.equal((await http(base, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } })).status, 401);
    assert.equal((await http(base, 'GET', '/auth/me', { token: other.body.accessToken })).status, 200);
  });

  test('login rate limit: 5 failures per account → 429 with Retry-After, even for the right password', async () => {
    const user = await signup(base, 'limited');
    const bystander = await signup(base, 'bystander');
    for (let i = 0; i < 5; i++) {
      const res = await http(base, 'POST', '/auth/login', { body: { email: user.email, password: `wrong-${i}` } });
      assert.equal(res.status, 401, `attempt ${i + 1}`);
    }
    const limited = await http(base, 'POST', '/auth/login', { body: { email: user.email, password: user.password } });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error, 'too_many_attempts');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // Another account from the same IP is not affected by that account's lockout.
    assert.equal((await http(base, 'POST', '/auth/login', { body: { email: bystander.email, password: bystander.password } })).status, 200);
  });

  test('successful logins never count, and reset the account counter', async () => {
    const user = await signup(base, 'healthy');
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) await http(base, 'POST', '/auth/login', { body: { email: user.email, password: 'bad-password' } });
      assert.equal((await http(base, 'POST', '/auth/login', { body: { email: user.email, password: user.password } })).status, 200);
    }
    for (let i = 0; i < 20; i++) {
      assert.equal((await http(base, 'POST', '/auth/login', { body: { email: user.email, password: user.password } })).status, 200);
    }
  });

  test('DELETE /auth/me → 204: the account and all its rows are gone, every token of it and logging in → 401', async () => {
    const user = await signup(base, 'leaving');
    const second = await http(base, 'POST', '/auth/login', { body: { email: user.email, password: user.password } });
    assert.equal(second.status, 200);
    // A failed login leaves an account counter behind; the deletion must not leave it for a next owner of the e-mail.
    assert.equal((await http(base, 'POST', '/auth/login', { body: { email: user.email, password: 'wrong-password' } })).status, 401);
    const kit = await http(base, 'POST', '/brand-kits', { token: user.accessToken, body: { name: 'leaving kit', colors: ['#112233'] } });
    assert.equal(kit.status, 201);
    const job = await http(base, 'POST', '/jobs', { token: user.accessToken, body: { prompt: 'a farewell card', brandKitId: kit.body.id } });
    assert.equal(job.status, 202);
    const done = await waitFor(async () => {
      const r = await http(base, 'GET', `/jobs/${job.body.id}`, { token: user.accessToken });
      return r.body.status === 'completed' && r.body;
    });
    const assetId: string = done.assetIds[0];
    assert.equal((await http(base, 'GET', `/public/assets/${assetId}`)).status, 200);
    // A bystander's rows must survive.
    const bystander = await signup(base, 'staying');
    await http(base, 'POST', '/brand-kits', { token: bystander.accessToken, body: { name: 'staying kit' } });

    const db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
    const counts = async (userId: string) => {
      const out: Record<string, number> = {};
      for (const [table, column] of Object.entries(USER_OWNED_TABLES)) {
        out[table] = (await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [userId])).rows[0].n;
      }
      return out;
    };
    try {
      const before = await counts(user.id);
      for (const table of Object.keys(USER_OWNED_TABLES)) assert.ok(before[table]! > 0, `the user owns ${table} rows before: ${JSON.stringify(before)}`);
      const bystanderBefore = await counts(bystander.id);

      const res = await http(base, 'DELETE', '/auth/me', { token: user.accessToken });
      assert.equal(res.status, 204, res.text);
      assert.equal(res.text, '');

      assert.deepEqual(await counts(user.id), Object.fromEntries(Object.keys(USER_OWNED_TABLES).map((t) => [t, 0])), 'no row of the account is left');
      assert.equal((await db.query('SELECT count(*)::int AS n FROM assets WHERE job_id = $1', [job.body.id])).rows[0].n, 0);
      assert.deepEqual(await counts(bystander.id), bystanderBefore, "another user's rows are untouched");
    } finally {
      await db.end();
    }
    // Every session of the account ended: both access tokens and the refresh token are refused.
    for (const token of [user.accessToken, second.body.accessToken]) {
      const me = await http(base, 'GET', '/auth/me', { token });
      assert.equal(me.status, 401);
      assert.equal(me.body.error, 'unauthorized');
    }
    assert.equal((await http(base, 'POST', '/auth/refresh', { body: { refreshToken: user.refreshToken } })).status, 401);
    assert.equal((await http(base, 'DELETE', '/auth/me', { token: second.body.accessToken })).status, 401, 'a second deletion is refused like any dead token');
    const login = await http(base, 'POST', '/auth/login', { body: { email: user.email, password: user.password } });
    assert.equal(login.status, 401);
    assert.equal(login.body.error, 'invalid_credentials');
    assert.equal((await http(base, 'GET', `/public/assets/${assetId}`)).status, 404, 'its public assets are gone too');
    assert.equal((await http(base, 'GET', '/auth/me', { token: bystander.accessToken })).status, 200);
    // The e-mail is free again.
    assert.equal((await http(base, 'POST', '/auth/signup', { body: { email: user.email, password: user.password } })).status, 201);
  });

  test('DELETE /auth/me: a seed user → 403 seed_user and nothing is deleted; no credential → 401', async () => {
    const seedUser = app.seedUsers[2]!;
    const login = await http(base, 'POST', '/auth/login', { body: { email: seedUser.email, password: app.seedPassword } });
    assert.equal(login.status, 200);
    const res = await http(base, 'DELETE', '/auth/me', { token: login.body.accessToken });
    assert.equal(res.status, 403);
    assert.equal(res.body.error, 'seed_user');
    assert.ok(res.body.requestId);
    assert.equal((await http(base, 'GET', '/auth/me', { token: login.body.accessToken })).status, 200, 'the session lives on');
    const kits = await http(base, 'GET', '/brand-kits', { token: login.body.accessToken });
    assert.deepEqual(
      kits.body.items.map((k: { id: string }) => k.id),
      seedUser.kits.map((k) => k.id),
    );
    assert.equal((await http(base, 'POST', '/auth/login', { body: { email: seedUser.email, password: app.seedPassword } })).status, 200);

    const anonymous = await http(base, 'DELETE', '/auth/me');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.error, 'unauthorized');
    assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
  });

  test('forgot/reset password: 202 always, link in the admin mailbox, token single-use', async () => {
    const user = await signup(base, 'reset');
    assert.equal((await http(base, 'POST', '/auth/forgot-password', { body: { email: uniqueEmail('nobody') } })).status, 202);
    assert.equal((await http(base, 'POST', '/auth/forgot-password', { body: { email: user.email } })).status, 202);
    const mailbox = await http(app.adminUrl, 'GET', `/mailbox?to=${encodeURIComponent(user.email)}`);
    assert.equal(mailbox.body.items.length, 1);
    const token = new URL(mailbox.body.items[0].link).searchParams.get('token');
    assert.ok(token);
    assert.equal((await http(base, 'POST', '/auth/reset-password', { body: { token, password: 'brand-new-pass' } })).status, 204);
    assert.equal((await http(base, 'POST', '/auth/reset-password', { body: { token, password: 'another-pass' } })).status, 400);
    assert.equal((await http(base, 'POST', '/auth/login', { body: { email: user.email, password: 'brand-new-pass' } })).status, 200);
    assert.equal((await http(base, 'POST', '/auth/reset-password', { body: { token: 'x', password: 'short' } })).status, 422);
  });
});

describe('brand kits', () => {
  let user: TestUser;
  before(async () => {
    user = await signup(base, 'kits');
  });

  test('create, read, list, patch, delete', async () => {
    const created = await http(base, 'POST', '/brand-kits', {
      token: user.accessToken,
      body: { name: '  Launch  ', colors: ['#112233', '#AABBCC'], fonts: ['Inter'] },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.name, 'Launch');
    assert.deepEqual(created.body.colors, ['#112233', '#AABBCC']);
    assert.equal(created.body.userId, user.id);
    const id = created.body.id;
    const got = await http(base, 'GET', `/brand-kits/${id}`, { token: user.accessToken });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, created.body);
    const list = await http(base, 'GET', '/brand-kits', { token: user.accessToken });
    assert.equal(list.status, 200);
    assert.equal(list.body.limit, 10);
    assert.deepEqual(
      list.body.items.map((k: { id: string }) => k.id),
      [id],
    );
    await new Promise((r) => setTimeout(r, 5));
    const patched = await http(base, 'PATCH', `/brand-kits/${id}`, { token: user.accessToken, body: { colors: ['#000000'] } });
    assert.equal(patched.status, 200);
    assert.equal(patched.body.name, 'Launch');
    assert.deepEqual(patched.body.colors, ['#000000']);
    assert.ok(Date.parse(patched.body.updatedAt) > Date.parse(created.body.updatedAt), 'updated_at trigger moved updatedAt');
    assert.equal((await http(base, 'DELETE', `/brand-kits/${id}`, { token: user.accessToken })).status, 204);
    assert.equal((await http(base, 'GET', `/brand-kits/${id}`, { token: user.accessToken })).status, 404);
    assert.equal((await http(base, 'DELETE', `/brand-kits/${id}`, { token: user.accessToken })).status, 404);
  });

  test('invalid bodies → 422 naming the field; unknown and malformed ids → 404', async () => {
    const bad: [string, string, unknown, string][] = [
      ['POST', '/brand-kits', { colors: ['#000000'] }, 'name'],
      ['POST', '/brand-kits', { name: 'x', colors: ['red'] }, 'colors.0'],
      ['POST', '/brand-kits', { name: 'x', colors: '#000000' }, 'colors'],
      ['POST', '/brand-kits', { name: '   ' }, 'name'],
      ['POST', '/brand-kits', { name: 'x'.repeat(101) }, 'name'],
    ];
    for (const [method, path, body, field] of bad) {
      const res = await http(base, method, path, { token: user.accessToken, body });
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.ok(res.body.fields.some((f: { field: string }) => f.field === field), `${JSON.stringify(res.body.fields)} names ${field}`);
    }
    const kit = await http(base, 'POST', '/brand-kits', { token: user.accessToken, body: { name: 'patch me' } });
    assert.equal((await http(base, 'PATCH', `/brand-kits/${kit.body.id}`, { token: user.accessToken, body: {} })).status, 422);
    assert.equal((await http(base, 'PATCH', `/brand-kits/${kit.body.id}`, { token: user.accessToken, body: { colors: ['#12345'] } })).status, 422);
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', "1'; DROP TABLE users; --"]) {
      const path = `/brand-kits/${encodeURIComponent(id)}`;
      assert.equal((await http(base, 'GET', path, { token: user.accessToken })).status, 404, id);
      assert.equal((await http(base, 'PATCH', path, { token: user.accessToken, body: { name: 'y' } })).status, 404, id);
      assert.equal((await http(base, 'DELETE', path, { token: user.accessToken })).status, 404, id);
    }
    await http(base, 'DELETE', `/brand-kits/${kit.body.id}`, { token: user.accessToken });
  });

  test('at most 10 kits per user: the 11th → 409, also when created concurrently', async () => {
    const owner = await signup(base, 'limit');
    const results = await Promise.all(
      Array.from({ length: 14 }, (_, i) => http(base, 'POST', '/brand-kits', { token: owner.accessToken, body: { name: `kit ${i}` } })),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 201).length, 10, statuses.join(','));
    assert.equal(statuses.filter((s) => s === 409).length, 4, statuses.join(','));
    assert.equal(results.find((r) => r.status === 409)!.body.error, 'brand_kit_limit');
    const list = await http(base, 'GET', '/brand-kits', { token: owner.accessToken });
    assert.equal(list.body.total, 10);
    // Deleting one makes room for exactly one more.
    await http(base, 'DELETE', `/brand-kits/${list.body.items[0].id}`, { token: owner.accessToken });
    assert.equal((await http(base, 'POST', '/brand-kits', { token: owner.accessToken, body: { name: 'again' } })).status, 201);
    assert.equal((await http(base, 'POST', '/brand-kits', { token: owner.accessToken, body: { name: 'too many' } })).status, 409);
  });
});

describe('jobs and assets', () => {
  test('a job moves queued → running → completed and yields public assets', async () => {
    const user = await signup(base, 'jobs');
    const kit = await http(base, 'POST', '/brand-kits', { token: user.accessToken, body: { name: 'job kit', colors: ['#FF0000', '#00FF00'] } });
    const created = await http(base, 'POST', '/jobs', { token: user.accessToken, body: { prompt: 'A poster', brandKitId: kit.body.id } });
    assert.equal(created.status, 202);
    assert.equal(created.body.status, 'queued');
    assert.equal(created.body.brandKitId, kit.body.id);
    assert.equal(created.body.assetIds, undefined);
    const seen = new Set<string>();
    const done = await waitFor(async () => {
      const res = await http(base, 'GET', `/jobs/${created.body.id}`, { token: user.accessToken });
      assert.equal(res.status, 200);
      seen.add(res.body.status);
      return res.body.status === 'completed' ? res.body : null;
    }, 5_000, 10);
    assert.deepEqual([...seen].filter((s) => s !== 'completed'), ['queued', 'running'].filter((s) => seen.has(s)));
    assert.ok(seen.has('running'), `saw ${[...seen]}`);
    assert.ok(done.startedAt && done.completedAt);
    assert.equal(done.assetIds.length, 2);

    const list = await http(base, 'GET', '/jobs', { token: user.accessToken });
    assert.equal(list.body.items[0].id, created.body.id);
    assert.deepEqual(list.body.items[0].assetIds, done.assetIds);

    const assets = await http(base, 'GET', '/assets', { token: user.accessToken });
    assert.deepEqual(assets.body.items.map((a: { id: string }) => a.id).sort(), [...done.assetIds].sort());
    const [imageId] = done.assetIds;
    const asset = await http(base, 'GET', `/assets/${imageId}`, { token: user.accessToken });
    assert.equal(asset.status, 200);
    assert.equal(asset.body.jobId, created.body.id);
    const pub = await http(base, 'GET', `/public/assets/${imageId}`);
    assert.equal(pub.status, 200);
    assert.equal(pub.body.id, imageId);
    assert.equal(pub.body.userId, undefined, 'the public view hides the owner');
    const content = await http(base, 'GET', `/public/assets/${imageId}/content`);
    assert.equal(content.status, 200);
    assert.match(content.headers.get('content-type') ?? '', /image\/svg\+xml/);
    assert.match(content.text, /#FF0000/);

    assert.equal((await http(base, 'DELETE', `/assets/${imageId}`, { token: user.accessToken })).status, 204);
    assert.equal((await http(base, 'GET', `/assets/${imageId}`, { token: user.accessToken })).status, 404);
    assert.equal((await http(base, 'GET', `/public/assets/${imageId}`)).status, 404);
    assert.equal((await http(base, 'DELETE', `/assets/${imageId}`, { token: user.accessToken })).status, 404);
    const after = await http(base, 'GET', `/jobs/${created.body.id}`, { token: user.accessToken });
    assert.equal(after.body.assetIds.length, 1);
  });

  test('job errors: 422 on bad bodies and foreign or unknown kits; 404 on unknown ids; public 404s', async () => {
    const user = await signup(base, 'jobs-bad');
    const other = await signup(base, 'jobs-other');
    const foreignKit = await http(base, 'POST', '/brand-kits', { token: other.accessToken, body: { name: 'theirs' } });
    for (const [body, field] of [
      [{}, 'prompt'],
      [{ prompt: '' }, 'prompt'],
      [{ prompt: 'x', brandKitId: 'nope' }, 'brandKitId'],
      [{ prompt: 'x', brandKitId: foreignKit.body.id }, 'brandKitId'],
      [{ prompt: 'x', brandKitId: '00000000-0000-4000-8000-000000000000' }, 'brandKitId'],
    ] as const) {
      const res = await http(base, 'POST', '/jobs', { token: user.accessToken, body });
      assert.equal(res.status, 422, JSON.stringify(body));
      assert.ok(res.body.fields.some((f: { field: string }) => f.field === field), JSON.stringify(res.body));
    }
    assert.equal((await http(base, 'GET', '/jobs/00000000-0000-4000-8000-000000000000', { token: user.accessToken })).status, 404);
    assert.equal((await http(base, 'GET', '/jobs/xyz', { token: user.accessToken })).status, 404);
    assert.equal((await http(base, 'GET', '/public/assets/00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await http(base, 'GET', '/public/assets/not-an-id')).status, 404);
    assert.equal((await http(base, 'GET', '/public/assets/not-an-id/content')).status, 404);
    const jobless = await http(base, 'POST', '/jobs', { token: user.accessToken, body: { prompt: 'no kit', brandKitId: null } });
    assert.equal(jobless.status, 202);
  });
});

describe('pages', () => {
  test('landing page has navigation and the CTA; pages are HTML', async () => {
    const res = await http(base, 'GET', '/', { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.text, /<nav[^>]*data-testid="nav"/);
    assert.match(res.text, /<a[^>]*href="\/signup"[^>]*data-testid="cta"/);
    for (const path of ['/login', '/signup', '/forgot-password', '/reset-password?token=abc']) {
      const page = await http(base, 'GET', path, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200, path);
      assert.match(page.text, /<form data-testid="[a-z]+-form"/, path);
    }
    const js = await http(base, 'GET', '/static/app.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.doesNotThrow(() => new Function(js.text), 'the page script parses');
  });

  test('dashboard pages redirect to /login?next=… without a session, render with the cookie', async () => {
    const user = await signup(base, 'pages');
    const kit = await http(base, 'POST', '/brand-kits', { token: user.accessToken, body: { name: 'Page <kit>', colors: ['#123456'] } });
    const job = await http(base, 'POST', '/jobs', { token: user.accessToken, body: { prompt: 'page job' } });
    const paths = ['/dashboard', '/dashboard/brand-kits', `/dashboard/brand-kits/${kit.body.id}`, `/dashboard/jobs/${job.body.id}`];
    for (const path of paths) {
      const anon = await http(base, 'GET', path, { headers: { accept: 'text/html' } });
      assert.equal(anon.status, 302, path);
      assert.equal(anon.headers.get('location'), `/login?next=${encodeURIComponent(path)}`);
      const expired = await http(base, 'GET', path, { headers: { accept: 'text/html', cookie: 'sample_app_token=garbage' } });
      assert.equal(expired.status, 302, `${path} with a bad cookie`);
      const signedIn = await http(base, 'GET', path, { headers: { accept: 'text/html', cookie: `sample_app_token=${user.accessToken}` } });
      assert.equal(signedIn.status, 200, path);
      assert.match(signedIn.text, new RegExp(`data-testid="nav-user">${user.email.replace(/\./g, '\\.')}<`));
    }
    const editor = await http(base, 'GET', `/dashboard/brand-kits/${kit.body.id}`, { headers: { accept: 'text/html', cookie: `sample_app_token=${user.accessToken}` } });
    assert.match(editor.text, /value="Page &#60;kit&#62;"/, 'names are escaped');
    assert.match(editor.text, /type="color" value="#123456"/);
    const foreign = await http(base, 'GET', '/dashboard/brand-kits/00000000-0000-4000-8000-000000000000', {
      headers: { accept: 'text/html', cookie: `sample_app_token=${user.accessToken}` },
    });
    assert.equal(foreign.status, 404);
    assert.match(foreign.text, /data-testid="not-found"/);
  });

  test('unknown paths → 404 HTML page for browsers, JSON for API clients', async () => {
    const page = await http(base, 'GET', '/definitely/not/here', { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(page.status, 404);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(page.text, /data-testid="not-found"/);
    const api = await http(base, 'GET', '/definitely/not/here');
    assert.equal(api.status, 404);
    assert.equal(api.body.error, 'not_found');
  });
});

describe('seed data and cleanup', () => {
  test('seed users log in with the documented password and own their seed kits', async () => {
    assert.equal(app.seedUsers.length, 20);
    const first = app.seedUsers[0]!;
    assert.equal(first.email, 'seed-user-1@sample.test');
    const login = await http(base, 'POST', '/auth/login', { body: { email: first.email, password: 'seed-password-1' } });
    assert.equal(login.status, 200);
    assert.equal(login.body.user.id, first.id);
    const kits = await http(base, 'GET', '/brand-kits', { token: login.body.accessToken });
    assert.deepEqual(
      kits.body.items.map((k: { id: string }) => k.id),
      first.kits.map((k) => k.id),
    );
  });

  test('per-IP login limit → 429 for every account; cleanup removes non-seed data and resets limits', async () => {
    const seedUser = app.seedUsers[1]!;
    const seedLogin = await http(base, 'POST', '/auth/login', { body: { email: seedUser.email, password: app.seedPassword } });
    await http(base, 'POST', '/brand-kits', { token: seedLogin.body.accessToken, body: { name: 'temporary' } });
    const someone = await signup(base, 'doomed');
    // Failures spread over many accounts (none reaches its own limit) add up per IP (limit 40 here).
    let status = 0;
    for (let i = 0; i < 60 && status !== 429; i++) {
      status = (await http(base, 'POST', '/auth/login', { body: { email: uniqueEmail(`spray${i}`), password: 'whatever1' } })).status;
    }
    assert.equal(status, 429);
    const blocked = await http(base, 'POST', '/auth/login', { body: { email: seedUser.email, password: app.seedPassword } });
    assert.equal(blocked.status, 429, 'the right password is refused while the IP is limited');

    const report = await http(app.adminUrl, 'POST', '/cleanup');
    assert.equal(report.status, 200);
    assert.ok(report.body.deletedUsers >= 1);
    assert.ok(report.body.deletedBrandKits >= 1);
    assert.equal((await http(base, 'POST', '/auth/login', { body: { email: someone.email, password: someone.password } })).status, 401);
    const relogin = await http(base, 'POST', '/auth/login', { body: { email: seedUser.email, password: app.seedPassword } });
    assert.equal(relogin.status, 200, 'limits were reset');
    const kits = await http(base, 'GET', '/brand-kits', { token: relogin.body.accessToken });
    assert.deepEqual(
      kits.body.items.map((k: { name: string }) => k.name),
      seedUser.kits.map((k) => k.name),
    );
  });
});
