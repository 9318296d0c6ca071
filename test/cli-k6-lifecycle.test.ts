import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { PERF_BIN, processAlive, readVerdictFromOutput, runCli, startHelloServer, tempDir, wrapRealK6 } from './helpers.ts';

// Black-box: perf run on the real k6 when k6 cannot be started, and when the user presses
// Ctrl-C once or twice while k6 is still loading the target (its teardown keeps requesting).

/** One VU requesting /hello; on an interrupt, teardown goes on requesting for TEARDOWN_MS (as a cleanup might). */
const SCENARIO = `import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 1, duration: '30s', teardownTimeout: '60s' };
export default function (): void {
  http.get(\`\${__ENV.PERF_BASE_URL}/hello\`);
  sleep(0.05);
}
export function teardown(): void {
  const end = Date.now() + Number(__ENV.TEARDOWN_MS ?? 0);
  while (Date.now() < end) {
    http.get(\`\${__ENV.PERF_BASE_URL}/hello\`);
    sleep(0.05);
  }
}
`;

describe('perf run: the k6 process lifecycle (real k6)', () => {
  let server: Awaited<ReturnType<typeof startHelloServer>>;
  let project: string;
  const k6Pids: number[] = [];
  before(async () => {
    server = await startHelloServer();
    project = tempDir('perf-k6-life-');
    mkdirSync(path.join(project, 'scenarios'));
    writeFileSync(path.join(project, 'scenarios', 'teardown-load.ts'), SCENARIO);
  });
  after(async () => {
    // A k6 a failing run left behind is stopped by its pid, so it stops loading the server.
    for (const pid of k6Pids) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    await server.close();
  });

  test('k6 removed after perf found it: the load phase fails naming k6 and the fix, verdict written, perf exits', async () => {
    // `k6 version` (locating it) works; the wrapper then removes itself before `k6 run` is spawned.
    const k6 = await wrapRealK6(tempDir('perf-k6-gone-'), 'if [ "$1" = inspect ]; then rm -f "$0"; fi');
    const started = Date.now();
    const r = await runCli(['run', '--target', server.url, '--scenario', 'teardown-load', '--users', '1', '--duration', '2s', '--reporter', 'console'], {
      cwd: project,
      env: { K6_BIN: k6 },
      timeoutMs: 60_000,
    });
    // Before: the 1 s poller of k6's API was left running and perf never exited.
    assert.notEqual(r.signal, 'SIGKILL', `perf hung after k6 failed to start:\n${r.stderr}`);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(Date.now() - started < 60_000);
    const v = readVerdictFromOutput(project, r.stderr);
    assert.equal(v.status, 'failed');
    const load = v.phases.find((p: { name: string }) => p.name === 'load');
    assert.equal(load.status, 'failed');
    assert.match(load.reason, /k6 could not be started: .*k6: ENOENT \(no such file\)\. Point K6_BIN at an executable k6 v2/);
    assert.match(r.stderr, /k6 could not be started/);
  });

  test('k6 killed by SIGKILL mid-run (as by the OOM killer): recorded as 137, the run failed (not interrupted), exit 1', async () => {
    // `exec` keeps the shell's pid for k6, so the background kill hits k6 itself.
    const k6 = await wrapRealK6(tempDir('perf-k6-oom-'), 'if [ "$1" = run ]; then (sleep 3; kill -9 $$) >/dev/null 2>&1 & fi');
    const r = await runCli(['run', '--target', server.url, '--scenario', 'teardown-load', '--users', '1', '--duration', '20s', '--reporter', 'console'], {
      cwd: project,
      env: { K6_BIN: k6 },
      timeoutMs: 90_000,
    });
    assert.equal(r.code, 1, r.stderr);
    const v = readVerdictFromOutput(project, r.stderr);
    // Before: recorded as 130, perf's own "interrupted". (`invalid` when other work saturated this host's CPU meanwhile.)
    assert.ok(['failed', 'invalid'].includes(v.status), v.status);
    const load = v.phases.find((p: { name: string }) => p.name === 'load');
    assert.equal(load.status, 'failed');
    assert.equal(load.k6[0].exitCode, 137);
    assert.match(load.k6[0].meaning, /^killed by SIGKILL, not sent by perf: .*out-of-memory killer/);
    assert.match(load.reason, /k6 exited 137 \(killed by SIGKILL, not sent by perf/);
  });

  /** perf run in the background, its k6's pid (the wrapper writes it before exec), and the requests the server saw. */
  async function startRun(teardownMs: number) {
    const pidFile = path.join(tempDir('perf-k6-pid-'), 'pid');
    const k6 = await wrapRealK6(path.dirname(pidFile), `if [ "$1" = run ]; then echo $$ > "${pidFile}"; fi`);
    const child = spawn(process.execPath, [PERF_BIN, 'run', '--target', server.url, '--scenario', 'teardown-load', '--users', '1', '--duration', '30s', '--reporter', 'console'], {
      cwd: project,
      env: { ...process.env, NO_COLOR: '1', K6_BIN: k6, TEARDOWN_MS: String(teardownMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const closed = new Promise<{ code: number | null; at: number; requests: number }>((resolve) => child.on('close', (code) => resolve({ code, at: Date.now(), requests: server.requests() })));
    const t0 = Date.now();
    const before = server.requests();
    while (!existsSync(pidFile) || server.requests() - before < 10) {
      if (Date.now() - t0 > 60_000) throw new Error(`k6 never started:\n${stderr}`);
      await sleep(100);
    }
    const k6Pid = Number(readFileSync(pidFile, 'utf8'));
    k6Pids.push(k6Pid);
    return { child, closed, k6Pid, stderr: () => stderr };
  }

  test('one Ctrl-C: perf waits for k6 to stop (teardown included), keeps its results in the verdict, exits 130', async () => {
    const run = await startRun(3000);
    const sentAt = Date.now();
    run.child.kill('SIGINT');
    const end = await run.closed;
    assert.equal(end.code, 130, run.stderr());
    assert.equal(processAlive(run.k6Pid), false, 'k6 is gone when perf exits');
    assert.ok(end.at - sentAt >= 2500, `perf waited for k6's teardown (${end.at - sentAt} ms)`);
    const v = readVerdictFromOutput(project, run.stderr());
    assert.equal(v.status, 'interrupted');
    const load = v.phases.find((p: { name: string }) => p.name === 'load');
    assert.equal(load.status, 'interrupted');
    // Before: the pipeline abandoned the load phase at the signal, and what k6 measured was lost.
    assert.equal(load.k6?.length, 1, 'the interrupted scenario is in the verdict');
    assert.ok(load.k6[0].analysis.requests > 10, `${load.k6[0].analysis.requests} requests analysed`);
    assert.doesNotMatch(load.k6[0].meaning, /killed by/);
  });

  test('a second Ctrl-C aborts k6 at once; perf exits 130 only after k6 is gone, and nothing loads the target afterwards', async () => {
    const run = await startRun(20_000);
    run.child.kill('SIGINT');
    await sleep(1500); // k6 is in its teardown now, still requesting
    const before = server.requests();
    await sleep(500);
    assert.ok(server.requests() > before, 'k6 teardown is loading the server');
    const sentAt = Date.now();
    run.child.kill('SIGINT');
    const end = await run.closed;
    assert.equal(end.code, 130, run.stderr());
    assert.ok(end.at - sentAt < 12_000, `perf exited ${end.at - sentAt} ms after the second Ctrl-C`);
    assert.equal(processAlive(run.k6Pid), false, 'k6 was reaped before perf exited');
    await sleep(1500);
    // Before: perf exited at once and k6 went on with its 20 s teardown against the target.
    assert.equal(server.requests(), end.requests, 'no request reached the server after perf exited');
    assert.match(run.stderr(), /aborting k6 now/);
    const v = readVerdictFromOutput(project, run.stderr());
    assert.equal(v.status, 'interrupted');
  });
});
