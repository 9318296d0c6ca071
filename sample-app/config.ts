// Options of one sample-app instance: the typed input of startSampleApp(), their defaults, and
// how main.ts reads them from the environment.
//
// startSampleApp() never reads the environment itself (tests run many instances in one
// process); main.ts layers defaults → environment → command-line flags.
import { randomBytes } from 'node:crypto';
import { parseFaultsEnv, type FaultsPatch } from './faults.ts';
import { isLogLevel, type LogLevel } from './logger.ts';

export interface SampleAppTimings {
  /** Duration of each job step: queued → running → completed (default 150 ms each). */
  jobStepMs: number;
  /** Delay between two WebSocket agent events of a run (default 20 ms). */
  wsEventDelayMs: number;
  /** Access-token lifetime (default 900 s; tests of expiry use 1 s). */
  accessTokenTtlSec: number;
  /** Session / refresh-token lifetime (default 7 days). */
  refreshTokenTtlSec: number;
  /** Login rate-limit window (default 60 s). */
  loginWindowMs: number;
  /** How long a dependency probe result is reused by GET /health (default 1000 ms; 0 = probe on every request). */
  healthCacheMs: number;
}

export interface SampleAppLimits {
  /** Failed logins per account per window before 429 (default 5). */
  loginMaxFailures: number;
  /** Failed logins per client IP per window before 429 (default 100). */
  loginMaxFailuresPerIp: number;
}

export interface SeedOptions {
  /** Number of seed users (default 20: enough for `--users 15` plus spares). */
  users?: number;
}

export interface SampleAppOptions {
  /** API / pages / WebSocket port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Admin (fault control) port, always on 127.0.0.1; 0 (default) picks a free one. */
  adminPort?: number;
  /** Use this PostgreSQL server; without it an embedded server is started and removed with the app. */
  databaseUrl?: string;
  /** Use Redis; without it the state lives in-process. */
  redisUrl?: string;
  /** Redis key prefix (default `sample-app:<random>:`, deleted on stop). */
  redisPrefix?: string;
  /** Faults on from the start. */
  faults?: FaultsPatch;
  /** Seed users and kits (default true). */
  seed?: boolean | SeedOptions;
  timings?: Partial<SampleAppTimings>;
  limits?: Partial<SampleAppLimits>;
  /** HS256 secret (default: random per instance). */
  jwtSecret?: string;
  /** stderr log level (default 'warn'). */
  logLevel?: LogLevel;
  /** Test instrumentation: append every token and password the app issues or accepts to this file (issued-secrets.ts). */
  issuedSecretsLog?: string;
}

export const DEFAULT_TIMINGS: Readonly<SampleAppTimings> = Object.freeze({
  jobStepMs: 150,
  wsEventDelayMs: 20,
  accessTokenTtlSec: 900,
  refreshTokenTtlSec: 7 * 24 * 3600,
  loginWindowMs: 60_000,
  healthCacheMs: 1_000,
});

export const DEFAULT_LIMITS: Readonly<SampleAppLimits> = Object.freeze({
  loginMaxFailures: 5,
  loginMaxFailuresPerIp: 100,
});

export const DEFAULT_SEED_USERS = 20;

export interface ResolvedOptions {
  port: number;
  host: string;
  adminPort: number;
  databaseUrl: string | null;
  redisUrl: string | null;
  redisPrefix: string;
  redisPrefixGenerated: boolean;
  faults: FaultsPatch;
  seedUsers: number;
  timings: SampleAppTimings;
  limits: SampleAppLimits;
  jwtSecret: Uint8Array;
  logLevel: LogLevel;
  issuedSecretsLog: string | null;
}

export function resolveOptions(options: SampleAppOptions = {}): ResolvedOptions {
  const seed = options.seed ?? true;
  const instance = randomBytes(6).toString('hex');
  return {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    adminPort: options.adminPort ?? 0,
    databaseUrl: options.databaseUrl || null,
    redisUrl: options.redisUrl || null,
    redisPrefix: options.redisPrefix ?? `sample-app:${instance}:`,
    redisPrefixGenerated: options.redisPrefix === undefined,
    faults: options.faults ?? {},
    seedUsers: seed === false ? 0 : seed === true ? DEFAULT_SEED_USERS : (seed.users ?? DEFAULT_SEED_USERS),
    timings: { ...DEFAULT_TIMINGS, ...definedOnly(options.timings) },
    limits: { ...DEFAULT_LIMITS, ...definedOnly(options.limits) },
    jwtSecret: options.jwtSecret ? new TextEncoder().encode(options.jwtSecret) : randomBytes(32),
    logLevel: options.logLevel ?? 'warn',
    issuedSecretsLog: options.issuedSecretsLog || null,
  };
}

function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(value ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Environment variables main.ts reads (all optional). */
export const ENV_VARS = {
  DATABASE_URL: 'PostgreSQL URL (else embedded)',
  REDIS_URL: 'Redis URL (else in-process)',
  SAMPLE_APP_PORT: 'API port (0 = free)',
  SAMPLE_APP_HOST: 'listen address (127.0.0.1)',
  SAMPLE_APP_ADMIN_PORT: 'admin port (0 = free)',
  SAMPLE_APP_REDIS_PREFIX: 'Redis key prefix',
  SAMPLE_APP_FAULTS: 'faults on at start, JSON object',
  SAMPLE_APP_SEED: '0 = no seed data, N = N seed users',
  SAMPLE_APP_JWT_SECRET: 'HS256 secret',
  SAMPLE_APP_LOG_LEVEL: 'silent|error|warn|info|debug',
  SAMPLE_APP_ACCESS_TOKEN_TTL: 'access-token lifetime, seconds',
  SAMPLE_APP_REFRESH_TOKEN_TTL: 'refresh-token lifetime, seconds',
  SAMPLE_APP_JOB_STEP_MS: 'job step duration, ms',
  SAMPLE_APP_WS_EVENT_DELAY_MS: 'delay between agent events, ms',
  SAMPLE_APP_HEALTH_CACHE_MS: 'health probe reuse, ms',
  SAMPLE_APP_LOGIN_MAX_FAILURES: 'failed logins per account per window',
  SAMPLE_APP_LOGIN_MAX_FAILURES_PER_IP: 'failed logins per IP per window',
  SAMPLE_APP_LOGIN_WINDOW_MS: 'rate-limit window, ms',
  SAMPLE_APP_ISSUED_SECRETS_LOG: 'tests only: file to append every issued token and password to',
} as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function intVar(env: NodeJS.ProcessEnv, name: keyof typeof ENV_VARS, problems: string[]): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    problems.push(`${name}: expected a non-negative integer, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  return value;
}

/** Options from the environment; throws ConfigError listing every problem. */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): SampleAppOptions {
  const problems: string[] = [];
  const options: SampleAppOptions = {
    port: intVar(env, 'SAMPLE_APP_PORT', problems),
    host: env.SAMPLE_APP_HOST || undefined,
    adminPort: intVar(env, 'SAMPLE_APP_ADMIN_PORT', problems),
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.SAMPLE_APP_REDIS_PREFIX || undefined,
    jwtSecret: env.SAMPLE_APP_JWT_SECRET || undefined,
    issuedSecretsLog: env.SAMPLE_APP_ISSUED_SECRETS_LOG || undefined,
    timings: {
      accessTokenTtlSec: intVar(env, 'SAMPLE_APP_ACCESS_TOKEN_TTL', problems),
      refreshTokenTtlSec: intVar(env, 'SAMPLE_APP_REFRESH_TOKEN_TTL', problems),
      jobStepMs: intVar(env, 'SAMPLE_APP_JOB_STEP_MS', problems),
      wsEventDelayMs: intVar(env, 'SAMPLE_APP_WS_EVENT_DELAY_MS', problems),
      healthCacheMs: intVar(env, 'SAMPLE_APP_HEALTH_CACHE_MS', problems),
      loginWindowMs: intVar(env, 'SAMPLE_APP_LOGIN_WINDOW_MS', problems),
    },
    limits: {
      loginMaxFailures: intVar(env, 'SAMPLE_APP_LOGIN_MAX_FAILURES', problems),
      loginMaxFailuresPerIp: intVar(env, 'SAMPLE_APP_LOGIN_MAX_FAILURES_PER_IP', problems),
    },
  };
  const seed = intVar(env, 'SAMPLE_APP_SEED', problems);
  if (seed !== undefined) options.seed = seed === 0 ? false : { users: seed };
  if (env.SAMPLE_APP_LOG_LEVEL) {
    if (isLogLevel(env.SAMPLE_APP_LOG_LEVEL)) options.logLevel = env.SAMPLE_APP_LOG_LEVEL;
    else problems.push(`SAMPLE_APP_LOG_LEVEL: expected silent|error|warn|info|debug, got ${JSON.stringify(env.SAMPLE_APP_LOG_LEVEL)}`);
  }
  if (env.SAMPLE_APP_FAULTS) {
    try {
      options.faults = parseFaultsEnv(env.SAMPLE_APP_FAULTS);
    } catch (error) {
      problems.push(`SAMPLE_APP_FAULTS: ${(error as Error).message}`);
    }
  }
  if (problems.length) throw new ConfigError(problems.join('\n'));
  return options;
}

/** A URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
