import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { webhookReporter, type WebhookReporterOptions } from '../src/reporters/webhook.ts';
import type { SlackPayload } from '../src/reporters/slack.ts';
import { Redactor } from '../src/redact/redact.ts';
import type { Verdict } from '../src/run/verdict.ts';
import { failingVerdict } from './fixtures/verdicts/failing.ts';
import { capture } from './fixtures/verdicts/harness.ts';
import { passingVerdict } from './fixtures/verdicts/passing.ts';

// Every test talks to a real HTTP receiver on 127.0.0.1. Its URL carries a token in the
// path, as Slack's do: neither the URL nor that token may appear in any message.

interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

type Behaviour = (n: number, res: http.ServerResponse) => void;

const servers: (() => Promise<void>)[] = [];
after(() => Promise.all(servers.map((close) => close())));

const HOOK_PATH = '/services/T0HOOKTOKEN/B0HOOKTOKEN/s3cr3tWebhookPathToken';

async function receiver(behaviour: Behaviour): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, at: Date.now() });
      behaviour(received.length, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  servers.push(close);
  return { url: `http://127.0.0.1:${port}${HOOK_PATH}`, received, close };
}

const ok: Behaviour = (_n, res) => res.end('ok');

async function send(v: Verdict, url: string | undefined, opts: Partial<WebhookReporterOptions> = {}) {
  const err = capture();
  const started = Date.now();
  const r = webhookReporter({
    redactor: new Redactor(),
    env: url === undefined ? {} : { PERF_WEBHOOK_URL: url },
    timeoutMs: 300,
    retryDelayMs: 20,
    errStream: err,
    ...opts,
  });
  // Never throws, whatever happens on the wire.
  await r.onRunEnd!(v, '/tmp/run');
  return { err: err.text, elapsedMs: Date.now() - started };
}

function assertNoUrl(text: string, url: string) {
  const u = new URL(url);
  for (const needle of [url, u.host, u.pathname, 'T0HOOKTOKEN', 's3cr3tWebhookPathToken']) {
    assert.ok(!text.includes(needle), `"${needle}" leaked into: ${text}`);
  }
}

describe('webhook reporter', () => {
  test('env var unset or empty: a no-op (no request, no message)', async () => {
    const rx = await receiver(ok);
    assert.equal((await send(failingVerdict, undefined)).err, '');
    assert.equal((await send(failingVerdict, '')).err, '');
    assert.equal(rx.received.length, 0);
  });

  test('slack format: one POST with text and blocks summarising status, failed checks and gates', async () => {
    const rx = await receiver(ok);
    const { err } = await send(failingVerdict, rx.url, { format: 'slack' });
    assert.equal(err, '');
    assert.equal(rx.received.length, 1);
    const req = rx.received[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, HOOK_PATH);
    assert.match(String(req.headers['content-type']), /^application\/json/);
    const payload = JSON.parse(req.body) as SlackPayload;
    assert.match(payload.text, /^perf FAILED · run 20261121-110000-bb02 · 9\.0 s · 3 failed checks$/);
    assert.deepEqual(payload.blocks[0], { type: 'header', text: { type: 'plain_text', text: 'perf: FAILED', emoji: true } });
    const texts = payload.blocks.flatMap((b) => ('text' in b ? [b.text.text] : 'fields' in b ? b.fields.map((f) => f.text) : 'elements' in b ? b.elements.map((e) => e.text) : []));
    const all = texts.join('\n');
    assert.match(all, /\*Status\*\n:x: FAILED/);
    assert.match(all, /:x: \*flows\* 5\.2 s — flows failed: kits_list/);
    assert.match(all, /:fast_forward: \*frontend-smoke\* 0 ms — no frontendUrl configured/);
    // Failed checks with the error (mrkdwn-escaped) and the evidence line.
    assert.match(all, /• \*flows \/ kits_list\* \(failed\): GET \/kits expected 401 without auth, got 503 &lt;Service Unavailable&gt; &amp; "retry"/);
    assert.match(all, /`GET \/kits\?limit=5 → 503 \(12 ms\) x-request-id perf-20261121-110000-bb02-7`/);
    assert.match(all, /\*Flaky checks\*\n• health \/ redis_health \(passed on attempt 2\)/);
    assert.match(all, /\*Gates\*\n:x: http_req_duration\{name:login\} p\(95\) &lt; 300 \(observed 812\.3 ms, 540 samples\)/);
    assert.match(all, /:grey_question: http_req_duration\{name:export\}/);
    // Slack's limits.
    assert.ok(payload.blocks.length <= 50);
    for (const t of texts) assert.ok(t.length <= 3000);
  });

  test('json format: the (redacted) verdict itself', async () => {
    const rx = await receiver(ok);
    await send(passingVerdict, rx.url, { format: 'json' });
    assert.deepEqual(JSON.parse(rx.received[0]!.body), passingVerdict);
  });

  test('a 500 is retried once; success on the retry reports nothing', async () => {
    const rx = await receiver((n, res) => {
      res.statusCode = n === 1 ? 500 : 200;
      res.end();
    });
    const { err } = await send(failingVerdict, rx.url);
    assert.equal(rx.received.length, 2);
    assert.equal(rx.received[1]!.body, rx.received[0]!.body, 'the same payload again');
    assert.equal(err, '');
  });

  test('two 500s: one stderr line naming the cause, without the URL; the hook does not throw', async () => {
    const rx = await receiver((_n, res) => {
      res.statusCode = 500;
      res.end('boom');
    });
    const { err } = await send(failingVerdict, rx.url);
    assert.equal(rx.received.length, 2);
    assert.equal(err.trim().split('\n').length, 1);
    assert.match(err, /^perf: webhook \(PERF_WEBHOOK_URL\): not delivered after 2 attempts \(HTTP 500; then HTTP 500\); the run's result is unaffected\n$/);
    assertNoUrl(err, rx.url);
  });

  test('a 400 is not retried (the request itself is wrong)', async () => {
    const rx = await receiver((_n, res) => {
      res.statusCode = 400;
      res.end('invalid_payload');
    });
    const { err } = await send(failingVerdict, rx.url);
    assert.equal(rx.received.length, 1);
    assert.match(err, /not delivered \(HTTP 400\)/);
    assertNoUrl(err, rx.url);
  });

  test('a hanging receiver: each attempt times out, then one message, without the URL', async () => {
    const rx = await receiver(() => {
      /* never answers */
    });
    const { err, elapsedMs } = await send(failingVerdict, rx.url, { timeoutMs: 300, retryDelayMs: 20 });
    assert.equal(rx.received.length, 2);
    assert.ok(elapsedMs >= 600 && elapsedMs < 3000, `two 300 ms timeouts took ${elapsedMs} ms`);
    assert.match(err, /not delivered after 2 attempts \(timed out after 300 ms; then timed out after 300 ms\)/);
    assertNoUrl(err, rx.url);
  });

  test('the default timeout is 5 s: a first attempt that hangs is abandoned and retried', async () => {
    const rx = await receiver((n, res) => {
      if (n > 1) res.end('ok');
    });
    const { err, elapsedMs } = await send(passingVerdict, rx.url, { timeoutMs: undefined, retryDelayMs: 0 });
    assert.equal(err, '');
    assert.equal(rx.received.length, 2);
    const gap = rx.received[1]!.at - rx.received[0]!.at;
    assert.ok(gap >= 4900 && gap < 6500, `retry ${gap} ms after the first attempt`);
    assert.ok(elapsedMs < 7000);
  });

  test('nothing listening: a network error code, without the URL', async () => {
    const rx = await receiver(ok);
    await rx.close();
    const { err } = await send(failingVerdict, rx.url);
    assert.match(err, /not delivered after 2 attempts \(network error ECONNREFUSED; then network error ECONNREFUSED\)/);
    assertNoUrl(err, rx.url);
  });

  test('a value that is not an http(s) URL: not sent, and the value is not echoed', async () => {
    const secretish = 'not a url but s3cr3tWebhookPathToken';
    const { err } = await send(failingVerdict, secretish);
    assert.match(err, /not sent: the variable does not hold a URL/);
    assert.ok(!err.includes('s3cr3tWebhookPathToken'));
    const ftp = await send(failingVerdict, `ftp://127.0.0.1${HOOK_PATH}`);
    assert.match(ftp.err, /not sent: the URL is not http\(s\)/);
    assertNoUrl(ftp.err, `ftp://127.0.0.1${HOOK_PATH}`);
  });

  test('urlEnv names the variable; PERF_WEBHOOK_URL is then ignored', async () => {
    const rx = await receiver(ok);
    const other = await receiver(ok);
    const err = capture();
    await webhookReporter({
      redactor: new Redactor(),
      env: { PERF_WEBHOOK_URL: other.url, TEAM_HOOK: rx.url },
      urlEnv: 'TEAM_HOOK',
      errStream: err,
    }).onRunEnd!(passingVerdict, '/tmp/run');
    assert.equal(rx.received.length, 1);
    assert.equal(other.received.length, 0);
  });
});
