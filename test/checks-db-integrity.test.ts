import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { dbIntegrityChecks, normalizeType, typeMatches } from '../src/checks/db-integrity.ts';
import type { SqlEvidence } from '../src/checks/types.ts';
import { identityFor } from '../src/auth/users.ts';
import perfConfig from '../perf.config.ts';
import { assertNoSecrets, assertPassed, assertSkipped, byName, deleteRunUsers, newRun, runCheck, startTestApp, testConfig, withDb, type CheckRun, type TestApp } from './checks-helpers.ts';

/** The e-mail and password perf's `auth` gives the test user `label` of a run (the RLS proof's users). */
const credentialsFor = (runId: string, seed: number, label: string) => {
  const { email, password } = identityFor(testConfig(perfConfig).auth, runId, seed, label);
  return { email, password };
};

/** Failed, with every expected phrase in its message, and SQL evidence carrying the correlation id. */
function assertFailedWith(r: CheckRun, phrases: (string | RegExp)[], what: string): void {
  assert.ok(!r.passed, `${what} should fail, but passed`);
  for (const p of phrases) {
    if (typeof p === 'string') assert.ok(r.error!.includes(p), `${what}: message lacks "${p}":\n${r.error}`);
    else assert.match(r.error!, p, what);
  }
  assert.match(r.error!, /\(correlation id perf-\S+\)$/, `${what}: no correlation id in the message`);
  const sql = r.evidence.filter((e): e is SqlEvidence => e.kind === 'sql');
  assert.ok(sql.length > 0 && sql.every((e) => e.correlationId && r.error!.includes(e.correlationId)), `${what}: SQL evidence without the session's correlation id`);
}

describe('db-integrity checks', () => {
  let app: TestApp;
  const run = newRun();
  const scratch = `perf_scratch_${randomBytes(4).toString('hex')}`;
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await withDb((db) => db.query(`DROP SCHEMA IF EXISTS ${scratch} CASCADE`));
    await deleteRunUsers(run.runId);
    await app.stop();
  });

  test('type spellings', () => {
    assert.equal(normalizeType('TIMESTAMPTZ'), 'timestamp with time zone');
    assert.equal(normalizeType('_text'), 'text[]');
    assert.ok(typeMatches('varchar', 'character varying(100)'));
    assert.ok(typeMatches('int4[]', 'integer[]'));
    assert.ok(!typeMatches('uuid', 'text'));
  });

  test("sample-app's schema meets the default expectations; every check passes and proves something", async () => {
    const checks = dbIntegrityChecks(testConfig(perfConfig));
    assert.deepEqual(
      checks.map((c) => c.name),
      // What sample-app's triggers and functions do is proven by its own flows (sample-app/perf/flows/database.ts, test/checks-flows.test.ts).
      ['db_tables_columns', 'db_indexes', 'db_foreign_keys', 'db_check_constraints', 'db_unique', 'db_nullability', 'db_triggers', 'db_functions', 'db_rls_policies', 'db_rls_isolation'],
    );
    // Phase order: db_rls_isolation creates the users that own rows, the rest read the catalogs.
    const results = await Promise.all(checks.map((c) => runCheck(c, app.target, run)));
    const failed = results.filter((r) => !r.passed).map((r) => r.error);
    assert.deepEqual(failed, []);
    const byCheck = Object.fromEntries(checks.map((c, i) => [c.name, results[i]!]));
    const isolated = byCheck.db_rls_isolation!.measurements.isolation_tables as string[];
    for (const t of ['users', 'sessions', 'brand_kits', 'jobs', 'audit']) assert.ok(isolated.includes(t), `isolation proven on ${t}: ${isolated.join(', ')}`);
    const passwords = ['rls-a', 'rls-b'].map((l) => credentialsFor(run.runId, run.seed, l).password);
    assertNoSecrets(results, [...passwords, 's3cret']);
  });

  test('expectations the schema does not meet fail each check, naming table, item, expected and found', async () => {
    const wrong = testConfig({
      database: {
        tables: {
          users: { columns: { email: 'uuid', nickname: 'text' }, indexes: ['users_nickname_idx'], checks: ['users_age_positive'], triggers: ['users_audit'] },
          brand_kits: { foreignKeys: { user_id: 'jobs(id)' } },
          ghosts: { columns: { id: 'uuid' } },
        },
        functions: ['increment_user_usage', 'no_such_function'],
      },
    });
    const checks = dbIntegrityChecks(wrong);
    const r = async (name: string) => runCheck(byName(checks, name), app.target, run);
    assertFailedWith(await r('db_tables_columns'), ['users.email: expected type uuid, found text', 'users.nickname: column missing', 'table ghosts does not exist', /^3 problems/], 'db_tables_columns');
    assertFailedWith(await r('db_indexes'), [/index users_nickname_idx missing on users \(found: [^)]*users_pkey/], 'db_indexes');
    assertFailedWith(await r('db_foreign_keys'), ['brand_kits.user_id: expected a foreign key to jobs(id), found brand_kits_user_id_fkey → users(id)'], 'db_foreign_keys');
    assertFailedWith(await r('db_check_constraints'), [/check constraint users_age_positive missing on users \(found: [^)]*users_email_format/], 'db_check_constraints');
    assertFailedWith(await r('db_triggers'), [/trigger users_audit missing on users \(found: users_set_updated_at\)/], 'db_triggers');
    assertFailedWith(await r('db_functions'), ['function no_such_function missing'], 'db_functions');
  });

  test('a scratch schema with broken row-level security', async () => {
    // The two users the check signs up (deterministic per run), with rows in every scratch table.
    const ids: string[] = [];
    for (const label of ['rls-a', 'rls-b']) {
      const res = await fetch(`${app.target.baseUrl}/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(credentialsFor(run.runId, run.seed, label)),
      });
      const body = (await res.json()) as { user?: { id: string } };
      if (res.status === 201) ids.push(body.user!.id);
      else ids.push((await withDb((db) => db.query('SELECT id FROM users WHERE email = $1', [credentialsFor(run.runId, run.seed, label).email]))).rows[0].id);
    }
    await withDb(async (db) => {
      await db.query(`CREATE SCHEMA ${scratch}; GRANT USAGE ON SCHEMA ${scratch} TO sample_app_rls`);
      for (const t of ['no_rls', 'no_policy', 'leaky', 'good']) {
        await db.query(`CREATE TABLE ${scratch}.${t} (id serial PRIMARY KEY, user_id uuid NOT NULL, note text); GRANT SELECT ON ${scratch}.${t} TO sample_app_rls`);
        await db.query(`INSERT INTO ${scratch}.${t} (user_id, note) VALUES ($1, 'a1'), ($1, 'a2'), ($2, 'b1')`, ids);
      }
      await db.query(`ALTER TABLE ${scratch}.no_policy ENABLE ROW LEVEL SECURITY`);
      await db.query(`ALTER TABLE ${scratch}.leaky ENABLE ROW LEVEL SECURITY; CREATE POLICY leaky_all ON ${scratch}.leaky USING (true)`);
      await db.query(`ALTER TABLE ${scratch}.good ENABLE ROW LEVEL SECURITY; CREATE POLICY good_owner ON ${scratch}.good USING (user_id = public.app_current_user_id())`);
    });

    const config = testConfig({
      auth: perfConfig.auth,
      database: {
        tables: Object.fromEntries(['no_rls', 'no_policy', 'leaky', 'good'].map((t) => [`${scratch}.${t}`, { rls: true }])),
        rls: { role: 'sample_app_rls', setting: 'app.user_id', table: `${scratch}.good` },
      },
    });
    const checks = dbIntegrityChecks(config);
    const policies = await runCheck(byName(checks, 'db_rls_policies'), app.target, run);
    assertFailedWith(
      policies,
      [`${scratch}.no_rls: row-level security is not enabled`, `${scratch}.no_policy: row-level security is enabled but the table has no policy`, /^2 problems/],
      'db_rls_policies',
    );
    const rls = await runCheck(byName(checks, 'db_rls_isolation'), app.target, run);
    assertFailedWith(
      rls,
      [
        `${scratch}.no_rls: as sample_app_rls with app.user_id = rls-a, 1 of rls-b's 1 rows are visible (expected none)`,
        `${scratch}.no_policy: as sample_app_rls with app.user_id = rls-a, 0 of their own 2 rows are visible (expected all)`,
        `${scratch}.leaky: as sample_app_rls with no app.user_id set, 3 of the test users' rows are visible (expected none)`,
        `${scratch}.leaky: as sample_app_rls with app.user_id = rls-b, 2 of rls-a's 2 rows are visible (expected none)`,
      ],
      'db_rls_isolation',
    );
    assert.ok(!rls.error!.includes(`${scratch}.good:`), `the correct table raises nothing: ${rls.error}`);
    assert.deepEqual(rls.measurements.isolation_tables, ['no_rls', 'no_policy', 'leaky', 'good'].map((t) => `${scratch}.${t}`));
  });

  test('a check with nothing to exercise is skipped with its reason, never passed', async () => {
    // RLS declared on tables but no database.rls: the policies are checked, isolation is not claimed.
    const noRls = dbIntegrityChecks(testConfig({ database: { tables: { brand_kits: { rls: true } } } }));
    assertPassed(await runCheck(byName(noRls, 'db_rls_policies'), app.target, run), 'db_rls_policies');
    assertSkipped(await runCheck(byName(noRls, 'db_rls_isolation'), app.target, run), /^database\.rls is not configured: set database\.rls \{ role, table \}/, 'db_rls_isolation without database.rls');
    // Something wrong is still a failure, not a skip: a table that is not there.
    const missing = dbIntegrityChecks(testConfig({ database: { tables: { [`${scratch}_bare.ghost`]: { triggers: ['ghost_touch'] } } } }));
    assertFailedWith(await runCheck(byName(missing, 'db_triggers'), app.target, run), [`table ${scratch}_bare.ghost does not exist`], 'db_triggers on a missing table');
  });

  test('no database URL: each check says how to provide one', async () => {
    const [first] = dbIntegrityChecks(testConfig(perfConfig));
    const r = await runCheck(first!, { kind: 'external', baseUrl: app.target.baseUrl }, run);
    assert.match(r.error ?? '', /no database URL: set target\.databaseUrl/);
  });
});
