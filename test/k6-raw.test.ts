import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { requireK6 } from '../src/k6/k6.ts';
import { freeBytes, gzipRawSamples, k6MaxRunMs, PLAIN_RAW_BYTES_PER_MIN, PLAIN_RAW_MAX_MS, rawMode } from '../src/k6/k6-raw.ts';
import { tempDir } from './helpers.ts';

const GB = PLAIN_RAW_BYTES_PER_MIN;

describe('rawMode', () => {
  test('plain for a bounded run on a disk with room', () => {
    assert.equal(rawMode(45_000, 80 * GB), 'plain');
    assert.equal(rawMode(PLAIN_RAW_MAX_MS, 10 * GB), 'plain');
  });
  test('gzip in k6 for long or unbounded runs, whatever the disk', () => {
    assert.equal(rawMode(PLAIN_RAW_MAX_MS + 1, 1000 * GB), 'gzip');
    assert.equal(rawMode(undefined, 1000 * GB), 'gzip');
  });
  test('gzip in k6 when the disk is short: 1 GB a minute, at least 1 GB', () => {
    assert.equal(rawMode(30_000, 0.99 * GB), 'gzip');
    assert.equal(rawMode(30_000, 1 * GB), 'plain');
    assert.equal(rawMode(5 * 60_000, 4.9 * GB), 'gzip');
    assert.equal(rawMode(5 * 60_000, 5 * GB), 'plain');
  });
});

describe('k6MaxRunMs (real k6 inspect)', () => {
  const script = (body: string) => {
    const file = path.join(tempDir('perf-k6-raw-'), 'script.js');
    writeFileSync(file, body);
    return file;
  };
  test("k6's bound: the scenario's duration plus its graceful stop, with the run's environment", async () => {
    const k6 = await requireK6();
    const s = script(`export const options = { vus: 1, duration: __ENV.D || '4s' };\nexport default function () {}\n`);
    const env = { ...process.env, K6_AUTO_EXTENSION_RESOLUTION: 'false' };
    assert.equal(await k6MaxRunMs(k6.path, s, env), 34_000);
    assert.equal(await k6MaxRunMs(k6.path, s, { ...env, D: '2h' }), 2 * 3_600_000 + 30_000);
  });
  test('undefined when k6 cannot tell (a script that throws at init)', async () => {
    const k6 = await requireK6();
    const s = script(`throw new Error('broken');\nexport default function () {}\n`);
    assert.equal(await k6MaxRunMs(k6.path, s, { ...process.env, K6_AUTO_EXTENSION_RESOLUTION: 'false' }), undefined);
  });
});

describe('gzipRawSamples', () => {
  test('replaces the plain CSV by its gzip, byte for byte', async () => {
    const file = path.join(tempDir('perf-k6-raw-'), 'k6-x-samples.csv');
    const csv = 'metric_name,timestamp,metric_value\n' + 'http_reqs,1795262124435520767,1.000000\n'.repeat(50_000);
    writeFileSync(file, csv);
    const out = await gzipRawSamples(file);
    assert.equal(out, `${file}.gz`);
    assert.equal(existsSync(file), false);
    assert.equal(gunzipSync(readFileSync(out)).toString(), csv);
  });
  test('a file k6 never wrote: the .gz name, nothing created', async () => {
    const file = path.join(tempDir('perf-k6-raw-'), 'none.csv');
    assert.equal(await gzipRawSamples(file), `${file}.gz`);
    assert.equal(existsSync(`${file}.gz`), false);
  });
  test('when compression fails the plain CSV stays and is returned', async () => {
    const file = path.join(tempDir('perf-k6-raw-'), 'k6-x-samples.csv');
    writeFileSync(file, 'metric_name,timestamp,metric_value\n');
    mkdirSync(`${file}.gz`); // cannot be written as a file
    assert.equal(await gzipRawSamples(file), file);
    assert.equal(readFileSync(file, 'utf8'), 'metric_name,timestamp,metric_value\n');
  });
});

test('freeBytes: the disk of a real folder has room; an unknown one reports 0', async () => {
  assert.ok((await freeBytes(tempDir('perf-k6-raw-'))) > 0);
  assert.equal(await freeBytes('/nonexistent/perf'), 0);
});
