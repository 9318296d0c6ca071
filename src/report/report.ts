import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import { runsDir } from '../paths.ts';
import type { Redactor } from '../redact/redact.ts';
import { redactVerdict } from '../reporters/redact-verdict.ts';
import type { Verdict } from '../run/verdict.ts';
import { buildReportData, readVerdict, type ReportData } from './report-data.ts';
import { renderCompareHtml, renderRunHtml } from './report-html.ts';

/** The report's file name inside a run folder. */
export const REPORT_FILE = 'report.html';

/** Temp file + rename: a browser (or CI upload) never sees half a page. */
function writeAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  try {
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** A run folder's report data; the verdict redacted again with `redactor` (the last place a secret could slip out). */
export async function runReportData(runDir: string, verdict: Verdict = readVerdict(runDir), redactor?: Redactor): Promise<ReportData> {
  const v = redactor ? redactVerdict(verdict, redactor) : verdict;
  return buildReportData(runDir, v, redactor ? { redact: (s) => redactor.redactString(s) } : {});
}

/** Writes `<runDir>/report.html`; returns its path. */
export async function writeRunReport(runDir: string, verdict?: Verdict, redactor?: Redactor): Promise<string> {
  const html = renderRunHtml(await runReportData(runDir, verdict, redactor));
  const file = path.join(runDir, REPORT_FILE);
  writeAtomic(file, html);
  return file;
}

/** Writes the page drawing two runs over each other to `out`; returns its path. */
export async function writeCompareReport(dirA: string, dirB: string, out: string, redactor?: Redactor): Promise<string> {
  const [a, b] = await Promise.all([runReportData(dirA, undefined, redactor), runReportData(dirB, undefined, redactor)]);
  writeAtomic(out, renderCompareHtml(a, b));
  return out;
}

/**
 * A run given as a run id (a folder under the project's `.perf/runs/`) or as a path to a run
 * folder. A UserError names both places it looked.
 */
export function resolveRunDir(ref: string, projectDir: string, cwd = process.cwd()): string {
  const asPath = path.resolve(cwd, ref);
  if (existsSync(path.join(asPath, 'verdict.json'))) return asPath;
  const runs = runsDir(projectDir);
  if (/^[\w.-]+$/.test(ref) && existsSync(path.join(runs, ref, 'verdict.json'))) return path.join(runs, ref);
  const known = existsSync(runs) && statSync(runs).isDirectory();
  throw new UserError(
    `no run "${ref}": no ${path.join(runs, ref, 'verdict.json')}${ref.includes('/') || ref.startsWith('.') ? ` and no ${path.join(asPath, 'verdict.json')}` : ''}`,
    known ? `Run ids are the folder names in ${runs}; or pass a run folder's path.` : `${runs} does not exist: pass --config for another project, or a run folder's path.`,
  );
}
