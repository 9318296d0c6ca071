/**
 * Flows as the user's files, black-box: a perf project in a temporary folder outside the repo
 * (`import { flow, expect } from 'perf-harness'`), its flows run by the real CLI against a tiny
 * real HTTP + WebSocket service started here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers.ts';
import { flowProject, latestRunDir, latestVerdict, startTinyService, type TinyService } from './flows-helpers.ts';

let svc: TinyService;
before(async () => {
  svc = await startTinyService({ readyAfterMs: 300 });
});
after(() => svc.close());

const checkOf = (verdict: Record<string, any>, phase: string, name: string) => {
  const p = verdict.phases.find((x: { name: string }) => x.name === phase);
  const c = p?.checks.find((x: { name: string }) => x.name === name);
  assert.ok(c, `no check ${name} in ${phase}: ${JSON.stringify(p?.checks?.map((x: { name: string }) => x.name))}`);
  return c;
};

function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

describe('flows phase: the user\'s flow files', () => {
  it('runs each flow as a check: passes, expect failures with expected/received and the user\'s line, poll, SSE, ws, retries → flaky, redaction', async () => {
    const dir = flowProject(
      svc.url,
      {
        'flows/basic.ts': `import { flow, expect } from 'perf-harness';

flow('hello answers', { tags: ['smoke'], description: 'GET /hello says hello' }, async ({ api, step, log, info }) => {
  const res = await step('say hello', () => api.get('/hello'));
  expect(res).toHaveStatus(200);
  expect(res.json.message).toBe('hello');
  expect(info.file).toBe('flows/basic.ts');
  log('said hello');
});

flow('wrong greeting', { retries: 0 }, async ({ api, step }) => {
  const res = await api.get('/hello');
  await step('check the greeting', async () => {
    expect(res.json.message).toBe('bonjour');
  });
});
`,
        'flows/more/secrets.ts': `import { flow, expect } from 'perf-harness';

flow('token stays secret', { retries: 0 }, async ({ api }) => {
  const login = await api.post('/login', { user: 'alice' });
  expect(login).toHaveStatus(200);
  const token: string = login.json.token;
  const me = await api.get('/me', { headers: { Authorization: 'Bearer ' + token } });
  // Fails on purpose: the failure quotes the response, which holds the token.
  expect(me).toHaveStatus(201);
});

flow('poll converges', { retries: 0 }, async ({ api }) => {
  await expect.poll(async () => (await api.get('/ready')).json.ready, { timeout: 3000, intervals: [50] }).toBe(true);
});

flow('poll times out', { retries: 0 }, async ({ api }) => {
  await expect.poll(async () => (await api.get('/hello')).json.message, { timeout: 300, intervals: [50] }).toBe('never');
});

flow('flaky on first try', { retries: 1 }, async ({ api }) => {
  expect(await api.get('/flaky')).toHaveStatus(200);
});

flow('throws a TypeError', { retries: 0 }, async () => {
  const missing = undefined as unknown as { deep: { value: number } };
  missing.deep.value.toFixed();
});

flow('server-sent events and a websocket', { retries: 0 }, async ({ api, ws }) => {
  const { response, events } = await api.stream('/events');
  expect(response.status).toBe(200);
  expect(events.map((e) => e.event)).toEqual(['tick', 'tick', 'tick']);
  expect(JSON.parse(events[2]!.data)).toEqual({ n: 3 });
  const client = await ws.connect({ path: '/ws' });
  await client.waitFor((m) => m.type === 'hello');
  client.send({ ping: 1 });
  const echo = await client.waitFor((m) => m.type === 'echo');
  expect(echo.data.data).toEqual({ ping: 1 });
  const refused = await ws.tryConnect({ path: '/ws', query: { token: 'wrong' } });
  expect(refused.ok).toBe(false);
  if (!refused.ok) expect(refused.status).toBe(401);
});
`,
      },
      `http: { correlationHeader: 'X-Trace-Id' },`,
    );
    const r = await runCli(['run', '--phase', 'flows'], { cwd: dir, timeoutMs: 60_000 });
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 1, out);
    const v = latestVerdict(dir);

    const hello = checkOf(v, 'flows', 'hello answers');
    assert.equal(hello.status, 'passed', JSON.stringify(hello));
    assert.ok(hello.measurements.steps_ms['say hello'] >= 0);
    // The correlation header the config names reached the service.
    assert.match(String(svc.seen.get('/hello')?.['x-trace-id']), /^perf-/);
    assert.equal(svc.seen.get('/hello')?.['x-request-id'], undefined);

    const wrong = checkOf(v, 'flows', 'wrong greeting');
    assert.equal(wrong.status, 'failed');
    assert.match(wrong.error, /^step "check the greeting": expect\(received\)\.toBe\(expected\)/);
    assert.match(wrong.error, /Expected: "bonjour"\nReceived: "hello"/);
    assert.match(wrong.error, /at flows\/basic\.ts:14:\d+$/);
    assert.doesNotMatch(wrong.error, /\u001b\[/);
    const note = wrong.evidence.find((e: { kind: string; message: string }) => e.kind === 'note' && e.message === 'expect failed');
    assert.deepEqual(note.data, { expected: 'bonjour', received: 'hello' });

    const secret = checkOf(v, 'flows', 'token stays secret');
    assert.equal(secret.status, 'failed');
    assert.match(secret.error, /expected GET \/me \(correlation id perf-[^)]+\) to answer 201, received 200/);
    assert.match(secret.error, /at flows\/more\/secrets\.ts:9:\d+/);

    assert.equal(checkOf(v, 'flows', 'poll converges').status, 'passed');
    const timeout = checkOf(v, 'flows', 'poll times out');
    assert.equal(timeout.status, 'failed');
    assert.match(timeout.error, /expect\.poll: did not pass within 300 ms \(\d+ tries\); last received: "hello"/);
    assert.match(timeout.error, /Expected: "never"\nReceived: "hello"/);

    const flaky = checkOf(v, 'flows', 'flaky on first try');
    assert.equal(flaky.status, 'flaky');
    assert.equal(flaky.attempts, 2);

    const thrown = checkOf(v, 'flows', 'throws a TypeError');
    assert.equal(thrown.status, 'failed');
    assert.match(thrown.error, /^TypeError: Cannot read properties of undefined \(reading 'deep'\)\n  at flows\/more\/secrets\.ts:26:\d+$/);

    const streams = checkOf(v, 'flows', 'server-sent events and a websocket');
    assert.equal(streams.status, 'passed', streams.error);

    // The token the service handed out never reaches the run folder.
    const runDir = latestRunDir(dir);
    for (const f of allFiles(runDir)) assert.ok(!readFileSync(f, 'utf8').includes(svc.token), `${f} holds the token`);
    assert.ok(!out.includes(svc.token), 'the console shows the token');
  });
});
