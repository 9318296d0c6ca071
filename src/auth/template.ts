/**
 * Request templates and identities of test users. Pure (no Node imports): k6 bundles import it
 * too (scenarios/lib/auth.ts), so a load user `vu<n>` gets exactly the identity the after-load
 * reconciliation looks for.
 *
 * Templates are filled by `renderTemplate` (src/shared/agent-protocol.ts): `{{email}}`,
 * `{{username}}`, `{{password}}`, `{{name}}`, `{{label}}`, `{{runId}}` (and `{{id}}` where a user
 * id is known); a whole-string `{{x}}` keeps its JSON type; an unknown name is an error naming it.
 */
import { renderTemplate } from '../shared/agent-protocol.ts';

export { renderTemplate };

export interface IdentityTemplates {
  email: string;
  username: string;
  name: string;
}

export const DEFAULT_IDENTITY: IdentityTemplates = {
  email: 'perf-{{label}}-{{runId}}@perf.test',
  username: 'perf_{{label}}_{{runId}}',
  name: 'perf {{label}}',
};

/** Lower-case letters, digits and `-`: safe in e-mail local parts, usernames and URLs. */
export function safeLabel(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** The e-mail, username and display name perf gives the test user `label` of run `runId`. */
export function identityOf(templates: IdentityTemplates | undefined, runId: string, label: string): { email: string; username: string; name: string } {
  const t = templates ?? DEFAULT_IDENTITY;
  const vars = { label: safeLabel(label), runId: safeLabel(runId) };
  return {
    email: String(renderTemplate(t.email, vars)),
    username: String(renderTemplate(t.username, vars)),
    name: String(renderTemplate(t.name, vars)),
  };
}

/** What a credential declaration says about presenting a token (the fields both runtimes read; absent ones take the schema's defaults). */
export interface TokenCredential {
  type: 'bearer' | 'apiKey' | 'cookie';
  header?: string;
  scheme?: string;
  query?: string;
}

/**
 * The header carrying a bearer token (`<header>: <scheme> <token>`) or a header API key, or
 * undefined (a query API key, a cookie session, no token). One rule for Node's test users and
 * k6's load users, so both present a credential the same way.
 */
export function tokenHeader(c: TokenCredential, token: string | undefined): [string, string] | undefined {
  if (!token) return undefined;
  if (c.type === 'bearer') {
    const scheme = c.scheme ?? 'Bearer';
    return [c.header ?? 'Authorization', scheme ? `${scheme} ${token}` : token];
  }
  if (c.type === 'apiKey' && c.header) return [c.header, token];
  return undefined;
}

/** The HMAC input of a test user's password (Node: node:crypto, k6: k6/crypto; same result). */
export function passwordKey(seed: number): string {
  return `perf-seed-${seed}`;
}
export function passwordData(runId: string, label: string): string {
  return `${runId}\0${label}`;
}
/** `P` + 22 base64url characters of the HMAC + `!`: letters, digits and a symbol, for strict password rules. */
export function passwordFromDigest(base64url: string): string {
  return `P${base64url.slice(0, 22)}!`;
}
