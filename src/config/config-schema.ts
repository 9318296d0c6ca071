import { z } from 'zod';
import { PROFILE_NAMES } from '../../scenarios/lib/profiles.ts';
import { parseDurationMs } from '../cli/flags.ts';
import { influxUrlProblem } from '../influx/influx-schema.ts';
import { agentSchema } from './schema-agent.ts';
import { authRequestSchema, authSchema } from './schema-auth.ts';
import { healthSchema } from './schema-health.ts';
import { serviceSchema } from './schema-services.ts';
import { soakSchema } from './schema-soak.ts';

/**
 * The shape of `perf.config.ts`, as a zod schema: one declaration gives the TypeScript
 * types users write against, the defaults, and validation that reports every problem
 * at once, each naming its field. Objects are strict: a misspelt option is an error,
 * not silently ignored.
 *
 * Every option (here and in schema-*.ts) documents itself with `.meta({ description, examples })`:
 * docs/configuration.md is generated from it (`npm run docs:config`). Editors show JSDoc, not
 * metadata, on `defineConfig({ ... })`, so each option also has a one-line JSDoc: its
 * description's first sentence. test/config-reference.test.ts fails when an option lacks a
 * description or an example, when the JSDoc and the first sentence differ, and when the
 * generated reference is not current.
 */

export const PHASE_NAMES = ['health', 'smoke', 'flows', 'db-integrity', 'frontend-smoke', 'frontend-flows', 'load'] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

const duration = z.string().refine(
  (s) => {
    try {
      parseDurationMs(s);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be a positive duration such as 30s, 2m or 1h' },
);
const httpUrl = z.string().refine((s) => /^https?:\/\/[^\s]+$/.test(s), { message: 'must be an http:// or https:// URL' });
const wsUrl = z.string().refine((s) => /^wss?:\/\/[^\s]+$/.test(s), { message: 'must be a ws:// or wss:// URL' });
const pgUrl = z.string().refine((s) => /^postgres(ql)?:\/\/[^\s]+$/.test(s), { message: 'must be a postgres:// URL' });
const redisUrl = z.string().refine((s) => /^rediss?:\/\/[^\s]+$/.test(s), { message: 'must be a redis:// URL' });

export const targetSchema = z
  .object({
    /** The service's HTTP base URL: every path of the config (health, smoke endpoints, auth requests) is relative to it. */
    baseUrl: httpUrl.meta({
      description: "The service's HTTP base URL: every path of the config (health, smoke endpoints, auth requests) is relative to it. Required; also `--target` and `PERF_TARGET`.",
      examples: ['http://127.0.0.1:8080'],
    }),
    /** The WebSocket base URL that `agent.path` is resolved against. */
    wsUrl: wsUrl.optional().meta({ description: 'The WebSocket base URL that `agent.path` is resolved against. Absent: `baseUrl` with http → ws. Also `PERF_WS_URL`.', examples: ['ws://127.0.0.1:8080'] }),
    /** The service's PostgreSQL, as a postgres:// URL. */
    databaseUrl: pgUrl.optional().meta({
      description:
        "The service's PostgreSQL, as a postgres:// URL. perf connects to it for the `db_health` check, the `database` expectations, the reconciliation after load and the flows' `db` fixture; absent, those do not run. Also `PERF_DATABASE_URL`.",
      examples: ['postgres://app@127.0.0.1:5432/app'],
    }),
    /** The service's Redis, as a redis:// or rediss:// URL, probed by the `redis_health` check. */
    redisUrl: redisUrl.optional().meta({ description: "The service's Redis, as a redis:// or rediss:// URL, probed by the `redis_health` check. Absent: Redis is not probed. Also `PERF_REDIS_URL`.", examples: ['redis://127.0.0.1:6379'] }),
    /** The web front end's base URL, where the `frontend` pages and the browser flows load. */
    frontendUrl: httpUrl.optional().meta({ description: "The web front end's base URL, where the `frontend` pages and the browser flows load. Absent: `baseUrl`. Also `PERF_FRONTEND_URL`.", examples: ['http://127.0.0.1:5173'] }),
    /** Commands perf starts before the first phase and stops after the last, the way Playwright's `webServer` does. */
    start: z
      .array(serviceSchema)
      .default([])
      .meta({
        description:
          "Commands perf starts before the first phase and stops after the last, the way Playwright's `webServer` does. They start in order, each awaited until ready, and stop in reverse (also on failure and Ctrl-C); a service that dies mid-run fails the run, quoting its last lines.",
        examples: [[{ name: 'api', command: 'node dist/server.js', readyUrl: 'http://127.0.0.1:8080/health' }]],
      }),
  })
  .strict();

/** The bundled sample-app's own options (sample-app/README.md). */
export const sampleAppSchema = z
  .object({
    /** Run sample-app on this PostgreSQL instead of the embedded one. */
    databaseUrl: pgUrl.optional().meta({ description: 'Run sample-app on this PostgreSQL instead of the embedded one. Also `PERF_DATABASE_URL` when `target` is `sample-app`.', examples: ['postgres://postgres@127.0.0.1:5432/perf'] }),
    /** Run sample-app on this Redis instead of its in-process store. */
    redisUrl: redisUrl.optional().meta({ description: 'Run sample-app on this Redis instead of its in-process store. Also `PERF_REDIS_URL` when `target` is `sample-app`.', examples: ['redis://127.0.0.1:6379'] }),
    /** Faults sample-app injects, fault name → value (sample-app/faults.ts lists them): each proves a check or gate can fail. */
    faults: z
      .record(z.string(), z.unknown())
      .default({})
      .meta({
        description: 'Faults sample-app injects, fault name → value (sample-app/faults.ts lists them): each proves a check or gate can fail. sample-app validates them at start and says which is wrong.',
        examples: [{ latencyMs: 400, errorRate: 0.05 }],
      }),
  })
  .strict();

export const phasePolicySchema = z
  .object({
    /** `false`: the phase does not run. */
    enabled: z.boolean().optional().meta({ description: '`false`: the phase does not run. Absent: it runs; `--phase` and `--skip` choose phases for one run.', examples: [false] }),
    /** Whether the phase's checks run at once (up to `concurrency`) or one after the other. */
    parallel: z.boolean().optional().meta({ description: "Whether the phase's checks run at once (up to `concurrency`) or one after the other. Absent: the phase's default.", examples: [false] }),
    /** Whether a failure of this phase skips the phases after it (each saying why). */
    blocking: z.boolean().optional().meta({ description: "Whether a failure of this phase skips the phases after it (each saying why). Absent: the phase's default.", examples: [true] }),
    /** The whole phase's time limit, as a duration (`90s`, `5m`). */
    timeout: duration.optional().meta({ description: "The whole phase's time limit, as a duration (`90s`, `5m`). Absent: the phase's default.", examples: ['5m'] }),
    /** The time limit of one attempt of one check, as a duration. */
    checkTimeout: duration.optional().meta({ description: "The time limit of one attempt of one check, as a duration. Absent: the phase's default.", examples: ['30s'] }),
    /** How many times a failed check is tried again, with backoff, before it fails (0 to 10). */
    retries: z
      .number()
      .int()
      .min(0)
      .max(10)
      .optional()
      .meta({ description: "How many times a failed check is tried again, with backoff, before it fails (0 to 10). A check that passes only on a retry is reported `flaky`. Absent: the phase's default.", examples: [0] }),
    /** The most checks of a parallel phase running at once (1 to 256). */
    concurrency: z.number().int().min(1).max(256).optional().meta({ description: "The most checks of a parallel phase running at once (1 to 256). Absent: the phase's default.", examples: [4] }),
    /** Checks of this phase switched off by name: reported `skipped`, saying where. */
    disable: z
      .array(z.string())
      .default([])
      .meta({ description: "Checks of this phase switched off by name: reported `skipped`, saying where. An unknown name is an error listing the phase's checks (`perf list` shows them).", examples: [['redis_health']] }),
  })
  .strict();

const httpMethod = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** `smoke.openapi` in full: the document and which of its operations the matrix leaves out. */
export const openapiSchema = z
  .object({
    /** The OpenAPI 3.0 or 3.1 document: a file relative to the config, or an http(s) URL. */
    document: z.string().min(1).meta({ description: 'The OpenAPI 3.0 or 3.1 document: a file relative to the config, or an http(s) URL.', examples: ['./openapi.yaml'] }),
    /** Operations left out of the matrix and of coverage: an operationId, or `METHOD /path` as the document writes it. */
    exclude: z
      .array(z.string())
      .default([])
      .meta({ description: 'Operations left out of the matrix and of coverage: an operationId, or `METHOD /path` as the document writes it.', examples: [['DELETE /api/accounts/me', 'adminReset']] }),
    /** Check each smoke response's status and JSON body against the document. */
    validateResponses: z
      .boolean()
      .default(true)
      .meta({ description: "Check each smoke response's status and JSON body against the document. `false`: the document only derives the matrix.", examples: [false] }),
  })
  .strict();

const status = (description: string, example: number) => z.number().int().min(100).max(599).meta({ description, examples: [example] });

/** One row of the smoke matrix. `:id` in a path is replaced by an id that does not exist. */
export const endpointSchema = z
  .object({
    /** Names the endpoint's checks (`<name>_reachable`, `<name>_requires_auth`, ...), in snake_case. */
    name: z
      .string()
      .regex(/^[a-z0-9_]+$/, 'must be snake_case (it names the check)')
      .meta({
        description:
          "Names the endpoint's checks (`<name>_reachable`, `<name>_requires_auth`, ...), in snake_case. Also `<name>_rejects_empty_body`, `<name>_unknown_id` and `<name>_requires_csrf` where they apply.",
        examples: ['notes_get'],
      }),
    /** The HTTP method. */
    method: httpMethod.meta({ description: 'The HTTP method.', examples: ['GET'] }),
    /** The path on `target.baseUrl`, with `:param`s for ids (`/api/notes/:id`): they are replaced by an id no row has. */
    path: z
      .string()
      .startsWith('/', 'must start with /')
      .meta({ description: 'The path on `target.baseUrl`, with `:param`s for ids (`/api/notes/:id`): they are replaced by an id no row has. Starts with `/`.', examples: ['/api/notes/:id'] }),
    /** Whether the endpoint is protected: it must then refuse a request without a valid credential (`expect.unauthenticated`). */
    auth: z
      .boolean()
      .default(true)
      .meta({
        description:
          'Whether the endpoint is protected: it must then refuse a request without a valid credential (`expect.unauthenticated`). The other checks of a protected endpoint are made as a test user (`auth`).',
        examples: [false],
      }),
    /** Whether the endpoint takes a JSON body: it must then reject an empty one (`expect.emptyBody`). */
    body: z.boolean().default(false).meta({ description: 'Whether the endpoint takes a JSON body: it must then reject an empty one (`expect.emptyBody`).', examples: [true] }),
    /** The kind of id the path's `:param`s take, so the unknown-id probe sends one of the service's own type that no row has. */
    idKind: z
      .enum(['uuid', 'integer', 'slug'])
      .default('uuid')
      .meta({
        description:
          "The kind of id the path's `:param`s take, so the unknown-id probe sends one of the service's own type that no row has. `uuid`, `integer` (2147483646, valid for int4 and bigint columns) or `slug` (`perf-no-such-<n>`); a service that rejects an id of the wrong type (400) before looking it up needs the right kind.",
        examples: ['integer'],
      }),
    /** The statuses this endpoint answers, where they differ from the defaults. */
    expect: z
      .object({
        /** What the endpoint answers without a valid credential. */
        unauthenticated: status('What the endpoint answers without a valid credential. Absent: `smoke.unauthenticatedStatus`.', 403).optional(),
        /** What the endpoint answers to an empty JSON body (`{}`), when `body` is true. */
        emptyBody: status('What the endpoint answers to an empty JSON body (`{}`), when `body` is true. Many services answer 400.', 400).default(422),
        /** What the endpoint answers for an id that does not exist, when its path has a `:param`. */
        unknownId: status('What the endpoint answers for an id that does not exist, when its path has a `:param`. A service that hides which ids exist may answer 403.', 403).default(404),
        /** What a write (POST, PUT, PATCH, DELETE) as a test user without the CSRF header answers, when `auth.credential` is a cookie session with `csrf`. */
        missingCsrf: status('What a write (POST, PUT, PATCH, DELETE) as a test user without the CSRF header answers, when `auth.credential` is a cookie session with `csrf`.', 419).default(403),
      })
      .strict()
      .default({ emptyBody: 422, unknownId: 404, missingCsrf: 403 })
      .meta({ description: 'The statuses this endpoint answers, where they differ from the defaults.', examples: [{ unauthenticated: 403, emptyBody: 400 }] }),
  })
  .strict();

/** `table(column)` or `schema.table(column)`: what a foreign key references. */
const fkReference = z.string().regex(/^(?:\w+\.)?\w+\(\w+\)$/, 'must look like table(column) or schema.table(column)');

/** `ON DELETE` actions of a foreign key, as `pg_constraint.confdeltype` knows them. */
export const ON_DELETE_ACTIONS = ['no action', 'restrict', 'cascade', 'set null', 'set default'] as const;

export const tableExpectationSchema = z
  .object({
    /** Columns that must exist, column → PostgreSQL type. */
    columns: z
      .record(z.string(), z.string())
      .default({})
      .meta({
        description:
          'Columns that must exist, column → PostgreSQL type. Any usual spelling of a type works: `timestamptz` = `timestamp with time zone`, `int4` = `integer`, `varchar` = `character varying`, `text[]` (check `db_tables_columns`).',
        examples: [{ id: 'bigint', title: 'text', created_at: 'timestamp with time zone' }],
      }),
    /** Index names that must exist on the table, valid (check `db_indexes`). */
    indexes: z.array(z.string()).default([]).meta({ description: 'Index names that must exist on the table, valid (check `db_indexes`).', examples: [['notes_pkey', 'notes_owner_idx']] }),
    /** Foreign keys, column → `other_table(column)`, or `{ references, onDelete }` to assert its `ON DELETE` action too (check `db_foreign_keys`). */
    foreignKeys: z
      .record(
        z.string(),
        z.union([
          fkReference,
          z
            .object({
              /** The referenced `table(column)` or `schema.table(column)`. */
              references: fkReference.meta({ description: 'The referenced `table(column)` or `schema.table(column)`.', examples: ['app.accounts(uid)'] }),
              /** The key's `ON DELETE` action, compared with PostgreSQL's. */
              onDelete: z
                .enum(ON_DELETE_ACTIONS)
                .optional()
                .meta({ description: "The key's `ON DELETE` action, compared with PostgreSQL's. Absent: not checked (PostgreSQL's own default is `no action`).", examples: ['cascade'] }),
            })
            .strict(),
        ]),
      )
      .default({})
      .meta({
        description:
          'Foreign keys, column → `other_table(column)`, or `{ references, onDelete }` to assert its `ON DELETE` action too (check `db_foreign_keys`). Each must be a single-column key to exactly that column, validated.',
        examples: [{ owner: { references: 'accounts(uid)', onDelete: 'cascade' }, folder_id: 'folders(id)' }],
      }),
    /** Check constraints that must exist on the table: a name, or `{ name, expression }` to assert what it checks too (check `db_check_constraints`). */
    checks: z
      .array(
        z.union([
          z.string(),
          z
            .object({
              /** The check constraint's name. */
              name: z.string().meta({ description: "The check constraint's name.", examples: ['notes_title_check'] }),
              /** What it must check, as in your migration (with or without `CHECK (...)` around it). */
              expression: z
                .string()
                .min(1)
                .meta({
                  description:
                    "What it must check, as in your migration (with or without `CHECK (...)` around it). PostgreSQL itself rewrites it for the comparison with its own text of the constraint (`pg_get_constraintdef`), so `status IN ('a', 'b')` matches.",
                  examples: ['char_length(title) >= 1'],
                }),
            })
            .strict(),
        ]),
      )
      .default([])
      .meta({
        description: 'Check constraints that must exist on the table: a name, or `{ name, expression }` to assert what it checks too (check `db_check_constraints`).',
        examples: [['notes_title_check', { name: 'notes_status_valid', expression: "status IN ('draft', 'published')" }]],
      }),
    /** Column sets that must each be unique, by a unique constraint, a primary key or a valid, non-partial unique index (check `db_unique`). */
    unique: z
      .array(z.array(z.string()).min(1))
      .default([])
      .meta({
        description: 'Column sets that must each be unique, by a unique constraint, a primary key or a valid, non-partial unique index (check `db_unique`). Columns in any order.',
        examples: [[['email'], ['user_id', 'kind']]],
      }),
    /** Columns that must be `NOT NULL` (check `db_nullability`). */
    notNull: z.array(z.string()).default([]).meta({ description: 'Columns that must be `NOT NULL` (check `db_nullability`).', examples: [['owner', 'title']] }),
    /** Columns that must accept NULL (check `db_nullability`). */
    nullable: z.array(z.string()).default([]).meta({ description: 'Columns that must accept NULL (check `db_nullability`).', examples: [['body']] }),
    /** Row-level security must be enabled on this table, with at least one policy (check `db_rls_policies`). */
    rls: z
      .boolean()
      .default(false)
      .meta({ description: 'Row-level security must be enabled on this table, with at least one policy (check `db_rls_policies`). With `database.rls`, isolation is proven on it too.', examples: [true] }),
    /** Triggers that must exist on the table and not be disabled (check `db_triggers`). */
    triggers: z.array(z.string()).default([]).meta({ description: 'Triggers that must exist on the table and not be disabled (check `db_triggers`).', examples: [['notes_set_updated_at']] }),
  })
  .strict();

/**
 * After load, what the load created is reconciled with the database: `resources_created{kind}`
 * and `resources_deleted{kind}` (k6 counters) against the rows of the load users: the users the
 * load signed up (k6 counter `perf_test_users_created{label}`), found by exact match of the
 * identity perf gave each (`auth.identity`, label `vu<n>`). Tables are `table` (found in the
 * search path) or `schema.table` (split on the first dot, each part matched as written); a
 * table that does not exist fails the check, naming the option.
 */
export const reconcileSchema = z
  .object({
    /** The table of accounts (`users` or `app.users`). */
    usersTable: z.string().default('users').meta({ description: 'The table of accounts (`users` or `app.users`).', examples: ['accounts'] }),
    /** The users table's column holding the identity perf gave each load user (its e-mail or username). */
    identityColumn: z.string().default('email').meta({ description: "The users table's column holding the identity perf gave each load user (its e-mail or username). Matched exactly.", examples: ['username'] }),
    /** Which of `auth.identity`'s templates `identityColumn` holds. */
    identity: z.enum(['email', 'username']).default('email').meta({ description: "Which of `auth.identity`'s templates `identityColumn` holds.", examples: ['username'] }),
    /** The users table's primary key, which `userColumn` of each resource table references. */
    userIdColumn: z.string().default('id').meta({ description: "The users table's primary key, which `userColumn` of each resource table references.", examples: ['uid'] }),
    /** The column linking a resource row to its user. */
    userColumn: z.string().default('user_id').meta({ description: 'The column linking a resource row to its user.', examples: ['owner'] }),
    /** Resources to reconcile: k6 counter `kind` → the table holding that resource. */
    resources: z
      .record(z.string(), z.string())
      .default({})
      .meta({
        description:
          'Resources to reconcile: k6 counter `kind` → the table holding that resource. The load users\' rows there must equal what the load created minus what it deleted (check `reconcile_<kind>`): a write answered 201 but never stored, or stored twice, fails.',
        examples: [{ note: 'notes', attachment: 'app.attachments' }],
      }),
    /** Kinds the database may hold more of than the load counted: fewer rows still fail, more do not. */
    atLeast: z
      .array(z.string())
      .default([])
      .meta({ description: 'Kinds the database may hold more of than the load counted: fewer rows still fail, more do not. For resources made in the background after k6 stopped counting (a job\'s outputs).', examples: [['asset']] }),
    /** Child table → `column → parent table`: every child row of a load user must point at a parent row of the same user (check `reconcile_orphans`). */
    parents: z
      .record(z.string(), z.record(z.string(), z.string()))
      .default({})
      .meta({
        description: 'Child table → `column → parent table`: every child row of a load user must point at a parent row of the same user (check `reconcile_orphans`). Tables are `table` or `schema.table`.',
        examples: [{ assets: { job_id: 'jobs' } }],
      }),
  })
  .strict();

export const databaseSchema = z
  .object({
    /** What each table must have, by table name (`notes`, in the search path, or `app.notes`). */
    tables: z
      .record(z.string(), tableExpectationSchema)
      .default({})
      .meta({
        description:
          'What each table must have, by table name (`notes`, in the search path, or `app.notes`). A table that does not exist fails each check that has something to look for on it; `db_health` checks every table listed exists.',
        examples: [{ notes: { columns: { id: 'bigint', title: 'text' }, notNull: ['title'] } }],
      }),
    /** After load, reconcile what the load created (k6 counters) with the rows of the load users. */
    reconcile: reconcileSchema.optional().meta({
      description:
        'After load, reconcile what the load created (k6 counters) with the rows of the load users. The scenarios count `resources_created{kind}` and `resources_deleted{kind}`; load users are found by the identity perf gave each. Absent: no reconciliation.',
      examples: [{ usersTable: 'accounts', identityColumn: 'username', identity: 'username', resources: { note: 'notes' } }],
    }),
    /** Functions that must exist: `name` in the search path, or `schema.name` (check `db_functions`). */
    functions: z.array(z.string()).default([]).meta({ description: 'Functions that must exist: `name` in the search path, or `schema.name` (check `db_functions`).', examples: [['set_updated_at']] }),
    /** The row-level security proof: two test users each make rows, and each must see only its own as `role` (check `db_rls_isolation`). */
    rls: z
      .object({
        /** The non-owner role the policies apply to: not a superuser, not `BYPASSRLS`. */
        role: z.string().meta({ description: 'The non-owner role the policies apply to: not a superuser, not `BYPASSRLS`. perf does `SET LOCAL ROLE` to it in a transaction it rolls back.', examples: ['app_rls'] }),
        /** The setting the policies read the current user's id from. */
        setting: z.string().default('app.user_id').meta({ description: "The setting the policies read the current user's id from. perf sets it to each test user's id (`auth.userIdPath`).", examples: ['app.current_user'] }),
        /** A table whose rows must be isolated per user (each has a `userColumn`). */
        table: z.string().meta({ description: 'A table whose rows must be isolated per user (each has a `userColumn`).', examples: ['notes'] }),
        /** The column of `table` (and of the other `rls: true` tables) naming a row's owner. */
        userColumn: z.string().default('user_id').meta({ description: "The column of `table` (and of the other `rls: true` tables) naming a row's owner.", examples: ['owner_id'] }),
        /** A request, or a list made in order, that perf makes as each of two test users so that each owns a row of `table`. */
        create: z
          .union([authRequestSchema, z.array(authRequestSchema).min(1)])
          .optional()
          .meta({
            description:
              "A request, or a list made in order, that perf makes as each of two test users so that each owns a row of `table`. Templated like `auth`'s requests (`{{label}}`, `{{email}}`, `{{id}}`, ...). Absent: the rows sign-up itself makes are used.",
            examples: [{ method: 'POST', path: '/api/notes', body: { title: 'perf rls {{label}}' }, expect: [201] }],
          }),
      })
      .strict()
      .optional()
      .meta({
        description:
          'The row-level security proof: two test users each make rows, and each must see only its own as `role` (check `db_rls_isolation`). Absent: `rls: true` tables get only `db_rls_policies`, and `db_rls_isolation` is skipped, saying so.',
        examples: [{ role: 'app_rls', table: 'notes', userColumn: 'owner_id' }],
      }),
  })
  .strict();

/** `flows` / `browserFlows`: where the user's files are and which of their flows run. */
function userFilesSchema(defaultDir: string) {
  return z
    .object({
      /** Folder, relative to the config file, searched (subfolders included) for the `.ts` files declaring flows. */
      dir: z
        .string()
        .default(defaultDir)
        .meta({ description: 'Folder, relative to the config file, searched (subfolders included) for the `.ts` files declaring flows. A missing default folder means no flows; a missing folder you name is an error.', examples: [`perf/${defaultDir}`] }),
      /** Flow names to run; empty: all (or those marked `only`). */
      only: z.array(z.string()).default([]).meta({ description: 'Flow names to run; empty: all (or those marked `only`). An unknown name is an error.', examples: [['sign_up_and_log_in']] }),
      /** Run only the flows carrying one of these tags; empty: all. */
      tags: z.array(z.string()).default([]).meta({ description: 'Run only the flows carrying one of these tags; empty: all.', examples: [['critical']] }),
    })
    .strict();
}

const k6Name = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const gateSchema = z
  .object({
    /** The k6 metric the gate reads, built-in or your scenarios' own. */
    metric: z
      .string()
      .regex(k6Name, 'must be a k6 metric name')
      .meta({ description: "The k6 metric the gate reads, built-in or your scenarios' own. For example `http_req_duration`, `http_req_failed`, `data_isolation` or `ws_event_order`.", examples: ['http_req_duration'] }),
    /** Only the samples carrying these tags (`{ name: 'login' }` gives `http_req_duration{name:login}`). */
    tags: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: "Only the samples carrying these tags (`{ name: 'login' }` gives `http_req_duration{name:login}`). Absent: every sample of the metric.", examples: [{ name: 'notes_list' }] }),
    /** The perf scenarios (file names in `load.scenariosDir`) the gate applies to; absent: all. */
    scenarios: z
      .array(z.string())
      .optional()
      .meta({
        description:
          'The perf scenarios (file names in `load.scenariosDir`) the gate applies to; absent: all. A gate whose scenarios did not run is `not-run`; one whose scenarios ran without a sample of it fails.',
        examples: [['notes-journey']],
      }),
    /** The statistic compared with `limit`: a percentile, `avg`, `min`, `max`, `med`, `rate` (of a rate metric) or `count`. */
    stat: z
      .enum(['p(50)', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'avg', 'min', 'max', 'med', 'rate', 'count'])
      .meta({ description: 'The statistic compared with `limit`: a percentile, `avg`, `min`, `max`, `med`, `rate` (of a rate metric) or `count`. Required.', examples: ['p(95)'] }),
    /** How the statistic compares with `limit` for the gate to hold. */
    op: z.enum(['<', '<=', '>', '>=']).default('<').meta({ description: 'How the statistic compares with `limit` for the gate to hold.', examples: ['>='] }),
    /** The limit, in the metric's unit: milliseconds for durations, a fraction (0 to 1) for rates. */
    limit: z
      .number()
      .optional()
      .meta({ description: "The limit, in the metric's unit: milliseconds for durations, a fraction (0 to 1) for rates. Each gate has either `limit` (absolute) or `maxIncrease` (relative to a baseline run).", examples: [300] }),
    /** A relative gate: the largest increase of the statistic over the baseline run's (`perf run --baseline`), as a percentage. */
    maxIncrease: z
      .string()
      .regex(/^\d+(\.\d+)?%$/, 'must be a percentage such as "15%"')
      .optional()
      .meta({
        description:
          "A relative gate: the largest increase of the statistic over the baseline run's (`perf run --baseline`), as a percentage. It fails only when the increase is larger AND a Mann-Whitney U test over the steady windows' per-window statistic says it is beyond run-to-run noise (docs/baselines.md). Evaluated only with a baseline.",
        examples: ['15%'],
      }),
    /** A drift gate: the largest change of the statistic from the first steady windows of a scenario to its last windows, as a percentage. */
    maxDrift: z
      .string()
      .regex(/^\d+(\.\d+)?%$/, 'must be a percentage such as "20%"')
      .optional()
      .meta({
        description:
          'A drift gate: the largest change of the statistic from the first steady windows of a scenario to its last windows, as a percentage. For a soak: does it degrade over hours? It fails only when the change is larger AND a Mann-Whitney U test says the last windows are worse than the first beyond window-to-window noise. How many windows: `soak.driftWindows` (docs/soak.md).',
        examples: ['20%'],
      }),
    /** For a relative gate: the significance level of the rank test, the chance of calling run-to-run noise a regression. */
    significance: z
      .number()
      .gt(0)
      .lt(0.5)
      .optional()
      .meta({ description: 'For a relative gate: the significance level of the rank test, the chance of calling run-to-run noise a regression. Absent: 0.01. For a drift gate: the same, window against window.', examples: [0.05] }),
    /** Stop the load test as soon as this gate fails. */
    abortOnFail: z.boolean().default(false).meta({ description: 'Stop the load test as soon as this gate fails.', examples: [true] }),
    /** Pass a gate that has fewer samples than its statistic needs instead of failing it. */
    allowInsufficientData: z
      .boolean()
      .default(false)
      .meta({
        description: 'Pass a gate that has fewer samples than its statistic needs instead of failing it. A percentile p needs 1/(1 − p) samples, a rate limit L needs 1/min(L, 1 − L).',
        examples: [true],
      }),
    /** A tag whose every value must hold the gate on its own, such as `'name'`: each endpoint's failure rate under the limit, not only the whole API's. */
    groupBy: z
      .string()
      .regex(k6Name, 'must be a k6 tag name')
      .optional()
      .meta({
        description:
          "A tag whose every value must hold the gate on its own, such as `'name'`: each endpoint's failure rate under the limit, not only the whole API's. The verdict lists each value seen with its figure and sample count, and the worst decides. k6 gets the threshold without the grouping (tag values are only known once the load ran).",
        examples: ['name'],
      }),
    /** `false`: the gate must hold in each scenario it applies to, and the worst decides; `true`: decided once over the samples of all its scenarios merged. */
    merge: z
      .boolean()
      .default(false)
      .meta({
        description:
          '`false`: the gate must hold in each scenario it applies to, and the worst decides; `true`: decided once over the samples of all its scenarios merged. Merged, fast requests of one scenario can hide slow ones of another: choose it knowingly.',
        examples: [true],
      }),
    /** Which samples count: `all` of the load, or only the `steady` ones, from when a scenario reached its peak (the ramp-up excluded). */
    window: z
      .enum(['steady', 'all'])
      .default('all')
      .meta({
        description:
          "Which samples count: `all` of the load, or only the `steady` ones, from when a scenario reached its peak (the ramp-up excluded). k6's threshold gets the same window through the `perf_window` tag perf sets on every sample of an iteration.",
        examples: ['steady'],
      }),
    /** For `http_req_*` latency gates: `expected` counts only responses k6 judged successful, `all` every response. */
    responses: z
      .enum(['expected', 'all'])
      .default('expected')
      .meta({
        description: 'For `http_req_*` latency gates: `expected` counts only responses k6 judged successful, `all` every response. `expected` (`expected_response:true`) keeps fast errors from making latency look good.',
        examples: ['all'],
      }),
    /** The load profiles under which the gate applies (`--profile`); absent: every profile. */
    profiles: z
      .array(z.enum(PROFILE_NAMES))
      .min(1)
      .optional()
      .meta({
        description:
          "The load profiles under which the gate applies (`--profile`); absent: every profile. A gate of another profile is left out of the run entirely (k6's thresholds, the verdict, `perf list`): a drift gate meant for the nightly soak does not judge a 15-second hold.",
        examples: [['soak']],
      }),
    /** What the gate protects, shown in reports. */
    description: z.string().optional().meta({ description: 'What the gate protects, shown in reports.', examples: ['notes list p95 under 250 ms'] }),
  })
  .strict()
  .superRefine((g, ctx) => {
    const kinds = [g.limit !== undefined && 'limit', g.maxIncrease !== undefined && 'maxIncrease', g.maxDrift !== undefined && 'maxDrift'].filter((k): k is string => !!k);
    if (!kinds.length) ctx.addIssue({ code: 'custom', path: ['limit'], message: 'a gate needs `limit` (absolute), `maxIncrease` (relative to a baseline run) or `maxDrift` (first windows against last)' });
    if (kinds.length > 1) ctx.addIssue({ code: 'custom', path: [kinds[1]!], message: `a gate has one of \`limit\`, \`maxIncrease\` or \`maxDrift\`, not ${kinds.map((k) => `\`${k}\``).join(' and ')}: declare one gate each` });
    for (const kind of ['maxIncrease', 'maxDrift'] as const) {
      if (g[kind] === undefined) continue;
      const what = kind === 'maxIncrease' ? 'a relative gate (`maxIncrease`)' : 'a drift gate (`maxDrift`)';
      if (g.groupBy) ctx.addIssue({ code: 'custom', path: ['groupBy'], message: `${what} is compared per scenario, not per tag value: drop groupBy` });
      if (g.abortOnFail) ctx.addIssue({ code: 'custom', path: ['abortOnFail'], message: `${what} is decided after the load, from its windows: k6 cannot abort on it` });
      if (g.stat === 'count' || g.stat === 'min') ctx.addIssue({ code: 'custom', path: ['stat'], message: `${what} compares a percentile, avg, med, max or rate; ${g.stat} is not one` });
    }
    if (g.significance !== undefined && g.maxIncrease === undefined && g.maxDrift === undefined) ctx.addIssue({ code: 'custom', path: ['significance'], message: 'significance applies to a relative gate (`maxIncrease`) or a drift gate (`maxDrift`) only' });
    if (g.groupBy && g.tags && g.groupBy in g.tags) {
      ctx.addIssue({ code: 'custom', path: ['groupBy'], message: `"${g.groupBy}" is also a tag filter of this gate: group by another tag, or drop it from tags` });
    }
    if (g.window === 'steady' && g.tags && 'perf_window' in g.tags) {
      ctx.addIssue({ code: 'custom', path: ['tags', 'perf_window'], message: 'perf sets perf_window itself: use window: "steady" or "all" instead' });
    }
  });

/**
 * One page of the front-end smoke (`frontend.pages`). Its `name` names the checks: `page_<name>`
 * (the page loads as expected) and, for dashboard pages, `redirect_<name>` (signed out, it sends
 * the visitor to `frontend.loginPath`).
 */
export const frontendPageSchema = z
  .object({
    /** Names the page's checks, `page_<name>` and (dashboard pages) `redirect_<name>`, in snake_case. */
    name: z
      .string()
      .regex(/^[a-z0-9_]+$/, 'must be snake_case (it names the checks)')
      .meta({ description: "Names the page's checks, `page_<name>` and (dashboard pages) `redirect_<name>`, in snake_case. Unique among the pages.", examples: ['dashboard'] }),
    /** The page's path on `target.frontendUrl`, query string included. */
    path: z.string().startsWith('/', 'must start with /').meta({ description: "The page's path on `target.frontendUrl`, query string included. Starts with `/`.", examples: ['/app'] }),
    /** `public`: anyone may load it; `auth`: a sign-in or sign-up page, which must show a form; `dashboard`: signed out it redirects to `frontend.loginPath`, signed in it loads. */
    kind: z
      .enum(['public', 'auth', 'dashboard'])
      .default('public')
      .meta({
        description:
          '`public`: anyone may load it; `auth`: a sign-in or sign-up page, which must show a form; `dashboard`: signed out it redirects to `frontend.loginPath`, signed in it loads. Dashboard pages are loaded as a test user of `auth`, signed in the way `frontend.signIn` says.',
        examples: ['dashboard'],
      }),
    /** The HTTP status of the page's document. */
    status: z.number().int().min(100).max(599).default(200).meta({ description: "The HTTP status of the page's document. 404 for the not-found page.", examples: [404] }),
    /** `data-testid` values that must be visible on the page. */
    testIds: z.array(z.string().min(1)).default([]).meta({ description: '`data-testid` values that must be visible on the page.', examples: [['login-form', 'login-submit']] }),
    /** CSS (or Playwright) selectors that must be visible on the page. */
    selectors: z.array(z.string().min(1)).default([]).meta({ description: 'CSS (or Playwright) selectors that must be visible on the page.', examples: [['body[data-ready=true]']] }),
  })
  .strict();

/** A page-timing gate, evaluated by the page's own check on its one navigation (not a percentile). */
export const frontendBudgetSchema = z
  .object({
    /** The page it applies to, a `frontend.pages` name. */
    page: z.string().meta({ description: 'The page it applies to, a `frontend.pages` name.', examples: ['login'] }),
    /** `fcp`: first contentful paint; `domContentLoaded`, `load`: the end of those events; each from navigation start. */
    metric: z.enum(['fcp', 'domContentLoaded', 'load']).meta({ description: '`fcp`: first contentful paint; `domContentLoaded`, `load`: the end of those events; each from navigation start.', examples: ['load'] }),
    /** The limit in milliseconds. */
    limitMs: z.number().positive().meta({ description: "The limit in milliseconds. The page's check fails when its one navigation takes longer.", examples: [3000] }),
  })
  .strict();

export const frontendSchema = z
  .object({
    /** The pages `frontend-smoke` loads in Chromium, each one or two checks: no console errors or failed requests, the expected status and elements. */
    pages: z
      .array(frontendPageSchema)
      .default([])
      .meta({
        description: 'The pages `frontend-smoke` loads in Chromium, each one or two checks: no console errors or failed requests, the expected status and elements.',
        examples: [[{ name: 'login', path: '/', kind: 'auth', testIds: ['login-form'] }]],
      }),
    /** Page-timing budgets, each judged on the page's one navigation (not a percentile). */
    budgets: z
      .array(frontendBudgetSchema)
      .default([])
      .meta({ description: "Page-timing budgets, each judged on the page's one navigation (not a percentile).", examples: [[{ page: 'login', metric: 'load', limitMs: 3000 }]] }),
    /** Where dashboard pages send signed-out visitors (the path; the query string is ignored). */
    loginPath: z
      .string()
      .startsWith('/', 'must start with /')
      .default('/login')
      .meta({ description: 'Where dashboard pages send signed-out visitors (the path; the query string is ignored).', examples: ['/'] }),
    /** How a test user (made through `auth`) is signed in to the pages without the login form, by `via`. */
    signIn: z
      .discriminatedUnion('via', [
        z
          .object({
            /** `'cookie'`: the user's token in a cookie of the front end. */
            via: z.literal('cookie').meta({ description: "`'cookie'`: the user's token in a cookie of the front end.", examples: ['cookie'] }),
            /** The cookie's name. */
            name: z.string().min(1).meta({ description: "The cookie's name.", examples: ['app_token'] }),
          })
          .strict(),
        z
          .object({
            /** `'localStorage'`: the user's token in the page's localStorage, set before its scripts run. */
            via: z.literal('localStorage').meta({ description: "`'localStorage'`: the user's token in the page's localStorage, set before its scripts run.", examples: ['localStorage'] }),
            /** The localStorage key. */
            key: z.string().min(1).meta({ description: 'The localStorage key.', examples: ['notes.key'] }),
          })
          .strict(),
        z
          .object({
            /** `'header'`: the user's credential headers on every request of the page. */
            via: z.literal('header').meta({ description: "`'header'`: the user's credential headers on every request of the page.", examples: ['header'] }),
          })
          .strict(),
        z
          .object({
            /** `'session'`: the user's session cookies (a cookie-session service). */
            via: z.literal('session').meta({ description: "`'session'`: the user's session cookies (a cookie-session service).", examples: ['session'] }),
          })
          .strict(),
      ])
      .optional()
      .meta({
        description:
          "How a test user (made through `auth`) is signed in to the pages without the login form, by `via`. Needed by `dashboard` pages and by browser flows' `signIn()`; without it they fail, naming this option.",
        examples: [{ via: 'localStorage', key: 'notes.key' }],
      }),
    /** Failed requests (and the console errors Chromium logs for them) that do not fail a page, by URL pattern. */
    ignoreRequests: z
      .array(z.string().min(1))
      .default([])
      .meta({
        description:
          "Failed requests (and the console errors Chromium logs for them) that do not fail a page, by URL pattern. A path (`/favicon.ico`), a glob on the path (`*` within a segment, `**` across segments: `/analytics/**`), or a whole URL when the pattern has `://`; query strings are ignored. Ignored requests are listed in the check's evidence.",
        examples: [['/favicon.ico', 'https://cdn.example.com/**']],
      }),
  })
  .strict()
  .superRefine((f, ctx) => {
    const names = new Set<string>();
    f.pages.forEach((p, i) => {
      if (names.has(p.name)) ctx.addIssue({ code: 'custom', path: ['pages', i, 'name'], message: `duplicate page name "${p.name}"` });
      names.add(p.name);
    });
    f.budgets.forEach((b, i) => {
      if (!names.has(b.page)) {
        ctx.addIssue({ code: 'custom', path: ['budgets', i, 'page'], message: `unknown page "${b.page}" (pages: ${[...names].join(', ') || 'none'})` });
      }
    });
  });

export const configSchema = z
  .object({
    /** The system under test: `'sample-app'` starts the bundled reference service; an object points perf at your own. */
    target: z
      .union([z.literal('sample-app'), targetSchema])
      .default('sample-app')
      .meta({
        description: "The system under test: `'sample-app'` starts the bundled reference service; an object points perf at your own. Its URLs can also come from `PERF_TARGET` and the other `PERF_*_URL` variables.",
        examples: [{ baseUrl: 'http://127.0.0.1:8080', databaseUrl: 'postgres://app@127.0.0.1:5432/app' }],
      }),
    /** Options of the bundled reference service, used when `target` is `'sample-app'`. */
    sampleApp: sampleAppSchema.default({ faults: {} }).meta({ description: "Options of the bundled reference service, used when `target` is `'sample-app'`.", examples: [{ faults: { latencyMs: 400 } }] }),
    /** Concurrent users (k6 virtual users) of the user-journey load scenarios. */
    users: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(15)
      .meta({ description: 'Concurrent users (k6 virtual users) of the user-journey load scenarios. The load profile may go past it (`stress`: twice). Also `--users` and `PERF_USERS`.', examples: [50] }),
    /** Seed of the deterministic test data: test users' passwords and the unknown ids smoke probes derive from it. */
    seed: z.number().int().min(0).default(1).meta({ description: "Seed of the deterministic test data: test users' passwords and the unknown ids smoke probes derive from it. Also `--seed` and `PERF_SEED`.", examples: [42] }),
    /** The whole run is stopped (status `timedout`) after this long, as a duration (`30m`, `1h`). */
    deadline: duration.optional().meta({
      description:
        "The whole run is stopped (status `timedout`) after this long, as a duration (`30m`, `1h`). Absent: 30 minutes plus the load's own length (each scenario's ramp-up and hold, and 2 minutes of setup and teardown each), so a soak's `--duration 8h` is not cut short. Also `--deadline` and `PERF_DEADLINE`.",
      examples: ['1h'],
    }),
    /** Each phase's policy, by phase name: switch it or some of its checks off, make it blocking or not, change its timeouts and retries. */
    phases: z
      .partialRecord(z.enum(PHASE_NAMES), phasePolicySchema)
      .default({})
      .meta({
        description:
          "Each phase's policy, by phase name: switch it or some of its checks off, make it blocking or not, change its timeouts and retries. What is not set keeps the phase's default (the table below).",
        examples: [{ flows: { blocking: true }, health: { disable: ['redis_health'] } }],
      }),
    /** What "the service is up" means for your service: its status endpoint, assertions on the body, other HTTP dependencies. */
    health: healthSchema.default({ path: '/health', status: 200, expect: [], urls: {} }).meta({
      description: 'What "the service is up" means for your service: its status endpoint, assertions on the body, other HTTP dependencies. The `health` phase checks it first, and a failure skips the rest.',
      examples: [{ path: '/status', expect: [{ path: 'state', equals: 'green' }] }],
    }),
    /** How perf makes test users on your service and proves who they are. */
    auth: authSchema.optional().meta({
      description:
        "How perf makes test users on your service and proves who they are. One declaration serves every phase that needs a signed-in user: smoke, flows, browser sign-in, the row-level security proof and k6's `session()`. Absent: no phase can sign in.",
      examples: [
        {
          signup: { path: '/api/accounts', body: { username: '{{username}}', password: '{{password}}' }, expect: [201] },
          login: { path: '/api/login', body: { username: '{{username}}', password: '{{password}}' }, expect: [200] },
          credential: { type: 'apiKey', tokenPath: 'data.key', header: 'X-Api-Key' },
        },
      ],
    }),
    /** Your service's WebSocket event protocol, declared once and judged the same way by flows (the `agent` fixture) and by k6 (`runAgent()`). */
    agent: agentSchema.optional().meta({
      description:
        'Your service\'s WebSocket event protocol, declared once and judged the same way by flows (the `agent` fixture) and by k6 (`runAgent()`). Connect as a test user, send the start message, collect events until the end event, then judge their order, counts, owner and the time to the first.',
      examples: [{ path: '/live', start: { op: 'summarize' }, eventPath: 'name', sequence: [{ event: 'summary.begin', count: 1 }, { event: 'summary.end', count: 1 }] }],
    }),
    /** The `smoke` phase: every endpoint probed for what it must answer. */
    smoke: z
      .object({
        /** The endpoint matrix, one row per endpoint, each giving a few checks named after it. */
        endpoints: z
          .array(endpointSchema)
          .default([])
          .meta({
            description: "The endpoint matrix, one row per endpoint, each giving a few checks named after it. With `openapi`, a row overrides the derived one of the same method and path.",
            examples: [[{ name: 'notes_get', method: 'GET', path: '/api/notes/:id', idKind: 'integer', expect: { unauthenticated: 403 } }]],
          }),
        /** How many smoke checks run at once. */
        concurrency: z
          .number()
          .int()
          .min(1)
          .max(64)
          .default(8)
          .meta({ description: "How many smoke checks run at once. `phases.smoke.concurrency` wins when both are set.", examples: [4] }),
        /** What protected endpoints answer without a valid credential, unless a row's `expect.unauthenticated` says otherwise. */
        unauthenticatedStatus: z
          .number()
          .int()
          .min(100)
          .max(599)
          .default(401)
          .meta({ description: "What protected endpoints answer without a valid credential, unless a row's `expect.unauthenticated` says otherwise. A service answering 403: 403.", examples: [403] }),
        /** An OpenAPI 3.0/3.1 document from which the endpoint matrix is derived: a file relative to the config, an http(s) URL, or `{ document, exclude, validateResponses }`. */
        openapi: z
          .union([z.string().min(1), openapiSchema])
          .optional()
          .meta({
            description:
              "An OpenAPI 3.0/3.1 document from which the endpoint matrix is derived: a file relative to the config, an http(s) URL, or `{ document, exclude, validateResponses }`. Security gives the expected 401/403, request bodies the empty-body check; rows of `endpoints` with the same method and path override derived ones. Every smoke response is checked against the document's statuses and JSON schemas, and the verdict reports endpoint coverage.",
            examples: ['./openapi.yaml'],
          }),
        /** A path no service routes, probed for `status` (check `unknown_path`); `false`: not probed. */
        unknownPath: z
          .union([
            z.literal(false),
            z
              .object({
                /** The path probed. */
                path: z
                  .string()
                  .startsWith('/', 'must start with /')
                  .optional()
                  .meta({
                    description: 'The path probed. Absent: `/perf-no-such-path-<n>`, and the same under each first path segment of the matrix (`/api/perf-no-such-path-<n>`).',
                    examples: ['/api/no-such-thing'],
                  }),
                /** The status it must answer. */
                status: z.number().int().min(100).max(599).default(404).meta({ description: 'The status it must answer. Some gateways answer 403 to any path they do not route.', examples: [403] }),
              })
              .strict(),
          ])
          .default({ status: 404 })
          .meta({
            description: 'A path no service routes, probed for `status` (check `unknown_path`); `false`: not probed. Made as a test user when the config has `auth` (a service may check credentials before routing).',
            examples: [{ path: '/api/no-such-thing', status: 404 }],
          }),
      })
      .strict()
      .default({ endpoints: [], concurrency: 8, unauthenticatedStatus: 401, unknownPath: { status: 404 } })
      .meta({
        description:
          'The `smoke` phase: every endpoint probed for what it must answer. Reachable without a 5xx, refused without a credential, an empty body rejected, an unknown id not found, a write without its CSRF token refused, an unknown path 404.',
        examples: [{ openapi: './openapi.yaml', unauthenticatedStatus: 403 }],
      }),
    /** How perf's own HTTP requests (checks, flows' `api`) present themselves to the service. */
    http: z
      .object({
        /** The request header carrying each request's correlation id, to find a failure in the service's logs. */
        correlationHeader: z
          .string()
          .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name')
          .default('X-Request-Id')
          .meta({ description: "The request header carrying each request's correlation id, to find a failure in the service's logs. Failed checks quote it.", examples: ['X-Correlation-Id'] }),
      })
      .strict()
      .default({ correlationHeader: 'X-Request-Id' })
      .meta({ description: "How perf's own HTTP requests (checks, flows' `api`) present themselves to the service.", examples: [{ correlationHeader: 'X-Correlation-Id' }] }),
    /** Backend flows: files declaring `flow()`s, each one check of the `flows` phase. */
    flows: userFilesSchema('flows')
      .default({ dir: 'flows', only: [], tags: [] })
      .meta({ description: 'Backend flows: files declaring `flow()`s, each one check of the `flows` phase. See docs/flows.md.', examples: [{ dir: 'perf/flows', tags: ['critical'] }] }),
    /** Browser flows: files declaring `browserFlow()`s, each one check of the `frontend-flows` phase. */
    browserFlows: userFilesSchema('frontend')
      .default({ dir: 'frontend', only: [], tags: [] })
      .meta({ description: 'Browser flows: files declaring `browserFlow()`s, each one check of the `frontend-flows` phase. See docs/flows.md.', examples: [{ dir: 'perf/frontend' }] }),
    /** The front end: the pages `frontend-smoke` loads in Chromium, page-timing budgets, and how a test user is signed in. */
    frontend: frontendSchema.default({ pages: [], budgets: [], loginPath: '/login', ignoreRequests: [] }).meta({
      description: 'The front end: the pages `frontend-smoke` loads in Chromium, page-timing budgets, and how a test user is signed in. Pages load from `target.frontendUrl`.',
      examples: [{ loginPath: '/', signIn: { via: 'localStorage', key: 'notes.key' }, pages: [{ name: 'login', path: '/', kind: 'auth' }] }],
    }),
    /** What the service's PostgreSQL must hold, checked by `db-integrity` before and after load: tables by definition, functions, row-level security, reconciliation. */
    database: databaseSchema.default({ tables: {}, functions: [] }).meta({
      description:
        "What the service's PostgreSQL must hold, checked by `db-integrity` before and after load: tables by definition, functions, row-level security, reconciliation. Needs `target.databaseUrl` (docs/database.md).",
      examples: [{ tables: { notes: { columns: { id: 'bigint' }, foreignKeys: { owner: 'accounts(uid)' } } }, functions: ['set_updated_at'] }],
    }),
    /** Pass/fail limits on the load's k6 metrics: each becomes a k6 threshold, perf's own evaluation and a line on the Grafana dashboards. */
    gates: z
      .array(gateSchema)
      .default([])
      .meta({
        description: "Pass/fail limits on the load's k6 metrics: each becomes a k6 threshold, perf's own evaluation and a line on the Grafana dashboards. A gate that fails fails the run.",
        examples: [[{ metric: 'http_req_duration', stat: 'p(95)', limit: 300, description: 'p95 under 300 ms' }]],
      }),
    /** The `load` phase: which k6 scenarios run, with which profile, for how long, and how their `check()`s are judged. */
    load: z
      .object({
        /** Folder of the k6 scenario files (`<name>.ts`), relative to the config file. */
        scenariosDir: z.string().default('scenarios').meta({ description: 'Folder of the k6 scenario files (`<name>.ts`), relative to the config file. Also `--scenarios-dir`.', examples: ['perf/scenarios'] }),
        /** The scenarios to run, by file name without `.ts`; empty: every file of `scenariosDir`. */
        scenarios: z.array(z.string()).default([]).meta({ description: 'The scenarios to run, by file name without `.ts`; empty: every file of `scenariosDir`. `--scenario` overrides it for one run.', examples: [['notes-journey', 'summaries']] }),
        /** The load profile: `smoke` (a short pass), `load` (the declared users held ~20 s), `stress` (twice the users) or `soak` (a long hold). */
        profile: z
          .enum(PROFILE_NAMES)
          .default('load')
          .meta({
            description: 'The load profile: `smoke` (a short pass), `load` (the declared users held ~20 s), `stress` (twice the users) or `soak` (a long hold). Also `--profile` and `PERF_PROFILE`.',
            examples: ['stress'],
          }),
        /** How long each scenario holds its load, as a duration (`2m`), instead of the profile's. */
        duration: duration.optional().meta({ description: "How long each scenario holds its load, as a duration (`2m`), instead of the profile's. Also `--duration` and `PERF_DURATION`.", examples: ['2m'] }),
        /** How many k6 processes run each scenario at once, each an equal execution segment of it. */
        shards: z
          .number()
          .int()
          .min(1)
          .max(64)
          .default(1)
          .meta({
            description:
              "How many k6 processes run each scenario at once, each an equal execution segment of it. k6's `--execution-segment`, for more load than one k6 process makes. perf merges their samples and decides the gates on the merged result; k6's own thresholds judge each segment alone. Also `--shards` and `PERF_SHARDS`. Beyond one machine: docs/kubernetes.md.",
            examples: [2],
          }),
        /** How k6 `check()`s that no threshold or gate covers are judged. */
        checks: z
          .object({
            /** The share (0 to 1) of its evaluations each check must pass, per k6 scenario and group. */
            minRate: z
              .number()
              .min(0)
              .max(1)
              .default(1)
              .meta({ description: 'The share (0 to 1) of its evaluations each check must pass, per k6 scenario and group. Default 1: one failed evaluation fails the run, naming the check.', examples: [0.99] }),
            /** Check names that are only listed, never failing the run. */
            ignore: z.array(z.string()).default([]).meta({ description: 'Check names that are only listed, never failing the run.', examples: [['cache warm']] }),
          })
          .strict()
          .default({ minRate: 1, ignore: [] })
          .meta({ description: 'How k6 `check()`s that no threshold or gate covers are judged.', examples: [{ minRate: 0.99, ignore: ['cache warm'] }] }),
      })
      .strict()
      .default({ scenariosDir: 'scenarios', scenarios: [], profile: 'load', shards: 1, checks: { minRate: 1, ignore: [] } })
      .meta({
        description: 'The `load` phase: which k6 scenarios run, with which profile, for how long, and how their `check()`s are judged. Gates are under `gates`.',
        examples: [{ scenarios: ['notes-journey'], profile: 'smoke', duration: '30s' }],
      }),
    /** What a long run is judged on beyond its gates: how many windows drift gates compare, an error budget spent over time, the target's memory growth. */
    soak: soakSchema.default({}).meta({
      description:
        "What a long run is judged on beyond its gates: how many windows drift gates compare, an error budget spent over time, the target's memory growth. Drift gates are gates with `maxDrift`. Evaluated after the load whatever the profile; meant for `--profile soak` (docs/soak.md).",
      examples: [{ errorBudget: { budget: 0.01 }, targetMemory: { maxGrowthMbPerHour: 50 } }],
    }),
    /** Where the verdict is reported. */
    reporters: z
      .array(z.enum(['console', 'json', 'junit', 'github', 'webhook']))
      .default(['console', 'junit', 'github', 'webhook'])
      .meta({
        description:
          'Where the verdict is reported. `console`: the terminal; `json`: the verdict on stdout, for piping (so it is opt-in); `junit`: `junit.xml` in the run folder; `github`: the Actions job summary when `GITHUB_STEP_SUMMARY` is set; `webhook`: a POST to the URL in `webhook.urlEnv`, when set. Also `--reporter` and `PERF_REPORTERS`.',
        examples: [['console', 'json']],
      }),
    /** The `webhook` reporter: where its URL comes from and what it posts. */
    webhook: z
      .object({
        /** The environment variable the webhook URL is read from (only from there: it is a secret). */
        urlEnv: z.string().default('PERF_WEBHOOK_URL').meta({ description: 'The environment variable the webhook URL is read from (only from there: it is a secret). Unset: the reporter does nothing.', examples: ['SLACK_WEBHOOK_URL'] }),
        /** `slack`: an incoming-webhook message; `json`: the redacted verdict. */
        format: z.enum(['slack', 'json']).default('slack').meta({ description: '`slack`: an incoming-webhook message; `json`: the redacted verdict.', examples: ['json'] }),
      })
      .strict()
      .default({ urlEnv: 'PERF_WEBHOOK_URL', format: 'slack' })
      .meta({ description: 'The `webhook` reporter: where its URL comes from and what it posts.', examples: [{ urlEnv: 'SLACK_WEBHOOK_URL' }] }),
    /** InfluxDB 1.x, where k6 samples and perf's events also go (for Grafana); the run folder stays the source of truth. */
    influx: z
      .object({
        /** The InfluxDB URL with the database as its path, `http://host:8086/<database>`. */
        url: z
          .string()
          .superRefine((s, ctx) => {
            const problem = influxUrlProblem(s);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .optional()
          .meta({
            description:
              'The InfluxDB URL with the database as its path, `http://host:8086/<database>`. The database defaults to `perf` and is created when missing. Credentials only from `K6_INFLUXDB_USERNAME` and `K6_INFLUXDB_PASSWORD`. Also `--influx` and `PERF_INFLUX_URL`; absent: nothing is sent.',
            examples: ['http://127.0.0.1:8086/perf'],
          }),
      })
      .strict()
      .default({})
      .meta({ description: "InfluxDB 1.x, where k6 samples and perf's events also go (for Grafana); the run folder stays the source of truth.", examples: [{ url: 'http://127.0.0.1:8086/perf' }] }),
  })
  .strict();

/** What users write in perf.config.ts (every field optional). */
export type PerfConfig = z.input<typeof configSchema>;
/** The config after defaults and validation. */
export type ResolvedConfig = z.output<typeof configSchema>;
export type EndpointSpec = z.output<typeof endpointSchema>;
export type OpenApiConfig = z.output<typeof openapiSchema>;
export type DatabaseExpectation = z.output<typeof databaseSchema>;
export type TableExpectation = z.output<typeof tableExpectationSchema>;
/** A gate as declared: absolute (`limit`), relative to a baseline run (`maxIncrease`) or a drift gate (`maxDrift`). */
export type GateDecl = z.output<typeof gateSchema>;
/** An absolute gate: `stat op limit`, a k6 threshold and perf's own evaluation (analysis/gates.ts). */
export type GateSpec = GateDecl & { limit: number };
/** A relative gate: the statistic against the baseline run's (src/baseline/relative-gates.ts). */
export type RelativeGateSpec = GateDecl & { maxIncrease: string };
export const isAbsoluteGate = (g: GateDecl): g is GateSpec => g.limit !== undefined;
export const isRelativeGate = (g: GateDecl): g is RelativeGateSpec => g.maxIncrease !== undefined;
/** A drift gate: the statistic of a scenario's last windows against its first steady ones (src/soak/drift.ts). */
export type DriftGateSpec = GateDecl & { maxDrift: string };
export const isDriftGate = (g: GateDecl): g is DriftGateSpec => g.maxDrift !== undefined;
export type PhasePolicyConfig = z.output<typeof phasePolicySchema>;
export type FrontendConfig = z.output<typeof frontendSchema>;
export type FrontendPage = z.output<typeof frontendPageSchema>;
export type FrontendBudget = z.output<typeof frontendBudgetSchema>;
export type { AuthConfig, AuthRequest, CredentialConfig } from './schema-auth.ts';
export type { AgentProtocol, AgentStep } from './schema-agent.ts';
export type { HealthConfig, HealthAssertion } from './schema-health.ts';
export type { ServiceConfig } from './schema-services.ts';
export type FrontendSignIn = NonNullable<FrontendConfig['signIn']>;
export type ReconcileConfig = z.output<typeof reconcileSchema>;
export type TargetConfig = z.output<typeof targetSchema>;
