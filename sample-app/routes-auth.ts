// Authentication API.
//
//   POST /auth/signup           {email, password (≥ 8), name?} → 201 {user, accessToken, refreshToken, tokenType, expiresIn}
//                               409 email_taken · 422 invalid body
//   POST /auth/login            {email, password} → 200 {user, ...tokens} · 401 invalid_credentials
//                               429 too_many_attempts (+ Retry-After) after too many failures (rate-limit.ts)
//   POST /auth/refresh          {refreshToken} → 200 {...tokens}; the old refresh token is then refused · 401
//   POST /auth/logout           (Bearer) → 204; the session ends: its access token answers 401 from now on
//   GET  /auth/me               (Bearer) → 200 {user}
//   DELETE /auth/me             (Bearer) → 204; the account and every row it owns are gone (one transaction),
//                               its sessions end (every token answers 401), logging in answers 401
//                               403 seed_user for seed users (the fixed seed data stays intact)
//   POST /auth/forgot-password  {email} → 202 always (no account enumeration); a reset link goes to the mailbox
//   POST /auth/reset-password   {token, password} → 204 · 400 invalid_token
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAuth, currentUser, type AppContext } from './context.ts';
import { audit, USER_COLUMNS, userJson, type UserRow } from './db.ts';
import { HttpError } from './errors.ts';
import { dummyHash, hashPassword, verifyPassword } from './passwords.ts';

const email = { type: 'string', format: 'email', maxLength: 254 } as const;
const newPassword = { type: 'string', minLength: 8, maxLength: 200 } as const;

const RESET_TTL_MS = 15 * 60_000;

interface Credentials {
  email: string;
  password: string;
  name?: string;
}

async function startSession(ctx: AppContext, request: FastifyRequest, user: UserRow, action: string) {
  const sessionId = randomUUID();
  const refreshJti = ctx.tokens.newJti();
  const expiresAt = Date.now() + ctx.options.timings.refreshTokenTtlSec * 1000;
  await Promise.all([
    ctx.store.putSession(sessionId, { userId: user.id, refreshJti, expiresAt }),
    // The durable record of the session and the audit line, in one round trip.
    ctx.pool.query(
      `WITH s AS (
         INSERT INTO sessions (id, user_id, ip, user_agent, expires_at) VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0))
       )
       INSERT INTO audit (user_id, action, request_id, details) VALUES ($2, $6, $7, jsonb_build_object('sessionId', $1::text))`,
      [sessionId, user.id, request.ip, request.headers['user-agent']?.slice(0, 300) ?? null, expiresAt, action, request.id],
    ),
  ]);
  const tokens = await ctx.tokens.issue(user.id, sessionId, refreshJti, expiresAt);
  return { user: userJson(user), ...tokens };
}

export function registerAuthRoutes(app: FastifyInstance, ctx: AppContext): void {
  const authenticated = requireAuth(ctx);

  app.post<{ Body: Credentials }>(
    '/auth/signup',
    {
      schema: {
        body: {
          type: 'object',
          required: ['email', 'password'],
          properties: { email, password: newPassword, name: { type: 'string', minLength: 1, maxLength: 100 } },
        },
      },
    },
    async (request, reply) => {
      const { email: address, password, name } = request.body;
      ctx.issued.record('password', password);
      const passwordHash = await hashPassword(password);
      const { rows } = await ctx.pool.query<UserRow>(
        `INSERT INTO users (email, password_hash, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING ${USER_COLUMNS}`,
        [address, passwordHash, name ?? null],
      );
      const user = rows[0];
      if (!user) throw new HttpError(409, 'email_taken', 'an account with this e-mail already exists');
      return reply.code(201).send(await startSession(ctx, request, user, 'auth.signup'));
    },
  );

  app.post<{ Body: Credentials }>(
    '/auth/login',
    {
      schema: {
        body: { type: 'object', required: ['email', 'password'], properties: { email, password: { type: 'string', minLength: 1, maxLength: 200 } } },
      },
    },
    async (request, reply) => {
      const { email: address, password } = request.body;
      ctx.issued.record('password', password);
      const limit = await ctx.limiter.check(address, request.ip);
      if (limit.limited) {
        throw new HttpError(429, 'too_many_attempts', `too many failed logins for this ${limit.scope}; retry in ${limit.retryAfterSec} s`, {
          headers: { 'retry-after': String(limit.retryAfterSec) },
        });
      }
      const { rows } = await ctx.pool.query<UserRow & { password_hash: string }>(
        `SELECT ${USER_COLUMNS}, password_hash FROM users WHERE lower(email) = lower($1)`,
        [address],
      );
      const user = rows[0];
      const ok = await verifyPassword(password, user?.password_hash ?? (await dummyHash()));
      if (!user || !ok) {
        await ctx.limiter.recordFailure(address, request.ip);
        void audit(ctx.pool, ctx.log, { userId: user?.id ?? null, action: 'auth.login_failed', requestId: request.id });
        throw new HttpError(401, 'invalid_credentials', 'wrong e-mail or password');
      }
      await ctx.limiter.recordSuccess(address);
      return reply.send(await startSession(ctx, request, user, 'auth.login'));
    },
  );

  app.post<{ Body: { refreshToken: string } }>(
    '/auth/refresh',
    { schema: { body: { type: 'object', required: ['refreshToken'], properties: { refreshToken: { type: 'string', minLength: 1, maxLength: 4096 } } } } },
    async (request) => {
      const claims = await ctx.tokens.verify(request.body.refreshToken, 'refresh');
      const invalid = new HttpError(401, 'invalid_refresh_token', 'the refresh token is invalid, expired or already used');
      if (!claims?.jti) throw invalid;
      const session = await ctx.store.getSession(claims.sessionId);
      if (!session || session.userId !== claims.userId) throw invalid;
      const nextJti = ctx.tokens.newJti();
      // Compare-and-set: of two refreshes racing with one token, exactly one wins.
      if (!(await ctx.store.rotateRefresh(claims.sessionId, claims.jti, nextJti))) throw invalid;
      return ctx.tokens.issue(claims.userId, claims.sessionId, nextJti, session.expiresAt);
    },
  );

  app.post('/auth/logout', { onRequest: authenticated }, async (request, reply) => {
    const { userId, sessionId } = currentUser(request);
    await ctx.store.deleteSession(sessionId);
    await ctx.pool.query(
      `WITH s AS (UPDATE sessions SET revoked_at = now() WHERE id = $1 AND user_id = $2)
       INSERT INTO audit (user_id, action, request_id, details) VALUES ($2, 'auth.logout', $3, jsonb_build_object('sessionId', $1::text))`,
      [sessionId, userId, request.id],
    );
    return reply.code(204).send();
  });

  app.get('/auth/me', { onRequest: authenticated }, async (request) => {
    const { userId } = currentUser(request);
    const { rows } = await ctx.pool.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [userId]);
    if (!rows[0]) throw new HttpError(401, 'unauthorized', 'this account no longer exists');
    return { user: userJson(rows[0]) };
  });

  app.delete('/auth/me', { onRequest: authenticated }, async (request, reply) => {
    const { userId } = currentUser(request);
    const deleted = await deleteAccount(ctx, userId);
    if (deleted === 'gone') throw new HttpError(401, 'unauthorized', 'this account no longer exists');
    if (deleted === 'seed') throw new HttpError(403, 'seed_user', 'seed users cannot be deleted (the fixed seed data stays intact)');
    // The store's state: every live session of the account (its tokens answer 401 from now on),
    // and its login failure counter. After the commit, so a failed transaction ends nothing.
    await Promise.all([...deleted.sessionIds.map((id) => ctx.store.deleteSession(id)), ctx.limiter.forgetAccount(deleted.email)]);
    return reply.code(204).send();
  });

  app.post<{ Body: { email: string } }>(
    '/auth/forgot-password',
    { schema: { body: { type: 'object', required: ['email'], properties: { email } } } },
    async (request, reply) => {
      const { rows } = await ctx.pool.query<{ id: string; email: string }>('SELECT id, email FROM users WHERE lower(email) = lower($1)', [
        request.body.email,
      ]);
      const user = rows[0];
      if (user) {
        const token = randomBytes(24).toString('base64url');
        ctx.issued.record('reset_token', token);
        await ctx.store.putOnce(`reset:${sha256(token)}`, user.id, RESET_TTL_MS);
        ctx.mailbox.send({ to: user.email, subject: 'Reset your password', link: `${ctx.baseUrl}/reset-password?token=${token}` });
        void audit(ctx.pool, ctx.log, { userId: user.id, action: 'auth.reset_requested', requestId: request.id });
      }
      return reply.code(202).send({ status: 'accepted', message: 'if this account exists, a reset link was sent' });
    },
  );

  app.post<{ Body: { token: string; password: string } }>(
    '/auth/reset-password',
    {
      schema: {
        body: { type: 'object', required: ['token', 'password'], properties: { token: { type: 'string', minLength: 1, maxLength: 200 }, password: newPassword } },
      },
    },
    async (request, reply) => {
      const userId = await ctx.store.takeOnce(`reset:${sha256(request.body.token)}`);
      if (!userId) throw new HttpError(400, 'invalid_token', 'the reset link is invalid, expired or already used');
      ctx.issued.record('password', request.body.password);
      const passwordHash = await hashPassword(request.body.password);
      await ctx.pool.query('UPDATE users SET password_hash = $2 WHERE id = $1', [userId, passwordHash]);
      void audit(ctx.pool, ctx.log, { userId, action: 'auth.password_reset', requestId: request.id });
      return reply.code(204).send();
    },
  );
}

/**
 * Deletes the account `userId` and every row it owns, in one transaction, children before the
 * parent (the admin cleanup's order, seed.ts: assets, jobs, brand kits, usage, audit, sessions,
 * then the user). Locks first the user's jobs, then the user row: the job runner (jobs.ts) locks a
 * job row and then the user's (assets' foreign key), so the same order here cannot deadlock with
 * it; with the user row locked no other request can add a session, kit or job to the account
 * until the commit (their foreign-key check waits, then fails). Returns the ended session ids.
 */
async function deleteAccount(ctx: AppContext, userId: string): Promise<'gone' | 'seed' | { email: string; sessionIds: string[] }> {
  const client = await ctx.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT 1 FROM jobs WHERE user_id = $1 FOR UPDATE', [userId]);
    const { rows } = await client.query<{ email: string; is_seed: boolean }>('SELECT email, is_seed FROM users WHERE id = $1 FOR UPDATE', [userId]);
    const user = rows[0];
    if (!user || user.is_seed) {
      await client.query('ROLLBACK');
      return user ? 'seed' : 'gone';
    }
    await client.query('DELETE FROM assets WHERE user_id = $1', [userId]);
    await client.query('DELETE FROM jobs WHERE user_id = $1', [userId]);
    await client.query('DELETE FROM brand_kits WHERE user_id = $1', [userId]);
    await client.query('DELETE FROM usage WHERE user_id = $1', [userId]);
    await client.query('DELETE FROM audit WHERE user_id = $1', [userId]);
    const sessions = await client.query<{ id: string }>('DELETE FROM sessions WHERE user_id = $1 RETURNING id', [userId]);
    await client.query('DELETE FROM users WHERE id = $1', [userId]);
    await client.query('COMMIT');
    return { email: user.email, sessionIds: sessions.rows.map((r) => r.id) };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
