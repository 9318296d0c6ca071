import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLatencyHistogramUs, decodeHistogram, encodeHistogram, recordMs } from '../analysis/histogram.ts';
import { WINDOWS_SCHEMA, type WindowsFile } from '../analysis/window-capture.ts';
import { RUN_INDEX_SCHEMA, type RunIndexRecord } from '../src/baseline/run-index.ts';
import { InfluxSession } from '../src/influx/influx.ts';
import { Redactor } from '../src/redact/redact.ts';
import { influxQuery, startInflux, type InfluxServer } from './influx-helpers.ts';

// Real influxd (started here on loopback), a real InfluxSession: finish() with a run index
// record and a windows.json, then what landed is read back over InfluxDB's own HTTP API.

const DB = 'perf_idx';
const TREND = 'http_req_duration{expected_response:true}';
const RATE = 'http_req_failed';

type Row = Record<string, unknown>;

/** The rows of a query as objects keyed by column (time in ms: influxQuery asks for epoch=ms). */
async function rows(url: string, q: string): Promise<Row[]> {
  return (await influxQuery(url, DB, q)).flatMap((s) => s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]]))));
}

function histogram(ms: number[]): string {
  const h = createLatencyHistogramUs();
  for (const v of ms) recordMs(h, v);
  return encodeHistogram(h);
}

function windowsFile(t0: number): WindowsFile {
  return {
    schema: WINDOWS_SCHEMA,
    windowSeconds: 2,
    scenarios: [
      {
        scenario: 'multi-user',
        firstTimestamp: t0,
        lastTimestamp: t0 + 6,
        rampUpEnd: t0 + 2,
        series: {
          [TREND]: {
            type: 'trend',
            windows: [
              { start: t0, count: 3, nonZero: 3, sum: 36, histogram: histogram([10, 12, 14]) },
              { start: t0 + 2, count: 5, nonZero: 5, sum: 105.5, histogram: histogram([20, 21, 21.5, 22, 21]) },
              { start: t0 + 4, count: 2, nonZero: 2, sum: 2000.25, histogram: histogram([1000, 1000.25]) },
            ],
          },
          [RATE]: {
            type: 'rate',
            windows: [
              { start: t0, count: 10, nonZero: 1, sum: 1 },
              { start: t0 + 2, count: 12, nonZero: 0, sum: 0 },
            ],
          },
        },
      },
      {
        scenario: 'throughput',
        firstTimestamp: t0 + 1,
        lastTimestamp: t0 + 5,
        rampUpEnd: t0 + 1,
        series: {
          [TREND]: {
            type: 'trend',
            windows: [
              { start: t0 + 1, count: 4, nonZero: 4, sum: 8, histogram: histogram([1, 2, 2, 3]) },
              { start: t0 + 3, count: 1, nonZero: 1, sum: 7, histogram: histogram([7]) },
            ],
          },
        },
      },
    ],
  };
}

function indexRecord(runId: string, startedAt: Date, finishedAt: Date): RunIndexRecord {
  return {
    schema: RUN_INDEX_SCHEMA,
    runId,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    status: 'failed',
    gitSha: '0123456789abcdef0123456789abcdef01234567',
    configHash: 'c0ffee00c0ffee00',
    comparableHash: 'feedbeeffeedbeef',
    profile: 'smoke',
    users: 5,
    scenarios: ['multi-user', 'throughput'],
    gates: [
      { key: TREND, stat: 'p(95)', kind: 'absolute', rule: 'p(95)<300', op: '<', status: 'failed', observed: 1000.25, unit: 'ms', scenarios: ['multi-user'] },
      { key: RATE, stat: 'rate', kind: 'absolute', rule: 'rate<0.1', op: '<', status: 'passed', observed: 0.045, unit: 'ratio' },
      { key: TREND, stat: 'p(95)', kind: 'relative', rule: '+15%', status: 'not-run' },
    ],
    windows: 'windows.json',
    baselineRunId: '20261204-230000-abcd',
  };
}

const windowCount = (w: WindowsFile) => w.scenarios.reduce((n, sc) => n + Object.values(sc.series).reduce((m, s) => m + s.windows.length, 0), 0);

describe('InfluxSession.finish with the run index and windows.json (real InfluxDB)', () => {
  let influx: InfluxServer;
  let runDir: string;

  before(async () => {
    influx = await startInflux();
    runDir = mkdtempSync(path.join(os.tmpdir(), 'perf-run-index-'));
  });
  after(async () => {
    await influx?.stop();
    rmSync(runDir, { recursive: true, force: true });
  });

  async function session(runId: string, redactor = new Redactor(), url = `${influx.url}/${DB}`) {
    const messages: string[] = [];
    const s = new InfluxSession({ url, runId, redactor, stream: { write: (m: string) => messages.push(m) }, requestTimeoutMs: 2000 });
    await s.connect();
    assert.equal(s.state, 'ok', messages.join(''));
    return { s, messages };
  }

  test('the index point carries the record, one windows point per window, and the outcome counts them', async () => {
    const runId = '20261204-233000-idx1';
    const t0 = Math.floor(Date.now() / 1000) - 60;
    const startedAt = new Date(t0 * 1000 - 5000);
    const finishedAt = new Date(t0 * 1000 + 10_000);
    const record = indexRecord(runId, startedAt, finishedAt);
    const windows = windowsFile(t0);
    const { s, messages } = await session(runId);
    const outcome = await s.finish({ phases: [], gates: [], status: 'failed', startedAt, finishedAt, runDir, index: record, windows });

    assert.equal(outcome.status, 'ok', JSON.stringify(outcome, null, 2) + messages.join(''));
    // The index point, every window point and the run's end point.
    assert.deepEqual(outcome.points, { written: 1 + windowCount(windows) + 1, unwritten: 0 });

    const [idx, ...more] = await rows(influx.url, `SELECT * FROM "perf_run_index" WHERE "run_id" = '${runId}'`);
    assert.equal(more.length, 0, 'one index point per run');
    assert.deepEqual(
      { ...idx, gates: JSON.parse(idx!.gates as string) },
      {
        time: finishedAt.getTime(),
        run_id: runId,
        status: record.status,
        profile: record.profile,
        users: String(record.users),
        comparable_hash: record.comparableHash,
        git_sha: record.gitSha,
        baseline_run_id: record.baselineRunId,
        config_hash: record.configHash,
        scenarios: 'multi-user,throughput',
        started_at: record.startedAt,
        finished_at: record.finishedAt,
        gates: record.gates,
        gates_failed: 1,
        windows: 'windows.json',
      },
    );
    // Tags are tags (GROUP BY-able, filterable): the "last green runs of a profile" query of docs/baselines.md.
    const tagKeys = (await influxQuery(influx.url, DB, 'SHOW TAG KEYS FROM "perf_run_index"')).flatMap((x) => x.values.map((v) => v[0]));
    assert.deepEqual(tagKeys.sort(), ['baseline_run_id', 'comparable_hash', 'git_sha', 'profile', 'run_id', 'status', 'users']);

    const stored = await rows(influx.url, `SELECT * FROM "perf_run_windows" WHERE "run_id" = '${runId}'`);
    assert.equal(stored.length, windowCount(windows), 'one point per scenario × series × window');
    for (const sc of windows.scenarios) {
      for (const [key, series] of Object.entries(sc.series)) {
        for (const w of series.windows) {
          const where = `${sc.scenario} ${key} @${w.start}`;
          const hits = stored.filter((r) => r.perf_scenario === sc.scenario && r.series === key && r.time === w.start * 1000);
          assert.equal(hits.length, 1, where);
          const r = hits[0]!;
          assert.equal(r.type, series.type, where);
          assert.equal(r.ramp_up, String(w.start < sc.rampUpEnd), where);
          assert.equal(r.count, w.count, where);
          assert.equal(r.non_zero, w.nonZero, where);
          assert.equal(r.sum, w.sum, where);
          assert.equal(r.window_seconds, windows.windowSeconds, where);
          if (w.histogram) {
            assert.equal(r.histogram, w.histogram, where);
            const h = decodeHistogram(r.histogram as string);
            assert.equal(h.totalCount, w.count, `${where}: the stored histogram decodes to the window's samples`);
          } else {
            assert.equal(r.histogram, null, where);
          }
        }
      }
    }
    // Ramp-up windows are told apart: the first of multi-user only (throughput's ramp-up ends at its first window).
    assert.deepEqual(stored.filter((r) => r.ramp_up === 'true').map((r) => `${r.perf_scenario} ${r.series}`).sort(), [`multi-user ${RATE}`, `multi-user ${TREND}`].sort());
  });

  test('without index and windows nothing is written to those measurements; absent optional tags stay absent', async () => {
    const runId = '20261204-233000-idx2';
    const finishedAt = new Date();
    const { s } = await session(runId);
    const out = await s.finish({ phases: [], gates: [], status: 'passed', startedAt: new Date(finishedAt.getTime() - 1000), finishedAt, runDir });
    assert.deepEqual(out.points, { written: 1, unwritten: 0 });
    assert.equal((await rows(influx.url, `SELECT * FROM "perf_run_windows" WHERE "run_id" = '${runId}'`)).length, 0);

    const runId3 = '20261204-233000-idx3';
    const { s: s3 } = await session(runId3);
    const { gitSha: _g, baselineRunId: _b, profile: _p, users: _u, configHash: _c, windows: _w, ...bare } = indexRecord(runId3, new Date(finishedAt.getTime() - 1000), finishedAt);
    const out3 = await s3.finish({ phases: [], gates: [], status: 'passed', startedAt: new Date(finishedAt.getTime() - 1000), finishedAt, runDir, index: { ...bare, gates: [] } });
    assert.deepEqual(out3.points, { written: 2, unwritten: 0 });
    const [idx] = await rows(influx.url, `SELECT * FROM "perf_run_index" WHERE "run_id" = '${runId3}'`);
    assert.equal(idx!.git_sha, null);
    assert.equal(idx!.baseline_run_id, null);
    assert.equal(idx!.profile, null);
    assert.equal(idx!.windows, '');
    assert.equal(idx!.gates, '[]');
    assert.equal(idx!.gates_failed, 0);
  });

  test('a secret in a sample key is redacted in InfluxDB, the histograms are left intact', async () => {
    const runId = '20261204-233000-idx4';
    const secret = 'sk-live-0f9a8b7c6d5e';
    const redactor = new Redactor();
    redactor.addSecret(secret);
    const t0 = Math.floor(Date.now() / 1000) - 30;
    const key = `http_req_duration{name:${secret}}`;
    const windows: WindowsFile = {
      schema: WINDOWS_SCHEMA,
      windowSeconds: 1,
      scenarios: [{ scenario: 'multi-user', firstTimestamp: t0, lastTimestamp: t0, rampUpEnd: t0, series: { [key]: { type: 'trend', windows: [{ start: t0, count: 2, nonZero: 2, sum: 3, histogram: histogram([1, 2]) }] } } }],
    };
    const finishedAt = new Date();
    const record = { ...indexRecord(runId, new Date(t0 * 1000), finishedAt), status: 'passed', gates: [{ key, stat: 'p(95)' as const, kind: 'absolute' as const, rule: 'p(95)<300', status: 'passed' }] };
    const { s } = await session(runId, redactor);
    const out = await s.finish({ phases: [], gates: [], status: 'passed', startedAt: new Date(t0 * 1000), finishedAt, runDir, index: record, windows });
    assert.equal(out.status, 'ok');
    const [w] = await rows(influx.url, `SELECT * FROM "perf_run_windows" WHERE "run_id" = '${runId}'`);
    assert.equal(w!.series, 'http_req_duration{name:[redacted]}');
    assert.equal(decodeHistogram(w!.histogram as string).totalCount, 2);
    const [idx] = await rows(influx.url, `SELECT * FROM "perf_run_index" WHERE "run_id" = '${runId}'`);
    assert.doesNotMatch(idx!.gates as string, new RegExp(secret));
    assert.equal(JSON.parse(idx!.gates as string)[0].key, 'http_req_duration{name:[redacted]}');

    // The example of docs/baselines.md: the last green runs of a profile (runs idx1, failed, and idx3, no profile, are not listed).
    const green = await rows(influx.url, `SELECT "run_id", "git_sha", "comparable_hash", "gates_failed", "windows" FROM "perf_run_index" WHERE "status" = 'passed' AND "profile" = 'smoke' ORDER BY time DESC LIMIT 10`);
    assert.deepEqual(green.map((r) => r.run_id), [runId]);
    assert.equal(green[0]!.git_sha, record.gitSha);
  });

  test('when InfluxDB is gone at the end, the outcome names the index and window points as not written', async () => {
    const dead = await startInflux();
    try {
      const runId = '20261204-233000-idx5';
      const t0 = Math.floor(Date.now() / 1000) - 60;
      const windows = windowsFile(t0);
      const finishedAt = new Date();
      const { s, messages } = await session(runId, new Redactor(), `${dead.url}/${DB}`);
      await dead.kill();
      const out = await s.finish({ phases: [], gates: [], status: 'passed', startedAt: new Date(t0 * 1000), finishedAt, runDir, index: indexRecord(runId, new Date(t0 * 1000), finishedAt), windows });
      assert.equal(out.status, 'partial');
      assert.equal(out.points?.written, 0);
      assert.equal(out.points?.unwritten, 1 + windowCount(windows) + 1);
      assert.deepEqual(out.points?.byMeasurement, { perf_run_index: 1, perf_run_windows: windowCount(windows), perf_run: 1 });
      assert.match(out.missing!.join('\n'), /perf_run_index ×1, perf_run_windows ×7, perf_run ×1/);
      assert.match(messages.join(''), /write failed/);
    } finally {
      await dead.stop();
    }
  });
});
