import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { K6_SYSTEM_TAGS } from '../analysis/k6-csv.ts';
import { requireK6 } from '../src/k6/k6.ts';
import { PERF_BIN, readK6CsvSamples, runCli, startHelloServer, tempDir } from './helpers.ts';

// `perf samples`: the raw samples of a real k6 run (k6's CSV output, as perf has k6 write
// it), printed one row per sample with the tags of each row gathered and sorted.

describe('perf samples', () => {
  let server: Awaited<ReturnType<typeof startHelloServer>>;
  let dir: string;
  before(async () => {
    server = await startHelloServer();
    dir = tempDir('perf-samples-');
    // `name` (a system tag column) and `kind` (a custom tag: extra_tags) hold a comma and a quote.
    writeFileSync(path.join(dir, 'script.js'), `import http from 'k6/http';\nexport const options = { vus: 2, iterations: 40 };\nexport default function () { http.get(__ENV.BASE + '/hello', { tags: { name: 'a,"b"', kind: 'x,y' } }); }\n`);
    const k6 = await requireK6();
    await promisify(execFile)(k6.path, ['run', '-q', '--no-usage-report', `--summary-export=${dir}/summary.json`, `--out=csv=${dir}/s.csv.gz`, `${dir}/script.js`], {
      env: { ...process.env, BASE: server.url, K6_AUTO_EXTENSION_RESOLUTION: 'false', K6_SYSTEM_TAGS: K6_SYSTEM_TAGS.join(','), K6_CSV_TIME_FORMAT: 'unix_nano' },
    });
  });
  after(() => server.close());

  test('one row per sample, values and nanosecond timestamps as k6 wrote them, tags sorted and quoted', async () => {
    const r = await runCli(['samples', path.join(dir, 's.csv.gz')]);
    assert.equal(r.code, 0, r.stderr);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    assert.equal(header, 'metric_name,timestamp_ns,metric_value,tags');
    const oracle = readK6CsvSamples(gunzipSync(readFileSync(path.join(dir, 's.csv.gz'))).toString('utf8'));
    assert.equal(rows.length, oracle.length);
    const dur = rows.findIndex((l) => l.startsWith('http_req_duration,'));
    const o = oracle[dur]!;
    assert.equal(o.metric, 'http_req_duration');
    assert.equal(rows[dur]!.split(',').slice(0, 3).join(','), `http_req_duration,${o.timestamp},${o.value}`);
    // The tag text holds a comma and quotes: quoted, quotes doubled; keys in order.
    assert.match(rows[dur]!, /,"expected_response=true&kind=x,y&method=GET&name=a,""b""&.*scenario=default&status=200.*"$/);
  });

  test('--metric keeps one metric: as many rows as k6 counted', async () => {
    const r = await runCli(['samples', path.join(dir, 's.csv.gz'), '--metric', 'http_reqs']);
    const rows = r.stdout.trimEnd().split('\n').slice(1);
    assert.equal(rows.length, JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')).metrics.http_reqs.count);
    assert.ok(rows.length > 0 && rows.every((l) => l.startsWith('http_reqs,')));
  });

  test('a reader that stops early (| head) ends it quietly, exit 0', async () => {
    const { stdout } = await promisify(execFile)('bash', ['-c', `node ${PERF_BIN} samples ${dir}/s.csv.gz | head -2; echo "exit \${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    assert.match(stdout, /^metric_name,[^\n]+\n[a-z_]+,\d{19},[^\n]+\nexit 0\n$/);
  });

  test('not a sample file, a file of the former binary output, or none: exit 2 with what to do', async () => {
    const json = await runCli(['samples', path.join(dir, 'summary.json')]);
    assert.equal(json.code, 2);
    assert.match(json.stderr, /summary\.json: not a k6 CSV sample file \(no metric_name,timestamp,metric_value header\)\nperf samples reads the k6-<scenario>-samples\.csv\(\.gz\) files/);
    assert.equal(json.stdout, '', 'no CSV header for a file that is not one');
    const none = await runCli(['samples', path.join(dir, 'x.csv.gz')]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no such file/);
    writeFileSync(path.join(dir, 'k6-x-samples.bin.gz'), 'PERFK6S1\n');
    const bin = await runCli(['samples', path.join(dir, 'k6-x-samples.bin.gz')]);
    assert.equal(bin.code, 2);
    assert.match(bin.stderr, /was written by perf's former binary k6 output \(k6ext\/\), which perf no longer builds or reads\nRuns since then keep k6's own CSV output/);
  });
});
