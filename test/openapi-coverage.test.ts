// Endpoint coverage (src/openapi/coverage.ts): which operations of `smoke.openapi`'s document the
// run exercised in smoke, flows and load. Units on hand-made phase results and a real document
// (read by swagger-parser from a temp file) and real k6 CSV text; the reporters' section; then
// the real k6 tagging requests (scenarios/lib/http.ts) against a local server; then a whole run
// of examples/notes against the real notes-service.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { CsvIngest } from '../analysis/k6-csv.ts';
import type { HttpExchange } from '../src/checks/types.ts';
import { computeCoverage, loadOperationHits, operationsEnv, pathUnderBase, type EndpointCoverage } from '../src/openapi/coverage.ts';
import { loadOpenApi, type OpenApiDocument } from '../src/openapi/document.ts';
import { Redactor } from '../src/redact/redact.ts';
import { consoleReporter } from '../src/reporters/console.ts';
import { renderGithubSummary } from '../src/reporters/github.ts';
import type { PhaseResult, Verdict } from '../src/run/verdict.ts';
import { capture } from './fixtures/verdicts/harness.ts';
import { passingVerdict } from './fixtures/verdicts/passing.ts';
import { readVerdictFromOutput, REPO, runCli, runDirFromOutput, tempDir } from './helpers.ts';

const DOC = `openapi: 3.0.3
info: { title: units, version: '1' }
paths:
  /api/notes:
    get: { operationId: listNotes, responses: { '200': { description: ok } } }
    post: { responses: { '201': { description: created } } }
  /api/notes/mine:
    get: { responses: { '200': { description: ok } } }
  /api/notes/{id}:
    parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
    get: { responses: { '200': { description: ok } } }
    delete: { responses: { '204': { description: gone } } }
  /api/notes/{id}/summary:
    parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
    get: { responses: { '200': { description: ok } } }
  /status:
    get: { responses: { '200': { description: ok } } }
`;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let doc: OpenApiDocument;
before(async () => {
  const dir = tempDir('perf-coverage-doc-');
  dirs.push(dir);
  writeFileSync(path.join(dir, 'openapi.yaml'), DOC);
  doc = await loadOpenApi('openapi.yaml', dir);
});

let seq = 0;
function ex(method: string, url: string, status?: number): HttpExchange {
  return {
    kind: 'http',
    correlationId: `c-${++seq}`,
    method,
    url,
    requestHeaders: {},
    ...(status !== undefined ? { status } : { error: 'connection refused' }),
    startedAt: new Date(0).toISOString(),
    durationMs: 1,
  };
}

function phase(name: string, exchanges: HttpExchange[], status: PhaseResult['status'] = 'passed'): PhaseResult {
  return {
    name,
    status,
    startedAt: new Date(0).toISOString(),
    durationMs: 1,
    // Two checks, so evidence is gathered across checks.
    checks: [
      { name: `${name}_a`, status: 'passed', attempts: 1, durationMs: 1, correlationIds: [], evidence: exchanges.slice(0, 2) },
      { name: `${name}_b`, status: 'failed', attempts: 1, durationMs: 1, correlationIds: [], evidence: [{ kind: 'note', message: 'x' }, ...exchanges.slice(2)] },
    ],
  };
}

function loadPhaseResult(operations: { byId: Record<string, { requests: number; statuses: Record<string, number> }>; unattributed: number }): PhaseResult {
  return {
    name: 'load',
    status: 'passed',
    startedAt: new Date(0).toISOString(),
    durationMs: 1,
    k6: [
      {
        scenario: 'journey',
        script: 'x.js',
        exitCode: 0,
        meaning: 'ok',
        thresholds: [],
        scriptErrors: [],
        durationMs: 1,
        files: {},
        analysis: { samples: 1, requests: 1, requestsPerSec: 1, errorRate: 0, droppedIterations: 0, windows: [], operations },
      },
    ],
  };
}

/** k6's raw samples (gzipped by perf when the name ends in .gz). */
const samplesText = (file: string) => (file.endsWith('.gz') ? gunzipSync(readFileSync(file)) : readFileSync(file)).toString('utf8');

const op = (c: EndpointCoverage, id: string) => {
  const o = c.operations.find((x) => x.id === id);
  assert.ok(o, `operation ${id} in ${c.operations.map((x) => x.id).join(', ')}`);
  return o;
};
const marks = (c: EndpointCoverage) => Object.fromEntries(c.operations.map((o) => [o.id, [o.smoke, o.flows, o.load]]));

describe('computeCoverage on hand-made phase results', () => {
  const BASE = 'http://127.0.0.1:4000';

  test('each phase column from what it got an answer from; templated paths match one segment; exact paths first', () => {
    const c = computeCoverage({
      document: doc,
      baseUrl: BASE,
      phases: [
        phase('health', [ex('GET', `${BASE}/api/notes/summary-not-counted`, 200)]),
        phase('smoke', [
          ex('GET', `${BASE}/api/notes/42`, 200),
          // One segment too many: no operation (not /api/notes/{id}).
          ex('GET', `${BASE}/api/notes/42/x`, 404),
          // The exact path wins over /api/notes/{id}; the query is not part of the path.
          ex('GET', `${BASE}/api/notes/mine?limit=5`, 200),
          // No answer: not exercised.
          ex('POST', `${BASE}/api/notes`),
          // Another host: not this target's operation.
          ex('GET', 'http://127.0.0.2:4000/api/notes', 200),
          ex('GET', `${BASE}/status`, 200),
          ex('GET', `${BASE}/status`, 503),
        ]),
        phase('flows', [ex('DELETE', `${BASE}/api/notes/7`, 204), ex('get', `${BASE}/api/notes`, 200), ex('GET', `${BASE}/api/notes/7`, 404)]),
        loadPhaseResult({ byId: { listNotes: { requests: 10, statuses: { '200': 10 } }, 'POST /api/notes': { requests: 5, statuses: { '201': 4, '500': 1 } } }, unattributed: 3 }),
      ],
    });
    assert.deepEqual(marks(c), {
      listNotes: [false, true, true],
      'POST /api/notes': [false, false, true],
      'GET /api/notes/mine': [true, false, false],
      'GET /api/notes/{id}': [true, true, false],
      'DELETE /api/notes/{id}': [false, true, false],
      'GET /api/notes/{id}/summary': [false, false, false],
      'GET /status': [true, false, false],
    });
    assert.equal(c.document, 'openapi.yaml');
    assert.equal(c.title, 'units');
    assert.equal(c.total, 7);
    assert.equal(c.exercised, 6);
    assert.equal(c.percent, 85.7);
    assert.deepEqual(c.byPhase, {
      smoke: { ran: true, count: 3, percent: 42.9, unattributed: 2 },
      flows: { ran: true, count: 3, percent: 42.9, unattributed: 0 },
      load: { ran: true, count: 2, percent: 28.6, unattributed: 3 },
    });
    assert.deepEqual(c.untouched, ['GET /api/notes/{id}/summary']);
    assert.deepEqual(c.excluded, []);
    assert.deepEqual(op(c, 'GET /status').hits, { smoke: { requests: 2, statuses: { '200': 1, '503': 1 } } });
    assert.deepEqual(op(c, 'GET /api/notes/{id}').hits, { smoke: { requests: 1, statuses: { '200': 1 } }, flows: { requests: 1, statuses: { '404': 1 } } });
    assert.deepEqual(op(c, 'POST /api/notes').hits, { load: { requests: 5, statuses: { '201': 4, '500': 1 } } });
    assert.deepEqual(op(c, 'listNotes'), { id: 'listNotes', method: 'GET', path: '/api/notes', smoke: false, flows: true, load: true, hits: { flows: { requests: 1, statuses: { '200': 1 } }, load: { requests: 10, statuses: { '200': 10 } } } });
  });

  test("a base URL's path prefix is stripped; excluded operations are left out (and never taken for a templated one); a skipped phase did not run", () => {
    const base = 'http://127.0.0.1:4000/v1/';
    const c = computeCoverage({
      document: doc,
      baseUrl: base,
      exclude: ['listNotes', 'get /api/notes/mine'],
      phases: [
        phase('smoke', [
          ex('GET', 'http://127.0.0.1:4000/v1/api/notes/42', 200),
          // Not under /v1: not this target's.
          ex('GET', 'http://127.0.0.1:4000/api/notes/43', 200),
          ex('DELETE', 'http://127.0.0.1:4000/v10/api/notes/43', 204),
          // Excluded: neither /api/notes/{id} nor unattributed.
          ex('GET', 'http://127.0.0.1:4000/v1/api/notes/mine', 200),
          ex('GET', 'http://127.0.0.1:4000/v1/api/notes', 200),
        ]),
        phase('flows', [ex('POST', 'http://127.0.0.1:4000/v1/api/notes', 201)], 'skipped'),
      ],
    });
    assert.equal(c.total, 5);
    assert.deepEqual(c.excluded, ['listNotes', 'GET /api/notes/mine']);
    assert.ok(!c.operations.some((o) => o.id === 'listNotes' || o.id === 'GET /api/notes/mine'));
    assert.deepEqual(op(c, 'GET /api/notes/{id}').hits, { smoke: { requests: 1, statuses: { '200': 1 } } });
    assert.equal(c.exercised, 1, 'GET /api/notes/{id} in smoke; the skipped flows phase counts for nothing');
    assert.deepEqual(c.byPhase.smoke, { ran: true, count: 1, percent: 20, unattributed: 2 });
    assert.equal(c.byPhase.flows.ran, false);
    assert.deepEqual(c.byPhase.load, { ran: false, count: 0, percent: 0, unattributed: 0 });
    assert.deepEqual(c.untouched, ['POST /api/notes', 'DELETE /api/notes/{id}', 'GET /api/notes/{id}/summary', 'GET /status']);
  });

  test('pathUnderBase: origin and prefix must match; the query goes', () => {
    assert.equal(pathUnderBase('http://h:1/v1/a/b?x=1', 'http://h:1/v1'), '/a/b');
    assert.equal(pathUnderBase('http://h:1/v1', 'http://h:1/v1/'), '/');
    assert.equal(pathUnderBase('http://h:1/v1x/a', 'http://h:1/v1'), undefined);
    assert.equal(pathUnderBase('https://h:1/v1/a', 'http://h:1/v1'), undefined);
    assert.equal(pathUnderBase('http://h:1/a?b', 'http://h:1'), '/a');
    assert.equal(pathUnderBase('not a url', 'http://h:1'), undefined);
  });
});

describe('load: operations from k6 samples', () => {
  const HEADER = 'metric_name,timestamp,metric_value,check,error_code,expected_response,group,method,name,scenario,status,extra_tags,metadata';
  const row = (metric: string, method: string, name: string, status: string, extra = '') => `${metric},1700000000000000000,1,,${status === '0' ? '1050' : ''},${status === '0' ? 'false' : 'true'},,${method},${name},journey,${status},${extra},`;

  test('the `operation` tag, else a `name` that is the URL (under the base URL, k6 `http.url` templates too); unanswered requests left out', () => {
    const ingest = new CsvIngest(new Map());
    ingest.push(
      [
        HEADER,
        ...Array.from({ length: 3 }, () => row('http_reqs', 'GET', 'notes_get', '200', 'operation=GET /api/notes/{id}')),
        row('http_reqs', 'GET', 'notes_get', '404', 'operation=GET /api/notes/{id}'),
        row('http_req_duration', 'GET', 'notes_get', '200', 'operation=GET /api/notes/{id}'),
        row('http_reqs', 'GET', 'http://127.0.0.1:9/v1/api/notes/mine', '200'),
        row('http_reqs', 'GET', 'http://127.0.0.1:9/v1/api/notes/${}/summary', '200'),
        // No answer: not counted anywhere.
        row('http_reqs', 'GET', 'notes_get', '0', 'operation=GET /api/notes/{id}'),
        // Unattributable: a custom name and no tag, another host, an unknown operation id.
        row('http_reqs', 'DELETE', 'custom_delete', '204'),
        row('http_reqs', 'GET', 'http://other:9/v1/api/notes', '200'),
        row('http_reqs', 'GET', 'x', '200', 'operation=nope'),
        '',
      ].join('\n'),
    );
    const store = ingest.end();
    const hits = loadOperationHits(store, doc.operations, 'http://127.0.0.1:9/v1');
    assert.deepEqual(hits, {
      byId: {
        'GET /api/notes/{id}': { requests: 4, statuses: { '200': 3, '404': 1 } },
        'GET /api/notes/mine': { requests: 1, statuses: { '200': 1 } },
        'GET /api/notes/{id}/summary': { requests: 1, statuses: { '200': 1 } },
      },
      unattributed: 3,
    });
  });

  test('PERF_OPENAPI_OPERATIONS lists exact paths before templated ones, as patterns k6 compiles', () => {
    const list = JSON.parse(operationsEnv(doc.operations)) as [string, string, string][];
    assert.equal(list.length, doc.operations.length);
    const firstMatch = (method: string, p: string) => list.find(([m, src]) => m === method && new RegExp(src).test(p))?.[2];
    assert.equal(firstMatch('GET', '/api/notes/mine'), 'GET /api/notes/mine');
    assert.equal(firstMatch('GET', '/api/notes/12'), 'GET /api/notes/{id}');
    assert.equal(firstMatch('GET', '/api/notes/12/summary'), 'GET /api/notes/{id}/summary');
    assert.equal(firstMatch('GET', '/api/notes'), 'listNotes');
    assert.equal(firstMatch('PUT', '/api/notes'), undefined);
    assert.ok(list.findIndex(([, , id]) => id === 'GET /api/notes/mine') < list.findIndex(([, , id]) => id === 'GET /api/notes/{id}'));
  });
});

describe('coverage in the reporters', () => {
  const BASE = 'http://127.0.0.1:4000';
  const coverage = () =>
    computeCoverage({
      document: doc,
      baseUrl: BASE,
      exclude: ['GET /status'],
      phases: [
        phase('smoke', [ex('GET', `${BASE}/api/notes/42`, 200), ex('GET', `${BASE}/api/notes/43`, 404), ex('GET', `${BASE}/api/notes/mine`, 403)]),
        loadPhaseResult({ byId: { listNotes: { requests: 10, statuses: { '200': 10 } } }, unattributed: 2 }),
      ],
    });

  test('console: after the gates, the share per phase, a row per operation with its statuses, untouched and excluded', async () => {
    const out = capture({ columns: 100 });
    const r = consoleReporter({ stream: out, redactor: new Redactor(), env: {}, cwd: '/work/project' });
    const v: Verdict = { ...passingVerdict, coverage: coverage() };
    await r.onRunEnd?.(v, '/work/project/.perf/runs/x');
    const text = out.text;
    assert.match(text, /^coverage: 3 of 6 documented operations \(50%\) of openapi\.yaml — smoke 33\.3% \(2\) · flows not run · load 16\.7% \(1\)$/m);
    assert.match(text, /^ {2}operation +smoke +flows +load$/m);
    assert.match(text, /^ {2}GET \/api\/notes \(listNotes\) +· +- +✓ 200$/m);
    assert.match(text, /^ {2}GET \/api\/notes\/\{id\} +✓ 200 404 +- +·$/m);
    assert.match(text, /^ {2}GET \/api\/notes\/mine +✓ 403 +- +·$/m);
    assert.match(text, /^ {2}untouched \(3\): POST \/api\/notes, DELETE \/api\/notes\/\{id\}, GET \/api\/notes\/\{id\}\/summary$/m);
    assert.match(text, /^ {2}excluded \(1\): GET \/status$/m);
    assert.match(text, /^ {2}requests to no documented operation: load 2$/m);
    // Information only: the verdict line is the run's status.
    assert.match(text, /^verdict: PASSED/m);
    assert.ok(text.indexOf('coverage:') < text.indexOf('verdict: PASSED'));
  });

  test('console: no coverage section without a document', async () => {
    const out = capture({ columns: 100 });
    await consoleReporter({ stream: out, redactor: new Redactor(), env: {}, cwd: '/work/project' }).onRunEnd?.(passingVerdict, '/work/project/.perf/runs/x');
    assert.doesNotMatch(out.text, /coverage/);
  });

  test('GitHub summary: the same as a Markdown table', () => {
    const md = renderGithubSummary({ ...passingVerdict, coverage: coverage() }, new Redactor());
    assert.match(md, /^### Endpoint coverage$/m);
    assert.match(md, /^3 of 6 documented operations exercised \(50 %\) of `openapi\.yaml` · smoke 33\.3% \(2\) · flows not run · load 16\.7% \(1\)$/m);
    assert.match(md, /^\| Operation \| Smoke \| Flows \| Load \|$/m);
    assert.match(md, /^\| GET \/api\/notes \(listNotes\) \| — \| not run \| ✅ 200 \|$/m);
    assert.match(md, /^\| GET \/api\/notes\/\\\{id\\\} \| ✅ 200 404 \| not run \| — \|$/m);
    assert.match(md, /^\*\*Untouched \(3\):\*\* POST \/api\/notes, DELETE \/api\/notes\/\\\{id\\\}, GET \/api\/notes\/\\\{id\\\}\/summary$/m);
    assert.match(md, /^Excluded \(1\): GET \/status$/m);
    assert.doesNotMatch(renderGithubSummary(passingVerdict, new Redactor()), /Endpoint coverage/);
  });
});

describe('load coverage on the real k6 (scenarios/lib/http.ts tags each request)', () => {
  const ITEMS_DOC = `openapi: 3.1.0
info: { title: items, version: '1' }
paths:
  /items:
    get: { operationId: listItems, responses: { '200': { description: ok } } }
  /items/search:
    get: { responses: { '200': { description: ok } } }
  /items/{id}:
    parameters: [{ name: id, in: path, required: true, schema: { type: integer } }]
    get: { responses: { '200': { description: ok } } }
    delete: { responses: { '204': { description: gone } } }
  /health:
    get: { responses: { '200': { description: ok } } }
`;
  // Three iterations of five requests: api() (tagged), a raw call named by k6 with its URL,
  // a raw call with a custom name (unattributable) and one that spreads operationTag() itself.
  const SCENARIO = `import http from 'k6/http';
import { api, BASE_URL, operationTag } from 'perf-harness/k6';
export const options = { vus: 1, iterations: 3 };
export default function (): void {
  api('GET', '/items/7?full=1', { name: 'item_get' });
  api('GET', '/items/search', { name: 'item_search' });
  http.get(\`\${BASE_URL}/items\`);
  http.del(\`\${BASE_URL}/items/3\`, null, { tags: { name: 'raw_delete' } });
  http.del(\`\${BASE_URL}/items/4\`, null, { tags: { name: 'raw_delete_tagged', ...operationTag('DELETE', '/items/4') } });
}
`;
  let server: http.Server;
  let url = '';
  const seen: string[] = [];
  const requestIds: string[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (typeof req.headers['x-request-id'] === 'string') requestIds.push(req.headers['x-request-id']);
      const p = (req.url ?? '').split('?')[0]!;
      if (req.method === 'GET' && /^\/v1\/items(\/search|\/\d+)?$/.test(p)) return res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (req.method === 'DELETE' && /^\/v1\/items\/\d+$/.test(p)) return res.writeHead(204).end();
      res.writeHead(404).end();
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );

  const project = (openapi: boolean): string => {
    const dir = tempDir('perf-coverage-k6-');
    dirs.push(dir);
    mkdirSync(path.join(dir, 'scenarios'));
    writeFileSync(path.join(dir, 'scenarios', 'items.ts'), SCENARIO);
    writeFileSync(path.join(dir, 'openapi.yaml'), ITEMS_DOC);
    writeFileSync(
      path.join(dir, 'perf.config.ts'),
      `import { defineConfig } from ${JSON.stringify(path.join(REPO, 'src/config/define-config.ts'))};\nexport default defineConfig({ target: { baseUrl: ${JSON.stringify(`${url}/v1`)} }${openapi ? ", smoke: { openapi: './openapi.yaml' }" : ''} });\n`,
    );
    return dir;
  };

  test('api() requests by their tag, URL-named ones by their path, a custom name unattributed; the run status is untouched', async () => {
    const cwd = project(true);
    seen.length = 0;
    requestIds.length = 0;
    const r = await runCli(['run', '--scenario', 'items', '--users', '1'], { cwd, timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    assert.equal(v.status, 'passed');
    assert.equal(seen.length, 15, seen.join('\n'));
    // perf-harness/k6's api() names each request perf-<run>-vu<n>-it<i>-<count> (k6's __VU/__ITER).
    assert.equal(requestIds.length, 6, requestIds.join('\n'));
    for (const id of requestIds) assert.match(id, new RegExp(`^perf-${v.runId}-vu1-it[0-2]-\\d+$`));
    assert.deepEqual(new Set(requestIds.map((id) => id.split('-it')[1]!.split('-')[0])), new Set(['0', '1', '2']));
    const k6 = v.phases.find((p: PhaseResult) => p.name === 'load').k6[0];
    assert.deepEqual(k6.analysis.operations, {
      byId: {
        'GET /items/{id}': { requests: 3, statuses: { '200': 3 } },
        'GET /items/search': { requests: 3, statuses: { '200': 3 } },
        listItems: { requests: 3, statuses: { '200': 3 } },
        'DELETE /items/{id}': { requests: 3, statuses: { '204': 3 } },
      },
      unattributed: 3,
    });
    const c = v.coverage as EndpointCoverage;
    assert.deepEqual(marks(c), {
      listItems: [false, false, true],
      'GET /items/search': [false, false, true],
      'GET /items/{id}': [false, false, true],
      'DELETE /items/{id}': [false, false, true],
      'GET /health': [false, false, false],
    });
    assert.deepEqual([c.total, c.exercised, c.percent], [5, 4, 80]);
    assert.deepEqual(c.byPhase, {
      smoke: { ran: false, count: 0, percent: 0, unattributed: 0 },
      flows: { ran: false, count: 0, percent: 0, unattributed: 0 },
      load: { ran: true, count: 4, percent: 80, unattributed: 3 },
    });
    assert.deepEqual(c.untouched, ['GET /health']);
    assert.match(r.stderr, /^coverage: 4 of 5 documented operations \(80%\) of \.\/openapi\.yaml — smoke not run · flows not run · load 80% \(4\)$/m);
    // The tag is in k6's raw samples, as the helper set it.
    const csv = samplesText(path.join(runDirFromOutput(cwd, r.stderr), k6.files.samples));
    assert.match(csv, /^http_reqs,.*,item_get,.*operation=GET \/items\/\{id\}/m);
  });

  test('without a document: no operation tag, no coverage', async () => {
    const cwd = project(false);
    const r = await runCli(['run', '--scenario', 'items', '--users', '1'], { cwd, timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    const v = readVerdictFromOutput(cwd, r.stderr);
    assert.equal(v.coverage, undefined);
    const k6 = v.phases[0].k6[0];
    assert.equal(k6.analysis.operations, undefined);
    const csv = samplesText(path.join(runDirFromOutput(cwd, r.stderr), k6.files.samples));
    assert.match(csv, /^http_reqs,.*item_get/m);
    assert.doesNotMatch(csv, /operation=/);
  });
});

describe('coverage of examples/notes against the real notes-service (smoke from its openapi.yaml, flows, load)', () => {
  const DATABASE_URL = process.env.PERF_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `perf_cov_${Math.random().toString(16).slice(2, 8)}`;
  after(async () => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await client.end();
    }
  });

  const freePort = () =>
    new Promise<number>((resolve, reject) => {
      const s = http.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });

  test('each column true where that phase reached the operation, false where it did not', { timeout: 300_000 }, async () => {
    const dir = tempDir('perf-coverage-notes-');
    dirs.push(dir);
    const ex = (p: string) => JSON.stringify(path.join(REPO, 'examples', p));
    // The example project's config, its smoke matrix replaced by the service's OpenAPI document.
    writeFileSync(
      path.join(dir, 'perf.config.ts'),
      `import base from ${ex('notes/perf.config.ts')};
import { defineConfig } from ${JSON.stringify(path.join(REPO, 'src/config/define-config.ts'))};
const target = base.target as Exclude<typeof base.target, string | undefined>;
export default defineConfig({
  ...base,
  target: { ...target, start: target.start!.map((s) => ({ ...s, cwd: ${ex('notes-service')} })) },
  smoke: { openapi: { document: ${ex('notes-service/openapi.yaml')}, exclude: ['GET /app'] } },
  flows: { dir: ${ex('notes/flows')} },
  load: { ...base.load, scenariosDir: ${ex('notes/scenarios')} },
});
`,
    );
    const r = await runCli(['run', '--phase', 'smoke,flows,load', '--users', '3', '--profile', 'smoke', '--duration', '4s'], {
      cwd: dir,
      env: { NOTES_PORT: String(await freePort()), NOTES_SCHEMA: schema, NOTES_FAULTS: '{}', NOTES_DATABASE_URL: DATABASE_URL },
      timeoutMs: 280_000,
    });
    const v = readVerdictFromOutput(dir, r.stderr);
    const c = v.coverage as EndpointCoverage;
    assert.ok(c, `coverage in the verdict:\n${r.stderr.slice(-3000)}`);
    const why = `${JSON.stringify(c.operations.map((o) => [o.id, o.hits]))}\n${r.stderr.slice(-4000)}`;
    for (const p of ['smoke', 'flows', 'load']) assert.ok(c.byPhase[p as 'smoke'].ran, `${p} ran: ${why}`);
    assert.deepEqual(c.excluded, ['GET /app']);
    assert.equal(c.total, 12);
    // [smoke, flows, load]. Smoke probes every operation of the document (`_reachable` at least).
    // Flows: examples/notes/flows (accounts, notes CRUD and isolation, the SSE summary; never
    // /status nor the login page). Load: the notes-journey and summaries scenarios, through
    // api() and session() (sign-up, login, notes); the load users are removed after the phase.
    assert.deepEqual(
      marks(c),
      {
        'GET /status': [true, false, false],
        'POST /api/accounts': [true, true, true],
        'DELETE /api/accounts/me': [true, true, false],
        'POST /api/login': [true, true, true],
        'POST /api/logout': [true, true, false],
        'GET /api/me': [true, true, false],
        'GET /api/notes': [true, true, true],
        'POST /api/notes': [true, true, true],
        'GET /api/notes/{id}': [true, true, true],
        'DELETE /api/notes/{id}': [true, true, true],
        'GET /api/notes/{id}/summary/stream': [true, true, false],
        'GET /': [true, false, false],
      },
      why,
    );
    assert.deepEqual([c.exercised, c.percent, c.untouched], [12, 100, []]);
    assert.deepEqual(
      Object.fromEntries(Object.entries(c.byPhase).map(([p, x]) => [p, [x.count, x.percent]])),
      { smoke: [12, 100], flows: [10, 83.3], load: [6, 50] },
    );
    // What each phase got: smoke without a key is refused (403); the journey's reads succeed.
    assert.ok(c.operations.find((o) => o.id === 'GET /api/me')!.hits.smoke!.statuses['403']! >= 1, why);
    assert.ok(c.operations.find((o) => o.id === 'GET /api/notes')!.hits.load!.statuses['200']! >= 3, why);
    // The load's requests are all attributed (every one goes through api()).
    assert.equal(c.byPhase.load.unattributed, 0, why);
    assert.match(r.stderr, /^coverage: 12 of 12 documented operations \(100%\) of .*openapi\.yaml — smoke 100% \(12\) · flows 83\.3% \(10\) · load 50% \(6\)$/m);
  });
});
