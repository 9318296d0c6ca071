/**
 * A wrong password on sample-app's login page: the page shows an error, stays on the login page,
 * and sets no session (sample-app keeps the session's token in the `sample_app_token` cookie).
 * The account is real (made through `auth`), so the error is about the password, not an unknown
 * e-mail address.
 */
import { browserFlow, expect } from 'perf-harness';

browserFlow(
  'browser_bad_credentials',
  { description: 'a wrong password shows an error, stays on the login page, sets no session cookie' },
  async ({ page, context, baseURL, users, step, measure }) => {
    const user = await users.create('browser-bad-credentials');
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    await step('wrong password', async () => {
      await page.goto(new URL('/login', baseURL).href);
      await page.getByTestId('login-email').fill(user.email);
      // The real password with a suffix: redacted wherever the real one would be.
      await page.getByTestId('login-password').fill(`${user.password}-wrong`);
      await page.getByTestId('login-submit').click();
      const error = page.getByTestId('login-error').filter({ hasText: /\S/ });
      await error.waitFor({ state: 'visible' });
      measure('error_text', (await error.textContent())?.trim());
      // Give a wrongly accepted login the time to navigate away before judging.
      await page.waitForTimeout(300);
      // Still on the login page, and no session: the pages keep it in the sample_app_token cookie.
      expect(new URL(page.url()).pathname).toBe('/login');
      expect((await context.cookies()).map((c) => c.name)).not.toContain('sample_app_token');
    });

    expect([...new Set(pageErrors)]).toEqual([]);
  },
);
