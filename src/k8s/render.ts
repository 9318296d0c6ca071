/**
 * `perf k8s render`: a perf scenario as k6-operator resources (docs/kubernetes.md). perf does not
 * distribute load itself: the k6-operator (grafana/k6-operator) starts `parallelism` stock k6
 * runners, each on an equal execution segment of the script, and perf's part is the bundled
 * script (a ConfigMap), the TestRun pointing at it with the env and tags perf's load phase gives
 * k6 (src/load/load-phase.ts), and `perf analyze --run-id` afterwards, over every runner's
 * samples merged in InfluxDB.
 *
 * Secrets never go into a rendered file: PERF_AUTH (auth config + seed), PERF_AGENT and the
 * InfluxDB credentials are `valueFrom.secretKeyRef`s to a Secret the user creates
 * (secret.example.yaml holds placeholders only).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { stringify } from 'yaml';
import { K6_SYSTEM_TAGS } from '../../analysis/k6-csv.ts';
import { UserError } from '../errors.ts';
import { parseInfluxUrl, INFLUX_CREDENTIAL_ENV, INFLUX_TAGS } from '../influx/influx-schema.ts';
import { newRunId } from '../run/verdict.ts';
import { CONFIGMAP_SCHEMA, DNS1123_SUBDOMAIN, SECRET_SCHEMA, TESTRUN_SCHEMA } from './testrun-schema.ts';

/** A ConfigMap's whole object may not exceed 1 MiB (Kubernetes' etcd object limit for ConfigMaps). */
export const CONFIGMAP_MAX_BYTES = 1_048_576;
/** The stock k6 image, the version perf pins elsewhere (docker-compose.perf.yml, perf k6 install). */
export const DEFAULT_K6_IMAGE = 'grafana/k6:2.2.0';
export const MANIFEST_FILE = 'manifest.json';
export const FILES = { configMap: 'configmap.yaml', testRun: 'testrun.yaml', secret: 'secret.example.yaml', readme: 'README.txt' } as const;

export interface RenderOptions {
  /** The project folder (`.perf/build`, `.perf/k8s` live under it). */
  projectDir: string;
  scenario: string;
  scenariosDir: string;
  parallelism: number;
  users?: number;
  profile?: string;
  duration?: string;
  influx?: string;
  namespace: string;
  image: string;
  cpu: string;
  memory: string;
  /** Base URL of the system under test, as the runner pods reach it. */
  target?: string;
  wsUrl?: string;
  /** The Secret holding PERF_AUTH etc. */
  secretName: string;
  /** false: no PERF_AUTH reference (a scenario that signs no user in). */
  auth: boolean;
  out?: string;
  runId?: string;
}

export interface K8sManifest {
  schema: 'perf-k8s/1';
  runId: string;
  scenario: string;
  parallelism: number;
  namespace: string;
  testRun: string;
  configMap: string;
  secret: string;
  /** The runners cannot start without the Secret (it holds PERF_AUTH). */
  secretRequired: boolean;
  scriptBytes: number;
  influx?: string;
  files: { configMap: string; testRun: string; secret: string; readme: string };
  /** How to collect results once the TestRun is `finished`. */
  collect: string;
  note: string;
}

export interface RenderResult {
  dir: string;
  manifest: K8sManifest;
}

/** A DNS-1123 label part from a scenario name. */
function dnsPart(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'scenario';
}

/** The secret keys a runner may read, and whether the pod needs them. */
export function secretKeys(opts: Pick<RenderOptions, 'auth'>): { key: string; optional: boolean; placeholder: string; about: string }[] {
  return [
    ...(opts.auth
      ? [{ key: 'PERF_AUTH', optional: false, placeholder: '<JSON: perf.config.ts `auth` without `module`, plus "seed": <n>>', about: 'what `perf run` passes k6 as PERF_AUTH (src/load/load-phase.ts perfAuthEnv)' }]
      : []),
    { key: 'PERF_AGENT', optional: true, placeholder: '<JSON: perf.config.ts `agent` (ws-events only)>', about: 'the WebSocket agent protocol, for ws-events' },
    { key: INFLUX_CREDENTIAL_ENV.username, optional: true, placeholder: '<InfluxDB user, if it needs one>', about: "read by k6's influxdb output" },
    { key: INFLUX_CREDENTIAL_ENV.password, optional: true, placeholder: '<InfluxDB password, if it needs one>', about: "read by k6's influxdb output" },
  ];
}

let validators: { testRun: ValidateFunction; configMap: ValidateFunction; secret: ValidateFunction } | undefined;
/** ajv validators of the three resource kinds (src/k8s/testrun-schema.ts). */
export function k8sValidators(): { testRun: ValidateFunction; configMap: ValidateFunction; secret: ValidateFunction } {
  if (!validators) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validators = { testRun: ajv.compile(TESTRUN_SCHEMA), configMap: ajv.compile(CONFIGMAP_SCHEMA), secret: ajv.compile(SECRET_SCHEMA) };
  }
  return validators;
}

function check(validate: ValidateFunction, doc: unknown, what: string): void {
  if (validate(doc)) return;
  const errs = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
  throw new UserError(`the rendered ${what} is not valid: ${errs.join('; ')}`, 'Check --namespace, --image, --cpu and --memory.');
}

/** The k6 `run` arguments of each runner (k6-operator adds the script and --execution-segment itself). */
export function k6Arguments(runId: string, scenario: string, influxUrl: string | undefined): string {
  return [
    `--tag ${INFLUX_TAGS.runId}=${runId}`,
    `--tag ${INFLUX_TAGS.phase}=load`,
    `--tag ${INFLUX_TAGS.scenario}=${scenario}`,
    ...(influxUrl ? [`--out influxdb=${influxUrl}`] : []),
  ].join(' ');
}

export async function renderK8s(opts: RenderOptions): Promise<RenderResult> {
  if (!Number.isInteger(opts.parallelism) || opts.parallelism < 1) throw new UserError(`--parallelism must be a whole number ≥ 1 (got ${opts.parallelism})`);
  if (!new RegExp(DNS1123_SUBDOMAIN).test(opts.namespace) || opts.namespace.length > 63) {
    throw new UserError(`--namespace "${opts.namespace}" is not a Kubernetes namespace name`, 'Lower-case letters, digits and -, at most 63 characters.');
  }
  let influxUrl: string | undefined;
  if (opts.influx !== undefined) {
    try {
      influxUrl = parseInfluxUrl(opts.influx).url;
    } catch (e) {
      throw new UserError(`--influx: ${(e as Error).message}`, 'For example --influx http://influxdb.monitoring:8086/perf (as the runner pods reach it).');
    }
  }
  const { bundleScenarios } = await import('../../bundler/bundle.ts');
  const { buildDir, perfDir } = await import('../paths.ts');
  const [bundle] = await bundleScenarios({ scenariosDir: opts.scenariosDir, outDir: buildDir(opts.projectDir), names: [opts.scenario], cwd: opts.projectDir });
  if (!bundle) throw new UserError(`scenario ${opts.scenario} was not bundled`);
  // The source map stays behind (it names this machine's paths): k6 is not told to look for it.
  const script = readFileSync(bundle.script, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
  const scriptBytes = Buffer.byteLength(script);
  const runId = opts.runId ?? newRunId();
  const base = `perf-${dnsPart(bundle.name)}-${runId}`.slice(0, 253);
  const scriptKey = `${bundle.name.replace(/[^-._a-zA-Z0-9]/g, '_')}.js`;
  const labels = { 'app.kubernetes.io/managed-by': 'perf', 'perf/run-id': runId, 'perf/scenario': dnsPart(bundle.name).slice(0, 63) };

  const configMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: base, namespace: opts.namespace, labels },
    data: { [scriptKey]: script },
  };
  const configMapYaml = stringify(configMap, { lineWidth: 0, aliasDuplicateObjects: false });
  const configMapBytes = Buffer.byteLength(configMapYaml);
  if (scriptBytes > CONFIGMAP_MAX_BYTES || configMapBytes > CONFIGMAP_MAX_BYTES) {
    throw new UserError(
      `the bundled script of ${bundle.name} is ${scriptBytes} bytes (its ConfigMap ${configMapBytes}): a ConfigMap holds at most ${CONFIGMAP_MAX_BYTES} bytes (1 MiB)`,
      'Put the script on a PersistentVolumeClaim instead and point the TestRun at it with spec.script.volumeClaim {name, file} (docs/kubernetes.md), or make the scenario smaller.',
    );
  }

  const overrides = { ...(opts.users !== undefined ? { vus: opts.users } : {}), ...(opts.duration ? { duration: opts.duration } : {}) };
  const env: Record<string, unknown>[] = [
    ...(opts.target ? [{ name: 'PERF_BASE_URL', value: opts.target }] : []),
    ...(opts.wsUrl ? [{ name: 'PERF_WS_URL', value: opts.wsUrl }] : []),
    { name: 'PERF_RUN_ID', value: runId },
    { name: 'PERF_PROFILE', value: opts.profile ?? 'load' },
    ...(opts.users !== undefined ? [{ name: 'PERF_USERS', value: String(opts.users) }] : []),
    ...(opts.duration ? [{ name: 'PERF_DURATION', value: opts.duration }] : []),
    // Users and duration as perf's load phase hands them to the bundle's options runtime (bundler/k6-options-runtime.ts).
    { name: 'PERF_K6_OPTIONS', value: JSON.stringify(overrides) },
    { name: 'K6_SYSTEM_TAGS', value: K6_SYSTEM_TAGS.join(',') },
    { name: 'K6_AUTO_EXTENSION_RESOLUTION', value: 'false' },
    ...secretKeys(opts).map((s) => ({ name: s.key, valueFrom: { secretKeyRef: { name: opts.secretName, key: s.key, ...(s.optional ? { optional: true } : {}) } } })),
  ];
  const resources = { cpu: opts.cpu, memory: opts.memory };
  const testRun = {
    apiVersion: 'k6.io/v1alpha1',
    kind: 'TestRun',
    metadata: { name: base, namespace: opts.namespace, labels },
    spec: {
      parallelism: opts.parallelism,
      script: { configMap: { name: base, file: scriptKey } },
      arguments: k6Arguments(runId, bundle.name, influxUrl),
      runner: {
        image: opts.image,
        metadata: { labels },
        env,
        resources: { limits: resources, requests: resources },
      },
    },
  };
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: opts.secretName, namespace: opts.namespace, labels: { 'app.kubernetes.io/managed-by': 'perf' } },
    type: 'Opaque',
    stringData: Object.fromEntries(secretKeys(opts).map((s) => [s.key, s.placeholder])),
  };
  const v = k8sValidators();
  check(v.configMap, configMap, FILES.configMap);
  check(v.testRun, testRun, FILES.testRun);
  check(v.secret, secret, FILES.secret);

  const dir = path.resolve(opts.projectDir, opts.out ?? path.join(perfDir(opts.projectDir), 'k8s', runId));
  const collect = `perf analyze --run-id ${runId} --influx ${influxUrl ?? '<url>'}`;
  const manifest: K8sManifest = {
    schema: 'perf-k8s/1',
    runId,
    scenario: bundle.name,
    parallelism: opts.parallelism,
    namespace: opts.namespace,
    testRun: base,
    configMap: base,
    secret: opts.secretName,
    secretRequired: opts.auth,
    scriptBytes,
    ...(influxUrl ? { influx: influxUrl } : {}),
    files: { ...FILES },
    collect,
    note:
      'Each runner runs an equal execution segment; the thresholds inside each runner judge only its segment. ' +
      "perf's verdict is `perf analyze --run-id` over every runner's samples merged in InfluxDB.",
  };
  mkdirSync(dir, { recursive: true });
  const header = (what: string) => `# ${what} — written by \`perf k8s render\` (run ${runId}); see docs/kubernetes.md\n`;
  writeFileSync(path.join(dir, FILES.configMap), header(`the bundled k6 script of ${bundle.name}`) + configMapYaml);
  writeFileSync(path.join(dir, FILES.testRun), header(`k6-operator TestRun: ${opts.parallelism} stock k6 runner(s)`) + stringify(testRun, { lineWidth: 0, aliasDuplicateObjects: false }));
  writeFileSync(
    path.join(dir, FILES.secret),
    header('EXAMPLE ONLY: placeholders, never apply as is. Create the real Secret with kubectl create secret (README.txt)') + stringify(secret, { lineWidth: 0, aliasDuplicateObjects: false }),
  );
  writeFileSync(path.join(dir, FILES.readme), readme(manifest, opts, dir));
  writeFileSync(path.join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir, manifest };
}

function readme(m: K8sManifest, opts: RenderOptions, dir: string): string {
  const keys = secretKeys(opts);
  const rel = path.relative(opts.projectDir, dir) || '.';
  return [
    `perf k8s: scenario ${m.scenario}, run ${m.runId}, ${m.parallelism} k6 runner(s) in namespace ${m.namespace}`,
    '',
    'Needs: a cluster with the k6-operator installed (https://github.com/grafana/k6-operator), kubectl pointed at it.',
    '',
    `1. Create the Secret ${m.secret} (once per namespace; values from your perf.config.ts, never committed):`,
    ...keys.map((k) => `     ${k.key}${k.optional ? ' (optional)' : ''}: ${k.about}`),
    `     kubectl -n ${m.namespace} create secret generic ${m.secret} \\`,
    ...keys.map((k, i) => `       --from-literal=${k.key}='...'${i < keys.length - 1 ? ' \\' : ''}`),
    `   (${FILES.secret} shows its shape with placeholders.)`,
    '',
    '2. Apply the script, then the TestRun, and wait for it:',
    `     perf k8s apply ${rel} --wait`,
    '   or by hand:',
    `     kubectl apply -f ${path.join(rel, FILES.configMap)}`,
    `     kubectl apply -f ${path.join(rel, FILES.testRun)}`,
    `     kubectl -n ${m.namespace} get testrun ${m.testRun} -o jsonpath={.status.stage}   # until finished or error`,
    '',
    '3. Collect the verdict (every runner\'s samples, tagged run_id, merged in InfluxDB):',
    `     ${m.collect}`,
    ...(m.influx ? [] : ['   This render had no --influx: runners keep their samples to themselves; render again with --influx to analyze.']),
    '',
    'Thresholds: each runner runs an equal execution segment of the script, so the thresholds k6 evaluates',
    "inside a runner judge only that runner's segment. perf's verdict is `perf analyze --run-id` over all of them.",
    ...(opts.target ? [] : ['', 'No --target was given: runners use the scenario default PERF_BASE_URL (http://127.0.0.1:3000), which is not your service.']),
    '',
    `Clean up: kubectl -n ${m.namespace} delete testrun,configmap -l perf/run-id=${m.runId}`,
    '',
  ].join('\n');
}
