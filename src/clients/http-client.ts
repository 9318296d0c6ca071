/**
 * The HTTP client every Node-side check uses (over the global `fetch`).
 *
 * Contract:
 * - every request carries `X-Request-Id: ctx.correlationId()` (or the header the constructor's
 *   `correlationHeader` names: config `http.correlationHeader`), so a failure in the report can
 *   be found in the target's logs;
 * - every exchange becomes an `HttpExchange` (method, URL, headers, bodies, status, timings,
 *   error), redacted through `ctx.redactor` *before* the body is truncated (a cut secret could
 *   escape redaction by value), and recorded with `ctx.record` — unless the request asked for
 *   `record: false` (bulk polling, concurrency storms): then the exchange rides on the response
 *   and is recorded only when an assertion on it fails (`expectStatus`, `json`, `failWith`);
 * - the check's `ctx.signal` aborts requests in flight (timeouts, SIGINT);
 * - a connection error (refused, reset, DNS, aborted) throws a `CheckFailure` naming method,
 *   path and correlation id; an HTTP status never throws by itself — the check decides with
 *   `expectStatus`.
 */
import { CheckFailure, type CheckContext, type HttpExchange } from '../checks/types.ts';

/** Bodies kept in evidence are cut here (after redaction). */
export const EVIDENCE_BODY_LIMIT = 8 * 1024;
const DEFAULT_TIMEOUT_MS = 15_000;

export interface RequestOptions {
  /** Sent as `Authorization: Bearer <token>` (the token is registered as a secret). */
  token?: string;
  /** JSON-serialised unless a string; sets `Content-Type: application/json` when it is not a string. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Per-request deadline on top of `ctx.signal`. */
  timeoutMs?: number;
  /** `false`: do not record unless a later assertion on this response fails. Default true. */
  record?: boolean;
}

export interface HttpResponse {
  method: string;
  url: string;
  /** The path (and query) as the check wrote it, for messages. */
  path: string;
  status: number;
  headers: Record<string, string>;
  /** Every `Set-Cookie` line of the answer, one each (`headers` keeps only one of several). */
  setCookie: string[];
  /** The whole body as text (evidence keeps a redacted, truncated copy). */
  text: string;
  correlationId: string;
  durationMs: number;
  ttfbMs: number;
  /** The redacted evidence of this exchange. */
  exchange: HttpExchange;
  /** Hands `exchange` to `ctx.record` unless it was recorded already (idempotent). */
  ensureRecorded(): void;
}

export class HttpClient {
  readonly baseUrl: string;

  /** The request header carrying the correlation id (config `http.correlationHeader`). */
  readonly correlationHeader: string;

  constructor(
    readonly ctx: CheckContext,
    baseUrl: string = ctx.target.baseUrl,
    opts: { correlationHeader?: string } = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.correlationHeader = (opts.correlationHeader ?? 'X-Request-Id').toLowerCase();
  }

  get(path: string, opts?: RequestOptions): Promise<HttpResponse> {
    return this.request('GET', path, opts);
  }
  post(path: string, body?: unknown, opts?: RequestOptions): Promise<HttpResponse> {
    return this.request('POST', path, { ...opts, body });
  }
  patch(path: string, body?: unknown, opts?: RequestOptions): Promise<HttpResponse> {
    return this.request('PATCH', path, { ...opts, body });
  }
  put(path: string, body?: unknown, opts?: RequestOptions): Promise<HttpResponse> {
    return this.request('PUT', path, { ...opts, body });
  }
  delete(path: string, opts?: RequestOptions): Promise<HttpResponse> {
    return this.request('DELETE', path, opts);
  }

  /** `path` is relative to the base URL, or an absolute http(s) URL. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    const { ctx } = this;
    const url = /^https?:\/\//i.test(path) ? path : `${this.baseUrl}${path.startsWith('/') ? '' : '/'}${path}`;
    const correlationId = ctx.correlationId();
    const { headers, body } = this.requestParts('application/json', correlationId, opts);

    const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS)]);
    const startedAt = new Date();
    const t0 = performance.now();
    let answer: Answer | undefined;
    let text = '';
    let error: string | undefined;
    try {
      answer = await fetchAnswer(url, method, headers, body, signal, t0);
      text = await answer.res.text();
    } catch (e) {
      error = describeFetchError(e, signal, ctx.signal);
    }
    const durationMs = performance.now() - t0;

    const exchange = httpExchange(ctx, { correlationId, method, url, headers, body, startedAt, durationMs, ...answer?.head, responseText: text, error });
    let recorded = opts.record !== false || error !== undefined;
    if (recorded) ctx.record(exchange);
    if (error !== undefined) {
      throw new CheckFailure(`${method} ${pathOf(path)}: ${error} (correlation id ${correlationId})`);
    }
    return {
      method,
      url,
      path: pathOf(path),
      status: answer!.head.status,
      headers: answer!.head.responseHeaders,
      setCookie: answer!.setCookie,
      text,
      correlationId,
      durationMs: round(durationMs),
      ttfbMs: round(answer!.head.ttfbMs),
      exchange,
      ensureRecorded() {
        if (recorded) return;
        recorded = true;
        ctx.record(exchange);
      },
    };
  }

  /**
   * The headers (names lower-cased: `accept`, the caller's, the correlation id, then a bearer
   * `token`, registered as a secret) and the body (JSON-serialised unless a string, with
   * `content-type: application/json` unless the caller set one) of a request of this client.
   */
  requestParts(accept: string, correlationId: string, opts: Pick<RequestOptions, 'headers' | 'token' | 'body'>): { headers: Record<string, string>; body: string | undefined } {
    const headers: Record<string, string> = { accept };
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
    headers[this.correlationHeader] = correlationId;
    if (opts.token !== undefined) {
      this.ctx.redactor.addSecret(opts.token);
      headers.authorization = `Bearer ${opts.token}`;
    }
    let body: string | undefined;
    if (opts.body !== undefined) {
      if (typeof opts.body === 'string') body = opts.body;
      else {
        body = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
    }
    return { headers, body };
  }
}

/** A response whose head arrived: its body is still to be read from `res`. */
export interface Answer {
  res: Response;
  /** Status, headers and time to first byte, as `httpExchange` takes them. */
  head: { status: number; responseHeaders: Record<string, string>; ttfbMs: number };
  /** Every `Set-Cookie` line, one each. */
  setCookie: string[];
}

/** Sends one request (redirects not followed: they are the check's business); throws what fetch throws. `t0`: when the exchange started (performance.now()). */
export async function fetchAnswer(url: string, method: string, headers: Record<string, string>, body: string | undefined, signal: AbortSignal, t0: number): Promise<Answer> {
  const res = await fetch(url, { method, headers, body, signal, redirect: 'manual' });
  const ttfbMs = performance.now() - t0;
  return { res, head: { status: res.status, responseHeaders: Object.fromEntries(res.headers), ttfbMs }, setCookie: res.headers.getSetCookie() };
}

/** What `httpExchange` makes evidence of: one request and what came back (no status: no answer). */
export interface ExchangeParts {
  correlationId: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  startedAt: Date;
  durationMs: number;
  ttfbMs?: number;
  status?: number;
  responseHeaders?: Record<string, string>;
  /** The whole response body as text (only kept when there is a status). */
  responseText: string;
  error?: string;
}

/**
 * The redacted evidence of one exchange: URL, headers and bodies through `ctx.redactor`, bodies
 * redacted *before* they are cut at EVIDENCE_BODY_LIMIT (a cut secret could escape redaction by
 * value), times rounded to 0.01 ms.
 */
export function httpExchange(ctx: CheckContext, x: ExchangeParts): HttpExchange {
  return {
    kind: 'http',
    correlationId: x.correlationId,
    method: x.method,
    url: ctx.redactor.redactString(x.url),
    requestHeaders: ctx.redactor.redactHeaders(x.headers),
    ...(x.body !== undefined && { requestBody: truncate(ctx.redactor.redactBody(x.body)) }),
    ...(x.status !== undefined && { status: x.status }),
    ...(x.responseHeaders && { responseHeaders: ctx.redactor.redactHeaders(x.responseHeaders) }),
    ...(x.status !== undefined && { responseBody: truncate(ctx.redactor.redactBody(x.responseText)) }),
    startedAt: x.startedAt.toISOString(),
    durationMs: round(x.durationMs),
    ...(x.ttfbMs !== undefined && { ttfbMs: round(x.ttfbMs) }),
    ...(x.error !== undefined && { error: x.error }),
  };
}

/** `METHOD /path (correlation id X)`: how every failure message names a request. */
export function describeRequest(res: Pick<HttpResponse, 'method' | 'path' | 'correlationId'>): string {
  return `${res.method} ${res.path} (correlation id ${res.correlationId})`;
}

/**
 * Throws a CheckFailure unless the status is one of `expected`. `what` says what the request
 * was for ("login with a wrong password"); the message names method, path, expected and actual
 * status, the correlation id, and the start of the response body.
 */
export function expectStatus(res: HttpResponse, expected: number | readonly number[], what: string): void {
  const list = typeof expected === 'number' ? [expected] : expected;
  if (list.includes(res.status)) return;
  res.ensureRecorded();
  throw new CheckFailure(
    `${what}: ${res.method} ${res.path} answered ${res.status}, expected ${list.join(' or ')} (correlation id ${res.correlationId})${bodyHint(res)}`,
  );
}

/** The body as JSON; a CheckFailure (naming the request) when it is not JSON. */
export function json<T = unknown>(res: HttpResponse, what = 'response'): T {
  try {
    return JSON.parse(res.text) as T;
  } catch {
    res.ensureRecorded();
    throw new CheckFailure(`${what}: ${describeRequest(res)} did not answer JSON${bodyHint(res)}`);
  }
}

/** A CheckFailure about this response (recorded), with its correlation id in the message. */
export function failWith(res: HttpResponse, message: string): CheckFailure {
  res.ensureRecorded();
  return new CheckFailure(`${message} — ${describeRequest(res)}`);
}

function bodyHint(res: HttpResponse): string {
  const body = res.exchange.responseBody?.trim();
  if (!body) return '';
  return `: ${body.length > 200 ? `${body.slice(0, 200)}…` : body}`;
}

function truncate(s: string): string {
  if (s.length <= EVIDENCE_BODY_LIMIT) return s;
  return `${s.slice(0, EVIDENCE_BODY_LIMIT)}… [truncated, ${s.length} characters in all]`;
}

function pathOf(pathOrUrl: string): string {
  if (!/^https?:\/\//i.test(pathOrUrl)) return pathOrUrl;
  const u = new URL(pathOrUrl);
  return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
}

function describeFetchError(e: unknown, signal: AbortSignal, checkSignal: AbortSignal): string {
  if (checkSignal.aborted) return 'aborted (check timed out or the run was interrupted)';
  if (signal.aborted) return 'no answer within the request timeout';
  const err = e as Error & { cause?: { code?: string; message?: string } };
  const cause = err.cause;
  if (cause?.code) return `connection failed: ${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return `request failed: ${cause?.message ?? err.message}`;
}

const round = (ms: number) => Math.round(ms * 100) / 100;
