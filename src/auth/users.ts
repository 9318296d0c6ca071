/**
 * Test users, the service's way (`auth` in the config, src/config/schema-auth.ts).
 *
 * Contract of `UserFactory` (the `users` fixture of flows, and perf's own checks):
 * - identities are deterministic: e-mail, username and name from `auth.identity` with the label
 *   and run id; the password an HMAC of run id and label keyed by the seed; so a retried step
 *   meets the same account (signup answers an `existsStatus` and perf logs in instead);
 * - `create(label)` gives a new user per attempt: the label gets a counter kept run-wide
 *   (`alice-1`, then `alice-2` on a retry or in a later phase); within one factory (one attempt)
 *   a label is memoised; `create()` without a label is a new user each call;
 * - `user(label)` is the user of exactly that label (no counter: `rls-a`, `smoke`), memoised;
 * - the credential is read from the login answer (or the signup's, without `login`): a bearer
 *   token or API key at `credential.tokenPath`, or a cookie session (the jar of every answer,
 *   CSRF from a cookie or a JSON path); a missing credential fails naming the option to fix;
 * - every password, token, API key, refresh token, cookie and CSRF value is registered with
 *   `ctx.redactor` before any evidence can hold it (the requests are recorded redacted);
 * - users it creates are tracked for the run's cleanup (src/auth/cleanup.ts); so is every identity
 *   `identity(label)` hands out, as "possibly created" (a flow signs it up its own way): the
 *   cleanup logs it in and counts and removes it only when the account exists (src/auth/load-users.ts);
 * - without `auth` in the config, making a user fails (CheckFailure) saying what to add.
 */
import { createHmac } from 'node:crypto';
import { CookieJar } from 'tough-cookie';
import type { ApiClient, TestUser, TestUsers } from '../api/types.ts';
import { HttpClient, expectStatus, failWith, type HttpResponse } from '../clients/http-client.ts';
import type { ResolvedConfig } from '../config/config-schema.ts';
import type { AuthConfig, AuthRequest } from '../config/schema-auth.ts';
import { getPath } from '../shared/json-path.ts';
import { CheckFailure, type CheckContext } from '../checks/types.ts';
import { nextLabelNumber, trackCreatedUser, trackHandedOutIdentity } from './cleanup.ts';
import { attachCredential, authHeadersFor, cookieValues, credentialOf, credentialUrl, rememberIn, type CredentialState } from './credentials.ts';
import { loadAuthModule, type TestUserInit } from './module.ts';
import { identityOf, passwordData, passwordFromDigest, passwordKey, renderTemplate } from './template.ts';

export { authHeadersFor, credentialUrl, rememberCookies, cookieHeaderFor } from './credentials.ts';

export interface Identity {
  label: string;
  email: string;
  username: string;
  password: string;
  name: string;
}

/** The identity perf gives the test user `label` of this run (without creating it). */
export function identityFor(auth: AuthConfig | undefined, runId: string, seed: number, label: string): Identity {
  const password = passwordFromDigest(createHmac('sha256', passwordKey(seed)).update(passwordData(runId, label)).digest('base64url'));
  return { label, ...identityOf(auth?.identity, runId, label), password };
}

export const NO_AUTH =
  'no `auth` in the config: perf cannot make a test user for this service. Add an `auth` block (docs/auth.md): the signup and/or login requests and the credential their answer carries, or a module exporting createUser()';

interface MadeUser extends TestUser {
  readonly name: string;
}

/**
 * The test user of identity `id`, however it was made (auth requests or auth.module): its
 * service id when known, its token when `state` has one, then `more` (refresh token, raw
 * answer); `state` is attached as its credential (attachCredential).
 */
function madeUser(id: Identity, state: CredentialState, userId: string | undefined, more: Pick<TestUser, 'refreshToken' | 'raw'> = {}): MadeUser {
  const user: MadeUser = {
    label: id.label,
    email: id.email,
    username: id.username,
    password: id.password,
    name: id.name,
    ...(userId !== undefined ? { id: userId } : {}),
    ...(state.token ? { token: state.token } : {}),
    ...more,
  };
  attachCredential(user, state);
  return user;
}

export class UserFactory implements TestUsers {
  readonly #memo = new Map<string, Promise<TestUser>>();
  #unnamed = 0;

  constructor(
    readonly ctx: CheckContext,
    readonly config: ResolvedConfig,
  ) {}

  /** A new user for this attempt (see the file's contract). */
  create(label?: string): Promise<TestUser> {
    const base = label ?? `user${++this.#unnamed}`;
    return this.#memoised(`create:${base}`, () => this.#make(nextLabel(this.ctx, base)));
  }

  /** The user of exactly `label` (deterministic across attempts and phases of the run). */
  user(label: string): Promise<TestUser> {
    return this.#memoised(`user:${label}`, () => this.#make(label));
  }

  /**
   * The identity of `label`, for a flow that signs it up its own way (sign-up under test): its
   * password is a secret, and the run's cleanup checks whether the account exists (counted and
   * removed then; src/auth/cleanup.ts).
   */
  identity(label: string): Identity {
    const id = this.#identity(label);
    const config = this.config;
    trackHandedOutIdentity(this.ctx.runId, {
      identity: reportedIdentity(config.auth, id),
      // Imported when used: load-users.ts imports this file.
      check: async (ctx) => (await import('./load-users.ts')).checkHandedOutIdentity(ctx, config, id),
    });
    return id;
  }

  #identity(label: string): Identity {
    const id = identityFor(this.config.auth, this.ctx.runId, this.ctx.seed, label);
    this.ctx.redactor.addSecret(id.password);
    return id;
  }

  /** Logs `user` in again through `auth.login`: a fresh credential. */
  async login(user: Pick<TestUser, 'label' | 'email' | 'username' | 'password'>): Promise<TestUser> {
    const auth = this.#auth();
    if (!auth.login) throw new CheckFailure('users.login(): the config has no `auth.login` request to log a user in with');
    this.ctx.redactor.addSecret(user.password);
    const id: Identity = { label: user.label, email: user.email, username: user.username, password: user.password, name: identityOf(auth.identity, this.ctx.runId, user.label).name };
    const state = newState(auth);
    const answers: HttpResponse[] = [];
    try {
      const res = await this.#send(auth.login, id, state, 'auth.login');
      answers.push(res);
      try {
        expectStatus(res, auth.login.expect, `log in test user ${id.email}`);
      } catch (e) {
        // The status, for who must tell "no such account" (a 4xx) from "could not tell" (src/auth/load-users.ts).
        throw Object.assign(e as CheckFailure, { loginStatus: res.status });
      }
      return this.#finish(auth, id, state, answers, res);
    } finally {
      this.#recordAnswers(answers);
    }
  }

  /**
   * The signup/login exchanges are recorded only once the credential they carry is registered
   * as a secret (an API key at `data.key` has no secret-looking name): redacted again, then recorded.
   */
  #recordAnswers(answers: HttpResponse[]): void {
    // Also when no user came of them (a credential not where the config says): whatever sits at
    // the configured paths is a secret all the same.
    const auth = this.config.auth;
    const c = auth?.credential;
    const paths = [c && c.type !== 'cookie' ? c.tokenPath : undefined, c?.type === 'cookie' ? c.csrf?.bodyPath : undefined, auth?.refreshTokenPath].filter((p): p is string => !!p);
    for (const res of answers) {
      const body = parse(res);
      if (body !== undefined) for (const p of paths) this.ctx.redactor.addSecret(asString(getPath(body, p)));
    }
    for (const res of answers) {
      Object.assign(res.exchange, this.ctx.redactor.redactDeep(res.exchange));
      res.ensureRecorded();
    }
  }

  #auth(): AuthConfig {
    if (!this.config.auth) throw new CheckFailure(NO_AUTH);
    return this.config.auth;
  }

  #memoised(key: string, make: () => Promise<TestUser>): Promise<TestUser> {
    const known = this.#memo.get(key);
    if (known) return known;
    const p = make();
    this.#memo.set(key, p);
    p.catch(() => {
      if (this.#memo.get(key) === p) this.#memo.delete(key);
    });
    return p;
  }

  async #make(label: string): Promise<TestUser> {
    const auth = this.#auth();
    const id = this.#identity(label);
    if (auth.module) return this.#makeWithModule(auth, id);
    const state = newState(auth);
    const answers: HttpResponse[] = [];
    try {
      return await this.#signupOrLogin(auth, id, state, answers);
    } finally {
      this.#recordAnswers(answers);
    }
  }

  async #signupOrLogin(auth: AuthConfig, id: Identity, state: CredentialState, answers: HttpResponse[]): Promise<TestUser> {
    let created = false;
    let credentialAnswer: HttpResponse | undefined;
    if (auth.signup) {
      const res = await this.#send(auth.signup, id, state, 'auth.signup');
      answers.push(res);
      if (auth.existsStatus.includes(res.status)) {
        if (!auth.login) throw failWith(res, `sign up test user ${id.email}: it exists already (${res.status}, auth.existsStatus) and the config has no auth.login to log it in`);
      } else {
        expectStatus(res, auth.signup.expect, `sign up test user ${id.email} (auth.signup)`);
        created = true;
        if (!auth.login || (auth.credential.type !== 'cookie' && credentialIn(auth, parse(res)))) credentialAnswer = res;
      }
    }
    if (!credentialAnswer) {
      const login = auth.login!;
      const res = await this.#send(login, id, state, 'auth.login');
      answers.push(res);
      expectStatus(res, login.expect, `log in test user ${id.email} (auth.login)`);
      credentialAnswer = res;
    }
    const user = this.#finish(auth, id, state, answers, credentialAnswer);
    if (created) this.#track(auth, user);
    return user;
  }

  async #makeWithModule(auth: AuthConfig, id: Identity): Promise<TestUser> {
    const mod = await loadAuthModule(this.ctx, auth.module!);
    // Imported when used: the api fixture itself imports this file (authHeadersFor).
    const { createApiClient } = await import('../flows/api-client.ts');
    const api: ApiClient = createApiClient(this.ctx, this.config);
    let init: TestUserInit;
    try {
      init = (await mod.createUser({ label: id.label, identity: { ...id }, api })) ?? {};
    } catch (e) {
      if (e instanceof CheckFailure) throw e;
      throw new CheckFailure(`auth.module createUser() for ${id.email} threw: ${e instanceof Error ? e.message : String(e)}`);
    }
    const r = this.ctx.redactor;
    r.addSecret(init.token);
    for (const v of Object.values(init.headers ?? {})) r.addSecret(v);
    const jar = new CookieJar();
    const base = this.ctx.target.baseUrl;
    for (const [name, value] of Object.entries(init.cookies ?? {})) {
      r.addSecret(value);
      jar.setCookieSync(`${name}=${value}; Path=/`, base, { ignoreError: true });
    }
    const credential: CredentialState['credential'] = init.cookies && !init.token ? { type: 'cookie' } : auth.credential;
    const state: CredentialState = { credential, jar, ...(init.token ? { token: init.token } : {}), ...(init.headers ? { headers: init.headers } : {}) };
    const user = madeUser(id, state, init.id !== undefined ? String(init.id) : undefined);
    const removeUser = mod.removeUser;
    trackCreatedUser(this.ctx.runId, {
      identity: reportedIdentity(auth, user),
      user,
      ...(removeUser ? { remove: async (c: CheckContext) => void (await removeUser(user, { api: createApiClient(c, this.config) })) } : {}),
    });
    return user;
  }

  /** One request of the auth config (templated with the identity), cookies kept in the user's jar. */
  async #send(req: AuthRequest, id: Identity, state: CredentialState, option: string): Promise<HttpResponse> {
    return sendAs(this.ctx, this.config, req, templateVars(this.ctx, id), state, option, false);
  }

  #finish(auth: AuthConfig, id: Identity, state: CredentialState, answers: HttpResponse[], credentialAnswer: HttpResponse): TestUser {
    const r = this.ctx.redactor;
    const body = parse(credentialAnswer);
    const c = auth.credential;
    const answered = `${credentialAnswer.method} ${credentialAnswer.path}`;
    if (c.type === 'bearer' || c.type === 'apiKey') {
      const token = asString(body === undefined ? undefined : getPath(body, c.tokenPath));
      if (!token) throw failWith(credentialAnswer, `test user ${id.email}: no ${c.type === 'bearer' ? 'token' : 'API key'} at auth.credential.tokenPath "${c.tokenPath}" of the ${answered} answer (${describeKeys(body)})`);
      r.addSecret(token);
      state.token = token;
    } else {
      const url = this.ctx.target.baseUrl;
      for (const v of cookieValues(state.jar, url)) r.addSecret(v);
      if (cookieValues(state.jar, url).length === 0) throw failWith(credentialAnswer, `test user ${id.email}: auth.credential is a cookie session, but no answer set a cookie for ${url}`);
      if (c.csrf?.bodyPath) {
        const csrf = asString(body === undefined ? undefined : getPath(body, c.csrf.bodyPath));
        if (!csrf) throw failWith(credentialAnswer, `test user ${id.email}: no CSRF token at auth.credential.csrf.bodyPath "${c.csrf.bodyPath}" of the ${answered} answer (${describeKeys(body)})`);
        r.addSecret(csrf);
        state.csrf = csrf;
      } else if (c.csrf?.cookie && !state.jar.getCookiesSync(url).some((k) => k.key === c.csrf!.cookie)) {
        throw failWith(credentialAnswer, `test user ${id.email}: no CSRF cookie "${c.csrf.cookie}" (auth.credential.csrf.cookie) was set by ${answers.map((a) => `${a.method} ${a.path}`).join(' or ')}`);
      }
    }
    const refresh = auth.refreshTokenPath && body !== undefined ? asString(getPath(body, auth.refreshTokenPath)) : undefined;
    r.addSecret(refresh);
    const idValue = auth.userIdPath ? asString(answers.map(parse).map((b) => (b === undefined ? undefined : getPath(b, auth.userIdPath!))).find((v) => asString(v))) : undefined;
    return madeUser(id, state, idValue, { ...(refresh ? { refreshToken: refresh } : {}), ...(body !== undefined ? { raw: body } : {}) });
  }

  #track(auth: AuthConfig, user: TestUser): void {
    const cleanup = auth.cleanup;
    trackCreatedUser(this.ctx.runId, {
      identity: reportedIdentity(auth, user),
      user,
      ...(cleanup ? { remove: (c: CheckContext) => removeByRequest(c, this.config, user, cleanup) } : {}),
    });
  }
}

/**
 * One user of exactly `label`, shared by every check of the phase (memoised in `ctx.shared`):
 * perf's own checks that need "a signed-in user" (smoke, the front-end dashboard pages).
 */
export function sharedUser(ctx: CheckContext, config: ResolvedConfig, label: string): Promise<TestUser> {
  const key = `perf.auth.user:${label}`;
  const existing = ctx.shared.get(key) as Promise<TestUser> | undefined;
  if (existing) return existing;
  const made = new UserFactory(ctx, config).user(label);
  ctx.shared.set(key, made);
  made.catch(() => {
    if (ctx.shared.get(key) === made) ctx.shared.delete(key);
  });
  return made;
}

/**
 * A request as `user` through the check's HTTP client: its credential headers (or API-key query),
 * and the cookies the answer sets kept in its jar. `path` is relative to the base URL.
 * `withoutCsrf`: a cookie session's write without its CSRF header (smoke's `requires_csrf`).
 */
export async function requestAs(
  http: HttpClient,
  user: TestUser | undefined,
  method: string,
  path: string,
  { withoutCsrf, ...opts }: { body?: unknown; headers?: Record<string, string>; record?: boolean; withoutCsrf?: boolean } = {},
): Promise<HttpResponse> {
  const url = /^https?:\/\//i.test(path) ? path : `${http.baseUrl}${path.startsWith('/') ? '' : '/'}${path}`;
  const headers = { ...(user ? authHeadersFor(user, method, url, withoutCsrf ? { csrf: false } : {}) : {}), ...(opts.headers ?? {}) };
  // The path as written when the credential does not change the URL: messages then name the path.
  const withCredential = user ? credentialUrl(user, url) : url;
  const res = await http.request(method, withCredential === url ? path : withCredential, { ...opts, headers });
  const state = user ? credentialOf(user) : undefined;
  if (state) rememberIn(state.jar, url, res.setCookie);
  return res;
}

/** The checks' HTTP client with the correlation header the config names (`http.correlationHeader`, when the config has it). */
export function httpClientFor(ctx: CheckContext, config: ResolvedConfig): HttpClient {
  const correlationHeader = (config as { http?: { correlationHeader?: string } }).http?.correlationHeader;
  return new HttpClient(ctx, ctx.target.baseUrl, correlationHeader ? { correlationHeader } : {});
}

/** `<label>-<n>`, n counting the run's users of that label: a retry, or the same flow in another phase, gets a new user. */
function nextLabel(ctx: CheckContext, label: string): string {
  return `${label}-${nextLabelNumber(ctx.runId, label)}`;
}

function newState(auth: AuthConfig): CredentialState {
  return { credential: auth.credential, jar: new CookieJar() };
}

export function templateVars(ctx: CheckContext, id: Identity, userId?: string): Record<string, unknown> {
  return { email: id.email, username: id.username, password: id.password, name: id.name, label: id.label, runId: ctx.runId, ...(userId !== undefined ? { id: userId } : {}) };
}

/** Sends one templated auth request with the jar of `state` (and its credential, once it has one). */
async function sendAs(ctx: CheckContext, config: ResolvedConfig, req: AuthRequest, vars: Record<string, unknown>, state: CredentialState, option: string, record = true): Promise<HttpResponse> {
  let path: string;
  let body: unknown;
  let headers: Record<string, string>;
  try {
    path = String(renderTemplate(req.path, vars));
    body = req.body === undefined ? undefined : renderTemplate(req.body, vars);
    headers = renderTemplate(req.headers, vars) as Record<string, string>;
  } catch (e) {
    throw new CheckFailure(`${option}: ${(e as Error).message}`);
  }
  const http = httpClientFor(ctx, config);
  const pseudo = {} as TestUser;
  attachCredential(pseudo, state);
  return requestAs(http, pseudo, req.method, path, { ...(body !== undefined ? { body } : {}), headers, record });
}

/** The cleanup request as `user`; logged in again once when the answer is unexpected (an expired credential). */
async function removeByRequest(ctx: CheckContext, config: ResolvedConfig, user: TestUser, cleanup: AuthRequest): Promise<void> {
  const auth = config.auth!;
  const id: Identity = { label: user.label, email: user.email, username: user.username, password: user.password, name: (user as MadeUser).name ?? '' };
  const vars = templateVars(ctx, id, user.id);
  const state = credentialOf(user)!;
  let res = await sendAs(ctx, config, cleanup, vars, state, 'auth.cleanup');
  if (!cleanup.expect.includes(res.status) && auth.login) {
    const again = await new UserFactory(ctx, config).login(user);
    res = await sendAs(ctx, config, cleanup, vars, credentialOf(again)!, 'auth.cleanup');
  }
  expectStatus(res, cleanup.expect, `remove test user ${id.email} (auth.cleanup)`);
}

/** Which identity names a user in `testData.leftBehind`: the username for services that sign up by it, else the e-mail. */
export function reportedIdentity(auth: AuthConfig | undefined, user: Pick<TestUser, 'email' | 'username'>): string {
  const templates = JSON.stringify([auth?.signup?.body, auth?.signup?.path, auth?.login?.body]);
  return !templates.includes('{{email}}') && templates.includes('{{username}}') ? user.username : user.email;
}

function parse(res: HttpResponse): unknown {
  try {
    return JSON.parse(res.text) as unknown;
  } catch {
    return undefined;
  }
}

function credentialIn(auth: AuthConfig, body: unknown): boolean {
  const c = auth.credential;
  if (c.type === 'cookie' || body === undefined) return false;
  return asString(getPath(body, c.tokenPath)) !== undefined;
}

function asString(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function describeKeys(body: unknown): string {
  if (body === undefined) return 'it is not JSON';
  if (body && typeof body === 'object' && !Array.isArray(body)) return `its keys: ${Object.keys(body).join(', ') || 'none'}`;
  return `it is ${Array.isArray(body) ? 'an array' : typeof body}`;
}
