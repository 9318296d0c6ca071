/**
 * `target.start`: the user's own services (API, worker, front end), started by perf the way
 * Playwright's `webServer` does (src/config/schema-services.ts is the contract).
 *
 * - Each service is one pipeline fixture, set up in the order of the config (so a worker listed
 *   after the API starts once the API is ready) and torn down in reverse: after the last phase,
 *   on failure, and on Ctrl-C (the pipeline always runs teardowns).
 * - Started as `sh -c <command>` in its own process group (detached), so stop reaches whatever
 *   the command spawned; env = perf's environment + `env`; cwd relative to the project folder.
 * - Ready when `readyUrl` answers (status < 500, or one of `readyStatus` when given), polled every
 *   200 ms, or when a line of its stdout/stderr matches `readyLine`; whichever holds first, within
 *   `timeout`. Exiting before that (or the timeout) fails the setup with the exit code and the last
 *   20 lines of its output; the run then fails (exit 1) and every phase is skipped, saying why.
 * - `reuseExisting`: when `readyUrl` already answers before the start, that process is used and
 *   perf neither starts nor stops it (said on stderr and in the verdict: `reused: true`). Without
 *   it, something already answering there is a configuration problem (it would be tested instead
 *   of the fresh build), and the setup fails saying so.
 * - Output (stdout and stderr, whole lines in the order they come) goes through the redactor to
 *   `<runDir>/services/<name>.log`; values of `env` whose names look secret are registered first.
 * - Stop: SIGTERM to the group, SIGKILL to it after `stopTimeout`, then wait until none of it is
 *   left. perf's own 'exit' (even an uncaught error, or the forced exit after a third Ctrl-C)
 *   SIGKILLs every group still running, as src/target/target.ts does for the sample-app.
 * - A service that exits by itself after it was ready "died mid-run": `deaths()` reports it with
 *   the phase running at that moment and its last lines; the run (src/run/run.ts) fails on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { parseDurationMs } from '../cli/flags.ts';
import type { ServiceConfig } from '../config/schema-services.ts';
import type { Redactor } from '../redact/redact.ts';
import { LineRedactor } from '../redact/redact-stream.ts';
import type { Fixture } from '../run/pipeline.ts';
import type { PhaseResult, ServiceRecord } from '../run/verdict.ts';
import { delay, signalGroup, stopProcessGroup } from './process-group.ts';

const POLL_MS = 200;
const PROBE_TIMEOUT_MS = 1_000;
const QUOTED_LINES = 20;
const KEPT_LINES = 200;

export interface ServicesOptions {
  specs: ServiceConfig[];
  /** Folder `cwd` is relative to (the project folder). */
  projectDir: string;
  runDir: string;
  redactor: Redactor;
  /** perf's environment (default process.env); each service gets it plus its own `env`. */
  env?: NodeJS.ProcessEnv;
  /** One line for the person watching (default: stderr, prefixed `perf: `). */
  say?: (line: string) => void;
}

interface Running {
  spec: ServiceConfig;
  pid?: number;
  reused: boolean;
  readyMs?: number;
  child?: ChildProcess;
  /** Redacted output lines, the last KEPT_LINES. */
  lines: string[];
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: number; byItself: boolean };
  /** Exited by itself after it was ready, before perf asked it to stop. */
  died?: boolean;
  /** Set once perf asks it to stop: an exit after this is not a death. */
  stopping?: Promise<void>;
  stopped?: { signal: 'SIGTERM' | 'SIGKILL'; ms: number };
  ready: boolean;
  log?: WriteStream;
}

/** A service that could not be started, or did not become ready: names it, with its last lines. */
export class ServiceStartError extends Error {
  override readonly name = 'ServiceStartError';
}

export class Services {
  private readonly running: Running[] = [];
  private readonly onExit = () => {
    for (const r of this.running) if (r.pid && !r.reused && !r.exit) signalGroup(r.pid, 'SIGKILL');
  };

  constructor(private readonly opts: ServicesOptions) {
    // Before any output is written: a secret the service prints must already be known.
    for (const spec of opts.specs) opts.redactor.addEnvSecrets(spec.env);
    process.once('exit', this.onExit);
  }

  /** One fixture per service, in the config's order (the pipeline tears them down in reverse). */
  fixtures(): Fixture[] {
    return this.opts.specs.map((spec) => ({
      name: `service ${spec.name}`,
      setup: async (signal: AbortSignal) => {
        const r = await this.start(spec, signal);
        return { teardown: () => this.stop(r) };
      },
    }));
  }

  /** Stops every service still running (reverse order); idempotent. The fixtures' teardowns do it too. */
  async stopAll(): Promise<void> {
    for (const r of [...this.running].reverse()) await this.stop(r);
    process.removeListener('exit', this.onExit);
  }

  /** Services that exited by themselves after they were ready, with the phase running then. */
  deaths(phases: PhaseResult[]): string[] {
    return this.running
      .filter((r) => r.died && r.exit)
      .map((r) => {
        const { code, signal, at } = r.exit!;
        return `service ${r.spec.name} died during ${phaseAt(phases, at)} (${describeExit(code, signal)})\n${quote(r.lines)}`;
      });
  }

  /** The services perf started and that still run (not reused ones: perf does not own those), for `soak.targetMemory`. */
  pids(): { service: string; pid: number }[] {
    return this.running.filter((r) => r.pid && !r.reused && !r.exit).map((r) => ({ service: r.spec.name, pid: r.pid! }));
  }

  /** What the verdict records, one entry per service that was started or reused. */
  records(phases: PhaseResult[]): ServiceRecord[] {
    return this.running.map((r) => ({
      name: r.spec.name,
      ...(r.pid !== undefined ? { pid: r.pid } : {}),
      reused: r.reused,
      ...(r.readyMs !== undefined ? { readyMs: r.readyMs } : {}),
      ...(r.exit?.byItself ? { exit: { code: r.exit.code, signal: r.exit.signal, atPhase: r.died ? phaseAt(phases, r.exit.at) : 'start' } } : {}),
      ...(r.stopped ? { stopped: r.stopped } : {}),
      log: `services/${r.spec.name}.log`,
    }));
  }

  private say(line: string): void {
    (this.opts.say ?? ((l: string) => process.stderr.write(`perf: ${l}\n`)))(this.opts.redactor.redactString(line));
  }

  private async start(spec: ServiceConfig, signal: AbortSignal): Promise<Running> {
    const timeoutMs = parseDurationMs(spec.timeout, `target.start "${spec.name}" timeout`);
    const r: Running = { spec, reused: false, lines: [], ready: false };
    this.running.push(r);

    if (spec.readyUrl && (await answers(spec, signal))) {
      if (spec.reuseExisting) {
        r.reused = true;
        r.ready = true;
        r.readyMs = 0;
        this.say(`service ${spec.name}: ${spec.readyUrl} already answers: reusing it (reuseExisting; perf neither starts nor stops it)`);
        return r;
      }
      throw new ServiceStartError(
        `service ${spec.name}: ${spec.readyUrl} already answers before perf started it: something else runs there and would be tested instead. ` +
          `Stop it, or set reuseExisting: true on target.start "${spec.name}" to use it.`,
      );
    }

    const logDir = path.join(this.opts.runDir, 'services');
    mkdirSync(logDir, { recursive: true });
    const log = createWriteStream(path.join(logDir, `${spec.name}.log`), { flags: 'a' });
    r.log = log;
    const readyLine = spec.readyLine !== undefined ? new RegExp(spec.readyLine) : undefined;
    let lineSeen = false;
    // Per stream (stdout, stderr): whole lines, so the two never cut into each other's lines.
    // Unredacted only to match readyLine; the file and the kept tail are redacted.
    const streamLines = () => {
      let rawRest = '';
      const watch = (chunk: string) => {
        if (!readyLine || lineSeen) return;
        const parts = (rawRest + chunk).split('\n');
        rawRest = parts.pop() ?? '';
        if (parts.some((l) => readyLine.test(l.replace(/\r$/, '')))) lineSeen = true;
      };
      const writer = new LineRedactor(
        (s) => this.opts.redactor.redactString(s),
        (s) => {
          log.write(s);
          for (const l of s.split('\n')) if (l !== '') r.lines.push(l.replace(/\r$/, ''));
          if (r.lines.length > KEPT_LINES) r.lines.splice(0, r.lines.length - KEPT_LINES);
        },
      );
      return { watch, writer };
    };

    const t0 = performance.now();
    const child = spawn('sh', ['-c', spec.command], {
      cwd: path.resolve(this.opts.projectDir, spec.cwd ?? '.'),
      env: { ...(this.opts.env ?? process.env), ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: stop reaches what the command spawned
    });
    r.child = child;
    r.pid = child.pid;
    let spawnError: Error | undefined;
    child.once('error', (e) => (spawnError = e));
    const exited = new Promise<void>((resolve) => {
      child.once('exit', (code, sig) => {
        r.exit = { code, signal: sig, at: Date.now(), byItself: !r.stopping };
        // After ready and before perf asked it to stop: it died mid-run.
        if (r.ready && !r.stopping) r.died = true;
        resolve();
      });
    });
    // Both pipes closed: each last partial line is in the file too.
    let open = 2;
    const drained = new Promise<void>((resolve) => {
      for (const stream of [child.stdout!, child.stderr!]) {
        const { watch, writer } = streamLines();
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          watch(chunk);
          writer.push(chunk);
        });
        stream.once('close', () => {
          writer.end();
          if (--open === 0) resolve();
        });
      }
    });
    void drained.then(() => log.end());

    const deadline = Date.now() + timeoutMs;
    let lastProbe = 0;
    try {
      for (;;) {
        if (signal.aborted) throw new ServiceStartError(`service ${spec.name}: start interrupted`);
        if (spawnError) throw new ServiceStartError(`service ${spec.name} could not be started: ${spawnError.message}`);
        if (r.exit) {
          // Its last words first: the pipes may still hold output.
          await Promise.race([drained, delay(500)]);
          throw new ServiceStartError(`service ${spec.name} exited before it was ready (${describeExit(r.exit.code, r.exit.signal)})\n  command: ${spec.command}\n${quote(r.lines)}`);
        }
        if (lineSeen) break;
        if (Date.now() > deadline) {
          throw new ServiceStartError(
            `service ${spec.name} was not ready within ${spec.timeout} (${[spec.readyUrl && `${spec.readyUrl} did not answer`, spec.readyLine && `no line matched /${spec.readyLine}/`].filter(Boolean).join(', ')})\n  command: ${spec.command}\n${quote(r.lines)}`,
          );
        }
        if (spec.readyUrl && Date.now() - lastProbe >= POLL_MS) {
          lastProbe = Date.now();
          if (await answers(spec, signal)) break;
        }
        await Promise.race([delay(50), exited]);
      }
    } catch (e) {
      await this.stop(r, 2_000);
      throw e;
    }
    r.ready = true;
    r.readyMs = Math.round(performance.now() - t0);
    this.say(`service ${spec.name} ready in ${r.readyMs} ms (pid ${r.pid}; log services/${spec.name}.log)`);
    return r;
  }

  private stop(r: Running, graceMs?: number): Promise<void> {
    if (r.reused || !r.pid) return Promise.resolve();
    return (r.stopping ??= (async () => {
      const pgid = r.pid!;
      const grace = graceMs ?? parseDurationMs(r.spec.stopTimeout, `target.start "${r.spec.name}" stopTimeout`);
      const t0 = performance.now();
      const ended = await stopProcessGroup(pgid, { graceMs: grace, term: 'group' });
      if (ended) {
        r.stopped = { signal: ended, ms: Math.round(performance.now() - t0) };
        if (ended === 'SIGKILL') this.say(`service ${r.spec.name} did not stop within ${r.spec.stopTimeout} of SIGTERM: killed (SIGKILL)`);
      }
      await new Promise<void>((resolve) => {
        if (!r.log || r.log.closed) return resolve();
        r.log.once('close', () => resolve());
        setTimeout(resolve, 1_000).unref();
      });
    })());
  }
}

/** Whether the ready URL answers as ready (status < 500, or one of readyStatus). */
async function answers(spec: ServiceConfig, signal: AbortSignal): Promise<boolean> {
  try {
    const res = await fetch(spec.readyUrl!, { signal: AbortSignal.any([signal, AbortSignal.timeout(PROBE_TIMEOUT_MS)]), redirect: 'manual' });
    await res.body?.cancel();
    return spec.readyStatus ? spec.readyStatus.includes(res.status) : res.status < 500;
  } catch {
    return false;
  }
}

/** The phase that was running at `at` (ms since epoch), from the phases' start and duration. */
function phaseAt(phases: PhaseResult[], at: number): string {
  for (const p of phases) {
    const start = Date.parse(p.startedAt);
    if (p.status !== 'skipped' && at >= start && at <= start + p.durationMs) return p.name;
  }
  const before = phases.filter((p) => p.status !== 'skipped' && Date.parse(p.startedAt) <= at).pop();
  return before ? `after ${before.name}` : 'before the first phase';
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

function quote(lines: string[]): string {
  const last = lines.slice(-QUOTED_LINES);
  return last.length ? `  --- last ${last.length} line(s) of its output ---\n${last.map((l) => `  | ${l}`).join('\n')}` : '  (it printed nothing)';
}
