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
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../src/errors.ts';
import { HARNESS_ROOT } from '../src/paths.ts';
import { formatDiagnostic, parseTscOutput } from './typecheck.ts';

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
  if (files.length === 0) return;
  mkdirSync(workDir, { recursive: true });
  const tsconfig = path.join(workDir, 'tsconfig.flows.json');
  const typeRoots = [path.join(HARNESS_ROOT, 'node_modules', '@types')];
  writeFileSync(
    tsconfig,
    JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2022',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          allowImportingTsExtensions: true,
          esModuleInterop: true,
          skipLibCheck: true,
          types: ['node'],
          typeRoots,
          paths: { 'perf-harness': [path.join(HARNESS_ROOT, 'src', 'index.ts')], 'playwright-core': [path.join(HARNESS_ROOT, 'node_modules', 'playwright-core')] },
        },
        files: files.map((f) => path.resolve(f)),
      },
      null,
      2,
    ),
  );
  const tsc = path.join(HARNESS_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', tsconfig, '--pretty', 'false'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c ?? 1, output }));
  });
  if (code === 0) return;
  const ownDir = path.join(HARNESS_ROOT, 'src') + path.sep;
  const all = parseTscOutput(output, cwd);
  const diags = all.filter((d) => !path.resolve(cwd, d.file).startsWith(ownDir) && !path.resolve(cwd, d.file).includes(`${path.sep}node_modules${path.sep}`));
  if (all.length === 0) throw new Error(`type-checking ${what} failed (tsc exit ${code}):\n${output}`);
  if (diags.length === 0) return;
  throw new UserError(
    `${diags.length} type error${diags.length === 1 ? '' : 's'} in ${what}:\n${diags.map(formatDiagnostic).join('\n')}`,
    'Fix the errors above; no phase was run.',
  );
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
      entryPoints: files,
      outdir: outDir,
      outbase: baseDir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: true,
      alias: { 'perf-harness': path.join(HARNESS_ROOT, 'src', 'index.ts') },
      logLevel: 'silent',
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
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } }[] }).errors;
    if (!errors) throw e;
    throw new UserError(
      `cannot bundle the flow files:\n${errors.map((x) => (x.location ? `${path.relative(cwd, path.resolve(cwd, x.location.file))}:${x.location.line}:${x.location.column + 1} - ${x.text}` : x.text)).join('\n')}`,
    );
  }
  return files.map((source) => {
    const rel = path.relative(baseDir, source).replace(/\.ts$/, '.mjs');
    const module = path.join(outDir, rel);
    if (!existsSync(module)) throw new Error(`esbuild wrote no ${module} for ${source}`);
    return { source, module };
  });
}
