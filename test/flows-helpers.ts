/**
 * Helpers of the flows tests: a tiny real service (node:http + ws) and a perf project folder
 * outside the repository whose flows target it.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import { tempDir } from './helpers.ts';

export interface TinyService {
  url: string;
  wsUrl: string;
  /** The secret token `/login` hands out (must never reach a verdict). */
  token: string;
  /** Request headers seen, by path (the last request of each). */
  seen: Map<string, http.IncomingHttpHeaders>;
  close(): Promise<void>;
}

/**
 * Routes: GET /hello → {message:'hello'}; GET /page → HTML naming the user whose token is in the
 * `tok` cookie (`who`) and whether localStorage `tok` holds it (`stored`); POST /login → {token}; GET /me needs `Authorization:
 * Bearer <token>` (else 401); GET /ready → `{ready:false}` until `readyAfterMs` after the first
 * call, then `{ready:true}`; GET /flaky → 500 on its first call, 200 after; GET /events →
 * three server-sent events; WS /ws → greets `{type:'hello'}` then echoes `{type:'echo', data}`,
 * refusing (401) a handshake whose `token` query parameter is not the token when one is given.
 */
export async function startTinyService(opts: { readyAfterMs?: number } = {}): Promise<TinyService> {
  const token = `tok-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}-secretvalue`;
  const seen = new Map<string, http.IncomingHttpHeaders>();
  let readySince: number | undefined;
  let flakyCalls = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.set(url.pathname, req.headers);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/hello') return json(200, { message: 'hello' });
    if (url.pathname === '/page') {
      const cookie = /(?:^|;\s*)tok=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>page</title><h1 data-testid="who">${cookie === token ? 'alice' : 'nobody'}</h1><p data-testid="stored"></p>` +
        `<script>document.querySelector('[data-testid=stored]').textContent = localStorage.getItem('tok') === ${JSON.stringify(token)} ? 'stored' : 'none';</script>`);
      return;
    }
    if (url.pathname === '/favicon.ico') return json(404, {});
    if (url.pathname === '/login' && req.method === 'POST') return json(200, { token });
    if (url.pathname === '/me') return req.headers.authorization === `Bearer ${token}` ? json(200, { user: 'alice', token }) : json(401, { error: 'unauthorized' });
    if (url.pathname === '/ready') {
      readySince ??= Date.now();
      return json(200, { ready: Date.now() - readySince >= (opts.readyAfterMs ?? 300) });
    }
    if (url.pathname === '/flaky') return ++flakyCalls === 1 ? json(500, { error: 'first call fails' }) : json(200, { ok: true });
    if (url.pathname === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let n = 0;
      const t = setInterval(() => {
        n++;
        res.write(`event: tick\nid: ${n}\ndata: {"n":${n}}\n\n`);
        if (n === 3) {
          clearInterval(t);
          res.end();
        }
      }, 20);
      return;
    }
    json(404, { error: 'not found' });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const given = url.searchParams.get('token');
    if (url.pathname !== '/ws' || (given !== null && given !== token)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ type: 'hello' }));
      ws.on('message', (m) => ws.send(JSON.stringify({ type: 'echo', data: JSON.parse(m.toString()) })));
    });
  });
  server.keepAliveTimeout = 500;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    token,
    seen,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A perf project in a temporary folder: perf.config.ts (`import { defineConfig } from
 * 'perf-harness'`, target = `baseUrl`, console reporter only, plus `extra` fields as source text)
 * and `files` (relative path → content), e.g. `{ 'flows/a.ts': '...' }`.
 */
export function flowProject(baseUrl: string, files: Record<string, string>, extra = ''): string {
  const dir = tempDir('perf-flows-');
  writeFileSync(
    path.join(dir, 'perf.config.ts'),
    `import { defineConfig } from 'perf-harness';\nexport default defineConfig({\n  target: { baseUrl: ${JSON.stringify(baseUrl)}, databaseUrl: 'postgres://postgres@127.0.0.1:5432/test' },\n  reporters: ['console'],\n  ${extra}\n});\n`,
  );
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

/** The run folder of the project's latest run (found on disk, not in the console output). */
export function latestRunDir(projectDir: string): string {
  const runs = path.join(projectDir, '.perf', 'runs');
  const names = readdirSync(runs).sort();
  if (!names.length) throw new Error(`no run under ${runs}`);
  return path.join(runs, names[names.length - 1]!);
}

export function latestVerdict(projectDir: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(latestRunDir(projectDir), 'verdict.json'), 'utf8')) as Record<string, any>;
}
