import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { readVerdictFromOutput, runCli, runDirFromOutput, tempDir } from './helpers.ts';

// runAgent() of `perf-harness/k6` on the real k6, through perf's CLI, from a project outside
// perf's checkout (the scenario imports `perf-harness/k6`; the protocol is the project's
// `agent` config, passed as PERF_AGENT), against a real WebSocket server speaking a protocol
// unlike sample-app's: a `hello` greeting (`{kind:'sys', name:'hello', sid}`), `{op:'summarize'}` to start, events
// `{kind:'evt', name:'summary.*', owner, sid}`. The credential goes where `agent.token` says:
// query, subprotocol or cookie; the server checks it arrived there. Faults: the end event
// dropped (ws_event_order fails), events owned by someone else (ws_event_ownership fails).

type Mode = 'ok' | 'drop-end' | 'foreign';
interface Server {
  url: string;
  connections: () => number;
  /** Upgrades whose credential was not where it should be. */
  bad: () => string[];
  setMode(m: Mode, placement: 'query' | 'subprotocol' | 'cookie'): void;
  close: () => Promise<void>;
}

async function notesServer(): Promise<Server> {
  let mode: Mode = 'ok';
  let placement: 'query' | 'subprotocol' | 'cookie' = 'query';
  let connections = 0;
  const bad: string[] = [];
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    path: '/agent/socket',
    // Accept the first offered protocol that is not the token (as servers using this scheme do).
    handleProtocols: (protocols) => [...protocols].find((p) => !p.startsWith('token.')) ?? false,
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (socket, req: IncomingMessage) => {
    connections++;
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://x');
    const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
    const token =
      placement === 'query' ? url.searchParams.get('access_token') : placement === 'subprotocol' ? offered.find((p) => p.startsWith('token.'))?.slice(6) : /(?:^|; )nsid=([^;]+)/.exec(String(req.headers.cookie ?? ''))?.[1];
    const user = /^tok-(u\d+)$/.exec(token ?? '')?.[1];
    if (!user || (placement === 'subprotocol' && !offered.includes('notes.v1')) || req.headers.authorization) {
      bad.push(`${placement}: ${req.url} ${JSON.stringify(req.headers)}`);
      socket.close(4401, 'unauthorized');
      return;
    }
    const sid = `s-${connections}`;
    socket.send(JSON.stringify({ kind: 'sys', name: 'hello', sid }));
    socket.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as { op?: string; user?: string };
      if (msg.op !== 'summarize' || msg.user !== user) return void socket.send(JSON.stringify({ kind: 'evt', name: 'summary.failed', owner: user, sid, why: 'bad start' }));
      const owner = mode === 'foreign' ? 'u999' : user;
      const names = ['summary.begin', 'summary.chunk', 'summary.chunk', ...(mode === 'drop-end' ? [] : ['summary.end'])];
      // One after the other, 5 ms apart (timers of different delays may fire out of order under load).
      void (async () => {
        for (const name of names) {
          await new Promise((r) => setTimeout(r, 5));
          if (socket.readyState === socket.OPEN) socket.send(JSON.stringify({ kind: 'evt', name, owner, sid }));
        }
      })();
    });
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    bad: () => bad,
    setMode(m, p) {
      mode = m;
      placement = p;
      bad.length = 0;
    },
    close: () => new Promise((resolve) => wss.close(() => resolve())),
  };
}

/** A project outside perf's checkout: its config declares the protocol, its scenario imports perf-harness/k6. */
function project(token: string): string {
  const dir = tempDir('perf-agent-k6-');
  mkdirSync(path.join(dir, 'scenarios'));
  writeFileSync(
    path.join(dir, 'perf.config.ts'),
    `import { defineConfig } from 'perf-harness';
export default defineConfig({
  agent: {
    path: '/agent/socket',
    token: ${token},
    greeting: { event: 'hello', sessionPath: 'sid' },
    start: { op: 'summarize', user: '{{userId}}', session: '{{sessionId}}' },
    eventPath: 'name',
    ownerPath: 'owner',
    sessionPath: 'sid',
    sequence: [{ event: 'summary.begin', count: 1 }, { event: 'summary.chunk', min: 2 }, { event: 'summary.end', count: 1 }],
    errorEvents: ['summary.failed'],
    timeouts: { run: '1s' },
  },
  load: { scenariosDir: 'scenarios' },
});
`,
  );
  writeFileSync(
    path.join(dir, 'scenarios', 'notes-agent.ts'),
    `import exec from 'k6/execution';
import { agentProtocol, runAgent } from 'perf-harness/k6';

export const options = {
  vus: 3,
  duration: '3s',
  thresholds: { ws_session_established: ['rate>=1'], ws_event_order: ['rate>=1'], ws_event_ownership: ['rate>=1'], ws_time_to_first_event: ['p(95)<1000'] },
};

export default function (): void {
  const me = { userId: 'u' + exec.vu.idInTest, token: 'tok-u' + exec.vu.idInTest };
  runAgent(agentProtocol(), { ...me, cookies: { nsid: me.token } });
}
`,
  );
  return dir;
}

const thresholds = (v: Record<string, any>): Record<string, { passed: boolean; observed?: number }> =>
  Object.fromEntries((v.phases[0].k6[0].thresholds as { metric: string; passed: boolean; observed?: number }[]).map((t) => [t.metric, t]));

describe('runAgent (perf-harness/k6) on the real k6, another protocol', () => {
  let server: Server;
  before(async () => {
    server = await notesServer();
  });
  after(() => server.close());

  const run = async (token: string) => {
    const cwd = project(token);
    const r = await runCli(['run', '--target', server.url, '--scenario', 'notes-agent', '--reporter', 'console'], { cwd, timeoutMs: 120_000 });
    const v = readVerdictFromOutput(cwd, r.stderr);
    return { r, v, t: thresholds(v), cwd };
  };

  test('token in the query: every run established, in order, owned; the token never in a sample', async () => {
    server.setMode('ok', 'query');
    const { r, t, cwd } = await run("{ in: 'query', name: 'access_token' }");
    assert.deepEqual(server.bad().slice(0, 2), []);
    assert.equal(r.code, 0, r.stderr);
    for (const m of ['ws_session_established', 'ws_event_order', 'ws_event_ownership']) assert.equal(t[m]!.observed, 1, `${m}\n${r.stderr}`);
    assert.ok(server.connections() >= 6, `${server.connections()} connections`);
    const runDir = runDirFromOutput(cwd, r.stderr);
    const samples = readdirSync(runDir).filter((f) => f.endsWith('.csv.gz')).map((f) => gunzipSync(readFileSync(path.join(runDir, f))).toString('utf8')).join('\n');
    assert.ok(samples.includes('ws_event_latency'), 'the per-event latency was recorded');
    assert.ok(!/tok-u\d/.test(samples), 'no token in the raw samples');
  });

  test('token as a subprotocol, offered with the protocol\'s own', async () => {
    server.setMode('ok', 'subprotocol');
    const { r, t } = await run("{ in: 'subprotocol', protocols: ['notes.v1'], prefix: 'token.' }");
    assert.deepEqual(server.bad().slice(0, 2), []);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(t.ws_event_order!.observed, 1);
  });

  test('cookie session; the end event dropped fails ws_event_order (and only it)', async () => {
    server.setMode('drop-end', 'cookie');
    const { r, t, cwd } = await run("{ in: 'cookie' }");
    assert.deepEqual(server.bad().slice(0, 2), []);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(t.ws_event_order!.passed, false);
    assert.equal(t.ws_event_order!.observed, 0);
    assert.equal(t.ws_session_established!.observed, 1);
    assert.equal(t.ws_event_ownership!.observed, 1);
    const log = readFileSync(path.join(runDirFromOutput(cwd, r.stderr), 'k6-notes-agent-log.jsonl'), 'utf8');
    assert.match(log, /run not completed within 1 s of the start message/);
    assert.match(log, /summary\.end: 0 received, expected exactly 1/);
  });

  test("events of another owner fail ws_event_ownership", async () => {
    server.setMode('foreign', 'query');
    const { r, t } = await run("{ in: 'query', name: 'access_token' }");
    assert.equal(r.code, 1, r.stderr);
    assert.equal(t.ws_event_ownership!.passed, false);
    assert.equal(t.ws_event_ownership!.observed, 0);
  });
});
