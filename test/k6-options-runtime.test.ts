import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { applyPerfOptions } from '../bundler/k6-options-runtime.ts';
import { durationMs, steadyStartMs } from '../bundler/window-tag.ts';

const g = globalThis as { __ENV?: Record<string, string> };
function withOverrides(o: unknown): void {
  g.__ENV = { PERF_K6_OPTIONS: JSON.stringify(o) };
}

describe('applyPerfOptions (runs inside k6)', () => {
  afterEach(() => {
    g.__ENV = {};
  });

  test('no overrides: the scenario options are unchanged', () => {
    g.__ENV = {};
    assert.deepEqual(applyPerfOptions({ vus: 3, duration: '5s' }), { vus: 3, duration: '5s' });
  });

  test('users and duration replace vus/iterations of a simple scenario', () => {
    withOverrides({ vus: 15, duration: '30s' });
    assert.deepEqual(applyPerfOptions({ vus: 1, iterations: 3 }), { vus: 15, duration: '30s' });
  });

  test('shared iterations are never spread over more VUs than iterations (k6 would reject it)', () => {
    withOverrides({ vus: 15 });
    assert.deepEqual(applyPerfOptions({ vus: 1, iterations: 3 }), { vus: 3, iterations: 3 });
    const out = applyPerfOptions({ scenarios: { s: { executor: 'shared-iterations', vus: 1, iterations: 4 }, p: { executor: 'per-vu-iterations', vus: 1, iterations: 2 } } });
    assert.equal(out.scenarios!.s!.vus, 4);
    assert.equal(out.scenarios!.p!.vus, 15);
  });

  test('scenarios sized by a load profile (env PERF_MANAGED) keep their shape', () => {
    withOverrides({ vus: 10, duration: '1m' });
    const managed = { executor: 'ramping-vus', stages: [{ duration: '5s', target: 20 }], env: { PERF_MANAGED: '1' } };
    assert.deepEqual(applyPerfOptions({ scenarios: { stress: managed } }).scenarios!.stress, managed);
  });

  test('thresholds are appended metric by metric', () => {
    withOverrides({ thresholds: { http_req_duration: ['p(99)<500'], checks: ['rate>0.99'] } });
    const out = applyPerfOptions({ thresholds: { http_req_duration: ['p(95)<300'] } });
    assert.deepEqual(out.thresholds, { http_req_duration: ['p(95)<300', 'p(99)<500'], checks: ['rate>0.99'] });
  });

  test('scenarios: VU executors get the users, ramping stages are scaled to peak at them, arrival-rate is left alone', () => {
    withOverrides({ vus: 10, duration: '1m' });
    const out = applyPerfOptions({
      scenarios: {
        journey: { executor: 'constant-vus', vus: 2, duration: '10s' },
        ramp: { executor: 'ramping-vus', stages: [{ duration: '5s', target: 4 }, { duration: '5s', target: 2 }] },
        rate: { executor: 'constant-arrival-rate', rate: 50, timeUnit: '1s', duration: '10s', preAllocatedVUs: 5 },
      },
    });
    assert.deepEqual(out.scenarios!.journey, { executor: 'constant-vus', vus: 10, duration: '1m' });
    assert.deepEqual(out.scenarios!.ramp!.stages, [{ duration: '5s', target: 10 }, { duration: '5s', target: 5 }]);
    assert.equal(out.scenarios!.rate!.preAllocatedVUs, 5);
    assert.equal(out.scenarios!.rate!.duration, '1m');
  });
});

describe('when a scenario becomes steady (bundler/window-tag.ts, read inside k6)', () => {
  test('ramping stages: at the end of the first stage that reaches the highest target', () => {
    assert.equal(steadyStartMs([{ duration: '5s', target: 15 }, { duration: '15s', target: 15 }], 1), 5000);
    assert.equal(steadyStartMs([{ duration: '1m30s', target: 5 }, { duration: '500ms', target: 10 }, { duration: '1h', target: 10 }, { duration: '10s', target: 0 }], 1), 90_500);
    // Starting at the peak, or no stages: steady from the start.
    assert.equal(steadyStartMs([{ duration: '10s', target: 4 }], 4), 0);
    assert.equal(steadyStartMs(undefined), 0);
    assert.equal(durationMs('1h2m3s'), 3_723_000);
    assert.equal(durationMs(250), 250);
  });
});
