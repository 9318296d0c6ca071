// The WebSocket agent: event order and counts, fields, the session/history protocol,
// handshake refusals (missing, invalid, expired and logged-out tokens; foreign sessions).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AGENT_EVENT_TYPES, startSampleApp, type SampleAppHandle } from '../sample-app/index.ts';
import { connectWs, http, isRefusal, openWs, signup, type TestUser } from './sample-app-helpers.ts';

let app: SampleAppHandle;
let user: TestUser;

before(async () => {
  app = await startSampleApp({ seed: false });
  user = await signup(app.baseUrl, 'ws');
});
after(async () => {
  await app?.stop();
});

/** The checks perf's ws flow makes: counts and phase order. */
function assertWellFormedRun(events: any[]) {
  const types = events.map((e) => e.type);
  const count = (t: string) => types.filter((x) => x === t).length;
  assert.equal(count('agent_started'), 1, types.join(','));
  assert.ok(count('agent_thinking') >= 2, types.join(','));
  assert.ok(count('tool_executing') >= 1, types.join(','));
  assert.ok(count('tool_completed') >= 1, types.join(','));
  assert.equal(count('agent_completed'), 1, types.join(','));
  const rank = types.map((t) => AGENT_EVENT_TYPES.indexOf(t));
  assert.deepEqual(rank, [...rank].sort((a, b) => a - b), `phase order: ${types.join(',')}`);
  assert.deepEqual(
    events.map((e) => e.seq),
    events.map((_, i) => i + 1),
  );
}

describe('runs', () => {
  test('a run yields the events in order, with the documented fields, ~20 ms apart', async () => {
    const ws = await openWs(app.wsUrl, { token: user.accessToken });
    try {
      const hello = await ws.next((m) => m.type === 'session');
      assert.equal(hello.userId, user.id);
      assert.equal(hello.resumed, false);
      assert.match(hello.sessionId, /^[0-9a-f-]{36}$/);
      ws.send({ type: 'run', prompt: 'Make a banner' });
      const events = await ws.runEvents();
      assert.deepEqual(
        events.map((e) => e.type),
        ['agent_started', 'agent_thinking', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed'],
      );
      assertWellFormedRun(events);
      for (const e of events) {
        assert.equal(e.userId, user.id);
        assert.equal(e.sessionId, hello.sessionId);
        assert.equal(e.runId, events[0].runId);
        assert.ok(!Number.isNaN(Date.parse(e.timestamp)));
      }
      const span = Date.parse(events.at(-1).timestamp) - Date.parse(events[0].timestamp);
      assert.ok(span >= 5 * 20 - 5, `events are spaced (${span} ms for 6 events)`);
      assert.equal(events[0].data.prompt, 'Make a banner');
    } finally {
      await ws.close();
    }
  });

  test('concurrent runs on one socket keep their own sequence numbers', async () => {
    const ws = await openWs(app.wsUrl, { queryToken: user.accessToken });
    try {
      await ws.next((m) => m.type === 'session');
      ws.send({ type: 'run', prompt: 'one' });
      ws.send({ type: 'run', prompt: 'two' });
      await ws.next((m) => m.type === 'agent_completed');
      await ws.next((m) => m.type === 'agent_completed' && ws.messages.filter((x) => x.type === 'agent_completed').length === 2);
      const runIds = [...new Set(ws.messages.filter((m) => m.runId).map((m) => m.runId))];
      assert.equal(runIds.length, 2);
      for (const runId of runIds) assertWellFormedRun(ws.messages.filter((m) => m.runId === runId));
    } finally {
      await ws.close();
    }
  });

  test('bad messages get an error message and the socket stays usable', async () => {
    const ws = await openWs(app.wsUrl, { token: user.accessToken });
    try {
      await ws.next((m) => m.type === 'session');
      ws.socket.send('not json');
      assert.equal((await ws.next((m) => m.type === 'error')).error, 'invalid_message');
      ws.send({ type: 'run' });
      await ws.next((m) => m.type === 'error' && /prompt/.test(m.message));
      ws.send({ type: 'ping' });
      await ws.next((m) => m.type === 'pong');
    } finally {
      await ws.close();
    }
  });
});

describe('sessions', () => {
  test('reconnecting with the same token and session id returns the history', async () => {
    const first = await openWs(app.wsUrl, { token: user.accessToken });
    const { sessionId } = await first.next((m) => m.type === 'session');
    first.send({ type: 'run', prompt: 'remember me' });
    const events = await first.runEvents();
    await first.close();

    const again = await openWs(app.wsUrl, { token: user.accessToken, session: sessionId });
    try {
      const hello = await again.next((m) => m.type === 'session');
      assert.deepEqual([hello.sessionId, hello.resumed], [sessionId, true]);
      const history = await again.next((m) => m.type === 'history');
      assert.equal(history.sessionId, sessionId);
      assert.deepEqual(history.events, events);
      assert.equal(again.messages.indexOf(hello), 0, 'session comes first, then history');
      assert.equal(again.messages.indexOf(history), 1);
      // The resumed session keeps growing.
      again.send({ type: 'run', prompt: 'and this' });
      await again.runEvents();
    } finally {
      await again.close();
    }
    const third = await openWs(app.wsUrl, { token: user.accessToken, session: sessionId });
    try {
      const history = await third.next((m) => m.type === 'history');
      assert.equal(history.events.length, events.length * 2);
    } finally {
      await third.close();
    }
  });

  test("another user's session id, a malformed one, and no token are refused at the handshake", async () => {
    const owner = await openWs(app.wsUrl, { token: user.accessToken });
    const { sessionId } = await owner.next((m) => m.type === 'session');
    await owner.close();
    const other = await signup(app.baseUrl, 'ws-other');
    const foreign = await connectWs(app.wsUrl, { token: other.accessToken, session: sessionId });
    assert.ok(isRefusal(foreign) && foreign.status === 403, JSON.stringify(foreign));
    const malformed = await connectWs(app.wsUrl, { token: user.accessToken, session: 'bad id!' });
    assert.ok(isRefusal(malformed) && malformed.status === 400);
    for (const opts of [{}, { token: 'garbage' }, { queryToken: 'garbage' }, { token: user.refreshToken }]) {
      const refused = await connectWs(app.wsUrl, opts);
      assert.ok(isRefusal(refused), JSON.stringify(opts));
      assert.equal(refused.status, 401);
    }
    // A plain GET is told to upgrade.
    assert.equal((await http(app.baseUrl, 'GET', '/ws', { token: user.accessToken })).status, 426);
  });

  test('a logged-out token is refused', async () => {
    const session = await signup(app.baseUrl, 'ws-logout');
    assert.equal((await http(app.baseUrl, 'POST', '/auth/logout', { token: session.accessToken })).status, 204);
    const refused = await connectWs(app.wsUrl, { token: session.accessToken });
    assert.ok(isRefusal(refused) && refused.status === 401);
  });
});

describe('token expiry', () => {
  let shortApp: SampleAppHandle;
  before(async () => {
    shortApp = await startSampleApp({ seed: false, timings: { accessTokenTtlSec: 1 } });
  });
  after(async () => {
    await shortApp?.stop();
  });

  test('an expired access token is refused at the handshake (HTTP 401), a fresh one is accepted', async () => {
    const u = await signup(shortApp.baseUrl, 'expiring');
    const fresh = await openWs(shortApp.wsUrl, { token: u.accessToken });
    const { sessionId } = await fresh.next((m) => m.type === 'session');
    await fresh.close();
    await new Promise((r) => setTimeout(r, 2_100));
    const expired = await connectWs(shortApp.wsUrl, { token: u.accessToken, session: sessionId });
    assert.ok(isRefusal(expired), 'refused');
    assert.equal(expired.status, 401);
    assert.equal((await http(shortApp.baseUrl, 'GET', '/auth/me', { token: u.accessToken })).status, 401);
    const refreshed = await http(shortApp.baseUrl, 'POST', '/auth/refresh', { body: { refreshToken: u.refreshToken } });
    assert.equal(refreshed.status, 200);
    const resumed = await openWs(shortApp.wsUrl, { token: refreshed.body.accessToken, session: sessionId });
    assert.equal((await resumed.next((m) => m.type === 'session')).resumed, true);
    await resumed.close();
  });
});
