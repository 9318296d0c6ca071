import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { jsonReporter } from '../src/reporters/json.ts';
import { Redactor } from '../src/redact/redact.ts';
import { failingVerdict } from './fixtures/verdicts/failing.ts';
import { capture, drive } from './fixtures/verdicts/harness.ts';
import { interruptedVerdict } from './fixtures/verdicts/interrupted.ts';
import { passingVerdict } from './fixtures/verdicts/passing.ts';
import { REPO, tempDir } from './helpers.ts';

const RENDER = path.join(REPO, 'test', 'fixtures', 'verdicts', 'render-cli.ts');

function render(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', RENDER, ...args], {
      cwd: REPO,
      env: { ...process.env, NO_COLOR: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('json reporter', () => {
  for (const v of [passingVerdict, failingVerdict, interruptedVerdict]) {
    test(`${v.status} run: the verdict, once, at run end, and nothing else`, async () => {
      const out = capture();
      await drive(jsonReporter({ redactor: new Redactor(), stream: out }), v, '/tmp/run');
      // One JSON document: parsing the whole output (not a line of it) must succeed.
      // These fixtures hold no secrets: redaction leaves the verdict as it was.
      assert.deepEqual(JSON.parse(out.text), v);
      assert.equal(out.text.trimEnd().split('\n').filter((l) => l === '}').length, 1);
    });
  }

  test('with the console reporter in a real process: stdout is exactly the JSON, the human output is on stderr', async () => {
    const runDir = tempDir('perf-json-');
    const r = await render(['console,json', 'failing', runDir]);
    assert.equal(r.code, 0, r.stderr);
    const parsed = JSON.parse(r.stdout) as { status: string; runId: string };
    assert.equal(parsed.status, 'failed');
    assert.equal(parsed.runId, failingVerdict.runId);
    assert.match(r.stderr, /^verdict: FAILED in 9\.0 s$/m);
    assert.match(r.stderr, /✗ kits_list/);
    assert.doesNotMatch(r.stdout, /verdict: FAILED|✗/);
    // stderr is a pipe here, not a TTY: no escape codes.
    assert.doesNotMatch(r.stderr, /\x1b/);
  });
});
