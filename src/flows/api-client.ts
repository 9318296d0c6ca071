/**
 * The `api` fixture: HTTP on the target's base URL for flows, over the checks' HttpClient.
 *
 * Contract: every exchange is evidence of the flow's check (redacted by HttpClient: bodies,
 * headers, credentials registered as secrets); every request carries a correlation id in the
 * header `http.correlationHeader` names; `as(user)` presents the user's credential the way
 * `auth.credential` says (AUTH's authHeadersFor / credentialUrl) and keeps a cookie session's
 * jar up to date (rememberCookies); an HTTP status never throws (assert with `toHaveStatus`), a
 * connection error does (a CheckFailure naming the request). `stream()` reads server-sent
 * events until the stream ends, `maxEvents`, or the timeout (not a failure: what arrived is returned).
 */
import type { ApiClient, ApiRequestOptions, ApiResponse, SseEvent, TestUser } from '../api/types.ts';
import { authHeadersFor, credentialUrl, rememberCookies } from '../auth/users.ts';
import { CheckFailure, type CheckContext } from '../checks/types.ts';
import { HttpClient, fetchAnswer, httpExchange, type Answer, type HttpResponse } from '../clients/http-client.ts';
import type { ResolvedConfig } from '../config/config-schema.ts';

const STREAM_TIMEOUT_MS = 15_000;

export function createApiClient(ctx: CheckContext, config: ResolvedConfig, baseUrl: string = ctx.target.baseUrl): ApiClient {
  const http = new HttpClient(ctx, baseUrl, { correlationHeader: config.http?.correlationHeader });
  return client(ctx, http, undefined);
}

function client(ctx: CheckContext, http: HttpClient, user: TestUser | undefined): ApiClient {
  const urlOf = (path: string, query?: ApiRequestOptions['query']): string => {
    const base = /^https?:\/\//i.test(path) ? path : `${http.baseUrl}${path.startsWith('/') ? '' : '/'}${path}`;
    if (!query || !Object.keys(query).length) return base;
    const u = new URL(base);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, String(v));
    return u.toString();
  };
  const prepare = (method: string, path: string, opts: ApiRequestOptions) => {
    let url = urlOf(path, opts.query);
    const headers: Record<string, string> = {};
    if (user) {
      url = credentialUrl(user, url);
      Object.assign(headers, authHeadersFor(user, method, url));
    }
    Object.assign(headers, opts.headers ?? {});
    return { url, headers };
  };
  const request = async <T>(method: string, path: string, opts: ApiRequestOptions = {}): Promise<ApiResponse<T>> => {
    const m = method.toUpperCase();
    const { url, headers } = prepare(m, path, opts);
    const res = await http.request(m, url, { headers, ...(opts.body !== undefined && { body: opts.body }), ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }) });
    if (user && res.setCookie.length) rememberCookies(user, url, res.setCookie);
    return toApiResponse<T>(res);
  };
  return {
    get: (path, opts) => request('GET', path, opts),
    post: (path, body, opts) => request('POST', path, { ...opts, body }),
    put: (path, body, opts) => request('PUT', path, { ...opts, body }),
    patch: (path, body, opts) => request('PATCH', path, { ...opts, body }),
    delete: (path, opts) => request('DELETE', path, opts),
    request: (method, path, opts) => request(method, path, opts),
    as: (u) => client(ctx, http, u),
    stream: async (path, opts = {}) => {
      const method = (opts.method ?? 'GET').toUpperCase();
      const { url, headers } = prepare(method, path, opts);
      return readStream(ctx, http, method, url, headers, opts, user);
    },
  };
}

/** The public response; `exchange` (the redacted evidence) rides along, not enumerable, for `toHaveStatus`. */
export function toApiResponse<T>(res: Pick<HttpResponse, 'method' | 'status' | 'headers' | 'text' | 'durationMs' | 'correlationId' | 'exchange'>): ApiResponse<T> {
  let parsed: { value: unknown } | undefined;
  const out = {
    method: res.method,
    url: res.exchange.url,
    status: res.status,
    headers: res.headers,
    text: res.text,
    get json(): T {
      if (!parsed) {
        try {
          parsed = { value: JSON.parse(res.text) };
        } catch {
          parsed = { value: undefined };
        }
      }
      return parsed.value as T;
    },
    durationMs: res.durationMs,
    correlationId: res.correlationId,
  };
  Object.defineProperty(out, 'exchange', { value: res.exchange, enumerable: false });
  return out as ApiResponse<T>;
}

async function readStream(
  ctx: CheckContext,
  http: HttpClient,
  method: string,
  url: string,
  extra: Record<string, string>,
  opts: ApiRequestOptions & { maxEvents?: number },
  user: TestUser | undefined,
): Promise<{ response: ApiResponse<string>; events: SseEvent[] }> {
  const correlationId = ctx.correlationId();
  const { headers, body } = http.requestParts('text/event-stream', correlationId, { headers: extra, body: opts.body });
  const stop = new AbortController();
  const timeoutMs = opts.timeoutMs ?? STREAM_TIMEOUT_MS;
  const timer = setTimeout(() => stop.abort(), timeoutMs);
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const startedAt = new Date();
  const t0 = performance.now();
  const events: SseEvent[] = [];
  let raw = '';
  let answer: Answer | undefined;
  let error: string | undefined;
  try {
    answer = await fetchAnswer(url, method, headers, body, signal, t0);
    const { res } = answer;
    if (user && answer.setCookie.length) rememberCookies(user, url, answer.setCookie);
    if (res.body) {
      const decoder = new TextDecoder();
      let pending = '';
      let cur: { event?: string; data: string[]; id?: string } = { data: [] };
      try {
        for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
          const text = decoder.decode(chunk, { stream: true });
          raw += text;
          pending += text;
          const lines = pending.split(/\r\n|\r|\n/);
          pending = lines.pop() ?? '';
          for (const line of lines) {
            if (line === '') {
              if (cur.data.length || cur.event) {
                events.push({ event: cur.event ?? 'message', data: cur.data.join('\n'), ...(cur.id !== undefined && { id: cur.id }), atMs: Math.round(performance.now() - t0) });
                if (opts.maxEvents && events.length >= opts.maxEvents) stop.abort();
              }
              cur = { data: [] };
              continue;
            }
            if (line.startsWith(':')) continue;
            const i = line.indexOf(':');
            const field = i < 0 ? line : line.slice(0, i);
            const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
            if (field === 'event') cur.event = value;
            else if (field === 'data') cur.data.push(value);
            else if (field === 'id') cur.id = value;
          }
          if (stop.signal.aborted) break;
        }
      } catch (e) {
        // Stopped by maxEvents or the timeout: what arrived is the result. The check's own abort is not.
        if (ctx.signal.aborted) error = 'aborted (check timed out or the run was interrupted)';
        else if (!stop.signal.aborted) error = `stream broke: ${(e as Error).message}`;
      }
    }
  } catch (e) {
    error = ctx.signal.aborted ? 'aborted (check timed out or the run was interrupted)' : stop.signal.aborted ? `no answer within ${timeoutMs} ms` : `connection failed: ${((e as Error & { cause?: Error }).cause ?? (e as Error)).message}`;
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
  const durationMs = Math.round((performance.now() - t0) * 100) / 100;
  const exchange = httpExchange(ctx, { correlationId, method, url, headers, body, startedAt, durationMs, ...answer?.head, responseText: raw, error });
  ctx.record(exchange);
  if (!answer) throw new CheckFailure(`${method} ${exchange.url}: ${error ?? 'no answer'} (correlation id ${correlationId})`);
  return { response: toApiResponse<string>({ method, status: answer.head.status, headers: answer.head.responseHeaders, text: raw, durationMs, correlationId, exchange }), events };
}
