/**
 * The smoke phase: the endpoint matrix (`smoke.endpoints`, and with `smoke.openapi` one row per
 * documented operation: src/openapi/smoke-matrix.ts), a few checks per row, and the unknown path.
 * docs/smoke.md is the user's side of this file.
 *
 *   <name>_reachable           no connection error and no 5xx, sent without a credential (and `{}`
 *                              as body when the endpoint takes one), so nothing is created or ended
 *   <name>_requires_auth       auth: true → `expect.unauthenticated` (default
 *                              `smoke.unauthenticatedStatus`, 401) without a credential, and with a
 *                              malformed one where the credential is a header or query value
 *                              (`auth.credential`: bearer token, API key; Bearer without `auth`)
 *   <name>_rejects_empty_body  body: true → `expect.emptyBody` (422) to `{}`, as a test user when
 *                              the endpoint is protected
 *   <name>_unknown_id          a path with `:param`s, no body (derived rows: and a documented 404)
 *                              → `expect.unknownId` (404) for an id that does not exist (as a test
 *                              user when protected). Endpoints taking a body are left out: an empty
 *                              body would (rightly) be rejected before the id is looked up.
 *   <name>_requires_csrf       `auth.credential` a cookie session with `csrf`, a protected POST,
 *                              PUT, PATCH or DELETE → `expect.missingCsrf` (403) as a test user
 *                              whose request lacks the CSRF header
 *   <name>_conforms            a documented GET without path parameters (validateResponses) → a
 *                              documented 2xx whose body validates, as a test user when protected
 *   unknown_path               one per phase (`smoke.unknownPath`, a non-empty matrix): GET of a
 *                              path no service routes, at the root and under each first segment
 *                              of the matrix's paths → `unknownPath.status` (404), as the test user
 *                              when the config has `auth` (a service may check credentials before
 *                              routing)
 *
 * With a document (and `validateResponses`), every answer a row's checks get is checked against
 * its operation: the status documented, a JSON body valid for that status's schema
 * (src/openapi/validate.ts). Every `:param` of a path is replaced by `unknownId(seed, idKind)`.
 *
 * Checks needing a signed-in user share one test user per phase (`sharedUser(ctx, config,
 * 'smoke')`, src/auth/users.ts); without `auth` they fail saying so on rows of `smoke.endpoints`,
 * and are skipped on rows derived from a document (the document says what is protected, not how
 * to sign in). Nothing a check sends as a user can change data when the service behaves: bodies
 * are `{}`, ids unknown, conforms only GETs; a `requires_csrf` write with neither (`POST /logout`)
 * runs as a user of its own, so a service that ignores CSRF harms no other check.
 */
import { createHash } from 'node:crypto';
import type { TestUser } from '../api/types.ts';
import type { EndpointSpec, ResolvedConfig } from '../config/config-schema.ts';
import { expectStatus, failWith, type HttpResponse } from '../clients/http-client.ts';
import { httpClientFor, requestAs, sharedUser } from '../auth/users.ts';
import { smokeMatrix, hasParams, pathPrefixes, PARAM, type SmokeRow } from '../openapi/smoke-matrix.ts';
import { ResponseValidator } from '../openapi/validate.ts';
import type { CheckFactoryContext } from '../run/phases.ts';
import { CheckFailure, CheckSkipped, type Check, type CheckContext } from './types.ts';

const NOT_A_CREDENTIAL = 'perf-not-a-credential';
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const SKIPPED_WITHOUT_AUTH =
  'needs a signed-in user and the config has no `auth`: add an `auth` block (docs/auth.md) so perf can make a test user (rows derived from smoke.openapi are skipped without it, not failed)';

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

/** The path `unknown_path` probes at the root (and under each first segment): `/perf-no-such-path-<seed>`. */
export function unknownPathOf(seed: number): string {
  return `/perf-no-such-path-${seed}`;
}

/** The smoke phase's checks. Reads the OpenAPI document of `smoke.openapi` (a UserError when it cannot be used). */
export async function smokeChecks(config: ResolvedConfig, factory: Pick<CheckFactoryContext, 'projectDir'>): Promise<Check[]> {
  const { rows, document, openapi } = await smokeMatrix(config, factory.projectDir);
  const validator = document && openapi?.validateResponses ? new ResponseValidator(document) : undefined;
  const probe = unknownPathCheck(config, rows);
  return [...rows.flatMap((r) => rowChecks(config, r, validator)), ...(probe ? [probe] : [])];
}

/** A malformed credential placed where the service expects the real one (none for cookie sessions). */
function malformed(config: ResolvedConfig): { what: string; headers?: Record<string, string>; query?: string } | undefined {
  const c = config.auth?.credential ?? { type: 'bearer' as const, header: 'Authorization', scheme: 'Bearer' };
  if (c.type === 'bearer') return { what: 'a malformed token', headers: { [c.header]: c.scheme ? `${c.scheme} ${NOT_A_CREDENTIAL}` : NOT_A_CREDENTIAL } };
  if (c.type === 'apiKey') return c.header ? { what: 'a malformed API key', headers: { [c.header]: NOT_A_CREDENTIAL } } : { what: 'a malformed API key', query: c.query! };
  return undefined;
}

function rowChecks(config: ResolvedConfig, e: SmokeRow, validator: ResponseValidator | undefined): Check[] {
  const label = `${e.method} ${e.path}`;
  const path = (ctx: CheckContext) => e.path.replace(PARAM, unknownId(ctx.seed, e.idKind));
  // fetch refuses bodies on GET: a GET row with `body: true` sends none (and its 422 check fails).
  const bodyAllowed = e.method !== 'GET';
  const sendsBody = e.body && bodyAllowed ? { body: {} } : {};
  const unauthenticated = e.expect.unauthenticated ?? config.smoke.unauthenticatedStatus;
  const userOf = async (ctx: CheckContext, label = 'smoke'): Promise<TestUser | undefined> => {
    if (!e.auth) return undefined;
    if (e.derived && !config.auth) throw new CheckSkipped(SKIPPED_WITHOUT_AUTH);
    return sharedUser(ctx, config, label);
  };
  const signedIn = e.auth ? ' (as a test user)' : '';
  const op = validator ? e.operation : undefined;
  /** Every answer of the row's checks, against its operation (when there is a document to check against). */
  const conform = (res: HttpResponse): HttpResponse => {
    if (!op) return res;
    const problems = validator!.problems(op, res);
    if (problems.length) throw failWith(res, `${op.method} ${op.path} ${res.status}: ${problems.join('; ')}`);
    return res;
  };
  const doc = op?.operationId ? ` ${op.operationId}` : ' the document';
  const against = op ? `; every answer checked against${doc}` : '';

  const checks: Check[] = [
    {
      name: `${e.name}_reachable`,
      description: `${label} answers without a connection error or 5xx${against}`,
      run: async (ctx) => {
        const res = await httpClientFor(ctx, config).request(e.method, path(ctx), sendsBody);
        ctx.measure('status', res.status);
        ctx.measure('ms', res.durationMs);
        if (res.status >= 500) throw failWith(res, `${label} is not healthy: it answered ${res.status}`);
        conform(res);
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
        const none = await http.request(e.method, path(ctx), sendsBody);
        expectStatus(none, unauthenticated, `${label} without a credential`);
        conform(none);
        if (!bad) return;
        const p = bad.query ? `${path(ctx)}${path(ctx).includes('?') ? '&' : '?'}${encodeURIComponent(bad.query)}=${NOT_A_CREDENTIAL}` : path(ctx);
        const wrong = await http.request(e.method, p, { ...sendsBody, ...(bad.headers ? { headers: bad.headers } : {}) });
        expectStatus(wrong, unauthenticated, `${label} with ${bad.what}`);
        conform(wrong);
      },
    });
  }
  if (e.body) {
    checks.push({
      name: `${e.name}_rejects_empty_body`,
      description: `${label} answers ${e.expect.emptyBody} to an empty JSON body${signedIn}`,
      run: async (ctx) => {
        const res = await requestAs(httpClientFor(ctx, config), await userOf(ctx), e.method, path(ctx), { ...(bodyAllowed && { body: {} }) });
        expectStatus(res, e.expect.emptyBody, `${label} with an empty body`);
        conform(res);
      },
    });
  }
  if (e.unknownId) {
    checks.push({
      name: `${e.name}_unknown_id`,
      description: `${label} answers ${e.expect.unknownId} for an id that does not exist${signedIn}`,
      run: async (ctx) => {
        const res = await requestAs(httpClientFor(ctx, config), await userOf(ctx), e.method, path(ctx));
        expectStatus(res, e.expect.unknownId, `${label} with an unknown id`);
        conform(res);
      },
    });
  }
  const csrf = config.auth?.credential.type === 'cookie' ? config.auth.credential.csrf : undefined;
  if (csrf && e.auth && WRITES.has(e.method)) {
    // A write that neither an unknown id nor an empty body keeps from acting gets a user of its own.
    const harmless = hasParams(e.path) || (e.body && bodyAllowed);
    checks.push({
      name: `${e.name}_requires_csrf`,
      description: `${label} answers ${e.expect.missingCsrf} as a test user without the ${csrf.header} header`,
      run: async (ctx) => {
        const user = await userOf(ctx, harmless ? 'smoke' : `smoke-csrf-${e.name}`);
        const res = await requestAs(httpClientFor(ctx, config), user, e.method, path(ctx), { ...sendsBody, withoutCsrf: true });
        expectStatus(res, e.expect.missingCsrf, `${label} without the ${csrf.header} header`);
        conform(res);
      },
    });
  }
  if (op && e.method === 'GET' && !hasParams(e.path)) {
    checks.push({
      name: `${e.name}_conforms`,
      description: `${label} answers a documented 2xx whose body validates against${doc}${signedIn}`,
      run: async (ctx) => {
        const res = await requestAs(httpClientFor(ctx, config), await userOf(ctx), e.method, e.path);
        ctx.measure('status', res.status);
        if (res.status < 200 || res.status > 299) {
          throw failWith(res, `${label}${signedIn} answered ${res.status}, expected a documented 2xx (${Object.keys(op.responses).filter((k) => k.startsWith('2')).join(', ') || 'the document lists none'})`);
        }
        conform(res);
      },
    });
  }
  return checks;
}

/** `unknown_path`: see the file's comment. Undefined when `smoke.unknownPath` is false or the matrix is empty. */
function unknownPathCheck(config: ResolvedConfig, rows: readonly SmokeRow[]): Check | undefined {
  const u = config.smoke.unknownPath;
  if (u === false || rows.length === 0) return undefined;
  const prefixes = pathPrefixes(rows);
  const paths = (seed: number) => (u.path ? [u.path] : ['', ...prefixes].map((p) => `${p}${unknownPathOf(seed)}`));
  const where = u.path ?? `/perf-no-such-path-<seed>${prefixes.length ? ` and the same under ${prefixes.join(', ')}` : ''}`;
  return {
    name: 'unknown_path',
    description: `GET ${where} answers ${u.status}${config.auth ? ' (as a test user)' : ''}`,
    run: async (ctx) => {
      const user = config.auth ? await sharedUser(ctx, config, 'smoke') : undefined;
      const http = httpClientFor(ctx, config);
      const wrong: HttpResponse[] = [];
      for (const p of paths(ctx.seed)) {
        const res = await requestAs(http, user, 'GET', p);
        if (res.status !== u.status) wrong.push(res);
      }
      if (!wrong.length) return;
      for (const res of wrong) res.ensureRecorded();
      throw new CheckFailure(
        `a path no service routes must answer ${u.status}: ${wrong.map((r) => `GET ${r.path} answered ${r.status} (correlation id ${r.correlationId})`).join('; ')}`,
      );
    },
  };
}
