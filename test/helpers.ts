import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const PERF_BIN = path.join(REPO, 'bin', 'perf.js');
export const FIXTURE_SCENARIOS = path.join(REPO, 'test', 'fixtures', 'scenarios');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Black-box CLI runner: the real `bin/perf.js` in a child process (as a user runs it).
 * `env` replaces keys of this process's environment; a key set to undefined is removed.
 */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PERF_BIN, ...args], { cwd: opts.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A real HTTP server on a free loopback port answering `GET /hello` with `{"message":"hello"}`. */
export async function startHelloServer(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === '/hello' ? { message: 'hello' } : { error: 'not found' }));
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => count,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Whether a process still runs. A zombie counts as gone: it has exited, and a detached
 * child re-parented to an init that does not reap (as in this sandbox) stays a zombie.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function tempDir(prefix = 'perf-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * A project folder whose perf.config.ts is the repo's default config (the bundled
 * sample-app, the repo's scenarios) plus `overrides`, object-literal fields as source text:
 * `"sampleApp: { faults: { errorRate: 0.2 } }"`.
 */
export function configProject(overrides = '', prefix = 'perf-project-'): string {
  const dir = tempDir(prefix);
  const base = readFileSync(path.join(REPO, 'perf.config.ts'), 'utf8').replace(/from '\.\/coordinator\/define-config\.ts'/, "from 'perf-harness'");
  writeFileSync(path.join(dir, 'base.config.ts'), base);
  writeFileSync(
    path.join(dir, 'perf.config.ts'),
    `import base from './base.config.ts';\nimport { defineConfig } from 'perf-harness';\nexport default defineConfig({ ...base, load: { ...base.load, scenariosDir: ${JSON.stringify(path.join(REPO, 'scenarios'))} }, ${overrides} });\n`,
  );
  return dir;
}

/** The run folder of a run, found from the verdict path the console reporter prints. */
export function runDirFromOutput(cwd: string, output: string): string {
  const m = /(\S*\.perf\/runs\/[^/\s]+)\/verdict\.json/.exec(output);
  if (!m) throw new Error(`no verdict path in output:\n${output}`);
  return path.resolve(cwd, m[1]!);
}

/** The verdict a run wrote. */
export function readVerdictFromOutput(cwd: string, output: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(runDirFromOutput(cwd, output), 'verdict.json'), 'utf8')) as Record<string, any>;
}

/**
 * Every sample of a perf k6 sample file (analysis/k6-bin.ts has the format), decoded
 * independently of the analysis: the oracle tests check the analysis against.
 */
export function readK6BinSamples(bytes: Buffer): { metric: string; tags: Record<string, string>; seconds: number; nanos: number; value: number }[] {
  const metrics = new Map<number, string>();
  const tagSets = new Map<number, Record<string, string>>();
  const out: ReturnType<typeof readK6BinSamples> = [];
  let at = 'PERFK6S1\n'.length;
  while (at < bytes.length) {
    const kind = String.fromCharCode(bytes[at]!);
    if (kind === 'M') {
      const len = bytes.readUInt16LE(at + 4);
      metrics.set(bytes.readUInt16LE(at + 1), bytes.toString('utf8', at + 6, at + 6 + len));
      at += 6 + len;
    } else if (kind === 'T') {
      const len = bytes.readUInt32LE(at + 5);
      const parts = bytes.toString('utf8', at + 9, at + 9 + len).split('\0');
      tagSets.set(bytes.readUInt32LE(at + 1), Object.fromEntries(Array.from({ length: Math.floor(parts.length / 2) }, (_, i) => [parts[2 * i]!, parts[2 * i + 1]!])));
      at += 9 + len;
    } else if (kind === 'S' && at + 23 <= bytes.length) {
      out.push({ metric: metrics.get(bytes.readUInt16LE(at + 1))!, tags: tagSets.get(bytes.readUInt32LE(at + 3))!, seconds: bytes.readUInt32LE(at + 7), nanos: bytes.readUInt32LE(at + 11), value: bytes.readDoubleLE(at + 15) });
      at += 23;
    } else break;
  }
  return out;
}

/**
 * Records of a perf k6 sample file, encoded by hand (analysis/k6-bin.ts has the format): for
 * tests and benches that need a file no k6 wrote.
 */
export const k6BinRecords = {
  header: (): Buffer => Buffer.from('PERFK6S1\n'),
  /** `type`: 0 counter, 1 gauge, 2 rate, 3 trend. */
  metric(id: number, type: 0 | 1 | 2 | 3, name: string): Buffer {
    const head = Buffer.alloc(6);
    head.write('M');
    head.writeUInt16LE(id, 1);
    head[3] = type;
    head.writeUInt16LE(Buffer.byteLength(name), 4);
    return Buffer.concat([head, Buffer.from(name)]);
  },
  tagSet(id: number, tags: Record<string, string>): Buffer {
    const body = Buffer.from(Object.entries(tags).map(([k, v]) => `${k}\0${v}\0`).join(''));
    const head = Buffer.alloc(9);
    head.write('T');
    head.writeUInt32LE(id, 1);
    head.writeUInt32LE(body.length, 5);
    return Buffer.concat([head, body]);
  },
  sample(metric: number, tagSet: number, seconds: number, nanos: number, value: number): Buffer {
    const s = Buffer.alloc(23);
    s.write('S');
    s.writeUInt16LE(metric, 1);
    s.writeUInt32LE(tagSet, 3);
    s.writeUInt32LE(seconds, 7);
    s.writeUInt32LE(nanos, 11);
    s.writeDoubleLE(value, 15);
    return s;
  },
};

/** The real k6 behind a shell wrapper in `dir`: `shell` runs first, then k6 with the same arguments. */
export async function wrapRealK6(dir: string, shell: string): Promise<string> {
  const real = (await runCli(['k6', 'path'])).stdout.split('\t')[0]!;
  const wrapper = path.join(dir, 'k6');
  writeFileSync(wrapper, `#!/bin/sh\n${shell.replaceAll('$K6', `"${real}"`)}\nexec "${real}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/**
 * The real k6 behind a wrapper that leaves perf's output out of `k6 version`: how a k6 built
 * without k6ext/ (a stock k6 on PATH) looks to perf. Everything else is the real k6.
 */
export function k6WithoutPerfOutput(dir = tempDir('perf-stock-k6-')): Promise<string> {
  return wrapRealK6(dir, `if [ "$1" = version ]; then $K6 version | grep -v 'perf \\[output\\]'; exit 0; fi`);
}
