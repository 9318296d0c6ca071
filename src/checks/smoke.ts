/**
 * The smoke phase: the declared endpoint matrix (`smoke.endpoints`), a few checks per row.
 *
 *   <name>_reachable           no connection error and no 5xx, sent without a token (and `{}` as
 *                              body when the endpoint takes one), so nothing is created or ended
 *   <name>_requires_auth       auth: true → `expect.unauthenticated` (401) without a token, and
 *                              with a malformed one
 *   <name>_rejects_empty_body  body: true → `expect.emptyBody` (422) to `{}`, with a valid token
 *                              when the endpoint is protected
 *   <name>_unknown_id          a path with `:param`s, no body → `expect.unknownId` (404) for an
 *                              id that does not exist (with a token when protected). Endpoints
 *                              taking a body are left out: an empty body would (rightly) be
 *                              rejected before the id is looked up, and perf has no valid body.
 *
 * Every `:param` of a path is replaced by `unknownId(seed)`, a UUID no row has. Checks needing a
 * token share one smoke user per phase (`sharedUser(ctx, 'smoke')`).
 */
import { createHash } from 'node:crypto';
import type { EndpointSpec, ResolvedConfig } from '../config/config-schema.ts';
import { HttpClient, expectStatus, failWith } from '../clients/http-client.ts';
import type { Check, CheckContext } from './types.ts';
import { sharedUser } from './users.ts';

const PARAM = /:[A-Za-z_][A-Za-z0-9_]*/g;

/** A syntactically valid UUID (v4 layout) that no row has: derived from the seed. */
export function unknownId(seed: number): string {
  const h = createHash('sha256').update(`perf-unknown-id-${seed}`).digest('hex');
  return `00000000-0000-4000-8000-${h.slice(0, 12)}`;
}

export function smokeChecks(config: ResolvedConfig): Check[] {
  return config.smoke.endpoints.flatMap((e) => endpointChecks(e));
}

function endpointChecks(e: EndpointSpec): Check[] {
  const label = `${e.method} ${e.path}`;
  const hasParams = e.path.match(PARAM) !== null;
  const path = (ctx: CheckContext) => e.path.replace(PARAM, unknownId(ctx.seed));
  // fetch refuses bodies on GET: a GET row with `body: true` sends none (and its 422 check fails).
  const bodyAllowed = e.method !== 'GET';
  const sendsBody = e.body && bodyAllowed ? { body: {} } : {};
  const token = async (ctx: CheckContext) => (e.auth ? (await sharedUser(ctx, 'smoke')).accessToken : undefined);

  const checks: Check[] = [
    {
      name: `${e.name}_reachable`,
      description: `${label} answers without a connection error or 5xx`,
      run: async (ctx) => {
        const res = await new HttpClient(ctx).request(e.method, path(ctx), sendsBody);
        ctx.measure('status', res.status);
        ctx.measure('ms', res.durationMs);
        if (res.status >= 500) throw failWith(res, `${label} is not healthy: it answered ${res.status}`);
      },
    },
  ];
  if (e.auth) {
    checks.push({
      name: `${e.name}_requires_auth`,
      description: `${label} answers ${e.expect.unauthenticated} without a token or with a malformed one`,
      run: async (ctx) => {
        const http = new HttpClient(ctx);
        expectStatus(await http.request(e.method, path(ctx), sendsBody), e.expect.unauthenticated, `${label} without a token`);
        expectStatus(
          await http.request(e.method, path(ctx), { ...sendsBody, headers: { authorization: 'Bearer perf-not-a-token' } }),
          e.expect.unauthenticated,
          `${label} with a malformed token`,
        );
      },
    });
  }
  if (e.body) {
    checks.push({
      name: `${e.name}_rejects_empty_body`,
      description: `${label} answers ${e.expect.emptyBody} to an empty JSON body${e.auth ? ' (with a valid token)' : ''}`,
      run: async (ctx) => {
        const res = await new HttpClient(ctx).request(e.method, path(ctx), { ...(bodyAllowed && { body: {} }), token: await token(ctx) });
        expectStatus(res, e.expect.emptyBody, `${label} with an empty body`);
      },
    });
  }
  if (hasParams && !e.body) {
    checks.push({
      name: `${e.name}_unknown_id`,
      description: `${label} answers ${e.expect.unknownId} for an id that does not exist${e.auth ? ' (with a valid token)' : ''}`,
      run: async (ctx) => {
        const res = await new HttpClient(ctx).request(e.method, path(ctx), { token: await token(ctx) });
        expectStatus(res, e.expect.unknownId, `${label} with an unknown id`);
      },
    });
  }
  return checks;
}
