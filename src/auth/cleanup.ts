/**
 * What a run created on the service, and its removal at the end of the run.
 *
 * Contract:
 * - every user a `UserFactory` creates (a signup that succeeded, or a module's createUser()) is
 *   tracked in a registry owned by the run (keyed by run id: phases and checks share it without
 *   wiring); a login of an account that existed is not a creation; one identity counts once;
 * - so is every k6 load user the load signed up (`perf_test_users_created{label}`, tracked by
 *   src/auth/load-users.ts after the load, `load: true`);
 * - every identity `users.identity(label)` handed out is "possibly created" (a flow that tests
 *   sign-up signs it up its own way): the cleanup checks each by logging it in (`check`, src/auth/load-users.ts):
 *   an account that does not exist (a 4xx) is not the run's and not counted; one that does is
 *   counted as created and removed like the others; one that cannot be checked (no `auth.login`,
 *   the service did not answer, the deadline) is named in the note as "unknown: could not check";
 * - `cleanupRunUsers` (run-level teardown, before the target stops) removes each tracked user
 *   the service's way: `auth.cleanup` made as that user (logged in again once when the answer
 *   is not an expected status and `auth.login` exists: a token may have expired by then), or the
 *   module's `removeUser`; at most 4 at once, within 30 s: what was not tried by then is left
 *   behind, and said so; never throws;
 * - `testDataOf` is the verdict's `testData`: created (of which load users), removed, and the
 *   identities left behind, with a note saying why when anything was left behind.
 */
import type { TestUser } from '../api/types.ts';
import type { CheckContext, Evidence, ResolvedTarget } from '../checks/types.ts';
import type { ResolvedConfig } from '../config/config-schema.ts';
import type { Redactor } from '../redact/redact.ts';

/** How long the whole cleanup may take (it runs after the last phase, also after Ctrl-C). */
const CLEANUP_TIMEOUT_MS = 30_000;

export interface TestData {
  usersCreated: number;
  usersRemoved: number;
  /** Identities (e-mail, or username for services that sign up by username) of users not removed. */
  leftBehind: string[];
  /** How many of `usersCreated` are k6 load users (`vu<n>`); present when the load signed any up. */
  loadUsersCreated?: number;
  note?: string;
}

export interface TrackedUser {
  /** The identity reported when it is left behind. */
  identity: string;
  user: TestUser;
  /** Removes it (a request as the user, or the module's removeUser) in the cleanup's own context; absent: no way configured. */
  remove?: (ctx: CheckContext) => Promise<void>;
  /** A k6 load user (`vu<n>`), made by the load's k6 processes. */
  load?: boolean;
  /** Why there is no `remove` (the note's words); default: no auth.cleanup / no removeUser(). */
  why?: string;
}

/** An identity `users.identity(label)` handed out: a flow may have signed it up on its own. */
export interface HandedOutIdentity {
  /** As in `TrackedUser.identity`. */
  identity: string;
  /**
   * Logs it in (in the cleanup's context): 'absent' when the service has no such account, else
   * the user as tracked (with its way to remove, or why there is none); throws when it cannot tell.
   */
  check: (ctx: CheckContext) => Promise<TrackedUser | 'absent'>;
}

interface RunUsers {
  /** `create(label)` calls so far in the run, per label (src/auth/users.ts numbers them). */
  labels: Map<string, number>;
  created: Map<string, TrackedUser>;
  /** Identities `users.identity()` handed out, checked (and removed when they exist) by the cleanup. */
  handedOut: Map<string, HandedOutIdentity>;
  /** Handed-out identities the cleanup could not check, and why. */
  unchecked: { identity: string; why: string }[];
  removed: Set<string>;
  failures: string[];
  /** Users the cleanup did not get to before its deadline. */
  notTried: number;
  /** The cleanup's deadline, for the note. */
  timeoutMs: number;
}

const runs = new Map<string, RunUsers>();

function registry(runId: string): RunUsers {
  let r = runs.get(runId);
  if (!r) {
    r = { labels: new Map(), created: new Map(), handedOut: new Map(), unchecked: [], removed: new Set(), failures: [], notTried: 0, timeoutMs: CLEANUP_TIMEOUT_MS };
    runs.set(runId, r);
  }
  return r;
}

/**
 * The next number of `label` in this run: 1, 2, ... Run-wide, so a retried attempt, and a phase
 * that runs twice (db-integrity before and after load), each get new users.
 */
export function nextLabelNumber(runId: string, label: string): number {
  const r = registry(runId);
  const n = (r.labels.get(label) ?? 0) + 1;
  r.labels.set(label, n);
  return n;
}

/** Records a user this run created (once per identity). */
export function trackCreatedUser(runId: string, tracked: TrackedUser): void {
  const r = registry(runId);
  if (!r.created.has(tracked.identity)) r.created.set(tracked.identity, tracked);
}

/** Records an identity `users.identity()` handed out (once per identity): the cleanup checks it. */
export function trackHandedOutIdentity(runId: string, handed: HandedOutIdentity): void {
  const r = registry(runId);
  if (!r.handedOut.has(handed.identity)) r.handedOut.set(handed.identity, handed);
}

export interface CleanupOptions {
  runId: string;
  runDir: string;
  seed: number;
  redactor: Redactor;
  target: ResolvedTarget;
  concurrency?: number;
  timeoutMs?: number;
}

/**
 * Removes every user of the run not removed yet, at most `concurrency` at once, in a context of
 * its own (the checks that made the users are over). Never throws; returns the evidence of the
 * removals (redacted), for whoever wants to keep it.
 */
export async function cleanupRunUsers(opts: CleanupOptions): Promise<Evidence[]> {
  const r = registry(opts.runId);
  const todo = [...r.created.values()].filter((t) => t.remove && !r.removed.has(t.identity));
  // Handed-out identities the run did not track as created otherwise (users.user(label) of the same label).
  const toCheck = [...r.handedOut.values()].filter((h) => !r.created.has(h.identity));
  r.handedOut.clear();
  const evidence: Evidence[] = [];
  if (!todo.length && !toCheck.length) return evidence;
  let n = 0;
  const ctx: CheckContext = {
    target: opts.target,
    runId: opts.runId,
    runDir: opts.runDir,
    signal: AbortSignal.timeout((r.timeoutMs = opts.timeoutMs ?? CLEANUP_TIMEOUT_MS)),
    seed: opts.seed,
    shared: new Map(),
    redactor: opts.redactor,
    record: (e) => void evidence.push(e),
    correlationId: () => `perf-${opts.runId}-cleanup-${++n}`,
    measure: () => undefined,
  };
  const remove = async (t: TrackedUser): Promise<void> => {
    try {
      await t.remove!(ctx);
      r.removed.add(t.identity);
    } catch (e) {
      r.failures.push(`${t.identity}: ${firstLine(e)}`);
    }
  };
  // A handed-out identity: logged in first; only an account that exists is the run's (counted, then removed).
  const check = async (h: HandedOutIdentity): Promise<void> => {
    let found: TrackedUser | 'absent';
    try {
      found = await h.check(ctx);
    } catch (e) {
      r.unchecked.push({ identity: h.identity, why: firstLine(e) });
      return;
    }
    if (found === 'absent') return;
    trackCreatedUser(opts.runId, found);
    if (found.remove) await remove(found);
  };
  const jobs: (() => Promise<void>)[] = [...todo.map((t) => () => remove(t)), ...toCheck.map((h) => () => check(h))];
  const concurrency = Math.min(opts.concurrency ?? 4, 4);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
      // Past the deadline, no new removal (nor check) starts: the rest are left behind (testData says so).
      while (next < jobs.length && !ctx.signal.aborted) await jobs[next++]!();
    }),
  );
  r.notTried = Math.max(0, todo.length - next);
  const deadline = `the cleanup's ${Math.round(r.timeoutMs / 1000)} s deadline passed before it could be checked`;
  for (const h of toCheck.slice(Math.max(0, next - todo.length))) r.unchecked.push({ identity: h.identity, why: deadline });
  return evidence;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

/** The verdict's `testData` for this run (undefined when the run has no `auth` and made no user). */
export function testDataOf(runId: string, config: Pick<ResolvedConfig, 'auth'>): TestData | undefined {
  const r = runs.get(runId);
  if (!config.auth && !r?.created.size && !r?.unchecked.length) return undefined;
  const created = r ? [...r.created.values()] : [];
  const removed = created.filter((t) => r!.removed.has(t.identity)).length;
  const leftBehind = created.filter((t) => !r!.removed.has(t.identity)).map((t) => t.identity);
  const loadUsers = created.filter((t) => t.load).length;
  const data: TestData = { usersCreated: created.length, usersRemoved: removed, leftBehind, ...(loadUsers ? { loadUsersCreated: loadUsers } : {}) };
  if (leftBehind.length) {
    const parts: string[] = [];
    // Users no way was configured for, grouped by why.
    const noWay = new Map<string, TrackedUser[]>();
    for (const t of created.filter((t) => !t.remove)) {
      const why = t.why ?? (config.auth?.module ? 'the auth module exports no removeUser()' : 'no auth.cleanup configured');
      noWay.set(why, [...(noWay.get(why) ?? []), t]);
    }
    for (const [why, users] of noWay) {
      const load = users.filter((t) => t.load).length;
      parts.push(`${why}: ${users.length} test user(s) left behind${load ? ` (${load === users.length ? 'all' : load} of them k6 load users)` : ''}`);
    }
    const notTried = r!.notTried;
    if (notTried) parts.push(`the cleanup's ${Math.round(r!.timeoutMs / 1000)} s deadline passed before ${notTried} could be tried`);
    const failed = leftBehind.length - [...noWay.values()].reduce((n, u) => n + u.length, 0) - notTried;
    if (failed > 0) parts.push(`${failed} could not be removed (${r!.failures.slice(0, 3).join('; ')}${r!.failures.length > 3 ? '; …' : ''})`);
    data.note = parts.join('; ');
  }
  if (r?.unchecked.length) {
    // Not counted, not dropped: a flow may have signed them up, perf could not tell.
    const byWhy = new Map<string, string[]>();
    for (const u of r.unchecked) byWhy.set(u.why, [...(byWhy.get(u.why) ?? []), u.identity]);
    const unknown = [...byWhy].map(([why, ids]) => `${ids.slice(0, 3).join(', ')}${ids.length > 3 ? ` +${ids.length - 3} more` : ''} (${why})`);
    const part = `unknown: could not check ${r.unchecked.length} identit${r.unchecked.length === 1 ? 'y' : 'ies'} users.identity() handed out: ${unknown.join('; ')}`;
    data.note = data.note ? `${data.note}; ${part}` : part;
  }
  return data;
}

/** Drops the run's registry (after its verdict is written). */
export function forgetRun(runId: string): void {
  runs.delete(runId);
}
