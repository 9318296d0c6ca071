// Load users, the service's way: perf passes the config's `auth` block to k6 as PERF_AUTH (JSON,
// without `module`, with the run's `seed`; src/load/load-phase.ts). Each VU is one user, label
// `vu<n>` (n = the VU's id in the test; 0 in setup()), created on its first use (signup, or login
// when signup answers an `existsStatus`), then reused. Its identity is exactly what
// `auth.identity` gives that label (src/auth/template.ts, shared with Node), so the after-load
// reconciliation finds the load users by `database.reconcile.identityColumn`.
//
// The credential is presented by `authHeaders(session, method)`: a bearer/API-key header, or for
// cookie sessions nothing but the CSRF header on writes (k6 keeps a cookie jar per VU and sends
// the session cookies itself). An API key sent as a query parameter is added by `credentialUrl`.
//
// Every load user this run signs UP (not one that existed and only logged in) is counted once on
// the k6 Counter `perf_test_users_created`, tagged `label: vu<n>` and nothing else (never a
// password, token or e-mail): perf reads the labels back after the load (src/load/load-phase.ts)
// to reconcile exactly those users and to remove them at the end of the run (auth.cleanup).
import { sleep } from 'k6';
import crypto from 'k6/crypto';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter } from 'k6/metrics';
import { getPath, withQuery } from '../../src/shared/agent-protocol.ts';
import { identityOf, passwordData, passwordFromDigest, passwordKey, renderTemplate, tokenHeader, type IdentityTemplates } from '../../src/auth/template.ts';
import { BASE_URL, RUN_ID } from './env.ts';
import { api, json } from './http.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface AuthRequest {
  method?: Method;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  expect?: number[];
}

type Credential =
  | { type: 'bearer'; tokenPath?: string; header?: string; scheme?: string }
  | { type: 'apiKey'; tokenPath: string; header?: string; query?: string }
  | { type: 'cookie'; csrf?: { cookie?: string; bodyPath?: string; header?: string } };

/** The shape of PERF_AUTH: the config's `auth` (schema-auth.ts) with its defaults applied, plus the seed. */
export interface PerfAuth {
  signup?: AuthRequest;
  existsStatus?: number[];
  login?: AuthRequest;
  credential?: Credential;
  userIdPath?: string;
  refreshTokenPath?: string;
  identity?: IdentityTemplates;
  seed?: number;
}

export interface Session {
  /** `vu<n>`. */
  label: string;
  /** The user's id (`auth.userIdPath`), when the service reports it. */
  userId: string;
  email: string;
  username: string;
  password: string;
  /** Bearer token or API key (absent for cookie sessions). */
  token?: string;
  refreshToken?: string;
  /** CSRF token read from the login answer (`csrf.bodyPath`). */
  csrf?: string;
  /** A cookie session's cookies for the base URL (k6 empties its jar at every iteration: restored from here). */
  cookies?: Record<string, string>;
  /** The raw JSON answer of the signup/login that made it. */
  raw?: unknown;
}

/** PERF_AUTH parsed once per VU; undefined when perf had no `auth` to pass. */
export const AUTH: PerfAuth | undefined = __ENV.PERF_AUTH ? (JSON.parse(__ENV.PERF_AUTH) as PerfAuth) : undefined;

const WRITES = ['POST', 'PUT', 'PATCH', 'DELETE'];

function credential(): Credential {
  return AUTH?.credential ?? { type: 'bearer' };
}

/** The identity perf gives load user `label` (e-mail, username, name, password). */
export function loadIdentity(label: string): { label: string; email: string; username: string; name: string; password: string } {
  const digest = crypto.hmac('sha256', passwordKey(AUTH?.seed ?? 1), passwordData(RUN_ID, label), 'base64rawurl');
  return { label, ...identityOf(AUTH?.identity, RUN_ID, label), password: passwordFromDigest(digest) };
}

/** The e-mail of load user `vu` in this run (what reconciliation looks up with the default `identity: 'email'`). */
export function loadUserEmail(vu: number): string {
  return loadIdentity(`vu${vu}`).email;
}

/** The headers presenting `session` on a `method` request (see the file's comment). */
export function authHeaders(session: Session | undefined, method: string): Record<string, string> {
  if (!session) return {};
  const c = credential();
  const header = tokenHeader(c, session.token);
  if (header) return { [header[0]]: header[1] };
  if (c.type === 'cookie') syncCookies(session);
  if (c.type === 'cookie' && c.csrf && WRITES.indexOf(method.toUpperCase()) >= 0) {
    let token = session.csrf;
    if (c.csrf.cookie) {
      const jar = http.cookieJar().cookiesForURL(BASE_URL);
      const found = jar[c.csrf.cookie];
      if (found && found.length) token = found[0];
    }
    if (token) return { [c.csrf.header ?? 'X-CSRF-Token']: token };
  }
  return {};
}

/**
 * k6 empties each VU's cookie jar at the start of every iteration (unless `noCookiesReset`): an
 * empty jar gets the session's cookies back; a jar holding them updates the session (a
 * service that rotates its cookies is followed).
 */
function syncCookies(session: Session): void {
  const jar = http.cookieJar();
  const now = jar.cookiesForURL(BASE_URL);
  const names = Object.keys(now);
  if (names.length) {
    const kept: Record<string, string> = {};
    for (const n of names) if (now[n] && now[n].length) kept[n] = now[n][0];
    session.cookies = kept;
  } else if (session.cookies) {
    for (const n of Object.keys(session.cookies)) jar.set(BASE_URL, n, session.cookies[n]);
  }
}

/** `url` with an API key sent as a query parameter (`credential.query`); otherwise unchanged. */
export function credentialUrl(session: Session | undefined, url: string): string {
  const c = credential();
  if (!session || c.type !== 'apiKey' || !c.query || !session.token) return url;
  return withQuery(url, c.query, session.token);
}

let current: Session | undefined;
let warned = false;

/** Load users signed up by this run, tagged `label` (`vu<n>`): perf's metric, read back by perf (see the file's comment). */
export const testUsersCreated = new Counter('perf_test_users_created');

function send(req: AuthRequest, vars: Record<string, unknown>, name: string, expect: number[]) {
  const path = String(renderTemplate(req.path, vars));
  const body = req.body === undefined ? undefined : renderTemplate(req.body, vars);
  const headers = renderTemplate(req.headers ?? {}, vars) as Record<string, string>;
  return api(req.method ?? 'POST', path, { name, body, headers, expect });
}

/**
 * This VU's session: signs up on first use (or logs in if the user exists), logs in again
 * when told the credential is stale (`refresh`). A failed attempt (a 5xx, a timeout) is retried a
 * few times: the failures still count in `http_req_failed`, but one unlucky answer does not turn
 * a user's whole run into silence. Undefined when every attempt failed, or without PERF_AUTH.
 */
export function currentSession(refresh = false, attempts = 3): Session | undefined {
  if (current && !refresh) return current;
  if (!AUTH) {
    if (!warned) console.warn('PERF_AUTH is not set (no `auth` in perf.config.ts): load users cannot sign in');
    warned = true;
    return undefined;
  }
  if (!AUTH.signup && !AUTH.login) {
    if (!warned) console.warn('PERF_AUTH has neither signup nor login (an auth module is Node-only): load users cannot sign in');
    warned = true;
    return undefined;
  }
  const id = loadIdentity(`vu${exec.vu.idInTest}`);
  const vars = { email: id.email, username: id.username, password: id.password, name: id.name, label: id.label, runId: RUN_ID };
  const exists = AUTH.existsStatus ?? [409];
  const c = credential();
  for (let i = 0; i < attempts; i++) {
    let answer: ReturnType<typeof api> | undefined;
    let signupAnswer: ReturnType<typeof api> | undefined;
    if (AUTH.signup && !(refresh && AUTH.login)) {
      const ok = AUTH.signup.expect ?? [200, 201, 204];
      signupAnswer = send(AUTH.signup, vars, 'auth_signup', [...ok, ...exists]);
      if (ok.indexOf(signupAnswer.status) >= 0) {
        // Created now: counted even if what follows (the login) fails, the account exists.
        testUsersCreated.add(1, { label: id.label });
        const body = json<unknown>(signupAnswer);
        const carries = c.type !== 'cookie' && body !== undefined && typeof getPath(body, c.tokenPath ?? 'accessToken') === 'string';
        if (!AUTH.login || carries) answer = signupAnswer;
      } else if (exists.indexOf(signupAnswer.status) < 0) {
        sleep(0.2 * (i + 1));
        continue;
      }
    }
    if (!answer && AUTH.login) {
      const res = send(AUTH.login, vars, 'auth_login', AUTH.login.expect ?? [200, 201, 204]);
      if ((AUTH.login.expect ?? [200, 201, 204]).indexOf(res.status) >= 0) answer = res;
    }
    const made = answer ? sessionFrom(id, answer, signupAnswer) : undefined;
    if (made) {
      current = made;
      return current;
    }
    sleep(0.2 * (i + 1));
  }
  current = undefined;
  return undefined;
}

/** `currentSession()` under the name the docs use: `const me = session()`. */
export { currentSession as session };

function sessionFrom(id: ReturnType<typeof loadIdentity>, answer: ReturnType<typeof api>, signupAnswer: ReturnType<typeof api> | undefined): Session | undefined {
  const c = credential();
  const body = json<unknown>(answer);
  const at = (path: string | undefined, from: unknown = body): string | undefined => {
    if (!path || from === undefined) return undefined;
    const v = getPath(from, path);
    return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
  };
  let token: string | undefined;
  let csrf: string | undefined;
  let cookies: Record<string, string> | undefined;
  if (c.type === 'bearer' || c.type === 'apiKey') {
    token = at(c.tokenPath ?? 'accessToken');
    if (!token) return undefined;
  } else {
    if (c.csrf?.bodyPath) {
      csrf = at(c.csrf.bodyPath);
      if (!csrf) return undefined;
    }
    const jar = http.cookieJar().cookiesForURL(BASE_URL);
    cookies = {};
    for (const n of Object.keys(jar)) if (jar[n] && jar[n].length) cookies[n] = jar[n][0];
    if (!Object.keys(cookies).length) return undefined;
  }
  const userId = at(AUTH?.userIdPath) ?? (signupAnswer ? at(AUTH?.userIdPath, json<unknown>(signupAnswer)) : undefined) ?? '';
  const refreshToken = at(AUTH?.refreshTokenPath);
  return {
    label: id.label,
    userId,
    email: id.email,
    username: id.username,
    password: id.password,
    ...(token ? { token } : {}),
    ...(refreshToken ? { refreshToken } : {}),
    ...(csrf ? { csrf } : {}),
    ...(cookies ? { cookies } : {}),
    raw: body,
  };
}

/** For setup(): a session or an exception, which makes k6 stop the test (exit 107) and perf say why. */
export function requireSession(): Session {
  const s = currentSession(false, 5);
  if (!s) throw new Error(AUTH ? 'setup could not sign up or log in the load user after 5 attempts; see http_req_failed and the target' : 'PERF_AUTH is not set: add an `auth` block to perf.config.ts');
  return s;
}
