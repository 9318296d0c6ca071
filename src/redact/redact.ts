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
/**
 * Secrets recognised by their shape. Each pattern's match ends with the secret itself (group
 * `s`), so one list serves both replacing (`redactString`) and finding (`secretsIn`).
 */
const SHAPES: RegExp[] = [
  /\bBearer\s+(?<s>[A-Za-z0-9._~+/=-]+)/g,
  // JWT: three base64url segments, the first starting with {" (eyJ).
  /(?<s>\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,})/g,
  // user:password@ in URLs (the password stops at what a URL cannot hold unescaped: quotes,
  // brackets, white space, so a URL inside JSON text never swallows the text after it).
  /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@"'<>]*:(?<s>[^/\s@"'<>]+)(?=@)/gi,
  // token-like query parameters (the value stops where a URL would have to escape, and an
  // already redacted value is left alone).
  /[?&](?:token|access_token|refresh_token|id_token|jwt|api_key|apikey|password|secret|client_secret|signature|sig)=(?!\[redacted\])(?<s>[^&\s"'#<>{}[\]]+)/gi,
];

/** Environment variables whose values are secrets wherever they show up. */
const SECRET_ENV = /PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|WEBHOOK|CREDENTIAL/i;

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Registers the value of every environment variable whose name says it is a secret. */
  addEnvSecrets(env: NodeJS.ProcessEnv): void {
    for (const [k, v] of Object.entries(env)) if (SECRET_ENV.test(k)) this.addSecret(v);
  }

  /** Registers a value to be replaced everywhere. Short values are ignored (they would
   *  match innocent text); URLs are also registered without their trailing slash. */
  addSecret(value: string | undefined | null): void {
    if (!value || value.length < 6) return;
    this.secrets.add(value);
    if (value.endsWith('/')) this.secrets.add(value.slice(0, -1));
  }

  /** Registers the password of a URL's `user:password@` (as written and decoded), e.g. a
   *  database URL: such a value shows up on its own in error text. */
  addUrlCredentials(url: string | undefined | null): void {
    if (!url) return;
    try {
      const u = new URL(url);
      this.addSecret(decodeURIComponent(u.password));
      if (u.password) this.addSecret(u.password);
    } catch {
      // not a URL: nothing to take from it
    }
  }

  redactString(s: string): string {
    let out = s;
    // Longest first, so a secret containing another is replaced whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    for (const re of SHAPES) out = out.replace(re, (m: string, ...args: unknown[]) => m.slice(0, m.length - (args.at(-1) as { s: string }).s.length) + REDACTED);
    return out;
  }

  /**
   * The secrets `s` holds, as they stand in it: registered values and the secret part of each
   * shape (the token of `?token=…`, the password of `user:password@`, a JWT). For scrubbing a
   * file that cannot be rewritten through `redactString` (raw k6 samples: redact-file.ts).
   */
  secretsIn(s: string): string[] {
    const found = new Set<string>();
    for (const secret of this.secrets) if (s.includes(secret)) found.add(secret);
    for (const re of SHAPES) for (const m of s.matchAll(re)) if (m.groups?.s && m.groups.s !== REDACTED) found.add(m.groups.s);
    return [...found];
  }

  /** Whether `s` holds anything `redactString` would replace. */
  hasSecret(s: string): boolean {
    return this.secretsIn(s).length > 0;
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
