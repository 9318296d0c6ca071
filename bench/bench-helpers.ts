/** Shared by the benches: a project folder pointing at the repo's scenarios, and medians. */
import { configProject } from '../test/helpers.ts';

export const benchProject = (overrides = ''): string => configProject(overrides, 'perf-bench-');

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
