/**
 * One browser session per check attempt, shared by the front-end smoke and flow checks.
 *
 * Contract of `withBrowser(ctx, check, fn)`:
 * - a fresh browser context (no cookies, no storage) on the phase's shared Chromium
 *   (`acquireBrowser`), one page, Playwright tracing on (DOM snapshots, no screencast: cheap on
 *   two cores); the context is closed afterwards whatever happens, and at once when `ctx.signal`
 *   aborts (timeouts, SIGINT), so a hung page cannot outlive its check;
 * - while `fn` runs, the session collects console errors, uncaught page errors and failed
 *   requests (network failures, and answers with status >= 400); the check decides what they
 *   mean;
 * - Playwright's own timeouts (actions 10 s, navigations 15 s) are shorter than the phases' check
 *   timeouts, so a missing element or a hung page fails the check *with* its artifacts instead of
 *   being cut off by the runner; Playwright errors become `CheckFailure`s (an expected failure,
 *   not a bug of the check), their call log in a note;
 * - on failure (unless aborted): a full-page screenshot and the redacted trace are written under
 *   `<runDir>/frontend/<check>/attempt-<n>/` and recorded as `file` evidence; console errors,
 *   page errors and failed requests are recorded as notes. The same error is rethrown.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserContext, Page, Response } from 'playwright-core';
import type { TestUser } from '../api/types.ts';
import { authHeadersFor } from '../auth/users.ts';
import { cookiesFor } from '../auth/credentials.ts';
import { acquireBrowser } from '../clients/browser.ts';
import type { FrontendSignIn } from '../config/config-schema.ts';
import { redactZipFile } from './frontend-artifacts.ts';
import { CheckFailure, type CheckContext } from './types.ts';

export const ACTION_TIMEOUT_MS = 10_000;
export const NAVIGATION_TIMEOUT_MS = 15_000;
/** How long a page may keep the network busy after `load` before the checks stop waiting for it. */
const NETWORK_IDLE_TIMEOUT_MS = 3_000;
/** How long to wait for a first contentful paint that has not happened by `load`. */
const FCP_WAIT_MS = 1_500;

/**
 * Runs in the page, as a string: a function handed to `page.evaluate` would be compiled by the
 * TypeScript loader first (tsx adds name helpers the page does not have). Milliseconds from
 * navigation start. FCP can land after `load` (seen on short pages), so it is waited for, briefly.
 */
const TIMINGS_SCRIPT = `async function (fcpWaitMs) {
  var nav = performance.getEntriesByType('navigation')[0];
  function paint() {
    var e = performance.getEntriesByName('first-contentful-paint')[0];
    return e ? e.startTime : undefined;
  }
  var fcp = paint();
  if (fcp === undefined && typeof PerformanceObserver !== 'undefined') {
    fcp = await new Promise(function (resolve) {
      var observer = new PerformanceObserver(function () {
        if (paint() !== undefined) { observer.disconnect(); resolve(paint()); }
      });
      observer.observe({ type: 'paint', buffered: true });
      setTimeout(function () { observer.disconnect(); resolve(paint()); }, fcpWaitMs);
    });
  }
  return {
    fcp: fcp,
    domContentLoaded: nav && nav.domContentLoadedEventEnd > 0 ? nav.domContentLoadedEventEnd : undefined,
    load: nav && nav.loadEventEnd > 0 ? nav.loadEventEnd : undefined
  };
}`;

export interface FailedRequest {
  method: string;
  url: string;
  resourceType: string;
  /** The main frame's document (a page navigation). */
  document: boolean;
  status?: number;
  error?: string;
}

export interface ConsoleError {
  text: string;
  url: string;
}

/** Milliseconds from navigation start; undefined when the browser did not report it. */
export interface PageTimings {
  fcp?: number;
  domContentLoaded?: number;
  load?: number;
}

export class BrowserSession {
  readonly consoleErrors: ConsoleError[] = [];
  readonly pageErrors: string[] = [];
  readonly failedRequests: FailedRequest[] = [];
  readonly baseUrl: string;

  constructor(
    readonly ctx: CheckContext,
    readonly context: BrowserContext,
    readonly page: Page,
  ) {
    this.baseUrl = (ctx.target.frontendUrl ?? ctx.target.baseUrl).replace(/\/+$/, '');
    page.on('console', (m) => {
      if (m.type() === 'error') this.consoleErrors.push({ text: m.text(), url: m.location().url });
    });
    page.on('pageerror', (e) => this.pageErrors.push(e.stack ? e.stack.split('\n').slice(0, 3).join('\n') : e.message));
    page.on('requestfailed', (r) =>
      this.failedRequests.push({ method: r.method(), url: r.url(), resourceType: r.resourceType(), document: isDocument(page, r), error: r.failure()?.errorText ?? 'failed' }),
    );
    page.on('response', (r) => {
      if (r.status() >= 400) this.failedRequests.push({ method: r.request().method(), url: r.url(), resourceType: r.request().resourceType(), document: isDocument(page, r.request()), status: r.status() });
    });
  }

  /** An absolute URL of the front end for `pathname`. */
  url(pathname: string): string {
    return `${this.baseUrl}${pathname.startsWith('/') ? '' : '/'}${pathname}`;
  }

  /** The path (without query) the page is on now. */
  get pathname(): string {
    try {
      return new URL(this.page.url()).pathname;
    } catch {
      return this.page.url();
    }
  }

  /** Opens `pathname` and waits for `load` (then, briefly, for the network to settle). */
  async open(pathname: string): Promise<Response | null> {
    const res = await this.page.goto(this.url(pathname), { waitUntil: 'load' });
    await this.settle();
    return res;
  }

  /** Waits (at most a few seconds) for no network activity: late requests that fail are then seen. */
  async settle(): Promise<void> {
    await this.page.waitForLoadState('networkidle', { timeout: NETWORK_IDLE_TIMEOUT_MS }).catch(() => {
      this.ctx.record({ kind: 'note', message: `${this.pathname}: the network was still busy ${NETWORK_IDLE_TIMEOUT_MS} ms after load; late requests were not waited for` });
    });
  }

  /** Signs `user` in to the pages without the form, as `frontend.signIn` says (see `signInBrowser`). */
  async signIn(user: TestUser, how: FrontendSignIn | undefined): Promise<void> {
    await signInBrowser(this.ctx, how, this.context, this.baseUrl, user);
  }

  /** First contentful paint, DOMContentLoaded and load of the current document (after `load`). */
  async timings(): Promise<PageTimings> {
    const t = (await this.page.evaluate(`(${TIMINGS_SCRIPT})(${FCP_WAIT_MS})`)) as { fcp?: number; domContentLoaded?: number; load?: number };
    const round = (v: number | undefined) => (v === undefined ? undefined : Math.round(v * 10) / 10);
    return { fcp: round(t.fcp), domContentLoaded: round(t.domContentLoaded), load: round(t.load) };
  }
}

/**
 * Hands a test user's session to a browser context, before any page loads:
 * - `cookie`: the user's token (bearer token or API key) in the named cookie of the front end;
 * - `localStorage`: the token under the named key, set by an init script before the page's own;
 * - `header`: the user's credential headers (`authHeadersFor`) on every request of the context;
 * - `session`: the user's cookie jar (a cookie-session service), for the API's and the front end's URLs.
 * Fails (CheckFailure) naming `frontend.signIn` when it is absent or does not fit the user.
 */
export async function signInBrowser(ctx: CheckContext, how: FrontendSignIn | undefined, context: BrowserContext, frontendUrl: string, user: TestUser): Promise<void> {
  if (!how) throw new CheckFailure('no `frontend.signIn` in the config: perf cannot sign a test user in to the pages. Say how a signed-in browser carries the user: { via: "cookie", name }, { via: "localStorage", key }, { via: "header" } or { via: "session" } (docs/auth.md)');
  const token = (): string => {
    if (!user.token) throw new CheckFailure(`frontend.signIn via "${how.via}" needs the user's token, and test user ${user.label} has none (a cookie-session service uses via: "session")`);
    ctx.redactor.addSecret(user.token);
    return user.token;
  };
  switch (how.via) {
    case 'cookie':
      await context.addCookies([{ name: how.name, value: token(), url: frontendUrl, sameSite: 'Lax' }]);
      return;
    case 'localStorage':
      await context.addInitScript({ content: `try { window.localStorage.setItem(${JSON.stringify(how.key)}, ${JSON.stringify(token())}); } catch (e) {}` });
      return;
    case 'header': {
      const headers = authHeadersFor(user, 'GET', ctx.target.baseUrl);
      if (!Object.keys(headers).length) throw new CheckFailure(`frontend.signIn via "header": test user ${user.label} has no credential header (auth.credential)`);
      for (const v of Object.values(headers)) ctx.redactor.addSecret(v);
      await context.setExtraHTTPHeaders(headers);
      return;
    }
    case 'session': {
      const seen = new Set<string>();
      const cookies = [...new Set([ctx.target.baseUrl, frontendUrl])].flatMap((u) => cookiesFor(user, u)).filter((c) => {
        const key = `${c.domain}|${c.path}|${c.name}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      if (!cookies.length) throw new CheckFailure(`frontend.signIn via "session": test user ${user.label} has no session cookie (it needs auth.credential type "cookie")`);
      for (const c of cookies) ctx.redactor.addSecret(c.value);
      await context.addCookies(cookies);
      return;
    }
  }
}

function isDocument(page: Page, request: { isNavigationRequest(): boolean; frame(): unknown }): boolean {
  try {
    return request.isNavigationRequest() && request.frame() === page.mainFrame();
  } catch {
    // Requests of service workers have no frame.
    return false;
  }
}

/** Playwright's errors ("locator.click: Timeout 10000ms exceeded.\nCall log: ...") as expected failures. */
export function toCheckFailure(e: unknown, ctx?: CheckContext): unknown {
  if (e instanceof CheckFailure || !(e instanceof Error)) return e;
  const playwright = e.name === 'TimeoutError' || /^(page|frame|locator|browserContext|browser|elementHandle|response|request|route|keyboard|mouse)\.\w+: /.test(e.message);
  if (!playwright) return e;
  const [head = e.message, log] = e.message.split(/\n\s*Call log:\s*\n/);
  if (log && ctx) ctx.record({ kind: 'note', message: 'Playwright call log', data: log.split('\n').map((l) => l.trim()).filter(Boolean).slice(0, 20) });
  return new CheckFailure(head.trim().split('\n')[0]!);
}

/**
 * Runs `fn` in a fresh browser context (see the file's contract). `check` names the artifact
 * folder; attempts of a check are numbered in the phase's `ctx.shared`.
 */
export async function withBrowser<T>(ctx: CheckContext, check: string, fn: (s: BrowserSession) => Promise<T>): Promise<T> {
  const attemptKey = `perf.frontend.attempt:${check}`;
  const attempt = ((ctx.shared.get(attemptKey) as number | undefined) ?? 0) + 1;
  ctx.shared.set(attemptKey, attempt);

  const lease = await acquireBrowser(ctx);
  let context: BrowserContext | undefined;
  const onAbort = () => void context?.close().catch(() => undefined);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    context = await lease.browser.newContext({ viewport: { width: 1280, height: 800 } });
    if (ctx.signal.aborted) throw ctx.signal.reason;
    context.setDefaultTimeout(ACTION_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
    await context.tracing.start({ name: check, title: `${check} (attempt ${attempt})`, snapshots: true, screenshots: false, sources: false });
    const page = await context.newPage();
    const session = new BrowserSession(ctx, context, page);
    try {
      return await fn(session);
    } catch (e) {
      const failure = toCheckFailure(e, ctx);
      if (!ctx.signal.aborted) await saveFailureEvidence(ctx, session, check, attempt);
      throw failure;
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    // Closing discards a trace that was not saved.
    await context?.close().catch(() => undefined);
    lease.release();
  }
}

/** Screenshot, redacted trace, and what the page complained about. Never throws. */
async function saveFailureEvidence(ctx: CheckContext, s: BrowserSession, check: string, attempt: number): Promise<void> {
  const relDir = path.posix.join('frontend', check, `attempt-${attempt}`);
  const dir = path.join(ctx.runDir, ...relDir.split('/'));
  const at = s.page.url();
  if (s.pageErrors.length) ctx.record({ kind: 'note', message: `uncaught page errors (${s.pageErrors.length})`, data: s.pageErrors.slice(0, 20) });
  if (s.consoleErrors.length) ctx.record({ kind: 'note', message: `console errors (${s.consoleErrors.length})`, data: s.consoleErrors.slice(0, 20) });
  if (s.failedRequests.length) ctx.record({ kind: 'note', message: `failed requests (${s.failedRequests.length})`, data: s.failedRequests.slice(0, 20) });
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    ctx.record({ kind: 'note', message: `no screenshot or trace: cannot create ${dir}: ${(e as Error).message}` });
    return;
  }
  try {
    await s.page.screenshot({ path: path.join(dir, 'screenshot.png'), fullPage: true, timeout: 5_000 });
    ctx.record({ kind: 'file', path: `${relDir}/screenshot.png`, description: `screenshot when ${check} failed (${at})` });
  } catch (e) {
    ctx.record({ kind: 'note', message: `no screenshot: ${firstLine(e)}` });
  }
  const trace = path.join(dir, 'trace.zip');
  try {
    await s.context.tracing.stop({ path: trace });
  } catch (e) {
    ctx.record({ kind: 'note', message: `no trace: ${firstLine(e)}` });
    return;
  }
  try {
    await redactZipFile(trace, (text) => ctx.redactor.redactString(text));
    ctx.record({ kind: 'file', path: `${relDir}/trace.zip`, description: `Playwright trace of ${check} (secrets redacted): open it at https://trace.playwright.dev or with \`npx playwright show-trace\`` });
  } catch (e) {
    await rm(trace, { force: true });
    ctx.record({ kind: 'note', message: `trace deleted: it could not be redacted (${firstLine(e)})` });
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}
