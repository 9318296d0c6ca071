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

/**
 * Type-checks k6 scenarios against @types/k6 with the project's TypeScript (the native
 * `tsc`, ~0.2 s). Throws a `UserError` listing every diagnostic as file:line:col.
 */
export async function typecheckScenarios(files: string[], workDir: string, cwd: string): Promise<void> {
  if (files.length === 0) return;
  mkdirSync(workDir, { recursive: true });
  const tsconfig = path.join(workDir, 'tsconfig.scenarios.json');
  writeFileSync(
    tsconfig,
    JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'ES2020',
          module: 'ESNext',
          moduleResolution: 'Bundler',
          allowImportingTsExtensions: true,
          skipLibCheck: true,
          types: ['k6'],
          typeRoots: [path.join(HARNESS_ROOT, 'node_modules', '@types')],
          // `perf-harness/k6`, as the bundler resolves it (bundler/bundle.ts).
          paths: { 'perf-harness/k6': [path.join(HARNESS_ROOT, 'scenarios', 'lib', 'index.ts')] },
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
  const diags = parseTscOutput(output, cwd);
  if (diags.length === 0) {
    throw new Error(`type-checking scenarios failed (tsc exit ${code}):\n${output}`);
  }
  throw new UserError(
    `${diags.length} type error${diags.length === 1 ? '' : 's'} in scenarios:\n${diags.map(formatDiagnostic).join('\n')}`,
    'Fix the errors above; k6 was not started.',
  );
}
