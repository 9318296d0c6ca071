import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HostCpuInterval } from '../src/k6/host-cpu.ts';
import { FIXTURE_SCENARIOS, readVerdictFromOutput, runCli, startHelloServer, tempDir } from './helpers.ts';

// The host's CPU (src/k6/host-cpu.ts) and what the load phase does with it: a failure on a
// saturated host is `invalid` (it may have measured the machine), a pass stays a pass. The host
// is saturated for real: one busy-looping process per core, each bounded to 30 s and killed by
// its pid when the test is done.

/** Starts one busy loop per core; returns a function that stops them. */
function saturateHost(): () => void {
  const burners: ChildProcess[] = [];
  for (let i = 0; i < os.availableParallelism(); i++) {
    burners.push(spawn(process.execPath, ['-e', 'const end = Date.now() + 30000; while (Date.now() < end);'], { stdio: 'ignore' }));
  }
  return () => {
    for (const b of burners) if (b.pid !== undefined && b.exitCode === null) process.kill(b.pid, 'SIGKILL');
  };
}

describe('host CPU', () => {
  test('HostCpuInterval sees a host whose every core is busy as ≥ 90 % busy', async () => {
    const stop = saturateHost();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const interval = new HostCpuInterval();
      await new Promise((r) => setTimeout(r, 1500));
      const usage = interval.stop();
      assert.ok(usage, 'read from /proc/stat');
      assert.equal(usage.cores, os.availableParallelism());
      assert.ok(usage.busyPct >= 90 && usage.busyPct <= 100, `busy ${usage.busyPct}%`);
      assert.ok(usage.seconds >= 1.4, `${usage.seconds} s`);
    } finally {
      stop();
    }
  });
});

describe('perf run on a saturated host', () => {
  let server: Awaited<ReturnType<typeof startHelloServer>>;
  let project: string;
  before(async () => {
    server = await startHelloServer();
    project = tempDir('perf-host-cpu-');
    cpSync(FIXTURE_SCENARIOS, path.join(project, 'scenarios'), { recursive: true });
    cpSync(path.resolve('node_modules/fast-deep-equal'), path.join(project, 'node_modules/fast-deep-equal'), { recursive: true });
  });
  after(() => server.close());

  const run = async (scenario: string) => {
    const stop = saturateHost();
    try {
      const r = await runCli(['run', '--target', server.url, '--scenario', scenario, '--users', '1', '--duration', '2s', '--reporter', 'console'], { cwd: project, timeoutMs: 120_000 });
      return { r, v: readVerdictFromOutput(project, r.stderr) };
    } finally {
      stop();
    }
  };

  test('a failed threshold on a saturated host: invalid, exit 1, the failure and the host figure in the reasons', async () => {
    const { r, v } = await run('hello-impossible');
    assert.equal(r.code, 1, r.stderr);
    const host = v.phases[0].k6[0].resources.host;
    assert.ok(host.busyPct >= 90, `host ${host.busyPct}% busy`);
    assert.equal(v.status, 'invalid', r.stderr);
    const reasons = (v.reasons as string[]).join('\n');
    assert.match(reasons, /hello-impossible: the host's CPU was [\d.]+% busy on \d+ cores \(k6 [\d.]+% of one core, other processes the rest\): the generator competed for CPU \(host saturated\)/);
    assert.match(reasons, /threshold http_req_duration "p\(95\)<0\.001" failed/, 'the failure itself is still reported');
  });

  test('a pass on a saturated host stays a pass (contention only makes passing harder)', async () => {
    const { r, v } = await run('hello');
    assert.ok(v.phases[0].k6[0].resources.host.busyPct >= 90);
    assert.equal(v.status, 'passed', r.stderr);
    assert.equal(r.code, 0);
  });
});
