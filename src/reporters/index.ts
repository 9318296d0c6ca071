/**
 * Reporter names → one Reporter (a ReporterMultiplexer), for the CLI and the runner.
 * Names are a closed union: the CLI validates `--reporter` against REPORTER_NAMES, so an
 * unknown name cannot reach this function.
 *
 * Every reporter gets the same redactor (the runner registers every secret it knows);
 * the webhook URL from the environment is registered here too, whether or not the
 * webhook reporter is selected, since it is a credential wherever it would show up.
 */
import type { Redactor } from '../redact/redact.ts';
import { consoleReporter, type OutStream } from './console.ts';
import { githubReporter } from './github.ts';
import { htmlReporter } from './html.ts';
import { jsonReporter } from './json.ts';
import { junitReporter } from './junit.ts';
import { ReporterMultiplexer, type Reporter } from './reporter.ts';
import { DEFAULT_WEBHOOK_ENV, webhookReporter } from './webhook.ts';

export const REPORTER_NAMES = ['console', 'json', 'junit', 'github', 'webhook'] as const;
export type ReporterName = (typeof REPORTER_NAMES)[number];

export interface CreateReportersOptions {
  redactor: Redactor;
  webhook: { urlEnv: string; format: 'slack' | 'json' };
  env: Record<string, string | undefined>;
  /** Human output (console reporter, reporter failures); default process.stderr. */
  stream?: OutStream;
  /** Machine output (json reporter); default process.stdout. */
  stdout?: { write(s: string, cb?: (err?: Error | null) => void): unknown };
  /** Base for the verdict path the console prints; default process.cwd(). */
  cwd?: string;
  /** Webhook timing, for tests; defaults 5 s per attempt and 1 s before the retry. */
  webhookTimeoutMs?: number;
  webhookRetryDelayMs?: number;
  /** Also write `<runDir>/report.html` (src/reporters/html.ts), first, whatever the names: the CLI sets it for every run. */
  htmlReport?: boolean;
}

export function createReporters(names: readonly ReporterName[], opts: CreateReportersOptions): ReporterMultiplexer {
  opts.redactor.addSecret(opts.env[opts.webhook.urlEnv || DEFAULT_WEBHOOK_ENV]);
  const reporters: Reporter[] = opts.htmlReport ? [htmlReporter({ redactor: opts.redactor })] : [];
  // A name given twice (config default plus a flag) still reports once.
  for (const name of new Set(names)) {
    switch (name) {
      case 'console':
        reporters.push(consoleReporter({ stream: opts.stream, redactor: opts.redactor, env: opts.env, cwd: opts.cwd }));
        break;
      case 'json':
        reporters.push(jsonReporter({ redactor: opts.redactor, stream: opts.stdout }));
        break;
      case 'junit':
        reporters.push(junitReporter({ redactor: opts.redactor }));
        break;
      case 'github':
        reporters.push(githubReporter({ redactor: opts.redactor, env: opts.env }));
        break;
      case 'webhook':
        reporters.push(
          webhookReporter({
            redactor: opts.redactor,
            env: opts.env,
            urlEnv: opts.webhook.urlEnv || undefined,
            format: opts.webhook.format,
            timeoutMs: opts.webhookTimeoutMs,
            retryDelayMs: opts.webhookRetryDelayMs,
            errStream: opts.stream,
          }),
        );
        break;
      default: {
        // Exhaustiveness: adding a name to REPORTER_NAMES without a case is a type error.
        const never: never = name;
        throw new Error(`unknown reporter ${String(never)}`);
      }
    }
  }
  return new ReporterMultiplexer(reporters, { redactor: opts.redactor, stream: opts.stream });
}

/**
 * Reporters enabled by configuration rather than by name (the InfluxDB reporter, when an
 * InfluxDB URL is configured) join the selected ones behind one multiplexer, so they get the
 * same isolation: a failing one is reported and the run goes on.
 */
export function withConfiguredReporters(selected: Reporter, extra: Reporter[], opts: { redactor: Redactor; stream?: OutStream }): Reporter {
  return extra.length ? new ReporterMultiplexer([selected, ...extra], { redactor: opts.redactor, stream: opts.stream }) : selected;
}

export { influxReporter } from './influx.ts';
