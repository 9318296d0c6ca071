// Each fault, switched on at start or through the admin port, shows its symptom from outside;
// switched off, the symptom is gone (so none of these checks can pass on a healthy app).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { NO_FAULTS, parseFaultFlag, startSampleApp, type SampleAppHandle } from '../sample-app/index.ts';
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

  test('endpointErrorRoute + endpointErrorRate fail exactly that share of that route, and no other route', async () => {
    const kit = (await http(base, 'POST', '/brand-kits', { token: alice.accessToken, body: { name: 'endpoint fault kit' } })).body;
    assert.equal((await setFaults({ endpointErrorRoute: 'PATCH /brand-kits/:id', endpointErrorRate: 0.25 })).status, 200);
    const patch = [];
    for (let i = 0; i < 40; i++) patch.push((await http(base, 'PATCH', `/brand-kits/${kit.id}`, { token: alice.accessToken, body: { name: `kit ${i}` } })).status);
    // Evenly spread: every 4th request, so exactly 10 of 40.
    assert.equal(patch.filter((s) => s === 500).length, 10, patch.join(','));
    assert.equal(patch.filter((s) => s === 200).length, 30);
    assert.deepEqual(patch.slice(0, 8), [200, 200, 200, 500, 200, 200, 200, 500]);
    // Other routes, also of the same path with another method, are untouched.
    for (let i = 0; i < 8; i++) {
      assert.equal((await http(base, 'GET', `/brand-kits/${kit.id}`, { token: alice.accessToken })).status, 200);
      assert.equal((await http(base, 'GET', '/brand-kits', { token: alice.accessToken })).status, 200);
    }
    const bad = await setFaults({ endpointErrorRoute: '/brand-kits', endpointErrorRate: 2 });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.fields.map((f: { field: string }) => f.field).sort(), ['endpointErrorRate', 'endpointErrorRoute']);
    await resetFaults();
    assert.equal((await http(base, 'PATCH', `/brand-kits/${kit.id}`, { token: alice.accessToken, body: { name: 'healed' } })).status, 200);
  });

  test('wsReorder swaps two event types', async () => {
    await setFaults({ wsReorder: ['tool_executing', 'tool_completed'] });
    const types = await runTypes(bob);
    // Both present (a missing one has index -1, which would also be "before"), in swapped order.
    assert.ok(types.includes('tool_executing') && types.includes('tool_completed'), types.join(','));
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
    assert.ok(single.body.items.length > 0 && single.body.items.every((k: { userId: string }) => k.userId === alice.id), JSON.stringify(single.body));
    await resetFaults();
    assert.equal(await burst(), 0);
  });

  test('contentionLatencyMs delays API requests only while more than contentionAbove are in flight', async () => {
    // latencyMs holds every API request open for 500 ms, so a burst really overlaps on the
    // server whatever this machine's load; contention adds 800 ms on top.
    await setFaults({ latencyMs: 500, contentionLatencyMs: 800, contentionAbove: 3 });
    const get = () => http(base, 'GET', '/brand-kits', { token: alice.accessToken });
    // One at a time: never more than one in flight, never delayed.
    for (let i = 0; i < 3; i++) {
      const one = await get();
      assert.equal(one.status, 200);
      assert.ok(one.ms < 1200, `alone: ${one.ms.toFixed(0)} ms`);
    }
    // Ten at once: those that arrive with more than 3 in flight (the 4th on) wait 800 ms more.
    const burst = await Promise.all(Array.from({ length: 10 }, get));
    assert.ok(burst.every((r) => r.status === 200));
    const slow = burst.filter((r) => r.ms >= 1250).length;
    assert.ok(slow >= 5 && slow <= 7, `${slow} of 10 delayed (${burst.map((r) => r.ms.toFixed(0)).join(', ')} ms)`);
    // /health is not an API route: neither delayed nor counted.
    const health = await Promise.all(Array.from({ length: 10 }, () => http(base, 'GET', '/health')));
    assert.ok(health.every((r) => r.ms < 400), 'health is exempt');
    // The in-flight count went back down: alone again, not delayed.
    assert.ok((await get()).ms < 1200, 'in-flight count released');
    // Only latencyMs left: the same burst is not delayed beyond it.
    await setFaults({ contentionLatencyMs: 0 });
    const plain = await Promise.all(Array.from({ length: 10 }, get));
    assert.ok(plain.every((r) => r.ms < 1200), `contention off: ${plain.map((r) => r.ms.toFixed(0)).join(', ')} ms`);
    await resetFaults();
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
  test('brokenPageScript is an uncaught error in a real browser (headless Chromium)', async () => {
    // Not skipped without a browser: a silent skip would pass CI (which has Chromium) for nothing.
    assert.ok(chromium, 'this test needs Chromium: apt-get install chromium (scripts/setup.sh installs it)');
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

  test('lostWriteRate: a kit creation answers 201 with a kit that was never stored', async () => {
    await setFaults({ lostWriteRate: 1 });
    try {
      const created = await http(base, 'POST', '/brand-kits', { token: bob.accessToken, body: { name: 'lost kit' } });
      assert.equal(created.status, 201);
      assert.match(created.body.id, /^[0-9a-f-]{36}$/);
      assert.equal((await http(base, 'GET', `/brand-kits/${created.body.id}`, { token: bob.accessToken })).status, 404, 'the answered kit is not there');
    } finally {
      await resetFaults();
    }
    const kept = await http(base, 'POST', '/brand-kits', { token: bob.accessToken, body: { name: 'kept kit' } });
    assert.equal((await http(base, 'GET', `/brand-kits/${kept.body.id}`, { token: bob.accessToken })).status, 200, 'stored without the fault');
    await http(base, 'DELETE', `/brand-kits/${kept.body.id}`, { token: bob.accessToken });
  });

  test('duplicateWriteRate: one kit creation stores two rows; the answer names one of them', async () => {
    const count = async () => (await http(base, 'GET', '/brand-kits', { token: bob.accessToken })).body.items.filter((k: { name: string }) => k.name === 'twin kit').length;
    await setFaults({ duplicateWriteRate: 1 });
    let id: string;
    try {
      const created = await http(base, 'POST', '/brand-kits', { token: bob.accessToken, body: { name: 'twin kit' } });
      assert.equal(created.status, 201);
      id = created.body.id;
    } finally {
      await resetFaults();
    }
    assert.equal(await count(), 2);
    assert.equal((await http(base, 'GET', `/brand-kits/${id}`, { token: bob.accessToken })).status, 200);
    await http(base, 'POST', '/brand-kits', { token: bob.accessToken, body: { name: 'twin kit' } });
    assert.equal(await count(), 3, 'one row per creation without the fault');
    for (const k of (await http(base, 'GET', '/brand-kits', { token: bob.accessToken })).body.items.filter((k: { name: string }) => k.name === 'twin kit')) {
      await http(base, 'DELETE', `/brand-kits/${k.id}`, { token: bob.accessToken });
    }
  });

  test('slowPageMs: HTML pages answer that much later; static files, the API and /health do not', async () => {
    const timed = async (path: string, headers: Record<string, string> = { accept: 'text/html' }) => {
      const t0 = performance.now();
      const res = await http(base, 'GET', path, { headers });
      return { status: res.status, ms: performance.now() - t0 };
    };
    await setFaults({ slowPageMs: 400 });
    try {
      for (const p of ['/', '/login', '/perf-no-such-page']) {
        const r = await timed(p);
        assert.ok(r.ms >= 400, `${p} answered ${r.status} after ${r.ms.toFixed(0)} ms`);
      }
      for (const p of ['/static/app.js', '/health']) {
        const r = await timed(p, {});
        assert.ok(r.ms < 300, `${p} not delayed: ${r.ms.toFixed(0)} ms`);
      }
    } finally {
      await resetFaults();
    }
    const healthy = await timed('/');
    assert.ok(healthy.ms < 300, `/ without the fault: ${healthy.ms.toFixed(0)} ms`);
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

describe('faults that degrade with uptime (soak drift)', () => {
  /** The fastest of 3 sequential API requests (a 401 is delayed like any answer): one slow
   *  outlier on a noisy box does not count, the fault's delay does. */
  const fastestMs = async (url: string) => {
    const times = [];
    for (let i = 0; i < 3; i++) times.push((await http(url, 'GET', '/brand-kits')).ms);
    return Math.min(...times);
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test('latencyCreepMsPerMin: API latency grows with the time since the fault was set; re-setting it restarts the clock', async () => {
    // 600 ms per minute = +10 ms per second.
    const creeping = await startSampleApp({ seed: false, faults: { latencyCreepMsPerMin: 600 } });
    try {
      assert.equal((await http(creeping.adminUrl, 'GET', '/faults')).body.latencyCreepMsPerMin, 600);
      const early = await fastestMs(creeping.baseUrl);
      await sleep(2_000);
      const late = await fastestMs(creeping.baseUrl);
      // Expected about +20 ms; a lower bound well below it.
      assert.ok(late - early >= 10, `early ${early.toFixed(1)} ms, 2 s later ${late.toFixed(1)} ms`);
      assert.equal((await http(creeping.baseUrl, 'GET', '/health')).status, 200);
      assert.ok((await http(creeping.baseUrl, 'GET', '/health')).ms < late, '/health is exempt');
      // Set again through the admin API: the clock restarts, the added latency is back near 0.
      assert.equal((await http(creeping.adminUrl, 'PUT', '/faults', { body: { latencyCreepMsPerMin: 600 } })).status, 200);
      const restarted = await fastestMs(creeping.baseUrl);
      assert.ok(late - restarted >= 10, `after the restart ${restarted.toFixed(1)} ms, before it ${late.toFixed(1)} ms`);
    } finally {
      await creeping.stop();
    }
    // The fault off (the shared app, all faults reset): no growth over the same 2 s.
    await resetFaults();
    const early = await fastestMs(base);
    await sleep(2_000);
    const late = await fastestMs(base);
    assert.ok(late - early < 10, `without the fault: ${early.toFixed(1)} ms then ${late.toFixed(1)} ms`);
  });

  test('leakKbPerRequest: every API request retains that much memory (the process RSS grows); 0 stops it, DELETE /faults releases it', async () => {
    // startSampleApp runs in this process: its pid is ours, /proc/<pid>/status is the app's RSS.
    assert.equal(app.pid, process.pid);
    const rssMb = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${app.pid}/status`, 'utf8'))![1]) / 1024;
    const requests = async (n: number) => {
      for (let i = 0; i < n; i += 10) {
        const batch = await Promise.all(Array.from({ length: 10 }, () => http(base, 'GET', '/brand-kits', { token: alice.accessToken })));
        assert.ok(batch.every((r) => r.status === 200));
      }
    };
    await resetFaults();
    await requests(20); // warm-up
    let before = rssMb();
    await requests(100);
    const healthyGrowth = rssMb() - before;
    assert.ok(healthyGrowth < 30, `without the fault RSS grew ${healthyGrowth.toFixed(1)} MB over 100 requests`);

    assert.equal((await setFaults({ leakKbPerRequest: 1024 })).status, 200);
    const buffersBefore = process.memoryUsage().arrayBuffers;
    before = rssMb();
    await requests(100);
    const leakGrowth = rssMb() - before;
    assert.ok(leakGrowth >= 60, `with 1 MB per request RSS grew ${leakGrowth.toFixed(1)} MB over 100 requests`);
    // /health is not an API route: it leaks nothing.
    const leakedBytes = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 20; i++) await http(base, 'GET', '/health');
    assert.ok(process.memoryUsage().arrayBuffers - leakedBytes < 10 * 1024 * 1024, '/health is exempt');

    // Back to 0: the growth stops (what leaked stays).
    await setFaults({ leakKbPerRequest: 0 });
    before = rssMb();
    await requests(100);
    assert.ok(rssMb() - before < 30, `leakKbPerRequest 0: RSS grew ${(rssMb() - before).toFixed(1)} MB`);
    assert.ok(process.memoryUsage().arrayBuffers - buffersBefore >= 90 * 1024 * 1024, 'the leaked buffers are still held');

    // DELETE /faults drops the retained buffers: after a GC the memory is gone.
    await resetFaults();
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    let released = 0;
    for (let i = 0; i < 20 && released < 90 * 1024 * 1024; i++) {
      gc();
      await sleep(50);
      released = leakedBytes - process.memoryUsage().arrayBuffers;
    }
    assert.ok(released >= 90 * 1024 * 1024, `released ${(released / 1024 / 1024).toFixed(1)} MB after DELETE /faults`);
  });

  test('the schema rejects negative (and, for the leak, over-cap) values, naming the field; flags and start-up options take them', async () => {
    const bad = await setFaults({ latencyCreepMsPerMin: -1, leakKbPerRequest: -5 });
    assert.equal(bad.status, 422);
    assert.deepEqual(bad.body.fields.map((f: { field: string }) => f.field).sort(), ['latencyCreepMsPerMin', 'leakKbPerRequest']);
    assert.equal((await setFaults({ leakKbPerRequest: 2048 })).status, 422);
    assert.deepEqual((await http(app.adminUrl, 'GET', '/faults')).body, NO_FAULTS, 'nothing changed');
    assert.throws(() => app.setFaults({ latencyCreepMsPerMin: -60 }), /latencyCreepMsPerMin/);
    assert.throws(() => app.setFaults({ leakKbPerRequest: -1 }), /leakKbPerRequest/);
    await assert.rejects(startSampleApp({ seed: false, faults: { leakKbPerRequest: -1 } }), /leakKbPerRequest/);
    assert.deepEqual(parseFaultFlag('latencyCreepMsPerMin=60'), { latencyCreepMsPerMin: 60 });
    assert.deepEqual(parseFaultFlag('leakKbPerRequest=1024'), { leakKbPerRequest: 1024 });
    assert.throws(() => parseFaultFlag('leakKbPerRequest=-1'), /leakKbPerRequest/);
  });
});
