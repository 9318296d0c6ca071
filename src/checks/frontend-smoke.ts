/**
 * The frontend-smoke phase: every page of `frontend.pages` in headless Chromium.
 *
 *   page_<name>      the page loads: its document answers the expected status (404 for the
 *                    not-found page), every `testIds`/`selectors` element is visible (auth pages:
 *                    also a form), no uncaught page error, no console error, no failed request
 *                    (network failure or status >= 400, except the document's expected status
 *                    and requests matching `frontend.ignoreRequests`, which are noted instead);
 *                    FCP, DOMContentLoaded and load are measured (`fcp_ms`, ...) and checked
 *                    against the page's `frontend.budgets`. Dashboard pages are loaded signed in:
 *                    a test user made through `auth` is handed to the browser as
 *                    `frontend.signIn` says (cookie, localStorage, header or session); without
 *                    `frontend.signIn` the check fails saying so; ending anywhere else than the
 *                    page fails.
 *   redirect_<name>  (dashboard pages) signed out, the page ends on `frontend.loginPath`
 *
 * Budgets are judged on the check's one navigation (a fresh context, shared browser): they
 * catch a page that got slow, not a few milliseconds of drift; a metric the browser did not
 * report fails its budget rather than passing it unmeasured.
 */
import type { FrontendBudget, FrontendConfig, FrontendPage, FrontendSignIn, ResolvedConfig } from '../config/config-schema.ts';
import { urlMatcher, type UrlMatcher } from './frontend-ignore.ts';
import { withBrowser, type BrowserSession, type PageTimings } from './frontend-session.ts';
import { CheckFailure, type Check, type CheckContext } from './types.ts';
import { sharedUser } from '../auth/users.ts';

/** How long the expected elements of a page may take to become visible (all waited for at once). */
const ELEMENT_WAIT_MS = 3_000;

const METRIC_KEYS: Record<keyof PageTimings, string> = { fcp: 'fcp_ms', domContentLoaded: 'dom_content_loaded_ms', load: 'load_ms' };

export function frontendSmokeChecks(config: ResolvedConfig): Check[] {
  const f = config.frontend;
  const ignored = urlMatcher(f.ignoreRequests);
  return f.pages.flatMap((page): Check[] => {
    const budgets = f.budgets.filter((b) => b.page === page.name);
    const load: Check = {
      name: `page_${page.name}`,
      description: `${page.path}${page.kind === 'dashboard' ? ' (signed in)' : ''}: ${page.status}, ${describeExpectations(page)}, no console errors or failed requests${
        budgets.length ? `, ${budgets.map((b) => `${b.metric} ≤ ${b.limitMs} ms`).join(', ')}` : ''
      }`,
      run: (ctx) => pageLoads(ctx, config, page, budgets, ignored),
    };
    if (page.kind !== 'dashboard') return [load];
    return [
      load,
      {
        name: `redirect_${page.name}`,
        description: `signed out, ${page.path} redirects to ${f.loginPath}`,
        run: (ctx) => redirectsSignedOut(ctx, f, page),
      },
    ];
  });
}

function describeSignIn(how: FrontendSignIn | undefined): string {
  if (!how) return 'none';
  if (how.via === 'cookie') return `the token in cookie ${how.name}`;
  if (how.via === 'localStorage') return `the token in localStorage ${how.key}`;
  return how.via === 'header' ? 'credential headers' : 'the session cookies';
}

function describeExpectations(page: FrontendPage): string {
  const items = [...page.testIds.map((t) => `[data-testid=${t}]`), ...page.selectors, ...(page.kind === 'auth' ? ['a form'] : [])];
  return items.length ? `shows ${items.join(', ')}` : 'renders';
}

function pathOf(p: string): string {
  return new URL(p, 'http://x').pathname;
}

async function pageLoads(ctx: CheckContext, config: ResolvedConfig, spec: FrontendPage, budgets: FrontendBudget[], ignored: UrlMatcher): Promise<void> {
  const how = config.frontend.signIn;
  // Before the browser: a config that cannot sign in fails at once, naming what to add.
  if (spec.kind === 'dashboard' && !how) {
    throw new CheckFailure(`${spec.path} is a dashboard page, loaded signed in, and the config has no \`frontend.signIn\`: say how a signed-in browser carries a test user ({ via: "cookie", name }, "localStorage", "header" or "session"; docs/auth.md)`);
  }
  await withBrowser(ctx, `page_${spec.name}`, async (s) => {
    if (spec.kind === 'dashboard') await s.signIn(await sharedUser(ctx, config, 'frontend'), how);
    const res = await s.open(spec.path);
    const problems: string[] = [];
    const status = res?.status();
    const requestId = res?.headers()['x-request-id'];
    if (requestId) ctx.record({ kind: 'note', message: `document ${spec.path}: HTTP ${status}, x-request-id ${requestId}` });
    if (status !== spec.status) problems.push(`answered ${status ?? 'nothing'}, expected ${spec.status}`);
    if (spec.kind === 'dashboard' && s.pathname !== pathOf(spec.path)) {
      problems.push(`signed in, it still ended on ${s.pathname}: the session handed over as frontend.signIn says (${describeSignIn(how)}) was not accepted`);
    }

    const missing = await notVisible(s, spec);
    if (missing.length) problems.push(`not visible: ${missing.join(', ')}`);

    const timings = await s.timings();
    for (const [metric, key] of Object.entries(METRIC_KEYS) as [keyof PageTimings, string][]) {
      if (timings[metric] !== undefined) ctx.measure(key, timings[metric]);
    }
    const judged = budgets.map((b) => {
      const observed = timings[b.metric];
      return { ...b, observed, passed: observed !== undefined && observed <= b.limitMs };
    });
    if (judged.length) ctx.measure('budgets', judged);
    for (const b of judged) {
      if (b.observed === undefined) problems.push(`${b.metric} was not reported by the browser, so its budget (≤ ${b.limitMs} ms) cannot pass`);
      else if (!b.passed) problems.push(`${b.metric} ${b.observed} ms over its budget of ${b.limitMs} ms`);
    }

    // The document's own expected error status (the 404 page) is not a failed request, nor is
    // the console line Chromium prints for it.
    const documentUrl = res?.url();
    const expectedDocumentError = status === spec.status && spec.status >= 400;
    // Requests the user declared harmless (frontend.ignoreRequests), and the console line
    // Chromium prints for each, are noted, not counted.
    const loadError = (c: { text: string }) => c.text.startsWith('Failed to load resource');
    const consoleErrors = s.consoleErrors.filter((c) => !(loadError(c) && ((expectedDocumentError && c.url === documentUrl) || ignored(c.url))));
    const failed = s.failedRequests.filter((r) => !(expectedDocumentError && r.document && r.status === spec.status) && !ignored(r.url));
    const ignoredRequests = s.failedRequests.filter((r) => ignored(r.url));
    if (ignoredRequests.length) {
      ctx.record({ kind: 'note', message: `failed requests ignored by frontend.ignoreRequests (${ignoredRequests.length})`, data: ignoredRequests.slice(0, 20).map((r) => `${r.method} ${r.url} ${r.status ?? r.error}`) });
    }
    if (s.pageErrors.length) problems.push(`${s.pageErrors.length} uncaught page error(s): ${s.pageErrors[0]!.split('\n')[0]}`);
    if (consoleErrors.length) problems.push(`${consoleErrors.length} console error(s): ${consoleErrors[0]!.text}`);
    if (failed.length) {
      const r = failed[0]!;
      problems.push(`${failed.length} failed request(s): ${r.method} ${r.url} ${r.status ?? r.error}`);
    }
    if (problems.length) throw new CheckFailure(`${spec.path} → ${problems.join('; ')}`);
  });
}

/** The expected elements that did not become visible (all waited for at once). */
async function notVisible(s: BrowserSession, spec: FrontendPage): Promise<string[]> {
  const wanted = [
    ...spec.testIds.map((id) => ({ what: `[data-testid=${id}]`, locator: s.page.getByTestId(id) })),
    ...spec.selectors.map((sel) => ({ what: sel, locator: s.page.locator(sel) })),
    ...(spec.kind === 'auth' ? [{ what: 'a form', locator: s.page.locator('form') }] : []),
  ];
  const results = await Promise.all(
    wanted.map((w) =>
      w.locator
        .first()
        .waitFor({ state: 'visible', timeout: ELEMENT_WAIT_MS })
        .then(
          () => undefined,
          () => w.what,
        ),
    ),
  );
  return results.filter((r): r is string => r !== undefined);
}

async function redirectsSignedOut(ctx: CheckContext, f: FrontendConfig, spec: FrontendPage): Promise<void> {
  await withBrowser(ctx, `redirect_${spec.name}`, async (s) => {
    const res = await s.open(spec.path);
    // The hops, oldest first: e.g. 302 /dashboard → 200 /login?next=%2Fdashboard.
    const hops: string[] = [];
    for (let r = res?.request() ?? null; r; r = r.redirectedFrom()) {
      const u = new URL(r.url());
      hops.unshift(`${u.pathname}${u.search}`);
    }
    ctx.measure('redirect_chain', hops);
    if (s.pathname !== pathOf(f.loginPath)) {
      throw new CheckFailure(
        `signed out, ${spec.path} answered ${res?.status() ?? 'nothing'} and ended on ${s.pathname} instead of redirecting to ${f.loginPath} (hops: ${hops.join(' → ')})`,
      );
    }
  });
}
