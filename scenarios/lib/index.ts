// `perf-harness/k6`: perf's k6-side helpers, the one module a k6 scenario imports (a project
// outside perf's checkout too: the bundler resolves `perf-harness/k6` here, bundler/bundle.ts).
//
//   import { session, runAgent, agentProtocol, expectThat, userJourneyScenario } from 'perf-harness/k6';
//
// Sessions (this VU's signed-in test user, from the config's `auth`), the agent protocol
// (`runAgent`, from the config's `agent`), checks, metrics, profiles, the environment perf
// passes (BASE_URL, WS_URL, RUN_ID, USERS), HTTP and WebSocket helpers.
export * from './auth.ts';
export * from './agent.ts';
export * from './checks.ts';
export * from './env.ts';
export * from './http.ts';
export * from './metrics.ts';
export * from './profile.ts';
export * from './profiles.ts';
export * from './ws.ts';
export { getPath, renderTemplate, judgeAgentRun } from '../../src/shared/agent-protocol.ts';
