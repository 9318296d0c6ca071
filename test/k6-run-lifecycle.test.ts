import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isUserError } from '../src/errors.ts';
import { requireK6 } from '../src/k6/k6.ts';
import { liveK6Count } from '../src/k6/k6-children.ts';
import { runK6 } from '../src/k6/k6-run.ts';
import { startHelloServer, tempDir, wrapRealK6 } from './helpers.ts';

// The k6 process's life as runK6 sees it, on the real k6: a k6 that cannot be started, and a
// k6 that something other than perf kills (the kernel's out-of-memory killer sends SIGKILL).

const SCRIPT = `import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 2, duration: '20s' };
export default function () {
  http.get(__ENV.BASE + '/hello');
  sleep(0.05);
}
`;

/** Timers and other handles that keep this process alive. */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('runK6 process lifecycle (real k6)', () => {
  let server: Awaited<ReturnType<typeof startHelloServer>>;
  before(async () => {
    server = await startHelloServer();
  });
  after(() => server.close());

  for (const [what, make] of [
    ['a removed k6', (dir: string) => path.join(dir, 'gone', 'k6')],
    [
      'a k6 that is not executable',
      (dir: string) => {
        const f = path.join(dir, 'k6');
        writeFileSync(f, '#!/bin/sh\nexit 0\n');
        chmodSync(f, 0o644);
        return f;
      },
    ],
  ] as const) {
    test(`${what}: a UserError naming the file and the fix, and no poller or sampler left running`, async () => {
      const dir = tempDir('perf-k6-spawn-');
      const script = path.join(dir, 'load.js');
      writeFileSync(script, SCRIPT);
      const k6 = { ...(await requireK6()), path: make(dir) };
      const before = timers();
      const started = Date.now();
      // onProgress and a target pid: the 1 s poller of k6's API and both samplers start.
      const err = await runK6({ k6, script, runDir: dir, label: 'spawn', env: { BASE: server.url }, targetPid: process.pid, onProgress: () => {} }).then(
        () => assert.fail('runK6 resolved although k6 never started'),
        (e: unknown) => e,
      );
      assert.ok(Date.now() - started < 20_000);
      assert.ok(isUserError(err), String(err));
      assert.match((err as Error).message, new RegExp(`k6 could not be started: ${k6.path.replaceAll('/', '\\/')}: (ENOENT|EACCES)`));
      assert.match((err as Error).message, /K6_BIN/);
      // A timer left behind keeps perf from ever exiting (the poller was an unref'd-nothing setInterval).
      await new Promise((r) => setImmediate(r));
      assert.equal(timers(), before, `timers before ${before}, after ${timers()}: ${process.getActiveResourcesInfo().join(', ')}`);
      assert.equal(liveK6Count(), 0);
    });
  }

  test('a k6 killed by SIGKILL (not by perf) is recorded as 137, killed by SIGKILL, not interrupted', async () => {
    const dir = tempDir('perf-k6-oom-');
    const script = path.join(dir, 'load.js');
    writeFileSync(script, SCRIPT);
    // `exec` keeps the shell's pid for k6, so the background kill hits k6 itself, as the OOM killer would.
    const wrapper = await wrapRealK6(dir, 'if [ "$1" = run ]; then (sleep 3; kill -9 $$) >/dev/null 2>&1 & fi');
    const k6 = { ...(await requireK6()), path: wrapper };
    const before = server.requests();
    const r = await runK6({ k6, script, runDir: dir, label: 'oom', env: { BASE: server.url } });
    assert.ok(server.requests() - before > 10, 'k6 ran before it was killed');
    assert.ok(r.durationMs < 15_000, `${r.durationMs} ms: k6 was killed, not run to its end`);
    assert.equal(r.exitCode, 137);
    assert.match(r.meaning, /^killed by SIGKILL, not sent by perf: .*out-of-memory killer/);
    assert.equal(r.interrupted, false);
    assert.equal(liveK6Count(), 0);
  });

  test('interrupted: k6 stops on the SIGINT perf sends and exits with its own code; perf sent no kill', async () => {
    const dir = tempDir('perf-k6-int-');
    const script = path.join(dir, 'load.js');
    writeFileSync(script, SCRIPT);
    const abort = new AbortController();
    const r = await runK6({ k6: await requireK6(), script, runDir: dir, label: 'int', env: { BASE: server.url }, signal: abort.signal, onProgress: (s) => s.requests > 20 && abort.abort() });
    assert.equal(r.interrupted, true);
    assert.ok(r.durationMs < 15_000);
    assert.notEqual(r.exitCode, 137);
    assert.doesNotMatch(r.meaning, /killed by/);
  });
});
