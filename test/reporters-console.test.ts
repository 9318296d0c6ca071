import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { consoleReporter } from '../src/reporters/console.ts';
import { Redactor } from '../src/redact/redact.ts';
import { failingVerdict, FAILED_CORRELATION } from './fixtures/verdicts/failing.ts';
import { capture, drive, ESC } from './fixtures/verdicts/harness.ts';
import { interruptedVerdict } from './fixtures/verdicts/interrupted.ts';
import { partsVerdict } from './fixtures/verdicts/parts.ts';
import { passingVerdict } from './fixtures/verdicts/passing.ts';
import { soakVerdict } from './fixtures/verdicts/soak.ts';

const CWD = '/work/project';
const runDirOf = (id: string) => path.join(CWD, '.perf', 'runs', id);

async function render(v: typeof failingVerdict, opts: { isTTY?: boolean; env?: Record<string, string>; minimalCheckInfo?: boolean } = {}) {
  const out = capture({ isTTY: opts.isTTY, columns: 100 });
  const r = consoleReporter({ stream: out, redactor: new Redactor(), env: opts.env ?? {}, cwd: CWD, tickMs: 10 });
  await drive(r, v, runDirOf(v.runId), { minimalCheckInfo: opts.minimalCheckInfo });
  return out.text;
}

const lines = (text: string) => text.split('\n');
const count = (text: string, re: RegExp) => lines(text).filter((l) => re.test(l)).length;


describe('console reporter, off a TTY (CI logs)', () => {
  test('a failing run: phase by phase, check by check, evidence, skipped reasons, summary; no ANSI codes', async () => {
    const text = await render(failingVerdict);
    assert.doesNotMatch(text, ESC, 'no escape sequences at all off a TTY');
    // Live: a header when a phase begins, a line as each check ends.
    assert.match(text, /^▶ flows \(4 checks\)$/m);
    // Check lines with marks and durations; flaky marked as such.
    assert.match(text, /^ {4}✓ auth_me_requires_auth +22 ms$/m);
    assert.match(text, /^ {4}~ redis_health +640 ms flaky: passed on attempt 2$/m);
    assert.match(text, /^ {4}✗ kits_list +31 ms failed$/m);
    assert.match(text, /^ {4}✗ jobs_get_unknown +5\.0 s timed out$/m);
    // The failed check's error, the most useful evidence line with its correlation id, the body.
    assert.match(text, /^ {8}error: GET \/kits expected 401 without auth, got 503 <Service Unavailable>/m);
    assert.match(text, new RegExp(`^ {8}evidence: GET /kits\\?limit=5 → 503 \\(12 ms\\) x-request-id ${FAILED_CORRELATION}$`, 'm'));
    assert.match(text, /^ {8}response: \{"error":"dependency redis is down","code":"UNAVAILABLE"\}$/m);
    // A transport error is the evidence of a timed-out check.
    assert.match(text, /evidence: GET \/jobs\/0{8}-.* → error: aborted: check timeout \(5\.0 s\)/);
    // A bug in a check points at its first stack frame; control characters are dropped.
    assert.match(text, /^ {8}at: build \(src\/checks\/smoke\.ts:42:7\)$/m);
    assert.doesNotMatch(text, /\u0000/);
    // Phases, including skipped ones with the reason (without a doubled "skipped:").
    assert.match(text, /^✗ flows 5\.2 s failed — flows failed: kits_list, jobs_get_unknown, matrix_builder$/m);
    assert.match(text, /^- frontend-smoke 0 ms skipped — no frontendUrl configured$/m);
    assert.match(text, /^- db-integrity 0 ms skipped — load failed: journey$/m);
    assert.match(text, /^ {4}- rls_isolation +0 ms skipped$/m);
    // k6 lines the lead's tests match.
    assert.match(text, /^ {4}✗ http_req_duration: p\(95\)<300 \(observed 812\.3\)$/m);
    assert.match(text, /^ {4}✗ script error ×3: Uncaught TypeError: x is undefined at scenarios\/lib\/flow\.ts:12:5$/m);
    // Summary: counts, flaky list, gates, verdict line, reasons, verdict path.
    assert.match(text, /^checks: 3 passed, 3 failed, 1 flaky, 2 skipped {2}· {2}phases: 2 passed, 2 failed, 2 skipped$/m);
    assert.match(text, /^flaky: health\/redis_health \(attempt 2\)$/m);
    assert.match(text, /^ {2}✗ http_req_duration\{name:login\} p\(95\) < 300 \(observed 812\.3 ms, 540 samples\) failed$/m);
    assert.match(text, /^ {2}\? http_req_duration\{name:export\} p\(99\) < 800 \(12 samples\) insufficient data$/m);
    assert.match(text, /^verdict: FAILED in 9\.0 s$/m);
    assert.match(text, /^ {2}- journey: threshold http_req_duration "p\(95\)<300" failed, observed 812\.3$/m);
    assert.match(text, new RegExp(`^  \\.perf/runs/${failingVerdict.runId}/verdict\\.json$`, 'm'));
  });

  test('every check and phase is printed exactly once, live lines before their phase line', async () => {
    const text = await render(failingVerdict);
    for (const name of ['api_health', 'redis_health', 'kits_list', 'jobs_get_unknown', 'matrix_builder', 'rls_isolation']) {
      assert.equal(count(text, new RegExp(`^ {4}[✓✗~!-] ${name} `)), 1, name);
    }
    // tables_and_columns runs in db-integrity and again (skipped) in its second occurrence.
    assert.equal(count(text, /^ {4}[✓-] tables_and_columns /), 2);
    assert.equal(count(text, /^[✓✗~!-] db-integrity /), 2);
    const all = lines(text);
    assert.ok(all.findIndex((l) => /✗ kits_list/.test(l)) < all.findIndex((l) => /^✗ flows /.test(l)));
  });

  test('a runner passing only name/status/duration live still gets the details at phase end', async () => {
    const text = await render(failingVerdict, { minimalCheckInfo: true });
    assert.match(text, /^ {4}✗ kits_list +31 ms failed$/m);
    assert.match(text, /^ {4}✗ kits_list details:$/m);
    assert.match(text, new RegExp(`evidence: GET /kits\\?limit=5 → 503 \\(12 ms\\) x-request-id ${FAILED_CORRELATION}`));
    assert.equal(count(text, /evidence: GET \/kits\?limit=5/), 1);
  });

  test('a passing run ends with PASSED, the gate and no reasons', async () => {
    const text = await render(passingVerdict);
    assert.match(text, /^checks: 5 passed {2}· {2}phases: 3 passed$/m);
    assert.match(text, /^ {2}✓ http_req_duration\{name:login\} p\(95\) < 300 \(observed 212\.5 ms, 1234 samples\)$/m);
    assert.match(text, /^verdict: PASSED in 42\.5 s$/m);
    assert.doesNotMatch(text, /^ {2}- /m);
  });

  test('an interrupted run: the cut-short check, the skipped rest, INTERRUPTED', async () => {
    const text = await render(interruptedVerdict);
    assert.match(text, /^ {4}! job_lifecycle +1\.1 s interrupted$/m);
    assert.match(text, /^! flows 2\.1 s interrupted — interrupted by SIGINT$/m);
    assert.match(text, /^- db-integrity 0 ms skipped — run interrupted$/m);
    assert.match(text, /^verdict: INTERRUPTED in 2\.4 s$/m);
    assert.match(text, /^ {2}- interrupted by SIGINT during flows$/m);
  });

  test('phases the hooks never showed are rendered from the verdict at run end', async () => {
    const out = capture();
    const r = consoleReporter({ stream: out, env: {}, cwd: CWD });
    await r.onRunEnd!(failingVerdict, runDirOf(failingVerdict.runId));
    assert.equal(count(out.text, /^[✓✗~!-] db-integrity /), 2);
    assert.match(out.text, /^ {4}✗ kits_list +31 ms failed$/m);
    assert.match(out.text, /evidence: GET \/kits\?limit=5 → 503/);
  });

  test('load progress off a TTY is throttled to one line per interval', async () => {
    const out = capture();
    const r = consoleReporter({ stream: out, env: {}, progressIntervalMs: 60_000 });
    await r.onPhaseBegin!({ name: 'load' });
    for (let s = 1; s <= 5; s++) await r.onProgress!('load', { elapsedMs: s * 1000, expectedMs: 120_000, vus: 15, iterations: s * 100, scenario: 'journey' });
    assert.equal(count(out.text, /^ {4}… load /), 1);
    assert.match(out.text, /^ {4}… load 0:01 \/ 2:00 journey {2}15 VUs {2}100 iterations$/m);
  });

  test('a soak block after the gates: drift gates with their parts, error budgets, target memory, notes', async () => {
    const text = await render(soakVerdict);
    assert.doesNotMatch(text, ESC);
    const all = lines(text);
    const at = (re: RegExp) => all.findIndex((l) => re.test(l));
    assert.ok(at(/^gates:$/) < at(/^soak:$/) && at(/^soak:$/) < at(/^verdict: FAILED/), 'soak after the gates, before the verdict');
    // Several scenarios: the gate with its status, then every part.
    assert.match(text, /^ {2}✗ http_req_duration\{expected_response:true\} p\(95\) max drift \+20%: failed$/m);
    assert.match(text, /^ {6}✗ multi-user: 12\.1 ms → 31\.4 ms \(\+159\.5%, p=0\.004, drifted; 5\/5 windows of 10 s\)$/m);
    assert.match(text, /^ {6}· ws-events: 8 ms → 8\.2 ms \(\+2\.5%, p=0\.41, stable; 5\/5 windows of 10 s\)$/m);
    // One scenario: the deciding part on the gate's line.
    assert.match(text, /^ {2}✓ http_req_failed rate max drift \+50%: passed — multi-user: 0\.002 → 0\.0021 \(\+5\.0%, p=0\.3, stable; 5\/5 windows of 10 s\)$/m);
    // A failed budget says why.
    assert.match(text, /^ {2}✗ error budget of 1 % http_req_failed in multi-user: the window at 40 s burned it 12\.5× too fast \(25 of 200 failed; at most 10×\)$/m);
    assert.match(text, /^ {2}✓ target memory sample-app: 95 → 97 MB, \+12 MB\/h \(limit 50 MB\/h\) passed$/m);
    assert.match(text, /^ {2}soak\.targetMemory: api was not started by perf/m);
    // A budget that passed: what it spent and its worst window.
    const passed = { ...soakVerdict, soak: { ...soakVerdict.soak!, errorBudget: [{ ...soakVerdict.soak!.errorBudget[0]!, status: 'passed' as const, reason: undefined, worstWindow: { start: soakVerdict.soak!.errorBudget[0]!.windows[4]!.start, burnRate: 2.1, samples: 200, failed: 4 } }] } };
    assert.match(await render(passed), /^ {2}✓ spent 34 % of 1 % http_req_failed in multi-user; worst window 2\.1× at 40 s$/m);
    // Notes in yellow on a TTY.
    const out = capture({ isTTY: true, columns: 100 });
    await consoleReporter({ stream: out, env: {}, cwd: CWD }).onRunEnd!(soakVerdict, runDirOf(soakVerdict.runId));
    assert.match(out.text, /\x1b\[33msoak\.targetMemory: api was not started/);
    assert.doesNotMatch(await render(passingVerdict), /^soak:/m, 'no soak block without verdict.soak');
  });

  test('the old call form consoleReporter(stream) still works', async () => {
    const out = capture();
    await consoleReporter(out).onRunEnd!(passingVerdict, runDirOf(passingVerdict.runId));
    assert.match(out.text, /verdict: PASSED/);
  });
});

describe('console reporter, on a TTY', () => {
  test('one status line rewritten in place while a phase runs, colour, then the phase block', async () => {
    const out = capture({ isTTY: true, columns: 100 });
    const r = consoleReporter({ stream: out, env: {}, cwd: CWD, tickMs: 5 });
    const flows = failingVerdict.phases[1]!;
    await r.onRunBegin!({ runId: 'x', runDir: '/tmp/x', phases: ['flows'] });
    await r.onPhaseBegin!({ name: 'flows', checks: flows.checks!.map((c) => c.name) });
    await r.onCheckBegin!('flows', { name: 'kits_list' });
    assert.match(out.text, /\r\x1b\[2K.*flows {2}0\/4 checks.*running: kits_list/);
    await r.onCheckEnd!('flows', flows.checks![1]!);
    assert.match(out.text, /\r\x1b\[2K.*flows {2}1\/4 checks, 1 failed/);
    // The ticker refreshes the elapsed time without any hook call.
    const before = out.text.length;
    await new Promise((res) => setTimeout(res, 40));
    assert.ok(out.text.length > before, 'status line refreshed by the ticker');
    // Live, nothing but the status line: no check line printed before the phase ends.
    assert.doesNotMatch(out.text, /kits_list +.*31 ms/);
    await r.onPhaseEnd!(flows);
    assert.match(out.text, /\x1b\[31m✗\x1b\[39m \x1b\[1mflows\x1b\[22m/, 'coloured phase line');
    for (const c of flows.checks!) assert.match(out.text, new RegExp(`[✓✗].*${c.name}`));
    await r.onRunEnd!(failingVerdict, runDirOf(failingVerdict.runId));
    // The ticker is stopped: nothing more is written afterwards.
    const after = out.text.length;
    await new Promise((res) => setTimeout(res, 40));
    assert.equal(out.text.length, after);
  });

  test('the status line never exceeds the terminal width', async () => {
    const out = capture({ isTTY: true, columns: 40 });
    const r = consoleReporter({ stream: out, env: { NO_COLOR: '1' }, tickMs: 1000 });
    await r.onPhaseBegin!({ name: 'flows', checks: ['a_very_long_check_name_number_one', 'another_long_check_name'] });
    await r.onCheckBegin!('flows', { name: 'a_very_long_check_name_number_one' });
    await r.onCheckBegin!('flows', { name: 'another_long_check_name' });
    const statuses = out.text.split('\r\x1b[2K').filter(Boolean);
    assert.ok(statuses.length >= 2);
    for (const s of statuses) assert.ok([...s].length <= 39, `"${s}" is ${[...s].length} wide`);
    await r.onRunEnd!(passingVerdict, '/tmp/x');
  });

  test('NO_COLOR: no colour even on a TTY (only the line-rewrite control remains)', async () => {
    const out = capture({ isTTY: true, columns: 100 });
    const r = consoleReporter({ stream: out, env: { NO_COLOR: '1' }, cwd: CWD, tickMs: 1000 });
    await drive(r, failingVerdict, runDirOf(failingVerdict.runId));
    assert.match(out.text, /\r\x1b\[2K/, 'the status line was used');
    assert.doesNotMatch(out.text.replaceAll('\r\x1b[2K', ''), ESC);
    assert.match(out.text, /^verdict: FAILED in 9\.0 s$/m);
  });

  test('the gate table names the worst part, lists the parts that did not pass cleanly, and any k6 disagreement', async () => {
    const text = await render(partsVerdict);
    assert.match(text, /^ {2}✗ http_req_failed rate<0\.01 \(observed 0\.030 ratio, 100 samples in journey name=update\) failed$/m);
    assert.match(text, /^ {6}✗ journey name=update: observed 0\.030 ratio, 100 samples$/m);
    assert.match(text, /^ {6}· journey name=login: observed 0 ratio, 15 samples — 15 sample\(s\); rate<0\.01 needs at least 100/m);
    assert.match(text, /^ {6}· journey name=list: observed 0 ratio, 1000 samples$/m);
    assert.match(text, /^ {6}✗ hot: harness and k6 disagree on http_req_failed rate<0\.5/m);
  });
});
