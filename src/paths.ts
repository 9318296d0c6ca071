import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The harness's own install folder (where package.json names `perf-harness`). Computed
 * by walking up from this module so it holds both for the TypeScript sources and for
 * the esbuild bundle in dist/.
 */
export const HARNESS_ROOT: string = findHarnessRoot(path.dirname(fileURLToPath(import.meta.url)));

function findHarnessRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'perf-harness') return dir;
      } catch {
        // unreadable package.json: keep walking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`perf: cannot find the harness root above ${start}`);
    dir = parent;
  }
}

export function harnessVersion(): string {
  return JSON.parse(readFileSync(path.join(HARNESS_ROOT, 'package.json'), 'utf8')).version as string;
}

/** Project-local tools (a k6 built by perf lives in `<root>/.tools/bin/k6`). */
export const TOOLS_BIN = path.join(HARNESS_ROOT, '.tools', 'bin');

/** Everything a run writes lives under the project's `.perf/` folder. */
export function perfDir(projectDir: string): string {
  return path.join(projectDir, '.perf');
}
export function buildDir(projectDir: string): string {
  return path.join(perfDir(projectDir), 'build');
}
export function runsDir(projectDir: string): string {
  return path.join(perfDir(projectDir), 'runs');
}
