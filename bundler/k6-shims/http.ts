/**
 * Runs inside k6: what a scenario's `import ... from 'k6/http'` resolves to (bundler/bundle.ts).
 * k6's own module with one change: every request without a `name` tag is named after its URL
 * without query string and userinfo (./name-tag.ts says why). Everything else is k6's.
 */
import http from 'k6/http';
import { moduleWith, withNameTag } from './name-tag.ts';

type Http = typeof http;
type Params = Parameters<Http['get']>[1];
type BatchRequest = string | unknown[] | { method?: string; url?: unknown; body?: unknown; params?: Params };

/** One request of `http.batch` (a URL, an array `[method, url, body, params]` or an object) with its name tag. */
function namedBatchRequest(r: BatchRequest): BatchRequest {
  if (typeof r === 'string') return { method: 'GET', url: r, params: withNameTag(r, undefined as Params) };
  if (Array.isArray(r)) {
    const copy = [...r];
    copy[3] = withNameTag(copy[1], copy[3] as Params);
    return copy;
  }
  if (r && typeof r === 'object') return { ...r, params: withNameTag(r.url, r.params) };
  return r;
}

export const get = ((url: unknown, params?: Params) => http.get(url as string, withNameTag(url, params))) as Http['get'];
export const head = ((url: unknown, params?: Params) => http.head(url as string, withNameTag(url, params))) as Http['head'];
export const post = ((url: unknown, body?: unknown, params?: Params) => http.post(url as string, body as never, withNameTag(url, params))) as Http['post'];
export const put = ((url: unknown, body?: unknown, params?: Params) => http.put(url as string, body as never, withNameTag(url, params))) as Http['put'];
export const patch = ((url: unknown, body?: unknown, params?: Params) => http.patch(url as string, body as never, withNameTag(url, params))) as Http['patch'];
export const del = ((url: unknown, body?: unknown, params?: Params) => http.del(url as string, body as never, withNameTag(url, params))) as Http['del'];
export const options = ((url: unknown, body?: unknown, params?: Params) => http.options(url as string, body as never, withNameTag(url, params))) as Http['options'];
export const request = ((method: string, url: unknown, body?: unknown, params?: Params) =>
  http.request(method, url as string, body as never, withNameTag(url, params))) as Http['request'];
export const asyncRequest = ((method: string, url: unknown, body?: unknown, params?: Params) =>
  http.asyncRequest(method, url as string, body as never, withNameTag(url, params))) as Http['asyncRequest'];
export const batch = ((requests: unknown) => {
  if (Array.isArray(requests)) return http.batch(requests.map((r) => namedBatchRequest(r as BatchRequest)) as never);
  if (requests && typeof requests === 'object') {
    const named: Record<string, BatchRequest> = {};
    for (const [k, r] of Object.entries(requests)) named[k] = namedBatchRequest(r as BatchRequest);
    return http.batch(named as never);
  }
  return http.batch(requests as never);
}) as Http['batch'];

// Unchanged from k6.
export const { url, file, cookieJar, CookieJar, setResponseCallback, expectedStatuses } = http;
export const { TLS_1_0, TLS_1_1, TLS_1_2, TLS_1_3 } = http;
export const { OCSP_STATUS_GOOD, OCSP_STATUS_REVOKED, OCSP_STATUS_SERVER_FAILED, OCSP_STATUS_UNKNOWN } = http;
export const { OCSP_REASON_UNSPECIFIED, OCSP_REASON_KEY_COMPROMISE, OCSP_REASON_CA_COMPROMISE, OCSP_REASON_AFFILIATION_CHANGED } = http;
export const { OCSP_REASON_SUPERSEDED, OCSP_REASON_CESSATION_OF_OPERATION, OCSP_REASON_CERTIFICATE_HOLD, OCSP_REASON_REMOVE_FROM_CRL } = http;
export const { OCSP_REASON_PRIVILEGE_WITHDRAWN, OCSP_REASON_AA_COMPROMISE } = http;

export default moduleWith(http, { get, head, post, put, patch, del, options, request, asyncRequest, batch });
