import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { bundleAndImport } from '../../bundler/load-module.ts';
import { configSchema, type PerfConfig, type ResolvedConfig } from './config-schema.ts';
import { UserError } from '../errors.ts';
import { perfDir } from '../paths.ts';

export { defineConfig } from './define-config.ts';
export type { PerfConfig, ResolvedConfig } from './config-schema.ts';

export const CONFIG_FILE = 'perf.config.ts';

/** Where a value came from, so a validation message can name the flag or variable to fix. */
type Source = string;
interface Layer {
  source: Source;
  values: Record<string, unknown>;
}

export interface ResolveOptions {
  cwd: string;
  /** `--config`: an explicit file must exist; the default file is optional. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** CLI flags already split into config paths (see `flagLayer`). */
  flags?: Record<string, unknown>;
}

export interface Resolved {
  config: ResolvedConfig;
  file?: string;
  /** sha256 of the resolved config, recorded in the verdict's manifest. */
  hash: string;
}

/**
 * Loads `perf.config.ts` by bundling it with esbuild (TypeScript, local imports) into
 * `.perf/config/` and importing the result (`bundleAndImport`, bundler/load-module.ts).
 * `perf-harness` imports resolve to this harness, so configs outside this repository can
 * `import { defineConfig } from 'perf-harness'`.
 */
export async function loadConfigFile(file: string, cwd: string): Promise<PerfConfig> {
  const rel = path.relative(cwd, file);
  const mod = await bundleAndImport<{ default?: unknown }>(file, { outDir: path.join(perfDir(cwd), 'config'), stem: 'perf.config', label: rel });
  if (!mod.default || typeof mod.default !== 'object') {
    throw new UserError(`${rel} must \`export default defineConfig({ ... })\``);
  }
  return mod.default as PerfConfig;
}

const INT = /^-?\d+$/;
/** Numbers from the environment stay strings unless they look like integers, so the
 *  schema reports "expected number, received string" naming the variable. */
const num = (v: string): unknown => (INT.test(v.trim()) ? Number(v) : v);

/** `PERF_*` environment variables → config paths. */
export function envLayer(env: NodeJS.ProcessEnv): Layer[] {
  const layers: Layer[] = [];
  const add = (name: string, key: string, value: unknown) => {
    if (env[name] !== undefined && env[name] !== '') layers.push({ source: name, values: { [key]: value } });
  };
  add('PERF_USERS', 'users', num(env.PERF_USERS ?? ''));
  add('PERF_SEED', 'seed', num(env.PERF_SEED ?? ''));
  add('PERF_DEADLINE', 'deadline', env.PERF_DEADLINE);
  add('PERF_TARGET', 'target.baseUrl', env.PERF_TARGET);
  add('PERF_WS_URL', 'target.wsUrl', env.PERF_WS_URL);
  add('PERF_DATABASE_URL', 'target.databaseUrl', env.PERF_DATABASE_URL);
  add('PERF_REDIS_URL', 'target.redisUrl', env.PERF_REDIS_URL);
  add('PERF_FRONTEND_URL', 'target.frontendUrl', env.PERF_FRONTEND_URL);
  add('PERF_DURATION', 'load.duration', env.PERF_DURATION);
  add('PERF_PROFILE', 'load.profile', env.PERF_PROFILE);
  add('PERF_SHARDS', 'load.shards', num(env.PERF_SHARDS ?? ''));
  add('PERF_REPORTERS', 'reporters', env.PERF_REPORTERS?.split(',').map((s) => s.trim()));
  add('PERF_INFLUX_URL', 'influx.url', env.PERF_INFLUX_URL);
  return layers;
}

/** CLI flags (already named by config path, e.g. `{ users: '15', 'target.baseUrl': url }`). */
export function flagLayer(flags: Record<string, { flag: string; value: unknown }>): Layer[] {
  return Object.entries(flags)
    .filter(([, f]) => f.value !== undefined)
    .map(([key, f]) => ({ source: f.flag, values: { [key]: typeof f.value === 'string' && key !== 'target.baseUrl' ? num(f.value) : f.value } }));
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}

/**
 * defaults → file → `PERF_*` environment → CLI flags, validated once. Every problem is
 * listed (zod collects them all), each naming its field and, for env/flag values, the
 * variable or flag that set it. Throws a `UserError` (exit 2) when anything is wrong.
 */
export async function resolveConfig(opts: ResolveOptions & { flagLayers?: Layer[] }): Promise<Resolved> {
  const env = opts.env ?? process.env;
  const explicit = opts.configFile !== undefined;
  const file = path.resolve(opts.cwd, opts.configFile ?? CONFIG_FILE);
  let fromFile: PerfConfig = {};
  let usedFile: string | undefined;
  if (existsSync(file)) {
    fromFile = await loadConfigFile(file, opts.cwd);
    usedFile = file;
  } else if (explicit) {
    throw new UserError(`config file not found: ${opts.configFile}`, `Create it with \`export default defineConfig({ ... })\` or drop --config.`);
  }

  const merged = structuredClone(fromFile) as Record<string, unknown>;
  const sources = new Map<string, Source>();
  for (const layer of [...envLayer(env), ...(opts.flagLayers ?? [])]) {
    for (const [key, value] of Object.entries(layer.values)) {
      if (key.startsWith('target.')) {
        // Target URLs from env/flags describe an external target; for the bundled sample-app
        // a database or Redis URL means "run sample-app on these".
        const t = merged.target;
        const isSampleApp = t === undefined || t === 'sample-app';
        const field = key.slice('target.'.length);
        if (field === 'baseUrl') {
          if (value === 'sample-app') merged.target = 'sample-app';
          else merged.target = { ...(isSampleApp ? {} : (t as object)), baseUrl: value };
        } else if (isSampleApp && (field === 'databaseUrl' || field === 'redisUrl')) {
          setPath(merged, `sampleApp.${field}`, value);
          sources.set(`sampleApp.${field}`, layer.source);
          continue;
        } else if (isSampleApp) {
          merged.target = { baseUrl: undefined, [field]: value };
        } else {
          setPath(merged, key, value);
        }
      } else {
        setPath(merged, key, value);
      }
      sources.set(key, layer.source);
    }
  }

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? (issue as { keys: string[] }).keys : [undefined];
      return keys
        .map((k) => {
          const field = [...issue.path.map(String), ...(k ? [k] : [])].join('.') || '(root)';
          const from = sourceOf(field, sources, usedFile ? path.relative(opts.cwd, usedFile) : undefined);
          const message = issue.code === 'unrecognized_keys' ? 'unknown option (misspelt?)' : issue.message;
          return `  ${field}${from ? ` (from ${from})` : ''}: ${message}`;
        })
        .join('\n');
    });
    throw new UserError(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.join('\n')}`,
      'Fix the fields above in perf.config.ts, the PERF_* environment or the command line.',
    );
  }
  // Gates and soak judgements of other profiles are left out here, once: nothing downstream sees them.
  const profile = parsed.data.load.profile;
  const { errorBudget: _b, targetMemory: _m, ...soakRest } = parsed.data.soak;
  const config = {
    ...parsed.data,
    gates: parsed.data.gates.filter((g) => !g.profiles || g.profiles.includes(profile)),
    soak: !parsed.data.soak.profiles || parsed.data.soak.profiles.includes(profile) ? parsed.data.soak : soakRest,
  };
  const hash = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 16);
  return { config, file: usedFile, hash };
}

function sourceOf(field: string, sources: Map<string, Source>, file: string | undefined): string | undefined {
  for (let f = field; f; f = f.includes('.') ? f.slice(0, f.lastIndexOf('.')) : '') {
    const s = sources.get(f);
    if (s) return s;
  }
  return file;
}
