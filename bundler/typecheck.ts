import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../src/errors.ts';
import { HARNESS_ROOT } from '../src/paths.ts';

export interface TypeDiagnostic {
  file: string;
  line: number;
  col: number;
  code: string;
  message: string;
}

/** tsc's `--pretty false` line: `path(line,col): error TS1234: message`. */
const DIAGNOSTIC = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/;

export function parseTscOutput(output: string, cwd: string): TypeDiagnostic[] {
  const diags: TypeDiagnostic[] = [];
  for (const line of output.split('\n')) {
    const m = DIAGNOSTIC.exec(line.trim());
    if (!m) {
      // Continuation lines (elaborations) belong to the previous diagnostic.
      const prev = diags[diags.length - 1];
      if (prev && line.startsWith('  ')) prev.message += `\n    ${line.trim()}`;
      continue;
    }
    diags.push({
      file: path.relative(cwd, path.resolve(cwd, m[1]!)) || m[1]!,
      line: Number(m[2]),
      col: Number(m[3]),
      code: m[4]!,
      message: m[5]!,
    });
  }
  return diags;
}

export function formatDiagnostic(d: TypeDiagnostic): string {
  return `${d.file}:${d.line}:${d.col} - error ${d.code}: ${d.message}`;
}

export interface TypecheckOptions {
  /** The tsconfig's file name under the work folder (e.g. `tsconfig.scenarios.json`). */
  tsconfigName: string;
  /** Added to the shared compiler options (strict, noEmit, ESNext modules resolved as a bundler
   *  does, `.ts` imports, skipLibCheck, perf's own @types): `target`, `types`, `paths`, ... */
  compilerOptions: Record<string, unknown>;
  /** What the files are, in messages ("scenarios", "flow files"). */
  what: string;
  /** The UserError's hint (what was not done because of the errors). */
  hint: string;
  /** Diagnostics in files it says yes to (absolute paths) are not the user's business: left out. */
  ignore?: (absFile: string) => boolean;
}

/**
 * Type-checks `files` with perf's own TypeScript (the native `tsc`, ~0.2 s), through a tsconfig
 * written to `workDir`. Throws a `UserError` listing every diagnostic (not ignored) as
 * file:line:col, relative to `cwd`; an Error with tsc's output when tsc failed without one.
 */
export async function typecheckFiles(files: string[], workDir: string, cwd: string, o: TypecheckOptions): Promise<void> {
  if (files.length === 0) return;
  mkdirSync(workDir, { recursive: true });
  const tsconfig = path.join(workDir, o.tsconfigName);
  writeFileSync(
    tsconfig,
    JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'ESNext',
          moduleResolution: 'Bundler',
          allowImportingTsExtensions: true,
          skipLibCheck: true,
          typeRoots: [path.join(HARNESS_ROOT, 'node_modules', '@types')],
          ...o.compilerOptions,
        },
        files: files.map((f) => path.resolve(f)),
      },
      null,
      2,
    ),
  );
  const tsc = path.join(HARNESS_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', tsconfig, '--pretty', 'false'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c ?? 1, output }));
  });
  if (code === 0) return;
  const all = parseTscOutput(output, cwd);
  if (all.length === 0) {
    throw new Error(`type-checking ${o.what} failed (tsc exit ${code}):\n${output}`);
  }
  const ignore = o.ignore;
  const diags = ignore ? all.filter((d) => !ignore(path.resolve(cwd, d.file))) : all;
  if (diags.length === 0) return;
  throw new UserError(`${diags.length} type error${diags.length === 1 ? '' : 's'} in ${o.what}:\n${diags.map(formatDiagnostic).join('\n')}`, o.hint);
}

/** Type-checks k6 scenarios against @types/k6 (see `typecheckFiles`). */
export async function typecheckScenarios(files: string[], workDir: string, cwd: string): Promise<void> {
  await typecheckFiles(files, workDir, cwd, {
    tsconfigName: 'tsconfig.scenarios.json',
    compilerOptions: {
      target: 'ES2020',
      types: ['k6'],
      // `perf-harness/k6`, as the bundler resolves it (bundler/bundle.ts).
      paths: { 'perf-harness/k6': [path.join(HARNESS_ROOT, 'scenarios', 'lib', 'index.ts')] },
    },
    what: 'scenarios',
    hint: 'Fix the errors above; k6 was not started.',
  });
}
