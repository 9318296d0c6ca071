/**
 * The smoke phase's endpoint matrix: the rows of `smoke.endpoints`, and, with `smoke.openapi`,
 * one row per operation of the document (docs/smoke.md, "From an OpenAPI document").
 *
 * Derivation, per operation not in `exclude` (GET, POST, PUT, PATCH, DELETE; OPTIONS and HEAD
 * are left out):
 *   name                 the operationId in snake_case, else method and path segments
 *                        (`get_api_notes_id`); made unique with `_2`, `_3`...
 *   path                 `{id}` written `:id`
 *   auth                 the effective security asks for a credential
 *   idKind               the last path parameter's schema: integer/number → integer, string with
 *                        format uuid → uuid, other string → slug (no schema: uuid)
 *   body                 the request body is required
 *   expect.unauthenticated  401 if documented, else 403 if documented, else smoke.unauthenticatedStatus
 *   expect.emptyBody     422 if documented, else 400 if documented, else 422
 *   unknown-id check     a path parameter, no required body, and 404 (or 4XX) documented
 * A row of `smoke.endpoints` with the same method and path (parameter names aside) replaces the
 * derived row whole, keeping its place; the other rows of `smoke.endpoints` follow. A row of
 * `smoke.endpoints` whose method and path the document has (excluded or not) is checked against
 * that operation too.
 */
import type { EndpointSpec, ResolvedConfig } from '../config/config-schema.ts';
import { UserError } from '../errors.ts';
import { isExcluded, loadOpenApi, type JsonSchema, type OpenApiDocument, type OpenApiOperation } from './document.ts';

export const PARAM = /:[A-Za-z_][A-Za-z0-9_]*/g;

export interface SmokeRow extends EndpointSpec {
  /** The document's operation this row is: its responses are checked against it. */
  operation?: OpenApiOperation;
  /** Derived from the document (not a row of `smoke.endpoints`). */
  derived: boolean;
  /** Whether the row gets `<name>_unknown_id`. */
  unknownId: boolean;
}

/** `smoke.openapi` with its defaults. */
export interface OpenApiOptions {
  document: string;
  exclude: string[];
  validateResponses: boolean;
}

export interface SmokeMatrix {
  rows: SmokeRow[];
  /** The document of `smoke.openapi`, when there is one. */
  document?: OpenApiDocument;
  openapi?: OpenApiOptions;
}

export function openApiOptions(config: ResolvedConfig): OpenApiOptions | undefined {
  const o = config.smoke.openapi;
  if (o === undefined) return undefined;
  return typeof o === 'string' ? { document: o, exclude: [], validateResponses: true } : o;
}

/**
 * The matrix of `config`: the document of `smoke.openapi` is read (relative to `projectDir`)
 * when there is one; a document that cannot be used, or an `exclude` entry naming no operation,
 * is a UserError.
 */
export async function smokeMatrix(config: ResolvedConfig, projectDir: string): Promise<SmokeMatrix> {
  const openapi = openApiOptions(config);
  if (!openapi) return { rows: config.smoke.endpoints.map(explicitRow) };
  const document = await loadOpenApi(openapi.document, projectDir);
  return { rows: matrixRows(config, document.operations, openapi.exclude, openapi.document), document, openapi };
}

/** The rows for `ops` less `exclude`, merged with `smoke.endpoints` (see the file's comment). */
export function matrixRows(config: ResolvedConfig, ops: readonly OpenApiOperation[], exclude: readonly string[], source = 'the document'): SmokeRow[] {
  const unknown = exclude.filter((x) => !ops.some((op) => isExcluded(op, [x])));
  if (unknown.length) {
    throw new UserError(
      `smoke.openapi.exclude: ${unknown.map((x) => JSON.stringify(x)).join(', ')} names no operation of ${source}`,
      `Name an operationId or "METHOD /path" as the document writes the path (${ops.slice(0, 3).map((o) => JSON.stringify(o.id)).join(', ')}${ops.length > 3 ? ', ...' : ''}).`,
    );
  }
  const explicit = config.smoke.endpoints;
  const byKey = new Map(explicit.map((e) => [rowKey(e.method, e.path), e]));
  const opByKey = new Map(ops.map((op) => [rowKey(op.method, op.perfPath), op]));
  const taken = new Set(explicit.map((e) => e.name));
  const used = new Set<EndpointSpec>();
  const rows: SmokeRow[] = [];
  for (const op of ops) {
    if (!isSmokeMethod(op.method) || isExcluded(op, exclude)) continue;
    const own = byKey.get(rowKey(op.method, op.perfPath));
    if (own) {
      if (!used.has(own)) rows.push({ ...explicitRow(own), operation: op });
      used.add(own);
      continue;
    }
    const name = unique(baseName(op), taken);
    taken.add(name);
    rows.push(derivedRow(config, op, name));
  }
  for (const e of explicit) {
    if (used.has(e)) continue;
    const op = opByKey.get(rowKey(e.method, e.path));
    rows.push({ ...explicitRow(e), ...(op ? { operation: op } : {}) });
  }
  return rows;
}

export function explicitRow(e: EndpointSpec): SmokeRow {
  return { ...e, derived: false, unknownId: hasParams(e.path) && !e.body };
}

function derivedRow(config: ResolvedConfig, op: OpenApiOperation, name: string): SmokeRow {
  const has = (status: string) => status in op.responses;
  const body = !!op.requestBody?.required;
  const path = op.perfPath;
  return {
    name,
    method: op.method as EndpointSpec['method'],
    path,
    auth: op.secured,
    body,
    idKind: idKindOf(op.pathParams.at(-1)?.schema),
    expect: {
      unauthenticated: has('401') ? 401 : has('403') ? 403 : config.smoke.unauthenticatedStatus,
      emptyBody: has('422') ? 422 : has('400') ? 400 : 422,
      unknownId: 404,
      missingCsrf: 403,
    },
    operation: op,
    derived: true,
    unknownId: hasParams(path) && !body && Object.keys(op.responses).some((k) => k === '404' || k.toUpperCase() === '4XX'),
  };
}

/** The kind of id a path parameter takes, from its schema (see the file's comment). */
export function idKindOf(schema: JsonSchema | undefined): EndpointSpec['idKind'] {
  if (!schema || typeof schema !== 'object') return 'uuid';
  const types = [schema.type].flat().filter((t) => typeof t === 'string' && t !== 'null');
  if (types.includes('integer') || types.includes('number')) return 'integer';
  if (types.includes('string')) return schema.format === 'uuid' ? 'uuid' : 'slug';
  return 'uuid';
}

/** `getNoteById` → `get_note_by_id`; `GET /api/notes/{id}` → `get_api_notes_id`; `GET /` → `get_root`. */
export function baseName(op: Pick<OpenApiOperation, 'operationId' | 'method' | 'path'>): string {
  const fromId = op.operationId ? snakeCase(op.operationId) : '';
  if (fromId) return fromId;
  const segments = snakeCase(op.path);
  return `${op.method.toLowerCase()}_${segments || 'root'}`;
}

export function snakeCase(s: string): string {
  return s
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function unique(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name;
  for (let n = 2; ; n++) if (!taken.has(`${name}_${n}`)) return `${name}_${n}`;
}

function isSmokeMethod(m: string): m is EndpointSpec['method'] {
  return m === 'GET' || m === 'POST' || m === 'PUT' || m === 'PATCH' || m === 'DELETE';
}

/** Method and path with parameter names left out: `/api/notes/:id` and `/api/notes/:noteId` are one row. */
function rowKey(method: string, path: string): string {
  return `${method.toUpperCase()} ${path.replace(PARAM, ':')}`;
}

export function hasParams(path: string): boolean {
  return path.match(PARAM) !== null;
}

/**
 * The first path segments under which `unknown_path` probes too: of the rows' paths with more
 * than one segment, the distinct first ones that are not a parameter (`/api/notes` → `/api`).
 */
export function pathPrefixes(rows: readonly Pick<EndpointSpec, 'path'>[]): string[] {
  const out: string[] = [];
  for (const { path } of rows) {
    const segments = path.split('?')[0]!.split('/').filter(Boolean);
    if (segments.length < 2 || segments[0]!.startsWith(':')) continue;
    const prefix = `/${segments[0]}`;
    if (!out.includes(prefix)) out.push(prefix);
  }
  return out;
}
