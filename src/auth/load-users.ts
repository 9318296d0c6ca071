/**
 * k6 load users (`vu<n>`) in the run's test-data registry (src/auth/cleanup.ts).
 *
 * Contract:
 * - the load phase reports the labels the k6 side counted on `perf_test_users_created{label}`
 *   (scenarios/lib/auth.ts counts a signup that succeeded, never a login of an existing
 *   account); `trackLoadUsers` records each as a created user of the run (`load: true`), named
 *   in `testData.leftBehind` the way Node-side users are (username for services that sign up by
 *   username, else e-mail);
 * - its identity and password are the ones k6 derived: `identityFor` (the same HMAC of run id and
 *   label keyed by the seed, src/auth/template.ts), so perf can sign it in again;
 * - removal, in the run's cleanup (same deadline and concurrency as Node-side users): log in
 *   through `auth.login`, then the module's `removeUser` when `auth.module` exports one, else the
 *   `auth.cleanup` request as the user; without `auth.login`, or with no way to remove, the user
 *   is left behind with the reason (`why`) the verdict's note gives;
 * - called once the load is over and its users reconciled (run-level teardown), before the
 *   cleanup itself;
 * - the same sign-in-again-then-remove serves the identities `users.identity()` handed out
 *   (`checkHandedOutIdentity`, called by the cleanup): a 4xx to the login means the account does
 *   not exist (never signed up: not counted); a login that succeeds makes it a created user of the
 *   run, removed the same way; without `auth.login` it cannot be checked (the note says so).
 */
import type { TestUser } from '../api/types.ts';
import type { CheckContext } from '../checks/types.ts';
import { expectStatus } from '../clients/http-client.ts';
import type { ResolvedConfig } from '../config/config-schema.ts';
import type { AuthConfig, AuthRequest } from '../config/schema-auth.ts';
import { trackCreatedUser, type TrackedUser } from './cleanup.ts';
import { loadAuthModule } from './module.ts';
import { renderTemplate } from './template.ts';
import { httpClientFor, identityFor, reportedIdentity, requestAs, templateVars, UserFactory, type Identity } from './users.ts';

export interface TrackLoadUsersOptions {
  runId: string;
  /** The run folder (the auth module is found from it: src/auth/module.ts). */
  runDir: string;
  config: ResolvedConfig;
  /** `vu<n>` labels the load signed up. */
  labels: string[];
}

export async function trackLoadUsers(opts: TrackLoadUsersOptions): Promise<void> {
  const auth = opts.config.auth;
  if (!auth) return;
  const way = await removerOf(opts.runDir, auth);
  const noLogin = typeof way === 'function' && !auth.login;
  for (const label of opts.labels) {
    const id = identityFor(auth, opts.runId, opts.config.seed, label);
    const user: TestUser = { label, email: id.email, username: id.username, password: id.password };
    const tracked: TrackedUser = { identity: reportedIdentity(auth, id), user, load: true };
    if (typeof way === 'string') tracked.why = way;
    else if (noLogin) tracked.why = 'no auth.login to sign the k6 load users in again and remove them';
    else if (way) tracked.remove = async (ctx) => way(ctx, opts.config, await signInAgain(ctx, opts.config, id), id);
    trackCreatedUser(opts.runId, tracked);
  }
}

/**
 * An identity `users.identity()` handed out, at the end of the run (src/auth/cleanup.ts): logged
 * in through `auth.login`; 'absent' when the service refuses it with a 4xx (never signed up: not
 * the run's), else the user, counted as created, with its way to remove (or why there is none).
 * Throws when it cannot tell: no `auth.login`, or an answer that is not a refusal (5xx, 408, 429).
 */
export async function checkHandedOutIdentity(ctx: CheckContext, config: ResolvedConfig, id: Identity): Promise<TrackedUser | 'absent'> {
  const auth = config.auth;
  if (!auth?.login) throw new Error('no auth.login to sign it in and see whether a flow signed it up');
  let user: TestUser;
  try {
    user = await signInAgain(ctx, config, id);
  } catch (e) {
    const status = (e as { loginStatus?: number }).loginStatus;
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) return 'absent';
    throw e;
  }
  const way = await removerOf(ctx.runDir, auth);
  const tracked: TrackedUser = { identity: reportedIdentity(auth, id), user };
  if (typeof way === 'string') tracked.why = way;
  else if (way) tracked.remove = (c) => way(c, config, user, id);
  return tracked;
}

/** Signs the user of `id` in again through `auth.login`: a fresh credential (k6's went with its processes; a flow's with its attempt). */
function signInAgain(ctx: CheckContext, config: ResolvedConfig, id: Identity): Promise<TestUser> {
  return new UserFactory(ctx, config).login(id);
}

/** Removes a signed-in user: the module's removeUser, or the `auth.cleanup` request as the user. */
type Remover = (ctx: CheckContext, config: ResolvedConfig, user: TestUser, id: Identity) => Promise<void>;

/** How signed-in-again users are removed, or why they cannot be (undefined: no way configured, the default note). */
async function removerOf(runDir: string, auth: AuthConfig): Promise<Remover | string | undefined> {
  let removeUser: Awaited<ReturnType<typeof loadAuthModule>>['removeUser'];
  if (auth.module) {
    try {
      removeUser = (await loadAuthModule({ runDir }, auth.module)).removeUser;
    } catch (e) {
      return `the auth module could not be loaded (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`;
    }
  }
  const cleanup = auth.cleanup;
  if (removeUser) {
    const remove = removeUser;
    return async (ctx, config, user) => {
      const { createApiClient } = await import('../flows/api-client.ts');
      await remove(user, { api: createApiClient(ctx, config) });
    };
  }
  if (cleanup) return (ctx, config, user, id) => removeByRequest(ctx, config, user, id, cleanup);
  return undefined;
}

/** The `auth.cleanup` request as `user` (templated with its identity and id). */
async function removeByRequest(ctx: CheckContext, config: ResolvedConfig, user: TestUser, id: Identity, cleanup: AuthRequest): Promise<void> {
  const vars = templateVars(ctx, id, user.id);
  const path = String(renderTemplate(cleanup.path, vars));
  const body = cleanup.body === undefined ? undefined : renderTemplate(cleanup.body, vars);
  const headers = renderTemplate(cleanup.headers, vars) as Record<string, string>;
  const res = await requestAs(httpClientFor(ctx, config), user, cleanup.method, path, { ...(body !== undefined ? { body } : {}), headers });
  expectStatus(res, cleanup.expect, `remove test user ${id.label} (auth.cleanup)`);
}
