import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { GateDecl, ResolvedConfig } from '../config/config-schema.ts';
import { UserError } from '../errors.ts';
import { perfDir, runsDir } from '../paths.ts';
import type { Verdict } from '../run/verdict.ts';
import { captureKey } from '../../analysis/window-capture.ts';

/**
 * The run history: `.perf/runs.jsonl`, one JSON line per finished run, appended at the end
 * of every run (whatever its status). It is what `--baseline last-green` and `perf compare`
 * search; each line points at its run folder's `windows.json` (per-window HDR histograms of every
 * gate's samples, analysis/window-capture.ts). Appends of one line are atomic enough on one
 * machine (O_APPEND, one write); a malformed line (a crash mid-write) is skipped when read.
 */
/** Beside `.perf/runs/`, not in it: whatever lists the run folders (scripts, `ls | tail -1`) sees only runs. */
export const INDEX_FILE = 'runs.jsonl';
export const RUN_INDEX_SCHEMA = 'perf.run-index/v1';

export interface IndexedGate {
  /** `captureKey`: the samples it reads (its key in windows.json). */
  key: string;
  stat: GateDecl['stat'];
  kind: 'absolute' | 'relative';
  /** `p(95)<300` for an absolute gate, `+15%` for a relative one. */
  rule: string;
  status: string;
  observed?: number;
  unit?: string;
  scenarios?: string[];
  /** Absolute gates: `<`, `>=`...: which direction is worse when comparing. */
  op?: GateDecl['op'];
}

export interface RunIndexRecord {
  schema: typeof RUN_INDEX_SCHEMA;
  runId: string;
  startedAt: string;
  finishedAt: string;
  status: string;
  gitSha?: string;
  configHash?: string;
  /** The config's hash without what does not change the measurement (`comparableHash`). */
  comparableHash: string;
  profile?: string;
  users?: number;
  /** The load scenarios selected, sorted. */
  scenarios: string[];
  gates: IndexedGate[];
  /** Relative to the run folder; absent when the load phase did not run. */
  windows?: string;
  /** With `--baseline`: the run it was compared with. */
  baselineRunId?: string;
}

/**
 * The config hash two runs must share to be compared: everything but the gates (a new or changed
 * gate does not change what was measured), the reporters, webhook and InfluxDB (where results go),
 * and `sampleApp.faults` (they stand for the build under test: a slowed-down build is exactly
 * what a baseline comparison must be able to see).
 */
export function comparableHash(config: ResolvedConfig): string {
  const { gates: _g, reporters: _r, webhook: _w, influx: _i, soak: _s, sampleApp, ...rest } = config;
  const { faults: _f, ...app } = sampleApp;
  return createHash('sha256').update(JSON.stringify({ ...rest, sampleApp: app })).digest('hex').slice(0, 16);
}

export function indexFile(projectDir: string): string {
  return path.join(perfDir(projectDir), INDEX_FILE);
}

export function buildIndexRecord(v: Verdict, o: { comparableHash: string; scenarios: string[]; gates: readonly GateDecl[]; windows?: string }): RunIndexRecord {
  const absolute = o.gates.filter((g) => g.limit !== undefined);
  const gates: IndexedGate[] = [];
  absolute.forEach((g, i) => {
    const r = v.gates?.[i];
    gates.push({
      key: captureKey(g),
      stat: g.stat,
      kind: 'absolute',
      rule: `${g.stat}${g.op}${g.limit}`,
      op: g.op,
      status: r?.status ?? 'not-run',
      ...(r?.observed !== undefined ? { observed: r.observed } : {}),
      ...(r?.unit ? { unit: r.unit } : {}),
      ...(g.scenarios ? { scenarios: g.scenarios } : {}),
    });
  });
  const relative = o.gates.filter((g) => g.maxIncrease !== undefined);
  relative.forEach((g, i) => {
    const r = v.baseline?.gates[i];
    gates.push({
      key: captureKey(g),
      stat: g.stat,
      kind: 'relative',
      rule: `+${g.maxIncrease}`,
      status: r?.status ?? 'not-run',
      ...(r?.decided?.current !== undefined ? { observed: r.decided.current } : {}),
      ...(r?.unit ? { unit: r.unit } : {}),
      ...(g.scenarios ? { scenarios: g.scenarios } : {}),
    });
  });
  return {
    schema: RUN_INDEX_SCHEMA,
    runId: v.runId,
    startedAt: v.startedAt,
    finishedAt: v.finishedAt,
    status: v.status,
    ...(v.manifest.gitSha ? { gitSha: v.manifest.gitSha } : {}),
    ...(v.manifest.configHash ? { configHash: v.manifest.configHash } : {}),
    comparableHash: o.comparableHash,
    ...(v.manifest.profile ? { profile: v.manifest.profile } : {}),
    ...(v.manifest.users !== undefined ? { users: v.manifest.users } : {}),
    scenarios: [...o.scenarios].sort(),
    gates,
    ...(o.windows ? { windows: o.windows } : {}),
    ...(v.baseline?.runId ? { baselineRunId: v.baseline.runId } : {}),
  };
}

export function appendIndex(projectDir: string, record: RunIndexRecord): void {
  mkdirSync(runsDir(projectDir), { recursive: true });
  appendFileSync(indexFile(projectDir), `${JSON.stringify(record)}\n`);
}

/** Every readable line, oldest first. */
export function readIndex(projectDir: string): RunIndexRecord[] {
  const file = indexFile(projectDir);
  if (!existsSync(file)) return [];
  const out: RunIndexRecord[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as RunIndexRecord;
      if (r.schema === RUN_INDEX_SCHEMA && typeof r.runId === 'string') out.push(r);
    } catch {
      // A line cut short by a crash: the others still count.
    }
  }
  return out;
}

/** What the current run is, for finding a baseline it can be compared with. */
export interface RunShape {
  profile: string;
  users: number;
  scenarios: string[];
  comparableHash: string;
}

/** Why `r` cannot serve as a baseline of a run shaped `cur` (empty: it can). */
export function incomparability(r: RunIndexRecord, cur: RunShape): string[] {
  const out: string[] = [];
  if (r.profile !== cur.profile) out.push(`profile ${r.profile ?? '(none)'} vs ${cur.profile}`);
  if (r.users !== cur.users) out.push(`users ${r.users ?? '(none)'} vs ${cur.users}`);
  const a = [...r.scenarios].sort().join(', ');
  const b = [...cur.scenarios].sort().join(', ');
  if (a !== b) out.push(`scenarios ${a || '(none)'} vs ${b || '(none)'}`);
  // Profile, users and scenarios are in the hash too: only say "config" when nothing else differs.
  if (!out.length && r.comparableHash !== cur.comparableHash) out.push(`the configuration differs in more than its gates (hash ${r.comparableHash} vs ${cur.comparableHash})`);
  if (!r.windows) out.push('it has no per-window figures (no load phase ran)');
  return out;
}

export interface ResolvedBaseline {
  requested: string;
  record?: RunIndexRecord;
  status: 'found' | 'missing' | 'not-comparable';
  note: string;
}

/**
 * `--baseline <run-id|last-green>`. last-green: the newest passed run shaped like this one; none
 * is `missing` (the note names the newest passed run and why it does not fit). A run id that is
 * not in the index is a usage error (exit 2), naming the file searched; one that is there but
 * shaped otherwise is `not-comparable`.
 */
export function resolveBaseline(projectDir: string, requested: string, cur: RunShape): ResolvedBaseline {
  const runs = readIndex(projectDir);
  const where = path.relative(process.cwd(), indexFile(projectDir)) || indexFile(projectDir);
  const shape = `profile ${cur.profile}, users ${cur.users}, scenarios ${[...cur.scenarios].sort().join(', ')}`;
  if (requested === 'last-green') {
    const green = runs.filter((r) => r.status === 'passed').reverse();
    const fit = green.find((r) => incomparability(r, cur).length === 0);
    if (fit) return { requested, record: fit, status: 'found', note: `baseline ${fit.runId} (last green run with ${shape}, finished ${fit.finishedAt})` };
    const newest = green[0];
    const why = newest ? `; the newest passed run, ${newest.runId}, differs: ${incomparability(newest, cur).join('; ')}` : runs.length ? `; none of its ${runs.length} run(s) passed` : ' (no run recorded yet)';
    return { requested, status: 'missing', note: `no passed run with ${shape} in ${where}${why}` };
  }
  const record = runs.find((r) => r.runId === requested);
  if (!record) {
    const dirExists = existsSync(path.join(runsDir(projectDir), requested));
    throw new UserError(
      `baseline run "${requested}" is not in ${where}${dirExists ? ` (its folder exists, but the run was never indexed: it finished before run history existed, or was interrupted)` : ` (${runs.length} run(s) recorded there)`}`,
      `Pass a run id listed there (perf compare last-green <id> shows one), or --baseline last-green.`,
    );
  }
  const why = incomparability(record, cur);
  if (why.length) return { requested, record, status: 'not-comparable', note: `baseline ${record.runId} is not comparable with this run: ${why.join('; ')}` };
  return { requested, record, status: 'found', note: `baseline ${record.runId} (${record.status}, finished ${record.finishedAt})` };
}

/** A run id or `last-green` (the newest passed run, whatever its shape) for `perf compare`. */
export function findRun(projectDir: string, id: string): RunIndexRecord {
  const runs = readIndex(projectDir);
  const where = path.relative(process.cwd(), indexFile(projectDir)) || indexFile(projectDir);
  const r = id === 'last-green' ? runs.filter((x) => x.status === 'passed').at(-1) : runs.find((x) => x.runId === id);
  if (!r) throw new UserError(id === 'last-green' ? `no passed run in ${where}` : `run "${id}" is not in ${where} (${runs.length} run(s) recorded there)`, 'Pass a run id listed in that file, or last-green.');
  return r;
}
