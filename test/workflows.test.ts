import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { configProject, readVerdictFromOutput, REPO, runCli, runDirFromOutput, tempDir } from './helpers.ts';
import { influxQuery, startInflux } from './influx-helpers.ts';

// The GitHub workflows (.github/workflows/, README "CI workflows"): actionlint (with ShellCheck
// on the run: scripts) passes on each and can fail; each has its triggers, inputs and services;
// secrets appear only as ${{ secrets.* }}; and the perf command each one runs, taken from its
// YAML and expanded by bash as the runner would (inputs at their defaults or short values),
// runs here on the real k6 and the bundled sample-app, and passes.

const WF_DIR = path.join(REPO, '.github', 'workflows');
const ACTIONLINT = path.join(REPO, '.tools', 'bin', 'actionlint');
const WORKFLOWS = ['perf-nightly.yml', 'perf-pr.yml', 'perf-release.yml'];
const ALLOWED_SECRETS = new Set(['K6_INFLUXDB_USERNAME', 'K6_INFLUXDB_PASSWORD', 'PERF_WEBHOOK_URL']);

type Step = { name?: string; uses?: string; run?: string; if?: string; id?: string; env?: Record<string, string>; with?: Record<string, unknown> };
type Job = { 'runs-on': string; env?: Record<string, string>; services?: Record<string, { image: string; env?: Record<string, string>; ports?: string[]; options?: string }>; steps: Step[] };
type Workflow = { name: string; on: Record<string, any>; jobs: Record<string, Job> };

const read = (file: string): Workflow => parse(readFileSync(path.join(WF_DIR, file), 'utf8')) as Workflow;
const onlyJob = (wf: Workflow): Job => {
  const jobs = Object.values(wf.jobs);
  assert.equal(jobs.length, 1);
  return jobs[0]!;
};

function actionlint(args: string[], cwd: string) {
  if (!existsSync(ACTIONLINT)) {
    assert.fail(`${ACTIONLINT} is missing: \`bash scripts/setup.sh\` installs it (go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12 with GOBIN=.tools/bin)`);
  }
  const which = spawnSync('sh', ['-c', 'command -v shellcheck'], { encoding: 'utf8' });
  assert.equal(which.status, 0, 'shellcheck is not on PATH: actionlint would skip the run: scripts (`bash scripts/setup.sh` installs it: apt-get install shellcheck)');
  return spawnSync(ACTIONLINT, ['-no-color', ...args], { cwd, encoding: 'utf8' });
}

/** `${{ a || 'b' }}` as GitHub evaluates the few forms the workflows use: inputs, secrets (unset: ''), literals. */
function evalExpression(expr: string, inputs: Record<string, string>): string {
  for (const operand of expr.split('||').map((s) => s.trim())) {
    const literal = /^'(.*)'$/.exec(operand);
    let v: string;
    if (literal) v = literal[1]!;
    else if (operand.startsWith('inputs.')) v = inputs[operand.slice('inputs.'.length)] ?? '';
    else if (operand.startsWith('secrets.')) v = '';
    else throw new Error(`expression not handled by this test: ${operand}`);
    if (v) return v;
  }
  return '';
}
const substitute = (s: string, inputs: Record<string, string>) => s.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_, e: string) => evalExpression(e, inputs));

/**
 * The perf command of a workflow: the step whose script runs `npx perf run`, with `${{ }}`
 * substituted (workflow_dispatch defaults, then `inputs`), run by bash with the job's and the
 * step's env and `npx` a function that records its arguments and the environment it got.
 */
function perfCommand(file: string, inputs: Record<string, string> = {}): { args: string[]; env: Record<string, string>; step: Step } {
  const wf = read(file);
  const job = onlyJob(wf);
  const steps = job.steps.filter((s) => s.run?.includes('npx perf run'));
  assert.equal(steps.length, 1, `${file}: one step runs npx perf run`);
  const step = steps[0]!;
  const defaults = Object.fromEntries(Object.entries<any>(wf.on.workflow_dispatch?.inputs ?? {}).map(([k, v]) => [k, String(v.default ?? '')]));
  const all = { ...defaults, ...inputs };
  const declared = { ...job.env, ...step.env };
  const env: Record<string, string> = Object.fromEntries(Object.entries(declared).map(([k, v]) => [k, substitute(String(v), all)]));
  const dir = tempDir('perf-wf-cmd-');
  const script = `npx() { [ "$1" = perf ] || exit 9; shift; printf '%s\\0' "$@" > "${dir}/args"; env -0 > "${dir}/env"; }\n${substitute(step.run!, all)}`;
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, `${file}: the script failed: ${r.stderr}`);
  const args = readFileSync(path.join(dir, 'args'), 'utf8').split('\0').slice(0, -1);
  const seen = Object.fromEntries(
    readFileSync(path.join(dir, 'env'), 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  // What the workflow gives perf: the declared env and what the script exported (PERF_*).
  const given = Object.fromEntries(Object.entries(seen).filter(([k]) => k in declared || k.startsWith('PERF_') || k.startsWith('K6_')));
  return { args, env: given, step };
}

/** Every string of a parsed YAML document (keys too), with its path. */
function* strings(node: unknown, at = ''): Generator<[string, string]> {
  if (typeof node === 'string') yield [at, node];
  else if (Array.isArray(node)) for (const [i, v] of node.entries()) yield* strings(v, `${at}[${i}]`);
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) {
      yield [`${at}.${k} (key)`, k];
      yield* strings(v, `${at}.${k}`);
    }
}

describe('actionlint', () => {
  test('every workflow passes actionlint (with ShellCheck on run: scripts): exit 0, no output', () => {
    const files = readdirSync(WF_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
    assert.deepEqual(files, WORKFLOWS);
    const r = actionlint(files.map((f) => path.join('.github', 'workflows', f)), REPO);
    assert.equal(r.stdout + r.stderr, '');
    assert.equal(r.status, 0);
  });

  test('the lint can fail: an unknown job key, an undefined input, an unquoted variable in a script', () => {
    const dir = tempDir('perf-wf-lint-');
    mkdirSync(path.join(dir, '.github', 'workflows'), { recursive: true });
    const src = readFileSync(path.join(WF_DIR, 'perf-nightly.yml'), 'utf8');
    const broken = src
      .replace('runs-on: ubuntu-24.04', 'runs-on: ubuntu-24.04\n    nope: 1')
      .replace("DURATION: ${{ inputs.duration || '1h' }}", 'DURATION: ${{ inputs.nope }}')
      .replace('--duration "$DURATION"', '--duration $DURATION');
    assert.notEqual(broken, src);
    const file = path.join(dir, '.github', 'workflows', 'broken.yml');
    writeFileSync(file, broken);
    const r = actionlint([file], dir);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout, /unexpected key "nope" for "job" section/);
    assert.match(r.stdout, /property "nope" is not defined/);
    assert.match(r.stdout, /shellcheck reported issue.*SC2086/);
  });
});

describe('workflow structure', () => {
  test('pull request: pull_request and workflow_dispatch; postgres:16 (trust, db test) and redis:7 with health checks', () => {
    const wf = read('perf-pr.yml');
    assert.deepEqual(Object.keys(wf.on).sort(), ['pull_request', 'workflow_dispatch']);
    services(onlyJob(wf), ['postgres', 'redis']);
  });
  test('nightly: a cron schedule and workflow_dispatch with duration (default 1h); InfluxDB 1.8; runs restored and saved', () => {
    const wf = read('perf-nightly.yml');
    assert.deepEqual(Object.keys(wf.on).sort(), ['schedule', 'workflow_dispatch']);
    assert.match(wf.on.schedule[0].cron, /^\d+ \d+ \* \* \*$/);
    assert.equal(wf.on.workflow_dispatch.inputs.duration.default, '1h');
    const job = onlyJob(wf);
    services(job, ['influxdb', 'postgres', 'redis']);
    assert.equal(job.services!.influxdb!.image, 'influxdb:1.8');
    assert.deepEqual(job.services!.influxdb!.ports, ['8086:8086']);
    const restore = job.steps.find((s) => s.uses?.startsWith('actions/cache/restore@'))!;
    const save = job.steps.find((s) => s.uses?.startsWith('actions/cache/save@'))!;
    assert.ok(restore && save, 'cache restore and save steps');
    assert.match(String(restore.with!.path), /\.perf\/runs\.jsonl/);
    assert.match(String(restore.with!.path), /\.perf\/runs\//);
    assert.equal(restore.with!.path, save.with!.path);
    assert.match(String(restore.with!.key), /\$\{\{ github\.run_id \}\}/);
    assert.equal(String(restore.with!['restore-keys']).trim(), 'perf-nightly-runs-');
    assert.ok(String(restore.with!.key).startsWith('perf-nightly-runs-'));
    assert.equal(save.with!.key, restore.with!.key);
    assert.equal(save.if, 'always()');
    const stepIndex = (s: Step) => job.steps.indexOf(s);
    const perf = job.steps.find((s) => s.run?.includes('npx perf run'))!;
    assert.ok(stepIndex(restore) < stepIndex(perf) && stepIndex(perf) < stepIndex(save));
    assert.deepEqual(perf.env!.K6_INFLUXDB_USERNAME, '${{ secrets.K6_INFLUXDB_USERNAME }}');
    assert.deepEqual(perf.env!.K6_INFLUXDB_PASSWORD, '${{ secrets.K6_INFLUXDB_PASSWORD }}');
  });
  test('release: workflow_dispatch only, inputs users (50), profile (choice, stress), target (empty)', () => {
    const wf = read('perf-release.yml');
    assert.deepEqual(Object.keys(wf.on), ['workflow_dispatch']);
    const inputs = wf.on.workflow_dispatch.inputs;
    assert.deepEqual(Object.keys(inputs).sort(), ['profile', 'target', 'users']);
    assert.equal(inputs.users.default, '50');
    assert.equal(inputs.profile.type, 'choice');
    assert.deepEqual(inputs.profile.options, ['smoke', 'load', 'stress', 'soak']);
    assert.equal(inputs.profile.default, 'stress');
    assert.equal(inputs.target.default, '');
    services(onlyJob(wf), ['postgres', 'redis']);
    const run = onlyJob(wf).steps.find((s) => s.run?.includes('npx perf run'))!;
    assert.doesNotMatch(run.run!, /\$\{\{/, 'inputs reach the script through env only');
  });

  for (const file of WORKFLOWS) {
    test(`${file}: checkout, Node 20 with the npm cache, k6 v2.2.0 from grafana/setup-k6-action, npm ci, JUnit and the run folder published always`, () => {
      const steps = onlyJob(read(file)).steps;
      const uses = (prefix: string) => steps.find((s) => s.uses?.startsWith(prefix));
      assert.ok(uses('actions/checkout@v4'));
      assert.deepEqual(uses('actions/setup-node@v4')!.with, { 'node-version': 20, cache: 'npm' });
      assert.deepEqual(uses('grafana/setup-k6-action@v1')!.with, { 'k6-version': '2.2.0' });
      assert.ok(steps.some((s) => s.run?.startsWith('npm ci')));
      const junit = uses('mikepenz/action-junit-report@v5')!;
      assert.equal(junit.if, 'always()');
      assert.match(String(junit.with!.report_paths), /junit\.xml$/);
      const upload = uses('actions/upload-artifact@v4')!;
      assert.equal(upload.if, 'always()');
      assert.match(String(upload.with!.path), /\.perf\/runs/);
      assert.ok(Number(upload.with!['retention-days']) > 0);
      const perf = steps.find((s) => s.run?.includes('npx perf run'))!;
      assert.equal(perf.if, undefined, 'the perf step decides the job: no continue-on-error, no if');
      assert.match(perf.run!, /--reporter console,junit,github/);
    });

    test(`${file}: secrets only as \${{ secrets.* }} (allowed names), no token-like literal, no credentials in URLs`, () => {
      const text = readFileSync(path.join(WF_DIR, file), 'utf8');
      for (const [at, s] of strings(parse(text))) {
        for (const m of s.matchAll(/secrets\.?[A-Za-z0-9_]*/g)) {
          const inExpr = new RegExp(`\\$\\{\\{ ${m[0].replace('.', '\\.')} \\}\\}`).test(s);
          assert.ok(inExpr, `${at}: "${m[0]}" outside a \${{ secrets.NAME }} expression`);
          assert.ok(ALLOWED_SECRETS.has(m[0].slice('secrets.'.length)), `${at}: secret ${m[0]} not one of ${[...ALLOWED_SECRETS].join(', ')}`);
        }
        assert.doesNotMatch(s, /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]*@/i, `${at}: credentials in a URL`);
        assert.doesNotMatch(s, /gh[pousr]_[A-Za-z0-9]{20,}|github_pat_|xox[abpr]-|AKIA[0-9A-Z]{16}|eyJ[A-Za-z0-9_-]{10,}\.|hooks\.slack\.com/, `${at}: a token-like literal`);
        for (const word of s.split(/[\s'"=,:]+/)) {
          const looksRandom = word.length >= 32 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(word) && /\d/.test(word) && /[a-z]/.test(word) && /[A-Z]/.test(word);
          assert.ok(!looksRandom, `${at}: a high-entropy literal ${word.slice(0, 6)}…`);
        }
        if (/(PASSWORD|TOKEN|SECRET|WEBHOOK)/i.test(at.split('.').pop() ?? '') && at.includes('.env.') && !at.endsWith('(key)')) {
          assert.match(s, /^\$\{\{ secrets\.[A-Z0-9_]+ \}\}$/, `${at}: a secret-like variable must come from secrets`);
        }
      }
    });
  }

  test("the release command's target flag: added only with a target, quoted, and then the services are not sample-app's", () => {
    const none = perfCommand('perf-release.yml');
    assert.deepEqual(none.args, ['run', '--users', '50', '--profile', 'stress', '--reporter', 'console,junit,github']);
    assert.equal(none.env.PERF_DATABASE_URL, 'postgres://postgres@127.0.0.1:5432/test');
    const url = 'https://staging.example.com/a b;$(echo x)';
    const some = perfCommand('perf-release.yml', { target: url, users: '7', profile: 'load' });
    assert.deepEqual(some.args, ['run', '--users', '7', '--profile', 'load', '--target', url, '--reporter', 'console,junit,github']);
    assert.equal(some.env.PERF_DATABASE_URL, undefined);
    assert.equal(some.env.PERF_REDIS_URL, undefined);
  });
});

function services(job: Job, names: string[]): void {
  assert.deepEqual(Object.keys(job.services ?? {}).sort(), names);
  const pg = job.services!.postgres!;
  assert.equal(pg.image, 'postgres:16');
  assert.deepEqual(pg.env, { POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' });
  assert.deepEqual(pg.ports, ['5432:5432']);
  assert.match(pg.options!, /--health-cmd "pg_isready/);
  const redis = job.services!.redis!;
  assert.equal(redis.image, 'redis:7');
  assert.deepEqual(redis.ports, ['6379:6379']);
  assert.match(redis.options!, /--health-cmd "redis-cli ping"/);
  for (const s of Object.values(job.services!)) assert.match(s.options ?? '', /--health-cmd .*--health-retries \d+/s);
}

/** Runs a workflow's perf command here; asserts exit 0, a passed verdict, JUnit and the step summary. */
async function runLikeCi(label: string, args: string[], env: Record<string, string>, cwd: string) {
  const summary = path.join(tempDir('perf-wf-summary-'), 'summary.md');
  writeFileSync(summary, '');
  const t0 = Date.now();
  const r = await runCli(args, { cwd, env: { ...env, GITHUB_STEP_SUMMARY: summary }, timeoutMs: 240_000 });
  const out = r.stdout + r.stderr;
  assert.equal(r.code, 0, `${label}: perf ${args.join(' ')} exited ${r.code}\n${out.slice(-3000)}`);
  const verdict = readVerdictFromOutput(cwd, out);
  assert.equal(verdict.status, 'passed');
  assert.ok(existsSync(path.join(runDirFromOutput(cwd, out), 'junit.xml')), 'junit.xml in the run folder');
  assert.match(readFileSync(summary, 'utf8'), /perf: PASSED/);
  console.log(`# ${label}: perf ${args.join(' ')} passed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return verdict;
}

describe('the workflows’ perf commands, run here', () => {
  test('pull request: exactly its command, in the repo (the bundled sample-app on the job’s PostgreSQL and Redis)', async () => {
    const { args, env } = perfCommand('perf-pr.yml');
    assert.deepEqual(args, ['run', '--users', '15', '--reporter', 'console,junit,github']);
    assert.deepEqual(env, { PERF_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test', PERF_REDIS_URL: 'redis://127.0.0.1:6379' });
    await runLikeCi('pr', args, env, REPO);
  });

  // The stress default with 50 users (100 VUs at its peak) is too heavy for this machine, and
  // smoke with fewer than ~20 users has too few WebSocket sessions for the 99.9 % gate
  // (insufficient data fails): 20 users, smoke, target empty (the bundled sample-app).
  test('release: its command with users 20 and profile smoke, target empty', async () => {
    const { args, env } = perfCommand('perf-release.yml', { users: '20', profile: 'smoke' });
    assert.deepEqual(args, ['run', '--users', '20', '--profile', 'smoke', '--reporter', 'console,junit,github']);
    await runLikeCi('release', args, env, REPO);
  });

  test('nightly: its command twice (duration 10s) on a real InfluxDB: the second night compares with the first (last-green)', async () => {
    const { args, env } = perfCommand('perf-nightly.yml', { duration: '10s' });
    assert.deepEqual(args, ['run', '--profile', 'soak', '--duration', '10s', '--baseline', 'last-green', '--influx', 'http://127.0.0.1:8086/perf', '--reporter', 'console,junit,github']);
    // Unset secrets are empty strings on the runner: no InfluxDB credentials.
    assert.equal(env.K6_INFLUXDB_USERNAME, '');
    assert.equal(env.K6_INFLUXDB_PASSWORD, '');
    const influx = await startInflux();
    try {
      const local = args.map((a) => (a === 'http://127.0.0.1:8086/perf' ? `${influx.url}/perf` : a));
      // A temp project (the repo's config), so the repo's .perf/runs.jsonl is not touched. A
      // 10 s hold extrapolates memory to an hour: the growth limit is for hours-long nights. Its
      // load is the throughput scenario only (no ramp-up; the soak profile ramps the others up for
      // 30 s each): the same command and flags, minutes less of this suite's time.
      const cwd = configProject(`load: { ...base.load, scenariosDir: ${JSON.stringify(path.join(REPO, 'scenarios'))}, scenarios: ['throughput'] }, soak: { ...base.soak, targetMemory: { maxGrowthMbPerHour: 100000, intervalSeconds: 1 } }`, 'perf-wf-nightly-');
      const first = await runLikeCi('nightly 1', local, env, cwd);
      assert.equal(first.baseline.status, 'missing');
      const second = await runLikeCi('nightly 2', local, env, cwd);
      assert.equal(second.baseline.runId, first.runId, second.baseline.note);
      assert.equal(second.baseline.status, 'compared');
      const index = await influxQuery(influx.url, 'perf', 'SELECT count(*) FROM perf_run_index');
      assert.ok(index.length > 0, 'the run index reached InfluxDB');
    } finally {
      await influx.stop();
    }
  });
});
