/**
 * Verdict parts → short human text, shared by every reporter so the console, JUnit,
 * the GitHub summary and Slack say the same thing in the same words. Pure functions;
 * no redaction here (each reporter redacts what it writes) and no colour.
 */
import type { CheckResult, Evidence, HttpExchange } from '../checks/types.ts';
import { formatMs } from '../cli/progress.ts';
import type { GateResult, PhaseResult, Verdict } from '../run/verdict.ts';

/** Check statuses that mean "this check did not pass". */
export function isFailingStatus(status: string): boolean {
  return status === 'failed' || status === 'timedout' || status === 'interrupted';
}

// CSI / OSC escape sequences: an error quoting a coloured tool output must not carry them
// into XML, Markdown or a non-TTY log.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g;
export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** Whitespace collapsed to single spaces, cut at `max` characters with an ellipsis. */
export function oneLine(s: string, max = 200): string {
  // eslint-disable-next-line no-control-regex
  const flat = stripAnsi(s).replace(/[\x00-\x08\x0e-\x1f\x7f]/g, '').replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** `GET /health → 503 (12 ms) x-request-id perf-…`: the path (and query) is enough, the
 *  host is the run's target. Falls back to the raw string for unparseable URLs. */
function shortUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.pathname}${u.search}`;
  } catch {
    return url;
  }
}

/** The header carrying the correlation id, by value, so whatever the client named it
 *  (x-request-id, x-correlation-id, traceparent...) is shown as sent. */
function correlationLabel(e: HttpExchange): string {
  const header = Object.entries(e.requestHeaders ?? {}).find(([, v]) => v === e.correlationId)?.[0];
  return `${header ?? 'correlation'} ${e.correlationId}`;
}

/** One line per evidence item, whatever its kind. */
export function evidenceLine(e: Evidence): string {
  switch (e.kind) {
    case 'http': {
      const outcome = e.status !== undefined ? String(e.status) : `error: ${oneLine(e.error ?? 'no response', 120)}`;
      const extra = e.status !== undefined && e.error ? ` (${oneLine(e.error, 80)})` : '';
      return `${e.method} ${shortUrl(e.url)} → ${outcome}${extra} (${formatMs(e.durationMs)})${e.correlationId ? ` ${correlationLabel(e)}` : ''}`;
    }
    case 'ws': {
      const received = e.frames.filter((f) => f.dir === 'in').length;
      const sent = e.frames.length - received;
      const tail = e.error ? ` error: ${oneLine(e.error, 120)}` : '';
      return `WS ${shortUrl(e.url)} ${sent} sent / ${received} received${tail}${e.correlationId ? ` correlation ${e.correlationId}` : ''}`;
    }
    case 'sql': {
      const outcome = e.error ? `error: ${oneLine(e.error, 120)}` : `${e.rowCount ?? 0} row(s)`;
      return `SQL ${oneLine(e.query, 100)} → ${outcome} (${formatMs(e.durationMs)})`;
    }
    case 'note':
      return oneLine(e.message, 200);
    case 'file':
      return `file ${e.path}${e.description ? ` — ${oneLine(e.description, 120)}` : ''}`;
  }
}

/** A short body excerpt worth showing beside a failing HTTP exchange, if any. */
export function responseExcerpt(e: Evidence, max = 160): string | undefined {
  if (e.kind !== 'http' || !e.responseBody) return undefined;
  if (e.status !== undefined && e.status < 400 && !e.error) return undefined;
  return oneLine(e.responseBody, max);
}

/**
 * The evidence item that best explains a failure: a transport error first (it is
 * decisive), then the last exchange/frame/query (a check throws right after the step
 * that broke its expectation), then the last item of any kind.
 */
export function mostUsefulEvidence(evidence: readonly Evidence[] | undefined): Evidence | undefined {
  if (!evidence?.length) return undefined;
  const newestFirst = [...evidence].reverse();
  return (
    newestFirst.find((e) => 'error' in e && Boolean(e.error)) ??
    newestFirst.find((e) => e.kind === 'http' || e.kind === 'ws' || e.kind === 'sql') ??
    newestFirst[0]
  );
}

export interface Counts {
  passed: number;
  failed: number;
  flaky: number;
  skipped: number;
  interrupted: number;
  total: number;
}

function emptyCounts(): Counts {
  return { passed: 0, failed: 0, flaky: 0, skipped: 0, interrupted: 0, total: 0 };
}

function bump(c: Counts, status: string): void {
  c.total++;
  if (status === 'passed') c.passed++;
  else if (status === 'flaky') c.flaky++;
  else if (status === 'skipped') c.skipped++;
  else if (status === 'interrupted') c.interrupted++;
  else c.failed++; // failed, timedout
}

/** Checks by outcome across all phases (a timed-out check counts as failed). */
export function countChecks(v: Pick<Verdict, 'phases'>): Counts {
  const c = emptyCounts();
  for (const p of v.phases) for (const ch of p.checks ?? []) bump(c, ch.status);
  return c;
}

export function countPhases(v: Pick<Verdict, 'phases'>): Counts {
  const c = emptyCounts();
  for (const p of v.phases) bump(c, p.status);
  return c;
}

/** "12 passed, 1 failed, 1 flaky, 3 skipped" — zero counts other than passed left out. */
export function countsText(c: Counts): string {
  const parts = [`${c.passed} passed`];
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.flaky) parts.push(`${c.flaky} flaky`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  if (c.interrupted) parts.push(`${c.interrupted} interrupted`);
  return parts.join(', ');
}

/** Why a phase did not pass, in one line; a skipped phase's reason without its "skipped:" prefix. */
export function phaseNote(p: PhaseResult): string | undefined {
  if (p.status === 'skipped') return (p.skippedBecause ?? p.reason)?.replace(/^skipped:\s*/i, '');
  if (p.status === 'passed') return undefined;
  return p.reason ?? p.skippedBecause;
}

/** "flaky: passed on attempt 2" or "3 attempts", for checks that needed more than one. */
export function attemptsNote(c: Pick<CheckResult, 'status'> & { attempts?: number }): string | undefined {
  if (c.status === 'flaky') return `flaky: passed on attempt ${c.attempts ?? '?'}`;
  if (c.attempts !== undefined && c.attempts > 1) return `${c.attempts} attempts`;
  return undefined;
}

export interface FailedCheck {
  phase: string;
  check: CheckResult;
}

/** Checks that did not pass (failed, timed out, interrupted), in phase order. */
export function failedChecks(v: Pick<Verdict, 'phases'>): FailedCheck[] {
  return v.phases.flatMap((p) => (p.checks ?? []).filter((c) => isFailingStatus(c.status)).map((check) => ({ phase: p.name, check })));
}

export function flakyChecks(v: Pick<Verdict, 'phases'>): FailedCheck[] {
  return v.phases.flatMap((p) => (p.checks ?? []).filter((c) => c.status === 'flaky').map((check) => ({ phase: p.name, check })));
}

/** Numbers as people read them: integers whole, small values with 3 decimals. */
export function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(Math.abs(n) < 10 ? 3 : 1);
}

/** "http_req_duration{name:login} p(95) < 300 (observed 212 ms, 1234 samples)"; a gate of several
 *  parts (scenarios, tag values) names the worst one: "(…, 100 samples in multi-user name=login)". */
export function gateText(g: GateResult): string {
  const obs = g.observed !== undefined ? `observed ${round(g.observed)}${g.unit ? ` ${g.unit}` : ''}, ` : '';
  const where = (g.parts?.length ?? 0) > 1 && g.parts!.some((p) => p.samples > 0) ? ` in ${gatePartLabel(g)}` : '';
  return `${g.metric} ${g.expression} (${obs}${g.samples} samples${where})`;
}

/** Where the worst part of a gate was: "multi-user name=login", "all scenarios". */
export function gatePartLabel(p: Pick<GateResult, 'scenario' | 'group' | 'groupBy'>, groupBy = p.groupBy): string {
  const where = p.scenario ?? 'all scenarios';
  return groupBy ? `${where} ${groupBy}=${p.group ?? '(none)'}` : where;
}

/** One part of a gate: "multi-user name=login: observed 0.03 ratio, 100 samples (k6 0.03)". */
export function gatePartText(g: GateResult, p: NonNullable<GateResult['parts']>[number]): string {
  const obs = p.observed !== undefined ? `observed ${round(p.observed)}${g.unit ? ` ${g.unit}` : ''}, ` : '';
  const k6 = p.k6 ? ` (k6: ${p.k6.observed !== undefined ? `${round(p.k6.observed)}, ` : ''}${p.k6.passed ? 'passed' : 'failed'})` : '';
  return `${gatePartLabel({ ...p, groupBy: g.groupBy })}: ${obs}${p.samples} samples${k6}${p.note && p.status !== 'failed' ? ` — ${p.note}` : ''}`;
}

export function gateStatusWord(g: GateResult): string {
  return g.status === 'insufficient-data' ? 'insufficient data' : g.status === 'not-run' ? 'not run' : g.status;
}

export { formatMs };

/** One line of the verdict's `testData`: "2 test users created, 2 removed" or what was left behind, and why. */
export function testDataText(t: NonNullable<Verdict['testData']>): string {
  const load = t.loadUsersCreated ? ` (${t.loadUsersCreated} by the load)` : '';
  const head = `${t.usersCreated} test user${t.usersCreated === 1 ? '' : 's'} created${load}, ${t.usersRemoved} removed`;
  // A note without anything left behind: identities users.identity() handed out that perf could not check.
  if (!t.leftBehind.length) return t.note ? `${head}: ${t.note}` : head;
  const shown = t.leftBehind.slice(0, 3).join(', ');
  const more = t.leftBehind.length > 3 ? ` +${t.leftBehind.length - 3} more` : '';
  return `${head}, ${t.leftBehind.length} left behind (${shown}${more})${t.note ? `: ${t.note}` : ''}`;
}
