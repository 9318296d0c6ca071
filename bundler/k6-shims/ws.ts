/**
 * Runs inside k6: what a scenario's `import ... from 'k6/ws'` resolves to (bundler/bundle.ts).
 * k6's own module, except that `connect` names a connection without a `name` tag after its
 * URL without query string and userinfo (./name-tag.ts says why).
 */
import ws from 'k6/ws';
import { moduleWith, withNameTag } from './name-tag.ts';

type Ws = typeof ws;
type Params = Parameters<Ws['connect']>[1];

/** `connect(url, callback)` or `connect(url, params, callback)`, as k6 takes them. */
export const connect = ((url: string, paramsOrCallback: unknown, callback?: unknown) =>
  typeof paramsOrCallback === 'function'
    ? ws.connect(url, withNameTag(url, null as Params), paramsOrCallback as never)
    : ws.connect(url, withNameTag(url, paramsOrCallback as Params), callback as never)) as Ws['connect'];

export default moduleWith(ws, { connect });
