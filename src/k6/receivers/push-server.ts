/**
 * The HTTP side both receivers share: a loopback server taking k6's pushes on one POST path.
 * `decode` handles one push's body (its push number counts dropped ones too); a throw answers
 * 400 with the message, as a collector would. The CPU spent in `decode` is counted apart: it is
 * this Node process's, not k6's, and the output-cost bench reports it separately.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PushServer {
  port: number;
  /** Pushes received on the path (dropped ones included). */
  pushes: () => number;
  /** CPU milliseconds spent decoding and keeping pushes (Node's HTTP parsing aside). */
  cpuMs: () => number;
  close: () => Promise<void>;
}

export async function startPushServer(o: {
  path: string;
  /** What an accepted push is answered. */
  accepted: { status: number; headers?: Record<string, string> };
  decode: (body: Buffer, headers: IncomingHttpHeaders, push: number) => void;
}): Promise<PushServer> {
  let pushes = 0;
  let cpuMicros = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== o.path) {
        res.writeHead(404).end();
        return;
      }
      const cpu0 = process.cpuUsage();
      try {
        o.decode(Buffer.concat(chunks), req.headers, ++pushes);
        res.writeHead(o.accepted.status, o.accepted.headers).end();
        const cpu = process.cpuUsage(cpu0);
        cpuMicros += cpu.user + cpu.system;
      } catch (e) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(e));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    pushes: () => pushes,
    cpuMs: () => cpuMicros / 1000,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
