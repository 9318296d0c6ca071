import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ingestK6Csv } from '../analysis/k6-csv.ts';
import { requireK6 } from '../src/k6/k6.ts';
import { runK6, type K6LiveSnapshot } from '../src/k6/k6-run.ts';
import { startHelloServer, tempDir } from './helpers.ts';

// runK6 on the real k6 against a local server: the live figures come from k6's own REST API
// while it runs, and they are the run's real figures.

const SCRIPT = `import http from 'k6/http';
import { sleep } from 'k6';
export const options = { vus: 3, duration: '4s' };
// Every fourth iteration expects a 201 the server never sends: a quarter of requests fail.
const expect201 = http.expectedStatuses(201);
export default function () {
  if (__ITER % 4 === 0) http.get(__ENV.BASE + '/hello', { responseCallback: expect201 });
  else http.get(__ENV.BASE + '/hello');
  sleep(0.02);
}
`;

describe('runK6 live progress (real k6)', () => {
  let server: Awaited<ReturnType<typeof startHelloServer>>;
  before(async () => {
    server = await startHelloServer();
  });
  after(() => server.close());

  test('onProgress receives VUs, request counts, a p95 and the error rate while k6 runs', async () => {
    const dir = tempDir('perf-k6-run-');
    const script = path.join(dir, 'live.js');
    writeFileSync(script, SCRIPT);
    const snapshots: K6LiveSnapshot[] = [];
    const r = await runK6({ k6: await requireK6(), script, runDir: dir, label: 'live', env: { BASE: server.url }, expectedMs: 4000, onProgress: (s) => snapshots.push(s) });
    assert.equal(r.exitCode, 0);
    assert.ok(snapshots.length >= 2, `${snapshots.length} snapshots in a 4 s run`);
    const last = snapshots[snapshots.length - 1]!;
    assert.equal(last.scenario, 'live');
    assert.equal(last.vus, 3);
    assert.ok(last.requests > 20 && last.requests <= server.requests(), `${last.requests} requests so far, ${server.requests()} served in all`);
    assert.ok(last.requestsPerSec > 0);
    assert.ok(last.p95Ms !== undefined && last.p95Ms > 0 && last.p95Ms < 1000, `p95 ${last.p95Ms} ms`);
    assert.ok(last.errorRate > 0.15 && last.errorRate < 0.35, `error rate ${last.errorRate}`);
    // Cumulative figures never go backwards.
    for (let i = 1; i < snapshots.length; i++) assert.ok(snapshots[i]!.requests >= snapshots[i - 1]!.requests);
  });

  test("setup()'s data is not kept in the summary export: it may hold credentials perf does not know", async () => {
    const dir = tempDir('perf-k6-setup-');
    const script = path.join(dir, 'setup.js');
    const password = `pw-${process.pid}-${Date.now()}-not-a-known-secret`;
    writeFileSync(
      script,
      `import http from 'k6/http';
export const options = { vus: 1, iterations: 2 };
export function setup() { return { user: 'vu0', password: ${JSON.stringify(password)} }; }
export default function (data) { if (!data.password) throw new Error('no setup data'); http.get(__ENV.BASE + '/hello'); }
`,
    );
    const r = await runK6({ k6: await requireK6(), script, runDir: dir, label: 'setup', env: { BASE: server.url }, expectedMs: 2000 });
    assert.equal(r.exitCode, 0);
    const text = readFileSync(r.files.summary, 'utf8');
    const summary = JSON.parse(text) as { metrics: { iterations: { count: number } }; setup_data?: unknown };
    assert.equal(summary.metrics.iterations.count, 2, 'the summary is still k6\'s, with its metrics');
    assert.ok(!text.includes(password), 'the password setup() returned is not in the summary');
    assert.match(String(summary.setup_data), /not kept by perf/);
  });

  // Raw samples, k6's CSV output (src/k6/k6-raw.ts): a short run has k6 write them
  // plain, compressed by perf afterwards; a run k6 bounds above 10 minutes has k6 compress
  // as it writes.
  {
    const kind = 'csv';
    const k6For = () => requireK6();
    const where = (dir: string, label: string) => {
      const plain = path.join(dir, `k6-${label}-samples.${kind}`);
      return () => (existsSync(plain) ? 'plain' : existsSync(`${plain}.gz`) ? 'gzip' : 'none');
    };

    test(`a short run: plain while k6 runs, only the .gz afterwards, with every request`, async () => {
      const dir = tempDir('perf-k6-run-');
      const script = path.join(dir, 'short.js');
      writeFileSync(script, SCRIPT);
      const seen: string[] = [];
      const state = where(dir, 'short');
      const r = await runK6({ k6: await k6For(), script, runDir: dir, label: 'short', env: { BASE: server.url }, onProgress: () => seen.push(state()) });
      assert.equal(r.exitCode, 0);
      assert.ok(seen.includes('plain') && !seen.includes('gzip'), `while k6 ran: ${seen.join(',')}`);
      assert.equal(r.files.samples, path.join(dir, `k6-short-samples.${kind}.gz`));
      assert.equal(state(), 'gzip', 'the plain file is gone');
      const summary = JSON.parse(readFileSync(r.files.summary, 'utf8')) as { metrics: { http_reqs: { count: number } } };
      assert.equal((await ingestK6Csv(r.files.samples, new Map())).merged('http_reqs').count, summary.metrics.http_reqs.count);
    });

    test(`a run bounded above 10 minutes: k6 writes gzip itself, also when interrupted`, async () => {
      const dir = tempDir('perf-k6-run-');
      const script = path.join(dir, 'long.js');
      writeFileSync(script, SCRIPT.replace("duration: '4s'", "duration: '20m'"));
      const seen: string[] = [];
      const state = where(dir, 'long');
      const abort = new AbortController();
      const r = await runK6({
        k6: await k6For(),
        script,
        runDir: dir,
        label: 'long',
        env: { BASE: server.url },
        signal: abort.signal,
        onProgress: (s) => {
          seen.push(state());
          if (s.requests > 50) abort.abort();
        },
      });
      assert.equal(r.interrupted, true);
      assert.ok(seen.includes('gzip') && !seen.includes('plain'), `while k6 ran: ${seen.join(',')}`);
      assert.equal(r.files.samples, path.join(dir, `k6-long-samples.${kind}.gz`));
      assert.ok((await ingestK6Csv(r.files.samples, new Map())).merged('http_reqs').count > 50);
    });
  }
});
