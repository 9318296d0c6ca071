import { z } from 'zod';
import { PROFILE_NAMES } from '../../scenarios/lib/profiles.ts';
import { parseDurationMs } from '../cli/flags.ts';
import { influxUrlProblem } from '../influx/influx-schema.ts';
import { agentSchema } from './schema-agent.ts';
import { authRequestSchema, authSchema } from './schema-auth.ts';
import { healthSchema } from './schema-health.ts';
import { serviceSchema } from './schema-services.ts';

/**
 * The shape of `perf.config.ts`, as a zod schema: one declaration gives the TypeScript
 * types users write against, the defaults, and validation that reports every problem
 * at once, each naming its field. Objects are strict: a misspelt option is an error,
 * not silently ignored.
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
    baseUrl: httpUrl,
    wsUrl: wsUrl.optional(),
    databaseUrl: pgUrl.optional(),
    redisUrl: redisUrl.optional(),
    frontendUrl: httpUrl.optional(),
    /** Commands perf starts before the first phase and stops after the last (schema-services.ts). */
    start: z.array(serviceSchema).default([]),
  })
  .strict();

/** Faults the bundled sample-app can inject (sample-app/README.md). */
export const sampleAppSchema = z
  .object({
    /** Use this PostgreSQL instead of the embedded one. */
    databaseUrl: pgUrl.optional(),
    /** Use this Redis instead of the in-process store. */
    redisUrl: redisUrl.optional(),
    /** Fault name → value (sample-app/faults.ts); sample-app validates them at start and says which is wrong. */
    faults: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const phasePolicySchema = z
  .object({
    enabled: z.boolean().optional(),
    parallel: z.boolean().optional(),
    blocking: z.boolean().optional(),
    /** Whole-phase timeout. */
    timeout: duration.optional(),
    /** Timeout of one check attempt. */
    checkTimeout: duration.optional(),
    retries: z.number().int().min(0).max(10).optional(),
    /** Cap on checks running at once in a parallel phase. */
    concurrency: z.number().int().min(1).max(256).optional(),
    /** Checks of this phase switched off by name (reported `skipped`, saying so). */
    disable: z.array(z.string()).default([]),
  })
  .strict();

const httpMethod = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** `smoke.openapi` in full: the document and which of its operations the matrix leaves out. */
export const openapiSchema = z
  .object({
    /** A file relative to the config, or an http(s) URL. */
    document: z.string().min(1),
    /** Operations left out of the matrix (and of coverage): an operationId or `METHOD /path` as the document writes it (`DELETE /api/accounts/me`). */
    exclude: z.array(z.string()).default([]),
    /** Check each response's status and JSON body against the document (default true). */
    validateResponses: z.boolean().default(true),
  })
  .strict();

/** One row of the smoke matrix. `:id` in a path is replaced by an id that does not exist. */
export const endpointSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9_]+$/, 'must be snake_case (it names the check)'),
    method: httpMethod,
    path: z.string().startsWith('/', 'must start with /'),
    /** Protected endpoints must answer `expect.unauthenticated` (default `smoke.unauthenticatedStatus`, 401) without a credential. */
    auth: z.boolean().default(true),
    /** Endpoints taking a JSON body must answer 422 to an empty one. */
    body: z.boolean().default(false),
    /**
     * The kind of id the path's `:param`s take, so the unknown-id probe sends one of the service's
     * own type that no row has: `uuid` (default), `integer` (2147483646, valid for int4 and bigint
     * columns), or `slug` (`perf-no-such-<n>`). A service that rejects an id of the wrong type
     * (400) before looking it up needs the right kind.
     */
    idKind: z.enum(['uuid', 'integer', 'slug']).default('uuid'),
    expect: z
      .object({
        /** Absent: `smoke.unauthenticatedStatus`. */
        unauthenticated: z.number().int().min(100).max(599).optional(),
        emptyBody: z.number().int().min(100).max(599).default(422),
        unknownId: z.number().int().min(100).max(599).default(404),
        /** A write (POST, PUT, PATCH, DELETE) as a test user without the CSRF header, when `auth.credential` is a cookie session with `csrf`. */
        missingCsrf: z.number().int().min(100).max(599).default(403),
      })
      .strict()
      .default({ emptyBody: 422, unknownId: 404, missingCsrf: 403 }),
  })
  .strict();

/** `table(column)` or `schema.table(column)`: what a foreign key references. */
const fkReference = z.string().regex(/^(?:\w+\.)?\w+\(\w+\)$/, 'must look like table(column) or schema.table(column)');

/** `ON DELETE` actions of a foreign key, as `pg_constraint.confdeltype` knows them. */
export const ON_DELETE_ACTIONS = ['no action', 'restrict', 'cascade', 'set null', 'set default'] as const;

export const tableExpectationSchema = z
  .object({
    /** column → PostgreSQL type as information_schema names it (e.g. `uuid`, `text`, `timestamp with time zone`). */
    columns: z.record(z.string(), z.string()).default({}),
    /** Index names that must exist on the table. */
    indexes: z.array(z.string()).default([]),
    /** Foreign keys: `column → other_table(column)`, or `{ references, onDelete }` to assert its `ON DELETE` action too. */
    foreignKeys: z
      .record(
        z.string(),
        z.union([fkReference, z.object({ references: fkReference, onDelete: z.enum(ON_DELETE_ACTIONS).optional() }).strict()]),
      )
      .default({}),
    /** Check constraints that must exist on the table: a name, or `{ name, expression }` to assert what it checks
     *  (compared with PostgreSQL's own text of it, `pg_get_constraintdef`; `CHECK (...)` around it is optional). */
    checks: z.array(z.union([z.string(), z.object({ name: z.string(), expression: z.string().min(1) }).strict()])).default([]),
    /** Column sets each made unique by a unique constraint or a valid, non-partial unique index (primary keys count): `[['email'], ['user_id', 'kind']]`. */
    unique: z.array(z.array(z.string()).min(1)).default([]),
    /** Columns that must be `NOT NULL`. */
    notNull: z.array(z.string()).default([]),
    /** Columns that must accept NULL. */
    nullable: z.array(z.string()).default([]),
    /** Row-level security must be enabled (and a policy present) on this table. */
    rls: z.boolean().default(false),
    /** `updated_at`-style triggers that must exist on the table. */
    triggers: z.array(z.string()).default([]),
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
    /** The table of accounts (`users` or `app.users`), and the column holding the identity perf gave each load user. */
    usersTable: z.string().default('users'),
    identityColumn: z.string().default('email'),
    /** Which of `auth.identity`'s templates that column holds (label `vu<n>` for load user n). */
    identity: z.enum(['email', 'username']).default('email'),
    /** The users table's primary key, which `userColumn` of each resource table references. */
    userIdColumn: z.string().default('id'),
    /** Column linking a resource row to its user. */
    userColumn: z.string().default('user_id'),
    /** k6 counter `kind` → table holding that resource (`notes` or `app.notes`). */
    resources: z.record(z.string(), z.string()).default({}),
    /** Kinds the database may hold more of than the load counted (created in the background after
     *  k6 stopped counting, e.g. a job's outputs): fewer rows still fail, more do not. */
    atLeast: z.array(z.string()).default([]),
    /** Child table → `column → parent_table` (each `table` or `schema.table`): every child row must point at a parent row of the same user. */
    parents: z.record(z.string(), z.record(z.string(), z.string())).default({}),
  })
  .strict();

export const databaseSchema = z
  .object({
    tables: z.record(z.string(), tableExpectationSchema).default({}),
    reconcile: reconcileSchema.optional(),
    /** Functions that must exist (name only, in the search path). */
    functions: z.array(z.string()).default([]),
    rls: z
      .object({
        /** The non-owner role the policies apply to (perf does `SET ROLE` to it). */
        role: z.string(),
        /** The setting the policies read the current user from. */
        setting: z.string().default('app.user_id'),
        /** A table whose rows must be isolated per user (each has a `userColumn`). */
        table: z.string(),
        /** The column of `table` (and of the other `rls: true` tables) naming a row's owner. */
        userColumn: z.string().default('user_id'),
        /**
         * A request (or a list, made in order) templated like `auth`'s (`{{label}}`, `{{email}}`, `{{id}}`,
         * ...) that perf makes as each of two test users, so each owns a row of `table` (and of other
         * `rls: true` tables). Absent: the rows signup itself makes are used.
         */
        create: z.union([authRequestSchema, z.array(authRequestSchema).min(1)]).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** `flows` / `browserFlows`: where the user's files are and which of their flows run. */
function userFilesSchema(defaultDir: string) {
  return z
    .object({
      /** Folder (relative to the config file) searched for `**\/*.ts` files; a missing default folder means none. */
      dir: z.string().default(defaultDir),
      /** Flow names to run (an unknown name is an error); empty: all (or those marked `only`). */
      only: z.array(z.string()).default([]),
      /** Run only flows carrying one of these tags; empty: all. */
      tags: z.array(z.string()).default([]),
    })
    .strict();
}

export const gateSchema = z
  .object({
    /** k6 metric, e.g. `http_req_duration`, `http_req_failed`, `data_isolation`. */
    metric: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a k6 metric name'),
    /** Tag filter, e.g. `{ name: 'login' }` → `http_req_duration{name:login}`. */
    tags: z.record(z.string(), z.string()).optional(),
    /**
     * The perf scenarios (file names in scenarios/) the gate applies to; all when absent. A gate
     * whose scenarios did not run is `not-run`; one whose scenarios ran without a sample fails.
     */
    scenarios: z.array(z.string()).optional(),
    stat: z.enum(['p(50)', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'avg', 'min', 'max', 'med', 'rate', 'count']),
    op: z.enum(['<', '<=', '>', '>=']).default('<'),
    limit: z.number(),
    /** Stop the test as soon as this gate fails. */
    abortOnFail: z.boolean().default(false),
    /**
     * Pass a gate that has fewer samples than its statistic needs instead of failing it (a
     * percentile p needs 1/(1 − p) samples, a rate limit L needs 1/min(L, 1 − L)).
     */
    allowInsufficientData: z.boolean().default(false),
    /**
     * A tag whose every value must hold the gate on its own, e.g. `'name'`: each endpoint's
     * failure rate under the limit, not only the whole API's. The verdict lists each value seen
     * with its figure and sample count; the worst decides. k6 gets the gate's threshold
     * without the grouping (tag values are only known once the load ran).
     */
    groupBy: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a k6 tag name').optional(),
    /**
     * `false` (default): the gate must hold in each scenario it applies to, and the worst
     * scenario decides. `true`: decided once over the samples of all its scenarios merged
     * (fast requests of one scenario can then hide slow ones of another: choose it knowingly).
     */
    merge: z.boolean().default(false),
    /**
     * `all` (default): every sample of the load. `steady`: only samples from when a scenario
     * reached its peak (the ramp-up excluded); k6's threshold gets the same window through the
     * `perf_window` tag perf sets on every sample of an iteration.
     */
    window: z.enum(['steady', 'all']).default('all'),
    /**
     * `http_req_*` latency gates: `expected` (default) counts only responses k6 judged
     * successful (`expected_response:true`, as k6 users write it), so fast errors cannot make
     * latency look good; `all` counts every response.
     */
    responses: z.enum(['expected', 'all']).default('expected'),
    /** What the gate protects, shown in reports. */
    description: z.string().optional(),
  })
  .strict()
  .superRefine((g, ctx) => {
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
    name: z.string().regex(/^[a-z0-9_]+$/, 'must be snake_case (it names the checks)'),
    path: z.string().startsWith('/', 'must start with /'),
    /** public: anyone may load it; auth: a sign-in/up page, it must show a form; dashboard: signed out it
     *  redirects to `frontend.loginPath`, signed in (a test user of `auth`, handed to the page as `frontend.signIn` says) it loads. */
    kind: z.enum(['public', 'auth', 'dashboard']).default('public'),
    /** HTTP status of the page's document (404 for the not-found page). */
    status: z.number().int().min(100).max(599).default(200),
    /** `data-testid` values that must be visible on the page. */
    testIds: z.array(z.string().min(1)).default([]),
    /** CSS (or Playwright) selectors that must be visible on the page. */
    selectors: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** A page-timing gate, evaluated by the page's own check on its one navigation (not a percentile). */
export const frontendBudgetSchema = z
  .object({
    /** A `frontend.pages` name. */
    page: z.string(),
    /** fcp: first contentful paint; domContentLoaded / load: the end of those events; all from navigation start. */
    metric: z.enum(['fcp', 'domContentLoaded', 'load']),
    limitMs: z.number().positive(),
  })
  .strict();

export const frontendSchema = z
  .object({
    pages: z.array(frontendPageSchema).default([]),
    budgets: z.array(frontendBudgetSchema).default([]),
    /** Where dashboard pages send signed-out visitors (the path, query ignored). */
    loginPath: z.string().startsWith('/', 'must start with /').default('/login'),
    /**
     * How a test user (made through `auth`) is signed in to the pages, without the login form:
     * `cookie`: the user's token in this cookie; `localStorage`: in this key, set before the page's
     * scripts run; `header`: the user's credential headers on every request of the page;
     * `session`: the user's cookie jar (a cookie-session service). Needed by `dashboard` pages
     * and by browser flows' `signIn()`.
     */
    signIn: z
      .discriminatedUnion('via', [
        z.object({ via: z.literal('cookie'), name: z.string().min(1) }).strict(),
        z.object({ via: z.literal('localStorage'), key: z.string().min(1) }).strict(),
        z.object({ via: z.literal('header') }).strict(),
        z.object({ via: z.literal('session') }).strict(),
      ])
      .optional(),
    /**
     * Failed requests (and the console errors Chromium logs for them) that do not fail a page,
     * by URL pattern: a path (`/favicon.ico`), a glob on the path (`*` within a segment, `**`
     * across segments: `/analytics/**`), or a whole URL when the pattern has `://`
     * (`https://cdn.example.com/**`). Query strings are ignored. Ignored requests are listed in
     * the check's evidence; everything else still fails it.
     */
    ignoreRequests: z.array(z.string().min(1)).default([]),
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
    /** The system under test; `'sample-app'` (default) starts the bundled reference service. */
    target: z.union([z.literal('sample-app'), targetSchema]).default('sample-app'),
    sampleApp: sampleAppSchema.default({ faults: {} }),
    /** Concurrent users (k6 VUs) of the user-journey scenarios. */
    users: z.number().int().min(1).max(100_000).default(15),
    /** Seed of deterministic test data. */
    seed: z.number().int().min(0).default(1),
    /** The whole run is stopped (status `timedout`) after this long. */
    deadline: duration.default('30m'),
    phases: z.partialRecord(z.enum(PHASE_NAMES), phasePolicySchema).default({}),
    health: healthSchema.default({ path: '/health', status: 200, expect: [], urls: {} }),
    /** Test users and credentials for this service (schema-auth.ts); absent: no phase can sign in. */
    auth: authSchema.optional(),
    /** The service's WebSocket event protocol (schema-agent.ts), for flows and k6. */
    agent: agentSchema.optional(),
    smoke: z
      .object({
        endpoints: z.array(endpointSchema).default([]),
        concurrency: z.number().int().min(1).max(64).default(8),
        /** What protected endpoints answer without a valid credential, unless a row says otherwise (a service answering 403: 403). */
        unauthenticatedStatus: z.number().int().min(100).max(599).default(401),
        /**
         * An OpenAPI 3.0/3.1 document (a file relative to the config, or an http(s) URL) from which
         * the endpoint matrix is derived (src/openapi/); rows of `endpoints` with the same method
         * and path override the derived ones. Every smoke response is checked against the
         * document's statuses and JSON schemas, and the verdict reports endpoint coverage.
         */
        openapi: z.union([z.string().min(1), openapiSchema]).optional(),
        /** A path no service routes, probed for `status` (check `unknown_path`); `false`: not probed. */
        unknownPath: z
          .union([
            z.literal(false),
            z
              .object({
                /** Absent: `/perf-no-such-path-<n>` and the same under each first path segment of the matrix (`/api/perf-no-such-path-<n>`). */
                path: z.string().startsWith('/', 'must start with /').optional(),
                status: z.number().int().min(100).max(599).default(404),
              })
              .strict(),
          ])
          .default({ status: 404 }),
      })
      .strict()
      .default({ endpoints: [], concurrency: 8, unauthenticatedStatus: 401, unknownPath: { status: 404 } }),
    /** How perf's HTTP requests (checks, flows' `api`) present themselves to the service. */
    http: z
      .object({
        /** The request header carrying each request's correlation id (find a failure in the service's logs). */
        correlationHeader: z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be an HTTP header name').default('X-Request-Id'),
      })
      .strict()
      .default({ correlationHeader: 'X-Request-Id' }),
    /** Backend flows: files declaring `flow()`s, each one check of the `flows` phase. */
    flows: userFilesSchema('flows').default({ dir: 'flows', only: [], tags: [] }),
    /** Browser flows: files declaring `browserFlow()`s, each one check of the `frontend-flows` phase. */
    browserFlows: userFilesSchema('frontend').default({ dir: 'frontend', only: [], tags: [] }),
    /** Front-end phases: the pages `frontend-smoke` loads in Chromium, and page-timing budgets. */
    frontend: frontendSchema.default({ pages: [], budgets: [], loginPath: '/login', ignoreRequests: [] }),
    database: databaseSchema.default({ tables: {}, functions: [] }),
    gates: z.array(gateSchema).default([]),
    load: z
      .object({
        scenariosDir: z.string().default('scenarios'),
        scenarios: z.array(z.string()).default([]),
        profile: z.enum(PROFILE_NAMES).default('load'),
        duration: duration.optional(),
        /**
         * k6 `check()`s no threshold or gate on `checks` covers: each check (per k6 scenario and
         * group) must pass at least `minRate` of its evaluations, else the run fails naming it.
         * Default 1: one failed evaluation fails the run. `ignore`: check names only listed.
         */
        checks: z
          .object({
            minRate: z.number().min(0).max(1).default(1),
            ignore: z.array(z.string()).default([]),
          })
          .strict()
          .default({ minRate: 1, ignore: [] }),
      })
      .strict()
      .default({ scenariosDir: 'scenarios', scenarios: [], profile: 'load', checks: { minRate: 1, ignore: [] } }),
    /** `json` prints the verdict on stdout (for piping), so it is opt-in; github and webhook are no-ops unless their environment is set. */
    reporters: z.array(z.enum(['console', 'json', 'junit', 'github', 'webhook'])).default(['console', 'junit', 'github', 'webhook']),
    webhook: z
      .object({
        /** The webhook URL is read from this environment variable only (it is a secret). */
        urlEnv: z.string().default('PERF_WEBHOOK_URL'),
        format: z.enum(['slack', 'json']).default('slack'),
      })
      .strict()
      .default({ urlEnv: 'PERF_WEBHOOK_URL', format: 'slack' }),
    /** InfluxDB 1.x (`PERF_INFLUX_URL`, `--influx`): k6 samples and perf's events go there too; the run folder stays the source of truth. */
    influx: z
      .object({
        /** `http://host:8086/<database>` (database default `perf`, created when missing). Credentials: K6_INFLUXDB_USERNAME / K6_INFLUXDB_PASSWORD only. */
        url: z
          .string()
          .superRefine((s, ctx) => {
            const problem = influxUrlProblem(s);
            if (problem) ctx.addIssue({ code: 'custom', message: problem });
          })
          .optional(),
      })
      .strict()
      .default({}),
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
export type GateSpec = z.output<typeof gateSchema>;
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
