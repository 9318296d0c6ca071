/**
 * db-integrity by definition (real PostgreSQL): a check constraint's expression, a foreign key's
 * ON DELETE action, uniqueness and nullability, on a schema-qualified scratch schema built here.
 * The schema passes; then each is broken in turn and fails its named check with a message naming
 * table, constraint/column, expected and found.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { dbIntegrityChecks, normalizeCheck } from '../src/checks/db-integrity.ts';
import type { ResolvedTarget } from '../src/checks/types.ts';
import { assertPassed, byName, newRun, runCheck, TEST_DATABASE_URL, testConfig, withDb, type CheckRun } from './checks-helpers.ts';

function assertFailedWith(r: CheckRun, phrases: string[], what: string): void {
  assert.ok(!r.passed && !r.skipped, `${what} should fail, but ${r.skipped ? `was skipped: ${r.skipped}` : 'passed'}`);
  for (const p of phrases) assert.ok(r.error!.includes(p), `${what}: message lacks "${p}":\n${r.error}`);
}

describe('db-integrity checks by definition', () => {
  const s = `perf_def_${randomBytes(4).toString('hex')}`;
  const run = newRun();
  const target: ResolvedTarget = { kind: 'external', baseUrl: 'http://127.0.0.1:9', databaseUrl: TEST_DATABASE_URL };
  const config = () =>
    testConfig({
      database: {
        tables: {
          [`${s}.notes`]: {
            checks: [
              'notes_body_length', // a name alone, as before
              { name: 'notes_title_length', expression: 'char_length(title) >= 1' },
              // Spelt as written in the DDL: PostgreSQL stores it as `CHECK ((state = ANY (ARRAY['draft'::text, ...])))`.
              { name: 'notes_state_valid', expression: "state IN ('draft', 'published')" },
              // As PostgreSQL writes it, with other whitespace.
              { name: 'notes_body_length', expression: 'CHECK ((length(body)   <= 1000))' },
            ],
            foreignKeys: {
              owner_id: { references: `${s}.owners(id)`, onDelete: 'cascade' },
              folder_id: { references: 'folders(id)', onDelete: 'set null' },
              editor_id: `owners(id)`, // a reference alone, as before
            },
            unique: [['slug'], ['owner_id', 'title'], ['id']],
            notNull: ['title', 'owner_id'],
            nullable: ['folder_id'],
          },
        },
      },
    });
  const check = async (name: string) => runCheck(byName(dbIntegrityChecks(config()), name), target, run);
  const sql = (text: string) => withDb((db) => db.query(text.replaceAll('$s', s)));

  before(async () => {
    await sql(`
      CREATE SCHEMA $s;
      CREATE TABLE $s.owners (id integer PRIMARY KEY);
      CREATE TABLE $s.folders (id integer PRIMARY KEY);
      CREATE TABLE $s.notes (
        id serial PRIMARY KEY,
        owner_id integer NOT NULL REFERENCES $s.owners (id) ON DELETE CASCADE,
        editor_id integer REFERENCES $s.owners (id),
        folder_id integer REFERENCES $s.folders (id) ON DELETE SET NULL,
        slug text NOT NULL CONSTRAINT notes_slug_key UNIQUE,
        title text NOT NULL CONSTRAINT notes_title_length CHECK (char_length(title) >= 1),
        body text CONSTRAINT notes_body_length CHECK (length(body) <= 1000),
        state text NOT NULL DEFAULT 'draft' CONSTRAINT notes_state_valid CHECK (state IN ('draft', 'published'))
      );
      CREATE UNIQUE INDEX notes_owner_title_idx ON $s.notes (title, owner_id);
      -- partial or expression unique indexes do not make a column set unique
      CREATE UNIQUE INDEX notes_live_slug_idx ON $s.notes (slug) WHERE state = 'published';
    `);
  });
  after(async () => {
    await sql('DROP SCHEMA IF EXISTS $s CASCADE');
  });

  test('light normalisation of a constraint text', () => {
    assert.equal(normalizeCheck('check ( (a >= 1) )'), 'CHECK ((a >= 1))');
    assert.equal(normalizeCheck('CHECK ((a\n   >=  1))'), 'CHECK ((a >= 1))');
  });

  test('the schema as built meets every expectation by definition', async () => {
    const names = dbIntegrityChecks(config()).map((c) => c.name);
    assert.deepEqual(names, ['db_tables_columns', 'db_foreign_keys', 'db_check_constraints', 'db_unique', 'db_nullability']);
    for (const name of names.slice(1)) assertPassed(await check(name), name);
  });

  test('a changed check constraint expression fails db_check_constraints', async () => {
    await sql('ALTER TABLE $s.notes DROP CONSTRAINT notes_title_length, ADD CONSTRAINT notes_title_length CHECK (char_length(title) >= 0)');
    assertFailedWith(
      await check('db_check_constraints'),
      [`check constraint notes_title_length on ${s}.notes: expected CHECK (char_length(title) >= 1) (as PostgreSQL writes it: CHECK ((char_length(title) >= 1))), found CHECK ((char_length(title) >= 0))`, '1 problem:'],
      'db_check_constraints',
    );
  });

  test('a foreign key re-created without ON DELETE CASCADE fails db_foreign_keys', async () => {
    await sql('ALTER TABLE $s.notes DROP CONSTRAINT notes_owner_id_fkey, ADD CONSTRAINT notes_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES $s.owners (id)');
    assertFailedWith(
      await check('db_foreign_keys'),
      [`${s}.notes.owner_id: foreign key notes_owner_id_fkey → ${s}.owners(id): expected ON DELETE CASCADE, found ON DELETE NO ACTION`, '1 problem:'],
      'db_foreign_keys',
    );
  });

  test('a dropped unique constraint fails db_unique (a partial unique index does not count)', async () => {
    await sql('ALTER TABLE $s.notes DROP CONSTRAINT notes_slug_key');
    assertFailedWith(
      await check('db_unique'),
      [`${s}.notes (slug): expected a unique constraint or a valid, non-partial unique index on exactly these columns, found only notes_live_slug_idx (slug) partial`, '1 problem:'],
      'db_unique',
    );
  });

  test('a column made nullable fails db_nullability', async () => {
    await sql('ALTER TABLE $s.notes ALTER COLUMN title DROP NOT NULL, ALTER COLUMN folder_id SET NOT NULL');
    assertFailedWith(
      await check('db_nullability'),
      [`${s}.notes.title: expected NOT NULL, found nullable`, `${s}.notes.folder_id: expected nullable, found NOT NULL`, '2 problems:'],
      'db_nullability',
    );
  });

  test('the config rejects a malformed definition', () => {
    assert.throws(() => testConfig({ database: { tables: { t: { foreignKeys: { a: { references: 'x(y)', onDelete: 'explode' as 'cascade' } } } } } }));
    assert.throws(() => testConfig({ database: { tables: { t: { unique: [[]] } } } }));
    assert.throws(() => testConfig({ database: { tables: { t: { checks: [{ name: 'c' } as { name: string; expression: string }] } } } }));
  });
});
