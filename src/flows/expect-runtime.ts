/**
 * The implementation behind `perf-harness`'s `expect` (src/api/expect.ts is the public shim):
 * Jest's `expect` package, extended with `toHaveStatus`, plus `expect.poll`.
 *
 * Contract:
 * - importing this module installs the runtime on `globalThis[Symbol.for('perf.expect.runtime')]`
 *   (once per process), where every bundled copy of the shim finds it;
 * - a failed assertion throws an error carrying `matcherResult` ({ message, expected?, actual? }),
 *   Jest's own shape; `assertionOf(e)` recognises it by that shape (never `instanceof`: the error
 *   may come from any bundle) and gives the message without ANSI colours;
 * - `expect.poll(fn, { timeout = 5000, intervals = [100, 250, 500, 1000] })` calls `fn` until the
 *   matcher passes or the deadline (Playwright's semantics: a throwing `fn` is retried too), then
 *   fails with the last value received and the last assertion's message; the flow's signal
 *   (timeout, Ctrl-C) stops it at once (see `flowScope`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { stripVTControlCharacters } from 'node:util';
import { expect as jestExpect } from 'expect';
import { EXPECT_RUNTIME_KEY, type PerfExpect, type PollOptions } from '../api/expect.ts';

/** The running flow attempt, for waits that must stop with it. */
export const flowScope = new AsyncLocalStorage<{ signal: AbortSignal }>();

const BODY_IN_MESSAGE = 300;

jestExpect.extend({
  toHaveStatus(received: unknown, expected: number | readonly number[]) {
    const list = (Array.isArray(expected) ? expected : [expected]) as number[];
    const r = received as { status?: unknown; method?: string; url?: string; correlationId?: string; text?: string; exchange?: { responseBody?: string } } | null;
    if (!r || typeof r !== 'object' || typeof r.status !== 'number') {
      return { pass: false, message: () => `toHaveStatus: expected an API response (what api.get/post/... return), received ${this.utils.printReceived(received)}`, actual: received, expected: list };
    }
    const pass = list.includes(r.status);
    const request = `${r.method ?? 'request'} ${shortUrl(r.url)}${r.correlationId ? ` (correlation id ${r.correlationId})` : ''}`;
    const body = (r.exchange?.responseBody ?? r.text ?? '').trim();
    const quoted = body ? `\nresponse body: ${body.length > BODY_IN_MESSAGE ? `${body.slice(0, BODY_IN_MESSAGE)}…` : body}` : '';
    return {
      pass,
      message: () =>
        this.isNot
          ? `expected ${request} not to answer ${r.status}${quoted}`
          : `expected ${request} to answer ${list.join(' or ')}, received ${r.status}${quoted}`,
      actual: r.status,
      expected: list.length === 1 ? list[0] : list,
    };
  },
});

function shortUrl(url: string | undefined): string {
  if (!url) return '';
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return url;
  }
}

export interface AssertionInfo {
  message: string;
  expected?: unknown;
  received?: unknown;
}

/** The failed assertion in `e`, if it is one (duck-typed: Jest's `matcherResult`). */
export function assertionOf(e: unknown): AssertionInfo | undefined {
  if (!e || typeof e !== 'object' || !('matcherResult' in e)) return undefined;
  const m = (e as { matcherResult?: { expected?: unknown; actual?: unknown } }).matcherResult ?? {};
  const message = stripVTControlCharacters(String((e as { message?: unknown }).message ?? ''));
  return { message, ...('expected' in m ? { expected: m.expected } : {}), ...('actual' in m ? { received: m.actual } : {}) };
}

class PollTimeout extends Error {}

function poll(fn: () => unknown, opts: PollOptions = {}): unknown {
  const timeout = opts.timeout ?? 5_000;
  const intervals = opts.intervals?.length ? opts.intervals : [100, 250, 500, 1_000];
  const make = (isNot: boolean): unknown =>
    new Proxy(
      {},
      {
        get(_t, key) {
          if (key === 'not') return make(!isNot);
          if (typeof key !== 'string' || key === 'then') return undefined;
          return async (...args: unknown[]) => {
            const signal = flowScope.getStore()?.signal;
            const started = performance.now();
            const deadline = started + timeout;
            let last: unknown;
            let lastError: unknown;
            let tries = 0;
            let lateCall = false;
            for (let i = 0; ; i++) {
              tries++;
              try {
                last = await withDeadline(Promise.resolve().then(fn), deadline - performance.now());
                const m = (isNot ? jestExpect(last).not : jestExpect(last)) as unknown as Record<string, (...a: unknown[]) => unknown>;
                if (typeof m[key] !== 'function') throw new TypeError(`expect.poll(...).${key} is not a matcher`);
                await m[key]!(...args);
                return;
              } catch (e) {
                if (e instanceof TypeError && String(e.message).includes('is not a matcher')) throw e;
                // A call cut off by the deadline does not hide what the previous one showed.
                lateCall = e instanceof PollTimeout;
                if (!lateCall || lastError === undefined) lastError = e;
              }
              const left = deadline - performance.now();
              if (left <= 0) break;
              await sleep(Math.min(intervals[Math.min(i, intervals.length - 1)]!, left), undefined, signal ? { signal } : undefined);
            }
            const a = assertionOf(lastError);
            const why =
              (lastError instanceof PollTimeout
                ? 'the call did not return in time'
                : a
                  ? a.message
                  : `the call threw: ${lastError instanceof Error ? lastError.message : String(lastError)}`) +
              (lateCall && !(lastError instanceof PollTimeout) ? '\n(the last call was still running at the deadline)' : '');
            const error = new Error(
              `expect.poll${opts.message ? ` (${opts.message})` : ''}: did not pass within ${timeout} ms (${tries} tr${tries === 1 ? 'y' : 'ies'}); last received: ${preview(last)}\n\n${why}`,
            ) as Error & { matcherResult: unknown };
            error.matcherResult = { message: error.message, pass: false, actual: last, ...(a && 'expected' in a ? { expected: a.expected } : {}) };
            Error.captureStackTrace?.(error, make);
            throw error;
          };
        },
      },
    );
  return make(false);
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) return p;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PollTimeout()), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

function preview(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/** `expect(value, 'what it means')` (Playwright's custom message): the message leads the failure. */
function withMessage(target: object, message: string): unknown {
  const relabel = (e: unknown): never => {
    if (e && typeof e === 'object' && 'matcherResult' in e) {
      const err = e as Error & { matcherResult?: { message?: string } };
      err.message = `${message}\n\n${err.message}`;
      if (err.matcherResult && typeof err.matcherResult === 'object') err.matcherResult = { ...err.matcherResult, message: err.message };
    }
    throw e;
  };
  return new Proxy(target, {
    get(t, key) {
      const v = (t as Record<PropertyKey, unknown>)[key];
      if (typeof v === 'function') {
        return (...args: unknown[]) => {
          let r: unknown;
          try {
            r = (v as (...a: unknown[]) => unknown).apply(t, args);
          } catch (e) {
            relabel(e);
          }
          return r && typeof (r as Promise<unknown>).then === 'function' ? (r as Promise<unknown>).catch(relabel) : r;
        };
      }
      return v && typeof v === 'object' ? withMessage(v, message) : v;
    },
  });
}

/** The runtime `expect`: Jest's, plus `poll` and the optional message. */
export const perfExpect: PerfExpect = new Proxy(jestExpect as unknown as PerfExpect, {
  apply: (t, _this, args: unknown[]) => {
    const matchers = (t as unknown as (a: unknown) => object)(args[0]);
    return typeof args[1] === 'string' && args[1] ? withMessage(matchers, args[1]) : matchers;
  },
  get: (t, key) => (key === 'poll' ? poll : (t as unknown as Record<PropertyKey, unknown>)[key]),
});

(globalThis as Record<symbol, unknown>)[EXPECT_RUNTIME_KEY] ??= perfExpect;
