import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { k6WithoutPerfOutput, runCli, tempDir } from './helpers.ts';

// `perf k6 install` (coordinator/k6-install.ts) with the real Go toolchain: the k6 it builds
// has perf's sample output compiled in (k6ext/). The Go build cache makes a rebuild take
// seconds once setup.sh has built k6.

test("perf's own tools k6 without perf's output is rebuilt with it", { timeout: 600_000 }, async () => {
  const tools = tempDir('perf-tools-');
  mkdirSync(path.join(tools, 'bin'));
  const stale = await k6WithoutPerfOutput(path.join(tools, 'bin'));
  const r = await runCli(['k6', 'install'], { env: { K6_BIN: undefined, PERF_TOOLS_DIR: tools, PATH: process.env.PATH } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^k6 v2\.\d+\.\d+ at .*\/bin\/k6$/m);
  assert.ok(statSync(stale).size > 10_000_000, 'the wrapper was replaced by a real k6 binary');
  assert.match(execFileSync(stale, ['version'], { encoding: 'utf8' }), /perf \[output\]/);
});

test("a k6 the user provides without perf's output is used as it is, with a note", async () => {
  const tools = tempDir('perf-tools-');
  const r = await runCli(['k6', 'install'], { env: { K6_BIN: await k6WithoutPerfOutput(), PERF_TOOLS_DIR: tools } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /already available at .* \(from K6_BIN\)/);
  assert.match(r.stdout, /lacks perf's sample output/);
  assert.equal(existsSync(path.join(tools, 'bin', 'k6')), false, 'nothing built');
});
