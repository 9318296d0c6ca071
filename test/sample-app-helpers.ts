// Helpers shared by the sample-app tests: a tiny HTTP client over fetch, user creation through
// the real API, and a WebSocket client that records every message. No mocks: every helper talks
// to a running app over loopback.
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
  ms: number;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  redirect?: 'manual' | 'follow';
}

export async function http<T = any>(baseUrl: string, method: string, path: string, opts: RequestOptions = {}): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  const start = performance.now();
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    redirect: opts.redirect ?? 'manual',
  });
  const text = await res.text();
  const ms = performance.now() - start;
  let body: any = text;
  if ((res.headers.get('content-type') ?? '').includes('json') && text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body, text, ms };
}

export const uniqueEmail = (label: string) => `${label}-${randomBytes(5).toString('hex')}@example.test`;

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export async function signup(baseUrl: string, label = 'user'): Promise<TestUser> {
  const email = uniqueEmail(label);
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const res = await http(baseUrl, 'POST', '/auth/signup', { body: { email, password, name: label } });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
  return { id: res.body.user.id, email, password, accessToken: res.body.accessToken, refreshToken: res.body.refreshToken };
}

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 5_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export interface WsClient {
  socket: WebSocket;
  messages: any[];
  /** Resolves with the first message (from index `from`) matching, waiting up to timeoutMs. */
  next(predicate: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  /** Messages of one run, once its agent_completed (or timeout) arrived. */
  runEvents(runIdOrFirst?: string, timeoutMs?: number): Promise<any[]>;
  send(message: unknown): void;
  close(): Promise<void>;
}

export interface WsRefusal {
  refused: true;
  status: number;
  body: string;
}

/** Connects; resolves with a client once open, or with the HTTP refusal of the handshake. */
export function connectWs(
  wsUrl: string,
  opts: { token?: string; queryToken?: string; session?: string } = {},
): Promise<WsClient | WsRefusal> {
  const url = new URL(wsUrl);
  if (opts.queryToken) url.searchParams.set('token', opts.queryToken);
  if (opts.session) url.searchParams.set('session', opts.session);
  const socket = new WebSocket(url, { headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {} });
  const messages: any[] = [];
  const waiters = new Set<() => void>();
  socket.on('message', (raw) => {
    messages.push(JSON.parse(raw.toString()));
    for (const w of waiters) w();
  });
  const client: WsClient = {
    socket,
    messages,
    next(predicate, timeoutMs = 3_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(predicate);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching WebSocket message within ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => m.type))}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async runEvents(runId, timeoutMs = 3_000) {
      const first = await client.next((m) => m.runId && (!runId || m.runId === runId), timeoutMs);
      const id = first.runId as string;
      await client.next((m) => m.runId === id && m.type === 'agent_completed', timeoutMs).catch(() => undefined);
      // Events sent after agent_completed (a reordered one) get a moment to arrive.
      await new Promise((r) => setTimeout(r, 80));
      return messages.filter((m) => m.runId === id);
    },
    send(message) {
      socket.send(JSON.stringify(message));
    },
    close() {
      return new Promise((resolve) => {
        if (socket.readyState === socket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        socket.close();
      });
    },
  };
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(client));
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ refused: true, status: res.statusCode ?? 0, body }));
    });
    socket.once('error', (error) => reject(error));
  });
}

export function isRefusal(value: WsClient | WsRefusal): value is WsRefusal {
  return (value as WsRefusal).refused === true;
}

export async function openWs(wsUrl: string, opts: Parameters<typeof connectWs>[1]): Promise<WsClient> {
  const result = await connectWs(wsUrl, opts);
  if (isRefusal(result)) throw new Error(`WebSocket refused: ${result.status} ${result.body}`);
  return result;
}
