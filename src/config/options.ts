import { z } from 'zod';

/**
 * The options of a config schema, as a flat list: every property of every object schema reachable
 * from the root, through wrappers (optional, default, ...), lists, records and unions. The
 * configuration reference (scripts/config-reference.ts) is rendered from this list, and
 * `optionProblems` checks it, so "an option" means the same thing to both.
 *
 * An option's description and examples are its zod metadata (`.meta({ description, examples })`),
 * read from the property's schema outwards-in: the first description found on the property or
 * on what it wraps is its own.
 */

/** How an option is reached from the root; lets another view of the same shape (the TypeScript type) be walked alongside. */
export type OptionStep =
  | { kind: 'property'; key: string }
  /** Each item of a list. */
  | { kind: 'item' }
  /** Each value of a record; `keys` when the record's keys are a fixed set. */
  | { kind: 'value'; keys?: string[] }
  /** The alternative of a union whose `key` is `value` (discriminated unions), or the object alternative (`key` undefined). */
  | { kind: 'variant'; key?: string; value?: unknown };

export interface ConfigOption {
  /** `smoke.endpoints[].expect.unknownId`: `[]` is each item of a list, `<table>` a key the user chooses. */
  path: string;
  /** For a field of one alternative of a discriminated union: which one (`type: 'bearer'`). */
  variant?: string;
  /** The top-level key it belongs to. */
  section: string;
  steps: OptionStep[];
  /** The property's schema as declared, wrappers included. */
  schema: z.ZodType;
  description?: string;
  examples: unknown[];
  /** Present when the option has a default (an absent option takes it). */
  default?: { value: unknown };
  /** Must be given whenever its parent is. */
  required: boolean;
  /** Whether options of its own follow it in the list (an object, or a list, record or union of objects). */
  hasChildren: boolean;
}

/** Names record keys in paths: `phases.<phase>`, `database.tables.<table>`; any other record's key is `<name>`. */
const RECORD_KEY_NAMES: Record<string, string> = { phases: 'phase', tables: 'table', foreignKeys: 'column' };

/** `path (variant)`: how messages and tests name an option. */
export function optionId(o: Pick<ConfigOption, 'path' | 'variant'>): string {
  return o.variant ? `${o.path} (${o.variant})` : o.path;
}

// zod 4 keeps a schema's structure in `_zod.def`; only the fields read here are typed.
interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  left?: z.ZodType;
  right?: z.ZodType;
  getter?: () => z.ZodType;
  defaultValue?: unknown;
  values?: unknown[];
  entries?: Record<string, string | number>;
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional', 'pipe', 'lazy']);

/** The schema a property's wrappers wrap, and every schema on the way (outermost first). */
function unwrap(schema: z.ZodType): { core: z.ZodType; chain: z.ZodType[] } {
  const chain = [schema];
  let s = schema;
  for (let d = defOf(s); WRAPPERS.has(d.type); d = defOf(s)) {
    s = d.type === 'pipe' ? d.in! : d.type === 'lazy' ? d.getter!() : d.innerType!;
    chain.push(s);
  }
  return { core: s, chain };
}

interface Walk {
  path: string;
  steps: OptionStep[];
  variant?: string;
  /** Object schemas on the current path, so a recursive schema ends instead of looping. */
  seen: Set<z.ZodType>;
}

/** Every option of `root` (an object schema), parents before their children, in declaration order. */
export function listOptions(root: z.ZodType): ConfigOption[] {
  const out: ConfigOption[] = [];
  const { core } = unwrap(root);
  if (defOf(core).type !== 'object') throw new Error('listOptions: the root must be an object schema');
  walkObject(core, { path: '', steps: [], seen: new Set() }, out);
  return out;
}

function walkObject(obj: z.ZodType, at: Walk, out: ConfigOption[]): void {
  if (at.seen.has(obj)) return;
  const seen = new Set(at.seen).add(obj);
  for (const [key, prop] of Object.entries(defOf(obj).shape ?? {})) {
    const { core, chain } = unwrap(prop);
    const metas = chain.map((s) => z.globalRegistry.get(s)).filter((m) => m !== undefined);
    const withDefault = chain.map(defOf).find((d) => d.type === 'default' || d.type === 'prefault');
    const here: Walk = { path: at.path ? `${at.path}.${key}` : key, steps: [...at.steps, { kind: 'property', key }], variant: at.variant, seen };
    const option: ConfigOption = {
      path: here.path,
      ...(at.variant ? { variant: at.variant } : {}),
      section: at.steps.length ? (at.steps[0] as { key: string }).key : key,
      steps: here.steps,
      schema: prop,
      description: metas.map((m) => m.description?.trim()).find((d) => d),
      examples: (metas.find((m) => Array.isArray(m.examples) && m.examples.length)?.examples as unknown[] | undefined) ?? [],
      ...(withDefault ? { default: { value: withDefault.defaultValue } } : {}),
      // zod marks what input may leave out: `optional`, or `defaulted`.
      required: (prop as unknown as { _zod: { optin?: string } })._zod.optin === undefined,
      hasChildren: false,
    };
    out.push(option);
    const before = out.length;
    descend(core, here, out, key);
    option.hasChildren = out.length > before;
  }
}

function descend(schema: z.ZodType, at: Walk, out: ConfigOption[], key: string): void {
  const { core } = unwrap(schema);
  const d = defOf(core);
  switch (d.type) {
    case 'object':
      return walkObject(core, at, out);
    case 'array':
      return descend(d.element!, { ...at, path: `${at.path}[]`, steps: [...at.steps, { kind: 'item' }] }, out, key);
    case 'record': {
      const keys = enumValues(d.keyType!);
      const label = RECORD_KEY_NAMES[key] ?? 'name';
      return descend(d.valueType!, { ...at, path: `${at.path}.<${label}>`, steps: [...at.steps, { kind: 'value', ...(keys ? { keys } : {}) }] }, out, key);
    }
    case 'intersection':
      descend(d.left!, at, out, key);
      return descend(d.right!, at, out, key);
    case 'union':
      return walkUnion(d, at, out, key);
    default:
      return;
  }
}

/**
 * A union's object alternatives, each walked once: an alternative that is a list of an object
 * already offered on its own (`create: request | request[]`) adds nothing. Fields of a
 * discriminated union's alternatives carry the discriminator's value as their variant.
 */
function walkUnion(d: Def, at: Walk, out: ConfigOption[], key: string): void {
  const alternatives: { schema: z.ZodType; list: boolean }[] = [];
  for (const option of d.options ?? []) {
    let { core } = unwrap(option);
    let list = false;
    if (defOf(core).type === 'array') {
      core = unwrap(defOf(core).element!).core;
      list = true;
    }
    if (!['object', 'record', 'union', 'intersection'].includes(defOf(core).type)) continue;
    const same = alternatives.find((a) => a.schema === core);
    if (same) same.list &&= list;
    else alternatives.push({ schema: core, list });
  }
  for (const alt of alternatives) {
    const path = alt.list ? `${at.path}[]` : at.path;
    const steps: OptionStep[] = alt.list ? [...at.steps, { kind: 'item' }] : [...at.steps];
    let variant = at.variant;
    if (d.discriminator) {
      const value = literalOf(defOf(alt.schema).shape?.[d.discriminator]);
      const label = `${d.discriminator}: ${typeof value === 'string' ? `'${value}'` : String(value)}`;
      variant = variant ? `${variant}, ${label}` : label;
      steps.push({ kind: 'variant', key: d.discriminator, value });
    } else {
      steps.push({ kind: 'variant' });
    }
    descend(alt.schema, { ...at, path, steps, variant }, out, key);
  }
}

function literalOf(schema: z.ZodType | undefined): unknown {
  if (!schema) return undefined;
  const d = defOf(unwrap(schema).core);
  return d.type === 'literal' ? d.values?.[0] : undefined;
}

function enumValues(schema: z.ZodType): string[] | undefined {
  const d = defOf(unwrap(schema).core);
  return d.type === 'enum' && d.entries ? Object.values(d.entries).map(String) : undefined;
}

/**
 * What an option's documentation lacks or gets wrong: a description, an example, an example its
 * own schema rejects. Empty when every option of `root` is documented.
 */
export function optionProblems(root: z.ZodType): string[] {
  const problems: string[] = [];
  for (const o of listOptions(root)) {
    const id = optionId(o);
    if (!o.description) problems.push(`${id}: no description (.meta({ description }))`);
    if (!o.examples.length) problems.push(`${id}: no example (.meta({ examples: [...] }))`);
    for (const example of o.examples) {
      const parsed = o.schema.safeParse(example);
      if (!parsed.success) problems.push(`${id}: example ${JSON.stringify(example)} is not valid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(value)'} ${i.message}`).join('; ')}`);
    }
  }
  return problems;
}

/**
 * A description's first sentence: up to the first `.`, `!` or `?` followed by a space or the end
 * (`e.g.` and `i.e.` do not end one). Editors show it, as the option's JSDoc, on `defineConfig({ ... })`.
 */
export function firstSentence(text: string): string {
  const end = /[.!?](?=\s|$)/g;
  for (let m = end.exec(text); m; m = end.exec(text)) {
    const upTo = text.slice(0, m.index + 1);
    if (!/\b(?:e\.g|i\.e)\.$/.test(upTo)) return upTo.trim();
  }
  return text.trim();
}
