/**
 * After load: what the load says it created must be in the database, exactly, and nothing
 * may cross users. Inputs are the k6 counters the scenarios keep (`resources_created{kind}`,
 * `resources_deleted{kind}`, summed over the load phase) and the load users, found by exact
 * match of `reconcile.identityColumn` in `reconcile.usersTable` against the identities perf gave
 * them: `auth.identity[reconcile.identity]` for the labels `vu<n>` (what `perf-harness/k6`'s
 * `session()` signs up, scenarios/lib/auth.ts). Which labels: exactly those the load counted
 * on `perf_test_users_created{label}` (LoadCounters.loadUsers). When no scenario counted one
 * (users made some other way), every VU a scenario may have: 0 (setup()) to `loadUserLabels`'
 * bound, so a profile past --users (stress) or an open-model scenario adding VUs is covered
 * (identities nobody used match nothing), and each check's evidence says it guessed.
 *
 *   reconcile_<kind>     rows of the load users in the kind's table = created − deleted
 *                        (one missing row is a lost write; one extra is a duplicate); kinds in
 *                        `reconcile.atLeast` may hold more (created after k6 stopped counting)
 *   reconcile_orphans    every child row points at a parent row of the same user
 *   reconcile_isolation  under RLS (database.rls), one load user sees none of another's rows
 *
 * Tables (`usersTable`, the values of `resources`, the keys and values of `parents`) are `table`
 * (found in the search path) or `schema.table` (split on the first dot), each part quoted as
 * written. Each check first resolves the tables it reads (to_regclass): a missing one fails it
 * with the option that names it (`database.reconcile.resources.note: table app.notes does not
 * exist`), not with PostgreSQL's error.
 *
 * A pass needs something reconciled: a kind the load neither created nor left rows of, child
 * tables without a row of a load user, isolation without `database.rls` or without two load
 * users owning rows, are `skipped` with the reason (CheckSkipped), never `passed`.
 */
import type { ResolvedConfig } from '../config/config-schema.ts';
import { identityOf } from '../auth/template.ts';
import { PROFILES } from '../../scenarios/lib/profiles.ts';
import { quoteIdent, withClient, type Query } from './pg-util.ts';
import { CheckFailure, CheckSkipped, type Check, type CheckContext } from './types.ts';

export interface LoadCounters {
  created: Record<string, number>;
  deleted: Record<string, number>;
  /** Labels (`vu<n>`) of the load users the load signed up (k6 counter `perf_test_users_created{label}`); absent when not counted. */
  loadUsers?: string[];
}

/** `vu0` … `vuN`: k6's setup() (VU 0) and every VU a scenario may run (N: 4 × the peak of the profile, at least 200). */
export function loadUserLabels(config: Pick<ResolvedConfig, 'users' | 'load'>): string[] {
  const peak = Math.ceil(config.users * (PROFILES[config.load.profile]?.peakFactor ?? 1));
  const n = Math.max(200, 4 * peak);
  return Array.from({ length: n + 1 }, (_, i) => `vu${i}`);
}

/**
 * The identities (`reconcile.identity` of `auth.identity`) of this run's load users: of
 * `labels` (the load users the load counted), else of every label `loadUserLabels` guesses.
 */
export function loadUserIdentities(config: Pick<ResolvedConfig, 'users' | 'load' | 'auth' | 'database'>, runId: string, labels?: string[]): string[] {
  const which = config.database.reconcile?.identity ?? 'email';
  return (labels ?? loadUserLabels(config)).map((label) => identityOf(config.auth?.identity, runId, label)[which]);
}

/** A table option, `table` or `schema.table` (split on the first dot), quoted per part for SQL. */
export function quoteTable(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? quoteIdent(name) : quoteIdent(name.slice(0, dot), name.slice(dot + 1));
}

/** `[option, table]`: the option (`database.reconcile.…`) naming a table, for the message when it is missing. */
type TableRef = [option: string, table: string];

/**
 * Fails (CheckFailure, naming each option) when a table of `refs` is malformed or does not exist
 * (as quoteTable quotes it, so exactly the relation the check's SQL reads).
 */
async function requireTables(query: Query, refs: TableRef[]): Promise<void> {
  const unique = [...new Map(refs.map((r) => [`${r[0]}\0${r[1]}`, r])).values()];
  const problems = unique
    .filter(([, table]) => table.split('.', 2).some((part) => part === ''))
    .map(([option, table]) => `${option}: ${JSON.stringify(table)} is not a table name (table or schema.table)`);
  if (problems.length) throw new CheckFailure(problems.join('; '));
  const { rows } = await query<{ i: string; found: boolean }>(
    'SELECT t.i, to_regclass(t.name) IS NOT NULL AS found FROM unnest($1::text[]) WITH ORDINALITY AS t(name, i)',
    [unique.map(([, table]) => quoteTable(table))],
  );
  const missing = rows.filter((r) => !r.found).map((r) => unique[Number(r.i) - 1]!);
  if (missing.length) throw new CheckFailure(missing.map(([option, table]) => `${option}: table ${table} does not exist`).join('; '));
}

function requireDb(ctx: CheckContext): string {
  const url = ctx.target.databaseUrl;
  if (!url) throw new CheckFailure('no database URL for the target (set target.databaseUrl or PERF_DATABASE_URL) — cannot reconcile');
  return url;
}

export function dbReconcileChecks(config: ResolvedConfig, counters: () => LoadCounters | undefined): Check[] {
  const db = config.database;
  const rc = db.reconcile;
  if (!rc) return [];
  const users = quoteTable(rc.usersTable);
  const usersRef: TableRef = ['database.reconcile.usersTable', rc.usersTable];
  const userCol = quoteIdent(rc.userColumn);
  const identity = quoteIdent(rc.identityColumn);
  const uid = quoteIdent(rc.userIdColumn);
  // The load users the load counted; without that counter, the guessed range, said in the evidence.
  const loadUsers = (ctx: CheckContext): string[] => {
    const labels = counters()?.loadUsers;
    if (labels) {
      ctx.record({ kind: 'note', message: `load users: the ${labels.length} the load signed up (k6 counter perf_test_users_created{label})`, data: { labels } });
      return loadUserIdentities(config, ctx.runId, labels);
    }
    const guessed = loadUserLabels(config);
    ctx.record({
      kind: 'note',
      message: `load users: the load counted none on perf_test_users_created{label} (users made other than by perf-harness/k6's session()?): looked for every label a VU may have, vu0 … ${guessed.at(-1)}`,
    });
    return loadUserIdentities(config, ctx.runId, guessed);
  };

  const countersOrFail = (): LoadCounters => {
    const c = counters();
    if (!c) throw new CheckFailure('the load phase reported no resource counters (did it run?)');
    return c;
  };

  const atLeastKinds = new Set(rc.atLeast);
  const perKind: Check[] = Object.entries(rc.resources).map(([kind, table]) => ({
    name: `reconcile_${kind}`,
    description: `${table}: rows of the load users = ${kind}s created − deleted (k6 counters)`,
    retries: 0,
    run: async (ctx) => {
      const c = countersOrFail();
      const expected = (c.created[kind] ?? 0) - (c.deleted[kind] ?? 0);
      await withClient(ctx, requireDb(ctx), async (query) => {
        await requireTables(query, [usersRef, [`database.reconcile.resources.${kind}`, table]]);
        const { rows } = await query<{ n: string; users: string }>(
          `SELECT count(*)::text AS n, count(DISTINCT u.${uid})::text AS users FROM ${quoteTable(table)} r JOIN ${users} u ON u.${uid} = r.${userCol} WHERE u.${identity}::text = ANY($1::text[])`,
          [loadUsers(ctx)],
        );
        const found = Number(rows[0]!.n);
        ctx.measure(`${kind}_expected`, expected);
        ctx.measure(`${kind}_found`, found);
        if (!c.created[kind] && found === 0) {
          throw new CheckSkipped(`the load created no ${kind} (k6 counter resources_created{kind:${kind}} is 0 or absent) and ${table} holds no row of a load user: nothing to reconcile`);
        }
        // Kinds in `atLeast` may be created after k6 stopped counting (e.g. by a background job
        // that completed after its last poll): more rows than counted are fine, fewer are lost writes.
        const atLeast = atLeastKinds.has(kind);
        if (atLeast ? found < expected : found !== expected) {
          throw new CheckFailure(
            `${table}: ${found} row(s) for the load users, expected ${atLeast ? 'at least ' : ''}${expected} (${c.created[kind] ?? 0} created − ${c.deleted[kind] ?? 0} deleted by the load)${found < expected ? ': writes were lost' : ': duplicates or writes the load did not see succeed'}`,
          );
        }
      });
    },
  }));

  const orphans: Check = {
    name: 'reconcile_orphans',
    description: 'every child row of the load users points at a parent row of the same user',
    retries: 0,
    run: async (ctx) => {
      await withClient(ctx, requireDb(ctx), async (query) => {
        const problems: string[] = [];
        const checked: Record<string, number> = {};
        await requireTables(query, [
          usersRef,
          ...Object.entries(rc.parents).flatMap(([child, links]): TableRef[] => [
            [`database.reconcile.parents.${child}`, child],
            ...Object.entries(links).map(([column, parent]): TableRef => [`database.reconcile.parents.${child}.${column}`, parent]),
          ]),
        ]);
        for (const [child, links] of Object.entries(rc.parents)) {
          for (const [column, parent] of Object.entries(links)) {
            const { rows } = await query<{ n: string; bad: string }>(
              `SELECT count(*)::text AS n, (count(*) FILTER (WHERE p.id IS NULL OR p.${userCol} <> c.${userCol}))::text AS bad
                 FROM ${quoteTable(child)} c JOIN ${users} u ON u.${uid} = c.${userCol}
                 LEFT JOIN ${quoteTable(parent)} p ON p.id = c.${quoteIdent(column)}
               WHERE u.${identity}::text = ANY($1::text[]) AND c.${quoteIdent(column)} IS NOT NULL`,
              [loadUsers(ctx)],
            );
            checked[`${child}.${column}`] = Number(rows[0]!.n);
            const bad = Number(rows[0]!.bad);
            if (bad > 0) problems.push(`${bad} ${child} row(s) whose ${column} points at a missing ${parent} row or one of another user`);
          }
        }
        ctx.measure('rows_checked', checked);
        if (problems.length) throw new CheckFailure(problems.join('; '));
        if (Object.values(checked).every((n) => n === 0)) {
          throw new CheckSkipped(`no child row of a load user links to a parent (${Object.keys(checked).join(', ')}): no link to check`);
        }
      });
    },
  };

  const isolation: Check = {
    name: 'reconcile_isolation',
    description: 'under row-level security, one load user sees none of another load user’s rows',
    retries: 0,
    run: async (ctx) => {
      const rls = db.rls;
      if (!rls) throw new CheckSkipped('database.rls is not configured: set database.rls { role, table } to prove that one load user sees none of another’s rows');
      await withClient(ctx, requireDb(ctx), async (query) => {
        await requireTables(query, [usersRef, ...Object.entries(rc.resources).map(([kind, table]): TableRef => [`database.reconcile.resources.${kind}`, table])]);
        const { rows: found } = await query<{ id: string }>(`SELECT ${uid}::text AS id FROM ${users} WHERE ${identity}::text = ANY($1::text[]) ORDER BY ${identity} LIMIT 2`, [loadUsers(ctx)]);
        // Too few load users, or none owning rows, is nothing to test (a lost write fails reconcile_<kind>).
        if (found.length < 2) throw new CheckSkipped(`found ${found.length} load user(s) of this run in ${rc.usersTable}.${rc.identityColumn}; isolation needs two (run the load with --users 2 or more)`);
        const [a, b] = [found[0]!.id, found[1]!.id];
        // Test every resource table with RLS on where user B owns rows: as A, none may show.
        let tested = 0;
        const leaks: string[] = [];
        for (const table of new Set(Object.values(rc.resources))) {
          const { rows: info } = await query<{ rls: boolean; owned: string }>(
            `SELECT c.relrowsecurity AS rls, (SELECT count(*) FROM ${quoteTable(table)} WHERE ${userCol}::text = $2)::text AS owned
               FROM pg_class c WHERE c.oid = to_regclass($1)`,
            [quoteTable(table), b],
          );
          if (!info[0]?.rls || Number(info[0].owned) === 0) continue;
          tested++;
          await query('BEGIN');
          try {
            await query(`SET LOCAL ROLE ${quoteIdent(rls.role)}`);
            await query('SELECT set_config($1, $2, true)', [rls.setting, a]);
            const { rows } = await query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteTable(table)} WHERE ${userCol}::text = $1`, [b]);
            if (Number(rows[0]!.n) > 0) leaks.push(`${table}: ${rows[0]!.n} of ${info[0].owned} rows of load user B visible to load user A`);
          } finally {
            await query('ROLLBACK');
          }
        }
        if (leaks.length) throw new CheckFailure(`as ${rls.role} with ${rls.setting} = load user A: ${leaks.join('; ')}`);
        if (tested === 0) throw new CheckSkipped('no resource table with row-level security holds rows of a load user: isolation could not be tested');
      });
    },
  };

  return [...perKind, ...(Object.keys(rc.parents).length ? [orphans] : []), isolation];
}
