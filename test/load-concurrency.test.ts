// Load that is real: at the default profile the multi-user journeys start on a shared beat
// (scenarios/lib/profiles.ts), so --users requests reach the service at once, and a
// contention bug that needs more than N requests in flight (sample-app fault
// contentionLatencyMs / contentionAbove) fails the p99 gate. Real k6, real sample-app.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configProject, readVerdictFromOutput, runCli } from './helpers.ts';

interface Gate {
  metric: string;
  expression: string;
  status: string;
  observed?: number;
  samples: number;
}

/** The overall request-duration p99 gate (not an endpoint's). */
const p99Gate = (v: { gates: Gate[] }): Gate => {
  const g = v.gates.find((x) => /^http_req_duration(\{[^}]*\})?$/.test(x.metric) && !x.metric.includes('name:') && x.expression === 'p(99)<1000');
  assert.ok(g, 'the p99 gate is in the verdict');
  return g;
};

/** multi-user alone, at the default profile (no --profile): what `perf run --users 15` runs. */
async function journey(overrides: string) {
  const cwd = configProject(overrides, 'perf-concurrency-');
  const r = await runCli(['run', '--phase', 'load', '--scenario', 'multi-user', '--users', '15', '--reporter', 'console'], { cwd, timeoutMs: 180_000 });
  const v = readVerdictFromOutput(cwd, r.stderr) as { status: string; gates: Gate[]; phases: any[] };
  return { r, v, load: v.phases[0].k6[0].analysis.concurrency.scenarios.find((s: { scenario: string }) => s.scenario === 'journey') };
}

describe('the default profile drives --users requests in flight', () => {
  test('healthy: every user’s journey starts on the beat, 15 requests in flight at once, and the gates pass', async () => {
    const { r, v, load } = await journey('');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(p99Gate(v).status, 'passed');
    assert.deepEqual(load.asked, { executor: 'ramping-vus', vus: 15 });
    assert.equal(load.inFlight.max, 15, 'all 15 users had a request in flight at one instant');
    // Not once by chance: at every beat. More than 1 % of requests start with over 10 in flight.
    assert.ok(load.inFlight.atStart.p99 > 10, `in flight at a request's start: p99 ${load.inFlight.atStart.p99}`);
    assert.match(r.stderr, /journey: asked 15 VUs \(ramping-vus\) → [\d.]+ iterations\/s, [\d.]+ req\/s over [\d.]+ s; requests in flight mean [\d.]+, max 15/);
  });

  test('a contention bug (1.5 s more while over 10 API requests are in flight) fails the p99 gate', async () => {
    const { r, v, load } = await journey('sampleApp: { faults: { contentionLatencyMs: 1500, contentionAbove: 10 } }');
    assert.equal(r.code, 1, r.stderr);
    const g = p99Gate(v);
    assert.equal(g.status, 'failed');
    assert.ok(g.observed! >= 1000 && g.samples >= 100, `observed ${g.observed} over ${g.samples} samples`);
    assert.ok(load.inFlight.max > 10, 'the verdict shows the concurrency that set it off');
  });
});
