import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { createAgentFixture } from '../src/agent/agent-fixture.ts';
import type { AgentFixture, AgentRunResult, TestUser, WsClient, WsFixture } from '../src/api/types.ts';
import { CheckFailure, type Check, type CheckContext } from '../src/checks/types.ts';
import type { PerfConfig } from '../src/config/config-schema.ts';
import { WsConnection } from '../src/clients/ws-client.ts';
import { createWsFixture } from '../src/flows/ws-fixture.ts';
import { agentUrl } from '../src/shared/agent-protocol.ts';
import { runCheck, startTestApp, testConfig, trackedRuns, type TestApp, type TestRun } from './checks-helpers.ts';

// src/agent/agent-fixture.ts against the real sample-app (its faults switched on its admin port)
// and against a real WebSocket server of another protocol. The ws fixture here is a minimal one
// over src/clients/ws-client.ts (bearer token in the header), standing in for the flows' own.

/** A minimal WsFixture: the agent's URL, the user's token as `Authorization: Bearer`. */
function minimalWs(ctx: CheckContext, config: { agent?: { path?: string } }): WsFixture {
  const url = (path?: string) => agentUrl({ path: path ?? config.agent?.path ?? '/ws' }, ctx.target);
  const client = (conn: WsConnection): WsClient => ({
    get messages() {
      return conn.messages.map((m) => ({ data: m.data, text: typeof m.data === 'string' ? m.data : JSON.stringify(m.data), atMs: m.at }));
    },
    send: (d) => conn.send(d),
    waitFor: async (p, o = {}) => {
      const m = await conn.waitFor(p, o.what ?? 'a message', o.timeoutMs ?? 5000, o.from ?? 0);
      return { data: m.data, text: JSON.stringify(m.data), atMs: m.at };
    },
    close: () => conn.close(),
  });
  const opts = (o: { as?: TestUser }) => (o.as?.token ? { token: o.as.token, tokenIn: 'header' as const } : {});
  return {
    connect: async (o = {}) => client(await WsConnection.connect(ctx, url(o.path), opts(o))),
    tryConnect: async (o = {}) => {
      const r = await WsConnection.tryConnect(ctx, url(o.path), opts(o));
      return r.refused ? { ok: false, ...(r.status !== undefined ? { status: r.status } : {}), error: r.error ?? `HTTP ${r.status}` } : { ok: true, client: client(r.conn) };
    },
  };
}

const sampleAppAgent: PerfConfig['agent'] = {
  path: '/ws',
  token: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
  greeting: { event: 'session', sessionPath: 'sessionId' },
  start: { type: 'run', prompt: 'Draft a product teaser for {{userId}}' },
  eventPath: 'type',
  ownerPath: 'userId',
  sessionPath: 'sessionId',
  sequence: [
    { event: 'agent_started', count: 1 },
    { event: 'agent_thinking', min: 2 },
    { event: 'tool_executing', min: 1 },
    { event: 'tool_completed', min: 1 },
    { event: 'agent_completed', count: 1 },
  ],
  errorEvents: ['error'],
  timeouts: { run: '1500ms' },
};

/** Runs `fn` with an agent fixture inside a real check; returns what it returned, or the check's failure. */
async function withAgent<T>(target: CheckContext['target'], run: TestRun, config: PerfConfig, fn: (agent: AgentFixture, ctx: CheckContext) => Promise<T>, ws: 'minimal' | 'flows' = 'minimal') {
  let out: T | undefined;
  const check: Check = {
    name: 'agent-fixture',
    run: async (ctx) => {
      const resolved = testConfig(config);
      const fixture = ws === 'flows' ? createWsFixture(ctx, resolved) : minimalWs(ctx, resolved);
      try {
        out = await fn(createAgentFixture(ctx, resolved, fixture), ctx);
      } finally {
        if ('closeAll' in fixture) await (fixture as { closeAll(): Promise<void> }).closeAll();
      }
    },
  };
  const r = await runCheck(check, target, run, 15_000);
  return { out: out as T, r };
}

describe('the agent fixture on sample-app', () => {
  let app: TestApp;
  const runs = trackedRuns();
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await app.stop();
    await runs.cleanup();
  });

  async function signup(run: TestRun, label: string): Promise<TestUser> {
    const email = `perf-${label}-${run.runId}@perf.test`;
    const password = `pw-${run.runId}-${label}`;
    const res = await fetch(`${app.target.baseUrl}/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password, name: label }) });
    assert.equal(res.status, 201, await res.clone().text());
    const body = (await res.json()) as { user: { id: string }; accessToken: string };
    run.redactor.addSecret(body.accessToken);
    return { label, id: body.user.id, email, username: email, password, token: body.accessToken };
  }

  test('a healthy run: ok, its events, session and time to first event; frames and a note as evidence', async () => {
    const run = runs.fresh();
    const user = await signup(run, 'agent-ok');
    const { out, r } = await withAgent(app.target, run, { agent: sampleAppAgent }, (agent) => agent.run(user));
    assert.ok(r.passed, r.error);
    assert.deepEqual(out.problems, []);
    assert.equal(out.ok, true);
    assert.deepEqual(out.events, ['agent_started', 'agent_thinking', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed']);
    assert.match(out.sessionId ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(out.timeToFirstEventMs! >= 0 && out.timeToFirstEventMs! < 1000, `${out.timeToFirstEventMs}`);
    assert.equal(out.messages[0]!.data.type, 'session', 'the greeting is among the messages');
    const ws = r.evidence.find((e) => e.kind === 'ws');
    assert.ok(ws && ws.kind === 'ws');
    const out1 = ws.frames.find((f) => f.dir === 'out');
    assert.ok(out1, 'the start message is in the frames');
    assert.equal(JSON.parse(out1.data).prompt, `Draft a product teaser for ${user.id}`, 'the start message was templated');
    assert.ok(r.evidence.some((e) => e.kind === 'note' && /agent run as agent-ok: ok/.test(e.message)));
    assert.ok(!JSON.stringify(r.evidence).includes(user.token!), 'the token is not in the evidence');
  });

  test("with the flows' own ws fixture (src/flows/ws-fixture.ts): a healthy run, and a refused handshake with its status", async () => {
    const run = runs.fresh();
    const user = await signup(run, 'agent-flows');
    const ok = await withAgent(app.target, run, { agent: sampleAppAgent }, (agent) => agent.run(user), 'flows');
    assert.ok(ok.r.passed, ok.r.error);
    assert.deepEqual(ok.out.problems, []);
    const bad = await withAgent(app.target, run, { agent: sampleAppAgent }, (agent) => agent.run({ ...user, token: 'not-a-token' }), 'flows');
    assert.ok(bad.r.passed, bad.r.error);
    assert.match(bad.out.problems.join('\n'), /^handshake refused: HTTP 401: /);
  });

  test('several runs on one socket the caller holds', async () => {
    const run = runs.fresh();
    const user = await signup(run, 'agent-twice');
    const { out, r } = await withAgent(app.target, run, { agent: sampleAppAgent }, async (agent) => {
      const client = await agent.connect(user);
      try {
        return [await agent.run(user, { client }), await agent.run(user, { client })];
      } finally {
        await client.close();
      }
    });
    assert.ok(r.passed, r.error);
    assert.deepEqual(out.map((x) => x.problems), [[], []]);
    assert.equal(out[0]!.sessionId, out[1]!.sessionId);
  });

  for (const [fault, patch, expected] of [
    ['wsDropEvent tool_completed', { wsDropEvent: 'tool_completed' }, ['tool_completed: 0 received, expected at least 1']],
    ['wsDropEvent agent_completed (a run that never ends)', { wsDropEvent: 'agent_completed' }, ['agent_completed not received within 1.5 s of the start message (agent.timeouts.run)', 'agent_completed: 0 received, expected exactly 1', 'agent_completed never received: the last event was tool_completed']],
    // Swapped with the first thinking: both thinking events now come after tool_executing.
    ['wsReorder', { wsReorder: ['tool_executing', 'agent_thinking'] }, ['agent_thinking (event 3) arrived after tool_executing: out of the declared order agent_started → agent_thinking → tool_executing → tool_completed → agent_completed', 'agent_thinking (event 4) arrived after tool_executing: out of the declared order agent_started → agent_thinking → tool_executing → tool_completed → agent_completed']],
  ] as const) {
    test(`fault ${fault}: a result with the problem, not an exception`, async () => {
      const run = runs.fresh();
      const user = await signup(run, 'agent-fault');
      await app.setFaults(patch);
      try {
        const { out, r } = await withAgent(app.target, run, { agent: sampleAppAgent }, (agent) => agent.run(user));
        assert.ok(r.passed, r.error);
        assert.equal(out.ok, false);
        assert.deepEqual(out.problems, expected);
      } finally {
        await app.resetFaults();
      }
    });
  }

  test("fault wsBroadcast: each of two concurrent runs receives the other's events (foreign)", async () => {
    const run = runs.fresh();
    const [a, b] = [await signup(run, 'agent-a'), await signup(run, 'agent-b')];
    await app.setFaults({ wsBroadcast: true });
    try {
      const { out, r } = await withAgent(app.target, run, { agent: sampleAppAgent }, (agent) => Promise.all([agent.run(a), agent.run(b)]));
      assert.ok(r.passed, r.error);
      const results = out as AgentRunResult[];
      assert.ok(results.some((x) => x.foreign > 0), `foreign: ${results.map((x) => x.foreign)}`);
      const withForeign = results.find((x) => x.foreign > 0)!;
      assert.equal(withForeign.ok, false);
      assert.match(withForeign.problems.join('\n'), /event\(s\) of other owners received \(userId "[0-9a-f-]{36}", expected "[0-9a-f-]{36}"\)/);
    } finally {
      await app.resetFaults();
    }
  });

  test('a refused handshake (an invalid token) is a result, not an exception', async () => {
    const run = runs.fresh();
    const user = { ...(await signup(run, 'agent-bad')), token: 'not-a-token' };
    const { out, r } = await withAgent(app.target, run, { agent: sampleAppAgent }, (agent) => agent.run(user));
    assert.ok(r.passed, r.error);
    assert.equal(out.problems.length, 1);
    assert.match(out.problems[0]!, /^handshake refused: HTTP 401/);
    assert.deepEqual(out.events, []);
  });

  test('no `agent` in the config, or an unknown template variable: a CheckFailure naming the option', async () => {
    const run = runs.fresh();
    const user = await signup(run, 'agent-none');
    const none = await withAgent(app.target, run, {}, (agent) => agent.run(user));
    assert.ok(none.r.thrown instanceof CheckFailure);
    assert.match(none.r.error!, /no `agent` in the config/);
    const typo = await withAgent(app.target, run, { agent: { ...sampleAppAgent, start: { type: 'run', prompt: '{{promt}}' } } }, (agent) => agent.run(user, { vars: { prompt: 'x' } }));
    assert.ok(typo.r.thrown instanceof CheckFailure);
    assert.match(typo.r.error!, /^agent\.start: unknown template variable \{\{promt\}\}.*\{\{prompt\}\}/);
  });
});

describe('the agent fixture on another protocol', () => {
  // {kind:'cmd', name:'summarize', note} starts a run; events {kind:'evt', name:'summary.*', meta:{owner}},
  // the owner being the user the bearer token names (token `tok-<user>`). No greeting.
  let wss: WebSocketServer;
  let baseUrl: string;
  let mode: 'ok' | 'many-chunks' | 'fail' | 'silent' = 'ok';
  const protocolsSeen: string[][] = [];
  before(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/events', handleProtocols: (p) => [...p].find((x) => !x.startsWith('token.')) ?? false });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wss.on('connection', (socket, req: IncomingMessage) => {
      const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
      protocolsSeen.push(offered);
      const fromProtocol = offered.find((p) => p.startsWith('token.tok-'))?.slice('token.tok-'.length);
      const owner = fromProtocol ?? String(req.headers.authorization ?? '').replace(/^Bearer tok-/, '');
      socket.on('message', (raw) => {
        const cmd = JSON.parse(raw.toString()) as { kind: string; note: unknown };
        if (cmd.kind !== 'cmd' || mode === 'silent') return;
        const e = (name: string, extra = {}) => socket.send(JSON.stringify({ kind: 'evt', name, meta: { owner }, note: cmd.note, ...extra }));
        socket.send(JSON.stringify({ kind: 'ack' }));
        e('summary.begin');
        if (mode === 'fail') return e('summary.failed', { reason: 'quota' });
        for (let i = 0; i < (mode === 'many-chunks' ? 5 : 2); i++) e('summary.chunk', { i });
        e('summary.end');
      });
    });
    baseUrl = `http://127.0.0.1:${(wss.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((resolve) => wss.close(() => resolve())));

  const notes: PerfConfig['agent'] = {
    path: '/events',
    start: { kind: 'cmd', name: 'summarize', note: '{{noteId}}' },
    eventPath: 'name',
    ownerPath: 'meta.owner',
    sequence: [{ event: 'summary.begin', count: 1 }, { event: 'summary.chunk', min: 1, max: 3 }, { event: 'summary.end', count: 1 }],
    errorEvents: ['summary.failed'],
    timeouts: { run: '800ms', greeting: '300ms' },
  };
  const alice: TestUser = { label: 'alice', id: 'alice', email: 'a@x.test', username: 'alice', password: 'p', token: 'tok-alice' };
  const target = () => ({ kind: 'external' as const, baseUrl });

  const runAs = async (agent: PerfConfig['agent'], vars?: Record<string, unknown>) => {
    const { out, r } = await withAgent(target(), trackedRuns().fresh(), { agent }, (a) => a.run(alice, vars ? { vars } : {}));
    assert.ok(r.passed, r.error);
    return out;
  };

  test('healthy: ok, with the caller vars in the start message (number kept)', async () => {
    mode = 'ok';
    const out = await runAs(notes, { noteId: 42 });
    assert.deepEqual(out.problems, []);
    assert.deepEqual(out.events, ['summary.begin', 'summary.chunk', 'summary.chunk', 'summary.end']);
    assert.equal(out.messages[1]!.data.note, 42);
  });

  test('each failure: too many chunks, an error event, silence, a greeting that never comes', async () => {
    mode = 'many-chunks';
    assert.deepEqual((await runAs(notes, { noteId: 1 })).problems, ['summary.chunk: 5 received, expected between 1 and 3']);
    mode = 'fail';
    const failed = await runAs(notes, { noteId: 1 });
    assert.equal(failed.problems.at(-1), 'the server sent summary.failed: {"kind":"evt","name":"summary.failed","meta":{"owner":"alice"},"note":1,"reason":"quota"}');
    mode = 'silent';
    assert.equal((await runAs(notes, { noteId: 1 })).problems[0], 'summary.end not received within 0.8 s of the start message (agent.timeouts.run)');
    mode = 'ok';
    const greeted = await runAs({ ...notes!, greeting: { event: 'hello' } }, { noteId: 1 });
    assert.match(greeted.problems[0]!, /^no greeting \(hello\) within 0.3 s of the upgrade \(agent.timeouts.greeting\)/);
  });

  test("with the flows' own ws fixture, the token as a subprotocol", async () => {
    mode = 'ok';
    const agent = { ...notes!, token: { in: 'subprotocol' as const, protocols: ['notes.v1'], prefix: 'token.' } };
    const { out, r } = await withAgent(target(), trackedRuns().fresh(), { agent }, (a) => a.run({ ...alice }, { vars: { noteId: 7 } }), 'flows');
    assert.ok(r.passed, r.error);
    assert.deepEqual(out.problems, []);
    assert.deepEqual(protocolsSeen.at(-1), ['notes.v1', 'token.tok-alice']);
  });

  test('an owner mismatch: the events are foreign', async () => {
    mode = 'ok';
    const { out } = await withAgent(target(), trackedRuns().fresh(), { agent: notes }, (a) => a.run({ ...alice, id: 'bob' }, { vars: { noteId: 1 } }));
    assert.equal(out.foreign, 4);
    assert.ok(out.problems.some((p) => p.startsWith('4 event(s) of other owners received (meta.owner "alice", expected "bob")')));
  });
});
