import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { API, SymbolFlags, TypeFlags, type Checker, type Project, type Type } from 'typescript/unstable/sync';
import { z } from 'zod';
import { JSON_SCHEMA_FILE, REFERENCE_FILE, renderJsonSchema, renderReference } from '../scripts/config-reference.ts';
import { configSchema } from '../src/config/config-schema.ts';
import { firstSentence, listOptions, optionId, optionProblems, type ConfigOption } from '../src/config/options.ts';
import { probeSchema } from './fixtures/config/jsdoc-probe.ts';
import { REPO, tempDir } from './helpers.ts';

/** Where two texts first differ, for a message that says more than "not equal". */
function firstDifference(actual: string, expected: string): string {
  const a = actual.split('\n');
  const e = expected.split('\n');
  const i = a.findIndex((line, n) => line !== e[n]);
  const at = i === -1 ? Math.min(a.length, e.length) : i;
  return `line ${at + 1}: file has ${JSON.stringify(a[at] ?? '(end of file)')}, the schema gives ${JSON.stringify(e[at] ?? '(end of file)')}`;
}

function assertCurrent(file: string, rendered: string): void {
  const onDisk = readFileSync(file, 'utf8');
  assert.ok(onDisk === rendered, `${path.relative(REPO, file)} differs from the schema (${firstDifference(onDisk, rendered)}): run npm run docs:config`);
}

describe('docs/configuration.md', () => {
  test('is what the schema renders (else: run npm run docs:config), and so is docs/perf.config.schema.json', () => {
    assertCurrent(REFERENCE_FILE, renderReference());
    assertCurrent(JSON_SCHEMA_FILE, renderJsonSchema());
  });

  test('a changed description makes the check fail, naming the line', () => {
    const changed = z.object({ ...configSchema.shape, users: configSchema.shape.users.meta({ description: 'Something else entirely.', examples: [3] }) }).strict();
    assert.throws(() => assertCurrent(REFERENCE_FILE, renderReference(changed)), /docs\/configuration\.md differs from the schema \(line \d+: file has "Concurrent users.*Something else entirely.*run npm run docs:config/s);
  });

  test('every option has a description and an example its own schema accepts', () => {
    const options = listOptions(configSchema);
    assert.ok(options.length > 200, `only ${options.length} options found: the walk misses some`);
    const problems = optionProblems(configSchema);
    assert.deepEqual(problems, [], `options without documentation:\n  ${problems.join('\n  ')}`);
  });

  test('the documentation check reaches every kind of nesting, and reports what is missing or wrong', () => {
    const bare = z.object({ bare: z.string() }).strict();
    const small = z
      .object({
        described: z.number().default(1).meta({ description: 'A number.', examples: [2] }),
        undescribed: z.string().optional().meta({ examples: ['x'] }),
        noExample: z.boolean().default(false).meta({ description: 'A switch.' }),
        wrongExample: z.number().int().min(1).optional().meta({ description: 'A count.', examples: [0] }),
        inList: z.array(bare).default([]).meta({ description: 'A list.', examples: [[]] }),
        inRecord: z.record(z.string(), bare).optional().meta({ description: 'A record.', examples: [{}] }),
        inUnion: z.union([z.string(), bare, z.array(bare)]).optional().meta({ description: 'A string or an object.', examples: ['s'] }),
        byKind: z
          .discriminatedUnion('kind', [z.object({ kind: z.literal('a').meta({ description: 'Kind a.', examples: ['a'] }), onlyA: z.number() }).strict()])
          .optional()
          .meta({ description: 'By kind.', examples: [{ kind: 'a', onlyA: 1 }] }),
      })
      .strict();
    assert.deepEqual(optionProblems(small), [
      'undescribed: no description (.meta({ description }))',
      'noExample: no example (.meta({ examples: [...] }))',
      'wrongExample: example 0 is not valid: (value) Too small: expected number to be >=1',
      'inList[].bare: no description (.meta({ description }))',
      'inList[].bare: no example (.meta({ examples: [...] }))',
      'inRecord.<name>.bare: no description (.meta({ description }))',
      'inRecord.<name>.bare: no example (.meta({ examples: [...] }))',
      'inUnion.bare: no description (.meta({ description }))',
      'inUnion.bare: no example (.meta({ examples: [...] }))',
      "byKind.onlyA (kind: 'a'): no description (.meta({ description }))",
      "byKind.onlyA (kind: 'a'): no example (.meta({ examples: [...] }))",
    ]);
  });

  test('every top-level option is in the table of contents', () => {
    const markdown = readFileSync(REFERENCE_FILE, 'utf8');
    const missing = (text: string) => Object.keys(configSchema.shape).filter((key) => !contentsOf(text).includes(`\`${key}\``));
    assert.deepEqual(missing(markdown), []);
    // The check can fail: a contents without the `smoke` line misses it.
    assert.deepEqual(missing(markdown.replace(/^- \[`smoke`\].*\n/m, '')), ['smoke']);
  });

  test('the smoke options of this issue are documented with their defaults', () => {
    const markdown = readFileSync(REFERENCE_FILE, 'utf8');
    const entries: [string, string][] = [
      ['### `smoke.openapi`', '- **Type:** `string | object`'],
      ['### `smoke.openapi.exclude`', '- **Default:** `[]`'],
      ['### `smoke.unknownPath`', '- **Default:** `{ status: 404 }`'],
      ['### `smoke.endpoints[].expect.missingCsrf`', '- **Default:** `403`'],
      ["### `auth.credential.tokenPath` — when `type: 'apiKey'`", '- **Default:** none (**required**)'],
      ['### `phases.<phase>.timeout`', '- **Type:** `string`'],
      ['### `target.start[].readyUrl`', "- **Example:** `readyUrl: 'http://127.0.0.1:8080/health'`"],
    ];
    for (const [heading, fragment] of entries) {
      const at = markdown.indexOf(`${heading}\n`);
      assert.ok(at >= 0, `no entry ${heading}`);
      const body = markdown.slice(at, markdown.indexOf('\n### ', at + 1));
      assert.ok(body.includes(fragment), `${heading} lacks ${fragment}:\n${body}`);
    }
  });
});

function contentsOf(markdown: string): string {
  const start = markdown.indexOf('## Contents\n');
  return start < 0 ? '' : markdown.slice(start, markdown.indexOf('\n## ', start + 1));
}

/**
 * Editors show an option's JSDoc on `defineConfig({ ... })`: TypeScript carries the JSDoc of a
 * zod object's properties through `z.input` into `PerfConfig`, but not `.meta()`. So each option
 * keeps a one-line JSDoc, and it must be its description's first sentence. Checked on the type
 * editors see (TypeScript's own checker), option by option.
 */
describe("options' JSDoc (what editors show)", () => {
  let api: API;
  let project: Project;

  before(() => {
    const dir = tempDir('perf-jsdoc-');
    const files = ['src/config/config-schema.ts', 'test/fixtures/config/jsdoc-probe.ts'].map((f) => path.join(REPO, f));
    const compilerOptions = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, allowImportingTsExtensions: true, noEmit: true, skipLibCheck: true, types: [] };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files }));
    api = new API({ cwd: dir });
    project = api.updateSnapshot({ openProjects: [path.join(dir, 'tsconfig.json')] }).getProjects()[0]!;
  });
  after(() => api?.close());

  test("each is the first sentence of the option's description", () => {
    const problems = jsdocProblems(project, path.join(REPO, 'src/config/config-schema.ts'), 'PerfConfig', listOptions(configSchema));
    assert.deepEqual(problems, [], `JSDoc out of step with .meta() descriptions:\n  ${problems.join('\n  ')}`);
  });

  test('a missing or different JSDoc is reported, at any depth', () => {
    const problems = jsdocProblems(project, path.join(REPO, 'test/fixtures/config/jsdoc-probe.ts'), 'ProbeInput', listOptions(probeSchema));
    assert.deepEqual(problems, [
      'differs: JSDoc "Says something else." is not the description\'s first sentence "Says one thing."',
      'undocumented: no JSDoc (want "Has no JSDoc for editors.")',
      'nested: no JSDoc (want "An object of its own.")',
      'nested.deep: JSDoc "Stale first line." is not the description\'s first sentence "A list of leaves."',
      'nested.deep[].leaf: no JSDoc (want "A leaf in a list.")',
    ]);
  });
});

function jsdocProblems(project: Project, file: string, typeName: string, options: ConfigOption[]): string[] {
  const ck = project.checker;
  const symbol = ck.resolveName(typeName, SymbolFlags.Type, { document: file, position: 0 }, false);
  assert.ok(symbol, `no type ${typeName} in ${file}`);
  const root = ck.getDeclaredTypeOfSymbol(symbol);
  const problems: string[] = [];
  for (const o of options) {
    const docs = [...new Set(jsdocAt(ck, root, o).map((d) => d.trim()).filter(Boolean))];
    const want = firstSentence(o.description ?? '');
    if (!docs.length) problems.push(`${optionId(o)}: no JSDoc (want ${JSON.stringify(want)})`);
    else if (docs.length > 1 || docs[0] !== want) problems.push(`${optionId(o)}: JSDoc ${docs.map((d) => JSON.stringify(d)).join(' / ')} is not the description's first sentence ${JSON.stringify(want)}`);
  }
  return problems;
}

/** The JSDoc of an option's property in the TypeScript type, found by following the option's steps. */
function jsdocAt(ck: Checker, root: Type, o: ConfigOption): string[] {
  const objects = (ts: Type[]) =>
    ts.flatMap((t) => (t.flags & TypeFlags.Union ? (t as unknown as { getTypes(): Type[] }).getTypes() : [t])).filter((t) => t.flags & (TypeFlags.Object | TypeFlags.Intersection));
  const valueOf = (t: Type, key: 'number' | 'string') =>
    ck
      .getIndexInfosOfType(t)
      .filter((i) => ck.typeToString(i.keyType) === key)
      .map((i) => i.valueType);
  let types = [root];
  for (const [n, step] of o.steps.entries()) {
    const here = objects(types);
    if (step.kind === 'property') {
      const props = here.map((t) => ck.getPropertyOfType(t, step.key)).filter((p) => p !== undefined);
      if (n === o.steps.length - 1) return props.map((p) => p.getDocumentationComment(ck));
      types = props.map((p) => ck.getTypeOfSymbol(p)).filter((t) => t !== undefined);
    } else if (step.kind === 'item') {
      types = here.filter((t) => ck.isArrayType(t)).flatMap((t) => valueOf(t, 'number'));
    } else if (step.kind === 'value') {
      types = here.flatMap((t) => {
        const values = valueOf(t, 'string');
        if (values.length || !step.keys) return values;
        // A record over fixed keys (`phases`) is an object with one optional property per key.
        return step.keys.map((k) => ck.getPropertyOfType(t, k)).flatMap((p) => (p ? [ck.getTypeOfSymbol(p)] : [])).filter((x) => x !== undefined);
      });
    } else {
      const { key, value } = step;
      types =
        key === undefined
          ? here.filter((t) => !ck.isArrayType(t))
          : here.filter((t) => {
              const p = ck.getPropertyOfType(t, key);
              const pt = p && ck.getTypeOfSymbol(p);
              return pt !== undefined && ck.typeToString(pt) === JSON.stringify(value);
            });
    }
  }
  return [];
}
