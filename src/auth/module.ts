/**
 * `auth.module`: a file of the user's project that makes test users its own way (an admin API,
 * an invitation, a seeded database row), for services whose sign-up no request template
 * describes. Loaded the way user files are: bundled by esbuild (TypeScript, local imports;
 * `perf-harness` resolves to this harness) into `<project>/.perf/build/`, then imported. Loaded
 * once per process per file version.
 *
 * The module exports:
 *   createUser({ label, identity, api }): Promise<TestUserInit>   (required)
 *   removeUser(user, { api }): Promise<void>                       (optional: the run's cleanup)
 * `identity` is what perf would give the user (e-mail, username, password, name: use them so
 * reruns are deterministic); `api` is an anonymous HTTP client on the target (`api.as(user)`).
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ApiClient, TestUser } from '../api/types.ts';
import type { CheckContext } from '../checks/types.ts';
import { CheckFailure } from '../checks/types.ts';
import { HARNESS_ROOT, buildDir } from '../paths.ts';

/** What createUser() returns: what proves the user, in any combination. */
export interface TestUserInit {
  /** The user's id as the service knows it. */
  id?: string | number;
  /** A bearer token or API key, presented as `auth.credential` says. */
  token?: string;
  /** Headers sent on every request of the user (values are treated as secrets). */
  headers?: Record<string, string>;
  /** Cookies (name → value) for the target's base URL: a cookie session. */
  cookies?: Record<string, string>;
}

export interface AuthModule {
  createUser(args: { label: string; identity: { label: string; email: string; username: string; password: string; name: string }; api: ApiClient }): Promise<TestUserInit | void> | TestUserInit | void;
  removeUser?(user: TestUser, args: { api: ApiClient }): Promise<void> | void;
}

const loaded = new Map<string, Promise<AuthModule>>();

/** The project folder of a run: `<project>/.perf/runs/<id>` → `<project>`; else the working directory. */
export function projectDirOf(ctx: Pick<CheckContext, 'runDir'>): string {
  const parts = path.resolve(ctx.runDir).split(path.sep);
  const n = parts.length;
  if (n >= 3 && parts[n - 3] === '.perf' && parts[n - 2] === 'runs') return parts.slice(0, n - 3).join(path.sep) || path.sep;
  return process.cwd();
}

export async function loadAuthModule(ctx: Pick<CheckContext, 'runDir'>, file: string): Promise<AuthModule> {
  const projectDir = projectDirOf(ctx);
  const abs = path.resolve(projectDir, file);
  let mtime: number;
  try {
    mtime = statSync(abs).mtimeMs;
  } catch {
    throw new CheckFailure(`auth.module: ${abs} does not exist (the path is relative to the project folder ${projectDir})`);
  }
  const key = `${abs}@${mtime}`;
  let p = loaded.get(key);
  if (!p) {
    p = bundleAndImport(projectDir, abs);
    loaded.set(key, p);
    p.catch(() => loaded.delete(key));
  }
  return p;
}

async function bundleAndImport(projectDir: string, abs: string): Promise<AuthModule> {
  const { build } = await import('esbuild');
  const outDir = buildDir(projectDir);
  mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, `auth-module.${process.pid}.${Date.now()}.mjs`);
  try {
    await build({
      entryPoints: [abs],
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      sourcemap: 'inline',
      alias: { 'perf-harness': path.join(HARNESS_ROOT, 'src', 'index.ts') },
      logLevel: 'silent',
    });
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } }[] }).errors;
    const text = errors?.map((x) => (x.location ? `${x.location.file}:${x.location.line}:${x.location.column + 1} - ${x.text}` : x.text)).join('; ') ?? String(e);
    throw new CheckFailure(`auth.module ${abs} does not build: ${text}`);
  }
  let mod: Partial<AuthModule> & { default?: Partial<AuthModule> };
  try {
    mod = (await import(pathToFileURL(out).href)) as typeof mod;
  } catch (e) {
    throw new CheckFailure(`auth.module ${abs} threw while loading: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    rmSync(out, { force: true });
  }
  const m = typeof mod.createUser === 'function' ? mod : mod.default;
  if (!m || typeof m.createUser !== 'function') throw new CheckFailure(`auth.module ${abs} must export createUser({ label, identity, api })`);
  return { createUser: m.createUser.bind(m), ...(typeof m.removeUser === 'function' ? { removeUser: m.removeUser.bind(m) } : {}) };
}
