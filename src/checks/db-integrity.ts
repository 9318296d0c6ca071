/**
 * The db-integrity phase: the target's PostgreSQL schema against `config.database`, read from the
 * catalogs (pg_catalog, information_schema), and the behaviour of its triggers, functions and
 * row-level security.
 *
 *   db_tables_columns      every table exists; every column exists with its type
 *   db_indexes             every named index exists on its table and is valid
 *   db_foreign_keys        `column → table(column)` foreign keys exist (and are validated), with
 *                          their `ON DELETE` action (`confdeltype`) where `onDelete` is given
 *   db_check_constraints   named check constraints exist on their tables (and are validated), with
 *                          their expression (`pg_get_constraintdef`) where `expression` is given
 *   db_unique              `unique` column sets each have a unique constraint or a valid,
 *                          non-partial unique index on exactly those columns
 *   db_nullability         `notNull` / `nullable` columns, against `pg_attribute.attnotnull`
 *   db_triggers            named triggers exist and are enabled
 *   db_functions           named functions exist (visible in the search path, or in their schema)
 *   db_rls_policies        every `rls: true` table has RLS enabled and a policy
 *   db_rls_isolation       `rls.role` does not bypass RLS; then two test users made through the
 *                          config's `auth`, each making one row with `rls.create` (a request
 *                          template sent as that user): as `rls.role` with `rls.setting` = A,
 *                          A's rows are all visible and none of B's (and vice versa); with no
 *                          user set, neither's rows are visible. Rows are matched to users by
 *                          `rls.userColumn` and the users' ids (`auth.userIdPath`).
 *                          Skipped, saying so, when `database.rls` is not configured
 *
 * What a service's own triggers and functions *do* is for its own flows to prove: flows
 * declared with `{ phase: 'db-integrity' }` in its flow files run in this phase too.
 *
 * Table names are as the config writes them: `table` (search path) or `schema.table`. Each
 * failure lists every problem found, each naming the table and column/index/constraint and what
 * was expected and found; each carries the SQL (with the session's correlation id) as evidence.
 * Everything that writes runs in a transaction that is rolled back. A check passes only when it
 * asserted something: one that finds nothing to exercise is `skipped` with the reason (CheckSkipped).
 */
import type { DatabaseExpectation, ResolvedConfig, TableExpectation } from '../config/config-schema.ts';
import type { TestUser } from '../api/types.ts';
import { httpClientFor, requestAs, templateVars, UserFactory } from '../auth/users.ts';
import { renderTemplate } from '../auth/template.ts';
import { expectStatus } from '../clients/http-client.ts';
import { quoteIdent, withClient, type Query } from './pg-util.ts';
import { CheckFailure, CheckSkipped, type Check, type CheckContext } from './types.ts';

interface TableInfo {
  name: string;
  oid: string | null;
  schema: string | null;
  table: string | null;
  rls: boolean;
}

/** A body returns `{ skip }` when it found nothing to assert (problems found still fail the check). */
type Body = (q: Query, tables: Map<string, TableInfo>, problems: string[], ctx: CheckContext) => Promise<void | { skip: string }>;

/** Connects, resolves the expected tables, runs `body`, fails listing every problem, or skips. */
function dbCheck(db: DatabaseExpectation, name: string, description: string, body: Body): Check {
  return {
    name,
    description,
    run: async (ctx) => {
      const url = ctx.target.databaseUrl;
      if (!url) throw new CheckFailure(`${name}: no database URL: set target.databaseUrl (the bundled sample-app provides one)`);
      await withClient(ctx, url, async (query, { correlationId }) => {
        const tables = await resolveTables(query, Object.keys(db.tables));
        const problems: string[] = [];
        const outcome = await body(query, tables, problems, ctx);
        ctx.measure('problems', problems.length);
        if (problems.length) {
          throw new CheckFailure(`${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.join('; ')} (correlation id ${correlationId})`);
        }
        if (outcome?.skip) throw new CheckSkipped(outcome.skip);
      });
    },
  };
}

async function resolveTables(query: Query, names: string[]): Promise<Map<string, TableInfo>> {
  const { rows } = await query<TableInfo>(
    `SELECT t.name, c.oid::text AS oid, n.nspname AS schema, c.relname AS table, coalesce(c.relrowsecurity, false) AS rls
     FROM unnest($1::text[]) AS t(name)
     LEFT JOIN pg_class c ON c.oid = to_regclass(t.name)
     LEFT JOIN pg_namespace n ON n.oid = c.relnamespace`,
    [names],
  );
  return new Map(rows.map((r) => [r.name, r]));
}

/** The tables of `db` whose expectation has something for `pick`, each resolved or reported missing. */
function present(db: DatabaseExpectation, tables: Map<string, TableInfo>, problems: string[], pick: (t: TableExpectation) => unknown[]): [string, TableExpectation, TableInfo][] {
  const out: [string, TableExpectation, TableInfo][] = [];
  for (const [name, exp] of Object.entries(db.tables)) {
    if (pick(exp).length === 0) continue;
    const info = tables.get(name);
    if (!info?.oid) problems.push(`table ${name} does not exist`);
    else out.push([name, exp, info]);
  }
  return out;
}

const oidsOf = (list: [string, TableExpectation, TableInfo][]) => list.map(([, , i]) => i.oid!);

const TYPE_ALIASES: Record<string, string> = {
  timestamptz: 'timestamp with time zone',
  timestamp: 'timestamp without time zone',
  timetz: 'time with time zone',
  time: 'time without time zone',
  int: 'integer',
  int4: 'integer',
  int8: 'bigint',
  int2: 'smallint',
  serial: 'integer',
  bigserial: 'bigint',
  bool: 'boolean',
  varchar: 'character varying',
  char: 'character',
  bpchar: 'character',
  float8: 'double precision',
  float4: 'real',
  decimal: 'numeric',
};

/** A type name in one spelling: lower case, aliases resolved, `[]` kept. */
export function normalizeType(t: string): string {
  let s = t.trim().toLowerCase().replace(/\s+/g, ' ');
  let suffix = '';
  while (s.endsWith('[]')) {
    suffix += '[]';
    s = s.slice(0, -2).trim();
  }
  if (s.startsWith('_')) {
    suffix += '[]';
    s = s.slice(1);
  }
  return `${TYPE_ALIASES[s] ?? s}${suffix}`;
}

/** Whether a declared type matches what PostgreSQL reports (format_type, or without its modifier). */
export function typeMatches(expected: string, formatType: string): boolean {
  const want = normalizeType(expected);
  const got = normalizeType(formatType);
  return want === got || want === normalizeType(formatType.replace(/\([^)]*\)/g, ''));
}

/** `pg_constraint.confdeltype` → the `ON DELETE` action as the config writes it. */
const FK_ACTIONS: Record<string, string> = { a: 'no action', r: 'restrict', c: 'cascade', n: 'set null', d: 'set default' };

/** An expression as a constraint definition: `CHECK (expr)`, unless it already says `CHECK`. */
function asCheck(expression: string): string {
  const e = expression.trim();
  return /^check\s*\(/i.test(e) ? e : `CHECK (${e})`;
}

/** A light normalisation of a `CHECK (...)` text: whitespace collapsed, none just inside parentheses, `CHECK` upper case. */
export function normalizeCheck(def: string): string {
  return def
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/\(\s+/g, '(')
    .replace(/\s+\)/g, ')')
    .replace(/^check\s*\(/i, 'CHECK (');
}

/**
 * The expected check expressions as PostgreSQL itself writes them: each added to a temporary copy
 * of the table (`LIKE` it, so columns and types resolve as on the real one) inside a transaction
 * that is rolled back, then read back with `pg_get_constraintdef`. Text normalisation alone cannot
 * know that `char_length(title) >= 1` is stored as `CHECK ((char_length(title) >= 1))`, or that
 * `status IN ('a', 'b')` becomes `(status = ANY (ARRAY['a'::text, 'b'::text]))`; PostgreSQL's
 * own deparser does, for any expression, in this server's version. An expression PostgreSQL
 * rejects (or a session that may not create temporary tables) leaves `undefined` in its place,
 * and the comparison falls back to the whitespace-normalised text. The expression is spliced as
 * written: it is the config's own text (the config file is code already), run only inside this
 * transaction, which always rolls back.
 */
async function canonicalChecks(query: Query, info: TableInfo, expressions: string[]): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = expressions.map(() => undefined);
  await query('BEGIN');
  try {
    try {
      await query(`CREATE TEMPORARY TABLE perf_expected_check (LIKE ${quoteIdent(info.schema!, info.table!)}) ON COMMIT DROP`);
    } catch {
      return out;
    }
    for (const [i, expression] of expressions.entries()) {
      await query('SAVEPOINT perf_expected_check');
      try {
        await query(`ALTER TABLE perf_expected_check ADD CONSTRAINT perf_expected_check_${i} ${asCheck(expression)}`);
        const { rows } = await query<{ def: string }>(
          `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'perf_expected_check'::regclass AND conname = $1`,
          [`perf_expected_check_${i}`],
        );
        out[i] = rows[0]?.def;
        await query('RELEASE SAVEPOINT perf_expected_check');
      } catch {
        await query('ROLLBACK TO SAVEPOINT perf_expected_check');
      }
    }
    return out;
  } finally {
    await query('ROLLBACK');
  }
}

export function dbIntegrityChecks(config: ResolvedConfig): Check[] {
  const db = config.database;
  const tables = Object.entries(db.tables);
  const any = (pick: (t: TableExpectation) => unknown) => tables.some(([, t]) => pick(t));
  const checks: Check[] = [];

  if (tables.length) {
    checks.push(
      dbCheck(db, 'db_tables_columns', 'every expected table exists, every column with its type', async (query, resolved, problems) => {
        const list = present(db, resolved, problems, () => [true]);
        const { rows } = await query<{ oid: string; column: string; type: string; data_type: string | null }>(
          `SELECT a.attrelid::text AS oid, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type, col.data_type
           FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN information_schema.columns col ON col.table_schema = n.nspname AND col.table_name = c.relname AND col.column_name = a.attname
           WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped`,
          [oidsOf(list)],
          { record: false },
        );
        for (const [name, exp, info] of list) {
          const columns = new Map(rows.filter((r) => r.oid === info.oid).map((r) => [r.column, r]));
          for (const [column, type] of Object.entries(exp.columns)) {
            const found = columns.get(column);
            if (found === undefined) problems.push(`${name}.${column}: column missing (expected ${type}; found columns: ${[...columns.keys()].join(', ') || 'none'})`);
            else if (!typeMatches(type, found.type) && !(found.data_type && typeMatches(type, found.data_type))) {
              problems.push(`${name}.${column}: expected type ${type}, found ${found.type}`);
            }
          }
        }
      }),
    );
  }

  if (any((t) => t.indexes.length)) {
    checks.push(
      dbCheck(db, 'db_indexes', 'every expected index exists on its table and is valid', async (query, resolved, problems) => {
        const list = present(db, resolved, problems, (t) => t.indexes);
        const { rows } = await query<{ oid: string; name: string; valid: boolean }>(
          `SELECT i.indrelid::text AS oid, c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = ANY($1::oid[])`,
          [oidsOf(list)],
        );
        for (const [name, exp, info] of list) {
          const found = rows.filter((r) => r.oid === info.oid);
          for (const index of exp.indexes) {
            const hit = found.find((r) => r.name === index);
            if (!hit) problems.push(`index ${index} missing on ${name} (found: ${found.map((r) => r.name).join(', ') || 'none'})`);
            else if (!hit.valid) problems.push(`index ${index} on ${name} exists but is invalid (a failed concurrent build?)`);
          }
        }
      }),
    );
  }

  if (any((t) => Object.keys(t.foreignKeys).length)) {
    checks.push(
      dbCheck(db, 'db_foreign_keys', 'every expected foreign key exists (with its ON DELETE action, where given) and is validated', async (query, resolved, problems) => {
        const list = present(db, resolved, problems, (t) => Object.keys(t.foreignKeys));
        const { rows } = await query<{ oid: string; name: string; columns: string[]; ref_schema: string; ref_table: string; ref_columns: string[]; validated: boolean; on_delete: string }>(
          `SELECT con.conrelid::text AS oid, con.conname AS name, con.convalidated AS validated, rn.nspname AS ref_schema, rc.relname AS ref_table, con.confdeltype::text AS on_delete,
             ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o) AS columns,
             ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) AS ref_columns
           FROM pg_constraint con JOIN pg_class rc ON rc.oid = con.confrelid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
           WHERE con.contype = 'f' AND con.conrelid = ANY($1::oid[])`,
          [oidsOf(list)],
        );
        for (const [name, exp, info] of list) {
          const fks = rows.filter((r) => r.oid === info.oid);
          for (const [column, spec] of Object.entries(exp.foreignKeys)) {
            const ref = typeof spec === 'string' ? spec : spec.references;
            const onDelete = typeof spec === 'string' ? undefined : spec.onDelete;
            const [, refSchema, refTable, refColumn] = /^(?:(\w+)\.)?(\w+)\((\w+)\)$/.exec(ref)!;
            const onColumn = fks.filter((f) => f.columns.length === 1 && f.columns[0] === column);
            const hit = onColumn.find((f) => f.ref_table === refTable && (!refSchema || f.ref_schema === refSchema) && f.ref_columns.length === 1 && f.ref_columns[0] === refColumn);
            if (!hit) {
              const found = onColumn.map((f) => `${f.name} → ${f.ref_table}(${f.ref_columns.join(', ')})`).join(', ');
              problems.push(`${name}.${column}: expected a foreign key to ${ref}, found ${found || 'none'}`);
              continue;
            }
            if (!hit.validated) problems.push(`${name}.${column}: foreign key ${hit.name} is NOT VALID (existing rows were never checked)`);
            const found = FK_ACTIONS[hit.on_delete] ?? hit.on_delete;
            if (onDelete && found !== onDelete) {
              problems.push(`${name}.${column}: foreign key ${hit.name} → ${ref}: expected ON DELETE ${onDelete.toUpperCase()}, found ON DELETE ${found.toUpperCase()}`);
            }
          }
        }
      }),
    );
  }

  if (any((t) => t.checks.length)) {
    checks.push(
      dbCheck(db, 'db_check_constraints', 'every expected check constraint exists (with its expression, where given) and is validated', async (query, resolved, problems) => {
        const list = present(db, resolved, problems, (t) => t.checks);
        const { rows } = await query<{ oid: string; name: string; validated: boolean; def: string }>(
          `SELECT conrelid::text AS oid, conname AS name, convalidated AS validated, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'c' AND conrelid = ANY($1::oid[])`,
          [oidsOf(list)],
        );
        for (const [name, exp, info] of list) {
          const found = rows.filter((r) => r.oid === info.oid);
          const withExpression = exp.checks.filter((c): c is { name: string; expression: string } => typeof c !== 'string');
          const canonical = withExpression.length ? await canonicalChecks(query, info, withExpression.map((c) => c.expression)) : [];
          for (const check of exp.checks) {
            const checkName = typeof check === 'string' ? check : check.name;
            const hit = found.find((r) => r.name === checkName);
            if (!hit) {
              problems.push(`check constraint ${checkName} missing on ${name} (found: ${found.map((r) => r.name).join(', ') || 'none'})`);
              continue;
            }
            if (!hit.validated) problems.push(`check constraint ${checkName} on ${name} is NOT VALID (existing rows were never checked)`);
            if (typeof check === 'string') continue;
            const foundDef = hit.def.replace(/\s+NOT VALID$/, '');
            const want = canonical[withExpression.indexOf(check)];
            const same = normalizeCheck(foundDef) === normalizeCheck(asCheck(check.expression)) || (want !== undefined && normalizeCheck(foundDef) === normalizeCheck(want));
            if (!same) problems.push(`check constraint ${checkName} on ${name}: expected ${asCheck(check.expression)}${want && want !== asCheck(check.expression) ? ` (as PostgreSQL writes it: ${want})` : ''}, found ${foundDef}`);
          }
        }
      }),
    );
  }

  if (any((t) => t.unique.length)) {
    checks.push(
      dbCheck(db, 'db_unique', 'every expected column set is unique (a unique constraint or a valid, non-partial unique index)', async (query, resolved, problems) => {
        const list = present(db, resolved, problems, (t) => t.unique);
        const { rows } = await query<{ oid: string; name: string; columns: string[]; valid: boolean; partial: boolean; expression: boolean }>(
          `SELECT i.indrelid::text AS oid, c.relname AS name, i.indisvalid AS valid, i.indpred IS NOT NULL AS partial, i.indexprs IS NOT NULL AS expression,
             ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) k(n) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n) AS columns
           FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           WHERE i.indisunique AND i.indrelid = ANY($1::oid[])`,
          [oidsOf(list)],
        );
        const key = (cols: string[]) => [...cols].sort().join(',');
        for (const [name, exp, info] of list) {
          const found = rows.filter((r) => r.oid === info.oid);
          for (const cols of exp.unique) {
            const same = found.filter((r) => !r.expression && key(r.columns) === key(cols));
            if (same.some((r) => r.valid && !r.partial)) continue;
            const describe = (r: (typeof found)[number]) => `${r.name} (${r.columns.join(', ')}${r.expression ? ', with an expression' : ''})${r.partial ? ' partial' : ''}${r.valid ? '' : ' invalid'}`;
            const why = same.length ? `only ${same.map(describe).join(', ')}` : `unique on: ${found.map(describe).join(', ') || 'nothing'}`;
            problems.push(`${name} (${cols.join(', ')}): expected a unique constraint or a valid, non-partial unique index on exactly these columns, found ${why}`);
          }
        }
      }),
    );
  }

  if (any((t) => t.notNull.length + t.nullable.length)) {
    checks.push(
      dbCheck(db, 'db_nullability', 'every notNull column is NOT NULL, every nullable column accepts NULL', async (query, resolved, problems) => {
        const list = present(db, resolved, problems, (t) => [...t.notNull, ...t.nullable]);
        const { rows } = await query<{ oid: string; column: string; not_null: boolean }>(
          `SELECT attrelid::text AS oid, attname AS column, attnotnull AS not_null FROM pg_attribute WHERE attrelid = ANY($1::oid[]) AND attnum > 0 AND NOT attisdropped`,
          [oidsOf(list)],
        );
        for (const [name, exp, info] of list) {
          const columns = new Map(rows.filter((r) => r.oid === info.oid).map((r) => [r.column, r.not_null]));
          for (const [cols, wantNotNull] of [
            [exp.notNull, true],
            [exp.nullable, false],
          ] as const) {
            for (const column of cols) {
              const notNull = columns.get(column);
              const want = wantNotNull ? 'NOT NULL' : 'nullable';
              if (notNull === undefined) problems.push(`${name}.${column}: column missing (expected ${want})`);
              else if (notNull !== wantNotNull) problems.push(`${name}.${column}: expected ${want}, found ${notNull ? 'NOT NULL' : 'nullable'}`);
            }
          }
        }
      }),
    );
  }

  if (any((t) => t.triggers.length)) {
    checks.push(
      dbCheck(db, 'db_triggers', 'every expected trigger exists and is enabled', async (query, resolved, problems) => {
        const list = present(db, resolved, problems, (t) => t.triggers);
        const { rows } = await query<{ oid: string; name: string; enabled: string }>(
          `SELECT tgrelid::text AS oid, tgname AS name, tgenabled AS enabled FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = ANY($1::oid[])`,
          [oidsOf(list)],
        );
        for (const [name, exp, info] of list) {
          const found = rows.filter((r) => r.oid === info.oid);
          for (const trigger of exp.triggers) {
            const hit = found.find((r) => r.name === trigger);
            if (!hit) problems.push(`trigger ${trigger} missing on ${name} (found: ${found.map((r) => r.name).join(', ') || 'none'})`);
            else if (hit.enabled === 'D') problems.push(`trigger ${trigger} on ${name} is disabled`);
          }
        }
      }),
    );
  }

  if (db.functions.length) {
    checks.push(
      dbCheck(db, 'db_functions', `functions exist: ${db.functions.join(', ')}`, async (query, _resolved, problems) => {
        const { rows } = await query<{ schema: string; name: string; args: string; visible: boolean }>(
          `SELECT n.nspname AS schema, p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args, pg_function_is_visible(p.oid) AS visible
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = ANY($1::text[])`,
          [db.functions.map((f) => f.split('.').pop()!)],
        );
        for (const fn of db.functions) {
          const [schema, name] = fn.includes('.') ? (fn.split('.') as [string, string]) : [undefined, fn];
          const hit = rows.find((r) => r.name === name && (schema ? r.schema === schema : r.visible));
          if (!hit) {
            const elsewhere = rows.filter((r) => r.name === name).map((r) => `${r.schema}.${r.name}(${r.args})`);
            problems.push(`function ${fn} missing${elsewhere.length ? ` (found ${elsewhere.join(', ')}, not in the search path)` : ''}`);
          }
        }
      }),
    );
  }

  if (any((t) => t.rls)) {
    checks.push(
      dbCheck(db, 'db_rls_policies', 'row-level security is enabled, with a policy, on every rls table', async (query, resolved, problems) => {
        const list = present(db, resolved, problems, (t) => (t.rls ? [true] : []));
        const policies = await query<{ oid: string; n: number }>(`SELECT polrelid::text AS oid, count(*)::int AS n FROM pg_policy WHERE polrelid = ANY($1::oid[]) GROUP BY 1`, [oidsOf(list)]);
        for (const [name, , info] of list) {
          if (!info.rls) problems.push(`${name}: row-level security is not enabled (expected ENABLE ROW LEVEL SECURITY)`);
          else if (!policies.rows.some((p) => p.oid === info.oid && p.n > 0)) problems.push(`${name}: row-level security is enabled but the table has no policy`);
        }
      }),
    );
  }

  if (any((t) => t.rls) || db.rls) {
    checks.push(
      dbCheck(db, 'db_rls_isolation', 'row-level security isolates two real users (as database.rls.role)', async (query, resolved, problems, ctx) => {
        // Policies that exist prove nothing about what they let through: without a role to read
        // as, isolation was not tested, and the check says so instead of passing.
        if (!db.rls) return { skip: 'database.rls is not configured: set database.rls { role, table } (a non-owner role the policies bind, and a table whose rows each user owns; `create`: the request that makes one) to prove isolation' };
        const rls = db.rls;
        const list = present(db, resolved, problems, (t) => (t.rls ? [true] : []));
        const role = (await query<{ rolsuper: boolean; rolbypassrls: boolean }>('SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1', [rls.role])).rows[0];
        if (!role) {
          problems.push(`role ${rls.role} (database.rls.role) does not exist`);
          return;
        }
        if (role.rolsuper || role.rolbypassrls) problems.push(`role ${rls.role} bypasses row-level security (${role.rolsuper ? 'superuser' : 'BYPASSRLS'}): it cannot prove isolation`);
        await proveIsolation(ctx, config, query, resolved, list, problems);
      }),
    );
  }
  return checks;
}

/** The column naming a row's owner: `rls.userColumn`, or `id` on the users table itself. */
async function ownerColumn(query: Query, info: TableInfo, userColumn: string, usersTable: string): Promise<string | undefined> {
  const { rows } = await query<{ attname: string }>(`SELECT attname FROM pg_attribute WHERE attrelid = $1::oid AND attname IN ($2, 'id') AND NOT attisdropped`, [info.oid, userColumn]);
  if (rows.some((r) => r.attname === userColumn)) return userColumn;
  if ((info.table === usersTable || info.name === usersTable) && rows.some((r) => r.attname === 'id')) return 'id';
  return undefined;
}

/**
 * Two test users made through the config's `auth` (deterministic: `rls-a`, `rls-b` of this run),
 * each making a row with `rls.create` (as that user; an answer outside its `expect` is a
 * problem), then for every rls table where both own rows: as `rls.role`, each sees all of their
 * own rows and none of the other's; unset, neither's. Tables where the users own nothing are
 * not exercised (`isolation_tables` lists those that were); `rls.table` must be one of them.
 */
async function proveIsolation(ctx: CheckContext, config: ResolvedConfig, query: Query, resolved: Map<string, TableInfo>, list: [string, TableExpectation, TableInfo][], problems: string[]): Promise<void> {
  const rls = config.database.rls!;
  const factory = new UserFactory(ctx, config);
  const users: TestUser[] = [await factory.user('rls-a'), await factory.user('rls-b')];
  const missingId = users.find((u) => !u.id);
  if (missingId) {
    problems.push(`test user ${missingId.label} has no id: set auth.userIdPath (where the signup/login answer holds the user's id), which perf compares with ${rls.userColumn}`);
    return;
  }
  const creates = rls.create === undefined ? [] : Array.isArray(rls.create) ? rls.create : [rls.create];
  const http = httpClientFor(ctx, config);
  for (const u of users) {
    const vars = templateVars(ctx, { label: u.label, email: u.email, username: u.username, password: u.password, name: u.label }, u.id);
    for (const create of creates) {
      let path: string;
      let body: unknown;
      try {
        path = String(renderTemplate(create.path, vars));
        body = create.body === undefined ? undefined : renderTemplate(create.body, vars);
      } catch (e) {
        problems.push(`database.rls.create: ${(e as Error).message}`);
        return;
      }
      const res = await requestAs(http, u, create.method, path, { ...(body !== undefined ? { body } : {}), headers: create.headers });
      try {
        expectStatus(res, create.expect, `database.rls.create as test user ${u.label}`);
      } catch (e) {
        problems.push((e as Error).message);
        return;
      }
    }
  }
  const ids = users.map((u) => u.id!);
  const names = new Map(users.map((u) => [u.id!, u.label]));
  const tables = [...list];
  const target = resolved.get(rls.table);
  if (!target?.oid) {
    problems.push(`database.rls.table ${rls.table} does not exist`);
    return;
  }
  if (!tables.some(([n]) => n === rls.table)) tables.push([rls.table, {} as TableExpectation, target]);

  const exercised: string[] = [];
  for (const [name, , info] of tables) {
    const owner = await ownerColumn(query, info, rls.userColumn, config.database.reconcile?.usersTable ?? 'users');
    if (!owner) {
      if (name === rls.table) problems.push(`${name} (database.rls.table) has no ${rls.userColumn} column (database.rls.userColumn) to isolate on`);
      continue;
    }
    const table = quoteIdent(info.schema!, info.table!);
    const count = `SELECT ${quoteIdent(owner)}::text AS owner, count(*)::int AS n FROM ${table} WHERE ${quoteIdent(owner)}::text = ANY($1::text[]) GROUP BY 1`;
    const counts = async () => new Map((await query<{ owner: string; n: number }>(count, [ids])).rows.map((r) => [r.owner, r.n]));
    // One snapshot for every count (REPEATABLE READ): rows the app adds meanwhile cannot skew them.
    let owned: Map<string, number>;
    let anonymous: Map<string, number>;
    const seenAs = new Map<string, Map<string, number>>();
    await query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    try {
      owned = await counts();
      if (!ids.every((id) => (owned.get(id) ?? 0) > 0)) {
        if (name === rls.table) {
          problems.push(
            `${name} (database.rls.table): the two test users own ${ids.map((id) => `${names.get(id)} ${owned.get(id) ?? 0}`).join(', ')} rows; perf needs rows of both (${creates.length ? `database.rls.create (${creates.map((c) => `${c.method} ${c.path}`).join(', ')}) made none here: point rls.table at the table it fills` : 'set database.rls.create: the request that makes a row of it'})`,
          );
        }
        continue;
      }
      await query(`SET LOCAL ROLE ${quoteIdent(rls.role)}`);
      anonymous = await counts();
      for (const id of ids) {
        await query('SELECT set_config($1, $2, true)', [rls.setting, id]);
        seenAs.set(id, await counts());
      }
    } catch (e) {
      problems.push(`${name}: reading as role ${rls.role} failed: ${(e as Error).message}`);
      continue;
    } finally {
      await query('ROLLBACK');
    }
    exercised.push(name);
    const total = [...anonymous.values()].reduce((a, b) => a + b, 0);
    if (total > 0) problems.push(`${name}: as ${rls.role} with no ${rls.setting} set, ${total} of the test users' rows are visible (expected none)`);
    for (const [me, other] of [
      [ids[0]!, ids[1]!],
      [ids[1]!, ids[0]!],
    ] as const) {
      const seen = seenAs.get(me)!;
      const mine = seen.get(me) ?? 0;
      const theirs = seen.get(other) ?? 0;
      const as = `as ${rls.role} with ${rls.setting} = ${names.get(me)}`;
      if (theirs > 0) problems.push(`${name}: ${as}, ${theirs} of ${names.get(other)}'s ${owned.get(other)} rows are visible (expected none)`);
      if (mine !== owned.get(me)) problems.push(`${name}: ${as}, ${mine} of their own ${owned.get(me)} rows are visible (expected all)`);
    }
  }
  ctx.measure('isolation_tables', exercised);
}
