/**
 * sample-app's authentication journeys (`POST /auth/signup|login|refresh|logout`, `GET /auth/me`;
 * answers `{user:{id,email}, accessToken, refreshToken}`; sample-app/routes-auth.ts).
 *
 *   auth_lifecycle   signup → login → /auth/me → logout → /auth/me with the same token is 401
 *   token_refresh    a refresh gives new tokens that work; each used refresh token is refused
 *   rate_limit       repeated failed logins for one account end in 429 (never retried: a retry
 *                    would start from a locked account)
 *   bad_credentials  wrong password and unknown e-mail: 401, no token anywhere in the answer,
 *                    and the same error code for both (no account enumeration)
 */
import { expect, flow } from 'perf-harness';

/** Failed logins tried before concluding there is no rate limit. */
const RATE_LIMIT_MAX_ATTEMPTS = 30;

interface AuthAnswer {
  user?: { id?: string; email?: string };
  accessToken?: string;
  refreshToken?: string;
}

const bearer = (token: string | undefined) => ({ headers: { Authorization: `Bearer ${token}` } });

flow('auth_lifecycle', { description: 'signup → login → /auth/me → logout → the logged-out token is refused (401)' }, async ({ api, users, step, info }) => {
  // Not `users.create()`: the signup itself is under test (it must answer 201, not 409 + login).
  // The attempt is in the label, so a retry signs up a new account.
  const me = users.identity(`auth-${info.attempt}`);

  const signedUp = await step('signup', async () => {
    const res = await api.post<AuthAnswer>('/auth/signup', { email: me.email, password: me.password, name: 'perf auth lifecycle' });
    expect(res).toHaveStatus(201);
    expect(res.json.user?.id).toBeTruthy();
    expect(res.json.accessToken).toBeTruthy();
    expect(res.json.refreshToken).toBeTruthy();
    // The account made is the one asked for.
    expect(res.json.user?.email?.toLowerCase()).toBe(me.email.toLowerCase());
    return { id: res.json.user!.id!, accessToken: res.json.accessToken! };
  });

  const accessToken = await step('login', async () => {
    const res = await api.post<AuthAnswer>('/auth/login', { email: me.email, password: me.password });
    expect(res).toHaveStatus(200);
    expect(res.json.accessToken).toBeTruthy();
    expect(res.json.refreshToken).toBeTruthy();
    expect(res.json.user?.id).toBe(signedUp.id);
    // A login opens a session of its own: a new token, not the signup's.
    expect(res.json.accessToken).not.toBe(signedUp.accessToken);
    return res.json.accessToken!;
  });

  await step('me', async () => {
    const res = await api.get<AuthAnswer>('/auth/me', bearer(accessToken));
    expect(res).toHaveStatus(200);
    expect(res.json.user?.id).toBe(signedUp.id);
  });

  await step('logout', async () => {
    const res = await api.post('/auth/logout', undefined, bearer(accessToken));
    expect(res).toHaveStatus([200, 204]);
  });

  await step('me after logout', async () => {
    // Logout ends the session at once: the token is refused although it has not expired.
    const res = await api.get('/auth/me', bearer(accessToken));
    expect(res).toHaveStatus(401);
  });
});

flow('token_refresh', { description: 'refresh returns new working tokens; a refresh token once used is refused (401)' }, async ({ api, users, step }) => {
  const user = await step('signup', () => users.create('refresh'));
  expect(user.refreshToken).toBeTruthy();

  const refresh = (refreshToken: string, name: string) =>
    step(name, async () => {
      const res = await api.post<AuthAnswer>('/auth/refresh', { refreshToken });
      expect(res).toHaveStatus(200);
      expect(res.json.accessToken).toBeTruthy();
      expect(res.json.refreshToken).toBeTruthy();
      // Rotation: every refresh hands out a new refresh token.
      expect(res.json.refreshToken).not.toBe(refreshToken);
      return { accessToken: res.json.accessToken!, refreshToken: res.json.refreshToken! };
    });

  const first = await refresh(user.refreshToken!, 'refresh');
  await step('me after refresh', async () => {
    const res = await api.get<AuthAnswer>('/auth/me', bearer(first.accessToken));
    expect(res).toHaveStatus(200);
    expect(res.json.user?.id).toBe(user.id);
  });

  const second = await refresh(first.refreshToken, 'refresh again');

  // A used refresh token must not work twice (a stolen one would otherwise live forever).
  for (const [name, token] of [
    ['the original refresh is refused', user.refreshToken!],
    ['the rotated refresh is refused', first.refreshToken],
  ] as const) {
    await step(name, async () => {
      const res = await api.post('/auth/refresh', { refreshToken: token });
      expect(res).toHaveStatus(401);
    });
  }

  await step('me after the second refresh', async () => {
    const res = await api.get('/auth/me', bearer(second.accessToken));
    expect(res).toHaveStatus(200);
  });
});

flow(
  'rate_limit',
  // Never retried: a retry would start from an account the first attempt locked.
  { description: `failed logins for one account end in 429 within ${RATE_LIMIT_MAX_ATTEMPTS} attempts`, retries: 0 },
  async ({ api, users, step, measure }) => {
    const user = await step('signup', () => users.create('ratelimit'));
    const wrong = `${user.password}-wrong`;

    await step('failed logins until 429', async () => {
      const statuses: number[] = [];
      for (let attempt = 1; attempt <= RATE_LIMIT_MAX_ATTEMPTS; attempt++) {
        const res = await api.post('/auth/login', { email: user.email, password: wrong });
        statuses.push(res.status);
        if (res.status === 429) {
          measure('failed_logins_before_429', attempt - 1);
          measure('retry_after', res.headers['retry-after'] ?? null);
          return;
        }
        // Until the limit, a wrong password is a plain 401.
        expect(res).toHaveStatus(401);
      }
      // No 429 at all: logins are not rate limited (a password can be guessed at leisure).
      throw new Error(`no 429 after ${RATE_LIMIT_MAX_ATTEMPTS} failed logins for one account: logins are not rate limited (statuses: ${[...new Set(statuses)].join(', ')})`);
    });
  },
);

const TOKEN_KEYS = /token|jwt|session/i;
const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/;

flow('bad_credentials', { description: 'wrong password and unknown e-mail: 401, no token in the answer, one error code for both' }, async ({ api, users, step }) => {
  const user = await step('signup', () => users.create('badcreds'));
  const wrong = `${user.password}-nope`;

  const tryLogin = (name: string, email: string) =>
    step(name, async () => {
      const res = await api.post('/auth/login', { email, password: wrong });
      expect(res).toHaveStatus(401);
      // A refused login hands out nothing that could be used as a credential.
      const body = res.json && typeof res.json === 'object' ? (res.json as Record<string, unknown>) : {};
      expect(Object.keys(body).filter((k) => TOKEN_KEYS.test(k))).toEqual([]);
      expect(res.text).not.toMatch(JWT);
      expect(res.headers['set-cookie']).toBeUndefined();
      return body.error;
    });

  const wrongPassword = await tryLogin('wrong password', user.email);
  const unknownEmail = await tryLogin('unknown e-mail', users.identity('nobody').email);
  // The same error code for both: different codes would tell an attacker which e-mails have an account.
  expect(unknownEmail).toBe(wrongPassword);
});
