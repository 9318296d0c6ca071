// WebSocket endpoint /live.
//
// Auth rides in the subprotocol list, because browsers cannot set headers on a WebSocket:
// the client offers `notes.v1, key.<apikey>`; the server authenticates the key BEFORE
// upgrading and selects `notes.v1` (never echoing the key). Anything else is refused with
// a bare HTTP 403 and the socket destroyed. The key is checked once, at connect time.
//
// Frames, server → client, all JSON:
//   {"kind":"evt","name":"summary.begin|summary.chunk|summary.end","data":{"noteId":..},"owner":"<uid>","ts":<ms>}
//   {"kind":"err","name":"not_found|bad_request","owner":"<uid>"}
// Client → server: {"op":"summarize","noteId":<int>} starts a run; the server never greets.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';
import { authenticate } from './auth.ts';
import type { Account, Note, Store } from './db.ts';
import type { Faults } from './faults.ts';
import { log, pathOf, traceIdOf } from './http.ts';
import { summaryChunks } from './summary.ts';

export const LIVE_PATH = '/live';
export const PROTOCOL = 'notes.v1';
const KEY_PREFIX = 'key.';
const CHUNK_GAP_MS = 15;

interface LiveDeps {
  store: Store;
  faults: Faults;
  onError: (err: unknown) => void;
}

/** Ends a refused upgrade: status line, trace id, nothing else; then the socket goes. */
function refuse(socket: Duplex, status: 403 | 404 | 503, traceId: string): void {
  const reason = { 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' }[status];
  if (!socket.destroyed) {
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nx-trace-id: ${traceId}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
  }
  socket.destroy();
}

function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  return (header ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

export interface Live {
  /** Closes every socket (1001) and stops accepting. */
  close(): Promise<void>;
}

export function attachLive(server: Server, deps: LiveDeps): Live {
  const traceIds = new WeakMap<IncomingMessage, string>();
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 16 * 1024,
    // Only reached after the key was verified in onUpgrade; selects our protocol, never key.*.
    handleProtocols: (protocols) => (protocols.has(PROTOCOL) ? PROTOCOL : false),
  });
  wss.on('headers', (headers, req) => {
    const traceId = traceIds.get(req);
    if (traceId) headers.push(`x-trace-id: ${traceId}`);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const traceId = traceIdOf(req);
    const started = performance.now();
    const done = (status: number): void =>
      log({ msg: 'request', method: req.method, path: pathOf(req), status, traceId, ms: Math.round(performance.now() - started) });
    // The client may vanish while the key is being checked.
    socket.on('error', () => socket.destroy());

    if (pathOf(req) !== LIVE_PATH) {
      refuse(socket, 404, traceId);
      return done(404);
    }
    const offered = offeredProtocols(req);
    const key = offered.find((p) => p.startsWith(KEY_PREFIX))?.slice(KEY_PREFIX.length);
    if (!offered.includes(PROTOCOL) || !key) {
      refuse(socket, 403, traceId);
      return done(403);
    }

    authenticate(deps.store, key).then(
      (account) => {
        if (!account) {
          refuse(socket, 403, traceId);
          return done(403);
        }
        if (socket.destroyed) return done(499);
        traceIds.set(req, traceId);
        wss.handleUpgrade(req, socket, head, (ws) => serve(ws, account, deps));
        done(101);
      },
      (err: unknown) => {
        deps.onError(err);
        refuse(socket, 503, traceId);
        done(503);
      },
    );
  });

  return {
    close: async () => {
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** One connected client: any number of summary runs, possibly overlapping. */
function serve(ws: WebSocket, account: Account, deps: LiveDeps): void {
  const { store, faults } = deps;
  const owner = faults.wsWrongOwner ? '0' : account.uid;
  const timers = new Set<NodeJS.Timeout>();

  const send = (frame: Record<string, unknown>): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  };
  const event = (name: string, data: Record<string, unknown>): void =>
    send({ kind: 'evt', name, data, owner, ts: Date.now() });
  const error = (name: 'not_found' | 'bad_request'): void => send({ kind: 'err', name, owner });
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const run = (note: Note): void => {
    const chunks = summaryChunks(note);
    event('summary.begin', { noteId: note.id, title: note.title, chunks: chunks.length });
    chunks.forEach((text, i) => {
      later(CHUNK_GAP_MS * (i + 1), () => {
        event('summary.chunk', { noteId: note.id, seq: i + 1, text });
        if (i === chunks.length - 1 && !faults.wsDropEnd) event('summary.end', { noteId: note.id, chunks: chunks.length });
      });
    });
  };

  ws.on('message', (raw, isBinary) => {
    let msg: unknown;
    try {
      msg = isBinary ? undefined : JSON.parse(raw.toString());
    } catch {
      msg = undefined;
    }
    const m = (typeof msg === 'object' && msg !== null ? msg : {}) as { op?: unknown; noteId?: unknown };
    if (m.op !== 'summarize') return error('bad_request');
    const noteId = m.noteId;
    if (typeof noteId !== 'number' || !Number.isSafeInteger(noteId) || noteId <= 0) return error('not_found');
    store.getNote(account.uid, String(noteId)).then(
      (note) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (note) run(note);
        else error('not_found');
      },
      (err: unknown) => {
        deps.onError(err);
        ws.close(1011, 'internal error');
      },
    );
  });
  ws.on('close', () => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  });
  ws.on('error', () => ws.terminate());
}
