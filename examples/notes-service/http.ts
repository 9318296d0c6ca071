// Small HTTP plumbing over node:http: trace ids, JSON in and out, the request log.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An answer decided deep in a handler; the router turns it into a JSON response. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
  }
}

/** 400 in this service's one shape for bad input: `{"message":"invalid","fields":[...]}`. */
export const invalid = (fields: string[]): HttpError => new HttpError(400, { message: 'invalid', fields });

// A caller's trace id is echoed only if it is printable ASCII without spaces, at most 128
// characters (it goes into a header and a log line); anything else gets a fresh id.
const TRACE_ID_RE = /^[\x21-\x7e]{1,128}$/;

export function traceIdOf(req: IncomingMessage): string {
  const given = req.headers['x-trace-id'];
  const value = Array.isArray(given) ? given[0] : given;
  return value !== undefined && TRACE_ID_RE.test(value) ? value : randomBytes(16).toString('hex');
}

/** Sends `body` as JSON (or no body at all, for 204). */
export function sendJson(res: ServerResponse, status: number, body?: unknown): void {
  res.statusCode = status;
  if (status === 204 || body === undefined) {
    res.end();
    return;
  }
  const payload = JSON.stringify(body);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(payload));
  res.end(payload);
}

const BODY_LIMIT = 64 * 1024;

/**
 * Reads the request body as JSON. An empty body gives undefined (the handler's validation
 * then answers 400 naming its fields); malformed JSON is a 400 naming "body"; more than
 * 64 KiB is a 413. The content-type is not checked.
 */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new HttpError(413, { message: 'too large' });
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid(['body']);
  }
}

/** The path without query string: what routing and the request log see. */
export function pathOf(req: IncomingMessage): string {
  const raw = req.url ?? '/';
  const q = raw.indexOf('?');
  return q === -1 ? raw : raw.slice(0, q);
}

/**
 * One JSON line on stderr. Callers pass only method, path, status, trace id, timings and
 * error messages: never headers or bodies, which carry API keys and passwords.
 */
export function log(entry: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), ...entry })}\n`);
}

/** Logs the request once its response is over (finished, or the connection went away). */
export function logWhenDone(req: IncomingMessage, res: ServerResponse, traceId: string): void {
  const started = performance.now();
  res.once('close', () => {
    log({
      msg: 'request',
      method: req.method,
      path: pathOf(req),
      status: res.statusCode,
      traceId,
      ms: Math.round((performance.now() - started) * 10) / 10,
      ...(res.writableFinished ? {} : { aborted: true }),
    });
  });
}
