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
 * sample-app, the repo's scenarios, sample-app's flows and browser flows, by absolute path) plus `overrides`, object-literal fields as source text:
 * `"sampleApp: { faults: { errorRate: 0.2 } }"`.
 */
export function configProject(overrides = '', prefix = 'perf-project-'): string {
  const dir = tempDir(prefix);
  const base = readFileSync(path.join(REPO, 'perf.config.ts'), 'utf8');
  writeFileSync(path.join(dir, 'base.config.ts'), base);
  writeFileSync(
    path.join(dir, 'perf.config.ts'),
    `import base from './base.config.ts';\nimport { defineConfig } from 'perf-harness';\nexport default defineConfig({ ...base, load: { ...base.load, scenariosDir: ${JSON.stringify(path.join(REPO, 'scenarios'))} }, flows: { ...base.flows, dir: ${JSON.stringify(path.join(REPO, 'sample-app/perf/flows'))} }, browserFlows: { ...base.browserFlows, dir: ${JSON.stringify(path.join(REPO, 'sample-app/perf/frontend'))} }, ${overrides} });\n`,
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
 * Every row of a k6 CSV sample file (plain text), read independently of the analysis with a
 * character-by-character RFC 4180 reader: the oracle tests check the analysis against.
 * `tags` holds the tag columns by name, `extra_tags` and `metadata` as k6 wrote them.
 */
export function readK6CsvSamples(text: string): { metric: string; timestamp: string; value: number; tags: Record<string, string> }[] {
  const records: string[][] = [];
  let field = '';
  let fields: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') fields.push(field), (field = '');
    else if (c === '\n') fields.push(field), records.push(fields), (fields = []), (field = '');
    else field += c;
  }
  const [header, ...rows] = records;
  return rows.map((r) => ({
    metric: r[0]!,
    timestamp: r[1]!,
    value: Number(r[2]),
    tags: Object.fromEntries(header!.slice(3).map((name, i) => [name, r[i + 3]!]).filter(([, v]) => v !== '')),
  }));
}

/** The real k6 behind a shell wrapper in `dir`: `shell` runs first, then k6 with the same arguments. */
export async function wrapRealK6(dir: string, shell: string): Promise<string> {
  const real = (await runCli(['k6', 'path'])).stdout.split('\t')[0]!;
  const wrapper = path.join(dir, 'k6');
  writeFileSync(wrapper, `#!/bin/sh\n${shell.replaceAll('$K6', `"${real}"`)}\nexec "${real}" "$@"\n`);
  chmodSync(wrapper, 0o755);
  return wrapper;
}

/**
 * The real k6 behind a wrapper whose `k6 version` lists perf's former sample output (k6ext/)
 * as an extension, as the k6 perf used to build into .tools/bin did. Everything else is the
 * real (stock) k6.
 */
export function k6WithOldPerfOutput(dir = tempDir('perf-old-k6-')): Promise<string> {
  return wrapRealK6(dir, `if [ "$1" = version ]; then $K6 version; printf 'Extensions:\\n  main.newPerfOutput , perf [output]\\n'; exit 0; fi`);
}
