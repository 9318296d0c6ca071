// perf's sign-in path to the pages (frontend.signIn: the key in localStorage['notes.key']):
// a user made through `auth`, with a note made through the API, opens /app directly.
import { browserFlow, expect } from 'perf-harness';

browserFlow('browser_signed_in_notes', { description: 'signed in by perf, /app shows my account and the note I made through the API' }, async ({ page, baseURL, api, users, signIn, step }) => {
  const me = await users.create('web-signed-in');
  const made = await step('a note through the API', () => api.as(me).post('/api/notes', { title: 'Made through the API' }));
  expect(made).toHaveStatus(201);

  await step('sign in', () => signIn(me));

  await step('open /app', async () => {
    await page.goto(new URL('/app', baseURL).href);
    await page.locator('body[data-ready=true]').waitFor();
    expect(new URL(page.url()).pathname).toBe('/app');
    expect(await page.getByTestId('whoami').textContent()).toBe(me.username);
    const note = page.getByTestId('note');
    expect(await note.count()).toBe(1);
    expect(await note.textContent()).toContain('Made through the API');
    expect(await note.getAttribute('data-note-id')).toBe(String(made.json.note.id));
  });

  await step('log out', async () => {
    await page.getByTestId('logout').click();
    await page.waitForURL((u) => u.pathname === '/');
    await page.getByTestId('login-form').waitFor();
    // Not asserted: localStorage['notes.key'] is empty now. perf's localStorage sign-in puts the
    // key back before every page's scripts run (like a remembered login), so it is there again.
  });
});
