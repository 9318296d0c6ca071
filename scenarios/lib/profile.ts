// Load profiles (`perf run --profile`): the shape of user-journey scenarios over time.
// Every profile ramps up first; analysis excludes the ramp-up windows from steady-state figures.
import { sleep } from 'k6';
import type { Options } from 'k6/options';
import { USERS } from './env.ts';
import { PROFILES, type Profile, type ProfileName } from './profiles.ts';

export function currentProfile(): Profile & { name: ProfileName } {
  const name = (__ENV.PERF_PROFILE || 'load') as ProfileName;
  const p = PROFILES[name] ?? PROFILES.load;
  // --duration replaces the steady-state hold, whatever the profile.
  return { ...p, name, hold: __ENV.PERF_DURATION || p.hold };
}

/** A ramping-vus scenario: ramp to the peak, hold, then stop (k6 lets iterations finish). */
export function userJourneyScenario(exec: string): NonNullable<Options['scenarios']>[string] {
  const p = currentProfile();
  const peak = Math.max(1, Math.round(USERS * p.peakFactor));
  return {
    executor: 'ramping-vus',
    exec,
    startVUs: 1,
    stages: [
      { duration: p.rampUp, target: peak },
      { duration: p.hold, target: peak },
    ],
    gracefulRampDown: '5s',
    gracefulStop: '10s',
    // Sized here from PERF_USERS: perf's run-time override leaves it alone (k6-options-runtime.ts).
    env: { PERF_MANAGED: '1' },
  };
}

/**
 * Waits for the profile's next beat: the next wall-clock multiple of `beatSeconds`, the same
 * instant for every VU (they share the machine's clock). Called at the start of a journey, it
 * makes every user's first request reach the service together, so --users requests are in
 * flight at once at each beat: a contention bug that needs that many concurrent requests
 * fires, where journeys spread out by think time would leave a fast service with about one.
 * Returns false, at once, when the profile has no beat (the journey then pauses on its own).
 */
export function waitForBeat(): boolean {
  const beatMs = currentProfile().beatSeconds * 1000;
  if (beatMs <= 0) return false;
  sleep((beatMs - (Date.now() % beatMs)) / 1000);
  return true;
}
