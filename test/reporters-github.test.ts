import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { githubReporter, mdCell } from '../src/reporters/github.ts';
import { Redactor } from '../src/redact/redact.ts';
import type { Verdict } from '../src/run/verdict.ts';
import { failingVerdict, FAILED_CORRELATION } from './fixtures/verdicts/failing.ts';
import { interruptedVerdict } from './fixtures/verdicts/interrupted.ts';
import { passingVerdict } from './fixtures/verdicts/passing.ts';
import { soakVerdict } from './fixtures/verdicts/soak.ts';
import { tempDir } from './helpers.ts';

async function summarize(v: Verdict, existing = ''): Promise<string> {
  const file = path.join(tempDir('perf-gh-'), 'step-summary.md');
  writeFileSync(file, existing);
  await githubReporter({ redactor: new Redactor(), env: { GITHUB_STEP_SUMMARY: file } }).onRunEnd!(v, '/tmp/run');
  return readFileSync(file, 'utf8');
}

/** Cells of a Markdown table row, splitting on unescaped pipes only. */
function cells(row: string): string[] {
  return row
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim());
}

function table(md: string, header: string): string[][] {
  const all = md.split('\n');
  const start = all.findIndex((l) => l.startsWith(header));
  assert.ok(start >= 0, `table ${header}`);
  const rows: string[][] = [];
  for (const l of all.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(cells(l));
  }
  return rows;
}

describe('github step summary reporter', () => {
  test('no GITHUB_STEP_SUMMARY: a no-op', async () => {
    const dir = tempDir('perf-gh-');
    await githubReporter({ redactor: new Redactor(), env: {} }).onRunEnd!(failingVerdict, dir);
    assert.equal(existsSync(path.join(dir, 'step-summary.md')), false);
  });

  test('a failing run: headline, phase table, failed checks with evidence, gate table; appended', async () => {
    const md = await summarize(failingVerdict, '# earlier step\n');
    assert.ok(md.startsWith('# earlier step\n## ❌ perf: FAILED\n'), 'appended after what was there');
    assert.match(md, /run `20261121-110000-bb02` · 9\.0 s · 10 users · checks: 3 passed, 3 failed, 1 flaky, 2 skipped/);
    assert.match(md, /^- journey: threshold http\\_req\\_duration "p\(95\)\\<300" failed, observed 812\.3$/m);

    const phases = table(md, '| Phase |');
    assert.deepEqual(
      phases.map((r) => [r[0], r[1]]),
      [
        ['health', '✅ passed'],
        ['flows', '❌ failed'],
        ['db-integrity', '✅ passed'],
        ['frontend-smoke', '⏭️ skipped'],
        ['load', '❌ failed'],
        ['db-integrity', '⏭️ skipped'],
      ],
    );
    for (const r of phases) assert.equal(r.length, 5, `row ${r.join(' | ')}`);
    assert.equal(phases[1]![2], '1 passed, 3 failed');
    assert.equal(phases[3]![4], 'no frontendUrl configured');

    // Failed checks: a fenced block with the error, correlation ids and evidence lines.
    assert.match(md, /^\*\*flows \/ kits\\_list\*\* — failed, 31 ms$/m);
    const block = /\*\*flows \/ kits\\_list\*\*[^\n]*\n\n```text\n([\s\S]*?)\n```/.exec(md)?.[1] ?? '';
    assert.match(block, /got 503 <Service Unavailable> & "retry" \| `later` \*now\*/, 'raw inside a code block');
    assert.match(block, new RegExp(`correlation ids: ${FAILED_CORRELATION}`));
    assert.match(block, new RegExp(`GET /kits\\?limit=5 → 503 \\(12 ms\\) x-request-id ${FAILED_CORRELATION}`));
    assert.match(md, /^### Flaky checks\n\n- health \/ redis\\_health: passed on attempt 2/m);

    const gates = table(md, '| Gate |');
    assert.deepEqual(gates[0], ['http\\_req\\_duration\\{name:login\\}', 'p(95) \\< 300', '812.3 ms', '540', '❌ failed']);
    assert.deepEqual(gates[2], ['http\\_req\\_duration\\{name:export\\}', 'p(99) \\< 800', '—', '12', '❔ insufficient data']);
    assert.ok(gates.some((r) => r[0] === 'http\\_req\\_duration (k6, journey)' && r[4] === '❌ failed'));
  });

  test('a passing run and an interrupted run get their headlines', async () => {
    assert.match(await summarize(passingVerdict), /^## ✅ perf: PASSED$/m);
    const md = await summarize(interruptedVerdict);
    assert.match(md, /^## ⚠️ perf: INTERRUPTED$/m);
    assert.match(md, /^\| flows \| ⚠️ interrupted \| 1 passed, 1 interrupted \|/m);
  });

  test('a soak run: a Soak section with the drift gates per scenario, the error budgets, target memory and notes', async () => {
    const md = await summarize(soakVerdict);
    assert.match(md, /^### Soak$/m);
    assert.ok(md.indexOf('### Gates') < md.indexOf('### Soak'));
    const title = 'http\\_req\\_duration\\{expected\\_response:true\\} p(95) max drift +20%';
    const drift = table(md, '| Drift gate |');
    assert.deepEqual(drift, [
      [title, 'multi-user', '12.1 ms', '31.4 ms', '+159.5%', '0.004', '❌ failed (drifted)'],
      [title, 'ws-events', '8 ms', '8.2 ms', '+2.5%', '0.41', 'stable'],
      ['http\\_req\\_failed rate max drift +50%', 'multi-user', '0.002 ratio', '0.0021 ratio', '+5.0%', '0.3', '✅ passed (stable)'],
    ]);
    const budgets = table(md, '| Error budget |');
    assert.equal(budgets.length, 1);
    assert.deepEqual(budgets[0]!.slice(0, 5), ['1 % http\\_req\\_failed', 'multi-user', '34 %', '34 of 10000', '12.5× at 40 s (max 10×)']);
    assert.match(budgets[0]![5]!, /^❌ failed — error budget of 1 % http\\_req\\_failed in multi-user: the window at 40 s burned it 12\.5× too fast/);
    assert.deepEqual(table(md, '| Target memory |'), [['sample-app (pid 4242)', '95 MB', '97 MB', '98.2 MB', '+12 MB/h', '50 MB/h', '✅ passed']]);
    assert.match(md, /^- 🟡 soak\.targetMemory: api was not started by perf \(target\.start\): its memory is not judged$/m);
    assert.doesNotMatch(await summarize(passingVerdict), /### Soak/);
  });

  test('verdict text cannot break the table or escape its code block', async () => {
    const v = structuredClone(failingVerdict);
    v.phases[1]!.reason = 'a | b\nc <img src=x onerror=alert(1)>';
    v.phases[1]!.checks![1]!.error = 'before\n```\n# injected heading\n```';
    const md = await summarize(v);
    const flowsRow = table(md, '| Phase |')[1]!;
    assert.equal(flowsRow.length, 5);
    assert.equal(flowsRow[4], 'a \\| b c \\<img src=x onerror=alert(1)\\>');
    // The block's fence is longer than the content's, and closes with the same length.
    const fence = /^(`{4,})text\nbefore\n```\n# injected heading\n```\n[^`]*?\n\1$/m.exec(md);
    assert.ok(fence, `the block uses a longer fence than the content:\n${md}`);
    assert.equal(mdCell('x|y'), 'x\\|y');
  });
});
