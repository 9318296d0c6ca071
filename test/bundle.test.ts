import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { bundleScenarios, listScenarios } from '../bundler/bundle.ts';
import { parseTscOutput } from '../bundler/typecheck.ts';
import { FIXTURE_SCENARIOS, REPO, runCli, tempDir } from './helpers.ts';

function project(): string {
  const dir = tempDir('perf-bundle-');
  cpSync(FIXTURE_SCENARIOS, path.join(dir, 'scenarios'), { recursive: true });
  cpSync(path.join(REPO, 'node_modules/fast-deep-equal'), path.join(dir, 'node_modules/fast-deep-equal'), { recursive: true });
  return dir;
}

describe('bundler', () => {
  test('bundles local imports and npm packages, keeps k6 modules external, writes a source map', async () => {
    const dir = project();
    const [b] = await bundleScenarios({ scenariosDir: 'scenarios', outDir: '.perf/build', names: ['hello'], cwd: dir });
    assert.ok(b);
    const js = readFileSync(b.script, 'utf8');
    assert.match(js, /from "k6\/http"/, 'k6/http stays an import');
    assert.match(js, /from "k6"/, 'k6 stays an import');
    assert.match(js, /function expectedGreeting/, 'the local helper is inlined');
    assert.match(js, /fast-deep-equal/, 'the npm package is inlined');
    assert.match(js, /sourceMappingURL=hello\.js\.map/);
    const map = JSON.parse(readFileSync(b.sourceMap, 'utf8')) as { sources: string[] };
    assert.ok(map.sources.some((s) => s.endsWith('scenarios/hello.ts')));
    assert.ok(map.sources.some((s) => s.endsWith('scenarios/lib/greeting.ts')));
  });

  test('http(s) imports stay external', async () => {
    const dir = project();
    writeFileSync(
      path.join(dir, 'scenarios', 'remote.ts'),
      "// @ts-ignore remote modules have no local types\nimport { uuidv4 } from 'https://jslib.k6.io/k6-utils/1.4.0/index.js';\nexport default function (): void { console.log(uuidv4()); }\n",
    );
    const [b] = await bundleScenarios({ scenariosDir: 'scenarios', outDir: '.perf/build', names: ['remote'], cwd: dir });
    assert.match(readFileSync(b!.script, 'utf8'), /from "https:\/\/jslib\.k6\.io\/k6-utils\/1\.4\.0\/index\.js"/);
  });

  test('unchanged scenarios are not rebuilt; a changed helper rebuilds its scenario only', async () => {
    const dir = project();
    const opts = { scenariosDir: 'scenarios', outDir: '.perf/build', names: ['hello', 'throws'], cwd: dir };
    const first = await bundleScenarios(opts);
    assert.deepEqual(first.map((b) => b.cached), [false, false]);
    const second = await bundleScenarios(opts);
    assert.deepEqual(second.map((b) => b.cached), [true, true]);
    const helper = path.join(dir, 'scenarios/lib/greeting.ts');
    writeFileSync(helper, readFileSync(helper, 'utf8').replace("'hello'", "'hello!'"));
    const third = await bundleScenarios(opts);
    assert.deepEqual(third.map((b) => [b.name, b.cached]), [['hello', false], ['throws', true]]);
    assert.notEqual(third[0]!.hash, first[0]!.hash);
    assert.match(readFileSync(third[0]!.script, 'utf8'), /hello!/);
  });

  test('a deleted bundle is rebuilt even when the manifest says it is current', async () => {
    const dir = project();
    const opts = { scenariosDir: 'scenarios', outDir: '.perf/build', names: ['hello'], cwd: dir };
    const [b] = await bundleScenarios(opts);
    writeFileSync(b!.script, '');
    const { rmSync } = await import('node:fs');
    rmSync(b!.script);
    const [again] = await bundleScenarios(opts);
    assert.equal(again!.cached, false);
    assert.ok(existsSync(again!.script));
  });

  test('type errors are reported as file:line:col and nothing is written', async () => {
    const dir = project();
    await assert.rejects(
      bundleScenarios({ scenariosDir: 'scenarios', outDir: '.perf/build', names: ['type-error'], cwd: dir }),
      (e: Error) => {
        assert.equal(e.name, 'UserError');
        assert.match(e.message, /^1 type error in scenarios:\nscenarios\/type-error\.ts:5:9 - error TS2322/);
        return true;
      },
    );
    assert.equal(existsSync(path.join(dir, '.perf/build/type-error.js')), false);
  });

  test('listScenarios lists top-level .ts files, not lib/ helpers', () => {
    assert.deepEqual(listScenarios(FIXTURE_SCENARIOS), ['hello', 'hello-impossible', 'throws', 'type-error']);
  });

  test('tsc output parsing keeps elaboration lines with their diagnostic', () => {
    const out = "a.ts(3,5): error TS2322: Type 'x' is not assignable.\n  Property 'y' is missing.\nb.ts(1,1): error TS1005: ';' expected.\n";
    const d = parseTscOutput(out, '/p');
    assert.equal(d.length, 2);
    assert.equal(d[0]!.line, 3);
    assert.match(d[0]!.message, /Property 'y' is missing/);
    assert.equal(d[1]!.code, 'TS1005');
  });

  test('perf bundle (CLI) bundles every scenario, then reports them cached', async () => {
    const dir = project();
    // type-error.ts would stop the whole bundle: remove it for this test.
    const { rmSync } = await import('node:fs');
    rmSync(path.join(dir, 'scenarios/type-error.ts'));
    const first = await runCli(['bundle'], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /built +hello → \.perf\/build\/hello\.js/);
    const second = await runCli(['bundle'], { cwd: dir });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /cached +hello/);
    assert.match(second.stdout, /3 scenario\(s\)/);
    const bad = await runCli(['bundle', 'type-error'], { cwd: project() });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /type-error\.ts:5:9/);
  });
});
