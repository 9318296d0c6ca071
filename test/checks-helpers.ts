/**
 * Shared by the check tests: the real sample-app in this process (real PostgreSQL and Redis),
 * a real CheckContext built the way the pipeline builds one, and a runner that reports what a
 * check did (passed or the failure, evidence, measurements).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { WebSocket, WebSocketServer } from 'ws';
import { configSchema, type PerfConfig, type ResolvedConfig } from '../src/config/config-schema.ts';
import { Redactor } from '../src/redact/redact.ts';
import { CheckSkipped, type Check, type CheckContext, type Evidence, type ResolvedTarget } from '../src/checks/types.ts';
import { startSampleApp, type SampleAppHandle, type SampleAppOptions } from '../sample-app/index.ts';

export const TEST_DATABASE_URL = process.env.PERF_TEST_DATABASE_URL ?? 'postgres://postgres:s3cret@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.PERF_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestApp {
  handle: SampleAppHandle;
  target: ResolvedTarget;
  setFaults(patch: Record<string, unknown>): Promise<void>;
  resetFaults(): Promise<void>;
  stop(): Promise<void>;
}

/** The sample-app on the test PostgreSQL and Redis, quick timings, faults switched over its admin port. */
export async function startTestApp(options: SampleAppOptions = {}): Promise<TestApp> {
  const handle = await startSampleApp({
    databaseUrl: TEST_DATABASE_URL,
    redisUrl: TEST_REDIS_URL,
    logLevel: 'silent',
    seed: { users: 2 },
    ...options,
    timings: { jobStepMs: 60, wsEventDelayMs: 5, healthCacheMs: 0, ...options.timings },
  });
  const admin = async (method: string, body?: unknown) => {
    const res = await fetch(`${handle.adminUrl}/faults`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    assert.equal(res.status, 200, `admin ${method} /faults: ${await res.text()}`);
  };
  return {
    handle,
    target: {
      kind: 'sample-app',
      baseUrl: handle.baseUrl,
      wsUrl: handle.wsUrl,
      adminUrl: handle.adminUrl,
      databaseUrl: handle.databaseUrl,
      ...(handle.redisUrl ? { redisUrl: handle.redisUrl } : {}),
    },
    setFaults: (patch) => admin('PUT', patch),
    resetFaults: () => admin('DELETE'),
    stop: () => handle.stop(),
  };
}

export function testConfig(config: PerfConfig = {}): ResolvedConfig {
  return configSchema.parse(config);
}

export interface CheckRun {
  /** Returned normally. A check that threw CheckSkipped did not pass: `skipped` holds its reason. */
  passed: boolean;
  skipped?: string;
  error?: string;
  /** The thrown value, for assertions on its type. */
  thrown?: unknown;
  evidence: Evidence[];
  correlationIds: string[];
  measurements: Record<string, unknown>;
  durationMs: number;
}

export interface TestRun {
  runId: string;
  seed: number;
  redactor: Redactor;
  /** One phase's shared map: pass the same TestRun to checks of one phase. */
  shared: Map<string, unknown>;
}

export function newRun(seed = 7): TestRun {
  return { runId: `t${randomBytes(4).toString('hex')}`, seed, redactor: new Redactor(), shared: new Map() };
}

/**
 * Fresh runs for a test file, each remembered so that `cleanup()` (in `after`) removes the users
 * every one of them made: `remove` is given each run id (default: the users of perf's checks).
 */
export function trackedRuns(remove: (runId: string) => Promise<void> = deleteRunUsers): { fresh: () => TestRun; cleanup: () => Promise<void> } {
  const runs: TestRun[] = [];
  return {
    fresh: () => {
      const r = newRun();
      runs.push(r);
      return r;
    },
    cleanup: async () => {
      for (const r of runs) await remove(r.runId);
    },
  };
}

/** Runs one check with a real context (as the pipeline does, minus retries), under a deadline. */
export async function runCheck(check: Check, target: ResolvedTarget, run: TestRun, timeoutMs = 20_000): Promise<CheckRun> {
  const evidence: Evidence[] = [];
  const correlationIds: string[] = [];
  const measurements: Record<string, unknown> = {};
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`check ${check.name} timed out after ${timeoutMs} ms`)), check.timeoutMs ?? timeoutMs);
  let counter = 0;
  const ctx: CheckContext = {
    target,
    runId: run.runId,
    runDir: '/nonexistent-run-dir',
    signal: controller.signal,
    seed: run.seed,
    shared: run.shared,
    redactor: run.redactor,
    record: (e) => {
      evidence.push(e);
      if ('correlationId' in e && e.correlationId) correlationIds.push(e.correlationId);
    },
    correlationId: () => `perf-${run.runId}-${check.name}-1-${++counter}`,
    measure: (k, v) => {
      measurements[k] = v;
    },
  };
  const t0 = performance.now();
  try {
    await check.run(ctx);
    return { passed: true, evidence, correlationIds, measurements, durationMs: performance.now() - t0 };
  } catch (e) {
    const extra = (e as { evidence?: Evidence[] }).evidence ?? [];
    return {
      passed: false,
      ...(e instanceof CheckSkipped ? { skipped: e.reason } : {}),
      error: e instanceof Error ? e.message : String(e),
      thrown: e,
      evidence: [...evidence, ...extra],
      correlationIds,
      measurements,
      durationMs: performance.now() - t0,
    };
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

export function byName(checks: Check[], name: string): Check {
  const check = checks.find((c) => c.name === name);
  assert.ok(check, `no check named ${name} in [${checks.map((c) => c.name).join(', ')}]`);
  return check;
}

export function assertPassed(r: CheckRun, what: string): void {
  assert.ok(r.passed, `${what} should pass, ${r.skipped !== undefined ? 'was skipped' : 'failed'}: ${r.error}`);
}

/** The check had nothing to assert (CheckSkipped), with a reason matching `pattern`. */
export function assertSkipped(r: CheckRun, pattern: RegExp, what: string): void {
  assert.ok(!r.passed, `${what} should be skipped, but passed`);
  assert.ok(r.skipped !== undefined, `${what} should be skipped, but failed: ${r.error}`);
  assert.match(r.skipped, pattern, `${what}: unexpected skip reason`);
}

/** The check failed with a message matching `pattern`, and its failure carries a correlation id. */
export function assertFailed(r: CheckRun, pattern: RegExp, what: string): void {
  assert.ok(!r.passed, `${what} should fail, but passed`);
  assert.match(r.error ?? '', pattern, `${what}: unexpected failure message`);
  assert.match(r.error ?? '', /correlation id perf-/, `${what}: the failure message names no correlation id: ${r.error}`);
  assert.ok(r.correlationIds.length > 0, `${what}: no evidence with a correlation id`);
}

/** No secret appears anywhere in the serialized evidence (nor in the failure message). */
export function assertNoSecrets(runs: CheckRun[], secrets: string[]): void {
  const text = JSON.stringify(runs.map((r) => ({ evidence: r.evidence, error: r.error, measurements: r.measurements })));
  const real = secrets.filter((s) => s && s.length >= 6);
  assert.ok(real.length > 0, 'no secrets to look for: the test would prove nothing');
  for (const secret of real) assert.ok(!text.includes(secret), `a secret leaked into evidence: ${secret.slice(0, 8)}…`);
  // Shapes, whatever their origin: bearer tokens and JWTs.
  assert.doesNotMatch(text, /Bearer (?!\[redacted\])[A-Za-z0-9._-]{8,}/);
  assert.doesNotMatch(text, /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/);
}

/** Deletes the accounts a test run made (perf's test users carry the run id in their e-mail). */
export async function deleteRunUsers(runId: string, databaseUrl = TEST_DATABASE_URL): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`DELETE FROM users WHERE email LIKE $1`, [`perf-%-${runId}@perf.test`]);
  } finally {
    await client.end();
  }
}

export async function withDb<T>(fn: (client: pg.Client) => Promise<T>, databaseUrl = TEST_DATABASE_URL): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A port nothing listens on (just closed). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A real, misbehaving WebSocket front for one or more sample-app instances (what a badly
 * written gateway does):
 * - `broadcast`: every frame from any upstream goes to every connected client (a fan-out bug);
 * - `round-robin`: each new connection goes to the next upstream, whose session state is its own
 *   (a load balancer without sticky sessions or shared state).
 * A refused upstream handshake is answered to the client with the same HTTP status.
 */
export async function startWsProxy(upstreams: string[], mode: 'broadcast' | 'round-robin'): Promise<{ url: string; close(): Promise<void> }> {
  const clients = new Set<WebSocket>();
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer((_req, res) => res.writeHead(426).end());
  let next = 0;
  server.on('upgrade', (req, socket, head) => {
    const upstreamBase = upstreams[next++ % upstreams.length]!;
    // The client's credentials go upstream whichever way it sent them (query or Authorization header).
    const auth = req.headers.authorization;
    const upstream = new WebSocket(`${upstreamBase.replace(/\/ws$/, '')}${req.url ?? '/ws'}`, auth ? { headers: { authorization: auth } } : {});
    upstream.on('unexpected-response', (upReq, res) => {
      socket.end(`HTTP/1.1 ${res.statusCode} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      upReq.destroy();
    });
    upstream.on('error', () => socket.destroy());
    upstream.on('open', () => {
      wss.handleUpgrade(req, socket, head, (client) => {
        clients.add(client);
        client.on('message', (data) => upstream.send(data.toString()));
        client.on('close', () => {
          clients.delete(client);
          upstream.close();
        });
        upstream.on('message', (data) => {
          for (const c of mode === 'broadcast' ? clients : [client]) if (c.readyState === WebSocket.OPEN) c.send(data.toString());
        });
        upstream.on('close', () => client.close());
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    close: async () => {
      for (const c of clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
