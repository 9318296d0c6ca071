// Benchmark of the sample app on this machine (prints figures; not a test).
//
//   node --import tsx bench/sample-app.ts
//   (env: BENCH_ROUNDS=5, BENCH_PAIR_DURATION=3s, BENCH_DURATION=5s, BENCH_CONNECTIONS=32; ~40 s in all)
//
// 1. wrk against a bare node:http server answering a fixed JSON: the floor of what Node on
//    this machine can serve through loopback with this load generator.
// 2. wrk against the sample app's GET /health and an authenticated GET /brand-kits (seed user).
//    Target: /health reaches at least half of the bare server's rate.
// 3. The cost of routing the app's queries through row-level security (one transaction with
//    SET LOCAL ROLE + set_config per request) against the plain owner query it uses.
// Everything runs on one box: wrk, Node and PostgreSQL share the cores, as in a local perf run.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import pg from 'pg';
import { RLS_ROLE, startSampleApp } from '../sample-app/index.ts';

const run = promisify(execFile);
const DURATION = process.env.BENCH_DURATION ?? '5s';
const CONNECTIONS = process.env.BENCH_CONNECTIONS ?? '32';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PAIR_DURATION = process.env.BENCH_PAIR_DURATION ?? '3s';

interface WrkResult {
  rps: number;
  p50: string;
  p99: string;
  errors: string;
}

async function wrk(url: string, headers: string[] = [], duration = DURATION): Promise<WrkResult> {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${duration}`, '--latency', ...headers.flatMap((h) => ['-H', h]), url];
  const { stdout } = await run('wrk', args, { timeout: 120_000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? Number.NaN);
  const p50 = /\s50%\s+(\S+)/.exec(stdout)?.[1] ?? '?';
  const p99 = /\s99%\s+(\S+)/.exec(stdout)?.[1] ?? '?';
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(stdout)?.[1];
  const socketErrors = /Socket errors:([^\n]+)/.exec(stdout)?.[1]?.trim();
  return { rps, p50, p99, errors: [non2xx ? `${non2xx} non-2xx` : '', socketErrors ?? ''].filter(Boolean).join('; ') || 'none' };
}

const fmt = (r: WrkResult) => `${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.padStart(8)}   p99 ${r.p99.padStart(8)}   errors: ${r.errors}`;

/** A bare node:http server answering a fixed JSON: the floor. */
async function startBare(): Promise<{ url: string; close: () => Promise<void> }> {
  const body = JSON.stringify({ status: 'ok', version: '0.0.0' });
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Mean latency (sequential) and throughput (10 concurrent clients) of one query, two ways. */
async function rlsCost(databaseUrl: string, userId: string): Promise<void> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
  pool.on('error', () => undefined); // the server closing idle clients at shutdown
  const plain = async () => {
    await pool.query('SELECT id, name, colors FROM brand_kits WHERE user_id = $1 ORDER BY created_at', [userId]);
  };
  const viaRls = async () => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${RLS_ROLE}`);
      await client.query(`SELECT set_config('app.user_id', $1, true)`, [userId]);
      await client.query('SELECT id, name, colors FROM brand_kits ORDER BY created_at');
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  };
  const measure = async (fn: () => Promise<void>) => {
    for (let i = 0; i < 200; i++) await fn(); // warm-up
    let start = performance.now();
    const n = 2_000;
    for (let i = 0; i < n; i++) await fn();
    const meanMs = (performance.now() - start) / n;
    start = performance.now();
    const perWorker = 500;
    await Promise.all(Array.from({ length: 10 }, async () => {
      for (let i = 0; i < perWorker; i++) await fn();
    }));
    const qps = (10 * perWorker) / ((performance.now() - start) / 1000);
    return { meanMs, qps };
  };
  try {
    const a = await measure(plain);
    const b = await measure(viaRls);
    console.log(`  owner query, filtered by user_id : ${a.meanMs.toFixed(3)} ms/query sequential, ${a.qps.toFixed(0)} queries/s with 10 clients`);
    console.log(`  same query through RLS (tx+role) : ${b.meanMs.toFixed(3)} ms/query sequential, ${b.qps.toFixed(0)} queries/s with 10 clients`);
    console.log(`  RLS on the request path costs ×${(b.meanMs / a.meanMs).toFixed(1)} latency, ${((1 - b.qps / a.qps) * 100).toFixed(0)}% throughput`);
  } finally {
    await pool.end();
  }
}

async function main(): Promise<void> {
  try {
    await run('wrk', ['--version']).catch((e: { stdout?: string }) => {
      if (!e.stdout?.includes('wrk')) throw e;
    });
  } catch {
    console.error('wrk is not installed (apt-get install -y wrk)');
    process.exit(1);
  }
  console.log(`sample-app benchmark: wrk -t1 -c${CONNECTIONS}, loopback, ${(await import('node:os')).cpus().length} cores\n`);

  const bareServer = await startBare();
  const app = await startSampleApp({ logLevel: 'error' });
  try {
    const seedUser = app.seedUsers[0]!;
    const login = await fetch(`${app.baseUrl}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: seedUser.email, password: app.seedPassword }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };

    // This machine's throughput swings by ±40% from one run to the next (shared VM), so the
    // floor and the app are measured in alternating pairs and the ratio is the median of the
    // pairs' ratios.
    const pairs: { floor: WrkResult; health: WrkResult }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const floor = await wrk(bareServer.url, [], PAIR_DURATION);
      const health = await wrk(`${app.baseUrl}/health`, [], PAIR_DURATION);
      pairs.push({ floor, health });
      console.log(`  round ${round + 1}: bare ${floor.rps.toFixed(0)} req/s, /health ${health.rps.toFixed(0)} req/s, ratio ${(health.rps / floor.rps).toFixed(2)}`);
    }
    const kits = await wrk(`${app.baseUrl}/brand-kits`, [`Authorization: Bearer ${accessToken}`]);
    const ratio = median(pairs.map((p) => p.health.rps / p.floor.rps));
    const floorRps = median(pairs.map((p) => p.floor.rps));
    const byMedian = (pick: (p: (typeof pairs)[number]) => WrkResult) => {
      const sorted = [...pairs].sort((a, b) => pick(a).rps - pick(b).rps);
      return pick(sorted[Math.floor(sorted.length / 2)]!);
    };

    console.log(`\nmedians of ${ROUNDS} rounds (${PAIR_DURATION} each):`);
    console.log(`bare node:http fixed JSON   ${fmt(byMedian((p) => p.floor))}`);
    console.log(`sample-app GET /health      ${fmt(byMedian((p) => p.health))}`);
    console.log(`sample-app GET /brand-kits  ${fmt(kits)}   (one ${DURATION} run; authenticated, 2 kits, embedded PostgreSQL)`);
    console.log(`\n/health ÷ bare = ${ratio.toFixed(2)} (median of the pair ratios; target ≥ 0.50: ${ratio >= 0.5 ? 'met' : 'NOT met'})`);
    console.log(`/brand-kits ÷ bare = ${(kits.rps / floorRps).toFixed(2)}\n`);

    console.log('row-level security on the request path (measured, not used by the app):');
    await rlsCost(app.databaseUrl, seedUser.id);
  } finally {
    await app.stop();
    await bareServer.close();
  }
}

await main();
