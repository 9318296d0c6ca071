// Load profiles (`perf run --profile`): the shape of user-journey scenarios over time.
// Every profile ramps up first; analysis excludes the ramp-up windows from steady-state figures.
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
