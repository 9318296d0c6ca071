// notes-service entry point: `node --import tsx examples/notes-service/server.ts`.
//
// Contract with whoever starts it (perf's tests, the examples/notes project):
//   - configuration by environment only (see config.ts); a configuration mistake, including
//     bad NOTES_FAULTS, prints one line to stderr and exits 2; PostgreSQL unreachable at
//     start exits 1;
//   - when ready, exactly one line on stdout: `notes-service listening on http://HOST:PORT`
//     (stdout carries nothing else; logs are JSON lines on stderr);
//   - SIGTERM / SIGINT: stop accepting, close sockets and the pool, exit 0.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { Store } from './db.ts';
import { activeFaults } from './faults.ts';
import { log, logWhenDone, traceIdOf } from './http.ts';
import { attachLive } from './live.ts';
import { createRouter } from './routes.ts';

function readRev(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '1.0.0';
  } catch {
    return '1.0.0';
  }
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`notes-service: configuration error: ${err.message}\n`);
  process.exit(2);
}

let store: Store;
try {
  store = await Store.open(config.databaseUrl, config.schema);
} catch (err) {
  // The message of a connection error names host and port, never the password.
  process.stderr.write(`notes-service: cannot prepare PostgreSQL schema "${config.schema}": ${(err as Error).message}\n`);
  process.exit(1);
}

const onError = (err: unknown): void =>
  log({ level: 'error', msg: err instanceof Error ? err.message : String(err), code: (err as { code?: unknown })?.code });

const route = createRouter({ store, faults: config.faults, rev: readRev() }, onError);

const server = createServer((req, res) => {
  const traceId = traceIdOf(req);
  res.setHeader('x-trace-id', traceId);
  res.setHeader('x-content-type-options', 'nosniff');
  logWhenDone(req, res, traceId);
  void route(req, res);
});
server.keepAliveTimeout = 5_000;

const live = attachLive(server, { store, faults: config.faults, onError });

server.listen(config.port, config.host, () => {
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  log({ msg: 'started', schema: config.schema, faults: activeFaults(config.faults) });
  process.stdout.write(`notes-service listening on http://${host}:${port}\n`);
});
server.on('error', (err) => {
  process.stderr.write(`notes-service: cannot listen on ${config.host}:${config.port}: ${err.message}\n`);
  process.exit(1);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log({ msg: 'stopping', signal });
  // Last resort if something refuses to close; still exit 0, as asked.
  setTimeout(() => process.exit(0), 5_000).unref();
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  // In-flight requests (an SSE stream lasts ~60 ms) get a moment, then everything goes.
  const grace = setTimeout(() => server.closeAllConnections(), 1_000);
  await Promise.all([closed, live.close()]);
  clearTimeout(grace);
  await store.close().catch(onError);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
