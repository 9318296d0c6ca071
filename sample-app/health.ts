// GET /health: the service and each dependency it needs.
//
//   200 {status: 'ok', version, timestamp, uptimeSec, storage,
//        dependencies: {database: {status: 'ok', latencyMs}, redis: {status: 'ok', mode: 'redis'|'in-process', latencyMs}}}
//   503 the same with status 'degraded' and the failing dependency `status: 'down'` (+ `error`)
//
// Probes (SELECT 1; Redis PING) are coalesced and their result reused for
// `timings.healthCacheMs` (default 1 s): a load balancer or a load test hammering /health must
// measure the service, not turn every call into two extra round trips. `?fresh=1` forces a live
// probe. The `dependencyDown` fault overrides the result at response time, so flipping it
// takes effect on the next request. /health is exempt from the latency and error faults.
import type { FastifyInstance } from 'fastify';
import type { AppContext } from './context.ts';

export interface DependencyStatus {
  status: 'ok' | 'down';
  latencyMs: number;
  error?: string;
}

interface ProbeResult {
  database: DependencyStatus;
  redis: DependencyStatus;
  at: number;
}

const PROBE_TIMEOUT_MS = 2_000;

async function timed(probe: () => Promise<unknown>): Promise<DependencyStatus> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      }),
    ]);
    return { status: 'ok', latencyMs: round(performance.now() - start) };
  } catch (error) {
    return { status: 'down', latencyMs: round(performance.now() - start), error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

const round = (ms: number) => Math.round(ms * 100) / 100;

export function registerHealthRoute(app: FastifyInstance, ctx: AppContext): void {
  const startedAt = Date.now();
  let cached: ProbeResult | undefined;
  let inflight: Promise<ProbeResult> | undefined;

  const probe = (): Promise<ProbeResult> =>
    (inflight ??= (async () => {
      const [database, redis] = await Promise.all([
        timed(() => ctx.pool.query('SELECT 1')),
        ctx.store.mode === 'redis' ? timed(() => ctx.store.ping()) : Promise.resolve<DependencyStatus>({ status: 'ok', latencyMs: 0 }),
      ]);
      cached = { database, redis, at: Date.now() };
      return cached;
    })().finally(() => {
      inflight = undefined;
    }));

  // The body is pre-serialised per probe result and fault state: only the timestamp and uptime
  // change between two requests, so /health costs a string concatenation, not a serialisation
  // (it is the endpoint a load balancer, a load test or a bench hammers).
  let rendered: { result: ProbeResult; down: string | null; healthy: boolean; head: string; tail: string } | undefined;
  const render = (result: ProbeResult) => {
    const down = ctx.faults.current.dependencyDown;
    if (rendered && rendered.result === result && rendered.down === down) return rendered;
    const injected = (name: 'database' | 'redis', s: DependencyStatus): DependencyStatus =>
      down === name ? { status: 'down', latencyMs: s.latencyMs, error: 'injected fault: dependencyDown' } : s;
    const database = injected('database', result.database);
    const redis = injected('redis', result.redis);
    const healthy = database.status === 'ok' && redis.status === 'ok';
    const dependencies = { database, redis: { ...redis, mode: ctx.store.mode } };
    rendered = {
      result,
      down,
      healthy,
      head: `{"status":"${healthy ? 'ok' : 'degraded'}","version":${JSON.stringify(ctx.version)},"timestamp":"`,
      tail: `,"storage":"${ctx.storage}","dependencies":${JSON.stringify(dependencies)}}`,
    };
    return rendered;
  };

  app.get<{ Querystring: { fresh?: string } }>('/health', async (request, reply) => {
    const fresh = request.query.fresh === '1' || request.query.fresh === 'true';
    const result =
      !fresh && cached && Date.now() - cached.at < ctx.options.timings.healthCacheMs ? cached : await probe();
    const body = render(result);
    const uptimeSec = Math.round((Date.now() - startedAt) / 1000);
    return reply
      .code(body.healthy ? 200 : 503)
      .header('cache-control', 'no-store')
      .type('application/json; charset=utf-8')
      .send(`${body.head}${new Date().toISOString()}","uptimeSec":${uptimeSec}${body.tail}`);
  });
}
