import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createReporters } from '../src/reporters/index.ts';
import { stripAnsi } from '../src/reporters/summarize.ts';
import { Redactor } from '../src/redact/redact.ts';
import { capture, drive } from './fixtures/verdicts/harness.ts';
import { makeSecretsVerdict, SECRETS, secretNeedles } from './fixtures/verdicts/secrets.ts';
import { REPO, tempDir } from './helpers.ts';

// Every reporter, fed the unredacted secrets verdict, with a real webhook receiver and a
// real step-summary file: no secret may appear in any output, payload or file.

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

function assertClean(label: string, text: string, needles: string[]) {
  for (const s of needles) assert.ok(!text.includes(s), `${label} contains the secret "${s}"`);
}

describe('no secret in any reporter output', () => {
  let server: http.Server;
  let webhookUrl: string;
  const bodies: string[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0PSECRET/B0PSECRET/xoxoWebhookToken123`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('the fixture really carries every secret (so this test can fail)', () => {
    const raw = JSON.stringify(makeSecretsVerdict(webhookUrl));
    for (const s of secretNeedles(webhookUrl)) assert.ok(raw.includes(s), s);
  });

  for (const format of ['slack', 'json'] as const) {
    for (const tty of [false, true]) {
      test(`all five reporters (webhook ${format}, console ${tty ? 'on' : 'off'} a TTY)`, async () => {
        const runDir = tempDir('perf-secrets-');
        const stderr = capture({ isTTY: tty, columns: 200 });
        const stdout = capture();
        const redactor = new Redactor();
        // What the runner registers by value: the configured password. The webhook URL is
        // registered by createReporters; the bearer token and JWT are caught by name/shape.
        redactor.addSecret(SECRETS.password);
        const before = bodies.length;
        const mux = createReporters(['console', 'json', 'junit', 'github', 'webhook'], {
          redactor,
          webhook: { urlEnv: 'PERF_WEBHOOK_URL', format },
          env: { PERF_WEBHOOK_URL: webhookUrl, GITHUB_STEP_SUMMARY: path.join(runDir, 'step-summary.md') },
          stream: stderr,
          stdout,
        });
        await drive(mux, makeSecretsVerdict(webhookUrl), runDir);
        assert.deepEqual(mux.failures, []);

        const needles = secretNeedles(webhookUrl);
        // Each output exists and says something, then none has a secret.
        const plain = stripAnsi(stderr.text);
        assert.match(plain, /verdict: FAILED/);
        assert.match(plain, /error: login with password \[redacted\] refused/);
        assertClean('console', stderr.text, needles);
        assert.equal((JSON.parse(stdout.text) as { status: string }).status, 'failed');
        assertClean('json', stdout.text, needles);
        assert.equal(bodies.length, before + 1, 'the webhook was delivered');
        assertClean('webhook payload', bodies.at(-1)!, needles);
        const files = filesUnder(runDir).map((f) => path.basename(f)).sort();
        assert.deepEqual(files, ['junit.xml', 'step-summary.md']);
        for (const f of filesUnder(runDir)) assertClean(f, readFileSync(f, 'utf8'), needles);
        // Redacted, not dropped: the evidence is still there around the holes.
        assert.match(readFileSync(path.join(runDir, 'junit.xml'), 'utf8'), /POST \/auth\/login\?access_token=\[redacted\] → 401/);
      });
    }
  }

  test('in a real process with the real streams (console, json, junit, github, webhook)', async () => {
    const runDir = tempDir('perf-secrets-cli-');
    const before = bodies.length;
    const r = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/fixtures/verdicts/render-cli.ts'), 'console,json,junit,github,webhook', 'secrets', runDir], {
        cwd: REPO,
        env: { ...process.env, PERF_WEBHOOK_URL: webhookUrl, GITHUB_STEP_SUMMARY: path.join(runDir, 'summary.md') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stderr.on('data', (c: Buffer) => (out += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /verdict: FAILED/);
    assert.equal(bodies.length, before + 1);
    const needles = secretNeedles(webhookUrl);
    assertClean('process output', r.out, needles);
    assertClean('webhook payload', bodies.at(-1)!, needles);
    for (const f of filesUnder(runDir)) assertClean(f, readFileSync(f, 'utf8'), needles);
  });
});
