import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { k6InfluxWriteErrors } from '../src/influx/influx.ts';
import { REPO, tempDir } from './helpers.ts';

// k6's log of a long run, read for the InfluxDB write failures it reports. A soak logs for
// hours (console.log of a script, warnings per failed request): the log is streamed, so its
// size does not matter; read whole it had to fit in memory (and in one string: 512 MiB at most).

const failure = (time: string) =>
  `${JSON.stringify({ error: 'Post "http://127.0.0.1:1/write?db=perf": dial tcp 127.0.0.1:1: connect: connection refused', level: 'error', msg: "Couldn't write stats", output: 'InfluxDBv1', time })}\n`;

describe("k6's log: InfluxDB write failures", () => {
  test('a 100 MB log read by a perf with a 48 MB heap: every failure counted, first and last times, the message', async () => {
    const dir = tempDir('perf-k6-log-');
    const file = path.join(dir, 'k6-soak-log.jsonl');
    const noise = Buffer.from(
      Array.from({ length: 8192 }, (_, i) => `${JSON.stringify({ level: 'warning', msg: `Request Failed ${i}`, error: 'Get "http://127.0.0.1/x": EOF', time: '2026-12-01T10:00:00Z' })}\n`).join(''),
    );
    const fd = openSync(file, 'w');
    let size = 0;
    try {
      size += writeSync(fd, failure('2026-12-01T10:00:01Z'));
      // ~100 MB of other lines, with one more failure in the middle and one at the end.
      const chunks = Math.ceil(100e6 / noise.length);
      for (let i = 0; i < chunks; i++) {
        size += writeSync(fd, noise);
        if (i === chunks >> 1) size += writeSync(fd, failure('2026-12-01T12:00:00Z'));
      }
      size += writeSync(fd, failure('2026-12-01T14:00:00Z'));
    } finally {
      closeSync(fd);
    }
    assert.ok(size > 100e6);
    // A heap half the log's size: reading it whole (the log as one string) runs out of memory.
    const code = `const { k6InfluxWriteErrors } = await import(${JSON.stringify(path.join(REPO, 'src/influx/influx.ts'))});
      process.stdout.write(JSON.stringify(await k6InfluxWriteErrors(${JSON.stringify(file)})));`;
    try {
      const { stdout } = await promisify(execFile)(process.execPath, ['--max-old-space-size=48', '--import', 'tsx', '--input-type=module', '-e', code], { cwd: REPO, timeout: 120_000 }).catch((e: Error & { stderr?: string }) => {
        assert.fail(`reading the log failed: ${(e.stderr ?? e.message).split('\n').slice(0, 3).join(' | ')}`);
      });
      const errs = JSON.parse(stdout) as Awaited<ReturnType<typeof k6InfluxWriteErrors>>;
      assert.equal(errs.count, 3);
      assert.equal(errs.first, '2026-12-01T10:00:01Z');
      assert.equal(errs.last, '2026-12-01T14:00:00Z');
      assert.match(errs.message!, /^Couldn't write stats: Post .*connection refused$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('no log: none counted', async () => {
    assert.deepEqual(await k6InfluxWriteErrors(path.join(tempDir('perf-k6-log-'), 'missing.jsonl')), { count: 0 });
  });
});
