/**
 * GitHub Actions job summary: when `GITHUB_STEP_SUMMARY` is set (Actions sets it to a
 * file per step), append Markdown — a status headline, the phase table, failed checks with
 * their evidence, the gate table (gates, k6 thresholds and k6 checks), the baseline and soak
 * sections (relative gates; drift gates, error budgets, target memory), endpoint coverage (with an
 * OpenAPI document), and the console.warn/error lines of k6 scenarios that did not pass. A no-op anywhere else.
 *
 * Every piece of verdict text is redacted, then escaped for where it lands: table cells
 * (pipes, newlines, Markdown/HTML punctuation) or fenced code blocks (a fence longer than
 * any backtick run inside), so a response body cannot inject Markdown or HTML.
 */
import { gateDeltaCell, relativeGateTitle } from './baseline-lines.ts';
import { fmtDelta, fmtP } from '../baseline/compare-runs.ts';
import { driftGateTitle } from '../soak/drift.ts';
import { budgetPct, slopeText, soakStatusWord, worstWindowAt } from './soak-lines.ts';
import { appendFileSync } from 'node:fs';
import type { Redactor } from '../redact/redact.ts';
import type { Verdict } from '../run/verdict.ts';
import type { Reporter } from './reporter.ts';
import {
  countChecks,
  countsText,
  evidenceLine,
  failedChecks,
  flakyChecks,
  formatMs,
  gateStatusWord,
  phaseNote,
  responseExcerpt,
  round,
  stripAnsi,
} from './summarize.ts';
import { redactVerdict } from './redact-verdict.ts';
import { checkName, consoleLineText, thresholdPassed } from './k6-text.ts';
import { COVERAGE_PHASES, operationLabel, phaseCoverageText, statusesText } from '../openapi/coverage.ts';

export interface GithubReporterOptions {
  redactor: Redactor;
  env: Record<string, string | undefined>;
}

const ICON: Record<string, string> = {
  passed: '✅',
  failed: '❌',
  timedout: '⏱️',
  interrupted: '⚠️',
  invalid: '❌',
  flaky: '🟡',
  skipped: '⏭️',
  'not-run': '⏭️',
  'insufficient-data': '❔',
};

export function githubReporter(opts: GithubReporterOptions): Reporter {
  return {
    name: 'github',
    onRunEnd(verdict: Verdict) {
      const file = opts.env.GITHUB_STEP_SUMMARY;
      if (!file) return;
      appendFileSync(file, renderGithubSummary(verdict, opts.redactor));
    },
  };
}

export function renderGithubSummary(verdict: Verdict, redactor: Redactor): string {
  const v = redactVerdict(verdict, redactor);
  // Pieces are redacted again as text: the evidence lines are composed from several fields.
  const cell = (s: string) => mdCell(redactor.redactString(s));
  const out: string[] = [];

  const checks = countChecks(v);
  out.push(`## ${ICON[v.status] ?? '❔'} perf: ${v.status.toUpperCase()}`, '');
  const facts = [`run \`${mdCode(v.runId)}\``, formatMs(v.durationMs)];
  if (v.manifest.users !== undefined) facts.push(`${v.manifest.users} users`);
  if (v.manifest.gitSha) facts.push(`commit \`${mdCode(v.manifest.gitSha.slice(0, 12))}\``);
  if (checks.total) facts.push(`checks: ${countsText(checks)}`);
  out.push(facts.join(' · '), '');
  if (v.reasons.length) {
    for (const r of v.reasons) out.push(`- ${cell(r)}`);
    out.push('');
  }

  out.push('| Phase | Status | Checks | Duration | Note |', '| --- | --- | --- | --- | --- |');
  for (const p of v.phases) {
    const c = countChecks({ phases: [p] });
    out.push(`| ${cell(p.name)} | ${ICON[p.status] ?? ''} ${p.status} | ${c.total ? countsText(c) : '—'} | ${formatMs(p.durationMs)} | ${cell(phaseNote(p) ?? '')} |`);
  }
  out.push('');

  const failed = failedChecks(v);
  if (failed.length) {
    out.push('### Failed checks', '');
    for (const { phase, check } of failed) {
      out.push(`**${cell(phase)} / ${cell(check.name)}** — ${check.status}, ${formatMs(check.durationMs)}${check.attempts > 1 ? `, ${check.attempts} attempts` : ''}`, '');
      const block: string[] = [];
      if (check.error) block.push(check.error);
      if (check.correlationIds.length) block.push(`correlation ids: ${check.correlationIds.join(', ')}`);
      for (const e of check.evidence.slice(-10)) {
        block.push(evidenceLine(e));
        const body = responseExcerpt(e, 300);
        if (body) block.push(`  response: ${body}`);
      }
      // A bug in the check itself: the top of its stack says where.
      if (check.details) block.push(...check.details.split('\n').slice(0, 6));
      out.push(fenced(redactor.redactString(block.join('\n'))), '');
    }
  }

  const flaky = flakyChecks(v);
  if (flaky.length) {
    out.push('### Flaky checks', '');
    for (const { phase, check } of flaky) {
      out.push(`- ${cell(phase)} / ${cell(check.name)}: passed on attempt ${check.attempts}${check.error ? ` — earlier: ${cell(check.error)}` : ''}`);
    }
    out.push('');
  }

  const k6Runs = v.phases.flatMap((p) => p.k6 ?? []);
  const thresholds = k6Runs.flatMap((k) => k.thresholds.map((t) => ({ scenario: k.scenario, t })));
  const k6Checks = k6Runs.flatMap((k) => (k.checks ?? []).map((c) => ({ scenario: k.scenario, c })));
  if (v.gates?.length || thresholds.length || k6Checks.length) {
    // With --baseline, a last column: each gate's change against the baseline run and the rank test's verdict.
    const based = v.baseline?.status === 'compared';
    const extra = (text: string) => (based ? ` ${cell(text)} |` : '');
    out.push('### Gates', '', `| Gate | Expression | Observed | Samples | Status |${based ? ` vs ${cell(v.baseline!.runId ?? 'baseline')} |` : ''}`, `| --- | --- | --- | --- | --- |${based ? ' --- |' : ''}`);
    for (const g of v.gates ?? []) {
      const obs = g.observed !== undefined ? `${round(g.observed)}${g.unit ? ` ${g.unit}` : ''}` : '—';
      out.push(`| ${cell(g.metric)} | ${cell(g.expression)} | ${cell(obs)} | ${g.samples} | ${ICON[g.status] ?? ''} ${gateStatusWord(g)} |${extra(g.baseline ? `${gateDeltaCell(g)}, p=${fmtP(g.baseline.pValue)}` : '—')}`);
    }
    for (const { scenario, t } of thresholds) {
      const obs = t.observed !== undefined ? round(t.observed) : '—';
      const status = thresholdPassed(t) ? `${ICON.passed} passed` : t.noData ? `${ICON.failed} no data` : `${ICON.failed} failed`;
      out.push(`| ${cell(`${t.metric} (k6${t.source ? ` ${t.source}` : ''}, ${scenario})`)} | ${cell(t.expression)} | ${t.noData ? '—' : obs} | ${t.samples ?? '—'} | ${status} |${extra('—')}`);
    }
    // Every k6 check: passes of evaluations, and what decided it.
    for (const { scenario, c } of k6Checks) {
      const icon = c.status === 'failed' ? ICON.failed : c.status === 'tolerated' ? ICON.flaky : ICON.passed;
      out.push(`| ${cell(`check ${checkName(c)} (k6, ${scenario})`)} | ${cell(c.decidedBy)} | ${c.passes} passed, ${c.fails} failed | ${c.passes + c.fails} | ${icon} ${c.status} |${extra('—')}`);
    }
    out.push('');
  }

  // --baseline: the run compared with (or why none was) and the relative gates.
  if (v.baseline) {
    const b = v.baseline;
    out.push('### Baseline', '', `${b.status === 'compared' ? '' : `${ICON.flaky ?? ''} `}${cell(b.note)}`, '');
    if (b.gates.length) {
      out.push('| Relative gate | Scenario | Baseline | Current | Delta | p | Status |', '| --- | --- | --- | --- | --- | --- | --- |');
      for (const r of b.gates) {
        const d = r.decided;
        const f = (n: number | undefined) => (n === undefined ? '—' : `${round(n)}${r.unit ? ` ${r.unit}` : ''}`);
        out.push(`| ${cell(relativeGateTitle(r))} | ${cell(d?.scenario ?? '—')} | ${f(d?.baseline)} | ${f(d?.current)} | ${fmtDelta(d?.deltaPct)} | ${fmtP(d?.pValue)} | ${ICON[r.status] ?? ''} ${r.status}${r.note ? ` — ${cell(r.note)}` : ''} |`);
      }
      out.push('');
    }
  }

  // Soak: drift gates (one row per scenario judged), error budgets, target memory, notes.
  const soak = v.soak;
  if (soak && (soak.drift.length || soak.errorBudget.length || soak.memory.length || soak.notes.length)) {
    out.push('### Soak', '');
    if (soak.drift.length) {
      out.push('| Drift gate | Scenario | First | Last | Drift | p | Status |', '| --- | --- | --- | --- | --- | --- | --- |');
      for (const r of soak.drift) {
        const f = (n: number | undefined) => (n === undefined ? '—' : `${Number(n.toPrecision(4))}${r.unit ? ` ${r.unit}` : ''}`);
        const gateStatus = `${ICON[r.status] ?? ''} ${soakStatusWord(r.status)}${r.note ? ` — ${cell(r.note)}` : ''}`;
        if (!r.parts.length) out.push(`| ${cell(driftGateTitle(r))} | — | — | — | — | — | ${gateStatus} |`);
        // The deciding part carries the gate's status; the others their own verdict.
        for (const p of r.parts) {
          const status = p.scenario === r.decided?.scenario || r.parts.length === 1 ? `${gateStatus} (${p.verdict})` : p.verdict;
          out.push(`| ${cell(driftGateTitle(r))} | ${cell(p.scenario)} | ${f(p.first)} | ${f(p.last)} | ${fmtDelta(p.driftPct)} | ${fmtP(p.pValue)} | ${status} |`);
        }
      }
      out.push('');
    }
    if (soak.errorBudget.length) {
      out.push('| Error budget | Scenario | Spent | Failed | Worst window | Status |', '| --- | --- | --- | --- | --- | --- |');
      for (const b of soak.errorBudget) {
        const worst = b.worstWindow ? `${b.worstWindow.burnRate}× at ${worstWindowAt(b)} s (max ${b.maxBurnRate}×)` : '—';
        out.push(
          `| ${cell(`${budgetPct(b.budget)} ${b.metric}`)} | ${cell(b.scenario)} | ${b.spentPct} %${b.exhaustedAfterSeconds !== undefined ? `, ran out at ${b.exhaustedAfterSeconds} s` : ''} | ${b.failed} of ${b.samples} | ${worst} | ${ICON[b.status] ?? ''} ${b.status}${b.reason ? ` — ${cell(b.reason)}` : ''} |`,
        );
      }
      out.push('');
    }
    if (soak.memory.length) {
      out.push('| Target memory | First | Last | Peak | Growth | Limit | Status |', '| --- | --- | --- | --- | --- | --- | --- |');
      const f = (n: number | undefined) => (n === undefined ? '—' : `${round(n)} MB`);
      for (const m of soak.memory) {
        out.push(`| ${cell(`${m.service} (pid ${m.pid})`)} | ${f(m.firstMb)} | ${f(m.lastMb)} | ${f(m.peakMb)} | ${slopeText(m.slopeMbPerHour)} | ${m.maxGrowthMbPerHour} MB/h | ${ICON[m.status] ?? ''} ${soakStatusWord(m.status)}${m.reason && m.status !== 'passed' ? ` — ${cell(m.reason)}` : ''} |`);
      }
      out.push('');
    }
    if (soak.notes.length) out.push(...soak.notes.map((n) => `- ${ICON.flaky} ${cell(n)}`), '');
  }

  // Endpoint coverage of the OpenAPI document (information, never a gate).
  const cov = v.coverage;
  if (cov) {
    out.push('### Endpoint coverage', '', `${cov.exercised} of ${cov.total} documented operations exercised (${cov.percent} %) of \`${mdCode(cov.document)}\` · ${cell(phaseCoverageText(cov))}`, '');
    out.push('| Operation | Smoke | Flows | Load |', '| --- | --- | --- | --- |');
    for (const o of cov.operations) {
      const cells = COVERAGE_PHASES.map((p) => {
        const h = o.hits[p];
        return !cov.byPhase[p].ran ? 'not run' : h ? `✅ ${cell(statusesText(h))}` : '—';
      });
      out.push(`| ${cell(operationLabel(o))} | ${cells.join(' | ')} |`);
    }
    out.push('');
    if (cov.untouched.length) out.push(`**Untouched (${cov.untouched.length}):** ${cov.untouched.map(cell).join(', ')}`, '');
    if (cov.excluded.length) out.push(`Excluded (${cov.excluded.length}): ${cov.excluded.map(cell).join(', ')}`, '');
  }

  // Scenarios that did not pass: what their scripts logged, and where k6's own record is.
  const failing = k6Runs.filter((k) => k.evidence);
  if (failing.length) {
    out.push('### k6 output of failing scenarios', '');
    for (const k of failing) {
      const ev = k.evidence!;
      out.push(`**${cell(k.scenario)}** — k6 stdout \`${mdCode(ev.stdout)}\`, log \`${mdCode(ev.log)}\` (in the run folder)`, '');
      const lines = [...ev.console.map((l) => consoleLineText(l, 500)), ...(ev.consoleOmitted ? [`(${ev.consoleOmitted} more console lines in the log)`] : [])];
      if (lines.length) out.push(fenced(redactor.redactString(lines.join('\n'))), '');
    }
  }
  return `${out.join('\n')}\n`;
}

/** Text safe inside a table cell: one line, pipes and Markdown/HTML punctuation escaped. */
export function mdCell(s: string): string {
  return stripAnsi(s)
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0e-\x1f\x7f]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\`*_{}[\]<>|#!~]/g, (ch) => `\\${ch}`);
}

/** Inside an inline code span: backticks cannot be escaped there, so they are dropped. */
function mdCode(s: string): string {
  return stripAnsi(s).replace(/[`\n\r]/g, '');
}

/** A fenced block whose fence is longer than any backtick run in the content. */
function fenced(s: string): string {
  // eslint-disable-next-line no-control-regex
  const text = stripAnsi(s).replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}text\n${text}\n${fence}`;
}
