/**
 * perf's sign-in path to the pages (`frontend.signIn` in perf.config.ts: the user's token in
 * sample-app's `sample_app_token` cookie): a user made through `auth`, signed in without the
 * form, opens the dashboard directly and sees who they are, instead of being sent to the login
 * page.
 */
import { browserFlow, expect } from 'perf-harness';

browserFlow(
  'browser_signed_in_dashboard',
  { description: 'a test user signed in by perf (frontend.signIn) opens the dashboard and sees their own account' },
  async ({ page, baseURL, users, signIn, step }) => {
    const user = await users.create('browser-signed-in');
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    await step('sign in', () => signIn(user));

    await step('open the dashboard', async () => {
      await page.goto(new URL('/dashboard', baseURL).href);
      // Signed in, the dashboard opens (signed out it would send to /login).
      expect(new URL(page.url()).pathname).toBe('/dashboard');
      expect(await page.getByTestId('dashboard-user').textContent()).toContain(`Signed in as ${user.email}`);
      expect(await page.getByTestId('nav-user').textContent()).toBe(user.email);
    });

    expect([...new Set(pageErrors)]).toEqual([]);
  },
);
