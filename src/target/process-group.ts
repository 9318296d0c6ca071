/**
 * Process groups of the processes perf starts (the sample app, `target.start` services): each
 * child leads its own group, so whatever it spawns goes with it.
 *
 * Contract of `stopProcessGroup(pgid, { graceMs, term, gone })`:
 * - nothing to do (undefined) when no process of the group runs;
 * - else SIGTERM, to the leader only (`term: 'leader'`: an app that shuts its own children down
 *   gracefully) or to the whole group (`term: 'group'`); then up to `graceMs` for the group to be
 *   gone (and `gone()`, when given, to say so too); past that SIGKILL to the whole group, and up
 *   to 5 s more for it to go;
 * - resolves to the signal that ended it: 'SIGTERM' (stopped within the grace) or 'SIGKILL'.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';

/** After SIGKILL, how long to wait for the group to be gone. */
const KILL_WAIT_MS = 5_000;

export interface StopGroupOptions {
  graceMs: number;
  /** Who gets the SIGTERM: the group's leader, or every process of the group. */
  term: 'leader' | 'group';
  /** An extra condition for "stopped" within the grace (e.g. the leader's exit was seen). */
  gone?: () => boolean;
}

export async function stopProcessGroup(pgid: number, o: StopGroupOptions): Promise<'SIGTERM' | 'SIGKILL' | undefined> {
  if (!groupAlive(pgid)) return undefined;
  if (o.term === 'leader') signalPid(pgid, 'SIGTERM');
  else signalGroup(pgid, 'SIGTERM');
  const gone = o.gone;
  const clean = await waitUntil(() => (gone ? gone() : true) && !groupAlive(pgid), o.graceMs);
  if (clean) return 'SIGTERM';
  signalGroup(pgid, 'SIGKILL');
  await waitUntil(() => !groupAlive(pgid), KILL_WAIT_MS);
  return 'SIGKILL';
}

/** The state letter and process group of `pid` from /proc (Linux), or null. */
export function procStat(pid: string | number): { state: string; pgrp: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

/**
 * Whether any process of group `pgid` still runs. Zombies do not count: an orphaned app that
 * exited stays a zombie forever under an init that does not reap (as in some containers and
 * micro-VMs), and kill(-pgid, 0) cannot tell it from a live one, so on Linux /proc decides.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux' || !existsSync('/proc/self/stat')) return true;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') return true;
  }
  return false;
}

/** Sends `signal` to every process of group `pgid`; a group already gone is no error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` every `stepMs` until it holds (true) or `timeoutMs` passed (its last answer). */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await delay(stepMs);
  }
  return predicate();
}
