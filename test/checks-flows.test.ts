import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FLOW_NAMES, flowChecks } from '../src/checks/flows.ts';
import { runProblems, tamper } from '../src/checks/flow-ws.ts';
import { credentialsFor } from '../src/checks/users.ts';
import { UserError } from '../src/errors.ts';
import {
  assertFailed,
  assertNoSecrets,
  assertPassed,
  byName,
  runCheck,
  startTestApp,
  startWsProxy,
  testConfig,
  trackedRuns,
  type CheckRun,
  type TestApp,
} from './checks-helpers.ts';

const JWT_SECRET = 'perf-flows-test-secret';

describe('flow checks', () => {
  let app: TestApp;
  const { fresh, cleanup } = trackedRuns();
  const flows = flowChecks(testConfig());
  const flow = (name: string) => byName(flows, name);

  before(async () => {
    app = await startTestApp({ jwtSecret: JWT_SECRET });
  });
  after(async () => {
    await cleanup();
    await app.stop();
  });

  test('flow names, in order; flows.only filters and rejects unknown names', () => {
    assert.deepEqual(FLOW_NAMES, [
      'auth_lifecycle',
      'token_refresh',
      'rate_limit',
      'bad_credentials',
      'brand_kit_crud',
      'job_lifecycle',
      'data_isolation',
      'ws_agent_events',
      'ws_isolation',
      'ws_reconnect_history',
      'ws_expired_token_refused',
      'ws_invalid_token_refused',
    ]);
    assert.deepEqual(
      flowChecks(testConfig({ flows: { only: ['ws_isolation', 'auth_lifecycle'] } })).map((c) => c.name),
      ['auth_lifecycle', 'ws_isolation'],
    );
    assert.throws(() => flowChecks(testConfig({ flows: { only: ['auth_lifecyle'] } })), (e: unknown) => e instanceof UserError && /auth_lifecyle/.test(e.message));
    assert.equal(flow('rate_limit').retries, 0);
  });

  test('a healthy sample-app passes every flow, run in sequence as one phase; no secret in any evidence', async () => {
    const run = fresh();
    const results: [string, CheckRun][] = [];
    for (const check of flows) results.push([check.name, await runCheck(check, app.target, run)]);
    const failed = results.filter(([, r]) => !r.passed).map(([n, r]) => `${n}: ${r.error}`);
    assert.deepEqual(failed, []);
    const m = Object.fromEntries(results.map(([n, r]) => [n, r.measurements]));
    assert.deepEqual(m.job_lifecycle!.statuses, ['queued', 'running', 'completed']);
    assert.equal(typeof m.ws_agent_events!.time_to_first_event_ms, 'number');
    assert.deepEqual(
      (m.ws_agent_events!.events as { type: string }[]).map((e) => e.type),
      ['agent_started', 'agent_thinking', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed'],
    );
    assert.ok((m.data_isolation!.concurrent_calls as number) >= 100);
    assert.equal(m.rate_limit!.failed_logins_before_429, 5);
    assert.equal(m.ws_expired_token_refused!.refused_with, 'HTTP 401');
    assert.deepEqual(m.ws_invalid_token_refused!.refused_with, { 'tampered signature': 'HTTP 401', 'malformed token': 'HTTP 401', 'no token': 'HTTP 401' });
    assert.ok(results.length > 0);
    assert.deepEqual(results.filter(([, r]) => r.evidence.length === 0).map(([name]) => name), [], 'every flow recorded evidence');

    const labels = ['auth-1', 'refresh-1', 'ratelimit-1', 'badcreds-1', 'kits-1', 'jobs-1', 'isolation-a-1', 'isolation-b-1', 'ws-events-1', 'ws-iso-a-1', 'ws-iso-b-1', 'ws-history-1', 'ws-expired-1', 'ws-invalid-1'];
    const passwords = labels.map((l) => credentialsFor(run.runId, run.seed, l).password);
    const all = results.map(([, r]) => r);
    assertNoSecrets(all, [...passwords, ...passwords.map((p) => `${p}-wrong`), ...passwords.map((p) => `${p}-nope`)]);
    const text = JSON.stringify(all.map((r) => r.evidence));
    assert.match(text, /"url":"ws:\/\/[^"]+token=\[redacted\]/, 'the WebSocket URL keeps its shape, token redacted');
  });

  // Early on purpose: the abandoned pg_sleep runs out while the other tests run.
  test('slowQueryMs beyond the check timeout: brand_kit_crud is aborted, not left hanging', async () => {
    await app.setFaults({ slowQueryMs: 2_500 });
    try {
      const t0 = performance.now();
      const r = await runCheck(flow('brand_kit_crud'), app.target, fresh(), 600);
      assert.ok(performance.now() - t0 < 3_000, 'stopped at the timeout');
      assert.match(r.error ?? '', /^step "list": GET \/brand-kits: aborted/);
      assert.ok(r.correlationIds.length > 0);
    } finally {
      await app.resetFaults();
    }
  });

  test('errorRate=1: a flow fails at its first step, naming the step, the 500 and the correlation id', async () => {
    await app.setFaults({ errorRate: 1 });
    try {
      const r = await runCheck(flow('auth_lifecycle'), app.target, fresh());
      assertFailed(r, /^step "signup": signup: POST \/auth\/signup answered 500, expected 201/, 'auth_lifecycle');
    } finally {
      await app.resetFaults();
    }
  });

  test('crossUserLeak: data_isolation sees the other user’s kits under concurrency', async () => {
    await app.setFaults({ crossUserLeak: true });
    try {
      const r = await runCheck(flow('data_isolation'), app.target, fresh());
      assertFailed(r, /data isolation broken: \d+ of \d+ concurrent calls saw another user's data: isolation-[ab]-1: GET \/brand-kits /, 'data_isolation');
      assert.ok((r.measurements.violations as number) > 0);
      assert.ok(r.evidence.some((e) => e.kind === 'http' && e.url.endsWith('/brand-kits') && e.status === 200), 'the leaking answers are evidence');
    } finally {
      await app.resetFaults();
    }
  });

  test('wsDropEvent and wsReorder: ws_agent_events names what is missing or out of order', async () => {
    await app.setFaults({ wsDropEvent: 'agent_thinking' });
    try {
      const r = await runCheck(flow('ws_agent_events'), app.target, fresh());
      assertFailed(r, /step "events": agent events: agent_thinking ×0, expected at least 2/, 'ws_agent_events (dropped)');
      assert.ok(r.evidence.some((e) => e.kind === 'ws' && e.frames.some((f) => f.dir === 'in' && f.data.includes('agent_completed'))), 'the frames are evidence');
    } finally {
      await app.resetFaults();
    }
    await app.setFaults({ wsReorder: true });
    try {
      const r = await runCheck(flow('ws_agent_events'), app.target, fresh());
      assertFailed(r, /tool_completed at position 4 comes before any tool_executing.*seq 4 after seq 5/, 'ws_agent_events (reordered)');
    } finally {
      await app.resetFaults();
    }
  });

  test('a login limit that never triggers fails rate_limit', async () => {
    const lax = await startTestApp({ limits: { loginMaxFailures: 1_000, loginMaxFailuresPerIp: 1_000 } });
    try {
      const r = await runCheck(flow('rate_limit'), lax.target, fresh());
      assertFailed(r, /no 429 after 30 failed logins for one account/, 'rate_limit');
    } finally {
      await lax.stop();
    }
  });

  test('a gateway fanning frames out to every client fails ws_isolation', async () => {
    const proxy = await startWsProxy([app.target.wsUrl!], 'broadcast');
    try {
      const r = await runCheck(flow('ws_isolation'), { ...app.target, wsUrl: proxy.url }, fresh());
      assertFailed(r, /WebSocket isolation: ws-iso-([ab])-1's socket received \d+ frame\(s\) of ws-iso-(?!\1)[ab]-1: \[[^\]]*agent_started/, 'ws_isolation');
      // The same gateway is harmless for one user alone.
      assertPassed(await runCheck(flow('ws_agent_events'), { ...app.target, wsUrl: proxy.url }, fresh()), 'ws_agent_events via the proxy');
    } finally {
      await proxy.close();
    }
  });

  test('replicas without shared session state fail ws_reconnect_history', async () => {
    // Same signing key and database, its own Redis prefix: tokens verify, sessions are unknown.
    const replica = await startTestApp({ jwtSecret: JWT_SECRET, seed: false });
    const proxy = await startWsProxy([app.target.wsUrl!, replica.target.wsUrl!], 'round-robin');
    try {
      const r = await runCheck(flow('ws_reconnect_history'), { ...app.target, wsUrl: proxy.url }, fresh());
      assertFailed(r, /^step "reconnect": WebSocket ws:\/\/\S+: handshake refused with HTTP 401/, 'ws_reconnect_history');
    } finally {
      await proxy.close();
      await replica.stop();
    }
  });

  test('ws_expired_token_refused: without an admin URL it needs PERF_EXPIRED_TOKEN, and fails when that token is let in', async () => {
    const external = { kind: 'external' as const, baseUrl: app.target.baseUrl, wsUrl: app.target.wsUrl };
    const saved = process.env.PERF_EXPIRED_TOKEN;
    try {
      delete process.env.PERF_EXPIRED_TOKEN;
      const missing = await runCheck(flow('ws_expired_token_refused'), external, fresh());
      assert.match(missing.error ?? '', /^step "expired token": no expired token to try: set PERF_EXPIRED_TOKEN/);

      // A service that does not check expiry is simulated by handing it a live token as "expired".
      const run = fresh();
      const signup = await fetch(`${app.target.baseUrl}/auth/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(credentialsFor(run.runId, run.seed, 'live-as-expired')),
      });
      const live = ((await signup.json()) as { accessToken: string }).accessToken;
      process.env.PERF_EXPIRED_TOKEN = live;
      const accepted = await runCheck(flow('ws_expired_token_refused'), external, run);
      assertFailed(accepted, /^step "expired token refused": expired token: the WebSocket handshake was accepted and the server sent \[session\]/, 'ws_expired_token_refused');
      assertNoSecrets([accepted], [live]);
    } finally {
      if (saved === undefined) delete process.env.PERF_EXPIRED_TOKEN;
      else process.env.PERF_EXPIRED_TOKEN = saved;
    }
  });

  test('runProblems and tamper, on hand-made sequences', () => {
    const me = { userId: 'u1', sessionId: 's1' };
    const ev = (type: string, seq: number, extra: Record<string, unknown> = {}) => ({ type, seq, userId: 'u1', sessionId: 's1', timestamp: new Date().toISOString(), ...extra });
    const good = [ev('agent_started', 1), ev('agent_thinking', 2), ev('agent_thinking', 3), ev('tool_executing', 4), ev('tool_completed', 5), ev('agent_completed', 6)];
    assert.deepEqual(runProblems(good, me), []);
    assert.deepEqual(runProblems([...good.slice(0, 5), ev('agent_completed', 6), ev('agent_completed', 7)], me), [
      'agent_completed ×2, expected exactly 1',
    ]);
    assert.match(runProblems([...good.slice(0, 5), ev('agent_completed', 6, { userId: 'u2' })], me).join(), /agent_completed \(#6\) names user "u2", expected u1/);
    assert.match(runProblems([good[1], good[0], ...good.slice(2)], me).join('; '), /the first event is agent_thinking.*seq 1 after seq 2/);
    const token = 'aaa.bbb.cccA';
    assert.notEqual(tamper(token), token);
    assert.equal(tamper(token).length, token.length);
  });
});
