import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { isUserError, UserError } from '../errors.ts';
import { EXIT, exitCodeForStatus } from '../run/exit-codes.ts';
import { parseDurationMs, parseUrl, parseUsers } from './flags.ts';
import { harnessVersion } from '../paths.ts';
import type { GateDecl, GateSpec, PhaseName } from '../config/config-schema.ts';
import { escalateK6, k6Reaped, killK6 } from '../k6/k6-children.ts';
import { RunAbort } from '../run/pipeline.ts';

/**
 * The CLI entry. Heavy modules (esbuild, pg, k6 runner) are imported inside the actions
 * so `perf --help` stays fast. This file is the only place that sets the exit code.
 */
const program = new Command();
program
  .name('perf')
  .description('Release-readiness load testing: is this build safe to release at this concurrency?')
  .version(harnessVersion(), '-V, --version')
  .showHelpAfterError('(run `perf --help` for usage)')
  .exitOverride();

/** Absolute gates (`limit`): what k6 thresholds, InfluxDB and the dashboards know; relative ones need a baseline. */
const isAbsolute = (g: GateDecl): g is GateSpec => g.limit !== undefined;

function collectList(value: string, prev: string[] = []): string[] {
  return [...prev, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

interface RunFlags {
  scenario?: string[];
  phase?: string[];
  skip?: string[];
  reporter?: string[];
  users?: string;
  duration?: string;
  shards?: string;
  profile?: string;
  target?: string;
  seed?: string;
  deadline?: string;
  config?: string;
  scenariosDir?: string;
  influx?: string;
  baseline?: string;
  build: boolean;
}

const REPORTERS = ['console', 'json', 'junit', 'github', 'webhook'] as const;

program
  .command('run')
  .description('run the pipeline (health, smoke, flows, db-integrity, frontend, load) and write the verdict')
  .option('-p, --phase <names>', 'only these phases, comma-separated (see `perf list`)', collectList)
  .option('--skip <names>', 'skip these phases, comma-separated', collectList)
  .option('-s, --scenario <names>', 'k6 scenario name(s) or .ts path(s); alone, runs just the load phase', collectList)
  .option('-u, --users <n>', 'concurrent users (k6 VUs of the user-journey scenarios)')
  .option('-d, --duration <duration>', 'load duration, e.g. 30s, 2m, 1h')
  .option('--profile <name>', 'load profile: smoke, load, stress or soak')
  .option('--shards <n>', 'run each k6 scenario as n k6 processes (equal execution segments), one merged verdict')
  .option('-t, --target <url>', 'base URL of the system under test (default: start the bundled sample-app)')
  .option('--seed <n>', 'seed of deterministic test data')
  .option('--deadline <duration>', 'stop the whole run after this long (status timedout)')
  .option('-r, --reporter <names>', `reporters, comma-separated: ${REPORTERS.join(', ')}`, collectList)
  .option('-c, --config <file>', 'config file (default: perf.config.ts if present)')
  .option('--scenarios-dir <dir>', 'folder holding the TypeScript k6 scenarios (default: scenarios)')
  .option('--influx <url>', 'also write k6 samples and perf events to InfluxDB 1.x, e.g. http://127.0.0.1:8086/perf (env PERF_INFLUX_URL)')
  .option('--baseline <run-id|last-green>', 'compare with this run (last-green: the newest passed run of the same profile, users and scenarios); decides relative gates (docs/baselines.md)')
  .addOption(new Option('--no-build', 'never install k6 with Go (go install, into .tools/bin) when no k6 is found'))
  .action(async (flags: RunFlags) => {
    // Flags are checked first, with messages that name the flag.
    if (flags.users !== undefined) parseUsers(flags.users);
    if (flags.duration !== undefined) parseDurationMs(flags.duration);
    if (flags.target !== undefined) parseUrl(flags.target, '--target');
    const badReporters = (flags.reporter ?? []).filter((r) => !(REPORTERS as readonly string[]).includes(r));
    if (badReporters.length) throw new UserError(`unknown reporter: ${badReporters.join(', ')}`, `Reporters: ${REPORTERS.join(', ')}.`);

    const [{ resolveConfig, flagLayer }, { selectPhases }, { executeRun }, { loadCheckFactories }, { requireK6 }, { installK6 }, { createReporters }, { startSampleAppTarget }] =
      await Promise.all([
        import('../config/config.ts'),
        import('../run/phases.ts'),
        import('../run/run.ts'),
        import('../run/registry.ts'),
        import('../k6/k6.ts'),
        import('../k6/k6-install.ts'),
        import('../reporters/index.ts'),
        import('../target/sample-app-target.ts'),
      ]);
    const cwd = process.cwd();
    const { config, hash, file } = await resolveConfig({
      cwd,
      configFile: flags.config,
      flagLayers: flagLayer({
        users: { flag: '--users', value: flags.users },
        'load.duration': { flag: '--duration', value: flags.duration },
        'load.profile': { flag: '--profile', value: flags.profile },
        'load.shards': { flag: '--shards', value: flags.shards },
        'target.baseUrl': { flag: '--target', value: flags.target },
        seed: { flag: '--seed', value: flags.seed },
        deadline: { flag: '--deadline', value: flags.deadline },
        reporters: { flag: '--reporter', value: flags.reporter },
        'load.scenariosDir': { flag: '--scenarios-dir', value: flags.scenariosDir },
        'influx.url': { flag: '--influx', value: flags.influx },
      }),
    });
    // --scenario alone means "run these scenarios": the load phase only.
    const only = flags.phase ?? (flags.scenario?.length ? ['load'] : undefined);
    const checkFactories = await loadCheckFactories();
    const phases = selectPhases(config, only, flags.skip, new Set([...(Object.keys(checkFactories) as PhaseName[]), 'load']));
    const controller = new AbortController();
    const stop = installSignalHandlers(controller);
    try {
      const { verdict } = await executeRun({
        // The project is the config file's folder (like Playwright's testDir): its flows, browser
        // flows, scenarios, services and run folders are found from there, wherever perf is started.
        projectDir: file ? path.dirname(file) : cwd,
        config,
        configHash: hash,
        phases,
        checkFactories,
        scenarios: flags.scenario,
        getK6: () => requireK6({ install: flags.build ? (go) => installK6(go) : undefined }),
        startSampleApp: startSampleAppTarget,
        makeReporter: (redactor) => createReporters(config.reporters, { redactor, webhook: config.webhook, env: process.env, htmlReport: true }),
        signal: controller.signal,
        ...(flags.baseline ? { baseline: flags.baseline } : {}),
      });
      process.exitCode = exitCodeForStatus(verdict.status);
    } finally {
      stop();
    }
  });

program
  .command('compare')
  .description("two runs' gates side by side: each figure, the change and the rank test's verdict (docs/baselines.md)")
  .argument('<a>', 'the earlier run: a run id of .perf/runs.jsonl, or last-green')
  .argument('<b>', 'the later run: a run id, or last-green')
  .option('-c, --config <file>', 'config file (default: perf.config.ts if present): its folder holds .perf/runs')
  .option('--json', 'the comparison as JSON on stdout')
  .action(async (a: string, b: string, flags: { config?: string; json?: boolean }) => {
    const { compareRuns, formatCompareTable } = await import('../baseline/compare-cmd.ts');
    // The project is the config file's folder, as for `perf run` (its .perf/runs holds the index).
    const result = compareRuns(flags.config ? path.dirname(path.resolve(flags.config)) : process.cwd(), a, b);
    process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatCompareTable(result)}\n`);
  });

program
  .command('init')
  .description('write a perf project for your service (config, a flow, a k6 scenario, README), from an OpenAPI document when given')
  .argument('[dir]', 'the project folder (created when missing)', '.')
  .option('--openapi <file|url>', 'an OpenAPI 3 document: smoke derives its endpoint matrix from it (a URL is saved into the project)')
  .option('--base-url <url>', "the service's base URL (default: the document's servers[0], else http://127.0.0.1:8080)")
  .option('--force', 'overwrite files of the project that exist')
  .action(async (dir: string, flags: { openapi?: string; baseUrl?: string; force?: boolean }) => {
    const { initProject } = await import('./init.ts');
    const cwd = process.cwd();
    const r = await initProject({ dir, cwd, ...flags });
    const rel = path.relative(cwd, r.dir) || '.';
    for (const f of r.files) process.stdout.write(`wrote ${path.join(rel, f)}\n`);
    process.stdout.write(
      `\nbase URL ${r.plan.baseUrl}; health GET ${r.plan.health.path} → ${r.plan.health.status}; smoke ${r.plan.openapi ? `from ${r.plan.openapi.ref}` : `GET ${r.plan.health.path}`}\n` +
        `next: perf run --config ${path.join(rel, 'perf.config.ts')} --phase health,smoke,flows   (then ${path.join(rel, 'README.md')})\n`,
    );
  });

program
  .command('list')
  .description('list the phases (with their policy) and what each runs: checks, flows, scenarios, gates, after-load checks; and which are off')
  .option('-c, --config <file>', 'config file (default: perf.config.ts if present)')
  .action(async (flags: { config?: string }) => {
    const [{ resolveConfig }, { loadCheckFactories }, { listProject }] = await Promise.all([
      import('../config/config.ts'),
      import('../run/registry.ts'),
      import('./list.ts'),
    ]);
    const { config, file } = await resolveConfig({ cwd: process.cwd(), configFile: flags.config });
    const projectDir = file ? path.dirname(file) : process.cwd();
    const lines = await listProject({ config, projectDir, factories: await loadCheckFactories() });
    process.stdout.write(`${lines.join('\n')}\n`);
  });

program
  .command('bundle')
  .description('bundle TypeScript scenarios into k6 scripts under .perf/build (type-checked, cached by content hash)')
  .argument('[scenario...]', 'scenario names (default: all in the scenarios folder)')
  .option('--scenarios-dir <dir>', 'folder holding the TypeScript k6 scenarios', 'scenarios')
  .action(async (names: string[], flags: { scenariosDir: string }) => {
    const [{ bundleScenarios }, { buildDir }] = await Promise.all([import('../../bundler/bundle.ts'), import('../paths.ts')]);
    const started = performance.now();
    const results = await bundleScenarios({ scenariosDir: flags.scenariosDir, outDir: buildDir(process.cwd()), names });
    for (const r of results) {
      process.stdout.write(`${r.cached ? 'cached ' : 'built  '} ${r.name} → ${path.relative(process.cwd(), r.script)}\n`);
    }
    process.stdout.write(`${results.length} scenario(s) in ${Math.round(performance.now() - started)} ms\n`);
  });

program
  .command('doctor')
  .description('show what the harness needs and what it found, with a hint per missing item')
  .option('--database-url <url>', 'target database to check (default: from the config, else the embedded one of sample-app)')
  .option('--redis-url <url>', 'target Redis to check (default: from the config)')
  .option('--influx <url>', 'InfluxDB 1.x to check (default: from the config)')
  .option('-c, --config <file>', 'config file (default: perf.config.ts if present)')
  .action(async (flags: { databaseUrl?: string; redisUrl?: string; influx?: string; config?: string }) => {
    const [{ runDoctor, formatDoctorTable }, { resolveConfig }] = await Promise.all([import('./doctor.ts'), import('../config/config.ts')]);
    // The configured target decides what is needed; a broken config still gets its table.
    let config: Awaited<ReturnType<typeof resolveConfig>>['config'] | undefined;
    try {
      config = (await resolveConfig({ cwd: process.cwd(), configFile: flags.config })).config;
    } catch (e) {
      process.stderr.write(`perf: config not used: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    }
    const t = config && config.target !== 'sample-app' ? config.target : undefined;
    const rows = await runDoctor({
      databaseUrl: flags.databaseUrl ?? t?.databaseUrl ?? config?.sampleApp.databaseUrl,
      redisUrl: flags.redisUrl ?? t?.redisUrl ?? config?.sampleApp.redisUrl,
      influxUrl: flags.influx ?? config?.influx?.url,
      frontend: config ? config.phases['frontend-smoke']?.enabled !== false || config.phases['frontend-flows']?.enabled !== false : true,
    });
    process.stdout.write(`${formatDoctorTable(rows)}\n`);
    const missing = rows.filter((r) => r.required && !r.ok);
    if (missing.length) {
      process.stdout.write(`\nmissing for the default run: ${missing.map((r) => r.item).join(', ')}\n`);
      process.exitCode = EXIT.failed;
    }
  });

program
  .command('analyze')
  .description('recompute a run\'s gates from InfluxDB and print them next to the figures the run decided with')
  .requiredOption('--run-id <id>', 'the run (its folder name under .perf/runs)')
  .option('--influx <url>', 'InfluxDB 1.x holding the run (default: influx.url in the config, or PERF_INFLUX_URL)')
  .option('-c, --config <file>', 'config file (default: perf.config.ts if present)')
  .option('--json', 'print the comparison as JSON on stdout instead of the table')
  .action(async (flags: { runId: string; influx?: string; config?: string; json?: boolean }) => {
    const [{ resolveConfig, flagLayer }, { analyzeRun, formatAnalyzeTable }, { parseInfluxUrl }, { runsDir }, { existsSync, readFileSync }] = await Promise.all([
      import('../config/config.ts'),
      import('../influx/influx-analyze.ts'),
      import('../influx/influx-schema.ts'),
      import('../paths.ts'),
      import('node:fs'),
    ]);
    if (!/^[\w.-]+$/.test(flags.runId)) throw new UserError(`--run-id must be a run folder name (got "${flags.runId}")`);
    const cwd = process.cwd();
    const { config } = await resolveConfig({ cwd, configFile: flags.config, flagLayers: flagLayer({ 'influx.url': { flag: '--influx', value: flags.influx } }) });
    if (!config.influx.url) throw new UserError('no InfluxDB to read from', 'Pass --influx http://host:8086/<database>, set PERF_INFLUX_URL, or influx.url in perf.config.ts.');
    // The local verdict when the run folder is still here; otherwise the gate summaries the run wrote to InfluxDB.
    const verdictFile = path.join(runsDir(cwd), flags.runId, 'verdict.json');
    const verdict = existsSync(verdictFile) ? JSON.parse(readFileSync(verdictFile, 'utf8')) : undefined;
    const result = await analyzeRun({ target: parseInfluxUrl(config.influx.url), runId: flags.runId, verdict, configGates: config.gates.filter(isAbsolute) });
    process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatAnalyzeTable(result)}\n`);
    // 0: every gate passes by InfluxDB's figures and agrees with the local ones; 1 otherwise.
    // As in perf run: a gate whose scenarios did not run (a one-scenario Kubernetes run) is not-run, not a failure.
    const bad = result.rows.filter((r) => (r.influx.status !== 'passed' && r.influx.status !== 'not-run') || r.agree === false);
    process.exitCode = bad.length ? EXIT.failed : EXIT.passed;
  });

program
  .command('report')
  .description("regenerate a run's report.html (self-contained, offline), or with --compare draw two runs over each other")
  .argument('[run]', 'a run id (folder name under .perf/runs of the project) or a run folder')
  .option('--compare <runs...>', 'two runs (ids or folders): one page with both runs\' latency and throughput and their gate tables')
  .option('-o, --out <file>', 'with --compare: where the page goes (default: .perf/compare/<a>-vs-<b>.html)')
  .option('-c, --config <file>', 'config file whose folder holds .perf/runs (default: perf.config.ts in the current folder)')
  .action(async (run: string | undefined, flags: { compare?: string[]; out?: string; config?: string }) => {
    const [{ resolveRunDir, writeRunReport, writeCompareReport, REPORT_FILE }, { perfDir }, { Redactor }, { existsSync }] = await Promise.all([
      import('../report/report.ts'),
      import('../paths.ts'),
      import('../redact/redact.ts'),
      import('node:fs'),
    ]);
    const cwd = process.cwd();
    if (flags.config && !existsSync(path.resolve(cwd, flags.config))) throw new UserError(`config file not found: ${flags.config}`);
    // Runs live under the config's folder (`perf run` writes them there), like every other command.
    const projectDir = flags.config ? path.dirname(path.resolve(cwd, flags.config)) : cwd;
    const redactor = new Redactor();
    redactor.addEnvSecrets(process.env);
    if (flags.compare) {
      if (flags.compare.length !== 2 || run !== undefined) throw new UserError('--compare takes exactly two runs', 'For example: perf report --compare 20261204-210359-b437 20261204-211502-9c1e');
      const [a, b] = flags.compare.map((r) => resolveRunDir(r, projectDir, cwd)) as [string, string];
      const out = path.resolve(cwd, flags.out ?? path.join(perfDir(projectDir), 'compare', `${path.basename(a)}-vs-${path.basename(b)}.html`));
      process.stdout.write(`wrote ${path.relative(cwd, await writeCompareReport(a, b, out, redactor))}\n`);
      return;
    }
    if (!run) throw new UserError('which run?', 'Pass a run id (perf report 20261204-210359-b437), a run folder, or --compare <a> <b>.');
    // The page links the run's screenshots, traces and k6 files relative to its folder: it stays there.
    if (flags.out) throw new UserError('--out is for --compare only', `A run's report is written into its folder (${REPORT_FILE}), next to the files it links.`);
    const file = await writeRunReport(resolveRunDir(run, projectDir, cwd), undefined, redactor);
    process.stdout.write(`wrote ${path.relative(cwd, file)}\n`);
  });

program
  .command('grafana')
  .description('regenerate the Grafana dashboards (grafana/dashboards/*.json) from the gates in perf.config.ts')
  .option('-c, --config <file>', 'config file (default: perf.config.ts if present)')
  .option('--out <dir>', 'where the dashboards go', 'grafana/dashboards')
  .option('--check', 'write nothing; exit 1 if the dashboards there are not what the config generates')
  .action(async (flags: { config?: string; out: string; check?: boolean }) => {
    const [{ resolveConfig }, { staleDashboards, writeDashboards }] = await Promise.all([import('../config/config.ts'), import('../influx/grafana.ts')]);
    const cwd = process.cwd();
    const { config } = await resolveConfig({ cwd, configFile: flags.config });
    const dir = path.resolve(cwd, flags.out);
    if (flags.check) {
      const stale = staleDashboards(dir, config.gates.filter(isAbsolute));
      if (stale.length) {
        process.stderr.write(`perf: stale dashboards in ${path.relative(cwd, dir) || '.'}: ${stale.join(', ')}\nRegenerate them with \`npx perf grafana\`.\n`);
        process.exitCode = EXIT.failed;
      } else process.stdout.write(`dashboards in ${path.relative(cwd, dir) || '.'} are up to date (${config.gates.length} gates)\n`);
      return;
    }
    for (const f of writeDashboards(dir, config.gates.filter(isAbsolute))) process.stdout.write(`wrote ${path.relative(cwd, f)}\n`);
  });

function parseFault(value: string, prev: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UserError(`--fault takes name=value (got "${value}")`, 'For example: --fault errorRate=0.1 (names: sample-app/README.md)');
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // a bare string such as tool_completed
  }
  return { ...prev, [value.slice(0, eq)]: parsed };
}

const targetCmd = program.command('target').description('the bundled reference service (sample-app): start it for manual runs, stop it');
targetCmd
  .command('start')
  .description('start sample-app in the background (state in .perf/target.json), or in the foreground')
  .option('--foreground', 'run in this terminal until Ctrl-C')
  .option('--port <n>', 'API port (default: a free one)')
  .option('--database-url <url>', 'use this PostgreSQL (default: an embedded one)')
  .option('--redis-url <url>', 'use this Redis (default: in-process)')
  .option('--fault <name=value>', 'switch a fault on from the start (repeatable)', parseFault, {})
  .action(async (flags: { foreground?: boolean; port?: string; databaseUrl?: string; redisUrl?: string; fault: Record<string, unknown> }) => {
    const { startTarget, startDetached, TargetAlreadyRunningError } = await import('../target/target.ts');
    const opts = {
      ...(flags.port ? { port: Number(flags.port) } : {}),
      ...(flags.databaseUrl ? { databaseUrl: flags.databaseUrl } : {}),
      ...(flags.redisUrl ? { redisUrl: flags.redisUrl } : {}),
      faults: flags.fault,
    };
    const show = (t: { baseUrl: string; wsUrl: string; adminUrl: string; frontendUrl: string; storage: string; pid: number; readyMs: number }) =>
      process.stdout.write(`sample-app ready in ${t.readyMs} ms (pid ${t.pid}, ${t.storage} PostgreSQL)\n  API       ${t.baseUrl}\n  WebSocket ${t.wsUrl}\n  pages     ${t.frontendUrl}\n  faults    ${t.adminUrl}/faults\n`);
    if (flags.foreground) {
      const handle = await startTarget(opts);
      show(handle);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await handle.stop();
      return;
    }
    try {
      const state = await startDetached(opts);
      show(state);
      process.stdout.write(`  state in ${path.relative(process.cwd(), state.stateFile)}; stop with \`perf target stop\`\n`);
    } catch (e) {
      if (e instanceof TargetAlreadyRunningError) throw new UserError(e.message);
      throw e;
    }
  });
targetCmd
  .command('stop')
  .description('stop the sample-app started with `perf target start`')
  .action(async () => {
    const { stopDetached } = await import('../target/target.ts');
    const r = await stopDetached();
    process.stdout.write(r.stopped ? `sample-app stopped (pid ${r.pid})\n` : 'no sample-app was running\n');
  });

program
  .command('samples <file>')
  .description("print a run's raw k6 samples (k6-<scenario>-samples.csv.gz, k6's CSV output) one row per sample: metric, nanosecond timestamp, value, tags")
  .option('--metric <name>', 'only this metric, e.g. http_req_duration')
  .action(async (file: string, flags: { metric?: string }) => {
    const { printK6Samples } = await import('./samples-cmd.ts');
    await printK6Samples(file, flags.metric, process.stdout);
  });

const k6cmd = program.command('k6').description('the k6 binary perf uses');
k6cmd
  .command('install')
  .description('install the stock k6 v2 (go install go.k6.io/k6/v2@<pinned>) into .tools/bin, unless a usable k6 is found (K6_BIN, PATH, .tools/bin)')
  .option('--force', 'install even if a usable k6 is found')
  .action(async (flags: { force?: boolean }) => {
    const [{ locateK6, whichSync, k6InstallHint }, { installK6 }] = await Promise.all([import('../k6/k6.ts'), import('../k6/k6-install.ts')]);
    if (!flags.force) {
      // A tools folder k6 built with perf's former k6ext/ output is rejected here, so replaced.
      const { found, rejected } = await locateK6();
      for (const r of rejected) process.stdout.write(`not used: ${r}\n`);
      if (found) {
        process.stdout.write(`k6 ${found.version} already available at ${found.path} (from ${found.source})\n`);
        return;
      }
    }
    const go = whichSync('go');
    if (!go) throw new UserError('no usable k6 found, and Go is not on PATH to install one.', k6InstallHint());
    const k6 = await installK6(go);
    process.stdout.write(`k6 ${k6.version} at ${k6.path}\n`);
  });
k6cmd
  .command('path')
  .description('print the k6 perf would use')
  .action(async () => {
    const { requireK6 } = await import('../k6/k6.ts');
    const k6 = await requireK6();
    process.stdout.write(`${k6.path}\t${k6.version}\t${k6.source}\n`);
  });

// `perf k8s`: a scenario on the k6-operator (docs/kubernetes.md); the code is in src/k8s/.
const k8sCmd = program.command('k8s').description('run a scenario on Kubernetes with the k6-operator: render its resources, apply them (docs/kubernetes.md)');
k8sCmd
  .command('render')
  .description('bundle a scenario and write a ConfigMap, a k6-operator TestRun, a Secret example, README.txt and manifest.json')
  .option('-s, --scenario <name>', 'the scenario (a name under --scenarios-dir, or a .ts path)', 'multi-user')
  .option('--scenarios-dir <dir>', 'folder holding the TypeScript k6 scenarios', 'scenarios')
  .option('--parallelism <n>', 'k6 runner pods (each runs an equal execution segment)', '1')
  .option('-u, --users <n>', 'concurrent users over all runners (PERF_USERS)')
  .option('--profile <name>', 'load profile: smoke, load, stress or soak', 'load')
  .option('-d, --duration <duration>', 'load duration, e.g. 30s, 2m, 1h')
  .option('--influx <url>', "InfluxDB 1.x as the runner pods reach it: k6's --out influxdb=, read back by perf analyze")
  .option('-t, --target <url>', 'base URL of the system under test as the runner pods reach it (PERF_BASE_URL)')
  .option('--ws-url <url>', 'WebSocket URL of the system under test (PERF_WS_URL)')
  .option('--namespace <ns>', 'namespace of the TestRun, ConfigMap and Secret', 'default')
  .option('--image <image>', 'runner image (the stock k6)', 'grafana/k6:2.2.0')
  .option('--cpu <cpu>', 'CPU of each runner (limit = request)', '1')
  .option('--memory <mem>', 'memory of each runner (limit = request)', '1Gi')
  .option('--secret <name>', 'the Secret holding PERF_AUTH, PERF_AGENT and the InfluxDB credentials', 'perf-secrets')
  .option('--no-auth', 'reference no PERF_AUTH (a scenario that signs no user in)')
  .option('-o, --out <dir>', 'where the files go (default .perf/k8s/<run-id>)')
  .action(async (flags: { scenario: string; scenariosDir: string; parallelism: string; users?: string; profile: string; duration?: string; influx?: string; target?: string; wsUrl?: string; namespace: string; image: string; cpu: string; memory: string; secret: string; auth: boolean; out?: string }) => {
    const { renderK8s } = await import('../k8s/render.ts');
    const parallelism = parseUsers(flags.parallelism, '--parallelism');
    if (flags.duration !== undefined) parseDurationMs(flags.duration);
    const cwd = process.cwd();
    const { dir, manifest } = await renderK8s({
      projectDir: cwd,
      scenario: flags.scenario,
      scenariosDir: flags.scenariosDir,
      parallelism,
      ...(flags.users !== undefined ? { users: parseUsers(flags.users) } : {}),
      profile: flags.profile,
      ...(flags.duration ? { duration: flags.duration } : {}),
      ...(flags.influx ? { influx: flags.influx } : {}),
      ...(flags.target ? { target: parseUrl(flags.target, '--target') } : {}),
      ...(flags.wsUrl ? { wsUrl: flags.wsUrl } : {}),
      namespace: flags.namespace,
      image: flags.image,
      cpu: flags.cpu,
      memory: flags.memory,
      secretName: flags.secret,
      auth: flags.auth,
      ...(flags.out ? { out: flags.out } : {}),
    });
    const rel = path.relative(cwd, dir) || '.';
    for (const f of [...Object.values(manifest.files), 'manifest.json']) process.stdout.write(`wrote ${path.join(rel, f)}\n`);
    process.stdout.write(`run ${manifest.runId}: ${manifest.parallelism} runner(s) of ${manifest.scenario}; next: ${path.join(rel, 'README.txt')}, then perf k8s apply ${rel} --wait\n`);
    if (!flags.target) process.stderr.write('perf: no --target: the runners will use the scenario default PERF_BASE_URL (http://127.0.0.1:3000)\n');
  });
k8sCmd
  .command('apply')
  .description('kubectl apply a rendered folder (ConfigMap, then TestRun); --wait follows the TestRun to finished/error, then runs perf analyze')
  .argument('<dir>', 'a folder written by perf k8s render')
  .option('--wait', 'poll the TestRun until finished or error')
  .option('--timeout <duration>', 'with --wait: give up after this long', '30m')
  .action(async (dir: string, flags: { wait?: boolean; timeout: string }) => {
    const { applyK8s } = await import('../k8s/apply.ts');
    process.exitCode = await applyK8s({ dir, wait: flags.wait === true, timeoutMs: parseDurationMs(flags.timeout, '--timeout') });
  });

/** After a second interrupt, how long perf may take to write the verdict before it exits anyway. */
const FORCED_EXIT_MS = 10_000;

/**
 * First SIGINT/SIGTERM aborts the run gracefully: k6 stops the test and runs teardown, the
 * verdict is written. A second one aborts k6 now (src/k6/k6-children.ts) and gives perf
 * FORCED_EXIT_MS to write the verdict; a third one, or that time running out, exits at once.
 * Never before k6 is gone: perf SIGKILLs it and waits until it is reaped (bounded), so no k6
 * keeps loading the target after perf has exited.
 */
function installSignalHandlers(controller: AbortController): () => void {
  let count = 0;
  const forceExit = async () => {
    killK6();
    await k6Reaped(2_000);
    process.exit(EXIT.interrupted);
  };
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count === 1) {
      process.stderr.write(`\nperf: ${sig} received, stopping (again to force)\n`);
      controller.abort(new RunAbort('interrupted'));
    } else if (count === 2) {
      process.stderr.write(`perf: ${sig} again: aborting k6 now; exiting within ${FORCED_EXIT_MS / 1000} s (again to exit at once)\n`);
      escalateK6();
      setTimeout(() => void forceExit(), FORCED_EXIT_MS).unref();
    } else {
      void forceExit();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; every parse error is a usage error.
      process.exitCode = e.exitCode === 0 ? 0 : EXIT.usage;
      return;
    }
    // A message or stack quotes what failed, URLs and values included: redacted like everything perf prints.
    const { Redactor } = await import('../redact/redact.ts');
    const redactor = new Redactor();
    redactor.addEnvSecrets(process.env);
    if (isUserError(e)) {
      process.stderr.write(redactor.redactString(`perf: ${e.message}\n`));
      if (e.hint) process.stderr.write(redactor.redactString(`${e.hint}\n`));
      process.exitCode = EXIT.usage;
      return;
    }
    process.stderr.write(redactor.redactString(`perf: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`) + '\n');
    process.exitCode = EXIT.failed;
  }
}

await main();
