// The two browser pages: plain HTML with a little inline JS, no framework, no assets.
// Elements that browser tests drive carry data-testid attributes (the contract with perf's
// front-end checks; renaming one breaks those tests). The inline scripts run under a CSP
// nonce fresh per response; the favicon is an empty data: URL so browsers make no request
// that would 404 and show up as a console error.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';

const STYLE = `
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }
  form { display: flex; gap: .5rem; flex-wrap: wrap; margin: 1rem 0; }
  input { flex: 1; padding: .4rem; } button { padding: .4rem .8rem; }
  .error { color: #b00020; min-height: 1.4em; }
  ul { padding-left: 1.2rem; }
`;

function page(title: string, nonce: string, body: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
<script nonce="${nonce}">
${script}
</script>
</body>
</html>
`;
}

// GET /: log in, keep the key in localStorage['notes.key'], go to /app.
const LOGIN_BODY = `
<h1>Notes</h1>
<form data-testid="login-form">
  <input data-testid="username" name="username" autocomplete="username" placeholder="username" required>
  <input data-testid="password" name="password" type="password" autocomplete="current-password" placeholder="password" required>
  <button data-testid="login-submit" type="submit">Log in</button>
</form>
<p class="error" data-testid="login-error" role="alert"></p>`;

const LOGIN_SCRIPT = `
const form = document.querySelector('[data-testid="login-form"]');
const error = document.querySelector('[data-testid="login-error"]');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.textContent = '';
  const body = { username: form.elements.username.value, password: form.elements.password.value };
  try {
    const res = await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 200) {
      error.textContent = res.status === 403 ? 'Wrong username or password.' : 'Login failed (HTTP ' + res.status + ').';
      return;
    }
    const json = await res.json();
    localStorage.setItem('notes.key', json.data.key);
    location.assign('/app');
  } catch {
    error.textContent = 'The server could not be reached.';
  }
});`;

// GET /app: who am I, my notes, add a note, log out. Without a key (or with a key the
// server refuses) it goes back to /. body[data-ready] is set once the first render is done.
const APP_BODY = `
<h1>Notes of <span data-testid="whoami"></span></h1>
<form data-testid="note-form">
  <input data-testid="note-title" name="title" maxlength="200" placeholder="New note title" required>
  <button data-testid="note-add" type="submit">Add</button>
</form>
<p class="error" data-testid="app-error" role="alert"></p>
<ul data-testid="notes"></ul>
<button data-testid="logout" type="button">Log out</button>`;

const APP_SCRIPT = `
const KEY = 'notes.key';
const key = localStorage.getItem(KEY);
const $ = (id) => document.querySelector('[data-testid="' + id + '"]');

async function api(method, path, body) {
  const headers = { 'x-api-key': key };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status === 403) {
    localStorage.removeItem(KEY);
    location.replace('/');
    throw new Error('forbidden');
  }
  if (!res.ok) throw new Error(method + ' ' + path + ': HTTP ' + res.status);
  return res.status === 204 ? null : res.json();
}

async function renderNotes() {
  const { notes } = await api('GET', '/api/notes');
  $('notes').replaceChildren(...notes.map((note) => {
    const li = document.createElement('li');
    li.dataset.testid = 'note';
    li.dataset.noteId = String(note.id);
    li.textContent = note.title;
    return li;
  }));
}

async function start() {
  const me = await api('GET', '/api/me');
  $('whoami').textContent = me.username;
  await renderNotes();
  document.body.dataset.ready = 'true';
}

$('note-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = $('note-title');
  $('app-error').textContent = '';
  try {
    await api('POST', '/api/notes', { title: input.value });
    input.value = '';
    await renderNotes();
  } catch (err) {
    $('app-error').textContent = String(err.message || err);
  }
});

// Forgets the key in this browser only; POST /api/logout is what revokes a key server-side.
$('logout').addEventListener('click', () => {
  localStorage.removeItem(KEY);
  location.assign('/');
});

if (!key) location.replace('/');
else start().catch((err) => { $('app-error').textContent = String(err.message || err); });`;

export function sendPage(res: ServerResponse, which: 'login' | 'app'): void {
  const nonce = randomBytes(16).toString('base64');
  const html =
    which === 'login'
      ? page('Notes: log in', nonce, LOGIN_BODY, LOGIN_SCRIPT)
      : page('Notes', nonce, APP_BODY, APP_SCRIPT);
  res.statusCode = 200;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.setHeader(
    'content-security-policy',
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  );
  res.setHeader('content-length', Buffer.byteLength(html));
  res.end(html);
}
