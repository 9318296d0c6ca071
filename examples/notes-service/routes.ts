// The HTTP API and page routes: a flat table of (method, path pattern, handler), matched
// in order. Protected handlers receive the authenticated account; authentication is checked
// before anything else, so a request without a valid key learns nothing (not even whether
// its body or id was well formed).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, burnPasswordCheck, hashApiKey, hashPassword, newApiKey, verifyPassword } from './auth.ts';
import { pgCode, type Account, type Store } from './db.ts';
import type { Faults } from './faults.ts';
import { HttpError, pathOf, readJson, sendJson } from './http.ts';
import { sendPage } from './pages.ts';
import { sleep, summaryChunks } from './summary.ts';
import { loginBody, noteBody, noteIdParam, signupBody } from './validate.ts';

export interface Deps {
  store: Store;
  faults: Faults;
  /** build.rev in /status. */
  rev: string;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  deps: Deps;
  /** Path captures, e.g. the note id. */
  params: string[];
}

type Handler = (ctx: Ctx) => Promise<void> | void;
type AuthedHandler = (ctx: Ctx, account: Account) => Promise<void> | void;

interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: RegExp;
  handler: Handler;
}

const FORBIDDEN = (): HttpError => new HttpError(403, { message: 'forbidden' });
const NO_SUCH_NOTE = (): HttpError => new HttpError(404, { message: 'no such note' });

const apiKeyOf = (req: IncomingMessage): string | undefined => {
  const v = req.headers['x-api-key'];
  return Array.isArray(v) ? v[0] : v;
};

/** Wraps a handler that needs an account: no valid X-Api-Key → 403 (never 401). */
const authed =
  (handler: AuthedHandler): Handler =>
  async (ctx) => {
    const account = await authenticate(ctx.deps.store, apiKeyOf(ctx.req));
    if (!account) throw FORBIDDEN();
    await handler(ctx, account);
  };

/** The caller's note named by the path, or 404 (missing and foreign look the same). */
async function ownNote(ctx: Ctx, account: Account) {
  const id = noteIdParam(ctx.params[0]!);
  const note = id === null ? undefined : await ctx.deps.store.getNote(account.uid, id);
  if (!note) throw NO_SUCH_NOTE();
  return note;
}

// --- handlers -------------------------------------------------------------------------

const status: Handler = async ({ res, deps }) => {
  let pgUp = true;
  try {
    await deps.store.ping();
  } catch {
    pgUp = false;
  }
  const build = { rev: deps.rev };
  if (!pgUp) {
    sendJson(res, 503, { state: 'red', build, checkedAt: Date.now(), components: { pg: 'down' } });
  } else if (deps.faults.statusDegraded) {
    sendJson(res, 200, { state: 'yellow', build, checkedAt: Date.now(), components: { pg: 'degraded' } });
  } else {
    sendJson(res, 200, { state: 'green', build, checkedAt: Date.now(), components: { pg: 'up' } });
  }
};

const signup: Handler = async ({ req, res, deps }) => {
  const { username, password } = signupBody(await readJson(req));
  try {
    const account = await deps.store.createAccount(username, await hashPassword(password));
    sendJson(res, 201, { account });
  } catch (err) {
    if (pgCode(err) === '23505') throw new HttpError(409, { message: 'taken' });
    throw err;
  }
};

const login: Handler = async ({ req, res, deps }) => {
  const { username, password } = loginBody(await readJson(req));
  const found = await deps.store.credentials(username);
  if (!found) {
    await burnPasswordCheck(password);
    throw new HttpError(403, { message: 'denied' });
  }
  if (!(await verifyPassword(password, found.passwordHash))) throw new HttpError(403, { message: 'denied' });
  const key = newApiKey();
  await deps.store.setApiKeyHash(found.uid, hashApiKey(key));
  sendJson(res, 200, { data: { key, account: { uid: found.uid } } });
};

// Not wrapped in `authed`: the unprotectedMe fault needs to answer without an account.
const me: Handler = async ({ req, res, deps }) => {
  const account = await authenticate(deps.store, apiKeyOf(req));
  // schemaDrift: the status and the rest as always, the uid a number (openapi.yaml: a string).
  if (account) sendJson(res, 200, { uid: deps.faults.schemaDrift ? Number(account.uid) : account.uid, username: account.username });
  else if (deps.faults.unprotectedMe) sendJson(res, 200, { uid: null });
  else throw FORBIDDEN();
};

const logout = authed(async ({ req, res, deps }, account) => {
  await deps.store.clearApiKeyHash(account.uid, hashApiKey(apiKeyOf(req)!));
  sendJson(res, 204);
});

const deleteAccount = authed(async ({ res, deps }, account) => {
  await deps.store.deleteAccount(account.uid);
  sendJson(res, 204);
});

const listNotes = authed(async ({ res, deps }, account) => {
  if (deps.faults.slowListMs > 0) await sleep(deps.faults.slowListMs);
  const notes = await deps.store.listNotes(deps.faults.crossUserLeak ? null : account.uid);
  sendJson(res, 200, { notes });
});

const createNote = authed(async ({ req, res, deps }, account) => {
  const { title, body } = noteBody(await readJson(req));
  sendJson(res, 201, { note: await deps.store.createNote(account.uid, title, body) });
});

const getNote = authed(async (ctx, account) => {
  sendJson(ctx.res, 200, { note: await ownNote(ctx, account) });
});

const deleteNote = authed(async (ctx, account) => {
  const id = noteIdParam(ctx.params[0]!);
  if (id === null || !(await ctx.deps.store.deleteNote(account.uid, id))) throw NO_SUCH_NOTE();
  sendJson(ctx.res, 204);
});

/** Server-sent events: `chunk` ×3, 20 ms apart, then `done`. Stops early if the client leaves. */
const SSE_GAP_MS = 20;
const summaryStream = authed(async (ctx, account) => {
  const note = await ownNote(ctx, account);
  const { res } = ctx;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  });
  let gone = false;
  res.once('close', () => (gone = true));
  const chunks = summaryChunks(note);
  for (const [i, text] of chunks.entries()) {
    if (i > 0) await sleep(SSE_GAP_MS);
    if (gone || res.destroyed) return;
    res.write(`event: chunk\ndata: ${JSON.stringify({ text })}\n\n`);
  }
  res.end(`event: done\ndata: ${JSON.stringify({ noteId: note.id, chunks: chunks.length })}\n\n`);
});

// --- table ----------------------------------------------------------------------------

const NOTE_ID = '([^/]+)';
const ROUTES: Route[] = [
  { method: 'GET', pattern: /^\/$/, handler: ({ res }) => sendPage(res, 'login') },
  { method: 'GET', pattern: /^\/app$/, handler: ({ res }) => sendPage(res, 'app') },
  { method: 'GET', pattern: /^\/status$/, handler: status },
  { method: 'POST', pattern: /^\/api\/accounts$/, handler: signup },
  { method: 'DELETE', pattern: /^\/api\/accounts\/me$/, handler: deleteAccount },
  { method: 'POST', pattern: /^\/api\/login$/, handler: login },
  { method: 'POST', pattern: /^\/api\/logout$/, handler: logout },
  { method: 'GET', pattern: /^\/api\/me$/, handler: me },
  { method: 'GET', pattern: /^\/api\/notes$/, handler: listNotes },
  { method: 'POST', pattern: /^\/api\/notes$/, handler: createNote },
  { method: 'GET', pattern: new RegExp(`^/api/notes/${NOTE_ID}$`), handler: getNote },
  { method: 'DELETE', pattern: new RegExp(`^/api/notes/${NOTE_ID}$`), handler: deleteNote },
  { method: 'GET', pattern: new RegExp(`^/api/notes/${NOTE_ID}/summary/stream$`), handler: summaryStream },
];

/**
 * Routes one request. Unknown path → 404 `{"message":"not found"}`; known path, other
 * method → 405 with Allow. HEAD is served as GET (node:http drops the body).
 * Errors: HttpError → its status and body; anything else → logged by `onError`, 500.
 */
export function createRouter(
  deps: Deps,
  onError: (err: unknown) => void,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const path = pathOf(req);
    try {
      const matching = ROUTES.map((route) => ({ route, m: route.pattern.exec(path) })).filter((x) => x.m !== null);
      if (matching.length === 0) throw new HttpError(404, { message: 'not found' });
      const hit = matching.find((x) => x.route.method === method);
      if (!hit) {
        res.setHeader('allow', [...new Set(matching.map((x) => x.route.method))].join(', '));
        throw new HttpError(405, { message: 'method not allowed' });
      }
      // Captures stay percent-encoded: a note id is digits, so "%31" is simply not an integer.
      const params = hit.m!.slice(1);
      await hit.route.handler({ req, res, deps, params });
    } catch (err) {
      if (res.headersSent) {
        // Mid-stream (SSE): nothing sensible left to say; cut the response.
        if (!(err instanceof HttpError)) onError(err);
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        if (err.status === 413) res.setHeader('connection', 'close');
        sendJson(res, err.status, err.body);
      } else {
        onError(err);
        sendJson(res, 500, { message: 'internal error' });
      }
    }
  };
}
