/** Runs inside k6: what a scenario's `import ... from 'k6/websockets'` resolves to (bundler/bundle.ts; ./websocket-class.ts). */
import { Blob, WebSocket as K6WebSocket } from 'k6/websockets';
import { namingWebSocket } from './websocket-class.ts';

export const WebSocket = namingWebSocket(K6WebSocket);
export { Blob };
