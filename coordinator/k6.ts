import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { UserError } from './errors.ts';
import { TOOLS_BIN } from './paths.ts';

const execFileAsync = promisify(execFile);

/**
 * The k6 tag perf builds when no suitable k6 is found. v2.2.0 is the newest v2 tag whose
 * module source the Go module proxy serves here (v2.3.0 answers 403 for its zip).
 */
export const K6_PINNED_TAG = 'v2.2.0';
export const K6_REQUIRED_MAJOR = 2;

export interface K6Binary {
  path: string;
  /** Exact version as k6 reports it, e.g. "v2.2.0". Recorded in every verdict. */
  version: string;
  source: 'K6_BIN' | 'tools' | 'PATH';
  /** Built with perf's sample output (k6ext/), which costs k6 less than its CSV output. */
  perfOutput: boolean;
}

/** Said wherever a k6 without perf's output is used (`perf k6 install`, `perf doctor`). */
export const K6_NO_PERF_OUTPUT =
  "This k6 lacks perf's sample output (k6ext/), so raw samples go through k6's CSV output, which costs k6 ~13 % more CPU per request at saturation. `perf k6 install --force` builds one with it into .tools/bin, which perf then prefers.";

export interface LocateOptions {
  env?: NodeJS.ProcessEnv;
}

/** Where perf keeps the k6 it builds. `PERF_TOOLS_DIR` overrides (tests use an empty one). */
export function toolsBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PERF_TOOLS_DIR ? path.join(env.PERF_TOOLS_DIR, 'bin') : TOOLS_BIN;
}

export function k6InstallHint(): string {
  return [
    'Install k6 v2 in one of three ways:',
    '  1. a package manager: https://grafana.com/docs/k6/latest/set-up/install-k6/ (apt, brew, winget, ...)',
    '  2. the Docker image grafana/k6 (set K6_BIN to a wrapper script that runs it)',
    `  3. Go: install Go (https://go.dev/dl/) and run \`perf k6 install\` (builds go.k6.io/k6/v2@${K6_PINNED_TAG} into .tools/bin)`,
    'or point K6_BIN at an existing k6 v2 binary.',
  ].join('\n');
}

/** Finds an executable on the PATH of `env` (not of this process: tests pass an empty one). */
export function whichSync(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `k6 version` → its version ("v2.2.0") and whether perf's output is compiled in (listed
 * under "Extensions:" as `perf [output]`); undefined when the binary does not run or
 * prints no version.
 */
export async function k6Info(bin: string): Promise<{ version: string; perfOutput: boolean } | undefined> {
  try {
    const { stdout } = await execFileAsync(bin, ['version'], { timeout: 15_000 });
    const version = /k6 (v\d+\.\d+\.\d+[^\s]*)/.exec(stdout)?.[1];
    return version ? { version, perfOutput: /[\s,]perf \[output\]/.test(stdout) } : undefined;
  } catch {
    return undefined;
  }
}

export function isSupportedK6(version: string): boolean {
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  return major === K6_REQUIRED_MAJOR;
}

interface Candidate {
  path: string;
  source: K6Binary['source'];
}

/**
 * Finds k6 in the documented order: `K6_BIN`, the project-local `.tools/bin/k6`, `PATH`.
 * Returns the first candidate that runs and is v2.x, and the rejected ones with reasons.
 */
export async function locateK6(
  opts: LocateOptions = {},
): Promise<{ found?: K6Binary; rejected: string[] }> {
  const env = opts.env ?? process.env;
  const candidates: Candidate[] = [];
  const rejected: string[] = [];
  if (env.K6_BIN) {
    if (!existsSync(env.K6_BIN)) rejected.push(`K6_BIN=${env.K6_BIN}: no such file`);
    else candidates.push({ path: env.K6_BIN, source: 'K6_BIN' });
  }
  const local = path.join(toolsBinDir(env), 'k6');
  if (isExecutable(local)) candidates.push({ path: local, source: 'tools' });
  const onPath = whichSync('k6', env);
  if (onPath) candidates.push({ path: onPath, source: 'PATH' });

  for (const c of candidates) {
    const info = await k6Info(c.path);
    if (!info) {
      rejected.push(`${c.path} (${c.source}): does not run or prints no version`);
    } else if (!isSupportedK6(info.version)) {
      rejected.push(`${c.path} (${c.source}): ${info.version}, perf needs k6 v${K6_REQUIRED_MAJOR}.x`);
    } else {
      return { found: { path: c.path, source: c.source, ...info }, rejected };
    }
  }
  return { rejected };
}

/**
 * A usable k6 or a `UserError` naming the ways to get one. When `build` is allowed and Go
 * is on PATH, builds the pinned tag first (see k6-install.ts).
 */
export async function requireK6(
  opts: LocateOptions & { build?: (goBin: string) => Promise<K6Binary> } = {},
): Promise<K6Binary> {
  const env = opts.env ?? process.env;
  const { found, rejected } = await locateK6({ env });
  if (found) return found;
  const go = whichSync('go', env);
  if (go && opts.build) return opts.build(go);
  const why = rejected.length ? `\nRejected: ${rejected.join('; ')}` : '';
  throw new UserError(
    `k6 v${K6_REQUIRED_MAJOR}.x not found (looked at K6_BIN, ${path.join(toolsBinDir(env), 'k6')}, PATH) and Go is not on PATH to build it.${why}`,
    k6InstallHint(),
  );
}
