/**
 * A declared flow → one `Check` of its phase.
 *
 * Contract:
 * - each attempt builds fresh fixtures (api, users, ws, agent, db, step, log, measure, target,
 *   runId, seed, signal, info; browser flows: page, context, baseURL, signIn and the same api,
 *   users, steps) and tears them down after it (sockets closed, the database session ended, the
 *   browser context closed);
 * - options: `timeout` → Check.timeoutMs, `retries` → Check.retries (a pass on retry is `flaky`,
 *   by the pipeline), `skip` → `skipped` with its reason, `description` → the check's;
 * - whatever the flow throws becomes a CheckFailure whose message says what failed — for an
 *   `expect`, expected vs received (no colours; a note records both), for a fixture's failure its
 *   own message (evidence kept), for any other error its name and message — prefixed
 *   `step "<name>": ` for each step it happened in, and followed by `at <file>:<line>:<col>` of
 *   the user's TypeScript where it was thrown (and a note with the user's frames of the stack).
 *   An abort (timeout, Ctrl-C) is passed on as it is: the pipeline reports it.
 */
import { stripVTControlCharacters } from 'node:util';
import type { BrowserFlowFixtures, BrowserFlowFn, FlowFixtures, FlowFn } from '../api/types.ts';
import { UserFactory } from '../auth/users.ts';
import { signInBrowser, toCheckFailure, withBrowser } from '../checks/frontend-session.ts';
import { CheckFailure, CheckSkipped, type Check, type CheckContext, type Evidence } from '../checks/types.ts';
import { parseDurationMs } from '../cli/flags.ts';
import type { ResolvedConfig } from '../config/config-schema.ts';
import { UserError } from '../errors.ts';
import { createApiClient } from './api-client.ts';
import { createDbFixture } from './db-fixture.ts';
import { assertionOf, flowScope } from './expect-runtime.ts';
import type { LoadedFlow } from './load.ts';
import { userFrames, userLocation } from './stack.ts';
import { createWsFixture } from './ws-fixture.ts';

/** What `perf list` shows of a flow's check. */
export interface FlowCheckInfo {
  kind: LoadedFlow['kind'];
  file: string;
  line?: number;
  tags: string[];
  /** Why it is not run this time (not selected), if so. */
  off?: string;
  /** Its skip reason, if declared `skip`. */
  skip?: string;
}

export interface FlowCheck extends Check {
  flow: FlowCheckInfo;
}

const STEPS = Symbol.for('perf.flows.steps');

export function flowCheck(f: LoadedFlow, config: ResolvedConfig, projectDir: string): FlowCheck {
  const where = `${f.file}${f.line ? `:${f.line}` : ''}`;
  const o = f.options;
  let timeoutMs: number | undefined;
  if (o.timeout !== undefined) {
    if (typeof o.timeout === 'number') {
      if (!(o.timeout > 0)) throw new UserError(`${where}: ${f.kind}(${JSON.stringify(f.name)}): timeout must be a positive number of ms or a duration such as "30s" (got ${o.timeout})`);
      timeoutMs = o.timeout;
    } else timeoutMs = parseDurationMs(o.timeout, `${where}: ${f.kind}(${JSON.stringify(f.name)}) option timeout`);
  }
  if (o.retries !== undefined && !(Number.isInteger(o.retries) && o.retries >= 0)) {
    throw new UserError(`${where}: ${f.kind}(${JSON.stringify(f.name)}): retries must be a whole number >= 0 (got ${o.retries})`);
  }
  const skip = o.skip ? (typeof o.skip === 'string' ? o.skip : `declared with skip (${where})`) : undefined;
  const info: FlowCheckInfo = { kind: f.kind, file: f.file, ...(f.line ? { line: f.line } : {}), tags: o.tags ?? [], ...(f.off ? { off: f.off } : {}), ...(skip ? { skip } : {}) };
  return {
    name: f.name,
    ...(o.description ? { description: o.description } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(o.retries !== undefined ? { retries: o.retries } : {}),
    flow: info,
    run: async (ctx) => {
      if (f.off) throw new CheckSkipped(f.off);
      if (skip) throw new CheckSkipped(skip);
      const attempt = nextAttempt(ctx, f.name);
      if (f.kind === 'browserFlow') return runBrowserFlow(f, ctx, config, projectDir, attempt);
      return runFlow(f, ctx, config, projectDir, attempt);
    },
  };
}

function nextAttempt(ctx: CheckContext, name: string): number {
  const key = `perf.flows.attempt:${name}`;
  const n = ((ctx.shared.get(key) as number | undefined) ?? 0) + 1;
  ctx.shared.set(key, n);
  return n;
}

/** The fixtures every kind of flow gets. */
function common(f: LoadedFlow, ctx: CheckContext, config: ResolvedConfig, attempt: number) {
  const stepsMs: Record<string, number> = {};
  return {
    api: createApiClient(ctx, config),
    users: new UserFactory(ctx, config),
    async step<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
      const t0 = performance.now();
      try {
        return await fn();
      } catch (e) {
        throw tagStep(e, name);
      } finally {
        stepsMs[name] = Math.round(performance.now() - t0);
        ctx.measure('steps_ms', { ...stepsMs });
      }
    },
    log(message: string, data?: unknown) {
      ctx.record({ kind: 'note', message: ctx.redactor.redactString(String(message)), ...(data !== undefined ? { data: ctx.redactor.redactDeep(data) } : {}) });
    },
    measure(key: string, value: unknown) {
      ctx.measure(key, value);
    },
    target: {
      baseUrl: ctx.target.baseUrl,
      ...(ctx.target.wsUrl ? { wsUrl: ctx.target.wsUrl } : {}),
      ...(ctx.target.frontendUrl ? { frontendUrl: ctx.target.frontendUrl } : {}),
      ...(ctx.target.databaseUrl ? { databaseUrl: ctx.target.databaseUrl } : {}),
    },
    runId: ctx.runId,
    seed: ctx.seed,
    signal: ctx.signal,
    info: { name: f.name, attempt, tags: f.options.tags ?? [], file: f.file },
  };
}

async function runFlow(f: LoadedFlow, ctx: CheckContext, config: ResolvedConfig, projectDir: string, attempt: number): Promise<void> {
  const ws = createWsFixture(ctx, config);
  const db = createDbFixture(ctx);
  const agent = await agentFixture(ctx, config, ws);
  const fixtures: FlowFixtures = { ...common(f, ctx, config, attempt), ws, agent, db };
  try {
    await flowScope.run({ signal: ctx.signal }, () => (f.fn as FlowFn)(fixtures));
  } catch (e) {
    throw asFailure(e, ctx, projectDir);
  } finally {
    await Promise.all([ws.closeAll(), db.close()]);
  }
}

/** AGENT's fixture, imported when a flow runs (perf list and runs without flows never load it). */
async function agentFixture(ctx: CheckContext, config: ResolvedConfig, ws: FlowFixtures['ws']): Promise<FlowFixtures['agent']> {
  const { createAgentFixture } = await import('../agent/agent-fixture.ts');
  return createAgentFixture(ctx, config, ws);
}

async function runBrowserFlow(f: LoadedFlow, ctx: CheckContext, config: ResolvedConfig, projectDir: string, attempt: number): Promise<void> {
  const folder = slug(f.name);
  await withBrowser(ctx, folder, async (s) => {
    const fixtures: BrowserFlowFixtures = {
      ...common(f, ctx, config, attempt),
      page: s.page,
      context: s.context,
      baseURL: s.baseUrl,
      // The same hand-over as the front-end checks' (`signInBrowser`, frontend-session.ts).
      signIn: (user) => signInBrowser(ctx, config.frontend.signIn, s.context, s.baseUrl, user),
    };
    try {
      await flowScope.run({ signal: ctx.signal }, () => (f.fn as BrowserFlowFn)(fixtures));
    } catch (e) {
      // Converted here, before withBrowser's own handling, so the step names and the user's
      // line survive (it then adds the screenshot and trace, and rethrows this failure).
      throw asFailure(e, ctx, projectDir);
    }
  });
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80) || 'flow';
}

function tagStep(e: unknown, name: string): unknown {
  const err = e !== null && typeof e === 'object' ? (e as Record<symbol, string[] | undefined>) : (new Error(String(e)) as unknown as Record<symbol, string[] | undefined>);
  try {
    err[STEPS] = [name, ...(err[STEPS] ?? [])];
  } catch {
    // A frozen error keeps no step names.
  }
  return err;
}

/** What the flow threw → its check's failure (see the file's contract). */
export function asFailure(e: unknown, ctx: CheckContext, projectDir: string): unknown {
  if (ctx.signal.aborted) return e;
  if (e instanceof CheckSkipped || (e as Error | undefined)?.name === 'CheckSkipped') return e;
  const steps = (e !== null && typeof e === 'object' ? (e as Record<symbol, string[] | undefined>)[STEPS] : undefined) ?? [];
  const evidence: Evidence[] = [];
  let message: string;
  const a = assertionOf(e);
  if (a) {
    message = a.message;
    ctx.record({ kind: 'note', message: 'expect failed', data: ctx.redactor.redactDeep({ ...('expected' in a ? { expected: printable(a.expected) } : {}), ...('received' in a ? { received: printable(a.received) } : {}) }) });
  } else if (e instanceof CheckFailure || (e as Error | undefined)?.name === 'CheckFailure') {
    message = (e as Error).message;
    evidence.push(...((e as CheckFailure).evidence ?? []));
  } else {
    const pw = toCheckFailure(e, ctx);
    if (pw instanceof CheckFailure) message = pw.message;
    else if (e instanceof Error) message = `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`;
    else message = `threw ${typeof e === 'string' ? JSON.stringify(e) : String(e)}`;
    const frames = userFrames(e instanceof Error ? e.stack : undefined, projectDir);
    if (frames.length) ctx.record({ kind: 'note', message: 'where it was thrown (your files)', data: frames.map((f) => `${f.fn ? `${f.fn} ` : ''}${f.file}:${f.line}:${f.col}`) });
  }
  message = stripVTControlCharacters(message).trim();
  const at = userLocation(e, projectDir);
  const prefix = steps.map((s) => `step ${JSON.stringify(s)}: `).join('');
  return new CheckFailure(`${prefix}${message}${at ? `\n  at ${at}` : ''}`, evidence);
}

/** Values for a note: JSON-safe (responses, errors and cycles included). */
function printable(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? String(x) : x instanceof Error ? x.message : x)) ?? 'undefined');
  } catch {
    return String(v);
  }
}
