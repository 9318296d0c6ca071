// src/target/target.ts: the app as a child process: the bundle/sources choice, the ready line,
// start failures with the child's stderr, faults from flags, and that stopping — or perf dying —
// leaves no process of the app's group behind (the embedded PostgreSQL included).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  findRepoRoot,
  groupAlive,
  resolveTargetCommand,
  startDetached,
  startTarget,
  stopDetached,
  TargetAlreadyRunningError,
} from '../src/target/target.ts';
import { http, waitFor } from './sample-app-helpers.ts';

const root = findRepoRoot();
let scratch: string;
let bundle: string;

before(async () => {
  // A fresh bundle, built the way scripts/build.mjs builds dist/sample-app.js, kept inside the
  // repository so its bare imports resolve to node_modules.
  scratch = await mkdtemp(path.join(root, '.perf', 'tmp-target-test-'));
  await build({
    absWorkingDir: root,
    entryPoints: { 'sample-app': 'sample-app/main.ts' },
    outdir: scratch,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    logLevel: 'warning',
  });
  bundle = path.join(scratch, 'sample-app.js');
});
after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('which program runs', () => {
  test('finds the repository root from this file', () => {
    assert.equal(root, path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'));
  });

  test('the bundle when it is newer than every source, else the sources through tsx', () => {
    const fake = path.join(scratch, 'fake-root');
    mkdirSync(path.join(fake, 'sample-app', 'nested'), { recursive: true });
    mkdirSync(path.join(fake, 'dist'), { recursive: true });
    writeFileSync(path.join(fake, 'package.json'), JSON.stringify({ name: 'perf-harness' }));
    writeFileSync(path.join(fake, 'sample-app', 'main.ts'), '');
    writeFileSync(path.join(fake, 'sample-app', 'nested', 'deep.ts'), '');
    writeFileSync(path.join(fake, 'dist', 'sample-app.js'), '');
    const at = (file: string, seconds: number) => utimesSync(path.join(fake, file), seconds, seconds);
    at('sample-app/main.ts', 1_000);
    at('sample-app/nested/deep.ts', 1_000);
    at('dist/sample-app.js', 2_000);
    const fresh = resolveTargetCommand(fake);
    assert.equal(fresh.built, true);
    assert.deepEqual(fresh.args, [path.join(fake, 'dist', 'sample-app.js')]);
    at('sample-app/nested/deep.ts', 3_000);
    const stale = resolveTargetCommand(fake);
    assert.equal(stale.built, false);
    assert.deepEqual(stale.args, ['--import', 'tsx', path.join(fake, 'sample-app', 'main.ts')]);
    assert.match(stale.reason, /older/);
  });
});

describe('attached', () => {
  test('the built app starts, serves, and stop() leaves no process of its group', async () => {
    const handle = await startTarget({ entry: bundle, seedUsers: 2 });
    let postgresPid = 0;
    try {
      assert.equal(handle.command[1], bundle);
      assert.ok(handle.readyMs > 0 && handle.readyMs < 3_000, `ready in ${handle.readyMs} ms`);
      const health = await http(handle.baseUrl, 'GET', '/health');
      assert.equal(health.status, 200);
      assert.equal(health.body.storage, 'embedded');
      assert.equal((await http(handle.adminUrl, 'GET', '/')).body.pid, handle.pid);
      // The embedded PostgreSQL is in the app's process group.
      const pgMod = await import('pg');
      const db = new pgMod.default.Client({ connectionString: handle.databaseUrl });
      await db.connect();
      postgresPid = (await db.query('SELECT pg_backend_pid() AS p')).rows[0].p;
      await db.end();
      assert.ok(groupAlive(handle.pid));
    } finally {
      await handle.stop();
    }
    assert.ok(!groupAlive(handle.pid), 'the whole group is gone');
    assert.throws(() => process.kill(postgresPid, 0), 'the PostgreSQL backend is gone');
    const exit = await handle.exited;
    assert.equal(exit.code, 0, 'graceful stop exits 0');
  });

  test('from sources (tsx): faults from flags, ready line in under 3 s', async () => {
    const handle = await startTarget({
      entry: path.join(root, 'sample-app', 'main.ts'),
      faults: { errorRate: 1 },
      extraArgs: ['--fault', 'dependencyDown=redis'],
      env: { ...process.env, SAMPLE_APP_FAULTS: '{"slowQueryMs":7,"errorRate":0.5}' },
      seedUsers: 0,
    });
    try {
      assert.deepEqual(handle.command.slice(1, 3), ['--import', 'tsx']);
      assert.ok(handle.readyMs < 3_000, `ready in ${handle.readyMs} ms`);
      const faults = (await http(handle.adminUrl, 'GET', '/faults')).body;
      assert.equal(faults.errorRate, 1, 'flags override the environment');
      assert.equal(faults.dependencyDown, 'redis');
      assert.equal(faults.slowQueryMs, 7, 'the environment is merged');
      assert.equal((await http(handle.baseUrl, 'GET', '/health')).status, 503);
      assert.equal((await http(handle.baseUrl, 'GET', '/brand-kits')).status, 500);
    } finally {
      await handle.stop();
    }
    assert.ok(!groupAlive(handle.pid));
  });

  test('a child that fails to start → an error quoting its stderr; nothing left running', async () => {
    await assert.rejects(startTarget({ entry: bundle, faults: { notAFault: true } }), (error: Error) => {
      assert.match(error.message, /exited before it was ready \(code 2/);
      assert.match(error.message, /stderr/);
      assert.match(error.message, /notAFault: unknown fault/);
      return true;
    });
  });

  test('a ready timeout kills the child and says so', async () => {
    const silent = path.join(scratch, 'silent-sample-app.mjs');
    writeFileSync(silent, "process.stderr.write('booting...\\n'); setInterval(() => {}, 1000);\n");
    const started = Date.now();
    let pid = 0;
    await assert.rejects(
      startTarget({ entry: silent, readyTimeoutMs: 500, onStderr: () => undefined }).catch((e: Error) => {
        pid = Number(/pid: (\d+)/.exec(e.message)?.[1] ?? 0);
        throw e;
      }),
      /did not print its ready line within 500 ms[\s\S]*booting\.\.\./,
    );
    assert.ok(Date.now() - started < 5_000);
    assert.ok(pid > 0, 'the error names the pid');
    assert.ok(!groupAlive(pid), 'the silent child was killed');
  });

  test('an abort signal during the start kills the child', async () => {
    const controller = new AbortController();
    const pending = startTarget({ entry: bundle, signal: controller.signal, seedUsers: 0 });
    setTimeout(() => controller.abort('test'), 150);
    await assert.rejects(pending, { name: 'AbortError' });
  });

  test('if perf dies (SIGKILL), the app notices its closed stdin and stops', async () => {
    const parentScript = path.join(scratch, 'parent.mts');
    writeFileSync(
      parentScript,
      `import { startTarget } from ${JSON.stringify(path.join(root, 'src', 'target', 'target.ts'))};
       const h = await startTarget({ entry: ${JSON.stringify(bundle)}, seedUsers: 0 });
       process.stdout.write(JSON.stringify({ pid: h.pid, baseUrl: h.baseUrl }) + '\\n');
       setInterval(() => {}, 1000);\n`,
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', parentScript], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      parent.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)));
    });
    const { pid, baseUrl } = JSON.parse(line) as { pid: number; baseUrl: string };
    assert.equal((await http(baseUrl, 'GET', '/health')).status, 200);
    parent.kill('SIGKILL');
    await waitFor(async () => !groupAlive(pid), 10_000, 50);
  });
});

describe('detached (perf target start|stop)', () => {
  test('start records the state; a second start is refused; stop ends the group and removes the state', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sample-app-target-'));
    const stateFile = path.join(dir, 'target.json');
    try {
      const started = await startDetached({ entry: bundle, stateFile, seedUsers: 1 });
      assert.equal(started.stateFile, stateFile);
      const state = JSON.parse(await readFile(stateFile, 'utf8'));
      assert.equal(state.pid, started.pid);
      assert.equal(state.baseUrl, started.baseUrl);
      assert.equal((await http(started.baseUrl, 'GET', '/health')).status, 200);
      await assert.rejects(startDetached({ entry: bundle, stateFile }), TargetAlreadyRunningError);
      assert.match(await readFile(started.logFile, 'utf8').catch(() => ''), /^$|sample-app/);

      const stopped = await stopDetached({ stateFile });
      assert.deepEqual(stopped, { stopped: true, pid: started.pid });
      assert.ok(!groupAlive(started.pid));
      await assert.rejects(readFile(stateFile));
      assert.equal((await stopDetached({ stateFile })).stopped, false);
    } finally {
      await stopDetached({ stateFile }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
