/** Runs inside k6: what a scenario's `import ... from 'k6/experimental/websockets'` resolves to (bundler/bundle.ts; ./websocket-class.ts). */
// @types/k6 has no declarations for this deprecated module; k6 v2 still serves it (same API as k6/websockets).
// @ts-expect-error -- resolved by k6 at run time
import { Blob, WebSocket as K6WebSocket } from 'k6/experimental/websockets';
import { namingWebSocket } from './websocket-class.ts';

export const WebSocket = namingWebSocket(K6WebSocket);
export { Blob };
