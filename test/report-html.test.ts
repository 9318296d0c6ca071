// report.html (src/report/): the figures it plots, checked against an independent reading of a
// real k6 CSV; the page escaped and self-contained; and real runs' pages opened in real
// Chromium: no console error, no request but the file itself, every plot's canvas holding its
// data colour, the verdict, gates and checks there, a screenshot kept (report.png).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { K6_SYSTEM_TAGS } from '../analysis/k6-csv.ts';
import { launchChromium } from '../src/clients/browser.ts';
import { requireK6 } from '../src/k6/k6.ts';
import { Redactor } from '../src/redact/redact.ts';
import { buildReportData, scenarioReport, windowSecondsFor, type ReportData, type ScenarioReport } from '../src/report/report-data.ts';
import { esc, gateKey, renderRunHtml, scriptJson } from '../src/report/report-html.ts';
import { runPlots } from '../src/report/report-plots.ts';
import { writeRunReport } from '../src/report/report.ts';
import { htmlReporter } from '../src/reporters/html.ts';
import { ReporterMultiplexer } from '../src/reporters/reporter.ts';
import type { GateResult, Verdict } from '../src/run/verdict.ts';
import { configProject, readK6CsvSamples, REPO, runCli, runDirFromOutput, tempDir } from './helpers.ts';
import { readIssuedSecrets, scanText } from './secrets-scan.ts';
import { soakOutcome } from './fixtures/verdicts/soak.ts';

const SCRIPT = `
import http from 'k6/http';
import { Trend } from 'k6/metrics';
const fake = new Trend('ws_fake_latency', true);
export const options = { scenarios: { load: { executor: 'constant-vus', vus: 3, duration: '3s' } } };
export default function () {
  http.get(__ENV.BASE + '/fast');
  http.get(__ENV.BASE + '/slow');
  http.get(__ENV.BASE + '/fail');
  fake.add(5 + Math.random() * 10, { event: 'alpha' });
  fake.add(50, { event: 'beta' });
}
`;

/** A server with a fast, a slow (20–60 ms) and a failing (500) endpoint. */
async function startServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('slow'), 20 + Math.random() * 40);
    else if (req.url === '/fail') (res.statusCode = 500), res.end('no');
    else res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** Nearest-rank percentile of sorted values (less a hair: 0.95 × 20 is 19.000000000000004 in floating point). */
const rank = (sorted: number[], p: number) => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length - 1e-9)) - 1]!;
/** HDR keeps 3 significant digits: a percentile is the recorded value within 0.1 % (µs rounding too). */
const close = (got: number | null | undefined, want: number, what: string) =>
  assert.ok(got !== null && got !== undefined && Math.abs(got - want) <= want * 0.001 + 0.0015, `${what}: ${got} vs ${want}`);

describe('report data from a real k6 CSV', () => {
  let dir: string;
  let rows: ReturnType<typeof readK6CsvSamples>;
  let s: ScenarioReport;
  const gates = [
    { metric: 'http_req_duration{expected_response:true}', expression: 'p(95)<300', limit: 300, unit: 'ms', samples: 1, status: 'passed', scenarios: ['real'] },
    { metric: 'http_req_duration', expression: 'p(99)<5', limit: 5, unit: 'ms', samples: 1, status: 'failed', window: 'steady' },
    { metric: 'http_req_duration', expression: 'p(95)<1', limit: 1, unit: 'ms', samples: 1, status: 'passed', scenarios: ['other'] },
    { metric: 'http_req_failed', expression: 'rate<0.01', limit: 0.01, unit: 'ratio', samples: 1, status: 'failed' },
    { metric: 'ws_fake_latency', expression: 'p(95)<40', limit: 40, unit: 'ms', samples: 1, status: 'failed' },
  ] as GateResult[];

  before(async () => {
    const server = await startServer();
    dir = tempDir('perf-report-k6-');
    writeFileSync(path.join(dir, 'script.js'), SCRIPT);
    const k6 = await requireK6();
    try {
      // Not execFileSync: the server answering k6 runs on this process's event loop.
      await promisify(execFile)(k6.path, ['run', '-q', '--no-usage-report', `--summary-export=${dir}/summary.json`, `--out=csv=${dir}/samples.csv`, `--out=csv=${dir}/samples.csv.gz`, `${dir}/script.js`], {
        env: { ...process.env, BASE: server.url, K6_AUTO_EXTENSION_RESOLUTION: 'false', K6_SYSTEM_TAGS: K6_SYSTEM_TAGS.join(','), K6_CSV_TIME_FORMAT: 'unix_nano' },
      });
    } finally {
      await server.close();
    }
    rows = readK6CsvSamples(readFileSync(path.join(dir, 'samples.csv'), 'utf8'));
    s = await scenarioReport({ scenario: 'real', durationMs: 3500, files: { summary: 'summary.json' } as never }, path.join(dir, 'samples.csv.gz'), 'samples.csv.gz', dir, gates, 1);
  });

  const sec = (ts: string) => Number(ts.slice(0, -9));
  const ms = (ts: string) => Number(ts.slice(0, -9)) * 1000 + Number(ts.slice(-9)) / 1e6;

  test('1 s windows from the first sample to the last, each with its requests and failures per second', () => {
    const durations = rows.filter((r) => r.metric === 'http_req_duration');
    assert.ok(durations.length > 30, `k6 made ${durations.length} requests`);
    const first = Math.min(...rows.map((r) => sec(r.timestamp)));
    const last = Math.max(...rows.map((r) => sec(r.timestamp)));
    assert.equal(s.windowSeconds, 1);
    assert.equal(s.startUnix, first);
    assert.deepEqual(s.t, Array.from({ length: last - first + 1 }, (_, i) => i));
    s.t.forEach((t, i) => {
      const inWindow = (r: (typeof rows)[number]) => sec(r.timestamp) === first + t;
      assert.equal(s.requestsPerSec[i], durations.filter(inWindow).length, `requests/s at ${t}`);
      assert.equal(s.failedPerSec[i], rows.filter((r) => r.metric === 'http_req_failed' && r.value === 1 && inWindow(r)).length, `failed/s at ${t}`);
    });
    assert.ok(s.failedPerSec.some((x) => x > 0), 'the /fail requests are counted');
    assert.equal(s.overall.requests, durations.length);
    assert.equal(s.overall.failed, rows.filter((r) => r.metric === 'http_req_failed' && r.value === 1).length);
    assert.equal(s.samples, rows.length);
  });

  test('p50/p95/p99 per window and overall are the nearest-rank percentiles of the samples', () => {
    const first = s.startUnix;
    s.t.forEach((t, i) => {
      const values = rows.filter((r) => r.metric === 'http_req_duration' && sec(r.timestamp) === first + t).map((r) => r.value).sort((a, b) => a - b);
      if (!values.length) return assert.equal(s.latency.p95[i], null);
      close(s.latency.p50[i], rank(values, 50), `p50 at ${t}`);
      close(s.latency.p95[i], rank(values, 95), `p95 at ${t}`);
      close(s.latency.p99[i], rank(values, 99), `p99 at ${t}`);
    });
    const all = rows.filter((r) => r.metric === 'http_req_duration').map((r) => r.value).sort((a, b) => a - b);
    close(s.overall.p95, rank(all, 95), 'overall p95');
    assert.ok(s.overall.p95 >= 20, `the slow endpoint shows in p95: ${s.overall.p95}`);
  });

  test('requests in flight per window: the overlap of every scenario request with the window (brute force)', () => {
    const reqs = rows.filter((r) => r.metric === 'http_req_duration' && r.tags.scenario).map((r) => ({ end: ms(r.timestamp), start: ms(r.timestamp) - r.value }));
    s.t.forEach((t, i) => {
      const from = (s.startUnix + t) * 1000;
      const busy = reqs.reduce((n, r) => n + Math.max(0, Math.min(r.end, from + 1000) - Math.max(r.start, from)), 0);
      assert.ok(Math.abs(s.inFlight[i]! - busy / 1000) < 0.002, `in flight at ${t}: ${s.inFlight[i]} vs ${busy / 1000}`);
    });
    assert.ok(Math.max(...s.inFlight) > 0.1, 'three VUs keep requests in flight');
    assert.ok(s.vus.some((v) => v === 3), `k6's vus gauge: ${s.vus.join(',')}`);
  });

  test('the distribution holds every request in log bins; WebSocket-named trends split by event', () => {
    const all = rows.filter((r) => r.metric === 'http_req_duration').map((r) => r.value);
    assert.equal(s.distribution.reduce((n, b) => n + b.count, 0), all.length);
    for (const b of s.distribution) {
      // The histograms hold whole microseconds to 3 significant digits: a value within 0.1 % or
      // 1 µs of a bin edge may fall on either side of it.
      const inside = all.filter((v) => v >= b.fromMs * 1.001 + 0.001 && v < b.toMs * 0.999 - 0.001).length;
      const loose = all.filter((v) => v >= b.fromMs * 0.999 - 0.001 && v < b.toMs * 1.001 + 0.001).length;
      assert.ok(b.count >= inside && b.count <= loose, `bin ${b.fromMs}–${b.toMs}: ${b.count} not in [${inside}, ${loose}]`);
    }
    assert.deepEqual(s.ws.map((t) => t.label), ['ws_fake_latency{event=alpha}', 'ws_fake_latency{event=beta}']);
    const beta = s.ws[1]!;
    assert.equal(beta.overall.count, rows.filter((r) => r.metric === 'ws_fake_latency' && r.tags.extra_tags?.includes('event=beta')).length);
    close(beta.overall.p95, 50, 'beta p95');
    for (const [i, c] of beta.count.entries()) if (c) close(beta.p99[i], 50, `beta p99 at ${s.t[i]}`);
  });

  test('gate lines: percentile gates of the plotted metrics that apply to the scenario; the ramp-up from the first sample', () => {
    assert.deepEqual(
      s.gateLines.map((g) => [g.label, g.limit, g.status]),
      [
        ['http_req_duration{expected_response:true} p(95)<300', 300, 'passed'],
        ['http_req_duration p(99)<5 (steady)', 5, 'failed'],
        ['ws_fake_latency p(95)<40', 40, 'failed'],
      ],
    );
    const first = Math.min(...rows.map((r) => sec(r.timestamp)));
    assert.deepEqual(s.rampUp, { from: first - s.startUnix, to: first - s.startUnix + 1 });
  });

  test('window length: 1 s up to 2000 s, then whole seconds keeping a plot under 2000 points', () => {
    assert.equal(windowSecondsFor(undefined), 1);
    assert.equal(windowSecondsFor(2_000_000), 1);
    assert.equal(windowSecondsFor(2_000_001), 2);
    assert.equal(windowSecondsFor(8 * 3_600_000), 15);
  });

  test('the page: plots as data, every value escaped, nothing that can end a script element', async () => {
    const hostile = '</script><img src=x onerror=alert(1)>';
    const verdict = fakeVerdict(hostile, dir);
    const d: ReportData = { verdict, scenarios: [{ ...s, scenario: hostile }], notes: [], profile: 'smoke', rampUpSeconds: 2 };
    const html = renderRunHtml(d);
    assert.equal(html.match(/<script\b/g)?.length, 3, 'the JSON block, uPlot, the renderer: no other script');
    assert.equal(html.match(/<\/script>/g)?.length, 3);
    assert.doesNotMatch(html, /<img\b/);
    assert.ok(html.includes(esc(hostile)));
    const json = /<script type="application\/json" id="perf-plots">([^<]*)<\/script>/.exec(html)?.[1];
    assert.ok(json, 'the JSON block holds no "<"');
    assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(runPlots(d))));
    // Links only to plain relative paths of the run folder.
    assert.match(html, /<a href="trace%20one\.zip">trace one\.zip<\/a>/);
    assert.doesNotMatch(html, /href="(?:https?:|\/|\.\.)/);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.equal(JSON.parse(scriptJson('a</b\u2028')), 'a</b\u2028');
  });

  test('soak: the Soak section (drift gates, budgets, memory), its two plots drawn in Chromium, the drift spans shaded', async () => {
    // The real scenario renamed after the fixture's, its windows at the scenario's own times: 1 s windows, spans of 1.
    const soak = soakOutcome(s.startUnix, 1, 1);
    const verdict: Verdict = { ...fakeVerdict('x', dir), soak };
    const d: ReportData = { verdict, scenarios: [{ ...s, scenario: 'multi-user' }], notes: [] };
    const plots = runPlots(d);
    const budget = plots.find((p) => p.id === 'soak-budget')!;
    assert.deepEqual(budget.data, [[0, 1, 2, 3, 4, 5], [100, 100, 100, 100, 100, 100], [2, 5, 9, 12, 30, 34]]);
    assert.deepEqual(budget.series.map((x) => x.label), ['100 %', 'multi-user (http_req_failed)']);
    const memory = plots.find((p) => p.id === 'soak-memory')!;
    assert.deepEqual(memory.data[0], Array.from({ length: 10 }, (_, i) => i * 6));
    assert.deepEqual(memory.data[1], soak.memory[0]!.series.map((x) => x[1]));
    // The first and last drift spans on the scenario's latency plot, once each (both gates used the same windows).
    assert.deepEqual(
      plots.find((p) => p.id === 's0-latency')!.bands?.map((b) => [b.from, b.to, b.label]),
      [
        [1, 2, 'drift: first 1'],
        [3, 4, 'drift: last 1'],
      ],
    );
    const html = renderRunHtml(d);
    assert.match(html, /<section id="soak"><h2>Soak<\/h2>/);
    assert.match(html, /<a href="#soak">soak<\/a>/);
    assert.doesNotMatch(renderRunHtml({ ...d, verdict: fakeVerdict('x', dir) }), /id="soak"/, 'no section without verdict.soak');
    const file = path.join(dir, 'soak-report.html');
    writeFileSync(file, html);

    const browser = await launchChromium();
    try {
      const { errors, requests, plots: drawn, text, page } = await plotPixels(browser, file);
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, [pathToFileURL(file).href], 'the page loads nothing');
      for (const id of ['soak-budget', 'soak-memory', 's0-latency']) assert.ok((drawn.find((p) => p.id === id)?.pixels ?? 0) > 30, `plot ${id} drew its data: ${JSON.stringify(drawn)}`);
      const title = 'http_req_duration{expected_response:true} p(95) max drift +20%';
      assert.equal(await page.getAttribute(`#soak tr[data-drift-gate="${title}"]`, 'data-status'), 'failed');
      assert.equal(await page.getAttribute('#soak tr[data-drift-gate="http_req_failed rate max drift +50%"]', 'data-status'), 'passed');
      assert.equal(await page.getAttribute('#soak tr[data-error-budget="multi-user"]', 'data-status'), 'failed');
      assert.equal(await page.getAttribute('#soak tr[data-memory="sample-app"]', 'data-status'), 'passed');
      const soakText = await page.locator('#soak').innerText();
      assert.match(soakText, /multi-user\s+12\.1 ms\s+31\.4 ms\s+\+159\.5%\s+0\.004\s+failed/);
      assert.match(soakText, /ws-events: 8 ms → 8\.2 ms .*stable/);
      assert.match(soakText, /34 %/);
      assert.match(soakText, /\+12 MB\/h/);
      assert.match(soakText, /api was not started by perf/);
      assert.match(text, /Soak/);
      // The drift spans' translucent blue, alone on the latency canvas's transparent background.
      const shaded = await page.evaluate(() => {
        const canvas = document.querySelector<HTMLCanvasElement>('[data-plot="s0-latency"] canvas')!;
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0;
        for (let i = 0; i < data.length; i += 4) if (data[i + 3]! >= 15 && data[i + 3]! <= 40 && Math.abs(data[i]! - 31) <= 12 && Math.abs(data[i + 1]! - 119) <= 12 && Math.abs(data[i + 2]! - 180) <= 12) n++;
        return n;
      });
      assert.ok(shaded > 1000, `drift spans shaded: ${shaded} pixels`);
      await page.close();
    } finally {
      await browser.close();
    }
  });

  test('a report that cannot be written is a message from the multiplexer, not a crash', async () => {
    const runDir = tempDir('perf-report-unwritable-');
    mkdirSync(path.join(runDir, 'report.html')); // a folder where the file should go
    writeFileSync(path.join(runDir, 'verdict.json'), JSON.stringify(fakeVerdict('x', runDir)));
    let err = '';
    const mux = new ReporterMultiplexer([htmlReporter({ redactor: new Redactor() })], { stream: { write: (t: string) => (err += t) } });
    await mux.onRunEnd(fakeVerdict('x', runDir), runDir);
    assert.equal(mux.failures.length, 1);
    assert.match(err, /perf: reporter "html" failed in onRunEnd: report\.html not written: /);
    assert.deepEqual(readdirSync(runDir).sort(), ['report.html', 'verdict.json'], 'no temporary file left');
  });
});

/** A verdict whose every text field holds `text`, with a file evidence and a failing gate. */
function fakeVerdict(text: string, _dir: string): Verdict {
  return {
    schema: 'perf.verdict/v1',
    runId: 'r-1',
    status: 'failed',
    startedAt: '2026-12-04T00:00:00.000Z',
    finishedAt: '2026-12-04T00:00:10.000Z',
    durationMs: 10_000,
    manifest: { perfVersion: '0', nodeVersion: 'v20', argv: [] },
    reasons: [text],
    gates: [{ metric: `http_req_duration{name:${text}}`, expression: 'p(95)<300', limit: 300, unit: 'ms', samples: 3, status: 'failed', observed: 400, description: text }],
    phases: [
      {
        name: 'smoke',
        status: 'failed',
        startedAt: '2026-12-04T00:00:00.000Z',
        durationMs: 5,
        reason: text,
        checks: [
          {
            name: text,
            status: 'failed',
            attempts: 1,
            durationMs: 3,
            error: text,
            correlationIds: [],
            evidence: [
              { kind: 'http', correlationId: 'c', method: 'GET', url: `http://127.0.0.1:1/${text}`, requestHeaders: { 'x-a': text }, responseBody: text, status: 500, startedAt: 'now', durationMs: 1 },
              { kind: 'ws', url: 'ws://127.0.0.1:1/ws', frames: [{ dir: 'in', atMs: 1, data: text }] },
              { kind: 'sql', query: text, rows: [{ a: text }], durationMs: 1 },
              { kind: 'note', message: text, data: { text } },
              { kind: 'file', path: 'trace one.zip', description: text },
              { kind: 'file', path: '../outside.png', description: 'outside' },
              { kind: 'file', path: 'https://example.invalid/x.png', description: 'remote' },
            ],
          },
        ],
      },
    ],
  };
}

/** Pixels of `color` (±40 per channel) in each plot's canvas, after the page rendered its plots. */
async function plotPixels(browser: Browser, file: string): Promise<{ errors: string[]; requests: string[]; plots: { id: string; pixels: number }[]; text: string; page: import('playwright-core').Page }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-plots-rendered]', { timeout: 15_000 });
  const plots = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('[data-plot]')].map((el) => {
      const hex = el.getAttribute('data-probe-color') ?? '#000000';
      const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      const canvas = el.querySelector('canvas');
      let pixels = 0;
      if (canvas && canvas.width && canvas.height) {
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 0; i < data.length; i += 4) {
          if (data[i + 3]! > 200 && Math.abs(data[i]! - want[0]!) <= 40 && Math.abs(data[i + 1]! - want[1]!) <= 40 && Math.abs(data[i + 2]! - want[2]!) <= 40) pixels++;
        }
      }
      return { id: el.getAttribute('data-plot')!, pixels };
    }),
  );
  const text = await page.evaluate(() => document.body.innerText);
  return { errors, requests, plots, text, page };
}

describe('report.html of real runs (sample-app, k6, Chromium)', () => {
  let browser: Browser;
  let project: string;
  let healthy: { dir: string; verdict: Verdict; stderr: string; secrets: ReturnType<typeof readIssuedSecrets> };
  let failing: { dir: string; verdict: Verdict };

  before(async () => {
    // Gates the short run cannot feed enough samples pass with a note instead of failing it (crossing a limit still fails).
    project = configProject('gates: base.gates.map((g) => ({ ...g, allowInsufficientData: true }))', 'perf-report-');
    // The same project, with latency the default gates do not tolerate: its runs go to the same .perf/runs.
    writeFileSync(
      path.join(project, 'slow.config.ts'),
      `import base from './perf.config.ts';\nimport { defineConfig } from 'perf-harness';\nexport default defineConfig({ ...base, sampleApp: { faults: { latencyMs: 350 } } });\n`,
    );
    const issued = path.join(project, 'issued-secrets.jsonl');
    // Two of the three default scenarios: HTTP journeys and WebSocket agent sessions, enough for every plot.
    const args = ['--scenario', 'multi-user,ws-events', '--users', '3', '--profile', 'smoke', '--duration', '4s', '--reporter', 'console'];
    const [a, b] = await Promise.all([
      runCli(['run', '--phase', 'health,smoke,load', ...args], { cwd: project, env: { SAMPLE_APP_ISSUED_SECRETS_LOG: issued }, timeoutMs: 240_000 }),
      launchChromium().then((x) => (browser = x)),
    ]);
    assert.equal(a.code, 0, a.stderr);
    const dir = runDirFromOutput(project, a.stderr);
    healthy = { dir, verdict: JSON.parse(readFileSync(path.join(dir, 'verdict.json'), 'utf8')) as Verdict, stderr: a.stderr, secrets: readIssuedSecrets(issued) };
    void b;
    const f = await runCli(['run', '--config', 'slow.config.ts', '--phase', 'load', ...args], { cwd: project, timeoutMs: 240_000 });
    assert.equal(f.code, 1, f.stderr);
    const fdir = runDirFromOutput(project, f.stderr);
    failing = { dir: fdir, verdict: JSON.parse(readFileSync(path.join(fdir, 'verdict.json'), 'utf8')) as Verdict };
  });
  after(async () => {
    await browser?.close();
  });

  test('a passing run: verdict, gates, checks and every plot drawn; no console error, no request; screenshot kept', async () => {
    const file = path.join(healthy.dir, 'report.html');
    assert.ok(existsSync(file), 'perf run wrote report.html');
    const html = readFileSync(file, 'utf8');
    // Only what the redacted verdict and the samples hold: none of the tokens and passwords the app issued.
    assert.ok(healthy.secrets.length >= 3, `secrets issued: ${healthy.secrets.length}`);
    assert.deepEqual(scanText('report.html', html, healthy.secrets), []);

    const { errors, requests, plots, text, page } = await plotPixels(browser, file);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [pathToFileURL(file).href], 'the page loads nothing');
    assert.equal(await page.getAttribute('#verdict', 'data-status'), 'passed');
    assert.match(text, /perf run \S+: PASSED/);
    const scenarios = healthy.verdict.phases.flatMap((p) => p.k6 ?? []).map((k) => k.scenario);
    assert.deepEqual(scenarios.sort(), ['multi-user', 'ws-events']);
    const ids = plots.map((p) => p.id);
    for (const kind of ['latency', 'throughput', 'concurrency']) assert.equal(ids.filter((i) => i.endsWith(`-${kind}`)).length, 2, `${kind} plots: ${ids.join(' ')}`);
    assert.ok(ids.some((i) => i.endsWith('-ws')), 'the ws-events scenario has a WebSocket plot');
    assert.ok(ids.includes('distribution'));
    for (const p of plots) assert.ok(p.pixels > 30, `plot ${p.id} drew its data (${p.pixels} pixels of its colour)`);
    const gates = healthy.verdict.gates ?? [];
    assert.ok(gates.length >= 8);
    for (const g of gates) {
      const same = gates.filter((x) => gateKey(x) === gateKey(g)).length;
      assert.equal(await page.locator(`tr.gate[data-gate="${gateKey(g)}"]`).count(), same, `gate ${gateKey(g)} listed`);
    }
    assert.equal(await page.locator('tr.gate').count(), gates.length);
    const checks = healthy.verdict.phases.flatMap((p) => (p.checks ?? []).map((c) => c.name));
    assert.ok(checks.length > 10);
    for (const name of checks) assert.ok((await page.locator(`tr.check[data-check="${name}"]`).count()) >= 1, `check ${name} listed`);
    assert.match(text, /ws_time_to_first_event/);
    const png = path.join(healthy.dir, 'report.png');
    await page.screenshot({ path: png, fullPage: true });
    await page.close();
    assert.ok(readFileSync(png).length > 20_000);
    // The README's picture is refreshed on request only: a test run leaves the checkout as it found it.
    if (process.env.PERF_UPDATE_SCREENSHOT === '1') {
      mkdirSync(path.join(REPO, 'docs', 'img'), { recursive: true });
      copyFileSync(png, path.join(REPO, 'docs', 'img', 'report.png'));
    }
  });

  test('a run with failing gates: FAILED at the top, the failing gates marked failed', async () => {
    const file = path.join(failing.dir, 'report.html');
    const { errors, plots, text, page } = await plotPixels(browser, file);
    assert.deepEqual(errors, []);
    assert.equal(await page.getAttribute('#verdict', 'data-status'), 'failed');
    assert.match(text, /perf run \S+: FAILED/);
    const failed = (failing.verdict.gates ?? []).filter((g) => g.status === 'failed');
    assert.ok(failed.some((g) => g.expression === 'p(95)<300'), `failed gates: ${failed.map((g) => g.expression).join(', ')}`);
    for (const g of failed) assert.equal(await page.getAttribute(`tr.gate[data-gate="${gateKey(g)}"]`, 'data-status'), 'failed');
    assert.equal(await page.locator('tr.gate[data-status="failed"]').count(), failed.length);
    // The first reason is on the page as written.
    assert.ok(text.includes(failing.verdict.reasons[0]!.split('\n')[0]!.slice(0, 60)));
    for (const p of plots) assert.ok(p.pixels > 30, `plot ${p.id} drew its data`);
    await page.screenshot({ path: path.join(failing.dir, 'report.png'), fullPage: true });
    await page.close();
  });

  test('perf report <run-id> regenerates it; --compare draws both runs; an unknown run exits 2 naming where it looked', async () => {
    const file = path.join(healthy.dir, 'report.html');
    rmSync(file);
    const elsewhere = tempDir('perf-report-cwd-');
    const r = await runCli(['report', healthy.verdict.runId, '--config', path.join(project, 'perf.config.ts')], { cwd: elsewhere });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(file));
    assert.match(readFileSync(file, 'utf8'), new RegExp(`perf run ${healthy.verdict.runId}`));

    const c = await runCli(['report', '--compare', healthy.verdict.runId, failing.verdict.runId], { cwd: project });
    assert.equal(c.code, 0, c.stderr);
    const out = path.join(project, '.perf', 'compare', `${healthy.verdict.runId}-vs-${failing.verdict.runId}.html`);
    assert.match(c.stdout, /wrote .*\.html/);
    const { errors, requests, plots, text, page } = await plotPixels(browser, out);
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [pathToFileURL(out).href]);
    assert.ok(text.includes(healthy.verdict.runId) && text.includes(failing.verdict.runId));
    assert.match(text, /PASSED[\s\S]*FAILED/);
    assert.equal(plots.filter((p) => p.id.endsWith('-latency')).length, 2);
    for (const p of plots) assert.ok(p.pixels > 30, `compare plot ${p.id} drew its data`);
    assert.equal(await page.locator('table.gates').count(), 2, 'the two gate tables');
    assert.doesNotMatch(readFileSync(out, 'utf8'), /href="k6-/, 'no link to a run folder\'s file from outside it');
    await page.close();

    const u = await runCli(['report', 'no-such-run'], { cwd: project });
    assert.equal(u.code, 2, u.stderr);
    assert.ok(u.stderr.includes(path.join(project, '.perf', 'runs', 'no-such-run', 'verdict.json')), u.stderr);
  });

  test('the checks above can fail: an empty plot has none of its colour, a page with an image makes a request', async () => {
    const dir = tempDir('perf-report-controls-');
    const verdict = fakeVerdict('x', dir);
    const empty: ScenarioReport = {
      ...(await buildReportData(failing.dir, failing.verdict)).scenarios[0]!,
    };
    const blank = { ...empty, latency: { p50: empty.t.map(() => null), p95: empty.t.map(() => null), p99: empty.t.map(() => null) }, gateLines: [] };
    writeFileSync(path.join(dir, 'verdict.json'), JSON.stringify(verdict));
    writeFileSync(path.join(dir, 'report.html'), renderRunHtml({ verdict, scenarios: [blank], notes: [] }));
    const r = await plotPixels(browser, path.join(dir, 'report.html'));
    assert.equal(r.plots.find((p) => p.id === 's0-latency')!.pixels, 0, 'no data, no pixels of the p95 colour');
    await r.page.close();
    // Port 9 (discard): nothing answers, but the request is made, and seen.
    writeFileSync(path.join(dir, 'control.html'), '<img src="http://127.0.0.1:9/pixel.png"><body data-plots-rendered="0"></body>');
    const c = await plotPixels(browser, path.join(dir, 'control.html'));
    assert.equal(c.requests.length, 2, c.requests.join(' '));
    await c.page.close();
  });

  test('a run that fails before any phase still gets its report, saying why', async () => {
    const r = await runCli(['run', '--scenario', 'no-such-scenario', '--reporter', 'console'], { cwd: project });
    assert.equal(r.code, 2, r.stderr);
    const dir = runDirFromOutput(project, r.stderr);
    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    assert.match(html, /: FAILED<\/h1>/);
    assert.match(html, /no-such-scenario/);
    assert.match(html, /No load samples in this run/);
    // Regenerated from the folder alone, the same page.
    await writeRunReport(dir);
    assert.match(readFileSync(path.join(dir, 'report.html'), 'utf8'), /no-such-scenario/);
  });
});
