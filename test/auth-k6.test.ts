// `perf-harness/k6`'s session() on the real k6 (through perf's CLI, PERF_AUTH passed by the load
// phase) against a service of its own (test/auth-helpers.ts): each VU signs up as `vu<n>` with
// the identity Node gives that label, and presents its credential per `auth.credential`: an API
// key in the query, and a cookie session whose writes carry the CSRF header (the service refuses
// writes without it, so a missing header fails a k6 check and the run).
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { identityFor } from '../src/auth/users.ts';
import { testConfig } from './checks-helpers.ts';
import { startAuthService, type AuthService } from './auth-helpers.ts';
import { readVerdictFromOutput, runCli, tempDir } from './helpers.ts';

const AUTH = {
  cookie: `{
    signup: { method: 'POST', path: '/cookie/signup', body: { email: '{{email}}', password: '{{password}}' }, expect: [201] },
    login: { method: 'POST', path: '/cookie/login', body: { email: '{{email}}', password: '{{password}}' }, expect: [200] },
    credential: { type: 'cookie', csrf: { cookie: 'csrf', header: 'X-CSRF-Token' } },
    userIdPath: 'user.id',
  }`,
  key: `{
    signup: { method: 'POST', path: '/key/signup', body: { username: '{{username}}', password: '{{password}}' }, expect: [201] },
    credential: { type: 'apiKey', tokenPath: 'data.key', query: 'api_key' },
    userIdPath: 'data.id',
  }`,
};

const SCENARIO = `import { check } from 'k6';
import { api, session } from 'perf-harness/k6';
export const options = { vus: 2, iterations: 6 };
const ME: string = __ENV.ME_PATH;
const WRITE: string = __ENV.WRITE_PATH;
export default function (): void {
  const me = session();
  check(me, { 'signed in': (s) => s !== undefined && s.userId !== '' });
  if (!me) return;
  const read = api('GET', ME, { name: 'me', as: me });
  check(read, { 'read as me': (r) => r.status === 200 && (r.json() as { id: string }).id === me.userId });
  if (WRITE) {
    const write = api('POST', WRITE, { name: 'write', as: me, body: { text: 'x' } });
    check(write, { 'write with CSRF': (r) => r.status === 201 });
  }
}
`;

function project(url: string, auth: string, env: Record<string, string>): string {
  const dir = tempDir('perf-auth-k6-');
  mkdirSync(path.join(dir, 'scenarios'));
  writeFileSync(path.join(dir, 'scenarios', 'session.ts'), SCENARIO.replace(/__ENV\.(ME_PATH|WRITE_PATH)/g, (_m, k: string) => JSON.stringify(env[k] ?? '')));
  writeFileSync(
    path.join(dir, 'perf.config.ts'),
    `import { defineConfig } from 'perf-harness';
export default defineConfig({ target: { baseUrl: ${JSON.stringify(url)} }, users: 2, auth: ${auth}, load: { scenarios: ['session'] }, reporters: ['console'] });
`,
  );
  return dir;
}

describe('k6 load users through PERF_AUTH', () => {
  let svc: AuthService;
  before(async () => {
    svc = await startAuthService();
  });
  after(async () => {
    await svc.close();
  });

  test('cookie session with CSRF, and an API key in the query: every VU signs in as vu<n> and acts as itself', async () => {
    for (const [mode, env] of [
      ['cookie', { ME_PATH: '/cookie/me', WRITE_PATH: '/cookie/notes' }],
      ['key', { ME_PATH: '/key/me' }],
    ] as const) {
      const cwd = project(svc.url, AUTH[mode], env);
      const r = await runCli(['run', '--phase', 'load'], { cwd, timeoutMs: 120_000 });
      const v = readVerdictFromOutput(cwd, r.stderr);
      assert.equal(r.code, 0, `${mode}:\n${r.stderr}`);
      const checks = v.phases[0].k6[0].checks.map((c: { name: string; passes: number; fails: number }) => `${c.name} ${c.passes}/${c.fails}`);
      assert.deepEqual(checks.sort(), (mode === 'cookie' ? ['read as me 6/0', 'signed in 6/0', 'write with CSRF 6/0'] : ['read as me 6/0', 'signed in 6/0']).sort(), mode);
      // The identities are the ones Node gives vu1 and vu2 (what reconciliation looks up).
      const config = testConfig({ auth: { login: { path: '/x' } } });
      for (const vu of [1, 2]) {
        const id = identityFor(config.auth, v.runId, 1, `vu${vu}`);
        const login = mode === 'cookie' ? id.email : id.username;
        assert.ok(svc.accounts.has(login), `${mode}: load user ${login} exists`);
        assert.equal(svc.accounts.get(login)!.password, id.password, `${mode}: k6 derived the same password as Node`);
      }
    }
  });

  test('the CSRF token echoed in the wrong header: the service refuses the writes, the k6 check and the run fail', async () => {
    const cwd = project(svc.url, AUTH.cookie.replace("header: 'X-CSRF-Token'", "header: 'X-Not-Csrf'"), { ME_PATH: '/cookie/me', WRITE_PATH: '/cookie/notes' });
    const r = await runCli(['run', '--phase', 'load'], { cwd, timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    const write = v.phases[0].k6[0].checks.find((c: { name: string }) => c.name === 'write with CSRF');
    assert.deepEqual([write.passes, write.fails, write.status], [0, 6, 'failed']);
  });
});
