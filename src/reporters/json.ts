/**
 * `--reporter json`: the verdict, redacted, as one JSON document on stdout at run end, so
 * `perf run --reporter json | jq .status` works. Writes nothing else, ever: every other
 * reporter and every diagnostic goes to stderr.
 */
import type { Redactor } from '../redact/redact.ts';
import type { Verdict } from '../run/verdict.ts';
import type { Reporter } from './reporter.ts';
import { redactVerdict } from './redact-verdict.ts';

export interface JsonReporterOptions {
  redactor: Redactor;
  /** Default process.stdout. */
  stream?: { write(s: string, cb?: (err?: Error | null) => void): unknown };
}

export function jsonReporter(opts: JsonReporterOptions): Reporter {
  const stream = opts.stream ?? process.stdout;
  return {
    name: 'json',
    async onRunEnd(verdict: Verdict) {
      // Redacted as data (by key and value) rather than as text: text rules run over
      // serialized JSON could cut through quotes and leave invalid JSON.
      const text = `${JSON.stringify(redactVerdict(verdict, opts.redactor), null, 2)}\n`;
      // Wait for the write to be handed over, so a caller that exits right after does not
      // cut a large verdict short on a pipe.
      await new Promise<void>((resolve, reject) => {
        stream.write(text, (err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
