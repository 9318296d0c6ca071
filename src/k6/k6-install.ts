import { execFile, spawn } from 'node:child_process';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../errors.ts';
import { K6_PINNED_TAG, K6_REQUIRED_MAJOR, k6InstallHint, k6Info, toolsBinDir, type K6Binary } from './k6.ts';
import { createProgress, formatMs } from '../cli/progress.ts';

const execFileAsync = promisify(execFile);

/**
 * Installs the stock k6 command into the project-local tools folder with
 * `go install go.k6.io/k6/v2@<tag>` (GOBIN pointing there): k6's own module at its tag, no
 * go.mod of perf's, no code of perf's compiled with it. The last resort of the ways to get
 * k6 (`k6InstallHint`); the binary is written to a temporary folder and renamed, so a
 * half-built k6 is never found, and a k6 already there (e.g. one built with perf's former
 * k6ext/ output) is replaced only by a complete one.
 *
 * `go install m@v` also asks the module proxy for the module's version list, to look for a
 * deprecation notice; a proxy that does not serve lists (this machine's mirror answers 404)
 * makes it fail although the tag itself is served. So the module is fetched first with
 * `go mod download m@v`, which needs only the tag and records it in the module cache, and
 * the cache (a valid GOPROXY layout) is the proxy of last resort for that one question.
 */
export async function installK6(
  goBin: string,
  opts: { env?: NodeJS.ProcessEnv; tag?: string; stream?: NodeJS.WriteStream } = {},
): Promise<K6Binary> {
  const env = opts.env ?? process.env;
  const tag = opts.tag ?? K6_PINNED_TAG;
  const mod = `go.k6.io/k6/v${K6_REQUIRED_MAJOR}@${tag}`;
  const binDir = toolsBinDir(env);
  mkdirSync(binDir, { recursive: true });
  const target = path.join(binDir, 'k6');
  const gobin = path.join(binDir, `.k6-install-${process.pid}`);
  rmSync(gobin, { recursive: true, force: true });

  const progress = createProgress(opts.stream ?? process.stderr);
  const started = Date.now();
  let downloaded = 0;
  let compiled = 0;
  const tail: string[] = [];
  const status = () => `go install ${mod} (takes a few minutes): ${downloaded} modules downloaded, ${compiled} packages compiled, ${formatMs(Date.now() - started)}`;
  progress.update(status());
  const timer = setInterval(() => progress.update(status()), 1000);
  const fail = (what: string, detail: string) =>
    new UserError(`${what} failed:\n${detail}`, `Check that the Go module proxy is reachable (GOPROXY), or get k6 another way:\n${k6InstallHint()}`);

  try {
    let goEnv: { GOPROXY?: string; GOMODCACHE?: string };
    try {
      await execFileAsync(goBin, ['mod', 'download', mod], { env: { ...env, GOWORK: 'off' }, timeout: 600_000, cwd: os.tmpdir() });
      goEnv = JSON.parse((await execFileAsync(goBin, ['env', '-json', 'GOPROXY', 'GOMODCACHE'], { env, cwd: os.tmpdir() })).stdout) as typeof goEnv;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw fail(`go mod download ${mod}`, (err.stderr || err.message).trim());
    }
    const goproxy = goEnv.GOPROXY || 'https://proxy.golang.org,direct';
    const proxy = goEnv.GOMODCACHE ? withCacheProxy(goproxy, `file://${path.join(goEnv.GOMODCACHE, 'cache', 'download')}`) : goproxy;
    const code = await new Promise<number>((resolve, reject) => {
      // `go install m@v` builds k6's module alone, whatever go.mod the working folder is in.
      const child = spawn(goBin, ['install', '-v', '-trimpath', mod], {
        cwd: os.tmpdir(),
        env: { ...env, GOBIN: gobin, GOPROXY: proxy, GOWORK: 'off' },
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
    if (code !== 0) throw fail(`go install ${mod} (exit ${code})`, tail.join('\n'));
    renameSync(path.join(gobin, 'k6'), target);
  } finally {
    clearInterval(timer);
    rmSync(gobin, { recursive: true, force: true });
  }
  const info = await k6Info(target);
  const version = info?.version ?? tag;
  progress.done(`installed k6 ${version} (stock, go install) in ${formatMs(Date.now() - started)} → ${target}`);
  return { path: target, version, source: 'tools', extensions: info?.extensions ?? [] };
}

/**
 * GOPROXY with the module cache as a fallback: after every proxy (`|`: on any error) but
 * before `direct`/`off`, because the go command consults nothing after those.
 * `https://proxy.golang.org,direct` → `https://proxy.golang.org|file:///…/cache/download,direct`.
 */
export function withCacheProxy(goproxy: string, cacheUrl: string): string {
  const tokens = goproxy.match(/[^,|]+|[,|]/g) ?? [];
  const last = tokens.findIndex((t) => t === 'direct' || t === 'off');
  if (last < 0) return tokens.length ? `${tokens.join('').replace(/[,|]$/, '')}|${cacheUrl}` : cacheUrl;
  const before = tokens.slice(0, last).join('').replace(/[,|]$/, '');
  return `${before ? `${before}|` : ''}${cacheUrl},${tokens.slice(last).join('')}`;
}
