// The default configuration: perf against the bundled reference service (sample-app/).
//
// Copy this file to point perf at your own service: replace `target` with your URLs, list your
// endpoints under `smoke.endpoints`, and describe your schema under `database`.
// The endpoint matrix covers every API route of sample-app (sample-app/routes-*.ts); the
// database expectations are sample-app's real schema (sample-app/schema.ts).
import { defineConfig } from 'perf-harness';

const ts = 'timestamp with time zone';

export default defineConfig({
  target: 'sample-app',
  users: 15,
  seed: 1,

  // Test users (docs/auth.md): sample-app signs up with an e-mail and answers a bearer token;
  // a rerun meets an existing account (409) and logs in. At the end of the run each user the run
  // created deletes its own account (`DELETE /auth/me`, 204); the verdict's testData says what
  // was removed and what was left behind.
  auth: {
    signup: { method: 'POST', path: '/auth/signup', body: { email: '{{email}}', password: '{{password}}', name: '{{name}}' }, expect: [201] },
    existsStatus: [409],
    login: { method: 'POST', path: '/auth/login', body: { email: '{{email}}', password: '{{password}}' }, expect: [200] },
    credential: { type: 'bearer', tokenPath: 'accessToken' },
    userIdPath: 'user.id',
    refreshTokenPath: 'refreshToken',
    cleanup: { method: 'DELETE', path: '/auth/me', expect: [204] },
  },

  health: {
    // sample-app's own status body (sample-app/health.ts): 200 {status, version, timestamp, dependencies}.
    path: '/health',
    status: 200,
    expect: [
      { path: 'status', equals: 'ok' },
      { path: 'version', nonEmpty: true },
      { path: 'timestamp', freshWithin: '5m' },
      { path: 'dependencies.database.status', equals: 'ok', description: 'database up' },
      { path: 'dependencies.redis.status', equals: 'ok', description: 'redis up' },
    ],
  },

  smoke: {
    concurrency: 8,
    endpoints: [
      { name: 'health', method: 'GET', path: '/health', auth: false },
      // Authentication
      { name: 'auth_signup', method: 'POST', path: '/auth/signup', auth: false, body: true },
      { name: 'auth_login', method: 'POST', path: '/auth/login', auth: false, body: true },
      { name: 'auth_refresh', method: 'POST', path: '/auth/refresh', auth: false, body: true },
      { name: 'auth_logout', method: 'POST', path: '/auth/logout' },
      { name: 'auth_me', method: 'GET', path: '/auth/me' },
      // Only _reachable and _requires_auth (no body, no :param): both without a credential, so the smoke user is never deleted.
      { name: 'auth_delete_account', method: 'DELETE', path: '/auth/me' },
      { name: 'auth_forgot_password', method: 'POST', path: '/auth/forgot-password', auth: false, body: true },
      { name: 'auth_reset_password', method: 'POST', path: '/auth/reset-password', auth: false, body: true },
      // Brand kits
      { name: 'brand_kits_list', method: 'GET', path: '/brand-kits' },
      { name: 'brand_kits_create', method: 'POST', path: '/brand-kits', body: true },
      { name: 'brand_kits_get', method: 'GET', path: '/brand-kits/:id' },
      { name: 'brand_kits_update', method: 'PATCH', path: '/brand-kits/:id', body: true },
      { name: 'brand_kits_delete', method: 'DELETE', path: '/brand-kits/:id' },
      // Generation jobs
      { name: 'jobs_create', method: 'POST', path: '/jobs', body: true },
      { name: 'jobs_list', method: 'GET', path: '/jobs' },
      { name: 'jobs_get', method: 'GET', path: '/jobs/:id' },
      // Assets
      { name: 'assets_list', method: 'GET', path: '/assets' },
      { name: 'assets_get', method: 'GET', path: '/assets/:id' },
      { name: 'assets_delete', method: 'DELETE', path: '/assets/:id' },
      { name: 'public_asset_get', method: 'GET', path: '/public/assets/:id', auth: false },
      { name: 'public_asset_content', method: 'GET', path: '/public/assets/:id/content', auth: false },
    ],
  },

  // Backend flows: sample-app's own journeys, ordinary user files (flow() from perf-harness).
  flows: { dir: 'sample-app/perf/flows' },

  // Browser flows: sample-app's own browser journeys (browserFlow() files), the frontend-flows phase.
  browserFlows: { dir: 'sample-app/perf/frontend' },

  // Front end: the pages frontend-smoke loads in Chromium (sample-app/README.md, "Web pages").
  // Dashboard pages are loaded signed in (a test user's API token in the page cookie) and, signed
  // out, must redirect to loginPath. Budgets are generous on purpose: one navigation per page, on
  // a shared 2-core runner, catches a page that got slow, not a few milliseconds of drift.
  frontend: {
    loginPath: '/login',
    // How perf signs a test user in to the pages without the form (dashboard pages, the browser
    // flows' signIn()): the pages read the user's access token from this cookie.
    signIn: { via: 'cookie', name: 'sample_app_token' },
    pages: [
      { name: 'landing', path: '/', kind: 'public', testIds: ['nav', 'nav-login', 'nav-signup', 'hero-title', 'cta'] },
      { name: 'login', path: '/login', kind: 'auth', testIds: ['login-form', 'login-email', 'login-password', 'login-submit'] },
      { name: 'signup', path: '/signup', kind: 'auth', testIds: ['signup-form', 'signup-email', 'signup-password', 'signup-submit'] },
      { name: 'forgot_password', path: '/forgot-password', kind: 'auth', testIds: ['forgot-form', 'forgot-email', 'forgot-submit'] },
      { name: 'reset_password', path: '/reset-password?token=perf-smoke', kind: 'auth', testIds: ['reset-form', 'reset-password', 'reset-submit'] },
      { name: 'not_found', path: '/perf-smoke-no-such-page', kind: 'public', status: 404, testIds: ['not-found', 'nav'] },
      { name: 'dashboard', path: '/dashboard', kind: 'dashboard', testIds: ['dashboard-title', 'dashboard-user', 'job-form', 'manage-kits', 'logout'] },
      { name: 'brand_kits', path: '/dashboard/brand-kits', kind: 'dashboard', testIds: ['kit-form', 'kit-name', 'kit-submit'] },
    ],
    budgets: [
      { page: 'landing', metric: 'fcp', limitMs: 2000 },
      { page: 'landing', metric: 'load', limitMs: 3000 },
      { page: 'dashboard', metric: 'load', limitMs: 3000 },
    ],
  },

  database: {
    tables: {
      users: {
        columns: { id: 'uuid', email: 'text', password_hash: 'text', name: 'text', is_seed: 'boolean', created_at: ts, updated_at: ts },
        indexes: ['users_pkey', 'users_email_lower_key'],
        checks: ['users_email_format', 'users_name_length'],
        // By definition, not only by name (docs/database.md): nullability, here and below.
        notNull: ['email', 'password_hash', 'is_seed'],
        nullable: ['name'],
        triggers: ['users_set_updated_at'],
        rls: true,
      },
      sessions: {
        columns: { id: 'uuid', user_id: 'uuid', ip: 'text', user_agent: 'text', created_at: ts, updated_at: ts, expires_at: ts, revoked_at: ts },
        indexes: ['sessions_pkey', 'sessions_user_id_idx'],
        // A user's sessions go with the account.
        foreignKeys: { user_id: { references: 'users(id)', onDelete: 'cascade' } },
        checks: ['sessions_expiry_after_creation'],
        triggers: ['sessions_set_updated_at'],
        rls: true,
      },
      brand_kits: {
        columns: { id: 'uuid', user_id: 'uuid', name: 'text', colors: 'text[]', fonts: 'text[]', created_at: ts, updated_at: ts },
        indexes: ['brand_kits_pkey', 'brand_kits_user_id_created_at_idx'],
        foreignKeys: { user_id: 'users(id)' },
        checks: ['brand_kits_name_length', 'brand_kits_colors_hex', 'brand_kits_fonts_count'],
        triggers: ['brand_kits_set_updated_at', 'brand_kits_per_user_limit'],
        rls: true,
      },
      jobs: {
        columns: {
          id: 'uuid',
          user_id: 'uuid',
          brand_kit_id: 'uuid',
          prompt: 'text',
          status: 'text',
          error: 'text',
          created_at: ts,
          updated_at: ts,
          started_at: ts,
          completed_at: ts,
        },
        indexes: ['jobs_pkey', 'jobs_user_id_created_at_idx', 'jobs_brand_kit_id_idx', 'jobs_pending_idx'],
        // Deleting a brand kit keeps its jobs, unlinked.
        foreignKeys: { user_id: { references: 'users(id)', onDelete: 'cascade' }, brand_kit_id: { references: 'brand_kits(id)', onDelete: 'set null' } },
        checks: ['jobs_prompt_length', { name: 'jobs_status_valid', expression: "status IN ('queued', 'running', 'completed', 'failed')" }, 'jobs_completed_has_time'],
        notNull: ['user_id', 'prompt', 'status'],
        triggers: ['jobs_set_updated_at'],
        rls: true,
      },
      assets: {
        columns: {
          id: 'uuid',
          user_id: 'uuid',
          job_id: 'uuid',
          kind: 'text',
          mime_type: 'text',
          width: 'integer',
          height: 'integer',
          is_public: 'boolean',
          metadata: 'jsonb',
          created_at: ts,
        },
        indexes: ['assets_pkey', 'assets_user_id_created_at_idx', 'assets_job_id_idx'],
        foreignKeys: { user_id: 'users(id)', job_id: 'jobs(id)' },
        checks: ['assets_kind_valid', 'assets_width_positive', 'assets_height_positive'],
        rls: true,
      },
      usage: {
        columns: { user_id: 'uuid', kind: 'text', amount: 'bigint', created_at: ts, updated_at: ts },
        indexes: ['usage_pkey'],
        foreignKeys: { user_id: 'users(id)' },
        checks: ['usage_kind_format', { name: 'usage_amount_non_negative', expression: 'amount >= 0' }],
        // One counter per user and kind (increment_user_usage upserts on it).
        unique: [['user_id', 'kind']],
        triggers: ['usage_set_updated_at'],
        rls: true,
      },
      audit: {
        columns: { id: 'bigint', user_id: 'uuid', action: 'text', request_id: 'text', details: 'jsonb', created_at: ts },
        indexes: ['audit_pkey', 'audit_user_id_created_at_idx'],
        foreignKeys: { user_id: 'users(id)' },
        checks: ['audit_action_format'],
        rls: true,
      },
    },
    functions: ['increment_user_usage', 'set_updated_at', 'enforce_brand_kit_limit', 'app_current_user_id'],
    // Two test users each create a brand kit and a job; as sample_app_rls each must see only its own.
    rls: {
      role: 'sample_app_rls',
      setting: 'app.user_id',
      table: 'brand_kits',
      create: [
        { method: 'POST', path: '/brand-kits', body: { name: 'perf rls {{label}}' }, expect: [201] },
        { method: 'POST', path: '/jobs', body: { prompt: 'perf rls {{label}}' }, expect: [202] },
      ],
    },
    // After load: what the load created (k6 counters resources_created{kind}) is reconciled
    // with these tables, and every child row must point at its parent of the same user.
    reconcile: {
      resources: { kit: 'brand_kits', job: 'jobs', asset: 'assets' },
      // A job's assets are made when it completes, which may be after the journey's last poll.
      atLeast: ['asset'],
      parents: { assets: { job_id: 'jobs' }, jobs: { brand_kit_id: 'brand_kits' } },
    },
  },

  // The agent WebSocket (sample-app/ws-agent.ts), checked by the flows' `agent` fixture and by
  // the ws-events k6 scenario (runAgent): after the `session` greeting, `run` starts a run whose
  // events, each naming its user and session, must come in this order with these counts.
  agent: {
    path: '/ws',
    token: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
    greeting: { event: 'session', sessionPath: 'sessionId' },
    start: { type: 'run', prompt: 'Draft a product teaser' },
    eventPath: 'type',
    ownerPath: 'userId',
    sessionPath: 'sessionId',
    sequence: [
      { event: 'agent_started', count: 1 },
      { event: 'agent_thinking', min: 2 },
      { event: 'tool_executing', min: 1 },
      { event: 'tool_completed', min: 1 },
      { event: 'agent_completed', count: 1 },
    ],
    errorEvents: ['error'],
  },

  // Load: the TypeScript k6 scenarios in scenarios/, with the default profile (~1 minute).
  load: { scenariosDir: 'scenarios', scenarios: ['multi-user', 'ws-events', 'throughput'], profile: 'load' },

  // Gates: each one becomes a k6 threshold, the harness's own HDR evaluation and a threshold
  // line on the Grafana dashboards. Each is there to catch something (sample-app/README.md
  // names the fault that proves it can fail). A gate holds in each scenario it names (the worst
  // decides); latency gates count successful responses only (expected_response:true).
  gates: [
    // Tail latency: one request in a hundred may be slow, not more (faults: tailLatencyMs, and
    // contentionLatencyMs, which the default profile's beat of --users concurrent requests sets off).
    { metric: 'http_req_duration', stat: 'p(99)', limit: 1000, scenarios: ['multi-user', 'throughput'], description: 'p99 of every request under 1 s' },
    // Typical latency of the whole API at the declared concurrency: the ramp-up (cold pools,
    // first logins) excluded (fault: latencyMs).
    { metric: 'http_req_duration', stat: 'p(95)', limit: 300, window: 'steady', scenarios: ['multi-user', 'throughput'], description: 'p95 of every request under 300 ms (steady state)' },
    // The brand-kit list is the query most likely to degrade with data (fault: slowQueryMs).
    { metric: 'http_req_duration', tags: { name: 'brand_kits_list' }, stat: 'p(95)', limit: 200, scenarios: ['multi-user', 'throughput'], description: 'brand-kit list p95 under 200 ms' },
    // Errors: under 1 % of requests may fail (fault: errorRate).
    { metric: 'http_req_failed', stat: 'rate', limit: 0.01, scenarios: ['multi-user', 'throughput'], description: 'under 1 % failed requests' },
    // ... and under 1 % of each endpoint's: one failing endpoint is not hidden by the many that
    // work (fault: endpointErrorRoute + endpointErrorRate). An endpoint with fewer than the 100
    // requests a 1 % limit needs (the journey's one login per user) is listed as insufficient
    // and does not decide; one whose failures already cross the limit fails however few.
    { metric: 'http_req_failed', stat: 'rate', limit: 0.01, groupBy: 'name', allowInsufficientData: true, scenarios: ['multi-user', 'throughput'], description: 'under 1 % failed requests per endpoint' },
    // No user may ever see another user's data (fault: crossUserLeak).
    { metric: 'data_isolation', stat: 'rate', op: '>=', limit: 1, scenarios: ['multi-user'], description: 'no cross-user data, ever' },
    // Agent connections come up and are greeted (a dead or overloaded WebSocket endpoint).
    { metric: 'ws_session_established', stat: 'rate', op: '>=', limit: 0.999, scenarios: ['ws-events'], description: '99.9 % of agent connections established' },
    // Every agent run's events complete and in order (faults: wsDropEvent, wsReorder).
    { metric: 'ws_event_order', stat: 'rate', op: '>=', limit: 1, scenarios: ['ws-events'], description: 'agent events complete and in order' },
    { metric: 'ws_event_ownership', stat: 'rate', op: '>=', limit: 1, scenarios: ['ws-events'], description: 'agent events only to their owner' },
    // The agent answers quickly.
    { metric: 'ws_time_to_first_event', stat: 'p(95)', limit: 250, scenarios: ['ws-events'], description: 'first agent event within 250 ms (p95)' },
    // Jobs finish within the journey's poll budget.
    { metric: 'job_completed', stat: 'rate', op: '>=', limit: 0.99, scenarios: ['multi-user'], description: '99 % of jobs complete in time' },
    // The nightly soak (--profile soak): the service must not get slower the longer it runs. The
    // last steady windows' p95 against the first ones', at most 20 % worse beyond window-to-window
    // noise (fault: latencyCreepMsPerMin; docs/soak.md). Only under the soak profile: a 15 s hold
    // says nothing about hours.
    { metric: 'http_req_duration', stat: 'p(95)', maxDrift: '20%', profiles: ['soak'], scenarios: ['multi-user', 'throughput'], description: 'p95 does not drift over the soak' },
  ],

  // The soak profile also spends an error budget (1 % of requests over the run, no window burning
  // it 10× faster: fault errorRate) and bounds sample-app's memory growth (fault leakKbPerRequest).
  soak: { profiles: ['soak'], errorBudget: { budget: 0.01, maxBurnRate: 10, scenarios: ['multi-user', 'throughput'] }, targetMemory: { maxGrowthMbPerHour: 100 } },
});
