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
 *   cleanup itself.
 */
import type { TestUser } from '../api/types.ts';
import type { CheckContext } from '../checks/types.ts';
import { expectStatus } from '../clients/http-client.ts';
import type { ResolvedConfig } from '../config/config-schema.ts';
import type { AuthConfig, AuthRequest } from '../config/schema-auth.ts';
import { trackCreatedUser, type TrackedUser } from './cleanup.ts';
import { loadAuthModule } from './module.ts';
import { renderTemplate } from './template.ts';
import { httpClientFor, identityFor, requestAs, templateVars, UserFactory, type Identity } from './users.ts';

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
  const way = await removalOf(opts, auth);
  for (const label of opts.labels) {
    const id = identityFor(auth, opts.runId, opts.config.seed, label);
    const user: TestUser = { label, email: id.email, username: id.username, password: id.password };
    const tracked: TrackedUser = { identity: reportedIdentity(auth, id), user, load: true };
    if (typeof way === 'string') tracked.why = way;
    else if (way) tracked.remove = (ctx) => way(ctx, id);
    trackCreatedUser(opts.runId, tracked);
  }
}

type Removal = (ctx: CheckContext, id: Identity) => Promise<void>;

/** How load users are removed, or why they cannot be (undefined: no way configured, the default note). */
async function removalOf(opts: TrackLoadUsersOptions, auth: AuthConfig): Promise<Removal | string | undefined> {
  let removeUser: Awaited<ReturnType<typeof loadAuthModule>>['removeUser'];
  if (auth.module) {
    try {
      removeUser = (await loadAuthModule({ runDir: opts.runDir }, auth.module)).removeUser;
    } catch (e) {
      return `the auth module could not be loaded (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`;
    }
  }
  const cleanup = auth.cleanup;
  if (!removeUser && !cleanup) return undefined;
  if (!auth.login) return 'no auth.login to sign the k6 load users in again and remove them';
  const config = opts.config;
  return async (ctx, id) => {
    // A fresh credential: k6's went with its processes.
    const user = await new UserFactory(ctx, config).login(id);
    if (removeUser) {
      const { createApiClient } = await import('../flows/api-client.ts');
      await removeUser(user, { api: createApiClient(ctx, config) });
      return;
    }
    await removeByRequest(ctx, config, user, id, cleanup!);
  };
}

/** The `auth.cleanup` request as `user` (templated with its identity and id). */
async function removeByRequest(ctx: CheckContext, config: ResolvedConfig, user: TestUser, id: Identity, cleanup: AuthRequest): Promise<void> {
  const vars = templateVars(ctx, id, user.id);
  const path = String(renderTemplate(cleanup.path, vars));
  const body = cleanup.body === undefined ? undefined : renderTemplate(cleanup.body, vars);
  const headers = renderTemplate(cleanup.headers, vars) as Record<string, string>;
  const res = await requestAs(httpClientFor(ctx, config), user, cleanup.method, path, { ...(body !== undefined ? { body } : {}), headers });
  expectStatus(res, cleanup.expect, `remove load user ${id.label} (auth.cleanup)`);
}

/** As src/auth/users.ts names users in `testData.leftBehind`: the username for services that sign up by it, else the e-mail. */
function reportedIdentity(auth: AuthConfig, id: Identity): string {
  const templates = JSON.stringify([auth.signup?.body, auth.signup?.path, auth.login?.body]);
  return !templates.includes('{{email}}') && templates.includes('{{username}}') ? id.username : id.email;
}
