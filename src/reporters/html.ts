/**
 * `<runDir>/report.html` at the end of every run, whatever its status (an interrupted or failed
 * run gets a page with what exists): src/report/. Not one of the `--reporter` names: the CLI
 * always adds it (`createReporters(..., { htmlReport: true })`). Writing it may fail (disk full,
 * an unreadable sample file): the multiplexer turns the thrown error into one line on stderr,
 * and the run's status and exit code do not change.
 */
import type { Redactor } from '../redact/redact.ts';
import type { Verdict } from '../run/verdict.ts';
import type { Reporter } from './reporter.ts';

export function htmlReporter(opts: { redactor: Redactor }): Reporter {
  return {
    name: 'html',
    async onRunEnd(verdict: Verdict, runDir: string) {
      const { writeRunReport } = await import('../report/report.ts');
      try {
        await writeRunReport(runDir, verdict, opts.redactor);
      } catch (e) {
        throw new Error(`report.html not written: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
  };
}
