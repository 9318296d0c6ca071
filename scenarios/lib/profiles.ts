// Load profiles as plain data: read by the scenarios (profile.ts, inside k6) and by the
// coordinator (ramp-up excluded from steady-state windows, the --profile names), so one
// change here changes both. No k6 modules and no __ENV here: Node imports this file too.

export const PROFILE_NAMES = ['smoke', 'load', 'stress', 'soak'] as const;

export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface Profile {
  rampUp: string;
  hold: string;
  /** Peak users as a multiple of --users (stress goes past the declared concurrency). */
  peakFactor: number;
  /** Requests per second of the open-model throughput scenario, per configured user. */
  ratePerUser: number;
  /**
   * User journeys start on a shared beat, every this many seconds of wall-clock time
   * (`waitForBeat` in profile.ts): every user sends its first request at the same instant, so
   * the service has --users requests in flight at once at each beat, however fast it answers.
   * The wait for the next beat is the journey's think time. 0: no beat, each journey pauses
   * on its own (smoke: a beat costs iterations, and smoke is a short functional pass).
   */
  beatSeconds: number;
}

export const PROFILES: Record<ProfileName, Profile> = {
  // A quick "does it work under a little load" pass.
  smoke: { rampUp: '2s', hold: '6s', peakFactor: 1, ratePerUser: 2, beatSeconds: 0 },
  // The default: the declared concurrency held long enough for stable P95/P99 (~20 s a scenario).
  load: { rampUp: '5s', hold: '15s', peakFactor: 1, ratePerUser: 4, beatSeconds: 1 },
  // Past the declared concurrency, to see where it bends.
  stress: { rampUp: '20s', hold: '30s', peakFactor: 2, ratePerUser: 8, beatSeconds: 1 },
  // Hours at the declared concurrency (nightly); --duration sets the hold.
  soak: { rampUp: '30s', hold: '30m', peakFactor: 1, ratePerUser: 4, beatSeconds: 1 },
};

