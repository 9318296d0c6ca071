/**
 * `auth.module`: a file of the user's project that makes test users its own way (an admin API,
 * an invitation, a seeded database row), for services whose sign-up no request template
 * describes. Loaded the way user files are: bundled by esbuild (TypeScript, local imports;
 * `perf-harness` resolves to this harness) into `<project>/.perf/build/`, then imported
 * (`bundleAndImport`, bundler/load-module.ts). Loaded once per process per file version.
 *
 * The module exports:
 *   createUser({ label, identity, api }): Promise<TestUserInit>   (required)
 *   removeUser(user, { api }): Promise<void>                       (optional: the run's cleanup)
 * `identity` is what perf would give the user (e-mail, username, password, name: use them so
 * reruns are deterministic); `api` is an anonymous HTTP client on the target (`api.as(user)`).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { bundleAndImport } from '../../bundler/load-module.ts';
import type { ApiClient, TestUser } from '../api/types.ts';
import type { CheckContext } from '../checks/types.ts';
import { CheckFailure } from '../checks/types.ts';
import { buildDir } from '../paths.ts';

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
    p = importAuthModule(projectDir, abs);
    loaded.set(key, p);
    p.catch(() => loaded.delete(key));
  }
  return p;
}

async function importAuthModule(projectDir: string, abs: string): Promise<AuthModule> {
  // A CheckFailure, not a UserError: the module is loaded by the check that makes the users.
  const mod = await bundleAndImport<Partial<AuthModule> & { default?: Partial<AuthModule> }>(abs, {
    outDir: buildDir(projectDir),
    stem: 'auth-module',
    sourcemap: true,
    buildError: (lines) => new CheckFailure(`auth.module ${abs} does not build: ${lines.join('; ')}`),
    loadError: (message) => new CheckFailure(`auth.module ${abs} threw while loading: ${message}`),
  });
  const m = typeof mod.createUser === 'function' ? mod : mod.default;
  if (!m || typeof m.createUser !== 'function') throw new CheckFailure(`auth.module ${abs} must export createUser({ label, identity, api })`);
  return { createUser: m.createUser.bind(m), ...(typeof m.removeUser === 'function' ? { removeUser: m.removeUser.bind(m) } : {}) };
}
