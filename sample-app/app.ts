// Builds the fastify instance: API, WebSocket agent, pages, health; no listening, no I/O.
//
// Cross-cutting contracts:
// - X-Request-Id: every response carries one: the caller's (when it is 1-128 characters of
//   [A-Za-z0-9._:-]) or a generated UUID. Error bodies repeat it as `requestId`.
// - Validation: fastify JSON schemas with type coercion off (a number is not a string) and
//   all errors reported; failures answer 422 naming each field (errors.ts).
// - Faults: latency (incl. creep), leak, contention and error-rate faults apply to the API
//   routes only (registered in the `api` scope below); /health, pages, /ws and the admin server
//   are exempt.
import { randomUUID } from 'node:crypto';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { AppContext } from './context.ts';
import { HttpError, installErrorHandler } from './errors.ts';
import { registerHealthRoute } from './health.ts';
import { registerPages } from './pages.ts';
import { registerAssetRoutes } from './routes-assets.ts';
import { registerAuthRoutes } from './routes-auth.ts';
import { registerJobRoutes } from './routes-jobs.ts';
import { registerBrandKitRoutes } from './routes-kits.ts';
import { AgentHub } from './ws-agent.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** One registered route: `api` for the API scope (where the API faults apply), `app` for the rest. */
export interface RouteInfo {
  method: string;
  url: string;
  scope: 'api' | 'app';
}

export async function buildApp(ctx: AppContext): Promise<{ app: FastifyInstance; agent: AgentHub; routes: RouteInfo[] }> {
  const app = Fastify({
    logger: false, // our own stderr logger (logger.ts); stdout belongs to the ready line
    forceCloseConnections: true, // stop() must not wait for idle keep-alive connections
    return503OnClosing: true,
    bodyLimit: 256 * 1024,
    requestIdHeader: false,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    ajv: { customOptions: { coerceTypes: false, allErrors: true } },
  });
  app.decorateRequest('user', null);
  // The route table, as registered (tests compare it with perf's endpoint matrix). HEAD routes
  // fastify adds for each GET are left out.
  const routes: RouteInfo[] = [];
  let scope: RouteInfo['scope'] = 'app';
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') routes.push({ method, url: r.url, scope });
  });
  // Hot-path hooks use the callback style: an async hook costs ~25% of /health throughput here.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  if (ctx.log.enabled('debug')) {
    app.addHook('onResponse', async (request, reply) => {
      ctx.log.debug(`${request.method} ${request.url} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms id=${request.id}`);
    });
  }
  installErrorHandler(app, ctx.log);

  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  registerHealthRoute(app, ctx);
  const agent = new AgentHub(ctx);
  agent.register(app);
  registerPages(app, ctx);

  await app.register(async (api) => {
    scope = 'api';
    // API requests in flight, counted only while the contention fault is on (a request counted
    // is uncounted when its response closes, however it ends); the fault switched on mid-run
    // starts from zero.
    let inFlight = 0;
    const leave = () => void inFlight--;
    // FAULTS latencyMs / tailLatencyMs+tailFraction / latencyCreepMsPerMin / leakKbPerRequest /
    // errorRate / contentionLatencyMs, before
    // anything else (also before authentication, so a 401 is delayed like any other answer).
    api.addHook('onRequest', (request, reply, done) => {
      const faults = ctx.faults;
      if (!faults.touchesApi) return done();
      faults.leakForRequest(); // FAULT leakKbPerRequest
      let contention = 0;
      if (faults.current.contentionLatencyMs > 0) {
        inFlight++;
        reply.raw.once('close', leave);
        contention = faults.contentionDelayMs(inFlight);
      }
      const fail = () => {
        if (faults.shouldFail()) return done(new HttpError(500, 'injected_fault', 'injected fault: errorRate'));
        // FAULT endpointErrorRoute + endpointErrorRate: the route as declared (`/brand-kits/:id`).
        if (faults.failsEndpoint(`${request.method} ${request.routeOptions.url ?? ''}`)) return done(new HttpError(500, 'injected_fault', 'injected fault: endpointErrorRate'));
        done();
      };
      const delay = faults.apiDelayMs() + contention;
      if (delay > 0) setTimeout(fail, delay);
      else fail();
    });
    registerAuthRoutes(api, ctx);
    registerBrandKitRoutes(api, ctx);
    registerJobRoutes(api, ctx);
    registerAssetRoutes(api, ctx);
  });
  scope = 'app';
  return { app, agent, routes };
}
