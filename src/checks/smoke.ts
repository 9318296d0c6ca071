/**
 * The smoke phase: the declared endpoint matrix (`smoke.endpoints`), a few checks per row.
 *
 *   <name>_reachable           no connection error and no 5xx, sent without a credential (and `{}`
 *                              as body when the endpoint takes one), so nothing is created or ended
 *   <name>_requires_auth       auth: true → `expect.unauthenticated` (default
 *                              `smoke.unauthenticatedStatus`, 401) without a credential, and with a
 *                              malformed one where the credential is a header or query value
 *                              (`auth.credential`: bearer token, API key; Bearer without `auth`)
 *   <name>_rejects_empty_body  body: true → `expect.emptyBody` (422) to `{}`, as a test user when
 *                              the endpoint is protected
 *   <name>_unknown_id          a path with `:param`s, no body → `expect.unknownId` (404) for an
 *                              id that does not exist (as a test user when protected). Endpoints
 *                              taking a body are left out: an empty body would (rightly) be
 *                              rejected before the id is looked up, and perf has no valid body.
 *
 * Every `:param` of a path is replaced by `unknownId(seed, idKind)`, an id of the endpoint's kind
 * (`idKind`: uuid by default, integer, slug) that no row has. Checks needing a
 * signed-in user share one test user per phase, made through the config's `auth`
 * (`sharedUser(ctx, config, 'smoke')`, src/auth/users.ts); without `auth` they fail saying so.
 */
import { createHash } from 'node:crypto';
import type { TestUser } from '../api/types.ts';
import type { EndpointSpec, ResolvedConfig } from '../config/config-schema.ts';
import { expectStatus, failWith } from '../clients/http-client.ts';
import { httpClientFor, requestAs, sharedUser } from '../auth/users.ts';
import type { Check, CheckContext } from './types.ts';

const PARAM = /:[A-Za-z_][A-Za-z0-9_]*/g;
const NOT_A_CREDENTIAL = 'perf-not-a-credential';

/**
 * An id of the endpoint's own kind that no row has, derived from the seed: a syntactically valid
 * UUID (v4 layout, the all-zero prefix no generator makes), an integer at the top of int4's range
 * (no sequence of a test database gets there), or a slug no service would mint.
 */
export function unknownId(seed: number, kind: EndpointSpec['idKind'] = 'uuid'): string {
  const h = createHash('sha256').update(`perf-unknown-id-${seed}`).digest('hex');
  if (kind === 'integer') return '2147483646';
  if (kind === 'slug') return `perf-no-such-${h.slice(0, 10)}`;
  return `00000000-0000-4000-8000-${h.slice(0, 12)}`;
}

export function smokeChecks(config: ResolvedConfig): Check[] {
  return config.smoke.endpoints.flatMap((e) => endpointChecks(config, e));
}

/** A malformed credential placed where the service expects the real one (none for cookie sessions). */
function malformed(config: ResolvedConfig): { what: string; headers?: Record<string, string>; query?: string } | undefined {
  const c = config.auth?.credential ?? { type: 'bearer' as const, header: 'Authorization', scheme: 'Bearer' };
  if (c.type === 'bearer') return { what: 'a malformed token', headers: { [c.header]: c.scheme ? `${c.scheme} ${NOT_A_CREDENTIAL}` : NOT_A_CREDENTIAL } };
  if (c.type === 'apiKey') return c.header ? { what: 'a malformed API key', headers: { [c.header]: NOT_A_CREDENTIAL } } : { what: 'a malformed API key', query: c.query! };
  return undefined;
}

function endpointChecks(config: ResolvedConfig, e: EndpointSpec): Check[] {
  const label = `${e.method} ${e.path}`;
  const hasParams = e.path.match(PARAM) !== null;
  const path = (ctx: CheckContext) => e.path.replace(PARAM, unknownId(ctx.seed, e.idKind));
  // fetch refuses bodies on GET: a GET row with `body: true` sends none (and its 422 check fails).
  const bodyAllowed = e.method !== 'GET';
  const sendsBody = e.body && bodyAllowed ? { body: {} } : {};
  const unauthenticated = e.expect.unauthenticated ?? config.smoke.unauthenticatedStatus;
  const user = async (ctx: CheckContext): Promise<TestUser | undefined> => (e.auth ? sharedUser(ctx, config, 'smoke') : undefined);
  const signedIn = e.auth ? ' (as a test user)' : '';

  const checks: Check[] = [
    {
      name: `${e.name}_reachable`,
      description: `${label} answers without a connection error or 5xx`,
      run: async (ctx) => {
        const res = await httpClientFor(ctx, config).request(e.method, path(ctx), sendsBody);
        ctx.measure('status', res.status);
        ctx.measure('ms', res.durationMs);
        if (res.status >= 500) throw failWith(res, `${label} is not healthy: it answered ${res.status}`);
      },
    },
  ];
  if (e.auth) {
    const bad = malformed(config);
    checks.push({
      name: `${e.name}_requires_auth`,
      description: `${label} answers ${unauthenticated} without a credential${bad ? ` or with ${bad.what}` : ''}`,
      run: async (ctx) => {
        const http = httpClientFor(ctx, config);
        expectStatus(await http.request(e.method, path(ctx), sendsBody), unauthenticated, `${label} without a credential`);
        if (!bad) return;
        const p = bad.query ? `${path(ctx)}${path(ctx).includes('?') ? '&' : '?'}${encodeURIComponent(bad.query)}=${NOT_A_CREDENTIAL}` : path(ctx);
        expectStatus(await http.request(e.method, p, { ...sendsBody, ...(bad.headers ? { headers: bad.headers } : {}) }), unauthenticated, `${label} with ${bad.what}`);
      },
    });
  }
  if (e.body) {
    checks.push({
      name: `${e.name}_rejects_empty_body`,
      description: `${label} answers ${e.expect.emptyBody} to an empty JSON body${signedIn}`,
      run: async (ctx) => {
        const res = await requestAs(httpClientFor(ctx, config), await user(ctx), e.method, path(ctx), { ...(bodyAllowed && { body: {} }) });
        expectStatus(res, e.expect.emptyBody, `${label} with an empty body`);
      },
    });
  }
  if (hasParams && !e.body) {
    checks.push({
      name: `${e.name}_unknown_id`,
      description: `${label} answers ${e.expect.unknownId} for an id that does not exist${signedIn}`,
      run: async (ctx) => {
        const res = await requestAs(httpClientFor(ctx, config), await user(ctx), e.method, path(ctx));
        expectStatus(res, e.expect.unknownId, `${label} with an unknown id`);
      },
    });
  }
  return checks;
}
