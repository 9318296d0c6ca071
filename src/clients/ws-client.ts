/**
 * The WebSocket client checks use (over `ws`).
 *
 * Contract:
 * - the handshake carries `X-Request-Id: ctx.correlationId()`; the token goes in `?token=` (what
 *   browsers can do) unless `tokenIn: 'header'`;
 * - one `WsEvidence` per connection is recorded as soon as the connection is attempted and
 *   filled while it lives: every frame in and out (redacted through `ctx.redactor`, cut at
 *   `FRAME_LIMIT` characters, at most `MAX_FRAMES` kept), and the refusal or error if any;
 * - a refused handshake is a value (`{ refused: true, status }`) from `tryConnect`, and a
 *   CheckFailure from `connect`: some checks want refusals, most do not;
 * - `ctx.signal` closes the socket and rejects waits.
 */
import WebSocket from 'ws';
import { CheckFailure, type CheckContext, type ResolvedTarget, type WsEvidence } from '../checks/types.ts';

const FRAME_LIMIT = 2_048;
const MAX_FRAMES = 400;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface WsConnectOptions {
  token?: string;
  /** `?session=` (resume or name a session). */
  sessionId?: string;
  tokenIn?: 'query' | 'header';
  /** Handshake deadline (default 5 s). */
  timeoutMs?: number;
  /** More handshake headers (a credential header, cookies); register secrets in them first. */
  headers?: Record<string, string>;
  /** Subprotocols offered on the handshake. */
  protocols?: string[];
  /** The header carrying the correlation id (default `X-Request-Id`; config `http.correlationHeader`). */
  correlationHeader?: string;
}

/** A message as received: parsed JSON (or the raw text), with its arrival time. */
export interface WsMessage {
  data: any;
  /** The frame as received. */
  text: string;
  /** `performance.now()` at arrival. */
  at: number;
}

export type TryConnectResult =
  | { refused: false; conn: WsConnection }
  | { refused: true; status?: number; body?: string; closeCode?: number; error?: string; correlationId: string };

/** The target's WebSocket URL: `target.wsUrl`, else the base URL with a ws scheme and `/ws`. */
export function wsUrlOf(target: ResolvedTarget): string {
  if (target.wsUrl) return target.wsUrl;
  return `${target.baseUrl.replace(/^http/i, 'ws').replace(/\/+$/, '')}/ws`;
}

export class WsConnection {
  readonly messages: WsMessage[] = [];
  readonly openedAt: number;
  #closed: { code: number; reason: string } | undefined;
  #waiters = new Set<() => void>();

  private constructor(
    private readonly ctx: CheckContext,
    readonly socket: WebSocket,
    readonly evidence: WsEvidence,
    readonly correlationId: string,
  ) {
    this.openedAt = performance.now();
    socket.on('message', (raw) => {
      const text = raw.toString();
      this.#frame('in', text);
      let data: unknown = text;
      try {
        data = JSON.parse(text);
      } catch {
        // Not JSON: kept as text; checks that expect JSON say so.
      }
      this.messages.push({ data, text, at: performance.now() });
      this.#wake();
    });
    socket.on('close', (code, reason) => {
      this.#closed = { code, reason: reason.toString() };
      this.#wake();
    });
    socket.on('error', (e) => {
      evidence.error ??= e.message;
      this.#wake();
    });
  }

  /** Opens a connection or reports the refusal. Never throws for a refused handshake. */
  static async tryConnect(ctx: CheckContext, url: string, opts: WsConnectOptions = {}): Promise<TryConnectResult> {
    const correlationId = ctx.correlationId();
    const u = new URL(url);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k.toLowerCase()] = v;
    headers[(opts.correlationHeader ?? 'X-Request-Id').toLowerCase()] = correlationId;
    if (opts.token !== undefined) {
      ctx.redactor.addSecret(opts.token);
      if (opts.tokenIn === 'header') headers.authorization = `Bearer ${opts.token}`;
      else u.searchParams.set('token', opts.token);
    }
    if (opts.sessionId !== undefined) u.searchParams.set('session', opts.sessionId);
    const evidence: WsEvidence = { kind: 'ws', url: ctx.redactor.redactString(u.toString()), correlationId, frames: [] };
    ctx.record(evidence);

    const socket = new WebSocket(u, opts.protocols ?? [], { headers, handshakeTimeout: opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
    return new Promise<TryConnectResult>((resolve) => {
      let settled = false;
      const settle = (r: TryConnectResult) => {
        if (settled) return;
        settled = true;
        ctx.signal.removeEventListener('abort', onAbort);
        if (r.refused) evidence.error = describeRefusal(r);
        resolve(r);
      };
      const onAbort = () => {
        socket.terminate();
        settle({ refused: true, error: 'aborted (check timed out or the run was interrupted)', correlationId });
      };
      if (ctx.signal.aborted) return onAbort();
      ctx.signal.addEventListener('abort', onAbort, { once: true });

      socket.on('unexpected-response', (req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < FRAME_LIMIT) body += c;
        });
        const done = () => {
          settle({ refused: true, status: res.statusCode, body: ctx.redactor.redactBody(body), correlationId });
          req.destroy();
        };
        res.on('end', done);
        res.on('error', done);
      });
      socket.on('error', (e) => settle({ refused: true, error: e.message, correlationId }));
      socket.on('close', (code) => settle({ refused: true, closeCode: code, error: `closed during the handshake (code ${code})`, correlationId }));
      socket.on('open', () => {
        const conn = new WsConnection(ctx, socket, evidence, correlationId);
        ctx.signal.addEventListener('abort', () => socket.terminate(), { once: true });
        settle({ refused: false, conn });
      });
    });
  }

  /** Opens a connection; a refusal is a CheckFailure naming the status and correlation id. */
  static async connect(ctx: CheckContext, url: string, opts: WsConnectOptions = {}): Promise<WsConnection> {
    const r = await WsConnection.tryConnect(ctx, url, opts);
    if (!r.refused) return r.conn;
    throw new CheckFailure(`WebSocket ${ctx.redactor.redactString(url)}: ${describeRefusal(r)} (correlation id ${r.correlationId})`);
  }

  get closed(): { code: number; reason: string } | undefined {
    return this.#closed;
  }

  send(message: unknown): void {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    this.#frame('out', text);
    this.socket.send(text);
  }

  /**
   * The first message from index `from` on that matches; waits up to `timeoutMs` for it.
   * Fails (CheckFailure) on timeout, close or abort, listing the message types received.
   */
  async waitFor(predicate: (data: any) => boolean, what: string, timeoutMs = 5_000, from = 0): Promise<WsMessage> {
    const deadline = performance.now() + timeoutMs;
    let scanned = from;
    for (;;) {
      for (; scanned < this.messages.length; scanned++) {
        const m = this.messages[scanned]!;
        if (predicate(m.data)) return m;
      }
      if (this.ctx.signal.aborted) throw this.#failure(`aborted while waiting for ${what}`);
      if (this.#closed) throw this.#failure(`socket closed (code ${this.#closed.code}${this.#closed.reason ? ` ${this.#closed.reason}` : ''}) while waiting for ${what}`);
      const left = deadline - performance.now();
      if (left <= 0) throw this.#failure(`no ${what} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, left);
        function wake() {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve();
        }
        const waiters = this.#waiters;
        waiters.add(wake);
      });
    }
  }

  /** Waits `ms` for late frames (e.g. another user's events that must not arrive). */
  async settle(ms: number): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  /** Closes politely and waits (bounded) for the close to complete. */
  async close(): Promise<void> {
    if (this.#closed || this.socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((r) => this.socket.once('close', () => r()));
    this.socket.close(1000, 'check done');
    const timer = setTimeout(() => this.socket.terminate(), 1_000);
    await closed;
    clearTimeout(timer);
  }

  /** Message types received so far, for failure messages: `hello, started, ...`. */
  types(from = 0): string {
    return this.messages
      .slice(from)
      .map((m) => (m.data && typeof m.data === 'object' && 'type' in m.data ? String(m.data.type) : 'text'))
      .join(', ');
  }

  #failure(message: string): CheckFailure {
    const got = this.types();
    return new CheckFailure(`WebSocket: ${message}; received: [${got || 'nothing'}] (correlation id ${this.correlationId})`);
  }

  #frame(dir: 'in' | 'out', text: string): void {
    if (this.evidence.frames.length >= MAX_FRAMES) return;
    let data = this.ctx.redactor.redactBody(text);
    if (data.length > FRAME_LIMIT) data = `${data.slice(0, FRAME_LIMIT)}… [truncated]`;
    this.evidence.frames.push({ dir, atMs: Math.round((performance.now() - this.openedAt) * 100) / 100, data });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

function describeRefusal(r: Extract<TryConnectResult, { refused: true }>): string {
  if (r.status !== undefined) return `handshake refused with HTTP ${r.status}${r.body ? `: ${r.body.slice(0, 200)}` : ''}`;
  if (r.closeCode !== undefined) return `closed during the handshake (code ${r.closeCode})`;
  return r.error ?? 'connection failed';
}
