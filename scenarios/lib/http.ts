// HTTP for scenarios: every request carries a correlation id (X-Request-Id) that names the
// run, the VU and the iteration, and a `name` tag so gates can target one endpoint
// (`http_req_duration{name:items_list}`) without the URL's ids exploding the tags.
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import exec from 'k6/execution';
import { BASE_URL, RUN_ID } from './env.ts';
import { authHeaders, credentialUrl, type Session } from './auth.ts';

let counter = 0;

export function correlationId(): string {
  counter++;
  return `perf-${RUN_ID}-vu${exec.vu.idInTest}-it${exec.vu.iterationInScenario}-${counter}`;
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
    tags: { name: call.name },
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
