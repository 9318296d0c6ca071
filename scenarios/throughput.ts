// throughput: an open model on the hot endpoints. Requests arrive at a fixed rate whatever
// the response times (constant-arrival-rate), as real traffic does; if k6 cannot start an
// iteration on time it counts a dropped iteration, and perf marks the run invalid rather
// than passed: a load that was not generated proves nothing.
import type { Options } from 'k6/options';
import { api, currentProfile, expectStatus, requireSession, USERS, type Session } from 'perf-harness/k6';

const profile = currentProfile();
const rate = Number(__ENV.PERF_RATE || USERS * profile.ratePerUser);
// PERF_MAX_VUS caps the VUs k6 may add to keep the rate (a generator that cannot keep up drops iterations).
const maxVUs = Number(__ENV.PERF_MAX_VUS || Math.max(20, rate));

export const options: Options = {
  scenarios: {
    // `rate` iterations per second for the steady-state hold; each iteration is 2 requests.
    hot: {
      executor: 'constant-arrival-rate',
      exec: 'hot',
      rate,
      timeUnit: '1s',
      duration: profile.hold,
      // Pre-allocated generously: VUs added mid-test start late and show up as dropped iterations.
      preAllocatedVUs: Math.min(maxVUs, Math.max(10, Math.ceil(rate / 2))),
      maxVUs,
      env: { PERF_MANAGED: '1' },
    },
  },
};

/** One user for all of this scenario's iterations, created once in setup(); without one the test stops. */
export function setup(): Session {
  return requireSession();
}

export function hot(me: Session): void {
  expectStatus(api('GET', '/health', { name: 'health' }), 200, 'health');
  expectStatus(api('GET', '/brand-kits', { name: 'brand_kits_list', as: me }), 200, 'list brand kits');
}
