import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, test } from 'node:test';
import { closedPort } from './checks-helpers.ts';
import { PERF_BIN, processAlive, readVerdictFromOutput, runCli, runDirFromOutput, tempDir, type CliResult } from './helpers.ts';

// Black-box: the real CLI starts the user's services of `target.start` (a tiny node server of
// this test, in a subfolder, on a free port given by env), runs the health phase against them,
// and stops them. Services are real processes; "gone" is checked on their real pids.

const SERVICE = `
import http from 'node:http';
import fs from 'node:fs';
const port = Number(process.env.SVC_PORT);
if (process.env.SVC_PIDFILE) fs.writeFileSync(process.env.SVC_PIDFILE, String(process.pid));
console.log('booting');
if (process.env.SVC_API_TOKEN) console.log('using token ' + process.env.SVC_API_TOKEN);
if (process.env.SVC_MODE === 'crash') {
  console.error('fatal: cannot read settings.yml');
  process.exit(3);
}
const server = http.createServer((req, res) => {
  if (process.env.SVC_MARK) fs.writeFileSync(process.env.SVC_MARK, req.url);
  const send = () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ state: 'green', checkedAt: Date.now() }));
  };
  if (req.url === '/slow') return setTimeout(send, 1500);
  if (req.url === '/health' && process.env.SVC_DIE_AFTER_MS) {
    setTimeout(() => { console.error('out of memory, dying'); process.exit(7); }, Number(process.env.SVC_DIE_AFTER_MS));
  }
  setTimeout(send, Number(process.env.SVC_HEALTH_DELAY_MS ?? 0));
});
server.listen(port, '127.0.0.1', () => console.log('listening on ' + port));
process.on('SIGTERM', () => { console.log('bye'); process.exit(0); });
`;

interface Project {
  dir: string;
  port: number;
  pidFile: string;
  markFile: string;
}

/** A temporary project: svc/server.mjs and a perf.config.ts whose target.start runs it. */
async function project(
  service: Record<string, unknown> = {},
  env: Record<string, string> = {},
  opts: { extra?: string; health?: (base: string) => string } = {},
): Promise<Project> {
  const dir = tempDir('perf-services-');
  mkdirSync(path.join(dir, 'svc'));
  writeFileSync(path.join(dir, 'svc', 'server.mjs'), SERVICE);
  const port = await closedPort();
  const pidFile = path.join(dir, 'svc.pid');
  const markFile = path.join(dir, 'svc.mark');
  const base = `http://127.0.0.1:${port}`;
  const spec = {
    name: 'api',
    command: 'node server.mjs',
    cwd: 'svc',
    env: { SVC_PORT: String(port), SVC_PIDFILE: pidFile, SVC_MARK: markFile, ...env },
    readyUrl: `${base}/health`,
    timeout: '15s',
    stopTimeout: '3s',
    ...service,
  };
  writeFileSync(
    path.join(dir, 'perf.config.ts'),
    `import { defineConfig } from 'perf-harness';
export default defineConfig({
  target: { baseUrl: ${JSON.stringify(base)}, start: [${JSON.stringify(spec)}] },
  health: ${opts.health?.(base) ?? "{ path: '/health', expect: [{ path: 'state', equals: 'green' }, { path: 'checkedAt', freshWithin: '1m' }] }"},
  ${opts.extra ?? ''}
});
`,
  );
  return { dir, port, pidFile, markFile };
}

const runHealth = (p: Project) => runCli(['run', '--phase', 'health'], { cwd: p.dir, timeoutMs: 60_000 });
const servicePid = (p: Project) => Number(readFileSync(p.pidFile, 'utf8'));

function verdictOf(p: Project, r: CliResult): Record<string, any> {
  return readVerdictFromOutput(p.dir, r.stderr + r.stdout);
}

async function gone(pid: number, withinMs = 3_000): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (processAlive(pid) && Date.now() < deadline) await sleep(50);
  return !processAlive(pid);
}

const cleanup: (() => void)[] = [];
after(() => {
  for (const c of cleanup) c();
});

describe('target.start: perf starts, watches and stops the user services', () => {
  test('a service started by command: ready on its URL, health passes against it, stopped after (pid gone), output in the run folder', async () => {
    const p = await project();
    const r = await runHealth(p);
    assert.equal(r.code, 0, r.stderr);
    const v = verdictOf(p, r);
    assert.equal(v.status, 'passed');
    assert.equal(v.phases[0].status, 'passed');
    const [svc] = v.services;
    assert.equal(svc.name, 'api');
    assert.equal(svc.reused, false);
    assert.ok(svc.readyMs > 0 && svc.readyMs < 15_000, `readyMs ${svc.readyMs}`);
    assert.equal(svc.log, 'services/api.log');
    assert.equal(svc.exit, undefined, 'no exit of its own');
    assert.equal(svc.stopped.signal, 'SIGTERM', 'stopped gracefully');
    assert.equal(processAlive(svc.pid), false, 'the process group leader is gone');
    assert.equal(await gone(servicePid(p)), true, 'the node server itself is gone');
    const log = readFileSync(path.join(runDirFromOutput(p.dir, r.stderr), 'services', 'api.log'), 'utf8');
    assert.match(log, /booting\nlistening on \d+\n/);
    assert.match(log, /bye/, 'it got SIGTERM and said so');
    assert.match(r.stderr, /service api ready in \d+ ms/);
  });

  test('readyLine: ready when a line of its output matches', async () => {
    const p = await project({ readyUrl: undefined, readyLine: 'listening on \\d+' });
    const r = await runHealth(p);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(verdictOf(p, r).services[0].reused, false);
    assert.equal(await gone(servicePid(p)), true);
  });

  test('reuseExisting: one already running is used, neither started nor stopped', async () => {
    const p = await project({ command: 'echo started anyway; exit 9', reuseExisting: true });
    const existing: ChildProcess = spawn(process.execPath, ['server.mjs'], { cwd: path.join(p.dir, 'svc'), env: { ...process.env, SVC_PORT: String(p.port) }, stdio: 'ignore' });
    cleanup.push(() => existing.kill('SIGKILL'));
    const deadline = Date.now() + 10_000;
    while (!(await fetch(`http://127.0.0.1:${p.port}/health`).then((x) => x.ok, () => false))) {
      assert.ok(Date.now() < deadline, 'the pre-started server never answered');
      await sleep(100);
    }
    const r = await runHealth(p);
    assert.equal(r.code, 0, r.stderr);
    const v = verdictOf(p, r);
    assert.equal(v.services[0].reused, true);
    assert.equal(v.services[0].pid, undefined);
    assert.match(r.stderr, /service api: http:\/\/127\.0\.0\.1:\d+\/health already answers: reusing it/);
    assert.equal(processAlive(existing.pid!), true, 'the reused server still runs');
    existing.kill('SIGKILL');

    // Without reuseExisting, something already answering there is refused, saying how to fix it.
    const q = await project({ reuseExisting: false });
    const other: ChildProcess = spawn(process.execPath, ['server.mjs'], { cwd: path.join(q.dir, 'svc'), env: { ...process.env, SVC_PORT: String(q.port) }, stdio: 'ignore' });
    cleanup.push(() => other.kill('SIGKILL'));
    while (!(await fetch(`http://127.0.0.1:${q.port}/health`).then((x) => x.ok, () => false))) await sleep(100);
    const refused = await runHealth(q);
    other.kill('SIGKILL');
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /already answers before perf started it.*set reuseExisting: true/s);
  });

  test('a command that exits before it is ready: the run fails (exit 1), quoting its exit code and output; no phase runs', async () => {
    const p = await project({}, { SVC_MODE: 'crash' });
    const r = await runHealth(p);
    assert.equal(r.code, 1, r.stderr);
    const v = verdictOf(p, r);
    assert.equal(v.status, 'failed');
    assert.equal(v.phases[0].status, 'skipped');
    assert.equal(v.phases[0].skippedBecause, 'skipped: setup failed: service api');
    const reason = v.reasons.join('\n');
    assert.match(reason, /service api exited before it was ready \(exit code 3\)/);
    assert.match(reason, /\| booting\n\s+\| fatal: cannot read settings\.yml/);
    assert.match(r.stderr, /fatal: cannot read settings\.yml/, 'quoted on the console too');
    assert.deepEqual(v.services[0].exit, { code: 3, signal: null, atPhase: 'start' });
  });

  test('a service not ready within its timeout: the run fails (exit 1) saying so, and the process is stopped', async () => {
    const p = await project({ command: 'echo still warming up; exec sleep 30', timeout: '1s' });
    const r = await runHealth(p);
    assert.equal(r.code, 1, r.stderr);
    const v = verdictOf(p, r);
    assert.match(v.reasons.join('\n'), /service api was not ready within 1s \(http:\/\/127\.0\.0\.1:\d+\/health did not answer\)[\s\S]*\| still warming up/);
    assert.equal(v.services[0].exit, undefined, 'perf stopped it: not an exit of its own');
    assert.equal(processAlive(v.services[0].pid), false, 'the sleeping command is gone');
  });

  test('a service that dies mid-run fails the run, naming it, its exit code and its last lines', async () => {
    // /health makes it exit 300 ms later; the slow dependency check is still waiting then.
    const p = await project({}, { SVC_DIE_AFTER_MS: '300' }, { health: (base) => `{ path: '/health', urls: { slow: ${JSON.stringify(`${base}/slow`)} } }` });
    const r = await runHealth(p);
    assert.equal(r.code, 1, r.stderr);
    const v = verdictOf(p, r);
    assert.equal(v.status, 'failed');
    assert.match(v.reasons[0], /^service api died during health \(exit code 7\)/);
    assert.match(v.reasons[0], /\| out of memory, dying/);
    assert.deepEqual(v.services[0].exit, { code: 7, signal: null, atPhase: 'health' });
    assert.match(r.stderr, /service api died during health/);
  });

  test('Ctrl-C (SIGINT to perf) mid-phase still stops the services; exit 130', async () => {
    // /health answers after 30 s: ready is the log line, and the check is still waiting when perf gets SIGINT.
    const p = await project({ readyUrl: undefined, readyLine: 'listening on' }, { SVC_HEALTH_DELAY_MS: '30000' }, { extra: "phases: { health: { checkTimeout: '60s' } }," });
    const child = spawn(process.execPath, [PERF_BIN, 'run', '--phase', 'health'], { cwd: p.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.push(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.resume();
    const deadline = Date.now() + 30_000;
    while (!existsSync(p.markFile)) {
      assert.ok(Date.now() < deadline, `the health check never reached the service:\n${stderr}`);
      await sleep(50);
    }
    const pid = servicePid(p);
    assert.equal(processAlive(pid), true);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(code, 130, stderr);
    assert.equal(await gone(pid, 1_000), true, 'the service was stopped before perf exited');
    const v = readVerdictFromOutput(p.dir, stderr);
    assert.equal(v.status, 'interrupted');
    assert.equal(v.services[0].stopped.signal, 'SIGTERM');
  });

  test('the service log is redacted: a secret of its env that it prints never reaches the run folder or the console', async () => {
    const secret = 'tok-3f9a1c7e55d2b8a4';
    const p = await project({}, { SVC_API_TOKEN: secret });
    const r = await runHealth(p);
    assert.equal(r.code, 0, r.stderr);
    const runDir = runDirFromOutput(p.dir, r.stderr);
    const log = readFileSync(path.join(runDir, 'services', 'api.log'), 'utf8');
    assert.match(log, /using token \[redacted\]/);
    assert.ok(!log.includes(secret));
    assert.ok(!readFileSync(path.join(runDir, 'verdict.json'), 'utf8').includes(secret));
    assert.ok(!(r.stdout + r.stderr).includes(secret));
  });
});
