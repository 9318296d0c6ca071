/**
 * Loads the user's flow files: find → type-check → bundle → import with the registry set →
 * declared flows, with which of them run.
 *
 * Contract:
 * - `flows.dir` / `browserFlows.dir` are relative to the project folder (the config file's);
 *   a missing folder is "no flows" when it is the default (`flows`, `frontend`), and a
 *   `UserError` naming the option when it was set to something else;
 * - a type error is a `UserError` with file:line:col (exit 2); so is a file that throws while
 *   loading (with the user's line), a declaration of the wrong kind for the folder, and two
 *   flows of the same name (both files named);
 * - selection (`off` says why a flow does not run): `only` names (an unknown name is a
 *   `UserError` listing the known ones), then `tags` (one in common), then `flow.only` in files
 *   (when any flow is marked, just those). Skipped flows (`skip`) stay selected: they are reported
 *   `skipped` with their reason;
 * - results are cached per process (one CLI run loads each folder once, though the `flows` and
 *   `db-integrity` phases both read `flows.dir`); `clearFlowCache()` forgets them (tests).
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleUserFiles, findUserFiles, typecheckUserFiles } from '../../bundler/user-files.ts';
import { FLOW_REGISTRY_KEY, type FlowRegistry } from '../api/flow.ts';
import type { DeclaredFlow } from '../api/types.ts';
import type { ResolvedConfig } from '../config/config-schema.ts';
import { UserError } from '../errors.ts';
import { buildDir, HARNESS_ROOT } from '../paths.ts';
import { userLocation } from './stack.ts';
// Installs the `expect` runtime before any user file can use it.
import './expect-runtime.ts';

export type FlowsOption = 'flows' | 'browserFlows';

const DEFAULT_DIRS: Record<FlowsOption, string> = { flows: 'flows', browserFlows: 'frontend' };
const KIND: Record<FlowsOption, DeclaredFlow['kind']> = { flows: 'flow', browserFlows: 'browserFlow' };

export interface LoadedFlow extends DeclaredFlow {
  /** The declaring file, relative to the project folder. */
  file: string;
  /** Why it does not run this time (not selected), if so. */
  off?: string;
}

export interface LoadedFlows {
  option: FlowsOption;
  /** The folder searched (absolute). */
  dir: string;
  /** The folder does not exist (the default one: no flows). */
  missing: boolean;
  flows: LoadedFlow[];
}

const cache = new Map<string, Promise<LoadedFlows>>();

export function clearFlowCache(): void {
  cache.clear();
}

export function loadUserFlows(config: ResolvedConfig, projectDir: string, option: FlowsOption): Promise<LoadedFlows> {
  const key = JSON.stringify([path.resolve(projectDir), option, config[option]]);
  let p = cache.get(key);
  if (!p) {
    p = load(config, path.resolve(projectDir), option);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function load(config: ResolvedConfig, projectDir: string, option: FlowsOption): Promise<LoadedFlows> {
  const opt = config[option];
  const dir = path.resolve(projectDir, opt.dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    if (opt.dir.replace(/\/+$/, '') === DEFAULT_DIRS[option] && !existsSync(dir)) {
      if (opt.only.length) throw unknownNames(option, opt.only, []);
      return { option, dir, missing: true, flows: [] };
    }
    throw new UserError(`${option}.dir: no folder ${dir}`, `Create it, or set ${option}.dir (relative to the config file's folder) to where your ${KIND[option]}() files are.`);
  }
  const files = findUserFiles(dir);
  const what = `${option} (${path.relative(projectDir, dir) || '.'})`;
  const work = path.join(buildDir(projectDir), 'flows', option);
  await typecheckUserFiles(files, work, projectDir, what);
  const bundles = await bundleUserFiles(files, path.join(work, 'out'), dir, projectDir);

  // Stacks of the bundles then name the user's TypeScript lines.
  process.setSourceMapsEnabled(true);
  const declared: LoadedFlow[] = [];
  const version = Date.now();
  for (const b of bundles) {
    const rel = path.relative(projectDir, b.source);
    const mine: DeclaredFlow[] = [];
    const registry: FlowRegistry = { file: b.source, apiDir: path.join(HARNESS_ROOT, 'src', 'api'), add: (f) => void mine.push(f) };
    const g = globalThis as Record<symbol, FlowRegistry | undefined>;
    g[FLOW_REGISTRY_KEY] = registry;
    try {
      await import(`${pathToFileURL(b.module).href}?v=${version}`);
    } catch (e) {
      const at = userLocation(e, projectDir);
      throw new UserError(`${rel} threw while loading: ${e instanceof Error ? e.message : String(e)}${at ? `\n  at ${at}` : ''}`, 'Flow files declare flows at the top level; the work goes inside the flow functions.');
    } finally {
      if (g[FLOW_REGISTRY_KEY] === registry) delete g[FLOW_REGISTRY_KEY];
    }
    for (const f of mine) {
      const file = f.file ? path.relative(projectDir, f.file) : rel;
      if (f.kind !== KIND[option]) {
        throw new UserError(
          `${file}${f.line ? `:${f.line}` : ''}: ${f.kind}(${JSON.stringify(f.name)}) in ${option}.dir (${path.relative(projectDir, dir) || '.'})`,
          f.kind === 'browserFlow' ? 'Browser flows go in the browserFlows.dir folder (default frontend/).' : 'Backend flows go in the flows.dir folder (default flows/).',
        );
      }
      if (f.kind === 'browserFlow' && f.options.phase && f.options.phase !== 'flows') {
        throw new UserError(`${file}${f.line ? `:${f.line}` : ''}: browserFlow(${JSON.stringify(f.name)}): option phase is for flow() only`);
      }
      declared.push({ ...f, file });
    }
  }

  const byName = new Map<string, LoadedFlow>();
  for (const f of declared) {
    const other = byName.get(f.name);
    if (other) {
      throw new UserError(
        `two flows named ${JSON.stringify(f.name)}: ${other.file}${other.line ? `:${other.line}` : ''} and ${f.file}${f.line ? `:${f.line}` : ''}`,
        'Flow names name their checks (reports, phases.<name>.disable, flows.only): rename one.',
      );
    }
    byName.set(f.name, f);
  }
  return { option, dir, missing: false, flows: select(declared, option, opt) };
}

function unknownNames(option: FlowsOption, names: string[], known: string[]): UserError {
  return new UserError(
    `${option}.only: no flow named ${names.map((n) => JSON.stringify(n)).join(', ')}`,
    `Flows: ${known.map((n) => JSON.stringify(n)).join(', ') || 'none'}.`,
  );
}

function select(flows: LoadedFlow[], option: FlowsOption, opt: { only: string[]; tags: string[] }): LoadedFlow[] {
  const names = new Set(flows.map((f) => f.name));
  const unknown = opt.only.filter((n) => !names.has(n));
  if (unknown.length) throw unknownNames(option, unknown, [...names]);
  let out = flows.map((f) => ({ ...f }));
  if (opt.only.length) for (const f of out) if (!opt.only.includes(f.name)) f.off ??= `not selected (${option}.only)`;
  if (opt.tags.length) for (const f of out) if (!(f.options.tags ?? []).some((t) => opt.tags.includes(t))) f.off ??= `not selected (${option}.tags: ${opt.tags.join(', ')})`;
  const marked = out.filter((f) => f.options.only && !f.off);
  if (marked.length) for (const f of out) if (!f.options.only) f.off ??= `not selected (another flow is marked only: ${marked[0]!.file}${marked[0]!.line ? `:${marked[0]!.line}` : ''})`;
  return out;
}
