import { readFileSync } from 'node:fs';
import type { SummaryGroup } from './k6-checks.ts';
import type { K6RunResult } from './k6-run.ts';
import { writeJsonAtomic } from '../run/verdict.ts';

/**
 * `perf run --shards N`: one scenario as N k6 processes, each an equal execution segment
 * (`executionSegmentArgs` in k6-run.ts), put back together as one k6 result for the analysis.
 */

/**
 * N shards of one scenario as one k6 result: the worst exit (a failure over a crossed threshold
 * over 0), every script error, a threshold passed only when it passed in every shard (each judged
 * its own segment; the gates are decided on the merged samples), k6's CPU summed, the first
 * shard's files (the others are listed under `shards`).
 */
export function mergeShards(runs: K6RunResult[], mergedSummary?: string): K6RunResult {
  const first = runs[0]!;
  const failed = runs.find((x) => x.exitCode !== 0 && x.exitCode !== 99);
  const crossed = runs.find((x) => x.exitCode === 99);
  const worst = failed ?? crossed ?? first;
  const thresholds = first.thresholds.map((t) => ({
    ...t,
    passed: runs.every((x) => x.thresholds.find((u) => u.metric === t.metric && u.expression === t.expression)?.passed ?? false),
  }));
  const errors = new Map<string, K6RunResult['scriptErrors'][number]>();
  for (const x of runs) {
    for (const e of x.scriptErrors) {
      const k = `${e.message}\u0000${e.location ?? ''}`;
      const had = errors.get(k);
      errors.set(k, had ? { ...had, count: had.count + e.count } : { ...e });
    }
  }
  const cpu = runs.map((x) => x.resources.k6).filter((u): u is NonNullable<typeof u> => !!u);
  const k6 = cpu.length
    ? {
        ...cpu[0]!,
        cpuAvgPct: Math.round(cpu.reduce((n, u) => n + u.cpuAvgPct, 0) * 10) / 10,
        cpuPeakPct: Math.round(cpu.reduce((n, u) => n + u.cpuPeakPct, 0) * 10) / 10,
        rssPeakMb: Math.round(cpu.reduce((n, u) => n + u.rssPeakMb, 0) * 10) / 10,
        samples: Math.min(...cpu.map((u) => u.samples)),
      }
    : undefined;
  return {
    ...first,
    exitCode: worst.exitCode,
    meaning: worst === first ? first.meaning : `shard ${runs.indexOf(worst) + 1}/${runs.length}: ${worst.meaning}`,
    thresholds,
    scriptErrors: [...errors.values()],
    durationMs: Math.max(...runs.map((x) => x.durationMs)),
    interrupted: runs.some((x) => x.interrupted),
    resources: { ...first.resources, ...(k6 ? { k6 } : {}) },
    ...(mergedSummary ? { files: { ...first.files, summary: mergeSummaries(runs.map((x) => x.files.summary), mergedSummary) } } : {}),
  };
}

/**
 * The shards' `--summary-export` files as one: the first's, with every check's passes and fails
 * summed over the shards (group by group), so the raw samples' check counts are compared with
 * k6's own for the whole scenario. Its metrics stay the first shard's: each shard's figures are
 * of its segment only, and perf's gates come from the merged raw samples.
 */
export function mergeSummaries(files: string[], out: string): string {
  const read = (f: string): { root_group?: SummaryGroup } & Record<string, unknown> => {
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as { root_group?: SummaryGroup };
    } catch {
      return {};
    }
  };
  const [base, ...rest] = files.map(read);
  const add = (into: SummaryGroup | undefined, from: SummaryGroup | undefined) => {
    if (!into || !from) return;
    for (const [k, c] of Object.entries(from.checks ?? {})) {
      const mine = into.checks?.[k];
      if (mine) {
        mine.passes = (mine.passes ?? 0) + (c.passes ?? 0);
        mine.fails = (mine.fails ?? 0) + (c.fails ?? 0);
      } else (into.checks ??= {})[k] = { ...c };
    }
    for (const [k, g] of Object.entries(from.groups ?? {})) {
      if (into.groups?.[k]) add(into.groups[k], g);
      else (into.groups ??= {})[k] = g;
    }
  };
  for (const r of rest) add(base?.root_group, r.root_group);
  writeJsonAtomic(out, base ?? {});
  return out;
}
