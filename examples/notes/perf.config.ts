// perf project for notes-service (../notes-service/README.md, openapi.yaml), written the way a
// team outside perf writes one: only `perf-harness`'s public API, configured from docs/*.md.
//
//   npx perf run --config examples/notes/perf.config.ts            every phase, 15 users
//   NOTES_FAULTS='{"slowListMs":400}' npx perf run -c examples/notes/perf.config.ts --phase load
//
// perf starts the service itself (target.start) on NOTES_PORT with its tables in NOTES_SCHEMA,
// so several runs can share one PostgreSQL. Every check and gate below names the notes-service
// fault (NOTES_FAULTS) that proves it can fail.
import { defineConfig } from 'perf-harness';
import { DATABASE_URL, FAULTS, PORT, SCHEMA, withSearchPath } from './lib/env.ts';

const base = `http://127.0.0.1:${PORT}`;
const ts = 'timestamp with time zone';

export default defineConfig({
  target: {
    baseUrl: base,
    wsUrl: `ws://127.0.0.1:${PORT}`,
    // perf's own connection (db-integrity, reconciliation, the flows' `db`) gets the service's
    // schema as its search_path, so tables are named as the service names them: `notes`.
    databaseUrl: withSearchPath(DATABASE_URL, SCHEMA),
    frontendUrl: base,
    start: [
      {
        name: 'notes',
        command: 'node --import tsx server.ts',
        cwd: '../notes-service',
        env: { PORT: String(PORT), DATABASE_URL, NOTES_SCHEMA: SCHEMA, NOTES_FAULTS: FAULTS },
        readyUrl: `${base}/status`,
        timeout: '30s',
      },
    ],
  },
  users: 15,

  // GET /status → {state, build.rev, checkedAt, components.pg}; no Redis here, so none is probed.
  // Fault statusDegraded (200, but state yellow, pg degraded) fails api_health.
  health: {
    path: '/status',
    status: 200,
    expect: [
      { path: 'state', equals: 'green' },
      { path: 'build.rev', nonEmpty: true },
      { path: 'checkedAt', freshWithin: '1m' },
      { path: 'components.pg', equals: 'up', description: 'PostgreSQL up' },
    ],
  },

  // Test users: sign up, log in, the API key at data.key goes in X-Api-Key. The service issues a
  // new key at each login (the previous one stops working) and deletes an account, with its notes,
  // on DELETE /api/accounts/me.
  auth: {
    signup: { method: 'POST', path: '/api/accounts', body: { username: '{{username}}', password: '{{password}}' }, expect: [201] },
    existsStatus: [409],
    login: { method: 'POST', path: '/api/login', body: { username: '{{username}}', password: '{{password}}' }, expect: [200] },
    credential: { type: 'apiKey', tokenPath: 'data.key', header: 'X-Api-Key' },
    userIdPath: 'data.account.uid',
    cleanup: { method: 'DELETE', path: '/api/accounts/me', expect: [204] },
  },

  // The endpoint matrix comes from the service's own OpenAPI document (docs/smoke.md): one row per
  // operation, named after method and path since it has no operationIds (get_api_me,
  // post_api_notes, get_api_notes_id...). The document says all perf needs: 403 (never 401)
  // without a key, 400 (never 422) to an empty body, integer note ids (an unknown one is a 404,
  // where a UUID would be a 400). Every answer is checked against the document's statuses and
  // schemas; `perf list` shows the checks. Faults:
  //   unprotectedMe (GET /api/me answers 200 without a key) fails get_api_me_requires_auth;
  //   schemaDrift (GET /api/me's uid a number, the document says a string) fails get_api_me_conforms.
  smoke: {
    openapi: '../notes-service/openapi.yaml',
  },

  // The WebSocket /live: the key as subprotocol `key.<apikey>` beside `notes.v1`, no greeting,
  // one run per {"op":"summarize","noteId":N}. Frames {kind, name, owner, data}.
  // Faults: wsDropEnd (no summary.end) and wsWrongOwner (owner "0") fail the agent_summary flow
  // and the ws_event_order / ws_event_ownership gates.
  agent: {
    path: '/live',
    token: { in: 'subprotocol', protocols: ['notes.v1'], prefix: 'key.' },
    start: { op: 'summarize', noteId: '{{noteId}}' },
    eventPath: 'name',
    ownerPath: 'owner',
    sequence: [
      { event: 'summary.begin', count: 1 },
      { event: 'summary.chunk', min: 1 },
      { event: 'summary.end', count: 1 },
    ],
    // An unknown or foreign note, or a bad frame, answers {"kind":"err","name":"not_found"|"bad_request"}.
    errorEvents: ['not_found', 'bad_request'],
    timeouts: { handshake: '5s', run: '3s' },
  },

  flows: { dir: 'flows' },
  browserFlows: { dir: 'frontend' },

  // Pages: `/` is the login form; `/app` reads the key from localStorage['notes.key'] and,
  // without it, goes back to `/`.
  frontend: {
    loginPath: '/',
    signIn: { via: 'localStorage', key: 'notes.key' },
    pages: [
      { name: 'login', path: '/', kind: 'auth', testIds: ['login-form', 'username', 'password', 'login-submit'] },
      { name: 'app', path: '/app', kind: 'dashboard', testIds: ['whoami', 'note-form', 'note-title', 'note-add', 'logout'], selectors: ['body[data-ready=true]'] },
    ],
    budgets: [{ page: 'login', metric: 'load', limitMs: 3000 }],
  },

  // The tables, in NOTES_SCHEMA (the search_path of target.databaseUrl).
  database: {
    tables: {
      accounts: {
        columns: { uid: 'bigint', username: 'text', password_hash: 'text', api_key_hash: 'text', created_at: ts },
        indexes: ['accounts_pkey', 'accounts_username_key', 'accounts_api_key_idx'],
        checks: ['accounts_username_check'],
      },
      notes: {
        columns: { id: 'bigint', owner: 'bigint', title: 'text', body: 'text', created_at: ts },
        indexes: ['notes_pkey', 'notes_owner_idx'],
        foreignKeys: { owner: 'accounts(uid)' },
        checks: ['notes_title_check'],
      },
    },
    // After load: the notes the load says it created (k6 counter resources_created{kind:note})
    // are exactly the load users' rows (load users found by their username, auth.identity).
    reconcile: {
      usersTable: 'accounts',
      identityColumn: 'username',
      identity: 'username',
      userIdColumn: 'uid',
      userColumn: 'owner',
      resources: { note: 'notes' },
    },
  },

  load: { scenariosDir: 'scenarios', scenarios: ['notes-journey', 'summaries'], profile: 'load' },

  gates: [
    // The notes list is the query that grows with data (fault: slowListMs).
    { metric: 'http_req_duration', tags: { name: 'notes_list' }, stat: 'p(95)', limit: 250, scenarios: ['notes-journey'], description: 'notes list p95 under 250 ms' },
    // Errors: under 1 % of requests may fail (any 5xx or unexpected status; faults: none of
    // notes-service's make requests fail, a dead service does).
    { metric: 'http_req_failed', stat: 'rate', limit: 0.01, scenarios: ['notes-journey'], description: 'under 1 % failed requests' },
    // No user ever sees another's notes (fault: crossUserLeak).
    { metric: 'data_isolation', stat: 'rate', op: '>=', limit: 1, scenarios: ['notes-journey'], description: 'no cross-user notes, ever' },
    // Every summary run complete and in order (fault: wsDropEnd) ...
    { metric: 'ws_event_order', stat: 'rate', op: '>=', limit: 1, scenarios: ['summaries'], description: 'summary events complete and in order' },
    // ... and only to its owner (fault: wsWrongOwner).
    { metric: 'ws_event_ownership', stat: 'rate', op: '>=', limit: 1, scenarios: ['summaries'], description: 'summary events only to their owner' },
  ],
});
