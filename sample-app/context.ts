// What every route and service of one app instance shares. Built by index.ts, passed
// explicitly (no module-level state, so many instances can run in one process).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { ResolvedOptions } from './config.ts';
import { HttpError } from './errors.ts';
import type { FaultController } from './faults.ts';
import type { Logger } from './logger.ts';
import type { IssuedSecrets } from './issued-secrets.ts';
import type { Mailbox } from './mailbox.ts';
import type { LoginRateLimiter } from './rate-limit.ts';
import type { Store } from './store.ts';
import { tokenFromHeaders, type AuthUser, type TokenService } from './tokens.ts';

export interface AppContext {
  options: ResolvedOptions;
  log: Logger;
  pool: pg.Pool;
  store: Store;
  faults: FaultController;
  tokens: TokenService;
  limiter: LoginRateLimiter;
  mailbox: Mailbox;
  /** Test instrumentation: records credentials when the instance was asked to (issued-secrets.ts). */
  issued: IssuedSecrets;
  version: string;
  storage: 'embedded' | 'external';
  /** Set once the server listens (links in e-mails). */
  baseUrl: string;
  /** Enqueues a job for the runner (jobs.ts). */
  enqueueJob(jobId: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireAuth`; null on public routes. */
    user: AuthUser | null;
  }
}

/** onRequest hook for protected routes: 401 before any body is parsed or validated. */
export function requireAuth(ctx: AppContext) {
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const user = await ctx.tokens.authenticateToken(tokenFromHeaders(request.headers));
    if (!user) throw new HttpError(401, 'unauthorized', 'a valid access token is required', { headers: { 'www-authenticate': 'Bearer' } });
    request.user = user;
  };
}

/** The authenticated user of a protected route (requireAuth ran). */
export function currentUser(request: FastifyRequest): AuthUser {
  if (!request.user) throw new HttpError(401, 'unauthorized', 'a valid access token is required');
  return request.user;
}
