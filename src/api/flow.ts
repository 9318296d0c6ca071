/**
 * `flow()` and `browserFlow()`: how a user's file declares its flows (modelled on Playwright
 * Test's `test()`).
 *
 * Contract with perf's loader (src/flows/load.ts): user files are bundled on their own, each with
 * its own copy of this module, so declarations cannot go into a module-level list. Before
 * importing a file, the loader puts a `FlowRegistry` on `globalThis[Symbol.for('perf.flows.registry')]`;
 * `flow()` pushes a `DeclaredFlow` into it, with its call site (file:line, from the stack, which
 * Node maps through the bundle's inline source map). Called anywhere else (a flow declared
 * inside another flow, after the file was loaded, or a file run with plain `node`), it throws.
 */
import type { BrowserFlowFn, DeclaredFlow, FlowFn, FlowOptions } from './types.ts';

export const FLOW_REGISTRY_KEY: unique symbol = Symbol.for('perf.flows.registry') as never;

/** What the loader sets while one file is imported. */
export interface FlowRegistry {
  /** The user's TypeScript file being loaded (absolute). */
  file: string;
  /** perf's own folder of this module (absolute), so call sites skip its frames. */
  apiDir?: string;
  add(flow: DeclaredFlow): void;
}

interface FlowDeclarer<F> {
  (name: string, fn: F): void;
  (name: string, options: FlowOptions, fn: F): void;
  /** Like Playwright's `test.only`: when any flow is `only`, just those run. */
  only(name: string, fn: F): void;
  only(name: string, options: FlowOptions, fn: F): void;
  /** Declared, reported `skipped`, not run. */
  skip(name: string, fn: F): void;
  skip(name: string, options: FlowOptions, fn: F): void;
}

function declarer<F extends FlowFn | BrowserFlowFn>(kind: DeclaredFlow['kind']): FlowDeclarer<F> {
  const declare = (extra: FlowOptions) =>
    function (name: string, optionsOrFn: FlowOptions | F, maybeFn?: F): void {
      const registry = (globalThis as Record<symbol, FlowRegistry | undefined>)[FLOW_REGISTRY_KEY];
      if (!registry) {
        throw new Error(
          `${kind}(${JSON.stringify(name)}) was called outside perf's loader: flows are declared at the top level of files under ` +
            `the config's ${kind === 'flow' ? '`flows.dir`' : '`browserFlows.dir`'} and run with \`perf run\` (not imported or run with node).`,
        );
      }
      if (typeof name !== 'string' || !name.trim()) throw new Error(`${kind}(): the first argument must be the flow's name (a non-empty string)`);
      const fn = (typeof optionsOrFn === 'function' ? optionsOrFn : maybeFn) as F | undefined;
      const options = typeof optionsOrFn === 'function' ? {} : { ...(optionsOrFn ?? {}) };
      if (typeof fn !== 'function') throw new Error(`${kind}(${JSON.stringify(name)}): the last argument must be the flow's function`);
      const site = callSite(registry);
      registry.add({ kind, name, options: { ...options, ...extra }, fn, file: site?.file ?? registry.file, ...(site ? { line: site.line } : {}) });
    };
  const d = declare({}) as FlowDeclarer<F>;
  d.only = declare({ only: true }) as FlowDeclarer<F>['only'];
  d.skip = declare({ skip: true }) as FlowDeclarer<F>['skip'];
  return d;
}

/** A backend flow: one check of the `flows` phase (or of `db-integrity` with `{ phase: 'db-integrity' }`). */
export const flow: FlowDeclarer<FlowFn> = declarer<FlowFn>('flow');
/** A browser flow: one check of the `frontend-flows` phase, run in Chromium with a Playwright `page`. */
export const browserFlow: FlowDeclarer<BrowserFlowFn> = declarer<BrowserFlowFn>('browserFlow');

/** The first stack frame outside this module: the user's `flow(...)` line. */
function callSite(registry: FlowRegistry): { file: string; line: number } | undefined {
  const stack = new Error().stack ?? '';
  for (const raw of stack.split('\n').slice(1)) {
    const m = /\(?((?:file:\/\/)?\/[^():]+|[A-Za-z]:[^():]+):(\d+):(\d+)\)?\s*$/.exec(raw.trim());
    if (!m) continue;
    let file = m[1]!;
    if (file.startsWith('file://')) {
      try {
        file = decodeURIComponent(new URL(file).pathname);
      } catch {
        continue;
      }
    }
    if (registry.apiDir && file.startsWith(registry.apiDir)) continue;
    if (/[\\/]api[\\/]flow\.ts$/.test(file) || file.includes('node_modules') || file.startsWith('node:')) continue;
    return { file, line: Number(m[2]) };
  }
  return undefined;
}
