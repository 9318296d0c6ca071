/**
 * Human output on stderr (stdout is kept for machine output such as `--reporter json`).
 *
 * While phases run: on a TTY one status line rewritten in place (phase, checks done/total,
 * elapsed; k6 numbers during load); off a TTY (CI logs) plain lines as checks finish.
 * As each phase ends: the phase, then check by check with mark and duration, flaky ones
 * marked, failing ones with their error, correlation id and the most useful evidence line;
 * skipped phases with the reason. At the end: counts, gates, the verdict line, reasons and
 * the verdict path. Every line passes through the redactor; colour only on a TTY without
 * NO_COLOR.
 *
 * Lines other code and tests match (keep them stable): `verdict: PASSED in 1.2 s`,
 * `  - <reason>`, the `.perf/runs/<id>/verdict.json` path, `▶ <phase>` off a TTY,
 * `<phase> … skipped — <reason>`, threshold lines
 * `✓/✗ <metric>: <expr> (observed N)` and `script error ×N: <msg> at <file:line:col>`;
 * k6 checks `✓/~/✗ <scenario>: check "<name>" (<k6 scenario>[, <group>]) P of N passed[ — <status> (<decided by>)]`
 * and script thresholds `<scenario>: threshold <metric> <expr> (k6, observed N, M samples)` in
 * the gate table; under a scenario that did not pass, `console.<level> ×N: <line>` and
 * `k6 output: <stdout path>, <log path>`; with an OpenAPI document, after the gates,
 * `coverage: <n> of <m> documented operations (<p>%) of <document> — smoke …` and its table.
 */
import path from 'node:path';
import pc from 'picocolors';
import type { CheckResult } from '../checks/types.ts';
import { Redactor } from '../redact/redact.ts';
import type { PhaseResult, Verdict } from '../run/verdict.ts';
import type { CheckEndInfo, LoadProgress, PhaseBeginInfo, Reporter } from './reporter.ts';
import {
  attemptsNote,
  countChecks,
  countPhases,
  countsText,
  evidenceLine,
  flakyChecks,
  formatMs,
  gateStatusWord,
  gatePartText,
  gateText,
  isFailingStatus,
  mostUsefulEvidence,
  oneLine,
  phaseNote,
  responseExcerpt,
  round,
  stripAnsi,
  testDataText,
} from './summarize.ts';
import { concurrencyLines } from './concurrency-lines.ts';
import { COVERAGE_PHASES, operationLabel, phaseCoverageText, statusesText, type EndpointCoverage } from '../openapi/coverage.ts';
import { redactCheck, redactPhase, redactVerdict } from './redact-verdict.ts';
import { checksWithFailures, checkText, consoleLineText, scriptThresholds, thresholdPassed, thresholdText } from './k6-text.ts';
import { comparisonText, relativeGateText } from './baseline-lines.ts';
import type { SoakOutcome } from '../soak/soak-types.ts';
import { driftGateTitle, driftPartText } from '../soak/drift.ts';
import { driftGateText, errorBudgetText, memoryTrendText, soakStatusWord } from './soak-lines.ts';

/** The part of a stream the console needs; process.stderr fits, so does a test double. */
export interface OutStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ConsoleOptions {
  /** Default process.stderr. */
  stream?: OutStream;
  /** Default: a Redactor with no registered secrets (shape and key rules still apply). */
  redactor?: Redactor;
  /** For NO_COLOR; default process.env. */
  env?: Record<string, string | undefined>;
  /** The verdict path is printed relative to this; default process.cwd(). */
  cwd?: string;
  /** TTY status line refresh; default 1000 ms. */
  tickMs?: number;
  /** Off a TTY, at most one load progress line per this many ms; default 10 s. */
  progressIntervalMs?: number;
}

interface LivePhase {
  name: string;
  total?: number;
  width: number;
  startedAt: number;
  done: number;
  failed: number;
  running: Set<string>;
  /** Checks already printed live (off a TTY), and whether their details were printed too. */
  printed: Map<string, { detailed: boolean }>;
  load?: LoadProgress;
  lastProgressLine: number;
}

/** Accepts the options object, or (as before) just the stream. */
export function consoleReporter(optsOrStream: ConsoleOptions | OutStream = {}): Reporter {
  const opts: ConsoleOptions = 'write' in optsOrStream ? { stream: optsOrStream } : optsOrStream;
  const stream = opts.stream ?? process.stderr;
  const redactor = opts.redactor ?? new Redactor();
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const tty = Boolean(stream.isTTY);
  // no-color.org: set and not empty disables colour.
  const c = pc.createColors(tty && !(env.NO_COLOR !== undefined && env.NO_COLOR !== ''));

  let runStartedAt = Date.now();
  /** The run folder (from onRunBegin), so k6's evidence files are printed as paths a person can open. */
  let runDirOfRun: string | undefined;
  let live: LivePhase | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let statusShown = false;
  /** Phases rendered so far, by name (a name may repeat: db-integrity runs again after load). */
  const rendered = new Map<string, number>();

  const mark = (status: string) =>
    status === 'passed'
      ? c.green('✓')
      : status === 'skipped'
        ? c.dim('-')
        : status === 'flaky'
          ? c.yellow('~')
          : status === 'interrupted'
            ? c.yellow('!')
            : c.red('✗');

  const clearStatus = () => {
    if (statusShown) stream.write('\r\x1b[2K');
    statusShown = false;
  };
  /** Writes whole lines, redacted, above the status line (which is redrawn next tick). */
  const w = (s: string) => {
    clearStatus();
    stream.write(`${redactor.redactString(s)}\n`);
  };

  /** Request rate, p95 so far and error share, when k6's live API reported them. */
  const loadFigures = (l: LoadProgress): string[] => [
    ...(l.requestsPerSec !== undefined ? [`${l.requestsPerSec} req/s`] : []),
    ...(l.p95Ms !== undefined ? [`p95 ${l.p95Ms.toFixed(1)} ms`] : []),
    ...(l.requests ? [`errors ${(((l.failedRequests ?? 0) / l.requests) * 100).toFixed(1)}%`] : []),
  ];

  const renderStatus = () => {
    if (!tty || !live) return;
    const now = Date.now();
    let text: string;
    if (live.load) {
      const l = live.load;
      const parts = [live.name];
      if (l.scenario) parts.push(l.scenario);
      if (l.vus !== undefined) parts.push(`${l.vus} VUs`);
      if (l.iterations !== undefined) parts.push(`${l.iterations} iterations`);
      if (l.requests !== undefined) parts.push(`${l.requests} requests${l.failedRequests ? ` (${l.failedRequests} failed)` : ''}`);
      parts.push(...loadFigures(l));
      parts.push(l.expectedMs ? `${clock(l.elapsedMs)} / ${clock(l.expectedMs)}` : clock(l.elapsedMs));
      if (l.text) parts.push(l.text);
      text = parts.join('  ');
    } else {
      // A phase without declared checks (load before k6 reports) shows only its clock.
      const count = live.total !== undefined ? `${live.done}/${live.total} checks` : live.done ? `${live.done} checks done` : '';
      const failed = live.failed ? `, ${live.failed} failed` : '';
      const running = live.running.size ? `  running: ${[...live.running].join(', ')}` : '';
      text = `${live.name}  ${count}${failed}  ${formatMs(now - live.startedAt)} (run ${formatMs(now - runStartedAt)})${running}`;
    }
    // Never wrap: a wrapped line cannot be rewritten in place.
    const max = Math.max(20, (stream.columns ?? 80) - 3);
    // eslint-disable-next-line no-control-regex
    const flat = stripAnsi(redactor.redactString(text)).replace(/[\x00-\x1f\x7f]+/g, ' ');
    const chars = [...flat];
    const plain = chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : flat;
    stream.write(`\r\x1b[2K${c.cyan('▶')} ${plain}`);
    statusShown = true;
  };

  const stopTicker = () => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
  };

  const checkLine = (ch: CheckEndInfo, width: number) => {
    const note = attemptsNote({ status: ch.status as CheckResult['status'], attempts: ch.attempts });
    const statusText = ch.status === 'passed' || ch.status === 'flaky' ? '' : ` ${ch.status === 'timedout' ? 'timed out' : ch.status}`;
    // A skipped check says why on its line (nothing to assert is not a pass).
    const skipText = ch.status === 'skipped' && ch.error ? ` ${c.dim('—')} ${oneLine(ch.error, 200)}` : '';
    const noteText = note ? ` ${ch.status === 'flaky' ? c.yellow(note) : c.dim(`(${note})`)}` : '';
    return `    ${mark(ch.status)} ${ch.name.padEnd(width)} ${c.dim(formatMs(ch.durationMs))}${statusText}${noteText}${skipText}`;
  };

  /** Error, correlation id, most useful evidence, and the response excerpt of a failing
   *  (or flaky: why its first attempt failed) check. */
  const detailLines = (ch: CheckEndInfo): string[] => {
    if (!isFailingStatus(ch.status) && ch.status !== 'flaky') return [];
    const out: string[] = [];
    const pad = '        ';
    if (ch.error) out.push(`${pad}${c.dim(ch.status === 'flaky' ? 'earlier attempt:' : 'error:')} ${oneLine(ch.error, 300)}`);
    // A bug in the check itself: where it broke is the first thing to know.
    const frame = ch.details?.split('\n').find((l) => /^\s+at /.test(l));
    if (frame) out.push(`${pad}${c.dim('at:')} ${oneLine(frame.replace(/^\s+at /, ''), 200)}`);
    const ev = mostUsefulEvidence(ch.evidence);
    const evLine = ev ? evidenceLine(ev) : undefined;
    const ids = (ch.correlationIds ?? []).filter((id) => !evLine?.includes(id));
    if (ids.length) out.push(`${pad}${c.dim('correlation:')} ${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ` (+${ids.length - 3})` : ''}`);
    if (ev && evLine) {
      out.push(`${pad}${c.dim('evidence:')} ${evLine}`);
      const body = responseExcerpt(ev);
      if (body) out.push(`${pad}${c.dim('response:')} ${body}`);
    }
    return out;
  };

  const renderPhase = (p: PhaseResult, printedLive: Map<string, { detailed: boolean }> | undefined) => {
    rendered.set(p.name, (rendered.get(p.name) ?? 0) + 1);
    const note = phaseNote(p);
    // "- smoke 0 ms skipped — health failed: redis_health" (test/cli-pipeline.test.ts matches it).
    w(`${mark(p.status)} ${c.bold(p.name)} ${c.dim(formatMs(p.durationMs))} ${p.status}${note ? ` ${c.dim('—')} ${oneLine(note, 300)}` : ''}`);
    const checks = p.checks ?? [];
    const width = Math.min(40, Math.max(0, ...checks.map((ch) => ch.name.length)));
    for (const ch of checks) {
      const seen = printedLive?.get(ch.name);
      if (!seen) {
        w(checkLine(ch, width));
        for (const l of detailLines(ch)) w(l);
      } else if (!seen.detailed) {
        // Printed live without its evidence (the runner passed only name/status/duration):
        // name it again with the details now that the phase result carries them.
        const details = detailLines(ch);
        if (details.length) {
          w(`    ${mark(ch.status)} ${ch.name} ${c.dim('details:')}`);
          for (const l of details) w(l);
        }
      }
    }
    for (const k of p.k6 ?? []) {
      const a = k.analysis;
      const load = a ? `, ${a.requests} requests (${a.requestsPerSec} req/s), ${(a.errorRate * 100).toFixed(2)}% failed${a.droppedIterations ? `, ${a.droppedIterations} dropped iterations` : ''}` : '';
      w(`    ${mark(k.exitCode === 0 || k.exitCode === 99 ? 'passed' : 'failed')} k6 ${k.scenario}: exit ${k.exitCode} (${k.meaning})${load}`);
      for (const l of a?.concurrency ? concurrencyLines(a.concurrency) : []) w(`      ${c.dim(l)}`);
      // Thresholds derived from gates are decided in the gate table (per scenario, with k6's figure);
      // here only the scenario's own thresholds (declared in its script).
      for (const t of scriptThresholds(k)) {
        const obs = t.observed !== undefined && !t.noData ? ` (observed ${round(t.observed)})` : '';
        w(`    ${mark(thresholdPassed(t) ? 'passed' : 'failed')} ${t.metric}: ${t.expression}${obs}${t.noData ? ' no data: k6 passed it on no sample' : ''}`);
      }
      for (const x of (k.consistency ?? []).filter((x) => x.disagreement)) w(`    ${c.red('✗')} ${x.disagreement}`);
      for (const e of k.scriptErrors) {
        w(`    ${c.red('✗')} script error ×${e.count}: ${e.message}${e.location ? ` at ${e.location}` : ''}`);
      }
      // k6 checks with failed evaluations (every check is in the gate table at the end).
      for (const ch of checksWithFailures(k)) w(`    ${mark(ch.status === 'failed' ? 'failed' : 'flaky')} ${checkText(ch)}`);
      if (k.checksOmitted?.fails) w(`    ${c.red('✗')} ${k.checksOmitted.fails} failed evaluations in ${k.checksOmitted.count} more checks (verdict.json lists ${k.checks?.length ?? 0})`);
      // A scenario that did not pass: what its script logged, and where k6's own record is.
      if (k.evidence) {
        for (const l of k.evidence.console) w(`        ${consoleLineText(l)}`);
        if (k.evidence.consoleOmitted) w(`        ${c.dim(`(${k.evidence.consoleOmitted} more console lines in ${k.evidence.log})`)}`);
        const at = (f: string) => path.relative(cwd, runDirOfRun ? path.join(runDirOfRun, f) : f);
        w(`        ${c.dim('k6 output:')} ${at(k.evidence.stdout)}, ${at(k.evidence.log)}`);
      }
    }
  };

  return {
    name: 'console',

    onRunBegin({ runId, runDir, phases }) {
      runStartedAt = Date.now();
      runDirOfRun = runDir;
      w(`${c.bold('perf')} run ${runId}: ${phases.join(' → ')}`);
    },

    onPhaseBegin(info: PhaseBeginInfo) {
      stopTicker();
      live = {
        name: info.name,
        total: info.checks?.length,
        width: Math.min(40, Math.max(0, ...(info.checks ?? []).map((n) => n.length))),
        startedAt: Date.now(),
        done: 0,
        failed: 0,
        running: new Set(),
        printed: new Map(),
        lastProgressLine: 0,
      };
      if (tty) {
        renderStatus();
        ticker = setInterval(renderStatus, opts.tickMs ?? 1000);
        ticker.unref();
      } else {
        w(`${c.dim('▶')} ${info.name}${info.checks ? ` (${info.checks.length} check${info.checks.length === 1 ? '' : 's'})` : ''}`);
      }
    },

    onCheckBegin(phase, check) {
      if (live?.name !== phase) return;
      live.running.add(check.name);
      renderStatus();
    },

    onCheckEnd(phase, raw) {
      if (live?.name !== phase) return;
      // Redacted as a whole first: a body excerpt is redacted by key (access_token...) only
      // while it is still structured data; line redaction alone would miss opaque tokens.
      const check = redactCheck(raw, redactor);
      live.running.delete(check.name);
      live.done++;
      if (isFailingStatus(check.status)) live.failed++;
      if (tty) return renderStatus();
      w(checkLine(check, live.width));
      const details = check.evidence || check.correlationIds ? detailLines(check) : [];
      for (const l of details) w(l);
      live.printed.set(check.name, { detailed: Boolean(check.evidence || check.correlationIds) });
    },

    onProgress(phase, progress) {
      if (live?.name !== phase) return;
      live.load = progress;
      if (tty) return renderStatus();
      const now = Date.now();
      if (now - live.lastProgressLine < (opts.progressIntervalMs ?? 10_000)) return;
      live.lastProgressLine = now;
      const l = progress;
      const bits = [l.scenario, l.vus !== undefined ? `${l.vus} VUs` : undefined, l.iterations !== undefined ? `${l.iterations} iterations` : undefined, ...loadFigures(l), l.text];
      w(`    ${c.dim('…')} ${phase} ${l.expectedMs ? `${clock(l.elapsedMs)} / ${clock(l.expectedMs)}` : clock(l.elapsedMs)} ${bits.filter(Boolean).join('  ')}`.trimEnd());
    },

    onPhaseEnd(p: PhaseResult) {
      const wasLive = live?.name === p.name ? live : undefined;
      if (wasLive) {
        stopTicker();
        live = undefined;
      }
      renderPhase(redactPhase(p, redactor), tty ? undefined : wasLive?.printed);
    },

    onRunEnd(verdict: Verdict, runDir: string) {
      stopTicker();
      live = undefined;
      clearStatus();
      const v = redactVerdict(verdict, redactor);
      // Phases the hooks never showed (skipped without a hook, or the run ended early).
      const seen = new Map<string, number>();
      for (const p of v.phases) {
        const n = (seen.get(p.name) ?? 0) + 1;
        seen.set(p.name, n);
        if ((rendered.get(p.name) ?? 0) < n) renderPhase(p, undefined);
      }

      w('');
      const checks = countChecks(v);
      const phases = countPhases(v);
      if (checks.total) w(`${c.bold('checks')}: ${countsText(checks)}  ${c.dim('·')}  ${c.bold('phases')}: ${countsText(phases)}`);
      else w(`${c.bold('phases')}: ${countsText(phases)}`);
      const flaky = flakyChecks(v);
      if (flaky.length) w(`${c.yellow('flaky')}: ${flaky.map((f) => `${f.phase}/${f.check.name} (attempt ${f.check.attempts})`).join(', ')}`);
      // k6's own verdict parts: every script threshold and every check, per perf scenario.
      const k6Runs = v.phases.flatMap((p) => p.k6 ?? []);
      const k6Rows = k6Runs.flatMap((k) => [
        ...scriptThresholds(k).map((t) => ({ ok: thresholdPassed(t), soft: false, text: `${k.scenario}: ${thresholdText(t)}` })),
        ...(k.checks ?? []).map((ch) => ({ ok: ch.status !== 'failed', soft: ch.status === 'tolerated', text: `${k.scenario}: ${checkText(ch)}` })),
        ...(k.checksOmitted ? [{ ok: !k.checksOmitted.fails, soft: false, text: `${k.scenario}: ${k.checksOmitted.count} more checks, ${k.checksOmitted.fails} failed evaluations (not listed)` }] : []),
      ]);
      if (v.gates?.length || k6Rows.length) {
        w(`${c.bold('gates')}:`);
        for (const g of v.gates ?? []) {
          const m = g.status === 'passed' ? c.green('✓') : g.status === 'failed' ? c.red('✗') : c.yellow('?');
          w(`  ${m} ${gateText(g)}${g.status === 'passed' ? '' : ` ${gateStatusWord(g)}`}`);
          // Where it had to hold, when that is more than one place: what did not pass, then
          // the passing ones (all of them up to a screenful, else counted).
          const parts = g.parts ?? [];
          if (parts.length > 1) {
            const bad = parts.filter((p) => p.status !== 'passed' || p.note);
            const good = parts.filter((p) => p.status === 'passed' && !p.note);
            const shown = [...bad, ...(bad.length + good.length <= 12 ? good : [])];
            for (const p of shown) w(`      ${p.status === 'passed' ? c.dim('·') : p.status === 'failed' ? c.red('✗') : c.yellow('?')} ${gatePartText(g, p)}`);
            if (shown.length < parts.length) w(`      ${c.dim(`· ${parts.length - shown.length} more passed (verdict.json lists each)`)}`);
          }
          if (g.disagreement) w(`      ${c.red('✗')} ${g.disagreement}`);
          if (g.baseline) w(`      ${c.dim('Δ')} ${comparisonText(g.baseline, g.baseline.runId, g.unit)}`);
        }
        for (const row of k6Rows) w(`  ${row.ok ? (row.soft ? c.yellow('~') : c.green('✓')) : c.red('✗')} ${row.text}`);
      }
      // --baseline: which run, or why none was used, then the relative gates (src/baseline/).
      if (v.baseline) {
        const b = v.baseline;
        w(`${c.bold('baseline')}: ${b.status === 'compared' ? b.note : c.yellow(b.note)}`);
        for (const r of b.gates) {
          const m = r.status === 'passed' ? c.green('✓') : r.status === 'failed' ? c.red('✗') : c.yellow('?');
          w(`  ${m} ${relativeGateText(r)}`);
        }
      }
      if (v.soak) for (const l of soakLines(v.soak, c)) w(l);
      if (v.coverage) for (const l of coverageLines(v.coverage, c)) w(l);
      if (v.testData && (v.testData.usersCreated || v.testData.leftBehind.length || v.testData.note)) w(`${c.bold('test data')}: ${testDataText(v.testData)}`);
      const colour = v.status === 'passed' ? c.green : v.status === 'interrupted' ? c.yellow : c.red;
      w(`${c.bold('verdict')}: ${colour(v.status.toUpperCase())} in ${formatMs(v.durationMs)}`);
      for (const r of v.reasons) w(`  - ${r}`);
      w(`  ${c.dim(path.relative(cwd, path.join(runDir, 'verdict.json')))}`);
    },
  };
}

/**
 * `verdict.soak`: each drift gate (its deciding part, or every part with several scenarios),
 * each error budget (its reason when it failed), each target memory trend, then the notes.
 */
function soakLines(s: SoakOutcome, c: ReturnType<typeof pc.createColors>): string[] {
  if (!s.drift.length && !s.errorBudget.length && !s.memory.length && !s.notes.length) return [];
  const mark = (status: string) => (status === 'passed' ? c.green('✓') : status === 'failed' ? c.red('✗') : status === 'not-run' ? c.dim('-') : c.yellow('?'));
  const out = [`${c.bold('soak')}:`];
  for (const r of s.drift) {
    if (r.parts.length > 1) {
      out.push(`  ${mark(r.status)} ${driftGateTitle(r)}: ${soakStatusWord(r.status)}${r.note ? ` (${r.note})` : ''}`);
      for (const p of r.parts) out.push(`      ${p.verdict === 'drifted' ? c.red('✗') : p.verdict === 'insufficient' ? c.yellow('?') : c.dim('·')} ${driftPartText(p, r.unit)}`);
    } else out.push(`  ${mark(r.status)} ${driftGateText(r)}`);
  }
  for (const b of s.errorBudget) out.push(`  ${mark(b.status)} ${b.status === 'failed' && b.reason ? b.reason : errorBudgetText(b)}`);
  for (const m of s.memory) {
    out.push(`  ${mark(m.status)} target memory ${memoryTrendText(m)}`);
    if (m.status !== 'passed' && m.reason) out.push(`      ${m.status === 'failed' ? c.red(m.reason) : c.yellow(m.reason)}`);
  }
  for (const n of s.notes) out.push(`  ${c.yellow(n)}`);
  return out;
}

/** Rows of the coverage table shown; the rest are in verdict.json (untouched ones are all listed below it). */
const COVERAGE_ROWS = 100;

/**
 * Endpoint coverage (information, never a gate): the share, per phase, then one row per
 * documented operation with the statuses each phase got from it (`·` none, `-` phase not run),
 * then the untouched and excluded operations.
 */
function coverageLines(cov: EndpointCoverage, c: ReturnType<typeof pc.createColors>): string[] {
  const out = [`${c.bold('coverage')}: ${cov.exercised} of ${cov.total} documented operations (${cov.percent}%) of ${cov.document} ${c.dim('—')} ${phaseCoverageText(cov)}`];
  const rows = cov.operations.slice(0, COVERAGE_ROWS);
  const width = Math.min(60, Math.max(9, ...rows.map((o) => operationLabel(o).length)));
  const cellWidth = 16;
  out.push(`  ${c.dim(`${'operation'.padEnd(width)}  ${COVERAGE_PHASES.map((p) => p.padEnd(cellWidth)).join('')}`.trimEnd())}`);
  for (const o of rows) {
    const cells = COVERAGE_PHASES.map((p) => {
      const h = o.hits[p];
      if (!cov.byPhase[p].ran) return c.dim('-'.padEnd(cellWidth));
      if (!h) return c.dim('·'.padEnd(cellWidth));
      return c.green(`✓ ${statusesText(h)}`.padEnd(cellWidth));
    });
    const label = operationLabel(o);
    const text = (label.length > width ? `${label.slice(0, width - 1)}…` : label).padEnd(width);
    out.push(`  ${o.smoke || o.flows || o.load ? text : c.yellow(text)}  ${cells.join('').trimEnd()}`);
  }
  if (cov.operations.length > rows.length) out.push(`  ${c.dim(`(${cov.operations.length - rows.length} more operations in verdict.json)`)}`);
  if (cov.untouched.length) out.push(`  ${c.yellow('untouched')} (${cov.untouched.length}): ${cov.untouched.join(', ')}`);
  if (cov.excluded.length) out.push(`  ${c.dim(`excluded (${cov.excluded.length}): ${cov.excluded.join(', ')}`)}`);
  const unattributed = COVERAGE_PHASES.filter((p) => cov.byPhase[p].unattributed).map((p) => `${p} ${cov.byPhase[p].unattributed}`);
  if (unattributed.length) out.push(`  ${c.dim(`requests to no documented operation: ${unattributed.join(', ')}`)}`);
  return out;
}

/** 0:42, 12:05, 1:02:03 — for load progress against a planned duration. */
function clock(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
