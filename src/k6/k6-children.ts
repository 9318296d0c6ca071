/**
 * The k6 processes perf has running right now, so that perf never exits while one of them is
 * still loading the target.
 *
 * Contract, by interrupt:
 * - first Ctrl-C (or SIGTERM): runK6 sends k6 SIGINT itself; k6 stops the test, runs the
 *   script's teardown and writes its summary. perf waits for it (runK6 escalates on its own
 *   after K6_STOP_GRACE_MS).
 * - second: `escalateK6()` — k6's own "abort now" (a second SIGINT: k6 exits at once, without
 *   teardown or summary), then SIGKILL for any k6 still there K6_KILL_AFTER_MS later. The CLI
 *   waits for them with `k6Reaped()`, bounded, before it exits.
 * - perf exiting by any path (a third Ctrl-C, an internal error): every k6 still registered
 *   gets SIGKILL from the process `exit` hook, so none outlives perf.
 */

/** After the first interrupt, how long k6 has to stop on its own (teardown, summary) before perf escalates. */
export const K6_STOP_GRACE_MS = 15_000;
/** After the escalating SIGINT, how long before SIGKILL. */
export const K6_KILL_AFTER_MS = 5_000;

export interface LiveK6 {
  pid: number;
  /** The second SIGINT now, SIGKILL after K6_KILL_AFTER_MS unless it has exited. Idempotent. */
  escalate(): void;
  /** SIGKILL now. */
  kill(): void;
  /** Settles when the process has exited and its pipes are closed. */
  closed: Promise<void>;
}

const live = new Set<LiveK6>();
let exitHook = false;

/** Registers a running k6 until its `closed` settles. */
export function trackK6(child: LiveK6): void {
  live.add(child);
  void child.closed.finally(() => live.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of live) c.kill();
    });
  }
}

/** How many k6 processes perf has running. */
export function liveK6Count(): number {
  return live.size;
}

/** The second interrupt: every running k6 aborts now (SIGINT, then SIGKILL). */
export function escalateK6(): void {
  for (const c of live) c.escalate();
}

/** SIGKILL to every running k6. */
export function killK6(): void {
  for (const c of live) c.kill();
}

/** Resolves true once no k6 is running, false if some still are after `timeoutMs`. */
export async function k6Reaped(timeoutMs: number): Promise<boolean> {
  if (!live.size) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), timeoutMs);
  });
  const all = Promise.allSettled([...live].map((c) => c.closed)).then(() => true as const);
  try {
    return await Promise.race([all, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
