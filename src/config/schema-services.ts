import { z } from 'zod';

/**
 * `target.start`: the commands that bring the service up, the way Playwright's `webServer`
 * does: started in order before the first phase, each awaited until ready, stopped in reverse
 * after the last (also on Ctrl-C and on failure). Output goes to `<run>/services/<name>.log`
 * (redacted); a service that dies mid-run fails the run, quoting its last lines.
 */
export const serviceSchema = z
  .object({
    /** Names the service in messages, in the verdict and in its log file `<run>/services/<name>.log`. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$/, 'must be a simple name (letters, digits, _ . -)')
      .meta({ description: 'Names the service in messages, in the verdict and in its log file `<run>/services/<name>.log`. Letters, digits, `_`, `.` and `-`.', examples: ['api'] }),
    /** The shell command line that starts the service, run with `sh -c` in its own process group (stopping it stops everything it started). */
    command: z
      .string()
      .min(1)
      .meta({ description: 'The shell command line that starts the service, run with `sh -c` in its own process group (stopping it stops everything it started).', examples: ['node dist/server.js'] }),
    /** Working directory of the command, relative to the config file's folder. */
    cwd: z
      .string()
      .optional()
      .meta({ description: "Working directory of the command, relative to the config file's folder. Absent: that folder.", examples: ['../service'] }),
    /** Environment variables added to perf's own for the command. */
    env: z
      .record(z.string(), z.string())
      .default({})
      .meta({
        description:
          "Environment variables added to perf's own for the command. Values whose names look secret (`PASSWORD`, `TOKEN`, `SECRET`, `API_KEY`, `CREDENTIAL` in the name) are redacted wherever they appear.",
        examples: [{ PORT: '8080', DATABASE_URL: 'postgres://app@127.0.0.1/app' }],
      }),
    /** The service is ready when this URL answers (any status below 500, unless `readyStatus` says which). */
    readyUrl: z
      .string()
      .regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL')
      .optional()
      .meta({
        description:
          'The service is ready when this URL answers (any status below 500, unless `readyStatus` says which). Polled every 200 ms. Give `readyUrl`, `readyLine` or both (whichever holds first).',
        examples: ['http://127.0.0.1:8080/health'],
      }),
    /** With `readyUrl`: the HTTP statuses that mean ready. */
    readyStatus: z
      .array(z.number().int())
      .optional()
      .meta({ description: 'With `readyUrl`: the HTTP statuses that mean ready. Absent: any status below 500.', examples: [[200]] }),
    /** The service is ready when a line of its stdout or stderr matches this regular expression. */
    readyLine: z
      .string()
      .optional()
      .meta({ description: 'The service is ready when a line of its stdout or stderr matches this regular expression. For services without an HTTP endpoint to poll (a worker).', examples: ['listening on port \\d+'] }),
    /** How long perf waits for the service to be ready before the run fails, as a duration (`30s`, `2m`). */
    timeout: z
      .string()
      .default('60s')
      .meta({
        description:
          'How long perf waits for the service to be ready before the run fails, as a duration (`30s`, `2m`). A service that exits first, or is not ready in time, fails the run quoting its last lines of output.',
        examples: ['30s'],
      }),
    /** When `readyUrl` already answers before the start, test what runs there: perf neither starts nor stops it. */
    reuseExisting: z
      .boolean()
      .default(false)
      .meta({
        description:
          'When `readyUrl` already answers before the start, test what runs there: perf neither starts nor stops it. Without it, something already answering fails the run (another process would be tested). Handy locally (`!process.env.CI`); needs `readyUrl`.',
        examples: [true],
      }),
    /** Grace between SIGTERM and SIGKILL when perf stops the service, as a duration. */
    stopTimeout: z
      .string()
      .default('10s')
      .meta({ description: 'Grace between SIGTERM and SIGKILL when perf stops the service, as a duration.', examples: ['20s'] }),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (!s.readyUrl && !s.readyLine) ctx.addIssue({ code: 'custom', message: `service "${s.name}": give readyUrl or readyLine (how perf knows it is up)` });
    if (s.reuseExisting && !s.readyUrl) ctx.addIssue({ code: 'custom', path: ['reuseExisting'], message: 'reuseExisting needs readyUrl (to see whether one runs already)' });
  });

export type ServiceConfig = z.output<typeof serviceSchema>;
