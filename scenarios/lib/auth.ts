// One user per VU: deterministic credentials from the run id and the VU number, created on
// the VU's first iteration (signup, or login if it exists), then reused.
import { sleep } from 'k6';
import exec from 'k6/execution';
import { RUN_ID } from './env.ts';
import { api, json } from './http.ts';

export interface Session {
  userId: string;
  email: string;
  accessToken: string;
  refreshToken: string;
}

interface AuthBody {
  user: { id: string; email: string };
  accessToken: string;
  refreshToken: string;
}

/** The email of load user `vu` in this run: `perf-<run>-vu<n>@load.test` (db reconciliation finds them by it). */
export function loadUserEmail(vu: number): string {
  return `perf-${RUN_ID}-vu${vu}@load.test`.toLowerCase();
}

function password(vu: number): string {
  return `pw-${RUN_ID}-${vu}-load`;
}

let session: Session | undefined;

/**
 * This VU's session: signs up on first use (or logs in if the user exists), logs in again
 * when told the token is stale. A failed attempt (a 5xx, a timeout) is retried a few times:
 * the failures still count in `http_req_failed`, but one unlucky answer does not turn a
 * user's whole run into silence. Undefined only when every attempt failed.
 */
export function currentSession(refresh = false, attempts = 3): Session | undefined {
  if (session && !refresh) return session;
  const vu = exec.vu.idInTest;
  const email = loadUserEmail(vu);
  for (let i = 0; i < attempts; i++) {
    let res = api('POST', '/auth/signup', { name: 'auth_signup', body: { email, password: password(vu), name: `Load user ${vu}` }, expect: [201, 409] });
    if (res.status === 409) res = api('POST', '/auth/login', { name: 'auth_login', body: { email, password: password(vu) } });
    const body = json<AuthBody>(res);
    if (body?.accessToken) {
      session = { userId: body.user.id, email, accessToken: body.accessToken, refreshToken: body.refreshToken };
      return session;
    }
    sleep(0.2 * (i + 1));
  }
  session = undefined;
  return undefined;
}

/** For setup(): a session or an exception, which makes k6 stop the test (exit 107) and perf say why. */
export function requireSession(): Session {
  const s = currentSession(false, 5);
  if (!s) throw new Error('setup could not sign up or log in the load user after 5 attempts; see http_req_failed and the target');
  return s;
}
