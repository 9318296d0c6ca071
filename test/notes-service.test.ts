// Black-box tests of examples/notes-service: the real server in child processes, on free
// ports, against the real PostgreSQL, each instance in its own throwaway schema (dropped
// CASCADE at the end). One instance runs clean, one with every fault switched on: the faults
// are independent, so a single faulty instance shows each one's effect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import WebSocket from 'ws';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SERVER = path.join(REPO, 'examples', 'notes-service', 'server.ts');
const DATABASE_URL = process.env.PERF_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = randomBytes(4).toString('hex');
const SLOW_MS = 300;

// --- process helpers --------------------------------------------------------------------

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Service {
  url: string;
  schema: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<Exit>;
}

function spawnService(env: Record<string, string>): Omit<Service, 'url' | 'schema'> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    cwd: REPO,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', NOTES_FAULTS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** Starts an instance and waits for its ready line. */
async function startService(schema: string, faults?: Record<string, unknown>): Promise<Service> {
  const svc = spawnService({ DATABASE_URL, NOTES_SCHEMA: schema, NOTES_FAULTS: faults ? JSON.stringify(faults) : '' });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 20 s; stderr:\n${svc.stderr()}`)), 20_000);
    const onData = (): void => {
      const m = /^notes-service listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(svc.stdout());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    svc.child.stdout!.on('data', onData);
    void svc.exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`exited before ready (${e.code}); stderr:\n${svc.stderr()}`));
    });
  });
  return { ...svc, url, schema };
}

// --- HTTP / WebSocket helpers -------------------------------------------------------------

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function call(
  base: string,
  method: string,
  urlPath: string,
  opts: { key?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key !== undefined) headers['x-api-key'] = opts.key;
  let body: string | undefined = opts.rawBody;
  if (opts.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  const res = await fetch(base + urlPath, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

interface User {
  uid: string;
  username: string;
  password: string;
  key: string;
}

let userSeq = 0;
async function newUser(base: string): Promise<User> {
  const username = `u_${RUN}_${++userSeq}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const signup = await call(base, 'POST', '/api/accounts', { body: { username, password } });
  assert.equal(signup.status, 201, signup.text);
  const login = await call(base, 'POST', '/api/login', { body: { username, password } });
  assert.equal(login.status, 200, login.text);
  return { uid: signup.json.account.uid, username, password, key: login.json.data.key };
}

async function addNote(base: string, user: User, title: string, body?: string): Promise<number> {
  const r = await call(base, 'POST', '/api/notes', { key: user.key, body: body === undefined ? { title } : { title, body } });
  assert.equal(r.status, 201, r.text);
  return r.json.note.id;
}

/** Opens /live offering `protocols`; rejects with the HTTP status of a refused upgrade. */
function openLive(base: string, protocols: string[], livePath = '/live'): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base.replace(/^http/, 'ws') + livePath, protocols);
    ws.once('open', () => resolve(ws));
    ws.once('error', (err) => reject(err));
  });
}

async function refusedStatus(base: string, protocols: string[], livePath?: string): Promise<number> {
  const err = await openLive(base, protocols, livePath).then(
    (ws) => {
      ws.terminate();
      throw new Error('upgrade was accepted');
    },
    (e: Error) => e,
  );
  const m = /Unexpected server response: (\d+)/.exec(err.message);
  assert.ok(m, err.message);
  return Number(m[1]);
}

interface Frame {
  kind: string;
  name: string;
  data?: Record<string, unknown>;
  owner: string;
  ts?: number;
}

/** Frames received until `done(frames)` is true, or until `ms` pass (then whatever arrived). */
function collect(ws: WebSocket, done: (frames: Frame[]) => boolean, ms = 2_000): Promise<Frame[]> {
  return new Promise((resolve) => {
    const frames: Frame[] = [];
    const finish = (): void => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      resolve(frames);
    };
    const onMessage = (data: WebSocket.RawData): void => {
      frames.push(JSON.parse(data.toString()) as Frame);
      if (done(frames)) finish();
    };
    const timer = setTimeout(finish, ms);
    ws.on('message', onMessage);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- fixtures -------------------------------------------------------------------------------

let clean: Service;
let faulty: Service;
const db = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
const issuedSecrets: string[] = [];

before(async () => {
  [clean, faulty] = await Promise.all([
    startService(`notes_t_${RUN}`),
    startService(`notes_t_${RUN}_f`, {
      statusDegraded: true,
      crossUserLeak: true,
      slowListMs: SLOW_MS,
      wsDropEnd: true,
      wsWrongOwner: true,
      unprotectedMe: true,
      schemaDrift: true,
    }),
  ]);
});

after(async () => {
  for (const svc of [clean, faulty]) {
    if (svc && svc.child.exitCode === null && svc.child.signalCode === null) {
      svc.child.kill('SIGTERM');
      await svc.exited;
    }
  }
  for (const svc of [clean, faulty]) if (svc) await db.query(`DROP SCHEMA IF EXISTS "${svc.schema}" CASCADE`);
  await db.end();
});

// --- configuration ----------------------------------------------------------------------------

test('configuration mistakes exit 2 with a clear message', async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ DATABASE_URL, NOTES_FAULTS: '{not json' }, /NOTES_FAULTS is not valid JSON/],
    [{ DATABASE_URL, NOTES_FAULTS: '{"noSuchFault":true}' }, /unknown fault "noSuchFault"/],
    [{ DATABASE_URL, NOTES_FAULTS: '{"slowListMs":"x"}' }, /slowListMs/],
    [{ DATABASE_URL: '' }, /DATABASE_URL is required/],
  ];
  await Promise.all(
    cases.map(async ([env, message]) => {
      const svc = spawnService({ NOTES_SCHEMA: `notes_t_${RUN}_never`, ...env });
      const exit = await svc.exited;
      assert.equal(exit.code, 2, svc.stderr());
      assert.match(svc.stderr(), message);
      assert.equal(svc.stdout(), '');
    }),
  );
});

// --- clean instance -----------------------------------------------------------------------------

test('GET /status: green body, build rev, checkedAt, pg up; x-trace-id fresh or echoed', async () => {
  const t0 = Date.now();
  const r = await call(clean.url, 'GET', '/status');
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json).sort(), ['build', 'checkedAt', 'components', 'state']);
  assert.equal(r.json.state, 'green');
  assert.equal(r.json.build.rev, '1.0.0');
  assert.equal(typeof r.json.checkedAt, 'number');
  assert.ok(r.json.checkedAt >= t0 - 1000 && r.json.checkedAt <= Date.now() + 1000);
  assert.deepEqual(r.json.components, { pg: 'up' });
  assert.match(r.headers.get('x-trace-id') ?? '', /^[0-9a-f]{32}$/);

  const echoed = await call(clean.url, 'GET', '/status', { headers: { 'x-trace-id': 'trace-42' } });
  assert.equal(echoed.headers.get('x-trace-id'), 'trace-42');
  const notFound = await call(clean.url, 'GET', '/nope', { headers: { 'x-trace-id': 'trace-43' } });
  assert.equal(notFound.status, 404);
  assert.deepEqual(notFound.json, { message: 'not found' });
  assert.equal(notFound.headers.get('x-trace-id'), 'trace-43');
});

test('sign-up, login, me, logout; 409 taken; 403 denied; 400 bad bodies', async () => {
  const username = `u_${RUN}_flow`;
  const password = 'correct horse';
  issuedSecrets.push(password);

  const signup = await call(clean.url, 'POST', '/api/accounts', { body: { username, password } });
  assert.equal(signup.status, 201);
  assert.match(signup.json.account.uid, /^\d+$/);
  assert.deepEqual(signup.json, { account: { uid: signup.json.account.uid, username } });
  const uid: string = signup.json.account.uid;

  const again = await call(clean.url, 'POST', '/api/accounts', { body: { username, password: 'another one' } });
  assert.equal(again.status, 409);
  assert.deepEqual(again.json, { message: 'taken' });

  for (const [body, fields] of [
    [undefined, ['username', 'password']],
    [{ username: 'Bad Name!', password }, ['username']],
    [{ username: `u_${RUN}_x`, password: 'short' }, ['password']],
    [{ username: `u_${RUN}_x` }, ['password']],
  ] as const) {
    const r = await call(clean.url, 'POST', '/api/accounts', { body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.deepEqual(r.json, { message: 'invalid', fields });
  }
  const malformed = await call(clean.url, 'POST', '/api/accounts', { rawBody: '{"username":', headers: { 'content-type': 'application/json' } });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.json.message, 'invalid');

  const wrongPw = await call(clean.url, 'POST', '/api/login', { body: { username, password: 'wrong password' } });
  const noUser = await call(clean.url, 'POST', '/api/login', { body: { username: `u_${RUN}_ghost`, password } });
  assert.equal(wrongPw.status, 403);
  assert.equal(noUser.status, 403);
  assert.deepEqual(wrongPw.json, { message: 'denied' });
  assert.deepEqual(noUser.json, { message: 'denied' });
  const badLogin = await call(clean.url, 'POST', '/api/login', { body: { username } });
  assert.equal(badLogin.status, 400);
  assert.deepEqual(badLogin.json, { message: 'invalid', fields: ['password'] });

  const login1 = await call(clean.url, 'POST', '/api/login', { body: { username, password } });
  assert.equal(login1.status, 200);
  const key1: string = login1.json.data.key;
  assert.match(key1, /^nk_[A-Za-z0-9_-]{32}$/);
  assert.deepEqual(login1.json, { data: { key: key1, account: { uid } } });
  issuedSecrets.push(key1);

  const me = await call(clean.url, 'GET', '/api/me', { key: key1 });
  assert.equal(me.status, 200);
  assert.deepEqual(me.json, { uid, username });

  // A new login replaces the previous key.
  const login2 = await call(clean.url, 'POST', '/api/login', { body: { username, password } });
  const key2: string = login2.json.data.key;
  issuedSecrets.push(key2);
  assert.notEqual(key2, key1);
  assert.equal((await call(clean.url, 'GET', '/api/me', { key: key1 })).status, 403);
  assert.equal((await call(clean.url, 'GET', '/api/me', { key: key2 })).status, 200);

  // The key is stored hashed, never in clear.
  const stored = await db.query(`SELECT api_key_hash, password_hash FROM "${clean.schema}".accounts WHERE uid = $1`, [uid]);
  assert.notEqual(stored.rows[0].api_key_hash, key2);
  assert.match(stored.rows[0].api_key_hash, /^[0-9a-f]{64}$/);
  assert.match(stored.rows[0].password_hash, /^scrypt\$/);

  const logout = await call(clean.url, 'POST', '/api/logout', { key: key2 });
  assert.equal(logout.status, 204);
  assert.equal(logout.text, '');
  const afterLogout = await call(clean.url, 'GET', '/api/me', { key: key2 });
  assert.equal(afterLogout.status, 403);
  assert.deepEqual(afterLogout.json, { message: 'forbidden' });
});

test('protected endpoints answer 403 "forbidden" (never 401) without a valid key', async () => {
  const owner = await newUser(clean.url);
  const id = await addNote(clean.url, owner, 'guarded');
  const endpoints: [string, string][] = [
    ['GET', '/api/me'],
    ['POST', '/api/logout'],
    ['DELETE', '/api/accounts/me'],
    ['GET', '/api/notes'],
    ['POST', '/api/notes'],
    ['GET', `/api/notes/${id}`],
    ['DELETE', `/api/notes/${id}`],
    ['GET', `/api/notes/${id}/summary/stream`],
    ['GET', '/api/notes/not-a-number'],
  ];
  for (const key of [undefined, 'nk_' + 'A'.repeat(32), 'garbage']) {
    for (const [method, p] of endpoints) {
      const r = await call(clean.url, method, p, { key, body: method === 'POST' ? { title: 'x' } : undefined });
      assert.equal(r.status, 403, `${method} ${p} with key ${key}`);
      assert.deepEqual(r.json, { message: 'forbidden' });
    }
  }
  // Nothing was created or deleted by those calls.
  const list = await call(clean.url, 'GET', '/api/notes', { key: owner.key });
  assert.deepEqual(list.json.notes.map((n: { id: number }) => n.id), [id]);
});

test('notes: integer ids, newest first, 400 for bad title or id, delete then 404', async () => {
  const user = await newUser(clean.url);
  const first = await call(clean.url, 'POST', '/api/notes', { key: user.key, body: { title: 'first', body: 'one two' } });
  assert.equal(first.status, 201);
  const note = first.json.note;
  assert.ok(Number.isInteger(note.id), `id ${JSON.stringify(note.id)} is an integer`);
  assert.deepEqual(Object.keys(note).sort(), ['body', 'createdAt', 'id', 'title']);
  assert.equal(note.title, 'first');
  assert.equal(note.body, 'one two');
  assert.ok(!Number.isNaN(Date.parse(note.createdAt)));

  const second = await addNote(clean.url, user, 'second');
  assert.ok(second > note.id);

  for (const body of [undefined, {}, { title: '' }, { title: '   ' }, { title: 42 }, { title: 'x'.repeat(201) }]) {
    const r = await call(clean.url, 'POST', '/api/notes', { key: user.key, body });
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.deepEqual(r.json, { message: 'invalid', fields: ['title'] });
  }

  const list = await call(clean.url, 'GET', '/api/notes', { key: user.key });
  assert.equal(list.status, 200);
  assert.deepEqual(list.json.notes.map((n: { id: number }) => n.id), [second, note.id]);
  assert.equal(list.json.notes[1].body, 'one two');
  const defaultBody = list.json.notes[0];
  assert.equal(defaultBody.body, '');

  const got = await call(clean.url, 'GET', `/api/notes/${note.id}`, { key: user.key });
  assert.equal(got.status, 200);
  assert.deepEqual(got.json, { note });

  for (const bad of ['abc', '1.5', '1e3']) {
    const r = await call(clean.url, 'GET', `/api/notes/${bad}`, { key: user.key });
    assert.equal(r.status, 400, bad);
    assert.deepEqual(r.json, { message: 'invalid', fields: ['id'] });
  }
  for (const missing of ['0', '-4', '999999999999', '99999999999999999999999']) {
    const r = await call(clean.url, 'GET', `/api/notes/${missing}`, { key: user.key });
    assert.equal(r.status, 404, missing);
    assert.deepEqual(r.json, { message: 'no such note' });
  }

  const del = await call(clean.url, 'DELETE', `/api/notes/${note.id}`, { key: user.key });
  assert.equal(del.status, 204);
  assert.equal((await call(clean.url, 'GET', `/api/notes/${note.id}`, { key: user.key })).status, 404);
  assert.equal((await call(clean.url, 'DELETE', `/api/notes/${note.id}`, { key: user.key })).status, 404);
});

test('isolation: a user never sees, reads, streams or deletes another user\'s note', async () => {
  const alice = await newUser(clean.url);
  const bob = await newUser(clean.url);
  const aliceNote = await addNote(clean.url, alice, 'alice private');
  const bobNote = await addNote(clean.url, bob, 'bob private');

  const aliceList = await call(clean.url, 'GET', '/api/notes', { key: alice.key });
  assert.deepEqual(aliceList.json.notes.map((n: { id: number }) => n.id), [aliceNote]);
  const bobList = await call(clean.url, 'GET', '/api/notes', { key: bob.key });
  assert.deepEqual(bobList.json.notes.map((n: { id: number }) => n.id), [bobNote]);

  for (const [method, p] of [
    ['GET', `/api/notes/${aliceNote}`],
    ['DELETE', `/api/notes/${aliceNote}`],
    ['GET', `/api/notes/${aliceNote}/summary/stream`],
  ] as const) {
    const r = await call(clean.url, method, p, { key: bob.key });
    assert.equal(r.status, 404, `${method} ${p}`);
    assert.deepEqual(r.json, { message: 'no such note' });
  }
  // Bob's DELETE did not remove it.
  assert.equal((await call(clean.url, 'GET', `/api/notes/${aliceNote}`, { key: alice.key })).status, 200);
});

test('SSE summary stream: 3 chunk events ~20 ms apart, then done', async () => {
  const user = await newUser(clean.url);
  const id = await addNote(clean.url, user, 'streamed', 'alpha beta gamma');
  const started = performance.now();
  const r = await call(clean.url, 'GET', `/api/notes/${id}/summary/stream`, { key: user.key });
  const elapsed = performance.now() - started;
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.ok(r.headers.get('x-trace-id'));
  const events = r.text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const lines = block.split('\n');
      const name = lines.find((l) => l.startsWith('event: '))!.slice(7);
      const data = JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6));
      return { name, data };
    });
  assert.deepEqual(
    events.map((e) => e.name),
    ['chunk', 'chunk', 'chunk', 'done'],
  );
  assert.equal(events[0]!.data.text, 'About "streamed"');
  assert.equal(events[1]!.data.text, '3 words in the body');
  for (const e of events.slice(0, 3)) assert.equal(typeof e.data.text, 'string');
  assert.ok(elapsed >= 35, `stream took ${elapsed} ms, expected 2 gaps of 20 ms`);
});

test('WebSocket /live: subprotocol auth, no greeting, begin/chunk×3/end with owner and noteId', async () => {
  const user = await newUser(clean.url);
  const other = await newUser(clean.url);
  const id = await addNote(clean.url, user, 'live one');
  const id2 = await addNote(clean.url, user, 'live two');
  const foreign = await addNote(clean.url, other, 'not yours');

  const ws = await openLive(clean.url, ['notes.v1', `key.${user.key}`]);
  try {
    assert.equal(ws.protocol, 'notes.v1');
    // The server does not greet.
    const greeting = await collect(ws, () => true, 150);
    assert.deepEqual(greeting, []);

    for (const noteId of [id, id2]) {
      const pending = collect(ws, (f) => f.some((x) => x.name === 'summary.end'));
      ws.send(JSON.stringify({ op: 'summarize', noteId }));
      const frames = await pending;
      assert.deepEqual(
        frames.map((f) => f.name),
        ['summary.begin', 'summary.chunk', 'summary.chunk', 'summary.chunk', 'summary.end'],
      );
      for (const f of frames) {
        assert.equal(f.kind, 'evt');
        assert.equal(f.owner, user.uid);
        assert.equal(f.data!.noteId, noteId);
        assert.equal(typeof f.ts, 'number');
      }
      assert.deepEqual(
        frames.filter((f) => f.name === 'summary.chunk').map((f) => f.data!.seq),
        [1, 2, 3],
      );
      const span = frames.at(-1)!.ts! - frames[0]!.ts!;
      assert.ok(span >= 30, `run spanned ${span} ms, expected chunks ~15 ms apart`);
    }

    for (const noteId of [foreign, 987654321]) {
      const pending = collect(ws, (f) => f.length === 1);
      ws.send(JSON.stringify({ op: 'summarize', noteId }));
      assert.deepEqual(await pending, [{ kind: 'err', name: 'not_found', owner: user.uid }]);
    }
    const pending = collect(ws, (f) => f.length === 1);
    ws.send('not json');
    assert.deepEqual(await pending, [{ kind: 'err', name: 'bad_request', owner: user.uid }]);
  } finally {
    ws.close();
  }
});

test('WebSocket /live refuses the upgrade without a valid key.<apikey> subprotocol', async () => {
  const user = await newUser(clean.url);
  assert.equal(await refusedStatus(clean.url, ['notes.v1']), 403);
  assert.equal(await refusedStatus(clean.url, ['notes.v1', `key.nk_${'B'.repeat(32)}`]), 403);
  assert.equal(await refusedStatus(clean.url, [`key.${user.key}`]), 403);
  assert.equal(await refusedStatus(clean.url, []), 403);
  assert.equal(await refusedStatus(clean.url, ['notes.v1', `key.${user.key}`], '/elsewhere'), 404);
  // After logout the key no longer opens a socket.
  assert.equal((await call(clean.url, 'POST', '/api/logout', { key: user.key })).status, 204);
  assert.equal(await refusedStatus(clean.url, ['notes.v1', `key.${user.key}`]), 403);
});

test('DELETE /api/accounts/me removes the account and, by cascade, its notes', async () => {
  const user = await newUser(clean.url);
  await addNote(clean.url, user, 'to be removed');
  await addNote(clean.url, user, 'me too');
  const count = async (table: string, column: string): Promise<number> =>
    Number((await db.query(`SELECT count(*) FROM "${clean.schema}".${table} WHERE ${column} = $1`, [user.uid])).rows[0].count);
  assert.equal(await count('notes', 'owner'), 2);

  const del = await call(clean.url, 'DELETE', '/api/accounts/me', { key: user.key });
  assert.equal(del.status, 204);
  assert.equal(await count('notes', 'owner'), 0);
  assert.equal(await count('accounts', 'uid'), 0);
  assert.equal((await call(clean.url, 'GET', '/api/me', { key: user.key })).status, 403);
  const relogin = await call(clean.url, 'POST', '/api/login', { body: { username: user.username, password: user.password } });
  assert.equal(relogin.status, 403);
});

test('pages: login form and notes page carry their data-testid hooks', async () => {
  const login = await call(clean.url, 'GET', '/');
  assert.equal(login.status, 200);
  assert.match(login.headers.get('content-type') ?? '', /^text\/html/);
  for (const id of ['login-form', 'username', 'password', 'login-submit']) assert.ok(login.text.includes(`data-testid="${id}"`), id);
  assert.ok(login.text.includes("'notes.key'"));
  const app = await call(clean.url, 'GET', '/app');
  assert.equal(app.status, 200);
  for (const id of ['whoami', 'notes', 'note-form', 'note-title', 'note-add', 'logout']) assert.ok(app.text.includes(`data-testid="${id}"`), id);
  assert.ok(app.text.includes("li.dataset.testid = 'note'"));
});

// --- faulty instance ---------------------------------------------------------------------------

test('fault statusDegraded: /status 200 but yellow, pg degraded', async () => {
  const r = await call(faulty.url, 'GET', '/status');
  assert.equal(r.status, 200);
  assert.equal(r.json.state, 'yellow');
  assert.deepEqual(r.json.components, { pg: 'degraded' });
});

test('fault crossUserLeak: the list shows other accounts\' notes', async () => {
  const alice = await newUser(faulty.url);
  const bob = await newUser(faulty.url);
  const aliceNote = await addNote(faulty.url, alice, 'alice secret');
  const r = await call(faulty.url, 'GET', '/api/notes', { key: bob.key });
  assert.equal(r.status, 200);
  assert.ok(r.json.notes.some((n: { id: number }) => n.id === aliceNote), 'bob sees alice\'s note');
  // Only the list leaks: reading the note directly is still refused.
  assert.equal((await call(faulty.url, 'GET', `/api/notes/${aliceNote}`, { key: bob.key })).status, 404);
});

test('fault slowListMs: GET /api/notes waits before answering', async () => {
  const user = await newUser(faulty.url);
  const started = performance.now();
  const r = await call(faulty.url, 'GET', '/api/notes', { key: user.key });
  assert.equal(r.status, 200);
  assert.ok(performance.now() - started >= SLOW_MS - 5, 'list answered too fast');
  // Other endpoints are not slowed.
  const meStarted = performance.now();
  await call(faulty.url, 'GET', '/api/me', { key: user.key });
  assert.ok(performance.now() - meStarted < SLOW_MS);
});

test('fault unprotectedMe: /api/me without a key answers 200 {"uid":null}', async () => {
  const r = await call(faulty.url, 'GET', '/api/me');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { uid: null });
  // Other endpoints are still protected.
  assert.equal((await call(faulty.url, 'GET', '/api/notes')).status, 403);
});

test('fault schemaDrift: /api/me answers 200 with uid a JSON number (openapi.yaml says a string)', async () => {
  const user = await newUser(faulty.url);
  const r = await call(faulty.url, 'GET', '/api/me', { key: user.key });
  assert.equal(r.status, 200);
  assert.equal(typeof r.json.uid, 'number');
  assert.equal(String(r.json.uid), user.uid);
  // Without the fault, a string.
  const u2 = await newUser(clean.url);
  assert.equal((await call(clean.url, 'GET', '/api/me', { key: u2.key })).json.uid, u2.uid);
});

test('faults wsDropEnd + wsWrongOwner: no summary.end, owner "0"', async () => {
  const user = await newUser(faulty.url);
  const id = await addNote(faulty.url, user, 'broken live');
  const ws = await openLive(faulty.url, ['notes.v1', `key.${user.key}`]);
  try {
    const pending = collect(ws, (f) => f.some((x) => x.name === 'summary.end'), 400);
    ws.send(JSON.stringify({ op: 'summarize', noteId: id }));
    const frames = await pending;
    assert.deepEqual(
      frames.map((f) => f.name),
      ['summary.begin', 'summary.chunk', 'summary.chunk', 'summary.chunk'],
    );
    for (const f of frames) assert.equal(f.owner, '0');
  } finally {
    ws.close();
  }
});

// --- logs and shutdown (last: stops the instances) ---------------------------------------------

test('request log: one JSON line per request, never a key or password', async () => {
  const user = await newUser(clean.url);
  issuedSecrets.push(user.key, user.password);
  await call(clean.url, 'GET', '/api/me', { key: user.key, headers: { 'x-trace-id': `log-${RUN}` } });
  await sleep(50);
  const lines = clean
    .stderr()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const mine = lines.find((l) => l.traceId === `log-${RUN}`);
  assert.ok(mine, 'the request was logged');
  assert.equal(mine.method, 'GET');
  assert.equal(mine.path, '/api/me');
  assert.equal(mine.status, 200);
  const all = clean.stderr() + faulty.stderr();
  for (const secret of issuedSecrets) assert.ok(!all.includes(secret), 'a secret leaked into the log');
  assert.ok(!/nk_[A-Za-z0-9_-]{32}/.test(all), 'an API key leaked into the log');
});

test('SIGTERM closes server, sockets and pool, and exits 0', async () => {
  const user = await newUser(clean.url);
  const ws = await openLive(clean.url, ['notes.v1', `key.${user.key}`]);
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  clean.child.kill('SIGTERM');
  faulty.child.kill('SIGTERM');
  assert.equal(await closed, 1001);
  assert.deepEqual(await clean.exited, { code: 0, signal: null });
  assert.deepEqual(await faulty.exited, { code: 0, signal: null });
});
