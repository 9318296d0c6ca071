/**
 * The one-sided Mann-Whitney U (Wilcoxon rank-sum) test perf uses to tell a regression from
 * run-to-run noise (docs/baselines.md): are the current run's per-window figures (e.g. the p95
 * of each steady window) stochastically larger than the baseline run's?
 *
 * Why a rank test over windows: a window's figure is one draw of "how fast was the service over
 * a few seconds"; windows of one run vary with GC, scheduling and the neighbours on the box, and
 * two healthy runs differ by about that much. The test compares the two sets of windows with no
 * assumption on their shape (latency figures are skewed and heavy-tailed, a t-test's normality is
 * not there), it is unaffected by one outlier window, and it is exact for the small samples a
 * short run gives (a 6 s hold at 1 s windows: 5 windows).
 *
 * Exact p-value by counting: every way of choosing which of the N = n + m pooled windows are
 * "current" is equally likely under H0; the p-value is the share whose rank sum reaches the
 * observed one. Ties take mid-ranks (doubled, so every rank is an integer). Counting is dynamic
 * programming over (windows taken, rank sum); above EXACT_MAX_N windows the normal approximation
 * with tie correction and continuity correction takes over.
 */

export interface RankTestResult {
  /** P(U ≥ observed U | both sets from one distribution): small means "current is larger". */
  pValue: number;
  /** The Mann-Whitney U of the current set (the count of (current, baseline) pairs where current is larger, ties ½). */
  u: number;
  n: number;
  m: number;
  /** The smallest p-value these sample sizes can give at all (1 / C(N, n) without ties). */
  minPValue: number;
  method: 'exact' | 'normal' | 'too-few';
}

/** Pooled sizes up to this are counted exactly (DP of N × n × 2·Σrank steps: ~50 M at 100). */
export const EXACT_MAX_N = 100;

/** Fewer windows than this on either side: no test (a rank test on one window says nothing). */
export const MIN_WINDOWS = 2;

/** Mid-ranks (1-based) of `values`, ties sharing their mean rank. */
export function midRanks(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const r = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = r;
    i = j + 1;
  }
  return ranks;
}

/**
 * One-sided test that `current` tends to be larger than `baseline`. Either side with fewer than
 * MIN_WINDOWS values gives p = 1 (`too-few`): nothing can be declared from it.
 */
export function mannWhitneyGreater(current: number[], baseline: number[]): RankTestResult {
  const n = current.length;
  const m = baseline.length;
  if (n < MIN_WINDOWS || m < MIN_WINDOWS) return { pValue: 1, u: 0, n, m, minPValue: 1, method: 'too-few' };
  const pooled = [...current, ...baseline];
  const ranks = midRanks(pooled);
  const rCur = ranks.slice(0, n).reduce((a, b) => a + b, 0);
  const u = rCur - (n * (n + 1)) / 2;
  const N = n + m;
  if (N <= EXACT_MAX_N) {
    const { p, min } = exactTail(ranks, n, rCur);
    return { pValue: p, u, n, m, minPValue: min, method: 'exact' };
  }
  // Normal approximation with tie correction and continuity correction.
  const ties = new Map<number, number>();
  for (const r of ranks) ties.set(r, (ties.get(r) ?? 0) + 1);
  const tieTerm = [...ties.values()].reduce((a, t) => a + (t ** 3 - t), 0);
  const mean = (n * m) / 2;
  const variance = ((n * m) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  const z = variance > 0 ? (u - mean - 0.5) / Math.sqrt(variance) : 0;
  return { pValue: variance > 0 ? 1 - normalCdf(z) : 1, u, n, m, minPValue: 0, method: 'normal' };
}

/** P(rank sum of n drawn from `ranks` ≥ observed), counting subsets by their doubled rank sum. */
function exactTail(ranks: number[], n: number, observed: number): { p: number; min: number } {
  const twice = ranks.map((r) => Math.round(r * 2));
  const maxSum = twice.reduce((a, b) => a + b, 0);
  // ways[k][s]: subsets of size k of the ranks seen so far with doubled sum s (as doubles:
  // C(100, 50) ≈ 1e29 loses integer exactness but keeps ~15 significant digits of the ratio).
  const ways: Float64Array[] = Array.from({ length: n + 1 }, () => new Float64Array(maxSum + 1));
  ways[0]![0] = 1;
  let reach = 0;
  for (const r of twice) {
    reach += r;
    for (let k = n; k >= 1; k--) {
      const from = ways[k - 1]!;
      const to = ways[k]!;
      for (let s = reach; s >= r; s--) if (from[s - r]! !== 0) to[s]! += from[s - r]!;
    }
  }
  const dist = ways[n]!;
  const target = Math.round(observed * 2);
  let total = 0;
  let tail = 0;
  let top = 0;
  for (let s = 0; s <= maxSum; s++) {
    total += dist[s]!;
    if (s >= target) tail += dist[s]!;
    if (dist[s]! > 0) top = s;
  }
  return { p: Math.min(1, tail / total), min: dist[top]! / total };
}

/** Standard normal CDF (Abramowitz–Stegun 26.2.17 via erf; |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * (Math.abs(z) / Math.SQRT2));
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-(z * z) / 2);
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}
