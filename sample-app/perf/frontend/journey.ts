/**
 * sample-app's main browser journey, through its pages only (no API shortcuts), by the
 * `data-testid`s of sample-app/README.md ("Web pages"):
 *
 *   signup → login (a new visit) → create a brand kit → edit its colours (saved, still there after
 *   a reload) → start a job with that kit → watch its progress to `completed` (statuses only move
 *   forward) → view the asset → sign out (the dashboard then sends to the login page).
 *
 * An uncaught error in any page fails it. Each attempt signs up a new account (the attempt number
 * is in its label), so a retry never meets the failed attempt's account.
 */
import { browserFlow, expect } from 'perf-harness';

/** How long a job may take from its page opening to `completed`. */
const JOB_WAIT_MS = 20_000;
/** Job statuses in the order the job page may show them. */
const STATUS_RANK: Record<string, number> = { queued: 1, running: 2, completed: 3, failed: 3 };
const KIT_ID = /^\/dashboard\/brand-kits\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

browserFlow(
  'browser_journey',
  { description: 'signup → login → create brand kit → edit colours → start a job → watch its progress → view the asset → sign out' },
  async ({ page, context, baseURL, users, step, measure, info }) => {
    // The browser types this identity's password: perf registers it for redaction.
    const me = users.identity(`browser-journey-${info.attempt}`);
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    const open = (path: string) => page.goto(new URL(path, baseURL).href);
    const pathname = () => new URL(page.url()).pathname;
    /** Waits until the page is on `want`; if it never gets there, says where it is and the error it shows. */
    const arrive = async (want: string | RegExp, what: string) => {
      const ok = (p: string) => (typeof want === 'string' ? p === want : want.test(p));
      await page.waitForURL((u) => ok(u.pathname)).catch(() => undefined);
      if (ok(pathname())) return;
      const shown = await page.locator('.error').filter({ hasText: /\S/ }).first().textContent({ timeout: 200 }).catch(() => null);
      throw new Error(`expected ${what}, still on ${pathname()}${shown ? ` showing "${shown.trim()}"` : ''}`);
    };
    const colours = async () => Promise.all((await page.getByTestId('kit-color').all()).map(async (input) => (await input.inputValue()).toLowerCase()));

    await step('signup', async () => {
      await open('/signup');
      await page.getByTestId('signup-name').fill(me.name);
      await page.getByTestId('signup-email').fill(me.email);
      await page.getByTestId('signup-password').fill(me.password);
      await page.getByTestId('signup-submit').click();
      await arrive('/dashboard', 'the dashboard after signing up');
      expect(await page.getByTestId('dashboard-user').textContent()).toContain(me.email);
    });

    await step('login', async () => {
      // A new visit: no session left from the signup.
      await context.clearCookies();
      await open('/login');
      await page.getByTestId('login-email').fill(me.email);
      await page.getByTestId('login-password').fill(me.password);
      await page.getByTestId('login-submit').click();
      await arrive('/dashboard', 'the dashboard after logging in');
      expect(await page.getByTestId('dashboard-user').textContent()).toContain(me.email);
    });

    const kitId = await step('create brand kit', async () => {
      await page.getByTestId('nav-brand-kits').click();
      await arrive('/dashboard/brand-kits', 'the brand-kit list');
      await page.getByTestId('kit-name').fill('perf browser kit');
      await page.getByTestId('kit-colors-input').fill('#1f6feb, #f78166');
      await page.getByTestId('kit-submit').click();
      await arrive(KIT_ID, 'the new kit in its editor (its id in the URL)');
      expect(await colours()).toEqual(['#1f6feb', '#f78166']);
      return KIT_ID.exec(pathname())![1]!;
    });

    await step('edit colours', async () => {
      await page.getByTestId('kit-color').nth(0).fill('#aa0000');
      await page.getByTestId('kit-add-color').click();
      await page.getByTestId('kit-color').nth(2).fill('#00bb00');
      await page.getByTestId('kit-save').click();
      await page.getByTestId('kit-saved').filter({ hasText: 'Saved' }).waitFor();
      // Still there after a reload: the edit was stored, not only shown.
      await page.reload();
      expect(await colours()).toEqual(['#aa0000', '#f78166', '#00bb00']);
    });

    await step('start a job', async () => {
      await page.getByTestId('nav-dashboard').click();
      await arrive('/dashboard', 'the dashboard');
      await page.getByTestId('job-prompt').fill('perf browser journey: a launch banner');
      await page.getByTestId('job-kit').selectOption(kitId);
      await page.getByTestId('job-submit').click();
      await arrive(/^\/dashboard\/jobs\/[^/]+$/, 'the job page');
    });

    await step('watch progress', async () => {
      const seen: string[] = [];
      const status = page.getByTestId('job-status');
      const progress = page.getByTestId('job-progress');
      // The page polls the API itself; the flow watches what it shows until the job ends.
      const deadline = Date.now() + JOB_WAIT_MS;
      while (Date.now() < deadline) {
        const now = ((await status.textContent()) ?? '').trim();
        if (seen.at(-1) !== now) seen.push(now);
        if (now === 'completed' || now === 'failed') break;
        await page.waitForTimeout(50);
      }
      measure('job_statuses', seen);
      // Only known statuses, only moving forward (queued → running → completed), ending completed.
      expect(seen.filter((st) => !(st in STATUS_RANK))).toEqual([]);
      expect(seen).toEqual([...seen].sort((a, b) => STATUS_RANK[a]! - STATUS_RANK[b]!));
      expect(seen.at(-1)).toBe('completed');
      // ... with a full progress bar.
      expect(await progress.getAttribute('value')).toBe(await progress.getAttribute('max'));
    });

    await step('view the asset', async () => {
      const link = page.getByTestId('asset-link').first();
      const [response] = await Promise.all([page.waitForResponse((r) => r.request().isNavigationRequest() && r.url().includes('/public/assets/')), link.click()]);
      const body = await response.body();
      const contentType = response.headers()['content-type'] ?? '';
      measure('asset', { status: response.status(), contentType, bytes: body.length });
      expect(response.status()).toBe(200);
      expect(body.length).toBeGreaterThan(0);
    });

    await step('sign out', async () => {
      await open('/dashboard');
      await page.getByTestId('logout').click();
      await arrive('/', 'the start page after signing out');
      await page.getByTestId('nav-login').waitFor();
      await open('/dashboard');
      // Signed out, the dashboard sends to the login page: the session really ended.
      expect(pathname()).toBe('/login');
    });

    // No page threw an uncaught error anywhere in the journey.
    expect([...new Set(pageErrors)]).toEqual([]);
  },
);
