/**
 * A small real service for the auth tests (node:http, in the test process), with three ways to
 * prove a login, each under its own prefix:
 *
 *   /bearer  POST /signup {email,password,name} → 201 {user:{id}} (no token) · 409 exists
 *            POST /login  {email,password} → 200 {auth:{token}, refresh} · 401
 *            GET  /me     `Authorization: Token <token>` → 200 {id} · 403
 *            GET  /items/:id (signed in) → 404 · 403
 *            DELETE /account (signed in) → 204, the account is gone
 *   /key     POST /signup {username,password} → 201 {data:{key,id}} · 409
 *            GET  /me     `X-Key: <key>` or `?api_key=<key>` → 200 {id} · 403
 *   /cookie  POST /signup {email,password} → 201 {id} · 409
 *            POST /login  → 200 {csrfToken, user:{id}}, Set-Cookie sid (HttpOnly) and csrf
 *            GET  /me     (sid cookie) → 200 {id} · 401
 *            POST /notes  (sid cookie + `X-CSRF-Token` = the session's csrf) → 201 · 403 without it
 *            (`csrfEnforced = false`: the CSRF header is not checked, as a service that forgot it)
 *
 * Every account, token, key and cookie value is random; `log` keeps each request (method, path,
 * headers) so tests can see what perf sent.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Account {
  id: string;
  login: string;
  password: string;
  tokens: Set<string>;
  key?: string;
}

export interface AuthService {
  url: string;
  accounts: Map<string, Account>;
  sessions: Map<string, { account: Account; csrf: string }>;
  log: { method: string; path: string; headers: http.IncomingHttpHeaders }[];
  /** Whether /cookie writes check the CSRF header (default true); false shows a CSRF check failing. */
  csrfEnforced: boolean;
  /** Every secret value the service handed out (passwords it was given, tokens, keys, cookies). */
  secrets(): string[];
  close(): Promise<void>;
}

const rnd = (prefix: string) => `${prefix}${randomBytes(18).toString('base64url')}`;

export async function startAuthService(): Promise<AuthService> {
  const accounts = new Map<string, Account>();
  const sessions = new Map<string, { account: Account; csrf: string }>();
  const handedOut: string[] = [];
  const log: AuthService['log'] = [];
  const settings = { csrfEnforced: true };
  const csrfOk = (req: http.IncomingMessage, csrf: string) => !settings.csrfEnforced || req.headers['x-csrf-token'] === csrf;

  const byToken = (t: string | undefined) => [...accounts.values()].find((a) => t && a.tokens.has(t));
  const cookies = (req: http.IncomingMessage): Record<string, string> =>
    Object.fromEntries((req.headers.cookie ?? '').split(/;\s*/).filter(Boolean).map((c) => [c.slice(0, c.indexOf('=')), c.slice(c.indexOf('=') + 1)]));

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      log.push({ method: req.method ?? '', path: u.pathname, headers: req.headers });
      let body: Record<string, any> = {};
      try {
        body = raw ? JSON.parse(raw) : {};
      } catch {
        // not JSON
      }
      const send = (status: number, value?: unknown, headers: Record<string, string | string[]> = {}) => {
        res.writeHead(status, { ...(value === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
        res.end(value === undefined ? undefined : JSON.stringify(value));
      };
      const signup = (login: string | undefined): Account | undefined => {
        if (!login || typeof body.password !== 'string' || body.password.length < 8) {
          send(422, { error: 'invalid' });
          return undefined;
        }
        if (accounts.has(login)) {
          send(409, { error: 'exists' });
          return undefined;
        }
        const a: Account = { id: randomUUID(), login, password: body.password, tokens: new Set() };
        accounts.set(login, a);
        handedOut.push(body.password);
        return a;
      };
      const key = `${req.method} ${u.pathname}`;

      // --- bearer ---
      if (key === 'POST /bearer/signup') {
        const a = signup(body.email);
        if (a) send(201, { user: { id: a.id } });
        return;
      }
      if (key === 'POST /bearer/login') {
        const a = accounts.get(body.email);
        if (!a || a.password !== body.password) return send(401, { error: 'denied' });
        const token = rnd('tok_');
        const refresh = rnd('rt_');
        a.tokens.add(token);
        handedOut.push(token, refresh);
        return send(200, { auth: { token }, refresh, user: { id: a.id } });
      }
      if (u.pathname.startsWith('/bearer/')) {
        const m = /^Token (.+)$/.exec(req.headers.authorization ?? '');
        const a = byToken(m?.[1]);
        if (!a) return send(403, { error: 'forbidden' });
        if (key === 'GET /bearer/me') return send(200, { id: a.id });
        if (key === 'DELETE /bearer/account') {
          accounts.delete(a.login);
          return send(204);
        }
        if (req.method === 'GET' && u.pathname.startsWith('/bearer/items/')) return send(404, { error: 'no such item' });
        return send(404, { error: 'no route' });
      }

      // --- API key ---
      if (key === 'POST /key/signup') {
        const a = signup(body.username);
        if (!a) return;
        a.key = rnd('k_');
        handedOut.push(a.key);
        return send(201, { data: { key: a.key, id: a.id } });
      }
      if (key === 'GET /key/me') {
        const k = (req.headers['x-key'] as string | undefined) ?? u.searchParams.get('api_key') ?? undefined;
        const a = [...accounts.values()].find((x) => k && x.key === k);
        return a ? send(200, { id: a.id }) : send(403, { error: 'forbidden' });
      }

      // --- cookie session + CSRF ---
      if (key === 'POST /cookie/signup') {
        const a = signup(body.email);
        if (a) send(201, { id: a.id });
        return;
      }
      if (key === 'POST /cookie/login') {
        const a = accounts.get(body.email);
        if (!a || a.password !== body.password) return send(401, { error: 'denied' });
        const sid = rnd('sid_');
        const csrf = rnd('csrf_');
        sessions.set(sid, { account: a, csrf });
        handedOut.push(sid, csrf);
        return send(200, { csrfToken: csrf, user: { id: a.id } }, { 'set-cookie': [`sid=${sid}; Path=/; HttpOnly; SameSite=Lax`, `csrf=${csrf}; Path=/; SameSite=Lax`] });
      }
      if (u.pathname.startsWith('/cookie/')) {
        const s = sessions.get(cookies(req).sid ?? '');
        if (!s) return send(401, { error: 'signed out' });
        if (key === 'GET /cookie/me') return send(200, { id: s.account.id });
        if (key === 'POST /cookie/notes') {
          if (!csrfOk(req, s.csrf)) return send(403, { error: 'csrf' });
          return send(201, { id: randomUUID(), owner: s.account.id });
        }
        if (key === 'DELETE /cookie/account') {
          if (!csrfOk(req, s.csrf)) return send(403, { error: 'csrf' });
          accounts.delete(s.account.login);
          return send(204);
        }
      }
      send(404, { error: 'no route' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accounts,
    sessions,
    log,
    get csrfEnforced() {
      return settings.csrfEnforced;
    },
    set csrfEnforced(on: boolean) {
      settings.csrfEnforced = on;
    },
    secrets: () => [...handedOut],
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
