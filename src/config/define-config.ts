import type { PerfConfig } from './config-schema.ts';

/**
 * Identity helper for `perf.config.ts`: gives editors the config's types and nothing
 * else. Kept in its own file (type-only imports) so bundling a user's config pulls in
 * no validation code.
 */
export function defineConfig(config: PerfConfig): PerfConfig {
  return config;
}

export type { PerfConfig } from './config-schema.ts';
