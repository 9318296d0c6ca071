/**
 * Browser plumbing for the front-end phases: find the system's Chromium, launch it headless
 * with the flags this kind of machine needs, and share one browser per phase.
 *
 * Contract:
 * - perf never downloads a browser. It uses an installed Chromium: `PERF_CHROMIUM` when set (and
 *   then only that one: a wrong path is an error, never silently replaced by another browser),
 *   else the usual system paths, else `chromium` on PATH. `requireChromium` turns "none found"
 *   into a `UserError` carrying the install hint (the CLI exits 2).
 * - Launching is the only thing that imports `playwright-core`, so runs without front-end phases
 *   (and `perf doctor`, and the pre-flight) never load it.
 * - One browser per phase, a fresh context per check: `acquireBrowser(ctx)` keeps the browser in
 *   the phase's `ctx.shared` map and counts its users. A phase has no teardown hook for checks,
 *   so the browser closes itself once nobody has used it for `IDLE_CLOSE_MS`: long enough to
 *   span the gap between checks and a first retry's backoff, short enough that a run's exit is
 *   not held up (an open browser keeps Node's event loop alive). `closeSharedBrowser` closes it
 *   at once (tests).
 */
import { accessSync, constants, statSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import type { CheckContext } from '../checks/types.ts';
import type { PhaseName } from '../config/config-schema.ts';
import { UserError } from '../errors.ts';
import { whichSync } from '../k6/k6.ts';

export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const CHROMIUM_INSTALL_HINT =
  'The front-end phases need Chromium: `apt-get install chromium` (Debian/Ubuntu), or set PERF_CHROMIUM to a Chromium or Chrome binary. ' +
  'perf does not download browsers. Or run without them: --skip frontend-smoke,frontend-flows';

/**
 * Flags for a headless Chromium running as root on a closed network: no sandbox (root), no GPU,
 * and none of Chromium's own background connections (QUIC, component updates, sync, field
 * trials), which would otherwise try the network and add noise to page timings.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The phases that drive a browser: selecting any of them requires Chromium before the run starts. */
export const BROWSER_PHASES: readonly PhaseName[] = ['frontend-smoke', 'frontend-flows'];

const LAUNCH_TIMEOUT_MS = 30_000;
export const IDLE_CLOSE_MS = 1_000;
const SHARED_KEY = 'perf.browser';

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The Chromium perf would use, or undefined. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.PERF_CHROMIUM) return isExecutableFile(env.PERF_CHROMIUM) ? env.PERF_CHROMIUM : undefined;
  return CHROMIUM_CANDIDATES.find(isExecutableFile) ?? whichSync('chromium', env) ?? whichSync('chromium-browser', env);
}

/** The Chromium to use; a `UserError` with the install hint when there is none. */
export function requireChromium(env: NodeJS.ProcessEnv = process.env): string {
  const found = findChromium(env);
  if (found) return found;
  const where = env.PERF_CHROMIUM
    ? `PERF_CHROMIUM is ${env.PERF_CHROMIUM}, which is not an executable file`
    : `looked at ${CHROMIUM_CANDIDATES.join(', ')} and for chromium on PATH`;
  throw new UserError(`no Chromium found for the front-end phases (${where})`, CHROMIUM_INSTALL_HINT);
}

/** Launches headless Chromium (the caller closes it). */
export async function launchChromium(executablePath: string = requireChromium()): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  try {
    return await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: LAUNCH_TIMEOUT_MS });
  } catch (e) {
    // Playwright's message carries the browser's own log; its first line says what happened.
    throw new Error(`could not launch Chromium (${executablePath}): ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
}

interface SharedBrowserState {
  browser?: Promise<Browser>;
  users: number;
  idle?: NodeJS.Timeout;
}

export interface BrowserLease {
  browser: Browser;
  /** Idempotent. The last release of a phase starts the idle close. */
  release(): void;
}

/** The phase's browser, launched on first use (see the file's contract). */
export async function acquireBrowser(ctx: Pick<CheckContext, 'shared'>, env: NodeJS.ProcessEnv = process.env): Promise<BrowserLease> {
  let state = ctx.shared.get(SHARED_KEY) as SharedBrowserState | undefined;
  if (!state) {
    state = { users: 0 };
    ctx.shared.set(SHARED_KEY, state);
  }
  const s = state;
  clearTimeout(s.idle);
  s.users++;
  try {
    if (!s.browser) {
      const launching = launchChromium(requireChromium(env));
      s.browser = launching;
      // A crashed or closed browser is forgotten, so the next check launches a new one.
      launching.then(
        (b) => b.on('disconnected', () => s.browser === launching && (s.browser = undefined)),
        () => s.browser === launching && (s.browser = undefined),
      );
    }
    const browser = await s.browser;
    let released = false;
    return {
      browser,
      release() {
        if (released) return;
        released = true;
        s.users--;
        if (s.users === 0) {
          s.idle = setTimeout(() => void closeState(s), IDLE_CLOSE_MS);
          // Never the reason the process stays up: an open browser keeps the loop alive anyway,
          // and playwright kills its browsers when the process exits.
          s.idle.unref();
        }
      },
    };
  } catch (e) {
    s.users--;
    throw e;
  }
}

async function closeState(s: SharedBrowserState): Promise<void> {
  clearTimeout(s.idle);
  const browser = s.browser;
  s.browser = undefined;
  if (!browser) return;
  await browser.then((b) => b.close()).catch(() => undefined);
}

/** Closes the phase's browser now (whoever still uses it gets errors from its pages). */
export async function closeSharedBrowser(shared: Map<string, unknown>): Promise<void> {
  const s = shared.get(SHARED_KEY) as SharedBrowserState | undefined;
  if (s) await closeState(s);
}
