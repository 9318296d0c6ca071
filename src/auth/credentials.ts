/**
 * How a test user's credential is presented on a request: the one place that knows bearer
 * tokens, API keys (header or query) and cookie sessions (a cookie jar per user, a CSRF token
 * echoed on writes). Every client that acts as a user (smoke, flows' `api.as(user)`, the
 * WebSocket fixture, the browser sign-in, the RLS proof) goes through these functions.
 *
 * Contract:
 * - a user made by `UserFactory` carries its credential state here (a WeakMap keyed by the
 *   user object): the credential config it was made under, its token, extra headers (module
 *   users), its cookie jar (tough-cookie, RFC 6265 rules: domain, path, expiry, Secure) and its
 *   CSRF token; any other object is anonymous (`{}` headers, URL unchanged);
 * - every value registered here is a secret the factory has already given `ctx.redactor`;
 * - CSRF: taken from the named cookie at request time (a service may rotate it) or, with
 *   `bodyPath`, from the login answer; sent in `csrf.header` on POST, PUT, PATCH and DELETE only.
 */
import { CookieJar } from 'tough-cookie';
import type { TestUser } from '../api/types.ts';
import type { CredentialConfig } from '../config/schema-auth.ts';
import { tokenHeader } from './template.ts';

export interface CredentialState {
  credential: CredentialConfig;
  /** Bearer token or API key. */
  token?: string;
  /** Extra headers a module's createUser() returned (sent on every request of the user). */
  headers?: Record<string, string>;
  jar: CookieJar;
  /** CSRF token read from the login answer (`csrf.bodyPath`). */
  csrf?: string;
}

const states = new WeakMap<object, CredentialState>();

export function attachCredential(user: object, state: CredentialState): void {
  states.set(user, state);
}

export function credentialOf(user: object): CredentialState | undefined {
  return states.get(user);
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The headers presenting `user` on `method url`: bearer/apiKey header, or Cookie + CSRF for cookie
 * sessions; `{}` for anonymous. `{ csrf: false }` leaves the CSRF header out (smoke's `requires_csrf`).
 */
export function authHeadersFor(user: TestUser, method: string, url: string, opts: { csrf?: boolean } = {}): Record<string, string> {
  const s = states.get(user);
  if (!s) return {};
  const out: Record<string, string> = { ...(s.headers ?? {}) };
  const c = s.credential;
  const header = tokenHeader(c, s.token);
  if (header) out[header[0]] = header[1];
  else if (c.type === 'cookie') {
    const cookie = cookieHeaderFor(user, url);
    if (cookie) out.Cookie = cookie;
    if (c.csrf && opts.csrf !== false && WRITES.has(method.toUpperCase())) {
      const token = csrfToken(s, url);
      if (token) out[c.csrf.header] = token;
    }
  }
  return out;
}

/** `url` with an apiKey `query` credential added; otherwise unchanged. */
export function credentialUrl(user: TestUser, url: string): string {
  const s = states.get(user);
  if (!s || s.credential.type !== 'apiKey' || !s.credential.query || !s.token) return url;
  const u = new URL(url);
  u.searchParams.set(s.credential.query, s.token);
  return u.toString();
}

/** Keeps the cookies an answer to `url` set, in `user`'s jar (ignored for anonymous users). */
export function rememberCookies(user: TestUser, url: string, setCookie: string[]): void {
  const s = states.get(user);
  if (!s) return;
  rememberIn(s.jar, url, setCookie);
}

export function rememberIn(jar: CookieJar, url: string, setCookie: string[]): void {
  for (const line of setCookie) {
    // A cookie the jar refuses (wrong domain, malformed) is dropped, as a browser drops it.
    jar.setCookieSync(line, url, { ignoreError: true });
  }
}

/** The `Cookie` header `user`'s jar holds for `url` (undefined when none). */
export function cookieHeaderFor(user: TestUser, url: string): string | undefined {
  const s = states.get(user);
  if (!s) return undefined;
  const header = s.jar.getCookieStringSync(url);
  return header || undefined;
}

function csrfToken(s: CredentialState, url: string): string | undefined {
  const c = s.credential;
  if (c.type !== 'cookie' || !c.csrf) return undefined;
  if (c.csrf.cookie) {
    const found = s.jar.getCookiesSync(url).find((k) => k.key === c.csrf!.cookie);
    if (found) return found.value;
  }
  return s.csrf;
}

/** Cookies of `user`'s jar for `url` (for handing a cookie session to a browser). */
export function cookiesFor(user: TestUser, url: string): { name: string; value: string; domain: string; path: string; expires?: number; httpOnly: boolean; secure: boolean; sameSite?: 'Strict' | 'Lax' | 'None' }[] {
  const s = states.get(user);
  if (!s) return [];
  return s.jar.getCookiesSync(url).map((k) => {
    const expires = k.expiryTime();
    const sameSite = typeof k.sameSite === 'string' ? ({ strict: 'Strict', lax: 'Lax', none: 'None' } as const)[k.sameSite.toLowerCase() as 'strict' | 'lax' | 'none'] : undefined;
    return {
      name: k.key,
      value: k.value,
      domain: k.domain ?? new URL(url).hostname,
      path: k.path ?? '/',
      ...(Number.isFinite(expires) && expires !== undefined ? { expires: Math.floor(expires / 1000) } : {}),
      httpOnly: k.httpOnly,
      secure: k.secure,
      ...(sameSite ? { sameSite } : {}),
    };
  });
}

/** The secret-looking values of a jar (cookie values), for the redactor. */
export function cookieValues(jar: CookieJar, url: string): string[] {
  return jar.getCookiesSync(url).map((k) => k.value);
}
