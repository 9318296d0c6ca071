// WebSocket sessions for scenarios: one socket, handlers attached before any frame is read.
//
// On k6/ws, not k6/websockets, on purpose. k6/websockets (k6 v2.2.0, websockets.go) starts
// its read loop in one goroutine and queues the `open` task from another; when the read loop
// queues the first frame ahead of `open`, that frame is handled while the socket is still
// CONNECTING and discarded without a trace (not even counted in ws_msgs_received). A server
// that speaks first (a greeting right after the upgrade) so loses its first frame on about one
// connection in 2,000-10,000 on an idle machine, more when the CPU is contended: a healthy
// target reported as "no greeting". k6/ws runs the setup callback (the handlers and timers)
// before it starts reading, so every frame reaches a handler. It blocks the VU until the socket
// closes: one socket per VU at a time, which is what a user journey is.
import ws, { type Socket } from 'k6/ws';

export interface SocketOptions {
  /**
   * Sent as `Authorization: Bearer <token>`. Never put a credential in the URL when a header
   * will do: k6 tags every ws_* sample with the URL, and those tags land in the raw results and
   * in InfluxDB (see `query`).
   */
  token?: string;
  headers?: Record<string, string>;
  /** Offered subprotocols, sent as the `Sec-WebSocket-Protocol` header (comma-separated). */
  protocols?: string[];
  /**
   * Query parameters added to the URL (a service that takes its token there). The samples'
   * `url` and `name` tags are then the URL without its query string, so the value is never
   * stored in a tag.
   */
  query?: Record<string, string>;
  /** Cookies sent in the `Cookie` header (a cookie-session service). */
  cookies?: Record<string, string>;
  tags?: Record<string, string>;
}

export interface SocketOutcome {
  /** The upgrade succeeded and `setup` ran. */
  opened: boolean;
  /** HTTP status of the handshake (101 when opened; 0 when no answer came). */
  status: number;
  /** k6's error for a refused or failed handshake, '' otherwise. */
  error: string;
}

/**
 * Connects to `url` and calls `setup(socket)` (attach handlers, start timers) before the first
 * frame is read; returns once the socket has closed. `setup` must bound the session itself
 * (socket.setTimeout → socket.close()): k6 only ends it at the scenario's graceful stop.
 */
export function withSocket(url: string, options: SocketOptions, setup: (socket: Socket) => void): SocketOutcome {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.protocols?.length) headers['Sec-WebSocket-Protocol'] = options.protocols.join(', ');
  const cookies = Object.entries(options.cookies ?? {});
  if (cookies.length) headers.Cookie = [headers.Cookie, ...cookies.map(([k, v]) => `${k}=${v}`)].filter(Boolean).join('; ');
  let tags = options.tags;
  let target = url;
  const query = Object.entries(options.query ?? {});
  if (query.length) {
    const bare = url.replace(/[?#].*$/, '');
    target = `${url.replace(/#.*$/, '')}${url.includes('?') ? '&' : '?'}${query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')}`;
    tags = { name: bare, url: bare, ...tags };
  }
  let opened = false;
  const res = ws.connect(target, { headers, ...(tags ? { tags } : {}) }, (socket) => {
    opened = true;
    setup(socket);
  });
  return { opened, status: res?.status ?? 0, error: res?.error ?? '' };
}
