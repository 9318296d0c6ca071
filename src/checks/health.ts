/**
 * The health phase: is every part of the target alive before anything else runs?
 *
 *   api_health     GET <health.path>: 200, `status` ok, `version`, a recent `timestamp`, and
 *                  every dependency of `health.dependencies` reported up
 *   redis_health   with `target.redisUrl`: PING, SET/GET of a unique key, a list push/pop (keys
 *                  removed); without it: the health endpoint's `redis` dependency is up
 *   db_health      with `target.databaseUrl`: connect, SELECT 1, every table of
 *                  `database.tables` exists, a small pool answers concurrent queries; without
 *                  it: the health endpoint's `database` dependency is up
 *   <name>_health  one per `health.urls` entry (storage, CDN, ...): 2xx
 *
 * redis_health and db_health say which way they ran in their `mode` measurement (`direct`, or
 * `health-endpoint (...)` with a note why), so a report never claims a probe that did not happen.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import type { ResolvedConfig } from '../config/config-schema.ts';
import { HttpClient, failWith, json, type HttpResponse } from '../clients/http-client.ts';
import { sqlEvidence, withClient } from './pg-util.ts';
import { CheckFailure, type Check, type CheckContext } from './types.ts';

/** A `timestamp` further than this from our clock is stale (or the target's clock is wrong). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const POOL_QUERIES = 8;
const POOL_SIZE = 4;

const UP = new Set(['ok', 'up', 'healthy', 'pass', 'passed', 'green', 'available']);

interface HealthBody {
  status?: unknown;
  version?: unknown;
  timestamp?: unknown;
  dependencies?: Record<string, unknown>;
  checks?: Record<string, unknown>;
  [k: string]: unknown;
}

export function healthChecks(config: ResolvedConfig): Check[] {
  const checks: Check[] = [
    {
      name: 'api_health',
      description: `GET ${config.health.path}: 200, status, version, recent timestamp, dependencies up (${config.health.dependencies.join(', ') || 'none'})`,
      run: (ctx) => apiHealth(ctx, config),
    },
    {
      name: 'redis_health',
      description: 'Redis: PING, SET/GET of a unique key, list push/pop (or the health endpoint says redis is up)',
      run: (ctx) => redisHealth(ctx, config),
    },
    {
      name: 'db_health',
      description: 'PostgreSQL: connect, SELECT 1, expected tables exist, a pool answers concurrent queries',
      run: (ctx) => dbHealth(ctx, config),
    },
  ];
  for (const [name, url] of Object.entries(config.health.urls)) {
    checks.push({
      name: `${name}_health`,
      description: `GET ${url}: 2xx`,
      run: async (ctx) => {
        const res = await new HttpClient(ctx).get(url, { headers: { accept: '*/*' } });
        if (res.status < 200 || res.status > 299) throw failWith(res, `${name} answered ${res.status}, expected 2xx`);
      },
    });
  }
  return checks;
}

async function getHealth(ctx: CheckContext, config: ResolvedConfig): Promise<{ res: HttpResponse; body: HealthBody }> {
  const res = await new HttpClient(ctx).get(config.health.path);
  const body = json<HealthBody>(res, 'health endpoint');
  return { res, body };
}

/** The reported status of one dependency, wherever the endpoint puts it. */
function dependencyStatus(body: HealthBody, name: string): { found: boolean; up: boolean; detail: string } {
  const raw = body.dependencies?.[name] ?? body.checks?.[name] ?? body[name];
  if (raw === undefined) return { found: false, up: false, detail: 'not reported' };
  const status = raw && typeof raw === 'object' ? (raw as Record<string, unknown>).status : raw;
  const up = status === true || (typeof status === 'string' && UP.has(status.toLowerCase()));
  const error = raw && typeof raw === 'object' ? (raw as Record<string, unknown>).error : undefined;
  return { found: true, up, detail: `${JSON.stringify(status)}${typeof error === 'string' ? ` (${error})` : ''}` };
}

async function apiHealth(ctx: CheckContext, config: ResolvedConfig): Promise<void> {
  const { res, body } = await getHealth(ctx, config);
  const problems: string[] = [];
  if (res.status !== 200) problems.push(`answered ${res.status}, expected 200`);
  if (typeof body.status !== 'string' || !UP.has(body.status.toLowerCase())) problems.push(`status is ${JSON.stringify(body.status)}, expected "ok"`);
  if (typeof body.version !== 'string' || body.version === '') problems.push(`version is ${JSON.stringify(body.version)}, expected a non-empty string`);
  const ts = typeof body.timestamp === 'string' || typeof body.timestamp === 'number' ? new Date(body.timestamp).getTime() : Number.NaN;
  if (Number.isNaN(ts)) problems.push(`timestamp is ${JSON.stringify(body.timestamp)}, expected an ISO date`);
  else {
    const skew = Math.abs(Date.now() - ts);
    ctx.measure('timestamp_skew_ms', skew);
    if (skew > MAX_CLOCK_SKEW_MS) problems.push(`timestamp ${String(body.timestamp)} is ${Math.round(skew / 1000)} s away from now (stale, or the clocks disagree)`);
  }
  for (const name of config.health.dependencies) {
    const dep = dependencyStatus(body, name);
    if (!dep.found) problems.push(`dependency ${name} is not reported`);
    else if (!dep.up) problems.push(`dependency ${name} is down: status ${dep.detail}`);
  }
  ctx.measure('response_ms', res.durationMs);
  if (problems.length) throw failWith(res, `health endpoint: ${problems.join('; ')}`);
}

/** Asserts the health endpoint reports `name` up: the fallback when perf cannot reach it directly. */
async function dependencyViaEndpoint(ctx: CheckContext, config: ResolvedConfig, name: string, why: string): Promise<void> {
  ctx.record({ kind: 'note', message: `${name}: ${why}; checking what ${config.health.path} reports instead` });
  const { res, body } = await getHealth(ctx, config);
  const dep = dependencyStatus(body, name);
  if (!dep.found) throw failWith(res, `${why}, and ${config.health.path} does not report a "${name}" dependency`);
  if (!dep.up) throw failWith(res, `${config.health.path} reports ${name} down: status ${dep.detail}`);
  const mode = (body.dependencies?.[name] as Record<string, unknown> | undefined)?.mode;
  ctx.measure('mode', `health-endpoint${typeof mode === 'string' ? ` (${name} mode: ${mode})` : ''}`);
}

async function redisHealth(ctx: CheckContext, config: ResolvedConfig): Promise<void> {
  const url = ctx.target.redisUrl;
  if (!url) return dependencyViaEndpoint(ctx, config, 'redis', 'no Redis URL configured (target.redisUrl)');
  ctx.measure('mode', 'direct');
  // The correlation id names the connection (CLIENT LIST shows it) and the test keys.
  const correlationId = ctx.correlationId();
  const key = `perf:${ctx.runId}:health:${correlationId}`;
  const redis = new Redis(url, {
    connectionName: correlationId.replace(/\s/g, '_'),
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // ioredis rejects a failed connect with "Connection is closed."; the cause comes as an event.
  let lastError: string | undefined;
  redis.on('error', (e: Error) => {
    lastError = e.message;
  });
  const steps: string[] = [];
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      const v = await fn();
      steps.push(`${what}: ok (${Math.round(performance.now() - t0)} ms)`);
      return v;
    } catch (e) {
      const message = `${(e as Error).message}${lastError && !(e as Error).message.includes(lastError) ? ` (${lastError})` : ''}`;
      steps.push(`${what}: ${message}`);
      ctx.record({ kind: 'note', message: 'redis steps', data: { url: ctx.redactor.redactString(url), correlationId, key, steps } });
      throw new CheckFailure(`Redis ${ctx.redactor.redactString(url)}: ${what} failed: ${message} (correlation id ${correlationId})`);
    }
  };
  const onAbort = () => redis.disconnect();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await step('connect', () => redis.connect());
    const pong = await step('PING', () => redis.ping());
    if (pong !== 'PONG') throw new CheckFailure(`Redis PING answered ${JSON.stringify(pong)}, expected PONG (correlation id ${correlationId})`);
    const value = `v-${ctx.correlationId()}`;
    await step('SET', () => redis.set(`${key}:kv`, value, 'PX', 60_000));
    const got = await step('GET', () => redis.get(`${key}:kv`));
    if (got !== value) throw new CheckFailure(`Redis GET ${key}:kv returned ${JSON.stringify(got)}, expected ${JSON.stringify(value)} (correlation id ${correlationId})`);
    await step('RPUSH', () => redis.rpush(`${key}:list`, 'first', 'second'));
    await step('PEXPIRE', () => redis.pexpire(`${key}:list`, 60_000));
    const popped = await step('LPOP', () => redis.lpop(`${key}:list`));
    if (popped !== 'first') throw new CheckFailure(`Redis LPOP ${key}:list returned ${JSON.stringify(popped)}, expected "first" (FIFO) (correlation id ${correlationId})`);
    const left = await step('LLEN', () => redis.llen(`${key}:list`));
    if (left !== 1) throw new CheckFailure(`Redis LLEN ${key}:list is ${left} after one pop of two, expected 1 (correlation id ${correlationId})`);
    const removed = await step('DEL', () => redis.del(`${key}:kv`, `${key}:list`));
    if (removed !== 2) throw new CheckFailure(`Redis DEL removed ${removed} of the 2 test keys (correlation id ${correlationId})`);
    ctx.record({ kind: 'note', message: 'redis steps', data: { url: ctx.redactor.redactString(url), correlationId, key, steps } });
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    // Best effort: keys also expire on their own after 60 s.
    await redis.del(`${key}:kv`, `${key}:list`).catch(() => undefined);
    redis.disconnect();
  }
}

async function dbHealth(ctx: CheckContext, config: ResolvedConfig): Promise<void> {
  const url = ctx.target.databaseUrl;
  if (!url) return dependencyViaEndpoint(ctx, config, 'database', 'no database URL configured (target.databaseUrl)');
  ctx.measure('mode', 'direct');
  await withClient(ctx, url, async (query, { correlationId }) => {
    const one = await query<{ one: number }>('SELECT 1 AS one');
    if (one.rows[0]?.one !== 1) throw new CheckFailure(`SELECT 1 returned ${JSON.stringify(one.rows)} (correlation id ${correlationId})`);
    const tables = Object.keys(config.database.tables);
    if (tables.length) {
      const found = await query<{ name: string; oid: string | null }>(
        // Names as the config writes them: `table` (search path) or `schema.table`.
        'SELECT t.name, to_regclass(t.name)::oid::text AS oid FROM unnest($1::text[]) AS t(name)',
        [tables],
      );
      const missing = found.rows.filter((r) => r.oid === null).map((r) => r.name);
      if (missing.length) throw new CheckFailure(`database: ${missing.length} expected table(s) missing: ${missing.join(', ')} (correlation id ${correlationId})`);
      ctx.measure('tables', tables.length);
    }
  });
  await poolHealthy(ctx, url);
}

/** POOL_QUERIES queries through a POOL_SIZE pool at once: every one answers, with its own value (the check timeout bounds the wait). */
async function poolHealthy(ctx: CheckContext, url: string): Promise<void> {
  const correlationId = ctx.correlationId();
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, connectionTimeoutMillis: 5_000, application_name: correlationId.slice(0, 63) });
  pool.on('error', () => undefined);
  const onAbort = () => void pool.end().catch(() => undefined);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const sql = 'SELECT $1::int AS n, pg_sleep(0.01)';
  const t0 = performance.now();
  try {
    const results = await Promise.allSettled(
      Array.from({ length: POOL_QUERIES }, async (_, i) => {
        const r = await pool.query<{ n: number }>(sql, [i]);
        if (r.rows[0]?.n !== i) throw new Error(`query ${i} answered ${JSON.stringify(r.rows[0])}`);
      }),
    );
    const durationMs = Math.round(performance.now() - t0);
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`#${i}: ${(r.reason as Error).message}`] : []));
    ctx.record(
      sqlEvidence(`${sql}  -- ×${POOL_QUERIES} at once through a pool of ${POOL_SIZE}`, durationMs, {
        correlationId,
        rowCount: POOL_QUERIES - failed.length,
        error: failed[0],
      }),
    );
    ctx.measure('pool_ms', durationMs);
    if (failed.length) {
      throw new CheckFailure(`database pool: ${failed.length} of ${POOL_QUERIES} concurrent queries failed: ${failed.slice(0, 3).join('; ')} (correlation id ${correlationId})`);
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    await pool.end().catch(() => undefined);
  }
}
