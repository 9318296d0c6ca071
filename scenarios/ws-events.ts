// ws-events: every VU connects to the agent WebSocket with its own token, starts a run and
// checks the events: agent_started ×1, agent_thinking ≥2, tool_executing ≥1,
// tool_completed ≥1, agent_completed ×1, in that order, each carrying this user's id and
// session. Time to first event and per-event latency are Trend metrics.
import type { Options } from 'k6/options';
import { WebSocket } from 'k6/websockets';
import { setTimeout, clearTimeout } from 'k6/timers';
import { currentSession } from './lib/auth.ts';
import { expectThat } from './lib/checks.ts';
import { WS_URL } from './lib/env.ts';
import { wsEventLatency, wsEventOrder, wsEventOwnership, wsSessionEstablished, wsTimeToFirstEvent } from './lib/metrics.ts';
import { userJourneyScenario } from './lib/profile.ts';

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

export function agent(): void {
  const me = currentSession();
  if (!me) return;
  const ws = new WebSocket(`${WS_URL}?token=${me.accessToken}`);
  let sessionId = '';
  let sentAt = 0;
  const events: AgentEvent[] = [];
  let finished = false;

  const finish = (how: string) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
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
    if (!inOrder || !owned) console.warn(JSON.stringify({ ws_run_failed: how, sessionId, events: types, foreign: events.filter((e) => e.userId !== me.userId).length }));
    ws.close();
  };
  // A run that never completes is recorded as out of order (a missing agent_completed).
  const timer = setTimeout(() => finish('timeout after 5 s'), 5000);

  ws.onmessage = (e) => {
    const msg = JSON.parse(String(e?.data)) as { type: string } & Partial<AgentEvent>;
    if (msg.type === 'session') {
      sessionId = String((msg as { sessionId: string }).sessionId);
      sentAt = Date.now();
      ws.send(JSON.stringify({ type: 'run', prompt: 'Draft a product teaser' }));
      return;
    }
    if (!ORDER.includes(msg.type)) return;
    const latency = Date.now() - sentAt;
    if (events.length === 0) wsTimeToFirstEvent.add(latency);
    wsEventLatency.add(latency, { event: msg.type });
    events.push(msg as AgentEvent);
    if (msg.type === 'agent_completed') finish('completed');
  };
  ws.onerror = (e) => finish(`socket error: ${String((e as { error?: string } | undefined)?.error ?? 'unknown')}`);
  ws.onclose = () => finish('socket closed');
}
