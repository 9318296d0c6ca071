/**
 * Secrets never reach reports, logs or artifacts. Three layers, all here:
 *  1. by name: header names and JSON keys that carry credentials are replaced;
 *  2. by shape: bearer tokens, JWTs, passwords in URLs, `token=` query parameters;
 *  3. by value: every secret perf knows (config passwords, webhook URLs, tokens a flow
 *     obtained) is registered with `addSecret` and replaced wherever it appears.
 * The verdict and every reporter's output pass through `redactDeep` before writing.
 */
export const REDACTED = '[redacted]';

const SECRET_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|x-auth-token)$/i;
// `passed`/`passes` are verdict words, so only whole-word pass/pwd count.
const SECRET_KEY = /password|passwd|^pass$|^pwd$|secret|token|authorization|api[-_]?key|credential|cookie|webhook/i;
const SHAPES: [RegExp, string][] = [
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/g, `Bearer ${REDACTED}`],
  // JWT: three base64url segments, the first starting with {" (eyJ).
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\b/g, REDACTED],
  // user:password@ in URLs.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^/\s@]+@/gi, `$1:${REDACTED}@`],
  // token-like query parameters.
  [/([?&](?:token|access_token|refresh_token|api_key|apikey|password|secret)=)[^&\s"']+/gi, `$1${REDACTED}`],
];

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Registers a value to be replaced everywhere. Short values are ignored (they would
   *  match innocent text); URLs are also registered without their trailing slash. */
  addSecret(value: string | undefined | null): void {
    if (!value || value.length < 6) return;
    this.secrets.add(value);
    if (value.endsWith('/')) this.secrets.add(value.slice(0, -1));
  }

  redactString(s: string): string {
    let out = s;
    // Longest first, so a secret containing another is replaced whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    for (const [re, repl] of SHAPES) out = out.replace(re, repl);
    return out;
  }

  redactHeaders(headers: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) out[k] = SECRET_HEADER.test(k) ? REDACTED : this.redactString(v);
    return out;
  }

  /** Redacts a body: JSON by key and value, anything else as a string. */
  redactBody(body: string): string {
    try {
      return JSON.stringify(this.redactDeep(JSON.parse(body)));
    } catch {
      return this.redactString(body);
    }
  }

  /** Deep copy with secret-named keys replaced and every string redacted. */
  redactDeep<T>(value: T): T {
    return this.walk(value, undefined) as T;
  }

  private walk(value: unknown, key: string | undefined): unknown {
    if (typeof value === 'string') {
      if (key !== undefined && SECRET_KEY.test(key) && value !== '') return REDACTED;
      // JSON held in a string (a recorded response body, a WebSocket frame): redact by key inside it too.
      const t = value.trimStart();
      if ((t.startsWith('{') || t.startsWith('[')) && value.length < 1_000_000) {
        try {
          return JSON.stringify(this.walk(JSON.parse(value), undefined));
        } catch {
          // not JSON after all (or truncated): fall through to string redaction
        }
      }
      return this.redactString(value);
    }
    if (Array.isArray(value)) return value.map((v) => this.walk(v, undefined));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.walk(v, k);
      return out;
    }
    return value;
  }
}
