/**
 * The db, users and ws fixtures of flows against real things: the local PostgreSQL, and the tiny
 * service (login → bearer token) through the config's `auth`; flows declared
 * `phase: 'db-integrity'` run in that phase.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runCli } from './helpers.ts';
import { flowProject, latestVerdict, startTinyService, type TinyService } from './flows-helpers.ts';

const DB = 'postgres://postgres@127.0.0.1:5432/test';
const schema = `perf_flows_${process.pid}`;
let svc: TinyService;
let client: pg.Client;

before(async () => {
  svc = await startTinyService();
  client = new pg.Client({ connectionString: DB });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}."Notes" (id serial primary key, owner text, body text)`);
  await client.query(`CREATE FUNCTION ${schema}.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.body := upper(NEW.body); RETURN NEW; END $$;
    CREATE TRIGGER stamp BEFORE INSERT ON ${schema}."Notes" FOR EACH ROW EXECUTE FUNCTION ${schema}.stamp()`);
});
after(async () => {
  await client.query(`DROP SCHEMA ${schema} CASCADE`);
  await client.end();
  await svc.close();
});

const statusOf = (v: Record<string, any>, phase: string) =>
  Object.fromEntries(v.phases.find((p: { name: string }) => p.name === phase).checks.map((c: { name: string; status: string; error?: string }) => [c.name, c.status === 'failed' ? `failed: ${c.error}` : c.status]));

describe('db, users and ws fixtures', () => {
  it('queries and counts (quoted, schema-qualified), records SQL, and fails on a wrong count; users sign in the service\'s way', async () => {
    const dir = flowProject(
      svc.url,
      {
        'flows/db.ts': `import { flow, expect } from 'perf-harness';

flow('a note is stored', { retries: 0 }, async ({ db, step }) => {
  await step('insert', () => db.query('INSERT INTO ${schema}."Notes" (owner, body) VALUES ($1, $2)', ['alice', 'hi']));
  expect(await db.count('${schema}.Notes', { owner: 'alice' })).toBe(1);
  expect(await db.count('${schema}.Notes', { owner: null })).toBe(0);
  const row = await db.one<{ body: string }>('SELECT body FROM ${schema}."Notes" WHERE owner = $1', ['alice']);
  expect(row?.body).toBe('HI');
});

flow('a wrong count fails', { retries: 0 }, async ({ db }) => {
  expect(await db.count('${schema}.Notes')).toBe(5);
});

flow('the trigger upper-cases bodies', { phase: 'db-integrity' }, async ({ db }) => {
  await db.query('INSERT INTO ${schema}."Notes" (owner, body) VALUES ($1, $2)', ['trigger', 'quiet']);
  expect((await db.one('SELECT body FROM ${schema}."Notes" WHERE owner = $1', ['trigger']))?.body).toBe('QUIET');
});

flow('a user signs in and is recognised', { retries: 0 }, async ({ users, api, ws }) => {
  const alice = await users.create('alice');
  expect(alice.token).toBeTruthy();
  expect(await api.get('/me')).toHaveStatus(401);
  const me = await api.as(alice).get('/me');
  expect(me).toHaveStatus(200);
  expect(me.json.user).toBe('alice');
  const socket = await ws.connect({ as: alice, path: '/ws' });
  await socket.waitFor((m) => m.type === 'hello');
});
`,
      },
      `auth: { login: { path: '/login', body: { email: '{{email}}', password: '{{password}}' } }, credential: { type: 'bearer', tokenPath: 'token' } },
  agent: { path: '/ws', token: { in: 'query', name: 'token' }, start: { type: 'run' }, sequence: [{ event: 'echo', count: 1 }] },`,
    );
    const r = await runCli(['run', '--phase', 'flows,db-integrity'], { cwd: dir, timeoutMs: 60_000 });
    const out = r.stdout + r.stderr;
    const v = latestVerdict(dir);
    const flows = statusOf(v, 'flows');
    assert.equal(flows['a note is stored'], 'passed', out);
    assert.equal(flows['a user signs in and is recognised'], 'passed', out);
    assert.match(flows['a wrong count fails'], /^failed: expect\(received\)\.toBe\(expected\).*\n\nExpected: 5\nReceived: 1\n {2}at flows\/db\.ts:12:\d+$/);
    assert.equal(flows['the trigger upper-cases bodies'], undefined, 'a db-integrity flow is not a check of flows');
    assert.deepEqual(statusOf(v, 'db-integrity'), { 'the trigger upper-cases bodies': 'passed' });

    const failed = v.phases[0].checks.find((c: { name: string }) => c.name === 'a wrong count fails');
    const sql = failed.evidence.find((e: { kind: string }) => e.kind === 'sql');
    assert.equal(sql.query, `SELECT count(*) AS n FROM "${schema}"."Notes"`);
    assert.deepEqual(sql.rows, [{ n: '1' }]);
    assert.match(sql.correlationId, /^perf-/);
    // The handshake carried alice's token where agent.token says (the service refuses a wrong one).
    const alice = v.phases[0].checks.find((c: { name: string }) => c.name === 'a user signs in and is recognised');
    const wsEvidence = alice.evidence.find((e: { kind: string }) => e.kind === 'ws');
    assert.match(wsEvidence.url, /[?&]token=\[redacted\]/);
    assert.equal(r.code, 1, out);
  });
});
