import type { PhaseName } from '../config/config-schema.ts';
import type { CheckFactory } from './phases.ts';

/**
 * The check phases this build provides, by name. Loaded lazily by the CLI so that
 * `perf --help` does not import pg, ioredis or ws.
 */
export async function loadCheckFactories(): Promise<Partial<Record<PhaseName, CheckFactory>>> {
  const [{ healthChecks }, { smokeChecks }, { flowChecks }, { dbIntegrityChecks }, { frontendSmokeChecks }, { frontendFlowChecks }] = await Promise.all([
    import('../checks/health.ts'),
    import('../checks/smoke.ts'),
    import('../checks/flows.ts'),
    import('../checks/db-integrity.ts'),
    // Playwright itself is imported only when a browser is launched.
    import('../checks/frontend-smoke.ts'),
    import('../checks/frontend-flows.ts'),
  ]);
  return {
    health: healthChecks,
    smoke: smokeChecks,
    flows: flowChecks,
    'db-integrity': dbIntegrityChecks,
    'frontend-smoke': frontendSmokeChecks,
    'frontend-flows': frontendFlowChecks,
  };
}
