import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A real InfluxDB 1.x (Debian's `influxd`) for the tests: its own temp dir, loopback
 * ports only (HTTP and the RPC/backup port), no UDP/graphite/collectd listeners, no
 * usage reporting, and no `_internal` monitor database (it would add series to every
 * `SHOW` query). `stop()` kills it and removes the directory.
 */
export interface InfluxServer {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  /** SIGKILL, and wait for the process to be gone (the "killed mid-run" case). */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

import { freePort } from '../src/clients/net.ts';

export { freePort };

/** `auth`: HTTP authentication on, with this admin user created (InfluxDB allows the first
 *  admin without credentials). */
export async function startInflux(opts: { auth?: { username: string; password: string }; timeoutMs?: number } = {}): Promise<InfluxServer> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'perf-influxd-'));
  const [rpc, http] = [await freePort(), await freePort()];
  const conf = path.join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpc}"`,
      '[meta]',
      `  dir = "${dir}/meta"`,
      '[data]',
      `  dir = "${dir}/data"`,
      `  wal-dir = "${dir}/wal"`,
      '  query-log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${http}"`,
      '  log-enabled = false',
      `  auth-enabled = ${opts.auth ? 'true' : 'false'}`,
      '[logging]',
      '  level = "warn"',
      '  suppress-logo = true',
      '',
    ].join('\n'),
  );
  const log = createWriteStream(path.join(dir, 'influxd.log'));
  const child = spawn('influxd', ['-config', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = `http://127.0.0.1:${http}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`influxd exited ${child.exitCode} while starting (log: ${dir}/influxd.log)`);
    try {
      const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(500) });
      if (res.status === 204) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`influxd did not answer /ping within ${timeoutMs} ms (log: ${dir}/influxd.log)`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (opts.auth) {
    const q = `CREATE USER "${opts.auth.username}" WITH PASSWORD '${opts.auth.password}' WITH ALL PRIVILEGES`;
    const res = await fetch(`${url}/query`, { method: 'POST', body: new URLSearchParams({ q }) });
    if (!res.ok) throw new Error(`creating the admin user: HTTP ${res.status} ${await res.text()}`);
  }
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    url,
    port: http,
    dir,
    process: child,
    kill,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An InfluxQL query over HTTP (no client library: the tests check what is stored, independently of perf's code). */
export async function influxQuery(url: string, db: string, q: string, auth?: { username: string; password: string }): Promise<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[]> {
  const u = new URL('/query', url);
  u.searchParams.set('db', db);
  u.searchParams.set('q', q);
  u.searchParams.set('epoch', 'ms');
  if (auth) {
    u.searchParams.set('u', auth.username);
    u.searchParams.set('p', auth.password);
  }
  const res = await fetch(u, { signal: AbortSignal.timeout(10_000) });
  const body = (await res.json()) as { results: { error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[]; error?: string };
  if (body.error) throw new Error(`${q}: ${body.error}`);
  const r = body.results[0]!;
  if (r.error) throw new Error(`${q}: ${r.error}`);
  return r.series ?? [];
}
