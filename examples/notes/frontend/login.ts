// The pages as a person uses them: log in through the form, add a note, see it listed.
import { browserFlow, expect } from 'perf-harness';

browserFlow('browser_login_add_note', { description: 'log in through the form at /, add a note on /app, see it in the list' }, async ({ page, baseURL, users, step }) => {
  const me = await users.create('web-form');
  const title = `Bought milk ${Date.now()}`;

  await step('log in through the form', async () => {
    await page.goto(new URL('/', baseURL).href);
    await page.getByTestId('username').fill(me.username);
    await page.getByTestId('password').fill(me.password);
    await page.getByTestId('login-submit').click();
    await page.waitForURL((u) => u.pathname === '/app');
    await page.locator('body[data-ready=true]').waitFor();
    expect(await page.getByTestId('whoami').textContent()).toBe(me.username);
    // The page keeps its key where frontend.signIn says.
    expect(await page.evaluate(() => localStorage.getItem('notes.key'))).toMatch(/^nk_/);
  });

  await step('add a note', async () => {
    await page.getByTestId('note-title').fill(title);
    await page.getByTestId('note-add').click();
    await page.getByTestId('note').filter({ hasText: title }).waitFor();
  });

  await step('the note is mine, with an integer id', async () => {
    const ids = await page.getByTestId('note').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.noteId));
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatch(/^[0-9]+$/);
  });
});

browserFlow('browser_bad_login', { description: 'a wrong password shows an error and stays on /' }, async ({ page, baseURL, users, step }) => {
  const me = await users.create('web-bad');
  await step('submit a wrong password', async () => {
    await page.goto(new URL('/', baseURL).href);
    await page.getByTestId('username').fill(me.username);
    await page.getByTestId('password').fill('wrong-password');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-error').filter({ hasText: /./ }).waitFor();
  });
  expect(new URL(page.url()).pathname).toBe('/');
  expect(await page.evaluate(() => localStorage.getItem('notes.key'))).toBeNull();
});
