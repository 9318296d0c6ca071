import { execFileSync } from 'node:child_process';
import { harnessVersion } from '../paths.ts';
import type { Manifest } from './verdict.ts';

/** The reproducibility manifest: what ran, with which tools, from which commit. */
export function buildManifest(fields: Partial<Manifest> = {}): Manifest {
  return {
    perfVersion: harnessVersion(),
    nodeVersion: process.version,
    ...(gitSha() ? { gitSha: gitSha() } : {}),
    argv: redactArgv(process.argv.slice(2)),
    ...fields,
  };
}

let cachedSha: string | null | undefined;
function gitSha(): string | undefined {
  if (cachedSha === undefined) {
    try {
      cachedSha = execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 })
        .toString()
        .trim();
    } catch {
      cachedSha = null;
    }
  }
  return cachedSha ?? undefined;
}

/** Credentials in URLs given on the command line never reach the verdict. */
export function redactArgv(argv: string[]): string[] {
  return argv.map((a) => a.replace(/\/\/([^/@\s:]+):([^/@\s]+)@/g, '//$1:***@'));
}
