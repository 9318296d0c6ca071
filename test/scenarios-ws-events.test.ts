import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestApp } from './checks-helpers.ts';
import { configProject, readVerdictFromOutput, runCli, runDirFromOutput } from './helpers.ts';

// scenarios/ws-events.ts on the real k6 against the real sample-app, whose WebSocket is reached
// through a TCP relay that holds every connection back before passing it on: a handshake that
// takes seconds, as handshakes do when they queue behind a burst of sign-ups at 1,000 users.
// The scenario's budgets start where their waits start (the greeting at the upgrade, the run at
// `run`), so a slow handshake is not reported as a missing greeting or a run without events.
// Before the fix one 5 s budget started before connecting, and every run here was a false
// "no session" (ws_session_established 0). The handshake has a budget of its own (10 s).

/** Relays TCP to `upstream` (host:port), each connection held `delayMs` before it is connected. */
async function slowRelay(upstream: URL, delayMs: number): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    sockets.add(client);
    client.pause();
    client.on('error', () => undefined);
    const timer = setTimeout(() => {
      const up = net.connect(Number(upstream.port), upstream.hostname, () => {
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      sockets.add(up);
      up.on('error', () => client.destroy());
      up.on('close', () => client.destroy());
      client.on('close', () => up.destroy());
    }, delayMs);
    client.on('close', () => clearTimeout(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    connections: () => connections,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

interface Gate {
  metric: string;
  observed?: number;
  samples: number;
}

describe('ws-events on the real k6: budgets', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app.stop());

  test('a handshake slower than the run budget (5.5 s) is not charged to the run: every run has its session and its events', async () => {
    const relay = await slowRelay(new URL(app.target.baseUrl), 5500);
    try {
      const cwd = configProject();
      const r = await runCli(['run', '--phase', 'load', '--scenario', 'ws-events', '--target', app.target.baseUrl, '--profile', 'smoke', '--users', '3', '--duration', '4s', '--reporter', 'console'], {
        cwd,
        env: { PERF_WS_URL: relay.url },
        timeoutMs: 180_000,
      });
      const v = readVerdictFromOutput(cwd, r.stderr) as { gates: Gate[] };
      const gate = (m: string) => v.gates.find((g) => g.metric === m)!;
      assert.ok(relay.connections() >= 3, `the scenario connected through the relay (${relay.connections()} connections)`);
      const session = gate('ws_session_established');
      // Runs k6 cut at the scenario's stop record nothing; those that ended are judged.
      assert.ok(session.samples >= 3, `${session.samples} runs ended:\n${r.stderr}`);
      assert.equal(session.observed, 1, `every run was greeted with a session (observed ${session.observed})\n${r.stderr}`);
      assert.equal(gate('ws_event_order').observed, 1, 'and received its events complete and in order');
      assert.equal(gate('ws_event_ownership').observed, 1);
      // The time to first event counts from `run`, not from the connect: the relay's delay is not in it.
      assert.ok(gate('ws_time_to_first_event').observed! < 1000, `first event p95 ${gate('ws_time_to_first_event').observed} ms`);
    } finally {
      await relay.close();
    }
  });

  test('a handshake over its own budget (10 s) is a connection that did not come up, and the k6 log says so', async () => {
    const relay = await slowRelay(new URL(app.target.baseUrl), 10_500);
    try {
      const cwd = configProject();
      const r = await runCli(['run', '--phase', 'load', '--scenario', 'ws-events', '--target', app.target.baseUrl, '--profile', 'smoke', '--users', '2', '--duration', '1s', '--reporter', 'console'], {
        cwd,
        env: { PERF_WS_URL: relay.url },
        timeoutMs: 180_000,
      });
      assert.equal(r.code, 1, r.stderr);
      const v = readVerdictFromOutput(cwd, r.stderr) as { gates: Gate[] };
      const gate = (m: string) => v.gates.find((g) => g.metric === m)!;
      const session = gate('ws_session_established');
      assert.ok(session.samples >= 2, `${session.samples} runs ended:\n${r.stderr}`);
      assert.equal(session.observed, 0, 'no connection counts as established');
      assert.equal(gate('ws_event_order').samples, 0, 'runs without a session are not judged on order');
      const log = readFileSync(path.join(runDirFromOutput(cwd, r.stderr), 'k6-ws-events-log.jsonl'), 'utf8');
      assert.match(log, /handshake took 1\d\.\d s \(budget 10 s\)/);
    } finally {
      await relay.close();
    }
  });
});
