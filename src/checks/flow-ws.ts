/**
 * WebSocket agent flows, written for sample-app's `/ws` (token in `?token=`, `?session=` to
 * resume; greeting `{type:'session', sessionId}`, then `{type:'history', sessionId, events}` when
 * resuming; `{type:'run', prompt}` starts a run whose events carry `type, userId, sessionId, seq,
 * timestamp`).
 *
 *   ws_agent_events           one run: agent_started ×1, agent_thinking ≥2, tool_executing ≥1,
 *                             tool_completed ≥1 (each after its tool_executing), agent_completed
 *                             ×1 last; each event names the user and session, seq increases;
 *                             time to first event and per-event latency measured
 *   ws_isolation              two users run at once: each socket receives only its own events;
 *                             a user cannot join the other's session
 *   ws_reconnect_history      reconnecting with the same token and session id returns the
 *                             session's events as history
 *   ws_expired_token_refused  the handshake is refused for an expired (validly signed) token
 *   ws_invalid_token_refused  ... and for a tampered token, garbage, and no token
 *
 * The expired token: from the bundled sample-app's admin server (`POST {adminUrl}/tokens/expired`
 * `{userId}` → `{token}`); for other targets from the environment variable PERF_EXPIRED_TOKEN.
 */
import { HttpClient, expectStatus, json } from '../clients/http-client.ts';
import { WsConnection, wsUrlOf, type TryConnectResult, type WsMessage } from '../clients/ws-client.ts';
import { Flow, jwtClaims } from './flow-steps.ts';
import { CheckFailure, type Check, type CheckContext } from './types.ts';
import type { PerfUser } from './users.ts';

export const AGENT_EVENT_TYPES = ['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed'] as const;
export const EXPIRED_TOKEN_ENV = 'PERF_EXPIRED_TOKEN';
const RUN_TIMEOUT_MS = 10_000;
/** How long a socket is watched after its run for frames that must not come. */
const SETTLE_MS = 150;
/** An accepted socket that the server closes within this, without a frame, counts as refused. */
const CLOSE_GRACE_MS = 500;

interface AgentEvent {
  type: string;
  userId?: unknown;
  sessionId?: unknown;
  seq?: unknown;
  timestamp?: unknown;
}

const isAgentEvent = (d: unknown): d is AgentEvent => !!d && typeof d === 'object' && AGENT_EVENT_TYPES.includes((d as AgentEvent).type as never);

interface Session {
  conn: WsConnection;
  sessionId: string;
  /** Index of the first message after the greeting. */
  greetingEnd: number;
}

async function openSession(ctx: CheckContext, user: PerfUser, sessionId?: string): Promise<Session> {
  const conn = await WsConnection.connect(ctx, wsUrlOf(ctx.target), { token: user.accessToken, ...(sessionId !== undefined && { sessionId }) });
  // Another user's greeting on this socket is an isolation failure, reported by the check that
  // looks for it (ws_isolation); here only our own (or an anonymous) greeting counts.
  const greeting = await conn.waitFor((d) => d?.type === 'session' && (d.userId === undefined || d.userId === user.userId), 'the session greeting');
  const sid = greeting.data.sessionId;
  if (typeof sid !== 'string' || !sid) throw new CheckFailure(`WebSocket greeting has no sessionId: ${JSON.stringify(greeting.data)} (correlation id ${conn.correlationId})`);
  if (greeting.data.userId !== undefined && greeting.data.userId !== user.userId) {
    throw new CheckFailure(`WebSocket greeting names user ${String(greeting.data.userId)}, expected ${user.userId} (correlation id ${conn.correlationId})`);
  }
  return { conn, sessionId: sid, greetingEnd: conn.messages.indexOf(greeting) + 1 };
}

interface RunResult {
  sentAt: number;
  events: WsMessage[];
  /** Everything received from the run's start to its completion (events, errors, other). */
  messages: WsMessage[];
}

/** Sends a run and collects until agent_completed (or fails on timeout/close). */
async function runAgent(s: Session, prompt: string): Promise<RunResult> {
  const from = s.conn.messages.length;
  const sentAt = performance.now();
  s.conn.send({ type: 'run', prompt });
  await s.conn.waitFor((d) => d?.type === 'agent_completed' || d?.type === 'error', 'agent_completed', RUN_TIMEOUT_MS, from);
  const messages = s.conn.messages.slice(from);
  return { sentAt, messages, events: messages.filter((m) => isAgentEvent(m.data)) };
}

/** Everything wrong with one run's event sequence, as sentences. */
export function runProblems(messages: unknown[], expected: { userId: string; sessionId: string }): string[] {
  const problems: string[] = [];
  const errors = messages.filter((d) => (d as { type?: unknown })?.type === 'error');
  if (errors.length) problems.push(`the server sent error(s): ${JSON.stringify(errors).slice(0, 300)}`);
  const events = messages.filter(isAgentEvent);
  const types = events.map((e) => e.type);
  const count = (t: string) => types.filter((x) => x === t).length;
  const rules: [string, (n: number) => boolean, string][] = [
    ['agent_started', (n) => n === 1, 'exactly 1'],
    ['agent_thinking', (n) => n >= 2, 'at least 2'],
    ['tool_executing', (n) => n >= 1, 'at least 1'],
    ['tool_completed', (n) => n >= 1, 'at least 1'],
    ['agent_completed', (n) => n === 1, 'exactly 1'],
  ];
  for (const [type, ok, want] of rules) if (!ok(count(type))) problems.push(`${type} ×${count(type)}, expected ${want}`);
  if (types.length && types[0] !== 'agent_started') problems.push(`the first event is ${types[0]}, expected agent_started`);
  if (types.length && types[types.length - 1] !== 'agent_completed') problems.push(`the last event is ${types[types.length - 1]}, expected agent_completed`);
  let open = 0;
  types.forEach((t, i) => {
    if (t === 'tool_executing') open++;
    if (t === 'tool_completed') {
      if (open === 0) problems.push(`tool_completed at position ${i + 1} comes before any tool_executing`);
      else open--;
    }
  });
  let lastSeq = -Infinity;
  events.forEach((e, i) => {
    const where = `${e.type} (#${i + 1})`;
    if (e.userId !== expected.userId) problems.push(`${where} names user ${JSON.stringify(e.userId)}, expected ${expected.userId}`);
    if (e.sessionId !== expected.sessionId) problems.push(`${where} names session ${JSON.stringify(e.sessionId)}, expected ${expected.sessionId}`);
    if (typeof e.seq !== 'number') problems.push(`${where} has no numeric seq`);
    else {
      if (e.seq <= lastSeq) problems.push(`${where} has seq ${e.seq} after seq ${lastSeq}: sequence numbers must increase`);
      lastSeq = e.seq;
    }
    if (typeof e.timestamp !== 'string' || Number.isNaN(Date.parse(e.timestamp))) problems.push(`${where} has no ISO timestamp`);
  });
  return problems;
}

function failRun(s: Session, what: string, problems: string[], types: string): CheckFailure {
  return new CheckFailure(`${what}: ${problems.join('; ')} — received [${types}] (correlation id ${s.conn.correlationId})`);
}

/** Time to first event and per-event latency (arrival after the run was sent; arrival vs server timestamp). */
function measureRun(ctx: CheckContext, run: RunResult): void {
  const first = run.events[0];
  if (!first) return;
  ctx.measure('time_to_first_event_ms', round(first.at - run.sentAt));
  ctx.measure('run_ms', round(run.events[run.events.length - 1]!.at - run.sentAt));
  const perEvent = run.events.map((m, i) => {
    const e = m.data as AgentEvent;
    const serverAt = typeof e.timestamp === 'string' ? Date.parse(e.timestamp) : Number.NaN;
    return {
      type: e.type,
      seq: e.seq,
      atMs: round(m.at - run.sentAt),
      gapMs: round(m.at - (i === 0 ? run.sentAt : run.events[i - 1]!.at)),
      ...(Number.isNaN(serverAt) ? {} : { deliveryMs: round(performance.timeOrigin + m.at - serverAt) }),
    };
  });
  ctx.measure('events', perEvent);
  ctx.measure('max_gap_ms', Math.max(...perEvent.map((e) => e.gapMs)));
}

const round = (ms: number) => Math.round(ms * 100) / 100;

const wsAgentEvents: Check = {
  name: 'ws_agent_events',
  description: 'a run emits agent_started ×1, agent_thinking ≥2, tool_executing ≥1, tool_completed ≥1, agent_completed ×1, in order, for this user and session',
  async run(ctx) {
    const flow = new Flow(ctx);
    const user = await flow.step('signup', () => flow.freshUser('ws-events'));
    const s = await flow.step('connect', () => openSession(ctx, user));
    try {
      const run = await flow.step('run', () => runAgent(s, 'perf agent run'));
      measureRun(ctx, run);
      await flow.step('events', async () => {
        const problems = runProblems(run.messages.map((m) => m.data), { userId: user.userId, sessionId: s.sessionId });
        if (problems.length) throw failRun(s, 'agent events', problems, s.conn.types(s.greetingEnd));
      });
    } finally {
      await s.conn.close();
    }
  },
};

const wsIsolation: Check = {
  name: 'ws_isolation',
  description: "two users run at once: each socket receives only its own events; nobody joins another's session",
  async run(ctx) {
    const flow = new Flow(ctx);
    const [a, b] = await flow.step('two users', () => Promise.all([flow.freshUser('ws-iso-a'), flow.freshUser('ws-iso-b')]));
    const sessions = await flow.step('connect both', () => Promise.all([openSession(ctx, a!), openSession(ctx, b!)]));
    const [sa, sb] = sessions as [Session, Session];
    try {
      await flow.step('run both at once', () => Promise.all([runAgent(sa, 'perf isolation run A'), runAgent(sb, 'perf isolation run B')]));
      await sa.conn.settle(SETTLE_MS);
      await flow.step('each sees only its own', async () => {
        const problems: string[] = [];
        for (const [s, me, other, os] of [
          [sa, a!, b!, sb],
          [sb, b!, a!, sa],
        ] as const) {
          const received = s.conn.messages.map((m) => m.data);
          const foreign = received.filter((d) => {
            const text = JSON.stringify(d);
            return text.includes(other.userId) || text.includes(os.sessionId);
          });
          if (foreign.length) {
            const types = foreign.map((d) => String((d as AgentEvent)?.type ?? 'text')).join(', ');
            problems.push(`${me.label}'s socket received ${foreign.length} frame(s) of ${other.label}: [${types}] (correlation id ${s.conn.correlationId})`);
          }
          const own = runProblems(
            received.slice(s.greetingEnd).filter((d) => !foreign.includes(d)),
            { userId: me.userId, sessionId: s.sessionId },
          );
          problems.push(...own.map((p) => `${me.label}: ${p} (correlation id ${s.conn.correlationId})`));
        }
        if (problems.length) throw new CheckFailure(`WebSocket isolation: ${problems.slice(0, 6).join('; ')}${problems.length > 6 ? `; and ${problems.length - 6} more` : ''}`);
      });
      await flow.step("B cannot join A's session", async () => {
        const r = await WsConnection.tryConnect(ctx, wsUrlOf(ctx.target), { token: b!.accessToken, sessionId: sa.sessionId });
        if (r.refused) return;
        try {
          await r.conn.settle(SETTLE_MS);
          const leaked = r.conn.messages.filter((m) => JSON.stringify(m.data).includes(a!.userId));
          if (leaked.length) {
            throw new CheckFailure(`${b!.label} joined ${a!.label}'s session ${sa.sessionId} and received their events (${r.conn.types()}) (correlation id ${r.conn.correlationId})`);
          }
        } finally {
          await r.conn.close();
        }
      });
    } finally {
      await Promise.all([sa.conn.close(), sb.conn.close()]);
    }
  },
};

const wsReconnectHistory: Check = {
  name: 'ws_reconnect_history',
  description: "reconnecting with the same token and session id returns that session's events as history",
  async run(ctx) {
    const flow = new Flow(ctx);
    const user = await flow.step('signup', () => flow.freshUser('ws-history'));
    const first = await flow.step('connect', () => openSession(ctx, user));
    let seen: { type: string; seq: unknown }[];
    try {
      const run = await flow.step('run', () => runAgent(first, 'perf history run'));
      seen = run.events.map((m) => ({ type: (m.data as AgentEvent).type, seq: (m.data as AgentEvent).seq }));
    } finally {
      await first.conn.close();
    }
    const second = await flow.step('reconnect', () => openSession(ctx, user, first.sessionId));
    try {
      await flow.step('history', async () => {
        if (second.sessionId !== first.sessionId) {
          throw new CheckFailure(`reconnecting to session ${first.sessionId} gave session ${second.sessionId} (correlation id ${second.conn.correlationId})`);
        }
        const history = await second.conn.waitFor((d) => d?.type === 'history', 'the session history', 3_000);
        const events = Array.isArray(history.data.events) ? (history.data.events as AgentEvent[]) : [];
        const got = events.filter(isAgentEvent).map((e) => ({ type: e.type, seq: e.seq }));
        const key = (e: { type: string; seq: unknown }) => `${e.type}#${String(e.seq)}`;
        const missing = seen.filter((e) => !got.some((g) => key(g) === key(e)));
        if (history.data.sessionId !== undefined && history.data.sessionId !== first.sessionId) {
          throw new CheckFailure(`the history is of session ${String(history.data.sessionId)}, expected ${first.sessionId} (correlation id ${second.conn.correlationId})`);
        }
        if (missing.length) {
          throw new CheckFailure(
            `the history of session ${first.sessionId} lacks ${missing.length} of the ${seen.length} events received before: ${missing.map(key).join(', ')} (correlation id ${second.conn.correlationId})`,
          );
        }
        const foreign = events.filter((e) => e.userId !== undefined && e.userId !== user.userId);
        if (foreign.length) throw new CheckFailure(`the history holds ${foreign.length} events of other users (correlation id ${second.conn.correlationId})`);
        ctx.measure('history_events', events.length);
      });
    } finally {
      await second.conn.close();
    }
  },
};

/**
 * A connection counts as refused when the handshake fails, or when the server closes it within
 * CLOSE_GRACE_MS without sending a frame (some servers accept, then close with 1008/4401).
 * Returns a description of how it was refused, or throws when the server let the client in.
 */
async function expectRefused(ctx: CheckContext, what: string, token: string | undefined): Promise<string> {
  const r: TryConnectResult = await WsConnection.tryConnect(ctx, wsUrlOf(ctx.target), token === undefined ? {} : { token });
  if (r.refused) {
    if (r.status !== undefined && r.status >= 500) {
      throw new CheckFailure(`${what}: the handshake failed with HTTP ${r.status}, expected a refusal (401/403) (correlation id ${r.correlationId})`);
    }
    if (r.status === undefined && r.closeCode === undefined && r.error && !/Unexpected server response|closed/i.test(r.error)) {
      throw new CheckFailure(`${what}: could not reach the WebSocket endpoint: ${r.error} (correlation id ${r.correlationId})`);
    }
    return r.status !== undefined ? `HTTP ${r.status}` : `closed (${r.closeCode ?? r.error})`;
  }
  const conn = r.conn;
  try {
    const deadline = performance.now() + CLOSE_GRACE_MS;
    while (!conn.closed && conn.messages.length === 0 && performance.now() < deadline) await conn.settle(20);
    if (conn.messages.length > 0 || !conn.closed) {
      throw new CheckFailure(`${what}: the WebSocket handshake was accepted${conn.messages.length ? ` and the server sent [${conn.types()}]` : ''} (correlation id ${conn.correlationId})`);
    }
    return `accepted, then closed with code ${conn.closed.code}`;
  } finally {
    await conn.close();
  }
}

/** An expired, validly signed access token for `user`, and where it came from. */
async function expiredToken(ctx: CheckContext, user: PerfUser): Promise<{ token: string; source: string }> {
  if (ctx.target.adminUrl) {
    const http = new HttpClient(ctx, ctx.target.adminUrl);
    const sessionId = jwtClaims(user.accessToken).sid;
    const res = await http.post('/tokens/expired', { userId: user.userId, ...(typeof sessionId === 'string' && { sessionId }) });
    if (res.status === 404) {
      throw new CheckFailure(`the target's admin server has no POST /tokens/expired, so no expired token can be made (correlation id ${res.correlationId}); set ${EXPIRED_TOKEN_ENV} instead`);
    }
    expectStatus(res, 200, 'ask the admin server for an expired token');
    const token = json<{ token?: unknown }>(res).token;
    if (typeof token !== 'string') throw new CheckFailure(`POST /tokens/expired answered no token (correlation id ${res.correlationId})`);
    ctx.redactor.addSecret(token);
    return { token, source: 'admin server' };
  }
  const token = process.env[EXPIRED_TOKEN_ENV];
  if (!token) {
    throw new CheckFailure(
      `no expired token to try: set ${EXPIRED_TOKEN_ENV} to an access token of this service that is validly signed but expired (the target has no admin URL to make one)`,
    );
  }
  ctx.redactor.addSecret(token);
  return { token, source: EXPIRED_TOKEN_ENV };
}

const wsExpiredTokenRefused: Check = {
  name: 'ws_expired_token_refused',
  description: 'the WebSocket handshake is refused for an expired (validly signed) access token',
  async run(ctx) {
    const flow = new Flow(ctx);
    const user = await flow.step('signup', () => flow.freshUser('ws-expired'));
    const { token, source } = await flow.step('expired token', () => expiredToken(ctx, user));
    ctx.measure('expired_token_source', source);
    if (source === 'admin server') {
      // Control: the same user with a live token gets in, so a refusal below is about expiry.
      await flow.step('a live token is accepted', async () => (await openSession(ctx, user)).conn.close());
    }
    const how = await flow.step('expired token refused', () => expectRefused(ctx, 'expired token', token));
    ctx.measure('refused_with', how);
  },
};

/** The token with one character of its signature changed (still well-formed base64url). */
export function tamper(token: string): string {
  const i = token.length - 2;
  const c = token[i] === 'A' ? 'B' : 'A';
  return `${token.slice(0, i)}${c}${token.slice(i + 1)}`;
}

const wsInvalidTokenRefused: Check = {
  name: 'ws_invalid_token_refused',
  description: 'the WebSocket handshake is refused for a tampered token, a malformed token and no token',
  async run(ctx) {
    const flow = new Flow(ctx);
    const user = await flow.step('signup', () => flow.freshUser('ws-invalid'));
    await flow.step('a valid token is accepted', async () => (await openSession(ctx, user)).conn.close());
    const tampered = tamper(user.accessToken);
    ctx.redactor.addSecret(tampered);
    const refusals: Record<string, string> = {};
    for (const [what, token] of [
      ['tampered signature', tampered],
      ['malformed token', 'perf-not-a-token'],
      ['no token', undefined],
    ] as const) {
      refusals[what] = await flow.step(what, () => expectRefused(ctx, what, token));
    }
    ctx.measure('refused_with', refusals);
  },
};

export const wsFlows: readonly Check[] = [wsAgentEvents, wsIsolation, wsReconnectHistory, wsExpiredTokenRefused, wsInvalidTokenRefused];
