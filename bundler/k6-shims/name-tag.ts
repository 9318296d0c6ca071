/**
 * Runs inside k6 (bundled into a scenario in place of its `k6/http`, `k6/ws` and
 * `k6/websockets` imports: bundler/bundle.ts). The `name` tag a request or connection gets
 * when the script gives it none.
 *
 * Why: k6 tags every HTTP and WebSocket sample with `name` = the URL as written, query string
 * and userinfo included. A URL such as `wss://host/ws?token=<jwt>` then carries the token into
 * every raw sample, every analysis file and every InfluxDB series (one series per token). perf
 * names such a request after its URL without the query string, the fragment and the userinfo,
 * before k6 sees it, so k6 never stores the secret. A `name` the script sets itself is kept
 * as it is (perf's ingest still refuses one with a token shape: analysis/tag-secrets.ts).
 */

/** `url` without `?query`, `#fragment` and `user:password@`. */
export function urlName(url: string): string {
  let s = url;
  const hash = s.indexOf('#');
  if (hash >= 0) s = s.slice(0, hash);
  const query = s.indexOf('?');
  if (query >= 0) s = s.slice(0, query);
  return s.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/]*@/, '$1');
}

interface Tagged {
  tags?: Record<string, unknown>;
  [k: string]: unknown;
}

/**
 * `params` (a k6 params object, or null/undefined) with `tags.name` set from `url` when it has
 * none. A copy: the script's object is never changed. A URL that is not a string (`http.url`
 * template objects, whose name is already the template without its values) is left to k6.
 */
export function withNameTag<P>(url: unknown, params: P): P {
  if (typeof url !== 'string') return params;
  const p = (params ?? {}) as Tagged;
  if (p.tags && typeof p.tags.name === 'string') return params;
  return { ...p, tags: { ...(p.tags ?? {}), name: urlName(url) } } as P;
}

/** A module object copied (own properties, enumerable or not) with `overrides` on top: the default export of a shim. */
export function moduleWith<T extends object>(real: T, overrides: Partial<T>): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(real)) out[key] = (real as Record<string, unknown>)[key];
  return Object.assign(out, overrides) as T;
}
