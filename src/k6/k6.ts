import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../errors.ts';
import { TOOLS_BIN } from '../paths.ts';

const execFileAsync = promisify(execFile);

/**
 * perf runs k6 as a separate program: a stock k6 v2.x, never linked with or built from any
 * code of perf's (k6 is AGPL-3.0; see README, "k6: licence and where perf gets it").
 *
 * The k6 tag `perf k6 install` fetches when no k6 is found. v2.2.0 is the newest v2 tag
 * whose module source the Go module proxy serves here (v2.3.0 answers 403 for its zip).
 */
export const K6_PINNED_TAG = 'v2.2.0';
export const K6_REQUIRED_MAJOR = 2;

export interface K6Binary {
  path: string;
  /** Exact version as k6 reports it, e.g. "v2.2.0". Recorded in every verdict. */
  version: string;
  source: 'K6_BIN' | 'PATH' | 'tools';
  /** The extensions `k6 version` lists ("Extensions:" lines); none for a stock k6. */
  extensions: string[];
}

/** Why perf's tools folder k6 is not used when it was built with extensions (perf's former k6ext/ output). */
export const K6_TOOLS_NOT_STOCK = "built with extensions (perf's former sample output, k6ext/): perf uses a stock k6 only; `perf k6 install` replaces it with one";

export interface LocateOptions {
  env?: NodeJS.ProcessEnv;
}

/** Where perf keeps the k6 it installs. `PERF_TOOLS_DIR` overrides (tests use an empty one). */
export function toolsBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PERF_TOOLS_DIR ? path.join(env.PERF_TOOLS_DIR, 'bin') : TOOLS_BIN;
}

export function k6InstallHint(): string {
  return [
    'Get a stock k6 v2 in one of these ways (perf finds it by K6_BIN, then k6 on PATH, then .tools/bin/k6):',
    '  1. a package manager: https://grafana.com/docs/k6/latest/set-up/install-k6/ (apt, dnf, brew, winget, choco)',
    "  2. Grafana's release binaries: https://github.com/grafana/k6/releases (a v2.x archive; put k6 on PATH or set K6_BIN)",
    '  3. the Docker image grafana/k6 (set K6_BIN to a wrapper script that runs it; docker-compose.perf.yml does)',
    `  4. last resort, with Go (https://go.dev/dl/): \`perf k6 install\` runs \`go install go.k6.io/k6/v${K6_REQUIRED_MAJOR}@${K6_PINNED_TAG}\` into .tools/bin`,
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
 * `k6 version` → its version ("v2.2.0") and the extensions compiled in, one per indented
 * line under "Extensions:" (e.g. `main.newPerfOutput , perf [output]`, perf's former
 * output); undefined when the binary does not run or prints no version.
 */
export async function k6Info(bin: string): Promise<{ version: string; extensions: string[] } | undefined> {
  try {
    const { stdout } = await execFileAsync(bin, ['version'], { timeout: 15_000 });
    const version = /k6 (v\d+\.\d+\.\d+[^\s]*)/.exec(stdout)?.[1];
    if (!version) return undefined;
    const after = stdout.split(/^Extensions:\s*$/m)[1] ?? '';
    const extensions = after.split('\n').filter((l) => /^\s+\S/.test(l)).map((l) => l.trim());
    return { version, extensions };
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
 * Finds k6 in the documented order: `K6_BIN`, `PATH`, the project-local `.tools/bin/k6`
 * (`perf k6 install`, the last resort). Returns the first candidate that runs and is v2.x,
 * and the rejected ones with reasons. A k6 the user provides is used with whatever
 * extensions it has; the tools folder's must be stock (a k6 built there with perf's former
 * k6ext/ output is rejected, and `perf k6 install` replaces it).
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
  const onPath = whichSync('k6', env);
  if (onPath) candidates.push({ path: onPath, source: 'PATH' });
  const local = path.join(toolsBinDir(env), 'k6');
  if (isExecutable(local)) candidates.push({ path: local, source: 'tools' });

  for (const c of candidates) {
    const info = await k6Info(c.path);
    if (!info) {
      rejected.push(`${c.path} (${c.source}): does not run or prints no version`);
    } else if (!isSupportedK6(info.version)) {
      rejected.push(`${c.path} (${c.source}): ${info.version}, perf needs k6 v${K6_REQUIRED_MAJOR}.x`);
    } else if (c.source === 'tools' && info.extensions.length) {
      rejected.push(`${c.path} (${c.source}): ${K6_TOOLS_NOT_STOCK}`);
    } else {
      return { found: { path: c.path, source: c.source, ...info }, rejected };
    }
  }
  return { rejected };
}

/**
 * A usable k6 or a `UserError` naming the ways to get one. When `install` is allowed and Go
 * is on PATH, installs the pinned stock k6 into the tools folder first (see k6-install.ts).
 */
export async function requireK6(
  opts: LocateOptions & { install?: (goBin: string) => Promise<K6Binary> } = {},
): Promise<K6Binary> {
  const env = opts.env ?? process.env;
  const { found, rejected } = await locateK6({ env });
  if (found) return found;
  const go = whichSync('go', env);
  if (go && opts.install) return opts.install(go);
  const why = rejected.length ? `\nRejected: ${rejected.join('; ')}` : '';
  throw new UserError(
    `k6 v${K6_REQUIRED_MAJOR}.x not found (looked at K6_BIN, PATH, ${path.join(toolsBinDir(env), 'k6')})${go ? '' : ' and Go is not on PATH to install it'}.${why}`,
    k6InstallHint(),
  );
}
