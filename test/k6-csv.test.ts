import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CsvIngest, ingestK6Csv, K6_SYSTEM_TAGS, metricTypesFromSummary, splitCsvRecord } from '../analysis/k6-csv.ts';
import type { MetricStore } from '../analysis/metric-store.ts';
import { requireK6 } from '../src/k6/k6.ts';
import { readK6CsvSamples, startHelloServer, tempDir } from './helpers.ts';

// k6's CSV output, the one raw format (analysis/k6-csv.ts), written by a real k6 with tag
// values that k6 quotes (commas, quotes, a line break) and non-ASCII text: the ingest must
// see the same samples, tag sets and values as an independent RFC 4180 reader.

const SCRIPT = `import http from 'k6/http';
import { group } from 'k6';
import { Trend } from 'k6/metrics';
const wait = new Trend('custom_wait', true);
export const options = { vus: 1, iterations: 60 };
const NAMES = ['plain', 'a,b', 'say "hi"', 'x,"y",z', 'café ☕', ' lead'];
export default function () {
  const name = NAMES[__ITER % NAMES.length];
  group('g,1', () => {
    const r = http.get(__ENV.BASE + '/hello', { tags: { name, kind: __ITER % 2 ? 'k,"q"' : 'two\\nlines' } });
    wait.add(r.timings.waiting, { label: name });
  });
}
`;

/** Per metric and tag set (sorted JSON): count and sum; the comparison of two readings. */
function digest(samples: Iterable<{ metric: string; tags: Record<string, string>; count: number; sum: number }>) {
  const out = new Map<string, { count: number; sum: number }>();
  for (const s of samples) {
    const key = `${s.metric} ${JSON.stringify(Object.entries(s.tags).sort(([a], [b]) => (a < b ? -1 : 1)))}`;
    const d = out.get(key) ?? { count: 0, sum: 0 };
    d.count += s.count;
    d.sum += s.sum;
    out.set(key, d);
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, d]) => [k, { count: d.count, sum: Math.round(d.sum * 1e6) / 1e6 }]));
}

/** The oracle's rows as the ingest's tags: system tag columns, plus extra_tags split into k=v. */
function oracleDigest(text: string) {
  return digest(
    readK6CsvSamples(text).map((r) => {
      const { extra_tags: extra, metadata: _m, ...tags } = r.tags;
      for (const kv of extra ? extra.split('&') : []) tags[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
      return { metric: r.metric, tags, count: 1, sum: r.value };
    }),
  );
}
const storeDigest = (store: MetricStore) => digest(store.series.values());

describe('k6 CSV output with quoted tag values (real k6)', () => {
  let server: Awaited<ReturnType<typeof startHelloServer>>;
  let dir: string;
  let text: string;
  before(async () => {
    server = await startHelloServer();
    dir = tempDir('perf-k6-csv-');
    writeFileSync(path.join(dir, 'script.js'), SCRIPT);
    const k6 = await requireK6();
    // Not execFileSync: the server answering k6 runs on this process's event loop.
    await promisify(execFile)(k6.path, ['run', '-q', '--no-usage-report', `--summary-export=${dir}/summary.json`, `--out=csv=${dir}/s.csv`, `--out=csv=${dir}/s2.csv.gz`, `${dir}/script.js`], {
      env: { ...process.env, BASE: server.url, K6_AUTO_EXTENSION_RESOLUTION: 'false', K6_SYSTEM_TAGS: K6_SYSTEM_TAGS.join(','), K6_CSV_TIME_FORMAT: 'unix_nano' },
    });
    text = readFileSync(path.join(dir, 's.csv'), 'utf8');
  });
  after(() => server.close());

  test('k6 quoted the fields: the file really exercises the quoting rules', () => {
    assert.match(text, /,"a,b",/);
    assert.match(text, /,"say ""hi""",/);
    assert.match(text, /"kind=two\nlines"/, 'a quoted field spanning two lines');
    assert.match(text, /,"g,1"|,"::g,1",/);
  });

  test('the same samples, tag sets, counts and sums as an independent RFC 4180 reader', async () => {
    const types = metricTypesFromSummary(path.join(dir, 'summary.json'));
    const store = await ingestK6Csv(path.join(dir, 's.csv'), types);
    const oracle = oracleDigest(text);
    assert.ok(store.samples > 600, `${store.samples} samples`);
    assert.equal(store.samples, readK6CsvSamples(text).length);
    assert.deepEqual(storeDigest(store), oracle);
    // And as k6 counted them: every request, each name as the script wrote it.
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as { metrics: { http_reqs: { count: number } } };
    assert.equal(store.merged('http_reqs').count, summary.metrics.http_reqs.count);
    for (const name of ['plain', 'a,b', 'say "hi"', 'x,"y",z', 'café ☕', ' lead']) assert.equal(store.merged('http_reqs', { name }).count, 10, name);
    assert.equal(store.merged('http_reqs', { kind: 'k,"q"' }).count, 30);
    assert.equal(store.merged('http_reqs', { kind: 'two\nlines', group: '::g,1' }).count, 30);
    assert.equal(store.merged('custom_wait', { label: 'x,"y",z' }).count, 10);
  });

  test('gzip, or chunks split anywhere (inside quotes, between the bytes of a character): the same result', async () => {
    const gz = await ingestK6Csv(path.join(dir, 's2.csv.gz'), new Map());
    const whole = new CsvIngest(new Map());
    whole.push(text);
    const pieces = new CsvIngest(new Map());
    for (let at = 0, size = 1; at < text.length; at += size, size = (size % 7) + 1) pieces.push(text.slice(at, at + size));
    const expected = storeDigest(whole.end());
    assert.deepEqual(storeDigest(pieces.end()), expected);
    assert.deepEqual(storeDigest(gz), expected);
  });
});

test('RFC 4180 fields: quotes, doubled quotes, commas and line breaks inside quotes, empty fields', () => {
  assert.deepEqual(splitCsvRecord('a,,"b,c","say ""hi""","two\nlines",'), ['a', '', 'b,c', 'say "hi"', 'two\nlines', '']);
  assert.deepEqual(splitCsvRecord('""'), ['']);
  assert.deepEqual(splitCsvRecord('"unterminated,x'), ['unterminated,x']);
});

test('a last row without its line feed, or cut inside a quoted field (k6 killed), still counts', () => {
  const header = 'metric_name,timestamp,metric_value,name,extra_tags,metadata\n';
  const ingest = new CsvIngest(new Map());
  ingest.push(`${header}http_reqs,1700000000,1.000000,"a,b",,\nhttp_reqs,1700000001,1.000000,"c,d`);
  const store = ingest.end();
  assert.equal(store.samples, 2);
  assert.equal(store.merged('http_reqs', { name: 'a,b' }).count, 1);
  assert.equal(store.merged('http_reqs', { name: 'c,d' }).count, 1);
});

test('a file that is not k6 CSV: a clear error', () => {
  assert.throws(() => new CsvIngest(new Map()).push('{"metrics": {}}\n'), /not a k6 CSV sample file/);
  assert.throws(() => new CsvIngest(new Map()).push('PERFK6S1\nMxx'), /not a k6 CSV sample file/);
});
