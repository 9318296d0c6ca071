import { z } from 'zod';

/**
 * `target.start`: the commands that bring the service up, the way Playwright's `webServer`
 * does: started in order before the first phase, each awaited until ready, stopped in reverse
 * after the last (also on Ctrl-C and on failure). Output goes to `<run>/services/<name>.log`
 * (redacted); a service that dies mid-run fails the run, quoting its last lines.
 */
export const serviceSchema = z
  .object({
    /** Names the service in messages and its log file. */
    name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be a simple name (letters, digits, _ . -)'),
    /** A shell command line (run with `sh -c`, in its own process group). */
    command: z.string().min(1),
    /** Working directory, relative to the config file's folder. */
    cwd: z.string().optional(),
    /** Added to perf's environment. */
    env: z.record(z.string(), z.string()).default({}),
    /** Ready when this URL answers (any status below 500 unless `readyStatus` says), or when a line of its output matches `readyLine`. */
    readyUrl: z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL').optional(),
    readyStatus: z.array(z.number().int()).optional(),
    readyLine: z.string().optional(),
    /** How long to wait for ready. */
    timeout: z.string().default('60s'),
    /** When `readyUrl` already answers before starting, use what runs there and do not start (nor stop) it. */
    reuseExisting: z.boolean().default(false),
    /** SIGTERM → SIGKILL grace on stop. */
    stopTimeout: z.string().default('10s'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (!s.readyUrl && !s.readyLine) ctx.addIssue({ code: 'custom', message: `service "${s.name}": give readyUrl or readyLine (how perf knows it is up)` });
    if (s.reuseExisting && !s.readyUrl) ctx.addIssue({ code: 'custom', path: ['reuseExisting'], message: 'reuseExisting needs readyUrl (to see whether one runs already)' });
  });

export type ServiceConfig = z.output<typeof serviceSchema>;
