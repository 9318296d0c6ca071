/**
 * The frontend-flows phase: user journeys in headless Chromium, through the pages only (no API
 * shortcuts), written for sample-app's pages and their `data-testid`s (sample-app/README.md,
 * "Web pages"), as the `flows` phase is written for its API.
 *
 *   browser_journey          signup → login (a new visit) → create a brand kit → edit its colours
 *                            (saved, still there after a reload) → start a job with that kit →
 *                            watch its progress to completed (statuses only move forward) → view
 *                            the asset → sign out (the dashboard then sends to the login page);
 *                            an uncaught page error anywhere fails it
 *   browser_bad_credentials  a wrong password on the login page shows an error, stays on the
 *                            login page and sets no session cookie
 *
 * Contract: a failing step's message starts with `step "<name>": `; step durations go to the
 * `steps_ms` measurement. Each attempt signs up a new account (`perf-browser-<n>-<run id>@perf.test`,
 * the same naming as every perf test user, so cleanups find it); passwords are registered with
 * `ctx.redactor` before the browser types them.
 */
import type { FrontendConfig, ResolvedConfig } from '../config/config-schema.ts';
import { HttpClient } from '../clients/http-client.ts';
import { toCheckFailure, withBrowser, type BrowserSession } from './frontend-session.ts';
import { CheckFailure, type Check, type CheckContext } from './types.ts';
import { credentialsFor, signupOrLogin } from './users.ts';

/** How long a job may take from the job page opening to `completed`. */
const JOB_WAIT_MS = 20_000;
const JOB_POLL_MS = 50;
const JOB_RANK: Record<string, number> = { queued: 1, running: 2, completed: 3, failed: 3 };

export function frontendFlowChecks(config: ResolvedConfig): Check[] {
  const f = config.frontend;
  return [
    {
      name: 'browser_journey',
      description: 'in Chromium: signup → login → create brand kit → edit colours → start a job → watch its progress → view the asset → sign out',
      run: (ctx) => journey(ctx, f),
    },
    {
      name: 'browser_bad_credentials',
      description: 'in Chromium: a wrong password shows an error, stays on the login page, sets no session cookie',
      run: (ctx) => badCredentials(ctx, f),
    },
  ];
}

/** Named steps: failures say which step, durations are measured. */
function stepper(ctx: CheckContext) {
  const stepsMs: Record<string, number> = {};
  return async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } catch (e) {
      const failure = toCheckFailure(e, ctx);
      if (failure instanceof CheckFailure) throw new CheckFailure(`step "${name}": ${failure.message}`, failure.evidence);
      throw failure;
    } finally {
      stepsMs[name] = Math.round(performance.now() - t0);
      ctx.measure('steps_ms', { ...stepsMs });
    }
  };
}

/** `browser-<n>`: new on every attempt, so a retry never meets the failed attempt's account. */
function freshLabel(ctx: CheckContext, label: string): string {
  const key = `perf.frontend.label:${label}`;
  const n = ((ctx.shared.get(key) as number | undefined) ?? 0) + 1;
  ctx.shared.set(key, n);
  return `${label}-${n}`;
}

async function waitForPath(s: BrowserSession, test: (pathname: string) => boolean, what: string): Promise<void> {
  try {
    await s.page.waitForURL((u) => test(u.pathname));
  } catch {
    const error = await s.page
      .locator('.error')
      .filter({ hasText: /\S/ })
      .first()
      .textContent({ timeout: 200 })
      .catch(() => null);
    throw new CheckFailure(`expected ${what}, still on ${s.pathname}${error ? ` showing "${error.trim()}"` : ''}`);
  }
}

async function expectText(s: BrowserSession, testId: string, expected: string, what: string): Promise<void> {
  const el = s.page.getByTestId(testId);
  try {
    await el.filter({ hasText: expected }).first().waitFor({ state: 'visible' });
  } catch {
    const actual = await el.first().textContent({ timeout: 200 }).catch(() => null);
    throw new CheckFailure(`${what}: [data-testid=${testId}] shows ${actual === null ? 'nothing (not found)' : JSON.stringify(actual.trim())}, expected it to contain ${JSON.stringify(expected)}`);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function journey(ctx: CheckContext, f: FrontendConfig): Promise<void> {
  const { email, password } = credentialsFor(ctx.runId, ctx.seed, freshLabel(ctx, 'browser'));
  ctx.redactor.addSecret(password);
  const step = stepper(ctx);

  await withBrowser(ctx, 'browser_journey', async (s) => {
    const { page } = s;
    await step('signup', async () => {
      await s.open('/signup');
      await page.getByTestId('signup-name').fill('perf browser journey');
      await page.getByTestId('signup-email').fill(email);
      await page.getByTestId('signup-password').fill(password);
      await page.getByTestId('signup-submit').click();
      await waitForPath(s, (p) => p === '/dashboard', 'the dashboard after signing up');
      await expectText(s, 'dashboard-user', email, 'after signup');
    });

    await step('login', async () => {
      // A new visit: no session left from the signup.
      await s.context.clearCookies();
      await s.open(f.loginPath);
      await page.getByTestId('login-email').fill(email);
      await page.getByTestId('login-password').fill(password);
      await page.getByTestId('login-submit').click();
      await waitForPath(s, (p) => p === '/dashboard', 'the dashboard after logging in');
      await expectText(s, 'dashboard-user', email, 'after login');
    });

    const kitId = await step('create brand kit', async () => {
      await page.getByTestId('nav-brand-kits').click();
      await waitForPath(s, (p) => p === '/dashboard/brand-kits', 'the brand-kit list');
      await page.getByTestId('kit-name').fill('perf browser kit');
      await page.getByTestId('kit-colors-input').fill('#1f6feb, #f78166');
      await page.getByTestId('kit-submit').click();
      await waitForPath(s, (p) => /^\/dashboard\/brand-kits\/[^/]+$/.test(p), 'the new kit in its editor');
      const id = s.pathname.split('/').pop()!;
      if (!UUID.test(id)) throw new CheckFailure(`the kit editor's URL ${s.pathname} carries no kit id`);
      const colors = await colorValues(s);
      if (colors.join(',') !== '#1f6feb,#f78166') throw new CheckFailure(`the new kit shows colours ${colors.join(', ') || 'none'}, expected #1f6feb, #f78166`);
      return id;
    });

    await step('edit colours', async () => {
      await page.getByTestId('kit-color').nth(0).fill('#aa0000');
      await page.getByTestId('kit-add-color').click();
      await page.getByTestId('kit-color').nth(2).fill('#00bb00');
      await page.getByTestId('kit-save').click();
      await expectText(s, 'kit-saved', 'Saved', 'saving the colours');
      await page.reload({ waitUntil: 'load' });
      const colors = await colorValues(s);
      const expected = ['#aa0000', '#f78166', '#00bb00'];
      if (colors.join(',') !== expected.join(',')) throw new CheckFailure(`after a reload the kit has colours ${colors.join(', ') || 'none'}, expected ${expected.join(', ')} (the edit was not saved)`);
    });

    await step('start a job', async () => {
      await page.getByTestId('nav-dashboard').click();
      await waitForPath(s, (p) => p === '/dashboard', 'the dashboard');
      await page.getByTestId('job-prompt').fill('perf browser journey: a launch banner');
      await page.getByTestId('job-kit').selectOption(kitId);
      await page.getByTestId('job-submit').click();
      await waitForPath(s, (p) => /^\/dashboard\/jobs\/[^/]+$/.test(p), 'the job page');
    });

    await step('watch progress', async () => {
      const seen: string[] = [];
      const deadline = performance.now() + JOB_WAIT_MS;
      let last: { status: string; progress: number; max: number } | undefined;
      while (performance.now() < deadline) {
        last = await page.evaluate(() => {
          const status = document.querySelector('[data-testid="job-status"]')?.textContent?.trim() ?? '';
          const bar = document.querySelector('[data-testid="job-progress"]') as HTMLProgressElement | null;
          return { status, progress: bar?.value ?? -1, max: bar?.max ?? -1 };
        });
        if (seen.at(-1) !== last.status) seen.push(last.status);
        if (last.status === 'completed' || last.status === 'failed') break;
        await page.waitForTimeout(JOB_POLL_MS);
      }
      ctx.measure('job_statuses', seen);
      const ranks = seen.map((st) => JOB_RANK[st]);
      if (ranks.some((r) => r === undefined)) throw new CheckFailure(`the job page showed an unknown status (seen: ${seen.join(' → ')})`);
      if (ranks.some((r, i) => i > 0 && r! < ranks[i - 1]!)) throw new CheckFailure(`the job status went backwards: ${seen.join(' → ')}`);
      if (last?.status !== 'completed') throw new CheckFailure(`the job did not complete within ${JOB_WAIT_MS} ms (seen: ${seen.join(' → ')})`);
      if (last.progress !== last.max) throw new CheckFailure(`the job completed but its progress bar shows ${last.progress} of ${last.max}`);
    });

    await step('view the asset', async () => {
      const link = page.getByTestId('asset-link').first();
      await link.waitFor({ state: 'visible' });
      const [response] = await Promise.all([page.waitForResponse((r) => r.request().isNavigationRequest() && /\/public\/assets\//.test(r.url())), link.click()]);
      const body = await response.body();
      const type = response.headers()['content-type'] ?? '';
      ctx.measure('asset', { status: response.status(), contentType: type, bytes: body.length });
      if (response.status() !== 200) throw new CheckFailure(`the asset link ${new URL(response.url()).pathname} answered ${response.status()}, expected 200`);
      if (body.length === 0) throw new CheckFailure(`the asset ${new URL(response.url()).pathname} is empty (${type})`);
    });

    await step('sign out', async () => {
      await s.open('/dashboard');
      await page.getByTestId('logout').click();
      await waitForPath(s, (p) => p === '/', 'the start page after signing out');
      await page.getByTestId('nav-login').waitFor({ state: 'visible' });
      await s.open('/dashboard');
      if (s.pathname !== new URL(f.loginPath, 'http://x').pathname) {
        throw new CheckFailure(`after signing out, /dashboard still opens (ended on ${s.pathname}, expected ${f.loginPath}): the session did not end`);
      }
    });

    if (s.pageErrors.length) throw new CheckFailure(`${s.pageErrors.length} uncaught page error(s) during the journey: ${s.pageErrors[0]!.split('\n')[0]}`);
  });
}

async function colorValues(s: BrowserSession): Promise<string[]> {
  return s.page.getByTestId('kit-color').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value.toLowerCase()));
}

async function badCredentials(ctx: CheckContext, f: FrontendConfig): Promise<void> {
  // A real account, so the error is about the password, not an unknown e-mail.
  const user = await signupOrLogin(ctx, new HttpClient(ctx), 'browser-bad-credentials');
  const wrong = `${user.password}-wrong`;
  ctx.redactor.addSecret(wrong);
  const step = stepper(ctx);
  await withBrowser(ctx, 'browser_bad_credentials', async (s) => {
    const { page } = s;
    await step('wrong password', async () => {
      await s.open(f.loginPath);
      await page.getByTestId('login-email').fill(user.email);
      await page.getByTestId('login-password').fill(wrong);
      await page.getByTestId('login-submit').click();
      const error = page.getByTestId('login-error');
      try {
        await error.filter({ hasText: /\S/ }).waitFor({ state: 'visible' });
      } catch {
        throw new CheckFailure(`no error shown after a wrong password (page ${s.pathname})`);
      }
      ctx.measure('error_text', (await error.textContent())?.trim());
      // Give a wrongly accepted login the time to navigate away before judging.
      await page.waitForTimeout(300);
      if (s.pathname !== new URL(f.loginPath, 'http://x').pathname) throw new CheckFailure(`a wrong password left the login page for ${s.pathname}`);
      const cookie = (await s.context.cookies()).find((c) => c.name === f.tokenCookie);
      if (cookie) throw new CheckFailure(`a wrong password set the session cookie ${f.tokenCookie}`);
    });
    if (s.pageErrors.length) throw new CheckFailure(`${s.pageErrors.length} uncaught page error(s): ${s.pageErrors[0]!.split('\n')[0]}`);
  });
}
