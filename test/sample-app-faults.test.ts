// Each fault, switched on at start or through the admin port, shows its symptom from outside;
// switched off, the symptom is gone (so none of these checks can pass on a healthy app).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { NO_FAULTS, startSampleApp, type SampleAppHandle } from '../sample-app/index.ts';
import { http, openWs, signup, type TestUser } from './sample-app-helpers.ts';

let app: SampleAppHandle;
let base: string;
let alice: TestUser;
let bob: TestUser;

const setFaults = (patch: object) => http(app.adminUrl, 'PUT', '/faults', { body: patch });
const resetFaults = () => http(app.adminUrl, 'DELETE', '/faults');

async function runTypes(user: TestUser): Promise<string[]> {
  const ws = await openWs(app.wsUrl, { token: user.accessToken });
  try {
    await ws.next((m) => m.type === 'session');
    ws.send({ type: 'run', prompt: 'fault probe' });
    return (await ws.runEvents()).map((e) => e.type);
  } finally {
    await ws.close();
  }
}

const HEALTHY_RUN = ['agent_started', 'agent_thinking', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed'];

before(async () => {
  app = await startSampleApp({
    seed: false,
    timings: { wsEventDelayMs: 5 },
    faults: { latencyMs: 150, wsDropEvent: 'tool_completed', dashboardNoRedirect: true },
  });
  base = app.baseUrl;
  // Accounts are made through the API, so the latency fault slows this down a little.
  [alice, bob] = await Promise.all([signup(base, 'alice'), signup(base, 'bob')]);
  await http(base, 'POST', '/brand-kits', { token: alice.accessToken, body: { name: 'alice kit' } });
  await http(base, 'POST', '/brand-kits', { token: bob.accessToken, body: { name: 'bob kit' } });
});
after(async () => {
  await app?.stop();
});

describe('faults switched on at start', () => {
  test('the admin port reports them', async () => {
    const res = await http(app.adminUrl, 'GET', '/faults');
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { ...NO_FAULTS, latencyMs: 150, wsDropEvent: 'tool_completed', dashboardNoRedirect: true });
  });

  test('latencyMs delays API answers (not /health, not pages)', async () => {
    const api = await http(base, 'GET', '/brand-kits', { token: alice.accessToken });
    assert.equal(api.status, 200);
    assert.ok(api.ms >= 150, `API took ${api.ms.toFixed(0)} ms`);
    const unauthorized = await http(base, 'GET', '/brand-kits');
    assert.ok(unauthorized.ms >= 150, 'also before authentication');
    const health = await http(base, 'GET', '/health');
    assert.ok(health.ms < 120, `/health took ${health.ms.toFixed(0)} ms`);
    const page = await http(base, 'GET', '/login', { headers: { accept: 'text/html' } });
    assert.ok(page.ms < 120, `/login took ${page.ms.toFixed(0)} ms`);
  });

  test('wsDropEvent never sends the dropped type', async () => {
    const types = await runTypes(alice);
    assert.ok(!types.includes('tool_completed'), types.join(','));
    assert.ok(types.includes('agent_completed'));
  });

  test('dashboardNoRedirect renders dashboard pages for signed-out visitors', async () => {
    const res = await http(base, 'GET', '/dashboard', { headers: { accept: 'text/html' } });
    assert.equal(res.status, 200);
    assert.match(res.text, /Not signed in/);
  });

  test('DELETE /faults switches everything off', async () => {
    const reset = await resetFaults();
    assert.deepEqual(reset.body, NO_FAULTS);
    const api = await http(base, 'GET', '/brand-kits', { token: alice.accessToken });
    assert.ok(api.ms < 120, `API took ${api.ms.toFixed(0)} ms`);
    assert.deepEqual(await runTypes(alice), HEALTHY_RUN);
    assert.equal((await http(base, 'GET', '/dashboard', { headers: { accept: 'text/html' } })).status, 302);
  });
});

describe('faults switched at run time through the admin port', () => {
  before(resetFaults);

  test('tailLatencyMs + tailFraction delay about that share of API requests', async () => {
    assert.equal((await setFaults({ tailLatencyMs: 200, tailFraction: 0.5 })).status, 200);
    const times = [];
    for (let i = 0; i < 20; i++) times.push((await http(base, 'GET', '/brand-kits', { token: alice.accessToken })).ms);
    const slow = times.filter((ms) => ms >= 200).length;
    assert.ok(slow >= 2 && slow <= 18, `${slow} of 20 slow`);
    assert.ok(times.some((ms) => ms < 100), 'the rest stays fast');
    await resetFaults();
  });

  test('errorRate answers that share of API requests 500, with a request id; /health and pages are exempt', async () => {
    await setFaults({ errorRate: 1 });
    const res = await http(base, 'GET', '/brand-kits', { token: alice.accessToken, headers: { 'x-request-id': 'fault-1' } });
    assert.equal(res.status, 500);
    assert.equal(res.body.error, 'injected_fault');
    assert.equal(res.headers.get('x-request-id'), 'fault-1');
    assert.equal((await http(base, 'POST', '/auth/login', { body: { email: alice.email, password: alice.password } })).status, 500);
    assert.equal((await http(base, 'GET', '/health')).status, 200);
    assert.equal((await http(base, 'GET', '/', { headers: { accept: 'text/html' } })).status, 200);
    await setFaults({ errorRate: 0.5 });
    const statuses = await Promise.all(Array.from({ length: 40 }, () => http(base, 'GET', '/brand-kits', { token: alice.accessToken }).then((r) => r.status)));
    const failed = statuses.filter((s) => s === 500).length;
    assert.ok(failed >= 5 && failed <= 35, `${failed} of 40 failed`);
    assert.equal(failed + statuses.filter((s) => s === 200).length, 40);
    await resetFaults();
  });

  test('wsReorder swaps two event types', async () => {
    await setFaults({ wsReorder: ['tool_executing', 'tool_completed'] });
    const types = await runTypes(bob);
    assert.ok(types.indexOf('tool_completed') < types.indexOf('tool_executing'), types.join(','));
    await setFaults({ wsReorder: true });
    const shorthand = (await http(app.adminUrl, 'GET', '/faults')).body.wsReorder;
    assert.deepEqual(shorthand, ['tool_executing', 'tool_completed']);
    await resetFaults();
  });

  test("crossUserLeak: under concurrency GET /brand-kits returns another user's kits", async () => {
    const burst = async () => {
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) => {
          const me = i % 2 ? bob : alice;
          return http(base, 'GET', '/brand-kits', { token: me.accessToken }).then((res) => ({ me, res }));
        }),
      );
      return results.filter(({ me, res }) => res.body.items.some((k: { userId: string }) => k.userId !== me.id)).length;
    };
    assert.equal(await burst(), 0, 'no leak without the fault');
    await setFaults({ crossUserLeak: true });
    assert.ok((await burst()) > 0, 'some answers hold the other user’s kits');
    // Alone, a request still gets its own kits: it is a race, not a wrong query.
    const single = await http(base, 'GET', '/brand-kits', { token: alice.accessToken });
    assert.ok(single.body.items.every((k: { userId: string }) => k.userId === alice.id));
    await resetFaults();
    assert.equal(await burst(), 0);
  });

  test('slowQueryMs slows the brand-kits list query only', async () => {
    await setFaults({ slowQueryMs: 300 });
    const list = await http(base, 'GET', '/brand-kits', { token: alice.accessToken });
    assert.equal(list.status, 200);
    assert.ok(list.ms >= 300, `list took ${list.ms.toFixed(0)} ms`);
    const empty = await signup(base, 'nokits');
    assert.ok((await http(base, 'GET', '/brand-kits', { token: empty.accessToken })).ms >= 300, 'also for a user with no kits');
    const kitId = list.body.items[0].id;
    assert.ok((await http(base, 'GET', `/brand-kits/${kitId}`, { token: alice.accessToken })).ms < 200);
    await resetFaults();
    assert.ok((await http(base, 'GET', '/brand-kits', { token: alice.accessToken })).ms < 200);
  });

  test('wsFirstEventDelayMs holds back the first event of a run, and only the first', async () => {
    const firstEventMs = async () => {
      const ws = await openWs(app.wsUrl, { token: bob.accessToken });
      try {
        await ws.next((m) => m.type === 'session');
        const sent = performance.now();
        ws.send({ type: 'run', prompt: 'slow start' });
        await ws.next((m) => m.type === 'agent_started');
        const first = performance.now() - sent;
        const events = await ws.runEvents();
        return { first, events: events.map((e) => e.type) };
      } finally {
        await ws.close();
      }
    };
    await setFaults({ wsFirstEventDelayMs: 400 });
    const slow = await firstEventMs();
    assert.ok(slow.first >= 400, `first event after ${slow.first.toFixed(0)} ms`);
    assert.deepEqual(slow.events, HEALTHY_RUN, 'the run itself is complete and in order');
    await resetFaults();
    const fast = await firstEventMs();
    assert.ok(fast.first < 200, `first event after ${fast.first.toFixed(0)} ms without the fault`);
  });

  test("wsBroadcast: another user's connected socket receives the run's events", async () => {
    const foreignEvents = async () => {
      const [watcher, runner] = await Promise.all([openWs(app.wsUrl, { token: alice.accessToken }), openWs(app.wsUrl, { token: bob.accessToken })]);
      try {
        await Promise.all([watcher.next((m) => m.type === 'session'), runner.next((m) => m.type === 'session')]);
        runner.send({ type: 'run', prompt: 'private brief' });
        const events = await runner.runEvents();
        return { ran: events.length, leaked: watcher.messages.filter((m) => m.runId && m.userId === bob.id).length };
      } finally {
        await Promise.all([watcher.close(), runner.close()]);
      }
    };
    await setFaults({ wsBroadcast: true });
    const leaky = await foreignEvents();
    assert.equal(leaky.ran, HEALTHY_RUN.length);
    assert.equal(leaky.leaked, HEALTHY_RUN.length, "alice's socket got every event of bob's run");
    await resetFaults();
    assert.equal((await foreignEvents()).leaked, 0);
  });

  test('jobStallRate leaves that share of jobs running forever', async () => {
    const jobAfter = async (ms: number) => {
      const created = await http(base, 'POST', '/jobs', { token: alice.accessToken, body: { prompt: 'stall probe' } });
      assert.equal(created.status, 202);
      await new Promise((r) => setTimeout(r, ms));
      return (await http(base, 'GET', `/jobs/${created.body.id}`, { token: alice.accessToken })).body.status as string;
    };
    await setFaults({ jobStallRate: 1 });
    // Default job steps are 150 ms: a healthy job completes in about 300 ms.
    assert.equal(await jobAfter(1500), 'running');
    await resetFaults();
    assert.equal(await jobAfter(1500), 'completed');
  });

  test('dependencyDown reports the database or Redis down: degraded, 503', async () => {
    for (const dep of ['database', 'redis'] as const) {
      await setFaults({ dependencyDown: dep });
      const res = await http(base, 'GET', '/health');
      assert.equal(res.status, 503, dep);
      assert.equal(res.body.status, 'degraded');
      assert.equal(res.body.dependencies[dep].status, 'down');
      const other = dep === 'database' ? 'redis' : 'database';
      assert.equal(res.body.dependencies[other].status, 'ok');
    }
    await resetFaults();
    assert.equal((await http(base, 'GET', '/health')).status, 200);
  });

  test('brokenPageScript puts a throwing script on every page', async () => {
    await setFaults({ brokenPageScript: true });
    for (const p of ['/', '/login', '/signup', '/no-such-page']) {
      const page = await http(base, 'GET', p, { headers: { accept: 'text/html' } });
      const scripts = [...page.text.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
      assert.ok(scripts.length > 0, p);
      assert.throws(() => scripts.forEach((s) => new Function('window', s)({})), /brokenPageScript/, p);
    }
    await resetFaults();
    const healthy = await http(base, 'GET', '/', { headers: { accept: 'text/html' } });
    assert.doesNotMatch(healthy.text, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script when healthy');
  });

  const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
  test('brokenPageScript is an uncaught error in a real browser (headless Chromium)', { skip: chromium ? false : 'no Chromium installed' }, async () => {
    const profile = await mkdtemp(path.join(os.tmpdir(), 'sample-app-chromium-'));
    const consoleOf = (url: string) =>
      new Promise<string[]>((resolve, reject) => {
        execFile(
          chromium!,
          ['--headless=new', '--no-sandbox', '--disable-gpu', '--enable-logging=stderr', '--v=0', `--user-data-dir=${profile}`, '--dump-dom', url],
          { timeout: 30_000 },
          (error, stdout, stderr) => {
            if (error) return reject(error);
            assert.match(stdout, /data-testid="cta"/, 'the page rendered');
            resolve(stderr.split('\n').filter((l) => l.includes('CONSOLE')));
          },
        );
      });
    try {
      await setFaults({ brokenPageScript: true });
      const broken = await consoleOf(`${base}/`);
      assert.ok(broken.some((l) => /Uncaught Error: sample-app fault brokenPageScript/.test(l)), broken.join('\n'));
      await resetFaults();
      assert.deepEqual(await consoleOf(`${base}/`), [], 'a healthy page logs nothing');
    } finally {
      await resetFaults();
      await rm(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
    }
  });

  test('invalid fault patches → 422 naming each field, and nothing changes', async () => {
    await setFaults({ latencyMs: 10 });
    const res = await setFaults({ errorRate: 2, nonsense: true, wsDropEvent: 'agent_exploded', latencyMs: 500 });
    assert.equal(res.status, 422);
    const fields = res.body.fields.map((f: { field: string }) => f.field).sort();
    assert.deepEqual(fields, ['errorRate', 'nonsense', 'wsDropEvent']);
    assert.equal((await http(app.adminUrl, 'GET', '/faults')).body.latencyMs, 10);
    assert.throws(() => app.setFaults({ tailFraction: -1 }), /tailFraction/);
    await resetFaults();
  });
});
