/**
 * Authentication flows, written for sample-app's API (`POST /auth/signup|login|refresh|logout`,
 * `GET /auth/me`; answers `{user:{id,email}, accessToken, refreshToken}`).
 *
 *   auth_lifecycle   signup → login → /auth/me → logout → /auth/me with the same token is 401
 *   token_refresh    a refresh gives new tokens that work; each used refresh token is refused
 *   rate_limit       repeated failed logins for one account end in 429 (never retried: a retry
 *                    would start from a locked account)
 *   bad_credentials  wrong password and unknown e-mail: 401, no token anywhere in the answer,
 *                    and the same error code for both (no account enumeration)
 */
import { failWith, type HttpResponse } from '../clients/http-client.ts';
import { Flow, ensure } from './flow-steps.ts';
import type { Check } from './types.ts';
import { authFrom, credentialsFor, type AuthBody } from './users.ts';

/** Failed logins tried before concluding there is no rate limit. */
export const RATE_LIMIT_MAX_ATTEMPTS = 30;

const authLifecycle: Check = {
  name: 'auth_lifecycle',
  description: 'signup → login → /auth/me → logout → the logged-out token is refused (401)',
  async run(ctx) {
    const flow = new Flow(ctx);
    // Not `freshUser`: the signup itself is under test (it must answer 201, not 409 + login).
    const { email, password } = credentialsFor(ctx.runId, ctx.seed, flow.freshLabel('auth'));
    ctx.redactor.addSecret(password);

    const signedUp = await flow.step('signup', async () => {
      const { res, body } = await flow.expectJson<AuthBody>(flow.http.post('/auth/signup', { email, password, name: 'perf auth lifecycle' }), 201, 'signup');
      const auth = authFrom(ctx, body);
      ensure(auth.userId && auth.accessToken && auth.refreshToken, res, 'signup answer lacks user.id, accessToken or refreshToken');
      ensure(body.user?.email?.toLowerCase() === email, res, `signup answer names user ${JSON.stringify(body.user?.email)}, expected ${email}`);
      return auth;
    });
    const loggedIn = await flow.step('login', async () => {
      const { res, body } = await flow.expectJson<AuthBody>(flow.http.post('/auth/login', { email, password }), 200, 'login');
      const auth = authFrom(ctx, body);
      ensure(auth.accessToken && auth.refreshToken, res, 'login answer lacks accessToken or refreshToken');
      ensure(auth.userId === signedUp.userId, res, `login names user ${auth.userId}, signup created ${signedUp.userId}`);
      ensure(auth.accessToken !== signedUp.accessToken, res, 'login returned the same access token as signup');
      return { accessToken: auth.accessToken! };
    });
    await flow.step('me', async () => {
      const { res, body } = await flow.expectJson<AuthBody>(flow.http.get('/auth/me', { token: loggedIn.accessToken }), 200, '/auth/me with the login token');
      ensure(body.user?.id === signedUp.userId, res, `/auth/me names user ${JSON.stringify(body.user?.id)}, expected ${signedUp.userId}`);
    });
    await flow.step('logout', async () => {
      const res = await flow.http.post('/auth/logout', undefined, { token: loggedIn.accessToken });
      ensure(res.status === 200 || res.status === 204, res, `logout answered ${res.status}, expected 204 or 200`);
    });
    await flow.step('me after logout', async () => {
      const res = await flow.http.get('/auth/me', { token: loggedIn.accessToken });
      ensure(res.status === 401, res, `/auth/me with a logged-out token answered ${res.status}, expected 401 (logout did not end the session)`);
    });
  },
};

const tokenRefresh: Check = {
  name: 'token_refresh',
  description: 'refresh returns new working tokens; a refresh token once used is refused (401)',
  async run(ctx) {
    const flow = new Flow(ctx);
    const user = await flow.step('signup', () => flow.freshUser('refresh'));
    const refresh = (refreshToken: string, what: string) =>
      flow.step(what, async () => {
        const { res, body } = await flow.expectJson<AuthBody>(flow.http.post('/auth/refresh', { refreshToken }), 200, what);
        const auth = authFrom(ctx, body);
        ensure(auth.accessToken && auth.refreshToken, res, `${what}: answer lacks accessToken or refreshToken`);
        ensure(auth.refreshToken !== refreshToken, res, `${what}: the refresh token was not rotated`);
        return { accessToken: auth.accessToken!, refreshToken: auth.refreshToken! };
      });
    const first = await refresh(user.refreshToken, 'refresh');
    await flow.step('me with the refreshed token', async () => {
      const { res, body } = await flow.expectJson<AuthBody>(flow.http.get('/auth/me', { token: first.accessToken }), 200, '/auth/me with the refreshed access token');
      ensure(body.user?.id === user.userId, res, `/auth/me names ${JSON.stringify(body.user?.id)}, expected ${user.userId}`);
    });
    const second = await refresh(first.refreshToken, 'refresh again');
    for (const [what, token] of [
      ['reuse the original refresh token', user.refreshToken],
      ['reuse the rotated refresh token', first.refreshToken],
    ] as const) {
      await flow.step(what, async () => {
        const res = await flow.http.post('/auth/refresh', { refreshToken: token });
        ensure(res.status === 401, res, `${what}: answered ${res.status}, expected 401 (a used refresh token must not work twice)`);
      });
    }
    await flow.step('me with the newest token', async () => {
      await flow.expectJson(flow.http.get('/auth/me', { token: second.accessToken }), 200, '/auth/me with the newest access token');
    });
  },
};

const rateLimit: Check = {
  name: 'rate_limit',
  description: `failed logins for one account end in 429 within ${RATE_LIMIT_MAX_ATTEMPTS} attempts`,
  retries: 0,
  async run(ctx) {
    const flow = new Flow(ctx);
    const user = await flow.step('signup', () => flow.freshUser('ratelimit'));
    const wrong = `${user.password}-wrong`;
    ctx.redactor.addSecret(wrong);
    await flow.step('failed logins until 429', async () => {
      let last: HttpResponse | undefined;
      for (let attempt = 1; attempt <= RATE_LIMIT_MAX_ATTEMPTS; attempt++) {
        const res = await flow.http.post('/auth/login', { email: user.email, password: wrong }, { record: attempt === 1 });
        last = res;
        if (res.status === 429) {
          res.ensureRecorded();
          ctx.measure('failed_logins_before_429', attempt - 1);
          ctx.measure('retry_after', res.headers['retry-after'] ?? null);
          return;
        }
        if (res.status !== 401) throw failWith(res, `failed login #${attempt} answered ${res.status}, expected 401 (or 429 once limited)`);
      }
      throw failWith(last!, `no 429 after ${RATE_LIMIT_MAX_ATTEMPTS} failed logins for one account: logins are not rate limited`);
    });
  },
};

const TOKEN_KEYS = /token|jwt|session/i;
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/;

const badCredentials: Check = {
  name: 'bad_credentials',
  description: 'wrong password and unknown e-mail: 401, no token in the answer, one error code for both',
  async run(ctx) {
    const flow = new Flow(ctx);
    const user = await flow.step('signup', () => flow.freshUser('badcreds'));
    const wrong = `${user.password}-nope`;
    ctx.redactor.addSecret(wrong);
    const tryLogin = (what: string, email: string) =>
      flow.step(what, async () => {
        const res = await flow.http.post('/auth/login', { email, password: wrong });
        ensure(res.status === 401, res, `${what}: answered ${res.status}, expected 401`);
        let body: unknown;
        try {
          body = JSON.parse(res.text);
        } catch {
          body = res.text;
        }
        const tokenKeys = body && typeof body === 'object' ? Object.keys(body).filter((k) => TOKEN_KEYS.test(k)) : [];
        ensure(tokenKeys.length === 0, res, `${what}: the 401 answer carries ${tokenKeys.join(', ')}`);
        ensure(!JWT.test(res.text), res, `${what}: the 401 answer contains a JWT`);
        ensure(!res.headers['set-cookie'], res, `${what}: the 401 answer sets a cookie`);
        return { res, code: (body as { error?: unknown } | null)?.error };
      });
    const wrongPassword = await tryLogin('wrong password', user.email);
    const unknown = await tryLogin('unknown e-mail', credentialsFor(ctx.runId, ctx.seed, 'nobody').email);
    ensure(
      wrongPassword.code === unknown.code,
      unknown.res,
      `a wrong password answers error ${JSON.stringify(wrongPassword.code)} but an unknown e-mail ${JSON.stringify(unknown.code)}: the difference tells who has an account`,
    );
  },
};

export const authFlows: readonly Check[] = [authLifecycle, tokenRefresh, rateLimit, badCredentials];
