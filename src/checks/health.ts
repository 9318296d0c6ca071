/**
 * The health phase: is every part of the target alive before anything else runs? What "alive"
 * means is the user's config (`health`, src/config/schema-health.ts); nothing here knows the
 * shape of any service's status body.
 *
 *   api_health     GET <health.path>: answers <health.status>, and every `health.expect`
 *                  assertion holds on its JSON body (each failed one is listed: path, expected, found)
 *   redis_health   only when the target has a Redis URL (`target.redisUrl`, or `sampleApp.redisUrl`
 *                  for the bundled app): PING, SET/GET of a unique key, a list push/pop (keys removed)
 *   db_health      only when the target has a database URL (`target.databaseUrl`; the bundled app
 *                  always has one): connect, SELECT 1, every table of `database.tables` exists, a
 *                  small pool answers concurrent queries
 *   <name>_health  one per `health.urls` entry (storage, CDN, ...): 2xx
 *
 * Without a Redis or database URL, redis_health / db_health are not in the phase at all (so
 * `perf list` does not show them): perf probes only what it was told about, and never guesses a
 * dependency from the status body. A dependency the service reports itself is an assertion
 * (`{ path: 'deps.redis', equals: 'up' }`).
 */
import { isDeepStrictEqual } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { parseDurationMs } from '../cli/flags.ts';
import type { HealthAssertion, ResolvedConfig } from '../config/config-schema.ts';
import { HttpClient, failWith } from '../clients/http-client.ts';
import { getPath } from '../shared/agent-protocol.ts';
import { sqlEvidence, withClient } from './pg-util.ts';
import { CheckFailure, type Check, type CheckContext } from './types.ts';

const POOL_QUERIES = 8;
const POOL_SIZE = 4;
/** A number below this is an epoch in seconds (1e11 s is the year 5138; 1e11 ms is 1973). */
const EPOCH_SECONDS_BELOW = 1e11;

/**
 * Which stores perf probes directly, and the option that named each: decided from the config
 * alone (before the target starts), so `perf list` and the run show the same checks.
 */
export function directProbes(config: ResolvedConfig): { redis?: string; database?: string } {
  if (config.target === 'sample-app') {
    // The bundled app always has a database (its embedded one unless sampleApp.databaseUrl),
    // and Redis only when given one (else its state is in-process).
    return { database: config.sampleApp.databaseUrl ? 'sampleApp.databaseUrl' : "target: 'sample-app' (its embedded database)", ...(config.sampleApp.redisUrl ? { redis: 'sampleApp.redisUrl' } : {}) };
  }
  return {
    ...(config.target.redisUrl ? { redis: 'target.redisUrl' } : {}),
    ...(config.target.databaseUrl ? { database: 'target.databaseUrl' } : {}),
  };
}

export function healthChecks(config: ResolvedConfig): Check[] {
  const h = config.health;
  const probes = directProbes(config);
  const checks: Check[] = [
    {
      name: 'api_health',
      description: `GET ${h.path}: ${h.status}${h.expect.length ? `, ${h.expect.length} assertion(s) on the body` : ''}`,
      run: (ctx) => apiHealth(ctx, config),
    },
  ];
  if (probes.redis) {
    checks.push({
      name: 'redis_health',
      description: `Redis (${probes.redis}): PING, SET/GET of a unique key, list push/pop`,
      run: (ctx) => redisHealth(ctx),
    });
  }
  if (probes.database) {
    checks.push({
      name: 'db_health',
      description: `PostgreSQL (${probes.database}): connect, SELECT 1, expected tables exist, a pool answers concurrent queries`,
      run: (ctx) => dbHealth(ctx, config),
    });
  }
  for (const [name, url] of Object.entries(h.urls)) {
    checks.push({
      name: `${name}_health`,
      description: `GET ${url}: 2xx`,
      run: async (ctx) => {
        const res = await new HttpClient(ctx, ctx.target.baseUrl, { correlationHeader: config.http.correlationHeader }).get(url, { headers: { accept: '*/*' } });
        if (res.status < 200 || res.status > 299) throw failWith(res, `${name} answered ${res.status}, expected 2xx`);
      },
    });
  }
  return checks;
}

async function apiHealth(ctx: CheckContext, config: ResolvedConfig): Promise<void> {
  const { path, status, expect } = config.health;
  const res = await new HttpClient(ctx, ctx.target.baseUrl, { correlationHeader: config.http.correlationHeader }).get(path, { headers: { accept: expect.length ? 'application/json' : '*/*' } });
  ctx.measure('response_ms', res.durationMs);
  const problems: string[] = [];
  if (res.status !== status) problems.push(`answered ${res.status}, expected ${status}`);
  if (expect.length) {
    let body: unknown;
    let parsed = true;
    try {
      body = JSON.parse(res.text);
    } catch {
      parsed = false;
      const text = res.exchange.responseBody?.trim() ?? '';
      problems.push(`the body is not JSON, so none of the ${expect.length} assertion(s) could hold${text ? `: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}` : ''}`);
    }
    if (parsed) {
      const now = Date.now();
      const results = expect.map((a) => evaluate(a, getPath(body, a.path), now));
      for (const r of results) if (r.skewMs !== undefined) ctx.measure(`clock_skew_ms.${r.path}`, r.skewMs);
      ctx.record({ kind: 'note', message: `${results.filter((r) => r.failures.length === 0).length} of ${results.length} health assertion(s) held`, data: results.map((r) => ({ assertion: r.label, found: r.found, ok: r.failures.length === 0 })) });
      const failed = results.filter((r) => r.failures.length);
      if (failed.length) {
        problems.push(`${failed.length} of ${results.length} assertion(s) failed: ${failed.map((r) => `${r.label}: ${r.failures.join(', and ')}`).join('; ')}`);
      }
    }
  }
  if (problems.length) throw failWith(res, `health endpoint: ${problems.join('; ')}`);
}

interface AssertionResult {
  path: string;
  /** The assertion's `description`, or its path. */
  label: string;
  /** The value found, as short JSON (`(absent)` when the path is missing). */
  found: string;
  /** One entry per operator that did not hold: "expected X, found Y". */
  failures: string[];
  /** freshWithin: perf's clock minus the timestamp (ms; positive = in the past). */
  skewMs?: number;
}

/** Every operator of one assertion on the value at its path; each failure says expected and found. */
export function evaluate(a: HealthAssertion, value: unknown, now = Date.now()): AssertionResult {
  const found = show(value);
  const failures: string[] = [];
  const fail = (expected: string, foundText = found) => failures.push(`expected ${expected}, found ${foundText}`);
  let skewMs: number | undefined;
  if (a.equals !== undefined && !isDeepStrictEqual(value, a.equals)) fail(show(a.equals));
  if (a.oneOf !== undefined && !a.oneOf.some((v) => isDeepStrictEqual(value, v))) fail(`one of ${show(a.oneOf)}`);
  if (a.nonEmpty && (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0))) fail('a non-empty value');
  if (a.exists === true && value === undefined) fail('the path to exist');
  if (a.exists === false && value !== undefined) fail('the path to be absent');
  if (a.matches !== undefined && (typeof value !== 'string' || !new RegExp(a.matches).test(value))) fail(`a string matching /${a.matches}/`);
  if (a.freshWithin !== undefined) {
    const within = parseDurationMs(a.freshWithin, `health.expect "${a.path}" freshWithin`);
    const at = timestampMs(value);
    if (at === undefined) fail(`a timestamp (ISO string, or epoch ms/s) within ${a.freshWithin} of perf's clock`);
    else {
      skewMs = now - at;
      if (Math.abs(skewMs) > within) {
        fail(`a timestamp within ${a.freshWithin} of perf's clock`, `${found} (${new Date(at).toISOString()}, ${describeSkew(skewMs)}: stale, or the clocks disagree)`);
      }
    }
  }
  if (a.min !== undefined || a.max !== undefined) {
    const bounds = a.min !== undefined && a.max !== undefined ? `between ${a.min} and ${a.max}` : a.min !== undefined ? `at least ${a.min}` : `at most ${a.max}`;
    if (typeof value !== 'number' || !Number.isFinite(value) || (a.min !== undefined && value < a.min) || (a.max !== undefined && value > a.max)) fail(`a number ${bounds}`);
  }
  return { path: a.path, label: a.description ? `${a.description} (${a.path})` : a.path, found, failures, ...(skewMs !== undefined ? { skewMs } : {}) };
}

/** An ISO (or other Date-parsable) string, or an epoch number: ms, or seconds below 1e11. */
function timestampMs(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value < EPOCH_SECONDS_BELOW ? value * 1000 : value;
  if (typeof value === 'string' && value.trim() !== '') {
    const t = Date.parse(value);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

function describeSkew(skewMs: number): string {
  const s = Math.abs(skewMs) / 1000;
  const amount = s < 120 ? `${Math.round(s)} s` : s < 7200 ? `${Math.round(s / 60)} min` : s < 172_800 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86_400)} d`;
  return `${amount} ${skewMs >= 0 ? 'in the past' : 'in the future'}`;
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 120 ? `${s.slice(0, 120)}…` : s;
}

/** A probe the config asked for whose URL the started target did not report: a failure, not a pass. */
function missingUrl(what: string, option: string): CheckFailure {
  return new CheckFailure(`the config names a ${what} (${option}) but the resolved target has no ${what} URL`);
}

async function redisHealth(ctx: CheckContext): Promise<void> {
  const url = ctx.target.redisUrl;
  if (!url) throw missingUrl('Redis', 'target.redisUrl');
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
  if (!url) throw missingUrl('database', 'target.databaseUrl');
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
