// The tag perf sets on every sample of an iteration to say which part of its scenario the
// iteration ran in (bundler/k6-window-runtime.ts sets it inside k6; gates with
// `window: 'steady'` filter on it, in k6's threshold and in perf's evaluation alike, so both
// judge the same samples). Plain data and arithmetic: Node and the k6 bundle both import this file.

export const WINDOW_TAG = 'perf_window';

/** `ramp-up`: the scenario had not yet reached its peak when the iteration started; `steady`: it had. */
export const WINDOW_VALUES = { rampUp: 'ramp-up', steady: 'steady' } as const;

/** k6 durations: `1h2m3s`, `1.5s`, `300ms`, or a number of milliseconds. */
export function durationMs(d: string | number): number {
  if (typeof d === 'number') return d;
  let ms = 0;
  for (const m of d.matchAll(/(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/g)) {
    const n = Number(m[1]);
    ms += m[2] === 'h' ? n * 3_600_000 : m[2] === 'm' ? n * 60_000 : m[2] === 's' ? n * 1000 : m[2] === 'ms' ? n : m[2] === 'ns' ? n / 1e6 : n / 1000;
  }
  return ms;
}

/** When a scenario with these stages first reaches its peak, in ms after its start. */
export function steadyStartMs(stages: { duration: string; target: number }[] | undefined, start = 0): number {
  if (!stages?.length) return 0;
  const peak = Math.max(...stages.map((s) => s.target));
  if (start >= peak) return 0;
  let at = 0;
  for (const s of stages) {
    at += durationMs(s.duration);
    if (s.target === peak) return at;
  }
  return at;
}

