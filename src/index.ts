/**
 * perf's public API: the one module a perf project imports (`import { ... } from 'perf-harness'`),
 * in perf.config.ts, flows and browser flows. perf resolves `perf-harness` to this file when it
 * loads a project's files (esbuild alias), so a project outside perf's checkout needs no install
 * of its own; editors find the types through package.json's `exports`.
 *
 * Keep it light: a config file bundles it, so nothing here may import pg, ws, Playwright or
 * the runner (fixtures are handed to user code at run time, never imported by it).
 */
export { defineConfig } from './config/define-config.ts';
export type { PerfConfig } from './config/config-schema.ts';

// Flows and browser flows (docs/flows.md): declared in the project's files, run by perf.
export { flow, browserFlow } from './api/flow.ts';
export { expect } from './api/expect.ts';
export type { PerfExpect, PerfMatchers, PollOptions } from './api/expect.ts';
export type {
  FlowOptions,
  FlowFixtures,
  BrowserFlowFixtures,
  FlowFn,
  BrowserFlowFn,
  TestUser,
  TestUsers,
  ApiClient,
  ApiRequestOptions,
  ApiResponse,
  SseEvent,
  WsFixture,
  WsClient,
  WsMessage,
  WsConnectOptions,
  AgentFixture,
  AgentRunResult,
  DbClient,
  TargetInfo,
} from './api/types.ts';
