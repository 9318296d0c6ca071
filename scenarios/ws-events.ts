// ws-events: every VU signs in as its own user, connects to the service's agent WebSocket and
// runs the agent repeatedly. The protocol (URL, token placement, greeting, start message, the
// expected event sequence with counts, ownership) is the config's `agent` block: perf passes it
// to k6, and runAgent() judges each run the way the flows' `agent` fixture does, recording
// ws_session_established, ws_event_order, ws_event_ownership, ws_time_to_first_event and
// ws_event_latency (docs/agent-protocol.md). Nothing here is specific to one service.
import type { Options } from 'k6/options';
import { agentProtocol, runAgent, session, userJourneyScenario } from 'perf-harness/k6';

export const options: Options = {
  scenarios: {
    // Ramp to --users agent sessions, each VU one user running the agent repeatedly.
    agent: userJourneyScenario('agent'),
  },
  thresholds: {
    // Connections come up (and are greeted, when the protocol has a greeting).
    ws_session_established: ['rate>=0.999'],
    // Every run's events complete and in order: one dropped or reordered event fails it.
    ws_event_order: ['rate>=1'],
    // No user ever receives another user's event.
    ws_event_ownership: ['rate>=1'],
  },
};

export function agent(): void {
  const protocol = agentProtocol();
  const me = session(); // this VU's signed-in user (the config's `auth`)
  if (!me) return;
  runAgent(protocol, me);
}
