/**
 * `<runDir>/junit.xml` for CI test views (GitHub, GitLab, Jenkins, Azure).
 *
 * Mapping (Surefire/Ant conventions, the dialect these tools all read):
 *  - one `<testsuite>` per phase (a repeated phase name gets " (2)"), one `<testcase>` per
 *    check, classname = the suite's name, time in seconds;
 *  - failed / timed-out check → `<failure>` (message = the error, body = error, correlation
 *    ids and an evidence summary); a failure that was a bug in the check itself (it has a
 *    stack in `details`) or an interrupted check → `<error>` so it does not read as green;
 *  - flaky check → a passing `<testcase>` with a `<flakyFailure>` child (Surefire's
 *    rerun convention) and a `flaky=true` property;
 *  - skipped phase/check → `<skipped message="...">` carrying the skip reason;
 *  - a non-passing phase with no failing case of its own (timed out before any check
 *    ended, a load phase that crashed) gets one case named after the phase, so the suite
 *    is never green while the phase was not;
 *  - load: each k6 scenario run, each k6 threshold (one k6 passed on no sample fails), each
 *    k6 check (failed when what decides it failed it) and each gate is a case of the `load`
 *    suite; a scenario that did not pass carries its console.warn/error lines and the paths of
 *    k6's stdout and log in `<system-err>`; a gate with insufficient data is a failure (as in the verdict), one that did not run `<skipped>` (whether
 *    that fails the run is the verdict's decision, shown in its status);
 *  - soak (`verdict.soak`): a case per drift gate (`gate <metric> <stat> max drift +N%`, its parts
 *    as properties; failed or insufficient data → `<failure>`, not run → `<skipped>`), per
 *    error budget (`error budget <metric> in <scenario>`) and per target memory trend
 *    (`target memory <service>`), all in the `load` suite.
 *
 * Written with xmlbuilder2 (escaping of text and attributes is the library's job, not
 * ours); characters XML 1.0 cannot carry at all (ANSI escapes, NUL...) are removed first.
 */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CheckResult } from '../checks/types.ts';
import type { Redactor } from '../redact/redact.ts';
import type { GateResult, K6PhaseResult, PhaseResult, Verdict } from '../run/verdict.ts';
import type { RelativeGateResult } from '../baseline/baseline-types.ts';
import { comparisonText, relativeGateText, relativeGateTitle } from './baseline-lines.ts';
import type { DriftGateResult, ErrorBudgetResult, MemoryTrendResult } from '../soak/soak-types.ts';
import { driftGateReason, driftGateTitle, driftPartText } from '../soak/drift.ts';
import { errorBudgetText, errorBudgetTitle, memoryTrendText, worstWindowAt } from './soak-lines.ts';
import type { Reporter } from './reporter.ts';
import { evidenceLine, gatePartText, gateText, phaseNote, responseExcerpt, round, stripAnsi } from './summarize.ts';
import { redactVerdict } from './redact-verdict.ts';
import { checkName, checkText, consoleLineText, thresholdPassed } from './k6-text.ts';

export interface JunitReporterOptions {
  redactor: Redactor;
  /** File name inside the run folder; default junit.xml. */
  fileName?: string;
}

type Outcome =
  | { kind: 'passed' }
  | { kind: 'failure' | 'error' | 'flaky'; message: string; type: string; text: string }
  | { kind: 'skipped'; message: string };

interface Case {
  name: string;
  timeMs: number;
  outcome: Outcome;
  properties?: [string, string][];
  /** `<system-err>`: what k6's script logged (console.warn/error) when its scenario did not pass. */
  systemErr?: string;
}

interface Suite {
  name: string;
  timestamp: string;
  timeMs: number;
  properties: [string, string][];
  cases: Case[];
}

const MAX_EVIDENCE_LINES = 20;

export function junitReporter(opts: JunitReporterOptions): Reporter {
  return {
    name: 'junit',
    async onRunEnd(verdict: Verdict, runDir: string) {
      const xml = await renderJunit(verdict, opts.redactor);
      const file = path.join(runDir, opts.fileName ?? 'junit.xml');
      // Temp + rename: CI never uploads half a report if perf dies mid-write.
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, xml);
      renameSync(tmp, file);
    },
  };
}

/** The JUnit document of a verdict (exported for tests and for `perf report` later). */
export async function renderJunit(verdict: Verdict, redactor: Redactor): Promise<string> {
  // Loaded on use: xmlbuilder2 costs ~50 ms to import, which runs without --reporter junit
  // should not pay.
  const { create } = await import('xmlbuilder2');
  const v = redactVerdict(verdict, redactor);
  const suites = buildSuites(v);
  const text = (s: string) => xmlSafe(redactor.redactString(s));

  const total = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const s of suites) {
    const c = countCases(s.cases);
    total.tests += c.tests;
    total.failures += c.failures;
    total.errors += c.errors;
    total.skipped += c.skipped;
  }

  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
    name: text(`perf ${v.runId}`),
    tests: String(total.tests),
    failures: String(total.failures),
    errors: String(total.errors),
    skipped: String(total.skipped),
    time: seconds(v.durationMs),
    timestamp: junitTimestamp(v.startedAt),
  });
  for (const s of suites) {
    const c = countCases(s.cases);
    const suite = root.ele('testsuite', {
      name: text(s.name),
      tests: String(c.tests),
      failures: String(c.failures),
      errors: String(c.errors),
      skipped: String(c.skipped),
      time: seconds(s.timeMs),
      timestamp: junitTimestamp(s.timestamp),
    });
    if (s.properties.length) {
      const props = suite.ele('properties');
      for (const [name, value] of s.properties) props.ele('property', { name: text(name), value: text(value) });
    }
    for (const k of s.cases) {
      const tc = suite.ele('testcase', { name: text(k.name), classname: text(s.name), time: seconds(k.timeMs) });
      if (k.properties?.length) {
        const props = tc.ele('properties');
        for (const [name, value] of k.properties) props.ele('property', { name: text(name), value: text(value) });
      }
      const o = k.outcome;
      if (o.kind === 'skipped') tc.ele('skipped', { message: text(o.message) });
      else if (o.kind === 'failure' || o.kind === 'error') tc.ele(o.kind, { message: text(o.message), type: text(o.type) }).txt(text(o.text));
      else if (o.kind === 'flaky') tc.ele('flakyFailure', { message: text(o.message), type: text(o.type) }).ele('stackTrace').txt(text(o.text));
      if (k.systemErr) tc.ele('system-err').txt(text(k.systemErr));
    }
  }
  return root.end({ prettyPrint: true });
}

function buildSuites(v: Verdict): Suite[] {
  const suites: Suite[] = [];
  const seen = new Map<string, number>();
  for (const p of v.phases) {
    const n = (seen.get(p.name) ?? 0) + 1;
    seen.set(p.name, n);
    suites.push(phaseSuite(p, n === 1 ? p.name : `${p.name} (${n})`));
  }
  const soak = v.soak;
  if (v.gates?.length || v.baseline?.gates.length || soak?.drift.length || soak?.errorBudget.length || soak?.memory.length) {
    let load = suites.find((s) => s.name === 'load');
    if (!load) {
      load = { name: 'load', timestamp: v.startedAt, timeMs: 0, properties: [], cases: [] };
      suites.push(load);
    }
    for (const g of v.gates ?? []) load.cases.push(gateCase(g));
    // Relative gates (`maxIncrease`, --baseline): one case each, the baseline run and the delta in its message.
    for (const r of v.baseline?.gates ?? []) load.cases.push(relativeGateCase(r, v.baseline!.note));
    // Soak (`maxDrift`, soak.errorBudget, soak.targetMemory): one case per gate, per scenario's budget, per process.
    for (const r of soak?.drift ?? []) load.cases.push(driftGateCase(r));
    for (const b of soak?.errorBudget ?? []) load.cases.push(errorBudgetCase(b));
    for (const m of soak?.memory ?? []) load.cases.push(memoryTrendCase(m));
  }
  return suites;
}

function phaseSuite(p: PhaseResult, name: string): Suite {
  const properties: [string, string][] = [['status', p.status]];
  if (p.policy) {
    properties.push(['blocking', String(p.policy.blocking)], ['parallel', String(p.policy.parallel)]);
    properties.push(['timeoutMs', String(p.policy.timeoutMs)], ['retries', String(p.policy.retries)]);
  }
  const note = phaseNote(p);
  if (note) properties.push([p.status === 'skipped' ? 'skippedBecause' : 'reason', note]);

  const cases: Case[] = (p.checks ?? []).map((c) => checkCase(c, p));
  for (const k of p.k6 ?? []) cases.push(...k6Cases(k));

  const hasOwnFailure = cases.some((c) => c.outcome.kind === 'failure' || c.outcome.kind === 'error');
  const reason = note ?? p.status;
  if (p.status === 'skipped' && cases.length === 0) {
    cases.push({ name: p.name, timeMs: 0, outcome: { kind: 'skipped', message: `skipped: ${reason}` } });
  } else if ((p.status === 'failed' || p.status === 'timedout') && !hasOwnFailure) {
    cases.push({ name: p.name, timeMs: p.durationMs, outcome: { kind: 'failure', type: p.status, message: reason, text: reason } });
  } else if (p.status === 'interrupted' && !hasOwnFailure) {
    cases.push({ name: p.name, timeMs: p.durationMs, outcome: { kind: 'error', type: 'interrupted', message: reason, text: reason } });
  }
  return { name, timestamp: p.startedAt, timeMs: p.durationMs, properties, cases };
}

function checkCase(c: CheckResult, p: PhaseResult): Case {
  const base = { name: c.name, timeMs: c.durationMs };
  const attempts: [string, string] = ['attempts', String(c.attempts)];
  switch (c.status) {
    case 'passed':
      return { ...base, outcome: { kind: 'passed' }, ...(c.attempts > 1 ? { properties: [attempts] } : {}) };
    case 'flaky':
      return {
        ...base,
        properties: [['flaky', 'true'], attempts],
        outcome: { kind: 'flaky', type: 'flaky', message: firstLine(c.error ?? `passed on attempt ${c.attempts}`), text: failureText(c) },
      };
    case 'skipped':
      // A check's own reason (nothing to assert, not run) first, else its phase's.
      return { ...base, outcome: { kind: 'skipped', message: `skipped: ${c.error ?? phaseNote(p) ?? 'not run'}` } };
    case 'interrupted':
      return { ...base, outcome: { kind: 'error', type: 'interrupted', message: firstLine(c.error ?? 'interrupted'), text: failureText(c) } };
    case 'timedout':
      return { ...base, outcome: { kind: 'failure', type: 'timeout', message: firstLine(c.error ?? 'timed out'), text: failureText(c) } };
    case 'failed':
      return {
        ...base,
        outcome: {
          kind: c.details ? 'error' : 'failure',
          type: c.details ? 'CheckError' : 'CheckFailure',
          message: firstLine(c.error ?? 'failed'),
          text: failureText(c),
        },
      };
  }
}

/** The failure body: what went wrong, which requests (correlation ids), the evidence. */
function failureText(c: CheckResult): string {
  const lines: string[] = [];
  if (c.error) lines.push(c.error);
  if (c.attempts > 1) lines.push(`attempts: ${c.attempts}`);
  if (c.correlationIds.length) lines.push(`correlation ids: ${c.correlationIds.join(', ')}`);
  if (c.evidence.length) {
    lines.push('evidence:');
    for (const e of c.evidence.slice(-MAX_EVIDENCE_LINES)) {
      lines.push(`  ${evidenceLine(e)}`);
      const body = responseExcerpt(e, 500);
      if (body) lines.push(`    response: ${body}`);
    }
    if (c.evidence.length > MAX_EVIDENCE_LINES) lines.push(`  (${c.evidence.length - MAX_EVIDENCE_LINES} earlier items in verdict.json)`);
  }
  if (c.details) lines.push('details:', c.details);
  return lines.join('\n');
}

function k6Cases(k: K6PhaseResult): Case[] {
  const cases: Case[] = [];
  const crashed = k.exitCode !== 0 && k.exitCode !== 99; // 99: thresholds failed, shown per threshold below
  const errors = k.scriptErrors.map((e) => `script error ×${e.count}: ${e.message}${e.location ? ` at ${e.location}` : ''}`);
  // A scenario that did not pass: k6's own record of it, and what its script logged.
  const ev = k.evidence;
  const systemErr = ev ? [...ev.console.map((l) => consoleLineText(l, 2000)), ...(ev.consoleOmitted ? [`(${ev.consoleOmitted} more console lines)`] : []), `k6 stdout: ${ev.stdout}`, `k6 log: ${ev.log}`].join('\n') : undefined;
  cases.push({
    name: `k6 ${k.scenario}`,
    timeMs: k.durationMs,
    properties: [['exitCode', String(k.exitCode)], ['script', k.script], ...(ev ? ([['stdout', ev.stdout], ['log', ev.log]] as [string, string][]) : [])],
    ...(systemErr ? { systemErr } : {}),
    outcome:
      crashed || errors.length
        ? { kind: 'failure', type: `k6 exit ${k.exitCode}`, message: crashed ? `k6 exited ${k.exitCode} (${k.meaning})` : firstLine(errors[0]!), text: [`k6 exited ${k.exitCode} (${k.meaning})`, ...errors].join('\n') }
        : { kind: 'passed' },
  });
  for (const t of k.thresholds) {
    const obs = t.observed !== undefined ? ` (observed ${round(t.observed)})` : '';
    const name = `threshold ${k.scenario} ${t.metric}: ${t.expression}`;
    const noData = `${t.metric}: ${t.expression} had no samples (k6 passes a threshold on no data; perf does not)`;
    cases.push({
      name,
      timeMs: 0,
      properties: [...(t.source ? ([['source', t.source]] as [string, string][]) : []), ...(t.samples !== undefined ? ([['samples', String(t.samples)]] as [string, string][]) : [])],
      outcome: thresholdPassed(t)
        ? { kind: 'passed' }
        : t.noData
          ? { kind: 'failure', type: 'no-data', message: noData, text: noData }
          : { kind: 'failure', type: 'threshold', message: `${t.metric}: ${t.expression} failed${obs}`, text: `${t.metric}: ${t.expression} failed${obs}` },
    });
  }
  // Every k6 check: failed ones are failures; tolerated ones pass, with their failed evaluations as properties.
  for (const c of k.checks ?? []) {
    const text = checkText(c);
    cases.push({
      name: `check ${k.scenario} ${checkName(c)}`,
      timeMs: 0,
      properties: [['passes', String(c.passes)], ['fails', String(c.fails)], ['decidedBy', c.decidedBy], ...(c.status === 'tolerated' ? ([['tolerated', 'true']] as [string, string][]) : [])],
      outcome: c.status === 'failed' ? { kind: 'failure', type: 'check', message: text, text } : { kind: 'passed' },
    });
  }
  if (k.checksOmitted) {
    const text = `${k.checksOmitted.count} more checks (not listed in the verdict), ${k.checksOmitted.fails} failed evaluations`;
    cases.push({ name: `checks ${k.scenario} (not listed)`, timeMs: 0, outcome: k.checksOmitted.fails ? { kind: 'failure', type: 'check', message: text, text } : { kind: 'passed' } });
  }
  return cases;
}

function relativeGateCase(r: RelativeGateResult, baselineNote: string): Case {
  const name = `gate ${relativeGateTitle(r)}`;
  const properties: [string, string][] = [['significance', String(r.significance)], ...(r.baselineRunId ? [['baseline', r.baselineRunId] as [string, string]] : [])];
  for (const [i, p] of r.parts.entries()) properties.push([`part.${i + 1}`, comparisonText(p, r.baselineRunId, r.unit)]);
  if (r.description) properties.push(['description', r.description]);
  const text = relativeGateText(r);
  if (r.status === 'passed') return { name, timeMs: 0, properties, outcome: { kind: 'passed' } };
  if (r.status === 'not-run') return { name, timeMs: 0, properties, outcome: { kind: 'skipped', message: `not run: ${r.note ?? baselineNote}` } };
  if (r.status === 'insufficient-data') return { name, timeMs: 0, properties, outcome: { kind: 'failure', type: 'insufficient-data', message: `insufficient data: ${text}`, text } };
  return { name, timeMs: 0, properties, outcome: { kind: 'failure', type: 'regression', message: `regression: ${text}`, text: `${r.description ? `${r.description}\n` : ''}regression: ${text}` } };
}

function driftGateCase(r: DriftGateResult): Case {
  const name = `gate ${driftGateTitle(r)}`;
  const properties: [string, string][] = [['significance', String(r.significance)]];
  for (const [i, p] of r.parts.entries()) properties.push([`part.${i + 1}`, driftPartText(p, r.unit)]);
  if (r.description) properties.push(['description', r.description]);
  if (r.note) properties.push(['note', r.note]);
  const text = driftGateReason(r);
  if (r.status === 'passed') return { name, timeMs: 0, properties, outcome: { kind: 'passed' } };
  if (r.status === 'not-run') return { name, timeMs: 0, properties, outcome: { kind: 'skipped', message: `not run: ${r.note ?? driftGateTitle(r)}` } };
  // Too few windows to tell drift from noise fails the gate in the verdict, so CI shows it red.
  if (r.status === 'insufficient-data') return { name, timeMs: 0, properties, outcome: { kind: 'failure', type: 'insufficient-data', message: `insufficient data: ${text}`, text } };
  return { name, timeMs: 0, properties, outcome: { kind: 'failure', type: 'drift', message: text, text: `${r.description ? `${r.description}\n` : ''}${text}` } };
}

function errorBudgetCase(b: ErrorBudgetResult): Case {
  const properties: [string, string][] = [
    ['budget', String(b.budget)],
    ['maxBurnRate', String(b.maxBurnRate)],
    ['samples', String(b.samples)],
    ['failed', String(b.failed)],
    ['spentPct', String(b.spentPct)],
    ...(b.exhaustedAfterSeconds !== undefined ? ([['exhaustedAfterSeconds', String(b.exhaustedAfterSeconds)]] as [string, string][]) : []),
    ...(b.worstWindow ? ([['worstWindow', `${b.worstWindow.burnRate}× at ${worstWindowAt(b)} s (${b.worstWindow.failed} of ${b.worstWindow.samples} failed)`]] as [string, string][]) : []),
  ];
  const summary = errorBudgetText(b);
  if (b.status === 'passed') return { name: errorBudgetTitle(b), timeMs: 0, properties, outcome: { kind: 'passed' } };
  const reason = b.reason ?? summary;
  return { name: errorBudgetTitle(b), timeMs: 0, properties, outcome: { kind: 'failure', type: 'error-budget', message: reason, text: `${reason}\n${summary}` } };
}

function memoryTrendCase(m: MemoryTrendResult): Case {
  const name = `target memory ${m.service}`;
  const properties: [string, string][] = [['pid', String(m.pid)], ['samples', String(m.samples)], ['spanSeconds', String(m.spanSeconds)], ['maxGrowthMbPerHour', String(m.maxGrowthMbPerHour)]];
  if (m.slopeMbPerHour !== undefined) properties.push(['slopeMbPerHour', String(m.slopeMbPerHour)]);
  if (m.peakMb !== undefined) properties.push(['peakMb', String(m.peakMb)]);
  const text = memoryTrendText(m);
  if (m.status === 'passed') return { name, timeMs: 0, properties, outcome: { kind: 'passed' } };
  const reason = m.reason ?? text;
  return { name, timeMs: 0, properties, outcome: { kind: 'failure', type: m.status === 'failed' ? 'memory-growth' : 'insufficient-data', message: m.status === 'failed' ? reason : `insufficient data: ${reason}`, text: `${reason}\n${text}` } };
}

function gateCase(g: GateResult): Case {
  const name = `gate ${g.metric} ${g.expression}`;
  const properties: [string, string][] = [['samples', String(g.samples)], ['limit', `${g.limit}${g.unit ? ` ${g.unit}` : ''}`]];
  if (g.observed !== undefined) properties.push(['observed', `${round(g.observed)}${g.unit ? ` ${g.unit}` : ''}`]);
  if (g.description) properties.push(['description', g.description]);
  // Each place the gate had to hold (scenario, tag value), with its figure: CI shows which failed.
  const parts = (g.parts ?? []).length > 1 ? g.parts! : [];
  for (const [i, p] of parts.entries()) properties.push([`part.${i + 1}`, `${p.status}: ${gatePartText(g, p)}`]);
  if (g.disagreement) properties.push(['disagreement', g.disagreement]);
  if (g.baseline) properties.push(['baseline', comparisonText(g.baseline, g.baseline.runId, g.unit)]);
  const failedParts = parts.filter((p) => p.status !== 'passed').map((p) => `${p.status}: ${gatePartText(g, p)}`);
  const summary = `${gateText(g)}${g.disagreement ? `; ${g.disagreement}` : ''}`;
  // k6 judged the same samples otherwise: the run fails on it, so the case does too.
  if (g.status === 'passed' && g.disagreement) return { name, timeMs: 0, properties, outcome: { kind: 'failure', type: 'disagreement', message: `harness and k6 disagree: ${g.disagreement}`, text: g.disagreement } };
  if (g.status === 'passed') return { name, timeMs: 0, properties, outcome: { kind: 'passed' } };
  // Bound to scenarios that did not run: not evaluated, not a failure.
  if (g.status === 'not-run') return { name, timeMs: 0, properties, outcome: { kind: 'skipped', message: `not run: ${g.note ?? summary}` } };
  // Too few samples fails the gate (the verdict counts it as failed), so CI must show it red.
  if (g.status === 'insufficient-data') return { name, timeMs: 0, properties, outcome: { kind: 'failure', type: 'insufficient-data', message: `insufficient data: ${g.note ?? summary}`, text: `insufficient data: ${g.note ?? summary}` } };
  return { name, timeMs: 0, properties, outcome: { kind: 'failure', type: 'gate', message: `gate failed: ${summary}`, text: `${g.description ? `${g.description}\n` : ''}gate failed: ${summary}${failedParts.length ? `\n${failedParts.join('\n')}` : ''}` } };
}

function countCases(cases: Case[]) {
  return {
    tests: cases.length,
    failures: cases.filter((c) => c.outcome.kind === 'failure').length,
    errors: cases.filter((c) => c.outcome.kind === 'error').length,
    skipped: cases.filter((c) => c.outcome.kind === 'skipped').length,
  };
}

function seconds(ms: number): string {
  return (Math.max(0, ms) / 1000).toFixed(3);
}

/** The Ant JUnit schema's timestamp has no zone; times are UTC. */
function junitTimestamp(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 19);
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim()) ?? s;
  return line.length > 500 ? `${line.slice(0, 499)}…` : line;
}

/** Removes what XML 1.0 cannot represent even escaped (C0 controls other than tab/LF/CR,
 *  lone surrogates, U+FFFE/U+FFFF) and ANSI colour sequences. */
export function xmlSafe(s: string): string {
  // eslint-disable-next-line no-control-regex
  return stripAnsi(s).replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '');
}
