import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from './errors.ts';
import { K6_PINNED_TAG, k6Info, toolsBinDir, type K6Binary } from './k6.ts';
import { HARNESS_ROOT } from './paths.ts';
import { createProgress, formatMs } from './progress.ts';

/**
 * Builds k6 from its Go module into the project-local tools folder.
 *
 * Not `go install go.k6.io/k6/v2@tag`: that form also asks the proxy for the module's
 * version list (to look for deprecations), which this proxy answers 404, and the build
 * fails. A throw-away module that requires the exact tag needs only that tag's files.
 * The binary is written to a temp name and renamed, so a half-built k6 is never found.
 *
 * The module's main package is `k6ext/`: k6's own command with perf's sample output
 * compiled in (k6ext/perf_output.go), as xk6 would assemble it, without needing xk6.
 */
export async function buildK6(
  goBin: string,
  opts: { env?: NodeJS.ProcessEnv; tag?: string; stream?: NodeJS.WriteStream } = {},
): Promise<K6Binary> {
  const env = opts.env ?? process.env;
  const tag = opts.tag ?? K6_PINNED_TAG;
  const binDir = toolsBinDir(env);
  mkdirSync(binDir, { recursive: true });
  const target = path.join(binDir, 'k6');
  const tmpOut = `${target}.building-${process.pid}`;
  const modDir = mkdtempSync(path.join(os.tmpdir(), 'perf-k6-build-'));
  writeFileSync(
    path.join(modDir, 'go.mod'),
    `module perf.local/k6build\n\ngo 1.22\n\nrequire go.k6.io/k6/v2 ${tag}\n`,
  );
  const extDir = path.join(HARNESS_ROOT, 'k6ext');
  for (const f of readdirSync(extDir).filter((f) => f.endsWith('.go') && !f.endsWith('_test.go'))) copyFileSync(path.join(extDir, f), path.join(modDir, f));

  const progress = createProgress(opts.stream ?? process.stderr);
  const started = Date.now();
  let downloaded = 0;
  let compiled = 0;
  const tail: string[] = [];
  const status = () =>
    `building k6 ${tag} with Go (takes a few minutes): ${downloaded} modules downloaded, ${compiled} packages compiled, ${formatMs(Date.now() - started)}`;
  progress.update(status());
  const timer = setInterval(() => progress.update(status()), 1000);

  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(goBin, ['build', '-v', '-trimpath', '-o', tmpOut, '.'], {
        cwd: modDir,
        env: { ...env, GOFLAGS: `${env.GOFLAGS ?? ''} -mod=mod -buildvcs=false`.trim() },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let buf = '';
      child.stderr.on('data', (chunk: Buffer) => {
        buf += chunk.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.startsWith('go: downloading')) downloaded++;
          else compiled++;
          tail.push(line);
          if (tail.length > 20) tail.shift();
        }
      });
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 1));
    });
    if (code !== 0) {
      throw new UserError(
        `building k6 ${tag} with Go failed (exit ${code}):\n${tail.join('\n')}`,
        'Check that the Go module proxy is reachable (GOPROXY), or install k6 another way (see `perf doctor`).',
      );
    }
    renameSync(tmpOut, target);
  } finally {
    clearInterval(timer);
    rmSync(modDir, { recursive: true, force: true });
    rmSync(tmpOut, { force: true });
  }
  const info = await k6Info(target);
  const version = info?.version ?? tag;
  progress.done(`built k6 ${version} in ${formatMs(Date.now() - started)} → ${target}`);
  return { path: target, version, source: 'tools', perfOutput: info?.perfOutput ?? false };
}
