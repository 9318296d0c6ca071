import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build, version as esbuildVersion, type Metafile, type Plugin } from 'esbuild';
import { UserError } from '../src/errors.ts';
import { HARNESS_ROOT } from '../src/paths.ts';
import { typecheckScenarios } from './typecheck.ts';

/** Bump when the wrapper or build settings change, so every cached bundle is rebuilt. */
const BUNDLER_REVISION = '2';

export interface BundleOptions {
  /** Folder holding `<name>.ts` scenarios (top level only; `lib/` holds helpers). */
  scenariosDir: string;
  /** Where `<name>.js` + `<name>.js.map` are written (`.perf/build`). */
  outDir: string;
  /** Scenario names or paths to `.ts` files; all scenarios in `scenariosDir` when empty. */
  names?: string[];
  /** Paths in messages are relative to this folder (the project). */
  cwd?: string;
}

export interface BundledScenario {
  name: string;
  source: string;
  script: string;
  sourceMap: string;
  hash: string;
  /** True when the content hash matched and nothing was rebuilt. */
  cached: boolean;
}

interface ManifestEntry {
  hash: string;
  inputs: string[];
}
type Manifest = Record<string, ManifestEntry>;

export function listScenarios(scenariosDir: string): string[] {
  if (!existsSync(scenariosDir)) return [];
  return readdirSync(scenariosDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

function resolveScenario(nameOrPath: string, scenariosDir: string, cwd: string): { name: string; source: string } {
  if (nameOrPath.endsWith('.ts')) {
    const source = path.resolve(cwd, nameOrPath);
    if (!existsSync(source)) throw new UserError(`scenario file not found: ${nameOrPath}`);
    return { name: path.basename(source, '.ts'), source };
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(nameOrPath)) {
    throw new UserError(`invalid scenario name "${nameOrPath}"`, 'Use a file name from scenarios/ without .ts.');
  }
  const source = path.join(scenariosDir, `${nameOrPath}.ts`);
  if (!existsSync(source)) {
    const known = listScenarios(scenariosDir);
    throw new UserError(
      `unknown scenario "${nameOrPath}" (no ${path.relative(cwd, source)})`,
      known.length ? `Known scenarios: ${known.join(', ')}.` : `No scenarios in ${path.relative(cwd, scenariosDir) || '.'}.`,
    );
  }
  return { name: nameOrPath, source };
}

const HAS_DEFAULT_EXPORT = /export\s+default\b|export\s*\{[^}]*\bas\s+default\b|export\s*\{\s*default\b/;

/**
 * The entry esbuild bundles for a scenario: the scenario's exports unchanged, except
 * `options`, which goes through `applyPerfOptions` so perf can set users, duration and
 * gate thresholds at run time without rebuilding, and then `windowOptions`, which (when a
 * gate needs it) routes each k6 scenario through `__perf_exec` and the default export
 * through a wrapper, both tagging the iteration's window (bundler/k6-window-runtime.ts).
 */
function wrapperSource(source: string): string {
  const spec = JSON.stringify(source);
  const runtime = JSON.stringify(path.join(HARNESS_ROOT, 'bundler', 'k6-options-runtime.ts'));
  const windows = JSON.stringify(path.join(HARNESS_ROOT, 'bundler', 'k6-window-runtime.ts'));
  const hasDefault = HAS_DEFAULT_EXPORT.test(readFileSync(source, 'utf8'));
  return [
    `import * as scenario from ${spec};`,
    `import { applyPerfOptions } from ${runtime};`,
    `import { runInWindow, windowOptions } from ${windows};`,
    `export * from ${spec};`,
    hasDefault ? `export default function (data: unknown) { return runInWindow(scenario, data, 'default'); }` : '',
    `export const options = windowOptions(applyPerfOptions((scenario as { options?: never }).options), scenario);`,
    `export function __perf_exec(data: unknown) { return runInWindow(scenario, data); }`,
    '',
  ].join('\n');
}

function hashInputs(inputs: string[], wrapper: string): string {
  const h = createHash('sha256');
  h.update(`${BUNDLER_REVISION}\0${esbuildVersion}\0${wrapper}\0`);
  for (const file of inputs) {
    h.update(file);
    h.update('\0');
    h.update(readFileSync(file));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

function readManifest(file: string): Manifest {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch {
    return {};
  }
}

/**
 * k6 modules that name requests after their URL (`name` tag = the URL, query string and
 * userinfo included: a `?token=` would land in every sample and InfluxDB series). A scenario's
 * import of one resolves to perf's shim of it (bundler/k6-shims/), which gives every request or
 * connection without a `name` tag the URL without query string and userinfo as its name, and
 * is otherwise k6's module; the shims' own imports go to k6. Remote (`https://`) modules are
 * not bundled, so requests they make are not named here: perf's ingest catches a token-shaped
 * tag from them (analysis/tag-secrets.ts).
 */
const SHIM_DIR = path.join(HARNESS_ROOT, 'bundler', 'k6-shims');
const K6_SHIMS: Record<string, string> = {
  'k6/http': 'http.ts',
  'k6/ws': 'ws.ts',
  'k6/websockets': 'websockets.ts',
  'k6/experimental/websockets': 'experimental-websockets.ts',
};
const k6Shims: Plugin = {
  name: 'k6-shims',
  setup(b) {
    b.onResolve({ filter: /^k6\/(http|ws|websockets|experimental\/websockets)$/ }, (args) =>
      args.importer.startsWith(SHIM_DIR + path.sep) ? undefined : { path: path.join(SHIM_DIR, K6_SHIMS[args.path]!) },
    );
  },
};

/**
 * `perf-harness/k6`, perf's k6-side helpers (scenarios/lib/index.ts), for a scenario anywhere:
 * a project outside perf's checkout has no `perf-harness` package to resolve it from.
 */
export const PERF_K6_MODULE = path.join(HARNESS_ROOT, 'scenarios', 'lib', 'index.ts');
const perfHarnessK6: Plugin = {
  name: 'perf-harness-k6',
  setup(b) {
    b.onResolve({ filter: /^perf-harness\/k6$/ }, () => ({ path: PERF_K6_MODULE }));
  },
};

/** Externals: k6's own modules and remote imports are resolved by k6 at run time. */
const k6Externals: Plugin = {
  name: 'k6-externals',
  setup(b) {
    b.onResolve({ filter: /^(k6(\/.*)?|https?:\/\/.*)$/ }, (args) => ({ path: args.path, external: true }));
  },
};

/**
 * The one bundling function: the CLI's `perf bundle` and the load phase both call it.
 * Unchanged scenarios (same content hash over every bundled input) are not rebuilt and
 * not re-type-checked; changed ones are type-checked together first, and any type error
 * stops everything with file:line:col before k6 could start.
 */
export async function bundleScenarios(opts: BundleOptions): Promise<BundledScenario[]> {
  const cwd = opts.cwd ?? process.cwd();
  const scenariosDir = path.resolve(cwd, opts.scenariosDir);
  const outDir = path.resolve(cwd, opts.outDir);
  const names = opts.names?.length ? opts.names : listScenarios(scenariosDir);
  if (names.length === 0) {
    throw new UserError(`no scenarios to bundle in ${path.relative(cwd, scenariosDir) || '.'}`, 'Add a <name>.ts k6 scenario there.');
  }
  const wanted = names.map((n) => resolveScenario(n, scenariosDir, cwd));
  mkdirSync(outDir, { recursive: true });
  const manifestFile = path.join(outDir, 'manifest.json');
  const manifest = readManifest(manifestFile);

  const results: BundledScenario[] = [];
  const stale: { name: string; source: string; wrapper: string }[] = [];
  for (const { name, source } of wanted) {
    const wrapper = wrapperSource(source);
    const script = path.join(outDir, `${name}.js`);
    const entry = manifest[name];
    if (entry && existsSync(script) && entry.inputs.every((f) => existsSync(f))) {
      const hash = hashInputs(entry.inputs, wrapper);
      if (hash === entry.hash) {
        results.push({ name, source, script, sourceMap: `${script}.map`, hash, cached: true });
        continue;
      }
    }
    stale.push({ name, source, wrapper });
  }

  if (stale.length > 0) {
    await typecheckScenarios(
      stale.map((s) => s.source),
      outDir,
      cwd,
    );
    const built = await Promise.all(stale.map((s) => buildOne(s, outDir)));
    for (const b of built) {
      manifest[b.name] = { hash: b.hash, inputs: b.inputs };
      results.push({ ...b, cached: false });
    }
    const tmp = `${manifestFile}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(manifest, null, 2));
    renameSync(tmp, manifestFile);
  }
  const order = new Map(wanted.map((w, i) => [w.name, i]));
  return results.sort((a, b) => order.get(a.name)! - order.get(b.name)!);
}

async function buildOne(
  s: { name: string; source: string; wrapper: string },
  outDir: string,
): Promise<Omit<BundledScenario, 'cached'> & { inputs: string[] }> {
  const script = path.join(outDir, `${s.name}.js`);
  const result = await build({
    stdin: {
      contents: s.wrapper,
      loader: 'ts',
      resolveDir: path.dirname(s.source),
      sourcefile: path.join(path.dirname(s.source), `${s.name}.perf-entry.ts`),
    },
    absWorkingDir: path.dirname(s.source),
    outfile: script,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    // k6 runs ES2020+ through its own runtime; keep the output close to the source.
    target: 'es2020',
    mainFields: ['module', 'main'],
    conditions: ['k6', 'import', 'default'],
    sourcemap: 'linked',
    sourcesContent: true,
    metafile: true,
    logLevel: 'silent',
    plugins: [perfHarnessK6, k6Shims, k6Externals],
  }).catch((e: { errors?: { text: string; location?: { file: string; line: number; column: number } }[] }) => {
    if (!e.errors) throw e;
    const lines = e.errors.map((err) =>
      err.location ? `${err.location.file}:${err.location.line}:${err.location.column + 1} - ${err.text}` : err.text,
    );
    throw new UserError(`bundling scenario "${s.name}" failed:\n${lines.join('\n')}`);
  });
  const inputs = inputFiles(result.metafile, path.dirname(s.source));
  return { name: s.name, source: s.source, script, sourceMap: `${script}.map`, hash: hashInputs(inputs, s.wrapper), inputs };
}

function inputFiles(meta: Metafile, workDir: string): string[] {
  return Object.keys(meta.inputs)
    .filter((p) => !p.startsWith('<stdin>') && !p.includes(':'))
    .map((p) => path.resolve(workDir, p))
    .filter((p) => existsSync(p))
    .sort();
}
