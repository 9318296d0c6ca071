import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { processAlive, runCli, tempDir } from './helpers.ts';

const alive = processAlive;

describe('perf target start|stop', () => {
  test('starts the sample-app in the background with a fault, answers, and stops with no process left', async () => {
    const cwd = tempDir('perf-target-');
    const started = await runCli(['target', 'start', '--fault', 'errorRate=1'], { cwd });
    assert.equal(started.code, 0, started.stderr);
    assert.match(started.stdout, /sample-app ready in \d+ ms/);
    const state = JSON.parse(readFileSync(path.join(cwd, '.perf/target.json'), 'utf8')) as { baseUrl: string; pid: number };
    try {
      assert.equal((await fetch(`${state.baseUrl}/health`)).status, 200, 'health is exempt from faults');
      // errorRate=1: every API call answers 500, so the fault reached the app.
      assert.equal((await fetch(`${state.baseUrl}/brand-kits`)).status, 500);
      const again = await runCli(['target', 'start'], { cwd });
      assert.equal(again.code, 2, 'a second start is refused');
      assert.match(again.stderr, /already running/);
    } finally {
      const stopped = await runCli(['target', 'stop'], { cwd });
      assert.equal(stopped.code, 0, stopped.stderr);
      assert.match(stopped.stdout, /sample-app stopped/);
    }
    assert.equal(alive(state.pid), false);
    assert.match((await runCli(['target', 'stop'], { cwd })).stdout, /no sample-app was running/);
  });

  test('a malformed --fault is a usage error', async () => {
    const r = await runCli(['target', 'start', '--fault', 'errorRate'], { cwd: tempDir() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--fault takes name=value/);
  });
});
