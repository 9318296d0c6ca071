/**
 * Runs inside k6. The `WebSocket` class of `k6/websockets` (and of the deprecated
 * `k6/experimental/websockets`) wrapped so that a connection without a `name` tag is named
 * after its URL without query string and userinfo (./name-tag.ts says why). `new WebSocket(url,
 * protocols?, params?)` returns k6's own object, so everything else behaves as k6's.
 */
import { withNameTag } from './name-tag.ts';

// Loose on purpose: k6's constructor types differ between its WebSocket modules.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Ctor = new (url: string, protocols?: any, params?: any) => object;

export function namingWebSocket<C extends Ctor>(Real: C): C {
  function WebSocket(url: string, protocols?: unknown, params?: unknown): object {
    return new Real(url, protocols, withNameTag(url, params as Record<string, unknown> | undefined));
  }
  // `x instanceof WebSocket` answers as it would for k6's own class.
  Object.defineProperty(WebSocket, Symbol.hasInstance, { value: (x: unknown) => x instanceof Real });
  return WebSocket as unknown as C;
}
