// The smoke phase driven by an OpenAPI document (smoke.openapi): the matrix derived from
// examples/notes-service/openapi.yaml (3.0) and test/fixtures/openapi/notes-3.1.yaml (3.1), run
// against the real notes-service (child processes on free ports, the real PostgreSQL, a schema
// of their own dropped at the end), every answer checked against the document. Each check is
// shown failing: schemaDrift (a body the schema refuses), a status the document does not list,
// a server answering 200 to any path (unknown_path), a cookie service ignoring CSRF.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { smokeChecks } from '../src/checks/smoke.ts';
import type { Check, HttpExchange, ResolvedTarget } from '../src/checks/types.ts';
import type { PerfConfig } from '../src/config/config-schema.ts';
import { UserError } from '../src/errors.ts';
import { identityFor } from '../src/auth/users.ts';
import { compilable } from '../src/openapi/validate.ts';
import { Ajv } from 'ajv';
import { listProject } from '../src/cli/list.ts';
import { loadCheckFactories } from '../src/run/registry.ts';
import { startAuthService, type AuthService } from './auth-helpers.ts';
import { assertFailed, assertPassed, assertSkipped, byName, newRun, runCheck, testConfig, type CheckRun, type TestRun } from './checks-helpers.ts';
import { REPO, runCli } from './helpers.ts';

const SERVER = path.join(REPO, 'examples', 'notes-service', 'server.ts');
const DOC = 'examples/notes-service/openapi.yaml';
const DOC_31 = 'test/fixtures/openapi/notes-3.1.yaml';
const DATABASE_URL = process.env.PERF_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = randomBytes(3).toString('hex');
const at = { projectDir: REPO };

// --- notes-service ------------------------------------------------------------------------------

interface Service {
  url: string;
  schema: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

async function startNotes(label: string, faults: Record<string, unknown> = {}): Promise<Service> {
  const schema = `perf_oas_${RUN}_${label}`;
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    cwd: REPO,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_URL, NOTES_SCHEMA: schema, NOTES_FAULTS: JSON.stringify(faults) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`notes-service: no ready line in 20 s; stderr:\n${stderr}`)), 20_000);
    child.stdout!.on('data', () => {
      const m = /^notes-service listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`notes-service exited before ready; stderr:\n${stderr}`));
    });
  });
  return { url, schema, child, exited };
}

/** examples/notes' auth: API key from POST /api/login in X-Api-Key. */
const NOTES_AUTH: PerfConfig['auth'] = {
  signup: { method: 'POST', path: '/api/accounts', body: { username: '{{username}}', password: '{{password}}' }, expect: [201] },
  existsStatus: [409],
  login: { method: 'POST', path: '/api/login', body: { username: '{{username}}', password: '{{password}}' }, expect: [200] },
  credential: { type: 'apiKey', tokenPath: 'data.key', header: 'X-Api-Key' },
};

/** Every check of notes-service's document, as the matrix derives them (a lost row fails the tests). */
const NOTES_CHECKS = [
  'get_status_reachable',
  'get_status_conforms',
  'post_api_accounts_reachable',
  'post_api_accounts_rejects_empty_body',
  'delete_api_accounts_me_reachable',
  'delete_api_accounts_me_requires_auth',
  'post_api_login_reachable',
  'post_api_login_rejects_empty_body',
  'post_api_logout_reachable',
  'post_api_logout_requires_auth',
  'get_api_me_reachable',
  'get_api_me_requires_auth',
  'get_api_me_conforms',
  'get_api_notes_reachable',
  'get_api_notes_requires_auth',
  'get_api_notes_conforms',
  'post_api_notes_reachable',
  'post_api_notes_requires_auth',
  'post_api_notes_rejects_empty_body',
  'get_api_notes_id_reachable',
  'get_api_notes_id_requires_auth',
  'get_api_notes_id_unknown_id',
  'delete_api_notes_id_reachable',
  'delete_api_notes_id_requires_auth',
  'delete_api_notes_id_unknown_id',
  'get_api_notes_id_summary_stream_reachable',
  'get_api_notes_id_summary_stream_requires_auth',
  'get_api_notes_id_summary_stream_unknown_id',
  'get_root_reachable',
  'get_root_conforms',
  'get_app_reachable',
  'get_app_conforms',
  'unknown_path',
];

/** Runs checks as the parallel smoke phase does (one shared map, 8 at once). */
async function runPhase(checks: Check[], target: ResolvedTarget, run: TestRun = newRun()): Promise<Map<string, CheckRun>> {
  const results = new Map<string, CheckRun>();
  const queue = [...checks];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) results.set(c.name, await runCheck(c, target, run));
    }),
  );
  return results;
}

const notPassed = (results: Map<string, CheckRun>) => [...results].filter(([, r]) => !r.passed).map(([n, r]) => `${n}: ${r.skipped !== undefined ? `skipped: ${r.skipped}` : r.error}`);
const external = (url: string): ResolvedTarget => ({ kind: 'external', baseUrl: url });

const tempDirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'perf-oas-'));
  tempDirs.push(d);
  return d;
}

describe('smoke from an OpenAPI document', () => {
  let clean: Service;
  let drift: Service;
  before(async () => {
    [clean, drift] = await Promise.all([startNotes('clean'), startNotes('drift', { schemaDrift: true })]);
  });
  after(async () => {
    for (const svc of [clean, drift]) {
      if (svc && svc.child.exitCode === null) {
        svc.child.kill('SIGTERM');
        await svc.exited;
      }
    }
    const db = new pg.Client({ connectionString: DATABASE_URL });
    await db.connect();
    try {
      for (const svc of [clean, drift]) if (svc) await db.query(`DROP SCHEMA IF EXISTS "${svc.schema}" CASCADE`);
    } finally {
      await db.end();
    }
    for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  });

  const notesConfig = (smoke: NonNullable<PerfConfig['smoke']> = {}, auth: PerfConfig['auth'] | null = NOTES_AUTH) =>
    testConfig({ ...(auth ? { auth } : {}), smoke: { openapi: DOC, ...smoke } });

  test('healthy notes-service (OpenAPI 3.0): every derived check passes, answers validated, the service\'s 403/400/integer ids from the document', async () => {
    const checks = await smokeChecks(notesConfig(), at);
    assert.deepEqual(
      checks.map((c) => c.name),
      NOTES_CHECKS,
    );
    const results = await runPhase(checks, external(clean.url));
    assert.deepEqual(notPassed(results), [], 'every derived smoke check passes');
    // What the document said, as sent: 403 without a key, 400 to an empty body, an integer unknown id.
    const sent = [...results.values()].flatMap((r) => r.evidence).filter((e): e is HttpExchange => e.kind === 'http');
    assert.ok(sent.some((e) => e.url.endsWith('/api/notes/2147483646') && e.status === 404), 'the unknown id is an integer, and answered 404');
    assert.ok(sent.some((e) => e.url.endsWith('/api/me') && e.status === 403));
    assert.ok(sent.some((e) => e.url.endsWith('/api/notes') && e.method === 'POST' && e.status === 400));
    assert.ok(sent.some((e) => e.url.endsWith('/perf-no-such-path-7') && e.status === 404));
    assert.ok(sent.some((e) => e.url.endsWith('/api/perf-no-such-path-7') && e.status === 404));
  });

  test('schemaDrift: get_api_me_conforms fails naming the operation, the status and the field; nothing else fails', async () => {
    const results = await runPhase(await smokeChecks(notesConfig(), at), external(drift.url));
    assert.deepEqual(notPassed(results).map((l) => l.split(':')[0]), ['get_api_me_conforms'], notPassed(results).join('\n'));
    // The closest alternative of the document's oneOf speaks: the uid, and nothing else.
    assertFailed(results.get('get_api_me_conforms')!, /^GET \/api\/me 200: body \/uid must be string — GET \/api\/me \(correlation id/, 'get_api_me_conforms');
  });

  test('a status the document does not list fails the check that got it, even when the check expected it', async () => {
    const dir = tempDir();
    // The same document without GET /api/notes' 403 (the service answers it all the same).
    const doc = readFileSync(path.join(REPO, DOC), 'utf8').replace(
      /(  \/api\/notes:\n    get:[\s\S]*?)        '403': \{ \$ref: '#\/components\/responses\/Forbidden' \}\n/,
      '$1',
    );
    assert.notEqual(doc, readFileSync(path.join(REPO, DOC), 'utf8'), 'the 403 was taken out');
    writeFileSync(path.join(dir, 'openapi.yaml'), doc);
    const config = testConfig({ auth: NOTES_AUTH, smoke: { openapi: 'openapi.yaml', unauthenticatedStatus: 403 } });
    const checks = await smokeChecks(config, { projectDir: dir });
    // Without a documented 401 or 403, the unauthenticated status is smoke.unauthenticatedStatus.
    const run = newRun();
    const auth = await runCheck(byName(checks, 'get_api_notes_requires_auth'), external(clean.url), run);
    assertFailed(auth, /^GET \/api\/notes 403: status 403 is not documented \(documented: 200\)/, 'get_api_notes_requires_auth');
    const reachable = await runCheck(byName(checks, 'get_api_notes_reachable'), external(clean.url), run);
    assertFailed(reachable, /GET \/api\/notes 403: status 403 is not documented/, 'get_api_notes_reachable');
    // The other operations still conform.
    assertPassed(await runCheck(byName(checks, 'get_api_me_requires_auth'), external(clean.url), run), 'get_api_me_requires_auth');
    // validateResponses: false: statuses and bodies are not checked, and there is no conforms check.
    const unchecked = await smokeChecks(testConfig({ auth: NOTES_AUTH, smoke: { openapi: { document: 'openapi.yaml', validateResponses: false }, unauthenticatedStatus: 403 } }), { projectDir: dir });
    assertPassed(await runCheck(byName(unchecked, 'get_api_notes_requires_auth'), external(clean.url), run), 'not validated');
    assert.ok(!unchecked.some((c) => c.name.endsWith('_conforms')));
  });

  test('an invalid document, or one not found, is a UserError naming the file (perf list exits 2)', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'broken.yaml'), 'openapi: 3.0.3\ninfo: { title: x }\npaths:\n  /a:\n    get:\n      responses: nope\n');
    for (const file of ['broken.yaml', 'missing.yaml']) {
      await assert.rejects(smokeChecks(testConfig({ smoke: { openapi: file } }), { projectDir: dir }), (e: unknown) => {
        assert.ok(e instanceof UserError, String(e));
        assert.match(e.message, new RegExp(`^smoke\\.openapi: cannot use ${file.replace('.', '\\.')}`));
        return true;
      });
    }
    writeFileSync(path.join(dir, 'perf.config.ts'), `export default { target: { baseUrl: 'http://127.0.0.1:9' }, smoke: { openapi: 'broken.yaml' } };\n`);
    const r = await runCli(['list'], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /smoke\.openapi: cannot use broken\.yaml/);
  });

  test('exclude leaves operations out (by operationId or METHOD /path); an exclude naming nothing is a UserError', async () => {
    const names = (await smokeChecks(notesConfig({ openapi: { document: DOC, exclude: ['DELETE /api/accounts/me', 'get /'] } }), at)).map((c) => c.name);
    assert.ok(!names.some((n) => n.startsWith('delete_api_accounts_me_') || n.startsWith('get_root_')), names.join(', '));
    assert.ok(names.includes('get_app_reachable'));
    assert.equal(names.length, NOTES_CHECKS.length - 4);
    const byId = (await smokeChecks(testConfig({ auth: NOTES_AUTH, smoke: { openapi: { document: DOC_31, exclude: ['getMe'] } } }), at)).map((c) => c.name);
    assert.ok(!byId.some((n) => n.startsWith('get_me_')) && byId.includes('list_notes_reachable'), byId.join(', '));
    await assert.rejects(smokeChecks(notesConfig({ openapi: { document: DOC, exclude: ['GET /api/nope'] } }), at), /smoke\.openapi\.exclude: "GET \/api\/nope" names no operation/);
  });

  test('smoke.endpoints: a row of the same method and path replaces the derived one (its answers still checked); others are added', async () => {
    const config = notesConfig({
      endpoints: [
        { name: 'me', method: 'GET', path: '/api/me', expect: { unauthenticated: 401 } },
        { name: 'extra', method: 'GET', path: '/api/notes/:noteId', idKind: 'integer', expect: { unauthenticated: 403 } },
      ],
    });
    const checks = await smokeChecks(config, at);
    const names = checks.map((c) => c.name);
    assert.ok(!names.some((n) => n.startsWith('get_api_me_') || n.startsWith('get_api_notes_id_unknown')), names.join(', '));
    assert.deepEqual(
      names.filter((n) => n.startsWith('me_') || n.startsWith('extra_')),
      ['me_reachable', 'me_requires_auth', 'me_conforms', 'extra_reachable', 'extra_requires_auth', 'extra_unknown_id'],
    );
    // The row says 401 where the service (and the document) say 403: it fails on its own expectation.
    const r = await runCheck(byName(checks, 'me_requires_auth'), external(clean.url), newRun());
    assertFailed(r, /GET \/api\/me without a credential: GET \/api\/me answered 403, expected 401/, 'me_requires_auth');
    // Its answers are still checked against the operation: schemaDrift fails its conforms check.
    assertFailed(await runCheck(byName(checks, 'me_conforms'), external(drift.url), newRun()), /GET \/api\/me 200: body \/uid must be string/, 'me_conforms');
  });

  test('without `auth`: derived checks needing a user are skipped, naming auth and docs/auth.md; the others run', async () => {
    const checks = await smokeChecks(notesConfig({}, null), at);
    const results = await runPhase(checks, external(clean.url));
    for (const name of ['get_api_me_conforms', 'post_api_notes_rejects_empty_body', 'get_api_notes_id_unknown_id']) {
      assertSkipped(results.get(name)!, /`auth`.*docs\/auth\.md/, name);
    }
    for (const name of ['get_api_me_requires_auth', 'post_api_accounts_rejects_empty_body', 'get_status_conforms', 'unknown_path']) assertPassed(results.get(name)!, name);
    assert.deepEqual(
      [...results].filter(([, r]) => !r.passed && r.skipped === undefined).map(([n, r]) => `${n}: ${r.error}`),
      [],
    );
  });

  test('OpenAPI 3.1 (JSON Schema 2020-12, a 4XX range, a recursive schema): names from operationIds; healthy passes, schemaDrift fails', async () => {
    const config = testConfig({ auth: NOTES_AUTH, smoke: { openapi: DOC_31, unauthenticatedStatus: 403 } });
    const checks = await smokeChecks(config, at);
    assert.deepEqual(checks.map((c) => c.name), [
      'get_status_reachable',
      'get_status_conforms',
      'get_me_reachable',
      'get_me_requires_auth',
      'get_me_conforms',
      'list_notes_reachable',
      'list_notes_requires_auth',
      'list_notes_conforms',
      'create_note_reachable',
      'create_note_requires_auth',
      'create_note_rejects_empty_body',
      'get_note_reachable',
      'get_note_requires_auth',
      'get_note_unknown_id',
      'unknown_path',
    ]);
    const run = newRun();
    // A note first, so the recursive Note schema validates a real one.
    const note = byName(checks, 'create_note_rejects_empty_body');
    assertPassed(await runCheck(note, external(clean.url), run), 'create_note_rejects_empty_body');
    const results = await runPhase(checks, external(clean.url), run);
    assert.deepEqual(notPassed(results), [], 'every check passes on 3.1');
    // The 404 of an unknown id is validated against the 4XX range.
    assert.ok(results.get('get_note_unknown_id')!.evidence.some((e) => e.kind === 'http' && e.status === 404));
    const drifted = await runPhase(await smokeChecks(config, at), external(drift.url));
    assert.deepEqual(notPassed(drifted).map((l) => l.split(':')[0]), ['get_me_conforms']);
    assertFailed(drifted.get('get_me_conforms')!, /^GET \/api\/me 200: body \/uid must be string,null/, 'get_me_conforms');
  });

  test('perf list shows the derived smoke checks (project folder: the config file\'s)', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'openapi.yaml'), readFileSync(path.join(REPO, DOC_31)));
    const config = testConfig({ target: { baseUrl: 'http://127.0.0.1:9' }, auth: NOTES_AUTH, smoke: { openapi: 'openapi.yaml' } });
    const lines = await listProject({ config, projectDir: dir, factories: await loadCheckFactories() });
    const smoke = lines.slice(lines.findIndex((l) => l.startsWith('smoke ')), lines.findIndex((l) => l.startsWith('flows ')));
    assert.match(smoke.join('\n'), /^ {2}get_me_conforms {2}GET \/api\/me answers a documented 2xx whose body validates against getMe \(as a test user\)$/m);
    assert.match(smoke.join('\n'), /^ {2}get_note_unknown_id {2}GET \/api\/notes\/:noteId answers 404/m);
    assert.match(smoke.join('\n'), /^ {2}unknown_path {2}GET \/perf-no-such-path-<seed> and the same under \/api answers 404/m);
  });
});

describe('unknown_path', () => {
  let server: http.Server;
  let url: string;
  before(async () => {
    // Answers 200 to everything (a catch-all route, an SPA fallback).
    server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const endpoints = [
    { name: 'widgets', method: 'GET' as const, path: '/api/widgets', auth: false },
    { name: 'health', method: 'GET' as const, path: '/health', auth: false },
  ];

  test('a server answering 200 to any path fails it, naming every probe (root and each first segment)', async () => {
    const checks = await smokeChecks(testConfig({ smoke: { endpoints } }), at);
    const r = await runCheck(byName(checks, 'unknown_path'), external(url), newRun(7));
    assertFailed(r, /must answer 404: GET \/perf-no-such-path-7 answered 200 \(correlation id perf-[^)]+\); GET \/api\/perf-no-such-path-7 answered 200/, 'unknown_path');
    assert.equal(r.evidence.filter((e) => e.kind === 'http').length, 2, 'one probe at the root, one under /api (none under the single-segment /health)');
  });

  test('unknownPath.path and .status replace the probes; false removes the check', async () => {
    const custom = await smokeChecks(testConfig({ smoke: { endpoints, unknownPath: { path: '/no/such/thing', status: 200 } } }), at);
    const r = await runCheck(byName(custom, 'unknown_path'), external(url), newRun());
    assertPassed(r, 'unknown_path with status 200');
    assert.deepEqual(r.evidence.map((e) => (e.kind === 'http' ? new URL(e.url).pathname : e.kind)), ['/no/such/thing']);
    const off = await smokeChecks(testConfig({ smoke: { endpoints, unknownPath: false } }), at);
    assert.ok(!off.some((c) => c.name === 'unknown_path'));
  });
});

describe('requires_csrf (cookie session with CSRF)', () => {
  let svc: AuthService;
  before(async () => {
    svc = await startAuthService();
  });
  after(async () => {
    await svc.close();
  });

  const config = testConfig({
    auth: {
      signup: { method: 'POST', path: '/cookie/signup', body: { email: '{{email}}', password: '{{password}}' }, expect: [201] },
      login: { method: 'POST', path: '/cookie/login', body: { email: '{{email}}', password: '{{password}}' }, expect: [200] },
      credential: { type: 'cookie', csrf: { cookie: 'csrf', header: 'X-CSRF-Token' } },
    },
    smoke: {
      endpoints: [
        { name: 'me', method: 'GET', path: '/cookie/me' },
        { name: 'note_create', method: 'POST', path: '/cookie/notes', body: true },
        { name: 'account_delete', method: 'DELETE', path: '/cookie/account' },
      ],
    },
  });

  test('one per protected write; passes when the service refuses a write without the header (with the session cookie)', async () => {
    const checks = await smokeChecks(config, at);
    assert.deepEqual(checks.map((c) => c.name).filter((n) => n.endsWith('_requires_csrf')), ['note_create_requires_csrf', 'account_delete_requires_csrf']);
    const run = newRun();
    for (const name of ['note_create_requires_csrf', 'account_delete_requires_csrf']) assertPassed(await runCheck(byName(checks, name), external(svc.url), run), name);
    const writes = svc.log.filter((l) => (l.path === '/cookie/notes' && l.method === 'POST') || (l.path === '/cookie/account' && l.method === 'DELETE'));
    assert.equal(writes.length, 2);
    for (const w of writes) {
      assert.match(String(w.headers.cookie), /sid=/, 'the session cookie was sent');
      assert.equal(w.headers['x-csrf-token'], undefined, 'the CSRF header was not');
    }
  });

  test('a service that does not check CSRF fails it with the status it answered', async () => {
    svc.csrfEnforced = false;
    try {
      const checks = await smokeChecks(config, at);
      const run = newRun();
      assertFailed(await runCheck(byName(checks, 'note_create_requires_csrf'), external(svc.url), run), /POST \/cookie\/notes without the X-CSRF-Token header: POST \/cookie\/notes answered 201, expected 403/, 'note_create_requires_csrf');
      // A write that would act (no id, no body) runs as a user of its own: the smoke user survives it.
      assertFailed(await runCheck(byName(checks, 'account_delete_requires_csrf'), external(svc.url), run), /answered 204, expected 403/, 'account_delete_requires_csrf');
      const email = (label: string) => identityFor(config.auth, run.runId, run.seed, label).email;
      assert.equal(svc.accounts.has(email('smoke-csrf-account_delete')), false, 'the account_delete user was deleted');
      assert.equal(svc.accounts.has(email('smoke')), true, 'the smoke user was not');
    } finally {
      svc.csrfEnforced = true;
    }
  });
});

describe('validator: recursive schemas', () => {
  test('a schema with an object cycle compiles and validates to any depth', () => {
    const node: Record<string, unknown> = { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } };
    (node.properties as Record<string, unknown>).children = { type: 'array', items: node };
    const validate = new Ajv({ strict: false, allErrors: true }).compile(compilable(node, 'definitions', true));
    assert.equal(validate({ id: 1, children: [{ id: 2, children: [{ id: 3 }] }] }), true);
    assert.equal(validate({ id: 1, children: [{ id: 2, children: [{ id: 'x' }] }] }), false);
    assert.equal(validate.errors?.[0]?.instancePath, '/children/0/children/0/id');
    // 3.0: nullable without type, boolean exclusiveMinimum.
    const v30 = new Ajv({ strict: false }).compile(compilable({ nullable: true, allOf: [{ type: 'integer', minimum: 0, exclusiveMinimum: true }] }, 'definitions', true));
    assert.deepEqual([v30(null), v30(1), v30(0)], [true, true, false]);
  });
});
