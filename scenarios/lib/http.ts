// HTTP for scenarios: every request carries a correlation id (X-Request-Id) that names the
// run, the VU and the iteration, and a `name` tag so gates can target one endpoint
// (`http_req_duration{name:items_list}`) without the URL's ids exploding the tags.
// With an OpenAPI document (`smoke.openapi`), also an `operation` tag: the documented operation.
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import { BASE_URL, RUN_ID } from './env.ts';
import { authHeaders, credentialUrl, type Session } from './auth.ts';

let counter = 0;

/**
 * With `smoke.openapi`, the document's operations as `[method, pattern source, id]`, exact paths
 * first (src/openapi/coverage.ts `operationsEnv`): compiled once per VU, when the module loads.
 * Each request is tagged `operation: <id>` so the verdict's endpoint coverage can count it (k6
 * keeps no URL tag). Without a document: none, and no tag.
 */
const OPERATIONS: { method: string; re: RegExp; id: string }[] = (JSON.parse(__ENV.PERF_OPENAPI_OPERATIONS || '[]') as [string, string, string][]).map(([method, source, id]) => ({
  method,
  re: new RegExp(source),
  id,
}));

/**
 * `{ operation: <id> }` for a request to `path` (relative to BASE_URL, query allowed) when the
 * config's OpenAPI document has the operation, else `{}`. `api()` adds it itself; a raw
 * `http.*` call with a custom `name` spreads it into its tags to be counted in coverage.
 */
export function operationTag(method: string, path: string): { operation?: string } {
  if (!OPERATIONS.length) return {};
  const m = method.toUpperCase();
  const cut = path.search(/[?#]/);
  const p = cut < 0 ? path : path.slice(0, cut);
  for (const o of OPERATIONS) if (o.method === m && o.re.test(p)) return { operation: o.id };
  return {};
}

/**
 * `perf-<run>-vu<n>-it<i>-<count>`. From k6's `__VU`/`__ITER` globals, not `exec.vu`: each read
 * of `exec.vu` builds k6's VU info object anew, which cost 8-11 % of k6's CPU per request at
 * saturation (bench/results/k6-cpu-profile.txt). perf runs one scenario per k6 process, so
 * `__ITER` is the iteration in the scenario (absent in setup() and teardown(): 0).
 */
export function correlationId(): string {
  counter++;
  // k6 defines no `__ITER` outside a VU's iterations (setup(), teardown()): iteration 0 there.
  return `perf-${RUN_ID}-vu${__VU}-it${typeof __ITER === 'undefined' ? 0 : __ITER}-${counter}`;
}

export interface Call {
  /** The endpoint's name: becomes the `name` tag. */
  name: string;
  /** Sent as this user: its credential headers (or API-key query), per PERF_AUTH (auth.ts). */
  as?: Session;
  /** A bearer token, sent as `Authorization: Bearer <token>` (services whose credential is not in PERF_AUTH). */
  token?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  body?: unknown;
  /** Statuses that are a success for this call (default: 2xx); others count as failed requests. */
  expect?: number[];
}

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export function api(method: Method, path: string, call: Call): RefinedResponse<ResponseType> {
  const headers: Record<string, string> = { 'X-Request-Id': correlationId(), ...authHeaders(call.as, method), ...(call.headers ?? {}) };
  if (call.token) headers.Authorization = `Bearer ${call.token}`;
  if (call.body !== undefined) headers['Content-Type'] = 'application/json';
  const params = {
    headers,
    tags: { name: call.name, ...operationTag(method, path) },
    ...(call.expect ? { responseCallback: http.expectedStatuses(...call.expect) } : {}),
  };
  const body = call.body === undefined ? null : JSON.stringify(call.body);
  return http.request(method, credentialUrl(call.as, `${BASE_URL}${path}`), body, params);
}

/** The response body as JSON, or undefined when it is not JSON (never throws). */
export function json<T>(res: RefinedResponse<ResponseType>): T | undefined {
  try {
    return res.json() as unknown as T;
  } catch {
    return undefined;
  }
}
