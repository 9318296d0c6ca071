/** Shared by the benches: a project folder pointing at the repo's scenarios, and medians. */
import { configProject, REPO } from '../test/helpers.ts';

export const benchProject = (overrides = ''): string => configProject(overrides, 'perf-bench-');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * `PERF_AUTH` as `perf run` passes it to k6 (the repo's perf.config.ts `auth`, its seed): the
 * scenarios' setup() signs a load user in with it, so a bare `k6 run` of a bundled scenario
 * needs it too.
 */
export async function perfAuthForK6(): Promise<Record<string, string>> {
  const { resolveConfig } = await import('../src/config/config.ts');
  const { perfAuthEnv } = await import('../src/load/load-phase.ts');
  const { config } = await resolveConfig({ cwd: REPO, env: {} });
  return config.auth ? { PERF_AUTH: perfAuthEnv(config.auth, config.seed ?? 1) } : {};
}
