/**
 * Does a response conform to the OpenAPI document? Its status must be documented for the
 * operation (exactly, as a `4XX`-style range, or by `default`); a body whose content type the
 * response documents must be one of those types; a JSON body must validate against the
 * documented schema.
 *
 * JSON Schema validation is ajv's (MIT), with ajv-formats: `Ajv` (draft-07, which knows OpenAPI
 * 3.0's `nullable`) for 3.0 documents, `Ajv2020` for 3.1 (whose schemas are JSON Schema
 * 2020-12). Strict mode is off (documents carry `example`, `xml`, `discriminator`...), unknown
 * formats are accepted. Each schema object is compiled once per validator.
 *
 * The document's schemas come dereferenced (src/openapi/document.ts): a recursive schema is an
 * object cycle, which ajv cannot compile. `compilable()` copies a schema with every cycle turned
 * back into a `$ref` to a definition of the copy, so recursion is still validated to any depth.
 * The same copy makes a 3.0 schema JSON Schema: a boolean `exclusiveMinimum`/`exclusiveMaximum`
 * becomes the draft-07 number, `nullable` without `type` becomes `anyOf [schema, null]`.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { JsonSchema, OpenApiDocument, OpenApiOperation, OpenApiResponse } from './document.ts';

// ajv-formats is CommonJS: its default export arrives as the module object under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

/** What a response is checked on (any HTTP client's answer fits). */
export interface ResponseToCheck {
  status: number;
  headers: Record<string, string>;
  text: string;
}

/** At most this many schema problems are named in one message (the evidence keeps the body). */
const MAX_PROBLEMS = 8;

export class ResponseValidator {
  readonly #ajv: Ajv;
  readonly #defsKey: 'definitions' | '$defs';
  readonly #openapi30: boolean;
  readonly #compiled = new WeakMap<object, ValidateFunction | { error: string }>();

  constructor(readonly doc: Pick<OpenApiDocument, 'version' | 'source'>) {
    this.#openapi30 = !/^3\.1\./.test(doc.version);
    const options = { strict: false, allErrors: true, validateFormats: true, logger: false as const };
    this.#ajv = this.#openapi30 ? new Ajv(options) : (new Ajv2020(options) as unknown as Ajv);
    this.#defsKey = this.#openapi30 ? 'definitions' : '$defs';
    addFormats(this.#ajv);
  }

  /**
   * The response documented for `status` (exact, then `4XX`, then `default`), with the key it is
   * documented under; undefined when the operation documents no such status.
   */
  documented(op: OpenApiOperation, status: number): { key: string; response: OpenApiResponse } | undefined {
    const r = op.responses;
    const range = Object.keys(r).find((k) => k.toUpperCase() === `${String(status)[0]}XX`);
    const key = String(status) in r ? String(status) : range ?? ('default' in r ? 'default' : undefined);
    return key === undefined ? undefined : { key, response: r[key]! };
  }

  /**
   * What is wrong with `res` as an answer of `op`, each problem one short phrase with the JSON
   * path of a schema problem (`body /uid must be string`); empty when it conforms.
   */
  problems(op: OpenApiOperation, res: ResponseToCheck): string[] {
    const doc = this.documented(op, res.status);
    if (!doc) return [`status ${res.status} is not documented (documented: ${Object.keys(op.responses).join(', ') || 'none'})`];
    const { response } = doc;
    if (res.text.length === 0) return [];
    const contentType = (headerOf(res.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (response.contentTypes.length && !response.contentTypes.some((t) => mediaTypeMatches(t, contentType))) {
      return [`content type ${contentType || '(none)'} is not documented (documented: ${response.contentTypes.join(', ')})`];
    }
    if (response.schema === undefined || !isJson(contentType)) return [];
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      return ['body is not JSON'];
    }
    const validate = this.#validator(response.schema);
    if ('error' in validate) return [`the document's schema for ${doc.key} cannot be used: ${validate.error}`];
    if (validate(body)) return [];
    return describeErrors(validate.errors ?? []);
  }

  #validator(schema: JsonSchema): ValidateFunction | { error: string } {
    if (typeof schema === 'boolean') return this.#ajv.compile(schema);
    const known = this.#compiled.get(schema);
    if (known) return known;
    let made: ValidateFunction | { error: string };
    try {
      made = this.#ajv.compile(compilable(schema, this.#defsKey, this.#openapi30));
    } catch (e) {
      made = { error: e instanceof Error ? e.message : String(e) };
    }
    this.#compiled.set(schema, made);
    return made;
  }
}

/** Keys whose values are data (not schemas): copied as they are. */
const DATA_KEYS = new Set(['enum', 'const', 'default', 'example', 'examples']);

/**
 * An acyclic copy of `schema` ajv can compile: each object reached again while still being
 * copied (a cycle) is copied once into `<defsKey>.perf_cycle_<n>` and referred to by `$ref`
 * everywhere it appears. Objects shared without a cycle are copied once and shared.
 */
export function compilable(schema: Record<string, unknown>, defsKey: 'definitions' | '$defs', openapi30: boolean): Record<string, unknown> {
  const defs: Record<string, unknown> = {};
  const copies = new Map<object, unknown>();
  const onPath = new Set<object>();
  const refOf = new Map<object, string>();
  const refTo = (o: object): { $ref: string } => {
    let name = refOf.get(o);
    if (!name) {
      name = `perf_cycle_${refOf.size}`;
      refOf.set(o, name);
    }
    return { $ref: `#/${defsKey}/${name}` };
  };

  const copy = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    if (onPath.has(value)) return refTo(value);
    if (refOf.has(value)) return refTo(value);
    if (copies.has(value)) return copies.get(value);
    onPath.add(value);
    let out: unknown;
    if (Array.isArray(value)) out = value.map(copy);
    else {
      const o: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        // A `$id` or `$schema` would change how the copy's own `$ref`s resolve.
        if ((k === '$id' || k === '$schema') && typeof v === 'string') continue;
        o[k] = DATA_KEYS.has(k) ? v : copy(v);
      }
      out = openapi30 ? fromOpenApi30(o) : o;
    }
    onPath.delete(value);
    const name = refOf.get(value);
    if (name) {
      // Reached again while being copied: it lives in the definitions, referred to from here on.
      defs[name] = out;
      return refTo(value);
    }
    copies.set(value, out);
    return out;
  };

  const root = copy(schema) as Record<string, unknown>;
  if (!Object.keys(defs).length) return root;
  return { allOf: [root], [defsKey]: defs };
}

/** One 3.0 schema object's keywords as JSON Schema (draft-07) says them. */
function fromOpenApi30(o: Record<string, unknown>): Record<string, unknown> {
  for (const [bound, exclusive] of [
    ['minimum', 'exclusiveMinimum'],
    ['maximum', 'exclusiveMaximum'],
  ] as const) {
    if (typeof o[exclusive] !== 'boolean') continue;
    if (o[exclusive] === true && typeof o[bound] === 'number') {
      o[exclusive] = o[bound];
      delete o[bound];
    } else delete o[exclusive];
  }
  if (typeof o.nullable === 'boolean' && o.type === undefined) {
    const { nullable, ...rest } = o;
    return nullable === true ? { anyOf: [rest, { type: 'null' }] } : rest;
  }
  return o;
}

function describeErrors(errors: ErrorObject[]): string[] {
  const out: string[] = [];
  for (const e of closestBranches(errors)) {
    let detail = '';
    if (e.keyword === 'additionalProperties') detail = ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`;
    else if (e.keyword === 'enum') detail = ` (${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)})`;
    const line = `body${e.instancePath ? ` ${e.instancePath}` : ''} ${e.message ?? 'is invalid'}${detail}`;
    if (!out.includes(line)) out.push(line);
  }
  return out.length > MAX_PROBLEMS ? [...out.slice(0, MAX_PROBLEMS), `and ${out.length - MAX_PROBLEMS} more`] : out;
}

/**
 * A failed `oneOf`/`anyOf` reported by its closest alternative: of the errors under it, only
 * those of the branch with the fewest (`/uid must be string`, not every branch's complaints and
 * "must match exactly one schema"). Where no branch failed (several matched), it stays as is.
 */
function closestBranches(errors: ErrorObject[]): ErrorObject[] {
  let kept = errors;
  for (const alt of errors) {
    if ((alt.keyword !== 'oneOf' && alt.keyword !== 'anyOf') || !kept.includes(alt)) continue;
    const base = `${alt.schemaPath}/`;
    const branches = new Map<string, ErrorObject[]>();
    for (const e of kept) {
      if (!e.schemaPath.startsWith(base)) continue;
      const i = e.schemaPath.slice(base.length).split('/')[0]!;
      branches.set(i, [...(branches.get(i) ?? []), e]);
    }
    if (!branches.size) continue;
    const best = [...branches.values()].sort((a, b) => a.length - b.length)[0]!;
    kept = kept.filter((e) => e !== alt && (!e.schemaPath.startsWith(base) || best.includes(e)));
  }
  return kept;
}

function headerOf(headers: Record<string, string>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function isJson(contentType: string): boolean {
  return /^application\/(.+\+)?json$/.test(contentType);
}

/** `documented` as the document writes a media type (`application/json`, `application/*`, `*\/*`). */
function mediaTypeMatches(documented: string, actual: string): boolean {
  const d = documented.split(';')[0]!.trim().toLowerCase();
  if (d === '*/*' || d === actual) return true;
  return d.endsWith('/*') && actual.startsWith(d.slice(0, -1));
}
