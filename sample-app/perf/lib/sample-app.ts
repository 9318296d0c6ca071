/**
 * Small helpers shared by sample-app's flows: the shapes of its answers and a few of its
 * requests. Not a flow file (it lives outside `flows/`): it declares nothing, the flows import it.
 */
import type { ApiClient, ApiResponse, TestUser } from 'perf-harness';

/** Brand kits a user may hold (sample-app's `enforce_brand_kit_limit()` trigger). */
export const BRAND_KIT_LIMIT = 10;

export interface Kit {
  id: string;
  userId?: string;
  name?: string;
}
export interface Job {
  id: string;
  userId?: string;
  status?: string;
  assetIds?: string[];
}
export interface Asset {
  id: string;
  userId?: string;
  jobId?: string;
  url?: string;
  contentUrl?: string;
}

/** The items of a list answer (`{items: [...]}` or a bare array); undefined when it is neither. */
export function itemsOf<T = { id?: unknown; userId?: unknown }>(body: unknown): T[] | undefined {
  if (Array.isArray(body)) return body as T[];
  const items = (body as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as T[]) : undefined;
}

/** `POST /brand-kits` as `user`; fails unless it answers 201 with an id. */
export async function createKit(api: ApiClient, user: TestUser, name: string): Promise<Kit> {
  const res = await api.as(user).post<Kit>('/brand-kits', { name, colors: ['#1F6FEB', '#3FB950'], fonts: ['Inter'] });
  if (res.status !== 201 || typeof res.json?.id !== 'string') {
    throw new Error(`creating brand kit "${name}" answered ${res.status} ${res.text.slice(0, 200)}, expected 201 with an id (correlation id ${res.correlationId})`);
  }
  return res.json;
}

/** `POST /jobs` as `user`; fails unless it answers 201/202 with an id. */
export async function createJob(api: ApiClient, user: TestUser, prompt: string): Promise<ApiResponse<Job>> {
  const res = await api.as(user).post<Job>('/jobs', { prompt });
  if ((res.status !== 201 && res.status !== 202) || typeof res.json?.id !== 'string') {
    throw new Error(`creating a job answered ${res.status} ${res.text.slice(0, 200)}, expected 201 or 202 with an id (correlation id ${res.correlationId})`);
  }
  return res;
}

/** The claims of a JWT, unverified (to read the session id `sid` of an access token). */
export function jwtClaims(token: string | undefined): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from((token ?? '').split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
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

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
