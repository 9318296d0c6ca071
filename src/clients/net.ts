import net from 'node:net';

/**
 * A loopback port free at the time of asking (the OS picks it). Another process may take it
 * before it is used: good enough for children perf starts right away (k6's API, test servers).
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
