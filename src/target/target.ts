/**
 * Starts and stops the sample app (the default target) as a child process.
 *
 * Contract:
 * - The child is `node dist/sample-app.js` when that bundle exists and is newer than every
 *   `sample-app/**.ts`, else `node --import tsx sample-app/main.ts` (development), run from the
 *   repository root (found by walking up to the package.json named `perf-harness`: this file
 *   also runs bundled inside dist/cli.js, so no fixed `..` count is right in both places).
 * - Ready means the child printed its one JSON line `{"event":"ready",...}` on stdout. A child
 *   that exits first, or stays silent past `readyTimeoutMs`, is an error whose message carries
 *   the tail of its stderr.
 * - The child leads its own process group (it owns the embedded PostgreSQL server, a grandchild).
 *   `stop()` sends SIGTERM to the app (which shuts PostgreSQL down itself), then SIGKILL to the
 *   whole group after `graceMs`; no process of the group outlives stop(). An attached child also
 *   watches its stdin: if perf dies, even by SIGKILL, the pipe closes and the app stops itself;
 *   and perf's own 'exit' kills a still-running group.
 * - `startDetached()` / `stopDetached()` (for `perf target start|stop`): the child outlives perf;
 *   its pid and URLs (passwords redacted) are in `.perf/target.json`, its output in `.perf/target.log`.
 * - The database and Redis URLs reach the child in its environment (DATABASE_URL, REDIS_URL),
 *   never on its command line, which any user of the machine can read.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redactor } from '../redact/redact.ts';
import { delay, groupAlive, procStat, signalGroup, stopProcessGroup } from './process-group.ts';

/** Whether any process of a group still runs (see process-group.ts); long exported from here. */
export { groupAlive };

export interface TargetInfo {
  baseUrl: string;
  wsUrl: string;
  adminUrl: string;
  frontendUrl: string;
  databaseUrl: string;
  redisUrl: string | null;
  storage: 'embedded' | 'external';
  pid: number;
  /** ms from the child's process start to ready, as the child measured it */
  readyMs: number;
}

export interface TargetOptions {
  /** PostgreSQL to use; default: the app starts an embedded server. Passed as DATABASE_URL in the child's environment. */
  databaseUrl?: string;
  /** Redis to use; default: in-process state. Passed as REDIS_URL in the child's environment. */
  redisUrl?: string;
  /** Faults on from the start (sample-app/faults.ts names); the app validates them. */
  faults?: Record<string, unknown>;
  /** Number of seed users (default 20; 0 = none). */
  seedUsers?: number;
  /**
   * perf's data seed (`config.seed`). Accepted so a config can be passed through unchanged;
   * the sample app's seed data is fixed and does not depend on it.
   */
  seed?: number;
  /** API port (default 0 = free). */
  port?: number;
  /** Admin port (default 0 = free). */
  adminPort?: number;
  host?: string;
  logLevel?: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** More command-line flags for sample-app/main.ts (e.g. ['--job-step-ms', '50']). */
  extraArgs?: string[];
  /** Environment of the child (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Default 30 s. */
  readyTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace on stop (default 10 s). */
  graceMs?: number;
  /** Receives the child's stderr as it comes (default: kept for error messages only). */
  onStderr?: (chunk: string) => void;
  /** Aborting before ready kills the child and rejects with an AbortError. */
  signal?: AbortSignal;
  /** Run this script instead of the dist/tsx choice (tests of a fresh bundle). */
  entry?: string;
  /** Repository root (default: found from this file). */
  root?: string;
}

export interface TargetHandle extends TargetInfo {
  /** The command line that was spawned. */
  command: string[];
  /** Last ~16 KB of the child's stderr. */
  stderrTail(): string;
  /** Resolves when the child exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Graceful stop; idempotent; resolves when the whole process group is gone. */
  stop(): Promise<void>;
}

const PACKAGE_NAME = 'perf-harness';
const STDERR_TAIL_BYTES = 16 * 1024;
const DEFAULT_READY_TIMEOUT_MS = 30_000;
const DEFAULT_GRACE_MS = 10_000;

/** The perf repository (or installed package) root: the folder whose package.json is `perf-harness`. */
export function findRepoRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = path.resolve(from);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // not ours
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the ${PACKAGE_NAME} package root above ${from}`);
    dir = parent;
  }
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const parent = (entry as { parentPath?: string; path?: string }).parentPath ?? (entry as { path?: string }).path ?? dir;
    newest = Math.max(newest, statSync(path.join(parent, entry.name)).mtimeMs);
  }
  return newest;
}

export interface TargetCommand {
  command: string;
  args: string[];
  /** true: the dist bundle; false: sources through tsx */
  built: boolean;
  reason: string;
}

/** Which program runs the app: the bundle when it is up to date, else the sources. */
export function resolveTargetCommand(root: string = findRepoRoot()): TargetCommand {
  const bundle = path.join(root, 'dist', 'sample-app.js');
  const sources = path.join(root, 'sample-app');
  const main = path.join(sources, 'main.ts');
  const hasSources = existsSync(main);
  if (existsSync(bundle)) {
    if (!hasSources) return { command: process.execPath, args: [bundle], built: true, reason: 'bundle (no sources)' };
    if (statSync(bundle).mtimeMs > newestMtime(sources)) return { command: process.execPath, args: [bundle], built: true, reason: 'bundle is up to date' };
  }
  if (!hasSources) throw new Error(`neither ${bundle} nor ${main} exists`);
  return {
    command: process.execPath,
    args: ['--import', 'tsx', main],
    built: false,
    reason: existsSync(bundle) ? 'bundle is older than sample-app sources' : 'no bundle (run npm run build)',
  };
}

function appArgs(opts: TargetOptions): string[] {
  const args: string[] = [];
  if (opts.port !== undefined) args.push('--port', String(opts.port));
  if (opts.adminPort !== undefined) args.push('--admin-port', String(opts.adminPort));
  if (opts.host) args.push('--host', opts.host);
  if (opts.faults && Object.keys(opts.faults).length) args.push('--faults', JSON.stringify(opts.faults));
  if (opts.seedUsers !== undefined) args.push('--seed', String(opts.seedUsers));
  if (opts.logLevel) args.push('--log-level', opts.logLevel);
  args.push(...(opts.extraArgs ?? []));
  return args;
}

/**
 * The child's environment: the database and Redis URLs go here, never on its command line,
 * where every user of the machine can read them (`ps`, /proc/<pid>/cmdline) and from where
 * they would be quoted in error messages. sample-app reads DATABASE_URL and REDIS_URL.
 */
function appEnv(opts: TargetOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
  if (opts.databaseUrl) env.DATABASE_URL = opts.databaseUrl;
  if (opts.redisUrl) env.REDIS_URL = opts.redisUrl;
  return env;
}

function commandFor(opts: TargetOptions, root: string): { command: string; args: string[] } {
  if (opts.entry) {
    const entry = path.resolve(opts.entry);
    return { command: process.execPath, args: entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [entry] };
  }
  const resolved = resolveTargetCommand(root);
  return { command: resolved.command, args: resolved.args };
}

function parseReady(line: string): TargetInfo | null {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (value?.event !== 'ready' || typeof value.baseUrl !== 'string') return null;
  return {
    baseUrl: value.baseUrl,
    wsUrl: String(value.wsUrl),
    adminUrl: String(value.adminUrl),
    frontendUrl: String(value.frontendUrl ?? value.baseUrl),
    databaseUrl: String(value.databaseUrl),
    redisUrl: typeof value.redisUrl === 'string' ? value.redisUrl : null,
    storage: value.storage === 'external' ? 'external' : 'embedded',
    pid: Number(value.pid),
    readyMs: Number(value.readyMs),
  };
}

function tailOf(buffer: string): string {
  return buffer.length > STDERR_TAIL_BYTES ? buffer.slice(-STDERR_TAIL_BYTES) : buffer;
}

function abortError(signal: AbortSignal): Error {
  const error = new Error(`sample-app start aborted${signal.reason ? `: ${String(signal.reason)}` : ''}`);
  error.name = 'AbortError';
  return error;
}

/** Starts the app attached to this process; resolves once it is ready. */
export async function startTarget(opts: TargetOptions = {}): Promise<TargetHandle> {
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const root = opts.root ?? findRepoRoot();
  const { command, args } = commandFor(opts, root);
  const fullArgs = [...args, ...appArgs(opts), '--exit-on-stdin-close'];
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;

  const child: ChildProcess = spawn(command, fullArgs, {
    cwd: root,
    env: appEnv(opts),
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // own process group: stop() can reach the embedded PostgreSQL too
  });
  const pgid = child.pid;
  let stderr = '';
  let stdout = '';
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  child.stdin?.on('error', () => undefined); // EPIPE after the child exited
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = tailOf(stderr + chunk);
    opts.onStderr?.(chunk);
  });
  child.stdout?.setEncoding('utf8');

  // Last resort: perf exiting (normally or by an uncaught error) takes the app's group with it.
  const onExit = () => {
    if (pgid && !exitInfo) signalGroup(pgid, 'SIGKILL');
  };
  process.once('exit', onExit);
  void exited.then(() => {
    // The leader is gone; anything left in its group (a PostgreSQL it could not stop) goes too.
    if (pgid && groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
    process.removeListener('exit', onExit);
  });

  const commandLine = [command, ...fullArgs];
  const describe = (what: string) =>
    `sample-app ${what}\n  command: ${commandLine.join(' ')}\n  pid: ${pgid ?? '(none)'}\n  --- stderr (last lines) ---\n${stderr.trim().split('\n').slice(-40).join('\n') || '  (empty)'}`;

  let info: TargetInfo;
  try {
    info = await new Promise<TargetInfo>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(describe(`did not print its ready line within ${readyTimeoutMs} ms`))), readyTimeoutMs);
      const onAbort = () => reject(abortError(opts.signal!));
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      child.stdout?.on('data', (chunk: string) => {
        stdout += chunk;
        let newline: number;
        while ((newline = stdout.indexOf('\n')) !== -1) {
          const line = stdout.slice(0, newline).trim();
          stdout = stdout.slice(newline + 1);
          const ready = parseReady(line);
          if (ready) {
            cleanup();
            resolve(ready);
            return;
          }
        }
      });
      void exited.then(({ code, signal }) => {
        cleanup();
        // Let the last stderr chunk arrive before quoting it.
        setImmediate(() => reject(new Error(describe(`exited before it was ready (code ${code}, signal ${signal})`))));
      });
      void spawnError.then((error) => {
        cleanup();
        reject(new Error(describe(`could not be started: ${error.message}`)));
      });
    });
  } catch (error) {
    if (pgid) await stopProcessGroup(pgid, { graceMs: 2_000, term: 'leader', gone: () => exitInfo !== undefined });
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    ...info,
    pid: pgid ?? info.pid,
    command: commandLine,
    stderrTail: () => stderr,
    exited,
    stop: () =>
      (stopping ??= (async () => {
        if (pgid) await stopProcessGroup(pgid, { graceMs, term: 'leader', gone: () => exitInfo !== undefined });
        child.stdin?.destroy();
        await Promise.race([exited, delay(1_000)]);
      })()),
  };
}

// ---------------------------------------------------------------------------------------------
// Detached: `perf target start|stop`

export interface DetachedOptions extends TargetOptions {
  /** Default `<cwd>/.perf/target.json`. */
  stateFile?: string;
  /** The app's stderr; default `target.log` next to the state file. */
  logFile?: string;
}

export interface TargetState extends TargetInfo {
  /** process group of the app (= its pid) */
  pgid: number;
  startedAt: string;
  logFile: string;
  command: string[];
}

export class TargetAlreadyRunningError extends Error {
  readonly state: TargetState;
  constructor(state: TargetState, stateFile: string) {
    super(`a target is already running (pid ${state.pid}, ${state.baseUrl}; state in ${stateFile}); stop it first with \`perf target stop\``);
    this.name = 'TargetAlreadyRunningError';
    this.state = state;
  }
}

export function defaultStateFile(cwd: string = process.cwd()): string {
  return path.join(cwd, '.perf', 'target.json');
}

export async function readTargetState(stateFile: string = defaultStateFile()): Promise<TargetState | null> {
  try {
    return JSON.parse(await fs.readFile(stateFile, 'utf8')) as TargetState;
  } catch {
    return null;
  }
}

/** Whether the state's process is alive and (where /proc tells) still our sample app. */
function stateIsLive(state: TargetState): boolean {
  if (!Number.isInteger(state.pid) || state.pid <= 0 || !groupAlive(state.pgid ?? state.pid)) return false;
  try {
    const cmdline = readFileSync(`/proc/${state.pid}/cmdline`, 'utf8');
    return cmdline.includes('sample-app');
  } catch {
    return true; // no /proc (macOS): trust the pid
  }
}

/** Starts the app detached (it outlives this process) and records it in the state file. */
export async function startDetached(opts: DetachedOptions = {}): Promise<TargetState & { stateFile: string }> {
  const stateFile = path.resolve(opts.stateFile ?? defaultStateFile());
  const existing = await readTargetState(stateFile);
  if (existing && stateIsLive(existing)) throw new TargetAlreadyRunningError(existing, stateFile);

  const root = opts.root ?? findRepoRoot();
  const { command, args } = commandFor(opts, root);
  const fullArgs = [...args, ...appArgs(opts)];
  const dir = path.dirname(stateFile);
  await fs.mkdir(dir, { recursive: true });
  const logFile = path.resolve(opts.logFile ?? path.join(dir, 'target.log'));
  const readyFile = path.join(dir, `target.stdout`);
  await fs.rm(readyFile, { force: true });
  // Files, not pipes: the app keeps writing after this process is gone.
  const outFd = openSync(readyFile, 'w');
  const errFd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, fullArgs, { cwd: root, env: appEnv(opts), stdio: ['ignore', outFd, errFd], detached: true });
  } finally {
    closeSync(outFd);
    closeSync(errFd);
  }
  const pgid = child.pid;
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.once('exit', (code, signal) => (exitInfo = { code, signal }));
  const spawnFailure = new Promise<Error>((resolve) => child.once('error', resolve));
  let failure: Error | undefined;
  void spawnFailure.then((e) => (failure = e));
  child.unref();

  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const deadline = Date.now() + readyTimeoutMs;
  const logTail = async () => {
    try {
      return (await fs.readFile(logFile, 'utf8')).trim().split('\n').slice(-40).join('\n');
    } catch {
      return '(no log)';
    }
  };
  let info: TargetInfo | null = null;
  while (!info) {
    if (opts.signal?.aborted || failure || exitInfo || Date.now() > deadline) {
      if (pgid) await stopProcessGroup(pgid, { graceMs: 2_000, term: 'leader', gone: () => exitInfo !== undefined || !groupAlive(pgid) });
      const why = opts.signal?.aborted
        ? 'start aborted'
        : failure
          ? `could not be started: ${failure.message}`
          : exitInfo
            ? `exited before it was ready (code ${exitInfo.code}, signal ${exitInfo.signal})`
            : `did not print its ready line within ${readyTimeoutMs} ms`;
      throw new Error(`sample-app ${why}\n  command: ${[command, ...fullArgs].join(' ')}\n  --- ${logFile} (last lines) ---\n${await logTail()}`);
    }
    await delay(50);
    const text = await fs.readFile(readyFile, 'utf8').catch(() => '');
    for (const line of text.split('\n')) info ??= parseReady(line.trim());
  }
  // The state file is readable by anyone who can read the project: no password in it.
  const masked = new Redactor();
  const state: TargetState = {
    ...info,
    databaseUrl: masked.redactString(info.databaseUrl),
    redisUrl: info.redisUrl === null ? null : masked.redactString(info.redisUrl),
    pid: pgid ?? info.pid,
    pgid: pgid ?? info.pid,
    startedAt: new Date().toISOString(),
    logFile,
    command: [command, ...fullArgs],
  };
  await fs.writeFile(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  return { ...state, stateFile };
}

export interface StopDetachedResult {
  stopped: boolean;
  pid?: number;
  /** why nothing was stopped */
  reason?: string;
}

/** Stops the app recorded in the state file (SIGTERM, then SIGKILL to its group) and removes the file. */
export async function stopDetached(opts: { stateFile?: string; graceMs?: number } = {}): Promise<StopDetachedResult> {
  const stateFile = path.resolve(opts.stateFile ?? defaultStateFile());
  const state = await readTargetState(stateFile);
  if (!state) return { stopped: false, reason: `no target state in ${stateFile}` };
  if (!stateIsLive(state)) {
    await fs.rm(stateFile, { force: true });
    return { stopped: false, pid: state.pid, reason: `process ${state.pid} is not running (stale state removed)` };
  }
  const pgid = state.pgid ?? state.pid;
  await stopProcessGroup(pgid, { graceMs: opts.graceMs ?? DEFAULT_GRACE_MS, term: 'leader', gone: () => !pidAlive(state.pid) });
  await fs.rm(stateFile, { force: true });
  return { stopped: true, pid: state.pid };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = procStat(pid);
  return stat ? stat.state !== 'Z' : true;
}
