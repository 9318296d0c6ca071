// `perf init`, black-box: the real CLI (bin/perf.js) scaffolds projects for the real notes-service
// (examples/notes-service, its own PostgreSQL schema, a free port), without a document, from its
// OpenAPI file and from a URL serving it; each project's `perf run` passes with no edit (k6 too),
// and fails when pointed (`--target`, no edit either) at a service that answers 503 to everything.
// Refusals: existing files, a bad document, a URL that does not serve one: exit 2, nothing written.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { typecheckScenarios } from '../bundler/typecheck.ts';
import { typecheckUserFiles } from '../bundler/user-files.ts';
import { readVerdictFromOutput, REPO, runCli, tempDir } from './helpers.ts';

const DATABASE_URL = process.env.PERF_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `perf_init_${randomBytes(4).toString('hex')}`;
const DOCUMENT = path.join(REPO, 'examples', 'notes-service', 'openapi.yaml');
const DOCUMENT_TEXT = readFileSync(DOCUMENT, 'utf8');

let notes: { url: string; child: ChildProcess; stderr: () => string };
/** Answers 503 to every request: the service gone bad. */
let broken: { url: string; close: () => Promise<void> };
/** Serves notes-service's document as YAML and JSON, and a 404 for anything else. */
let docs: { url: string; close: () => Promise<void> };
const dirs: string[] = [];

function serve(handler: http.RequestListener): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 1000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}

before(async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'examples', 'notes-service', 'server.ts')], {
    cwd: REPO,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL, NOTES_SCHEMA: SCHEMA, NOTES_FAULTS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`notes-service: no ready line in 20 s; stderr:\n${stderr}`)), 20_000);
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString();
      const m = /notes-service listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`notes-service exited (${code}); stderr:\n${stderr}`));
    });
  });
  notes = { url, child, stderr: () => stderr };
  broken = await serve((_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"error":"down"}');
  });
  docs = await serve((req, res) => {
    if (req.url === '/openapi.yaml') {
      res.writeHead(200, { 'content-type': 'application/yaml' });
      res.end(DOCUMENT_TEXT);
    } else if (req.url === '/openapi.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(parseYaml(DOCUMENT_TEXT), null, 2));
    } else if (req.url === '/relative.json') {
      // A relative server URL is relative to where the document is served (OpenAPI 3).
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...parseYaml(DOCUMENT_TEXT), servers: [{ url: '/v1' }] }));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
});

after(async () => {
  notes?.child.kill('SIGTERM');
  await broken?.close();
  await docs?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${SCHEMA}" CASCADE`);
  } finally {
    await client.end();
  }
});

function project(): string {
  const d = tempDir('perf-init-');
  dirs.push(d);
  return d;
}

async function init(args: string[], cwd = REPO) {
  const r = await runCli(['init', ...args], { cwd, timeoutMs: 60_000 });
  return { ...r, output: `${r.stdout}\n${r.stderr}` };
}

interface Check {
  name: string;
  status: string;
  error?: string;
}

/** `perf run` of a generated project, from its own folder (as its README says), with the console reporter. */
async function run(dir: string, args: string[], timeoutMs = 120_000) {
  const r = await runCli(['run', '--reporter', 'console', ...args], { cwd: dir, timeoutMs, env: { PERF_TARGET: undefined } });
  const output = `${r.stdout}\n${r.stderr}`;
  const verdict = readVerdictFromOutput(dir, output);
  const checks: Check[] = verdict.phases.flatMap((p: any) => p.checks ?? []);
  const explain = `exit ${r.code}; ${JSON.stringify(verdict.reasons)}\n${checks.filter((c) => c.status === 'failed').map((c) => `${c.name}: ${c.error}`).join('\n')}\n${output.slice(-3000)}`;
  return {
    code: r.code,
    verdict,
    checks,
    explain,
    phase: (name: string) => verdict.phases.find((p: any) => p.name === name),
    check: (name: string) => checks.find((c) => c.name === name),
  };
}

const FUNCTIONAL = ['--phase', 'health,smoke,flows'];

/** The generated config, flow and scenario pass perf's own type-checks of a project's files (strict). */
async function typechecks(dir: string): Promise<void> {
  await typecheckUserFiles([path.join(dir, 'perf.config.ts'), path.join(dir, 'flows', 'service.ts')], path.join(dir, '.perf', 'tc'), dir, 'the generated project');
  await typecheckScenarios([path.join(dir, 'scenarios', 'journey.ts')], path.join(dir, '.perf', 'tc'), dir);
}

test('without a document: the project found the health endpoint, and its run passes health, smoke, flows, and fails on a broken service', { timeout: 120_000 }, async () => {
  const dir = project();
  const r = await init([dir, '--base-url', notes.url]);
  assert.equal(r.code, 0, r.output);
  for (const f of ['perf.config.ts', 'flows/service.ts', 'scenarios/journey.ts', 'README.md']) assert.ok(existsSync(path.join(dir, f)), `${f} written\n${r.output}`);
  const config = readFileSync(path.join(dir, 'perf.config.ts'), 'utf8');
  // Asked of the running service at init: /health and /healthz are 404 there, /status answers 200.
  assert.match(config, /health: \{ path: '\/status', status: 200 \}/, config);
  assert.match(config, new RegExp(`baseUrl: '${notes.url}'`));
  assert.match(config, /\/\/ auth: \{/, 'a commented auth block');
  assert.match(readFileSync(path.join(dir, 'README.md'), 'utf8'), /--target/, 'the README says how to run against another deployment');
  await typechecks(dir);

  const ok = await run(dir, FUNCTIONAL);
  assert.equal(ok.code, 0, ok.explain);
  assert.equal(ok.verdict.status, 'passed', ok.explain);
  assert.equal(ok.phase('smoke')?.status, 'passed', ok.explain);
  for (const name of ['api_health', 'status_reachable', 'service_answers']) assert.equal(ok.check(name)?.status, 'passed', `${name}\n${ok.explain}`);

  // The same project, no edit, against a service answering 503: each generated check fails
  // (health blocks the phases after it, so smoke and flows are run on their own too).
  const bad = await run(dir, [...FUNCTIONAL, '--target', broken.url]);
  assert.equal(bad.code, 1, bad.explain);
  assert.equal(bad.check('api_health')?.status, 'failed', bad.explain);
  assert.match(bad.check('api_health')?.error ?? '', /503/, bad.explain);
  const smoke = await run(dir, ['--phase', 'smoke', '--target', broken.url]);
  assert.equal(smoke.check('status_reachable')?.status, 'failed', smoke.explain);
  const flows = await run(dir, ['--phase', 'flows', '--target', broken.url]);
  assert.equal(flows.check('service_answers')?.status, 'failed', flows.explain);
  assert.match(flows.check('service_answers')?.error ?? '', /503/, flows.explain);
});

test('without a document, the full default run passes with a short load (k6), and the load fails on a broken service', { timeout: 180_000 }, async () => {
  const dir = project();
  assert.equal((await init([dir, '--base-url', notes.url])).code, 0);
  // --duration replaces the profile's 15 s hold: 5 s ramp-up + 8 s hold at 15 users, ~150 requests,
  // enough for the error-rate gate (it needs 100 to decide).
  const ok = await run(dir, ['--duration', '8s'], 150_000);
  assert.equal(ok.code, 0, ok.explain);
  for (const name of ['health', 'smoke', 'flows', 'load']) assert.equal(ok.phase(name)?.status, 'passed', `${name}\n${ok.explain}`);
  const gates: any[] = ok.verdict.gates;
  assert.deepEqual(gates.map((g) => [g.metric, g.status]).sort(), [['http_req_duration{name:status,expected_response:true}', 'passed'], ['http_req_failed', 'passed']].sort(), JSON.stringify(gates));

  const bad = await run(dir, ['--phase', 'load', '--duration', '3s', '--target', broken.url], 120_000);
  assert.equal(bad.code, 1, bad.explain);
  assert.equal(bad.phase('load')?.status, 'failed', bad.explain);
  const failed = (bad.verdict.gates as any[]).find((g) => g.metric === 'http_req_failed');
  assert.equal(failed?.status, 'failed', JSON.stringify(bad.verdict.gates));
});

test('--openapi <file>: smoke comes from the document (referenced, not copied), and the run passes', { timeout: 120_000 }, async () => {
  const dir = project();
  const r = await init([dir, '--openapi', DOCUMENT, '--base-url', notes.url]);
  assert.equal(r.code, 0, r.output);
  const config = readFileSync(path.join(dir, 'perf.config.ts'), 'utf8');
  const ref = path.relative(dir, DOCUMENT).split(path.sep).join('/');
  assert.ok(config.includes(`openapi: '${ref}'`), `smoke.openapi is the document's path relative to the project (${ref})\n${config}`);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('openapi')), [], 'the document is not copied');
  // From the document: its unsecured GET /status, with its documented 200.
  assert.match(config, /health: \{ path: '\/status', status: 200 \}/, config);
  // The commented auth block, guessed from the document, is what notes-service needs.
  assert.match(config, /\/\/ {3}credential: \{ type: 'apiKey', tokenPath: 'data\.key', header: 'X-Api-Key' \}/, config);
  await typechecks(dir);

  const ok = await run(dir, FUNCTIONAL);
  assert.equal(ok.code, 0, ok.explain);
  assert.equal(ok.phase('smoke')?.status, 'passed', ok.explain);
  // The matrix is the document's: every operation is covered by smoke; without `auth`, the checks
  // needing a signed-in user are skipped, saying so.
  const smoke: Check[] = ok.phase('smoke').checks;
  const names = smoke.map((c) => `${c.name}:${c.status}`).join(', ');
  assert.equal(ok.check('get_api_me_requires_auth')?.status, 'passed', names);
  assert.equal(ok.check('get_status_conforms')?.status, 'passed', names);
  const skipped = smoke.filter((c) => c.status === 'skipped');
  assert.ok(skipped.length > 0 && skipped.every((c) => /no `auth`/.test(c.error ?? '')), names);
  assert.equal(ok.verdict.coverage?.total, 13, JSON.stringify(ok.verdict.coverage));
  assert.equal(ok.verdict.coverage?.byPhase?.smoke?.count, 13, JSON.stringify(ok.verdict.coverage));

  // Uncommented, the guessed auth block is a working one: the signed-in checks run too, and pass.
  const withAuth = config.replace(/\n {2}\/\/ auth: \{\n([\s\S]*?)\n {2}\/\/ \},/, (block) => block.replace(/\n {2}\/\/ /g, '\n  '));
  assert.notEqual(withAuth, config);
  writeFileSync(path.join(dir, 'perf.config.ts'), withAuth);
  const signedIn = await run(dir, ['--phase', 'smoke']);
  assert.equal(signedIn.code, 0, signedIn.explain);
  for (const c of skipped) assert.equal(signedIn.check(c.name)?.status, 'passed', `${c.name}\n${signedIn.explain}`);

  const bad = await run(dir, ['--phase', 'smoke', '--target', broken.url]);
  assert.equal(bad.code, 1, bad.explain);
  assert.ok(bad.checks.some((c) => c.status === 'failed' && /reachable/.test(c.name)), bad.explain);
});

test('--openapi <url>: the document is saved into the project as fetched, the base URL is its servers[0], and the run passes without the URL', { timeout: 120_000 }, async () => {
  const dir = project();
  const r = await init([dir, '--openapi', `${docs.url}/openapi.yaml`]);
  assert.equal(r.code, 0, r.output);
  assert.equal(readFileSync(path.join(dir, 'openapi.yaml'), 'utf8'), DOCUMENT_TEXT, 'saved byte for byte');
  const config = readFileSync(path.join(dir, 'perf.config.ts'), 'utf8');
  assert.match(config, /openapi: '\.\/openapi\.yaml'/, config);
  // servers: [{ url: http://127.0.0.1:{port} }] with port's default 8080.
  assert.match(config, /baseUrl: 'http:\/\/127\.0\.0\.1:8080'/, config);

  // A JSON document is saved as openapi.json.
  const jsonDir = project();
  assert.equal((await init([jsonDir, '--openapi', `${docs.url}/openapi.json`])).code, 0);
  assert.deepEqual(JSON.parse(readFileSync(path.join(jsonDir, 'openapi.json'), 'utf8')), parseYaml(DOCUMENT_TEXT));
  assert.match(readFileSync(path.join(jsonDir, 'perf.config.ts'), 'utf8'), /openapi: '\.\/openapi\.json'/);

  const relDir = project();
  assert.equal((await init([relDir, '--openapi', `${docs.url}/relative.json`])).code, 0);
  assert.ok(readFileSync(path.join(relDir, 'perf.config.ts'), 'utf8').includes(`baseUrl: '${docs.url}/v1'`));

  // The run reads the saved copy: the URL may be gone; the deployment is given at run time.
  const unreachable = docs.url;
  const ok = await run(dir, [...FUNCTIONAL, '--target', notes.url]);
  assert.equal(ok.code, 0, ok.explain);
  assert.equal(ok.phase('smoke')?.status, 'passed', ok.explain);
  assert.ok(!JSON.stringify(ok.verdict).includes(unreachable), 'the run never names the document URL');
});

test('refusals: existing files without --force, a bad document, a URL without one: exit 2, nothing written', { timeout: 60_000 }, async () => {
  const dir = project();
  writeFileSync(path.join(dir, 'perf.config.ts'), '// mine\n');
  writeFileSync(path.join(dir, 'notes.txt'), 'unrelated\n');
  const refused = await init([dir, '--base-url', notes.url]);
  assert.equal(refused.code, 2, refused.output);
  assert.match(refused.stderr, /perf\.config\.ts/);
  assert.match(refused.stderr, /--force/);
  assert.equal(readFileSync(path.join(dir, 'perf.config.ts'), 'utf8'), '// mine\n');
  assert.deepEqual(readdirSync(dir).sort(), ['notes.txt', 'perf.config.ts'], 'nothing else written');
  const forced = await init([dir, '--base-url', notes.url, '--force']);
  assert.equal(forced.code, 0, forced.output);
  assert.match(readFileSync(path.join(dir, 'perf.config.ts'), 'utf8'), /defineConfig/);

  // The document a URL would be saved as is a file of the project too.
  const docDir = project();
  writeFileSync(path.join(docDir, 'openapi.yaml'), 'mine\n');
  const docRefused = await init([docDir, '--openapi', `${docs.url}/openapi.yaml`]);
  assert.equal(docRefused.code, 2, docRefused.output);
  assert.match(docRefused.stderr, /openapi\.yaml/);
  assert.deepEqual(readdirSync(docDir), ['openapi.yaml'], 'nothing else written');

  // Not OpenAPI: `paths` must be an object.
  const badDir = project();
  const badDoc = path.join(badDir, 'broken.yaml');
  writeFileSync(badDoc, 'openapi: 3.0.3\ninfo: { title: x, version: "1" }\npaths: 5\n');
  const bad = await init([path.join(badDir, 'p'), '--openapi', badDoc]);
  assert.equal(bad.code, 2, bad.output);
  assert.ok(bad.stderr.includes(badDoc), bad.stderr);
  assert.ok(!existsSync(path.join(badDir, 'p')), 'nothing written');

  const swagger2 = path.join(badDir, 'swagger.json');
  writeFileSync(swagger2, JSON.stringify({ swagger: '2.0', info: { title: 'x', version: '1' }, paths: {} }));
  const old = await init([path.join(badDir, 'p'), '--openapi', swagger2]);
  assert.equal(old.code, 2, old.output);
  assert.ok(old.stderr.includes(swagger2), old.stderr);

  const missing = await init([path.join(badDir, 'p'), '--openapi', path.join(badDir, 'nope.yaml')]);
  assert.equal(missing.code, 2, missing.output);
  assert.match(missing.stderr, /nope\.yaml/);

  const gone = await init([path.join(badDir, 'p'), '--openapi', `${docs.url}/missing.yaml`]);
  assert.equal(gone.code, 2, gone.output);
  assert.ok(gone.stderr.includes(`${docs.url}/missing.yaml`), gone.stderr);
  assert.match(gone.stderr, /404/);
  assert.ok(!existsSync(path.join(badDir, 'p')), 'nothing written');

  const badUrl = await init([path.join(badDir, 'p'), '--base-url', 'ftp://x']);
  assert.equal(badUrl.code, 2, badUrl.output);
  assert.match(badUrl.stderr, /--base-url/);
});

test('a catch-all service, a gateway answering 401 under /api, one not running at init: what init asked the service is said in the config, and the run passes', { timeout: 90_000 }, async () => {
  const spa = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>app</title>');
  });
  try {
    const dir = project();
    assert.equal((await init([dir, '--base-url', spa.url])).code, 0);
    const config = readFileSync(path.join(dir, 'perf.config.ts'), 'utf8');
    // The first well-known health path answering 2xx; an unknown path answered 200, not 404.
    assert.match(config, /health: \{ path: '\/health', status: 200 \}/, config);
    assert.match(config, /unknownPath: \{ status: 200 \}/, config);
    const ok = await run(dir, FUNCTIONAL);
    assert.equal(ok.code, 0, ok.explain);
    assert.equal(ok.check('unknown_path')?.status, 'passed', ok.explain);
    // The same project against notes-service, which answers 404 there: the expectation is live.
    const strict = await run(dir, ['--phase', 'smoke', '--target', notes.url]);
    assert.equal(strict.check('unknown_path')?.status, 'failed', strict.explain);
  } finally {
    await spa.close();
  }

  // A gateway answering 401 under /api to anything without a key, routed or not, and 404 elsewhere:
  // unknown_path is pinned to the root (where 404 is due), which passes; /api keeps its own checks.
  const gateway = await serve((req, res) => {
    const status = req.url === '/status' ? 200 : req.url!.startsWith('/api/') ? 401 : 404;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status }));
  });
  try {
    const dir = project();
    const doc = path.join(dir, 'gateway.yaml');
    writeFileSync(
      doc,
      [
        'openapi: 3.0.3',
        "info: { title: gateway, version: '1' }",
        'paths:',
        '  /status:',
        "    get: { security: [], responses: { '200': { description: up } } }",
        '  /api/items:',
        "    get: { responses: { '200': { description: items }, '401': { description: no key } } }",
        'security: [{ key: [] }]',
        'components: { securitySchemes: { key: { type: apiKey, in: header, name: X-Key } } }',
        '',
      ].join('\n'),
    );
    const r = await init([dir, '--openapi', doc, '--base-url', gateway.url]);
    assert.equal(r.code, 0, r.output);
    const config = readFileSync(path.join(dir, 'perf.config.ts'), 'utf8');
    assert.match(config, /openapi: '\.\/gateway\.yaml'/, config);
    assert.match(config, /unknownPath: \{ path: '\/perf-no-such-path', status: 404 \}/, config);
    assert.match(config, /GET \/api\/perf-no-such-path answered 401/, config);
    const ok = await run(dir, FUNCTIONAL);
    assert.equal(ok.code, 0, ok.explain);
    assert.equal(ok.check('unknown_path')?.status, 'passed', ok.explain);
    assert.equal(ok.check('get_api_items_requires_auth')?.status, 'passed', ok.explain);
    // Unpinned (the default: root and /api), the same service fails unknown_path under /api.
    writeFileSync(path.join(dir, 'perf.config.ts'), config.replace(/\n\s*unknownPath: .*\n/, '\n'));
    const unpinned = await run(dir, ['--phase', 'smoke']);
    assert.equal(unpinned.check('unknown_path')?.status, 'failed', unpinned.explain);
    assert.match(unpinned.check('unknown_path')?.error ?? '', /401/, unpinned.explain);
  } finally {
    await gateway.close();
  }

  // No 2xx anywhere at init: `/` as it answered (a redirect, a 404), in health, flow and scenario
  // (k6 follows the redirect; a 404 is declared the request's success), all type-checked.
  for (const [rootStatus, scenarioSays] of [
    [302, /expectThat\(res\.status >= 200 && res\.status < 300/],
    [404, /expect: \[404\]/],
  ] as const) {
    const odd = await serve((req, res) => {
      const status = req.url === '/' ? rootStatus : req.url === '/login' ? 200 : 404;
      res.writeHead(status, status === 302 ? { location: '/login' } : {});
      res.end();
    });
    try {
      const dir = project();
      assert.equal((await init([dir, '--base-url', odd.url])).code, 0);
      const config = readFileSync(path.join(dir, 'perf.config.ts'), 'utf8');
      assert.match(config, new RegExp(`health: \\{ path: '/', status: ${rootStatus} \\}`), config);
      assert.match(readFileSync(path.join(dir, 'scenarios', 'journey.ts'), 'utf8'), scenarioSays);
      await typechecks(dir);
      const ok = await run(dir, FUNCTIONAL);
      assert.equal(ok.code, 0, ok.explain);
    } finally {
      await odd.close();
    }
  }

  // Nothing listens at init: GET / and 200 are assumed, and the config says so.
  const gone = await serve((_req, res) => res.end());
  const url = gone.url;
  await gone.close();
  const dir = project();
  assert.equal((await init([dir, '--base-url', url])).code, 0);
  const config = readFileSync(path.join(dir, 'perf.config.ts'), 'utf8');
  assert.match(config, /health: \{ path: '\/', status: 200 \}/, config);
  assert.match(config, /did not answer when perf init ran/, config);
  assert.doesNotMatch(config, /unknownPath/, config);
  const later = await run(dir, [...FUNCTIONAL, '--target', notes.url]);
  assert.equal(later.code, 0, later.explain);
});
