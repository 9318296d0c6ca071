import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { requireK6 } from '../coordinator/k6.ts';
import { PERF_BIN, readK6BinSamples, runCli, startHelloServer, tempDir } from './helpers.ts';

// `perf samples`: the binary raw samples of a real k6 run, printed as CSV.

describe('perf samples', () => {
  let server: Awaited<ReturnType<typeof startHelloServer>>;
  let dir: string;
  before(async () => {
    server = await startHelloServer();
    dir = tempDir('perf-samples-');
    writeFileSync(path.join(dir, 'script.js'), `import http from 'k6/http';\nexport const options = { vus: 2, iterations: 40 };\nexport default function () { http.get(__ENV.BASE + '/hello', { tags: { name: 'a,b' } }); }\n`);
    const k6 = await requireK6();
    await promisify(execFile)(k6.path, ['run', '-q', '--no-usage-report', `--summary-export=${dir}/summary.json`, `--out=perf=${dir}/s.bin.gz`, `${dir}/script.js`], {
      env: { ...process.env, BASE: server.url, K6_AUTO_EXTENSION_RESOLUTION: 'false' },
    });
  });
  after(() => server.close());

  test('one CSV row per sample, exact values and nanosecond timestamps, tags sorted', async () => {
    const r = await runCli(['samples', path.join(dir, 's.bin.gz')]);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    assert.equal(header, 'metric_name,timestamp_ns,metric_value,tags');
    const oracle = readK6BinSamples(gunzipSync(readFileSync(path.join(dir, 's.bin.gz'))));
    assert.equal(rows.length, oracle.length);
    const dur = rows.findIndex((l) => l.startsWith('http_req_duration,'));
    const o = oracle[dur]!;
    assert.equal(rows[dur]!.split(',').slice(0, 3).join(','), `http_req_duration,${o.seconds}${String(o.nanos).padStart(9, '0')},${o.value}`);
    // A tag value with a comma is quoted; keys in order.
    assert.match(rows[dur]!, /,"expected_response=true&method=GET&name=a,b&.*scenario=default&status=200.*"$/);
  });

  test('--metric keeps one metric: as many rows as k6 counted', async () => {
    const r = await runCli(['samples', path.join(dir, 's.bin.gz'), '--metric', 'http_reqs']);
    const rows = r.stdout.trimEnd().split('\n').slice(1);
    assert.equal(rows.length, JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')).metrics.http_reqs.count);
    assert.ok(rows.every((l) => l.startsWith('http_reqs,')));
  });

  test('a reader that stops early (| head) ends it quietly, exit 0', async () => {
    const { stdout } = await promisify(execFile)('bash', ['-c', `node ${PERF_BIN} samples ${dir}/s.bin.gz | head -2; echo "exit \${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    assert.match(stdout, /^metric_name,[^\n]+\n[a-z_]+,\d{19},[^\n]+\nexit 0\n$/);
  });

  test('not a sample file, a CSV one, or none: exit 2 with what to do', async () => {
    const json = await runCli(['samples', path.join(dir, 'summary.json')]);
    assert.equal(json.code, 2);
    assert.match(json.stderr, /summary\.json: not a perf k6 sample file \(bad header\)\nperf samples reads the \.bin\(\.gz\) files/);
    assert.equal(json.stdout, '', 'no CSV header for a file that is not one');
    const csv = await runCli(['samples', path.join(dir, 'x.csv.gz')]);
    assert.equal(csv.code, 2);
    assert.match(csv.stderr, /no such file/);
    writeFileSync(path.join(dir, 'x.csv.gz'), '');
    const csv2 = await runCli(['samples', path.join(dir, 'x.csv.gz')]);
    assert.match(csv2.stderr, /is k6's own CSV output already\nRead it with `zcat /);
  });
});
