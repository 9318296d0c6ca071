import { existsSync, mkdirSync } from 'node:fs';
import { captureWindowSeconds, readWindowsFile, WINDOWS_FILE } from '../../analysis/window-capture.ts';
import { evaluateBaseline, relativeGateReason } from '../baseline/compare-runs.ts';
import { evaluateSoak, soakCaptures, soakReasons, withMemoryTrend } from '../soak/evaluate-soak.ts';
import type { MemoryTrendResult } from '../soak/soak-types.ts';
import { appendIndex, buildIndexRecord, comparableHash, resolveBaseline, type ResolvedBaseline } from '../baseline/run-index.ts';
import path from 'node:path';
import { bundleScenarios, listScenarios, type BundledScenario } from '../../bundler/bundle.ts';
import { BROWSER_PHASES, requireChromium } from '../clients/browser.ts';
import type { ResolvedTarget } from '../checks/types.ts';
import { isAbsoluteGate, type PhaseName, type ResolvedConfig } from '../config/config-schema.ts';
import { isUserError, UserError } from '../errors.ts';
import type { RunStatus } from './exit-codes.ts';
import { parseDurationMs } from '../cli/flags.ts';
import type { K6Binary } from '../k6/k6.ts';
import { buildManifest } from './manifest.ts';
import { buildDir, runsDir } from '../paths.ts';
import { dbReconcileChecks, type LoadCounters } from '../checks/db-reconcile.ts';
import { cleanupRunUsers, forgetRun, testDataOf } from '../auth/cleanup.ts';
import { trackLoadUsers } from '../auth/load-users.ts';
import { checkPhase, DEFAULT_POLICIES, type CheckFactory } from './phases.ts';
import { PROFILES } from '../../scenarios/lib/profiles.ts';
import { expectedLoadMs, loadPhase } from '../load/load-phase.ts';
import { runPipeline, type Fixture, type PhaseDef } from './pipeline.ts';
import { Redactor } from '../redact/redact.ts';
import { Services } from '../target/services.ts';
import type { Reporter } from '../reporters/reporter.ts';
import { newRunId, writeVerdict, type PhaseResult, type Verdict } from './verdict.ts';
import type { OpenApiDocument } from '../openapi/document.ts';

export interface TargetStarter {
  (config: ResolvedConfig, signal: AbortSignal): Promise<{ target: ResolvedTarget; pid?: number; stop: () => Promise<void> }>;
}

export interface RunOptions {
  projectDir: string;
  config: ResolvedConfig;
  configHash: string;
  phases: PhaseName[];
  /** Check phases available in this build, by name. */
  checkFactories: Partial<Record<PhaseName, CheckFactory>>;
  /** `--scenario`: overrides `config.load.scenarios`. */
  scenarios?: string[];
  /** Resolves k6 (building it if allowed); only called when the load phase is selected. */
  getK6: () => Promise<K6Binary>;
  /** Starts the bundled sample-app when `config.target` is `'sample-app'`. */
  startSampleApp: TargetStarter;
  makeReporter: (redactor: Redactor) => Reporter;
  signal: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** `--baseline <run-id|last-green>`: the run the relative gates compare with (src/baseline/). */
  baseline?: string;
}

export function redactorFor(config: ResolvedConfig, env: NodeJS.ProcessEnv): Redactor {
  const r = new Redactor();
  r.addEnvSecrets(env);
  r.addSecret(env[config.webhook.urlEnv]);
  // Passwords of the service URLs the config names (they show up alone in driver errors).
  // Not the bundled app's own embedded database: its fixed password is the word `sample-app`.
  for (const url of [config.sampleApp.databaseUrl, config.sampleApp.redisUrl, config.influx.url]) r.addUrlCredentials(url);
  if (typeof config.target === 'object') for (const url of Object.values(config.target)) if (typeof url === 'string') r.addUrlCredentials(url);
  return r;
}

/**
 * One run: pre-flight (find Chromium, bundle scenarios, find k6), the pipeline of phases against the
 * target, then `verdict.json` and the reporters. The verdict is written whatever happens:
 * a pre-flight `UserError` (type error, missing k6) still leaves a verdict saying so, and
 * is rethrown so the CLI exits 2.
 */
export async function executeRun(opts: RunOptions): Promise<{ verdict: Verdict; runDir: string }> {
  const env = opts.env ?? process.env;
  const runId = newRunId();
  const runDir = path.join(runsDir(opts.projectDir), runId);
  mkdirSync(runDir, { recursive: true });
  const startedAt = new Date();
  const redactor = redactorFor(opts.config, env);
  // InfluxDB (issue 6), when configured: connected before the first hook; if it does not answer,
  // the session says so and the run goes on with local results only.
  const influx = opts.config.influx.url
    ? await (await import('../influx/influx.ts')).startInfluxForRun({ url: opts.config.influx.url, runId, redactor, env })
    : undefined;
  const reporter = influx
    ? (await import('../reporters/index.ts')).withConfiguredReporters(opts.makeReporter(redactor), [influx.reporter], { redactor })
    : opts.makeReporter(redactor);
  let k6: K6Binary | undefined;
  let target: ResolvedTarget | undefined;
  let targetPid: number | undefined;
  /** `target.start`: the user's services, one fixture each (src/target/services.ts). */
  let services: Services | undefined;
  let phases: PhaseResult[] = [];
  let reasons: string[] = [];
  let status: RunStatus = 'failed';
  let error: Verdict['error'];
  let pending: unknown;
  /** `smoke.openapi`, read in pre-flight when smoke, flows or load runs: the verdict's endpoint coverage. */
  let openapi: { doc: OpenApiDocument; exclude: string[] } | undefined;
  /** The load scenarios selected (the run index records them; a baseline must have run the same). */
  let scenarioNames: string[] = [];
  let baseline: ResolvedBaseline | undefined;
  let memoryTrends: MemoryTrendResult[] | undefined;
  let memoryNote: string | undefined;
  const sameness = comparableHash(opts.config);

  await reporter.onRunBegin?.({ runId, runDir, phases: opts.phases });
  try {
    // Pre-flight: a selected front-end phase needs Chromium. Checked first, before bundling,
    // k6 (which may build for minutes) or the target: a missing browser is a usage error (exit 2)
    // and no phase runs.
    if (opts.phases.some((p) => BROWSER_PHASES.includes(p))) requireChromium(env);
    // The document is read before any service starts (a bad one is a usage error, exit 2).
    const openapiRef = opts.config.smoke.openapi;
    if (openapiRef && opts.phases.some((p) => p === 'smoke' || p === 'flows' || p === 'load')) {
      const ref = typeof openapiRef === 'string' ? { document: openapiRef, exclude: [] } : openapiRef;
      const { loadOpenApi } = await import('../openapi/document.ts');
      openapi = { doc: await loadOpenApi(ref.document, opts.projectDir), exclude: ref.exclude };
    }
    const defs: PhaseDef[] = [];
    let bundles: BundledScenario[] = [];
    let loadCounters: LoadCounters | undefined;
    if (opts.phases.includes('load')) {
      const scenariosDir = path.resolve(opts.projectDir, opts.config.load.scenariosDir);
      const names = opts.scenarios?.length ? opts.scenarios : opts.config.load.scenarios.length ? opts.config.load.scenarios : listScenarios(scenariosDir);
      bundles = await bundleScenarios({ scenariosDir, outDir: buildDir(opts.projectDir), names, cwd: opts.projectDir });
      scenarioNames = bundles.map((b) => b.name);
      k6 = await opts.getK6();
    }
    // Before any service starts: an unknown run id is a usage error (exit 2).
    if (opts.baseline) {
      baseline = resolveBaseline(opts.projectDir, opts.baseline, { profile: opts.config.load.profile, users: opts.config.users, scenarios: scenarioNames, comparableHash: sameness });
    }
    for (const name of opts.phases) {
      if (name === 'load') {
        const duration = opts.config.load.duration;
        const durationMs = duration ? parseDurationMs(duration) : undefined;
        const policy = opts.config.phases.load;
        const load = loadPhase({
            bundles,
            k6: k6!,
            projectDir: opts.projectDir,
            users: opts.config.users,
            duration,
            durationMs,
            timeoutMs: policy?.timeout ? parseDurationMs(policy.timeout) : DEFAULT_POLICIES.load.timeoutMs + expectedLoadMs(opts.config.load.profile, duration, bundles.length),
            gates: opts.config.gates.filter(isAbsoluteGate),
            onCounters: (c) => {
              loadCounters = c;
            },
            profile: opts.config.load.profile,
            // The profile's ramp-up (the scenarios' own definition) is excluded from steady-state windows.
            rampUpSeconds: parseDurationMs(PROFILES[opts.config.load.profile].rampUp) / 1000,
            targetPid: () => targetPid,
            outputs: influx?.session.k6Output,
            checks: opts.config.load.checks,
            redactor,
            ...(opts.config.auth ? { auth: opts.config.auth, seed: opts.config.seed } : {}),
            ...(opts.config.agent ? { agent: opts.config.agent } : {}),
            ...(openapi ? { operations: openapi.doc.operations } : {}),
            captureGates: [...opts.config.gates, ...soakCaptures(opts.config.soak)],
            shards: opts.config.load.shards,
            captureWindowSeconds: captureWindowSeconds(duration ? parseDurationMs(duration) : parseDurationMs(PROFILES[opts.config.load.profile].hold)),
          });
        // soak.targetMemory: the target's RSS read while the load runs, when perf started it.
        const targetMemory = opts.config.soak.targetMemory;
        defs.push(
          targetMemory
            ? withMemoryTrend(load, {
                config: targetMemory,
                rampUpSeconds: parseDurationMs(PROFILES[opts.config.load.profile].rampUp) / 1000,
                targets: () => (services ? services.pids() : targetPid ? [{ service: 'sample-app', pid: targetPid }] : []),
                onResult: (r, note) => {
                  memoryTrends = r;
                  memoryNote = note;
                },
              })
            : load,
        );
        // After load, database integrity runs again and reconciles what the load created.
        if (opts.phases.includes('db-integrity') && opts.checkFactories['db-integrity'] && opts.config.database.reconcile) {
          const again = checkPhase('db-integrity', opts.config, [
            ...(await opts.checkFactories['db-integrity'](opts.config, { projectDir: opts.projectDir })),
            ...dbReconcileChecks(opts.config, () => loadCounters),
          ]);
          defs.push({ ...again, name: 'db-integrity-after-load', description: 'integrity again, and what the load created reconciled with the database' });
        }
        continue;
      }
      const factory = opts.checkFactories[name];
      if (!factory) throw new UserError(`phase "${name}" is not available in this version of perf`, `Run without it: --skip ${name}`);
      defs.push(checkPhase(name, opts.config, await factory(opts.config, { projectDir: opts.projectDir })));
    }

    const targetFixture: Fixture = {
      name: opts.config.target === 'sample-app' ? 'sample-app' : 'target',
      setup: async (signal) => {
        if (opts.config.target === 'sample-app') {
          const started = await opts.startSampleApp(opts.config, signal);
          target = started.target;
          targetPid = started.pid;
          return { teardown: started.stop };
        }
        // The URLs only: `start` (commands, their env) is the services fixtures' business.
        const { start: _services, ...urls } = opts.config.target;
        target = { ...urls, kind: 'external' };
        return {};
      },
    };
    // The user's services start first (in order), then the target fixture resolves the target.
    const specs = typeof opts.config.target === 'object' ? opts.config.target.start : [];
    if (specs.length) services = new Services({ specs, projectDir: opts.projectDir, runDir, redactor, env });
    // Last set up, so first torn down: the test users the run made are removed while the target
    // runs, after the last phase (so after db-integrity-after-load reconciled the load users' rows).
    // The k6 load users (perf_test_users_created{label}) join the Node-side ones here.
    const testUsersFixture: Fixture = {
      name: 'test users',
      setup: async () => ({
        teardown: async () => {
          const labels = loadCounters?.loadUsers;
          if (labels?.length) await trackLoadUsers({ runId, runDir, config: opts.config, labels });
          if (target) await cleanupRunUsers({ runId, runDir, seed: opts.config.seed, redactor, target });
        },
      }),
    };
    const result = await runPipeline({
      runId,
      runDir,
      seed: opts.config.seed,
      phases: defs,
      fixtures: [...(services?.fixtures() ?? []), targetFixture, testUsersFixture],
      target: () => target ?? { baseUrl: 'http://127.0.0.1:0', kind: 'external' },
      reporter,
      redactor,
      signal: opts.signal,
      // Absent: 30 minutes for the phases, plus the load's own length (a soak's hours).
      deadlineMs: opts.config.deadline
        ? parseDurationMs(opts.config.deadline)
        : 30 * 60_000 + (opts.phases.includes('load') ? expectedLoadMs(opts.config.load.profile, opts.config.load.duration, bundles.length) : 0),
    });
    phases = result.phases;
    reasons = result.reasons;
    status = result.status;
  } catch (e) {
    status = opts.signal.aborted ? 'interrupted' : 'failed';
    error = { kind: isUserError(e) ? 'user' : 'internal', message: e instanceof Error ? e.message : String(e) };
    reasons.push(error.message.split('\n').slice(0, 4).join('\n'));
    pending = e;
  }
  if (services) {
    // The pipeline's teardowns stopped them already; this also covers a start cut short by Ctrl-C.
    await services.stopAll();
    // A service that died mid-run fails the run, quoted (the phases against it failed too, or
    // worse, passed against whatever else answered).
    const deaths = services.deaths(phases);
    reasons.unshift(...deaths);
    if (deaths.length && status !== 'interrupted' && status !== 'timedout') status = 'failed';
  }

  const testData = testDataOf(runId, opts.config);
  forgetRun(runId);
  const finishedAt = new Date();
  const gates = phases.flatMap((p) => p.gates ?? []);
  // Relative gates against the baseline; an explicit baseline that cannot be used fails the run,
  // a missing last-green only says so (the first run of a new shape must be able to pass).
  // The load's per-window figures, read once: baselines, soak judgements and InfluxDB all use them.
  const windowsFile = path.join(runDir, WINDOWS_FILE);
  const windows = readWindowsFile(windowsFile);
  const baselineOutcome = baseline && phases.some((p) => p.name === 'load' && p.status !== 'skipped')
    ? evaluateBaseline({ projectDir: opts.projectDir, current: windows, resolved: baseline, gates: opts.config.gates, gateResults: gates })
    : undefined;
  if (baselineOutcome) {
    const failedGates = baselineOutcome.gates.filter((g) => g.status === 'failed' || g.status === 'insufficient-data');
    const unusable = baselineOutcome.status !== 'compared' && baselineOutcome.requested !== 'last-green';
    reasons.unshift(...failedGates.map(relativeGateReason), ...(unusable ? [baselineOutcome.note] : []));
    if ((failedGates.length || unusable) && status === 'passed') status = 'failed';
  }
  // Drift gates, the error budget and the target's memory (src/soak/): they fail the run like gates.
  const soak = phases.some((p) => p.name === 'load' && p.status !== 'skipped')
    ? evaluateSoak({ windows, gates: opts.config.gates, soak: opts.config.soak, ...(memoryTrends ? { memory: memoryTrends } : {}), ...(memoryNote ? { memoryNote } : {}) })
    : undefined;
  if (soak) {
    const failed = soakReasons(soak);
    reasons.unshift(...failed);
    if (failed.length && status === 'passed') status = 'failed';
  }
  // Information only: coverage never changes the status.
  const coverage = openapi
    ? (await import('../openapi/coverage.ts')).computeCoverage({ document: openapi.doc, exclude: openapi.exclude, phases, ...(target ? { baseUrl: target.baseUrl } : {}) })
    : undefined;
  const unreported: Verdict = redactor.redactDeep({
    schema: 'perf.verdict/v1',
    runId,
    status,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    manifest: buildManifest({
      ...(k6 ? { k6Version: k6.version, k6Path: k6.path } : {}),
      configHash: opts.configHash,
      users: opts.config.users,
      profile: opts.config.load.profile,
      seed: opts.config.seed,
    }),
    ...(target
      ? { target: { kind: target.kind, baseUrl: target.baseUrl, ...(target.wsUrl ? { wsUrl: target.wsUrl } : {}), ...(target.frontendUrl ? { frontendUrl: target.frontendUrl } : {}), ...(targetPid ? { pid: targetPid } : {}), ...(target.kind === 'sample-app' && Object.keys(opts.config.sampleApp.faults).length ? { faults: opts.config.sampleApp.faults } : {}) } }
      : {}),
    phases,
    gates,
    reasons,
    ...(error ? { error } : {}),
    ...(testData ? { testData } : {}),
    ...(services ? { services: services.records(phases) } : {}),
    ...(coverage ? { coverage } : {}),
    ...(baselineOutcome ? { baseline: baselineOutcome } : {}),
    ...(soak ? { soak } : {}),
  } satisfies Verdict);
  // The run history (src/baseline/run-index.ts): every run, whatever its status; in InfluxDB too when configured.
  const indexRecord = buildIndexRecord(unreported, { comparableHash: sameness, scenarios: scenarioNames, gates: opts.config.gates, ...(existsSync(windowsFile) ? { windows: WINDOWS_FILE } : {}) });
  // Before the verdict is written: it records what reached InfluxDB (gate summaries, the run index and its windows are written here).
  const influxOutcome = influx
    ? await influx.session.finish({
        phases,
        gates,
        gateSpecs: opts.config.gates.filter(isAbsoluteGate),
        status,
        startedAt,
        finishedAt,
        runDir,
        index: indexRecord,
        ...(windows ? { windows } : {}),
      })
    : undefined;
  const verdict: Verdict = influxOutcome ? { ...unreported, influx: influxOutcome } : unreported;
  writeVerdict(runDir, verdict);
  appendIndex(opts.projectDir, indexRecord);
  await reporter.onRunEnd?.(verdict, runDir);
  if (pending) throw pending;
  return { verdict, runDir };
}
