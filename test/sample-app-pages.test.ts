// The web pages in a real browser: headless Chromium driven over the DevTools protocol (no
// Playwright needed): sign-in redirect, login, brand-kit create/edit, a job followed to its
// asset link, logout — with no console error or uncaught exception on the way.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { startSampleApp, type SampleAppHandle } from '../sample-app/index.ts';
import { waitFor } from './sample-app-helpers.ts';

const chromiumPath = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

/** A minimal DevTools-protocol page client. */
class Page {
  #ws: WebSocket;
  #id = 0;
  #pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  readonly problems: string[] = [];

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      if (msg.id !== undefined) {
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result);
      } else if (msg.method === 'Runtime.exceptionThrown') {
        this.problems.push(`exception: ${msg.params.exceptionDetails.exception?.description ?? msg.params.exceptionDetails.text}`);
      } else if (msg.method === 'Runtime.consoleAPICalled' && msg.params.type === 'error') {
        this.problems.push(`console.error: ${JSON.stringify(msg.params.args.map((a: { value?: unknown }) => a.value))}`);
      } else if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error') {
        this.problems.push(`log: ${msg.params.entry.text} ${msg.params.entry.url ?? ''}`);
      }
    });
  }

  static async open(wsUrl: string): Promise<Page> {
    const ws = new WebSocket(wsUrl);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const page = new Page(ws);
    await Promise.all([page.send('Page.enable'), page.send('Runtime.enable'), page.send('Log.enable')]);
    return page;
  }

  send(method: string, params: object = {}): Promise<any> {
    const id = ++this.#id;
    this.#ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  async eval<T = any>(expression: string): Promise<T> {
    const result = await this.send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true });
    if (result.exceptionDetails) throw new Error(`evaluate failed: ${result.exceptionDetails.exception?.description}`);
    return result.result.value as T;
  }

  async goto(url: string): Promise<void> {
    await this.send('Page.navigate', { url });
    await this.settled();
  }

  /** Waits until the document is complete and its deferred script ran. */
  async settled(): Promise<void> {
    await waitFor(() => this.eval<boolean>(`document.readyState === 'complete'`).catch(() => false), 10_000, 30);
  }

  path(): Promise<string> {
    return this.eval('location.pathname + location.search');
  }

  fill(testId: string, value: string): Promise<void> {
    return this.eval(
      `(() => { const el = document.querySelector('[data-testid="${testId}"]'); el.value = ${JSON.stringify(value)}; el.dispatchEvent(new Event('input', { bubbles: true })); })()`,
    );
  }

  click(testId: string): Promise<void> {
    return this.eval(`document.querySelector('[data-testid="${testId}"]').click()`);
  }

  text(testId: string): Promise<string | null> {
    return this.eval(`document.querySelector('[data-testid="${testId}"]')?.textContent ?? null`);
  }

  close(): void {
    this.#ws.close();
  }
}

let app: SampleAppHandle;
let browser: ChildProcess | undefined;
let profile: string;
let page: Page;

before(async () => {
  app = await startSampleApp({ seed: { users: 1 }, timings: { jobStepMs: 50 } });
  // Not skipped without a browser: a silent skip would pass CI (which has Chromium) for nothing.
  assert.ok(chromiumPath, 'these tests need Chromium: apt-get install chromium (scripts/setup.sh installs it)');
  profile = await mkdtemp(path.join(os.tmpdir(), 'sample-app-cdp-'));
  browser = spawn(chromiumPath, ['--headless=new', '--no-sandbox', '--disable-gpu', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const browserWs = await new Promise<string>((resolve, reject) => {
    let err = '';
    browser!.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    browser!.once('exit', (code) => reject(new Error(`chromium exited (${code}): ${err}`)));
  });
  const port = new URL(browserWs).port;
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
  page = await Page.open(targets.find((t) => t.type === 'page')!.webSocketDebuggerUrl);
});

after(async () => {
  try {
    page?.close();
    if (browser && browser.exitCode === null) {
      const exited = new Promise((resolve) => browser!.once('exit', resolve));
      browser.kill('SIGTERM');
      await exited;
    }
    // Chromium's helper processes may still be writing the profile for a moment after it exits.
    if (profile) await rm(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  } finally {
    // Whatever failed above, the app (and its embedded PostgreSQL) must stop, or this process never exits.
    await app?.stop();
  }
});

test('a user signs in, edits a brand kit, follows a job to its asset and signs out, in Chromium', async () => {
  const base = app.baseUrl;
  const seedUser = app.seedUsers[0]!;

  await page.goto(`${base}/`);
  assert.equal(await page.eval(`document.querySelector('[data-testid="cta"]').getAttribute('href')`), '/signup');

  await page.goto(`${base}/dashboard`);
  assert.equal(await page.path(), '/login?next=%2Fdashboard', 'signed-out visitors are sent to the login page');

  await page.fill('login-email', seedUser.email);
  await page.fill('login-password', 'wrong password');
  await page.click('login-submit');
  await waitFor(async () => (await page.text('login-error')) || null);
  assert.match((await page.text('login-error'))!, /wrong e-mail or password/);
  page.problems.length = 0; // the 401 above is an expected console entry

  await page.fill('login-password', app.seedPassword);
  await page.click('login-submit');
  await waitFor(async () => (await page.path()) === '/dashboard', 5_000);
  await page.settled();
  assert.match((await page.text('dashboard-user'))!, new RegExp(seedUser.email.replace(/\./g, '\\.')));
  assert.ok(await page.eval(`document.cookie.includes('sample_app_token=')`));

  await page.goto(`${base}/dashboard/brand-kits`);
  await page.fill('kit-name', 'Browser kit');
  await page.fill('kit-colors-input', '#ff0000, #00ff00');
  await page.click('kit-submit');
  await waitFor(async () => /^\/dashboard\/brand-kits\/[0-9a-f-]{36}$/.test(await page.path()), 5_000);
  await page.settled();
  assert.deepEqual(await page.eval(`[...document.querySelectorAll('[data-testid="kit-color"]')].map((i) => i.value)`), ['#ff0000', '#00ff00']);
  await page.fill('kit-name', 'Renamed in the browser');
  await page.click('kit-save');
  await waitFor(async () => (await page.text('kit-saved')) === 'Saved', 5_000);

  await page.goto(`${base}/dashboard`);
  await page.fill('job-prompt', 'Browser job');
  await page.click('job-submit');
  await waitFor(async () => /^\/dashboard\/jobs\/[0-9a-f-]{36}$/.test(await page.path()), 5_000);
  await waitFor(async () => (await page.text('job-status')) === 'completed', 5_000);
  const links = await waitFor(async () => {
    const hrefs = await page.eval<string[]>(`[...document.querySelectorAll('[data-testid="asset-link"]')].map((a) => a.getAttribute('href'))`);
    return hrefs.length ? hrefs : null;
  });
  assert.equal(links.length, 2);
  assert.equal((await fetch(`${base}${links[0]}`)).status, 200);

  await page.click('logout');
  await waitFor(async () => (await page.path()) === '/', 5_000);
  await page.settled();
  assert.equal(await page.eval(`document.cookie.includes('sample_app_token=')`), false);
  await page.goto(`${base}/dashboard`);
  assert.match(await page.path(), /^\/login/);

  assert.deepEqual(page.problems, [], 'no console errors or uncaught exceptions');
});
