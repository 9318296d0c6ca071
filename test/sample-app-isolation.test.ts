// Isolation between users: through the API (kits, jobs, assets, WebSocket events, 15 users at
// once) and directly in PostgreSQL under row-level security (SET ROLE sample_app_rls), plus the
// database integrity rules perf's db-integrity phase relies on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { RLS_ROLE, startSampleApp, USER_OWNED_TABLES, type SampleAppHandle } from '../sample-app/index.ts';
import { http, openWs, connectWs, isRefusal, signup, waitFor, type TestUser } from './sample-app-helpers.ts';

let app: SampleAppHandle;
let base: string;
let alice: TestUser;
let bob: TestUser;
const owned: Record<string, { kit: string; job: string; assets: string[] }> = {};

async function completedJob(user: TestUser, kitId: string) {
  const job = await http(base, 'POST', '/jobs', { token: user.accessToken, body: { prompt: `job of ${user.email}`, brandKitId: kitId } });
  assert.equal(job.status, 202);
  return waitFor(async () => {
    const res = await http(base, 'GET', `/jobs/${job.body.id}`, { token: user.accessToken });
    return res.body.status === 'completed' ? res.body : null;
  });
}

before(async () => {
  app = await startSampleApp({ timings: { jobStepMs: 30, wsEventDelayMs: 5 }, seed: { users: 2 } });
  base = app.baseUrl;
  [alice, bob] = await Promise.all([signup(base, 'alice'), signup(base, 'bob')]);
  for (const user of [alice, bob]) {
    const kit = await http(base, 'POST', '/brand-kits', { token: user.accessToken, body: { name: `kit of ${user.email}`, colors: ['#101010'] } });
    const job = await completedJob(user, kit.body.id);
    owned[user.id] = { kit: kit.body.id, job: job.id, assets: job.assetIds };
  }
});
after(async () => {
  await app?.stop();
});

describe('through the API', () => {
  test("lists hold only the caller's kits, jobs and assets", async () => {
    for (const [me, them] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      const kits = await http(base, 'GET', '/brand-kits', { token: me.accessToken });
      assert.deepEqual(
        kits.body.items.map((k: { id: string }) => k.id),
        [owned[me.id]!.kit],
      );
      const jobs = await http(base, 'GET', '/jobs', { token: me.accessToken });
      assert.deepEqual(
        jobs.body.items.map((j: { id: string }) => j.id),
        [owned[me.id]!.job],
      );
      const assets = await http(base, 'GET', '/assets', { token: me.accessToken });
      assert.deepEqual(assets.body.items.map((a: { id: string }) => a.id).sort(), [...owned[me.id]!.assets].sort());
      for (const body of [kits.body, jobs.body, assets.body]) {
        assert.ok(!JSON.stringify(body).includes(them.id), "no trace of the other user's id");
      }
    }
  });

  test("another user's ids answer 404 (never 403), and nothing changes", async () => {
    const theirs = owned[bob.id]!;
    const token = alice.accessToken;
    const attempts: [string, string, unknown?][] = [
      ['GET', `/brand-kits/${theirs.kit}`],
      ['PATCH', `/brand-kits/${theirs.kit}`, { name: 'hijacked' }],
      ['DELETE', `/brand-kits/${theirs.kit}`],
      ['GET', `/jobs/${theirs.job}`],
      ['GET', `/assets/${theirs.assets[0]}`],
      ['DELETE', `/assets/${theirs.assets[0]}`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await http(base, method, path, { token, body });
      assert.equal(res.status, 404, `${method} ${path}`);
    }
    const job = await http(base, 'POST', '/jobs', { token, body: { prompt: 'use their kit', brandKitId: theirs.kit } });
    assert.equal(job.status, 422);
    const kit = await http(base, 'GET', `/brand-kits/${theirs.kit}`, { token: bob.accessToken });
    assert.equal(kit.body.name, `kit of ${bob.email}`);
    assert.equal((await http(base, 'GET', `/assets/${theirs.assets[0]}`, { token: bob.accessToken })).status, 200);
    const page = await http(base, 'GET', `/dashboard/brand-kits/${theirs.kit}`, { headers: { accept: 'text/html', cookie: `sample_app_token=${token}` } });
    assert.equal(page.status, 404);
  });

  test('15 users at once: every answer holds only its own data', async () => {
    const users = await Promise.all(Array.from({ length: 15 }, (_, i) => signup(base, `crowd${i}`)));
    await Promise.all(
      users.map((u, i) => Promise.all([0, 1].map((k) => http(base, 'POST', '/brand-kits', { token: u.accessToken, body: { name: `u${i} k${k}` } })))),
    );
    const rounds = await Promise.all(
      users.flatMap((u, i) =>
        Array.from({ length: 4 }, async () => {
          const res = await http(base, 'GET', '/brand-kits', { token: u.accessToken });
          return { i, u, res };
        }),
      ),
    );
    for (const { i, u, res } of rounds) {
      assert.equal(res.status, 200);
      assert.equal(res.body.items.length, 2);
      for (const kit of res.body.items) {
        assert.equal(kit.userId, u.id);
        assert.match(kit.name, new RegExp(`^u${i} `));
      }
    }
  });
});

describe('WebSocket events', () => {
  test("a user's run reaches only that user's sockets; another user cannot join the session", async () => {
    const a = await openWs(app.wsUrl, { token: alice.accessToken });
    const b = await openWs(app.wsUrl, { token: bob.accessToken });
    try {
      const session = (await a.next((m) => m.type === 'session')).sessionId;
      await b.next((m) => m.type === 'session');
      const aSecond = await openWs(app.wsUrl, { token: alice.accessToken, session });
      a.send({ type: 'run', prompt: 'private' });
      b.send({ type: 'run', prompt: 'also private' });
      const aEvents = await a.runEvents();
      const bEvents = await b.runEvents();
      const mirrored = await aSecond.runEvents(aEvents[0].runId);
      assert.ok(aEvents.length > 0 && aEvents.every((e) => e.userId === alice.id && e.sessionId === session));
      assert.ok(bEvents.length > 0 && bEvents.every((e) => e.userId === bob.id));
      assert.equal(mirrored.length, aEvents.length, "the owner's second socket on the session sees the run");
      assert.ok(!b.messages.some((m) => m.userId === alice.id), 'bob saw none of alice events');
      assert.ok(!a.messages.some((m) => m.userId === bob.id), 'alice saw none of bob events');
      const intruder = await connectWs(app.wsUrl, { token: bob.accessToken, session });
      assert.ok(isRefusal(intruder));
      assert.equal(intruder.status, 403);
      await aSecond.close();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('in PostgreSQL', () => {
  let db: pg.Client;
  before(async () => {
    db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
  });
  after(async () => {
    await db?.end();
  });

  async function asUser(userId: string | null, fn: () => Promise<void>) {
    await db.query('BEGIN');
    try {
      await db.query(`SET LOCAL ROLE ${RLS_ROLE}`);
      if (userId) await db.query(`SELECT set_config('app.user_id', $1, true)`, [userId]);
      await fn();
    } finally {
      await db.query('ROLLBACK');
    }
  }

  test('row-level security shows each user only their rows in every user-owned table', async () => {
    const ownerCounts = async (table: string, column: string) =>
      (await db.query<{ owner: string; n: number }>(`SELECT ${column}::text AS owner, count(*)::int AS n FROM ${table} GROUP BY 1`)).rows;
    for (const user of [alice, bob]) {
      await asUser(user.id, async () => {
        for (const [table, column] of Object.entries(USER_OWNED_TABLES)) {
          const rows = await ownerCounts(table, column);
          assert.ok(rows.length > 0, `${table}: the user sees their own rows`);
          assert.deepEqual(
            rows.map((r) => r.owner),
            [user.id],
            `${table}: only ${user.email}'s rows`,
          );
        }
      });
    }
    // Without a user id, nothing is visible.
    await asUser(null, async () => {
      for (const table of Object.keys(USER_OWNED_TABLES)) {
        assert.equal((await db.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n, 0, table);
      }
    });
    // The owner (no SET ROLE) sees both, so the rows really exist.
    const both = await db.query('SELECT count(DISTINCT user_id)::int AS n FROM brand_kits WHERE user_id = ANY($1::uuid[])', [[alice.id, bob.id]]);
    assert.equal(both.rows[0].n, 2);
  });

  test("row-level security refuses writes into another user's rows", async () => {
    await asUser(alice.id, async () => {
      const updated = await db.query(`UPDATE brand_kits SET name = 'x' WHERE id = $1`, [owned[bob.id]!.kit]);
      assert.equal(updated.rowCount, 0);
      const deleted = await db.query('DELETE FROM assets WHERE user_id = $1', [bob.id]);
      assert.equal(deleted.rowCount, 0);
      await db.query('SAVEPOINT s');
      await assert.rejects(db.query(`INSERT INTO brand_kits (user_id, name) VALUES ($1, 'forged')`, [bob.id]), /row-level security/);
      await db.query('ROLLBACK TO SAVEPOINT s');
    });
  });

  test('constraints, triggers and increment_user_usage hold', async () => {
    const reject = async (sql: string, params: unknown[], pattern: RegExp) => {
      await db.query('BEGIN');
      try {
        await assert.rejects(db.query(sql, params), pattern);
      } finally {
        await db.query('ROLLBACK');
      }
    };
    await reject(`INSERT INTO brand_kits (user_id, name, colors) VALUES ($1, 'bad', ARRAY['blue'])`, [alice.id], /brand_kits_colors_hex/);
    await reject(`UPDATE jobs SET status = 'exploded' WHERE id = $1`, [owned[alice.id]!.job], /jobs_status_valid/);
    await reject(`INSERT INTO brand_kits (user_id, name) VALUES ('00000000-0000-4000-8000-00000000dead', 'orphan')`, [], /foreign key/);
    await reject(`INSERT INTO users (email, password_hash) VALUES ($1, 'x')`, [alice.email.toUpperCase()], /users_email_lower_key/);

    const before = (await db.query('SELECT updated_at FROM brand_kits WHERE id = $1', [owned[alice.id]!.kit])).rows[0].updated_at as Date;
    await db.query(`UPDATE brand_kits SET name = name WHERE id = $1`, [owned[alice.id]!.kit]);
    const afterUpdate = (await db.query('SELECT updated_at FROM brand_kits WHERE id = $1', [owned[alice.id]!.kit])).rows[0].updated_at as Date;
    assert.ok(afterUpdate > before, 'updated_at trigger');

    // The app called it when the job completed: 1 job, 2 assets.
    const usage = await db.query<{ kind: string; amount: string }>('SELECT kind, amount FROM usage WHERE user_id = $1 ORDER BY kind', [alice.id]);
    assert.deepEqual(
      usage.rows.map((r) => [r.kind, Number(r.amount)]),
      [
        ['assets', 2],
        ['jobs', 1],
      ],
    );
    const next = await db.query(`SELECT increment_user_usage($1, 'jobs', 3) AS total`, [alice.id]);
    assert.equal(Number(next.rows[0].total), 4);
    const rlsTables = await db.query<{ relname: string }>(
      `SELECT relname FROM pg_class WHERE relrowsecurity AND relnamespace = 'public'::regnamespace ORDER BY relname`,
    );
    assert.deepEqual(
      rlsTables.rows.map((r) => r.relname),
      Object.keys(USER_OWNED_TABLES).sort(),
    );
  });
});
