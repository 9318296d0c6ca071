import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CheckFailure, type Check, type HttpExchange } from '../src/checks/types.ts';
import { EVIDENCE_BODY_LIMIT, HttpClient, expectStatus, json } from '../src/clients/http-client.ts';
import { assertNoSecrets, deleteRunUsers, newRun, runCheck, startTestApp, type TestApp } from './checks-helpers.ts';

const check = (name: string, run: Check['run']): Check => ({ name, run });
const https = (r: { evidence: unknown[] }) => r.evidence.filter((e): e is HttpExchange => (e as HttpExchange).kind === 'http');

describe('http client', () => {
  let app: TestApp;
  const run = newRun();
  before(async () => {
    app = await startTestApp();
  });
  after(async () => {
    await deleteRunUsers(run.runId);
    await app.stop();
  });

  test('every request carries a correlation id the target echoes, and is recorded with timings', async () => {
    let echoed = '';
    const r = await runCheck(
      check('probe', async (ctx) => {
        const res = await new HttpClient(ctx).get('/health');
        expectStatus(res, 200, 'health');
        echoed = res.headers['x-request-id'] ?? '';
        assert.equal(json<{ status: string }>(res).status, 'ok');
      }),
      app.target,
      run,
    );
    assert.ok(r.passed, r.error);
    const [ex] = https(r);
    assert.ok(ex);
    assert.match(ex.correlationId, new RegExp(`^perf-${run.runId}-probe-1-\\d+$`));
    assert.equal(ex.requestHeaders['x-request-id'], ex.correlationId);
    assert.equal(echoed, ex.correlationId, 'sample-app echoes X-Request-Id');
    assert.equal(ex.method, 'GET');
    assert.equal(ex.url, `${app.target.baseUrl}/health`);
    assert.equal(ex.status, 200);
    assert.ok(ex.ttfbMs! >= 0 && ex.durationMs >= ex.ttfbMs!, `timings ${ex.ttfbMs} / ${ex.durationMs}`);
    assert.ok(!Number.isNaN(Date.parse(ex.startedAt)));
    assert.match(ex.responseBody ?? '', /"status":"ok"/);
    assert.deepEqual(r.correlationIds, [ex.correlationId]);
  });

  test('a wrong status fails naming method, path, expected and actual status and the correlation id', async () => {
    const r = await runCheck(
      check('status', async (ctx) => {
        const res = await new HttpClient(ctx).get('/brand-kits', { record: false });
        expectStatus(res, 200, 'list kits without a token');
      }),
      app.target,
      run,
    );
    assert.ok(r.thrown instanceof CheckFailure);
    assert.match(r.error!, /^list kits without a token: GET \/brand-kits answered 401, expected 200 \(correlation id perf-\S+\)/);
    assert.equal(https(r).length, 1, 'a quiet request is recorded once it fails an assertion');
  });

  test('quiet requests stay out of the evidence while they pass', async () => {
    const r = await runCheck(
      check('quiet', async (ctx) => {
        const http = new HttpClient(ctx);
        for (let i = 0; i < 3; i++) expectStatus(await http.get('/health', { record: false }), 200, 'health');
      }),
      app.target,
      run,
    );
    assert.ok(r.passed, r.error);
    assert.equal(r.evidence.length, 0);
  });

  test('passwords, tokens and Authorization headers are redacted in request and response', async () => {
    const secrets: string[] = [];
    const password = 'Sup3r-secret-pass';
    const r = await runCheck(
      check('secrets', async (ctx) => {
        const http = new HttpClient(ctx);
        const email = `perf-client-${run.runId}@perf.test`;
        const res = await http.post('/auth/signup', { email, password });
        expectStatus(res, 201, 'signup');
        const body = json<{ accessToken: string; refreshToken: string }>(res);
        secrets.push(body.accessToken, body.refreshToken);
        expectStatus(await http.get('/auth/me', { token: body.accessToken }), 200, 'me');
        expectStatus(await http.post('/auth/refresh', { refreshToken: body.refreshToken }), 200, 'refresh');
      }),
      app.target,
      run,
    );
    assert.ok(r.passed, r.error);
    assert.equal(https(r).length, 3);
    assert.equal(https(r)[1]!.requestHeaders.authorization, '[redacted]');
    assertNoSecrets([r], [password, ...secrets]);
  });

  test('a refused connection fails at once, recorded with the error and correlation id', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const r = await runCheck(
      check('refused', async (ctx) => {
        await new HttpClient(ctx, `http://127.0.0.1:${port}`).get('/health');
      }),
      app.target,
      run,
    );
    assert.ok(r.thrown instanceof CheckFailure);
    assert.match(r.error!, /^GET \/health: connection failed: ECONNREFUSED.*\(correlation id perf-\S+\)$/);
    assert.match(https(r)[0]!.error ?? '', /ECONNREFUSED/);
    assert.equal(https(r)[0]!.status, undefined);
  });

  test('the check signal aborts a request in flight', async () => {
    await app.setFaults({ latencyMs: 3_000 });
    try {
      const t0 = performance.now();
      const r = await runCheck(
        check('aborted', async (ctx) => {
          await new HttpClient(ctx).get('/brand-kits');
        }),
        app.target,
        run,
        150,
      );
      assert.ok(performance.now() - t0 < 1_500, 'aborted long before the injected 3 s latency');
      assert.match(r.error!, /aborted/);
      assert.match(https(r)[0]!.error ?? '', /aborted/);
    } finally {
      await app.resetFaults();
    }
  });

  test('bodies in evidence are cut at 8 KB, after redaction; the check still sees the whole body', async () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4eHh4eHgifQ.c2lnbmF0dXJlc2lnbmF0dXJl';
    // The token straddles the cut: truncating before redacting would leave its first half.
    const big = `${'x'.repeat(EVIDENCE_BODY_LIMIT - 20)} ${token} ${'y'.repeat(EVIDENCE_BODY_LIMIT)}`;
    const server = http.createServer((_req, res) => res.setHeader('content-type', 'text/plain').end(big));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      let seen = 0;
      const r = await runCheck(
        check('big', async (ctx) => {
          const res = await new HttpClient(ctx, `http://127.0.0.1:${port}`).get('/big');
          seen = res.text.length;
        }),
        app.target,
        run,
      );
      assert.ok(r.passed, r.error);
      assert.equal(seen, big.length);
      const body = https(r)[0]!.responseBody!;
      assert.ok(body.length < EVIDENCE_BODY_LIMIT + 100, `evidence body is ${body.length} characters`);
      assert.match(body, /truncated/);
      assertNoSecrets([r], [token]);
      assert.ok(!body.includes(token.slice(0, 20)), 'no half of the token survives the cut');
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
