/**
 * sample-app's WebSocket agent (`/ws`; the protocol is the config's `agent` block): the token on
 * the handshake, `?session=` to resume; greeting `{type:'session', sessionId}`, then
 * `{type:'history', sessionId, events}` when resuming; `{type:'run', prompt}` starts a run whose
 * events carry `type, userId, sessionId, seq, timestamp`.
 *
 *   ws_agent_events           one run: the declared sequence (agent_started ×1, agent_thinking ≥2,
 *                             tool_executing ≥1, tool_completed ≥1, agent_completed ×1 last), in
 *                             order, for this user and session; seq increases; ISO timestamps
 *   ws_isolation              two users run at once: each socket receives only its own events;
 *                             a user cannot join the other's session
 *   ws_reconnect_history      reconnecting with the same token and session id returns the
 *                             session's events as history
 *   ws_expired_token_refused  the handshake is refused for an expired (validly signed) token
 *   ws_invalid_token_refused  ... and for a tampered token, garbage, and no token
 *
 * The expired token: from the environment variable PERF_EXPIRED_TOKEN when set, else made by the
 * bundled sample-app's admin server (`POST {SAMPLE_APP_ADMIN_URL}/tokens/expired {userId, sessionId}`;
 * perf exports SAMPLE_APP_ADMIN_URL when it starts sample-app itself).
 */
import { expect, flow, type AgentRunResult, type FlowFixtures, type TestUser, type WsMessage } from 'perf-harness';
import { jwtClaims, sleep } from '../lib/sample-app.ts';

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

/** `user`'s event frames of a run (frames named like the run's events, of this user). */
function eventsOf(run: AgentRunResult, user: TestUser): AgentEvent[] {
  return run.messages
    .map((m) => m.data as AgentEvent)
    .filter((d) => d && typeof d === 'object' && run.events.includes(d.type) && (d.userId === undefined || d.userId === user.id));
}

/** What the protocol's judgement does not know of sample-app's events: seq increases, timestamps are ISO. */
function seqAndTimestampProblems(events: AgentEvent[]): string[] {
  const problems: string[] = [];
  let lastSeq = -Infinity;
  events.forEach((e, i) => {
    const where = `${e.type} (#${i + 1})`;
    if (typeof e.seq !== 'number') problems.push(`${where} has no numeric seq`);
    else {
      if (e.seq <= lastSeq) problems.push(`${where} has seq ${e.seq} after seq ${lastSeq}: sequence numbers must increase`);
      lastSeq = e.seq;
    }
    if (typeof e.timestamp !== 'string' || Number.isNaN(Date.parse(e.timestamp))) problems.push(`${where} has no ISO timestamp`);
  });
  return problems;
}

const types = (messages: readonly WsMessage[]) => messages.map((m) => String((m.data as AgentEvent | null)?.type ?? 'text')).join(', ');

flow(
  'ws_agent_events',
  { description: 'a run emits agent_started ×1, agent_thinking ≥2, tool_executing ≥1, tool_completed ≥1, agent_completed ×1, in order, for this user and session' },
  async ({ agent, users, step, measure }) => {
    const alice = await step('signup', () => users.create('ws-events'));
    const run = await step('run', () => agent.run(alice, { vars: { prompt: 'perf agent run' } }));
    if (run.timeToFirstEventMs !== undefined) measure('time_to_first_event_ms', run.timeToFirstEventMs);
    measure('events', run.events);

    await step('events', () => {
      // The declared sequence, counts and order, every event this user's and this session's.
      expect(run.problems).toEqual([]);
      expect(seqAndTimestampProblems(eventsOf(run, alice))).toEqual([]);
    });
  },
);

flow('ws_isolation', { description: "two users run at once: each socket receives only its own events; nobody joins another's session" }, async ({ agent, ws, users, step }) => {
  const [a, b] = await step('two users', () => Promise.all([users.create('ws-iso-a'), users.create('ws-iso-b')]));
  const [ca, cb] = await step('connect both', () => Promise.all([agent.connect(a), agent.connect(b)]));
  try {
    const [ra, rb] = await step('run both at once', () =>
      Promise.all([agent.run(a, { client: ca, vars: { prompt: 'perf isolation run A' } }), agent.run(b, { client: cb, vars: { prompt: 'perf isolation run B' } })]),
    );
    // Frames of the other run may still be on their way.
    await sleep(SETTLE_MS);

    await step('each sees only its own', () => {
      const problems: string[] = [];
      for (const [client, run, me, other, otherRun] of [
        [ca, ra, a, b, rb],
        [cb, rb, b, a, ra],
      ] as const) {
        // Anything naming the other user or the other session is a leak, whatever its type.
        const foreign = client.messages.filter((m) => m.text.includes(other.id!) || (otherRun.sessionId !== undefined && m.text.includes(otherRun.sessionId)));
        if (foreign.length) problems.push(`${me.label}'s socket received ${foreign.length} frame(s) of ${other.label}: [${types(foreign)}]`);
        problems.push(...run.problems.map((p) => `${me.label}: ${p}`));
      }
      expect(problems).toEqual([]);
    });

    await step("B cannot join A's session", async () => {
      const joined = await ws.tryConnect({ as: b, query: { session: ra.sessionId! } });
      if (!joined.ok) return; // refused: fine
      try {
        await sleep(SETTLE_MS);
        const leaked = joined.client.messages.filter((m) => m.text.includes(a.id!));
        // B got in (the greeting may be B's own new session), but never a frame of A's.
        expect(leaked.map((m) => m.text.slice(0, 200))).toEqual([]);
      } finally {
        await joined.client.close();
      }
    });
  } finally {
    await Promise.all([ca.close(), cb.close()]);
  }
});

flow('ws_reconnect_history', { description: "reconnecting with the same token and session id returns that session's events as history" }, async ({ agent, ws, users, step, measure }) => {
  const user = await step('signup', () => users.create('ws-history'));
  const first = await step('run', async () => {
    const client = await agent.connect(user);
    try {
      const run = await agent.run(user, { client, vars: { prompt: 'perf history run' } });
      expect(run.problems).toEqual([]);
      return run;
    } finally {
      await client.close();
    }
  });
  const seen = eventsOf(first, user).map((e) => `${e.type}#${String(e.seq)}`);

  const again = await step('reconnect', () => ws.connect({ as: user, query: { session: first.sessionId! } }));
  try {
    await step('history', async () => {
      const greeting = await again.waitFor((d) => d?.type === 'session', { what: 'the session greeting' });
      // The same session, resumed, not a new one.
      expect(greeting.data.sessionId).toBe(first.sessionId);
      const history = await again.waitFor((d) => d?.type === 'history', { timeoutMs: 3_000, what: 'the session history' });
      if (history.data.sessionId !== undefined) expect(history.data.sessionId).toBe(first.sessionId);
      const events: AgentEvent[] = Array.isArray(history.data.events) ? history.data.events : [];
      measure('history_events', events.length);
      // Every event received live is in the history...
      const got = events.map((e) => `${e.type}#${String(e.seq)}`);
      expect(seen.filter((k) => !got.includes(k))).toEqual([]);
      // ... and nothing of anybody else.
      expect(events.filter((e) => e.userId !== undefined && e.userId !== user.id)).toEqual([]);
    });
  } finally {
    await again.close();
  }
});

/**
 * Opens a socket presenting `token` (none: anonymous) and says how it was refused; fails when the
 * server let the client in. Refused: the handshake fails (not with a 5xx: that is a broken
 * server, not a refusal), or the server closes the socket within CLOSE_GRACE_MS without a frame.
 */
async function expectRefused(ws: FlowFixtures['ws'], what: string, token: string | undefined): Promise<string> {
  const r = await ws.tryConnect(token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } });
  if (!r.ok) {
    if (r.status !== undefined && r.status >= 500) throw new Error(`${what}: the handshake failed with HTTP ${r.status}, expected a refusal (401/403)`);
    return r.status !== undefined ? `HTTP ${r.status}` : r.error;
  }
  try {
    const frame = await r.client.waitFor(() => true, { timeoutMs: CLOSE_GRACE_MS, what: 'any frame' }).catch((e: Error) => e);
    if (frame instanceof Error && /clos/i.test(frame.message)) return `accepted, then closed (${frame.message})`;
    const got = frame instanceof Error ? 'nothing, and kept the socket open' : `[${types(r.client.messages)}]`;
    throw new Error(`${what}: the WebSocket handshake was accepted and the server sent ${got}`);
  } finally {
    await r.client.close();
  }
}

/** An expired, validly signed access token for `user`, and where it came from. */
async function expiredToken({ api }: FlowFixtures, user: TestUser): Promise<{ token: string; source: string }> {
  const fromEnv = process.env.PERF_EXPIRED_TOKEN;
  if (fromEnv) return { token: fromEnv, source: 'PERF_EXPIRED_TOKEN' };
  const admin = process.env.SAMPLE_APP_ADMIN_URL;
  if (!admin) {
    throw new Error(
      'no expired token to try: set PERF_EXPIRED_TOKEN to an access token of this service that is validly signed but expired (or let perf start sample-app, whose admin server makes one: SAMPLE_APP_ADMIN_URL)',
    );
  }
  const sessionId = jwtClaims(user.token).sid;
  const res = await api.post<{ token?: string }>(`${admin}/tokens/expired`, { userId: user.id, ...(typeof sessionId === 'string' && { sessionId }) });
  expect(res).toHaveStatus(200);
  expect(res.json.token).toEqual(expect.any(String));
  return { token: res.json.token!, source: 'admin server' };
}

flow('ws_expired_token_refused', { description: 'the WebSocket handshake is refused for an expired (validly signed) access token' }, async (fixtures) => {
  const { users, ws, step, measure } = fixtures;
  const user = await step('signup', () => users.create('ws-expired'));
  const { token, source } = await step('get an expired JWT', () => expiredToken(fixtures, user));
  measure('expired_from', source);
  if (source === 'admin server') {
    // Control: the same user with a live token gets in, so the refusal below is about expiry.
    await step('a live JWT is accepted', async () => (await ws.connect({ as: user })).close());
  }
  const how = await step('the expired JWT is refused', () => expectRefused(ws, 'expired JWT', token));
  measure('refused_with', how);
});

/** The token with one character of its signature changed (still well-formed base64url). */
function tamper(token: string): string {
  const i = token.length - 2;
  return `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
}

flow('ws_invalid_token_refused', { description: 'the WebSocket handshake is refused for a tampered token, a malformed token and no token' }, async ({ users, ws, step, measure }) => {
  const user = await step('signup', () => users.create('ws-invalid'));
  // Control: a valid token gets in, so the refusals below are about the token.
  await step('a valid JWT is accepted', async () => (await ws.connect({ as: user })).close());
  const refusals: Record<string, string> = {};
  for (const [what, token] of [
    ['tampered JWT', tamper(user.token!)],
    ['garbage', 'perf-not-a-jwt'],
    ['none', undefined],
  ] as const) {
    refusals[what] = await step(`${what} refused`, () => expectRefused(ws, what, token));
  }
  measure('refused_with', refusals);
});
