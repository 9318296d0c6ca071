/**
 * The text of the files `perf init` writes (init.ts decides their content: the plan). Each
 * file's comments say what it proves and what to fill in next, the way k6's and Playwright's
 * own examples do. The TypeScript must pass perf's own type-check of a project's files (strict;
 * test/cli-init.test.ts runs every generated project).
 */

/** A choice init made, and why (written into the config beside it). */
export interface Probed {
  path: string;
  status: number;
  why: string;
}

/** A request of the commented `auth` block, guessed from the document. */
export interface AuthRequestHint {
  method: string;
  path: string;
  body: Record<string, string>;
  /** Its documented 2xx. */
  expect: number;
}

export interface InitPlan {
  baseUrl: string;
  /** Where the base URL came from, in words. */
  baseUrlFrom: string;
  health: Probed;
  /** What the k6 scenario and the flow request; `name` is the k6 `name` tag the latency gate filters on. */
  load: Probed & { name: string };
  /** Only when the service answered an unknown path with something else than the default 404; `path`
   *  when it answered differently under the matrix's prefixes (only the root is probed then). */
  unknownPath?: { status: number; path?: string; why: string };
  openapi?: {
    /** As `smoke.openapi` says it: relative to the project. */
    ref: string;
    /** As given to `--openapi`. */
    source: string;
    /** Fetched from a URL and saved into the project. */
    saved: boolean;
    title: string;
    apiVersion: string;
    operations: number;
    secured: number;
  };
  auth?: { signup?: AuthRequestHint; login?: AuthRequestHint; credential?: Record<string, string>; cleanup?: string };
}

export const CONFIG_FILE = 'perf.config.ts';
export const FLOW_FILE = 'flows/service.ts';
export const SCENARIO = 'journey';
export const SCENARIO_FILE = `scenarios/${SCENARIO}.ts`;
export const README_FILE = 'README.md';
/** Every file `projectFiles` writes (the saved document aside). */
export const PROJECT_FILES = [CONFIG_FILE, FLOW_FILE, SCENARIO_FILE, README_FILE] as const;

/** A TypeScript literal, strings single-quoted as perf's own files write them. */
export function lit(v: unknown): string {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
  if (Array.isArray(v)) return `[${v.map(lit).join(', ')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v).map(([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : lit(k)}: ${lit(x)}`);
    return entries.length ? `{ ${entries.join(', ')} }` : '{}';
  }
  return String(v);
}

/** Relative path → text of every file of the project (the saved document aside). */
export function projectFiles(plan: InitPlan): Record<string, string> {
  return {
    [CONFIG_FILE]: configFile(plan),
    [FLOW_FILE]: flowFile(plan),
    [SCENARIO_FILE]: scenarioFile(plan),
    [README_FILE]: readmeFile(plan),
  };
}

const isOk = (status: number) => status >= 200 && status < 300;

function configFile(p: InitPlan): string {
  const doc = p.openapi;
  const title = doc ? `${doc.title || 'the service'}${doc.apiVersion ? ` ${doc.apiVersion}` : ''}` : p.baseUrl;
  const authLines = authBlock(p);
  const latency = `${p.load.path === '/' ? 'GET /' : `GET ${p.load.path}`}`;
  return `// perf project for ${title}, written by \`perf init\`${doc ? ` from ${doc.source}` : ''}.
// What each part proves and what to fill in next: README.md. Every option: perf's docs/.
//
//   perf run                              every phase: health, smoke, flows, then load
//   perf run --phase health,smoke,flows   the functional phases only (seconds)
//   perf run --target <url>               another deployment, no edit (or PERF_TARGET=<url>)
import { defineConfig } from 'perf-harness';

export default defineConfig({
  // The service under test (from ${p.baseUrlFrom}). A run points elsewhere without an edit:
  // \`perf run --target https://staging.example.com\`, or PERF_TARGET=https://staging.example.com.
  target: {
    baseUrl: ${lit(p.baseUrl)},
    // perf can start the service before the run and stop it after (docs/health-and-services.md):
    // start: [{ name: 'api', command: 'npm start', readyUrl: ${lit(`${p.baseUrl}${p.health.path}`)} }],
    // Its PostgreSQL, for db_health, the \`database\` checks and the flows' \`db\` (docs/database.md):
    // databaseUrl: 'postgres://app@127.0.0.1:5432/app',
  },

  // "Up" means GET ${p.health.path} answers ${p.health.status}: ${p.health.why}.
  // Say what a healthy body holds, so a degraded service fails here (docs/health-and-services.md):
  //   expect: [{ path: 'status', equals: 'ok' }, { path: 'db', equals: 'up' }],
  health: { path: ${lit(p.health.path)}, status: ${p.health.status} },

${smokeBlock(p)}
${authLines}
  // What the schema must hold, checked by db-integrity once target.databaseUrl is set (docs/database.md):
  // database: {
  //   tables: {
  //     users: { columns: { id: 'uuid', email: 'text' }, unique: [['email']], notNull: ['email'] },
  //   },
  // },

  // Load: every scenario in scenarios/ (k6 scripts in TypeScript), \`users\` virtual users shaped
  // by the profile (smoke, load, stress, soak). --users, --profile and --duration override them.
  users: 15,
  load: { profile: 'load' },

  // Gates: what the load must hold for the release to pass (each also becomes a k6 threshold).
  gates: [
    // Users wait under half a second for ${latency}, 95 % of the time. Set it to your SLO.
    { metric: 'http_req_duration', tags: { name: ${lit(p.load.name)} }, stat: 'p(95)', limit: 500, scenarios: [${lit(SCENARIO)}], description: ${lit(`${latency} p95 under 500 ms`)} },
    // Under 1 % of requests fail: a 5xx, a timeout, or a status the scenario did not expect.
    // Deciding it takes 100 requests: a run too short or with too few users fails it as insufficient data.
    { metric: 'http_req_failed', stat: 'rate', limit: 0.01, scenarios: [${lit(SCENARIO)}], description: 'under 1 % failed requests' },
    // The nightly soak (perf run --profile soak): p95 may not get 20 % worse from the first steady
    // windows to the last (docs/soak.md). Only under that profile: a short hold says nothing about hours.
    { metric: 'http_req_duration', stat: 'p(95)', maxDrift: '20%', profiles: ['soak'], scenarios: [${lit(SCENARIO)}], description: 'p95 does not drift over the soak' },
  ],
});
`;
}

function smokeBlock(p: InitPlan): string {
  const u = p.unknownPath;
  const unknown = u
    ? `    // A path no service routes should answer 404: ${u.why}.
    // If it should be 404, delete this line (perf then expects 404${u.path ? ', at the root and under each first segment of the matrix' : ''}).
    unknownPath: ${lit(u.path ? { path: u.path, status: u.status } : { status: u.status })},
`
    : '';
  if (p.openapi) {
    const d = p.openapi;
    return `  // Smoke: the endpoint matrix, derived from the OpenAPI document (${d.operations} operations, ${d.secured} secured${d.saved ? `; saved from ${d.source} so runs never depend on that URL` : ''}).
  // Each operation answers without a 5xx, secured ones refuse a request without a credential,
  // bodies are validated, answers match the document's schemas, and the verdict reports which
  // operations smoke, flows and load covered. Checks needing a signed-in test user are skipped
  // until \`auth\` below is filled in. Rows of \`endpoints\` override derived ones, e.g.
  //   endpoints: [{ name: 'items_get', method: 'GET', path: '/items/:id', idKind: 'integer' }],
  // and \`phases: { smoke: { disable: ['<check name>'] } }\` switches one check off, saying so.
  smoke: {
    openapi: ${lit(d.ref)},
${unknown}  },
`;
  }
  const name = p.health.path === '/' ? 'root' : p.load.name;
  return `  // Smoke: the endpoint matrix, one row per endpoint. Each row is checked to answer without a 5xx;
  // \`auth: true\` rows must refuse a request without a credential (401, or \`expect.unauthenticated\`),
  // \`body: true\` rows must reject an empty body (422, or \`expect.emptyBody\`), \`:id\` paths must
  // answer 404 for an id no row has. Add your endpoints (docs/your-service.md, step 4), e.g.
  //   { name: 'items_list', method: 'GET', path: '/items', expect: { unauthenticated: 401 } },
  //   { name: 'items_get', method: 'GET', path: '/items/:id', idKind: 'integer' },
  // or derive them all from an OpenAPI document: \`smoke: { openapi: './openapi.yaml' }\`.
  smoke: {
    endpoints: [{ name: ${lit(name)}, method: 'GET', path: ${lit(p.health.path)}, auth: false }],
${unknown}  },
`;
}

function authBlock(p: InitPlan): string {
  const a = p.auth ?? {};
  const req = (r: AuthRequestHint | undefined, fallback: AuthRequestHint) => {
    const x = r ?? fallback;
    return `{ method: ${lit(x.method)}, path: ${lit(x.path)}, body: ${lit(x.body)}, expect: [${x.expect}] }`;
  };
  const creds = a.credential ? lit(a.credential) : `{ type: 'bearer', tokenPath: 'accessToken' }`;
  const guessed = a.signup || a.login || a.credential || a.cleanup ? '\n  // Guessed from the OpenAPI document: check each line before you uncomment it.' : '';
  return `  // Test users, for smoke's signed-in checks, the flows' \`users\` and k6's \`session()\` (docs/auth.md):
  // how your service signs a user up and in, and where the credential is in its answer.${guessed}
  // auth: {
  //   signup: ${req(a.signup, { method: 'POST', path: '/signup', body: { email: '{{email}}', password: '{{password}}' }, expect: 201 })},
  //   login: ${req(a.login, { method: 'POST', path: '/login', body: { email: '{{email}}', password: '{{password}}' }, expect: 200 })},
  //   credential: ${creds},
  //   cleanup: { method: 'DELETE', path: ${lit(a.cleanup ?? '/me')}, expect: [204] },
  // },
`;
}

function flowFile(p: InitPlan): string {
  const steps = [p.health, ...(p.load.path !== p.health.path ? [p.load] : [])];
  const said = steps.map((s) => `GET ${s.path} answers ${s.status}`).join(', ');
  const body = steps
    .map(
      (s, i) => `  await step(${lit(i === 0 ? 'health' : `GET ${s.path}`)}, async () => {
    const res = await api.get(${lit(s.path)});
    expect(res).toHaveStatus(${s.status});
  });`,
    )
    .join('\n');
  return `// A first flow (the \`flows\` phase, docs/flows.md): the service answers as it did when perf
// init ran. Each flow() is one check of the run; its steps are timed and every request is kept,
// redacted, as evidence of a failure.
//
// Next, journeys of a signed-in user once \`auth\` is filled in in perf.config.ts:
//
//   flow('item_round_trip', async ({ api, users, step }) => {
//     const me = await users.create('owner');
//     const made = await step('create', () => api.as(me).post('/items', { title: 'from perf' }));
//     expect(made).toHaveStatus(201);
//     expect(await api.as(me).get(\`/items/\${made.json.id}\`)).toHaveStatus(200);
//   });
import { expect, flow } from 'perf-harness';

flow('service_answers', { description: ${lit(said)} }, async ({ api, step }) => {
${body}
});
`;
}

function scenarioFile(p: InitPlan): string {
  const l = p.load;
  const label = `GET ${l.path}`;
  // k6 follows redirects (perf's checks do not): after a 3xx, the page it leads to is judged.
  const request = isOk(l.status)
    ? `  const res = api('GET', ${lit(l.path)}, { name: ${lit(l.name)} });
  expectStatus(res, ${l.status}, ${lit(label)});`
    : l.status >= 300 && l.status < 400
      ? `  // It answered ${l.status} when perf init ran; k6 follows redirects, so the page it leads to must answer 2xx.
  const res = api('GET', ${lit(l.path)}, { name: ${lit(l.name)} });
  expectThat(res.status >= 200 && res.status < 300, ${lit(`${label} answers 2xx after redirects`)});`
      : `  // It answered ${l.status} when perf init ran: that status is its success here (not a failed request).
  const res = api('GET', ${lit(l.path)}, { name: ${lit(l.name)}, expect: [${l.status}] });
  expectStatus(res, ${l.status}, ${lit(label)});`;
  const imports = ['api', l.status >= 300 && l.status < 400 ? 'expectThat' : 'expectStatus', 'userJourneyScenario'].sort();
  return `// journey: \`users\` virtual users, each repeating a visit to ${label} (${l.why}).
// The profile (--profile smoke|load|stress|soak) shapes the ramp-up and the hold; --duration
// sets the hold. Requests go through perf's helpers (perf-harness/k6): each carries a
// correlation id, and its \`name\` tag is what the gates in perf.config.ts filter on.
//
// Next, a signed-in journey once \`auth\` is filled in (docs/auth.md): each VU is its own user.
//
//   const me = session();
//   if (!me) return;
//   expectStatus(api('GET', '/items', { name: 'items_list', as: me }), 200, 'list items');
import { sleep } from 'k6';
import type { Options } from 'k6/options';
import { ${imports.join(', ')} } from 'perf-harness/k6';

export const options: Options = {
  // Ramp up to --users, hold for the profile's duration; each VU is one user.
  scenarios: { ${SCENARIO}: userJourneyScenario(${lit(SCENARIO)}) },
};

export function ${SCENARIO}(): void {
${request}
  // Think time: a person does not send the next request at once.
  sleep(1);
}
`;
}

function readmeFile(p: InitPlan): string {
  const d = p.openapi;
  const docLine = d
    ? d.saved
      ? `- \`${d.ref.slice(2)}\`: the OpenAPI document, saved from ${d.source} when \`perf init\` ran, so runs never depend on that URL. Replace it when the API changes (\`perf init --openapi ${d.source} --force\` rewrites every file).`
      : `- \`${d.ref}\` (outside this folder, not copied): the service's OpenAPI document, read at every run, so the smoke matrix follows the API as it changes.`
    : '';
  return `# perf project

Release-readiness checks for the service at ${p.baseUrl}, written by \`perf init\`${d ? ` from ${d.source}` : ''}: it
passes as written against a running service; each file says what to add next.

- \`perf.config.ts\`: the service (\`target\`), what "up" means (\`health\`), the endpoint matrix (\`smoke\`), the load's gates; commented: test users (\`auth\`), the database
- \`flows/service.ts\`: a first flow (the \`flows\` phase)
- \`scenarios/journey.ts\`: a first k6 scenario (the \`load\` phase)
${docLine ? `${docLine}\n` : ''}
## Run

From this folder, with perf on your PATH (from perf's checkout: \`npx perf run --config <this folder>/perf.config.ts\`):

    perf run --phase health,smoke,flows     # the functional phases: seconds
    perf run                                # every phase, then load: 15 users, about 20 s of load
    perf run --users 50 --duration 2m       # more users, a longer hold
    perf run --profile soak --duration 1h   # the nightly soak: also drift gates (docs/soak.md)
    perf list                               # what would run: every phase, check, flow, scenario and gate

Against another deployment, no edit: \`perf run --target https://staging.example.com\`, or set
\`PERF_TARGET\`. The verdict is \`.perf/runs/<run-id>/verdict.json\` (add \`.perf/\` to your
\`.gitignore\`); the exit code is 0 passed, 1 failed, 2 a mistake in the config or a type error.

## Next

1. **Health**: assert what a healthy status body holds (\`health.expect\`), so a degraded service
   fails before anything else runs (perf's docs/health-and-services.md).
2. **Test users**: fill in \`auth\` (docs/auth.md). Smoke then checks protected endpoints as a
   signed-in user too, flows get \`users.create()\`, k6 scenarios get \`session()\`.
3. **Smoke**: ${d ? 'the matrix comes from the document; override a row in `smoke.endpoints` where the service answers differently' : 'add a row per endpoint to `smoke.endpoints`, or derive them all with `smoke: { openapi: \'./openapi.yaml\' }`'} (docs/your-service.md, step 4).
4. **Flows**: a file per journey in \`flows/\` (docs/flows.md).
5. **Load**: the journeys real users make, in \`scenarios/\`, with a gate per request that matters.
6. **Database**: \`target.databaseUrl\` and \`database.tables\` (docs/database.md).

The guide that builds a complete project step by step is perf's docs/your-service.md.
`;
}
