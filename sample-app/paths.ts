// Where the sample app keeps files outside its temp folders.
//
// This module is bundled into dist/sample-app.js as well as run from source with tsx, so paths
// are never computed from a fixed number of `..` hops: we walk up from this file to the folder
// whose package.json is named `perf-harness` (the repository, or the installed package).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'perf-harness';

/** The perf repository (or installed package) root, or null when it cannot be found. */
export function findRepoRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = path.resolve(from);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown };
        if (pkg.name === PACKAGE_NAME) return dir;
      } catch {
        // An unreadable package.json is not ours; keep walking.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** `<repo>/.perf/cache`, or a folder under the OS temp dir when the repo root is unknown. */
export function cacheDir(): string {
  const root = findRepoRoot();
  return root ? path.join(root, '.perf', 'cache') : path.join(os.tmpdir(), 'perf-cache');
}

/** The version in package.json, reported by GET /health. */
export function appVersion(): string {
  const root = findRepoRoot();
  if (!root) return '0.0.0';
  try {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
