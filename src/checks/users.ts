/**
 * The test users checks create on the target, through its own API.
 *
 * Contract:
 * - deterministic: e-mail and password derive from the run id, the seed and a label, so a rerun
 *   of a run (or a retried check) meets the same account: signup answers 409 and we log in;
 * - every password and token is registered with `ctx.redactor` before it can reach evidence;
 * - e-mails are `perf-<label>-<run id>@perf.test` (`.test` is reserved: nothing is ever sent),
 *   so a cleanup can find every account perf made: `email LIKE 'perf-%@perf.test'`;
 * - the target speaks sample-app's auth API: `POST /auth/signup {email,password,name}` → 201
 *   and `POST /auth/login {email,password}` → 200, both `{user:{id}, accessToken, refreshToken}`.
 */
import { createHmac } from 'node:crypto';
import { HttpClient, expectStatus, json, failWith } from '../clients/http-client.ts';
import type { CheckContext } from './types.ts';

export interface PerfUser {
  label: string;
  email: string;
  password: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
}

export interface AuthBody {
  user?: { id?: string; email?: string };
  accessToken?: string;
  refreshToken?: string;
}

export function credentialsFor(runId: string, seed: number, label: string): { email: string; password: string } {
  const safe = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  const email = `perf-${safe(label)}-${safe(runId)}@perf.test`;
  const password = `P${createHmac('sha256', `perf-seed-${seed}`).update(`${runId}\0${label}`).digest('base64url').slice(0, 22)}!`;
  return { email, password };
}

/** Reads tokens and user id out of a signup/login answer, registering the tokens as secrets. */
export function authFrom(ctx: CheckContext, body: AuthBody): { userId?: string; accessToken?: string; refreshToken?: string } {
  ctx.redactor.addSecret(body.accessToken);
  ctx.redactor.addSecret(body.refreshToken);
  return { userId: body.user?.id, accessToken: body.accessToken, refreshToken: body.refreshToken };
}

/** Signs the user up (or logs in when it exists from an earlier attempt of this run). */
export async function signupOrLogin(ctx: CheckContext, http: HttpClient, label: string): Promise<PerfUser> {
  const { email, password } = credentialsFor(ctx.runId, ctx.seed, label);
  ctx.redactor.addSecret(password);
  let res = await http.post('/auth/signup', { email, password, name: `perf ${label}` });
  if (res.status === 409) {
    res = await http.post('/auth/login', { email, password });
    expectStatus(res, 200, `log in test user ${email} (it existed already)`);
  } else {
    expectStatus(res, 201, `sign up test user ${email}`);
  }
  const auth = authFrom(ctx, json<AuthBody>(res, 'signup/login'));
  if (!auth.userId || !auth.accessToken || !auth.refreshToken) {
    throw failWith(res, `signup/login of ${email} did not return user.id, accessToken and refreshToken`);
  }
  return { label, email, password, userId: auth.userId, accessToken: auth.accessToken, refreshToken: auth.refreshToken };
}

/**
 * One user per label and phase, created once and shared by every check of the phase (the promise
 * is memoised in `ctx.shared`). A failed creation is forgotten, so a retry tries again.
 */
export function sharedUser(ctx: CheckContext, label: string): Promise<PerfUser> {
  const key = `perf.user:${label}`;
  const existing = ctx.shared.get(key) as Promise<PerfUser> | undefined;
  if (existing) return existing;
  const created = signupOrLogin(ctx, new HttpClient(ctx), label);
  ctx.shared.set(key, created);
  created.catch(() => {
    if (ctx.shared.get(key) === created) ctx.shared.delete(key);
  });
  return created;
}
