/**
 * `perf init [dir] [--openapi <file|url>] [--base-url <url>] [--force]`: scaffolds a perf project
 * for a service perf has never seen, one whose `perf run` passes health, smoke, flows and load
 * against that service with no edit (the files' text is init-templates.ts; this file decides
 * what goes in them).
 *
 * Contract:
 * - writes perf.config.ts, flows/service.ts, scenarios/journey.ts and README.md into `dir`
 *   (created when missing) and, for an OpenAPI document given by URL, the document itself
 *   (`openapi.json` or `openapi.yaml`, as fetched) so that runs never depend on the URL;
 * - a document given as a file is referenced by its path relative to the project, not copied:
 *   the service owns its document, and a copy would silently go stale as the API changes;
 * - nothing is written when any of those files exists, unless `force` (a `UserError` naming
 *   them, exit 2); nor when the document cannot be read or is not valid OpenAPI 3 (`loadOpenApi`'s
 *   `UserError`, naming it);
 * - the base URL: `baseUrl`, else the document's first `servers[].url` (variables at their
 *   defaults; a relative one resolved against the document's URL) when it is http(s), else
 *   http://127.0.0.1:8080;
 * - health: the document's unsecured, parameterless GET whose path names a health endpoint
 *   (health, status, ready, live, ping, ...) with its documented 2xx; else `/`. Whatever the
 *   document does not say is asked of the running service, when it answers at init: the health
 *   path and status without a document, and what it answers to a path it does not route, at the
 *   root and under each prefix smoke probes (`smoke.unknownPath`, left at its default 404 unless
 *   the service answered otherwise). Each
 *   choice is written into the config as a comment saying where it came from.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isUserError, UserError } from '../errors.ts';
import { loadOpenApi, type OpenApiDocument, type OpenApiOperation } from '../openapi/document.ts';
import { parseUrl } from './flags.ts';
import { PROJECT_FILES, projectFiles, type AuthRequestHint, type InitPlan, type Probed } from './init-templates.ts';

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';
/** How long init waits for the service to answer one probe. */
const PROBE_TIMEOUT_MS = 3000;
/** Without a document, the paths tried for a health endpoint, in order; the first 2xx wins. */
const HEALTH_CANDIDATES = ['/health', '/healthz', '/status', '/ready', '/readyz', '/livez', '/ping'];
/** A path segment naming a health endpoint; earlier alternatives are preferred. */
const HEALTH_WORDS = [/^health(z|check|-check)?$/i, /^status(z)?$/i, /^ready(z)?$|^readiness$/i, /^live(z|ness)?$|^alive$/i, /^ping$|^heartbeat$/i];
/** Like smoke's own probe (`/perf-no-such-path-<seed>`): no service routes it. */
const UNKNOWN_PROBE_PATH = '/perf-no-such-path';

export interface InitOptions {
  /** The project folder, relative to `cwd`. */
  dir: string;
  cwd: string;
  /** An OpenAPI 3 document: a file (relative to `cwd`) or an http(s) URL. */
  openapi?: string;
  baseUrl?: string;
  force?: boolean;
}

export interface InitResult {
  dir: string;
  /** Written, relative to `dir`. */
  files: string[];
  plan: InitPlan;
}

interface ReadDocument {
  doc: OpenApiDocument;
  /** The document as parsed (not dereferenced): servers and security schemes. */
  raw: Record<string, any>;
  /** What the config's `smoke.openapi` says: a path relative to the project, `./` first. */
  ref: string;
  /** A document fetched from a URL: saved into the project under `ref`, as fetched. */
  save?: { file: string; text: string };
  /** Where a relative `servers[].url` is resolved from. */
  url?: string;
}

export async function initProject(o: InitOptions): Promise<InitResult> {
  const dir = path.resolve(o.cwd, o.dir);
  const baseFlag = o.baseUrl !== undefined ? parseUrl(o.baseUrl, '--base-url') : undefined;
  // Refused before anything is fetched or probed; the saved document's name is known after.
  refuseExisting(o, dir, PROJECT_FILES);
  const read = o.openapi !== undefined ? await readDocument(o.openapi, o.cwd, dir) : undefined;
  if (read?.save) refuseExisting(o, dir, [read.save.file]);

  const server = read ? serverUrlOf(read.raw, read.url) : undefined;
  const baseUrl = baseFlag ?? server ?? DEFAULT_BASE_URL;
  const baseUrlFrom = baseFlag ? 'the --base-url flag' : server ? "the document's servers[0]" : 'the default (no --base-url, and no usable servers[0] in a document)';
  const ops = read?.doc.operations ?? [];

  const healthOp = pickHealth(ops);
  const rootOp = ops.find((op) => op.method === 'GET' && op.path === '/' && !op.secured);
  let health: Probed;
  if (healthOp) health = { path: healthOp.path, status: documented2xx(healthOp), why: `the document's unsecured ${healthOp.id}, with its documented ${documented2xx(healthOp)}` };
  else if (rootOp) health = { path: '/', status: documented2xx(rootOp), why: `the document has no health endpoint; GET / is documented with ${documented2xx(rootOp)}` };
  else health = await probeHealth(baseUrl, read ? ['/'] : [...HEALTH_CANDIDATES, '/'], !!read);

  const unknownPath = await probeUnknownPath(baseUrl, read ? ops.map((op) => op.perfPath) : [health.path]);

  const loadOp = pickLoad(ops, healthOp ?? rootOp);
  const load = loadOp ? { path: loadOp.path, status: documented2xx(loadOp), name: snake(loadOp.operationId ?? loadOp.path), why: `the document's first unsecured GET without parameters, ${loadOp.id}` } : { path: health.path, status: health.status, name: snake(health.path), why: 'the health endpoint: the one request known to work without a test user' };

  const plan: InitPlan = {
    baseUrl,
    baseUrlFrom,
    health,
    load,
    ...(unknownPath ? { unknownPath } : {}),
    ...(read
      ? {
          openapi: {
            ref: read.ref,
            source: o.openapi!,
            saved: !!read.save,
            title: read.doc.title,
            apiVersion: read.doc.apiVersion,
            operations: read.doc.operations.length,
            secured: read.doc.operations.filter((op) => op.secured).length,
          },
          auth: authHint(ops, read.raw),
        }
      : {}),
  };

  const files = projectFiles(plan);
  if (read?.save) files[read.save.file] = read.save.text;
  const names = Object.keys(files);
  for (const f of names) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), files[f]!);
  }
  return { dir, files: names, plan };
}

/** A `UserError` naming the files of the project that exist, unless `--force`. */
function refuseExisting(o: InitOptions, dir: string, files: readonly string[]): void {
  const existing = files.filter((f) => existsSync(path.join(dir, f)));
  if (existing.length === 0 || o.force) return;
  const where = path.relative(o.cwd, dir) || '.';
  throw new UserError(
    `${where} already has ${existing.map((f) => path.join(where, f)).join(', ')}: nothing was written`,
    'Pass --force to overwrite them, or choose another folder: perf init <dir>.',
  );
}

/** Reads and validates the document (through `loadOpenApi`); a URL's text is kept to be saved. */
async function readDocument(source: string, cwd: string, dir: string): Promise<ReadDocument> {
  if (/^https?:\/\//i.test(source)) {
    let text: string;
    let type: string;
    try {
      const res = await fetch(source, { signal: AbortSignal.timeout(15_000) });
      text = await res.text();
      type = res.headers.get('content-type') ?? '';
      if (!res.ok) throw new Error(`it answered ${res.status}`);
    } catch (e) {
      throw new UserError(`--openapi: cannot fetch ${source}: ${e instanceof Error ? e.message : String(e)}`, 'Check the URL answers with the document, or save it to a file and pass the file.');
    }
    const json = /json/i.test(type) || /^\s*\{/.test(text);
    const file = json ? 'openapi.json' : 'openapi.yaml';
    // Validated as the file the project will hold: a document that only works from its URL (relative
    // $refs to other files there) fails here, not at the first run.
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'perf-init-'));
    try {
      writeFileSync(path.join(tmp, file), text);
      const doc = await validated(() => loadOpenApi(path.join(tmp, file), tmp), path.join(tmp, file), source);
      return { doc, raw: parseRaw(text), ref: `./${file}`, save: { file, text }, url: source };
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const abs = path.resolve(cwd, source);
  if (!existsSync(abs)) throw new UserError(`--openapi: no such file: ${source}`, 'Give the path of an OpenAPI 3 document (YAML or JSON), or its http(s) URL.');
  const doc = await validated(() => loadOpenApi(abs, cwd), abs, source);
  let rel = path.relative(dir, abs).split(path.sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return { doc, raw: parseRaw(readFileSync(abs, 'utf8')), ref: rel };
}

/** `loadOpenApi`'s UserError, told as init's: the option that named the document, and the name the user gave. */
async function validated(load: () => Promise<OpenApiDocument>, where: string, source: string): Promise<OpenApiDocument> {
  try {
    return await load();
  } catch (e) {
    if (!isUserError(e)) throw e;
    throw new UserError(e.message.replace(/^smoke\.openapi: /, '--openapi: ').split(where).join(source), 'Pass a valid OpenAPI 3.0 or 3.1 document (YAML or JSON); nothing was written.');
  }
}

function parseRaw(text: string): Record<string, any> {
  try {
    const v: unknown = parseYaml(text);
    return v && typeof v === 'object' ? (v as Record<string, any>) : {};
  } catch {
    return {};
  }
}

/** `servers[0].url` with its variables at their defaults, when it is (or resolves to) http(s). */
export function serverUrlOf(raw: Record<string, any>, documentUrl?: string): string | undefined {
  const s = Array.isArray(raw.servers) ? raw.servers[0] : undefined;
  if (!s || typeof s.url !== 'string') return undefined;
  const url = s.url.replace(/\{([^}]+)\}/g, (m: string, name: string) => {
    const d = s.variables?.[name]?.default;
    return d === undefined ? m : String(d);
  });
  if (/[{}]/.test(url)) return undefined;
  try {
    const u = documentUrl ? new URL(url, documentUrl) : new URL(url);
    return /^https?:$/.test(u.protocol) ? u.href.replace(/\/+$/, '') : undefined;
  } catch {
    return undefined;
  }
}

const getWithoutParams = (op: OpenApiOperation) => op.method === 'GET' && !op.secured && op.pathParams.length === 0;

function healthRank(op: OpenApiOperation): number {
  const segments = op.path.split('/').filter(Boolean);
  const ranks = segments.map((s) => HEALTH_WORDS.findIndex((re) => re.test(s))).filter((i) => i >= 0);
  return ranks.length ? Math.min(...ranks) : -1;
}

export function pickHealth(ops: readonly OpenApiOperation[]): OpenApiOperation | undefined {
  return ops
    .filter((op) => getWithoutParams(op) && healthRank(op) >= 0)
    .sort((a, b) => healthRank(a) - healthRank(b) || a.path.length - b.path.length)[0];
}

/** The first unsecured parameterless GET that is not the health endpoint, one with a JSON answer first. */
function pickLoad(ops: readonly OpenApiOperation[], health: OpenApiOperation | undefined): OpenApiOperation | undefined {
  const candidates = ops.filter((op) => getWithoutParams(op) && op !== health && healthRank(op) < 0);
  const json = (op: OpenApiOperation) => Object.entries(op.responses).some(([s, r]) => /^2/.test(s) && r.schema !== undefined);
  return candidates.find(json) ?? candidates[0];
}

/** The lowest documented 2xx status (`2XX`, or none documented: 200). */
export function documented2xx(op: OpenApiOperation): number {
  const codes = Object.keys(op.responses).filter((s) => /^2\d\d$/.test(s)).map(Number).sort((a, b) => a - b);
  return codes[0] ?? 200;
}

/** One GET, redirects not followed (as perf's checks send it); undefined when nothing answers. */
async function probe(baseUrl: string, p: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${baseUrl}${p}`, { redirect: 'manual', signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), headers: { accept: '*/*' } });
    await res.body?.cancel();
    return res.status;
  } catch {
    return undefined;
  }
}

/**
 * Asks the running service: the first candidate answering 2xx; else `/` with what it answered (a
 * 3xx or 4xx still proves the service is up and routing); else, when nothing answers, `/` and 200.
 */
async function probeHealth(baseUrl: string, candidates: string[], withDocument: boolean): Promise<Probed> {
  const none = withDocument ? 'the document has no unsecured health endpoint (nor GET /)' : 'no document';
  let root: number | undefined;
  for (const p of candidates) {
    const status = await probe(baseUrl, p);
    if (status === undefined) break; // not running: no other path will answer either
    if (status >= 200 && status < 300) return { path: p, status, why: `${none}; GET ${p} answered ${status} when perf init ran` };
    if (p === '/') root = status;
  }
  if (root !== undefined && root < 500) return { path: '/', status: root, why: `${none}; nothing answered 2xx when perf init ran, GET / answered ${root}: it proves the service answers, not that it is healthy` };
  return { path: '/', status: 200, why: `${none}, and ${baseUrl} did not answer when perf init ran: GET / is assumed to answer 200` };
}

/** The first segments smoke's `unknown_path` also probes under (paths of two segments or more): `/api`. */
function prefixesOf(paths: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    const segments = p.split('/').filter(Boolean);
    if (segments.length >= 2 && !segments[0]!.startsWith(':')) out.add(`/${segments[0]}`);
  }
  return [...out];
}

/**
 * What the service answers to a path it does not route, at the root and under each prefix smoke
 * probes: undefined (the default, 404) when that is 404 everywhere or nothing answers; the status
 * it answered when that is the same everywhere; else the root's, pinned to the root path.
 */
async function probeUnknownPath(baseUrl: string, matrixPaths: readonly string[]): Promise<InitPlan['unknownPath']> {
  const answers: [string, number][] = [];
  for (const prefix of ['', ...prefixesOf(matrixPaths)]) {
    const status = await probe(baseUrl, `${prefix}${UNKNOWN_PROBE_PATH}`);
    if (status === undefined || status >= 500) return undefined;
    answers.push([`${prefix}${UNKNOWN_PROBE_PATH}`, status]);
  }
  const [rootPath, root] = answers[0]!;
  const said = answers.map(([p, s]) => `GET ${p} answered ${s}`).join(', ');
  if (answers.every(([, s]) => s === root)) return root === 404 ? undefined : { status: root, why: `${said} when perf init ran` };
  return { status: root, path: rootPath, why: `${said} when perf init ran: only the root is probed` };
}

/** What `auth.credential` likely is, from the document's first usable security scheme. */
function credentialHint(raw: Record<string, any>): Record<string, string> | undefined {
  const schemes = raw.components?.securitySchemes;
  if (!schemes || typeof schemes !== 'object') return undefined;
  for (const s of Object.values<any>(schemes)) {
    if (s?.type === 'apiKey' && s.in === 'header' && typeof s.name === 'string') return { type: 'apiKey', tokenPath: 'data.key', header: s.name };
    if (s?.type === 'apiKey' && s.in === 'query' && typeof s.name === 'string') return { type: 'apiKey', tokenPath: 'data.key', query: s.name };
    if (s?.type === 'apiKey' && s.in === 'cookie') return { type: 'cookie' };
    if (s?.type === 'http' && /^bearer$/i.test(s.scheme ?? '')) return { type: 'bearer', tokenPath: 'accessToken' };
    if (s?.type === 'oauth2' || s?.type === 'openIdConnect') return { type: 'bearer', tokenPath: 'access_token' };
  }
  return undefined;
}

const TOKEN_NAMES = /^(access_?token|token|api_?key|key|jwt|id_?token)$/i;

/** The dotted path of the first token-like property of the operation's 2xx JSON answer (breadth first, 3 levels). */
function tokenPathOf(op: OpenApiOperation | undefined): string | undefined {
  const schema = Object.entries(op?.responses ?? {}).find(([s, r]) => /^2/.test(s) && r.schema)?.[1].schema;
  let level: [string, unknown][] = [['', schema]];
  for (let depth = 0; depth < 3 && level.length; depth++) {
    const next: [string, unknown][] = [];
    for (const [at, sch] of level) {
      const props = (sch as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
      for (const [k, v] of Object.entries(props)) {
        const p = at ? `${at}.${k}` : k;
        if (TOKEN_NAMES.test(k) && (v as { type?: unknown })?.type === 'string') return p;
        if (/^[A-Za-z_$][\w$-]*$/.test(k)) next.push([p, v]);
      }
    }
    level = next;
  }
  return undefined;
}

/** Identity fields perf fills in (auth.identity), by the body property names services use. */
const IDENTITY_FIELDS: Record<string, string> = { email: '{{email}}', username: '{{username}}', login: '{{username}}', user: '{{username}}', password: '{{password}}', name: '{{name}}' };

/** The document's unsecured POST whose path says `words`, with a body template of the identity fields it takes. */
function authRequestHint(ops: readonly OpenApiOperation[], words: RegExp): AuthRequestHint | undefined {
  const op = ops.find((o) => o.method === 'POST' && !o.secured && o.pathParams.length === 0 && words.test(o.path));
  if (!op) return undefined;
  const props = (op.requestBody?.schema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
  const body = Object.fromEntries(Object.keys(props).filter((k) => IDENTITY_FIELDS[k.toLowerCase()]).map((k) => [k, IDENTITY_FIELDS[k.toLowerCase()]!]));
  return { method: 'POST', path: op.path, body: Object.keys(body).length ? body : { email: '{{email}}', password: '{{password}}' }, expect: documented2xx(op) };
}

function authHint(ops: readonly OpenApiOperation[], raw: Record<string, any>): InitPlan['auth'] {
  const signup = authRequestHint(ops, /sign-?up|register|accounts?\/?$|users\/?$/i);
  const login = authRequestHint(ops, /log-?in|sign-?in|sessions?\/?$|token\/?$/i);
  const found = credentialHint(raw);
  const tokenPath = login && tokenPathOf(ops.find((o) => o.method === 'POST' && o.path === login.path));
  const credential = found && found.type !== 'cookie' && tokenPath ? { ...found, tokenPath } : found;
  // The caller's own account, removed as that user: `DELETE /api/accounts/me`.
  const cleanup = ops.find((o) => o.method === 'DELETE' && o.secured && o.pathParams.length === 0 && /\/(me|self|account)\/?$/i.test(o.path))?.path;
  return { ...(signup ? { signup } : {}), ...(login ? { login } : {}), ...(credential ? { credential } : {}), ...(cleanup ? { cleanup } : {}) };
}

/** A name for checks and k6's `name` tag: `/api/v1/items` → `api_v1_items`, `/` → `root`. */
export function snake(s: string): string {
  const n = s
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return n || 'root';
}
