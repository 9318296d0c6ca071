// Standalone entry of the sample app (bundled to dist/sample-app.js; in development:
// `node --import tsx sample-app/main.ts`).
//
// Contract with whoever spawns it (src/target/target.ts):
// - stdout carries exactly one line, once ready:
//   {"event":"ready","baseUrl","wsUrl","adminUrl","frontendUrl","databaseUrl","redisUrl","storage","pid","readyMs"}
//   (readyMs counts from process start). Nothing else is ever written to stdout; logs go to
//   stderr (quiet by default: warnings and errors).
// - SIGINT / SIGTERM stop it gracefully (exit 0); a second signal exits at once (130/143).
// - `--exit-on-stdin-close`: stop when stdin closes, i.e. when the parent dies, even by SIGKILL.
// - exit 2 on bad flags or environment, 1 when the start fails (the reason is on stderr).
// Options: defaults → environment (config.ts ENV_VARS) → flags.
import { parseArgs } from 'node:util';
import { ConfigError, ENV_VARS, optionsFromEnv, type SampleAppOptions } from './config.ts';
import { FaultValidationError, parseFaultFlag, parseFaultsPatch, type FaultsPatch } from './faults.ts';
import { isLogLevel } from './logger.ts';
import { startSampleApp, type SampleAppHandle } from './index.ts';

const USAGE = `Usage: sample-app [options]

Starts the perf reference service and prints one JSON "ready" line on stdout.

Options:
  --port <n>                 API/pages/WebSocket port (default 0 = a free port)
  --host <addr>              listen address (default 127.0.0.1)
  --admin-port <n>           admin port, always on 127.0.0.1 (default 0 = free)
  --database-url <url>       use this PostgreSQL (default: embedded server)
  --redis-url <url>          use Redis (default: in-process state)
  --redis-prefix <prefix>    Redis key prefix (default sample-app:<random>:)
  --fault <name=value>       switch a fault on (repeatable), e.g. --fault latencyMs=200
  --faults <json>            faults as one JSON object
  --seed <n>                 number of seed users (0 = none; default 20)
  --access-token-ttl <s>     access-token lifetime in seconds (default 900)
  --job-step-ms <ms>         duration of each job step (default 150)
  --ws-event-delay-ms <ms>   delay between agent events (default 20)
  --log-level <level>        silent|error|warn|info|debug (default warn)
  --exit-on-stdin-close      stop when stdin closes (the spawning process went away)
  -h, --help                 this text

Environment: ${Object.keys(ENV_VARS).join(', ')}
`;

class UsageError extends Error {}

function nonNegativeInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name}: expected a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
}

export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv): { options: SampleAppOptions; exitOnStdinClose: boolean; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        'admin-port': { type: 'string' },
        'database-url': { type: 'string' },
        'redis-url': { type: 'string' },
        'redis-prefix': { type: 'string' },
        fault: { type: 'string', multiple: true },
        faults: { type: 'string' },
        seed: { type: 'string' },
        'access-token-ttl': { type: 'string' },
        'job-step-ms': { type: 'string' },
        'ws-event-delay-ms': { type: 'string' },
        'log-level': { type: 'string' },
        'exit-on-stdin-close': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  const options = optionsFromEnv(env);
  const set = <K extends keyof SampleAppOptions>(key: K, value: SampleAppOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };
  set('port', nonNegativeInt('port', v.port));
  set('host', v.host);
  set('adminPort', nonNegativeInt('admin-port', v['admin-port']));
  set('databaseUrl', v['database-url']);
  set('redisUrl', v['redis-url']);
  set('redisPrefix', v['redis-prefix']);
  const seedUsers = nonNegativeInt('seed', v.seed);
  if (seedUsers !== undefined) options.seed = seedUsers === 0 ? false : { users: seedUsers };
  options.timings = {
    ...options.timings,
    ...definedEntries({
      accessTokenTtlSec: nonNegativeInt('access-token-ttl', v['access-token-ttl']),
      jobStepMs: nonNegativeInt('job-step-ms', v['job-step-ms']),
      wsEventDelayMs: nonNegativeInt('ws-event-delay-ms', v['ws-event-delay-ms']),
    }),
  };
  if (v['log-level'] !== undefined) {
    if (!isLogLevel(v['log-level'])) throw new UsageError(`--log-level: expected silent|error|warn|info|debug`);
    options.logLevel = v['log-level'];
  }
  let faults: FaultsPatch = { ...options.faults };
  try {
    if (v.faults !== undefined) faults = { ...faults, ...parseFaultsPatch(JSON.parse(v.faults)) };
    for (const flag of v.fault ?? []) faults = { ...faults, ...parseFaultFlag(flag) };
  } catch (error) {
    throw new UsageError(error instanceof FaultValidationError ? error.message : `--faults: ${(error as Error).message}`);
  }
  options.faults = faults;
  return { options, exitOnStdinClose: v['exit-on-stdin-close'] ?? false, help: v.help ?? false };
}

function definedEntries<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, x]) => x !== undefined)) as Partial<T>;
}

async function main(): Promise<void> {
  // When the spawning process goes away, our stdout/stderr pipes lose their reader and writes
  // fail with EPIPE. Nobody is listening any more, so those errors are dropped: unhandled, each
  // would become an uncaught exception whose report fails the same way, in a loop.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  let command;
  try {
    command = parseCommandLine(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      process.stderr.write(`sample-app: ${error.message}\n\n${USAGE}`);
      process.exit(2);
    }
    throw error;
  }
  if (command.help) {
    process.stderr.write(USAGE);
    return;
  }

  let starting: Promise<SampleAppHandle> | undefined;
  let stopping = false;
  const shutdown = async (code: number, reason: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`sample-app: stopping (${reason})\n`);
    try {
      // A signal during the start waits for it, so nothing half-started is left behind.
      const handle = await starting?.catch(() => undefined);
      await handle?.stop();
    } catch (error) {
      process.stderr.write(`sample-app: stop failed: ${(error as Error).message}\n`);
      code = code || 1;
    }
    process.exit(code);
  };
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(code); // second signal: no more waiting
      void shutdown(0, signal);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`sample-app: uncaught exception: ${error.stack ?? error.message}\n`);
    void shutdown(1, 'uncaught exception');
  });
  if (command.exitOnStdinClose) {
    process.stdin.on('end', () => void shutdown(0, 'stdin closed'));
    process.stdin.on('error', () => void shutdown(0, 'stdin error'));
    process.stdin.resume();
  }

  let handle: SampleAppHandle;
  try {
    starting = startSampleApp(command.options);
    handle = await starting;
  } catch (error) {
    process.stderr.write(`sample-app: start failed: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
  if (stopping) return; // a signal arrived during the start; shutdown() stops what started
  const ready = {
    event: 'ready',
    baseUrl: handle.baseUrl,
    wsUrl: handle.wsUrl,
    adminUrl: handle.adminUrl,
    frontendUrl: handle.frontendUrl,
    databaseUrl: handle.databaseUrl,
    redisUrl: handle.redisUrl,
    storage: handle.storage,
    pid: process.pid,
    readyMs: Math.round(performance.now()),
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

await main();
