// Accounts: sign up → log in → who am I → log out → the key is refused; bad credentials.
import { expect, flow } from 'perf-harness';

interface Login {
  data?: { key?: string; account?: { uid?: string } };
}

flow('account_lifecycle', { description: 'sign up → log in → /api/me → log out → the old key is refused (403)' }, async ({ api, users, step, info }) => {
  // The sign-up itself is under test here, so not users.create(): a fresh identity per attempt.
  const me = users.identity(`account-${info.attempt}`);

  const uid = await step('sign up', async () => {
    const res = await api.post('/api/accounts', { username: me.username, password: me.password });
    expect(res).toHaveStatus(201);
    expect(res.json.account.username).toBe(me.username);
    // uids are strings (a bigserial kept exact).
    expect(res.json.account.uid).toMatch(/^[0-9]+$/);
    return res.json.account.uid as string;
  });

  const key = await step('log in', async () => {
    const res = await api.post<Login>('/api/login', { username: me.username, password: me.password });
    expect(res).toHaveStatus(200);
    expect(res.json.data?.key).toMatch(/^nk_/);
    expect(res.json.data?.account?.uid).toBe(uid);
    return res.json.data!.key!;
  });
  const withKey = { headers: { 'X-Api-Key': key } };

  await step('me', async () => {
    const res = await api.get('/api/me', withKey);
    expect(res).toHaveStatus(200);
    expect(res.json).toEqual({ uid, username: me.username });
  });

  await step('log out', async () => {
    expect(await api.post('/api/logout', undefined, withKey)).toHaveStatus(204);
  });

  await step('the key is refused after logout', async () => {
    const res = await api.get('/api/me', withKey);
    expect(res).toHaveStatus(403);
    expect(res.json).toEqual({ message: 'forbidden' });
  });

  await step('clean up', async () => {
    // Made by hand (not users.create()), so removed by hand: log in again, delete the account.
    const res = await api.post<Login>('/api/login', { username: me.username, password: me.password });
    expect(res).toHaveStatus(200);
    expect(await api.delete('/api/accounts/me', { headers: { 'X-Api-Key': res.json.data!.key! } })).toHaveStatus(204);
  });
});

flow('bad_credentials', { description: 'a wrong password and an unknown user both get 403 denied, with no key' }, async ({ api, users, step }) => {
  const me = await users.create('badcreds');
  const wrong = await step('wrong password', () => api.post('/api/login', { username: me.username, password: `${me.password}x` }));
  const unknown = await step('unknown user', () => api.post('/api/login', { username: `${me.username}-nobody`, password: me.password }));
  for (const res of [wrong, unknown]) {
    expect(res).toHaveStatus(403);
    expect(res.json).toEqual({ message: 'denied' });
  }
  // The failed logins did not end the user's session.
  expect(await api.as(me).get('/api/me')).toHaveStatus(200);
});
