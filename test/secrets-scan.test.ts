// No secret in any artifact (issue 11). Black-box, on the real things: the real CLI, real k6,
// the real sample-app (started by perf), a real InfluxDB with authentication, a real PostgreSQL
// and Chromium. Every password and token that exists during a run is collected from where it
// was issued (sample-app's issued-secrets log, the test's own servers, the credentials the test
// hands perf), then looked for in every file of the run folder (gunzipped, zip members, binary
// files too), in the console output, in the GitHub summary and webhook payload, and in every
// series, tag and field of InfluxDB (test/secrets-scan.ts): there must be none.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { WebSocketServer } from 'ws';
import { startDetached, startTarget, stopDetached } from '../src/target/target.ts';
import { configProject, readVerdictFromOutput, REPO, runCli, runDirFromOutput, tempDir } from './helpers.ts';
import { startInflux, type InfluxServer } from './influx-helpers.ts';
import { dumpInflux, readIssuedSecrets, scanFolder, scanText, type Hit, type Secret } from './secrets-scan.ts';
import { identityFor } from '../src/auth/users.ts';

const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const secret = (prefix: string) => `${prefix}-${randomBytes(12).toString('hex')}`;
/** A JWT-shaped token nobody else can have produced: {"alg":"HS256"} . random claims . random signature. */
const fakeJwt = () => `eyJhbGciOiJIUzI1NiJ9.${randomBytes(24).toString('base64url')}.${randomBytes(24).toString('base64url')}`;

type Json = Record<string, any>;

function report(hits: Hit[]): string {
  return hits.map((h) => `  ${h.where}: ${h.secret} … ${h.context}`).join('\n');
}

async function createDatabase(): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = `perf_secrets_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A local receiver for the webhook reporter: what it was sent is scanned too. */
async function startReceiver(): Promise<{ port: number; received: () => string; close: () => Promise<void> }> {
  let received = '';
  const server = http.createServer((req, res) => {
    req.on('data', (c: Buffer) => (received += c.toString()));
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, received: () => received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('the scanner (test/secrets-scan.ts) finds what is there', () => {
  test('plain, URL-encoded, in a gzip stream, in a zip member inside gzip, in a binary file', () => {
    const dir = tempDir('perf-scan-oracle-');
    const s: Secret[] = [{ kind: 'password', value: 'p@ss word/1234' }, { kind: 'token', value: fakeJwt() }, { kind: 'other', value: 'never-written-1234' }];
    writeFileSync(path.join(dir, 'a.txt'), `x ${encodeURIComponent(s[0]!.value)} y`);
    mkdirSync(path.join(dir, 'sub'));
    // A zip with one deflated member (so the secret is not readable in the zip's bytes), gzipped.
    const member = Buffer.from(`trace ${s[1]!.value} end`);
    const packed = deflateRawSync(member);
    const name = Buffer.from('trace.trace');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(member.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(member.length, 24);
    central.writeUInt16LE(name.length, 28);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(46 + name.length, 12);
    end.writeUInt32LE(30 + name.length + packed.length, 16);
    writeFileSync(path.join(dir, 'sub', 'trace.zip.gz'), gzipSync(Buffer.concat([local, name, packed, central, name, end])));
    writeFileSync(path.join(dir, 'raw.bin'), Buffer.concat([Buffer.from([0, 1, 2, 255]), Buffer.from(s[0]!.value), Buffer.from([0])]));
    const { files, hits } = scanFolder(dir, s);
    assert.deepEqual(files.sort(), ['a.txt', 'raw.bin', 'sub/trace.zip.gz']);
    assert.deepEqual(hits.map((h) => `${h.where} ${h.secret.split(' ')[0]}`).sort(), [
      'a.txt password',
      'raw.bin password',
      'sub/trace.zip.gz (gunzipped)!trace.trace token',
    ]);
  });
});

/** sample-app's agent WebSocket with the token in the URL, through k6/ws and k6/websockets. */
const WS_TOKEN_IN_URL_SCENARIO = `
import ws from 'k6/ws';
import { WebSocket } from 'k6/websockets';
import { sleep } from 'k6';
import { currentSession, WS_URL } from 'perf-harness/k6';

export const options = { vus: 2, iterations: 4 };

export default function (): void {
  const me = currentSession();
  if (!me) return;
  ws.connect(WS_URL + '?token=' + me.token, (socket) => {
    socket.on('message', () => socket.close());
    socket.setTimeout(() => socket.close(), 2000);
  });
  const sock = new WebSocket(WS_URL + '?token=' + me.token);
  sock.onmessage = () => sock.close();
  sock.onerror = () => sock.close();
  sleep(0.3);
}
`;

describe('no secret in any artifact: a full perf run (all phases, --influx) against sample-app', () => {
  let influx: InfluxServer;
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const influxAuth = { username: 'perf-writer', password: secret('influx-pw') };
  const dbPassword = secret('db-pw');
  const hookSecret = secret('hook-path');
  const scratch = tempDir('perf-secrets-');
  const issuedLog = path.join(scratch, 'issued-secrets.jsonl');
  const stepSummary = path.join(scratch, 'step-summary.md');
  let run: { code: number | null; stdout: string; stderr: string };
  let cwd: string;
  let verdict: Json;
  let secrets: Secret[];

  before(async () => {
    [influx, db, receiver] = await Promise.all([startInflux({ auth: influxAuth }), createDatabase(), startReceiver()]);
    // PostgreSQL here trusts loopback: the password is never checked, and must still never be written.
    cwd = configProject(`sampleApp: { databaseUrl: 'postgres://postgres:${dbPassword}@127.0.0.1:5432/${db.name}' }`, 'perf-secrets-project-');
    // The repository's scenarios plus one that authenticates its WebSockets the way many clients
    // do, with ?token= in the URL (sample-app accepts it): what k6 would tag every ws_* sample with.
    const scenarios = path.join(cwd, 'scenarios');
    // The scenarios import only perf-harness/k6 (perf's lib stays in perf's checkout).
    mkdirSync(scenarios, { recursive: true });
    for (const f of readdirSync(path.join(REPO, 'scenarios')).filter((f) => f.endsWith('.ts'))) cpSync(path.join(REPO, 'scenarios', f), path.join(scenarios, f));
    writeFileSync(path.join(scenarios, 'ws-token-in-url.ts'), WS_TOKEN_IN_URL_SCENARIO);
    const config = path.join(cwd, 'perf.config.ts');
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace(
        `scenariosDir: ${JSON.stringify(path.join(REPO, 'scenarios'))} }`,
        `scenariosDir: ${JSON.stringify(scenarios)}, scenarios: [...base.load.scenarios, 'ws-token-in-url'] }`,
      ),
    );
    run = await runCli(['run', '--users', '2', '--profile', 'smoke', '--duration', '2s', '--influx', `${influx.url}/perf_secrets`], {
      cwd,
      env: {
        PERF_INFLUX_URL: undefined,
        K6_INFLUXDB_USERNAME: influxAuth.username,
        K6_INFLUXDB_PASSWORD: influxAuth.password,
        PERF_WEBHOOK_URL: `http://127.0.0.1:${receiver.port}/hooks/${hookSecret}`,
        GITHUB_STEP_SUMMARY: stepSummary,
        SAMPLE_APP_ISSUED_SECRETS_LOG: issuedLog,
      },
      timeoutMs: 400_000,
    });
    verdict = readVerdictFromOutput(cwd, run.stderr);
    secrets = [
      ...readIssuedSecrets(issuedLog),
      { kind: 'influx password', value: influxAuth.password },
      { kind: 'database password', value: dbPassword },
      { kind: 'webhook secret', value: hookSecret },
    ];
  });
  after(async () => {
    await receiver?.close();
    await influx?.stop();
    await db?.drop();
  });

  test('the run ran every phase and every scenario, and reached InfluxDB and the webhook', () => {
    // What is scanned below must have had the chance to leak: every phase ran (none skipped),
    // k6 ran the three scenarios (ws-events connects with ?token=), InfluxDB got everything.
    const ran = verdict.phases.map((p: Json) => `${p.name}:${p.status}`);
    for (const name of ['health', 'smoke', 'flows', 'db-integrity', 'frontend-smoke', 'frontend-flows', 'load', 'db-integrity-after-load']) {
      assert.ok(ran.some((r: string) => r.startsWith(`${name}:`) && !r.endsWith(':skipped')), `${name} ran: ${ran.join(', ')}`);
    }
    const load = verdict.phases.find((p: Json) => p.name === 'load');
    assert.deepEqual(load.k6.map((k: Json) => k.scenario).sort(), ['multi-user', 'throughput', 'ws-events', 'ws-token-in-url']);
    const tokenScenario = load.k6.find((k: Json) => k.scenario === 'ws-token-in-url');
    assert.ok(tokenScenario.analysis.samplesByMetric.ws_sessions >= 4, `the ?token= connections were made: ${JSON.stringify(tokenScenario.analysis.samplesByMetric)}`);
    assert.equal(verdict.influx?.status, 'ok', JSON.stringify(verdict.influx));
    assert.ok(receiver.received().length > 0, 'the webhook was called');
    // A healthy sample-app: every check phase passes. (A smoke-sized load may leave gates with
    // too few samples, which fails the run; that is the gates' business, not this test's.)
    for (const p of verdict.phases.filter((p: Json) => p.name !== 'load')) assert.match(p.status, /^(passed|flaky)$/, `${p.name}: ${p.reason ?? p.status}`);
    assert.ok(run.code === 0 || run.code === 1, `exit ${run.code}: ${run.stderr}`);
    assert.equal(verdict.reasons.some((r: string) => r.includes('holds a secret')), false, verdict.reasons.join('\n'));
  });

  test('the secrets to look for are the real ones: tokens of flows, browsers and k6 users, their passwords', () => {
    const kinds = (k: string) => secrets.filter((s) => s.kind === k);
    assert.ok(kinds('access_token').length >= 10, `access tokens issued: ${kinds('access_token').length}`);
    assert.ok(kinds('refresh_token').length >= 10);
    // k6's load users (scenarios/lib/auth.ts, label vu<n>) and perf's own test users (src/auth/users.ts).
    assert.ok(kinds('password').some((s) => s.value === identityFor(undefined, verdict.runId, 1, 'vu1').password), 'a k6 load user password');
    assert.ok(kinds('password').some((s) => /^P[A-Za-z0-9_-]{22}!$/.test(s.value)), 'a perf test user password');
    assert.ok(secrets.every((s) => s.value.length >= 8), 'no secret so short it would match innocent text');
  });

  test('no file of the run folder holds any of them (gunzipped, zip members, binary)', () => {
    const { files, hits } = scanFolder(runDirFromOutput(cwd, run.stderr), secrets);
    for (const f of ['verdict.json', 'junit.xml', 'k6-ws-token-in-url-samples.csv.gz', 'k6-ws-token-in-url-analysis.json.gz', 'k6-ws-token-in-url-log.jsonl', 'k6-ws-token-in-url-stdout.txt', 'k6-ws-token-in-url-summary.json']) {
      assert.ok(files.includes(f) || (f.endsWith('.csv.gz') && files.includes(f.replace('.csv.gz', '.bin.gz'))), `${f} was written and scanned (files: ${files.join(', ')})`);
    }
    assert.deepEqual(hits, [], `secrets in the run folder:\n${report(hits)}`);
  });

  test('the console output, the GitHub step summary and the webhook payload hold none', () => {
    const hits = [
      ...scanText('stdout', run.stdout, secrets),
      ...scanText('stderr', run.stderr, secrets),
      ...scanText('GITHUB_STEP_SUMMARY', readFileSync(stepSummary, 'utf8'), secrets),
      ...scanText('webhook payload', receiver.received(), secrets),
    ];
    assert.deepEqual(hits, [], `secrets in the output:\n${report(hits)}`);
  });

  test('no InfluxDB series, tag or field holds any of them', async () => {
    const dump = await dumpInflux(influx.url, 'perf_secrets', influxAuth);
    assert.ok(dump.has('ws_sessions') && dump.has('http_req_duration') && dump.has('perf_check'), `measurements: ${[...dump.keys()].join(', ')}`);
    const hits = [...dump].flatMap(([m, text]) => scanText(`influx ${m}`, text, secrets));
    assert.deepEqual(hits, [], `secrets in InfluxDB:\n${report(hits)}`);
  });
});

/**
 * A target of the test's own: `POST /login` hands out a fresh JWT-shaped token (recorded), `GET
 * /hello` answers, `/ws` upgrades and greets. The token is only ever known at run time, the
 * way a scenario gets one from a real service.
 */
async function startTokenServer(): Promise<{ url: string; issued: string[]; close: () => Promise<void> }> {
  const issued: string[] = [];
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.method === 'POST' && req.url === '/login') {
      const token = fakeJwt();
      issued.push(token);
      res.end(JSON.stringify({ token }));
      return;
    }
    res.end(JSON.stringify({ message: 'hello' }));
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket) => socket.send(JSON.stringify({ type: 'hello' })));
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    issued,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Every way a scenario can put a token in a URL: k6/ws, k6/websockets, k6/http (one call, batch). */
const TOKEN_IN_URL_SCENARIO = `
import http from 'k6/http';
import { get } from 'k6/http';
import ws from 'k6/ws';
import { WebSocket } from 'k6/websockets';
import { check } from 'k6';

export const options = { vus: 2, iterations: 6, thresholds: { checks: ['rate==1'] } };

export default function (): void {
  const base = __ENV.PERF_BASE_URL;
  const wsBase = base.replace(/^http/, 'ws');
  const token = (http.post(base + '/login').json() as { token: string }).token;
  // What k6 logs (the script's console, a failed request's URL) goes to the run folder too.
  console.log('login answered ' + JSON.stringify({ token }));
  http.get('http://127.0.0.1:1/unreachable?token=' + token, { timeout: '1s' });
  check(http.get(base + '/hello?token=' + token), { 'http ok': (r) => r.status === 200 });
  check(get(base + '/hello?access_token=' + token + '&page=2'), { 'named import ok': (r) => r.status === 200 });
  const batch = http.batch([base + '/hello?token=' + token, ['GET', base + '/hello?token=' + token], { method: 'GET', url: base + '/hello?token=' + token }]);
  check(batch, { 'batch ok': (rs) => rs.every((r) => r.status === 200) });
  const res = ws.connect(wsBase + '/ws?token=' + token, (socket) => {
    socket.on('message', () => socket.close());
  });
  check(res, { 'ws upgraded': (r) => r && r.status === 101 });
  const sock = new WebSocket(wsBase + '/ws?token=' + token);
  sock.onmessage = () => sock.close();
  sock.onerror = () => sock.close();
}
`;

/** The backstop: the script names its request after the URL itself, token and all. */
const EXPLICIT_NAME_SCENARIO = `
import http from 'k6/http';

export const options = { vus: 1, iterations: 3 };

export default function (): void {
  const base = __ENV.PERF_BASE_URL;
  const token = (http.post(base + '/login').json() as { token: string }).token;
  const url = base + '/hello?token=' + token;
  http.get(url, { tags: { name: url } });
}
`;

describe('a scenario that puts a token in a URL (real k6, a local target)', () => {
  let server: Awaited<ReturnType<typeof startTokenServer>>;
  let influx: InfluxServer;
  let project: string;
  before(async () => {
    [server, influx] = await Promise.all([startTokenServer(), startInflux()]);
    project = tempDir('perf-secrets-scenario-');
    mkdirSync(path.join(project, 'scenarios'));
    writeFileSync(path.join(project, 'scenarios', 'token-in-url.ts'), TOKEN_IN_URL_SCENARIO);
    writeFileSync(path.join(project, 'scenarios', 'explicit-name.ts'), EXPLICIT_NAME_SCENARIO);
  });
  after(async () => {
    await server?.close();
    await influx?.stop();
  });

  test('k6/ws, k6/websockets and k6/http with ?token= leave the token nowhere: files, console, InfluxDB', async () => {
    const r = await runCli(['run', '--target', server.url, '--scenario', 'token-in-url', '--influx', `${influx.url}/perf_tokens`], { cwd: project, env: { PERF_INFLUX_URL: undefined, K6_INFLUXDB_USERNAME: undefined, K6_INFLUXDB_PASSWORD: undefined } });
    const verdict = readVerdictFromOutput(project, r.stderr);
    assert.equal(r.code, 0, `${r.stderr}\n${verdict.reasons?.join('\n')}`);
    assert.ok(server.issued.length >= 6, `tokens issued: ${server.issued.length}`);
    const secrets = server.issued.map((value) => ({ kind: 'token', value }));
    const runDir = runDirFromOutput(project, r.stderr);
    const { hits } = scanFolder(runDir, secrets);
    hits.push(...scanText('console', r.stdout + r.stderr, secrets));
    const dump = await dumpInflux(influx.url, 'perf_tokens');
    assert.ok(dump.has('ws_sessions') && dump.has('http_reqs'), `measurements: ${[...dump.keys()].join(', ')}`);
    for (const [m, text] of dump) hits.push(...scanText(`influx ${m}`, text, secrets));
    assert.deepEqual(hits, [], `tokens found:\n${report(hits)}`);
    // The log lines that carried the token are there, redacted.
    const log = readFileSync(path.join(runDir, 'k6-token-in-url-log.jsonl'), 'utf8');
    assert.match(log, /login answered \{.*\[redacted\]/);
    assert.match(log, /unreachable\?token=\[redacted\]/);
    // Still one name per endpoint, the URL without its query: gates can target it.
    const names = await fetch(`${influx.url}/query?db=perf_tokens&q=${encodeURIComponent('SHOW TAG VALUES FROM "ws_sessions" WITH KEY = "name"')}`).then((x) => x.json() as Promise<Json>);
    assert.deepEqual(names.results[0].series[0].values.map((v: string[]) => v[1]), [`${server.url.replace(/^http/, 'ws')}/ws`]);
  });

  test('a name tag the script sets to a URL with a token: the run fails saying where and how to fix it, and the token is scrubbed everywhere', async () => {
    const r = await runCli(['run', '--target', server.url, '--scenario', 'explicit-name', '--influx', `${influx.url}/perf_named`], { cwd: project, env: { PERF_INFLUX_URL: undefined, K6_INFLUXDB_USERNAME: undefined, K6_INFLUXDB_PASSWORD: undefined } });
    assert.equal(r.code, 1, r.stderr);
    const verdict = readVerdictFromOutput(project, r.stderr);
    const reason = (verdict.reasons as string[]).find((x) => x.includes('holds a secret'));
    assert.ok(reason, verdict.reasons.join('\n'));
    // One line naming the scenario, the metrics, the tag, the value (redacted) and the fix.
    assert.match(reason, /explicit-name: the "name" tag of http_reqs, http_req_duration, .*http_req_failed holds a secret \("http:\/\/127\.0\.0\.1:\d+\/hello\?token=\[redacted\]", redacted in the run folder\)/);
    assert.match(reason, /Fix the scenario: give the request a name of its own \(params \{ tags: \{ name: '<endpoint>' \} \}\)/);
    const secrets = server.issued.map((value) => ({ kind: 'token', value }));
    const { files, hits } = scanFolder(runDirFromOutput(project, r.stderr), secrets);
    assert.ok(files.some((f) => /^k6-explicit-name-samples\./.test(f)), files.join(', '));
    hits.push(...scanText('console', r.stdout + r.stderr, secrets));
    assert.deepEqual(hits, [], `tokens found:\n${report(hits)}`);
    // k6 streamed the samples to InfluxDB before perf could see them: the verdict says so, with
    // the statement that removes them, and that statement does.
    const influxReason = (verdict.reasons as string[]).join('\n').match(/InfluxDB got these samples before perf saw them; remove them there with (DROP SERIES [^\n;]+)/);
    assert.ok(influxReason, verdict.reasons.join('\n'));
    const tokensInInflux = async () => [...(await dumpInflux(influx.url, 'perf_named'))].flatMap(([m, text]) => scanText(`influx ${m}`, text, secrets));
    assert.ok((await tokensInInflux()).length > 0, 'the token reached InfluxDB (what the reason is about)');
    const drop = await fetch(`${influx.url}/query?db=perf_named`, { method: 'POST', body: new URLSearchParams({ q: influxReason[1]! }) });
    assert.equal(drop.status, 200, await drop.text());
    assert.deepEqual(await tokensInInflux(), []);
  });
});

describe('sample-app as perf starts it: the database URL is not on its command line', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  before(async () => {
    db = await createDatabase();
  });
  after(() => db?.drop());

  test('the password is in neither /proc/<pid>/cmdline nor the command perf reports; the app uses that database', async () => {
    const password = secret('cmdline-pw');
    const databaseUrl = `postgres://postgres:${password}@127.0.0.1:5432/${db.name}`;
    const handle = await startTarget({ databaseUrl, seedUsers: 0 });
    try {
      const cmdline = readFileSync(`/proc/${handle.pid}/cmdline`, 'utf8');
      assert.equal(cmdline.includes(password), false, cmdline.replaceAll('\0', ' '));
      assert.equal(handle.command.join(' ').includes(password), false);
      assert.equal(handle.storage, 'external');
      assert.equal(handle.databaseUrl, databaseUrl);
    } finally {
      await handle.stop();
    }
  });

  test('perf target start: neither the command line nor .perf/target.json holds the password', async () => {
    const password = secret('state-pw');
    const dir = tempDir('perf-secrets-state-');
    const stateFile = path.join(dir, 'target.json');
    const state = await startDetached({ databaseUrl: `postgres://postgres:${password}@127.0.0.1:5432/${db.name}`, seedUsers: 0, stateFile });
    try {
      assert.equal(readFileSync(`/proc/${state.pid}/cmdline`, 'utf8').includes(password), false);
      const written = readFileSync(stateFile, 'utf8');
      assert.equal(written.includes(password), false, written);
      assert.match(JSON.parse(written).databaseUrl, /^postgres:\/\/postgres:\[redacted\]@127\.0\.0\.1:5432\//);
    } finally {
      await stopDetached({ stateFile });
    }
  });
});

describe("perf's own messages on the console", () => {
  test('a usage error quoting a token-shaped value prints it redacted (and so would an internal error: same path in cli.ts)', async () => {
    const token = fakeJwt();
    const r = await runCli(['samples', `/tmp/no-such-dir/${token}.csv`]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no such file: \/tmp\/no-such-dir\/\[redacted\]\.csv/);
    assert.equal(r.stderr.includes(token), false, r.stderr);
  });
});
