// JWTs (HS256, jose) and the authentication of a request.
//
// Contract:
// - access token: `{sub: userId, sid: sessionId, typ: 'access'}`, short-lived (timings.accessTokenTtlSec);
// - refresh token: `{sub, sid, typ: 'refresh', jti}`, valid until the session expires; only the
//   newest jti of a session is accepted (rotation: store.rotateRefresh);
// - a token is accepted only while its session is live in the store: logout revokes the access
//   token of that session at once, without waiting for its expiry;
// - the credential comes from `Authorization: Bearer <token>`, else from the `sample_app_token`
//   cookie the login page sets (pages and browser fetches), else `?token=` on /ws only.
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { IncomingHttpHeaders } from 'node:http';
import type { Store } from './store.ts';

export const TOKEN_COOKIE = 'sample_app_token';
const ISSUER = 'sample-app';

export interface AuthUser {
  userId: string;
  sessionId: string;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** access-token lifetime, seconds */
  expiresIn: number;
}

export class TokenService {
  readonly #secret: Uint8Array;
  readonly #accessTtlSec: number;
  readonly #store: Store;

  readonly #onIssue: (kind: 'access_token' | 'refresh_token', token: string) => void;

  /** `onIssue` sees every token issued (test instrumentation: issued-secrets.ts). */
  constructor(secret: Uint8Array, accessTtlSec: number, store: Store, onIssue: (kind: 'access_token' | 'refresh_token', token: string) => void = () => undefined) {
    this.#secret = secret;
    this.#accessTtlSec = accessTtlSec;
    this.#store = store;
    this.#onIssue = onIssue;
  }

  /** Issues a pair; `refreshJti` must be what the store holds for the session. */
  async issue(userId: string, sessionId: string, refreshJti: string, sessionExpiresAt: number): Promise<TokenPair> {
    // Expiry is rounded up to the next second: a 1 s token lives 1-2 s, never 0.
    const accessExp = Math.ceil((Date.now() + this.#accessTtlSec * 1000) / 1000);
    const [accessToken, refreshToken] = await Promise.all([
      new SignJWT({ sid: sessionId, typ: 'access' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime(accessExp)
        .sign(this.#secret),
      new SignJWT({ sid: sessionId, typ: 'refresh' })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(ISSUER)
        .setJti(refreshJti)
        .setIssuedAt()
        .setExpirationTime(Math.floor(sessionExpiresAt / 1000))
        .sign(this.#secret),
    ]);
    this.#onIssue('access_token', accessToken);
    this.#onIssue('refresh_token', refreshToken);
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.#accessTtlSec };
  }

  /** Verifies signature, issuer, expiry and type; null when any fails. */
  async verify(token: string, typ: 'access' | 'refresh'): Promise<{ userId: string; sessionId: string; jti?: string } | null> {
    try {
      const { payload } = await jwtVerify(token, this.#secret, { issuer: ISSUER, algorithms: ['HS256'] });
      if (payload.typ !== typ || typeof payload.sub !== 'string' || typeof payload.sid !== 'string') return null;
      return { userId: payload.sub, sessionId: payload.sid, jti: payload.jti };
    } catch {
      return null;
    }
  }

  /** The user behind an access token whose session is still live; null otherwise. */
  async authenticateToken(token: string | null | undefined): Promise<AuthUser | null> {
    if (!token) return null;
    const claims = await this.verify(token, 'access');
    if (!claims) return null;
    const session = await this.#store.getSession(claims.sessionId);
    if (!session || session.userId !== claims.userId) return null;
    return { userId: claims.userId, sessionId: claims.sessionId };
  }

  newJti(): string {
    return randomUUID();
  }

  /** A validly signed access token of a session that expired a minute ago (admin server: lets a
   *  checker prove that expiry alone gets a token refused). */
  async issueExpiredAccess(userId: string, sessionId: string): Promise<{ token: string; expiredAt: number }> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ sid: sessionId, typ: 'access' })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setIssuedAt(now - 120)
      .setExpirationTime(now - 60)
      .sign(this.#secret);
    this.#onIssue('access_token', token);
    return { token, expiredAt: (now - 60) * 1000 };
  }
}

/** The access token a request carries (Bearer header first, then the page cookie). */
export function tokenFromHeaders(headers: IncomingHttpHeaders): string | null {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match ? match[1]! : null;
  }
  return readCookie(headers.cookie, TOKEN_COOKIE);
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(value) || null;
      } catch {
        return null;
      }
    }
  }
  return null;
}
