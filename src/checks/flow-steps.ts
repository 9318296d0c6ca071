/**
 * What every flow shares: named sequential steps over one HTTP client, fresh test users, and
 * small helpers to read answers.
 *
 * Contract: a failing step's message starts with `step "<name>": `, so a report says where in
 * the journey it broke; step durations go to the `steps_ms` measurement. Users made with
 * `freshUser` are new on every attempt of a check (the label carries an attempt counter kept in
 * `ctx.shared`), so a retried flow never inherits the failed attempt's kits or jobs, and a rerun
 * of the same run id meets the same accounts in the same order.
 */
import { HttpClient, expectStatus, failWith, json, type HttpResponse } from '../clients/http-client.ts';
import { CheckFailure, type CheckContext } from './types.ts';
import { signupOrLogin, type PerfUser } from './users.ts';

export class Flow {
  readonly http: HttpClient;
  readonly #stepsMs: Record<string, number> = {};

  constructor(readonly ctx: CheckContext) {
    this.http = new HttpClient(ctx);
  }

  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } catch (e) {
      if (e instanceof CheckFailure) throw new CheckFailure(`step "${name}": ${e.message}`, e.evidence);
      throw e;
    } finally {
      this.#stepsMs[name] = Math.round((performance.now() - t0) * 100) / 100;
      this.ctx.measure('steps_ms', { ...this.#stepsMs });
    }
  }

  /** `<label>-<n>`, n counting this phase's requests for the label: new on every attempt. */
  freshLabel(label: string): string {
    const key = `perf.flow.attempts:${label}`;
    const n = ((this.ctx.shared.get(key) as number | undefined) ?? 0) + 1;
    this.ctx.shared.set(key, n);
    return `${label}-${n}`;
  }

  /** A new account for this attempt (see `freshLabel`). */
  freshUser(label: string): Promise<PerfUser> {
    return signupOrLogin(this.ctx, this.http, this.freshLabel(label));
  }

  /** `expectStatus` + the JSON body. */
  async expectJson<T>(res: Promise<HttpResponse> | HttpResponse, status: number | readonly number[], what: string): Promise<{ res: HttpResponse; body: T }> {
    const r = await res;
    expectStatus(r, status, what);
    return { res: r, body: json<T>(r, what) };
  }
}

/** Fails the check (recording the exchange, naming its correlation id) unless `ok`. */
export function ensure(ok: unknown, res: HttpResponse, message: string): asserts ok {
  if (!ok) throw failWith(res, message);
}

export interface Identified {
  id?: unknown;
  userId?: unknown;
}

/** The `items` array of a list answer (`{items: [...]}` or a bare array). */
export function itemsOf<T = Identified>(body: unknown): T[] | undefined {
  if (Array.isArray(body)) return body as T[];
  const items = (body as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as T[]) : undefined;
}

/** The payload of a JWT (not verified: only to read claims such as the session id). */
export function jwtClaims(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Runs `tasks` with at most `limit` in flight; results in task order. */
export async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}
