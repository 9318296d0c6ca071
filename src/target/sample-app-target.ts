import type { ResolvedTarget } from '../checks/types.ts';
import type { ResolvedConfig } from '../config/config-schema.ts';
import type { TargetStarter } from '../run/run.ts';

/**
 * The default target: the bundled sample-app in a child process (so its CPU and memory
 * are its own, and a crash cannot take perf down), on free loopback ports, with the
 * configured faults. Stopped by the pipeline's fixture teardown, also on SIGINT.
 */
export const startSampleAppTarget: TargetStarter = async (config: ResolvedConfig, signal: AbortSignal) => {
  const { startTarget } = await import('./target.ts');
  // Only perf's config chooses the app's database and Redis: an unrelated DATABASE_URL or
  // REDIS_URL in the environment (common in CI) must not redirect the bundled app.
  const env = { ...process.env };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const handle = await startTarget({
    databaseUrl: config.sampleApp.databaseUrl,
    redisUrl: config.sampleApp.redisUrl,
    faults: config.sampleApp.faults,
    env,
    signal,
  });
  const target: ResolvedTarget = {
    kind: 'sample-app',
    baseUrl: handle.baseUrl,
    wsUrl: handle.wsUrl,
    adminUrl: handle.adminUrl,
    frontendUrl: handle.frontendUrl,
    databaseUrl: handle.databaseUrl,
    ...(handle.redisUrl ? { redisUrl: handle.redisUrl } : {}),
  };
  // sample-app's own flows make expired tokens on its admin server (sample-app/perf/flows/websocket.ts):
  // the one URL they cannot get from the target fixture, handed over in this process's environment.
  process.env.SAMPLE_APP_ADMIN_URL = handle.adminUrl;
  const stop = async () => {
    if (process.env.SAMPLE_APP_ADMIN_URL === handle.adminUrl) delete process.env.SAMPLE_APP_ADMIN_URL;
    await handle.stop();
  };
  return { target, pid: handle.pid, stop };
};
