/**
 * Loading the user's flow files, black-box through the CLI: type errors (exit 2, file:line:col),
 * selection (flows.only, flows.tags, flow.only, skip), duplicate names, folders, `perf list`;
 * and `flow()` called outside perf's loader.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from './helpers.ts';
import { flowProject, latestVerdict, startTinyService, type TinyService } from './flows-helpers.ts';

let svc: TinyService;
before(async () => {
  svc = await startTinyService();
});
after(() => svc.close());

const names = (verdict: Record<string, any>, phase = 'flows') =>
  Object.fromEntries(verdict.phases.find((p: { name: string }) => p.name === phase).checks.map((c: { name: string; status: string; error?: string }) => [c.name, c.status]));

const ok = (name: string, tags: string[] = [], how = 'flow') => `${how}(${JSON.stringify(name)}, { tags: ${JSON.stringify(tags)} }, async ({ api }) => { expect(await api.get('/hello')).toHaveStatus(200); });\n`;
const header = `import { flow, expect } from 'perf-harness';\n`;

describe('loading flow files', () => {
  it('a type error stops the run with file:line:col and exit 2, before any phase', async () => {
    const dir = flowProject(svc.url, {
      'flows/typed.ts': `${header}\nflow('typed', async ({ api }) => {\n  const n: number = (await api.get('/hello')).status;\n  const s: string = n;\n  expect(s).toBe('200');\n});\n`,
    });
    const r = await runCli(['run', '--phase', 'flows'], { cwd: dir });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /1 type error in flows \(flows\):\nflows\/typed\.ts:5:9 - error TS2322: Type 'number' is not assignable to type 'string'/);
    assert.equal(svc.seen.has('/hello'), false);
  });

  it('selects by flows.only, flows.tags and flow.only; skip is reported skipped; perf list shows file, tags and why off', async () => {
    const files = {
      'flows/a.ts': `${header}${ok('a one', ['smoke'])}${ok('a two', ['slow'])}flow.skip('a skipped', async () => {});\nflow('a reasoned skip', { skip: 'waiting for the fix of #12' }, async () => {});\n`,
      'flows/b.ts': `${header}${ok('b one', ['smoke', 'b'])}`,
    };
    // tags
    let dir = flowProject(svc.url, files, `flows: { tags: ['smoke'] },`);
    let r = await runCli(['run', '--phase', 'flows'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(names(latestVerdict(dir)), { 'a one': 'passed', 'b one': 'passed' });

    // only (names) and skip
    dir = flowProject(svc.url, files, `flows: { only: ['a two', 'a reasoned skip'] },`);
    r = await runCli(['run', '--phase', 'flows'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const v = latestVerdict(dir);
    assert.deepEqual(names(v), { 'a two': 'passed', 'a reasoned skip': 'skipped' });
    assert.equal(v.phases[0].checks.find((c: { name: string }) => c.name === 'a reasoned skip').error, 'waiting for the fix of #12');

    // an unknown name in flows.only
    dir = flowProject(svc.url, files, `flows: { only: ['nope'] },`);
    r = await runCli(['run', '--phase', 'flows'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /flows\.only: no flow named "nope"/);
    assert.match(r.stderr, /Flows: "a one", "a two", "a skipped", "a reasoned skip", "b one"/);

    // flow.only in a file
    dir = flowProject(svc.url, { ...files, 'flows/c.ts': `${header}${ok('c focused', [], 'flow.only')}` });
    r = await runCli(['run', '--phase', 'flows'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(names(latestVerdict(dir)), { 'c focused': 'passed' });

    // perf list: every flow, its file:line, tags, and why it is off
    dir = flowProject(svc.url, files, `flows: { tags: ['smoke'] }, phases: { flows: { disable: ['b one'] } },`);
    r = await runCli(['list'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}a one {2}\(flows\/a\.ts:2; tags: smoke\)$/m);
    assert.match(r.stdout, /^ {2}a two {2}\(flows\/a\.ts:3; tags: slow\) {2}\[not selected \(flows\.tags: smoke\)\]$/m);
    assert.match(r.stdout, /^ {2}b one {2}\(flows\/b\.ts:2; tags: smoke, b\) {2}\[disabled \(phases\.flows\.disable\)\]$/m);
    assert.match(r.stdout, /^frontend-flows .*\n {2}no_flows {2}no frontend\/ folder/m);
  });

  it('refuses duplicate names (naming both files), a missing configured folder, and a browserFlow among flows', async () => {
    let dir = flowProject(svc.url, { 'flows/a.ts': `${header}${ok('same')}`, 'flows/sub/b.ts': `${header}\n\n${ok('same')}` });
    let r = await runCli(['run', '--phase', 'flows'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /two flows named "same": flows\/a\.ts:2 and flows\/sub\/b\.ts:4/);

    dir = flowProject(svc.url, {}, `flows: { dir: 'journeys' },`);
    r = await runCli(['run', '--phase', 'flows'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /flows\.dir: no folder .*journeys/);

    dir = flowProject(svc.url, { 'flows/a.ts': `import { browserFlow } from 'perf-harness';\nbrowserFlow('in the wrong place', async () => {});\n` });
    r = await runCli(['run', '--phase', 'flows'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /flows\/a\.ts:2: browserFlow\("in the wrong place"\) in flows\.dir/);
  });

  it('a missing default folder is no flows: the phase is skipped saying so; a file that throws while loading names its line', async () => {
    let dir = flowProject(svc.url, {});
    let r = await runCli(['run', '--phase', 'flows'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const v = latestVerdict(dir);
    assert.equal(v.phases[0].status, 'skipped');
    assert.match(v.phases[0].checks[0].error, /no flows\/ folder: write flow\(\) files there/);

    dir = flowProject(svc.url, { 'flows/a.ts': `${header}\nconst config: any = undefined;\nconst x = config.value;\nflow('x', async () => { void x; });\n` });
    r = await runCli(['run', '--phase', 'flows'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /flows\/a\.ts threw while loading: Cannot read properties of undefined \(reading 'value'\)\n {2}at flows\/a\.ts:4:\d+/);
  });

  it('flow() outside perf\'s loader says where flows belong', async () => {
    const { flow } = await import('../src/index.ts');
    assert.throws(() => flow('loose', async () => {}), /flow\("loose"\) was called outside perf's loader: flows are declared at the top level of files under the config's `flows\.dir`/);
  });
});
