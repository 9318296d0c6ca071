// The admin server: fault control and test-data cleanup, on its own port, always bound to
// 127.0.0.1 (never exposed with the API), so a test can flip faults mid-run without the API
// itself having a backdoor.
//
//   GET    /          → {service, baseUrl, wsUrl, frontendUrl, databaseUrl, redisUrl, storage, pid}
//   GET    /faults    → the current Faults
//   PUT    /faults    partial Faults (JSON merge; PATCH is an alias) → 200 new Faults · 422 {fields}
//   DELETE /faults    → 200 all faults off
//   POST   /cleanup   → 200 CleanupReport (seed.ts)
//   GET    /mailbox   → {items: Mail[]} newest first (?to=<email>): password-reset links
//   GET    /health    → {status: 'ok'}  (the admin server itself; never affected by faults)
//   POST   /tokens/expired {userId, sessionId?} → 200 {token, userId, sessionId, expiredAt}: a validly
//                     signed access token that expired a minute ago, of a live session (the given one
//                     when it is the user's, else a new one), so expiry is the only reason to refuse it
//                     (perf's ws_expired_token_refused) · 404 unknown user · 422 bad body
import Fastify, { type FastifyInstance } from 'fastify';
import { FaultValidationError, type FaultController } from './faults.ts';
import type { Logger } from './logger.ts';
import type { Mailbox } from './mailbox.ts';
import type { CleanupReport } from './seed.ts';

export interface AdminDeps {
  faults: FaultController;
  mailbox: Mailbox;
  cleanup(): Promise<CleanupReport>;
  info(): Record<string, unknown>;
  /** null when the user does not exist. */
  expiredToken(userId: string, sessionId?: string): Promise<{ token: string; sessionId: string; expiredAt: number } | null>;
  log: Logger;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function startAdminServer(deps: AdminDeps, port: number): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify({ logger: false, forceCloseConnections: true, requestIdHeader: 'x-request-id' });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    if (error instanceof FaultValidationError) return reply.code(422).send({ error: 'invalid_faults', message: error.message, fields: error.issues });
    if (error.statusCode && error.statusCode < 500) return reply.code(error.statusCode === 400 ? 422 : error.statusCode).send({ error: 'bad_request', message: error.message });
    deps.log.error('admin request failed', error);
    return reply.code(500).send({ error: 'internal_error', message: error.message });
  });

  app.get('/', async () => ({ service: 'sample-app-admin', ...deps.info() }));
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/faults', async () => deps.faults.current);
  const merge = async (request: { body: unknown }) => {
    const next = deps.faults.merge(request.body ?? {});
    deps.log.info('faults changed', next);
    return next;
  };
  app.put('/faults', merge);
  app.patch('/faults', merge);
  app.delete('/faults', async () => deps.faults.reset());
  app.post('/cleanup', async () => deps.cleanup());
  app.post<{ Body: { userId?: unknown; sessionId?: unknown } | null }>('/tokens/expired', async (request, reply) => {
    const { userId, sessionId } = request.body ?? {};
    if (typeof userId !== 'string' || !UUID.test(userId) || (sessionId !== undefined && typeof sessionId !== 'string')) {
      return reply.code(422).send({ error: 'invalid_body', message: 'send {userId: <uuid>, sessionId?: <string>}' });
    }
    const issued = await deps.expiredToken(userId, sessionId);
    if (!issued) return reply.code(404).send({ error: 'not_found', message: `no user ${userId}` });
    return { token: issued.token, userId, sessionId: issued.sessionId, expiredAt: new Date(issued.expiredAt).toISOString() };
  });
  app.get<{ Querystring: { to?: string } }>('/mailbox', async (request) => ({ items: deps.mailbox.list(request.query.to) }));

  await app.listen({ host: '127.0.0.1', port });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('admin server has no TCP address');
  return { url: `http://127.0.0.1:${address.port}`, app };
}
