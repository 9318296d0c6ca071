import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { CheckFailure, CheckSkipped, type Check } from '../src/checks/types.ts';
import { RunAbort, runPipeline, type Fixture, type PhaseDef, type PipelineOptions } from '../src/run/pipeline.ts';
import { Redactor } from '../src/redact/redact.ts';
import { ReporterMultiplexer } from '../src/reporters/reporter.ts';

function phase(name: string, checks: Check[], over: Partial<PhaseDef> = {}): PhaseDef {
  return { name, parallel: true, blocking: true, timeoutMs: 5000, checkTimeoutMs: 2000, retries: 0, concurrency: 8, checks, ...over };
}
const ok = (name: string, ms = 0): Check => ({ name, run: () => sleep(ms) });
const bad = (name: string, msg = 'boom'): Check => ({
  name,
  run: async (ctx) => {
    ctx.record({ kind: 'note', message: 'about to fail' });
    throw new CheckFailure(msg);
  },
});

function opts(phases: PhaseDef[], over: Partial<PipelineOptions> = {}): PipelineOptions {
  return {
    runId: 'r1',
    runDir: '/tmp',
    seed: 1,
    phases,
    fixtures: [],
    target: () => ({ baseUrl: 'http://127.0.0.1:1', kind: 'external' }),
    reporter: new ReporterMultiplexer([]),
    redactor: new Redactor(),
    signal: new AbortController().signal,
    deadlineMs: 60_000,
    retryBackoffMs: 10,
    ...over,
  };
}

describe('pipeline runner', () => {
  test('all checks pass: run passed, phases in order, checks in declaration order', async () => {
    const r = await runPipeline(opts([phase('health', [ok('a', 20), ok('b')]), phase('smoke', [ok('c')], { parallel: false })]));
    assert.equal(r.status, 'passed');
    assert.deepEqual(r.phases.map((p) => [p.name, p.status]), [['health', 'passed'], ['smoke', 'passed']]);
    assert.deepEqual(r.phases[0]!.checks!.map((c) => c.name), ['a', 'b']);
    assert.deepEqual(r.reasons, []);
  });

  test('a blocking failure skips what follows, saying why', async () => {
    const r = await runPipeline(opts([phase('health', [ok('api_health'), bad('redis_health', 'PING timed out')]), phase('smoke', [ok('x')]), phase('flows', [ok('y')])]));
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.phases.map((p) => p.status), ['failed', 'skipped', 'skipped']);
    assert.equal(r.phases[1]!.skippedBecause, 'skipped: health failed: redis_health');
    assert.equal(r.phases[0]!.checks![1]!.error, 'PING timed out');
    assert.equal(r.phases[0]!.checks![1]!.evidence[0]!.kind, 'note');
    assert.deepEqual(r.reasons, ['health failed: redis_health']);
  });

  test('a non-blocking failure does not skip the rest, but fails the run', async () => {
    const r = await runPipeline(opts([phase('flows', [bad('login')], { blocking: false, parallel: false }), phase('db-integrity', [ok('tables')])]));
    assert.deepEqual(r.phases.map((p) => p.status), ['failed', 'passed']);
    assert.equal(r.status, 'failed');
  });

  test('a check that passes only on retry is flaky, keeping the first failure', async () => {
    let n = 0;
    const wobbly: Check = { name: 'wobbly', run: async () => { if (++n === 1) throw new CheckFailure('first try failed'); } };
    const r = await runPipeline(opts([phase('smoke', [wobbly], { retries: 2 })]));
    const c = r.phases[0]!.checks![0]!;
    assert.equal(c.status, 'flaky');
    assert.equal(c.attempts, 2);
    assert.match(c.error!, /passed on attempt 2 after: first try failed/);
    assert.equal(r.phases[0]!.status, 'flaky');
    assert.equal(r.status, 'passed', 'flaky is reported, not a failure');
  });

  test('retries are bounded and a check may opt out of them', async () => {
    let a = 0;
    let b = 0;
    const always: Check = { name: 'always', run: async () => { a++; throw new CheckFailure('nope'); } };
    const once: Check = { name: 'once', retries: 0, run: async () => { b++; throw new CheckFailure('nope'); } };
    const r = await runPipeline(opts([phase('smoke', [always, once], { retries: 2 })]));
    assert.equal(a, 3);
    assert.equal(b, 1);
    assert.equal(r.phases[0]!.checks![0]!.error, 'nope (after 3 attempts)');
  });

  test('a check attempt that exceeds its timeout is timedout, even if it ignores its signal', async () => {
    const stuck: Check = { name: 'stuck', timeoutMs: 50, run: () => new Promise(() => {}) };
    const r = await runPipeline(opts([phase('health', [stuck, ok('fine')])]));
    const c = r.phases[0]!.checks![0]!;
    assert.equal(c.status, 'timedout');
    assert.equal(c.error, 'timed out after 50 ms');
    assert.equal(r.phases[0]!.status, 'failed');
    assert.equal(r.phases[0]!.checks![1]!.status, 'passed');
  });

  test('a phase timeout stops the phase: running checks timedout, pending ones skipped', async () => {
    const r = await runPipeline(opts([phase('flows', [ok('slow', 5000), ok('never')], { parallel: false, timeoutMs: 100, checkTimeoutMs: 10_000 }), phase('next', [ok('z')])]));
    const [slow, never] = r.phases[0]!.checks!;
    assert.equal(r.phases[0]!.status, 'timedout');
    assert.equal(slow!.status, 'timedout');
    assert.equal(never!.status, 'skipped');
    assert.equal(r.phases[1]!.skippedBecause, 'skipped: flows timed out: slow');
    assert.equal(r.status, 'failed');
  });

  test('parallel checks respect the concurrency cap', async () => {
    let running = 0;
    let peak = 0;
    const c = (i: number): Check => ({ name: `c${i}`, run: async () => { running++; peak = Math.max(peak, running); await sleep(20); running--; } });
    await runPipeline(opts([phase('smoke', Array.from({ length: 12 }, (_, i) => c(i)), { concurrency: 3 })]));
    assert.equal(peak, 3);
  });

  test('sequential checks share state through ctx.shared, in order', async () => {
    const seen: string[] = [];
    const first: Check = { name: 'signup', run: async (ctx) => { ctx.shared.set('user', 'u1'); } };
    const second: Check = { name: 'login', run: async (ctx) => { seen.push(String(ctx.shared.get('user'))); } };
    await runPipeline(opts([phase('flows', [first, second], { parallel: false })]));
    assert.deepEqual(seen, ['u1']);
  });

  test('fixtures set up in order and tear down in reverse, also on failure', async () => {
    const log: string[] = [];
    const fx = (name: string): Fixture => ({ name, setup: async () => { log.push(`up ${name}`); return { teardown: async () => { log.push(`down ${name}`); } }; } });
    const r = await runPipeline(opts([phase('health', [bad('x')])], { fixtures: [fx('db'), fx('app')] }));
    assert.equal(r.status, 'failed');
    assert.deepEqual(log, ['up db', 'up app', 'down app', 'down db']);
  });

  test('a failed fixture skips every phase with the reason and tears down what was set up', async () => {
    const log: string[] = [];
    const r = await runPipeline(
      opts([phase('health', [ok('a')])], {
        fixtures: [
          { name: 'db', setup: async () => ({ teardown: async () => { log.push('down db'); } }) },
          { name: 'target', setup: async () => { throw new Error('port in use'); } },
        ],
      }),
    );
    assert.equal(r.status, 'failed');
    assert.equal(r.phases[0]!.skippedBecause, 'skipped: setup failed: target');
    assert.deepEqual(r.reasons, ['setup of target failed: port in use']);
    assert.deepEqual(log, ['down db']);
  });

  test('an interrupt mid-phase: that phase interrupted, the rest skipped, teardown still runs', async () => {
    const ac = new AbortController();
    let tornDown = false;
    const started = runPipeline(
      opts([phase('flows', [ok('long', 10_000)], { parallel: false }), phase('db-integrity', [ok('t')])], {
        signal: ac.signal,
        fixtures: [{ name: 'app', setup: async () => ({ teardown: async () => { tornDown = true; } }) }],
      }),
    );
    setTimeout(() => ac.abort(new RunAbort('interrupted')), 50);
    const r = await started;
    assert.equal(r.status, 'interrupted');
    assert.deepEqual(r.phases.map((p) => p.status), ['interrupted', 'skipped']);
    assert.equal(r.phases[0]!.checks![0]!.status, 'interrupted');
    assert.equal(r.phases[1]!.skippedBecause, 'skipped: interrupted');
    assert.ok(tornDown);
  });

  test('the global deadline ends the run as timedout', async () => {
    const r = await runPipeline(opts([phase('flows', [ok('long', 10_000)], { parallel: false, timeoutMs: 60_000, checkTimeoutMs: 60_000 }), phase('later', [ok('t')])], { deadlineMs: 80 }));
    assert.equal(r.status, 'timedout');
    assert.equal(r.reasons[0], 'global deadline reached');
    assert.equal(r.phases[1]!.skippedBecause, 'skipped: deadline');
  });

  test('a check that throws a plain Error (a bug in the check) keeps its stack in details', async () => {
    const buggy: Check = { name: 'buggy', run: async () => { JSON.parse('{'); } };
    const r = await runPipeline(opts([phase('smoke', [buggy])]));
    const c = r.phases[0]!.checks![0]!;
    assert.equal(c.status, 'failed');
    assert.match(c.details!, /SyntaxError/);
  });

  test('a check with nothing to assert is skipped with its reason, never passed, and not retried; a phase of only those is skipped', async () => {
    let attempts = 0;
    const nothing: Check = {
      name: 'nothing_to_test',
      run: async () => {
        attempts++;
        throw new CheckSkipped('no table has an updated_at column');
      },
    };
    const r = await runPipeline(opts([phase('db-integrity', [ok('tables'), nothing], { retries: 2 }), phase('flows', [nothing])]));
    const c = r.phases[0]!.checks![1]!;
    assert.deepEqual([c.status, c.error, c.attempts], ['skipped', 'no table has an updated_at column', 1]);
    assert.equal(attempts, 2, 'one attempt per phase: a skip is not retried');
    assert.equal(r.phases[0]!.status, 'passed', 'one check passed, one had nothing to assert');
    assert.equal(r.phases[1]!.status, 'skipped');
    assert.equal(r.phases[1]!.skippedBecause, 'skipped: no check had anything to assert (nothing_to_test: no table has an updated_at column)');
    assert.equal(r.status, 'passed', 'a skip is not a failure');
    // A skip after a failed attempt does not hide the failure.
    let n = 0;
    const failsThenSkips: Check = {
      name: 'fails_then_skips',
      run: async () => {
        if (n++ === 0) throw new CheckFailure('row missing');
        throw new CheckSkipped('nothing left');
      },
    };
    const again = await runPipeline(opts([phase('smoke', [failsThenSkips], { retries: 1 })]));
    assert.equal(again.phases[0]!.checks![0]!.status, 'failed');
    assert.match(again.phases[0]!.checks![0]!.error!, /^row missing \(then skipped on attempt 2: nothing left\)$/);
  });

  test('a phase with its own run() (the load phase) reports its status', async () => {
    const r = await runPipeline(opts([phase('load', [], { run: async () => ({ status: 'failed', reason: 'gate p95 failed' }) })]));
    assert.equal(r.phases[0]!.status, 'failed');
    assert.equal(r.phases[0]!.reason, 'gate p95 failed');
    assert.deepEqual(r.reasons, ['load failed: gate p95 failed']);
  });
});

describe('pipeline runner: a phase that stops itself on abort (abortGraceMs)', () => {
  /** A run() like the load phase's: on abort it takes `stopMs` to stop, then returns what it measured. */
  const stopping = (stopMs: number): PhaseDef['run'] => (ctx) =>
    new Promise((resolve) => {
      ctx.signal.addEventListener('abort', () => setTimeout(() => resolve({ status: 'interrupted', reason: 'interrupted during k6', k6: [] }), stopMs), { once: true });
    });
  const teardownAt: number[] = [];
  const fixture: Fixture = { name: 'target', setup: async () => ({ teardown: async () => void teardownAt.push(Date.now()) }) };

  test('an interrupt: awaited within its grace, its results kept, teardown only after it stopped', async () => {
    const ac = new AbortController();
    let stoppedAt = 0;
    const run = stopping(300);
    const r = runPipeline(opts([phase('load', [], { abortGraceMs: 2000, run: async (ctx) => { const out = await run!(ctx); stoppedAt = Date.now(); return out; } }), phase('after', [ok('x')])], { signal: ac.signal, fixtures: [fixture] }));
    setTimeout(() => ac.abort(new RunAbort('interrupted')), 50);
    const res = await r;
    assert.equal(res.status, 'interrupted');
    assert.equal(res.phases[0]!.status, 'interrupted');
    assert.deepEqual(res.phases[0]!.k6, [], "the phase's own result is in the verdict");
    assert.equal(res.phases[0]!.reason, 'interrupted during k6');
    assert.equal(res.phases[1]!.status, 'skipped');
    assert.ok(stoppedAt > 0 && teardownAt.at(-1)! >= stoppedAt, 'the target was torn down after the phase had stopped');
  });

  test('a phase timeout within its grace: timedout, its results kept', async () => {
    const r = await runPipeline(opts([phase('load', [], { timeoutMs: 100, abortGraceMs: 2000, run: stopping(200) })]));
    assert.equal(r.phases[0]!.status, 'timedout');
    assert.equal(r.phases[0]!.reason, 'phase timed out after 100 ms');
    assert.deepEqual(r.phases[0]!.k6, []);
  });

  test('a phase that does not stop within its grace is abandoned when the grace ends', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const r = runPipeline(opts([phase('load', [], { abortGraceMs: 200, run: stopping(1500) })], { signal: ac.signal }));
    setTimeout(() => ac.abort(new RunAbort('interrupted')), 50);
    const res = await r;
    assert.equal(res.phases[0]!.status, 'interrupted');
    assert.equal(res.phases[0]!.k6, undefined);
    assert.ok(Date.now() - started < 1200, 'abandoned when the grace ended, not when it stopped');
  });
});
