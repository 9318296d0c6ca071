import { createReadStream, existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { InfluxDB, type IPoint } from 'influx';
import type { GateSpec } from '../config/config-schema.ts';
import { gatePoint, runEndPoint, runIndexPoint, runWindowPoints, specOf } from './influx-points.ts';
import { INFLUX_CREDENTIAL_ENV, INFLUX_TAGS, influxString, parseInfluxUrl, type InfluxTarget } from './influx-schema.ts';
import type { Redactor } from '../redact/redact.ts';
import { influxReporter } from '../reporters/influx.ts';
import type { Reporter } from '../reporters/reporter.ts';
import type { GateResult, InfluxOutcome, PhaseResult } from '../run/verdict.ts';
import type { RunIndexRecord } from '../baseline/run-index.ts';
import type { WindowsFile } from '../../analysis/window-capture.ts';

/**
 * One run's connection to InfluxDB 1.x (issue 6). Contracts:
 *
 * - InfluxDB is never on the critical path. `connect()` pings once (short timeout); if it
 *   does not answer, the run says so on stderr, goes on with local results only, and
 *   nothing is written (k6 gets no influx output either). Reporter hooks only enqueue;
 *   a timer writes in the background and failed batches stay queued for the next attempt,
 *   so a dead InfluxDB costs the run nothing but a bounded buffer.
 * - The verdict says what reached InfluxDB: `finish()` runs before the verdict is written,
 *   writes the gate summaries and the run's end, and compares the k6 samples InfluxDB holds
 *   for this run id with the samples of the local CSV, scenario by scenario.
 * - Credentials come from K6_INFLUXDB_USERNAME / K6_INFLUXDB_PASSWORD only; k6 reads the
 *   same variables from the environment it inherits, so they are never on a command line,
 *   in a URL or in the verdict.
 */

export interface InfluxSessionOptions {
  url: string;
  runId: string;
  redactor: Redactor;
  env?: NodeJS.ProcessEnv;
  /** Where the "unreachable" and "points may be missing" messages go; default stderr. */
  stream?: { write(s: string): unknown };
  /** Per HTTP request to InfluxDB. */
  requestTimeoutMs?: number;
  flushIntervalMs?: number;
  /** Points kept for a retry while InfluxDB is away; older ones beyond this are dropped (and counted). */
  maxQueued?: number;
}

/** A client of the `influx` package for a target: no retries (the session retries by keeping points queued). */
export function influxClient(target: InfluxTarget, env: NodeJS.ProcessEnv, requestTimeoutMs = 3000): InfluxDB {
  const username = env[INFLUX_CREDENTIAL_ENV.username];
  const password = env[INFLUX_CREDENTIAL_ENV.password];
  return new InfluxDB({
    host: target.host,
    port: target.port,
    protocol: target.protocol,
    database: target.database,
    ...(username ? { username, password: password ?? '' } : {}),
    pool: { maxRetries: 0, requestTimeout: requestTimeoutMs },
  });
}

/** InfluxDB's /ping: undefined when it answers 204, else why not (ECONNREFUSED, timeout, HTTP status). */
export async function pingInflux(target: InfluxTarget, timeoutMs = 2000): Promise<string | undefined> {
  try {
    const res = await fetch(`${target.base}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 204 ? undefined : `/ping answered HTTP ${res.status}`;
  } catch (e) {
    return errorText(e);
  }
}

function errorText(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError') return 'no answer within the timeout';
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
}

/** Drops what line protocol cannot carry: empty tag values, non-finite numbers, undefined fields. */
function sanitize(p: IPoint): IPoint {
  const tags = Object.fromEntries(Object.entries(p.tags ?? {}).filter(([, v]) => v !== undefined && v !== ''));
  const fields = Object.fromEntries(Object.entries(p.fields ?? {}).filter(([, v]) => v !== undefined && (typeof v !== 'number' || Number.isFinite(v))));
  return { ...p, tags, fields };
}

/**
 * windows.json with its free texts (scenario names, sample keys: tag values from the config)
 * redacted. The histograms are left as they are: redacting inside base64 could only corrupt them.
 */
function redactWindowNames(w: WindowsFile, redactor: Redactor): WindowsFile {
  return {
    ...w,
    scenarios: w.scenarios.map((sc) => ({
      ...sc,
      scenario: redactor.redactString(sc.scenario),
      series: Object.fromEntries(Object.entries(sc.series).map(([key, series]) => [redactor.redactString(key), series])),
    })),
  };
}

/** Pauses between the end-of-run write retries. */
const END_RETRY_PAUSES_MS = [500, 1000, 2000];
/** The end-of-run count of k6 samples (one query over the whole run). */
const COUNT_TIMEOUT_MS = 10_000;

interface StoredCounts {
  total: number;
  byMeasurement: Record<string, number>;
}

type Analysis = NonNullable<NonNullable<PhaseResult['k6']>[number]['analysis']>;

/**
 * The points a scenario's samples make in InfluxDB, in all and per measurement: a sample
 * with the same measurement, tags and timestamp as another is the same point there.
 */
function expectedPoints(a: Analysis | undefined): { total: number; coincident: number; byMeasurement: Record<string, number> } {
  const coincident = Object.values(a?.coincidentByMetric ?? {}).reduce((x, y) => x + y, 0);
  const byMeasurement = Object.fromEntries(Object.entries(a?.samplesByMetric ?? {}).map(([m, n]) => [m, n - (a?.coincidentByMetric?.[m] ?? 0)]));
  return { total: (a?.samples ?? 0) - coincident, coincident, byMeasurement };
}

/** Measurements with fewer points in InfluxDB than the local samples make. */
function shortMeasurements(local: Record<string, number>, stored: Record<string, number>): { measurement: string; local: number; stored: number }[] {
  return Object.entries(local)
    .filter(([m, n]) => (stored[m] ?? 0) < n)
    .map(([measurement, n]) => ({ measurement, local: n, stored: stored[measurement] ?? 0 }));
}

function coincidentNote(k6: { coincident?: number }[]): string {
  const n = k6.reduce((s, k) => s + (k.coincident ?? 0), 0);
  return n ? ` (${n} of them share measurement, tags and nanosecond timestamp with an earlier sample: InfluxDB stores them as that sample's point)` : '';
}

interface K6WriteErrors {
  count: number;
  first?: string;
  last?: string;
  message?: string;
}

/**
 * k6's InfluxDB output logs each failed batch as `{"level":"error","output":"InfluxDBv1","msg":"Couldn't write stats",...}`.
 * The log is read line by line, never whole: a soak's log can outgrow memory, and past 512 MiB
 * a single string of it cannot even be made.
 */
export async function k6InfluxWriteErrors(logFile: string): Promise<K6WriteErrors> {
  const out: K6WriteErrors = { count: 0 };
  if (!existsSync(logFile)) return out;
  const lines = createInterface({ input: createReadStream(logFile, { highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.includes('InfluxDB')) continue;
    let entry: { level?: string; output?: string; msg?: string; error?: string; time?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.level !== 'error' || !entry.output?.startsWith('InfluxDB')) continue;
    out.count++;
    out.first ??= entry.time;
    out.last = entry.time;
    out.message ??= `${entry.msg ?? ''}${entry.error ? `: ${entry.error}` : ''}`;
  }
  return out;
}

export class InfluxSession {
  readonly target: InfluxTarget;
  /** idle until connect(); ok when InfluxDB answered at the start; unavailable when it did not. */
  state: 'idle' | 'ok' | 'unavailable' = 'idle';
  private readonly client: InfluxDB;
  private countClient?: InfluxDB;
  private readonly stream: { write(s: string): unknown };
  private queue: IPoint[] = [];
  private written = 0;
  private dropped = 0;
  private unavailableReason?: string;
  private firstFailure?: { at: Date; message: string };
  private lastFailureMessage?: string;
  private flushing?: Promise<void>;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: InfluxSessionOptions) {
    this.target = parseInfluxUrl(opts.url);
    this.client = influxClient(this.target, opts.env ?? process.env, opts.requestTimeoutMs ?? 3000);
    this.stream = opts.stream ?? process.stderr;
  }

  /** Ping and create the database (idempotent; k6 does the same). Never throws. */
  async connect(): Promise<void> {
    const why = await pingInflux(this.target, this.opts.requestTimeoutMs ?? 2000);
    if (why) {
      this.state = 'unavailable';
      this.unavailableReason = this.opts.redactor.redactString(why);
      this.stream.write(
        `perf: InfluxDB at ${this.target.url} is not reachable (${this.unavailableReason}); the run goes on with local results only, and nothing of it will be in InfluxDB.\n`,
      );
      return;
    }
    try {
      await this.client.createDatabase(this.target.database);
    } catch (e) {
      // A non-admin user may not create databases; writes tell whether it exists.
      this.stream.write(`perf: InfluxDB: could not create database "${this.target.database}" (${this.opts.redactor.redactString(errorText(e))}); writing anyway.\n`);
    }
    this.state = 'ok';
    this.timer = setInterval(() => {
      if (!this.flushing) void this.flush();
    }, this.opts.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** The k6 side, for LoadPhaseOptions.outputs: k6's own InfluxDB v1 output, tagged with this run. */
  k6Output = (scenario: string): { outputs: string[]; tags: Record<string, string> } | undefined => {
    if (this.state !== 'ok') return undefined;
    return {
      outputs: [`influxdb=${this.target.url}`],
      tags: { [INFLUX_TAGS.runId]: this.opts.runId, [INFLUX_TAGS.phase]: 'load', [INFLUX_TAGS.scenario]: scenario },
    };
  };

  /** Queues points for the background writer. Cheap and synchronous: safe in any reporter hook. */
  enqueue(points: IPoint[]): void {
    if (this.state !== 'ok') return;
    this.queue.push(...points.map(sanitize));
    const max = this.opts.maxQueued ?? 50_000;
    if (this.queue.length > max) {
      this.dropped += this.queue.length - max;
      this.queue.splice(0, this.queue.length - max);
    }
  }

  /** Writes what is queued, in batches; a failed batch goes back to the front of the queue. */
  flush(): Promise<void> {
    // One writer at a time; a caller arriving meanwhile waits for it, then writes what is left.
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (!this.queue.length || this.state !== 'ok') return Promise.resolve();
    const run = this.writeQueued().finally(() => {
      if (this.flushing === run) this.flushing = undefined;
    });
    this.flushing = run;
    return run;
  }

  private async writeQueued(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, 5000);
      try {
        await this.client.writePoints(batch);
        this.written += batch.length;
      } catch (e) {
        this.queue.unshift(...batch);
        const message = this.opts.redactor.redactString(errorText(e));
        this.lastFailureMessage = message;
        if (!this.firstFailure) {
          this.firstFailure = { at: new Date(), message };
          this.stream.write(`perf: InfluxDB at ${this.target.url}: write failed (${message}); the run goes on, points stay queued and are retried.\n`);
        }
        return;
      }
    }
  }

  /**
   * End of run, before the verdict is written: the gate summaries, the run index record and
   * the run's windows.json (when given), the run's end point, a last flush, then what of the
   * run is in InfluxDB (the index and window points are counted like the others). Bounded in
   * time (a few request timeouts) when InfluxDB is gone.
   */
  async finish(run: {
    phases: PhaseResult[];
    gates: GateResult[];
    gateSpecs?: GateSpec[];
    status: string;
    startedAt: Date;
    finishedAt: Date;
    runDir: string;
    /** The run's `.perf/runs.jsonl` line: one `perf_run_index` point at `finishedAt`. */
    index?: RunIndexRecord;
    /** The run's windows.json: `perf_run_windows` points, one per scenario × sample key × window. */
    windows?: WindowsFile;
  }): Promise<InfluxOutcome> {
    if (this.timer) clearInterval(this.timer);
    const base = { url: this.target.url, database: this.target.database };
    if (this.state !== 'ok') {
      return {
        ...base,
        status: 'unavailable',
        note: `InfluxDB was not reachable at the start (${this.unavailableReason ?? 'not connected'}): nothing of this run is in InfluxDB; the local results are complete.`,
      };
    }
    this.enqueue(run.gates.map((g, i) => gatePoint(this.opts.runId, g, run.finishedAt, specOf(g, i, run.gateSpecs ?? []))));
    if (run.index) this.enqueue([runIndexPoint(this.opts.redactor.redactDeep(run.index), run.finishedAt)]);
    if (run.windows) this.enqueue(runWindowPoints(this.opts.runId, redactWindowNames(run.windows, this.opts.redactor)));
    this.enqueue([runEndPoint(this.opts.runId, run.status, run.finishedAt.getTime() - run.startedAt.getTime(), run.finishedAt)]);
    await this.flush();
    // A few retries with growing pauses (3.5 s in all): InfluxDB may be restarting, or slow to
    // answer on a busy machine. A refused connection fails at once, so a dead InfluxDB costs
    // the pauses and nothing more.
    for (const pauseMs of END_RETRY_PAUSES_MS) {
      if (!this.queue.length) break;
      await sleep(pauseMs);
      await this.flush();
    }

    const unwritten = this.queue.length + this.dropped;
    const byMeasurement: Record<string, number> = {};
    for (const p of this.queue) byMeasurement[p.measurement ?? '?'] = (byMeasurement[p.measurement ?? '?'] ?? 0) + 1;

    const local = new Map(run.phases.flatMap((p) => p.k6 ?? []).map((k) => [k.scenario, expectedPoints(k.analysis)] as const));
    let counted = await this.countK6Samples();
    // k6 has exited, so its writes were acknowledged. A count that failed although every
    // write went through, or that comes up short, is taken once more after a pause before it
    // is reported: a count racing InfluxDB's own bookkeeping is not a loss, a real loss stays.
    const short = (c: Map<string, StoredCounts>) => [...local].some(([scenario, e]) => c.get(scenario)?.total !== e.total);
    if (typeof counted === 'string' ? !this.firstFailure : short(counted)) {
      await sleep(1000);
      counted = await this.countK6Samples();
    }
    const stored = counted instanceof Map ? counted : undefined;
    const k6 = await Promise.all(run.phases
      .flatMap((p) => p.k6 ?? [])
      .map(async (k) => {
        const errs = await k6InfluxWriteErrors(path.join(run.runDir, k.files.log ?? `k6-${k.scenario}-log.jsonl`));
        const inInflux = stored?.get(k.scenario);
        const expected = local.get(k.scenario)!;
        return {
          scenario: k.scenario,
          samples: k.analysis?.samples ?? 0,
          points: expected.total,
          ...(expected.coincident ? { coincident: expected.coincident } : {}),
          ...(stored ? { stored: inInflux?.total ?? 0 } : {}),
          // Which measurements are short: the evidence for a partial outcome.
          ...(stored ? { short: shortMeasurements(expected.byMeasurement, inInflux?.byMeasurement ?? {}) } : {}),
          failedWrites: errs.count,
          ...(errs.first ? { firstFailure: errs.first } : {}),
          ...(errs.last ? { lastFailure: errs.last } : {}),
          message: errs.message,
        };
      }));

    const missing: string[] = [];
    for (const k of k6) {
      const failed = k.failedWrites ? `; k6 reported ${k.failedWrites} failed write(s) between ${k.firstFailure} and ${k.lastFailure}${k.message ? ` (${this.opts.redactor.redactString(k.message)})` : ''}` : '';
      if (k.stored === undefined) {
        const why = `not countable (InfluxDB: ${typeof counted === 'string' ? counted : 'no answer'})`;
        if (k.failedWrites || this.firstFailure) {
          missing.push(`k6 samples of ${k.scenario}: ${why}; those after ${k.firstFailure ?? this.firstFailure?.at.toISOString()} may be missing${failed}`);
        } else {
          missing.push(`k6 samples of ${k.scenario}: ${why}`);
        }
      } else if (k.stored < k.points) {
        const which = k.short?.length ? ` (${k.short.map((m) => `${m.measurement} ${m.stored}/${m.local}`).join(', ')})` : '';
        missing.push(`k6 samples of ${k.scenario}: ${k.stored} of ${k.points} in InfluxDB, ${k.points - k.stored} missing${which}${failed}`);
      } else if (k.failedWrites) {
        missing.push(`k6 samples of ${k.scenario}: all ${k.samples} counted, although ${failed.slice(2)}`);
      }
    }
    if (unwritten) {
      const parts = Object.entries(byMeasurement).map(([m, n]) => `${m} ×${n}`);
      if (this.dropped) parts.push(`${this.dropped} dropped while queued (queue full)`);
      missing.push(`perf's own points not written: ${parts.join(', ')}${this.lastFailureMessage ? ` (last error: ${this.lastFailureMessage})` : ''}`);
    }

    const firstFailureAt = [this.firstFailure?.at.toISOString(), ...k6.map((k) => k.firstFailure)].filter((x): x is string => !!x).sort()[0];
    const outcome: InfluxOutcome = {
      ...base,
      status: missing.length ? 'partial' : 'ok',
      note: missing.length
        ? `InfluxDB failed during the run${firstFailureAt ? ` (first failure ${firstFailureAt})` : ''}: the local results are complete; in InfluxDB some points of run_id=${this.opts.runId} may be missing (see missing).`
        : `all ${this.written} perf point(s) and ${k6.reduce((s, k) => s + k.samples, 0)} k6 sample(s) of run_id=${this.opts.runId} are in InfluxDB${coincidentNote(k6)}.`,
      points: { written: this.written, unwritten, ...(Object.keys(byMeasurement).length ? { byMeasurement } : {}) },
      ...(k6.length ? { k6: k6.map(({ message: _m, points: _p, short, ...k }) => ({ ...k, ...(short?.length ? { short } : {}) })) } : {}),
      ...(missing.length ? { missing } : {}),
      ...(firstFailureAt ? { firstFailureAt } : {}),
    };
    if (missing.length) this.stream.write(`perf: InfluxDB: ${outcome.note}\n${missing.map((m) => `  - ${m}\n`).join('')}`);
    return outcome;
  }

  /** k6 samples of this run in InfluxDB, per perf scenario and measurement; why not, when the query fails. */
  private async countK6Samples(): Promise<Map<string, StoredCounts> | string> {
    try {
      // perf's own measurements have no `value` field, so only k6's samples are counted.
      const q = `SELECT count("value") FROM /.*/ WHERE "${INFLUX_TAGS.runId}" = ${influxString(this.opts.runId)} GROUP BY "${INFLUX_TAGS.scenario}"`;
      // One query at the end, possibly over many points: its own, longer timeout.
      this.countClient ??= influxClient(this.target, this.opts.env ?? process.env, COUNT_TIMEOUT_MS);
      const raw = (await this.countClient.queryRaw(q)) as { results: { error?: string; series?: { name: string; tags?: Record<string, string>; values: [unknown, number][] }[] }[] };
      const r = raw.results[0];
      if (r?.error) throw new Error(r.error);
      const out = new Map<string, StoredCounts>();
      // One series per measurement and scenario: its name is the measurement.
      for (const s of r?.series ?? []) {
        const scenario = s.tags?.[INFLUX_TAGS.scenario] ?? '';
        const n = Number(s.values[0]?.[1] ?? 0);
        const c = out.get(scenario) ?? { total: 0, byMeasurement: {} };
        c.total += n;
        c.byMeasurement[s.name] = (c.byMeasurement[s.name] ?? 0) + n;
        out.set(scenario, c);
      }
      return out;
    } catch (e) {
      // After a failure the client's pool parks the host ("No host available"): the failure before says why.
      const why = errorText(e);
      return this.opts.redactor.redactString(/No host available/.test(why) && this.lastFailureMessage ? this.lastFailureMessage : why);
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/**
 * The run's InfluxDB side, for run.ts: a connected session (or one marked unavailable, having
 * said so on stderr) and the reporter that queues the coordinator's events into it. The
 * password is registered with the redactor whatever its variable's name.
 */
export async function startInfluxForRun(opts: InfluxSessionOptions): Promise<{ session: InfluxSession; reporter: Reporter }> {
  const env = opts.env ?? process.env;
  opts.redactor.addSecret(env[INFLUX_CREDENTIAL_ENV.password]);
  const session = new InfluxSession(opts);
  await session.connect();
  return { session, reporter: influxReporter(session, opts.runId, opts.redactor) };
}
