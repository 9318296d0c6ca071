import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { withCacheProxy } from '../src/k6/k6-install.ts';
import { k6WithOldPerfOutput, REPO, runCli, tempDir } from './helpers.ts';

// How perf gets k6 (src/k6/k6.ts, k6-install.ts): a stock k6, run as a separate
// program; `perf k6 install` is the last resort, `go install` of k6's own module with the
// real Go toolchain (the Go build cache makes it take seconds once setup.sh has run it).

test("a tools folder k6 built with perf's former output (k6ext/) is replaced by a stock one", { timeout: 600_000 }, async () => {
  const tools = tempDir('perf-tools-');
  mkdirSync(path.join(tools, 'bin'));
  const old = await k6WithOldPerfOutput(path.join(tools, 'bin'));
  assert.match(execFileSync(old, ['version'], { encoding: 'utf8' }), /perf \[output\]/);
  // perf will not run it meanwhile: not found, with the reason and the fix.
  const before = await runCli(['k6', 'path'], { env: { K6_BIN: undefined, PERF_TOOLS_DIR: tools } });
  assert.equal(before.code, 2, before.stdout + before.stderr);
  assert.match(before.stderr, /k6 \(tools\): built with extensions \(perf's former sample output, k6ext\/\): perf uses a stock k6 only; `perf k6 install` replaces it/);
  const r = await runCli(['k6', 'install'], { env: { K6_BIN: undefined, PERF_TOOLS_DIR: tools } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^not used: .*perf's former sample output/m);
  assert.match(r.stdout, /^k6 v2\.2\.0 at .*\/bin\/k6$/m);
  assert.match(r.stderr, /installed k6 v2\.2\.0 \(stock, go install\)/);
  assert.ok(statSync(old).size > 10_000_000, 'the wrapper was replaced by a real k6 binary');
  const version = execFileSync(old, ['version'], { encoding: 'utf8' });
  assert.match(version, /^k6 v2\.2\.0 /);
  assert.doesNotMatch(version, /Extensions/, 'a stock k6: no extension compiled in');
  const after = await runCli(['k6', 'path'], { env: { K6_BIN: undefined, PERF_TOOLS_DIR: tools } });
  assert.equal(after.stdout, `${old}\tv2.2.0\ttools\n`);
});

test('a k6 the user provides (K6_BIN) is used as it is, extensions and all, and nothing is installed', async () => {
  const tools = tempDir('perf-tools-');
  const r = await runCli(['k6', 'install'], { env: { K6_BIN: await k6WithOldPerfOutput(), PERF_TOOLS_DIR: tools } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /already available at .* \(from K6_BIN\)/);
  assert.equal(existsSync(path.join(tools, 'bin', 'k6')), false, 'nothing installed');
});

test('no k6 and no Go: exit 2 naming every way to get k6, the go install last', async () => {
  const r = await runCli(['k6', 'path'], { env: { K6_BIN: undefined, PATH: '', PERF_TOOLS_DIR: tempDir() } });
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /k6 v2\.x not found \(looked at K6_BIN, PATH, .*\/bin\/k6\)/);
  const ways = ['a package manager', "Grafana's release binaries: https://github.com/grafana/k6/releases", 'the Docker image grafana/k6', 'last resort, with Go', '`go install go.k6.io/k6/v2@v2.2.0` into .tools/bin'];
  const at = ways.map((w) => r.stderr.indexOf(w));
  assert.ok(at.every((i) => i > 0), `every way named:\n${r.stderr}`);
  assert.deepEqual([...at].sort((a, b) => a - b), at, 'in that order');
});

test('the k6 perf uses is a stock k6: `k6 version` lists no extension', async () => {
  const r = await runCli(['k6', 'path']);
  assert.equal(r.code, 0, r.stderr);
  const version = execFileSync(r.stdout.split('\t')[0]!, ['version'], { encoding: 'utf8' });
  assert.match(version, /^k6 v2\.\d+\.\d+/);
  assert.doesNotMatch(version, /Extensions/);
});

test('no Go code of perf: no go.mod, go.sum, go.work or .go file in the repository, none naming go.k6.io/k6', () => {
  // Tracked and new files (a file deleted but not yet committed is gone from the tree).
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && existsSync(path.join(REPO, f)));
  assert.ok(files.length > 50 && files.includes('src/k6/k6.ts'), `${files.length} files listed`);
  const goFiles = files.filter((f) => /(^|\/)(go\.mod|go\.sum|go\.work)$|\.go$/.test(f));
  assert.deepEqual(goFiles, []);
  const importingK6 = files.filter((f) => /\.(go|mod)$/.test(f) && /go\.k6\.io\/k6/.test(readFileSync(path.join(REPO, f), 'utf8')));
  assert.deepEqual(importingK6, []);
});

test('GOPROXY with the module cache as the last proxy, before direct/off (which end the list)', () => {
  const c = 'file:///m/cache/download';
  assert.equal(withCacheProxy('https://proxy.golang.org,direct', c), `https://proxy.golang.org|${c},direct`);
  assert.equal(withCacheProxy('https://a|https://b', c), `https://a|https://b|${c}`);
  assert.equal(withCacheProxy('direct', c), `${c},direct`);
  assert.equal(withCacheProxy('off', c), `${c},off`);
});
