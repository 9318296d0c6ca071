import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { agentSchema } from '../src/config/schema-agent.ts';
import { agentTimeouts, classifyFrame, durationMs, getPath, judgeAgentRun, renderTemplate, type AgentProtocol } from '../src/shared/agent-protocol.ts';

// src/shared/agent-protocol.ts and json-path.ts: the judgement the `agent` fixture and k6's
// runAgent() share, on sample-app's protocol and on a differently shaped one. Every rule is
// shown to hold on a good run and to fail, with its one line, on a run that breaks it.

const sampleApp = agentSchema.parse({
  path: '/ws',
  token: { in: 'header', name: 'Authorization', prefix: 'Bearer ' },
  greeting: { event: 'session', sessionPath: 'sessionId' },
  start: { type: 'run', prompt: 'Draft a product teaser' },
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
});

const ev = (type: string, userId = 'u1', sessionId = 's1') => ({ type, userId, sessionId, runId: 'r', seq: 1 });
const greeting = { type: 'session', sessionId: 's1', userId: 'u1', resumed: false };
const healthy = ['agent_started', 'agent_thinking', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed'];
const run = (types: string[], extra: unknown[] = []) => [greeting, ...types.map((t) => ev(t)), ...extra];

// A protocol unlike sample-app's: a nested envelope, names with dots, no greeting, owner deeper.
const notes: AgentProtocol = {
  start: { kind: 'cmd', name: 'summarize', note: '{{noteId}}' },
  eventPath: 'name',
  ownerPath: 'meta.owner',
  sequence: [{ event: 'summary.begin', count: 1 }, { event: 'summary.chunk', min: 1, max: 3 }, { event: 'summary.end', count: 1 }],
  errorEvents: ['summary.failed'],
};
const evt = (name: string, owner = 'alice') => ({ kind: 'evt', name, meta: { owner } });

describe('getPath', () => {
  test('dotted names and [n] indexes; missing steps are undefined', () => {
    const o = { a: { b: [{ c: 1 }, { c: 2, 'x-id': 'k' }] }, list: [[1, 2], [3]], $ref: 'r' };
    assert.equal(getPath(o, 'a.b[1].c'), 2);
    assert.equal(getPath(o, 'a.b[1].x-id'), 'k');
    assert.equal(getPath(o, 'list[1][0]'), 3);
    assert.equal(getPath(o, '$ref'), 'r');
    assert.equal(getPath([{ id: 7 }], '[0].id'), 7);
    assert.equal(getPath(o, ''), o);
    for (const p of ['a.x', 'a.b[5].c', 'a.b.c', 'list[0][9]', '$ref.length', 'a.b[0].c.d']) assert.equal(getPath(o, p), undefined, p);
    assert.equal(getPath(null, 'a'), undefined);
    assert.equal(getPath('text', 'length'), undefined, 'no properties of primitives');
    assert.equal(getPath({}, 'constructor'), undefined, 'own properties only');
  });
  test('a malformed path is an error naming it', () => {
    for (const p of ['a..b', 'a.', 'a[x]', 'a[', '.a', 'a.[0]']) assert.throws(() => getPath({}, p), /invalid JSON path/, p);
  });
});

describe('renderTemplate', () => {
  test('replaces {{name}} in strings, recursively; a whole-string {{x}} keeps its type', () => {
    const out = renderTemplate({ type: 'run', prompt: 'for {{ userId }} in {{sessionId}}', n: '{{n}}', o: '{{o}}', list: ['{{n}}', 'x{{n}}', 3, null, true] }, { userId: 'u1', sessionId: 's1', n: 5, o: { k: [1] } });
    assert.deepEqual(out, { type: 'run', prompt: 'for u1 in s1', n: 5, o: { k: [1] }, list: [5, 'x5', 3, null, true] });
    assert.equal(renderTemplate('a{{o}}', { o: { k: 1 } }), 'a{"k":1}');
    assert.equal(renderTemplate('a{{u}}b', { u: undefined }), 'ab');
  });
  test('an unknown variable is an error naming it and the known ones', () => {
    assert.throws(() => renderTemplate({ p: 'hi {{userid}}' }, { userId: 'u' }), /unknown template variable \{\{userid\}\}.*known: \{\{userId\}\}/);
  });
});

describe('durations and frames', () => {
  test('durationMs and the protocol budgets', () => {
    assert.equal(durationMs('500ms'), 500);
    assert.equal(durationMs('1m30s'), 90_000);
    assert.equal(durationMs('1.5s'), 1500);
    assert.throws(() => durationMs('5 sec', 'agent.timeouts.run'), /agent.timeouts.run must be a duration/);
    assert.deepEqual(agentTimeouts(sampleApp), { handshakeMs: 10_000, greetingMs: 5_000, runMs: 5_000 });
    assert.deepEqual(agentTimeouts({ ...notes, timeouts: { run: '2s' } }), { handshakeMs: 10_000, greetingMs: 5_000, runMs: 2_000 });
  });
  test('classifyFrame: greeting, end, error', () => {
    assert.deepEqual(classifyFrame(sampleApp, greeting), { name: 'session', greeting: true, ends: false, error: false });
    assert.equal(classifyFrame(sampleApp, ev('agent_completed')).ends, true);
    assert.equal(classifyFrame(sampleApp, { type: 'error' }).error, true);
    assert.equal(classifyFrame(notes, evt('summary.end')).ends, true);
    assert.deepEqual(classifyFrame(notes, 'not json'), { greeting: false, ends: false, error: false });
  });
});

describe("judgeAgentRun on sample-app's protocol", () => {
  test('a healthy run passes, with its events, counts, session and time to first event', () => {
    const frames = run(healthy, [{ type: 'pong' }]);
    const at = frames.map((_, i) => 100 + i * 10);
    const j = judgeAgentRun(sampleApp, frames, { userId: 'u1' }, { sentAt: 105, at });
    assert.deepEqual(j.problems, []);
    assert.equal(j.ok, true);
    assert.deepEqual(j.events, healthy);
    assert.deepEqual(j.counts, { agent_started: 1, agent_thinking: 2, tool_executing: 1, tool_completed: 1, agent_completed: 1 });
    assert.equal(j.sessionId, 's1');
    assert.equal(j.timeToFirstEventMs, 5, 'from the start message to the first event (the greeting is not an event)');
    assert.deepEqual(j.frameIndexes, [1, 2, 3, 4, 5, 6]);
    assert.equal(j.foreign, 0);
    assert.ok(j.inOrder && j.owned && j.greeted);
  });

  test('counts: a dropped event (fault wsDropEvent) and too many of an exact one', () => {
    const dropped = judgeAgentRun(sampleApp, run(healthy.filter((t) => t !== 'tool_completed')), { userId: 'u1' });
    assert.deepEqual(dropped.problems, ['tool_completed: 0 received, expected at least 1']);
    assert.equal(dropped.inOrder, false);
    assert.equal(dropped.owned, true);
    const one = judgeAgentRun(sampleApp, run(['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed']), { userId: 'u1' });
    assert.deepEqual(one.problems, ['agent_thinking: 1 received, expected at least 2']);
    const twice = judgeAgentRun(sampleApp, run(['agent_started', 'agent_started', ...healthy.slice(1)]), { userId: 'u1' });
    assert.deepEqual(twice.problems, ['agent_started: 2 received, expected exactly 1']);
  });

  test('order: an event never goes backwards in the sequence (fault wsReorder)', () => {
    const types = ['agent_started', 'agent_thinking', 'tool_executing', 'agent_thinking', 'tool_completed', 'agent_completed'];
    const j = judgeAgentRun(sampleApp, run(types), { userId: 'u1' });
    assert.deepEqual(j.problems, ['agent_thinking (event 4) arrived after tool_executing: out of the declared order agent_started → agent_thinking → tool_executing → tool_completed → agent_completed']);
    assert.equal(j.ok, false);
  });

  test('the end: the end event must come, and last', () => {
    const cut = judgeAgentRun(sampleApp, run(healthy.slice(0, 5)), { userId: 'u1' });
    assert.deepEqual(cut.problems, ['agent_completed: 0 received, expected exactly 1', 'agent_completed never received: the last event was tool_completed']);
    const after = judgeAgentRun(sampleApp, run(['agent_started', 'agent_thinking', 'agent_thinking', 'tool_executing', 'agent_completed', 'tool_completed']), { userId: 'u1' });
    assert.ok(after.problems.includes('the run did not end with agent_completed: tool_completed came after it'), after.problems.join('\n'));
    const none = judgeAgentRun(sampleApp, [greeting], { userId: 'u1' });
    assert.ok(none.problems.includes('no events received (expected agent_started first, agent_completed last)'), none.problems.join('\n'));
  });

  test('an error event is a problem quoting it', () => {
    const j = judgeAgentRun(sampleApp, run(['agent_started'], [{ type: 'error', error: 'invalid_message', message: 'run needs a prompt' }]), { userId: 'u1' });
    assert.ok(j.problems.some((p) => p.startsWith('the server sent error: {"type":"error","error":"invalid_message"')), j.problems.join('\n'));
    assert.equal(j.counts.error, 1);
    assert.deepEqual(j.events, ['agent_started', 'error']);
  });

  test("ownership: another user's events are foreign, not counted, and one problem (fault wsBroadcast)", () => {
    const frames = [greeting, ...healthy.flatMap((t) => [ev(t), ev(t, 'u2', 's2')])];
    const j = judgeAgentRun(sampleApp, frames, { userId: 'u1' });
    assert.equal(j.foreign, 6);
    assert.deepEqual(j.events, healthy, 'the own run is judged on its own');
    assert.deepEqual(j.problems, ['6 event(s) of other owners received (userId "u2", expected "u1"): agent_started, agent_thinking, agent_thinking, tool_executing, tool_completed, agent_completed']);
    assert.equal(j.inOrder, true);
    assert.equal(j.owned, false);
  });

  test('an event that names no owner, and one of another session', () => {
    const frames = [greeting, ev('agent_started'), { type: 'agent_thinking', sessionId: 's1' }, ...healthy.slice(2, 5).map((t) => ev(t)), ev('agent_completed', 'u1', 's9')];
    const j = judgeAgentRun(sampleApp, frames, { userId: 'u1' });
    // The event without an owner still counts in the sequence (2 thinking): only ownership fails.
    assert.deepEqual(j.problems, ['agent_thinking (event 2) names no owner at userId', 'agent_completed (event 6) has session "s9" at sessionId, expected "s1"']);
    assert.equal(j.owned, false);
    assert.equal(j.inOrder, true);
  });

  test('the greeting: missing, or without its session id', () => {
    const j = judgeAgentRun(sampleApp, healthy.map((t) => ev(t)), { userId: 'u1' });
    assert.equal(j.problems[0], 'no greeting (session) received');
    assert.equal(j.greeted, false);
    const k = judgeAgentRun(sampleApp, [{ type: 'session' }, ...healthy.map((t) => ev(t))], { userId: 'u1' });
    assert.equal(k.problems[0], 'the greeting (session) has no session id at sessionId');
    // Given the session (the fixture read the greeting itself), frames after the greeting suffice.
    assert.equal(judgeAgentRun(sampleApp, healthy.map((t) => ev(t)), { userId: 'u1', sessionId: 's1' }).ok, true);
  });
});

describe('judgeAgentRun on another protocol ({kind, name, meta.owner}, no greeting)', () => {
  const good = [evt('summary.begin'), { kind: 'ack' }, evt('summary.chunk'), evt('summary.chunk'), evt('summary.end')];
  test('a healthy run passes; frames that are no event of the sequence are ignored', () => {
    const j = judgeAgentRun(notes, good, { userId: 'alice' });
    assert.deepEqual(j.problems, []);
    assert.deepEqual(j.events, ['summary.begin', 'summary.chunk', 'summary.chunk', 'summary.end']);
    assert.equal(j.sessionId, undefined);
  });
  test('max: too many chunks', () => {
    const j = judgeAgentRun(notes, [evt('summary.begin'), ...Array.from({ length: 4 }, () => evt('summary.chunk')), evt('summary.end')], { userId: 'alice' });
    assert.deepEqual(j.problems, ['summary.chunk: 4 received, expected between 1 and 3']);
  });
  test('order, end and error events', () => {
    assert.deepEqual(judgeAgentRun(notes, [evt('summary.chunk'), evt('summary.begin'), evt('summary.end')], { userId: 'alice' }).problems, [
      'summary.begin (event 2) arrived after summary.chunk: out of the declared order summary.begin → summary.chunk → summary.end',
    ]);
    const failed = judgeAgentRun(notes, [evt('summary.begin'), { kind: 'evt', name: 'summary.failed', meta: { owner: 'alice' }, reason: 'quota' }], { userId: 'alice' });
    assert.deepEqual(failed.problems, [
      'summary.chunk: 0 received, expected between 1 and 3',
      'summary.end: 0 received, expected exactly 1',
      'the server sent summary.failed: {"kind":"evt","name":"summary.failed","meta":{"owner":"alice"},"reason":"quota"}',
    ]);
  });
  test('ownership: against the user, or (no user id known) against the first event', () => {
    const mixed = [evt('summary.begin'), evt('summary.chunk'), evt('summary.chunk', 'bob'), evt('summary.end')];
    assert.deepEqual(judgeAgentRun(notes, mixed, { userId: 'alice' }).problems, ['1 event(s) of other owners received (meta.owner "bob", expected "alice"): summary.chunk']);
    assert.deepEqual(judgeAgentRun(notes, mixed, {}).problems, ['1 event(s) of other owners received (meta.owner "bob", expected "alice"): summary.chunk']);
    const all = judgeAgentRun(notes, good, { userId: 'carol' });
    assert.equal(all.foreign, 4);
    assert.deepEqual(all.events, []);
    assert.ok(all.problems.includes('no events received (expected summary.begin first, summary.end last)'));
  });
  test('the end event may be other than the last of the sequence', () => {
    const p: AgentProtocol = { ...notes, sequence: [...notes.sequence, { event: 'summary.stats', max: 1 }], endEvent: 'summary.end' };
    assert.deepEqual(judgeAgentRun(p, good, { userId: 'alice' }).problems, []);
  });
});

describe('agentUrl', () => {
  test("agent.path resolved against the WebSocket base like a link", async () => {
    const { agentUrl, withQuery } = await import('../src/shared/agent-protocol.ts');
    assert.equal(agentUrl({}, { baseUrl: 'http://h:3000' }), 'ws://h:3000/ws');
    assert.equal(agentUrl({ path: '/ws' }, { baseUrl: 'https://h', wsUrl: 'ws://relay:9/ws' }), 'ws://relay:9/ws');
    assert.equal(agentUrl({ path: '/socket/events' }, { baseUrl: 'https://h/api' }), 'wss://h/socket/events');
    assert.equal(agentUrl({ path: 'events' }, { baseUrl: 'http://h/api/' }), 'ws://h/api/events');
    assert.equal(agentUrl({ path: 'wss://other/x' }, { baseUrl: 'http://h' }), 'wss://other/x');
    assert.equal(withQuery('ws://h/ws', 'token', 'a b&c'), 'ws://h/ws?token=a%20b%26c');
    assert.equal(withQuery('ws://h/ws?x=1', 'access_token', 't'), 'ws://h/ws?x=1&access_token=t');
  });
});
