// `perf k8s render` / `perf k8s apply` (src/k8s/, docs/kubernetes.md). There is no Kubernetes
// cluster here: render is checked by parsing what it wrote and validating it against the
// TestRun schema copied from the k6-operator (src/k8s/testrun-schema.ts); apply is run against
// a fake `kubectl` (a shell script recording its argv) standing in for a cluster.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { resolveConfig } from '../src/config/config.ts';
import { identityFor } from '../src/auth/users.ts';
import { perfAuthEnv } from '../src/load/load-phase.ts';
import { CONFIGMAP_MAX_BYTES, k8sValidators } from '../src/k8s/render.ts';
import { REPO, runCli, tempDir } from './helpers.ts';
import { scanFolder, type Secret } from './secrets-scan.ts';

const SCENARIOS = path.join(REPO, 'scenarios');
const INFLUX = 'http://influxdb.monitoring:8086/perf';
const INFLUX_PASSWORD = 'influx-pw-Zq81xK2mR7';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function readYaml(file: string): Doc {
  return parse(readFileSync(file, 'utf8')) as Doc;
}

/** A fake kubectl on a fresh PATH folder: logs each argv as a JSON line; FAKE_CLUSTER=down fails cluster-info; FAKE_STAGES lists the stages `get testrun` answers in turn (the last repeats). */
function fakeKubectl(): { bin: string; log: string; calls: () => string[][] } {
  const bin = tempDir('perf-fake-kubectl-');
  const log = path.join(bin, 'argv.log');
  const script = `#!/usr/bin/env bash
node -e 'process.stdout.write(JSON.stringify(process.argv.slice(1))+"\\n")' -- "$@" >> "${log}"
case "$1 $2" in
  "cluster-info --request-timeout=10s")
    if [ "$FAKE_CLUSTER" = down ]; then echo 'The connection to the server localhost:8080 was refused - did you specify the right host or port?' >&2; exit 1; fi
    echo 'Kubernetes control plane is running at https://fake:6443'; exit 0 ;;
  "apply -f") echo "applied $(basename "$3")"; exit 0 ;;
esac
if [ "$3" = get ] && [ "$4" = secret ]; then
  if [ "$FAKE_GET_FAILS" = 1 ]; then echo "Error from server (NotFound): secrets \\"$5\\" not found" >&2; exit 1; fi
  echo "secret/$5"; exit 0
fi
if [ "$3" = get ] && [ "$4" = testrun ]; then
  n=$(grep -c '"testrun"' "${log}")
  IFS=, read -ra stages <<< "\${FAKE_STAGES:-finished}"
  i=$(( n - 1 )); [ $i -ge \${#stages[@]} ] && i=$(( \${#stages[@]} - 1 ))
  printf '%s' "\${stages[$i]}"; exit 0
fi
echo "fake kubectl: unexpected $*" >&2; exit 3
`;
  writeFileSync(path.join(bin, 'kubectl'), script);
  chmodSync(path.join(bin, 'kubectl'), 0o755);
  const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : []);
  return { bin, log, calls };
}

/** PATH for the fake: its folder plus the system's (bash, node), without any real kubectl. */
function pathWith(bin: string): string {
  const noKubectl = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d && !existsSync(path.join(d, 'kubectl')));
  return [bin, path.dirname(process.execPath), ...noKubectl].join(path.delimiter);
}

async function render(extra: string[], cwd = tempDir('perf-k8s-')): Promise<{ cwd: string; out: string; code: number | null; stdout: string; stderr: string }> {
  const out = path.join(cwd, 'k8s-out');
  const r = await runCli(['k8s', 'render', '--scenarios-dir', SCENARIOS, '--out', out, ...extra], {
    cwd,
    env: { PERF_AUTH: undefined, K6_INFLUXDB_PASSWORD: INFLUX_PASSWORD },
  });
  return { cwd, out, ...r };
}

describe('perf k8s render', () => {
  test('throughput: a ConfigMap, a TestRun valid by the k6-operator schema, a Secret example; env, args, labels, run id', async () => {
    const r = await render(['--scenario', 'throughput', '--parallelism', '4', '--users', '40', '--profile', 'stress', '--duration', '2m', '--influx', INFLUX, '--target', 'http://api.perf.svc:3000', '--namespace', 'load', '--cpu', '2', '--memory', '2Gi']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(r.out).sort(), ['README.txt', 'configmap.yaml', 'manifest.json', 'secret.example.yaml', 'testrun.yaml']);
    const m = JSON.parse(readFileSync(path.join(r.out, 'manifest.json'), 'utf8'));
    assert.match(m.runId, /^\d{8}-\d{6}-[0-9a-f]{4}$/);
    assert.equal(m.scenario, 'throughput');
    assert.equal(m.parallelism, 4);
    assert.equal(m.collect, `perf analyze --run-id ${m.runId} --influx ${INFLUX}`);
    const name = `perf-throughput-${m.runId}`;

    const v = k8sValidators();
    const tr = readYaml(path.join(r.out, 'testrun.yaml'));
    assert.ok(v.testRun(tr), JSON.stringify(v.testRun.errors));
    assert.equal(tr.apiVersion, 'k6.io/v1alpha1');
    assert.equal(tr.kind, 'TestRun');
    assert.equal(tr.metadata.name, name);
    assert.equal(tr.metadata.namespace, 'load');
    assert.equal(tr.metadata.labels['perf/run-id'], m.runId);
    assert.equal(tr.spec.runner.metadata.labels['perf/run-id'], m.runId);
    assert.equal(tr.spec.parallelism, 4);
    assert.deepEqual(tr.spec.script, { configMap: { name, file: 'throughput.js' } });
    assert.equal(tr.spec.arguments, `--tag run_id=${m.runId} --tag phase=load --tag perf_scenario=throughput --out influxdb=${INFLUX}`);
    assert.equal(tr.spec.runner.image, 'grafana/k6:2.2.0');
    assert.deepEqual(tr.spec.runner.resources, { limits: { cpu: '2', memory: '2Gi' }, requests: { cpu: '2', memory: '2Gi' } });
    const env = Object.fromEntries((tr.spec.runner.env as Doc[]).map((e) => [e.name, e]));
    assert.equal(env.PERF_RUN_ID.value, m.runId);
    assert.equal(env.PERF_PROFILE.value, 'stress');
    assert.equal(env.PERF_USERS.value, '40');
    assert.equal(env.PERF_DURATION.value, '2m');
    assert.equal(env.PERF_BASE_URL.value, 'http://api.perf.svc:3000');
    assert.deepEqual(JSON.parse(env.PERF_K6_OPTIONS.value), { vus: 40, duration: '2m' });
    // Secrets only by reference.
    assert.deepEqual(env.PERF_AUTH, { name: 'PERF_AUTH', valueFrom: { secretKeyRef: { name: 'perf-secrets', key: 'PERF_AUTH' } } });
    for (const k of ['PERF_AGENT', 'K6_INFLUXDB_USERNAME', 'K6_INFLUXDB_PASSWORD']) {
      assert.deepEqual(env[k].valueFrom, { secretKeyRef: { name: 'perf-secrets', key: k, optional: true } });
      assert.equal(env[k].value, undefined);
    }

    const cm = readYaml(path.join(r.out, 'configmap.yaml'));
    assert.ok(v.configMap(cm), JSON.stringify(v.configMap.errors));
    assert.equal(cm.metadata.name, name);
    assert.equal(cm.metadata.labels['perf/run-id'], m.runId);
    const bundled = readFileSync(path.join(r.cwd, '.perf', 'build', 'throughput.js'), 'utf8');
    assert.equal(cm.data['throughput.js'], bundled.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'), 'the ConfigMap holds the bundle perf bundle writes');
    assert.match(cm.data['throughput.js'], /constant-arrival-rate/);

    const secret = readYaml(path.join(r.out, 'secret.example.yaml'));
    assert.ok(v.secret(secret), JSON.stringify(v.secret.errors));
    assert.deepEqual(Object.keys(secret.stringData), ['PERF_AUTH', 'PERF_AGENT', 'K6_INFLUXDB_USERNAME', 'K6_INFLUXDB_PASSWORD']);
    for (const val of Object.values(secret.stringData) as string[]) assert.match(val, /^<.*>$/, 'placeholders only');

    const readme = readFileSync(path.join(r.out, 'README.txt'), 'utf8');
    assert.match(readme, /kubectl -n load create secret generic perf-secrets/);
    assert.match(readme, new RegExp(`perf analyze --run-id ${m.runId} --influx`));
    assert.match(readme, /equal execution segment/);

    // No secret in any rendered file: the repo config's PERF_AUTH, its load users' passwords, the InfluxDB password in perf's env.
    const { config } = await resolveConfig({ cwd: REPO });
    assert.ok(config.auth, 'the repo config has auth');
    const secrets: Secret[] = [
      { kind: 'PERF_AUTH', value: perfAuthEnv(config.auth, config.seed) },
      { kind: 'influx password', value: INFLUX_PASSWORD },
      ...Array.from({ length: 40 }, (_, i) => ({ kind: 'load user password', value: identityFor(config.auth, m.runId, config.seed, `vu${i + 1}`).password })),
    ];
    const scan = scanFolder(r.out, secrets);
    assert.equal(scan.files.length, 5);
    assert.deepEqual(scan.hits, []);
  });

  test('the validator catches what the k6-operator would not take (so the checks above can fail)', async () => {
    const r = await render(['--scenario', 'throughput', '--no-auth']);
    assert.equal(r.code, 0, r.stderr);
    const v = k8sValidators();
    const tr = readYaml(path.join(r.out, 'testrun.yaml'));
    assert.ok(v.testRun(tr), JSON.stringify(v.testRun.errors));
    assert.ok(!(tr.spec.runner.env as Doc[]).some((e) => e.name === 'PERF_AUTH'), '--no-auth: no PERF_AUTH reference');
    const bad = (mutate: (d: Doc) => void): boolean => {
      const d = structuredClone(tr);
      mutate(d);
      return v.testRun(d) as boolean;
    };
    assert.equal(bad((d) => (d.spec.parallelism = 0)), false, 'parallelism 0');
    assert.equal(bad((d) => (d.spec.parallelism = '2')), false, 'parallelism as a string');
    assert.equal(bad((d) => (d.spec.parallelizm = 2)), false, 'an unknown spec field');
    assert.equal(bad((d) => delete d.spec.script), false, 'no script');
    assert.equal(bad((d) => (d.spec.cleanup = 'always')), false, 'cleanup outside its enum');
    assert.equal(bad((d) => (d.spec.runner.env[0] = { name: 'PERF_AUTH', value: 'x', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } })), false, 'value and valueFrom');
    assert.equal(bad((d) => (d.spec.script.configMap.file = 'dir/x.js')), false, 'a path in a ConfigMap key');
    assert.equal(bad((d) => (d.kind = 'K6')), false, 'the deprecated kind');
    assert.equal(bad((d) => (d.spec.cleanup = 'post')), true, 'cleanup: post is fine');

    // And the CLI refuses before writing anything.
    const zero = await render(['--scenario', 'throughput', '--parallelism', '0']);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--parallelism must be at least 1/);
    const ns = await render(['--scenario', 'throughput', '--namespace', 'Bad_NS']);
    assert.equal(ns.code, 2);
    assert.match(ns.stderr, /--namespace "Bad_NS" is not a Kubernetes namespace name/);
    const cred = await render(['--scenario', 'throughput', '--influx', 'http://u:p@influx:8086/perf']);
    assert.equal(cred.code, 2);
    assert.match(cred.stderr, /must not hold credentials/);
    assert.equal(existsSync(zero.out) || existsSync(ns.out) || existsSync(cred.out), false);
  });

  test('a script over the ConfigMap limit (1 MiB) is refused, naming volumeClaim', async () => {
    const cwd = tempDir('perf-k8s-big-');
    mkdirSync(path.join(cwd, 'scenarios'));
    const big = 'x'.repeat(CONFIGMAP_MAX_BYTES + 1024);
    writeFileSync(path.join(cwd, 'scenarios', 'big.ts'), `const BIG = '${big}';\nexport default function (): void {\n  if (BIG.length === 0) throw new Error('empty');\n}\n`);
    const r = await runCli(['k8s', 'render', '--scenario', 'big', '--out', 'k8s'], { cwd });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /a ConfigMap holds at most 1048576 bytes \(1 MiB\)/);
    assert.match(r.stderr, /spec\.script\.volumeClaim/);
    assert.equal(existsSync(path.join(cwd, 'k8s')), false);
  });
});

describe('perf k8s apply', () => {
  test('without kubectl on PATH: exit 2, naming kubectl and KUBECONFIG; nothing else attempted', async () => {
    const r = await render(['--scenario', 'throughput']);
    assert.equal(r.code, 0, r.stderr);
    const empty = tempDir('perf-no-kubectl-');
    const a = await runCli(['k8s', 'apply', r.out, '--wait'], { cwd: r.cwd, env: { PATH: empty } });
    assert.equal(a.code, 2);
    assert.match(a.stderr, /kubectl not found on PATH/);
    assert.match(a.stderr, /Install kubectl .*KUBECONFIG/);
    assert.equal(a.stdout, '');
  });

  test('no reachable cluster (fake kubectl: cluster-info fails): exit 2, and cluster-info was the only call', async () => {
    const r = await render(['--scenario', 'throughput']);
    const k = fakeKubectl();
    const a = await runCli(['k8s', 'apply', r.out], { cwd: r.cwd, env: { PATH: pathWith(k.bin), FAKE_CLUSTER: 'down' } });
    assert.equal(a.code, 2, a.stderr);
    assert.match(a.stderr, /no Kubernetes cluster reachable: `kubectl cluster-info` failed \(exit 1\): The connection to the server localhost:8080 was refused/);
    assert.match(a.stderr, /Set KUBECONFIG/);
    assert.deepEqual(k.calls(), [['cluster-info', '--request-timeout=10s']]);
  });

  test('a missing Secret stops it before anything is applied', async () => {
    const r = await render(['--scenario', 'throughput', '--namespace', 'load']);
    const k = fakeKubectl();
    const a = await runCli(['k8s', 'apply', r.out], { cwd: r.cwd, env: { PATH: pathWith(k.bin), FAKE_GET_FAILS: '1' } });
    assert.equal(a.code, 2, a.stderr);
    assert.match(a.stderr, /the Secret perf-secrets is missing in namespace load/);
    assert.ok(!k.calls().some((c) => c[0] === 'apply'));
  });

  test('apply + --wait against a fake kubectl: configmap then testrun, stages polled until finished, then the analyze command', async () => {
    const r = await render(['--scenario', 'throughput', '--namespace', 'load', '--parallelism', '2']);
    const m = JSON.parse(readFileSync(path.join(r.out, 'manifest.json'), 'utf8'));
    const k = fakeKubectl();
    const a = await runCli(['k8s', 'apply', r.out, '--wait', '--timeout', '1m'], {
      cwd: r.cwd,
      env: { PATH: pathWith(k.bin), FAKE_STAGES: 'initialization,started,started,finished', PERF_K8S_POLL_MS: '50' },
    });
    assert.equal(a.code, 0, a.stderr + a.stdout);
    const getTr = ['-n', 'load', 'get', 'testrun', m.testRun, '-o', 'jsonpath={.status.stage}'];
    assert.deepEqual(k.calls(), [
      ['cluster-info', '--request-timeout=10s'],
      ['-n', 'load', 'get', 'secret', 'perf-secrets', '-o', 'name'],
      ['apply', '-f', path.join(r.out, 'configmap.yaml')],
      ['apply', '-f', path.join(r.out, 'testrun.yaml')],
      getTr,
      getTr,
      getTr,
      getTr,
    ]);
    assert.match(a.stdout, /testrun perf-throughput-\S+: initialization\n.*: started\n.*: finished\n/);
    assert.match(a.stdout, new RegExp(`perf analyze --run-id ${m.runId} --influx <url>`));
  });

  test('--wait: stage error exits 1; a TestRun that never ends times out with exit 1', async () => {
    const r = await render(['--scenario', 'throughput', '--no-auth']);
    const k = fakeKubectl();
    const err = await runCli(['k8s', 'apply', r.out, '--wait'], { cwd: r.cwd, env: { PATH: pathWith(k.bin), FAKE_STAGES: 'started,error', PERF_K8S_POLL_MS: '50' } });
    assert.equal(err.code, 1);
    assert.match(err.stdout, /ended in stage error; see: kubectl -n default logs -l k6_cr=/);
    assert.ok(!k.calls().some((c) => c.includes('secret')), '--no-auth: no Secret is required');
    const slow = await runCli(['k8s', 'apply', r.out, '--wait', '--timeout', '1s'], { cwd: r.cwd, env: { PATH: pathWith(k.bin), FAKE_STAGES: 'started', PERF_K8S_POLL_MS: '200' } });
    assert.equal(slow.code, 1);
    assert.match(slow.stdout, /timed out after 1 s waiting for testrun/);
  });

  test('--wait with --influx rendered: perf analyze runs for the run id once the TestRun finished', async () => {
    const r = await render(['--scenario', 'throughput', '--influx', 'http://127.0.0.1:9/perf']);
    const m = JSON.parse(readFileSync(path.join(r.out, 'manifest.json'), 'utf8'));
    const k = fakeKubectl();
    const a = await runCli(['k8s', 'apply', r.out, '--wait'], { cwd: r.cwd, env: { PATH: pathWith(k.bin), PERF_K8S_POLL_MS: '50' } });
    assert.match(a.stdout, new RegExp(`finished; the verdict over every runner's samples: perf analyze --run-id ${m.runId} --influx http://127.0.0.1:9/perf`));
    // Nothing listens on port 9: analyze's own failure (and exit code) comes through.
    assert.notEqual(a.code, 0);
    assert.match(a.stderr, /127\.0\.0\.1:9|ECONNREFUSED|InfluxDB/i);
  });
});
