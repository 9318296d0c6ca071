// After-load reconciliation (src/checks/db-reconcile.ts) against the real sample-app on
// the real PostgreSQL: first called directly, with the counters a load would have kept from the
// answers it got (so each fault is shown deterministically), then on tables named
// `schema.table` (PostgreSQL only, no app), then end to end on real k6.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { dbReconcileChecks, loadUserIdentities, type LoadCounters } from '../src/checks/db-reconcile.ts';
import { identityFor } from '../src/auth/users.ts';
import perfConfig from '../perf.config.ts';
import { assertPassed, assertSkipped, byName, newRun, runCheck, startTestApp, testConfig, trackedRuns, withDb, TEST_DATABASE_URL, type TestApp, type TestRun } from './checks-helpers.ts';
import type { ResolvedTarget } from '../src/checks/types.ts';
import { configProject, readVerdictFromOutput, runCli } from './helpers.ts';

const config = testConfig(perfConfig);

interface LoadUser {
  id: string;
  token: string;
}

/** A load user of `run` with the identity perf's `auth` gives label `vu<n>` (what k6's session() signs up), signed up through the API. */
async function loadUser(app: TestApp, run: TestRun, vu: number): Promise<LoadUser> {
  const { email, password } = identityFor(config.auth, run.runId, run.seed, `vu${vu}`);
  const res = await fetch(`${app.target.baseUrl}/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await res.json()) as { user: { id: string }; accessToken: string };
  assert.equal(res.status, 201, JSON.stringify(body));
  return { id: body.user.id, token: body.accessToken };
}

async function api(app: TestApp, user: LoadUser, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${app.target.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${user.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Counts like the multi-user scenario does: what the API answered as created or deleted. */
class Counters implements LoadCounters {
  created: Record<string, number> = {};
  deleted: Record<string, number> = {};
  add(which: 'created' | 'deleted', kind: string, n = 1): void {
    this[which][kind] = (this[which][kind] ?? 0) + n;
  }
}

async function createKits(app: TestApp, user: LoadUser, n: number, counters: Counters): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await api(app, user, 'POST', '/brand-kits', { name: `reconcile kit ${i}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    counters.add('created', 'kit');
    ids.push(r.body.id);
  }
  return ids;
}

async function deleteLoadUsers(runId: string): Promise<void> {
  await withDb((db) => db.query('DELETE FROM users WHERE email LIKE $1', [`perf-vu%-${runId}@perf.test`]));
}

describe('reconciliation checks on the real sample-app', () => {
  let app: TestApp;
  const { fresh, cleanup } = trackedRuns(deleteLoadUsers);
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await cleanup();
    await app.stop();
  });

  test('healthy: every kind, the parent links and isolation are reconciled and pass, each having checked rows', async () => {
    const run = fresh();
    const counters = new Counters();
    for (const vu of [1, 2]) {
      const user = await loadUser(app, run, vu);
      const [keep, drop] = await createKits(app, user, 2, counters);
      assert.equal((await api(app, user, 'DELETE', `/brand-kits/${drop}`)).status, 204);
      counters.add('deleted', 'kit');
      const job = await api(app, user, 'POST', '/jobs', { prompt: 'reconcile', brandKitId: keep });
      assert.equal(job.status, 202);
      counters.add('created', 'job');
      let status = job.body;
      for (let i = 0; i < 50 && status.status !== 'completed'; i++) {
        await sleep(50);
        status = (await api(app, user, 'GET', `/jobs/${job.body.id}`)).body;
      }
      assert.equal(status.status, 'completed');
      counters.add('created', 'asset', status.assetIds.length);
    }
    const checks = dbReconcileChecks(config, () => counters);
    assert.deepEqual(checks.map((c) => c.name), ['reconcile_kit', 'reconcile_job', 'reconcile_asset', 'reconcile_orphans', 'reconcile_isolation']);
    for (const c of checks) {
      const r = await runCheck(c, app.target, run);
      assertPassed(r, c.name);
      if (c.name === 'reconcile_kit') assert.deepEqual([r.measurements.kit_expected, r.measurements.kit_found], [2, 2]);
      if (c.name === 'reconcile_orphans') {
        const checked = r.measurements.rows_checked as Record<string, number>;
        assert.deepEqual(checked, { 'assets.job_id': counters.created.asset, 'jobs.brand_kit_id': 2 });
      }
    }
  });

  test('lostWriteRate: every kit answered 201 but none stored fails reconcile_kit as lost writes', async () => {
    const run = fresh();
    const counters = new Counters();
    const user = await loadUser(app, run, 1);
    await app.setFaults({ lostWriteRate: 1 });
    try {
      await createKits(app, user, 3, counters);
    } finally {
      await app.resetFaults();
    }
    const r = await runCheck(byName(dbReconcileChecks(config, () => counters), 'reconcile_kit'), app.target, run);
    assert.equal(r.passed, false, 'reconcile_kit must fail when answered writes were never stored');
    assert.match(r.error!, /^brand_kits: 0 row\(s\) for the load users, expected 3 \(3 created − 0 deleted by the load\): writes were lost$/);
  });

  test('duplicateWriteRate: every kit stored twice fails reconcile_kit as duplicates', async () => {
    const run = fresh();
    const counters = new Counters();
    const user = await loadUser(app, run, 1);
    await app.setFaults({ duplicateWriteRate: 1 });
    let ids: string[];
    try {
      ids = await createKits(app, user, 2, counters);
    } finally {
      await app.resetFaults();
    }
    // The API shows the duplicates too: the answer named one row, the list holds two per kit.
    const list = await api(app, user, 'GET', '/brand-kits');
    assert.equal(list.body.items.length, 4);
    assert.ok(ids.every((id) => list.body.items.some((k: { id: string }) => k.id === id)));
    const r = await runCheck(byName(dbReconcileChecks(config, () => counters), 'reconcile_kit'), app.target, run);
    assert.equal(r.passed, false, 'reconcile_kit must fail on duplicate rows');
    assert.match(r.error!, /^brand_kits: 4 row\(s\) for the load users, expected 2 \(2 created − 0 deleted by the load\): duplicates/);
  });

  test('load users are found by exact identity: an account that only looks like one (vu1x) is not counted', async () => {
    const run = fresh();
    const counters = new Counters();
    const user = await loadUser(app, run, 1);
    await createKits(app, user, 1, counters);
    // Same shape, not an identity perf gave a load user: its kit must not be counted.
    const res = await fetch(`${app.target.baseUrl}/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: `perf-vu1x-${run.runId}@perf.test`, password: 'lookalike-password-1' }),
    });
    const body = (await res.json()) as { accessToken: string; user: { id: string } };
    assert.equal(res.status, 201);
    await createKits(app, { id: body.user.id, token: body.accessToken }, 1, new Counters());
    const r = await runCheck(byName(dbReconcileChecks(config, () => counters), 'reconcile_kit'), app.target, run);
    assertPassed(r, 'reconcile_kit');
    assert.deepEqual([r.measurements.kit_expected, r.measurements.kit_found], [1, 1]);
    // No perf_test_users_created counter (users made here, not by session()): the guessed range, said so.
    assert.ok(r.evidence.some((e) => e.kind === 'note' && /^load users: the load counted none on perf_test_users_created\{label\} .*vu0 … vu\d+$/.test(e.message)), JSON.stringify(r.evidence.filter((e) => e.kind === 'note')));
    // With the counter, exactly the labels counted: vu1 is not among them, so its kit is not the load's.
    const other = await runCheck(byName(dbReconcileChecks(config, () => ({ ...counters, loadUsers: ['vu2'] })), 'reconcile_kit'), app.target, run);
    assert.equal(other.passed, false);
    assert.match(other.error!, /^brand_kits: 0 row\(s\) for the load users, expected 1/);
  });

  test('nothing to reconcile is skipped with the reason, never passed; rows nobody counted still fail', async () => {
    const run = fresh();
    const counters = new Counters();
    const noRls = testConfig({ ...perfConfig, database: { ...perfConfig.database, rls: undefined } });
    const checks = dbReconcileChecks(noRls, () => counters);
    assertSkipped(await runCheck(byName(checks, 'reconcile_job'), app.target, run), /^the load created no job \(k6 counter resources_created\{kind:job\} is 0 or absent\) and jobs holds no row of a load user/, 'reconcile_job');
    assertSkipped(await runCheck(byName(checks, 'reconcile_orphans'), app.target, run), /^no child row of a load user links to a parent \(assets\.job_id, jobs\.brand_kit_id\)/, 'reconcile_orphans');
    assertSkipped(await runCheck(byName(checks, 'reconcile_isolation'), app.target, run), /^database\.rls is not configured/, 'reconcile_isolation');
    const withRls = dbReconcileChecks(config, () => counters);
    assertSkipped(await runCheck(byName(withRls, 'reconcile_isolation'), app.target, run), /^found 0 load user\(s\) of this run in users\.email; isolation needs two/, 'reconcile_isolation without load users');
    // A kit the load never counted (created = 0, one row) is not "nothing to reconcile".
    const user = await loadUser(app, run, 1);
    await createKits(app, user, 1, new Counters());
    const r = await runCheck(byName(checks, 'reconcile_kit'), app.target, run);
    assert.equal(r.passed, false);
    assert.equal(r.skipped, undefined);
    assert.match(r.error!, /1 row\(s\) for the load users, expected 0/);
  });
});

describe('reconciliation of schema-qualified tables (schema.table), on PostgreSQL alone', () => {
  // Own schema (and an RLS role) per run: accounts, notes, and comments linking to notes.
  const schema = `perf_rc_${randomBytes(4).toString('hex')}`;
  const role = `${schema}_rls`;
  const target: ResolvedTarget = { kind: 'external', baseUrl: 'http://127.0.0.1:9', databaseUrl: TEST_DATABASE_URL };
  const run = newRun();
  const reconcile = (over: Record<string, unknown> = {}, rls = true) =>
    testConfig({
      database: {
        ...(rls ? { rls: { role, table: `${schema}.notes` } } : {}),
        reconcile: {
          usersTable: `${schema}.accounts`,
          resources: { note: `${schema}.notes` },
          parents: { [`${schema}.comments`]: { note_id: `${schema}.notes` } },
          ...over,
        },
      },
    });
  // What the load counted: 3 notes created, 1 deleted, by vu1 and vu2.
  const counters: LoadCounters = { created: { note: 3 }, deleted: { note: 1 }, loadUsers: ['vu1', 'vu2'] };

  before(async () => {
    const [vu1, vu2] = loadUserIdentities(testConfig(), run.runId, ['vu1', 'vu2']);
    await withDb(async (db) => {
      await db.query(`CREATE SCHEMA ${schema}`);
      await db.query(`CREATE ROLE ${role}`);
      await db.query(`CREATE TABLE ${schema}.accounts (id text PRIMARY KEY, email text NOT NULL)`);
      await db.query(`CREATE TABLE ${schema}.notes (id text PRIMARY KEY, user_id text NOT NULL REFERENCES ${schema}.accounts)`);
      await db.query(`CREATE TABLE ${schema}.comments (id text PRIMARY KEY, user_id text NOT NULL, note_id text)`);
      await db.query(`ALTER TABLE ${schema}.notes ENABLE ROW LEVEL SECURITY`);
      await db.query(`CREATE POLICY own ON ${schema}.notes USING (user_id = current_setting('app.user_id', true))`);
      await db.query(`GRANT USAGE ON SCHEMA ${schema} TO ${role}; GRANT SELECT ON ${schema}.notes TO ${role}`);
      // u3 only looks like a load user (another run's identity): its rows are not the load's.
      await db.query(`INSERT INTO ${schema}.accounts VALUES ('u1', $1), ('u2', $2), ('u3', $3)`, [vu1, vu2, `x${vu1}`]);
      await db.query(`INSERT INTO ${schema}.notes VALUES ('n1', 'u1'), ('n2', 'u2'), ('n3', 'u3')`);
      await db.query(`INSERT INTO ${schema}.comments VALUES ('c1', 'u1', 'n1'), ('c2', 'u2', 'n2'), ('c3', 'u2', NULL)`);
    });
  });
  after(async () => {
    await withDb(async (db) => {
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.query(`DROP ROLE IF EXISTS ${role}`);
    });
  });

  test('qualified usersTable, resources and parents: every check passes, having checked rows', async () => {
    const checks = dbReconcileChecks(reconcile(), () => counters);
    assert.deepEqual(checks.map((c) => c.name), ['reconcile_note', 'reconcile_orphans', 'reconcile_isolation']);
    const note = await runCheck(byName(checks, 'reconcile_note'), target, run);
    assertPassed(note, 'reconcile_note');
    assert.deepEqual([note.measurements.note_expected, note.measurements.note_found], [2, 2]);
    const orphans = await runCheck(byName(checks, 'reconcile_orphans'), target, run);
    assertPassed(orphans, 'reconcile_orphans');
    assert.deepEqual(orphans.measurements.rows_checked, { [`${schema}.comments.note_id`]: 2 });
    assertPassed(await runCheck(byName(checks, 'reconcile_isolation'), target, run), 'reconcile_isolation');
  });

  test('qualified tables: a wrong count, a cross-user link and a leaking policy fail, naming the table', async () => {
    const r = await runCheck(byName(dbReconcileChecks(reconcile(), () => ({ ...counters, deleted: {} })), 'reconcile_note'), target, run);
    assert.equal(r.passed, false);
    assert.equal(r.skipped, undefined);
    assert.equal(r.error, `${schema}.notes: 2 row(s) for the load users, expected 3 (3 created − 0 deleted by the load): writes were lost`);
    // u2's comment on u1's note; a policy letting everyone see every note.
    await withDb((db) => db.query(`INSERT INTO ${schema}.comments VALUES ('bad', 'u2', 'n1'); CREATE POLICY leak ON ${schema}.notes USING (true)`));
    try {
      const checks = dbReconcileChecks(reconcile(), () => counters);
      const orphans = await runCheck(byName(checks, 'reconcile_orphans'), target, run);
      assert.equal(orphans.error, `1 ${schema}.comments row(s) whose note_id points at a missing ${schema}.notes row or one of another user`);
      const isolation = await runCheck(byName(checks, 'reconcile_isolation'), target, run);
      assert.equal(isolation.error, `as ${role} with app.user_id = load user A: ${schema}.notes: 1 of 1 rows of load user B visible to load user A`);
    } finally {
      await withDb((db) => db.query(`DELETE FROM ${schema}.comments WHERE id = 'bad'; DROP POLICY leak ON ${schema}.notes`));
    }
  });

  test('a missing qualified table fails each check that reads it, naming the option, not with a PostgreSQL error', async () => {
    const missing = (over: Record<string, unknown>, name: string) => runCheck(byName(dbReconcileChecks(reconcile(over), () => counters), name), target, run);
    const memo = await missing({ resources: { note: `${schema}.notes`, memo: `${schema}.memos` } }, 'reconcile_memo');
    assert.equal(memo.error, `database.reconcile.resources.memo: table ${schema}.memos does not exist`);
    assert.equal(memo.skipped, undefined);
    // Isolation reads every resource table, too.
    const isolation = await missing({ resources: { note: `${schema}.notes`, memo: `${schema}.memos` } }, 'reconcile_isolation');
    assert.equal(isolation.error, `database.reconcile.resources.memo: table ${schema}.memos does not exist`);
    // The schema exists, the table does not; the schema does not exist either.
    assert.equal((await missing({ usersTable: `${schema}.users` }, 'reconcile_note')).error, `database.reconcile.usersTable: table ${schema}.users does not exist`);
    assert.equal((await missing({ usersTable: `${schema}_none.accounts` }, 'reconcile_note')).error, `database.reconcile.usersTable: table ${schema}_none.accounts does not exist`);
    // Parents: the child (a key) and the parent (a value), both named.
    const parents = await missing({ parents: { [`${schema}.replies`]: { comment_id: `${schema}.comments` }, [`${schema}.comments`]: { note_id: `${schema}.posts` } } }, 'reconcile_orphans');
    assert.equal(
      parents.error,
      `database.reconcile.parents.${schema}.replies: table ${schema}.replies does not exist; database.reconcile.parents.${schema}.comments.note_id: table ${schema}.posts does not exist`,
    );
    // The table is found as the SQL names it, each part quoted: `Notes` is not `notes`.
    assert.equal((await missing({ resources: { note: `${schema}.Notes` } }, 'reconcile_note')).error, `database.reconcile.resources.note: table ${schema}.Notes does not exist`);
    assert.equal((await missing({ resources: { note: `${schema}.` } }, 'reconcile_note')).error, `database.reconcile.resources.note: "${schema}." is not a table name (table or schema.table)`);
  });
});

describe('reconciliation after a real k6 load', () => {
  // Only db-integrity and load (after-load reconciliation runs with them), one scenario, short.
  // The fault is on from the start, so the pre-load db-integrity (whose RLS proof creates kits
  // through the API) may fail too: made non-blocking so that the load still runs.
  const loadWith = async (faults: string) => {
    const cwd = configProject(`sampleApp: { faults: { ${faults} } }, phases: { 'db-integrity': { blocking: false } }`, 'perf-reconcile-');
    const r = await runCli(['run', '--phase', 'db-integrity,load', '--scenario', 'multi-user', '--profile', 'smoke', '--users', '2', '--reporter', 'console'], { cwd, timeoutMs: 180_000 });
    const v = readVerdictFromOutput(cwd, r.stderr);
    const checks = v.phases.find((p: { name: string }) => p.name === 'db-integrity-after-load')?.checks ?? [];
    return { r, kit: checks.find((c: { name: string }) => c.name === 'reconcile_kit') };
  };

  test('lostWriteRate=1: the load counted created kits, the database has none: reconcile_kit fails, exit 1', async () => {
    const { r, kit } = await loadWith('lostWriteRate: 1');
    assert.equal(r.code, 1, r.stderr);
    assert.ok(kit, `reconcile_kit ran:\n${r.stderr}`);
    assert.equal(kit.status, 'failed');
    assert.ok(kit.measurements.kit_expected > 0, 'k6 counted kits the API answered 201 for');
    assert.equal(kit.measurements.kit_found, 0);
    assert.match(kit.error, /writes were lost/);
    // The load users are exactly the ones the k6 side counted (perf_test_users_created{label}), not a guessed range.
    const note = kit.evidence.find((e: { kind: string; message?: string }) => e.kind === 'note' && /^load users:/.test(e.message ?? ''));
    assert.match(note?.message ?? '', /^load users: the 2 the load signed up \(k6 counter perf_test_users_created\{label\}\)$/, JSON.stringify(kit.evidence.filter((e: { kind: string }) => e.kind === 'note')));
    assert.deepEqual(note.data, { labels: ['vu1', 'vu2'] });
  });

  test('duplicateWriteRate=1: each kit stored twice: reconcile_kit fails with duplicates, exit 1', async () => {
    const { r, kit } = await loadWith('duplicateWriteRate: 1');
    assert.equal(r.code, 1, r.stderr);
    assert.ok(kit, `reconcile_kit ran:\n${r.stderr}`);
    assert.equal(kit.status, 'failed');
    assert.ok(kit.measurements.kit_found > kit.measurements.kit_expected, `found ${kit.measurements.kit_found}, expected ${kit.measurements.kit_expected}`);
    assert.match(kit.error, /duplicates/);
  });
});
