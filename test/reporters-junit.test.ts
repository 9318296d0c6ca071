import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { junitReporter } from '../src/reporters/junit.ts';
import { Redactor } from '../src/redact/redact.ts';
import type { Verdict } from '../src/run/verdict.ts';
import { failingVerdict, FAILED_CORRELATION } from './fixtures/verdicts/failing.ts';
import { interruptedVerdict } from './fixtures/verdicts/interrupted.ts';
import { partsVerdict } from './fixtures/verdicts/parts.ts';
import { passingVerdict } from './fixtures/verdicts/passing.ts';
import { soakVerdict } from './fixtures/verdicts/soak.ts';
import { tempDir } from './helpers.ts';

// JUnit is checked with an independent parser (fast-xml-parser), not the library that
// wrote it, so an escaping bug in the writer cannot hide behind the same bug in a reader.

interface Attrs {
  [k: string]: unknown;
}
interface Case extends Attrs {
  properties?: { property: Attrs[] };
  failure?: Attrs & { '#text'?: string };
  error?: Attrs & { '#text'?: string };
  skipped?: Attrs;
  flakyFailure?: Attrs & { stackTrace?: string };
}
interface Suite extends Attrs {
  properties?: { property: Attrs[] };
  testcase: Case[];
}

async function writeJunit(v: Verdict): Promise<{ xml: string; dir: string }> {
  const dir = tempDir('perf-junit-');
  await junitReporter({ redactor: new Redactor() }).onRunEnd!(v, dir);
  return { xml: readFileSync(path.join(dir, 'junit.xml'), 'utf8'), dir };
}

function parse(xml: string): { root: Attrs; suites: Suite[] } {
  assert.equal(XMLValidator.validate(xml), true, 'well-formed XML');
  // XML 1.0 Char production: nothing outside it may appear, escaped or not.
  assert.doesNotMatch(xml, /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u, 'only XML 1.0 characters');
  const doc = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
  }).parse(xml) as { testsuites: Attrs & { testsuite: Suite[] } };
  return { root: doc.testsuites, suites: doc.testsuites.testsuite };
}

const suite = (suites: Suite[], name: string) => {
  const s = suites.find((x) => x.name === name);
  assert.ok(s, `suite ${name}`);
  return s;
};
const kase = (s: Suite, name: string) => {
  const c = s.testcase.find((x) => x.name === name);
  assert.ok(c, `case ${name} in ${String(s.name)}`);
  return c;
};
const props = (p?: { property: Attrs[] }) => Object.fromEntries((p?.property ?? []).map((x) => [x.name, x.value]));


describe('junit reporter', () => {
  test('a failing run: phases as suites, checks as cases, failures with evidence, flaky, skipped, load', async () => {
    const { xml, dir } = await writeJunit(failingVerdict);
    assert.deepEqual(readdirSync(dir), ['junit.xml'], 'no temp file left behind');
    const { root, suites } = parse(xml);

    assert.deepEqual(
      suites.map((s) => s.name),
      ['health', 'flows', 'db-integrity', 'frontend-smoke', 'load', 'db-integrity (2)'],
    );
    // Every case's classname is its suite; times are seconds.
    for (const s of suites) for (const c of s.testcase) assert.equal(c.classname, s.name);
    assert.equal(kase(suite(suites, 'flows'), 'kits_list').time, '0.031');
    assert.equal(suite(suites, 'flows').time, '5.200');

    // Totals add up, at both levels.
    const sum = (k: string) => suites.reduce((n, s) => n + Number(s[k]), 0);
    for (const k of ['tests', 'failures', 'errors', 'skipped']) assert.equal(Number(root[k]), sum(k), k);
    for (const s of suites) {
      assert.equal(Number(s.tests), s.testcase.length);
      assert.equal(Number(s.failures), s.testcase.filter((c) => c.failure).length);
      assert.equal(Number(s.errors), s.testcase.filter((c) => c.error).length);
      assert.equal(Number(s.skipped), s.testcase.filter((c) => c.skipped).length);
    }

    // A failed check: message, and a body with the correlation id and the evidence summary.
    // The escaped characters come back exactly (the parser decodes what the writer escaped).
    const flows = suite(suites, 'flows');
    const kits = kase(flows, 'kits_list');
    assert.equal(kits.failure?.type, 'CheckFailure');
    assert.equal(kits.failure?.message, 'GET /kits expected 401 without auth, got 503 <Service Unavailable> & "retry" | `later` *now*');
    const body = kits.failure?.['#text'] ?? '';
    assert.match(body, new RegExp(`correlation ids: ${FAILED_CORRELATION}`));
    assert.match(body, new RegExp(`GET /kits\\?limit=5 → 503 \\(12 ms\\) x-request-id ${FAILED_CORRELATION}`));
    assert.match(body, /response: \{"error":"dependency redis is down"/);
    // Timed out → failure of type timeout; a bug in the check → error, with its stack, no ANSI/NUL.
    assert.equal(kase(flows, 'jobs_get_unknown').failure?.type, 'timeout');
    const bug = kase(flows, 'matrix_builder');
    assert.equal(bug.failure, undefined);
    assert.equal(bug.error?.type, 'CheckError');
    assert.equal(bug.error?.message, "TypeError: Cannot read properties of undefined (reading 'path') red");
    assert.match(bug.error?.['#text'] ?? '', /at build \(src\/checks\/smoke\.ts:42:7\)/);
    assert.equal(Object.keys(kase(flows, 'auth_me_requires_auth')).filter((k) => ['failure', 'error', 'skipped'].includes(k)).length, 0);
    assert.equal(props(flows.properties).blocking, 'false');

    // Flaky: a passing case with <flakyFailure> and a property, counted neither as failure nor error.
    const health = suite(suites, 'health');
    const flaky = kase(health, 'redis_health');
    assert.equal(flaky.failure, undefined);
    assert.equal(flaky.error, undefined);
    assert.equal(flaky.flakyFailure?.message, 'attempt 1: ECONNRESET while reading PONG');
    assert.deepEqual(props(flaky.properties), { flaky: 'true', attempts: '2' });
    assert.equal(health.failures, '0');

    // Skipped phase without checks: one case named after it; with checks: each skipped.
    const fe = suite(suites, 'frontend-smoke');
    assert.equal(fe.testcase.length, 1);
    assert.equal(fe.testcase[0]!.skipped?.message, 'skipped: no frontendUrl configured');
    const db2 = suite(suites, 'db-integrity (2)');
    assert.deepEqual(db2.testcase.map((c) => [c.name, c.skipped?.message]), [
      ['tables_and_columns', 'skipped: load failed: journey'],
      ['rls_isolation', 'skipped: load failed: journey'],
    ]);

    // Load: the k6 run (script errors), thresholds, gates.
    const load = suite(suites, 'load');
    assert.match(String(kase(load, 'k6 journey').failure?.message), /script error ×3: Uncaught TypeError: x is undefined/);
    assert.equal(kase(load, 'threshold journey http_req_duration: p(95)<300').failure?.message, 'http_req_duration: p(95)<300 failed (observed 812.3)');
    assert.equal(kase(load, 'threshold journey checks: rate>0.99').failure, undefined);
    const gate = kase(load, 'gate http_req_duration{name:login} p(95) < 300');
    assert.equal(gate.failure?.type, 'gate');
    assert.match(String(gate.failure?.message), /observed 812\.3 ms, 540 samples/);
    assert.equal(kase(load, 'gate http_req_failed rate < 0.01').failure, undefined);
    // Too few samples fails the gate (verdict semantics), so JUnit shows a failure, not a skip.
    const insufficient = kase(load, 'gate http_req_duration{name:export} p(99) < 800');
    assert.equal(insufficient.failure?.type, 'insufficient-data');
    assert.match(String(insufficient.failure?.message), /^insufficient data: .*12 samples/);
  });

  test('a passing run has no failures, errors or skips', async () => {
    const { root, suites } = parse((await writeJunit(passingVerdict)).xml);
    assert.deepEqual([root.failures, root.errors, root.skipped], ['0', '0', '0']);
    assert.equal(root.tests, String(suites.reduce((n, s) => n + s.testcase.length, 0)));
    assert.equal(root.timestamp, '2026-11-21T10:15:00');
  });

  test('an interrupted check is an error (never green); the skipped rest is skipped', async () => {
    const { suites } = parse((await writeJunit(interruptedVerdict)).xml);
    const job = kase(suite(suites, 'flows'), 'job_lifecycle');
    assert.equal(job.error?.type, 'interrupted');
    assert.equal(suite(suites, 'db-integrity').testcase[0]!.skipped?.message, 'skipped: run interrupted');
  });

  test('a phase that failed without a failing case of its own gets one, so its suite is not green', async () => {
    const v: Verdict = {
      ...passingVerdict,
      status: 'failed',
      phases: [{ name: 'health', status: 'timedout', startedAt: passingVerdict.startedAt, durationMs: 60_000, reason: 'health timed out after 60 s', checks: [] }],
      gates: [],
    };
    const { suites } = parse((await writeJunit(v)).xml);
    const h = suite(suites, 'health');
    assert.equal(h.failures, '1');
    assert.equal(kase(h, 'health').failure?.message, 'health timed out after 60 s');
  });

  test('gates without a load phase still get a load suite', async () => {
    const v: Verdict = { ...passingVerdict, phases: passingVerdict.phases.filter((p) => p.name !== 'load') };
    const { suites } = parse((await writeJunit(v)).xml);
    assert.deepEqual(suite(suites, 'load').testcase.map((c) => c.name), ['gate http_req_duration{name:login} p(95) < 300']);
  });

  test('soak: a case per drift gate (parts as properties), per error budget and per target memory trend', async () => {
    const { root, suites } = parse((await writeJunit(soakVerdict)).xml);
    const load = suite(suites, 'load');
    const failed = kase(load, 'gate http_req_duration{expected_response:true} p(95) max drift +20%');
    assert.equal(failed.failure?.type, 'drift');
    assert.equal(failed.failure?.message, soakVerdict.reasons[0]);
    assert.match(String(failed.failure?.['#text']), /^latency must not creep up\ndrift gate .* failed in multi-user: 12\.1 ms in the first 5 steady windows → 31\.4 ms in the last 5 \(\+159\.5%, rank test p=0\.004 < 0\.05\)$/);
    assert.deepEqual(props(failed.properties), {
      significance: '0.05',
      'part.1': 'multi-user: 12.1 ms → 31.4 ms (+159.5%, p=0.004, drifted; 5/5 windows of 10 s)',
      'part.2': 'ws-events: 8 ms → 8.2 ms (+2.5%, p=0.41, stable; 5/5 windows of 10 s)',
      description: 'latency must not creep up',
    });
    const passed = kase(load, 'gate http_req_failed rate max drift +50%');
    assert.equal(passed.failure, undefined);
    assert.equal(props(passed.properties)['part.1'], 'multi-user: 0.002 → 0.0021 (+5.0%, p=0.3, stable; 5/5 windows of 10 s)');
    const budget = kase(load, 'error budget http_req_failed in multi-user');
    assert.equal(budget.failure?.type, 'error-budget');
    assert.equal(budget.failure?.message, soakVerdict.reasons[1]);
    assert.match(String(budget.failure?.['#text']), /\nspent 34 % of 1 % http_req_failed in multi-user; worst window 12\.5× at 40 s$/);
    assert.equal(props(budget.properties).worstWindow, '12.5× at 40 s (25 of 200 failed)');
    const memory = kase(load, 'target memory sample-app');
    assert.equal(memory.failure, undefined);
    assert.equal(props(memory.properties).slopeMbPerHour, '12');
    assert.equal(root.failures, '2');

    // Insufficient data fails the case; a gate that did not run is skipped; a memory trend without a slope fails.
    const s = soakVerdict.soak!;
    const v: Verdict = {
      ...soakVerdict,
      soak: {
        ...s,
        drift: [
          { ...s.drift[0]!, status: 'insufficient-data', decided: { ...s.drift[0]!.parts[0]!, verdict: 'insufficient' } },
          { ...s.drift[1]!, status: 'not-run', decided: undefined, parts: [], note: 'no per-window figures: the load phase did not run' },
        ],
        memory: [{ ...s.memory[0]!, status: 'insufficient-data', slopeMbPerHour: undefined, reason: 'sample-app (pid 4242): 2 memory reading(s) after the ramp-up, the slope needs 3' }],
      },
    };
    const load2 = suite(parse((await writeJunit(v)).xml).suites, 'load');
    const insufficient = kase(load2, 'gate http_req_duration{expected_response:true} p(95) max drift +20%');
    assert.equal(insufficient.failure?.type, 'insufficient-data');
    assert.match(String(insufficient.failure?.message), /^insufficient data: drift gate .* insufficient-data$/);
    assert.equal(kase(load2, 'gate http_req_failed rate max drift +50%').skipped?.message, 'not run: no per-window figures: the load phase did not run');
    const mem = kase(load2, 'target memory sample-app');
    assert.equal(mem.failure?.type, 'insufficient-data');
    assert.match(String(mem.failure?.message), /^insufficient data: sample-app \(pid 4242\): 2 memory reading/);
  });

  test('a gate of several parts lists each with its figure, fails with the failing ones; a k6 disagreement fails its case', async () => {
    const { suites } = parse((await writeJunit(partsVerdict)).xml);
    const load = suite(suites, 'load');
    const grouped = kase(load, 'gate http_req_failed rate<0.01');
    assert.match(String(grouped.failure?.message), /gate failed: http_req_failed rate<0\.01 \(observed 0\.030 ratio, 100 samples in journey name=update\)/);
    assert.match(String(grouped.failure?.['#text']), /failed: journey name=update: observed 0\.030 ratio, 100 samples/);
    const props = grouped.properties!.property.map((p) => `${p.name}=${p.value}`);
    assert.ok(props.includes('part.1=passed: journey name=list: observed 0 ratio, 1000 samples'), props.join('\n'));
    assert.ok(props.some((p) => p.startsWith('part.2=passed: journey name=login: observed 0 ratio, 15 samples — 15 sample(s); rate<0.01 needs at least 100')), props.join('\n'));
    const disagreed = kase(load, 'gate http_req_failed rate<0.5');
    assert.equal(disagreed.failure?.type, 'disagreement');
    assert.match(String(disagreed.failure?.message), /harness and k6 disagree/);
  });
});
