import type { PhaseName } from '../config/config-schema.ts';
import type { CheckFactory } from './phases.ts';

/**
 * The check phases this build provides, by name. Loaded lazily by the CLI so that
 * `perf --help` does not import pg, ioredis or ws.
 *
 * `flows` and `frontend-flows` are the user's own files only (`flows.dir`, `browserFlows.dir`;
 * src/flows/); `db-integrity` is the config-driven checks plus the user's flows declared with
 * `phase: 'db-integrity'`.
 */
export async function loadCheckFactories(): Promise<Partial<Record<PhaseName, CheckFactory>>> {
  const [{ healthChecks }, { smokeChecks }, { dbIntegrityChecks }, { frontendSmokeChecks }, { userFlowChecks, userBrowserFlowChecks, userDbIntegrityChecks }] = await Promise.all([
    import('../checks/health.ts'),
    import('../checks/smoke.ts'),
    import('../checks/db-integrity.ts'),
    // Playwright itself is imported only when a browser is launched.
    import('../checks/frontend-smoke.ts'),
    import('../flows/checks.ts'),
  ]);
  return {
    health: healthChecks,
    smoke: smokeChecks,
    flows: userFlowChecks,
    'db-integrity': async (config, ctx) => [...dbIntegrityChecks(config), ...(await userDbIntegrityChecks(config, ctx))],
    'frontend-smoke': frontendSmokeChecks,
    'frontend-flows': userBrowserFlowChecks,
  };
}
