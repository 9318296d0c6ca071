// ws-events: every VU connects to the agent WebSocket with its own token, starts a run and
// checks the events: agent_started ×1, agent_thinking ≥2, tool_executing ≥1,
// tool_completed ≥1, agent_completed ×1, in that order, each carrying this user's id and
// session. Time to first event and per-event latency are Trend metrics. Three budgets, each
// from where its wait starts: the handshake (10 s, from connecting), the session greeting (5 s,
// from the upgrade) and the run (5 s, from sending `run` to agent_completed).
import type { Options } from 'k6/options';
import { currentSession } from './lib/auth.ts';
import { expectThat } from './lib/checks.ts';
import { WS_URL } from './lib/env.ts';
import { wsEventLatency, wsEventOrder, wsEventOwnership, wsSessionEstablished, wsTimeToFirstEvent } from './lib/metrics.ts';
import { userJourneyScenario } from './lib/profile.ts';
import { withSocket } from './lib/ws.ts';

export const options: Options = {
  scenarios: {
    // Ramp to --users agent sessions, each VU one user running the agent repeatedly.
    agent: userJourneyScenario('agent'),
  },
  thresholds: {
    // Connections come up and are greeted with a session (a dead endpoint fails this).
    ws_session_established: ['rate>=0.999'],
    // Every run's events complete and in order: one dropped or reordered event fails it.
    ws_event_order: ['rate>=1'],
    // No user ever receives another user's event.
    ws_event_ownership: ['rate>=1'],
  },
};

interface AgentEvent {
  type: string;
  userId: string;
  sessionId: string;
  runId: string;
  seq: number;
}

const ORDER = ['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed'];

/** Order and counts: started ×1, thinking ≥2, executing ≥1, completed-tool ≥1, completed ×1, never backwards. */
export function eventsInOrder(types: string[]): boolean {
  const count = (t: string) => types.filter((x) => x === t).length;
  let rank = 0;
  for (const t of types) {
    const r = ORDER.indexOf(t);
    if (r < 0) continue;
    if (r < rank) return false;
    rank = r;
  }
  return count('agent_started') === 1 && count('agent_thinking') >= 2 && count('tool_executing') >= 1 && count('tool_completed') >= 1 && count('agent_completed') === 1 && types[types.length - 1] === 'agent_completed';
}

/** From connecting to the upgrade; a slower handshake counts as a connection that did not come up. */
const HANDSHAKE_BUDGET_MS = 10000;
/** From the upgrade to the server's session greeting. */
const GREETING_BUDGET_MS = 5000;
/** From sending `run` to `agent_completed`. */
const RUN_BUDGET_MS = 5000;

export function agent(): void {
  const me = currentSession();
  if (!me) return;
  let sessionId = '';
  let sentAt = 0;
  const events: AgentEvent[] = [];
  let how = 'socket closed';

  // k6/ws via withSocket: the handlers below are attached before the first frame is read, so
  // the greeting the server sends right after the upgrade cannot be missed (lib/ws.ts says why
  // k6/websockets can miss it). The token goes in a header, never in the URL (k6 tags samples with it).
  const connectingSince = Date.now();
  const outcome = withSocket(WS_URL, { token: me.accessToken }, (socket) => {
    const end = (why: string) => {
      how = why;
      socket.close();
    };
    // k6/ws cannot bound the handshake itself (k6 waits up to 60 s), so it is judged once done.
    const handshakeMs = Date.now() - connectingSince;
    if (handshakeMs > HANDSHAKE_BUDGET_MS) {
      end(`handshake took ${(handshakeMs / 1000).toFixed(1)} s (budget ${HANDSHAKE_BUDGET_MS / 1000} s)`);
      return;
    }
    // Each budget starts where its wait starts: a slow handshake is not charged to the greeting or the run.
    socket.setTimeout(() => {
      if (!sessionId) end(`no session greeting within ${GREETING_BUDGET_MS / 1000} s of the upgrade`);
    }, GREETING_BUDGET_MS);
    socket.on('message', (data) => {
      const msg = JSON.parse(data) as { type: string } & Partial<AgentEvent>;
      if (msg.type === 'session') {
        if (sessionId) return;
        sessionId = String((msg as { sessionId: string }).sessionId);
        sentAt = Date.now();
        socket.send(JSON.stringify({ type: 'run', prompt: 'Draft a product teaser' }));
        // A run that never completes is recorded as out of order (a missing agent_completed).
        socket.setTimeout(() => end(`run not completed within ${RUN_BUDGET_MS / 1000} s of sending it`), RUN_BUDGET_MS);
        return;
      }
      if (!ORDER.includes(msg.type)) return;
      const latency = Date.now() - sentAt;
      if (events.length === 0) wsTimeToFirstEvent.add(latency);
      wsEventLatency.add(latency, { event: msg.type });
      events.push(msg as AgentEvent);
      if (msg.type === 'agent_completed') end('completed');
    });
    socket.on('error', (e) => {
      how = `socket error: ${e.error()}`;
    });
  });
  if (!outcome.opened) how = `handshake failed: HTTP ${outcome.status}${outcome.error ? ` (${outcome.error})` : ''}`;

  const types = events.map((e) => e.type);
  const inOrder = eventsInOrder(types);
  const owned = events.length > 0 && events.every((e) => e.userId === me.userId && e.sessionId === sessionId);
  // Order and ownership are judged on runs that had a session; a connection that never
  // came up is a different failure, measured on its own.
  wsSessionEstablished.add(sessionId ? 1 : 0);
  if (sessionId) {
    wsEventOrder.add(inOrder ? 1 : 0);
    wsEventOwnership.add(owned ? 1 : 0);
  }
  expectThat(events.length > 0, 'agent events received');
  // The evidence for a failed run: what arrived, and how the run ended.
  if (!sessionId || !inOrder || !owned) console.warn(JSON.stringify({ ws_run_failed: how, sessionId, events: types, foreign: events.filter((e) => e.userId !== me.userId).length }));
}
