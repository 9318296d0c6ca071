/**
 * What perf stores in InfluxDB 1.x, by name: one source for the writers (k6's output tags,
 * the influx reporter), `perf analyze` and the Grafana generator, so a renamed tag cannot
 * leave a dashboard silently empty. No dependencies: the config schema imports it.
 *
 * k6 samples (`--out influxdb=...`) keep k6's measurement per metric and its system tags
 * (`name`, `status`, `scenario`, `check`, ...). perf adds run-wide tags to every sample:
 * `run_id`, `phase` and `perf_scenario`. The perf scenario is NOT tagged `scenario`: that
 * is k6's system tag (the k6 scenario inside the script, e.g. `journey`), and k6 lets it
 * override a `--tag scenario=...` run tag (checked on k6 v2.2.0: the stored value was the
 * k6 scenario's name), so the two meanings would mix in one tag.
 */

export const INFLUX_TAGS = {
  runId: 'run_id',
  phase: 'phase',
  /** The perf scenario: the TypeScript file under `scenarios/` (its bundle name). */
  scenario: 'perf_scenario',
} as const;

/** perf's own points (run events); k6's measurements are the metric names. */
export const INFLUX_MEASUREMENTS = {
  /** Run begin/end: tags run_id, event, status (end); fields text, duration_ms. */
  run: 'perf_run',
  /** Phase begin/end annotations: tags run_id, phase, event, status (end); fields text, duration_ms. */
  phase: 'perf_phase',
  /** One per finished check: tags run_id, phase, check, status; fields text, duration_ms, attempts, error. */
  check: 'perf_check',
  /** One per gate at the end of the run: tags run_id, gate, metric, stat, expression, status; fields observed, limit, samples, unit, passed. */
  gate: 'perf_gate',
  /** The harness's HDR figures per time window of each scenario: tags run_id, phase, perf_scenario, ramp_up; fields requests, p95_ms, p99_ms, error_rate, drift_p95_pct. */
  window: 'perf_window',
  /** The run index (src/baseline/run-index.ts), one per run: tags run_id, status, profile, users, comparable_hash, git_sha, baseline_run_id; fields config_hash, scenarios, started_at, finished_at, gates (JSON), gates_failed, windows. */
  runIndex: 'perf_run_index',
  /** The run's windows.json, one per scenario × series × window at the window's start: tags run_id, perf_scenario, series, type, ramp_up; fields count, non_zero, sum, histogram (base64 HDR), window_seconds. */
  runWindows: 'perf_run_windows',
} as const;

/** Database when the URL names none. */
export const DEFAULT_INFLUX_DATABASE = 'perf';

/** Credentials come from these variables only (k6's own names, so k6 reads the same ones). */
export const INFLUX_CREDENTIAL_ENV = { username: 'K6_INFLUXDB_USERNAME', password: 'K6_INFLUXDB_PASSWORD' } as const;

export interface InfluxTarget {
  protocol: 'http' | 'https';
  host: string;
  port: number;
  /** `protocol://host:port`, no path, no credentials. */
  base: string;
  database: string;
  /** `base/database`: what messages, the verdict and k6's `--out influxdb=` use. Never holds credentials. */
  url: string;
}

/**
 * Why an InfluxDB URL is refused, or undefined when it is fine. Accepted:
 * `http(s)://host[:port][/database]`. Credentials in the URL are refused (they would end up
 * in configs, shell history and k6's command line); path prefixes are refused too (one
 * path segment is the database, as k6 reads it).
 */
export function influxUrlProblem(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'must be a URL such as http://127.0.0.1:8086/perf';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (u.username || u.password) {
    return `must not hold credentials: set ${INFLUX_CREDENTIAL_ENV.username} and ${INFLUX_CREDENTIAL_ENV.password} in the environment instead`;
  }
  if (u.search || u.hash) return 'must not have a query or fragment (k6 options go in K6_INFLUXDB_* variables)';
  const segments = u.pathname.split('/').filter(Boolean);
  if (segments.length > 1) return 'the path is the database name, one segment (e.g. /perf); path prefixes are not supported';
  if (segments[0] && !/^[A-Za-z0-9_-]+$/.test(segments[0])) return 'the database name may use letters, digits, _ and - only';
  return undefined;
}

export function parseInfluxUrl(raw: string): InfluxTarget {
  const problem = influxUrlProblem(raw);
  if (problem) throw new Error(`InfluxDB URL ${problem}`);
  const u = new URL(raw);
  const protocol = u.protocol === 'https:' ? 'https' : 'http';
  const port = u.port ? Number(u.port) : protocol === 'https' ? 443 : 80;
  const database = u.pathname.split('/').filter(Boolean)[0] ?? DEFAULT_INFLUX_DATABASE;
  const base = `${protocol}://${u.host}`;
  return { protocol, host: u.hostname, port, base, database, url: `${base}/${database}` };
}

/** A string literal in InfluxQL: single quotes, with `\` and `'` escaped. */
export function influxString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A quoted identifier (measurement, tag or field key). */
export function influxIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** An InfluxQL regex literal matching exactly one of `values`: `/^(a|b)$/`. */
export function influxOneOf(values: string[]): string {
  const alts = values.map((v) => v.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  return `/^(${alts.join('|')})$/`;
}
