/**
 * `expect`: Jest's assertions (the `expect` package), plus `expect.poll` (Playwright's
 * semantics) and `toHaveStatus` for API responses.
 *
 * This is the public face only: the implementation lives in perf's runtime
 * (src/flows/expect-runtime.ts), which puts itself on `globalThis[Symbol.for('perf.expect.runtime')]`.
 * A user's file is bundled with its own copy of this module, and a perf.config.ts bundles it
 * too, so it must not import the `expect` package itself (types only): one implementation per
 * process, and failures that perf recognises whichever bundle threw them.
 *
 * A failed assertion throws an error whose message says expected and received (no colours);
 * perf turns it into the flow's failure, with the file:line of the assertion.
 */
import type { AsymmetricMatchers, Inverse, Matchers } from 'expect';

export interface PerfMatchers<R extends void | Promise<void>, T = unknown> extends Matchers<R, T> {
  /** The response (an `ApiResponse`) has this status, or one of these; the failure names the request and quotes the body. */
  toHaveStatus(expected: number | readonly number[]): R;
}

export interface PollOptions {
  /** Give up after this many ms (default 5000); the failure quotes the last value received. */
  timeout?: number;
  /** Waits between tries, ms; the last repeats (default [100, 250, 500, 1000]). */
  intervals?: number[];
  /** Says what is awaited, in the failure message. */
  message?: string;
}

type AllMatchers<R extends void | Promise<void>, T> = PerfMatchers<R, T> & Inverse<PerfMatchers<R, T>>;

export type PerfExpect = (<T = unknown>(
  actual: T,
  /** Says what the assertion means; it leads the failure message (Playwright's custom message). */
  message?: string,
) => AllMatchers<void, T> & {
  resolves: AllMatchers<Promise<void>, Awaited<T>>;
  rejects: AllMatchers<Promise<void>, unknown>;
}) &
  AsymmetricMatchers &
  Inverse<Omit<AsymmetricMatchers, 'any' | 'anything'>> & {
    /**
     * Calls `fn` until the matcher passes or `timeout` ms have gone (Playwright's `expect.poll`):
     * `await expect.poll(() => db.count('jobs', { status: 'done' })).toBe(1)`.
     */
    poll<T>(fn: () => T | Promise<T>, options?: PollOptions): AllMatchers<Promise<void>, Awaited<T>>;
  };

export const EXPECT_RUNTIME_KEY: unique symbol = Symbol.for('perf.expect.runtime') as never;

function runtime(): PerfExpect {
  const r = (globalThis as Record<symbol, PerfExpect | undefined>)[EXPECT_RUNTIME_KEY];
  if (!r) throw new Error('expect() from perf-harness works inside flows run by perf (`perf run`), not in files imported or run some other way');
  return r;
}

/** Delegates every use to the runtime's `expect` (see the file's contract). */
export const expect: PerfExpect = new Proxy((() => {}) as unknown as PerfExpect, {
  apply: (_t, _this, args: unknown[]) => (runtime() as unknown as (...a: unknown[]) => unknown)(...args),
  get: (_t, key) => (runtime() as unknown as Record<PropertyKey, unknown>)[key],
  has: (_t, key) => key in runtime(),
});
