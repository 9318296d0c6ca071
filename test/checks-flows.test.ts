/**
 * sample-app's backend flows (sample-app/perf/flows/*.ts, ordinary user files of perf) run by
 * the real CLI on a real sample-app: a healthy one passes every flow; each fault fails the flow
 * meant for it (sample-app/README.md, "Faults"), and only that one.
 *
 * Black box: `perf run --phase flows` in a project whose config is the repository's (the
 * sample-app project) with `flows.dir` pointing at sample-app's flows; faults through
 * `sampleApp.faults`, limits through sample-app's environment. Run `node scripts/build.mjs` first.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { migrate } from '../sample-app/schema.ts';
import { startTestApp, startWsProxy, TEST_DATABASE_URL, type TestApp } from './checks-helpers.ts';
import { configProject, REPO, runCli, tempDir, type CliResult } from './helpers.ts';

const FLOWS_DIR = path.join(REPO, 'sample-app', 'perf', 'flows');

const ALL_FLOWS = [
  'auth_lifecycle',
  'token_refresh',
  'rate_limit',
  'bad_credentials',
  'brand_kit_crud',
  'data_isolation',
  'job_lifecycle',
  'ws_agent_events',
  'ws_isolation',
  'ws_reconnect_history',
  'ws_expired_token_refused',
  'ws_invalid_token_refused',
];

interface Check {
  name: string;
  status: string;
  error?: string;
  attempts: number;
  measurements?: Record<string, any>;
  evidence: { kind: string }[];
}

interface FlowRun {
  cli: CliResult;
  verdict: Record<string, any>;
  /** The checks of `phase`, by name. */
  checks: (phase?: string) => Map<string, Check>;
  /** Names of the checks of `phase` that did not pass, with their errors. */
  failing: (phase?: string) => Record<string, string>;
}

/** `perf run --phase <phases>` on sample-app's flows, `only` these flows, with config `overrides` (source text). */
async function perfRun(opts: { phases?: string; only?: string[]; overrides?: string; env?: Record<string, string | undefined> } = {}): Promise<FlowRun> {
  const flows = `flows: { dir: ${JSON.stringify(FLOWS_DIR)}${opts.only ? `, only: ${JSON.stringify(opts.only)}` : ''} }`;
  const cwd = configProject([flows, opts.overrides].filter(Boolean).join(', '), 'perf-flows-');
  const cli = await runCli(['run', '--phase', opts.phases ?? 'flows', '--reporter', 'console'], {
    cwd,
    env: { PERF_EXPIRED_TOKEN: undefined, SAMPLE_APP_ADMIN_URL: undefined, ...opts.env },
    timeoutMs: 110_000,
  });
  // The project's one run folder (not the console's verdict line: a failing reporter must not hide the verdict).
  const runs = existsSync(path.join(cwd, '.perf', 'runs')) ? readdirSync(path.join(cwd, '.perf', 'runs')) : [];
  assert.equal(runs.length, 1, `one run folder in ${cwd} (exit ${cli.code}):\n${cli.stdout}\n${cli.stderr}`);
  const verdict = JSON.parse(readFileSync(path.join(cwd, '.perf', 'runs', runs[0]!, 'verdict.json'), 'utf8')) as Record<string, any>;
  const checks = (phase = 'flows') => new Map<string, Check>((verdict.phases.find((p: { name: string }) => p.name === phase)?.checks ?? []).map((c: Check) => [c.name, c]));
  const failing = (phase = 'flows') =>
    Object.fromEntries([...checks(phase).values()].filter((c) => c.status !== 'passed' && c.status !== 'skipped').map((c) => [c.name, `${c.status}: ${c.error}`]));
  return { cli, verdict, checks, failing };
}

/** The check failed (not flaky: every attempt), with a message matching `pattern`. */
function assertFailed(run: FlowRun, name: string, pattern: RegExp, phase = 'flows'): void {
  const c = run.checks(phase).get(name);
  assert.ok(c, `${name} ran (checks: ${[...run.checks(phase).keys()].join(', ')}; stderr: ${run.cli.stderr.slice(-2000)})`);
  assert.equal(c.status, 'failed', `${name} should fail: ${c.status} ${c.error ?? ''}`);
  assert.match(c.error ?? '', pattern, name);
}

describe("sample-app's flows (sample-app/perf/flows), run by perf", () => {
  test('a healthy sample-app passes every flow and both database behaviour flows; no issued secret in the verdict', async () => {
    const issuedLog = path.join(tempDir('perf-flows-issued-'), 'issued.jsonl');
    const run = await perfRun({ phases: 'flows,db-integrity', env: { SAMPLE_APP_ISSUED_SECRETS_LOG: issuedLog } });
    const flows = run.checks();
    assert.deepEqual([...flows.keys()].sort(), [...ALL_FLOWS].sort(), run.cli.stderr.slice(-3000));
    assert.deepEqual(run.failing(), {});
    const db = run.checks('db-integrity');
    for (const name of ['db_trigger_updated_at', 'db_function_usage']) assert.equal(db.get(name)?.status, 'passed', `${name}: ${db.get(name)?.error}`);

    const m = (name: string) => flows.get(name)!.measurements ?? {};
    assert.deepEqual(m('job_lifecycle').statuses, ['queued', 'running', 'completed']);
    assert.deepEqual(m('ws_agent_events').events, ['agent_started', 'agent_thinking', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed']);
    assert.equal(typeof m('ws_agent_events').time_to_first_event_ms, 'number');
    assert.ok(m('data_isolation').concurrent_calls >= 100, `concurrent calls: ${m('data_isolation').concurrent_calls}`);
    assert.equal(m('rate_limit').failed_logins_before_429, 5);
    assert.equal(m('ws_expired_token_refused').expired_from, 'admin server');
    assert.equal(m('ws_expired_token_refused').refused_with, 'HTTP 401');
    assert.deepEqual(m('ws_invalid_token_refused').refused_with, { 'tampered JWT': 'HTTP 401', garbage: 'HTTP 401', none: 'HTTP 401' });
    assert.deepEqual(db.get('db_trigger_updated_at')!.measurements?.tested, ['users', 'sessions', 'brand_kits', 'jobs', 'usage']);
    assert.deepEqual([...flows.values()].filter((c) => c.evidence.length === 0).map((c) => c.name), [], 'every flow recorded evidence');

    // Every password and token sample-app issued or accepted is absent from the verdict.
    const verdictText = JSON.stringify(run.verdict);
    const secrets = readFileSync(issuedLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; value: string });
    assert.ok(secrets.filter((s) => s.kind === 'access_token').length >= 10, 'tokens were issued');
    assert.deepEqual(secrets.filter((s) => verdictText.includes(s.value)).map((s) => s.kind), []);
  });

  test('crossUserLeak, wsBroadcast and no login limit: data_isolation, ws_isolation and rate_limit fail, each for its own fault', async () => {
    const run = await perfRun({
      only: ['data_isolation', 'ws_isolation', 'rate_limit', 'auth_lifecycle'],
      overrides: 'sampleApp: { faults: { crossUserLeak: true, wsBroadcast: true } }',
      env: { SAMPLE_APP_LOGIN_MAX_FAILURES: '1000', SAMPLE_APP_LOGIN_MAX_FAILURES_PER_IP: '1000' },
    });
    assertFailed(run, 'data_isolation', /data isolation broken: \d+ of \d+ concurrent calls saw another user's data: isolation-[ab]-\d: GET \/brand-kits /);
    assertFailed(run, 'ws_isolation', /ws-iso-([ab])-\d's socket received \d+ frame\(s\) of ws-iso-(?!\1)[ab]-\d: \[[^\]]*agent_started/);
    assertFailed(run, 'rate_limit', /no 429 after 30 failed logins for one account: logins are not rate limited/);
    assert.equal(run.checks().get('rate_limit')!.attempts, 1, 'rate_limit is never retried');
    // The control: a flow none of these faults touches still passes.
    assert.equal(run.checks().get('auth_lifecycle')?.status, 'passed', run.checks().get('auth_lifecycle')?.error);
  });

  test('wsDropEvent and wsReorder fail ws_agent_events, naming what is missing or out of order; stalled jobs and lost writes fail job_lifecycle and brand_kit_crud', async () => {
    const [dropped, reordered, stalled] = await Promise.all([
      perfRun({ only: ['ws_agent_events'], overrides: "sampleApp: { faults: { wsDropEvent: 'agent_thinking' } }" }),
      perfRun({ only: ['ws_agent_events'], overrides: 'sampleApp: { faults: { wsReorder: true } }' }),
      // One attempt each: a stalled job is only seen failing at the poll's 15 s deadline.
      perfRun({ only: ['job_lifecycle', 'brand_kit_crud'], overrides: 'sampleApp: { faults: { jobStallRate: 1, lostWriteRate: 1 } }, phases: { flows: { retries: 0 } }' }),
    ]);
    assertFailed(dropped, 'ws_agent_events', /agent_thinking: 0 received, expected at least 2/);
    assertFailed(reordered, 'ws_agent_events', /tool_executing \(event \d\) arrived after tool_completed/);
    assertFailed(stalled, 'job_lifecycle', /^step "poll until completed": expect\.poll \(the job completes\): did not pass within 15000 ms .*last received: "running"/);
    // The kit was answered 201 but never stored: reading it back is a 404.
    assertFailed(stalled, 'brand_kit_crud', /^step "read": expected GET \/brand-kits\/\S+ .*to answer 200, received 404/);
  });

  describe('an external target (perf does not start it)', () => {
    let app: TestApp;
    const jwtSecret = `perf-flows-${randomBytes(6).toString('hex')}`;
    before(async () => {
      app = await startTestApp({ jwtSecret });
    });
    after(async () => {
      await app?.stop();
    });
    const external = (wsUrl = app.target.wsUrl!) => `target: { baseUrl: ${JSON.stringify(app.target.baseUrl)}, wsUrl: ${JSON.stringify(wsUrl)} }`;

    test('ws_expired_token_refused needs PERF_EXPIRED_TOKEN, and fails when the service lets that token in', async () => {
      const missing = await perfRun({ only: ['ws_expired_token_refused'], overrides: external() });
      assertFailed(missing, 'ws_expired_token_refused', /no expired token to try: set PERF_EXPIRED_TOKEN/);

      // A service that does not check expiry, simulated by handing it a live token as "expired".
      const signup = await fetch(`${app.target.baseUrl}/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `perf-live-${randomBytes(4).toString('hex')}@perf.test`, password: `pw-${randomBytes(8).toString('hex')}` }),
      });
      const live = ((await signup.json()) as { accessToken: string }).accessToken;
      const accepted = await perfRun({ only: ['ws_expired_token_refused'], overrides: external(), env: { PERF_EXPIRED_TOKEN: live } });
      assertFailed(accepted, 'ws_expired_token_refused', /expired JWT: the WebSocket handshake was accepted and the server sent \[session/);
      assert.ok(!JSON.stringify(accepted.verdict).includes(live), 'the token is redacted');
    });

    test('replicas without shared session state fail ws_reconnect_history', async () => {
      // Same signing key and database, its own session store: tokens verify, sessions are unknown.
      const replica = await startTestApp({ jwtSecret, seed: false });
      const proxy = await startWsProxy([app.target.wsUrl!, replica.target.wsUrl!], 'round-robin');
      try {
        const run = await perfRun({ only: ['ws_reconnect_history'], overrides: external(proxy.url) });
        // Each attempt's first socket lands on one replica, the reconnect on the other, which knows no such session.
        assertFailed(run, 'ws_reconnect_history', /^step "reconnect": WebSocket ws:\/\/\S+: handshake refused with HTTP 401/);
      } finally {
        await proxy.close();
        await replica.stop();
      }
    });
  });

  describe('database behaviour (db-integrity phase)', () => {
    const name = `perf_flows_${randomBytes(4).toString('hex')}`;
    const admin = (url: string) => {
      const u = new URL(url);
      u.pathname = '/postgres';
      return u.toString();
    };
    const dbUrl = (() => {
      const u = new URL(TEST_DATABASE_URL);
      u.pathname = `/${name}`;
      return u.toString();
    })();
    before(async () => {
      const c = new pg.Client({ connectionString: admin(TEST_DATABASE_URL) });
      await c.connect();
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      // sample-app's schema, then broken: an updated_at trigger function that does nothing, and
      // a usage counter that overwrites instead of adding. sample-app finds its schema applied.
      const pool = new pg.Pool({ connectionString: dbUrl, max: 1 });
      await migrate(pool);
      await pool.query(`CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`);
      await pool.query(`CREATE OR REPLACE FUNCTION increment_user_usage(user_id uuid, kind text, amount integer) RETURNS bigint LANGUAGE sql AS $$
        INSERT INTO usage AS u (user_id, kind, amount) VALUES ($1, $2, $3)
        ON CONFLICT ON CONSTRAINT usage_pkey DO UPDATE SET amount = EXCLUDED.amount RETURNING u.amount $$`);
      await pool.end();
    });
    after(async () => {
      const c = new pg.Client({ connectionString: admin(TEST_DATABASE_URL) });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    });

    test('a trigger that does nothing and a usage function that does not add up fail their flows; the catalog checks still pass', async () => {
      const run = await perfRun({
        phases: 'db-integrity',
        only: ['db_trigger_updated_at', 'db_function_usage'],
        overrides: `sampleApp: { databaseUrl: ${JSON.stringify(dbUrl)} }`,
      });
      assertFailed(run, 'db_trigger_updated_at', /users: an UPDATE that wrote updated_at = 2000-01-01T00:00:00Z left 2000-01-01T00:00:00\.000Z/, 'db-integrity');
      assertFailed(run, 'db_function_usage', /step "calls add up": expect\(received\)\.toBe\(expected\)[\s\S]*Expected: 5[\s\S]*Received: 2[\s\S]*at \S*sample-app\/perf\/flows\/database\.ts:\d+/, 'db-integrity');
      // The schema itself is intact: the catalog checks see every trigger and function.
      for (const name of ['db_triggers', 'db_functions']) assert.equal(run.checks('db-integrity').get(name)?.status, 'passed', `${name}: ${run.checks('db-integrity').get(name)?.error}`);
    });
  });
});
