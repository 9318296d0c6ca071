import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { BinIngest, ingestK6Bin, K6_BIN_HEADER } from '../analysis/k6-bin.ts';
import { ingestK6Csv, K6_SYSTEM_TAGS, metricTypesFromSummary } from '../analysis/k6-csv.ts';
import { percentileMs } from '../analysis/histogram.ts';
import type { MetricStore } from '../analysis/metric-store.ts';
import { requireK6, type K6Binary } from '../coordinator/k6.ts';
import { k6BinRecords, startHelloServer, tempDir } from './helpers.ts';

// perf's binary k6 output (k6ext/perf_output.go, analysis/k6-bin.ts) against k6's own CSV
// output, both written by one real k6 run: the analysis must come out the same from either.

const SCRIPT = `import http from 'k6/http';
import { check, group, sleep } from 'k6';
import { Trend, Rate } from 'k6/metrics';
const wait = new Trend('custom_wait', true);
const ok = new Rate('custom_ok');
export const options = { vus: 4, duration: '3s' };
export default function () {
  group('g', () => {
    const r = http.get(__ENV.BASE + (__ITER % 3 === 0 ? '/missing' : '/hello'), { tags: { name: __ITER % 2 ? 'odd' : 'even' } });
    check(r, { 'is 200': (x) => x.status === 200 });
    wait.add(r.timings.waiting, { kind: 'w' });
    ok.add(r.status === 200);
  });
  sleep(0.02);
}
`;

/** Per metric: counts, the set of tag sets, and a p95 for trends; for comparing two stores. */
function digest(store: MetricStore) {
  const out: Record<string, { count: number; nonZero: number; sum: number; tagSets: string[]; p95?: number; type: string }> = {};
  for (const s of store.series.values()) {
    const d = (out[s.metric] ??= { count: 0, nonZero: 0, sum: 0, tagSets: [], type: s.type });
    d.count += s.count;
    d.nonZero += s.nonZero;
    d.sum += s.sum;
    d.tagSets.push(JSON.stringify(Object.entries(s.tags).sort()));
  }
  for (const [metric, d] of Object.entries(out)) {
    d.tagSets = [...new Set(d.tagSets)].sort();
    const h = store.merged(metric).histogram;
    if (h) d.p95 = percentileMs(h, 95);
  }
  return out;
}

describe('perf k6 output (real k6 with k6ext compiled in)', () => {
  let server: Awaited<ReturnType<typeof startHelloServer>>;
  let k6: K6Binary;
  let dir: string;
  before(async () => {
    server = await startHelloServer();
    k6 = await requireK6();
    assert.ok(k6.perfOutput, `${k6.path} lacks perf's output: rebuild it with \`rm ${k6.path} && npx perf k6 install\``);
    dir = tempDir('perf-k6-bin-');
    writeFileSync(path.join(dir, 'script.js'), SCRIPT);
    // Not execFileSync: the server answering k6 runs on this process's event loop.
    await promisify(execFile)(k6.path, ['run', '-q', '--no-usage-report', `--summary-export=${dir}/summary.json`, `--out=csv=${dir}/s.csv`, `--out=perf=${dir}/s.bin`, `--out=perf=${dir}/s2.bin.gz`, `${dir}/script.js`], {
      env: { ...process.env, BASE: server.url, K6_AUTO_EXTENSION_RESOLUTION: 'false', K6_SYSTEM_TAGS: K6_SYSTEM_TAGS.join(','), K6_CSV_TIME_FORMAT: 'unix_nano' },
    });
  });
  after(() => server.close());

  test('the same samples, tags, counts, p95s and coinciding samples as k6 CSV output of the same run', async () => {
    const types = metricTypesFromSummary(path.join(dir, 'summary.json'));
    const csv = await ingestK6Csv(path.join(dir, 's.csv'), types, 10, true);
    const bin = await ingestK6Bin(path.join(dir, 's.bin'), types, 10, true);
    assert.ok(csv.samples > 500, `${csv.samples} samples`);
    assert.equal(bin.samples, csv.samples);
    assert.equal(bin.firstTimestamp, csv.firstTimestamp);
    assert.equal(bin.lastTimestamp, csv.lastTimestamp);
    assert.deepEqual([...bin.coincident].sort(), [...csv.coincident].sort());
    const [b, c] = [digest(bin), digest(csv)];
    assert.deepEqual(Object.keys(b).sort(), Object.keys(c).sort());
    for (const metric of Object.keys(c)) {
      const [x, y] = [b[metric]!, c[metric]!];
      assert.equal(x.type, y.type, `${metric} type`);
      assert.equal(x.count, y.count, `${metric} count`);
      assert.equal(x.nonZero, y.nonZero, `${metric} non-zero`);
      assert.deepEqual(x.tagSets, y.tagSets, `${metric} tag sets`);
      // CSV rounds values to 6 decimals; the binary records hold k6's float64.
      assert.ok(Math.abs(x.sum - y.sum) <= 1e-6 * y.count + 1e-9 * Math.abs(y.sum), `${metric} sum ${x.sum} vs ${y.sum}`);
      if (y.p95 !== undefined) assert.ok(Math.abs(x.p95! - y.p95) <= 0.002 * y.p95 + 0.001, `${metric} p95 ${x.p95} vs ${y.p95}`);
    }
    // Custom tags and metrics arrive with k6's own types.
    assert.equal(bin.typeOf('custom_ok'), 'rate');
    assert.ok(bin.select('custom_wait', { kind: 'w', group: '::g' }).length > 0);
    assert.ok(bin.select('http_req_duration', { name: 'odd', group: '::g' }).length > 0);
  });

  test('a .gz file name: k6 writes it compressed, with the same samples', async () => {
    const plain = await ingestK6Bin(path.join(dir, 's.bin'), new Map());
    const gz = await ingestK6Bin(path.join(dir, 's2.bin.gz'), new Map());
    assert.equal(gz.samples, plain.samples);
    assert.deepEqual(digest(gz), digest(plain));
  });

  test('records split across chunks anywhere: the same result', () => {
    const bytes = readFileSync(path.join(dir, 's.bin'));
    const whole = new BinIngest(new Map());
    whole.push(bytes);
    const pieces = new BinIngest(new Map());
    for (let at = 0, size = 1; at < bytes.length; at += size, size = (size % 7) + 1) pieces.push(bytes.subarray(at, at + size));
    assert.equal(pieces.end().samples, whole.end().samples);
    assert.deepEqual(digest(pieces.store), digest(whole.store));
  });

  test('a file cut mid-record (k6 killed): every whole record before the cut', () => {
    const bytes = readFileSync(path.join(dir, 's.bin'));
    const all = new BinIngest(new Map());
    all.push(bytes);
    const cut = new BinIngest(new Map());
    cut.push(bytes.subarray(0, bytes.length - 11));
    assert.equal(cut.end().samples, all.end().samples - 1);
  });
});

test('not a perf sample file, or a corrupt one: a clear error', () => {
  assert.throws(() => new BinIngest(new Map()).push(Buffer.from('metric_name,timestamp\n')), /not a perf k6 sample file/);
  assert.throws(() => new BinIngest(new Map()).push(Buffer.from(`${K6_BIN_HEADER}X`)), /unknown record type 0x58 at byte 9/);
  const undeclared = Buffer.alloc(K6_BIN_HEADER.length + 23);
  undeclared.write(K6_BIN_HEADER);
  undeclared[K6_BIN_HEADER.length] = 0x53;
  assert.throws(() => new BinIngest(new Map()).push(undeclared), /undeclared metric/);
});

test('the format by hand: two samples in the same nanosecond with the same tags coincide (one InfluxDB point)', () => {
  const ingest = new BinIngest(new Map(), 10, true);
  const r = k6BinRecords;
  ingest.push(
    Buffer.concat([
      r.header(),
      r.metric(1, 3, 'http_req_duration'),
      r.tagSet(1, { name: 'home', status: '200' }),
      r.sample(1, 1, 1795265123, 299155063, 7.5),
      r.sample(1, 1, 1795265123, 299155063, 9.5),
      r.sample(1, 1, 1795265124, 1, 2),
    ]),
  );
  const store = ingest.end();
  assert.equal(store.samples, 3);
  assert.deepEqual([...store.coincident], [['http_req_duration', 1]]);
  assert.deepEqual([store.firstTimestamp, store.lastTimestamp], [1795265123, 1795265124]);
  const [series] = store.select('http_req_duration', { name: 'home', status: '200' });
  assert.deepEqual([series!.count, series!.sum, series!.max, series!.type], [3, 19, 9.5, 'trend']);
});
