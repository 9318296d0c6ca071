/**
 * Posts the run's result to a webhook (Slack incoming webhook, or any JSON receiver).
 *
 * Contract:
 *  - The URL comes from the environment only (`urlEnv`, default PERF_WEBHOOK_URL): a
 *    webhook URL is a credential, and flags or config files end up in shell history,
 *    logs and repositories. Unset or empty → no-op.
 *  - `format: 'slack'` posts an incoming-webhook payload (slack.ts); `'json'` posts the
 *    redacted verdict.
 *  - One POST with a 5 s timeout (whole exchange), retried once after a short pause on a
 *    network error, a timeout, a 5xx or a 429. Other 4xx are not retried (the URL or
 *    payload is wrong; repeating will not help).
 *  - A delivery failure is one line on stderr that names the env var and the cause (status
 *    code, error code or "timed out"), never the URL or a raw error message (Node's
 *    messages quote host and port); it never throws, so it never fails the run.
 */
import http from 'node:http';
import https from 'node:https';
import type { Redactor } from '../redact/redact.ts';
import type { Verdict } from '../run/verdict.ts';
import type { Reporter } from './reporter.ts';
import { renderSlackPayload } from './slack.ts';
import { redactVerdict } from './redact-verdict.ts';

export const WEBHOOK_TIMEOUT_MS = 5000;
export const DEFAULT_WEBHOOK_ENV = 'PERF_WEBHOOK_URL';

export interface WebhookReporterOptions {
  redactor: Redactor;
  env: Record<string, string | undefined>;
  /** The environment variable holding the URL; default PERF_WEBHOOK_URL. */
  urlEnv?: string;
  format?: 'slack' | 'json';
  /** Per attempt, whole exchange; default 5 s. Tests shorten it. */
  timeoutMs?: number;
  /** Pause before the one retry; default 1 s. */
  retryDelayMs?: number;
  /** Where delivery problems are reported; default process.stderr. */
  errStream?: { write(s: string): unknown };
}

type Attempt = { ok: true; status: number } | { ok: false; retry: boolean; why: string };

export function webhookReporter(opts: WebhookReporterOptions): Reporter {
  const urlEnv = opts.urlEnv ?? DEFAULT_WEBHOOK_ENV;
  const errStream = opts.errStream ?? process.stderr;
  const report = (msg: string) => errStream.write(`${opts.redactor.redactString(`perf: webhook (${urlEnv}): ${msg}`)}\n`);

  return {
    name: 'webhook',
    async onRunEnd(verdict: Verdict) {
      const raw = opts.env[urlEnv];
      if (!raw) return;
      // The URL is a secret wherever it might surface (the runner registers it too).
      opts.redactor.addSecret(raw);
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return void report('not sent: the variable does not hold a URL');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return void report('not sent: the URL is not http(s)');

      try {
        const payload = (opts.format ?? 'slack') === 'slack' ? renderSlackPayload(verdict, opts.redactor) : redactVerdict(verdict, opts.redactor);
        const body = JSON.stringify(payload);
        const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
        let result = await postOnce(url, body, timeoutMs);
        if (!result.ok && result.retry) {
          await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 1000));
          const first = result.why;
          result = await postOnce(url, body, timeoutMs);
          if (!result.ok) return void report(`not delivered after 2 attempts (${first}; then ${result.why}); the run's result is unaffected`);
        }
        if (!result.ok) report(`not delivered (${result.why}); the run's result is unaffected`);
      } catch (e) {
        // A bug here (rendering, serialisation) must not fail the run either; the name of
        // the error class is safe to print, its message may not be.
        report(`not delivered (internal ${e instanceof Error ? e.name : 'error'}); the run's result is unaffected`);
      }
    },
  };
}

/** One POST; resolves (never rejects) with the outcome. `agent: false` → a fresh socket
 *  closed afterwards, so nothing keeps the process alive once perf is done. */
function postOnce(url: URL, body: string, timeoutMs: number): Promise<Attempt> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(a);
    };
    const req = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'user-agent': 'perf-harness' },
    });
    const timer = setTimeout(() => {
      done({ ok: false, retry: true, why: `timed out after ${formatSeconds(timeoutMs)}` });
      req.destroy();
    }, timeoutMs);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      // Read (and drop) the body so the exchange completes within the timeout.
      res.resume();
      res.on('end', () => {
        if (status >= 200 && status < 300) done({ ok: true, status });
        else done({ ok: false, retry: status >= 500 || status === 429, why: `HTTP ${status}` });
      });
      res.on('error', (err) => done({ ok: false, retry: true, why: errorCode(err) }));
    });
    req.on('error', (err) => done({ ok: false, retry: true, why: errorCode(err) }));
    req.end(body);
  });
}

/** ECONNREFUSED, ENOTFOUND, ... — Node's message would quote the host and port. */
function errorCode(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `network error ${code}` : 'network error';
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
