import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createReporters, REPORTER_NAMES } from '../src/reporters/index.ts';
import { ReporterMultiplexer, type Reporter } from '../src/reporters/reporter.ts';
import { Redactor, REDACTED } from '../src/redact/redact.ts';
import { failingVerdict } from './fixtures/verdicts/failing.ts';
import { capture, drive } from './fixtures/verdicts/harness.ts';
import { REPO } from './helpers.ts';

/** Type-checks `source` with the project's compiler options (the real tsc); its exit code and output. */
async function typecheck(source: string): Promise<{ code: number; output: string }> {
  // Under .perf/ (excluded from the project's tsconfig), so a parallel `tsc -p tsconfig.json` never sees it.
  const dir = path.join(REPO, '.perf', `typecheck-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  try {
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['probe.ts'], exclude: [] }));
    writeFileSync(path.join(dir, 'probe.ts'), source);
    return await new Promise((resolve) => {
      execFile(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir, '--noEmit', '--pretty', 'false'], { timeout: 120_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` }),
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Records every hook call it gets, by name. */
function spy(name: string): Reporter & { calls: string[] } {
  const calls: string[] = [];
  const rec = (hook: string) => () => void calls.push(hook);
  return {
    name,
    calls,
    onRunBegin: rec('onRunBegin'),
    onPhaseBegin: rec('onPhaseBegin'),
    onCheckBegin: rec('onCheckBegin'),
    onCheckEnd: rec('onCheckEnd'),
    onProgress: rec('onProgress'),
    onPhaseEnd: rec('onPhaseEnd'),
    onRunEnd: rec('onRunEnd'),
  };
}

describe('ReporterMultiplexer', () => {
  test('forwards every hook, including onCheckBegin and onProgress, to every reporter in order', async () => {
    const a = spy('a');
    const b = spy('b');
    await drive(new ReporterMultiplexer([a, b], { stream: capture() }), failingVerdict, '/tmp/run');
    assert.deepEqual(a.calls, b.calls);
    for (const hook of ['onRunBegin', 'onPhaseBegin', 'onCheckBegin', 'onCheckEnd', 'onProgress', 'onPhaseEnd', 'onRunEnd']) {
      assert.ok(a.calls.includes(hook), hook);
    }
    assert.equal(a.calls.filter((h) => h === 'onPhaseEnd').length, failingVerdict.phases.length);
  });

  test('a reporter that throws, rejects or hangs is recorded and reported; the others and the run go on', async () => {
    const err = capture();
    const good = spy('good');
    const throwing: Reporter = {
      name: 'throws',
      onPhaseBegin() {
        throw new Error('sync boom');
      },
    };
    const rejecting: Reporter = { name: 'rejects', onRunEnd: async () => Promise.reject(new Error('async boom')) };
    const hanging: Reporter = { name: 'hangs', onRunEnd: () => new Promise<void>(() => {}) };
    const mux = new ReporterMultiplexer([throwing, rejecting, hanging, good], { stream: err, hookTimeoutMs: 100 });
    const started = Date.now();
    await drive(mux, failingVerdict, '/tmp/run');
    assert.ok(Date.now() - started < 2000, 'the hanging reporter was abandoned');
    // The good reporter got everything, after the broken ones.
    assert.equal(good.calls.filter((h) => h === 'onPhaseBegin').length, 4);
    assert.equal(good.calls.at(-1), 'onRunEnd');
    const phasesRun = failingVerdict.phases.filter((p) => p.status !== 'skipped').length;
    assert.deepEqual(
      mux.failures.map((f) => [f.reporter, f.hook, f.message]),
      [
        ...Array.from({ length: phasesRun }, () => ['throws', 'onPhaseBegin', 'sync boom']),
        ['rejects', 'onRunEnd', 'async boom'],
        ['hangs', 'onRunEnd', 'did not finish within 100 ms'],
      ],
    );
    assert.match(err.text, /^perf: reporter "throws" failed in onPhaseBegin: sync boom$/m);
    assert.match(err.text, /^perf: reporter "rejects" failed in onRunEnd: async boom$/m);
    assert.match(err.text, /^perf: reporter "hangs" failed in onRunEnd: did not finish within 100 ms$/m);
  });

  test('failure messages are redacted before they are printed or recorded', async () => {
    const err = capture();
    const redactor = new Redactor();
    redactor.addSecret('hunter2-very-secret');
    const mux = new ReporterMultiplexer(
      [{ name: 'leaky', onRunEnd: () => { throw new Error('could not post password hunter2-very-secret with Bearer abc.def.ghi'); } }],
      { stream: err, redactor },
    );
    await mux.onRunEnd(failingVerdict, '/tmp/run');
    assert.equal(mux.failures[0]!.message, `could not post password ${REDACTED} with Bearer ${REDACTED}`);
    assert.doesNotMatch(err.text, /hunter2|abc\.def/);
  });
});

describe('createReporters', () => {
  const base = { webhook: { urlEnv: 'PERF_WEBHOOK_URL', format: 'slack' as const } };

  test('builds the named reporters in order, once each, behind a multiplexer', () => {
    const mux = createReporters(['junit', 'console', 'json', 'junit'], { ...base, redactor: new Redactor(), env: {}, stream: capture(), stdout: capture() });
    assert.ok(mux instanceof ReporterMultiplexer);
    assert.deepEqual(mux.reporters.map((r) => r.name), ['junit', 'console', 'json']);
    const all = createReporters(REPORTER_NAMES, { ...base, redactor: new Redactor(), env: {} });
    assert.deepEqual(all.reporters.map((r) => r.name), [...REPORTER_NAMES]);
  });

  test('registers the webhook URL from the environment as a secret, even without the webhook reporter', () => {
    const redactor = new Redactor();
    const url = 'https://hooks.example.test/services/T0/B0/abcdefSECRET';
    createReporters(['console'], { ...base, redactor, env: { PERF_WEBHOOK_URL: url }, stream: capture() });
    assert.equal(redactor.redactString(`posting to ${url}`), `posting to ${REDACTED}`);
  });

  test('unknown reporter names are rejected by the type checker', () => {
    // Compile-time: `npm test` runs `tsc --noEmit`, which fails if this stops being a type error.
    const typeCheckOnly = () =>
      // @ts-expect-error 'html' is not a ReporterName
      createReporters(['html'], { ...base, redactor: new Redactor(), env: {} });
    assert.equal(typeof typeCheckOnly, 'function');
  });

  test('the real tsc refuses an unknown reporter name and accepts the known ones', async () => {
    // The same rule proven at run time of the tests, whatever runs them: the compiler itself on a probe.
    const probe = (names: string) => `import { createReporters } from '../../src/reporters/index.ts';
import { Redactor } from '../../src/redact/redact.ts';
export const mux = createReporters(${names}, { webhook: { urlEnv: 'PERF_WEBHOOK_URL', format: 'slack' }, redactor: new Redactor(), env: {} });
`;
    const [good, bad] = await Promise.all([typecheck(probe("['console', 'junit', 'json']")), typecheck(probe("['console', 'html']"))]);
    assert.equal(good.code, 0, `known names compile: ${good.output}`);
    assert.notEqual(bad.code, 0, 'an unknown name must not compile');
    assert.match(bad.output, /probe\.ts\(3,\d+\): error TS2322: Type '"html"' is not assignable to type '[^']*"console"[^']*'/);
    assert.equal(bad.output.match(/error TS/g)?.length, 1, bad.output);
  });
});
