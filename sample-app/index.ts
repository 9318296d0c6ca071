// The sample app, in process: `startSampleApp(options) → SampleAppHandle`.
//
// Start: storage first (embedded PostgreSQL or DATABASE_URL; Redis or in-process, in
// parallel), then the idempotent migration, the seed data, the API server and the admin server.
// A start that fails part-way releases what it had already started.
// Stop (`handle.stop()`, idempotent): admin server, agent runs, API server (open sockets are
// closed), job runner, database pool, store, then the embedded PostgreSQL and its data folder.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { buildApp, type RouteInfo } from './app.ts';
import { startAdminServer } from './admin.ts';
import { redactUrl, resolveOptions, type SampleAppOptions } from './config.ts';
import type { AppContext } from './context.ts';
import { createPool } from './db.ts';
import { startEmbeddedPostgres } from './embedded-pg.ts';
import { FaultController, type Faults, type FaultsPatch } from './faults.ts';
import { JobRunner } from './jobs.ts';
import { createLogger } from './logger.ts';
import { Mailbox } from './mailbox.ts';
import { appVersion } from './paths.ts';
import { LoginRateLimiter } from './rate-limit.ts';
import { migrate } from './schema.ts';
import { IssuedSecrets } from './issued-secrets.ts';
import { cleanup, seed, SEED_PASSWORD, type CleanupReport, type SeedUser } from './seed.ts';
import { MemoryStore } from './store-memory.ts';
import type { Store } from './store.ts';
import { TokenService } from './tokens.ts';

export type { SampleAppOptions, SampleAppTimings, SampleAppLimits } from './config.ts';
export { DEFAULT_TIMINGS, DEFAULT_LIMITS, optionsFromEnv } from './config.ts';
export type { Faults, FaultsPatch, FaultName, AgentEventType } from './faults.ts';
export { NO_FAULTS, AGENT_EVENT_TYPES, parseFaultFlag, parseFaultsPatch, FaultValidationError } from './faults.ts';
export { SEED_PASSWORD, seedUserEmail, seedUserId, seedKitId, seedUsers, type SeedUser, type CleanupReport } from './seed.ts';
export { RLS_ROLE, USER_OWNED_TABLES, MAX_BRAND_KITS_PER_USER } from './schema.ts';
export { RUN_PLAN, type AgentEvent } from './ws-agent.ts';
export { TOKEN_COOKIE } from './tokens.ts';
export type { RouteInfo } from './app.ts';

/** Pending connections the API/WebSocket server's accept queue holds (listen() below says why). */
const LISTEN_BACKLOG = 4096;

export interface SampleAppHandle {
  /** http://127.0.0.1:<port> — the API */
  baseUrl: string;
  /** ws://127.0.0.1:<port>/ws — the agent */
  wsUrl: string;
  /** http://127.0.0.1:<adminPort> — fault control, cleanup, mailbox */
  adminUrl: string;
  /** the web pages (same server as the API) */
  frontendUrl: string;
  /** what perf's database checks connect to (embedded: postgres://postgres:sample-app@127.0.0.1:<port>/sample_app) */
  databaseUrl: string;
  redisUrl: string | null;
  /** the Redis key prefix of this instance (null without Redis) */
  redisPrefix: string | null;
  storage: 'embedded' | 'external';
  pid: number;
  /** ms from the startSampleApp call to ready */
  readyMs: number;
  /** seed users (all with `seedPassword`) */
  seedUsers: SeedUser[];
  seedPassword: string;
  getFaults(): Readonly<Faults>;
  /** Merges a patch (validated; throws FaultValidationError) and returns the new faults. */
  setFaults(patch: FaultsPatch): Readonly<Faults>;
  resetFaults(): Readonly<Faults>;
  /** Every route the API server registered (method, path with `:params`, `api` or `app` scope). */
  routes: readonly RouteInfo[];
  /** Deletes non-seed data (see seed.ts). */
  cleanup(): Promise<CleanupReport>;
  /** Graceful shutdown; idempotent. */
  stop(): Promise<void>;
}

interface Resource {
  name: string;
  close: () => Promise<unknown>;
}

export async function startSampleApp(options: SampleAppOptions = {}): Promise<SampleAppHandle> {
  const t0 = performance.now();
  const opts = resolveOptions(options);
  const log = createLogger(opts.logLevel);
  const faults = new FaultController(opts.faults); // invalid faults fail before anything starts
  const opened: Resource[] = []; // in start order; closed in reverse

  const closeAll = async () => {
    for (const resource of opened.reverse()) {
      try {
        await resource.close();
      } catch (error) {
        log.warn(`closing ${resource.name} failed`, (error as Error).message);
      }
    }
    opened.length = 0;
  };

  try {
    const [dbResult, storeResult] = await Promise.allSettled([
      opts.databaseUrl
        ? Promise.resolve({ url: opts.databaseUrl, stop: async () => undefined, storage: 'external' as const })
        : startEmbeddedPostgres({ log: (m) => log.debug(`[postgres] ${m}`) }).then((h) => {
            log.debug(`embedded PostgreSQL ${h.version} on port ${h.port} (ms: ${JSON.stringify(h.timings)})`);
            return { url: h.url, stop: h.stop, storage: 'embedded' as const };
          }),
      opts.redisUrl
        ? // loaded on demand: ioredis is not needed (nor paid for at start-up) without REDIS_URL
          import('./store-redis.ts').then(({ RedisStore }) =>
            RedisStore.connect({ url: opts.redisUrl!, prefix: opts.redisPrefix, ownsPrefix: opts.redisPrefixGenerated, log }),
          )
        : Promise.resolve(new MemoryStore()),
    ]);
    if (dbResult.status === 'fulfilled') opened.push({ name: 'database server', close: dbResult.value.stop });
    if (storeResult.status === 'fulfilled') opened.push({ name: 'store', close: () => storeResult.value.close() });
    if (dbResult.status === 'rejected') throw dbResult.reason;
    if (storeResult.status === 'rejected') throw storeResult.reason;
    const db = dbResult.value;
    const store: Store = storeResult.value;

    const pool: pg.Pool = createPool(db.url, log);
    opened.push({ name: 'database pool', close: () => pool.end() });
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      throw new Error(`cannot connect to PostgreSQL at ${redactUrl(db.url)}: ${(error as Error).message}`);
    }
    if (await migrate(pool)) log.debug('schema migrated');
    const seeded = await seed(pool, opts.seedUsers, log);

    const mailbox = new Mailbox();
    const issued = new IssuedSecrets(opts.issuedSecretsLog);
    if (opts.seedUsers > 0) issued.record('password', SEED_PASSWORD);
    const jobs = new JobRunner(pool, store, opts.timings.jobStepMs, log, faults);
    const ctx: AppContext = {
      options: opts,
      log,
      pool,
      store,
      faults,
      tokens: new TokenService(opts.jwtSecret, opts.timings.accessTokenTtlSec, store, (kind, token) => issued.record(kind, token)),
      limiter: new LoginRateLimiter(store, {
        maxPerAccount: opts.limits.loginMaxFailures,
        maxPerIp: opts.limits.loginMaxFailuresPerIp,
        windowMs: opts.timings.loginWindowMs,
      }),
      mailbox,
      issued,
      version: appVersion(),
      storage: db.storage,
      baseUrl: '',
      enqueueJob: (id) => jobs.enqueue(id),
    };
    jobs.start();
    opened.push({ name: 'job runner', close: () => jobs.stop() });

    const { app, agent, routes } = await buildApp(ctx);
    opened.push({ name: 'API server', close: () => app.close() });
    opened.push({ name: 'agent runs', close: () => agent.stop() });
    // Backlog: at 1,000 agent users the clients reconnect every few hundred ms, and hundreds of
    // connections can arrive while the event loop is busy for a moment. Node's default (511)
    // then overflows the kernel's accept queue; the dropped clients retransmit after 1 s, 3 s:
    // handshakes of seconds on an idle target. The kernel caps it at net.core.somaxconn.
    await app.listen({ host: opts.host, port: opts.port, backlog: LISTEN_BACKLOG });
    const baseUrl = `http://${urlHost(opts.host)}:${listenPort(app)}`;
    ctx.baseUrl = baseUrl;

    const info = {
      baseUrl,
      wsUrl: `${baseUrl.replace(/^http/, 'ws')}/ws`,
      frontendUrl: baseUrl,
      databaseUrl: db.url,
      redisUrl: opts.redisUrl,
      storage: db.storage,
      pid: process.pid,
    };
    const admin = await startAdminServer(
      {
        faults,
        mailbox,
        log,
        info: () => info,
        expiredToken: async (userId, sessionId) => {
          const { rowCount } = await pool.query('SELECT 1 FROM users WHERE id = $1', [userId]);
          if (!rowCount) return null;
          const live = sessionId ? await store.getSession(sessionId) : null;
          let sid = sessionId;
          if (!sid || !live || live.userId !== userId) {
            sid = randomUUID();
            await store.putSession(sid, { userId, refreshJti: ctx.tokens.newJti(), expiresAt: Date.now() + 3_600_000 });
          }
          return { ...(await ctx.tokens.issueExpiredAccess(userId, sid)), sessionId: sid };
        },
        cleanup: async () => {
          mailbox.clear();
          return cleanup(pool, store, opts.seedUsers, log);
        },
      },
      opts.adminPort,
    );
    opened.push({ name: 'admin server', close: () => admin.app.close() });

    let stopping: Promise<void> | undefined;
    return {
      ...info,
      adminUrl: admin.url,
      redisPrefix: opts.redisUrl ? opts.redisPrefix : null,
      readyMs: Math.round(performance.now() - t0),
      seedUsers: seeded,
      seedPassword: SEED_PASSWORD,
      getFaults: () => faults.current,
      setFaults: (patch) => faults.merge(patch),
      resetFaults: () => faults.reset(),
      routes,
      cleanup: () => {
        mailbox.clear();
        return cleanup(pool, store, opts.seedUsers, log);
      },
      stop: () => (stopping ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function listenPort(app: FastifyInstance): number {
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('the API server has no TCP address');
  return address.port;
}

/** A host for URLs: wildcard listens are reached on loopback; IPv6 literals get brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
