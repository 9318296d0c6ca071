/**
 * An OpenAPI 3.0/3.1 document as perf uses it: its operations, each with the effective security,
 * path parameters, request body and the JSON schema of each documented response.
 *
 * Parsing, `$ref` resolution and validation of the document itself are @apidevtools/swagger-parser's
 * (MIT), not perf's: a document that is not valid OpenAPI is a `UserError` quoting its problems.
 * Schemas come back dereferenced (circular references stay as object cycles; src/openapi/validate.ts
 * copes).
 */
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { UserError } from '../errors.ts';

export type JsonSchema = Record<string, unknown> | boolean;
export const OPERATION_METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH'] as const;
export type OperationMethod = (typeof OPERATION_METHODS)[number];

export interface OpenApiResponse {
  description?: string;
  /** The schema of its JSON body (`application/json` or `*+json`), if the document gives one. */
  schema?: JsonSchema;
  contentTypes: string[];
}

export interface OpenApiOperation {
  /** The operationId, or `METHOD /path` (as the document writes the path) when it has none. */
  id: string;
  operationId?: string;
  method: OperationMethod;
  /** As the document writes it: `/api/notes/{id}`. */
  path: string;
  /** perf's smoke form: `/api/notes/:id`. */
  perfPath: string;
  /** Matches a concrete request path (no query string): a `{param}` is one non-empty segment. */
  pattern: RegExp;
  summary?: string;
  tags: string[];
  /** The effective security (the operation's, else the document's) asks for a credential: no empty alternative `{}`. */
  secured: boolean;
  /** Path parameters (the path item's and the operation's, the latter winning), in path order. */
  pathParams: { name: string; schema?: JsonSchema }[];
  requestBody?: { required: boolean; schema?: JsonSchema; contentTypes: string[] };
  /** Status (`200`, `4XX`, `default`) → what the document says of it. */
  responses: Record<string, OpenApiResponse>;
}

export interface OpenApiDocument {
  /** What the config named (file path as given, or URL). */
  source: string;
  /** `openapi` field: 3.0.x or 3.1.x. */
  version: string;
  title: string;
  apiVersion: string;
  operations: OpenApiOperation[];
}

type Obj = Record<string, any>;

/**
 * Reads, validates and dereferences `ref` (a file relative to `baseDir`, or an http(s) URL).
 * Throws a `UserError` naming the document and the problem.
 */
export async function loadOpenApi(ref: string, baseDir: string): Promise<OpenApiDocument> {
  const isUrl = /^https?:\/\//.test(ref);
  const location = isUrl ? ref : path.resolve(baseDir, ref);
  let api: Obj;
  try {
    // validate() parses, checks against the OpenAPI schema, then dereferences.
    api = (await SwaggerParser.validate(location, { dereference: { circular: true } })) as Obj;
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n').slice(0, 8).join('\n');
    throw new UserError(
      `smoke.openapi: cannot use ${ref}: ${msg}`,
      isUrl
        ? 'Check the URL answers with the document (perf reads it before it starts target.start services; save it to a file if the service serves it itself).'
        : 'Check the path (relative to the config file) and that the document is valid OpenAPI 3.',
    );
  }
  if (typeof api.openapi !== 'string' || !/^3\./.test(api.openapi)) {
    throw new UserError(`smoke.openapi: ${ref} is not an OpenAPI 3 document (it says ${api.swagger ? `swagger ${api.swagger}` : 'no openapi version'})`, 'Convert it to OpenAPI 3.0 or 3.1.');
  }
  return { source: ref, version: api.openapi, title: api.info?.title ?? '', apiVersion: api.info?.version ?? '', operations: operationsOf(api) };
}

export function operationsOf(api: Obj): OpenApiOperation[] {
  const ops: OpenApiOperation[] = [];
  const globalSecurity: Obj[] | undefined = api.security;
  for (const [p, item] of Object.entries<Obj>(api.paths ?? {})) {
    if (!item || typeof item !== 'object') continue;
    for (const method of OPERATION_METHODS) {
      const op: Obj | undefined = item[method.toLowerCase()];
      if (!op) continue;
      const security: Obj[] | undefined = op.security ?? globalSecurity;
      const secured = !!security && security.length > 0 && !security.some((alt) => Object.keys(alt ?? {}).length === 0);
      const params = new Map<string, { name: string; schema?: JsonSchema }>();
      for (const prm of [...(item.parameters ?? []), ...(op.parameters ?? [])] as Obj[]) {
        if (prm?.in === 'path') params.set(prm.name, { name: prm.name, ...(prm.schema !== undefined ? { schema: prm.schema } : {}) });
      }
      const names = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
      const pathParams = names.map((n) => params.get(n) ?? { name: n });
      const responses: Record<string, OpenApiResponse> = {};
      for (const [status, r] of Object.entries<Obj>(op.responses ?? {})) responses[status] = responseOf(r);
      const body: Obj | undefined = op.requestBody;
      ops.push({
        id: op.operationId ?? `${method} ${p}`,
        ...(op.operationId ? { operationId: op.operationId } : {}),
        method,
        path: p,
        perfPath: p.replace(/\{([^}]+)\}/g, (_, n: string) => `:${n.replace(/[^A-Za-z0-9_]/g, '_')}`),
        pattern: new RegExp(`^${p.split(/\{[^}]+\}/).map(escapeRe).join('[^/]+')}/?$`),
        ...(op.summary ? { summary: op.summary } : {}),
        tags: op.tags ?? [],
        secured,
        pathParams,
        ...(body ? { requestBody: { required: !!body.required, ...jsonSchemaOf(body.content), contentTypes: Object.keys(body.content ?? {}) } } : {}),
        responses,
      });
    }
  }
  return ops;
}

function responseOf(r: Obj): OpenApiResponse {
  return { ...(r?.description ? { description: r.description } : {}), ...jsonSchemaOf(r?.content), contentTypes: Object.keys(r?.content ?? {}) };
}

function jsonSchemaOf(content: Obj | undefined): { schema?: JsonSchema } {
  if (!content) return {};
  const key = Object.keys(content).find((k) => /^application\/(.+\+)?json\b/i.test(k));
  const schema = key ? content[key]?.schema : undefined;
  return schema !== undefined ? { schema } : {};
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The documented operation a request hits: an exact path before a templated one (`/notes/mine` before `/notes/{id}`). */
export function matchOperation(ops: readonly OpenApiOperation[], method: string, requestPath: string): OpenApiOperation | undefined {
  const m = method.toUpperCase();
  const p = requestPath.split('?')[0]!;
  const hits = ops.filter((o) => o.method === m && o.pattern.test(p));
  return hits.sort((a, b) => a.pathParams.length - b.pathParams.length)[0];
}

/** Whether `exclude` (operationIds or `METHOD /path` as the document writes it) names `op`. */
export function isExcluded(op: OpenApiOperation, exclude: readonly string[]): boolean {
  const byPath = `${op.method} ${op.path}`;
  return exclude.some((e) => {
    const t = e.trim();
    if (t === op.id || t === op.operationId) return true;
    const m = /^([A-Za-z]+)\s+(\S+)$/.exec(t);
    return !!m && `${m[1]!.toUpperCase()} ${m[2]}` === byPath;
  });
}
