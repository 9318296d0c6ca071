/**
 * Bundling a file of the user's project (TypeScript, local imports) for Node, and importing it.
 *
 * Contract:
 * - `NODE_BUNDLE_OPTIONS`: the esbuild options every Node-side bundle of a user's file shares:
 *   one bundled ES module for Node 20, `perf-harness` aliased to perf's own checkout
 *   (HARNESS_ROOT/src/index.ts), esbuild silent (its errors are reported by the caller);
 * - `esbuildErrorLines(e, relativeTo?)`: esbuild's build failure → one `file:line:col - text` line
 *   per error (column 1-based; the file relative to `relativeTo` when given, else as esbuild
 *   names it); `undefined` when `e` is not a build failure (a bug, not the user's mistake);
 * - `bundleAndImport(entry, options)`: bundles `entry` (npm packages left as imports) into a
 *   transient `<outDir>/<stem>.<pid>.<ms>.mjs`, imports it, deletes it, and returns the module.
 *   Rebuilt on every call (esbuild takes milliseconds; a cache keyed on the entry would miss
 *   changes in the files it imports). A file that does not build throws `buildError(lines)`
 *   (default: a `UserError` "cannot load <label>:" with the lines), a module that throws while
 *   loading throws `loadError(message)` (default: a `UserError` "<label> threw while loading: ...");
 *   anything else esbuild throws is passed on as it is.
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildOptions } from 'esbuild';
import { UserError } from '../src/errors.ts';
import { HARNESS_ROOT } from '../src/paths.ts';

export const NODE_BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  alias: { 'perf-harness': path.join(HARNESS_ROOT, 'src', 'index.ts') },
  logLevel: 'silent',
} as const satisfies BuildOptions;

export function esbuildErrorLines(e: unknown, relativeTo?: string): string[] | undefined {
  const errors = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] } | null)?.errors;
  if (!Array.isArray(errors)) return undefined;
  return errors.map((x) => {
    if (!x.location) return x.text;
    const file = relativeTo === undefined ? x.location.file : path.relative(relativeTo, path.resolve(relativeTo, x.location.file));
    return `${file}:${x.location.line}:${x.location.column + 1} - ${x.text}`;
  });
}

export interface BundleAndImportOptions {
  /** Folder of the transient bundle (created when missing). */
  outDir: string;
  /** The bundle's file name stem (e.g. `perf.config`). */
  stem: string;
  /** How the default messages name the file (default: `entry`). */
  label?: string;
  /** Inline source maps, so stacks of the module's code point at the user's TypeScript (default off). */
  sourcemap?: boolean;
  /** The error for a file that does not build, from esbuild's `file:line:col - text` lines. */
  buildError?: (lines: string[]) => Error;
  /** The error for a module that throws while it is imported, from what it threw. */
  loadError?: (message: string) => Error;
}

export async function bundleAndImport<T = Record<string, unknown>>(entry: string, o: BundleAndImportOptions): Promise<T> {
  const { build } = await import('esbuild');
  const label = o.label ?? entry;
  mkdirSync(o.outDir, { recursive: true });
  const out = path.join(o.outDir, `${o.stem}.${process.pid}.${Date.now()}.mjs`);
  try {
    await build({
      ...NODE_BUNDLE_OPTIONS,
      entryPoints: [entry],
      outfile: out,
      packages: 'external',
      ...(o.sourcemap ? { sourcemap: 'inline' as const } : {}),
    });
  } catch (e) {
    const lines = esbuildErrorLines(e);
    if (!lines) throw e;
    throw o.buildError ? o.buildError(lines) : new UserError(`cannot load ${label}:\n${lines.join('\n')}`);
  }
  try {
    return (await import(pathToFileURL(out).href)) as T;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw o.loadError ? o.loadError(message) : new UserError(`${label} threw while loading: ${message}`);
  } finally {
    rmSync(out, { force: true });
  }
}
