/**
 * The user's flow files (flows/, frontend/) → type-checked, bundled ES modules perf can import.
 *
 * Contract:
 * - `findUserFiles(dir)`: every `**\/*.ts` under `dir` (not `.d.ts`, not in `node_modules` or
 *   dot-folders), sorted, absolute;
 * - `typecheckUserFiles`: tsc (strict) with `perf-harness` mapped to perf's src/index.ts, types
 *   node (Playwright's come with its imports); a diagnostic in a user file is a `UserError`
 *   listing each as `file:line:col` (the CLI exits 2). perf's own files are not the user's
 *   business: diagnostics there are left out;
 * - `bundleUserFiles`: esbuild, one ES module per file under `outDir` (same relative layout),
 *   inline source maps (Node maps stacks back to the user's TypeScript), `perf-harness` aliased
 *   to perf's own checkout (HARNESS_ROOT), everything bundled except Node's built-ins and
 *   `playwright-core`, `pg`, `ws`, which are left as imports of perf's own installed copies
 *   (absolute paths), so a project outside perf's checkout needs no node_modules of its own.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../src/errors.ts';
import { HARNESS_ROOT } from '../src/paths.ts';
import { NODE_BUNDLE_OPTIONS, esbuildErrorLines } from './load-module.ts';
import { typecheckFiles } from './typecheck.ts';

/** Left as imports of perf's own copies (native parts, or one copy shared with the runtime). */
export const RUNTIME_EXTERNALS = ['playwright-core', 'pg', 'ws'];

export function findUserFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(path.resolve(dir));
  return out.sort();
}

export async function typecheckUserFiles(files: string[], workDir: string, cwd: string, what: string): Promise<void> {
  const ownDir = path.join(HARNESS_ROOT, 'src') + path.sep;
  await typecheckFiles(files, workDir, cwd, {
    tsconfigName: 'tsconfig.flows.json',
    compilerOptions: {
      target: 'ES2022',
      esModuleInterop: true,
      types: ['node'],
      paths: { 'perf-harness': [path.join(HARNESS_ROOT, 'src', 'index.ts')], 'playwright-core': [path.join(HARNESS_ROOT, 'node_modules', 'playwright-core')] },
    },
    what,
    hint: 'Fix the errors above; no phase was run.',
    ignore: (abs) => abs.startsWith(ownDir) || abs.includes(`${path.sep}node_modules${path.sep}`),
  });
}

export interface BundledUserFile {
  /** The user's TypeScript file (absolute). */
  source: string;
  /** The ES module to import (absolute). */
  module: string;
}

export async function bundleUserFiles(files: string[], outDir: string, baseDir: string, cwd: string): Promise<BundledUserFile[]> {
  if (files.length === 0) return [];
  const { build } = await import('esbuild');
  mkdirSync(outDir, { recursive: true });
  const requireFromHarness = createRequire(path.join(HARNESS_ROOT, 'package.json'));
  const externals = new RegExp(`^(${RUNTIME_EXTERNALS.map((n) => n.replace(/[-/]/g, '\\$&')).join('|')})(/.*)?$`);
  try {
    await build({
      ...NODE_BUNDLE_OPTIONS,
      entryPoints: files,
      outdir: outDir,
      outbase: baseDir,
      outExtension: { '.js': '.mjs' },
      sourcemap: 'inline',
      sourcesContent: true,
      plugins: [
        {
          name: 'perf-runtime-externals',
          setup(b) {
            b.onResolve({ filter: externals }, (args) => {
              try {
                // perf's installed copy, as Node's ESM resolution (import conditions) finds it from here.
                return { path: import.meta.resolve(args.path), external: true };
              } catch {
                try {
                  return { path: pathToFileURL(requireFromHarness.resolve(args.path)).href, external: true };
                } catch {
                  return { path: args.path, external: true };
                }
              }
            });
          },
        },
      ],
    });
  } catch (e) {
    const lines = esbuildErrorLines(e, cwd);
    if (!lines) throw e;
    throw new UserError(`cannot bundle the flow files:\n${lines.join('\n')}`);
  }
  return files.map((source) => {
    const rel = path.relative(baseDir, source).replace(/\.ts$/, '.mjs');
    const module = path.join(outDir, rel);
    if (!existsSync(module)) throw new Error(`esbuild wrote no ${module} for ${source}`);
    return { source, module };
  });
}
