/**
 * `perf k8s apply <dir>`: what `perf k8s render` wrote, onto the cluster kubectl points at —
 * the script's ConfigMap first, then the TestRun; with `--wait`, the TestRun's
 * `.status.stage` polled until `finished` or `error`, then `perf analyze --run-id`.
 *
 * Before anything is applied: kubectl must be on PATH and `kubectl cluster-info` must reach a
 * cluster; otherwise a UserError (exit 2) names the problem and the fix, and nothing else is
 * attempted. perf never talks to the Kubernetes API itself: every step is a kubectl command.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../errors.ts';
import { whichSync } from '../k6/k6.ts';
import { EXIT } from '../run/exit-codes.ts';
import { MANIFEST_FILE, type K8sManifest } from './render.ts';
import { FINAL_STAGES } from './testrun-schema.ts';

export interface ApplyOptions {
  dir: string;
  wait: boolean;
  timeoutMs: number;
  /** Between two `kubectl get testrun` (default 5 s; env PERF_K8S_POLL_MS). */
  pollMs?: number;
  out?: { write(s: string): unknown };
  env?: NodeJS.ProcessEnv;
}

interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, stdio: 'pipe' | 'inherit' = 'pipe'): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

const lastLine = (s: string) => s.trim().split('\n').filter(Boolean).pop() ?? '';

export function readK8sManifest(dir: string): K8sManifest {
  const file = path.join(dir, MANIFEST_FILE);
  if (!existsSync(file)) throw new UserError(`${dir} holds no ${MANIFEST_FILE}: not a folder written by \`perf k8s render\``, 'Render one first: perf k8s render --scenario <name>.');
  return JSON.parse(readFileSync(file, 'utf8')) as K8sManifest;
}

/** kubectl's path, and a reachable cluster; otherwise a UserError saying which is missing and how to fix it. */
export async function requireCluster(env: NodeJS.ProcessEnv): Promise<string> {
  const kubectl = whichSync('kubectl', env);
  if (!kubectl) {
    throw new UserError(
      'kubectl not found on PATH: perf k8s apply drives the cluster through kubectl, and nothing was applied',
      'Install kubectl (https://kubernetes.io/docs/tasks/tools/, or your package manager) and point it at a cluster with the k6-operator (KUBECONFIG or ~/.kube/config).',
    );
  }
  const info = await run(kubectl, ['cluster-info', '--request-timeout=10s'], env);
  if (info.code !== 0) {
    throw new UserError(
      `no Kubernetes cluster reachable: \`kubectl cluster-info\` failed (exit ${info.code}): ${lastLine(info.stderr) || lastLine(info.stdout) || 'no output'}; nothing was applied`,
      'Set KUBECONFIG to the kubeconfig of a cluster running the k6-operator (or `kubectl config use-context <name>`), then check with `kubectl cluster-info`.',
    );
  }
  return kubectl;
}

/** Exit code: 0 finished (and analyze passed, when it ran), 1 error / timeout / analyze failed. */
export async function applyK8s(opts: ApplyOptions): Promise<number> {
  const env = opts.env ?? process.env;
  const out = opts.out ?? process.stdout;
  const dir = path.resolve(opts.dir);
  const m = readK8sManifest(dir);
  const kubectl = await requireCluster(env);

  if (m.secretRequired) {
    const s = await run(kubectl, ['-n', m.namespace, 'get', 'secret', m.secret, '-o', 'name'], env);
    if (s.code !== 0) {
      throw new UserError(
        `the Secret ${m.secret} is missing in namespace ${m.namespace} (the runners read PERF_AUTH from it): ${lastLine(s.stderr)}; nothing was applied`,
        `Create it as ${path.join(path.relative(process.cwd(), dir) || '.', m.files.readme)} says: kubectl -n ${m.namespace} create secret generic ${m.secret} --from-literal=PERF_AUTH='...'`,
      );
    }
  }
  for (const f of [m.files.configMap, m.files.testRun]) {
    const r = await run(kubectl, ['apply', '-f', path.join(dir, f)], env);
    if (r.code !== 0) throw new Error(`kubectl apply -f ${f} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    out.write(r.stdout.endsWith('\n') || !r.stdout ? r.stdout : `${r.stdout}\n`);
  }
  if (!opts.wait) {
    out.write(`applied; follow it with: kubectl -n ${m.namespace} get testrun ${m.testRun} -w\nthen: ${m.collect}\n`);
    return EXIT.passed;
  }

  const pollMs = opts.pollMs ?? (Number(env.PERF_K8S_POLL_MS) || 5000);
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  for (;;) {
    const r = await run(kubectl, ['-n', m.namespace, 'get', 'testrun', m.testRun, '-o', 'jsonpath={.status.stage}'], env);
    const stage = r.code === 0 ? r.stdout.trim() : '';
    if (r.code !== 0) out.write(`kubectl get testrun failed (exit ${r.code}): ${lastLine(r.stderr)}; retrying\n`);
    else if (stage !== last) {
      out.write(`testrun ${m.testRun}: ${stage || '(no stage yet)'}\n`);
      last = stage;
    }
    if ((FINAL_STAGES as readonly string[]).includes(stage)) break;
    if (Date.now() + pollMs > deadline) {
      out.write(`timed out after ${Math.round(opts.timeoutMs / 1000)} s waiting for testrun ${m.testRun} (stage ${last || 'unknown'}); it keeps running in the cluster\n`);
      return EXIT.failed;
    }
    await sleep(pollMs);
  }
  if (last === 'error') {
    out.write(`testrun ${m.testRun} ended in stage error; see: kubectl -n ${m.namespace} logs -l k6_cr=${m.testRun}\n`);
    return EXIT.failed;
  }
  if (!m.influx) {
    out.write(`finished. The samples went nowhere perf can read (rendered without --influx); with InfluxDB: ${m.collect}\n`);
    return EXIT.passed;
  }
  out.write(`finished; the verdict over every runner's samples: ${m.collect}\n`);
  // The same perf, as a child: `perf analyze` prints its table and decides the exit code.
  const analyze = await run(process.execPath, [process.argv[1]!, 'analyze', '--run-id', m.runId, '--influx', m.influx], env, 'inherit');
  return analyze.code;
}
