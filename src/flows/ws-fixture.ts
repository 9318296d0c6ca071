/**
 * The `ws` fixture: WebSocket connections for flows, over the checks' WsConnection.
 *
 * Contract: `connect({ as: user })` presents the user's credential the way `agent.token` says
 * (default: header `Authorization: Bearer <token>`; `query` parameter, `subprotocol`, or the user's
 * `cookie` jar); a user without a token (a cookie session) presents the headers AUTH's
 * authHeadersFor gives. The URL is `path` (default `agent.path`) on the target's WebSocket
 * origin (`target.wsUrl`, else the base URL as ws://), or a ws:// URL as given; with neither a
 * path nor an `agent` block, `target.wsUrl` as it is. Every frame is WsEvidence (redacted), the
 * handshake carries the correlation id in `http.correlationHeader`. Sockets still open when the
 * attempt ends are closed by `closeAll()`.
 */
import { agentUrl } from '../shared/agent-protocol.ts';
import type { WsClient, WsConnectOptions, WsFixture, WsMessage } from '../api/types.ts';
import { authHeadersFor, cookieHeaderFor } from '../auth/users.ts';
import type { CheckContext } from '../checks/types.ts';
import { WsConnection, wsUrlOf, type WsConnectOptions as ClientOptions } from '../clients/ws-client.ts';
import type { ResolvedConfig } from '../config/config-schema.ts';

export interface ClosableWsFixture extends WsFixture {
  /** Closes every socket this fixture opened (end of the attempt). */
  closeAll(): Promise<void>;
}

export function createWsFixture(ctx: CheckContext, config: ResolvedConfig): ClosableWsFixture {
  const open = new Set<WsConnection>();

  const plan = (opts: WsConnectOptions): { url: string; client: ClientOptions } => {
    const url = new URL(urlFor(ctx, config, opts.path));
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const headers: Record<string, string> = {};
    let protocols = [...(opts.protocols ?? [])];
    const user = opts.as;
    if (user) {
      const how = config.agent?.token ?? { in: 'header' as const, name: 'Authorization', prefix: 'Bearer ' };
      const httpUrl = url.toString().replace(/^ws/i, 'http');
      if (how.in === 'cookie' || user.token === undefined) {
        const cookie = cookieHeaderFor(user, httpUrl);
        if (cookie) headers.cookie = cookie;
        if (how.in !== 'cookie') Object.assign(headers, authHeadersFor(user, 'GET', httpUrl));
      } else {
        ctx.redactor.addSecret(user.token);
        if (how.in === 'query') url.searchParams.set(how.name, user.token);
        else if (how.in === 'header') headers[how.name] = `${how.prefix}${user.token}`;
        else protocols = [...how.protocols, ...protocols, `${how.prefix}${user.token}`];
      }
    }
    Object.assign(headers, opts.headers ?? {});
    return { url: url.toString(), client: { headers, protocols, correlationHeader: config.http?.correlationHeader } };
  };

  const wrap = (conn: WsConnection): WsClient => {
    open.add(conn);
    const view = (m: { data: unknown; text: string; at: number }): WsMessage => ({ data: m.data, text: m.text, atMs: Math.round((m.at - conn.openedAt) * 100) / 100 });
    return {
      get messages() {
        return conn.messages.map(view);
      },
      send: (data) => conn.send(data),
      waitFor: async (predicate, o = {}) => view(await conn.waitFor(predicate, o.what ?? 'a matching message', o.timeoutMs ?? 5_000, o.from ?? 0)),
      close: async () => {
        open.delete(conn);
        await conn.close();
      },
    };
  };

  return {
    async connect(opts = {}) {
      const p = plan(opts);
      return wrap(await WsConnection.connect(ctx, p.url, p.client));
    },
    async tryConnect(opts = {}) {
      const p = plan(opts);
      const r = await WsConnection.tryConnect(ctx, p.url, p.client);
      if (!r.refused) return { ok: true, client: wrap(r.conn) };
      const error = r.status !== undefined ? `handshake refused with HTTP ${r.status}${r.body ? `: ${r.body.slice(0, 200)}` : ''}` : (r.error ?? (r.closeCode !== undefined ? `closed during the handshake (code ${r.closeCode})` : 'connection failed'));
      return { ok: false, ...(r.status !== undefined && { status: r.status }), error };
    },
    async closeAll() {
      await Promise.all([...open].map((c) => c.close().catch(() => undefined)));
      open.clear();
    },
  };
}

function urlFor(ctx: CheckContext, config: ResolvedConfig, path: string | undefined): string {
  if (path && /^wss?:\/\//i.test(path)) return path;
  const p = path ?? config.agent?.path;
  if (p === undefined) return wsUrlOf(ctx.target);
  // The same resolution as k6's runAgent(), so flows and scenarios meet the same socket.
  return agentUrl({ path: p }, ctx.target);
}

