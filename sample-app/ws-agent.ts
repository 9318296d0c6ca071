// The WebSocket agent at /ws.
//
// Handshake (refused with an HTTP error, never upgraded):
//   credential: `Authorization: Bearer <access token>`, else `?token=<access token>`, else the
//   page cookie → 401 when missing, invalid, expired or logged out;
//   `?session=<id>` ([A-Za-z0-9_-]{1,64}) resumes or names a session → 403 when another user owns
//   it, 400 when malformed; without it a new session id is assigned.
// After the upgrade the server sends, in order:
//   {"type":"session","sessionId","userId","resumed"}
//   {"type":"history","sessionId","events":[...]}   (only with ?session=: that session's past events)
// Client messages: {"type":"run","prompt"} starts a run; {"type":"ping"} → {"type":"pong"}; anything
// else → {"type":"error","error","message"}.
// A run emits `agent_started` (1), `agent_thinking` (2), `tool_executing` (1), `tool_completed`
// (1), `agent_completed` (1), `timings.wsEventDelayMs` apart, each
// {type, userId, sessionId, runId, seq (1.., per run), timestamp (ISO), data}, to every socket of
// that session (all of them the owner's; no other user's socket ever receives it), and appends
// it to the session history in the Store (last 500 events, 1 h).
// Faults (faults.ts): `wsDropEvent` never emits one type; `wsReorder` swaps two types;
// `wsFirstEventDelayMs` holds the first event back; `wsBroadcast` sends every event to every
// connected socket, whoever owns it.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { AppContext } from './context.ts';
import { HttpError } from './errors.ts';
import type { AgentEventType } from './faults.ts';
import { tokenFromHeaders, type AuthUser } from './tokens.ts';

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const HISTORY_MAX_EVENTS = 500;
const SESSION_TTL_MS = 60 * 60_000;
const MAX_PROMPT = 2000;

/** The plan of every run, before faults. */
export const RUN_PLAN: readonly AgentEventType[] = [
  'agent_started',
  'agent_thinking',
  'agent_thinking',
  'tool_executing',
  'tool_completed',
  'agent_completed',
];

export interface AgentEvent {
  type: AgentEventType;
  userId: string;
  sessionId: string;
  runId: string;
  seq: number;
  timestamp: string;
  data: Record<string, unknown>;
}

interface Handshake {
  user: AuthUser;
  sessionId: string;
  resumed: boolean;
}

function eventData(type: AgentEventType, index: number, prompt: string): Record<string, unknown> {
  switch (type) {
    case 'agent_started':
      return { prompt };
    case 'agent_thinking':
      return { text: index <= 1 ? 'Reading the brief' : 'Choosing colours and layout' };
    case 'tool_executing':
      return { tool: 'generate_image', input: { prompt } };
    case 'tool_completed':
      return { tool: 'generate_image', output: { status: 'ok' } };
    case 'agent_completed':
      return { result: `Generated an image for: ${prompt.slice(0, 80)}` };
  }
}

export class AgentHub {
  readonly #ctx: AppContext;
  readonly #sockets = new Map<string, Set<WebSocket>>();
  readonly #handshakes = new WeakMap<FastifyRequest, Handshake>();
  readonly #abort = new AbortController();
  readonly #runs = new Set<Promise<void>>();

  constructor(ctx: AppContext) {
    this.#ctx = ctx;
  }

  register(app: FastifyInstance): void {
    app.route<{ Querystring: { token?: string; session?: string } }>({
      method: 'GET',
      url: '/ws',
      // Runs before the upgrade: a refusal is a plain HTTP answer (401/403/400), no socket.
      preValidation: async (request) => {
        // FAULT wsHandshakeFailRate: that share of handshakes is refused before the upgrade.
        const failRate = this.#ctx.faults.current.wsHandshakeFailRate;
        if (failRate > 0 && Math.random() < failRate) throw new HttpError(503, 'injected_fault', 'WebSocket handshake refused (fault wsHandshakeFailRate)');
        const token = tokenFromHeaders(request.headers) ?? request.query.token ?? null;
        const user = await this.#ctx.tokens.authenticateToken(token);
        if (!user) throw new HttpError(401, 'unauthorized', 'a valid access token is required (Authorization: Bearer, or ?token=)');
        const requested = request.query.session;
        if (requested !== undefined && !SESSION_ID.test(requested)) {
          throw new HttpError(400, 'invalid_session_id', 'session ids are 1-64 characters of A-Z a-z 0-9 _ -');
        }
        const sessionId = requested ?? randomUUID();
        const owner = await this.#ctx.store.claimWsSession(sessionId, user.userId, SESSION_TTL_MS);
        if (owner !== user.userId) throw new HttpError(403, 'session_forbidden', 'this session belongs to another user');
        this.#handshakes.set(request, { user, sessionId, resumed: requested !== undefined });
      },
      // A plain GET (no upgrade) gets told how to connect.
      handler: async (_request, reply) =>
        reply.code(426).header('upgrade', 'websocket').send({ error: 'upgrade_required', message: 'connect with a WebSocket client' }),
      wsHandler: (socket, request) => this.#onConnection(socket, request),
    });
  }

  #onConnection(socket: WebSocket, request: FastifyRequest): void {
    const handshake = this.#handshakes.get(request);
    if (!handshake) {
      socket.close(1011, 'no handshake');
      return;
    }
    const { user, sessionId, resumed } = handshake;
    let peers = this.#sockets.get(sessionId);
    if (!peers) this.#sockets.set(sessionId, (peers = new Set()));
    peers.add(socket);
    socket.on('close', () => {
      peers.delete(socket);
      if (peers.size === 0 && this.#sockets.get(sessionId) === peers) this.#sockets.delete(sessionId);
    });
    socket.on('error', () => undefined);

    // The greeting (and history) goes out before any message of this socket is handled.
    const ready = (async () => {
      send(socket, { type: 'session', sessionId, userId: user.userId, resumed });
      if (resumed) {
        const events = (await this.#ctx.store.wsHistory(sessionId)).map((raw) => JSON.parse(raw) as AgentEvent);
        send(socket, { type: 'history', sessionId, events });
      }
    })().catch((error: unknown) => {
      this.#ctx.log.warn('ws greeting failed', (error as Error).message);
      send(socket, { type: 'error', error: 'internal_error', message: 'could not load the session history' });
    });

    socket.on('message', async (raw) => {
      await ready;
      let message: { type?: unknown; prompt?: unknown };
      try {
        message = JSON.parse(raw.toString());
      } catch {
        send(socket, { type: 'error', error: 'invalid_message', message: 'messages are JSON objects' });
        return;
      }
      if (message?.type === 'ping') {
        send(socket, { type: 'pong', timestamp: new Date().toISOString() });
      } else if (message?.type === 'run') {
        const prompt = typeof message.prompt === 'string' ? message.prompt.trim() : '';
        if (!prompt || prompt.length > MAX_PROMPT) {
          send(socket, { type: 'error', error: 'invalid_message', message: `run needs a prompt of 1-${MAX_PROMPT} characters` });
          return;
        }
        this.#track(this.#run(user.userId, sessionId, prompt));
      } else {
        send(socket, { type: 'error', error: 'invalid_message', message: 'unknown message type (expected run or ping)' });
      }
    });
  }

  #track(run: Promise<void>): void {
    const tracked = run
      .catch((error: unknown) => {
        if ((error as Error).name !== 'AbortError') this.#ctx.log.error('agent run failed', error);
      })
      .finally(() => this.#runs.delete(tracked));
    this.#runs.add(tracked);
  }

  async #run(userId: string, sessionId: string, prompt: string): Promise<void> {
    const runId = randomUUID();
    let events: Omit<AgentEvent, 'timestamp'>[] = RUN_PLAN.map((type, i) => ({
      type,
      userId,
      sessionId,
      runId,
      seq: i + 1,
      data: eventData(type, i, prompt),
    }));
    // Faults are read once per run: a run is either healthy or faulty, never half of each.
    const { wsDropEvent, wsReorder, wsFirstEventDelayMs, wsBroadcast } = this.#ctx.faults.current;
    if (wsDropEvent) events = events.filter((e) => e.type !== wsDropEvent);
    if (wsReorder) {
      const a = events.findIndex((e) => e.type === wsReorder[0]);
      const b = events.findIndex((e) => e.type === wsReorder[1]);
      if (a !== -1 && b !== -1) [events[a], events[b]] = [events[b]!, events[a]!];
    }
    const delayMs = this.#ctx.options.timings.wsEventDelayMs;
    for (let i = 0; i < events.length; i++) {
      const waitMs = i === 0 ? wsFirstEventDelayMs : delayMs;
      if (waitMs > 0) await sleep(waitMs, undefined, { signal: this.#abort.signal });
      if (this.#abort.signal.aborted) return;
      const event: AgentEvent = { ...events[i]!, timestamp: new Date().toISOString() };
      const payload = JSON.stringify(event);
      const targets = wsBroadcast ? [...this.#sockets.values()].flatMap((peers) => [...peers]) : (this.#sockets.get(sessionId) ?? []);
      for (const socket of targets) send(socket, payload);
      await this.#ctx.store.appendWsEvents(sessionId, [payload], HISTORY_MAX_EVENTS, SESSION_TTL_MS);
    }
  }

  /** Stops runs in progress (sockets are closed by the server's own shutdown). */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#runs]);
  }
}

function send(socket: WebSocket, message: unknown): void {
  if (socket.readyState !== socket.OPEN) return;
  socket.send(typeof message === 'string' ? message : JSON.stringify(message));
}
