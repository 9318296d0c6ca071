import { z } from 'zod';
import { PROFILE_NAMES } from '../../scenarios/lib/profiles.ts';

/**
 * `soak`: what a long run is judged on beyond its gates (docs/soak.md). Drift gates are gates
 * (`{ metric, stat, maxDrift }` under `gates`); this block says how many windows they compare,
 * the error budget spent over time, and how fast the target's memory may grow. Evaluated after
 * the load whatever the profile; meant for `--profile soak`.
 */
export const soakSchema = z
  .object({
    /** The load profiles under which `errorBudget` and `targetMemory` are judged; absent: every profile. */
    profiles: z
      .array(z.enum(PROFILE_NAMES))
      .min(1)
      .optional()
      .meta({ description: 'The load profiles under which `errorBudget` and `targetMemory` are judged; absent: every profile. Drift gates have their own `profiles`, like every gate.', examples: [['soak']] }),
    /** Steady windows at each end that drift gates compare: the first N after the ramp-up against the last N. */
    driftWindows: z
      .number()
      .int()
      .min(3)
      .optional()
      .meta({
        description:
          'Steady windows at each end that drift gates compare: the first N after the ramp-up against the last N. Absent: a sixth of the steady windows, at least 5 (a window is a thirtieth of the hold, at least 1 s: a 1-hour soak compares its first 10 minutes with its last 10).',
        examples: [8],
      }),
    /** An error budget: the share of requests allowed to fail over the run, and how fast any window may spend it. */
    errorBudget: z
      .object({
        /** The k6 rate metric whose non-zero samples spend the budget. */
        metric: z.string().default('http_req_failed').meta({ description: 'The k6 rate metric whose non-zero samples spend the budget.', examples: ['http_req_failed'] }),
        /** Only samples with these tags count (k6 tag filters, as in a gate). */
        tags: z.record(z.string(), z.string()).optional().meta({ description: 'Only samples with these tags count (k6 tag filters, as in a gate).', examples: [{ name: 'notes_create' }] }),
        /** The share (0 to 1) of the metric's samples allowed to be non-zero (failed) over a scenario's whole run. */
        budget: z
          .number()
          .gt(0)
          .lt(1)
          .meta({ description: "The share (0 to 1) of the metric's samples allowed to be non-zero (failed) over a scenario's whole run. Spent past 100 % at the end fails the run, saying when it ran out.", examples: [0.01] }),
        /** The fastest a single window may spend the budget, as a multiple of the budget (the burn rate of SRE practice). */
        maxBurnRate: z
          .number()
          .gt(1)
          .default(10)
          .meta({
            description:
              'The fastest a single window may spend the budget, as a multiple of the budget (the burn rate of SRE practice). 10 fails a window where more than 10 × `budget` of the samples failed, an outage the whole-run share would average away. A window needs 1 / (maxBurnRate × budget) samples to be judged.',
            examples: [14.4],
          }),
        /** The perf scenarios the budget applies to; absent: every scenario that has the metric. */
        scenarios: z.array(z.string()).optional().meta({ description: 'The perf scenarios the budget applies to; absent: every scenario that has the metric.', examples: [['notes-journey']] }),
      })
      .strict()
      .optional()
      .meta({
        description:
          "An error budget: the share of requests allowed to fail over the run, and how fast any window may spend it. Judged per scenario from the run's windows; the report plots the budget left over time.",
        examples: [{ budget: 0.01, maxBurnRate: 10 }],
      }),
    /** The target's memory growth while the load runs, when perf started the target (the embedded sample-app or `target.start`). */
    targetMemory: z
      .object({
        /** The largest growth allowed, in MB per hour: the least-squares slope of the target's private resident memory over the load after the ramp-up. */
        maxGrowthMbPerHour: z
          .number()
          .gt(0)
          .meta({
            description:
              "The largest growth allowed, in MB per hour: the least-squares slope of the target's private resident memory over the load after the ramp-up. Private memory (USS, from /proc/<pid>/smaps_rollup) of the service's process and all its children, so a database's shared buffers do not look like a leak; the ramp-up is the profile's. A short run extrapolates a few minutes to an hour: set the limit for the run length you gate.",
            examples: [50],
          }),
        /** The `target.start` services whose memory is judged, by name; absent: all of them (or the embedded sample-app). */
        services: z.array(z.string()).optional().meta({ description: 'The `target.start` services whose memory is judged, by name; absent: all of them (or the embedded sample-app).', examples: [['api']] }),
        /** Seconds between two memory readings. */
        intervalSeconds: z.number().gt(0).default(5).meta({ description: 'Seconds between two memory readings.', examples: [10] }),
      })
      .strict()
      .optional()
      .meta({
        description:
          "The target's memory growth while the load runs, when perf started the target (the embedded sample-app or `target.start`). The run fails when the memory's slope exceeds the limit. Perf cannot see the memory of a service it did not start; the verdict says so.",
        examples: [{ maxGrowthMbPerHour: 50 }],
      }),
  })
  .strict();

export type SoakConfig = z.output<typeof soakSchema>;
