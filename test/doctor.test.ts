import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { k6WithOldPerfOutput, runCli, tempDir } from './helpers.ts';

describe('perf doctor', () => {
  test('on this machine: one table, k6 with path and version, exit 0', async () => {
    const r = await runCli(['doctor', '--database-url', 'postgres://postgres:s3cret@127.0.0.1:5432/test', '--redis-url', 'redis://127.0.0.1:6379']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^item\s+status\s+found/m);
    assert.match(r.stdout, /^k6\s+ok\s+v2\.\d+\.\d+ at \S+k6 \(from \w+\), stock \(no extensions\)$/m);
    assert.match(r.stdout, /^Node\.js\s+ok\s+v\d+/m);
    assert.match(r.stdout, /^PostgreSQL\s+ok\s+postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:5432\/test reachable/m);
    assert.match(r.stdout, /^Redis\s+ok\s+redis:\/\/127\.0\.0\.1:6379 reachable/m);
    assert.doesNotMatch(r.stdout, /s3cret/, 'passwords are never printed');
    for (const item of ['Go', 'Chromium', 'InfluxDB']) assert.match(r.stdout, new RegExp(`^${item}\\s`, 'm'));
  });

  test('without k6 and Go: k6 MISSING with a hint, exit 1', async () => {
    const r = await runCli(['doctor'], { env: { PATH: '', K6_BIN: undefined, PERF_TOOLS_DIR: tempDir() } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^k6\s+MISSING\s+not found/m);
    assert.match(r.stdout, /→ install a stock k6 v2 with a package manager, Grafana's release binaries \(https:\/\/github\.com\/grafana\/k6\/releases\) or the grafana\/k6 Docker image \(then K6_BIN or PATH\); last resort: install Go and run `perf k6 install` \(go install go\.k6\.io\/k6\/v2@v2\.2\.0/);
    assert.match(r.stdout, /missing for the default run: k6, Go/);
  });

  test('an unreachable database is reported, not hung on', async () => {
    const r = await runCli(['doctor', '--database-url', 'postgres://127.0.0.1:1/none']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^PostgreSQL\s+MISSING\s+postgres:\/\/127\.0\.0\.1:1\/none unreachable/m);
  });

  test('a k6 of the user with extensions: ok, the extensions listed', async () => {
    const r = await runCli(['doctor'], { env: { K6_BIN: await k6WithOldPerfOutput() } });
    assert.match(r.stdout, /^k6\s+ok\s+v2\.\d+\.\d+ at \S+k6 \(from K6_BIN\), extensions: main\.newPerfOutput , perf \[output\]$/m);
  });

  test("the tools folder's k6 built with perf's former output: not used, and why", async () => {
    const tools = tempDir('perf-tools-');
    mkdirSync(path.join(tools, 'bin'));
    await k6WithOldPerfOutput(path.join(tools, 'bin'));
    const r = await runCli(['doctor'], { env: { K6_BIN: undefined, PATH: '', PERF_TOOLS_DIR: tools } });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /^k6\s+MISSING\s+not found \(\S+\/bin\/k6 \(tools\): built with extensions \(perf's former sample output, k6ext\/\): perf uses a stock k6 only; `perf k6 install` replaces it with one\)$/m);
  });
});
