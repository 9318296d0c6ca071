// examples/notes, black-box: the real CLI (bin/perf.js) runs the example project against the
// real notes-service (started by perf itself through target.start), the real PostgreSQL, k6
// and Chromium. Each run gets a free port and a schema of its own (dropped CASCADE at the end).
// Healthy, every phase passes; with each notes-service fault, the run fails on the check or
// gate meant for that fault, named in verdict.json with its message.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { rmSync } from 'node:fs';
import { REPO, readVerdictFromOutput, runCli, runDirFromOutput } from './helpers.ts';

// Run from the repository root with --config: paths of the project (target.start's cwd, flows,
// scenarios, .perf/) are relative to the config file's folder, wherever perf is started.
const CONFIG = path.join('examples', 'notes', 'perf.config.ts');
const DATABASE_URL = process.env.PERF_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = randomBytes(3).toString('hex');
const schemas: string[] = [];
const runDirs: string[] = [];

after(async () => {
  for (const d of runDirs) rmSync(d, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await client.end();
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Check {
  name: string;
  status: string;
  error?: string;
}
interface Run {
  code: number | null;
  output: string;
  verdict: Record<string, any>;
  phase(name: string): Record<string, any>;
  check(name: string): Check;
  failed(): string[];
  gate(metric: string): Record<string, any>;
}

/** One `perf run` of the example project, with these notes-service faults. */
async function runNotes(label: string, faults: Record<string, unknown>, args: string[], timeoutMs = 180_000): Promise<Run> {
  const schema = `perf_notes_${RUN}_${label}`;
  schemas.push(schema);
  const r = await runCli(['run', '--config', CONFIG, '--reporter', 'console', ...args], {
    cwd: REPO,
    env: { NOTES_PORT: String(await freePort()), NOTES_SCHEMA: schema, NOTES_FAULTS: JSON.stringify(faults), NOTES_DATABASE_URL: DATABASE_URL },
    timeoutMs,
  });
  const output = `${r.stdout}\n${r.stderr}`;
  const verdict = readVerdictFromOutput(REPO, output);
  runDirs.push(runDirFromOutput(REPO, output));
  const checks = (): Check[] => verdict.phases.flatMap((p: any) => p.checks ?? []);
  return {
    code: r.code,
    output,
    verdict,
    phase: (name) => {
      const p = verdict.phases.find((x: any) => x.name === name);
      assert.ok(p, `phase ${name} in the verdict (${verdict.phases.map((x: any) => x.name).join(', ')})`);
      return p;
    },
    check: (name) => {
      const c = checks().find((x) => x.name === name);
      assert.ok(c, `check ${name} in the verdict (${checks().map((x) => x.name).join(', ')})`);
      return c;
    },
    failed: () => checks().filter((c) => c.status === 'failed').map((c) => c.name).sort(),
    gate: (metric) => {
      const gates: any[] = verdict.gates ?? verdict.phases.flatMap((p: any) => p.gates ?? []);
      const g = gates.find((x) => x.metric === metric || x.metric.startsWith(`${metric}{`));
      assert.ok(g, `gate ${metric} in the verdict (${gates.map((x) => x.metric).join(', ')})`);
      return g;
    },
  };
}

const explain = (r: Run) =>
  `exit ${r.code}; failed: ${r.failed().join(', ') || 'none'}; reasons: ${JSON.stringify(r.verdict.reasons)}\n` +
  r.failed().map((n) => `${n}: ${r.check(n).error}`).join('\n') +
  `\n${r.output.slice(-3000)}`;

// A short load: 3 users, the smoke profile (2 s ramp-up), a 4 s hold.
const SHORT_LOAD = ['--users', '3', '--profile', 'smoke', '--duration', '4s'];

test('healthy: every phase of the example project passes against notes-service', { timeout: 240_000 }, async () => {
  const r = await runNotes('healthy', {}, SHORT_LOAD, 230_000);
  assert.equal(r.verdict.status, 'passed', explain(r));
  assert.equal(r.code, 0, explain(r));
  for (const name of ['health', 'smoke', 'flows', 'db-integrity', 'frontend-smoke', 'frontend-flows', 'load']) {
    const p = r.phase(name);
    assert.equal(p.status, 'passed', `${name}: ${JSON.stringify(p.reason ?? p.checks?.filter((c: Check) => c.status !== 'passed'))}`);
  }
  // The user's own files ran as checks of their phases.
  for (const flow of ['account_lifecycle', 'bad_credentials', 'notes_crud', 'notes_isolation', 'summary_stream', 'agent_summary', 'agent_foreign_note', 'ws_refuses_without_key']) {
    assert.equal(r.check(flow).status, 'passed', flow);
  }
  for (const flow of ['browser_login_add_note', 'browser_bad_login', 'browser_signed_in_notes']) assert.equal(r.check(flow).status, 'passed', flow);
  // Config-driven checks, the service's way: 403 without a key, 400 to an empty body (the smoke
  // matrix derived from its openapi.yaml, every answer checked against it).
  assert.equal(r.check('api_health').status, 'passed');
  assert.equal(r.check('get_api_me_requires_auth').status, 'passed');
  assert.equal(r.check('post_api_notes_rejects_empty_body').status, 'passed');
  for (const name of ['get_api_me_conforms', 'get_api_notes_conforms', 'get_status_conforms', 'unknown_path']) assert.equal(r.check(name).status, 'passed', name);
  // Integer ids (the document's `type: integer`): an unknown one is a 404, where a UUID would be a 400.
  for (const name of ['get_api_notes_id_unknown_id', 'delete_api_notes_id_unknown_id', 'get_api_notes_id_summary_stream_unknown_id']) assert.equal(r.check(name).status, 'passed', name);
  assert.equal(r.check('db_foreign_keys').status, 'passed');
  // After load: the notes the scenarios counted are exactly the load users' rows.
  assert.equal(r.check('reconcile_note').status, 'passed');
  assert.equal(r.check('page_app').status, 'passed');
  assert.equal(r.check('redirect_app').status, 'passed');
  for (const metric of ['data_isolation', 'ws_event_order', 'ws_event_ownership']) assert.equal(r.gate(metric).status, 'passed', metric);
  // perf started notes-service itself (target.start) and stopped it; the run folder is the project's.
  assert.equal(r.verdict.services?.[0]?.name, 'notes');
  assert.ok(r.verdict.services[0].stopped, JSON.stringify(r.verdict.services));
  assert.ok(runDirs.at(-1)!.startsWith(path.join(REPO, 'examples', 'notes', '.perf', 'runs')), runDirs.at(-1));
  // Test users were removed the service's way (DELETE /api/accounts/me): the flows' and perf's
  // own, and the k6 load users (vu<n>, counted by perf_test_users_created), signed in again for it.
  const td = r.verdict.testData;
  assert.ok(td, 'testData in the verdict');
  assert.deepEqual(td.leftBehind, [], JSON.stringify(td));
  assert.equal(td.usersRemoved, td.usersCreated, JSON.stringify(td));
  assert.ok(td.loadUsersCreated >= 3, `the 3 load users are counted: ${JSON.stringify(td)}`);
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT username FROM "perf_notes_${RUN}_healthy".accounts`);
    assert.deepEqual(rows, [], 'no account is left in the service');
  } finally {
    await client.end();
  }
});

test('statusDegraded: api_health fails on the status body (HTTP 200, state yellow)', { timeout: 90_000 }, async () => {
  const r = await runNotes('degraded', { statusDegraded: true }, ['--phase', 'health']);
  assert.equal(r.verdict.status, 'failed', explain(r));
  assert.equal(r.code, 1);
  assert.deepEqual(r.failed(), ['api_health'], explain(r));
  assert.match(r.check('api_health').error ?? '', /state/, explain(r));
  assert.match(r.check('api_health').error ?? '', /yellow/, explain(r));
});

test('unprotectedMe: smoke fails get_api_me_requires_auth (200 where 403 is due)', { timeout: 90_000 }, async () => {
  const r = await runNotes('unprotected', { unprotectedMe: true }, ['--phase', 'smoke']);
  assert.equal(r.verdict.status, 'failed', explain(r));
  assert.deepEqual(r.failed(), ['get_api_me_requires_auth'], explain(r));
  assert.match(r.check('get_api_me_requires_auth').error ?? '', /403/, explain(r));
  assert.match(r.check('get_api_me_requires_auth').error ?? '', /200/, explain(r));
});

test('schemaDrift: smoke fails get_api_me_conforms (uid a number where openapi.yaml says a string), status unchanged', { timeout: 90_000 }, async () => {
  const r = await runNotes('drift', { schemaDrift: true }, ['--phase', 'health,smoke']);
  assert.equal(r.verdict.status, 'failed', explain(r));
  assert.equal(r.code, 1, explain(r));
  assert.deepEqual(r.failed(), ['get_api_me_conforms'], explain(r));
  assert.match(r.check('get_api_me_conforms').error ?? '', /^GET \/api\/me 200: body \/uid must be string/, explain(r));
  assert.equal(r.check('get_api_me_requires_auth').status, 'passed');
});

test('crossUserLeak: the isolation flows fail, and so does the load data_isolation gate', { timeout: 150_000 }, async () => {
  const r = await runNotes('leak', { crossUserLeak: true }, ['--phase', 'flows,load', '-s', 'notes-journey', ...SHORT_LOAD]);
  assert.equal(r.verdict.status, 'failed', explain(r));
  // Every list now holds other users' notes: the isolation flow, and the CRUD flow's own list.
  assert.deepEqual(r.failed(), ['notes_crud', 'notes_isolation'], explain(r));
  assert.match(r.check('notes_isolation').error ?? '', /bob's list holds only bob's notes/, explain(r));
  const gate = r.gate('data_isolation');
  assert.equal(gate.status, 'failed', JSON.stringify(gate));
  assert.ok(gate.observed < 1, JSON.stringify(gate));
  assert.equal(r.gate('http_req_duration').status, 'passed');
});

test('wsDropEnd: the agent flow fails (no summary.end), and so does the ws_event_order gate', { timeout: 150_000 }, async () => {
  const r = await runNotes('dropend', { wsDropEnd: true }, ['--phase', 'flows,load', '-s', 'summaries', ...SHORT_LOAD]);
  assert.equal(r.verdict.status, 'failed', explain(r));
  assert.deepEqual(r.failed(), ['agent_summary'], explain(r));
  assert.match(r.check('agent_summary').error ?? '', /begin, chunks, end/, explain(r));
  assert.match(r.check('agent_summary').error ?? '', /summary\.end/, explain(r));
  assert.equal(r.gate('ws_event_order').status, 'failed', `${JSON.stringify(r.gate('ws_event_order'))}\n${explain(r)}`);
  assert.equal(r.gate('ws_event_ownership').status, 'passed');
});

test('wsWrongOwner: the agent flows fail on ownership, and so does the ws_event_ownership gate', { timeout: 150_000 }, async () => {
  const r = await runNotes('owner', { wsWrongOwner: true }, ['--phase', 'flows,load', '-s', 'summaries', ...SHORT_LOAD]);
  assert.equal(r.verdict.status, 'failed', explain(r));
  // Owner "0" on every frame: the summary's events, and the not_found answer too, are not mine.
  assert.deepEqual(r.failed(), ['agent_foreign_note', 'agent_summary'], explain(r));
  assert.match(r.check('agent_summary').error ?? '', /every event is mine/, explain(r));
  assert.equal(r.gate('ws_event_ownership').status, 'failed', `${JSON.stringify(r.gate('ws_event_ownership'))}\n${explain(r)}`);
});

test('slowListMs: the notes-list latency gate fails', { timeout: 120_000 }, async () => {
  const r = await runNotes('slow', { slowListMs: 400 }, ['--phase', 'load', '-s', 'notes-journey', ...SHORT_LOAD]);
  assert.equal(r.verdict.status, 'failed', explain(r));
  const gate = r.gate('http_req_duration');
  assert.equal(gate.status, 'failed', JSON.stringify(gate));
  assert.ok(gate.observed >= 400, JSON.stringify(gate));
  assert.equal(r.gate('data_isolation').status, 'passed');
});
